#!/usr/bin/env bash
# The command-line contract of every tool, as a new user meets it: an unknown option and
# a bad value are refused with the tool's documented usage exit status and a message that
# names the culprit; --help answers with exit status 0; ra-sim reports progress on stderr
# and ends stdout with its verdict.
#
# Usage: cli_tests.sh <tools build dir> <workdir>
# (the tools dir holds ra-sim, ra-demo, ra-lincheck, ra-inspect, ra-node, ra-ctl, ra-bench,
# ra-nemesis)

set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 <tools build dir> <workdir>" >&2
  exit 2
fi
TOOLS=$1
WORK=$2
OUT=$WORK/out.txt
ERR=$WORK/err.txt
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run EXPECTED_STATUS TOOL ARGS...: runs the tool (bounded: a refused command must not
# start a run), stdout in $OUT and stderr in $ERR, and checks the exit status.
run() {
  local expected=$1 tool=$2
  shift 2
  timeout 60 "$TOOLS/$tool" "$@" >"$OUT" 2>"$ERR"
  local status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "$tool $* exited $status, expected $expected; output:"
    sed 's/^/    /' "$OUT" "$ERR" >&2
  fi
}

# expect TEXT: stdout or stderr of the last run contains TEXT (fixed string).
expect() {
  cat "$OUT" "$ERR" | grep -qF -- "$1" || {
    fail "expected '$1' in the output of the last run:"
    sed 's/^/    /' "$OUT" "$ERR" >&2
  }
}

rm -rf "$WORK"
mkdir -p "$WORK"

# Every tool: --help (0, a usage text) and an unknown option (its usage status, named),
# and with its required arguments given, so that the unknown option is what is reported.
for tool in ra-sim ra-demo ra-lincheck ra-inspect ra-node ra-ctl ra-bench ra-nemesis; do
  run 0 "$tool" --help
  expect "$tool"
done
run 2 ra-sim --bogus
expect "--bogus"
run 2 ra-demo --bogus
expect "--bogus"
run 1 ra-lincheck --bogus history.log
expect "--bogus"
run 2 ra-inspect --bogus
expect "--bogus"
run 2 ra-node "$WORK/node.json" --bogus
expect "--bogus"
run 2 ra-node --bogus
expect "config is required"
run 2 ra-ctl members s1@n1 --bogus
expect "--bogus"
run 2 ra-ctl --bogus
expect "--bogus"
run 2 ra-ctl bogus
expect "bogus"
run 2 ra-ctl
expect "a command is required"
run 2 ra-bench a1 --bogus
expect "--bogus"
run 2 ra-bench bogus
expect "bogus"
run 2 ra-bench
expect "a benchmark is required"

# Bad values: negative, zero, absurd, not a number, not one of the choices.
run 2 ra-sim --steps -5
expect "--steps"
run 2 ra-sim --steps 0
expect "--steps"
run 2 ra-sim --steps 99999999999
expect "--steps"
run 2 ra-sim --seeds -3
expect "bad --seeds"
run 2 ra-sim --seeds 1..999999999999
expect "bad --seeds"
run 2 ra-sim --jobs 0
expect "--jobs"
run 2 ra-sim --progress -1
expect "--progress"
run 2 ra-demo --verbose=maybe
expect "--verbose"
run 1 ra-lincheck --timeout -5 history.log
expect "--timeout"
run 1 ra-lincheck --timeout abc history.log
expect "--timeout"
run 2 ra-inspect --verify
expect "--verify"
run 2 ra-node "$WORK/missing.json"
expect "missing.json"
run 2 ra-node "$WORK/missing.json" --port-file
expect "--port-file"
run 2 ra-ctl --timeout -5 members s1@n1
expect "--timeout"
run 2 ra-ctl --connect-timeout 0 members s1@n1
expect "--connect-timeout"
run 2 ra-ctl kv get s1@n1 k --kind bogus
expect "--kind"
run 2 ra-ctl fifo checkout s1@n1 --credit 0
expect "--credit"
run 2 ra-bench a1 --commands -5
expect "--commands"
run 2 ra-bench a1 --log-level loud
expect "--log-level"
run 2 ra-bench b --clusters 10,-1
expect "--clusters"
run 2 ra-bench dist --rounds 0
expect "--rounds"
run 2 ra-bench storage --window 0
expect "--window"
run 2 ra-bench storage --seconds 0
expect "--seconds"
run 2 ra-nemesis --bogus
expect "--bogus"
run 2 ra-nemesis --runs 0
expect "--runs"
run 2 ra-nemesis --nodes 4
expect "--nodes"
run 2 ra-nemesis --faults kill,meteor
expect "meteor"
run 2 ra-nemesis --ra-node /nonexistent/ra-node
expect "/nonexistent/ra-node"

# ra-sim: progress on stderr while it runs, the verdict as the last line of stdout.
# --progress 0 prints a line after every seed (a period would depend on the machine's speed).
run 0 ra-sim --seeds 1..3 --steps 2000 --progress 0
expect "3/3 seeds done, 0 failed"
if ! grep -q "seeds done" "$ERR" || grep -q "seeds done" "$OUT"; then
  fail "ra-sim progress lines belong on stderr only"
fi
lines=$(grep -c "seeds done" "$ERR")
[ "$lines" -eq 3 ] || fail "ra-sim --progress 0 printed $lines progress lines for 3 seeds, not 3"
last=$(tail -n 1 "$OUT")
[ "$last" = "seeds: 3 passed, 0 failed" ] || fail "ra-sim's last line is '$last', not its verdict"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed (work dir: $WORK)" >&2
  exit 1
fi
echo "all tool command-line checks passed"
