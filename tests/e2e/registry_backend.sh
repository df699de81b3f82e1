#!/usr/bin/env bash
# e2e.registry_backend: the registry storage backend against a real CNCF distribution registry
# (tests/tools/registry.sh, Debian's docker-registry) on 127.0.0.1, in three setups:
#   plain  anonymous http
#   auth   AUTH=1 htpasswd basic auth: config `auth`, IMAGE_PULL_AUTH overriding a wrong config
#          value, and a wrong password / no credentials failing with a clear message
#   tls    TLS=1 self-signed https: skip_verify=true works; without it the error says to set it
# In each, a random 3 MiB blob is pushed with curl (monolithic POST + PUT upload) and ranges
# are read back with tests/registry_read (nydus-registry-read) and compared with the source.
# Skipped when docker-registry or curl is missing; the auth / tls setups are skipped without
# htpasswd / openssl.
source "$(dirname "$0")/lib.sh"
e2e_init registry_backend
require_cmd curl
require_cmd sha256sum
require_cmd python3
[ -x "${REGISTRY_BIN:-/usr/bin/docker-registry}" ] ||
  skip "docker-registry not installed (apt-get install docker-registry)"
find_tool_in() { # NAME VAR: like find_tool, but for executables built under tests/
  local name=$1 var=$2 c def="${2}_DEFAULT"
  for c in "${!var:-}" "${!def:-}" "${NYDUS_BUILD_DIR:+$NYDUS_BUILD_DIR/tests/$name}" \
           "$REPO_ROOT/build/tests/$name"; do
    if [ -n "$c" ] && [ -x "$c" ]; then printf -v "$var" '%s' "$c"; log "$name: $c"; return 0; fi
  done
  fail "$name not built (set $var=/path/to/$name or build target $name)"
}
find_tool_in nydus-registry-read REGISTRY_READ

REPO=test/blob
USER_PASS=testuser:testpassword
BLOB=$E2E_TMP/blob.bin
head -c $((3 * 1024 * 1024 + 777)) /dev/urandom >"$BLOB"
BLOB_ID=$(sha256sum "$BLOB" | cut -d' ' -f1)
BLOB_SIZE=$(stat -c %s "$BLOB")
log "blob sha256:$BLOB_ID ($BLOB_SIZE bytes)"

b64() { printf '%s' "$1" | base64 -w0; }

# start_registry NAME AUTH TLS: sets REG_DIR, PORT, SCHEME, CURL_OPTS
start_registry() {
  local name=$1
  REG_DIR=$E2E_TMP/reg-$name
  PORT=$(free_port)
  run env AUTH="$2" TLS="$3" bash "$TOOLS/registry.sh" start "$REG_DIR" "$PORT"
  on_exit "bash '$TOOLS/registry.sh' stop '$REG_DIR' >/dev/null 2>&1"
  SCHEME=http
  CURL_OPTS=(-sS --fail-with-body --max-time 60)
  if [ "$3" = 1 ]; then SCHEME=https; CURL_OPTS+=(--cacert "$REG_DIR/certs/domain.crt"); fi
  if [ "$2" = 1 ]; then CURL_OPTS+=(-u "$USER_PASS"); fi
}

# push_blob: POST an upload session, PUT the whole blob with its digest.
push_blob() {
  local base="$SCHEME://127.0.0.1:$PORT/v2/$REPO/blobs"
  local loc
  loc=$(curl "${CURL_OPTS[@]}" -X POST -o /dev/null -D - "$base/uploads/" |
        tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  [ -n "$loc" ] || fail "registry gave no upload location"
  case $loc in http*) ;; *) loc="$SCHEME://127.0.0.1:$PORT$loc" ;; esac
  case $loc in *\?*) loc="$loc&digest=sha256:$BLOB_ID" ;; *) loc="$loc?digest=sha256:$BLOB_ID" ;; esac
  run curl "${CURL_OPTS[@]}" -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$BLOB" "$loc"
  run curl "${CURL_OPTS[@]}" -I "$base/sha256:$BLOB_ID"
}

# write_config FILE [key=json ...]: the backend settings object for this registry
write_config() {
  local file=$1; shift
  python3 - "$file" "$SCHEME" "127.0.0.1:$PORT" "$REPO" "$@" <<'EOF'
import json, sys
file, scheme, host, repo, *extra = sys.argv[1:]
cfg = {"scheme": scheme, "host": host, "repo": repo, "timeout": 10, "retry_limit": 1}
for kv in extra:
    k, v = kv.split("=", 1)
    cfg[k] = json.loads(v)
json.dump(cfg, open(file, "w"))
EOF
}

# read_ok CONFIG: size, check, and three ranges equal to the source
read_ok() {
  local cfg=$1 off len
  run "$REGISTRY_READ" "$cfg" "$BLOB_ID" --check
  run "$REGISTRY_READ" "$cfg" "$BLOB_ID" --size
  [ "$(cat "$LAST_LOG")" = "$BLOB_SIZE" ] || fail "size: got '$(cat "$LAST_LOG")', want $BLOB_SIZE"
  for range in "0 4096" "1000003 65536" "$((BLOB_SIZE - 777)) 777" "0 $BLOB_SIZE"; do
    read -r off len <<<"$range"
    "$REGISTRY_READ" "$cfg" "$BLOB_ID" "$off" "$len" >"$E2E_TMP/got" 2>"$E2E_TMP/err" ||
      fail "read $off+$len failed: $(cat "$E2E_TMP/err")"
    cmp -s "$E2E_TMP/got" <(tail -c +$((off + 1)) "$BLOB" | head -c "$len") ||
      fail "read $off+$len: data differs"
    log "  range $off+$len ok ($(cat "$E2E_TMP/err"))"
  done
}

# read_fails CONFIG PATTERN: the check fails and stderr matches PATTERN (and holds no secret)
read_fails() {
  local cfg=$1 pattern=$2 rc=0
  "$REGISTRY_READ" "$cfg" "$BLOB_ID" --check >/dev/null 2>"$E2E_TMP/err" || rc=$?
  [ $rc != 0 ] || fail "expected the check to fail ($pattern)"
  log "  expected error: $(cat "$E2E_TMP/err")"
  grep -q -- "$pattern" "$E2E_TMP/err" || fail "error does not match '$pattern'"
  if grep -q -e "testpassword" -e "$(b64 "$USER_PASS")" -e "$(b64 testuser:wrong)" "$E2E_TMP/err"; then
    fail "error message leaks a credential"
  fi
}

phase "plain http registry"
start_registry plain 0 0
push_blob
write_config "$E2E_TMP/plain.json"
read_ok "$E2E_TMP/plain.json"
write_config "$E2E_TMP/missing.json"
rc=0
"$REGISTRY_READ" "$E2E_TMP/missing.json" "$(printf '%064d' 0)" --check 2>"$E2E_TMP/err" || rc=$?
[ $rc != 0 ] && grep -q "NotFound" "$E2E_TMP/err" || fail "missing blob: $(cat "$E2E_TMP/err")"
# The default scheme (https) against an http registry falls back to http, as the reference does.
python3 - "$E2E_TMP/plain.json" "$E2E_TMP/noscheme.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); del c["scheme"]; json.dump(c, open(sys.argv[2], "w"))
EOF
run "$REGISTRY_READ" "$E2E_TMP/noscheme.json" "$BLOB_ID" 0 16
run bash "$TOOLS/registry.sh" stop "$REG_DIR"

if command -v htpasswd >/dev/null; then
  phase "htpasswd basic-auth registry"
  start_registry auth 1 0
  push_blob
  write_config "$E2E_TMP/auth.json" "auth=\"$(b64 "$USER_PASS")\""
  read_ok "$E2E_TMP/auth.json"
  write_config "$E2E_TMP/wrong.json" "auth=\"$(b64 testuser:wrong)\""
  read_fails "$E2E_TMP/wrong.json" "rejected the credentials"
  IMAGE_PULL_AUTH=$(b64 "$USER_PASS") read_ok "$E2E_TMP/wrong.json"
  write_config "$E2E_TMP/anon.json"
  read_fails "$E2E_TMP/anon.json" "requires credentials"
  IMAGE_PULL_AUTH=$(b64 testuser:wrong) read_fails "$E2E_TMP/auth.json" "rejected the credentials"
  run bash "$TOOLS/registry.sh" stop "$REG_DIR"
else
  log "htpasswd missing (apt-get install apache2-utils): auth setup skipped"
fi

if command -v openssl >/dev/null; then
  phase "self-signed TLS registry"
  start_registry tls 0 1
  push_blob
  write_config "$E2E_TMP/tls.json" "skip_verify=true"
  read_ok "$E2E_TMP/tls.json"
  write_config "$E2E_TMP/tls-verify.json"
  read_fails "$E2E_TMP/tls-verify.json" "skip_verify"
  run bash "$TOOLS/registry.sh" stop "$REG_DIR"
else
  log "openssl missing: TLS setup skipped"
fi
