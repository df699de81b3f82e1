#!/usr/bin/env bash
# e2e.fault_load: 64 concurrent readers on nydusd over a registry behind tests/tools/faultproxy.py
# with intermittent faults (docs/reliability.md, "Fault injection"): FAULT_PROB (0.05) of the
# blob GETs get a 503 or a connection reset, picked at random (seeded).
#   phase A: cold mount with the blob cache (digest_validate true): the cache fills under load;
#   phase B: the same without a blob cache, so every read that misses the 64 MiB chunk LRU
#            goes to the registry for the whole phase.
# Each phase runs READERS (64) threads of tests/tools/fault_reader.py for DURATION seconds
# (default 60; the acceptance run is DURATION=300): each thread reads random ranges of random
# files (page cache dropped first) and compares every byte with the source tree.
# Asserted per phase: 0 mismatches; only EIO as an error, at most MAX_EIO_PCT (0.1) % of the
# reads (retry_limit 3: a read fails only when 4 attempts in a row are faulted); the daemon
# alive and answering its API; VmHWM <= HWM_MIB (512); the proxy applied faults. After the
# phase the fault is cleared and every file reads correctly. Peak RSS is reported.
# Env: DURATION, READERS, FAULT_PROB, HWM_MIB, MAX_EIO_PCT, DATA_MIB (image size, 256).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init fault_load
require_root
require_fuse
require_faultproxy
find_nydus_image
find_nydusd

DURATION=${DURATION:-60}
READERS=${READERS:-64}
FAULT_PROB=${FAULT_PROB:-0.05}
HWM_MIB=${HWM_MIB:-512}
MAX_EIO_PCT=${MAX_EIO_PCT:-0.1}
DATA_MIB=${DATA_MIB:-256}
log "duration ${DURATION} s per phase, $READERS readers, fault probability $FAULT_PROB, image ~${DATA_MIB} MiB"

phase "image: ~${DATA_MIB} MiB synthetic tree -> v6 blob"
python3 - "$E2E_TMP/tree" "$DATA_MIB" <<'PYEOF'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(11)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
         for _ in range(2000)]
pool = bytearray()
while len(pool) < (4 << 20):
    pool += rng.choice(words) + (b"\n" if rng.random() < 0.1 else b" ")
pool = bytes(pool)
def text(n):  # compressible: a slice of the word pool at a random offset
    out = bytearray()
    while len(out) < n:
        off = rng.randrange(len(pool) - 4096)
        out += pool[off:off + min(n - len(out), len(pool) - off)]
    return bytes(out)
done, i = 0, 0
while done < total:
    n = rng.choice([rng.randint(1, 16 << 10), rng.randint(16 << 10, 512 << 10),
                    rng.randint(512 << 10, 6 << 20)])
    d = os.path.join(root, f"d{i % 16:02d}")
    os.makedirs(d, exist_ok=True)
    data = rng.randbytes(n) if i % 3 else text(n)
    with open(os.path.join(d, f"f{i:04d}"), "wb") as f:
        f.write(data)
    done += n
    i += 1
print(f"{i} files, {done} bytes")
PYEOF
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$E2E_TMP/tree"

phase "registry + faultproxy (prob $FAULT_PROB: 503 or reset)"
registry_start "$E2E_TMP/reg"
UPSTREAM=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$UPSTREAM" load "$E2E_TMP/blobs"
faultproxy_start "$UPSTREAM"
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock
SUMMARY=()

# write_config FILE CACHE_JSON
write_config() {
  cat >"$1" <<EOF
{
  "device": {
    "backend": {"type": "registry", "config": {"scheme": "http", "host": "127.0.0.1:$PPORT",
                "repo": "load", "timeout": 5, "connect_timeout": 5, "retry_limit": 3}},
    "cache": $2
  },
  "mode": "direct", "digest_validate": true, "iostats_files": false, "enable_xattr": true,
  "fs_prefetch": {"enable": false}
}
EOF
}

# load_phase NAME CONFIG
load_phase() {
  local name=$1 cfg=$2 pid json hwm
  phase "$name: $READERS readers for $DURATION s with faults"
  ctl "fault?mode=none"
  nydusd_start "$name" "$MNT" "$E2E_TMP/tree.boot" "$cfg" --apisock "$SOCK"
  pid=$(nydusd_pid "$MNT")
  ctl reset-stats
  ctl "fault?mode=status,reset&code=503&prob=$FAULT_PROB&seed=5"
  json=$E2E_TMP/logs/$name.json
  echo "  \$ python3 fault_reader.py load $E2E_TMP/tree $MNT --threads $READERS --duration $DURATION --pid $pid"
  python3 "$TOOLS/fault_reader.py" load "$E2E_TMP/tree" "$MNT" --threads "$READERS" \
    --duration "$DURATION" --pid "$pid" --json "$json" >/dev/null
  pstats >"$E2E_TMP/logs/$name.proxy.json"
  ctl "fault?mode=none"
  nydusd_alive "$MNT"
  api_get "$SOCK" /api/v1/daemon >/dev/null || fail "$name: the API does not answer"
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  local verdict
  verdict=$(python3 - "$json" "$E2E_TMP/logs/$name.proxy.json" "$hwm" "$HWM_MIB" "$MAX_EIO_PCT" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
hwm_kb, hwm_mib, max_eio = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
eio = r["errors"].get("EIO", 0)
other = {k: v for k, v in r["errors"].items() if k not in ("EIO",)}
applied = p["faults_applied"]
problems = []
if r["mismatches"]:
    problems.append(f"{r['mismatches']} mismatches: {r['mismatch_samples'][:3]}")
if other:
    problems.append(f"errors other than EIO: {other}")
if r["reads"] == 0:
    problems.append("no reads")
elif eio * 100.0 / r["reads"] > max_eio:
    problems.append(f"EIO for {eio} of {r['reads']} reads (> {max_eio}%)")
if not applied:
    problems.append("the proxy applied no fault")
if hwm_kb > hwm_mib * 1024:
    problems.append(f"VmHWM {hwm_kb} kB > {hwm_mib} MiB")
mb = r["bytes_ok"] / 1e6
line = (f"{r['reads']} reads ({r['ok']} ok, {eio} EIO, {r['mismatches']} mismatches), "
        f"{mb:.0f} MB verified in {r['seconds']} s; proxy: {p['requests']} requests, "
        f"faults {applied}, by status {p['by_status']}; peak RSS {r['memory']['max_rss_kb'] // 1024} MiB "
        f"(sampled), VmHWM {hwm_kb // 1024} MiB; slowest ok read {r['max_ok_ms']:.0f} ms")
print(("FAIL" if problems else "PASS") + "\t" + line + "\t" + "; ".join(problems))
PYEOF
)
  local status line problems
  IFS=$'\t' read -r status line problems <<<"$verdict"
  log "   $status: $line${problems:+ -- $problems}"
  [ "$status" = PASS ] || fail "$name: $problems"
  SUMMARY+=("$name: $line")
  phase "$name: fault cleared, every file reads correctly"
  find "$E2E_TMP/tree" -type f -printf '%P\n' | sort >"$E2E_TMP/files.list"
  # shellcheck disable=SC2046
  python3 "$TOOLS/fault_reader.py" read "$E2E_TMP/tree" "$MNT" $(cat "$E2E_TMP/files.list") \
    --json "$E2E_TMP/logs/$name.after.json" 2>/dev/null >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["ok"], "of", r["reads"], "files ok"); sys.exit(0 if r["ok"] == r["reads"] else 1)' \
    "$E2E_TMP/logs/$name.after.json" || fail "$name: files fail after the fault was cleared"
  nydusd_stop "$MNT"
  rm -f "$SOCK"
}

write_config "$E2E_TMP/cache.json" "{\"type\": \"blobcache\", \"config\": {\"work_dir\": \"$E2E_TMP/cache\"}}"
mkdir -p "$E2E_TMP/cache"
load_phase blobcache-cold "$E2E_TMP/cache.json"
write_config "$E2E_TMP/nocache.json" '{"type": ""}'
load_phase no-blobcache "$E2E_TMP/nocache.json"
phase_end
log "summary:"
printf '    %s\n' "${SUMMARY[@]}"
