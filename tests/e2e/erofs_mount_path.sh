#!/usr/bin/env bash
# e2e.erofs_mount_path: the nydusd-free kernel mount path, scripts/mount-erofs.sh (issue 9).
#  1. gen-tree.sh (seed 7) → create -v 6 → scripts/mount-erofs.sh BOOT BLOBS M (export --block
#     to a temporary disk next to the bootstrap, mount -t erofs -o ro,loop, disk unlinked):
#     the mount == the source tree (verify-tree --no-root: content, xattrs, owners, ns mtimes,
#     hardlinks, devices), no disk file is left next to the bootstrap; --umount unmounts and
#     the loop device is gone.
#  2. --keep DISK: the disk stays at DISK, the mount == the source again, and after --umount
#     the disk mounts again with plain `mount -t erofs -o ro,loop` (metadata compare).
#  3. errors: not root, already mounted, --umount of a non-mount and of a non-erofs mount,
#     a missing bootstrap: each exits non-zero with its message and leaves nothing mounted.
source "$(dirname "$0")/lib.sh"
e2e_init erofs_mount_path
require_root
require_cmd losetup mountpoint setpriv
find_nydus_image
require_erofs_kernel
require_loop
export NYDUS_IMAGE
MOUNT_EROFS=$REPO_ROOT/scripts/mount-erofs.sh

# loops_of FILE_PREFIX: loop devices whose backing file starts with FILE_PREFIX
loops_of() { losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v p="$1" 'index($2, p) == 1 {print $1}'; }

# me_mount ARGS...: scripts/mount-erofs.sh ARGS, registering the mount point for cleanup
me_mount() {
  local mnt=${*: -1}
  run "$MOUNT_EROFS" "$@"
  sed 's/^/    /' "$LAST_LOG"
  MOUNTS+=("$(realpath "$mnt")")
  mountpoint -q "$mnt" || fail "$mnt is not mounted after mount-erofs.sh"
  [ "$(stat -f -c %T "$mnt")" = erofs ] || fail "$mnt is $(stat -f -c %T "$mnt"), not erofs"
}
me_umount() {
  run "$MOUNT_EROFS" --umount "$1"
  sed 's/^/    /' "$LAST_LOG"
  ! mountpoint -q "$1" || fail "$1 still mounted after --umount"
}
# expect_error PATTERN CMD...: CMD must fail and print PATTERN on stderr
expect_error() {
  local pat=$1 out rc=0; shift
  echo "  \$ $(quote_cmd "$@")    # must fail"
  out=$("$@" 2>&1 </dev/null) || rc=$?
  [ $rc != 0 ] || fail "expected a failure: $(quote_cmd "$@")"
  grep -q -- "$pat" <<<"$out" || fail "message '$pat' missing from: $out"
  echo "    failed as expected (exit $rc): $(tail -n1 <<<"$out")"
}

SRC=$E2E_TMP/src
BIG_MIB=${BIG_MIB:-32} SMALL_FILES=${SMALL_FILES:-2000} gen_tree "$SRC" 7
phase "create -v 6"
IMG=$E2E_TMP/img
mkdir -p "$IMG"
nydus_create "$IMG/tree.boot" "$IMG/blobs" -v 6 "$SRC"

phase "mount-erofs.sh (temporary disk) == source (content)"
MNT=$E2E_TMP/mnt
me_mount "$IMG/tree.boot" "$IMG/blobs" "$MNT"
left=$(find "$IMG" -maxdepth 1 -name 'tree.boot.disk.*')
[ -z "$left" ] || fail "temporary disk left next to the bootstrap: $left"
[ -n "$(loops_of "$IMG/tree.boot.disk.")" ] || fail "no loop device over the (unlinked) disk"
verify_tree --no-root "$SRC" "$MNT"
me_umount "$MNT"
[ -z "$(loops_of "$IMG/tree.boot.disk.")" ] || fail "loop device still attached after --umount: $(loops_of "$IMG/tree.boot.disk.")"

phase "mount-erofs.sh --keep DISK == source; DISK mounts again by hand"
DISK=$E2E_TMP/keep/tree.disk
me_mount --keep "$DISK" "$IMG/tree.boot" "$IMG/blobs" "$MNT"
[ -s "$DISK" ] || fail "--keep: $DISK missing"
log "   $DISK: $(stat -c %s "$DISK") B"
verify_tree --no-root "$SRC" "$MNT"
me_umount "$MNT"
[ -z "$(loops_of "$DISK")" ] || fail "loop device over $DISK still attached after --umount"
[ -s "$DISK" ] || fail "--umount removed the kept disk"
run mount -t erofs -o ro,loop "$DISK" "$MNT"
MOUNTS+=("$MNT")
verify_tree --no-root --no-content "$SRC" "$MNT"
me_umount "$MNT"

phase "errors"
chmod o+x "$E2E_TMP"
expect_error "must run as root" setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$MOUNT_EROFS" "$IMG/tree.boot" "$IMG/blobs" "$MNT"
expect_error "not a mount point" "$MOUNT_EROFS" --umount "$MNT"
expect_error "no such file" "$MOUNT_EROFS" "$IMG/missing.boot" "$IMG/blobs" "$MNT"
head -c 65536 /dev/urandom >"$IMG/bogus.boot"
expect_error "export --block failed" "$MOUNT_EROFS" "$IMG/bogus.boot" "$IMG/blobs" "$MNT"
[ -z "$(find "$IMG" -maxdepth 1 -name 'bogus.boot.disk.*')" ] || fail "failed export left a disk behind"
me_mount "$IMG/tree.boot" "$IMG/blobs" "$MNT"
expect_error "already a mount point" "$MOUNT_EROFS" "$IMG/tree.boot" "$IMG/blobs" "$MNT"
me_umount "$MNT"
mkdir -p "$E2E_TMP/tmpfs"
run mount -t tmpfs tmpfs "$E2E_TMP/tmpfs"
MOUNTS+=("$E2E_TMP/tmpfs")
expect_error "not erofs" "$MOUNT_EROFS" --umount "$E2E_TMP/tmpfs"
mountpoint -q "$E2E_TMP/tmpfs" || fail "--umount touched a tmpfs"
run umount "$E2E_TMP/tmpfs"
! awk '{print $5}' /proc/self/mountinfo | grep -qF "$E2E_TMP/" || fail "something still mounted under $E2E_TMP"
