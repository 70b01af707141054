#!/usr/bin/env bash
# Installs missing packages, builds, and runs the whole test suite with ctest.
#   scripts/test.sh              default build (build/)
#   scripts/test.sh --sanitize   ASan + UBSan build (build-asan/)
# Longer simulation runs: RA_SIM_SEEDS=1..10000 scripts/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$("$root/scripts/build.sh" "$@" | tail -n 1)
cd "$build_dir"
ctest --output-on-failure -j "${JOBS:-2}"
