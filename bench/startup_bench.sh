#!/usr/bin/env bash
# bench/startup_bench.sh — container start-up time: lazy Nydus vs a full OCI pull over a slow
# link (issue 6). One command, as root:
#
#   bench/startup_bench.sh  (RUNS=5 IMAGES="python node" MODES="oci lazy prefetch optimized")
#
# Setup (cached between invocations in $BENCH_OUT; REFRESH=1 redoes it):
#   - python:bookworm and node:bookworm from the testbed (tests/tools/make-images.sh, cached as
#     OCI layouts in $NYDUS_CACHE/images-{python,node} by tests/tools/cache-image.sh);
#   - a local docker-registry (upstream, plain http) holding <image>:bookworm (skopeo copy of
#     the layout), <image>:nydus (nydusify convert) and <image>:nydus-prefetch (nydusify
#     convert --prefetch-patterns < the recorded access list, see "record" below);
#   - tests/tools/faultproxy.py in front of it: RATE_MBIT (100) Mbit/s, DELAY_MS (10) ms per
#     request. Every timed byte goes through the proxy (skopeo, the bootstrap fetch, nydusd).
#
# Record ("optimize" step, once per image): nydusd mounts <image>:nydus with
# `access_pattern: true`, every workload of the image runs once in it, and
# `nydusctl access-pattern` turns GET /api/v1/metrics/pattern into a path list (first-access
# order; files over 1 MiB of which less than MIN_COVERAGE (25) percent was read are left out:
# they are cheaper on demand than whole) — $BENCH_OUT/patterns/<image>.list, the stdin of
# nydusify convert --prefetch-patterns.
#
# Workloads (runc, in the image, cwd /app, rootfs writable):
#   python/import   python3 -c 'import json, sqlite3, http.server'
#   python/app      python3 /app/main.py          (the image's /app entry; prints JSON)
#   node/require    node -e 'require("express")'
#   node/app        node /app/index.js            (the image's /app entry; lodash chunk)
#
# Modes, each run cold (nydusd/containers stopped, `sync; echo 3 > /proc/sys/vm/drop_caches`,
# fresh work/cache dirs, proxy counters reset); time = from the first registry request to the
# workload's exit:
#   oci       skopeo copy docker://PROXY/<image>:bookworm oci:… + umoci unpack + runc run
#   lazy      fetch the bootstrap layer of <image>:nydus + nydusd (registry backend through the
#             proxy, blobcache, no prefetch) + overlayfs (FUSE lower) + runc run
#   prefetch  the same with <image>:nydus-prefetch and fs_prefetch enabled (the bootstrap's
#             prefetch table = the recorded list)
#   optimized the same with <image>:nydus-optimized and fs_prefetch enabled: `nydusify
#             optimize` of <image>:nydus with the recorded ranges (`nydusctl access-pattern
#             --format json`): the chunks read, in first-access order, in one extra blob
#             that nydusd fetches first and whole
# Per run: seconds, registry requests and bytes (proxy counters) at the workload's end, and for
# Nydus also after the daemon went quiet (prefetch finished). RUNS (default 5) runs per cell,
# modes interleaved; p50/p95 reported.
#
# Output: $BENCH_OUT/runs.jsonl (one line per run), $BENCH_OUT/results.md (the table, also on
# stdout), $BENCH_OUT/startup.png (PLOT_OUT to put it elsewhere, e.g. docs/img/startup.png).
#
# Env: BUILD_DIR (default <repo>/build) or NYDUSD / NYDUS_IMAGE / NYDUSIFY / NYDUSCTL,
#      RUNS, IMAGES, MODES, WORKLOADS (e.g. "python/import node/app"; default all of IMAGES),
#      RATE_MBIT, DELAY_MS, BENCH_OUT (default /var/tmp/nydus-startup), PLOT_OUT, PLOT=0,
#      REFRESH=1 (re-push, re-convert, re-record), NYDUSD_EXTRA_CONFIG (JSON object merged into
#      the top level of the nydusd v1 config of timed runs, e.g. '{"amplify_io": 1048576}'),
#      PREFETCH_THREADS (8), PREFETCH_MERGE (fs_prefetch.merging_size, 1 MiB), MIN_COVERAGE,
#      CHUNK_SIZE (nydusify convert --chunk-size, e.g. 0x40000; give it its own BENCH_OUT),
#      PYTHON (default /usr/bin/python3: the report and plot),
#      NYDUSD_LOG_LEVEL (warn).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
TOOLS=$REPO/tests/tools
HELP=$HERE/startup
BUILD=${BUILD_DIR:-$REPO/build}
NYDUSD=${NYDUSD:-$BUILD/src/tools/nydusd}
NYDUS_IMAGE=${NYDUS_IMAGE:-$BUILD/src/tools/nydus-image}
NYDUSIFY=${NYDUSIFY:-$BUILD/src/tools/nydusify}
NYDUSCTL=${NYDUSCTL:-$BUILD/src/tools/nydusctl}
RUNS=${RUNS:-5}
IMAGES=${IMAGES:-python node}
MODES=${MODES:-oci lazy prefetch optimized}
RATE_MBIT=${RATE_MBIT:-100}
DELAY_MS=${DELAY_MS:-10}
OUT=${BENCH_OUT:-/var/tmp/nydus-startup}
PLOT_OUT=${PLOT_OUT:-$OUT/startup.png}
PREFETCH_THREADS=${PREFETCH_THREADS:-8}
PREFETCH_MERGE=${PREFETCH_MERGE:-1048576}
NYDUSD_LOG_LEVEL=${NYDUSD_LOG_LEVEL:-warn}
NYDUSD_EXTRA_CONFIG=${NYDUSD_EXTRA_CONFIG:-}
MIN_COVERAGE=${MIN_COVERAGE:-25}
# nydusify convert --chunk-size (default: nydusify's, 1 MiB); use a BENCH_OUT per value
CHUNK_ARGS=${CHUNK_SIZE:+--chunk-size $CHUNK_SIZE}
# Debian's python3 (python3-matplotlib is installed for it), whatever else is first in PATH
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
export NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}

say() { printf '[startup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now_ns() { date +%s%N; }

# ------------------------------------------------------------------ checks
[ "$(id -u)" = 0 ] || die "needs root (mounts, runc, drop_caches)"
for b in "$NYDUSD" "$NYDUS_IMAGE" "$NYDUSIFY" "$NYDUSCTL"; do
  [ -x "$b" ] || die "$b not built (ninja -C $BUILD nydusd nydus-image nydusify nydusctl, or set BUILD_DIR)"
done
for t in runc skopeo umoci curl python3 flock; do
  command -v "$t" >/dev/null || die "missing $t (apt-get install runc skopeo umoci curl)"
done
[ -x /usr/bin/docker-registry ] || die "docker-registry missing (apt-get install docker-registry)"
[ -f "$TOOLS/faultproxy.py" ] || die "tests/tools/faultproxy.py missing"
[ -c /dev/fuse ] || modprobe fuse 2>/dev/null || true
[ -c /dev/fuse ] || die "/dev/fuse missing"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || die "kernel has no overlayfs"
if [ "${PLOT:-1}" = 1 ] && ! "$PY" -c 'import matplotlib' 2>/dev/null; then
  say "installing python3-matplotlib (for the plot)"
  { apt-get install -y python3-matplotlib >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y python3-matplotlib >/dev/null 2>&1; }; } ||
    say "could not install python3-matplotlib; no plot"
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec 9>"$OUT/.lock"
flock -n 9 || die "another startup_bench.sh uses $OUT"
[ "${REFRESH:-0}" = 1 ] && rm -rf "$OUT/registry" "$OUT/stamps" "$OUT/patterns"
mkdir -p "$OUT/stamps" "$OUT/patterns" "$OUT/logs" "$OUT/runs"
RUNC_ROOT=$OUT/runc-root
WORK=$OUT/runs/work

# workload table: image name args-as-json expected-substring-of-stdout
WORKLOAD_TABLE=(
  "python|import|[\"python3\", \"-c\", \"import json, sqlite3, http.server\"]|"
  "python|app|[\"python3\", \"/app/main.py\"]|\"hello\": \"world\""
  "node|require|[\"node\", \"-e\", \"require('express')\"]|"
  "node|app|[\"node\", \"/app/index.js\"]|[ [ 1, 2 ], [ 3, 4 ] ]"
)
want_workload() { # image name
  local w
  if [ -n "${WORKLOADS:-}" ]; then
    for w in $WORKLOADS; do [ "$w" = "$1/$2" ] && return 0; done
    return 1
  fi
  case " $IMAGES " in *" $1 "*) return 0 ;; esac
  return 1
}

# ------------------------------------------------------------------ cleanup
cleanup_run() { # stop containers, unmount, stop nydusd of the current run dir
  local d=$1 c
  if [ -d "$RUNC_ROOT" ]; then
    for c in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
      runc --root "$RUNC_ROOT" delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  if [ -n "$d" ]; then
    mountpoint -q "$d/merged" 2>/dev/null && { umount "$d/merged" 2>/dev/null || umount -l "$d/merged"; }
    if [ -f "$d/nydusd.pid" ]; then
      local pid; pid=$(cat "$d/nydusd.pid")
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
      fi
      rm -f "$d/nydusd.pid"
    fi
    mountpoint -q "$d/mnt" 2>/dev/null && { umount "$d/mnt" 2>/dev/null || umount -l "$d/mnt"; }
  fi
  return 0
}
on_exit() {
  cleanup_run "$WORK" || true
  [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null
  [ -d "$OUT/registry" ] && "$TOOLS/registry.sh" stop "$OUT/registry" >/dev/null 2>&1
  return 0
}
trap on_exit EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ------------------------------------------------------------------ images and registry
for img in $IMAGES; do "$TOOLS/cache-image.sh" "$img" >/dev/null; done
UPORT=$(free_port)
"$TOOLS/registry.sh" start "$OUT/registry" "$UPORT" >"$OUT/logs/registry-start.log" 2>&1 ||
  { cat "$OUT/logs/registry-start.log" >&2; die "registry did not start"; }
UP=127.0.0.1:$UPORT
for img in $IMAGES; do
  if [ ! -f "$OUT/stamps/$img.pushed" ]; then
    say "push $img:bookworm (OCI) to the upstream registry"
    skopeo copy -q --dest-tls-verify=false "oci:$NYDUS_CACHE/images-$img/oci:$img-bookworm" \
      "docker://$UP/$img:bookworm"
    touch "$OUT/stamps/$img.pushed"
  fi
  if [ ! -f "$OUT/stamps/$img.converted" ]; then
    say "nydusify convert $img:bookworm -> $img:nydus"
    (cd "$OUT" && "$NYDUSIFY" convert --source "$UP/$img:bookworm" --target "$UP/$img:nydus" \
      --source-insecure --target-insecure --work-dir "$OUT/convert-$img" $CHUNK_ARGS \
      >"$OUT/logs/convert-$img.log" 2>&1) || { tail -20 "$OUT/logs/convert-$img.log" >&2; die "convert failed"; }
    rm -rf "$OUT/convert-$img"
    touch "$OUT/stamps/$img.converted"
  fi
done

PPORT=$(free_port)
PROXY=127.0.0.1:$PPORT
python3 "$TOOLS/faultproxy.py" --listen "$PROXY" --upstream "$UP" --rate-mbit "$RATE_MBIT" \
  --delay-ms "$DELAY_MS" --pidfile "$OUT/proxy.pid" --log "$OUT/logs/proxy.log" \
  >"$OUT/logs/proxy.out" 2>&1 &
PROXY_PID=$!
for _ in $(seq 100); do curl -sf "http://$PROXY/__proxy/stats" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://$PROXY/__proxy/stats" >/dev/null || { cat "$OUT/logs/proxy.out" >&2; die "faultproxy did not start"; }
say "upstream registry $UP; throttled proxy $PROXY ($RATE_MBIT Mbit/s, $DELAY_MS ms per request)"
proxy_stats() { curl -sf "http://$PROXY/__proxy/stats"; }
proxy_reset() { curl -sf -X POST "http://$PROXY/__proxy/reset-stats" >/dev/null; }

# ------------------------------------------------------------------ bundles, nydusd
# write_spec FILE ROOT ARGS_JSON: a runc spec for the workload with rootfs ROOT (writable)
write_spec() {
  local file=$1 root=$2 args=$3
  (cd "$(dirname "$file")" && runc spec && mv config.json "$file.tmp")
  python3 - "$file.tmp" "$root" "$args" <<'PYEOF'
import json, sys
p, root, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = json.load(open(p))
c["process"]["args"] = args
c["process"]["terminal"] = False
c["process"]["cwd"] = "/app"
c["process"]["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "LANG=C.UTF-8", "HOME=/root"]
c["root"] = {"path": root, "readonly": False}
c["hostname"] = "startup-bench"
json.dump(c, open(p, "w"), indent=1)
PYEOF
  mv "$file.tmp" "$file"
}

# nydusd_config FILE HOST REPO WORKDIR PREFETCH(true|false) ACCESS_PATTERN(true|false)
nydusd_config() {
  python3 - "$@" "$NYDUSD_EXTRA_CONFIG" "$PREFETCH_THREADS" "$PREFETCH_MERGE" <<'PYEOF'
import json, sys
f, host, repo, work, prefetch, ap, extra, threads, merge = sys.argv[1:10]
c = {
  "device": {
    "backend": {"type": "registry", "config": {
      "scheme": "http", "host": host, "repo": repo,
      "timeout": 60, "connect_timeout": 10, "retry_limit": 2}},
    "cache": {"type": "blobcache", "config": {"work_dir": work}},
  },
  "mode": "direct", "digest_validate": False, "iostats_files": False, "enable_xattr": True,
  "access_pattern": ap == "true",
  "fs_prefetch": {"enable": prefetch == "true", "threads_count": int(threads),
                  "merging_size": int(merge), "prefetch_all": False},
}
if extra:
    c.update(json.loads(extra))
json.dump(c, open(f, "w"), indent=1)
PYEOF
}

# nydusd_up DIR HOST REPO TAG PREFETCH AP: fetch the bootstrap through HOST, start nydusd on
# DIR/mnt with DIR/api.sock, wait for the mount.
nydusd_up() {
  local d=$1 host=$2 repo=$3 tag=$4 prefetch=$5 ap=$6 pid dev0 i
  python3 "$HELP/registry_fetch.py" bootstrap "$host" "$repo" "$tag" "$d/image.boot"
  T_PULLED=$(now_ns)
  mkdir -p "$d/mnt" "$d/cache"
  nydusd_config "$d/nydusd.json" "$host" "$repo" "$d/cache" "$prefetch" "$ap"
  dev0=$(stat -c %d "$d/mnt")
  "$NYDUSD" --config "$d/nydusd.json" --mountpoint "$d/mnt" --bootstrap "$d/image.boot" \
    --apisock "$d/api.sock" --log-level "$NYDUSD_LOG_LEVEL" >"$d/nydusd.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$d/nydusd.pid"
  for ((i = 0; i < 6000; i++)); do
    [ "$(stat -c %d "$d/mnt" 2>/dev/null)" != "$dev0" ] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -20 "$d/nydusd.log" >&2; die "nydusd exited before mounting"; }
    sleep 0.005
  done
  tail -20 "$d/nydusd.log" >&2
  die "nydusd did not mount $d/mnt within 30 s"
}

overlay_up() { # DIR: DIR/merged = overlay(lower DIR/mnt)
  local d=$1
  mkdir -p "$d/upper" "$d/ovl-work" "$d/merged"
  mount -t overlay overlay -o "lowerdir=$d/mnt,upperdir=$d/upper,workdir=$d/ovl-work" "$d/merged"
}

# run_workload BUNDLE NAME EXPECT: runc run; fails the bench on a non-zero exit or wrong output
run_workload() {
  local b=$1 name=$2 expect=$3 rc=0
  timeout 600 runc --root "$RUNC_ROOT" run --bundle "$b" "$name" \
    >"$b/stdout" 2>"$b/stderr" </dev/null || rc=$?
  runc --root "$RUNC_ROOT" delete -f "$name" >/dev/null 2>&1 || true
  if [ $rc != 0 ] || { [ -n "$expect" ] && ! grep -qF -- "$expect" "$b/stdout"; }; then
    say "workload $name failed (exit $rc); stdout/stderr:"
    head -c 2000 "$b/stdout" >&2; head -c 2000 "$b/stderr" >&2
    return 1
  fi
}

api() { curl -sf --max-time 20 --unix-socket "$1" "http://localhost$2"; }

# ------------------------------------------------------------------ record ("optimize")
has_mode() { case " $MODES " in *" $1 "*) return 0 ;; esac; return 1; }
for img in $IMAGES; do
  [ -f "$OUT/patterns/$img.list" ] && [ -f "$OUT/patterns/$img.v1.json" ] && continue
  { has_mode prefetch && [ ! -f "$OUT/stamps/$img.prefetch" ]; } ||
    { has_mode optimized && [ ! -f "$OUT/stamps/$img.optimized" ]; } || continue
  say "record: $img:nydus with access_pattern, every $img workload once"
  R=$OUT/record-$img
  cleanup_run "$R"; rm -rf "$R"; mkdir -p "$R"
  nydusd_up "$R" "$UP" "$img" nydus false true
  overlay_up "$R"
  for row in "${WORKLOAD_TABLE[@]}"; do
    IFS='|' read -r wimg wname wargs wexpect <<<"$row"
    [ "$wimg" = "$img" ] || continue
    mkdir -p "$R/bundle-$wname"
    write_spec "$R/bundle-$wname/config.json" "$R/merged" "$wargs"
    run_workload "$R/bundle-$wname" "record-$img-$wname-$$" "$wexpect" || die "record run failed"
  done
  "$NYDUSCTL" -S "$R/api.sock" access-pattern --min-coverage "$MIN_COVERAGE" >"$OUT/patterns/$img.list.tmp"
  "$NYDUSCTL" -S "$R/api.sock" -r access-pattern >"$OUT/patterns/$img.json"
  # ranges of every file read, for nydusify optimize (no coverage filter: ranges keep a
  # sparsely read file's share small)
  "$NYDUSCTL" -S "$R/api.sock" access-pattern --format json >"$OUT/patterns/$img.v1.json"
  mv "$OUT/patterns/$img.list.tmp" "$OUT/patterns/$img.list"
  say "  $(wc -l <"$OUT/patterns/$img.list") files recorded -> $OUT/patterns/$img.list, $img.v1.json"
  cleanup_run "$R"; rm -rf "$R"
done
for img in $IMAGES; do
  has_mode prefetch && [ ! -f "$OUT/stamps/$img.prefetch" ] || continue
  say "nydusify convert --prefetch-patterns < $img.list -> $img:nydus-prefetch"
  (cd "$OUT" && "$NYDUSIFY" convert --source "$UP/$img:bookworm" --target "$UP/$img:nydus-prefetch" \
    --source-insecure --target-insecure --work-dir "$OUT/convert-$img-pf" $CHUNK_ARGS --prefetch-patterns \
    <"$OUT/patterns/$img.list" >"$OUT/logs/convert-$img-prefetch.log" 2>&1) ||
    { tail -20 "$OUT/logs/convert-$img-prefetch.log" >&2; die "convert --prefetch-patterns failed"; }
  rm -rf "$OUT/convert-$img-pf"
  touch "$OUT/stamps/$img.prefetch"
done
for img in $IMAGES; do
  has_mode optimized && [ ! -f "$OUT/stamps/$img.optimized" ] || continue
  say "nydusify optimize --prefetch-files $img.v1.json: $img:nydus -> $img:nydus-optimized"
  (cd "$OUT" && "$NYDUSIFY" optimize --source "$UP/$img:nydus" --target "$UP/$img:nydus-optimized" \
    --source-insecure --target-insecure --work-dir "$OUT/optimize-$img" \
    --prefetch-files "$OUT/patterns/$img.v1.json" >"$OUT/logs/optimize-$img.log" 2>&1) ||
    { tail -20 "$OUT/logs/optimize-$img.log" >&2; die "nydusify optimize failed"; }
  rm -rf "$OUT/optimize-$img"
  touch "$OUT/stamps/$img.optimized"
done

# image sizes (what a full pull downloads) for the report
SIZES=$OUT/sizes.json
python3 - "$SIZES" "$UP" "$HELP/registry_fetch.py" $IMAGES <<'PYEOF'
import json, subprocess, sys
out, host, fetch, imgs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
res = {}
for img in imgs:
    res[img] = {}
    for tag in ("bookworm", "nydus", "nydus-prefetch", "nydus-optimized"):
        r = subprocess.run([sys.executable, fetch, "size", host, img, tag], capture_output=True, text=True)
        if r.returncode == 0:
            b, n = r.stdout.split()
            res[img][tag] = {"bytes": int(b), "layers": int(n)}
json.dump(res, open(out, "w"), indent=1)
PYEOF

# ------------------------------------------------------------------ timed runs
RUNS_FILE=$OUT/runs.jsonl
: >"$RUNS_FILE"
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# one_run IMG WNAME WARGS WEXPECT MODE RUN
one_run() {
  local img=$1 wname=$2 wargs=$3 wexpect=$4 mode=$5 run=$6 t0 t1 s_end s_quiet="" id
  local d=$WORK
  cleanup_run "$d"; rm -rf "$d"; mkdir -p "$d/bundle"
  id="sb-$img-$wname-$mode-$run-$$"
  if [ "$mode" = oci ]; then
    write_spec "$d/config.json" rootfs "$wargs"
  else
    write_spec "$d/bundle/config.json" "$d/merged" "$wargs"
  fi
  proxy_reset
  drop_caches
  t0=$(now_ns)
  case $mode in
    oci)
      skopeo copy -q --src-tls-verify=false "docker://$PROXY/$img:bookworm" "oci:$d/oci:img" \
        >"$d/skopeo.log" 2>&1 || { cat "$d/skopeo.log" >&2; die "skopeo copy failed"; }
      T_PULLED=$(now_ns)
      rmdir "$d/bundle"
      umoci unpack --image "$d/oci:img" "$d/bundle" >"$d/umoci.log" 2>&1 ||
        { cat "$d/umoci.log" >&2; die "umoci unpack failed"; }
      cp "$d/config.json" "$d/bundle/config.json"
      ;;
    lazy) nydusd_up "$d" "$PROXY" "$img" nydus false false; overlay_up "$d" ;;
    prefetch) nydusd_up "$d" "$PROXY" "$img" nydus-prefetch true false; overlay_up "$d" ;;
    optimized) nydusd_up "$d" "$PROXY" "$img" nydus-optimized true false; overlay_up "$d" ;;
  esac
  T_READY=$(now_ns)
  run_workload "$d/bundle" "$id" "$wexpect" || die "$img/$wname ($mode, run $run) failed"
  t1=$(now_ns)
  s_end=$(proxy_stats)
  local backend="{}" cache="{}"
  if [ "$mode" != oci ]; then
    # let a running prefetch finish (bounded), then take the totals
    local i pend
    for ((i = 0; i < 300; i++)); do
      cache=$(api "$d/api.sock" /api/v1/metrics/blobcache || echo '{}')
      pend=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(1 if c.get("prefetch_begin_time_secs",0) and not c.get("prefetch_end_time_secs",0) else 0)' "$cache")
      [ "$pend" = 0 ] && break
      sleep 0.1
    done
    backend=$(api "$d/api.sock" /api/v1/metrics/backend || echo '{}')
    s_quiet=$(proxy_stats)
  fi
  [ -n "$s_quiet" ] || s_quiet='{}'
  python3 - "$RUNS_FILE" "$img" "$wname" "$mode" "$run" "$t0" "$t1" "$s_end" "$s_quiet" \
    "$backend" "$cache" "$T_PULLED" "$T_READY" <<'PYEOF'
import json, sys
f, img, w, mode, run, t0, t1, s_end, s_quiet, backend, cache, tp, tr = sys.argv[1:14]
s_end, s_quiet = json.loads(s_end), json.loads(s_quiet)
backend, cache = json.loads(backend), json.loads(cache)
rec = {"image": img, "workload": w, "mode": mode, "run": int(run),
       "seconds": (int(t1) - int(t0)) / 1e9,
       "loadavg1": float(open("/proc/loadavg").read().split()[0]),
       # phases: pull (OCI: skopeo copy; Nydus: bootstrap fetch), then unpack (umoci) or
       # mount (nydusd + overlayfs), then the container run
       "pull_s": (int(tp) - int(t0)) / 1e9, "ready_s": (int(tr) - int(tp)) / 1e9,
       "run_s": (int(t1) - int(tr)) / 1e9,
       "requests": s_end.get("requests", 0), "bytes": s_end.get("bytes_to_client", 0),
       "requests_total": s_quiet.get("requests", s_end.get("requests", 0)),
       "bytes_total": s_quiet.get("bytes_to_client", s_end.get("bytes_to_client", 0)),
       "backend_reads": backend.get("read_count"), "backend_bytes": backend.get("read_amount_total"),
       "prefetch_bytes": cache.get("prefetch_data_amount")}
open(f, "a").write(json.dumps(rec) + "\n")
print(f"{img}/{w} {mode:8s} run {run}: {rec['seconds']:7.3f} s (pull {rec['pull_s']:.2f} + "
      f"{'unpack' if mode == 'oci' else 'mount'} {rec['ready_s']:.2f} + run {rec['run_s']:.2f}), "
      f"{rec['requests']:5d} requests, "
      f"{rec['bytes']/1048576:8.2f} MiB (total {rec['bytes_total']/1048576:.2f} MiB)", file=sys.stderr)
PYEOF
  cleanup_run "$d"
  [ -f "$d/nydusd.log" ] && cp "$d/nydusd.log" "$OUT/logs/nydusd-$img-$wname-$mode-$run.log"
  return 0
}

say "timed runs: RUNS=$RUNS IMAGES='$IMAGES' MODES='$MODES'"
for row in "${WORKLOAD_TABLE[@]}"; do
  IFS='|' read -r wimg wname wargs wexpect <<<"$row"
  want_workload "$wimg" "$wname" || continue
  for ((run = 1; run <= RUNS; run++)); do
    for mode in $MODES; do
      one_run "$wimg" "$wname" "$wargs" "$wexpect" "$mode" "$run"
    done
  done
done
rm -rf "$WORK"

# ------------------------------------------------------------------ report
PLOT_ARGS=()
[ "${PLOT:-1}" = 1 ] && PLOT_ARGS=(--plot "$PLOT_OUT")
"$PY" "$HELP/summarize.py" --runs "$RUNS_FILE" --sizes "$SIZES" --rate-mbit "$RATE_MBIT" \
  --delay-ms "$DELAY_MS" "${PLOT_ARGS[@]}" | tee "$OUT/results.md"
say "runs: $RUNS_FILE; table: $OUT/results.md${PLOT_ARGS:+; plot: $PLOT_OUT}"
