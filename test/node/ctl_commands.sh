#!/usr/bin/env bash
# ra-ctl's commands and exit codes against three ra-node processes on 127.0.0.1 (plain
# TCP, ports chosen by the OS), and ra-node's own exit codes: kv put / get / cas / size /
# delete, fifo enqueue / ready / checkout (a consumer process killed: down, re-queued), add-member / remove-member --delete, transfer-leadership,
# members / overview / metrics, delete-cluster, start-cluster --restart after a clean stop
# of every node; bad usage (2), a failed operation (1), a cas that did not swap (4), no
# node reachable (3); ra-node: bad config (2), SIGTERM and SIGINT (0). Usage: ctl_commands.sh BUILD_DIR
set -euo pipefail
build=$1
RA_NODE=$build/tools/ra-node
RA_CTL=$build/tools/ra-ctl
command -v jq >/dev/null || { echo "needs jq (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/ra-ctl-test.XXXXXX)
declare -A pid port
cleanup() {
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
  for n in "${!pid[@]}"; do wait "${pid[$n]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for n in n1 n2 n3; do [[ -f $work/$n.log ]] && tail -3 "$work/$n.log" >&2; done
  [[ -f $work/ctl.log ]] && tail -5 "$work/ctl.log" >&2
  exit 1
}

node_config() {  # NAME PORT PEERS
  cat >"$work/$1.json" <<EOF
{"name": "$1", "data_dir": "$work/$1", "listen_port": $2, "peers": {$3}, "log_level": "info",
 "node_ping_interval_ms": 200, "node_down_after_ms": 1000,
 "server": {"broadcast_time_ms": 20, "detector_poll_ms": 200, "tick_timeout_ms": 100}}
EOF
}
start_node() {  # NAME
  rm -f "$work/$1.port"
  "$RA_NODE" "$work/$1.json" --port-file "$work/$1.port" 2>>"$work/$1.log" &
  pid[$1]=$!
  for _ in $(seq 100); do [[ -s $work/$1.port ]] && break; sleep 0.05; done
  [[ -s $work/$1.port ]] || fail "ra-node $1 did not start"
  port[$1]=$(cat "$work/$1.port")
}
stop_node() {  # NAME SIGNAL: expect exit 0
  kill "-$2" "${pid[$1]}"
  local rc=0
  wait "${pid[$1]}" || rc=$?
  unset "pid[$1]"
  ((rc == 0)) || fail "ra-node $1 exited $rc after SIG$2"
  grep -q "SIG$2: stopping" "$work/$1.log" || fail "ra-node $1 did not log its stop by SIG$2"
}
# ctl EXPECTED_RC ARGS...: runs ra-ctl --json; the answer is in $out.
ctl() {
  local want=$1; shift
  local rc=0
  out=$("$RA_CTL" --peer "n1=127.0.0.1:${port[n1]}" --peer "n2=127.0.0.1:${port[n2]}" \
        --peer "n3=127.0.0.1:${port[n3]}" --connect-timeout "${CONNECT:-2000}" --json "$@" 2>>"$work/ctl.log") || rc=$?
  ((rc == want)) || fail "ra-ctl $*: exit $rc, expected $want (answer: $out)"
}
field() { jq -r "$1" <<<"$out"; }
check() { [[ $(field "$1") == "$2" ]] || fail "$3: $1 is $(field "$1"), expected $2 (answer: $out)"; }

# ra-node refuses a bad config with exit 2 and names the key.
echo '{"name": "n1", "data_dir": "x", "listen_prot": 1}' >"$work/bad.json"
rc=0
"$RA_NODE" "$work/bad.json" 2>"$work/bad.err" || rc=$?
((rc == 2)) || fail "ra-node with a bad config: exit $rc"
grep -q "unknown key listen_prot" "$work/bad.err" || fail "ra-node's message does not name the key"

node_config n1 0 ""
start_node n1
node_config n2 0 "\"n1\": \"127.0.0.1:${port[n1]}\""
start_node n2
node_config n3 0 "\"n1\": \"127.0.0.1:${port[n1]}\", \"n2\": \"127.0.0.1:${port[n2]}\""
start_node n3

ctl 2 members not-a-server-id                 # usage
ctl 1 start-cluster x no-such-machine a@n1 b@n2 c@n3
check .error cluster_not_formed "unknown machine"

# kv
ctl 0 start-cluster kv kv k1@n1 k2@n2 k3@n3
ctl 0 kv put k1@n1 colour blue
check .previous null "first put"
ctl 0 kv get k2@n2 colour
check .value blue "get"
ctl 0 kv cas k3@n3 colour blue red
check .swapped true "cas that swaps"
ctl 4 kv cas k3@n3 colour blue green
check .current red "cas that does not swap"
ctl 0 kv cas --absent k1@n1 shape x round
check .swapped true "cas on an absent key"
ctl 0 kv size k2@n2 --kind leader
check .value 2 "size"
ctl 0 kv delete k1@n1 shape
check .removed round "delete"
ctl 0 kv get k1@n1 shape --kind local
check .value null "deleted key"

# membership, leadership, observation
ctl 0 add-member k1@n1 k4@n2
ctl 0 members k2@n2
check '.members | length' 4 "members after add"
ctl 0 kv get k4@n2 colour --kind leader
check .value red "the new member's cluster"
ctl 0 leader k1@n1
leader=$(field .leader)
target=k1@n1; [[ $leader == k1@n1 ]] && target=k2@n2
ctl 0 transfer-leadership k3@n3 "$target"
for _ in $(seq 50); do ctl 0 leader k3@n3; [[ $(field .leader) == "$target" ]] && break; sleep 0.1; done
check .leader "$target" "leader after transfer"
ctl 0 remove-member --delete k1@n1 k4@n2
ctl 0 members k3@n3
check '.members | length' 3 "members after remove"
ctl 0 overview k1@n1
check '.members["k2@n2"].cluster_name' kv "overview"
check '.members["k2@n2"].machine_name' kv "overview's machine name"
check '.members["k2@n2"].machine.keys' 1 "the kv machine's own overview"
ctl 0 metrics k1@n1
[[ $(field '.metrics["k3@n3"].last_applied') -ge 5 ]] || fail "metrics: $out"

# fifo
ctl 0 start-cluster q fifo f1@n1 f2@n2 f3@n3
ctl 0 fifo enqueue f2@n2 hello
ctl 0 fifo enqueue f3@n3 world
check .id 2 "second enqueue"
ctl 0 fifo ready f1@n1
check .value 2 "ready"
# fifo checkout: a consumer in another process (this ra-ctl's node) gets the machine's
# send_msg deliveries; its process killed with kill -9, the machine's monitor reports it
# down and its unsettled messages go back to the queue.
"$RA_CTL" --peer "n1=127.0.0.1:${port[n1]}" --peer "n2=127.0.0.1:${port[n2]}" --peer "n3=127.0.0.1:${port[n3]}" \
  --json fifo checkout f2@n2 --credit 2 >"$work/consumer.out" 2>>"$work/ctl.log" &
consumer=$!
delivered() { grep -c '"delivered"' "$work/consumer.out" 2>/dev/null || true; }
for _ in $(seq 200); do (($(delivered) >= 2)) && break; sleep 0.05; done
(($(delivered) == 2)) || fail "fifo checkout: $(delivered) deliveries, expected 2 ($(cat "$work/consumer.out"))"
ctl 0 fifo ready f1@n1 --kind leader
check .value 0 "ready while a consumer holds both"
kill -9 "$consumer"
wait "$consumer" 2>/dev/null || true
for _ in $(seq 50); do
  ctl 0 fifo ready f1@n1 --kind leader
  [[ $(field .value) == 2 ]] && break
  sleep 0.1
done
check .value 2 "ready after the consumer's process was killed"

# delete-cluster: gone from every node
ctl 0 delete-cluster k1@n1 k2@n2 k3@n3
ctl 1 kv get k2@n2 colour
check .error noproc "a deleted member"

# every node stopped cleanly (SIGTERM / SIGINT, exit 0) and started again: start-cluster --restart
# restarts nothing new (the nodes restarted their servers themselves) and the data is there
ctl 0 start-cluster c counter c1@n1 c2@n2 c3@n3
ctl 0 counter add c1@n1 12
stop_node n1 TERM
stop_node n2 INT
stop_node n3 TERM
CONNECT=300 ctl 3 members c1@n1
for n in n1 n2 n3; do node_config "$n" "${port[$n]}" "$(jq -c .peers "$work/$n.json" | sed 's/^{//; s/}$//')"; start_node "$n"; done
ctl 0 start-cluster --restart c counter c1@n1 c2@n2 c3@n3
check '.started | length' 3 "restart"
ctl 0 counter get c2@n2
check .value 12 "the counter after a restart of every node"
echo "ra-ctl commands: all checks passed"
