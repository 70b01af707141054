#!/usr/bin/env bash
# The main job: installs missing packages, builds, and runs the demo (a 3-member
# cluster processing commands through a leader crash, in the deterministic simulator).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$("$root/scripts/build.sh" | tail -n 1)
exec "$build_dir/tools/ra-demo" "$@"
