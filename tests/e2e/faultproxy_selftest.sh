#!/usr/bin/env bash
# e2e.faultproxy_selftest: tests/tools/faultproxy.py (the fault-injecting HTTP proxy used by
# e2e.fault_matrix, e2e.fault_load and the start-up benchmark) against real registries:
#   - two docker-registry instances, one plain and one with basic auth (AUTH=1), each holding
#     the same 64 MiB random blob in repo `fp`;
#   - tests/tools/faultproxy_test.py (unittest) starts proxies in front of them and checks
#     pass-through (GET, Range, HEAD, keep-alive, chunked upload, Location rewrite), every fault
#     mode, the control API, and the throttle: unthrottled >= FP_MIN_MBPS MB/s (200), throttled
#     rate within 10% of the set value over 20 MB (one connection, and two sharing it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init faultproxy_selftest
require_cmd htpasswd
require_faultproxy

phase "registries: plain and basic-auth, one 64 MiB blob each"
head -c $((64 << 20)) /dev/urandom >"$E2E_TMP/blob.tmp"
SHA=$(sha256sum "$E2E_TMP/blob.tmp" | cut -d' ' -f1)
mkdir -p "$E2E_TMP/blobs"
mv "$E2E_TMP/blob.tmp" "$E2E_TMP/blobs/$SHA"
registry_start "$E2E_TMP/reg"
PLAIN=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$PLAIN" fp "$E2E_TMP/blobs"
registry_start "$E2E_TMP/reg-auth" AUTH=1
AUTHREG=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$AUTHREG" fp "$E2E_TMP/blobs" -u testuser:testpassword

phase "faultproxy_test.py"
echo "  \$ FP_UPSTREAM=$PLAIN FP_AUTH_UPSTREAM=$AUTHREG python3 $TOOLS/faultproxy_test.py"
rc=0
FP_UPSTREAM=$PLAIN FP_AUTH_UPSTREAM=$AUTHREG FP_REPO=fp FP_BLOB="$E2E_TMP/blobs/$SHA" \
  FP_TMP="$E2E_TMP/logs" python3 "$TOOLS/faultproxy_test.py" 2>&1 | sed 's/^/    /' || rc=$?
[ "$rc" = 0 ] || fail "faultproxy_test.py failed (exit $rc)"
phase_end
