#!/usr/bin/env bash
# e2e.nydusd_api: one nydusd serving two images mounted through its API socket.
#   1. nydusd --apisock S --mountpoint M without --bootstrap: an empty pseudo root,
#      GET /api/v1/daemon says RUNNING.
#   2. POST /api/v1/mount?mountpoint=/python (registry backend, blobcache) and, through
#      nydusctl, /tree (the gen-tree.sh tree, localfs backend): both verified with
#      verify-tree.sh, content included.
#   3. GET /metrics parses as Prometheus text; nydusctl metrics backend shows the bytes read;
#      per-mount fs metrics count the reads.
#   4. DELETE /api/v1/mount?mountpoint=/tree: the directory disappears, /python still reads.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_api
require_root
require_cmd python3 tar flock curl
require_fuse
find_nydus_image
find_nydusd
find_nydusctl
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"

python_nydus_layers
registry_start "$E2E_TMP/registry"
HOST=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$HOST" python "$BLOBS"
registry_config "$E2E_TMP/registry.json" "$HOST" python "$E2E_TMP/cache"

phase "gen-tree.sh tree as a second image (localfs)"
gen_tree "$E2E_TMP/tree"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/tree-blobs" -v 6 "$E2E_TMP/tree"
localfs_config "$E2E_TMP/localfs.json" "$E2E_TMP/tree-blobs"

phase "API-only daemon"
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock
nydusd_start api "$MNT" - - --apisock "$SOCK"
state=$(api_get "$SOCK" /api/v1/daemon | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
[ "$state" = RUNNING ] || fail "daemon state '$state', expected RUNNING"
[ -z "$(ls -A "$MNT")" ] || fail "the pseudo root is not empty before any mount"

phase "mount /python over the API (curl) and /tree with nydusctl"
body=$(python3 - "$BOOT" "$E2E_TMP/registry.json" <<'PYEOF'
import json, sys
print(json.dumps({"source": sys.argv[1], "fs_type": "rafs", "config": open(sys.argv[2]).read()}))
PYEOF
)
code=$(curl -sS -o "$E2E_TMP/mount.out" -w '%{http_code}' --max-time 60 --unix-socket "$SOCK" \
  -X POST -H 'Content-Type: application/json' -d "$body" "http://localhost/api/v1/mount?mountpoint=/python")
[ "$code" = 204 ] || fail "POST /api/v1/mount answered $code: $(cat "$E2E_TMP/mount.out")"
run "$NYDUSCTL" -S "$SOCK" mount -s "$E2E_TMP/tree.boot" -c "$E2E_TMP/localfs.json" -m /tree -t rafs
sed 's/^/    /' "$LAST_LOG"
run "$NYDUSCTL" -S "$SOCK" info
sed 's/^/    /' "$LAST_LOG"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$MNT/python"
verify_tree --no-root --exclude times/epoch-0 "$E2E_TMP/tree" "$MNT/tree"

phase "metrics: Prometheus text, nydusctl backend bytes, per-mount fs metrics"
api_get "$SOCK" /metrics >"$E2E_TMP/metrics.txt"
python3 - "$E2E_TMP/metrics.txt" <<'PYEOF' || fail "GET /metrics is not valid Prometheus text"
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? [-+]?([0-9.eE+-]+|NaN|[+-]Inf)$')
n = 0
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    if not sample.match(line):
        print("bad line:", line); sys.exit(1)
    n += 1
print(f"{n} samples"); sys.exit(0 if n > 0 else 1)
PYEOF
run "$NYDUSCTL" -S "$SOCK" metrics backend
sed 's/^/    /' "$LAST_LOG"
run "$NYDUSCTL" -S "$SOCK" -r metrics backend
python3 - "$LAST_LOG" <<'PYEOF' || fail "nydusctl -r metrics backend shows no bytes read"
import json, sys
text = open(sys.argv[1]).read()
data = json.loads(text[text.index("{"):])
total = data["read_amount_total"] if "read_amount_total" in data else sum(
    v["read_amount_total"] for v in data.values())
print("backend read_amount_total", total); sys.exit(0 if total > 0 else 1)
PYEOF
reads=$(api_get "$SOCK" "/api/v1/metrics?id=/tree" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_read"])')
log "   /tree data_read $reads"
[ "$reads" -gt 0 ] || fail "fs metrics of /tree count no data read"

phase "umount /tree over the API; /python keeps serving"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 --unix-socket "$SOCK" -X DELETE \
  "http://localhost/api/v1/mount?mountpoint=/tree")
[ "$code" = 204 ] || fail "DELETE /api/v1/mount answered $code"
[ ! -e "$MNT/tree" ] || fail "$MNT/tree still exists after the umount"
cmp "$MNT/python/usr/bin/python3" "$EXPECTED/usr/bin/python3" || fail "/python no longer reads"
nydusd_stop "$MNT"
phase_end
