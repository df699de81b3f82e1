#!/usr/bin/env bash
# scripts/sanitize.sh [asan|tsan]...   (default: asan tsan)
#
# The sanitizer gate (docs/testing.md, "Sanitizer builds"): for each requested kind it
# configures and builds its directory, runs every unit test, then the nydusd end-to-end tests
# with that build's nydusd. Any sanitizer report fails the run, including one from a daemon
# that the e2e script itself did not notice: daemon reports go to files under $SAN_LOG_DIR
# (log_path), which must stay empty.
#   asan: build-asan, -DNYDUS_SANITIZE=address,undefined (LeakSanitizer included);
#         e2e.nydusd_(lifecycle|fixtures|corrupt|registry|api|registry_auth)
#   tsan: build-tsan, -DNYDUS_SANITIZE=thread, suppressions tests/tsan.supp;
#         e2e.nydusd_(stress|registry|api)   (stress runs 16 readers for 60 s: slow under TSan)
# The e2e part needs root and /dev/fuse; without them the e2e tests report themselves skipped.
# Env: JOBS (default 2), SAN_LOG_DIR (default /var/tmp/nydus-sanitize), E2E=0 (unit tests
# only), NYDUS_BUILD_BENCH (default OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
SAN_LOG_DIR=${SAN_LOG_DIR:-/var/tmp/nydus-sanitize}
KINDS=("$@")
[ ${#KINDS[@]} -gt 0 ] || KINDS=(asan tsan)

failures=()

# check_logs KIND: fails KIND when a sanitizer wrote a report file.
check_logs() {
  local kind=$1 dir=$SAN_LOG_DIR/$1 f found=0
  for f in "$dir"/*; do
    [ -s "$f" ] || continue
    found=1
    echo "==== sanitizer report $f" >&2
    head -n 60 "$f" >&2
  done
  if [ $found = 1 ]; then failures+=("$kind: sanitizer reports in $dir"); fi
}

run_kind() {
  local kind=$1 dir sanitize e2e_regex
  case $kind in
    asan) dir=build-asan sanitize=address,undefined
          e2e_regex='e2e.nydusd_(lifecycle|fixtures|corrupt|registry|api|registry_auth)' ;;
    tsan) dir=build-tsan sanitize=thread
          e2e_regex='e2e.nydusd_(stress|registry|api)' ;;
    *) echo "unknown kind '$kind' (asan or tsan)" >&2; exit 2 ;;
  esac
  echo "==== $kind: configure + build $dir"
  cmake -S "$ROOT" -B "$ROOT/$dir" -G Ninja -DNYDUS_SANITIZE=$sanitize \
    -DNYDUS_BUILD_BENCH="${NYDUS_BUILD_BENCH:-OFF}" >/dev/null
  cmake --build "$ROOT/$dir" -j "$JOBS"

  # Sanitizer options. UBSan is built with -fno-sanitize-recover=all, so any report aborts.
  local common_asan="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1"
  local common_ubsan="print_stacktrace=1:halt_on_error=1"
  local common_tsan="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp"

  echo "==== $kind: unit tests"
  if ! ASAN_OPTIONS=$common_asan UBSAN_OPTIONS=$common_ubsan TSAN_OPTIONS=$common_tsan \
      ctest --test-dir "$ROOT/$dir" -LE e2e -j "$JOBS" --output-on-failure; then
    failures+=("$kind: unit tests")
  fi

  [ "${E2E:-1}" = 1 ] || return 0
  echo "==== $kind: nydusd e2e tests ($e2e_regex) with $dir/src/tools/nydusd"
  rm -rf "${SAN_LOG_DIR:?}/$kind"
  mkdir -p "$SAN_LOG_DIR/$kind"
  # log_path: reports of every sanitized process (nydusd, nydus-image, nydusctl) land in
  # $SAN_LOG_DIR/<kind>/<tool>.<pid>, where check_logs finds them even when the script that
  # started the process only looked at its exit code or at a log it then deleted.
  # STRESS_SECONDS: e2e.nydusd_stress runs its 16 readers for 60 s here (20 s by default).
  if ! NYDUSD="$ROOT/$dir/src/tools/nydusd" STRESS_SECONDS="${STRESS_SECONDS:-60}" \
      ASAN_OPTIONS="$common_asan:log_path=$SAN_LOG_DIR/asan/asan" \
      UBSAN_OPTIONS="$common_ubsan:log_path=$SAN_LOG_DIR/asan/ubsan" \
      TSAN_OPTIONS="$common_tsan:log_path=$SAN_LOG_DIR/tsan/tsan" \
      ctest --test-dir "$ROOT/$dir" -R "$e2e_regex" --output-on-failure; then
    failures+=("$kind: e2e tests")
  fi
  check_logs "$kind"
}

for kind in "${KINDS[@]}"; do run_kind "$kind"; done

if [ ${#failures[@]} -gt 0 ]; then
  printf 'sanitize.sh: FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "sanitize.sh: all sanitizer runs passed (${KINDS[*]})"
