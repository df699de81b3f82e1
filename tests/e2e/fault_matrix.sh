#!/usr/bin/env bash
# e2e.fault_matrix: nydusd's registry backend under injected network faults (docs/reliability.md,
# "Fault injection"). A docker-registry with basic auth (AUTH=1) serves a small synthetic image
# through tests/tools/faultproxy.py; nydusd runs with the blob cache, digest_validate true,
# timeout 3 s, retry_limit 2 (backoff 0.5 s, 1 s). For each case, on a fresh daemon and cache:
#   1. mount, read a warm-up file (loads the blob meta), set the fault on the proxy;
#   2. read the case's files through the FUSE mount (tests/tools/fault_reader.py: every byte,
#      also those before an error, is compared with the source tree; page cache dropped first);
#   3. assert the documented outcome: "ok" (retried to success) or "EIO" within the stated
#      bound; never a wrong byte, never another errno; the proxy applied the fault;
#   4. the daemon is alive (pid, FUSE mount, GET /api/v1/daemon answers) and its VmHWM stays
#      under HWM_MIB (default 128);
#   5. clear the fault: the same files read correctly; the daemon stops cleanly (exit 0).
# The redirect case also asserts that the Authorization header never reaches the redirect
# target (faultproxy's second listener). flip-meta-once sets its fault before the warm-up
# (the flip lands in the blob-meta / CI array fetch) and then also restarts nydusd on the
# same work_dir: the files read again and the `.blob.meta` copy on disk is not found damaged.
# The table of results is printed at the end and written to $E2E_TMP/matrix.md (KEEP_TMP=1
# keeps it).
# Env: CASES="name ..." runs only those cases; HWM_MIB (128).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init fault_matrix
require_root
require_cmd htpasswd
require_fuse
require_faultproxy
find_nydus_image
find_nydusd

TIMEOUT_S=3
RETRY_LIMIT_N=2
HWM_MIB=${HWM_MIB:-128}
# A read() whose page cannot be fetched costs two FUSE reads: the kernel's readahead request
# fails, then the kernel asks once more for the page itself (synchronously). Each FUSE read is
# one backend read with (retry_limit + 1) = 3 attempts, waiting 0.5 s + 1 s between them
# (or the Retry-After of 1 s the 429 cases send: 1 s + 1 s).
# Fast failures (status, reset, short body, bad range): 2 x (2 s of waits) + 2 s slack.
BOUND_FAST=6000
# Failures by timeout (stall, drip): 2 x (3 attempts x 3 s + 1.5 s) = 21 s; + 4 s slack.
BOUND_TIMEOUT=25000
# Successes after one timed-out attempt: 3 s + 0.5 s backoff + the read itself.
BOUND_ONE_TIMEOUT=8000
BOUND_OK=5000

phase "image: synthetic tree (random and compressible files) -> v6 blob"
python3 - "$E2E_TMP/tree" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(7)
def put(rel, data):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
         for _ in range(500)]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words) + (b"\n" if rng.random() < 0.1 else b" ")
    return bytes(out[:n])
put("warm/w0", rng.randbytes(1536 * 1024))
for i in range(2):
    put(f"big/r{i}", rng.randbytes(2560 * 1024 + 123 * i))
put("big/c0", text(2560 * 1024 + 77))
for i in range(10):
    n = rng.randint(3000, 60000)
    put(f"small/s{i}", rng.randbytes(n) if i % 2 else text(n))
PYEOF
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$E2E_TMP/tree"
BLOB_ID=$(basename "$(ls "$E2E_TMP/blobs"/*)")

phase "registry (basic auth) + faultproxy"
registry_start "$E2E_TMP/reg" AUTH=1
UPSTREAM=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$UPSTREAM" fm "$E2E_TMP/blobs" -u testuser:testpassword
RPORT=$(free_port)
faultproxy_start "$UPSTREAM" --redirect-listen "127.0.0.1:$RPORT" --log "$E2E_TMP/logs/proxy.log"

GOOD=$(printf 'testuser:testpassword' | base64)
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock
FILES_OK="big/r0 big/c0 small/s0 small/s1 small/s2 small/s3"
FILES_ONE="big/r1"
FILES_SMALL="small/s4 small/s5 small/s6 small/s7 small/s8 small/s9"

# name | fault query | expect (ok, eio, some-eio, any) | files | bound ms | note
CASE_TABLE="
503-once|mode=status&code=503&count=1|ok|OK|$BOUND_OK|5xx is retried
500-always|mode=status&code=500|eio|ONE|$BOUND_FAST|3 attempts, then EIO
502-twice|mode=status&code=502&count=2|ok|OK|$BOUND_OK|retry_limit 2 covers two failures
429-once|mode=429&retry_after=1&count=1|ok|OK|$BOUND_OK|429 is retried after max(backoff, Retry-After <= 8 s)
429-always|mode=429&retry_after=1|eio|ONE|$BOUND_FAST|3 attempts, then EIO
401-once|mode=401&count=1|ok|OK|$BOUND_OK|credentials dropped and negotiated again (expired token)
401-always|mode=401|eio|ONE|$BOUND_FAST|no retry; EIO (not EACCES) for a read
reset-before-twice|mode=reset&count=2|ok|OK|$BOUND_OK|transport error is retried
reset-mid-always|mode=reset&at=mid|eio|ONE|$BOUND_FAST|RST inside the body, every attempt
truncate-once|mode=truncate&count=1|ok|OK|$BOUND_OK|short body is retried
truncate-always|mode=truncate|eio|ONE|$BOUND_FAST|short body every attempt
stall-once|mode=stall&count=1|ok|OK|$BOUND_ONE_TIMEOUT|request timeout (3 s), then retried
stall-always|mode=stall|eio|ONE|$BOUND_TIMEOUT|3 timeouts, then EIO
drip-slow|mode=drip&bps=400000|ok|SMALL|$BOUND_OK|slow but within the timeout
drip-too-slow|mode=drip&bps=20000|eio|ONE|$BOUND_TIMEOUT|each attempt hits the 3 s timeout
bad-range-shift|mode=bad-range|eio|ONE|$BOUND_FAST|Content-Range for another offset is rejected
bad-range-full|mode=bad-range&kind=full|eio|ONE|$BOUND_FAST|200 with the whole blob is rejected
flip-always|mode=flip|some-eio|OK|$BOUND_FAST|digest_validate: EIO, corrupt chunk never cached
redirect|mode=redirect|ok|OK|$BOUND_OK|followed without Authorization
flip-meta-once|mode=flip&count=1&offset=200&bit=0|ok|OK|$BOUND_OK|flipped CI record differs from the bootstrap's: CI dropped and read again
"

files_of() { case $1 in OK) echo "$FILES_OK" ;; ONE) echo "$FILES_ONE" ;; SMALL) echo "$FILES_SMALL" ;; esac; }

ROWS=()
N_CASES=0
run_case() {
  local name=$1 query=$2 expect=$3 set=$4 bound=$5 note=$6
  local files pid hwm_kb json before t0
  files=$(files_of "$set")
  phase "case $name: $query (expect $expect)"
  rm -rf "$E2E_TMP/cache"
  TIMEOUT=$TIMEOUT_S RETRY_LIMIT=$RETRY_LIMIT_N DIGEST_VALIDATE=true \
    registry_config "$E2E_TMP/fm.json" "127.0.0.1:$PPORT" fm "$E2E_TMP/cache" "\"auth\": \"$GOOD\""
  ctl "fault?mode=none"
  ctl reset-stats
  nydusd_start "$name" "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/fm.json" --apisock "$SOCK"
  pid=$(nydusd_pid "$MNT")
  if [ "$name" = flip-meta-once ]; then
    ctl "fault?$query"  # before the first data read: the flip lands in the blob-meta fetch
  else
    cmp <(head -c 4096 "$MNT/warm/w0") <(head -c 4096 "$E2E_TMP/tree/warm/w0") \
      || fail "$name: warm-up read failed"
    ctl reset-stats
    ctl "fault?$query"
  fi
  json=$E2E_TMP/logs/$name.json
  # shellcheck disable=SC2086
  python3 "$TOOLS/fault_reader.py" read "$E2E_TMP/tree" "$MNT" $files --json "$json" \
    2>&1 >/dev/null | sed 's/^/   /'
  pstats >"$E2E_TMP/logs/$name.proxy.json"
  ctl "fault?mode=none"

  # the daemon is alive and answers its API; memory
  nydusd_alive "$MNT"
  api_get "$SOCK" /api/v1/daemon >/dev/null || fail "$name: API does not answer"
  hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  [ "$hwm_kb" -le $((HWM_MIB * 1024)) ] || fail "$name: VmHWM $hwm_kb kB > $HWM_MIB MiB"

  local verdict
  verdict=$(python3 - "$json" "$E2E_TMP/logs/$name.proxy.json" "$expect" "$bound" "$name" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
expect, bound, name = sys.argv[3], int(sys.argv[4]), sys.argv[5]
files = r["files"]
res = [f["result"] for f in files]
nok, neio = res.count("ok"), res.count("EIO")
other = [f for f in files if f["result"] not in ("ok", "EIO")]
applied = sum(p["faults_applied"].values())
fail_ms = max([f["ms"] for f in files if f["result"] != "ok"], default=0)
ok_ms = max([f["ms"] for f in files if f["result"] == "ok"], default=0)
problems = []
if other:
    problems.append("unexpected results: " + ", ".join(f"{f['path']}={f['result']}" for f in other))
if applied == 0:
    problems.append("the proxy applied no fault")
if expect == "ok" and nok != len(files):
    problems.append(f"expected every read to succeed, got {res}")
if expect == "eio" and neio != len(files):
    problems.append(f"expected EIO for every read, got {res}")
if expect == "some-eio" and neio == 0:
    problems.append(f"expected at least one EIO, got {res}")
measured = fail_ms if expect in ("eio",) else max(ok_ms, fail_ms)
if expect in ("eio", "some-eio", "any") and fail_ms > bound:
    problems.append(f"EIO after {fail_ms:.0f} ms > bound {bound} ms")
if expect == "ok" and ok_ms > bound:
    problems.append(f"success after {ok_ms:.0f} ms > bound {bound} ms")
if name == "redirect":
    if p["redirect_requests"] == 0:
        problems.append("nothing reached the redirect target")
    if p["redirect_auth_seen"]:
        problems.append("Authorization was forwarded to the redirect target")
observed = f"ok {nok}, EIO {neio}" + (f", other {len(other)}" if other else "")
extra = ""
if name == "redirect":
    extra = f"; {p['redirect_requests']} redirected GETs, Authorization seen: {p['redirect_auth_seen']}"
print(f"{'FAIL' if problems else 'PASS'}\t{observed}; faults applied {applied}{extra}\t"
      f"{measured:.0f}\t{'; '.join(problems)}")
PYEOF
)
  local status observed measured problems
  IFS=$'\t' read -r status observed measured problems <<<"$verdict"
  log "   $status: $observed; slowest relevant read ${measured} ms (bound $bound ms); VmHWM $((hwm_kb / 1024)) MiB ${problems:+-- $problems}"
  [ "$status" = PASS ] || fail "case $name: $problems"

  # fault cleared: the same files read correctly (page cache dropped; blob cache or backend)
  # shellcheck disable=SC2086
  python3 "$TOOLS/fault_reader.py" read "$E2E_TMP/tree" "$MNT" $files \
    --json "$E2E_TMP/logs/$name.after.json" 2>/dev/null >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["ok"] == r["reads"] else 1)' \
    "$E2E_TMP/logs/$name.after.json" || fail "$name: reads fail after the fault was cleared: $(cat "$E2E_TMP/logs/$name.after.json")"
  nydusd_alive "$MNT"
  nydusd_stop "$MNT"
  rm -f "$SOCK"
  if [ "$name" = flip-meta-once ]; then
    # restart on the same work_dir: the CI copy written after the heal is used and is good
    [ -s "$E2E_TMP/cache/$BLOB_ID.blob.meta" ] || fail "$name: no $BLOB_ID.blob.meta in the cache"
    nydusd_start "$name-restart" "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/fm.json" --apisock "$SOCK"
    # shellcheck disable=SC2086
    python3 "$TOOLS/fault_reader.py" read "$E2E_TMP/tree" "$MNT" $files \
      --json "$E2E_TMP/logs/$name.restart.json" 2>/dev/null >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["ok"] == r["reads"] else 1)' \
      "$E2E_TMP/logs/$name.restart.json" || fail "$name: reads fail after a restart: $(cat "$E2E_TMP/logs/$name.restart.json")"
    ! grep -q "dropping its CI array" "$E2E_TMP/logs/nydusd-$name-restart.log" \
      || fail "$name: the .blob.meta kept after the heal was damaged: $(grep "dropping its CI array" "$E2E_TMP/logs/nydusd-$name-restart.log")"
    nydusd_stop "$MNT"
    rm -f "$SOCK"
    log "   restart on the same work_dir: files read correctly, $BLOB_ID.blob.meta not dropped"
  fi
  ROWS+=("| $name | \`$query\` | $expect | $observed | $measured | $bound | $((hwm_kb / 1024)) | $note |")
  N_CASES=$((N_CASES + 1))
}

while IFS='|' read -r name query expect set bound note; do
  [ -n "$name" ] || continue
  if [ -n "${CASES:-}" ] && [[ " $CASES " != *" $name "* ]]; then continue; fi
  run_case "$name" "$query" "$expect" "$set" "$bound" "$note"
done <<<"$CASE_TABLE"
phase_end

{
  echo "| case | fault (faultproxy query) | expected | observed (files) | slowest read ms | bound ms | VmHWM MiB | why |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} >"$E2E_TMP/matrix.md"
log "fault matrix ($N_CASES cases; timeout ${TIMEOUT_S} s, retry_limit $RETRY_LIMIT_N, digest_validate true, blob cache):"
sed 's/^/    /' "$E2E_TMP/matrix.md"
[ "$N_CASES" -gt 0 ] || fail "no case ran (CASES=$CASES)"
