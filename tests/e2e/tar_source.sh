#!/usr/bin/env bash
# e2e.tar_source: `nydus-image create --type tar-rafs|targz-rafs` and `nydus-image merge`.
#  1. The reference's tar fixtures (../shared/fixtures/nydus/tar, if present): every entry
#     type builds with --type tar-rafs and passes `check`.
#  2. python:bookworm (tests/e2e/lib.sh python_image_layers; three layer .tar.gz files):
#     for each layer, chained with --parent-bootstrap,
#       --type targz-rafs from the .tar.gz   versus   dir-rafs from the layer unpacked by
#       tests/tools/unpack-layer.sh (the oracle layered_python.sh uses).
#     Byte-identical bootstraps and blobs are reported when they are; otherwise both
#     bootstraps are kernel-mounted and must show the same tree (verify-tree.sh strict,
#     minus content: blob devices are zero-filled) and the new blobs must hold the same
#     chunks (same compressed data size, uncompressed size and chunk count per `check`),
#     possibly in another order: the tar source writes data in archive order, as the
#     reference tarball builder does, the directory source in tree order.
#  3. The same layers built WITHOUT --parent-bootstrap (whiteout files kept), then
#     `nydus-image merge --original-blob-ids ...` of the three: check passes and it must show
#     the same tree as the chained targz build (the blobs differ: a per-layer build cannot
#     deduplicate against lower layers).
#  4. The final chained targz bootstrap and the merged one: fsck.erofs, kernel mount (three
#     blob devices) and verify-tree against the umoci rootfs, like layered_python.sh.
#  5. --chunk-dict: layer 3 rebuilt against its own per-layer bootstrap as dict writes no blob.
source "$(dirname "$0")/lib.sh"
e2e_init tar_source
require_root
require_cmd python3 tar fsck.erofs losetup flock cmp
find_nydus_image
require_erofs_kernel

FIX=$NYDUS_SHARED/fixtures/nydus/tar
if [ -d "$FIX" ]; then
  phase "reference tar fixtures: create --type tar-rafs + check"
  mkdir -p "$E2E_TMP/fix"
  for t in "$FIX"/*.tar; do
    n=$(basename "$t" .tar)
    nydus_create "$E2E_TMP/fix/$n.boot" "$E2E_TMP/fix" --type tar-rafs "$t"
    nydus_check "$E2E_TMP/fix/$n.boot" "$E2E_TMP/fix"
    run "$NYDUS_IMAGE" inspect -R tree "$E2E_TMP/fix/$n.boot"
    log "   $n: $(grep -o '"name"' "$LAST_LOG" | wc -l) names in the tree listing"
  done
else
  log "reference tar fixtures not found at $FIX: skipping that part"
fi

python_image_layers
for i in 1 2 3; do log "   layer $i: ${LAYERS[$((i-1))]} ($(stat -c %s "${LAYERS[$((i-1))]}") B)"; done

phase "unpack layers with GNU tar (dir-rafs oracle input)"
LOWERS=()
for i in 1 2 3; do
  run "$TOOLS/unpack-layer.sh" "${LAYERS[$((i-1))]}" "$E2E_TMP/layer$i" "${LOWERS[@]}"
  sed 's/^/    /' "$LAST_LOG"
  LOWERS+=("$E2E_TMP/layer$i")
done

TB=$E2E_TMP/blobs-tar DB=$E2E_TMP/blobs-dir SB=$E2E_TMP/blobs-single
mkdir -p "$TB" "$DB" "$SB"
# blob_stats BOOT ID: "compressed data size, uncompressed size, chunks" of blob ID per `check`
blob_stats() {
  "$NYDUS_IMAGE" check -B "$1" 2>&1 | grep -F " $2," | sed -E 's/.*(compressed data size [^,]*), compressed file size [^,]*, (uncompressed file size [^,]*, chunks: [^,]*),.*/\1, \2/'
}
json_blobs() { python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["blobs"]))' "$1"; }
# same_image A B BLOBDIR_A BLOBDIR_B WHAT: byte-identical, or the same tree under a kernel mount
IDENTICAL=0
same_image() {
  local a=$1 b=$2 da=$3 db=$4 what=$5
  if cmp -s "$a" "$b"; then
    log "   $what: bootstraps byte-identical ($(stat -c %s "$a") B)"
    IDENTICAL=$((IDENTICAL + 1))
    return 0
  fi
  log "   $what: bootstraps differ in bytes; comparing the mounted trees"
  erofs_mount "$a" "$da" "$E2E_TMP/mnt-a"
  erofs_mount "$b" "$db" "$E2E_TMP/mnt-b"
  verify_tree --no-content "$E2E_TMP/mnt-a" "$E2E_TMP/mnt-b"
  erofs_umount "$E2E_TMP/mnt-b"
  erofs_umount "$E2E_TMP/mnt-a"
}

parent_t=() parent_d=() IDS=()
for i in 1 2 3; do
  L=${LAYERS[$((i-1))]}
  phase "layer $i: targz-rafs vs dir-rafs${parent_t:+ (--parent-bootstrap layer$((i-1)))}"
  t0=$(now_ms)
  nydus_create "$E2E_TMP/tar$i.boot" "$TB" -v 6 --type targz-rafs "${parent_t[@]}" -J "$E2E_TMP/tar$i.json" "$L"
  log "   targz-rafs build: $(fmt_ms "$(elapsed_ms "$t0")") for $(stat -c %s "$L") B of tar.gz"
  nydus_check "$E2E_TMP/tar$i.boot" "$TB"
  t0=$(now_ms)
  nydus_create "$E2E_TMP/dir$i.boot" "$DB" -v 6 "${parent_d[@]}" -J "$E2E_TMP/dir$i.json" "$E2E_TMP/layer$i"
  log "   dir-rafs build: $(fmt_ms "$(elapsed_ms "$t0")")"
  nydus_check "$E2E_TMP/dir$i.boot" "$DB"
  tb=$(json_blobs "$E2E_TMP/tar$i.json" | tr ',' '\n' | tail -1)
  db=$(json_blobs "$E2E_TMP/dir$i.json" | tr ',' '\n' | tail -1)
  if [ "$tb" = "$db" ]; then
    log "   new blob identical: $tb"
  else
    ts=$(blob_stats "$E2E_TMP/tar$i.boot" "$tb") ds=$(blob_stats "$E2E_TMP/dir$i.boot" "$db")
    log "   new blobs differ in bytes (chunk order): tar $(stat -c %s "$TB/$tb") B, dir $(stat -c %s "$DB/$db") B"
    log "     tar: $ts"
    log "     dir: $ds"
    [ -n "$ts" ] && [ "$ts" = "$ds" ] || fail "layer $i: the new blobs do not hold the same chunks"
  fi
  same_image "$E2E_TMP/tar$i.boot" "$E2E_TMP/dir$i.boot" "$TB" "$DB" "layer $i"
  parent_t=(--parent-bootstrap "$E2E_TMP/tar$i.boot")
  parent_d=(--parent-bootstrap "$E2E_TMP/dir$i.boot")

  # per-layer bootstrap for merge (no parent: whiteout files stay in it)
  nydus_create "$E2E_TMP/single$i.boot" "$SB" -v 6 --type targz-rafs -J "$E2E_TMP/single$i.json" "$L"
  nydus_check "$E2E_TMP/single$i.boot" "$SB"
  IDS+=("$(json_blobs "$E2E_TMP/single$i.json")")
done
log "bootstraps byte-identical to the dir-rafs build: $IDENTICAL of 3 layers"

phase "merge the three per-layer bootstraps"
run "$NYDUS_IMAGE" merge -B "$E2E_TMP/merged.boot" -J "$E2E_TMP/merged.json" \
  --original-blob-ids "$(IFS=,; echo "${IDS[*]}")" \
  "$E2E_TMP/single1.boot" "$E2E_TMP/single2.boot" "$E2E_TMP/single3.boot"
nydus_check "$E2E_TMP/merged.boot" "$SB"
[ "$(json_blobs "$E2E_TMP/merged.json")" = "$(IFS=,; echo "${IDS[*]}")" ] \
  || fail "merged blob list $(json_blobs "$E2E_TMP/merged.json") != the per-layer blobs ${IDS[*]}"
# The per-layer blobs are not the chained build's: without a parent, a layer cannot
# deduplicate against lower layers, so its blob also holds chunks a lower blob has.
log "   chained blobs: $(json_blobs "$E2E_TMP/tar3.json")"
same_image "$E2E_TMP/merged.boot" "$E2E_TMP/tar3.boot" "$SB" "$TB" "merged vs chained"

for b in tar3 merged; do
  phase "$b bootstrap: fsck.erofs + kernel mount vs umoci rootfs"
  dir=$TB; [ $b = merged ] && dir=$SB
  erofs_fsck "$E2E_TMP/$b.boot" "$dir"
  erofs_mount "$E2E_TMP/$b.boot" "$dir" "$E2E_TMP/mnt-$b"
  verify_tree --no-content --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/mnt-$b"
  erofs_umount "$E2E_TMP/mnt-$b"
done

phase "--chunk-dict: layer 3 again against its own bootstrap writes no data"
mkdir -p "$E2E_TMP/blobs-dict"
nydus_create "$E2E_TMP/dict3.boot" "$E2E_TMP/blobs-dict" -v 6 --type targz-rafs \
  --chunk-dict "bootstrap=$E2E_TMP/single3.boot" -J "$E2E_TMP/dict3.json" "${LAYERS[2]}"
n=$(find "$E2E_TMP/blobs-dict" -type f ! -name '*.boot' | wc -l)
log "   blob files written: $n; blobs referenced: $(json_blobs "$E2E_TMP/dict3.json")"
[ "$n" = 0 ] || fail "the dict build wrote $n blob file(s)"
[ "$(json_blobs "$E2E_TMP/dict3.json")" = "${IDS[2]}" ] || fail "dict build should reference only ${IDS[2]}"
