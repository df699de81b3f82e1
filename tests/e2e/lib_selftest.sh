#!/usr/bin/env bash
# e2e.lib_selftest: checks the e2e harness itself, without nydus-image.
#  1. mkfs.erofs (erofs-utils) builds a chunk-based image whose data lives on an extra device
#     (--blobdev), the stand-in for a RAFS v6 bootstrap + blob; erofs_mount_devices mounts it
#     with the kernel (bootstrap loop + device= loop) and the mount must equal the source tree
#     under strict verify-tree.sh (content included: the extra device holds the real data);
#     fsck.erofs --device passes; unmount detaches the loops.
#  2. The reference RAFS v6 fixture (rafs-v6-2.2.boot, written by Rust nydus-image 2.2):
#     erofs_fsck and erofs_mount (zero-filled blob device sized from the EROFS device table)
#     show its two files with the right sizes. Skipped when the fixtures are absent.
source "$(dirname "$0")/lib.sh"
e2e_init lib_selftest
require_root
require_cmd mkfs.erofs fsck.erofs python3 losetup
require_erofs_kernel

phase "stand-in image: mkfs.erofs --blobdev (chunked, 1 extra device)"
SRC=$E2E_TMP/src
# small edge-case tree; mkfs.erofs 1.5 cannot handle longnames/ (255-byte name in a 255-byte dir)
run env FORCE=1 BIG_MIB=2 SMALL_FILES=200 "$TOOLS/gen-tree.sh" "$SRC"
rm -rf "$SRC/longnames"
run mkfs.erofs --quiet --blobdev="$E2E_TMP/standin.blob" --chunksize=4096 "$E2E_TMP/standin.boot" "$SRC"
log "   bootstrap $(stat -c %s "$E2E_TMP/standin.boot") B, blob device $(stat -c %s "$E2E_TMP/standin.blob") B"

phase "stand-in: kernel mount with device= and strict verify-tree"
MNT=$E2E_TMP/mnt-standin
erofs_mount_devices "$E2E_TMP/standin.boot" "$MNT" "$E2E_TMP/standin.blob" || fail "mount of the stand-in failed"
[ "$(findmnt -n -o FSTYPE "$MNT")" = erofs ] || fail "$MNT is not an erofs mount"
verify_tree --no-root "$SRC" "$MNT"
erofs_umount "$MNT"
[ ${#LOOPS[@]} = 0 ] || fail "loops still attached after erofs_umount: ${LOOPS[*]}"

phase "stand-in: fsck.erofs --device"
run fsck.erofs --device="$E2E_TMP/standin.blob" "$E2E_TMP/standin.boot"

FIX=$NYDUS_SHARED/fixtures/nydus
if [ -f "$FIX/bootstrap/rafs-v6-2.2.boot" ]; then
  phase "reference fixture rafs-v6-2.2.boot: fsck.erofs + kernel mount"
  # shellcheck disable=SC2034  # lib.sh globals: use the device table, not nydus-image inspect
  NYDUS_IMAGE='' USE_DEVTABLE=1
  BOOT=$FIX/bootstrap/rafs-v6-2.2.boot
  erofs_fsck "$BOOT" "$FIX/blobs"
  MNT=$E2E_TMP/mnt-fixture
  erofs_mount "$BOOT" "$FIX/blobs" "$MNT"
  listing=$(cd "$MNT" && find . -printf '%y %s %p\n' | sort)
  echo "$listing" | sed 's/^/    /'
  grep -qx 'f 16931 ./lib.rs' <<<"$listing" || fail "fixture mount: lib.rs (16931 B) missing"
  grep -qx 'f 13400 ./sync_io.rs' <<<"$listing" || fail "fixture mount: sync_io.rs (13400 B) missing"
  erofs_umount "$MNT"
else
  log "reference fixtures not found under $FIX: fixture part skipped"
fi
