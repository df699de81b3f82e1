#!/usr/bin/env bash
# scripts/sanitize.sh [asan|tsan]...   (default: asan tsan)
#
# The sanitizer gate (docs/testing.md, "Sanitizer builds"): for each requested kind it
# configures and builds its directory, runs the unit tests, then nydusd end-to-end tests with
# that build's nydusd. Any sanitizer report fails the run, including one from a daemon that
# the e2e script itself did not notice: daemon reports go to files under $SAN_LOG_DIR
# (log_path), which must stay empty.
#   asan: $ASAN_DIR (build-asan), -DNYDUS_SANITIZE=address,undefined (LeakSanitizer
#         included); e2e.nydusd_(lifecycle|fixtures|corrupt|registry|api|registry_auth|crash_loop)
#         and e2e.secrets (CRASH_ROUNDS=6 kill/restart rounds instead of 20).
#         When $ASAN_DIR is the clang fuzz build of scripts/run-fuzz.sh (NYDUS_BUILD_FUZZ=ON in
#         its cache: every library already instrumented with ASan+UBSan, plus fuzzer coverage),
#         it is used as configured, so one compilation serves the fuzz targets and the tests
#         (.ci/run does this with ASAN_DIR=build-fuzz). Its cache must have NYDUS_BUILD_TESTS=ON
#         (run-fuzz.sh with FUZZ_BUILD_TESTS=1).
#   tsan: $TSAN_DIR (build-tsan), -DNYDUS_SANITIZE=thread, suppressions tests/tsan.supp;
#         e2e.nydusd_(stress|registry|api)   (stress runs 16 readers for STRESS_SECONDS=60 s)
# The e2e part needs root and /dev/fuse; without them the e2e tests report themselves skipped.
# Tools an e2e test needs but the kind's build did not build (see *_TARGETS) are taken from
# <repo>/build (tests/e2e/lib.sh, find_tool).
#
# Env: JOBS (default 2), SAN_LOG_DIR (default /var/tmp/nydus-sanitize), E2E=0 (unit tests only),
#      NYDUS_BUILD_BENCH (default OFF), and per kind (ASAN_ / TSAN_ prefix):
#        <KIND>_DIR         build directory
#        <KIND>_TARGETS     ninja targets to build (default: all)
#        <KIND>_UNIT_REGEX  ctest -R regex selecting the unit tests (default: every unit test);
#                           with *_TARGETS limited, select only tests of binaries it builds
#        <KIND>_UNIT_EXCLUDE  ctest -E regex leaving unit tests out
#        <KIND>_E2E_REGEX   ctest -R regex selecting the e2e tests (defaults above)
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

# secs SINCE: seconds elapsed since the `date +%s` value SINCE
secs() { echo $(( $(date +%s) - $1 )); }

run_kind() {
  local kind=$1 dir sanitize e2e_regex targets unit_regex unit_exclude t0
  case $kind in
    asan) dir=${ASAN_DIR:-build-asan} sanitize=address,undefined
          targets=${ASAN_TARGETS:-} unit_regex=${ASAN_UNIT_REGEX:-} unit_exclude=${ASAN_UNIT_EXCLUDE:-}
          e2e_regex=${ASAN_E2E_REGEX:-'e2e\.(nydusd_(lifecycle|fixtures|corrupt|registry|api|registry_auth|crash_loop)|secrets)$'} ;;
    tsan) dir=${TSAN_DIR:-build-tsan} sanitize=thread
          targets=${TSAN_TARGETS:-} unit_regex=${TSAN_UNIT_REGEX:-} unit_exclude=${TSAN_UNIT_EXCLUDE:-}
          e2e_regex=${TSAN_E2E_REGEX:-'e2e\.nydusd_(stress|registry|api)$'} ;;
    *) echo "unknown kind '$kind' (asan or tsan)" >&2; exit 2 ;;
  esac
  t0=$(date +%s)
  if [ "$kind" = asan ] && grep -qs '^NYDUS_BUILD_FUZZ:BOOL=ON' "$ROOT/$dir/CMakeCache.txt"; then
    grep -qs '^NYDUS_BUILD_TESTS:BOOL=ON' "$ROOT/$dir/CMakeCache.txt" || {
      echo "$dir is a fuzz build without tests: configure it with FUZZ_BUILD_TESTS=1 scripts/run-fuzz.sh" >&2
      exit 2
    }
    echo "==== $kind: build $dir (the clang fuzz build: ASan+UBSan in every library)"
  else
    echo "==== $kind: configure + build $dir"
    cmake -S "$ROOT" -B "$ROOT/$dir" -G Ninja -DNYDUS_SANITIZE=$sanitize \
      -DNYDUS_BUILD_BENCH="${NYDUS_BUILD_BENCH:-OFF}" >/dev/null
  fi
  # shellcheck disable=SC2086
  cmake --build "$ROOT/$dir" -j "$JOBS" ${targets:+--target $targets}
  echo "==== $kind: built in $(secs "$t0") s"

  # Sanitizer options. UBSan is built with -fno-sanitize-recover=all, so any report aborts.
  local common_asan="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1"
  local common_ubsan="print_stacktrace=1:halt_on_error=1"
  local common_tsan="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp"

  echo "==== $kind: unit tests${unit_regex:+ matching $unit_regex}"
  t0=$(date +%s)
  local select=(-LE e2e)
  [ -z "$unit_regex" ] || select+=(-R "$unit_regex")
  [ -z "$unit_exclude" ] || select+=(-E "$unit_exclude")
  if ! ASAN_OPTIONS=$common_asan UBSAN_OPTIONS=$common_ubsan TSAN_OPTIONS=$common_tsan \
      ctest --test-dir "$ROOT/$dir" "${select[@]}" -j "$JOBS" --output-on-failure; then
    failures+=("$kind: unit tests")
  fi
  echo "==== $kind: unit tests took $(secs "$t0") s"

  [ "${E2E:-1}" = 1 ] || return 0
  echo "==== $kind: e2e tests ($e2e_regex) with $dir/src/tools/nydusd"
  t0=$(date +%s)
  rm -rf "${SAN_LOG_DIR:?}/$kind"
  mkdir -p "$SAN_LOG_DIR/$kind"
  # log_path: reports of every sanitized process (nydusd, nydus-image, nydusctl, nydusify)
  # land in $SAN_LOG_DIR/<kind>/<tool>.<pid>, where check_logs finds them even when the script
  # that started the process only looked at its exit code or at a log it then deleted.
  # STRESS_SECONDS: e2e.nydusd_stress runs its 16 readers for 60 s here (20 s by default).
  # CRASH_ROUNDS: e2e.nydusd_crash_loop does 6 kill/restart/verify rounds here (20 in
  # scripts/test.sh), enough to run the recovery paths under the sanitizer.
  if ! NYDUSD="$ROOT/$dir/src/tools/nydusd" STRESS_SECONDS="${STRESS_SECONDS:-60}" \
      CRASH_ROUNDS="${CRASH_ROUNDS:-6}" \
      ASAN_OPTIONS="$common_asan:log_path=$SAN_LOG_DIR/asan/asan" \
      UBSAN_OPTIONS="$common_ubsan:log_path=$SAN_LOG_DIR/asan/ubsan" \
      TSAN_OPTIONS="$common_tsan:log_path=$SAN_LOG_DIR/tsan/tsan" \
      ctest --test-dir "$ROOT/$dir" -R "$e2e_regex" --output-on-failure; then
    failures+=("$kind: e2e tests")
  fi
  check_logs "$kind"
  echo "==== $kind: e2e tests took $(secs "$t0") s"
}

for kind in "${KINDS[@]}"; do run_kind "$kind"; done

if [ ${#failures[@]} -gt 0 ]; then
  printf 'sanitize.sh: FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "sanitize.sh: all sanitizer runs passed (${KINDS[*]})"
