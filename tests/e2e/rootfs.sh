#!/usr/bin/env bash
# e2e.rootfs: a real Debian tree. A debootstrapped bookworm minbase rootfs (cached in
# $NYDUS_CACHE/rootfs-bookworm by tests/tools/make-rootfs.sh, mirror from the apt sources; about
# 35 s the first time) is built for every combination of RAFS v5/v6 x none/lz4_block/zstd x
# blake3/sha256. Every build must pass `nydus-image check`; every v6 build must pass
# fsck.erofs, and its kernel EROFS mount must equal the rootfs under
# `verify-tree.sh --no-content --no-root`.
# Env: ROOTFS=DIR uses DIR instead of the debootstrap cache.
source "$(dirname "$0")/lib.sh"
e2e_init rootfs
require_root
require_cmd python3 fsck.erofs losetup
find_nydus_image
require_erofs_kernel

phase "rootfs (debootstrap cache)"
if [ -n "${ROOTFS:-}" ]; then
  [ -d "$ROOTFS" ] || fail "ROOTFS=$ROOTFS is not a directory"
  SRC=$ROOTFS
else
  SRC=$NYDUS_CACHE/rootfs-bookworm
  if [ ! -f "$SRC.complete" ]; then require_cmd debootstrap; require_debian_mirror; fi
  run "$TOOLS/make-rootfs.sh" "$SRC"
  sed 's/^/    /' "$LAST_LOG"
fi
log "rootfs $SRC: $(find "$SRC" -xdev | wc -l) entries, $(du -sm "$SRC" | cut -f1) MiB"

for v in 5 6; do
  for c in none lz4_block zstd; do
    for d in blake3 sha256; do
      tag="v$v $c $d"
      out=$E2E_TMP/v$v-$c-$d
      phase "$tag: create"
      nydus_create "$out/boot" "$out/blobs" -v "$v" --compressor "$c" --digester "$d" \
        -J "$out/create.json" "$SRC"
      phase "$tag: check"
      nydus_check "$out/boot" "$out/blobs"
      if [ "$v" = 6 ]; then
        phase "$tag: fsck.erofs"
        erofs_fsck "$out/boot" "$out/blobs"
        phase "$tag: kernel mount + verify-tree --no-content --no-root"
        erofs_mount "$out/boot" "$out/blobs" "$out/mnt"
        verify_tree --no-content --no-root "$SRC" "$out/mnt"
        erofs_umount "$out/mnt"
      fi
      rm -rf "$out"
    done
  done
done
