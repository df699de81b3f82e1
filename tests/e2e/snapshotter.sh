#!/usr/bin/env bash
# e2e.snapshotter: containerd runs containers from Nydus images through containerd-nydus-grpc
# (issue 8). A private containerd (Debian's 1.6: own root, state, socket and config in the temp
# dir) has a proxy plugin "nydus" pointing at our snapshotter, and its CRI plugin pulls with
# snapshotter = "nydus" and disable_snapshot_annotations = false.
#   1. python:bookworm (cached OCI layout) is copied into a local registry with skopeo and
#      converted with our nydusify to python:bookworm-nydus;
#   2. the Nydus image is pulled through CRI (tests/tools/cri_pull.py, like `crictl pull`: the
#      path that hands the layer annotations to the snapshotter; containerd 1.6's `ctr image
#      pull` downloads every blob) and `ctr run --snapshotter nydus` runs python3 /app/main.py:
#      the output is right, data layers were never fetched by containerd, and the registry
#      served under 15% of the image's bytes (summed from its access log);
#   3. the plain OCI image pulled with `ctr image pull --snapshotter nydus` runs too (overlayfs
#      fallback);
#   4. with a container still running, the snapshotter is stopped and started again: the
#      nydusd survives, the running container still reads new files, the restarted
#      snapshotter re-attaches (a new container uses the same nydusd);
#   5. removing the containers and the image (GC) unmounts and stops the nydusd and deletes its
#      cache and state; no snapshot is left;
#   6. the Nydus image in a registry with basic auth: CRI pulls with the request's credentials,
#      nydusd gets them from the docker config (DOCKER_CONFIG of the snapshotter) through its
#      environment: the container runs, and no file under the snapshotter root nor nydusd's
#      command line holds the password;
#   7. warm start: with [daemon] erofs_when_cached = true in the snapshotter's config, the first
#      container runs on nydusd's FUSE mount (cold cache); the whole image is then read through
#      that mount (the cache is complete) and the nydusd ended (a crash, or a reboot): the next
#      container's daemon mounts the kernel's EROFS (/proc/mounts), runs right and reads
#      nothing from the registry; a restarted snapshotter re-attaches to it (an EROFS mount
#      counts as alive), and removing the image stops it and unmounts the EROFS.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init snapshotter
require_root
require_fuse
require_cmd skopeo curl flock containerd ctr runc containerd-shim-runc-v2 htpasswd
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"
PY=/usr/bin/python3
"$PY" -c 'import grpc' 2>/dev/null || skip "python3-grpcio missing (for the CRI pull helper)"
find_nydusd
find_tool nydusify NYDUSIFY
find_tool containerd-nydus-grpc SNAPSHOTTER

python_image_layers
OCI=$NYDUS_CACHE/images-python/oci

phase "registry: skopeo copy python-bookworm, nydusify convert"
registry_start "$E2E_TMP/registry"
HOST=127.0.0.1:$REGISTRY_PORT
REGLOG=$REGISTRY_DIR/registry.log
run skopeo copy -q --dest-tls-verify=false "oci:$OCI:python-bookworm" "docker://$HOST/python:bookworm"
(cd "$E2E_TMP" && run "$NYDUSIFY" convert --source "$HOST/python:bookworm" \
  --target "$HOST/python:bookworm-nydus" --source-insecure --target-insecure --work-dir "$E2E_TMP/conv")
rm -rf "$E2E_TMP/conv"
# the same Nydus image in a registry with basic auth (testuser / testpassword)
registry_start "$E2E_TMP/registry-auth" AUTH=1
AHOST=127.0.0.1:$REGISTRY_PORT
AREGLOG=$REGISTRY_DIR/registry.log
run skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --dest-creds testuser:testpassword \
  "docker://$HOST/python:bookworm-nydus" "docker://$AHOST/private:nydus"
mkdir -p "$E2E_TMP/docker"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$AHOST" "$(printf testuser:testpassword | base64)" \
  >"$E2E_TMP/docker/config.json"
# The Nydus image's bytes: manifest layers (data blobs + bootstrap layer) + config.
IMAGE_BYTES=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$HOST/v2/python/manifests/bookworm-nydus" | "$PY" -c '
import json, sys
m = json.load(sys.stdin)
print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])')
log "   python:bookworm-nydus: $IMAGE_BYTES bytes in the registry"

# Bytes the registry sent since log line $1 (its access log: "GET ... HTTP/1.1" STATUS BYTES;
# a HEAD logs the Content-Length it did not send, so only GETs count).
reg_lines() { wc -l <"$REGLOG"; }
reg_bytes_since() {
  tail -n +"$(($1 + 1))" "$REGLOG" | awk '/"GET [^ ]+ HTTP\/1\.[01]" [0-9]+ [0-9]+ / {
    for (i = 1; i < NF; i++) if ($i ~ /HTTP\/1\.[01]"$/) { s += $(i + 2); break } } END { print s + 0 }'
}

phase "start containerd-nydus-grpc and containerd (private root, state, socket)"
SNROOT=$E2E_TMP/snroot
SNSOCK=$E2E_TMP/run/nydus.sock
CTD=$E2E_TMP/containerd
CSOCK=$CTD/containerd.sock
mkdir -p "$E2E_TMP/run" "$CTD/cni-conf" "$CTD/cni-bin"
cat >"$E2E_TMP/nydusd-config.json" <<EOF
{
  "device": {
    "backend": {"type": "registry", "config": {"timeout": 30, "connect_timeout": 5, "retry_limit": 2}},
    "cache": {"type": "blobcache"}
  },
  "mode": "direct", "digest_validate": false, "iostats_files": false, "enable_xattr": true,
  "fs_prefetch": {"enable": false}
}
EOF
for h in "$HOST" "$AHOST"; do
  mkdir -p "$CTD/certs.d/$h"
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$h" "$h" \
    >"$CTD/certs.d/$h/hosts.toml"
done
cat >"$CTD/config.toml" <<EOF
version = 2
root = "$CTD/root"
state = "$CTD/state"
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CSOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "nydus"
    disable_snapshot_annotations = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CTD/certs.d"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CTD/cni-bin"
    conf_dir = "$CTD/cni-conf"
[proxy_plugins]
  [proxy_plugins.nydus]
    type = "snapshot"
    address = "$SNSOCK"
EOF

SN_PID=
SN_RUNS=0
SN_CONFIG=  # the snapshotter's config.toml, if any
snapshotter_start() {
  SN_RUNS=$((SN_RUNS + 1))
  # its own session, like a service: the test's signals do not reach it
  DOCKER_CONFIG=$E2E_TMP/docker setsid "$SNAPSHOTTER" ${SN_CONFIG:+--config "$SN_CONFIG"} \
    --root "$SNROOT" --address "$SNSOCK" --nydusd "$NYDUSD" \
    --nydusd-config "$E2E_TMP/nydusd-config.json" --log-level debug \
    >>"$E2E_TMP/logs/snapshotter-$SN_RUNS.log" 2>&1 </dev/null &
  SN_PID=$!
  local i
  for i in $(seq 1 100); do
    [ -S "$SNSOCK" ] && grep -q "serving on" "$E2E_TMP/logs/snapshotter-$SN_RUNS.log" && return 0
    kill -0 "$SN_PID" 2>/dev/null || { tail -20 "$E2E_TMP/logs/snapshotter-$SN_RUNS.log"; fail "snapshotter exited"; }
    sleep 0.1
  done
  fail "snapshotter did not serve $SNSOCK in 10 s"
}
snapshotter_stop() {
  [ -n "$SN_PID" ] || return 0
  kill -TERM "$SN_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$SN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SN_PID" 2>/dev/null && { kill -KILL "$SN_PID"; fail "snapshotter ignored SIGTERM"; }
  SN_PID=
}
# pids of the nydusd daemons the snapshotter recorded
daemon_pids() {
  local f
  for f in "$SNROOT"/daemons/*/state.json; do
    [ -f "$f" ] && "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$f"
  done
  return 0
}
CTD_PID=
containerd_start() {
  containerd --config "$CTD/config.toml" >>"$E2E_TMP/logs/containerd.log" 2>&1 </dev/null &
  CTD_PID=$!
  local i
  for i in $(seq 1 150); do
    ctr --address "$CSOCK" version >/dev/null 2>&1 && return 0
    kill -0 "$CTD_PID" 2>/dev/null || { tail -30 "$E2E_TMP/logs/containerd.log"; fail "containerd exited"; }
    sleep 0.2
  done
  fail "containerd did not answer in 30 s"
}
teardown() {
  set +e
  local ns c
  if [ -n "$CTD_PID" ] && kill -0 "$CTD_PID" 2>/dev/null; then
    for ns in k8s.io default; do
      for c in $(ctr --address "$CSOCK" -n $ns tasks ls -q 2>/dev/null); do
        ctr --address "$CSOCK" -n $ns tasks kill -s KILL "$c" >/dev/null 2>&1
        sleep 0.5
        ctr --address "$CSOCK" -n $ns tasks rm -f "$c" >/dev/null 2>&1
      done
    done
    kill -TERM "$CTD_PID"; wait "$CTD_PID" 2>/dev/null
  fi
  [ -n "$SN_PID" ] && kill -TERM "$SN_PID" 2>/dev/null && sleep 1
  local p
  for p in $(daemon_pids); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$SNROOT" && kill -TERM "$p"
  done
  sleep 1
  # rootfs overlays, nydusd FUSE mounts, shim mounts below the temp dir: innermost first
  awk -v t="$E2E_TMP/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}
on_exit teardown
snapshotter_start
containerd_start
CTR=(ctr --address "$CSOCK")
run "${CTR[@]}" plugins ls
grep -E '^io\.containerd\.snapshotter\.v1 +nydus +.* ok' "$LAST_LOG" >/dev/null || fail "proxy plugin nydus not loaded"
grep -E 'io\.containerd\.grpc\.v1 +cri +.* ok' "$LAST_LOG" >/dev/null || fail "CRI plugin not loaded"

# expected output of /app/main.py for the image's working directory
WORKDIR=$(skopeo inspect --config --tls-verify=false "docker://$HOST/python:bookworm-nydus" |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["config"].get("WorkingDir") or "/")')
EXPECT="{\"hello\": \"world\", \"argv\": [\"nydus\", \"e2e\"], \"cwd\": \"$WORKDIR\"}"
# containerd redials a proxy plugin with a backoff of at most 3 s (containerd 1.6
# services/server/server.go); until then its calls fail fast with "unavailable".
wait_reconnect() {
  local t0 i
  t0=$(now_ms)
  for i in $(seq 1 100); do
    "${CTR[@]}" -n k8s.io snapshots --snapshotter nydus ls >/dev/null 2>&1 && break
    sleep 0.1
  done
  "${CTR[@]}" -n k8s.io snapshots --snapshotter nydus ls >/dev/null || fail "containerd did not reconnect"
  log "   containerd reconnected to the snapshotter after $(fmt_ms "$(elapsed_ms "$t0")")"
}
check_output() { # LOG WHAT
  grep -qxF "$EXPECT" "$1" || { sed 's/^/    | /' "$1" | tail -20; fail "$2: expected $EXPECT"; }
  log "   $2: $(grep -xF "$EXPECT" "$1")"
}

# restart_and_reattach PID FSTYPE TASK EXEC_ID NEW: starts the (stopped) snapshotter again; it
# must re-attach to nydusd PID (serving FSTYPE when given), an exec in the running TASK and a
# new container NEW must print the app's output, and no nydusd may be started.
restart_and_reattach() {
  local pid=$1 fstype=$2 task=$3 exec_id=$4 new=$5 slog
  snapshotter_start
  wait_reconnect
  slog=$E2E_TMP/logs/snapshotter-$SN_RUNS.log
  grep -q "re-attached to nydusd pid $pid${fstype:+ .* ($fstype)}" "$slog" ||
    fail "the restarted snapshotter did not re-attach to nydusd $pid${fstype:+ on $fstype}"
  run "${CTR[@]}" -n k8s.io tasks exec --exec-id "$exec_id" "$task" python3 /app/main.py nydus e2e
  check_output "$LAST_LOG" "exec in the running container${fstype:+ ($fstype)} after the restart"
  run "${CTR[@]}" -n k8s.io run --rm --snapshotter nydus "$NIMG" "$new" python3 /app/main.py nydus e2e
  check_output "$LAST_LOG" "new container after the restart"
  [ "$(daemon_pids)" = "$pid" ] || fail "a new nydusd was started ($(daemon_pids | tr '\n' ' '))"
  if grep -q "started nydusd" "$slog"; then fail "the restarted snapshotter started a nydusd"; fi
}

phase "Nydus image: CRI pull (snapshot annotations) + ctr run --snapshotter nydus"
NIMG=$HOST/python:bookworm-nydus
L0=$(reg_lines)
t0=$(now_ms)
run "$PY" "$TOOLS/cri_pull.py" "$CSOCK" "$NIMG"
log "   pulled in $(fmt_ms "$(elapsed_ms "$t0")"): image id $(cat "$LAST_LOG")"
run "${CTR[@]}" -n k8s.io snapshots --snapshotter nydus ls
sed 's/^/    /' "$LAST_LOG"
run "${CTR[@]}" -n k8s.io run --rm --snapshotter nydus "$NIMG" py1 python3 /app/main.py nydus e2e
check_output "$LAST_LOG" "ctr run (nydus)"
log "   pull + run in $(fmt_ms "$(elapsed_ms "$t0")")"
SERVED=$(reg_bytes_since "$L0")
PCT=$(awk -v s="$SERVED" -v t="$IMAGE_BYTES" 'BEGIN { printf "%.2f", 100 * s / t }')
log "   registry served $SERVED of $IMAGE_BYTES bytes ($PCT%)"
awk -v s="$SERVED" -v t="$IMAGE_BYTES" 'BEGIN { exit !(s < 0.15 * t) }' ||
  fail "registry served $PCT% of the image (limit 15%)"
# containerd fetched the config and the bootstrap layer only (200); nydusd read ranges (206)
# of the data blobs.
read -r CONFIG_DIGEST BOOT_LAYER < <(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$HOST/v2/python/manifests/bookworm-nydus" |
  "$PY" -c 'import json,sys; m = json.load(sys.stdin); print(m["config"]["digest"], m["layers"][-1]["digest"])')
whole=$(tail -n +"$((L0 + 1))" "$REGLOG" | grep -oE '"GET /v2/python/blobs/sha256:[0-9a-f]{64} HTTP/1\.[01]" 200 ' |
  grep -oE 'sha256:[0-9a-f]{64}' | sort -u | tr '\n' ' ')
[ "$whole" = "$(printf '%s\n' "$CONFIG_DIGEST" "$BOOT_LAYER" | sort -u | tr '\n' ' ')" ] ||
  fail "whole blobs downloaded: $whole (expected only the config and the bootstrap layer)"
ranges=$(tail -n +"$((L0 + 1))" "$REGLOG" | grep -cE '"GET /v2/python/blobs/sha256:[0-9a-f]{64} HTTP/1\.[01]" 206 ' || true)
log "   whole blobs: config + bootstrap layer only; $ranges range reads of data blobs by nydusd"
[ "$(daemon_pids | wc -l)" = 1 ] || fail "expected one nydusd"
NYDUSD1=$(daemon_pids)
log "   one nydusd (pid $NYDUSD1) serves the image"

phase "plain OCI image: ctr image pull --snapshotter nydus + ctr run (overlayfs fallback)"
OIMG=$HOST/python:bookworm
L1=$(reg_lines)
run "${CTR[@]}" image pull --plain-http --snapshotter nydus "$OIMG"
log "   for comparison: the registry served $(reg_bytes_since "$L1") bytes for this (non-lazy) pull"
run "${CTR[@]}" run --rm --snapshotter nydus "$OIMG" oci1 python3 /app/main.py nydus e2e
check_output "$LAST_LOG" "ctr run (OCI)"
[ "$(daemon_pids | wc -l)" = 1 ] || fail "the OCI image started a nydusd"
run "${CTR[@]}" image rm --sync "$OIMG"

phase "snapshotter restart with a container running"
run "${CTR[@]}" -n k8s.io run -d --snapshotter nydus "$NIMG" py2 sleep 600
snapshotter_stop
kill -0 "$NYDUSD1" 2>/dev/null || fail "nydusd died with the snapshotter"
# the running container still reads files nydusd has not served yet
run "${CTR[@]}" -n k8s.io tasks exec --exec-id e1 py2 python3 -c \
  'import hashlib, pathlib; print(sum(1 for p in pathlib.Path("/usr/share/zoneinfo").rglob("*") if p.is_file() and hashlib.sha256(p.read_bytes()).digest()))'
log "   while the snapshotter is down, the running container read $(tail -1 "$LAST_LOG") files"
restart_and_reattach "$NYDUSD1" "" py2 e2 py3
run "${CTR[@]}" -n k8s.io tasks kill -s KILL py2
for _ in $(seq 1 50); do "${CTR[@]}" -n k8s.io tasks ls -q | grep -qx py2 || break; \
  "${CTR[@]}" -n k8s.io tasks rm py2 >/dev/null 2>&1 || sleep 0.2; done
run "${CTR[@]}" -n k8s.io containers rm py2

phase "remove the image: GC removes the snapshots, stops nydusd, deletes its cache"
META_ID=$(basename "$(dirname "$(ls "$SNROOT"/daemons/*/state.json)")")
MNT=$SNROOT/snapshots/$META_ID/mnt
[ "$(mounted_type "$MNT")" = fuse.nydusd ] || [ -n "$(mounted_type "$MNT")" ] || fail "$MNT is not mounted"
[ -d "$SNROOT/cache/$META_ID" ] || fail "no cache dir $SNROOT/cache/$META_ID"
log "   cache before: $(du -sh "$SNROOT/cache/$META_ID" | cut -f1)"
run "${CTR[@]}" -n k8s.io images ls -q
mapfile -t refs <"$LAST_LOG"
run "${CTR[@]}" -n k8s.io images rm --sync "${refs[@]}"
for _ in $(seq 1 100); do kill -0 "$NYDUSD1" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NYDUSD1" 2>/dev/null && fail "nydusd $NYDUSD1 still runs"
[ -z "$(mounted_type "$MNT")" ] || fail "$MNT still mounted"
[ ! -e "$SNROOT/cache/$META_ID" ] || fail "cache $SNROOT/cache/$META_ID not deleted"
[ -z "$(ls -A "$SNROOT/daemons")" ] || fail "daemon state left: $(ls "$SNROOT/daemons")"
run "${CTR[@]}" -n k8s.io snapshots --snapshotter nydus ls
[ "$(wc -l <"$LAST_LOG")" -le 1 ] || fail "snapshots left in k8s.io: $(cat "$LAST_LOG")"
[ -z "$(ls -A "$SNROOT/metadata" | grep -v last_id)" ] || fail "metadata left: $(ls "$SNROOT/metadata")"
log "   nydusd stopped, $MNT unmounted, cache and state deleted, no snapshot left"

phase "registry with basic auth: credentials from the docker config reach nydusd"
PIMG=$AHOST/private:nydus
A0=$(wc -l <"$AREGLOG")
run "$PY" "$TOOLS/cri_pull.py" --creds testuser:testpassword "$CSOCK" "$PIMG"
run "${CTR[@]}" -n k8s.io run -d --snapshotter nydus "$PIMG" priv1 sleep 600
run "${CTR[@]}" -n k8s.io tasks exec --exec-id e3 priv1 python3 /app/main.py nydus e2e
check_output "$LAST_LOG" "ctr run (private registry)"
NYDUSD2=$(daemon_pids)
[ -n "$NYDUSD2" ] || fail "no nydusd for the private image"
ranges=$(tail -n +"$((A0 + 1))" "$AREGLOG" | grep -cE '"GET /v2/private/blobs/sha256:[0-9a-f]{64} HTTP/1\.[01]" 206 ' || true)
[ "$ranges" -gt 0 ] || fail "nydusd read nothing from the private registry"
B64=$(printf testuser:testpassword | base64)
grep -rlF -e testpassword -e "$B64" "$SNROOT" 2>/dev/null && fail "the password is in a file under $SNROOT"
tr '\0' ' ' <"/proc/$NYDUSD2/cmdline" | grep -qF testpassword && fail "the password is on nydusd's command line"
log "   nydusd $NYDUSD2 read $ranges ranges with the docker config's credentials; none on disk or argv"
run "${CTR[@]}" -n k8s.io tasks kill -s KILL priv1
for _ in $(seq 1 50); do "${CTR[@]}" -n k8s.io tasks rm priv1 >/dev/null 2>&1 && break; sleep 0.2; done
run "${CTR[@]}" -n k8s.io containers rm priv1
run "${CTR[@]}" -n k8s.io images ls -q
mapfile -t refs <"$LAST_LOG"
run "${CTR[@]}" -n k8s.io images rm --sync "${refs[@]}"
for _ in $(seq 1 100); do kill -0 "$NYDUSD2" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NYDUSD2" 2>/dev/null && fail "nydusd $NYDUSD2 still runs after the image was removed"
[ -z "$(ls -A "$SNROOT/daemons")" ] || fail "daemon state left: $(ls "$SNROOT/daemons")"

phase "erofs_when_cached: a nydusd started with the whole image in its cache mounts the kernel's EROFS"
snapshotter_stop
SN_CONFIG=$E2E_TMP/snapshotter.toml
printf '[daemon]\nerofs_when_cached = true\n' >"$SN_CONFIG"
snapshotter_start
wait_reconnect
grep -q -- "--erofs-when-cached, " "$E2E_TMP/logs/snapshotter-$SN_RUNS.log" ||
  fail "the snapshotter did not take erofs_when_cached from $SN_CONFIG"
run "$PY" "$TOOLS/cri_pull.py" "$CSOCK" "$NIMG"
run "${CTR[@]}" -n k8s.io run --rm --snapshotter nydus "$NIMG" warm1 python3 /app/main.py nydus e2e
check_output "$LAST_LOG" "first run (cold cache)"
META_ID=$(basename "$(dirname "$(ls "$SNROOT"/daemons/*/state.json)")")
MNT=$SNROOT/snapshots/$META_ID/mnt
NLOG=$SNROOT/daemons/$META_ID/nydusd.log
NYDUSD3=$(daemon_pids)
[[ "$(mounted_type "$MNT")" == fuse* ]] || fail "cold cache: $MNT is '$(mounted_type "$MNT")', not FUSE"
tr '\0' ' ' <"/proc/$NYDUSD3/cmdline" | grep -qF -- --erofs-when-cached || fail "nydusd $NYDUSD3 runs without --erofs-when-cached"
grep -qF -- "--erofs-when-cached: serving through FUSE" "$NLOG" || fail "nydusd $NYDUSD3 did not log why it serves through FUSE"
log "   $(grep -F -- "--erofs-when-cached: serving through FUSE" "$NLOG" | tail -1 | cut -c1-200)"
t0=$(now_ms)
find "$MNT" -xdev -type f -exec cat {} + >/dev/null || fail "reading the image through $MNT failed"
log "   read the whole image through nydusd $NYDUSD3 (FUSE) in $(fmt_ms "$(elapsed_ms "$t0")"): cache $(du -sh "$SNROOT/cache/$META_ID" | cut -f1)"
# The daemon ends (a crash; a reboot would end it as well) and leaves the complete cache.
kill -TERM "$NYDUSD3"
for _ in $(seq 1 100); do [ -z "$(mounted_type "$MNT")" ] && break; sleep 0.1; done
[ -z "$(mounted_type "$MNT")" ] || fail "$MNT still mounted after nydusd $NYDUSD3 got SIGTERM"
L2=$(reg_lines)
run "${CTR[@]}" -n k8s.io run --rm --snapshotter nydus "$NIMG" warm2 python3 /app/main.py nydus e2e
check_output "$LAST_LOG" "second run (complete cache)"
NYDUSD4=$(daemon_pids)
[ -n "$NYDUSD4" ] && [ "$NYDUSD4" != "$NYDUSD3" ] || fail "no new nydusd (pids: $NYDUSD4)"
grep -q "nydusd pid $NYDUSD3 of snapshot $META_ID is not serving any more" "$E2E_TMP/logs/snapshotter-$SN_RUNS.log" ||
  fail "the snapshotter did not notice that nydusd $NYDUSD3 was gone"
MTYPE=$(awk -v m="$MNT" '$2 == m { t = $3 } END { print t }' /proc/mounts)
[ "$MTYPE" = erofs ] || fail "complete cache: $MNT is '$MTYPE' in /proc/mounts, not erofs"
log "   /proc/mounts: $(awk -v m="$MNT" '$2 == m' /proc/mounts | tail -1 | cut -c1-160)"
grep -q "with the kernel's EROFS (every chunk cached)" "$NLOG" || fail "nydusd $NYDUSD4 did not log its kernel mount"
ranges=$(tail -n +"$((L2 + 1))" "$REGLOG" | grep -cE '"GET /v2/python/blobs/' || true)
[ "$ranges" = 0 ] || fail "the warm start read $ranges blobs or ranges from the registry"
log "   nydusd $NYDUSD4 serves $MNT with the kernel's EROFS; the registry served nothing for it"
# A restarted snapshotter re-attaches to the daemon on EROFS; a running container keeps working.
run "${CTR[@]}" -n k8s.io run -d --snapshotter nydus "$NIMG" warm3 sleep 600
snapshotter_stop
restart_and_reattach "$NYDUSD4" erofs warm3 e4 warm4
run "${CTR[@]}" -n k8s.io tasks kill -s KILL warm3
for _ in $(seq 1 50); do "${CTR[@]}" -n k8s.io tasks rm warm3 >/dev/null 2>&1 && break; sleep 0.2; done
run "${CTR[@]}" -n k8s.io containers rm warm3
# Removing the image stops the daemon, which takes its EROFS mount down; the cache goes. Its
# log is deleted with its state: follow it to the end.
tail -n 0 -f "$NLOG" >"$E2E_TMP/logs/nydusd-$NYDUSD4-end.log" 2>/dev/null &
TAIL_PID=$!
run "${CTR[@]}" -n k8s.io images ls -q
mapfile -t refs <"$LAST_LOG"
run "${CTR[@]}" -n k8s.io images rm --sync "${refs[@]}"
for _ in $(seq 1 100); do kill -0 "$NYDUSD4" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NYDUSD4" 2>/dev/null && fail "nydusd $NYDUSD4 still runs after the image was removed"
[ -z "$(mounted_type "$MNT")" ] || fail "$MNT still mounted ($(mounted_type "$MNT"))"
sleep 1  # tail's last read
kill "$TAIL_PID" 2>/dev/null || true
grep -qF "unmounted; exiting on request" "$E2E_TMP/logs/nydusd-$NYDUSD4-end.log" ||
  fail "nydusd $NYDUSD4 did not take its EROFS mount down on SIGTERM: $(cat "$E2E_TMP/logs/nydusd-$NYDUSD4-end.log")"
[ ! -e "$SNROOT/cache/$META_ID" ] || fail "cache $SNROOT/cache/$META_ID not deleted"
[ -z "$(ls -A "$SNROOT/daemons")" ] || fail "daemon state left: $(ls "$SNROOT/daemons")"
log "   nydusd $NYDUSD4 stopped, the EROFS mount at $MNT gone, cache and state deleted"
