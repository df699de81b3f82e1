#!/usr/bin/env bash
# e2e.unpack_compact: nydus-image unpack, export --block and compact on real trees.
#  1. gen-tree.sh (seed 42) → create -v 6 → unpack → GNU tar -x (--xattrs --numeric-owner)
#     == the source tree (verify-tree --no-root, strict otherwise: content, xattrs, owners,
#     ns mtimes, hardlinks, devices). The root is not compared: like the reference, unpack
#     does not emit the root directory itself.
#  2. export --block of the same bootstrap: fsck.erofs passes on the single file (see
#     fsck_disk for how its devices are given), and its
#     kernel EROFS mount (loop, no extra devices: the kernel maps each device through the
#     device table's mapped_blkaddr) == the source tree, content included.
#  3. python:bookworm (3 layers, chained --parent-bootstrap as in layered_python.sh):
#     unpack + tar -x, and export --block + fsck.erofs + mount, each == the umoci rootfs under
#     --mtime-tolerance 500000000 (Go's archive/tar rounds mtimes to the second).
#  4. compact: a 3-layer image from gen-tree (layer 2 deletes the two big files and a
#     hardlink to one of them with .wh. whiteouts, layer 3 adds a file); compact
#     --min-used-ratio 50 rebuilds layer 1's blob: total blob bytes shrink, check passes,
#     the kernel mount (zero devices) matches metadata and the exported disk of the compacted
#     image matches content, both equal to the uncompacted image's tree.
#     Before compacting, `stat -D` over layers 1-2 with `-T` layer 3: layer 3 owns exactly its
#     new file's chunk and references the rest; `stat -B` prints the text report.
source "$(dirname "$0")/lib.sh"
e2e_init unpack_compact
require_root
require_cmd python3 tar fsck.erofs losetup flock
find_nydus_image
require_erofs_kernel
require_loop

TAR_X=(tar --xattrs --xattrs-include='*' --numeric-owner -xpf)

# disk_slices DISK: "offset length" of each device (mapped_blkaddr*4096, blocks*4096)
disk_slices() {
  python3 - "$1" <<'PYEOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(4096)
    extra, slotoff = struct.unpack_from("<HH", head, 1024 + 86)
    for i in range(extra):
        blocks, mapped = struct.unpack_from("<II", head, slotoff * 128 + i * 128 + 64)
        print(mapped * 4096, blocks * 4096)
PYEOF
}

# fsck_disk DISK: fsck.erofs of an exported disk. erofs-utils before 1.8 cannot follow the
# device table's mapped_blkaddr itself (it insists on one --device per extra device), so
# each device is given as a read-only loop device over its slice of the same file: this
# checks the metadata and reads every chunk through the exported layout.
fsck_disk() {
  local disk=$1 off len args=() loops=()
  while read -r off len; do
    [ -n "$off" ] || continue
    LOOP_DEV=$(losetup -f --show -r -o "$off" --sizelimit "$len" "$disk") || fail "losetup slice of $disk"
    LOOPS+=("$LOOP_DEV"); loops+=("$LOOP_DEV"); args+=("--device=$LOOP_DEV")
  done < <(disk_slices "$disk")
  RUN_TAIL=20 run fsck.erofs "${args[@]}" "$disk"
  for l in "${loops[@]}"; do loop_detach "$l"; done
}

# export_and_mount BOOT BLOBDIR NAME: export --block to $E2E_TMP/NAME.disk, fsck.erofs it and
# mount it with the kernel at $E2E_TMP/NAME.mnt (no device=: the single file holds everything).
export_and_mount() {
  local boot=$1 blobs=$2 name=$3
  run "$NYDUS_IMAGE" export --block -B "$boot" -D "$blobs" -O "$E2E_TMP/$name.disk"
  log "   $name.disk: $(stat -c %s "$E2E_TMP/$name.disk") B apparent, $(du -k "$E2E_TMP/$name.disk" | cut -f1) KiB allocated"
  fsck_disk "$E2E_TMP/$name.disk"
  erofs_mount_devices "$E2E_TMP/$name.disk" "$E2E_TMP/$name.mnt" || fail "kernel mount of $name.disk failed"
}

# ---------------------------------------------------------------- 1-2: gen-tree
SRC=$E2E_TMP/src
BIG_MIB=${BIG_MIB:-64}
BIG_MIB=$BIG_MIB SMALL_FILES=${SMALL_FILES:-2000} gen_tree "$SRC" 42
phase "gen-tree: create -v 6"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$SRC"

phase "gen-tree: unpack → tar -x == source"
run "$NYDUS_IMAGE" unpack "$E2E_TMP/tree.boot" -D "$E2E_TMP/blobs" --output "$E2E_TMP/tree.tar"
log "   tree.tar: $(stat -c %s "$E2E_TMP/tree.tar") B"
mkdir -p "$E2E_TMP/x"
run "${TAR_X[@]}" "$E2E_TMP/tree.tar" -C "$E2E_TMP/x"
verify_tree --no-root "$SRC" "$E2E_TMP/x"
rm -rf "$E2E_TMP/x" "$E2E_TMP/tree.tar"

phase "gen-tree: export --block, fsck.erofs, kernel mount == source (content)"
export_and_mount "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" tree
verify_tree --no-root "$SRC" "$E2E_TMP/tree.mnt"
erofs_umount "$E2E_TMP/tree.mnt"
rm -f "$E2E_TMP/tree.disk"

# ---------------------------------------------------------------- 4: compact (gen-tree layers)
phase "compact: 3 layers (layer 2 whiteouts the big files)"
L2=$E2E_TMP/cl2 L3=$E2E_TMP/cl3
mkdir -p "$L2/big" "$L2/links" "$L3/added"
touch "$L2/big/.wh.incompressible.bin" "$L2/big/.wh.compressible.txt" "$L2/links/.wh.hl-big-compressible.txt"
for d in big links; do
  chmod --reference="$SRC/$d" "$L2/$d"; chown --reference="$SRC/$d" "$L2/$d"; touch -r "$SRC/$d" "$L2/$d"
done
head -c 100000 /dev/urandom >"$L3/added/file"
CB=$E2E_TMP/cblobs
nydus_create "$E2E_TMP/c1.boot" "$CB" -v 6 "$SRC"
nydus_create "$E2E_TMP/c2.boot" "$CB" -v 6 --parent-bootstrap "$E2E_TMP/c1.boot" "$L2"
nydus_create "$E2E_TMP/c3.boot" "$CB" -v 6 --parent-bootstrap "$E2E_TMP/c2.boot" "$L3"

phase "stat: -D (layers 1-2, dedup table) -T layer 3, and -B's text report"
SD=$E2E_TMP/statdir
mkdir -p "$SD"
cp "$E2E_TMP/c1.boot" "$SD/c1"; cp "$E2E_TMP/c2.boot" "$SD/c2"; cp "$E2E_TMP/c3.boot" "$SD/c3"
# The target is skipped when it lies in the directory too.
run "$NYDUS_IMAGE" stat -D "$SD" -T "$SD/c3" -J "$E2E_TMP/stat.json"
python3 - "$E2E_TMP/stat.json" <<'PYEOF' || fail "stat -D -T: unexpected statistics"
import json, sys
s = json.load(open(sys.argv[1]))
base, target = s["base_image"], s["target_image"]
print("    base chunks %d (distinct %d), target chunks %d: %d referenced, %d owned (%d B)" % (
    base["chunks"], base["dedup_chunks"], target["chunks"], target["ref_chunks"],
    target["own_chunks"], target["own_uncomp_size"]))
assert s["dedup_enabled"] and s["target_enabled"]
assert len(s["images"]) == 2, "c1 and c2 only: the target is not a base image"
# Layer 3 adds one 100000-byte random file (one chunk); everything else comes from layer 1.
assert target["own_chunks"] == 1 and target["own_uncomp_size"] == 100000
assert target["ref_chunks"] > 0 and target["ref_chunks"] < base["dedup_chunks"]
# c2 (layers 1+2) holds every chunk of c1 but the whited-out files' and adds none: the
# distinct chunks of both are c1's, fewer than the two images' sum.
assert base["dedup_chunks"] == s["images"][0]["own_chunks"] < base["own_chunks"]
PYEOF
"$NYDUS_IMAGE" stat -B "$E2E_TMP/c1.boot" >"$E2E_TMP/stat.txt" || fail "stat -B failed"
grep -q '^Base Image Statistics:$' "$E2E_TMP/stat.txt" || fail "stat -B: no base statistics"
grep -q '^Dedup Chunk Count:' "$E2E_TMP/stat.txt" || fail "stat -B: no chunk counts"
! grep -q 'Chunk Deduplication Statistics' "$E2E_TMP/stat.txt" || fail "stat -B printed a dedup table"
if "$NYDUS_IMAGE" stat -B "$E2E_TMP/c1.boot" -D "$SD" >/dev/null 2>&1; then
  fail "stat accepted -B together with -D"
fi
before=$(du -cb "$CB"/* | tail -1 | cut -f1)
run "$NYDUS_IMAGE" compact -B "$E2E_TMP/c3.boot" -D "$CB" --min-used-ratio 50 \
  --compact-blob-size 0 -O "$E2E_TMP/c3.compact" -J "$E2E_TMP/compact.json"
sed 's/^/    /' "$E2E_TMP/compact.json"
nydus_check "$E2E_TMP/c3.compact" "$CB"
after=0
while read -r id size; do
  [ -n "$id" ] || continue
  after=$((after + $(stat -c %s "$CB/$id")))
done < <(blob_list "$E2E_TMP/c3.compact")
log "   blob bytes referenced: before $before, after $after"
[ "$after" -lt "$before" ] || fail "compact did not shrink the blobs ($before -> $after)"
[ $((before - after)) -gt $((BIG_MIB * 1024 * 1024 / 2)) ] || fail "compact saved too little"
EXCL=(--exclude big/incompressible.bin --exclude big/compressible.txt
      --exclude links/hl-big-compressible.txt --exclude added)
erofs_fsck "$E2E_TMP/c3.compact" "$CB"
erofs_mount "$E2E_TMP/c3.compact" "$CB" "$E2E_TMP/c3.mnt"
verify_tree --no-root --no-content "${EXCL[@]}" "$SRC" "$E2E_TMP/c3.mnt"
erofs_umount "$E2E_TMP/c3.mnt"
export_and_mount "$E2E_TMP/c3.compact" "$CB" c3c
export_and_mount "$E2E_TMP/c3.boot" "$CB" c3o
verify_tree --no-root "${EXCL[@]}" "$SRC" "$E2E_TMP/c3c.mnt"
verify_tree --no-root "$E2E_TMP/c3o.mnt" "$E2E_TMP/c3c.mnt"
[ -z "$(ls -A "$E2E_TMP/c3c.mnt/big")" ] || fail "big/ should be empty after the whiteouts"
erofs_umount "$E2E_TMP/c3c.mnt"
erofs_umount "$E2E_TMP/c3o.mnt"
rm -rf "$CB" "$E2E_TMP"/c3*.disk

# ---------------------------------------------------------------- 3: python:bookworm
python_image_layers
LOWERS=()
for i in 1 2 3; do
  run "$TOOLS/unpack-layer.sh" "${LAYERS[$((i-1))]}" "$E2E_TMP/layer$i" "${LOWERS[@]}"
  LOWERS+=("$E2E_TMP/layer$i")
done
BLOBS=$E2E_TMP/pblobs
parent=()
for i in 1 2 3; do
  phase "python layer $i: create -v 6"
  nydus_create "$E2E_TMP/layer$i.boot" "$BLOBS" -v 6 "${parent[@]}" "$E2E_TMP/layer$i"
  parent=(--parent-bootstrap "$E2E_TMP/layer$i.boot")
done
rm -rf "${LOWERS[@]}"
FINAL=$E2E_TMP/layer3.boot

phase "python: unpack → tar -x == umoci rootfs"
run "$NYDUS_IMAGE" unpack "$FINAL" -D "$BLOBS" --output "$E2E_TMP/python.tar"
log "   python.tar: $(stat -c %s "$E2E_TMP/python.tar") B"
mkdir -p "$E2E_TMP/px"
run "${TAR_X[@]}" "$E2E_TMP/python.tar" -C "$E2E_TMP/px"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/px"
rm -rf "$E2E_TMP/px" "$E2E_TMP/python.tar"

phase "python: export --block, fsck.erofs, kernel mount == umoci rootfs (content)"
export_and_mount "$FINAL" "$BLOBS" python
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/python.mnt"
erofs_umount "$E2E_TMP/python.mnt"
