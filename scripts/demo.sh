#!/usr/bin/env bash
# The main job: installs missing packages, builds the two demo programs (only them and
# the libraries they use, not the test suite), then runs the quick start (a 3-member
# cluster on the real runtime: actors, WAL with fsync, Ra's API; 5 + 7 -> 12, leader
# stopped, new leader) and the simulator demo (the same through a leader crash and a
# restart, in the deterministic simulator). Arguments go to the simulator demo.
# It builds in build/, like scripts/test.sh, which later builds the rest from there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$("$root/scripts/build.sh" --target ra-quick-start --target ra-demo | tail -n 1)
echo "== quick start (real runtime) =="
"$build_dir/examples/ra-quick-start"
echo
echo "== simulator demo =="
exec "$build_dir/tools/ra-demo" "$@"
