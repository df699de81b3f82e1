#!/usr/bin/env bash
# e2e.build_matrix: one gen-tree.sh edge-case tree (seed 42; BIG_MIB=16 SMALL_FILES=2000 by
# default, override with the same env knobs) built with every combination of
#   -v 5|6  x  --compressor none|lz4_block|zstd  x  --digester blake3|sha256   (12 builds)
# Each build must pass `nydus-image check -B boot -D blobs`. v6 builds must also pass
# fsck.erofs (one --device per blob) and a kernel EROFS mount (blob devices zero-filled) must
# equal the source tree under `verify-tree.sh --no-content --no-root` (entries, types, modes,
# owners, ns mtimes, sizes, symlink targets, rdev, xattrs, hardlink groups).
# Env: MATRIX_VERSIONS / MATRIX_COMPRESSORS / MATRIX_DIGESTERS to narrow the matrix.
source "$(dirname "$0")/lib.sh"
e2e_init build_matrix
require_root
require_cmd python3
find_nydus_image
VERSIONS=${MATRIX_VERSIONS:-5 6}
COMPRESSORS=${MATRIX_COMPRESSORS:-none lz4_block zstd}
DIGESTERS=${MATRIX_DIGESTERS:-blake3 sha256}
if [[ " $VERSIONS " == *" 6 "* ]]; then
  require_cmd fsck.erofs losetup
  require_erofs_kernel
fi

phase "generate tree (gen-tree.sh seed 42, BIG_MIB=${BIG_MIB:-16} SMALL_FILES=${SMALL_FILES:-2000})"
SRC=$E2E_TMP/src
gen_tree "$SRC" 42

RESULTS=()
for v in $VERSIONS; do
  for c in $COMPRESSORS; do
    for d in $DIGESTERS; do
      name="v$v-$c-$d"
      out=$E2E_TMP/$name
      mkdir -p "$out/blobs"
      phase "$name: create"
      t0=$(now_ms)
      nydus_create "$out/boot" "$out/blobs" -v "$v" --compressor "$c" --digester "$d" \
        -J "$out/create.json" "$SRC"
      build_ms=$(elapsed_ms "$t0")
      phase "$name: check"
      nydus_check "$out/boot" "$out/blobs"
      if [ "$v" = 6 ]; then
        phase "$name: fsck.erofs"
        erofs_fsck "$out/boot" "$out/blobs"
        phase "$name: kernel mount + verify-tree --no-content --no-root"
        erofs_mount "$out/boot" "$out/blobs" "$out/mnt"
        verify_tree --no-content --no-root "$SRC" "$out/mnt"
        erofs_umount "$out/mnt"
      fi
      RESULTS+=("$name: create $(fmt_ms "$build_ms"), bootstrap $(stat -c %s "$out/boot") B, blobs $(du -cb "$out/blobs" | tail -1 | cut -f1) B")
      rm -rf "$out"
    done
  done
done
phase_end
echo "---- [build_matrix] builds"
printf '  %s\n' "${RESULTS[@]}"
