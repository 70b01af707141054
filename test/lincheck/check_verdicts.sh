#!/usr/bin/env bash
# Runs ra-lincheck over every history listed in verdicts.tsv and compares the verdicts.
# usage: check_verdicts.sh RA_LINCHECK DATA_DIR
# A missing data set is a failure, not a skip: without it the checker goes unvalidated.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 RA_LINCHECK DATA_DIR" >&2
  exit 2
fi
lincheck=$1
data_dir=$2
verdicts="$data_dir/verdicts.tsv"

if [[ ! -d "$data_dir" ]]; then
  echo "FAIL: Jepsen data directory not found: $data_dir" >&2
  exit 1
fi
if [[ ! -f "$verdicts" ]]; then
  echo "FAIL: $verdicts not found" >&2
  exit 1
fi

expected_count=0
mismatches=0
while IFS=$'\t' read -r file expected; do
  file=${file%$'\r'}
  expected=${expected%$'\r'}
  [[ -z "$file" ]] && continue
  expected_count=$((expected_count + 1))
  # Exit status 0 = checked; any other status is reported through the printed line.
  actual_line=$("$lincheck" "$data_dir/$file" 2>&1) || true
  actual=${actual_line#"$data_dir/$file "}
  if [[ "$actual" != "$expected" ]]; then
    echo "MISMATCH $file: expected '$expected', got '$actual_line'" >&2
    mismatches=$((mismatches + 1))
  fi
done < "$verdicts"

# Every history in the directory must have a known verdict, or it would go unchecked.
log_count=$(find "$data_dir" -maxdepth 1 -name '*.log' | wc -l)
if [[ $expected_count -eq 0 ]]; then
  echo "FAIL: $verdicts lists no histories" >&2
  exit 1
fi
if [[ $log_count -ne $expected_count ]]; then
  echo "FAIL: $log_count .log files but $expected_count verdicts in $verdicts" >&2
  exit 1
fi
if [[ $mismatches -ne 0 ]]; then
  echo "FAIL: $mismatches of $expected_count verdicts differ" >&2
  exit 1
fi
echo "OK: all $expected_count verdicts match"
