#!/usr/bin/env bash
# The main job: installs missing packages, builds, then runs the quick start (a 3-member
# cluster on the real runtime: actors, WAL with fsync, Ra's API; 5 + 7 -> 12, leader
# stopped, new leader) and the simulator demo (the same through a leader crash and a
# restart, in the deterministic simulator). Arguments go to the simulator demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$("$root/scripts/build.sh" | tail -n 1)
echo "== quick start (real runtime) =="
"$build_dir/examples/ra-quick-start"
echo
echo "== simulator demo =="
exec "$build_dir/tools/ra-demo" "$@"
