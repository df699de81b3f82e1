#!/usr/bin/env bash
# e2e.layered_python: a real 3-layer OCI image converted layer by layer.
#  1. Image: tests/tools/make-images.sh builds python:bookworm (debootstrap base, + python3,
#     + an app layer with .wh. whiteouts, an opaque dir, hardlinks, symlinks, user.* xattrs, a
#     sparse file), pushes it to a local registry (tests/tools/registry.sh, free port, temp dir)
#     and pulls it back, unpacked by umoci: expected/python-bookworm/rootfs is the merged tree.
#     Cached in $NYDUS_CACHE/images-python (OCI layout + expected tree; REFRESH=1 rebuilds).
#  2. The three layer tars are read from the OCI layout and unpacked with GNU tar
#     (tests/tools/unpack-layer.sh: --xattrs --xattrs-include='*' --numeric-owner, .wh. files
#     kept; implied parent dirs get their lower-layer metadata, see that script). Oracle check:
#     tests/tools/apply-layers.sh merges them naively with OCI whiteout rules and the result
#     must equal the umoci rootfs strictly (content too), so the inputs are known good.
#  3. nydus-image create, all v6, one blob dir: layer 1; layer 2 --parent-bootstrap layer1.boot;
#     layer 3 --parent-bootstrap layer2.boot. `check` passes on each bootstrap.
#  4. The final bootstrap passes fsck.erofs (3 devices) and its kernel EROFS mount (3 blob
#     devices) equals the umoci rootfs under
#     verify-tree.sh --no-content --no-root --mtime-tolerance 500000000
#     (Go's archive/tar rounds mtimes to the second). No --ignore-xattr is needed: the image's
#     only xattrs are non-empty user.* ones (umoci drops only empty-valued xattrs).
source "$(dirname "$0")/lib.sh"
e2e_init layered_python
require_root
require_cmd python3 tar fsck.erofs losetup flock
find_nydus_image
require_erofs_kernel

python_image_layers
for i in 1 2 3; do log "   layer $i: ${LAYERS[$((i-1))]} ($(stat -c %s "${LAYERS[$((i-1))]}") B)"; done

phase "unpack layers with GNU tar"
LOWERS=()
for i in 1 2 3; do
  run "$TOOLS/unpack-layer.sh" "${LAYERS[$((i-1))]}" "$E2E_TMP/layer$i" "${LOWERS[@]}"
  sed 's/^/    /' "$LAST_LOG"
  log "   layer$i: $(find "$E2E_TMP/layer$i" | wc -l) entries, $(find "$E2E_TMP/layer$i" -name '.wh.*' | wc -l) .wh. file(s)"
  LOWERS+=("$E2E_TMP/layer$i")
done

phase "oracle check: naive OCI merge of the unpacked layers == umoci rootfs"
# If this fails the test inputs are wrong, not nydus-image (content compared too).
run "$TOOLS/apply-layers.sh" "$E2E_TMP/merged" "${LOWERS[@]}"
sed 's/^/    /' "$LAST_LOG"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/merged"
rm -rf "$E2E_TMP/merged"

BLOBS=$E2E_TMP/blobs
mkdir -p "$BLOBS"
parent=()
for i in 1 2 3; do
  phase "layer $i: nydus-image create -v 6${parent:+ --parent-bootstrap layer$((i-1)).boot}"
  nydus_create "$E2E_TMP/layer$i.boot" "$BLOBS" -v 6 "${parent[@]}" -J "$E2E_TMP/layer$i.json" "$E2E_TMP/layer$i"
  nydus_check "$E2E_TMP/layer$i.boot" "$BLOBS"
  parent=(--parent-bootstrap "$E2E_TMP/layer$i.boot")
done
FINAL=$E2E_TMP/layer3.boot
NB=$(blob_list "$FINAL" | grep -c .) || true
log "final bootstrap references $NB blob(s)"
[ "$NB" = 3 ] || fail "final bootstrap should reference 3 blobs (one per layer), found $NB"

phase "final bootstrap: fsck.erofs"
erofs_fsck "$FINAL" "$BLOBS"

phase "final bootstrap: kernel mount (3 blob devices) vs umoci rootfs"
erofs_mount "$FINAL" "$BLOBS" "$E2E_TMP/mnt"
verify_tree --no-content --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/mnt"
erofs_umount "$E2E_TMP/mnt"
