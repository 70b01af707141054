#!/usr/bin/env bash
# Every program of tools/CMakeLists.txt prints "NAME VERSION" for --version and exits 0,
# VERSION being the CMake project version.
# Usage: tool_versions.sh SOURCE_DIR BUILD_DIR VERSION
set -euo pipefail
src=$1 build=$2 version=$3
mapfile -t tools < <(grep -oE '^add_executable\(([A-Za-z0-9_-]+)' "$src/tools/CMakeLists.txt" | sed 's/add_executable(//')
((${#tools[@]} >= 7)) || { echo "found only ${#tools[@]} programs in tools/CMakeLists.txt: ${tools[*]}"; exit 1; }
status=0
for t in "${tools[@]}"; do
  out=$("$build/tools/$t" --version 2>&1) || { echo "$t --version failed: $out"; status=1; continue; }
  if [[ $out != "$t $version" ]]; then echo "$t --version printed '$out', expected '$t $version'"; status=1; fi
done
((status == 0)) && echo "${#tools[@]} programs print their version $version: ${tools[*]}"
exit $status
