#!/usr/bin/env bash
# The public entry points (actors/system.hpp, actors/api.hpp, actors/async_api.hpp) do not
# reach the runtime's internals: their include closure holds none of the headers below,
# and none of our own headers in it includes <mutex>.
# Usage: public_closure.sh ROOT CXX
set -euo pipefail
root=$1
cxx=$2
cd "$root"
public=(actors/system.hpp actors/api.hpp actors/async_api.hpp)
internal=(actors/system_core.hpp actors/server_actor.hpp actors/server_data.hpp actors/node_link.hpp
  wal/config_store.hpp wal/meta_store.hpp wal/wal_actor.hpp segments/segment_writer_actor.hpp
  wal/wal_writer.hpp wal/wal_reader.hpp segments/segment_file.hpp io/file.hpp)
status=0
for h in "${public[@]}"; do
  closure=$(echo "#include \"$h\"" | "$cxx" -std=c++20 -I. -M -x c++ - | tr ' \\' '\n\n' | grep -vE '^(/|-:|$)' | sort -u)
  for i in "${internal[@]}"; do
    if grep -qxF "$i" <<<"$closure"; then echo "$h reaches the internal header $i"; status=1; fi
  done
  for f in $closure; do
    if grep -qE '^#include <mutex>' "$f"; then echo "$h reaches $f, which includes <mutex>"; status=1; fi
  done
done
((status == 0)) && echo "public headers reach no internals"
exit $status
