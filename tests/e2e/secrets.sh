#!/usr/bin/env bash
# e2e.secrets: registry credentials never leave the places they were given in (issue 7, item 5).
# A docker-registry with basic auth (tests/tools/registry.sh AUTH=1: testuser/testpassword)
# serves a small image; then, with debug logging everywhere:
#   1. nydusd with `auth` in its config, a mirror whose headers carry an Authorization value,
#      --apisock and prefetch: reads the whole tree; every GET endpoint of the API and every
#      nydusctl view is saved;
#   2. nydusd with IMAGE_PULL_AUTH in the environment and a proxy URL with user:password
#      (unreachable, fallback to the registry);
#   3. an API-only nydusd: POST /api/v1/mount with the credentials in the config, then the API
#      views; a mount with a wrong password (its error body saved too);
#   4. nydusd with a wrong password (failed start), and IMAGE_PULL_AUTH not base64;
#   5. nydusify convert / check / mount with the credentials in $DOCKER_CONFIG/config.json,
#      the source image pushed with curl as an OCI image (one tar.gz layer).
# Then every file under the temp dir (logs, blob caches, nydusify's work dir, API answers, the
# converted bootstraps), except the inputs that hold the credentials on purpose
# ($E2E_TMP/inputs) and the registry's own directory, is searched for the password, the wrong
# password, the proxy password and the base64 forms (including the prefix of "testuser:"), and
# so is /proc/<pid>/cmdline of every daemon while it runs: no match allowed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init secrets
require_root
require_cmd python3 curl htpasswd tar sha256sum
require_fuse
find_nydus_image
find_nydusd
find_nydusctl
find_tool nydusify NYDUSIFY
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"

USER_PASS=testuser:testpassword
GOOD=$(printf '%s' "$USER_PASS" | base64 -w0)
BAD=$(printf 'testuser:wrongpassword' | base64 -w0)
PROXY_SECRET=proxysecret42
# What must never appear: the passwords, both base64 credentials, the base64 of "testuser:"
# (the common prefix of any truncated or re-padded form of them).
PATTERNS=(testpassword wrongpassword "$PROXY_SECRET" "$GOOD" "$BAD" "$(printf 'testuser:' | base64 -w0 | cut -c1-12)")
IN=$E2E_TMP/inputs
mkdir -p "$IN" "$E2E_TMP/api"
CMDLINES=$E2E_TMP/logs/cmdlines.txt
: >"$CMDLINES"

# record_cmdline PID: what any user can read in /proc/PID/cmdline while the process runs
record_cmdline() { { tr '\0' ' ' <"/proc/$1/cmdline"; echo; } >>"$CMDLINES" 2>/dev/null || true; }

# save_api SOCK NAME: every GET view of the API to $E2E_TMP/api/NAME-*.out
save_api() {
  local sock=$1 name=$2 p f
  for p in /api/v1/daemon /api/v2/daemon /api/v1/daemon/backend /api/v1/metrics \
           /api/v1/metrics/backend /api/v1/metrics/blobcache /api/v1/metrics/files \
           /api/v1/metrics/pattern /api/v1/metrics/inflight /api/v1/daemon/events /metrics; do
    f=$E2E_TMP/api/$name-$(echo "$p" | tr '/' '_').out
    curl -sS --max-time 10 --unix-socket "$sock" "http://localhost$p" >"$f" 2>&1 || true
  done
  local m
  for m in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1])).get("backend_collection", {}).keys()))' \
             "$E2E_TMP/api/$name-_api_v1_daemon.out" 2>/dev/null); do
    f=$E2E_TMP/api/$name-backend$(echo "$m" | tr '/' '_').out
    curl -sS --max-time 10 --unix-socket "$sock" "http://localhost/api/v1/daemon/backend?mountpoint=$m" >"$f" 2>&1 || true
  done
  for p in info "metrics backend" "metrics blobcache" "metrics fs"; do
    # shellcheck disable=SC2086
    "$NYDUSCTL" -S "$sock" $p >"$E2E_TMP/api/$name-nydusctl-${p// /-}.out" 2>&1 || true
    # shellcheck disable=SC2086
    "$NYDUSCTL" -S "$sock" -r $p >"$E2E_TMP/api/$name-nydusctl-raw-${p// /-}.out" 2>&1 || true
  done
  log "   saved $(find "$E2E_TMP/api" -name "$name-*" | wc -l) API answers of $name"
}

phase "registry with basic auth; an OCI source image and a nydus image of the same tree"
registry_start "$E2E_TMP/registry" AUTH=1
mv "$LAST_LOG" "$IN/registry-start.log"  # registry.sh prints the test credentials: ours, not a leak
HOST=127.0.0.1:$REGISTRY_PORT
TREE=$E2E_TMP/tree
mkdir -p "$TREE/etc" "$TREE/usr/bin" "$TREE/empty"
echo "hello" >"$TREE/etc/motd"
head -c 3000000 /dev/urandom >"$TREE/usr/bin/big"
seq 1 200000 >"$TREE/usr/bin/text"
ln -s ../etc/motd "$TREE/usr/motd-link"
ln "$TREE/etc/motd" "$TREE/etc/motd.hard"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$TREE"
registry_push_blobs "http://$HOST" tree "$E2E_TMP/blobs" -u "$USER_PASS"
# The OCI image: layer tar.gz + config + manifest, pushed with curl.
OCI=$E2E_TMP/oci-blobs
mkdir -p "$OCI"
tar -C "$TREE" --numeric-owner -cf "$E2E_TMP/layer.tar" .
DIFF_ID=$(sha256sum "$E2E_TMP/layer.tar" | cut -d' ' -f1)
gzip -n -c "$E2E_TMP/layer.tar" >"$E2E_TMP/layer.tar.gz"
LAYER=$(sha256sum "$E2E_TMP/layer.tar.gz" | cut -d' ' -f1)
cp "$E2E_TMP/layer.tar.gz" "$OCI/$LAYER"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$DIFF_ID" >"$E2E_TMP/config.json"
CONFIG=$(sha256sum "$E2E_TMP/config.json" | cut -d' ' -f1)
cp "$E2E_TMP/config.json" "$OCI/$CONFIG"
registry_push_blobs "http://$HOST" src "$OCI" -u "$USER_PASS"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
  "$CONFIG" "$(stat -c %s "$E2E_TMP/config.json")" "$LAYER" "$(stat -c %s "$E2E_TMP/layer.tar.gz")" \
  >"$E2E_TMP/manifest.json"
curl -sS -f -u "$USER_PASS" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$E2E_TMP/manifest.json" "http://$HOST/v2/src/manifests/v1" -o /dev/null \
  || fail "manifest push failed"
log "   pushed $HOST/src:v1 (one layer) and the blob of the nydus image to $HOST/tree"

MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock

phase "1. nydusd: auth in the config, a mirror with an Authorization header, API, prefetch"
PREFETCH=true PREFETCH_ALL=true registry_config "$IN/auth.json" "$HOST" tree "$E2E_TMP/cache1" \
  "\"auth\": \"$GOOD\", \"mirrors\": [{\"host\": \"http://$HOST\", \"headers\": {\"Authorization\": \"Basic $GOOD\"}}]"
nydusd_start auth "$MNT" "$E2E_TMP/tree.boot" "$IN/auth.json" --apisock "$SOCK" --log-level debug
record_cmdline "$(nydusd_pid "$MNT")"
api_get "$SOCK" /api/v1/daemon >/dev/null
curl -sS -f --unix-socket "$SOCK" -X PUT -d '{"log_level":"trace"}' http://localhost/api/v1/daemon \
  || fail "could not raise the log level to trace"
verify_tree --no-root "$TREE" "$MNT"
save_api "$SOCK" auth
nydusd_stop "$MNT"

phase "2. nydusd: IMAGE_PULL_AUTH, and a proxy URL with user:password (unreachable, fallback)"
registry_config "$IN/env.json" "$HOST" tree "$E2E_TMP/cache2" \
  "\"proxy\": {\"url\": \"http://proxyuser:$PROXY_SECRET@127.0.0.1:1\", \"fallback\": true}"
IMAGE_PULL_AUTH=$GOOD nydusd_start env "$MNT" "$E2E_TMP/tree.boot" "$IN/env.json" \
  --apisock "$SOCK" --log-level debug
record_cmdline "$(nydusd_pid "$MNT")"
verify_tree --no-root "$TREE" "$MNT"
save_api "$SOCK" env
nydusd_stop "$MNT"

phase "3. API-only nydusd: POST /api/v1/mount with credentials; a mount with a wrong password"
nydusd_start api "$MNT" - - --apisock "$SOCK" --log-level debug
record_cmdline "$(nydusd_pid "$MNT")"
registry_config "$IN/api-good.json" "$HOST" tree "$E2E_TMP/cache3" "\"auth\": \"$GOOD\""
registry_config "$IN/api-bad.json" "$HOST" tree "$E2E_TMP/cache3b" "\"auth\": \"$BAD\""
for which in good bad; do
  python3 - "$E2E_TMP/tree.boot" "$IN/api-$which.json" >"$IN/mount-$which.body" <<'PYEOF'
import json, sys
print(json.dumps({"source": sys.argv[1], "fs_type": "rafs", "config": open(sys.argv[2]).read()}))
PYEOF
  code=$(curl -sS -o "$E2E_TMP/api/mount-$which.out" -w '%{http_code}' --max-time 60 --unix-socket "$SOCK" \
    -X POST -H 'Content-Type: application/json' --data-binary "@$IN/mount-$which.body" \
    "http://localhost/api/v1/mount?mountpoint=/$which")
  log "   POST /api/v1/mount?mountpoint=/$which: HTTP $code $(head -c 200 "$E2E_TMP/api/mount-$which.out")"
  if [ "$which" = good ]; then [ "$code" = 204 ] || fail "mount with good credentials: HTTP $code"; fi
  if [ "$which" = bad ]; then [ "$code" != 204 ] || fail "mount with a wrong password succeeded"; fi
done
verify_tree --no-root "$TREE" "$MNT/good"
save_api "$SOCK" api
nydusd_stop "$MNT"

phase "4. failed starts: a wrong password, IMAGE_PULL_AUTH that is not base64"
registry_config "$IN/bad.json" "$HOST" tree "$E2E_TMP/cache4" "\"auth\": \"$BAD\""
expect_start_failure bad-auth "(401|credentials|unauthorized|Unauthenticated|PermissionDenied)" \
  --config "$IN/bad.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/tree.boot" --log-level debug
IMAGE_PULL_AUTH="testpassword!" expect_start_failure env-not-base64 "IMAGE_PULL_AUTH" \
  --config "$IN/env.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/tree.boot" --log-level debug

phase "5. nydusify convert / check / mount with the credentials in \$DOCKER_CONFIG"
mkdir -p "$IN/docker" "$E2E_TMP/nydusify"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$HOST" "$GOOD" >"$IN/docker/config.json"
export DOCKER_CONFIG=$IN/docker
cd "$E2E_TMP/nydusify"
run "$NYDUSIFY" --log-level debug convert --source "$HOST/src:v1" --target "$HOST/src:v1-nydus" \
  --source-insecure --target-insecure
run "$NYDUSIFY" --log-level debug check --source "$HOST/src:v1" --target "$HOST/src:v1-nydus" \
  --source-insecure --target-insecure --nydusd "$NYDUSD"
"$NYDUSIFY" --log-level debug mount --target "$HOST/src:v1-nydus" --target-insecure \
  --mount-path "$MNT" --nydusd "$NYDUSD" >"$E2E_TMP/logs/nydusify-mount.log" 2>&1 &
NYPID=$!
on_exit "kill $NYPID 2>/dev/null; umount -l '$MNT' 2>/dev/null"
for _ in $(seq 300); do
  case "$(mounted_type "$MNT")" in fuse*) break ;; esac
  kill -0 "$NYPID" 2>/dev/null || { cat "$E2E_TMP/logs/nydusify-mount.log"; fail "nydusify mount exited"; }
  sleep 0.1
done
record_cmdline "$NYPID"
verify_tree --no-root --no-mtime "$TREE" "$MNT"
kill -TERM "$NYPID"
wait "$NYPID" 2>/dev/null || true
umount "$MNT" 2>/dev/null || true
cd "$E2E_TMP"
unset DOCKER_CONFIG

phase "search: no password and no base64 credentials anywhere"
files=$(find "$E2E_TMP" -path "$IN" -prune -o -path "$E2E_TMP/registry" -prune -o -path "$MNT" -prune \
  -o -type f -print | wc -l)
bytes=$(find "$E2E_TMP" -path "$IN" -prune -o -path "$E2E_TMP/registry" -prune -o -path "$MNT" -prune \
  -o -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
log "   searching $files files ($bytes bytes) and $(wc -l <"$CMDLINES") daemon command lines"
for d in "$E2E_TMP/logs" "$E2E_TMP/api" "$E2E_TMP/cache1" "$E2E_TMP/cache2" "$E2E_TMP/cache3" \
         "$E2E_TMP/nydusify/tmp"; do
  [ -n "$(find "$d" -type f -size +0 | head -n 1)" ] || fail "nothing written in $d: the search would prove nothing"
done
leaks=0
for p in "${PATTERNS[@]}"; do
  while IFS= read -r f; do
    echo "    LEAK: pattern #$(( $(printf '%s\n' "${PATTERNS[@]}" | grep -nxF -- "$p" | cut -d: -f1) )) in $f, line(s) $(grep -anF -- "$p" "$f" | cut -d: -f1 | head -n 5 | tr '\n' ' ')"
    leaks=$((leaks + 1))
  done < <(find "$E2E_TMP" -path "$IN" -prune -o -path "$E2E_TMP/registry" -prune -o -path "$MNT" -prune \
             -o -type f -print0 | xargs -0 grep -laF -- "$p" 2>/dev/null || true)
done
[ "$leaks" = 0 ] || fail "$leaks leak(s) of credentials"
log "   no credentials in any of them"
