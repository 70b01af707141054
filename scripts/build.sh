#!/usr/bin/env bash
# Configures and builds ra-cpp into BUILD_DIR (default: build, or build-asan with --sanitize).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=OFF
build_dir=${BUILD_DIR:-}
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=ON ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done
[[ -n "$build_dir" ]] || { [[ $sanitize == ON ]] && build_dir="$root/build-asan" || build_dir="$root/build"; }
"$root/scripts/install-deps.sh" >&2
cmake -S "$root" -B "$build_dir" -DRA_SANITIZE=$sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build "$build_dir" -j "${JOBS:-2}" >&2
echo "$build_dir"
