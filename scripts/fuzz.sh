#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan) for the WAL, segment and snapshot readers
# and runs each for a while on fresh inputs: no crash, no hang, no leak.
#   scripts/fuzz.sh                 10 s per target (what the test suite runs)
#   scripts/fuzz.sh --seconds 600   longer runs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=10
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N]" >&2; exit 2 ;;
  esac
done
build="$root/build-fuzz"
targets=(wal_reader_fuzz segment_reader_fuzz snapshot_reader_fuzz)
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DRA_FUZZ=ON -DRA_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]}" >/dev/null
for t in "${targets[@]}"; do
  exe=$(find "$build" -type f -name "$t" -perm -u+x | head -n 1)
  corpus=$(mktemp -d)
  echo "fuzzing $t for ${seconds}s"
  "$exe" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    grep -E "^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true
  status=${PIPESTATUS[0]}
  rm -rf "$corpus"
  if ((status != 0)); then echo "$t failed (exit $status)"; exit 1; fi
done
echo "fuzzing: all targets ran clean"
