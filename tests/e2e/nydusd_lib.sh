# shellcheck shell=bash
# tests/e2e/nydusd_lib.sh: helpers for the nydusd end-to-end tests (tests/e2e/nydusd_*.sh),
# sourced after lib.sh:
#
#   source "$(dirname "$0")/lib.sh"; source "$(dirname "$0")/nydusd_lib.sh"
#
# Environment:
#   NYDUSD        nydusd binary (else NYDUSD_DEFAULT from CTest, else
#                 $NYDUS_BUILD_DIR/src/tools/nydusd, else <repo>/build/src/tools/nydusd)
#   NYDUSD_ARGS   extra arguments for every nydusd started by nydusd_start (e.g. --log-level debug)
# Every daemon started here is stopped at exit (SIGTERM, then SIGKILL after 10 s) and its
# mountpoint unmounted; its log is $E2E_TMP/logs/nydusd-<name>.log.

declare -A NYDUSD_PID=()   # mountpoint -> pid
declare -A NYDUSD_LOG=()   # mountpoint -> log file
NYDUSD_LAST_RC=0

# find_nydusd: sets NYDUSD or fails
find_nydusd() { find_tool nydusd NYDUSD; }

# require_fuse: root, /dev/fuse and the fuse filesystem, or skip
require_fuse() {
  require_root
  grep -qw fuse /proc/filesystems || try_modprobe fuse
  grep -qw fuse /proc/filesystems || skip "kernel has no FUSE support (modprobe fuse failed)"
  [ -c /dev/fuse ] || skip "/dev/fuse is missing"
}

# mounted_type MNT: prints the fs type mounted exactly at MNT (last one), or nothing
mounted_type() {
  awk -v m="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break } } END { if (t != "") print t }' /proc/self/mountinfo
}

# mount_count MNT: how many mounts are stacked exactly at MNT
mount_count() { awk -v m="$1" '$5 == m { n++ } END { print n + 0 }' /proc/self/mountinfo; }

# localfs_config FILE BLOBDIR [DIGEST_VALIDATE] [MODE]: the tutorial's v1 localfs.json.
# Env: CACHE_DIR (the blobcache work_dir, $E2E_TMP/cache), ACCESS_PATTERN (false), PREFETCH
# (fs_prefetch.enable, false; prefetch_all stays false).
localfs_config() {
  local file=$1 dir=$2 validate=${3:-false} mode=${4:-direct} cache=${CACHE_DIR:-$E2E_TMP/cache}
  mkdir -p "$cache"
  cat >"$file" <<EOF
{
  "device": {
    "backend": {"type": "localfs", "config": {"dir": "$dir"}},
    "cache": {"type": "blobcache", "config": {"work_dir": "$cache"}}
  },
  "mode": "$mode",
  "digest_validate": $validate,
  "iostats_files": false,
  "enable_xattr": true,
  "access_pattern": ${ACCESS_PATTERN:-false},
  "fs_prefetch": {"enable": ${PREFETCH:-false}, "threads_count": 4, "prefetch_all": false}
}
EOF
}

# nydusd_start NAME MNT BOOT CONFIG [nydusd args...]: starts nydusd in the background and waits
# (up to 30 s) until MNT is a fuse mount (or one of type NYDUSD_FSTYPE, e.g. erofs for
# --erofs-when-cached); fails with the daemon log if it exits or times out.
# CONFIG "-" passes no --config (e.g. with -D DIR among the args); BOOT "-" no --bootstrap
# (an API-only daemon: give --apisock among the args).
nydusd_start() {
  local name=$1 mnt=$2 boot=$3 cfg=$4; shift 4
  local logf=$E2E_TMP/logs/nydusd-$name.log t0 pid args=()
  [ "$cfg" = - ] || args+=(--config "$cfg")
  args+=(--mountpoint "$mnt")
  [ "$boot" = - ] || args+=(--bootstrap "$boot")
  args+=("$@")
  mkdir -p "$mnt"
  t0=$(now_ms)
  echo "  \$ $(quote_cmd "$NYDUSD" "${args[@]}" ${NYDUSD_ARGS:-}) &"
  # shellcheck disable=SC2086
  "$NYDUSD" "${args[@]}" ${NYDUSD_ARGS:-} >"$logf" 2>&1 </dev/null &
  pid=$!
  NYDUSD_PID[$mnt]=$pid
  NYDUSD_LOG[$mnt]=$logf
  on_exit "nydusd_kill '$mnt'"
  while :; do
    case "$(mounted_type "$mnt")" in fuse*) break ;; esac
    [ -n "${NYDUSD_FSTYPE:-}" ] && [ "$(mounted_type "$mnt")" = "$NYDUSD_FSTYPE" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0
      wait "$pid" 2>/dev/null || rc=$?
      echo "    nydusd exited with $rc before mounting; log ($logf):"
      tail -n 40 "$logf" | sed 's/^/    | /'
      unset "NYDUSD_PID[$mnt]"
      fail "nydusd $name did not mount $mnt"
    fi
    if [ $(( $(now_ms) - t0 )) -gt 30000 ]; then
      tail -n 40 "$logf" | sed 's/^/    | /'
      fail "nydusd $name: $mnt not mounted after 30 s"
    fi
    sleep 0.05
  done
  log "   nydusd $name (pid $pid) mounted $mnt as $(mounted_type "$mnt") in $(fmt_ms "$(elapsed_ms "$t0")")"
}

# rand_files DIR PATH:SIZE:SEED...: files of deterministic pseudo-random (incompressible) bytes
rand_files() {
  python3 - "$@" <<'PYEOF'
import hashlib, os, sys
root = sys.argv[1]
for spec in sys.argv[2:]:
    path, size, seed = spec.rsplit(":", 2)
    size = int(size)
    os.makedirs(os.path.dirname(f"{root}/{path}"), exist_ok=True)
    with open(f"{root}/{path}", "wb") as f:
        i = 0
        while size > 0:
            n = min(size, 1 << 20)
            f.write(hashlib.shake_256(f"{seed}:{i}".encode()).digest(n))
            size -= n; i += 1
PYEOF
}

# pattern_config FILE BLOBDIR CACHEDIR ACCESS_PATTERN PREFETCH: localfs_config with those knobs
pattern_config() { CACHE_DIR=$3 ACCESS_PATTERN=$4 PREFETCH=$5 localfs_config "$1" "$2"; }

# backend_bytes SOCK: bytes the daemon has read from its backend
backend_bytes() {
  api_get "$1" /api/v1/metrics/backend | python3 -c 'import json,sys; print(json.load(sys.stdin)["read_amount_total"])'
}

# wait_prefetch SOCK: waits (20 s at most) until the daemon's prefetch finished; the blobcache
# metrics are left in $E2E_TMP/blobcache.json.
wait_prefetch() {
  local done_pf=0
  for _ in $(seq 200); do
    api_get "$1" /api/v1/metrics/blobcache >"$E2E_TMP/blobcache.json"
    done_pf=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(1 if c["prefetch_end_time_secs"] else 0)' "$E2E_TMP/blobcache.json")
    [ "$done_pf" = 1 ] && return 0
    sleep 0.1
  done
  fail "prefetch did not finish within 20 s: $(cat "$E2E_TMP/blobcache.json")"
}

# find_nydusctl: sets NYDUSCTL or fails
find_nydusctl() { find_tool nydusctl NYDUSCTL; }

# python_nydus_layers: the 3-layer python:bookworm image (python_image_layers) converted layer
# by layer with nydus-image create -v 6 --parent-bootstrap, as e2e.layered_python does. Sets
# BLOBS (the blob dir, one blob per layer, named by blob id) and BOOT (the final bootstrap).
python_nydus_layers() {
  python_image_layers
  local lowers=() parent=() i
  for i in 1 2 3; do
    run "$TOOLS/unpack-layer.sh" "${LAYERS[$((i-1))]}" "$E2E_TMP/layer$i" "${lowers[@]}"
    lowers+=("$E2E_TMP/layer$i")
  done
  BLOBS=$E2E_TMP/blobs
  for i in 1 2 3; do
    phase "layer $i: nydus-image create -v 6${parent:+ --parent-bootstrap layer$((i-1)).boot}"
    nydus_create "$E2E_TMP/layer$i.boot" "$BLOBS" -v 6 "${parent[@]}" "$E2E_TMP/layer$i"
    parent=(--parent-bootstrap "$E2E_TMP/layer$i.boot")
  done
  for i in 1 2 3; do rm -rf "$E2E_TMP/layer$i"; done
  BOOT=$E2E_TMP/layer3.boot
}

# registry_start DIR [ENV...]: starts tests/tools/registry.sh on a free port (ENV like AUTH=1
# TLS=1); sets REGISTRY_PORT and REGISTRY_DIR. Stopped at exit.
registry_start() {
  local dir=$1; shift
  REGISTRY_PORT=$(free_port)
  REGISTRY_DIR=$dir
  run env "$@" "$TOOLS/registry.sh" start "$dir" "$REGISTRY_PORT"
  on_exit "'$TOOLS/registry.sh' stop '$dir' >/dev/null 2>&1"
}

# registry_push_blobs URL REPO DIR [CURL-ARGS...]: uploads every file of DIR (named by its
# sha256) as a blob of REPO (monolithic POST + PUT), e.g. URL http://127.0.0.1:5000
registry_push_blobs() {
  local url=$1 repo=$2 dir=$3; shift 3
  local f id loc n=0
  for f in "$dir"/*; do
    id=$(basename "$f")
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    loc=$(curl -sS -f -X POST -D - -o /dev/null "$@" "$url/v2/$repo/blobs/uploads/" \
          | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    [ -n "$loc" ] || fail "registry refused the upload of $id"
    case "$loc" in http*) ;; *) loc=$url$loc ;; esac
    case "$loc" in *\?*) loc="$loc&digest=sha256:$id" ;; *) loc="$loc?digest=sha256:$id" ;; esac
    curl -sS -f -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" \
      -o /dev/null "$@" "$loc" || fail "upload of blob $id to $url/$repo failed"
    n=$((n + 1))
  done
  log "   pushed $n blob(s) to $url/v2/$repo"
}

# registry_config FILE HOST REPO WORKDIR [EXTRA-JSON]: the tutorial's v1 registry.json with a
# blobcache in WORKDIR; EXTRA-JSON is spliced into the backend config (e.g. '"auth": "..."').
# Env: SCHEME (http), TIMEOUT (5), RETRY_LIMIT (2), DIGEST_VALIDATE, PREFETCH, PREFETCH_ALL,
# BANDWIDTH (fs_prefetch.bandwidth_rate, bytes/s).
registry_config() {
  local file=$1 host=$2 repo=$3 work=$4 extra=${5:-} scheme=${SCHEME:-http}
  mkdir -p "$work"
  cat >"$file" <<EOF
{
  "device": {
    "backend": {
      "type": "registry",
      "config": {
        "scheme": "$scheme", "host": "$host", "repo": "$repo",
        "timeout": ${TIMEOUT:-5}, "connect_timeout": 5, "retry_limit": ${RETRY_LIMIT:-2}${extra:+, $extra}
      }
    },
    "cache": {"type": "blobcache", "config": {"work_dir": "$work"}}
  },
  "mode": "direct",
  "digest_validate": ${DIGEST_VALIDATE:-false},
  "iostats_files": false,
  "enable_xattr": true,
  "fs_prefetch": {"enable": ${PREFETCH:-false}, "threads_count": 4, "prefetch_all": ${PREFETCH_ALL:-false},
                  "bandwidth_rate": ${BANDWIDTH:-0}}
}
EOF
}

# require_faultproxy: what tests/tools/faultproxy.py and a registry behind it need (python3
# >= 3.11, curl, docker-registry), or skip
require_faultproxy() {
  require_cmd python3 curl
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || skip "faultproxy.py needs python >= 3.11"
  [ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"
}

# faultproxy_start UPSTREAM [FAULTPROXY-ARGS...]: starts tests/tools/faultproxy.py on a free port
# in front of UPSTREAM (host:port) and waits until it listens; sets PPORT, PROXY
# (http://127.0.0.1:PPORT) and PROXY_PID. Output in $E2E_TMP/logs/proxy.out; stopped at exit.
faultproxy_start() {
  local upstream=$1; shift
  PPORT=$(free_port)
  PROXY=http://127.0.0.1:$PPORT
  echo "  \$ python3 $TOOLS/faultproxy.py --listen 127.0.0.1:$PPORT --upstream $upstream $* &"
  python3 "$TOOLS/faultproxy.py" --listen "127.0.0.1:$PPORT" --upstream "$upstream" \
    --pidfile "$E2E_TMP/proxy.pid" "$@" >"$E2E_TMP/logs/proxy.out" 2>&1 &
  PROXY_PID=$!
  on_exit "kill $PROXY_PID 2>/dev/null"
  for _ in $(seq 100); do [ -s "$E2E_TMP/proxy.pid" ] && break; sleep 0.05; done
  [ -s "$E2E_TMP/proxy.pid" ] || fail "faultproxy did not start: $(cat "$E2E_TMP/logs/proxy.out")"
}

# ctl CMD: a faultproxy control request (POST $PROXY/__proxy/CMD, e.g. "fault?mode=none")
ctl() { curl -sS -f --max-time 10 -X POST "$PROXY/__proxy/$1" >/dev/null || fail "proxy control $1 failed"; }
# pstats: the faultproxy's counters (GET $PROXY/__proxy/stats)
pstats() { curl -sS -f --max-time 10 "$PROXY/__proxy/stats"; }

# api_get SOCK PATH: GET over nydusd's API socket, body on stdout
api_get() { curl -sS -f --max-time 10 --unix-socket "$1" "http://localhost$2"; }

# nydusd_pid MNT: the pid of the daemon serving MNT
nydusd_pid() { echo "${NYDUSD_PID[$1]:-}"; }

# nydusd_alive MNT: fails unless the daemon serving MNT runs and MNT is still its fuse mount
nydusd_alive() {
  local mnt=$1 pid=${NYDUSD_PID[$1]:-}
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || fail "nydusd for $mnt is not running"
  case "$(mounted_type "$mnt")" in fuse*) ;; *) fail "$mnt is no longer a fuse mount" ;; esac
}

# nydusd_stop MNT [SIGNAL]: sends SIGNAL (TERM) and waits up to 15 s; the daemon must exit 0
# and MNT must be unmounted.
nydusd_stop() {
  local mnt=$1 sig=${2:-TERM} pid=${NYDUSD_PID[$1]:-} t0 rc=0
  [ -n "$pid" ] || fail "no nydusd recorded for $mnt"
  t0=$(now_ms)
  kill -s "$sig" "$pid"
  nydusd_wait_exit "$pid" 15000 || { tail -n 40 "${NYDUSD_LOG[$mnt]}" | sed 's/^/    | /'; fail "nydusd (pid $pid) still running 15 s after SIG$sig"; }
  rc=$NYDUSD_LAST_RC
  unset "NYDUSD_PID[$mnt]"
  log "   nydusd (pid $pid) exited with $rc $(fmt_ms "$(elapsed_ms "$t0")") after SIG$sig"
  if [ "$rc" != 0 ]; then
    tail -n 40 "${NYDUSD_LOG[$mnt]}" | sed 's/^/    | /'
    fail "nydusd exited with $rc after SIG$sig (expected 0)"
  fi
  [ -z "$(mounted_type "$mnt")" ] || fail "$mnt still mounted ($(mounted_type "$mnt")) after nydusd exited"
  grep -qF " $mnt " /proc/mounts && fail "$mnt still listed in /proc/mounts"
  return 0
}

# nydusd_wait_exit PID TIMEOUT_MS: waits for a child to exit; sets NYDUSD_LAST_RC
nydusd_wait_exit() {
  local pid=$1 limit=$2 t0
  t0=$(now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    # a zombie child still answers kill -0; `wait` reaps it below
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    [ $(( $(now_ms) - t0 )) -gt "$limit" ] && return 1
    sleep 0.05
  done
  NYDUSD_LAST_RC=0
  wait "$pid" 2>/dev/null || NYDUSD_LAST_RC=$?
  return 0
}

# nydusd_kill MNT: exit-time cleanup (SIGTERM, then SIGKILL; lazy unmount)
nydusd_kill() {
  local mnt=$1 pid=${NYDUSD_PID[$1]:-}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    nydusd_wait_exit "$pid" 10000 || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  fi
  unset "NYDUSD_PID[$mnt]"
  if [ -n "$(mounted_type "$mnt")" ]; then umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; fi
  return 0
}

# expect_start_failure NAME PATTERN NYDUSD-ARGS...: nydusd must exit non-zero within 20 s, print
# a message matching the extended regex PATTERN, and add no mount at the --mountpoint.
expect_start_failure() {
  local name=$1 pattern=$2; shift 2
  expect_failure "$name" "$pattern" "$NYDUSD" "$@"
}
# expect_failure NAME PATTERN CMD...: the same for any command that runs nydusd
expect_failure() {
  local name=$1 pattern=$2; shift 2
  local logf=$E2E_TMP/logs/fail-$name.log rc=0 t0 mnt="" a prev=""
  for a in "$@"; do
    if [ "$prev" = --mountpoint ] || [ "$prev" = -M ]; then mnt=$a; fi
    prev=$a
  done
  local canon="" before=0
  if [ -n "$mnt" ] && [ -d "$mnt" ]; then canon=$(cd "$mnt" && pwd -P); before=$(mount_count "$canon"); fi
  t0=$(now_ms)
  echo "  \$ $(quote_cmd "$@")"
  timeout 20 "$@" >"$logf" 2>&1 </dev/null || rc=$?
  sed 's/^/    | /' "$logf" | tail -n 5
  [ "$rc" = 124 ] && fail "$name: nydusd still running after 20 s (expected a failed start)"
  [ "$rc" != 0 ] || fail "$name: nydusd exited 0 (expected a failed start)"
  grep -Eq -- "$pattern" "$logf" || fail "$name: exit $rc but the output does not match /$pattern/"
  if [ -n "$canon" ] && [ "$(mount_count "$canon")" != "$before" ]; then
    fail "$name: a new mount appeared at $mnt after a failed start"
  fi
  log "   $name: exit $rc in $(fmt_ms "$(elapsed_ms "$t0")"), message matches /$pattern/"
}
