#!/usr/bin/env bash
# e2e.nydusd_registry_auth: nydusd against registries with basic auth (AUTH=1, htpasswd
# testuser:testpassword, bearer-free) and TLS (TLS=1, self-signed):
#   - auth in the config, and IMAGE_PULL_AUTH in the environment, both mount and read;
#   - a wrong password, or none, fails the mount with a clear message (not the first read)
#     when the blob cache is cold; a complete cache mounts without asking the registry;
#   - TLS with skip_verify reads; TLS without it fails with a hint about skip_verify.
# Credentials must never appear in the daemon's log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_registry_auth
require_root
require_cmd python3 curl htpasswd openssl
require_fuse
find_nydus_image
find_nydusd
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"

phase "image: gen-tree.sh tree as one layer"
gen_tree "$E2E_TMP/tree"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$E2E_TMP/tree"
GOOD=$(printf 'testuser:testpassword' | base64)
BAD=$(printf 'testuser:wrongpassword' | base64)
MNT=$E2E_TMP/mnt

# no_secret LOG: the base64 credentials and the password never appear in LOG
no_secret() {
  ! grep -qE "$GOOD|testpassword|$BAD|wrongpassword" "$1" || fail "credentials leaked into $1"
}

phase "AUTH=1: basic auth from the config"
registry_start "$E2E_TMP/reg-auth" AUTH=1
HOST=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$HOST" tree "$E2E_TMP/blobs" -u testuser:testpassword
registry_config "$E2E_TMP/auth.json" "$HOST" tree "$E2E_TMP/cache1" "\"auth\": \"$GOOD\""
nydusd_start auth "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/auth.json" --log-level debug
verify_tree --no-root --exclude times/epoch-0 "$E2E_TMP/tree" "$MNT"
nydusd_stop "$MNT"
no_secret "${NYDUSD_LOG[$MNT]}"

phase "AUTH=1: IMAGE_PULL_AUTH instead of auth in the config"
registry_config "$E2E_TMP/noauth.json" "$HOST" tree "$E2E_TMP/cache2"
IMAGE_PULL_AUTH=$GOOD nydusd_start env-auth "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/noauth.json" --log-level debug
verify_tree --no-root --exclude times/epoch-0 "$E2E_TMP/tree" "$MNT"
nydusd_stop "$MNT"
no_secret "${NYDUSD_LOG[$MNT]}"

phase "AUTH=1: wrong credentials fail the mount with a clear message"
registry_config "$E2E_TMP/bad.json" "$HOST" tree "$E2E_TMP/cache3" "\"auth\": \"$BAD\""
expect_start_failure bad-auth "(401|credentials|unauthorized|Unauthenticated|PermissionDenied)" \
  --config "$E2E_TMP/bad.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/tree.boot"
no_secret "$E2E_TMP/logs/fail-bad-auth.log"
registry_config "$E2E_TMP/noauth-cold.json" "$HOST" tree "$E2E_TMP/cache4"
expect_start_failure no-auth "(401|credentials|unauthorized|Unauthenticated|PermissionDenied)" \
  --config "$E2E_TMP/noauth-cold.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/tree.boot"
# cache2 holds every chunk (the read above): that warm start asks the registry nothing
nydusd_start warm-noauth "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/noauth.json"
grep -q "registry access not checked" "${NYDUSD_LOG[$MNT]}" || fail "the warm start checked the registry"
verify_tree --no-root --exclude times/epoch-0 "$E2E_TMP/tree" "$MNT"
nydusd_stop "$MNT"
run "$TOOLS/registry.sh" stop "$REGISTRY_DIR"

phase "TLS=1: self-signed registry with skip_verify"
registry_start "$E2E_TMP/reg-tls" TLS=1
HOST=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "https://$HOST" tree "$E2E_TMP/blobs" --cacert "$REGISTRY_DIR/certs/domain.crt"
SCHEME=https registry_config "$E2E_TMP/tls.json" "$HOST" tree "$E2E_TMP/cache4" '"skip_verify": true'
nydusd_start tls "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/tls.json"
verify_tree --no-root --exclude times/epoch-0 "$E2E_TMP/tree" "$MNT"
nydusd_stop "$MNT"
SCHEME=https registry_config "$E2E_TMP/tls-verify.json" "$HOST" tree "$E2E_TMP/cache5"
expect_start_failure tls-untrusted "(skip_verify|certificate)" \
  --config "$E2E_TMP/tls-verify.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/tree.boot"
phase_end
