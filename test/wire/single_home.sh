#!/usr/bin/env bash
# The wire module is the only home of the CAF inspect overloads of ra's wire types: wire/
# and its public half include/ra/inspect.hpp; no other file defines one (two overloads of one type in one program break the one-definition rule,
# and for shared_bytes they would silently disagree on the format). Also: no two atoms
# share a text. Usage: single_home.sh ROOT
set -euo pipefail
root=$1
types='strong_u64<[A-Za-z_]*>|server_id|pid|shared_bytes|member|cluster_config|log_entry|snapshot_meta|command_error|append_entries_rpc|append_entries_reply|pre_vote_rpc|pre_vote_result|request_vote_rpc|request_vote_result|install_snapshot_rpc|install_snapshot_result|heartbeat_rpc|heartbeat_reply|timeout_now_rpc|command_result|named_query_result|members_result|applied_batch|node_server_request|node_server_result|wal_writer_stats|writer_range|rollover_info'
pattern="inspect\([A-Za-z_]+& *[A-Za-z_]+, *((ra|actors|storage)::)*(${types}) *&"
found=$(cd "$root" && grep -rnE --include='*.hpp' --include='*.cpp' "$pattern" . \
          | grep -vE '^\./(wire|build[^/]*|\.git)/' | grep -vE '^\./include/ra/inspect\.hpp:' || true)
if [[ -n "$found" ]]; then
  echo "inspect overloads of wire types outside wire/ and include/ra/inspect.hpp:"
  echo "$found"
  exit 1
fi
# A CAF 0.17 atom is its text: two atoms declared with the same text are one value.
dups=$(cd "$root" && grep -rhoE --include='*.hpp' --include='*.cpp' 'atom_constant<caf::atom\("[^"]+"\)>' \
         --exclude-dir='build*' --exclude-dir=test . | sort | uniq -d)
if [[ -n "$dups" ]]; then
  echo "atoms declared twice with the same text:"; echo "$dups"
  exit 1
fi
count=$(cd "$root" && grep -rcE --include='*.hpp' "$pattern" wire include/ra/inspect.hpp | awk -F: '{s += $2} END {print s}')
echo "the wire module holds all $count inspect overloads of ra's wire types"
(( count >= 28 ))
