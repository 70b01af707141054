#!/usr/bin/env bash
# The public headers (include/ra/) are a closed surface: each one compiles on its own with
# include/ as the only project include path, so none of them can reach the runtime's
# internals (system core, server actor, WAL writer, segment files, the file layer ...),
# which live outside include/. Also: none of the headers they pull in includes <mutex>.
# Usage: public_closure.sh ROOT CXX
set -euo pipefail
root=$1
cxx=$2
cd "$root"
status=0
mapfile -t public < <(find include/ra -name '*.hpp' | sort)
for h in "${public[@]}"; do
  rel=${h#include/}
  if ! out=$(echo "#include \"$rel\"" | "$cxx" -std=c++20 -Iinclude -fsyntax-only -x c++ - 2>&1); then
    echo "$rel does not compile with include/ alone:"; echo "$out" | head -5; status=1; continue
  fi
  closure=$(echo "#include \"$rel\"" | "$cxx" -std=c++20 -Iinclude -M -x c++ - | tr ' \\' '\n\n' | grep -vE '^(/|-:|$)' | sort -u)
  for f in $closure; do
    if grep -qE '^#include <mutex>' "$f"; then echo "$rel reaches $f, which includes <mutex>"; status=1; fi
  done
done
((status == 0)) && echo "the ${#public[@]} public headers compile with include/ alone and include no <mutex>"
exit $status
