#!/usr/bin/env bash
# Configures and builds ra-cpp into BUILD_DIR (default: build, or build-asan with --sanitize).
#   scripts/build.sh                      everything (libraries, tools, examples, tests)
#   scripts/build.sh --target ra-demo     only these targets and what they need (repeatable)
# Prints the build directory on the last line of stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=OFF
build_dir=${BUILD_DIR:-}
targets=()
while (($#)); do
  case "$1" in
    --sanitize) sanitize=ON; shift ;;
    --target) targets+=("$2"); shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[[ -n "$build_dir" ]] || { [[ $sanitize == ON ]] && build_dir="$root/build-asan" || build_dir="$root/build"; }
"$root/scripts/install-deps.sh" >&2
cmake -S "$root" -B "$build_dir" -DRA_SANITIZE=$sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
if ((${#targets[@]})); then
  cmake --build "$build_dir" -j "${JOBS:-2}" --target "${targets[@]}" >&2
else
  cmake --build "$build_dir" -j "${JOBS:-2}" >&2
fi
echo "$build_dir"
