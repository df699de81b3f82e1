#!/usr/bin/env bash
# e2e.nydusify: nydusify convert / check / mount against a local registry (issue 5):
#   1. the cached python:bookworm OCI layout is copied into a registry with skopeo;
#   2. nydusify convert → log lines [SOUR] [DUMP] [BLOB] [BOOT] [MANI], the tutorial's work
#      dir layout (tmp/blobs/<id>, tmp/bootstraps/<N>-sha256:<digest>[-output.json]), nydus
#      media types and annotations in the pushed manifest; the repository held only the
#      source, so the blobs are streamed to it while they are built;
#   2b. the same conversion through an external `--nydus-image` gives byte-identical packs,
#      per-layer bootstraps and blobs, whose pushes are skipped as already present;
#   3. the last per-layer bootstrap mounted with nydusd + registry.json equals the umoci rootfs;
#   4. nydusify check passes; a conversion of a missing image and of a wrong platform fail
#      with one line; after flipping a byte of a blob in the registry storage, check fails
#      naming a file;
#   5. nydusify mount serves the image (background, read a file, kill);
#   6. skopeo copies the nydus image to another repository (pycopy:nydus, blobs as opaque
#      layers): the copy's bootstrap layer (image/image.boot) mounted by nydusd from the new
#      repository equals the rootfs;
#   7. debian:bookworm (1 layer, built by make-images.sh IMAGES=debian and cached in
#      $NYDUS_CACHE/images-debian): convert + check pass; python converted again with
#      --chunk-dict bootstrap:registry:debian:bookworm-nydus dedups its whole base layer
#      (2 new blobs, the dict's blob mounted into the new repository) and checks;
#   8. node:bookworm (3 layers, npm node_modules; $NYDUS_CACHE/images-node): convert + check.
#   (the tamper check runs last: it corrupts a blob in the registry storage)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusify
require_root
require_cmd python3 skopeo curl flock
require_fuse
find_nydusd
find_tool nydusify NYDUSIFY
find_nydus_image
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"

# have_image NAME: NAME:bookworm (debian: 1 layer; node: 3 layers, npm install) is cached, or can
# be built here (lib.sh cached_image); sets CACHED_OCI. Returns 1 (the phase is skipped) if not.
have_image() {
  if ! image_cached "$1"; then
    command -v debootstrap >/dev/null && command -v umoci >/dev/null || return 1
    if [ "$1" = node ]; then command -v npm >/dev/null || return 1; fi
    "$TOOLS/detect-mirror.sh" >/dev/null 2>&1 || return 1
  fi
  cached_image "$1"
}

python_image_layers
OCI=$NYDUS_CACHE/images-python/oci

phase "registry: skopeo copy python-bookworm"
registry_start "$E2E_TMP/registry"
HOST=127.0.0.1:$REGISTRY_PORT
run skopeo copy -q --dest-tls-verify=false "oci:$OCI:python-bookworm" "docker://$HOST/python:bookworm"

phase "nydusify convert"
cd "$E2E_TMP"
t0=$(now_ms)
run "$NYDUSIFY" convert --source "$HOST/python:bookworm" --target "$HOST/python:bookworm-nydus" \
  --source-insecure --target-insecure
log "   converted in $(fmt_ms "$(elapsed_ms "$t0")")"
grep -E '\[(SOUR|DUMP|BLOB|BOOT|MANI)\]' "$LAST_LOG" | sed 's/^/    /'
for tag in SOUR DUMP BLOB; do
  [ "$(grep -c "\[$tag\]" "$LAST_LOG")" = 3 ] || fail "expected 3 [$tag] lines"
done
grep -q '\[BOOT\] Push bootstrap' "$LAST_LOG" || fail "no [BOOT] line"
grep -q '\[MANI\] Push manifest' "$LAST_LOG" || fail "no [MANI] line"
[ "$(ls tmp/blobs | grep -cE '^[0-9a-f]{64}$')" = 3 ] || fail "expected 3 blobs in tmp/blobs"
# The repository held only the source image: every blob went up while it was built.
[ "$(grep -c '\[BLOB\] Push blob .*(streamed while built)' "$LAST_LOG")" = 3 ] ||
  fail "expected the 3 blobs to be streamed while built"
for n in 1 2 3; do
  ls tmp/bootstraps/$n-sha256:* >/dev/null 2>&1 || fail "no tmp/bootstraps/$n-sha256:*"
  ls tmp/bootstraps/$n-sha256:*-output.json >/dev/null 2>&1 || fail "no $n-…-output.json"
done
BOOT=$(ls tmp/bootstraps/3-sha256:* | grep -v output.json)

phase "nydusify convert --nydus-image (external builder): the same bytes"
run "$NYDUSIFY" convert --source "$HOST/python:bookworm" --target "$HOST/python:bookworm-ext" \
  --source-insecure --target-insecure --nydus-image "$NYDUS_IMAGE" --work-dir "$E2E_TMP/extwork"
same=0
for f in tmp/blobs/* tmp/packs/*-sha256:* tmp/bootstraps/*-sha256:*; do
  case $f in *-output.json) continue ;; esac
  cmp -s "$f" "$E2E_TMP/extwork/${f#tmp/}" || fail "external builder: $f differs"
  same=$((same + 1))
done
[ "$same" = 9 ] || fail "expected 3 blobs, 3 packs and 3 bootstraps, compared $same files"
log "   external nydus-image: $same files identical"
# The repository now holds nydus images too: the blobs are looked up first, and skipped.
[ "$(grep -c '\[BLOB\] Push blob .*(already exists, skipped)' "$LAST_LOG")" = 3 ] ||
  fail "expected the 3 blobs of the second conversion to be skipped as present"

phase "pushed manifest has the nydus media types and annotations"
run skopeo inspect --raw --tls-verify=false "docker://$HOST/python:bookworm-nydus"
python3 - "$LAST_LOG" <<'PYEOF' || fail "manifest check failed"
import json, sys
text = open(sys.argv[1]).read()
m = json.loads(text[text.index("{"):text.rindex("}") + 1])
ls = m["layers"]
assert len(ls) == 4, len(ls)
for l in ls[:-1]:
    assert l["mediaType"] == "application/vnd.oci.image.layer.nydus.blob.v1", l
    assert l["annotations"]["containerd.io/snapshot/nydus-blob"] == "true", l
b = ls[-1]
assert b["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip", b
assert b["annotations"]["containerd.io/snapshot/nydus-bootstrap"] == "true", b
assert b["annotations"]["containerd.io/snapshot/nydus-fs-version"] == "6", b
print("manifest ok")
PYEOF

phase "mount the last per-layer bootstrap with nydusd + registry.json: equals the rootfs"
registry_config "$E2E_TMP/registry.json" "$HOST" python "$E2E_TMP/cache"
nydusd_start layer3 "$E2E_TMP/mnt" "$BOOT" "$E2E_TMP/registry.json"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/mnt"
nydusd_stop "$E2E_TMP/mnt"

phase "nydusify check passes"
t0=$(now_ms)
run "$NYDUSIFY" check --source "$HOST/python:bookworm" --target "$HOST/python:bookworm-nydus" \
  --source-insecure --target-insecure --nydusd "$NYDUSD"
log "   check passed in $(fmt_ms "$(elapsed_ms "$t0")")"

phase "bad input: one clear line, non-zero exit"
expect_one_line_failure() { # NAME CMD...
  local name=$1; shift
  local rc=0
  "$@" >"$E2E_TMP/bad.out" 2>"$E2E_TMP/bad.err" || rc=$?
  [ "$rc" != 0 ] || fail "$name: succeeded"
  grep '^error:' "$E2E_TMP/bad.err" | sed 's/^/    /'
  [ "$(grep -c '^error:' "$E2E_TMP/bad.err")" = 1 ] || fail "$name: expected one error line"
}
expect_one_line_failure missing "$NYDUSIFY" convert --source "$HOST/nope:latest" \
  --target "$HOST/nope:nydus" --source-insecure --target-insecure --work-dir "$E2E_TMP/bad"
expect_one_line_failure platform "$NYDUSIFY" convert --source "$HOST/python:bookworm" \
  --target "$HOST/python:arm" --platform linux/arm64 --source-insecure --target-insecure \
  --work-dir "$E2E_TMP/bad"
expect_one_line_failure unreachable "$NYDUSIFY" convert --source "127.0.0.1:1/python:bookworm" \
  --target "$HOST/python:x" --source-insecure --target-insecure --work-dir "$E2E_TMP/bad"
curl -sf -o /dev/null "http://$HOST/v2/python/manifests/arm" && fail "a manifest was pushed for a failed conversion"

phase "nydusify mount (background): read a file"
MNT2=$E2E_TMP/mnt2
mkdir -p "$MNT2"
"$NYDUSIFY" mount --target "$HOST/python:bookworm-nydus" --target-insecure --mount-path "$MNT2" \
  --nydusd "$NYDUSD" --work-dir "$E2E_TMP/mountwork" >"$E2E_TMP/logs/mount.log" 2>&1 &
MPID=$!
on_exit "kill $MPID 2>/dev/null; umount -l '$MNT2' 2>/dev/null"
for _ in $(seq 1 600); do
  case "$(mounted_type "$MNT2")" in fuse*) break ;; esac
  kill -0 "$MPID" 2>/dev/null || { tail "$E2E_TMP/logs/mount.log"; fail "nydusify mount exited"; }
  sleep 0.05
done
case "$(mounted_type "$MNT2")" in fuse*) ;; *) fail "nydusify mount did not mount" ;; esac
cmp "$MNT2/etc/os-release" "$EXPECTED/etc/os-release" || fail "/etc/os-release differs"
log "   /etc/os-release read through nydusify mount"
kill "$MPID"
for _ in $(seq 1 200); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.05; done
umount -l "$MNT2" 2>/dev/null || true

phase "skopeo copy python:bookworm-nydus -> pycopy:nydus; nydusd mounts the copy"
t0=$(now_ms)
run skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
  "docker://$HOST/python:bookworm-nydus" "docker://$HOST/pycopy:nydus"
log "   copied in $(fmt_ms "$(elapsed_ms "$t0")")"
MT='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
curl -sS -f -H "Accept: $MT" -o "$E2E_TMP/orig.json" "http://$HOST/v2/python/manifests/bookworm-nydus" \
  || fail "cannot fetch the python:bookworm-nydus manifest"
curl -sS -f -H "Accept: $MT" -o "$E2E_TMP/copy.json" "http://$HOST/v2/pycopy/manifests/nydus" \
  || fail "cannot fetch the pycopy:nydus manifest"
BOOTLAYER=$(python3 - "$E2E_TMP/orig.json" "$E2E_TMP/copy.json" <<'PYEOF'
import json, sys
o = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2]))
key = lambda l: (l["digest"], l["mediaType"], l["size"], l.get("annotations", {}))
assert [key(l) for l in c["layers"]] == [key(l) for l in o["layers"]], "layers changed by the copy"
boot = [l for l in c["layers"]
        if l.get("annotations", {}).get("containerd.io/snapshot/nydus-bootstrap") == "true"]
assert len(boot) == 1, boot
print(boot[0]["digest"])
PYEOF
) || fail "pycopy:nydus manifest check failed"
log "   pycopy:nydus has the same $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["layers"]))' "$E2E_TMP/copy.json") layers; bootstrap layer $BOOTLAYER"
mkdir -p "$E2E_TMP/copyboot"
curl -sS -f -L -o "$E2E_TMP/copyboot/boot.tar.gz" "http://$HOST/v2/pycopy/blobs/$BOOTLAYER" \
  || fail "cannot fetch the bootstrap layer from pycopy"
run tar -xzf "$E2E_TMP/copyboot/boot.tar.gz" -C "$E2E_TMP/copyboot" image/image.boot
[ -s "$E2E_TMP/copyboot/image/image.boot" ] || fail "no image/image.boot in the bootstrap layer"
registry_config "$E2E_TMP/registry-copy.json" "$HOST" pycopy "$E2E_TMP/cache-copy"
nydusd_start pycopy "$E2E_TMP/mnt-copy" "$E2E_TMP/copyboot/image/image.boot" "$E2E_TMP/registry-copy.json"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/mnt-copy"
nydusd_stop "$E2E_TMP/mnt-copy"
log "   the copy mounted from repository pycopy equals the rootfs"

phase "debian:bookworm: convert + check"
if have_image debian; then
  run skopeo copy -q --dest-tls-verify=false "oci:$CACHED_OCI:debian-bookworm" "docker://$HOST/debian:bookworm"
  t0=$(now_ms)
  run "$NYDUSIFY" convert --source "$HOST/debian:bookworm" --target "$HOST/debian:bookworm-nydus" \
    --source-insecure --target-insecure --work-dir "$E2E_TMP/debwork"
  log "   converted in $(fmt_ms "$(elapsed_ms "$t0")")"
  [ "$(grep -c '\[BLOB\]' "$LAST_LOG")" = 1 ] || fail "expected 1 [BLOB] line for debian"
  t0=$(now_ms)
  run "$NYDUSIFY" check --source "$HOST/debian:bookworm" --target "$HOST/debian:bookworm-nydus" \
    --source-insecure --target-insecure --nydusd "$NYDUSD" --work-dir "$E2E_TMP/debcheck"
  log "   check passed in $(fmt_ms "$(elapsed_ms "$t0")")"

  phase "python:bookworm with --chunk-dict bootstrap:registry:debian:bookworm-nydus"
  # python's base layer is debian's: every chunk of it is in the dict, so that pack writes
  # no blob and the manifest references the dict's blob, mounted from repository debian.
  run "$NYDUSIFY" convert --source "$HOST/python:bookworm" --target "$HOST/pydict:nydus" \
    --source-insecure --target-insecure --work-dir "$E2E_TMP/dictwork" \
    --chunk-dict "bootstrap:registry:$HOST/debian:bookworm-nydus" --chunk-dict-insecure
  grep -q '\[DICT\] Pull chunk dict bootstrap' "$LAST_LOG" || fail "no [DICT] line"
  grep -q 'mounted from chunk dict debian' "$LAST_LOG" || fail "the dict blob was not mounted"
  [ "$(ls "$E2E_TMP/dictwork/blobs" | grep -cE '^[0-9a-f]{64}$')" = 2 ] ||
    fail "expected 2 new blobs with the chunk dict, got: $(ls "$E2E_TMP/dictwork/blobs")"
  run "$NYDUSIFY" check --source "$HOST/python:bookworm" --target "$HOST/pydict:nydus" \
    --source-insecure --target-insecure --nydusd "$NYDUSD" --work-dir "$E2E_TMP/dictcheck"
  log "   converted with the dict (2 new blobs, base blob mounted) and checked"
else
  log "   SKIPPED: debian:bookworm is not cached and cannot be built (debootstrap/umoci/mirror)"
fi

phase "node:bookworm: convert + check"
if [ "${NYDUSIFY_NODE:-1}" = 1 ] && have_image node; then
  run skopeo copy -q --dest-tls-verify=false "oci:$CACHED_OCI:node-bookworm" "docker://$HOST/node:bookworm"
  t0=$(now_ms)
  run "$NYDUSIFY" convert --source "$HOST/node:bookworm" --target "$HOST/node:bookworm-nydus" \
    --source-insecure --target-insecure --work-dir "$E2E_TMP/nodework"
  log "   converted in $(fmt_ms "$(elapsed_ms "$t0")")"
  t0=$(now_ms)
  run "$NYDUSIFY" check --source "$HOST/node:bookworm" --target "$HOST/node:bookworm-nydus" \
    --source-insecure --target-insecure --nydusd "$NYDUSD" --work-dir "$E2E_TMP/nodecheck"
  log "   check passed in $(fmt_ms "$(elapsed_ms "$t0")")"
else
  log "   SKIPPED: node:bookworm is not cached and cannot be built (NYDUSIFY_NODE=0, or debootstrap/umoci/npm/mirror missing)"
fi

phase "tamper one blob in the registry storage: check fails naming a file"
BIG=$(ls -S tmp/blobs | head -n 1)
DATA=$REGISTRY_DIR/data/docker/registry/v2/blobs/sha256/${BIG:0:2}/$BIG/data
[ -f "$DATA" ] || fail "blob data not at $DATA"
python3 - "$DATA" <<'PYEOF'
import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(1 << 20); b = f.read(1); f.seek(1 << 20); f.write(bytes([b[0] ^ 0xff]))
PYEOF
rc=0
run_rc "$NYDUSIFY" check --source "$HOST/python:bookworm" --target "$HOST/python:bookworm-nydus" \
  --source-insecure --target-insecure --nydusd "$NYDUSD" --work-dir "$E2E_TMP/check2" || rc=$?
[ "$rc" != 0 ] || fail "check passed on a tampered blob"
grep -E '^filesystem: /' "$LAST_LOG" | head -n 5 | sed 's/^/    /'
grep -qE '^filesystem: /[^:]+: ' "$LAST_LOG" || fail "check did not name a file"
phase_end
