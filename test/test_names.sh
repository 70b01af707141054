#!/usr/bin/env bash
# CTest splits a Catch test name at ';' (a CMake list separator): the halves match no test
# case, run nothing and "pass". Fails if a TEST_CASE name holds a ';'.
set -euo pipefail
root=$1
if grep -rn --include='*.cpp' 'TEST_CASE("[^"]*;' "$root/test"; then
  echo "test_names: the TEST_CASE names above contain ';': CTest would run nothing for them" >&2
  exit 1
fi
echo "test_names: ok"
