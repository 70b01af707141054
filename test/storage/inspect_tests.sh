#!/usr/bin/env bash
# End-to-end tests of ra-inspect on a sample data directory written by the real storage
# writers (make-sample-data): listing, --json, --verify, corruption in the middle of a
# WAL file, torn tails, and --repair with its backup and its refusal to drop entries that
# are or may be committed.
#
# Usage: inspect_tests.sh <ra-inspect> <make-sample-data> <workdir>
# The workdir is emptied first and left behind for inspection when a check fails.

set -u

if [ $# -ne 3 ]; then
  echo "usage: $0 <ra-inspect> <make-sample-data> <workdir>" >&2
  exit 2
fi
INSPECT=$1
MAKE_SAMPLE=$2
WORK=$3
DATA=$WORK/data
OUT=$WORK/out.txt
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run EXPECTED_STATUS ARGS...: runs ra-inspect with output in $OUT, checks the status.
run() {
  local expected=$1
  shift
  "$INSPECT" "$@" >"$OUT" 2>&1
  local status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "ra-inspect $* exited $status, expected $expected; output:"
    sed 's/^/    /' "$OUT" >&2
  fi
}

# expect_line TEXT: $OUT has a line containing TEXT (fixed string).
expect_line() {
  grep -qF -- "$1" "$OUT" || {
    fail "expected a line containing '$1' in:"
    sed 's/^/    /' "$OUT" >&2
  }
}

# flip_byte FILE OFFSET: inverts every bit of one byte, so it always changes.
flip_byte() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

rm -rf "$WORK"
mkdir -p "$WORK"
"$MAKE_SAMPLE" "$DATA" >/dev/null || { echo "FAIL: make-sample-data failed" >&2; exit 1; }

WALS=("$DATA"/wal/*.wal)
OLDEST_WAL=${WALS[0]}
NEWEST_WAL=${WALS[${#WALS[@]} - 1]}
[ "${#WALS[@]}" -ge 2 ] || fail "expected several WAL files, got ${#WALS[@]}"
SEGMENT=$(ls "$DATA"/s1/segments/*.segment | head -n 1)
SNAPSHOT=$(ls "$DATA"/s1/snapshots/*.snapshot | head -n 1)

# -- listing every kind of file ---------------------------------------------------------
run 0 "$OLDEST_WAL"
expect_line "$OLDEST_WAL: kind=wal version=2 size="
expect_line "  offset=76 index=1 term=1 length=242 checksum=ok writer=s1 truncate=no"
expect_line "$OLDEST_WAL: OK"

run 0 "$SEGMENT"
expect_line "kind=segment version=1"
expect_line "slots=64 data_checksums=yes"
expect_line "  index=1 term=1 length=209 checksum=ok"

run 0 "$SNAPSHOT"
expect_line "kind=snapshot version=1"
expect_line "index=150 term=2 members=s1@node1:voter,s2@node1:voter,s3@node1:voter machine_version=1"
expect_line "index=150 term=2 length=1000 checksum=ok"

run 0 "$DATA/meta/meta.log"
expect_line "kind=meta version=1"
expect_line "uid=s3 term=3 voted_for=s1@node1 last_applied=103 removed=no"

run 0 --json "$OLDEST_WAL"
expect_line '{"event":"file","path":"'"$OLDEST_WAL"'","kind":"wal","version":2,'
expect_line '{"event":"record","offset":76,"index":1,"term":1,"length":242,"checksum":"ok","writer":"s1","truncate":false}'
expect_line '"event":"verdict"'
if grep -qv '^{.*}$' "$OUT"; then fail "--json printed a line that is not a JSON object"; fi

run 0 --verify "$DATA"
# LOCK (the WAL directory lock, io/directory_lock.hpp) and the servers' config files are
# not storage files: skipped.
file_count=$(find "$DATA" -type f ! -name LOCK ! -name config | wc -l)
expect_line "verified $file_count files: $file_count OK, 0 bad"

# -- a corrupt byte in the middle of the newest WAL file --------------------------------
size=$(stat -c %s "$NEWEST_WAL")
middle=$((size / 2))
# The record holding that byte, from the listing: its start is where the damage is reported.
"$INSPECT" "$NEWEST_WAL" >"$OUT"
bad_offset=$(awk -v pos="$middle" '$1 ~ /^offset=/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["offset"] <= pos && pos < f["offset"] + f["length"]) print f["offset"] }' "$OUT")
[ -n "$bad_offset" ] || fail "no record of $NEWEST_WAL holds byte $middle"
flip_byte "$NEWEST_WAL" "$middle"

run 1 --verify "$DATA"
expect_line "$NEWEST_WAL: bad record at offset $bad_offset: "
expect_line "$OLDEST_WAL: OK"
run 1 "$NEWEST_WAL"
expect_line "offset=$bad_offset"
expect_line "checksum=BAD"

# expect_unchanged FILE COPY: a refused repair left FILE as it was and wrote no backup.
expect_unchanged() {
  cmp -s "$1" "$2" || fail "a refused repair changed $1"
  [ ! -e "$1.bak" ] || fail "a refused repair wrote $1.bak"
}

# The three writers are the members of one cluster, all on this node, and each wrote the
# dropped indexes: a majority holds them, so they may be committed, and no other node
# keeps a copy. Repair refuses and changes nothing.
cp "$NEWEST_WAL" "$WORK/damaged.wal"
run 1 --repair "$NEWEST_WAL"
expect_line "refusing to repair: truncating at offset $bad_offset could lose committed entries"
expect_line "may be committed: "
expect_line "no other node keeps a copy (every member is on node1)"
expect_line 'docs/ra-inspect.md, "Recovering from peers"'
expect_unchanged "$NEWEST_WAL" "$WORK/damaged.wal"

# Damage in the oldest WAL file drops entries at or below the servers' last_applied.
flip_byte "$OLDEST_WAL" 176  # in the body of the first record (offset 76, 242 bytes)
cp "$OLDEST_WAL" "$WORK/damaged.wal"
run 1 --repair "$OLDEST_WAL"
expect_line "refusing to repair: truncating at offset 76 could lose committed entries"
expect_line "s1 1-90: committed: at or below last_applied 103 of s3"
expect_unchanged "$OLDEST_WAL" "$WORK/damaged.wal"
flip_byte "$OLDEST_WAL" 176

run 0 --repair --allow-data-loss "$NEWEST_WAL"
expect_line "truncated at offset $bad_offset"
expect_line "lost (--allow-data-loss), committed or possibly committed entries included:"
expect_line "may be committed: "
[ -f "$NEWEST_WAL.bak" ] || fail "--repair left no $NEWEST_WAL.bak"
cmp -s -n "$bad_offset" "$NEWEST_WAL" "$NEWEST_WAL.bak" || fail "the repaired file differs before the cut"
[ "$(stat -c %s "$NEWEST_WAL")" -eq "$bad_offset" ] || fail "the repaired file is not $bad_offset bytes"
[ "$(stat -c %s "$NEWEST_WAL.bak")" -eq "$size" ] || fail "the backup is not the whole original"
run 0 --verify "$DATA"
expect_line "$NEWEST_WAL: OK"
expect_line "0 bad"

# A second repair never overwrites the first backup unless forced.
flip_byte "$NEWEST_WAL" $((bad_offset / 2))
run 1 --repair --allow-data-loss "$NEWEST_WAL"
expect_line "exists"
run 0 --repair --allow-data-loss --force "$NEWEST_WAL"
run 0 --verify "$DATA"

# -- torn tails: harmless in the newest WAL file, damage in an older one ------------------
printf 'torn' >>"$NEWEST_WAL"
run 0 --verify "$DATA"
expect_line "$NEWEST_WAL: OK (torn tail at offset"
# A torn tail of the newest file was never synced, so never acknowledged: always cut.
run 0 --repair --force "$NEWEST_WAL"
expect_line "(torn tail)"
printf 'torn' >>"$OLDEST_WAL"
run 1 --verify "$DATA"
expect_line "$OLDEST_WAL: bad record at offset"

# -- other kinds: damage is found; repair is refused where truncating cannot help -------
flip_byte "$SNAPSHOT" $(($(stat -c %s "$SNAPSHOT") - 10))
run 1 "$SNAPSHOT"
expect_line "snapshot checksum mismatch"
run 2 --repair "$SNAPSHOT"
flip_byte "$DATA/meta/meta.log" 20
run 1 --verify "$DATA"
expect_line "$DATA/meta/meta.log: bad record at offset 8: checksum mismatch"

run 2 --verify "$WORK/no-such-dir"
run 2 --allow-data-loss "$OLDEST_WAL"

# -- a leader's entries no other member has: not committed, repair may drop them -------
AHEAD=$WORK/ahead
"$MAKE_SAMPLE" --leader-ahead "$AHEAD" >/dev/null || fail "make-sample-data --leader-ahead failed"
AHEAD_WALS=("$AHEAD"/wal/*.wal)
AHEAD_WAL=${AHEAD_WALS[${#AHEAD_WALS[@]} - 1]}
"$INSPECT" "$AHEAD_WAL" >"$OUT"
# s1's first entry above the highest index s2 wrote: the first the leader wrote alone.
followers_last=$(awk '/writer=s2/ { split($2, kv, "="); last = kv[2] } END { print last }' "$OUT")
leader_offset=$(awk -v after="$followers_last" '/writer=s1/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["index"] > after) { print f["offset"]; exit } }' "$OUT")
if [ -z "$followers_last" ] || [ -z "$leader_offset" ]; then
  fail "no entry of s1 above s2's in $AHEAD_WAL"
else
  leader_first=$((followers_last + 1))
  flip_byte "$AHEAD_WAL" $((leader_offset + 40))  # in the body: the intact header names the entry
  cp "$AHEAD_WAL" "$WORK/damaged.wal"

  # Without the meta store (here: moved away) repair refuses.
  mv "$AHEAD/meta" "$AHEAD/meta.away"
  run 1 --repair "$AHEAD_WAL"
  expect_line "meta store: $AHEAD/meta/meta.log does not exist"
  expect_unchanged "$AHEAD_WAL" "$WORK/damaged.wal"
  mv "$AHEAD/meta.away" "$AHEAD/meta"

  # A damaged header hides which entry the record held: it may be a committed one.
  flip_byte "$AHEAD_WAL" $((leader_offset + 5))
  cp "$AHEAD_WAL" "$WORK/header-damaged.wal"
  run 1 --repair "$AHEAD_WAL"
  expect_line "bytes $leader_offset-"
  expect_line "no intact record header (damaged)"
  expect_unchanged "$AHEAD_WAL" "$WORK/header-damaged.wal"
  flip_byte "$AHEAD_WAL" $((leader_offset + 5))

  run 0 --repair "$AHEAD_WAL"
  expect_line "truncated at offset $leader_offset"
  expect_line "dropped entries, none of them committed:"
  expect_line "s1 $leader_first-$((leader_first + 19)): not committed: held by at most 1 of the 3 voters of cluster sample"
  run 0 --verify "$AHEAD"
fi

if [ "$failures" -ne 0 ]; then
  echo "inspect_tests: $failures check(s) failed (work dir: $WORK)" >&2
  exit 1
fi
rm -rf "$WORK"
echo "inspect_tests: all checks passed"
