#!/usr/bin/env bash
# A Ra cluster across three OS processes on 127.0.0.1, driven by ra-ctl (README, "Running a
# cluster across machines"): three ra-node processes (ports chosen by the OS), a counter
# cluster started from ra-ctl, 5 then 7 -> 12 and the leader shown; kill -9 of the
# leader's process; a new leader with the value 12 intact (and one more command, +0,
# while the node is down); the killed node restarted from its data dir on its port; it
# catches up (its member applies up to the leader's commit index); a consistent named
# query through each node answers 12. Every step prints the command and what came back;
# the script exits non-zero as soon as a step misbehaves.
#
#   scripts/cluster-demo.sh [--plain] [--build DIR] [--keep]
#
# Default: mutual TLS, with a CA and certificates for n1, n2, n3 and ra-ctl made at run
# time with the openssl CLI (and a client without them is refused). --plain: plain TCP on loopback. --build: where ra-node and
# ra-ctl were built (default build/, i.e. build/tools/). --keep: keep the work dir (logs).
set -euo pipefail

mode=tls
build=build
keep=0
while (($#)); do
  case $1 in
    --plain) mode=plain ;;
    --tls) mode=tls ;;
    --build) build=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--plain] [--build DIR] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
RA_NODE=$build/tools/ra-node
RA_CTL=$build/tools/ra-ctl
for b in "$RA_NODE" "$RA_CTL"; do
  [[ -x $b ]] || { echo "missing $b: build it first (cmake --build $build --target ra-node ra-ctl)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "needs jq (scripts/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/ra-cluster-demo.XXXXXX)
declare -A pid port
cleanup() {
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
  for n in "${!pid[@]}"; do
    for _ in $(seq 50); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pid[$n]}" 2>/dev/null || true
  done
  if ((keep)); then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step_no=0
step() { step_no=$((step_no + 1)); printf '\n== %d. %s\n' "$step_no" "$*"; }
fail() {
  echo "FAILED: $*" >&2
  for n in n1 n2 n3; do [[ -f $work/$n.log ]] && { echo "--- last lines of $n's log:" >&2; tail -5 "$work/$n.log" >&2; }; done
  exit 1
}

# -- certificates ------------------------------------------------------------------------------
tls_node_json=""
ctl_tls=()
if [[ $mode == tls ]]; then
  step "make a cluster CA and certificates for n1, n2, n3 and ra-ctl (openssl CLI)"
  (
    cd "$work"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ra-demo-ca -keyout ca.key -out ca.pem >/dev/null 2>&1
    for n in n1 n2 n3 ctl; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "$n.key" -out "$n.csr" >/dev/null 2>&1
      openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out "$n.pem" >/dev/null 2>&1
      rm -f "$n.csr"
    done
  ) || fail "openssl could not make the certificates"
  echo "$ openssl req -x509 ... -out ca.pem; openssl req/x509 -req ... -out {n1,n2,n3,ctl}.pem"
  ls "$work" | tr '\n' ' '; echo
  ctl_tls=(--tls-cert "$work/ctl.pem" --tls-key "$work/ctl.key" --tls-ca "$work/ca.pem")
fi

# -- nodes -----------------------------------------------------------------------------------------
# node_config NAME PORT PEERS_JSON: the node's JSON config (short timers so the demo is quick).
node_config() {
  local tls="" 
  [[ $mode == tls ]] && tls=", \"tls\": {\"certificate\": \"$work/$1.pem\", \"key\": \"$work/$1.key\", \"ca_file\": \"$work/ca.pem\"}"
  cat >"$work/$1.json" <<EOF
{
  "name": "$1",
  "data_dir": "$work/$1",
  "listen_host": "127.0.0.1",
  "listen_port": $2,
  "peers": {$3},
  "machines": ["counter", "kv", "fifo"],
  "log_level": "info",
  "node_ping_interval_ms": 200,
  "node_down_after_ms": 1000,
  "server": {"broadcast_time_ms": 20, "detector_poll_ms": 200, "tick_timeout_ms": 100}$tls
}
EOF
}
# start_node NAME: runs ra-node on the NAME.json config and waits for its port.
start_node() {
  rm -f "$work/$1.port"
  echo "$ ra-node $work/$1.json --port-file $work/$1.port 2>>$work/$1.log &"
  "$RA_NODE" "$work/$1.json" --port-file "$work/$1.port" 2>>"$work/$1.log" &
  pid[$1]=$!
  for _ in $(seq 100); do
    [[ -s $work/$1.port ]] && break
    kill -0 "${pid[$1]}" 2>/dev/null || fail "ra-node $1 exited: $(tail -3 "$work/$1.log")"
    sleep 0.05
  done
  [[ -s $work/$1.port ]] || fail "ra-node $1 wrote no port file"
  port[$1]=$(cat "$work/$1.port")
  echo "   $1: pid ${pid[$1]}, listening on 127.0.0.1:${port[$1]}"
}

step "start three ra-node processes (n2 dials n1, n3 dials n1 and n2)"
node_config n1 0 ""
start_node n1
node_config n2 0 "\"n1\": \"127.0.0.1:${port[n1]}\""
start_node n2
node_config n3 0 "\"n1\": \"127.0.0.1:${port[n1]}\", \"n2\": \"127.0.0.1:${port[n2]}\""
start_node n3

ctl_base=("$RA_CTL" --peer "n1=127.0.0.1:${port[n1]}" --peer "n2=127.0.0.1:${port[n2]}"
          --peer "n3=127.0.0.1:${port[n3]}" "${ctl_tls[@]}" --connect-timeout 500 --json)
echo "   ra-ctl below stands for: ${ctl_base[*]}"

# ctl ARGS...: runs ra-ctl, prints the command and its answer; the answer is in $out.
ctl() {
  echo "$ ra-ctl $*"
  local rc=0
  out=$("${ctl_base[@]}" "$@" 2>>"$work/ctl.log") || rc=$?
  echo "   -> ${out:-(nothing)} (exit $rc)"
  return $rc
}
# expect WHAT JQ_FILTER EXPECTED: the last answer's field.
expect() {
  local got
  got=$(jq -r "$2" <<<"$out")
  [[ $got == "$3" ]] || fail "$1: expected $3, got $got"
}
# eventually SECONDS CONDITION...: retries until the condition (a function) holds.
eventually() {
  local limit=$1; shift
  local until=$((SECONDS + limit))
  while ! "$@"; do
    ((SECONDS < until)) || return 1
    sleep 0.2
  done
}

if [[ $mode == tls ]]; then
  step "without a certificate of the cluster CA, ra-ctl reaches no node"
  echo "$ ra-ctl --peer n1=127.0.0.1:${port[n1]} --connect-timeout 500 members s1@n1   (no TLS files)"
  rc=0
  "$RA_CTL" --peer "n1=127.0.0.1:${port[n1]}" --connect-timeout 500 members s1@n1 >/dev/null 2>>"$work/ctl.log" || rc=$?
  echo "   -> exit $rc"
  ((rc == 3)) || fail "a client without a certificate got exit $rc, not 3 (no node reachable)"
fi

step "start a counter cluster with one member on each node"
ctl start-cluster demo counter s1@n1 s2@n2 s3@n3 || fail "start-cluster"
expect "started" '.started | length' 3
[[ $(jq -r .leader <<<"$out") == s?@n? ]] || fail "no leader named"

step "add 5, then 7"
ctl counter add s1@n1 5 || fail "counter add 5"
expect "5" .value 5
ctl counter add s2@n2 7 || fail "counter add 7"
expect "5 + 7" .value 12

step "show the leader"
ctl leader s3@n3 || fail "leader"
leader=$(jq -r .leader <<<"$out")
lnode=${leader#*@}
[[ $lnode == n[123] ]] || fail "unexpected leader $leader"
echo "   the leader is $leader, in the ra-node process of $lnode (pid ${pid[$lnode]})"

step "kill -9 the leader's process"
echo "$ kill -9 ${pid[$lnode]}"
kill -9 "${pid[$lnode]}"
wait "${pid[$lnode]}" 2>/dev/null || true
unset "pid[$lnode]"
survivors=()
for s in s1@n1 s2@n2 s3@n3; do [[ $s != "$leader" ]] && survivors+=("$s"); done

step "a new leader among the survivors; the value is intact"
new_leader_elected() {
  ctl leader "${survivors[0]}" >/dev/null 2>&1 || return 1
  local l
  l=$(jq -r .leader <<<"$out")
  [[ -n $l && $l != "$leader" && $l != null ]]
}
eventually 15 new_leader_elected || fail "no new leader within 15 s"
ctl leader "${survivors[0]}" || fail "leader"
new_leader=$(jq -r .leader <<<"$out")
echo "   new leader: $new_leader"
for s in "${survivors[@]}"; do
  ctl counter get "$s" || fail "consistent query through $s"
  expect "value through $s" .value 12
done
echo "   one more command while $lnode is down (adds 0: the value stays 12, the log grows)"
ctl counter add "${survivors[1]}" 0 || fail "counter add 0"
expect "12 + 0" .value 12
commit=$(jq -r .index <<<"$out")

step "restart $lnode from its data dir on its port"
node_config "$lnode" "${port[$lnode]}" "$(jq -c .peers "$work/$lnode.json" | sed 's/^{//; s/}$//')"
start_node "$lnode"

step "$leader catches up"
caught_up() {
  ctl metrics "${survivors[0]}" >/dev/null 2>&1 || return 1
  local applied
  applied=$(jq -r ".metrics[\"$leader\"].last_applied // 0" <<<"$out")
  ((applied >= commit))
}
eventually 15 caught_up || fail "$leader did not apply up to index $commit"
ctl metrics "${survivors[0]}" || fail "metrics"
ctl counter get --kind local "$leader" || fail "local query on $leader"
expect "the restarted member's own state" .value 12

step "a consistent named query through each node answers 12"
for s in s1@n1 s2@n2 s3@n3; do
  ctl counter get "$s" || fail "consistent query through $s"
  expect "value through $s" .value 12
done

printf '\nall %d steps passed (%s)\n' "$step_no" "$([[ $mode == tls ]] && echo "mutual TLS" || echo "plain TCP on loopback")"
