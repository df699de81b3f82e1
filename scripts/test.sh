#!/usr/bin/env bash
# scripts/test.sh [ctest options...]
#
# The project's test command (README.md, .ci/run): configures the build directory if it is
# not configured yet, builds everything, then runs every registered test (unit tests and
# tests/e2e) with CTest. Run as root for the mount/e2e tests; without root, loop devices or
# kernel EROFS they are reported as skipped, not failed.
#   sudo scripts/test.sh                 all tests
#   sudo scripts/test.sh -L e2e          only end-to-end tests (-LE network: offline ones)
# Env: BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo), TEST_JOBS (default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
fi
cmake --build "$BUILD_DIR"
exec ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${TEST_JOBS:-$(nproc)}" "$@"
