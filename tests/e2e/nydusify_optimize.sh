#!/usr/bin/env bash
# e2e.nydusify_optimize: nydusify optimize (a separated prefetch blob, reference HEAD) against a
# local registry:
#   1. debian:bookworm (1 layer, cached by make-images.sh in $NYDUS_CACHE/images-debian) is
#      copied into the registry and converted (nydusify convert → debian:nydus);
#   2. a prefetch list (JSON v1, as `nydusctl access-pattern --format json` writes it): one
#      file with a range inside its second chunk, one whole file (two chunks), one missing path;
#   3. nydusify optimize → debian:optimized (same repository): log lines [BOOT] [OPTI] [BLOB]
#      [MANI]; the source blob was read by range only (the registry's response sizes); the
#      manifest has the source blob layers, the prefetch blob layer (nydus media type and
#      annotation), the bootstrap layer last with the old annotations plus the prefetch blob
#      id; config diff ids in that order; the bootstrap layer holds image/prefetch.files;
#   4. the new bootstrap (nydus-image check) has one more blob, marked separated-prefetch,
#      with exactly the chunks the list selects;
#   5. nydusify check of debian:optimized against debian:bookworm passes;
#   6. optimize into another repository (debopt:v1): the source blob is mounted across
#      repositories; through an external --nydus-image the same blob and bootstrap bytes;
#   7. nydusd mounts debopt:v1 from its repository (registry backend, blobcache, fs_prefetch):
#      "prefetch: separated prefetch blob <id>: N chunks (of N)" in its log, the registry sends
#      the whole prefetch blob before anything reads the mount, the tree equals the rootfs;
#   8. bad input: another --policy, an already optimized source, an OCI source, a list that
#      selects nothing: one error line each, nothing pushed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusify_optimize
require_root
require_cmd python3 skopeo curl flock tar
require_fuse
find_nydusd
find_tool nydusify NYDUSIFY
find_nydus_image
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"

phase "image debian:bookworm (cached in $NYDUS_CACHE/images-debian)"
if ! image_cached debian; then
  command -v debootstrap >/dev/null && command -v umoci >/dev/null ||
    skip "debian:bookworm is not cached and debootstrap/umoci are missing"
  "$TOOLS/detect-mirror.sh" >/dev/null 2>&1 || skip "debian:bookworm is not cached and no mirror"
fi
cached_image debian
EXPECTED=$CACHED_IMG/expected/debian-bookworm/rootfs

phase "registry: skopeo copy debian-bookworm; nydusify convert"
registry_start "$E2E_TMP/registry"
HOST=127.0.0.1:$REGISTRY_PORT
run skopeo copy -q --dest-tls-verify=false "oci:$CACHED_OCI:debian-bookworm" "docker://$HOST/debian:bookworm"
cd "$E2E_TMP"
run "$NYDUSIFY" convert --source "$HOST/debian:bookworm" --target "$HOST/debian:nydus" \
  --source-insecure --target-insecure --work-dir "$E2E_TMP/convwork"
MT='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
get_manifest() { # REPO TAG OUT
  curl -sS -f -H "Accept: $MT" -o "$3" "http://$HOST/v2/$1/manifests/$2" ||
    fail "cannot fetch the manifest of $1:$2"
}
get_blob() { curl -sS -f -L -o "$3" "http://$HOST/v2/$1/blobs/$2" || fail "cannot fetch blob $2 of $1"; }
get_manifest debian nydus "$E2E_TMP/src.json"
SRC_BLOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$E2E_TMP/src.json")
SRC_BLOB_SIZE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["size"])' "$E2E_TMP/src.json")
log "   source blob $SRC_BLOB ($SRC_BLOB_SIZE bytes)"

phase "prefetch list: a range of /usr/bin/perl, all of libc.so.6, a missing path"
RANGED=/usr/bin/perl
WHOLE=/usr/lib/x86_64-linux-gnu/libc.so.6
[ -f "$EXPECTED$RANGED" ] && [ ! -L "$EXPECTED$RANGED" ] &&
  [ "$(stat -c %s "$EXPECTED$RANGED")" -gt 3145728 ] || fail "$RANGED: not a regular 3+ MiB file"
[ -f "$EXPECTED$WHOLE" ] && [ ! -L "$EXPECTED$WHOLE" ] &&
  [ "$(stat -c %s "$EXPECTED$WHOLE")" -gt 1048576 ] || fail "$WHOLE: not a regular 1+ MiB file"
# Ranges: 4 KiB at 1 MiB + 100 (inside chunk 1 of the 1 MiB chunks); the expected chunk count
# is the number of distinct 1 MiB pieces selected (the builder dedups identical chunks).
EXPECT_CHUNKS=$(python3 - "$E2E_TMP/list.json" "$EXPECTED" "$RANGED" "$WHOLE" <<'PYEOF'
import hashlib, json, sys
out, root, ranged, whole = sys.argv[1:]
json.dump({"version": "v1", "files": [
    {"path": ranged, "ranges": [[1048576 + 100, 4096]]},
    {"path": whole, "ranges": None},
    {"path": "/no/such/file", "ranges": None}]}, open(out, "w"))
M = 1 << 20
pieces = set()
with open(root + ranged, "rb") as f:
    f.seek(M); pieces.add(hashlib.sha256(f.read(M)).digest())
with open(root + whole, "rb") as f:
    while (b := f.read(M)):
        pieces.add(hashlib.sha256(b).digest())
print(len(pieces))
PYEOF
) || fail "cannot write the prefetch list"
log "   $RANGED (4 KiB range), $WHOLE (whole), /no/such/file: $EXPECT_CHUNKS chunks expected"

phase "nydusify optimize debian:nydus -> debian:optimized"
REG_LINES=$(wc -l <"$REGISTRY_DIR/registry.log")
t0=$(now_ms)
run "$NYDUSIFY" optimize --source "$HOST/debian:nydus" --target "$HOST/debian:optimized" \
  --source-insecure --target-insecure --prefetch-files "$E2E_TMP/list.json" --work-dir "$E2E_TMP/optwork"
log "   optimized in $(fmt_ms "$(elapsed_ms "$t0")")"
grep -E '\[(BOOT|OPTI|BLOB|MANI)\]' "$LAST_LOG" | sed 's/^/    /'
grep -q '\[BOOT\] Pull bootstrap' "$LAST_LOG" || fail "no [BOOT] Pull line"
grep -q '\[OPTI\] Build prefetch blob=.* files=2 skipped=1 chunks='"$EXPECT_CHUNKS"' ' "$LAST_LOG" ||
  fail "expected 2 files, 1 skipped, $EXPECT_CHUNKS chunks in the [OPTI] line"
grep -q '\[BLOB\] Push prefetch blob' "$LAST_LOG" || fail "no [BLOB] line"
grep -q '\[BOOT\] Push bootstrap' "$LAST_LOG" || fail "no [BOOT] Push line"
grep -q '\[MANI\] Push manifest' "$LAST_LOG" || fail "no [MANI] line"
grep -q 'no/such/file is not found in the image, skipped' "$LAST_LOG" || fail "the missing path was not reported"
PREFETCH=$(sed -n 's/.*\[OPTI\] Build prefetch blob=\([0-9a-f]\{64\}\) .*/\1/p' "$LAST_LOG")
[ -n "$PREFETCH" ] || fail "no prefetch blob id in the log"
# Only ranges of the source blob were read: the registry's GETs of it sent far less than it.
READ=$(tail -n +"$((REG_LINES + 1))" "$REGISTRY_DIR/registry.log" | python3 -c '
import re, sys
blob = sys.argv[1]; n = total = 0
for line in sys.stdin:
    if "http.request.method=GET" in line and blob in line and "response completed" in line:
        m = re.search(r"http\.response\.written=(\d+)", line)
        if m: n += 1; total += int(m.group(1))
print(n, total)' "$SRC_BLOB")
log "   registry served ${READ% *} GET(s) of the source blob: ${READ#* } bytes of $SRC_BLOB_SIZE"
[ "${READ% *}" -gt 0 ] || fail "no GET of the source blob in the registry log"
[ "${READ#* }" -lt $((SRC_BLOB_SIZE / 4)) ] || fail "optimize read ${READ#* } bytes of the source blob"
[ ! -e "$E2E_TMP/optwork/optimize/${SRC_BLOB#sha256:}" ] || fail "the source blob was downloaded"

phase "the optimized manifest, config and bootstrap layer"
get_manifest debian optimized "$E2E_TMP/opt.json"
python3 - "$E2E_TMP/src.json" "$E2E_TMP/opt.json" "$PREFETCH" >"$E2E_TMP/boot-digest" <<'PYEOF' || fail "manifest check failed"
import json, sys
src, opt, pid = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
sl, ol = src["layers"], opt["layers"]
assert len(ol) == len(sl) + 1, (len(sl), len(ol))
assert ol[:-2] == sl[:-1], "the source blob layers changed"
p = ol[-2]
assert p["mediaType"] == "application/vnd.oci.image.layer.nydus.blob.v1", p
assert p["digest"] == "sha256:" + pid, p
assert p["annotations"] == {"containerd.io/snapshot/nydus-blob": "true"}, p
b, ob = ol[-1], sl[-1]
assert b["mediaType"] == ob["mediaType"], b
want = dict(ob["annotations"])
want["containerd.io/snapshot/nydus-separated-blob-with-prefetch-files"] = pid
assert b["annotations"] == want, b["annotations"]
assert opt["mediaType"] == src["mediaType"]
print(b["digest"], opt["config"]["digest"])
PYEOF
read -r BOOT_DIGEST CONFIG_DIGEST <"$E2E_TMP/boot-digest"
get_blob debian "$CONFIG_DIGEST" "$E2E_TMP/config.json"
mkdir -p "$E2E_TMP/optboot"
get_blob debian "$BOOT_DIGEST" "$E2E_TMP/optboot/layer.tar.gz"
run tar -xzf "$E2E_TMP/optboot/layer.tar.gz" -C "$E2E_TMP/optboot"
cmp "$E2E_TMP/optboot/image/prefetch.files" "$E2E_TMP/list.json" || fail "image/prefetch.files is not the list"
cmp "$E2E_TMP/optboot/image/image.boot" "$E2E_TMP/optwork/optimize/optimized_bootstrap" ||
  fail "the pushed image.boot is not the optimized bootstrap"
DIFF_ID=sha256:$(gzip -dc "$E2E_TMP/optboot/layer.tar.gz" | sha256sum | cut -d' ' -f1)
python3 - "$E2E_TMP/config.json" "$E2E_TMP/src.json" "$PREFETCH" "$DIFF_ID" <<'PYEOF' || fail "config check failed"
import json, sys
c, src, pid, diff_id = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
want = [l["digest"] for l in src["layers"][:-1]] + ["sha256:" + pid, diff_id]
assert c["rootfs"]["diff_ids"] == want, (c["rootfs"]["diff_ids"], want)
print("config diff_ids:", len(want))
PYEOF
log "   manifest, config and bootstrap layer (image.boot + prefetch.files) as expected"

phase "nydus-image check: one more blob, separated-prefetch, $EXPECT_CHUNKS chunks"
mkdir -p "$E2E_TMP/srcboot"
SRC_BOOT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"])' "$E2E_TMP/src.json")
get_blob debian "$SRC_BOOT" "$E2E_TMP/srcboot/layer.tar.gz"
run tar -xzf "$E2E_TMP/srcboot/layer.tar.gz" -C "$E2E_TMP/srcboot" image/image.boot
run "$NYDUS_IMAGE" check -B "$E2E_TMP/srcboot/image/image.boot"
N_SRC=$(grep -cE '^\s+[0-9]+: [0-9a-f]{64},' "$LAST_LOG")
run "$NYDUS_IMAGE" check -B "$E2E_TMP/optboot/image/image.boot"
grep -E '^\s+[0-9]+: [0-9a-f]{64},' "$LAST_LOG" | sed 's/^/    /'
N_OPT=$(grep -cE '^\s+[0-9]+: [0-9a-f]{64},' "$LAST_LOG")
[ "$N_OPT" = $((N_SRC + 1)) ] || fail "expected $((N_SRC + 1)) blobs, got $N_OPT"
LINE=$(grep -E "^\s+$N_SRC: $PREFETCH," "$LAST_LOG") || fail "blob $N_SRC is not $PREFETCH"
case "$LINE" in *separated-prefetch*) ;; *) fail "the prefetch blob is not separated-prefetch: $LINE" ;; esac
case "$LINE" in *"chunks: $(printf '0x%x' "$EXPECT_CHUNKS"),"*) ;; *) fail "expected $EXPECT_CHUNKS chunks: $LINE" ;; esac
grep -E "^\s+[0-9]+: " "$LAST_LOG" | grep -v "$PREFETCH" | grep -q separated && fail "another blob is separated-prefetch"

phase "nydusify check debian:optimized against debian:bookworm"
run "$NYDUSIFY" check --source "$HOST/debian:bookworm" --target "$HOST/debian:optimized" \
  --source-insecure --target-insecure --nydusd "$NYDUSD" --work-dir "$E2E_TMP/checkwork"

phase "optimize into another repository; the same bytes through --nydus-image"
run "$NYDUSIFY" optimize --source "$HOST/debian:nydus" --target "$HOST/debopt:v1" \
  --source-insecure --target-insecure --prefetch-files "$E2E_TMP/list.json" --work-dir "$E2E_TMP/optwork2"
grep -q "\[BLOB\] Push blob digest=$SRC_BLOB .*(mounted from source debian)" "$LAST_LOG" ||
  fail "the source blob was not mounted into debopt"
run "$NYDUSIFY" optimize --source "$HOST/debian:nydus" --target "$HOST/debian:optimized-ext" \
  --source-insecure --target-insecure --prefetch-files "$E2E_TMP/list.json" \
  --work-dir "$E2E_TMP/optwork3" --nydus-image "$NYDUS_IMAGE"
for w in optwork2 optwork3; do
  cmp "$E2E_TMP/optwork/optimize/blobs/$PREFETCH" "$E2E_TMP/$w/optimize/blobs/$PREFETCH" ||
    fail "$w: another prefetch blob"
  cmp "$E2E_TMP/optwork/optimize/optimized_bootstrap" "$E2E_TMP/$w/optimize/optimized_bootstrap" ||
    fail "$w: another bootstrap"
done
grep -q '\[BLOB\] Push prefetch blob .*(already exists, skipped)' "$LAST_LOG" ||
  fail "the prefetch blob of the external build was not found present"
get_manifest debian optimized-ext "$E2E_TMP/ext.json"
cmp "$E2E_TMP/opt.json" "$E2E_TMP/ext.json" || fail "the external build gave another manifest"
log "   in-process and external builds: identical blob, bootstrap and manifest"

phase "nydusd mounts debopt:v1 (registry, blobcache, fs_prefetch): prefetch blob first"
get_manifest debopt v1 "$E2E_TMP/debopt.json"
BOOT2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"])' "$E2E_TMP/debopt.json")
mkdir -p "$E2E_TMP/debopt"
get_blob debopt "$BOOT2" "$E2E_TMP/debopt/layer.tar.gz"
run tar -xzf "$E2E_TMP/debopt/layer.tar.gz" -C "$E2E_TMP/debopt" image/image.boot
PREFETCH=true registry_config "$E2E_TMP/debopt.json.cfg" "$HOST" debopt "$E2E_TMP/cache"
nydusd_start debopt "$E2E_TMP/mnt" "$E2E_TMP/debopt/image/image.boot" "$E2E_TMP/debopt.json.cfg"
NLOG=${NYDUSD_LOG[$E2E_TMP/mnt]}
for _ in $(seq 1 200); do grep -q "prefetch: separated prefetch blob $PREFETCH" "$NLOG" && break; sleep 0.05; done
grep "prefetch: separated prefetch blob" "$NLOG" | sed 's/^/    /'
grep -q "prefetch: separated prefetch blob $PREFETCH: $EXPECT_CHUNKS chunks (of $EXPECT_CHUNKS)" "$NLOG" ||
  fail "nydusd did not plan the separated blob whole"
# Nothing reads the mount yet: what the registry sends of the prefetch blob is the prefetch.
WANT=$(sed -n "s/.*prefetch: separated prefetch blob $PREFETCH: .* \([0-9]*\) bytes$/\1/p" "$NLOG")
[ -n "$WANT" ] || fail "no byte count in the prefetch log line"
served() {
  python3 -c '
import re, sys
n = 0
for line in open(sys.argv[1], errors="replace"):
    if "http.request.method=GET" in line and "/v2/debopt/blobs/sha256:" + sys.argv[2] in line:
        m = re.search(r"http\.response\.written=(\d+)", line)
        if m: n += int(m.group(1))
print(n)' "$REGISTRY_DIR/registry.log" "$PREFETCH"
}
for _ in $(seq 1 200); do [ "$(served)" -ge "$WANT" ] && break; sleep 0.05; done
[ "$(served)" -ge "$WANT" ] || fail "the registry sent $(served) of the prefetch blob's $WANT bytes"
log "   prefetched before any read: the registry sent $(served) bytes of the prefetch blob ($WANT of chunk data)"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$E2E_TMP/mnt"
cmp "$E2E_TMP/mnt$RANGED" "$EXPECTED$RANGED" || fail "$RANGED differs"
cmp "$E2E_TMP/mnt$WHOLE" "$EXPECTED$WHOLE" || fail "$WHOLE differs"
nydusd_stop "$E2E_TMP/mnt"
log "   mounted from debopt: the tree equals the rootfs"

phase "bad input: one clear line, non-zero exit, nothing pushed"
expect_one_line_failure() { # NAME PATTERN CMD...
  local name=$1 pattern=$2; shift 2
  local rc=0
  "$@" >"$E2E_TMP/bad.out" 2>"$E2E_TMP/bad.err" || rc=$?
  [ "$rc" != 0 ] || fail "$name: succeeded"
  grep '^error:' "$E2E_TMP/bad.err" | sed 's/^/    /'
  [ "$(grep -c '^error:' "$E2E_TMP/bad.err")" = 1 ] || fail "$name: expected one error line"
  grep -q "^error:.*$pattern" "$E2E_TMP/bad.err" || fail "$name: the error does not say '$pattern'"
}
OPT=("$NYDUSIFY" optimize --source-insecure --target-insecure --work-dir "$E2E_TMP/bad")
expect_one_line_failure policy "the only policy is separated-blob-with-prefetch-files" \
  "${OPT[@]}" --source "$HOST/debian:nydus" --target "$HOST/bad:a" \
  --prefetch-files "$E2E_TMP/list.json" --policy whole-image
expect_one_line_failure optimized "already optimized" \
  "${OPT[@]}" --source "$HOST/debian:optimized" --target "$HOST/bad:b" --prefetch-files "$E2E_TMP/list.json"
expect_one_line_failure oci "not a nydus image" \
  "${OPT[@]}" --source "$HOST/debian:bookworm" --target "$HOST/bad:c" --prefetch-files "$E2E_TMP/list.json"
printf '/no/such/file\n' >"$E2E_TMP/none.txt"
expect_one_line_failure empty "select no data" \
  "${OPT[@]}" --source "$HOST/debian:nydus" --target "$HOST/bad:d" --prefetch-files "$E2E_TMP/none.txt"
curl -sf -o /dev/null "http://$HOST/v2/bad/tags/list" && fail "a failed optimize pushed to repository bad"
phase_end
