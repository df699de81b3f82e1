#!/usr/bin/env bash
# e2e.nydusd_python_runc: the 3-layer python:bookworm image (built and cached exactly as in
# e2e.layered_python: make-images.sh, layer tars unpacked with GNU tar, nydus-image create -v 6
# per layer with --parent-bootstrap) served by nydusd and used as a container rootfs:
#   1. the nydusd mount of the final bootstrap (3 blobs) equals the umoci rootfs under
#      verify-tree.sh --no-root --mtime-tolerance 500000000, content included;
#   2. overlayfs with the FUSE mount as lowerdir: copy-up write and whiteout work;
#   3. runc runs `python3 /app/main.py nydus e2e` on the overlay and prints what the testbed's
#      app prints: {"hello": "world", "argv": ["nydus", "e2e"], "cwd": "/"};
#   4. runc runs the same with the FUSE mount itself as a read-only rootfs;
#   5. SIGTERM unmounts cleanly.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_python_runc
require_root
require_cmd python3 tar flock runc
require_fuse
find_nydus_image
find_nydusd
grep -qw overlay /proc/filesystems || try_modprobe overlay
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs"

WANT='{"hello": "world", "argv": ["nydus", "e2e"], "cwd": "/"}'
python_image_layers
LOWERS=()
for i in 1 2 3; do
  run "$TOOLS/unpack-layer.sh" "${LAYERS[$((i-1))]}" "$E2E_TMP/layer$i" "${LOWERS[@]}"
  LOWERS+=("$E2E_TMP/layer$i")
done

BLOBS=$E2E_TMP/blobs
parent=()
for i in 1 2 3; do
  phase "layer $i: nydus-image create -v 6${parent:+ --parent-bootstrap layer$((i-1)).boot}"
  nydus_create "$E2E_TMP/layer$i.boot" "$BLOBS" -v 6 "${parent[@]}" "$E2E_TMP/layer$i"
  parent=(--parent-bootstrap "$E2E_TMP/layer$i.boot")
  rm -rf "$E2E_TMP/layer$i"
done

phase "nydusd mount of layer3.boot (3 blobs) == umoci rootfs, content included"
MNT=$E2E_TMP/mnt
localfs_config "$E2E_TMP/localfs.json" "$BLOBS"
nydusd_start python "$MNT" "$E2E_TMP/layer3.boot" "$E2E_TMP/localfs.json"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$MNT"

phase "overlayfs with the FUSE mount as lowerdir"
O=$E2E_TMP/overlay
mkdir -p "$O/upper" "$O/work" "$O/merged"
run mount -t overlay overlay -o "lowerdir=$MNT,upperdir=$O/upper,workdir=$O/work" "$O/merged"
MOUNTS+=("$O/merged")
echo written-through-overlay >"$O/merged/etc/nydus-overlay"
rm -f "$O/merged/etc/hostname"
[ -f "$O/upper/etc/nydus-overlay" ] || fail "copy-up write did not land in the upper dir"
[ "$(stat -c %F:%t:%T "$O/upper/etc/hostname" 2>/dev/null)" = "character special file:0:0" ] \
  || fail "deleting /etc/hostname did not leave a whiteout in the upper dir"
[ ! -e "$O/merged/etc/hostname" ] && [ "$(cat "$MNT/etc/hostname")" = testbed-app ] \
  || fail "whiteout or lower content wrong"
log "   copy-up write and whiteout OK; lower /etc/hostname still reads 'testbed-app'"

# make_bundle DIR ROOTFS READONLY ARGS...: an OCI bundle from `runc spec`
make_bundle() {
  local b=$1 r=$2 ro=$3; shift 3
  mkdir -p "$b"
  (cd "$b" && runc spec) || fail "runc spec failed"
  python3 - "$b/config.json" "$r" "$ro" "$@" <<'PYEOF'
import json, sys
p, root, ro, args = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
c = json.load(open(p))
c["process"]["args"] = args
c["process"]["terminal"] = False
c["root"] = {"path": root, "readonly": ro}
c["hostname"] = "nydus-e2e"
json.dump(c, open(p, "w"), indent=1)
PYEOF
}
# run_container NAME BUNDLE: runs it, compares stdout with $WANT
run_container() {
  local name=$1 b=$2 out rc=0 t0
  t0=$(now_ms)
  echo "  \$ runc --root $E2E_TMP/runc run --bundle $b $name"
  out=$(timeout 120 runc --root "$E2E_TMP/runc" run --bundle "$b" "$name-$$" 2>&1 </dev/null) || rc=$?
  runc --root "$E2E_TMP/runc" delete -f "$name-$$" >/dev/null 2>&1 || true
  echo "    output: $out"
  [ $rc = 0 ] || fail "runc $name exited with $rc"
  [ "$out" = "$WANT" ] || fail "runc $name printed '$out', expected '$WANT'"
  log "   $name: output as expected ($(fmt_ms "$(elapsed_ms "$t0")"))"
}

phase "runc: python3 /app/main.py on the overlay"
make_bundle "$E2E_TMP/bundle-overlay" "$O/merged" 0 python3 /app/main.py nydus e2e
run_container overlay "$E2E_TMP/bundle-overlay"

phase "runc: python3 /app/main.py on the read-only FUSE mount"
make_bundle "$E2E_TMP/bundle-ro" "$MNT" 1 python3 /app/main.py nydus e2e
run_container fuse-ro "$E2E_TMP/bundle-ro"

phase "unmount overlay, SIGTERM nydusd"
run umount "$O/merged"
nydusd_alive "$MNT"
nydusd_stop "$MNT"
