#!/usr/bin/env bash
# The layout's rules (docs/layout.md), checked on the sources:
#  1. the pure core (ra_core: libra/*.cpp) pulls in no CAF header;
#  2. nothing outside test/ includes a file from test/ (tools use sim/ and lincheck/);
#  3. every project include is written from the root ("libra/messages.hpp"), or from
#     include/ for public headers ("ra/system.hpp"), one way only.
# Usage: layout_rules.sh ROOT CXX
set -euo pipefail
root=$1
cxx=$2
cd "$root"
status=0
for f in libra/*.cpp; do
  if "$cxx" -std=c++20 -I. -Iinclude -M "$f" | tr ' \\' '\n\n' | grep -q '/caf/'; then
    echo "ra_core includes CAF: $f"; status=1
  fi
done
dirs=$(ls -d */ | tr -d / | grep -vE '^(build.*|test|docs|scripts|cmake)$')
if hits=$(grep -rnE '#include "test/' $dirs --include='*.hpp' --include='*.cpp'); then
  echo "outside test/, includes of test/:"; echo "$hits"; status=1
fi
if hits=$(grep -rnE '#include "[^/"]+"' $dirs test --include='*.hpp' --include='*.cpp'); then
  echo "includes not written from the root:"; echo "$hits"; status=1
fi
((status == 0)) && echo "layout rules hold"
exit $status
