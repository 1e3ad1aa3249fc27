#!/bin/bash
# The switch agent on a veth of its own (no testbed needed): control ops
# round trip into the flow table, replays answered from the cache, bad
# datagrams and unknown peers rejected and counted, a full table reported
# as ENOSPC, a second agent refused, a killed agent's pins cleared, and a
# clean detach on SIGTERM.
#
# Topology: namespace $NS_F ("fabric": sw0 198.18.200.1/24, the agent)
# <-> $NS_P ("peer": eth0 198.18.200.2 and .3/24, the clients).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
WIRE=$E2E_ROOT/tests/e2e/switch_wire.py
TAG=t-swa-$$
NS_F=$TAG-f NS_P=$TAG-p
PIN=/sys/fs/bpf/$TAG
TMP=$E2E_TMP
AGENT=198.18.200.1:7700
AGENT_PID=

in_f() { nsenter --net=/run/netns/$NS_F "$@"; }
in_p() { nsenter --net=/run/netns/$NS_P "$@"; }
ctl() { in_p "$PRISM" switch ctl --agent $AGENT --key $TMP/key --timeout 300 "$@"; }
wire_send() { in_p python3 "$WIRE" send $AGENT "$1" $TMP/key; }
flows_json() { "$PRISM" switch flows --pin-dir $PIN --json; }
# agent_stat NAME: one agent counter.
agent_stat() {
	"$PRISM" switch stats --pin-dir $PIN --json |
		python3 -c "import json,sys; print(json.load(sys.stdin)['agent']['$1'])"
}
# flow CLIENT_PORT: "state backend rev" of 198.18.1.2:PORT, or "absent".
flow() {
	flows_json | python3 -c "
import json, sys
for f in json.load(sys.stdin)['flows']:
    if f['client'] == '198.18.1.2:$1':
        print(f['state'], f['backend'] or '-', f['rev']); break
else:
    print('absent')"
}

cleanup() {
	[[ -n $AGENT_PID ]] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	ip netns del $NS_F 2>/dev/null
	ip netns del $NS_P 2>/dev/null
	rm -f $PIN/flows $PIN/rev_flows $PIN/stats $PIN/agent_stats
	rmdir $PIN 2>/dev/null
}
on_exit cleanup

setup() {
	ip netns add $NS_F && ip netns add $NS_P &&
		ip link add sw0 netns $NS_F type veth peer name eth0 netns $NS_P &&
		ip -n $NS_F addr add 198.18.200.1/24 dev sw0 &&
		ip -n $NS_F link set sw0 up && ip -n $NS_F link set lo up &&
		ip -n $NS_P addr add 198.18.200.2/24 dev eth0 &&
		ip -n $NS_P addr add 198.18.200.3/24 dev eth0 &&
		ip -n $NS_P link set eth0 up && ip -n $NS_P link set lo up &&
		head -c 32 /dev/urandom | base64 >$TMP/key &&
		head -c 32 /dev/urandom | base64 >$TMP/otherkey
}

# start_agent LOG: runs the agent in the background, waits for readiness.
start_agent() {
	rm -f $TMP/ready
	# Not through in_f: $! must be the agent itself (nsenter execs it).
	nsenter --net=/run/netns/$NS_F "$PRISM" switch run --iface sw0 --key $TMP/key --peer 198.18.200.2 \
		--listen $AGENT --table-size 4 --pin-dir $PIN \
		--ready-file $TMP/ready >"$1" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do
		[[ -s $TMP/ready ]] && return 0
		kill -0 $AGENT_PID 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_agent() {
	local rc
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	return $rc
}

if ! setup; then
	not_ok "namespace setup"
	finish
fi

# --- start ---
if ! start_agent $TMP/agent.log; then
	not_ok "agent starts and reports ready" "$(cat $TMP/agent.log)"
	finish
fi
ready() { grep -q ready $TMP/agent.log && [[ $(cat $TMP/ready) == "$AGENT_PID" ]]; }
check "agent ready: log says ready, ready file holds its pid" ready
attached() { in_f tc filter show dev sw0 ingress | grep -q prism_switch; }
check "agent attached at tc ingress of sw0" attached
check "agent pinned flows, rev_flows, stats, agent_stats" \
	test -e $PIN/flows -a -e $PIN/rev_flows -a -e $PIN/stats -a -e $PIN/agent_stats

# --- round trips ---
rt() {
	ctl lock 198.18.1.2:40001 198.19.0.1:80 >/dev/null &&
		[[ $(flow 40001) == "locked - -" ]] &&
		ctl lock 198.18.1.2:40001 198.19.0.1:80 >/dev/null &&
		[[ $(flow 40001) == "locked - -" ]] &&
		ctl own 198.18.1.2:40001 198.19.0.1:80 198.18.11.2 >/dev/null &&
		[[ $(flow 40001) == "owned 198.18.11.2 ok" ]] &&
		ctl own 198.18.1.2:40001 198.19.0.1:80 198.18.12.2 >/dev/null &&
		[[ $(flow 40001) == "owned 198.18.12.2 ok" ]] &&
		ctl lock 198.18.1.2:40001 198.19.0.1:80 >/dev/null &&
		[[ $(flow 40001) == "locked 198.18.12.2 ok" ]] &&
		ctl delete 198.18.1.2:40001 198.19.0.1:80 >/dev/null &&
		[[ $(flow 40001) == "absent" ]] &&
		ctl delete 198.18.1.2:40001 198.19.0.1:80 >/dev/null &&
		[[ $("$PRISM" switch stats --pin-dir $PIN | tail -1) == "flow table: 0 / 4 entries (rev_flows 0 / 5)" ]]
}
check "lock, lock, own b1, own b2, lock, delete, delete: seen in flows" rt
usage_err() {
	ctl own 198.18.1.2:40001 198.19.0.1:80 2>/dev/null
	[[ $? -eq 2 ]]
}
check "ctl: own without a backend is a usage error (exit 2)" usage_err

# --- replay ---
S=$(date +%s%N)
python3 "$WIRE" build $TMP/key 42 $S own 198.18.1.2:40002 198.19.0.1:80 198.18.11.2 >$TMP/own.bin
python3 "$WIRE" build $TMP/key 42 $((S + 1)) lock 198.18.1.2:40002 198.19.0.1:80 >$TMP/lock.bin
python3 "$WIRE" build $TMP/key 42 $((S - 100)) delete 198.18.1.2:40002 198.19.0.1:80 >$TMP/old.bin
python3 "$WIRE" build $TMP/key 42 $((S - 5)) delete 198.18.1.2:40003 198.19.0.1:80 >$TMP/ooo.bin
replay() {
	local a1 a2 r0
	a1=$(wire_send 198.18.200.2 <$TMP/own.bin) &&
		[[ $a1 == "answer seq=$S status=0 "* ]] &&
		wire_send 198.18.200.2 <$TMP/lock.bin >/dev/null &&
		[[ $(flow 40002) == "locked 198.18.11.2 ok" ]] &&
		r0=$(agent_stat retransmits) &&
		a2=$(wire_send 198.18.200.2 <$TMP/own.bin) &&
		[[ $a2 == "$a1" ]] &&
		[[ $(flow 40002) == "locked 198.18.11.2 ok" ]] &&
		[[ $(agent_stat retransmits) == $((r0 + 1)) ]]
}
check "replayed datagram: same answer bytes, not re-executed" replay
old_seq() {
	local r0
	r0=$(agent_stat replays)
	[[ $(wire_send 198.18.200.2 <$TMP/old.bin) == "no answer" ]] &&
		[[ $(flow 40002) == "locked 198.18.11.2 ok" ]] &&
		[[ $(agent_stat replays) == $((r0 + 1)) ]]
}
check "sequence below the window: dropped, counted as replay" old_seq
in_window() { [[ $(wire_send 198.18.200.2 <$TMP/ooo.bin) == "answer seq=$((S - 5)) status=0 "* ]]; }
check "out of order inside the window: executed" in_window
ctl delete 198.18.1.2:40002 198.19.0.1:80 >/dev/null

# --- rejections ---
bad_key() {
	local r0
	r0=$(agent_stat bad_auth)
	! in_p "$PRISM" switch ctl --agent $AGENT --key $TMP/otherkey --timeout 100 \
		lock 198.18.1.2:40009 198.19.0.1:80 2>/dev/null &&
		[[ $(flow 40009) == absent ]] &&
		(($(agent_stat bad_auth) > r0))
}
check "wrong key: no answer, nothing changed, counted as bad_auth" bad_key
unknown_peer() {
	local r0
	r0=$(agent_stat unknown_peer)
	python3 "$WIRE" build $TMP/key 43 "$(date +%s%N)" lock 198.18.1.2:40010 198.19.0.1:80 >$TMP/peer.bin
	[[ $(wire_send 198.18.200.3 <$TMP/peer.bin) == "no answer" ]] &&
		[[ $(flow 40010) == absent ]] &&
		[[ $(agent_stat unknown_peer) == $((r0 + 1)) ]]
}
check "unknown peer address: no answer, counted as unknown_peer" unknown_peer
for kind in badmac:bad_auth magic:bad_magic version:bad_version type:bad_type \
	count:bad_count truncate:truncated extra:bad_length unknown-op:bad_op; do
	corrupt() {
		local k=${1%%:*} counter=${1#*:} r0
		r0=$(agent_stat $counter)
		python3 "$WIRE" build $TMP/key 44 "$(date +%s%N)" lock 198.18.1.2:40011 198.19.0.1:80 |
			python3 "$WIRE" corrupt $TMP/key $k >$TMP/bad.bin
		[[ $(wire_send 198.18.200.2 <$TMP/bad.bin) == "no answer" ]] &&
			[[ $(flow 40011) == absent ]] &&
			[[ $(agent_stat $counter) == $((r0 + 1)) ]]
	}
	check "corrupt datagram ($kind): no answer, counted" corrupt $kind
done
still_serving() { [[ $(ctl delete 198.18.1.2:1 198.19.0.1:80) == ok ]]; }
check "agent still answers after the rejections" still_serving

# --- full table ---
full() {
	local p out
	for p in 1 2 3 4; do
		ctl lock 198.18.1.2:4100$p 198.19.0.1:80 >/dev/null || return 1
	done
	out=$(ctl lock 198.18.1.2:41005 198.19.0.1:80)
	[[ $? -ne 0 && $out == ENOSPC* ]] &&
		[[ $(agent_stat table_full) == 1 ]] &&
		[[ $(flow 41005) == absent ]] &&
		[[ $("$PRISM" switch stats --pin-dir $PIN | tail -1) == "flow table: 4 / 4 entries"* ]] &&
		ctl own 198.18.1.2:41001 198.19.0.1:80 198.18.11.2 >/dev/null
}
check "table of 4: 5th flow answered ENOSPC, existing flows still change" full

# --- a second agent on the same pin dir ---
second() {
	! in_f "$PRISM" switch run --iface sw0 --key $TMP/key --peer 198.18.200.2 \
		--listen 198.18.200.1:7701 --pin-dir $PIN >$TMP/second.log 2>&1 &&
		grep -q "in use by the agent with pid $AGENT_PID" $TMP/second.log &&
		[[ $(flow 41001) == "owned 198.18.11.2 ok" ]]
}
check "second agent on the same pin dir refused, first untouched" second

# --- kill -9, restart: stale pins removed, empty table ---
# (State changes happen out here: check runs its command in a subshell.)
kill -KILL $AGENT_PID && wait $AGENT_PID 2>/dev/null
AGENT_PID=
pins_stayed() { [[ $(flow 41001) == "owned 198.18.11.2 ok" ]]; }
check "agent killed with SIGKILL: its pins and table stay" pins_stayed
start_agent $TMP/agent2.log
restarted() {
	grep -q "removed 4 pins of a stopped agent" $TMP/agent2.log &&
		[[ $(flows_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])') == 0 ]] &&
		[[ $(in_f tc filter show dev sw0 ingress | grep -c prism_switch) == 1 ]] &&
		[[ $(ctl lock 198.18.1.2:42000 198.19.0.1:80) == ok ]]
}
check "restart takes over the filter and pin dir, starts empty" restarted

# --- SIGTERM ---
stop_agent
RC=$?
term() {
	[[ $RC == 0 ]] &&
		grep -q "shutting down" $TMP/agent2.log &&
		[[ -z $(in_f tc filter show dev sw0 ingress) ]] &&
		[[ -z $(ls -A $PIN 2>/dev/null) ]] &&
		[[ ! -e $TMP/ready ]]
}
check "SIGTERM: exit 0, no tc filter, no pins, no ready file" term

# An agent that made the pin dir and the clsact qdisc removes both.
rmdir $PIN 2>/dev/null
in_f tc qdisc del dev sw0 clsact 2>/dev/null
start_agent $TMP/agent3.log && stop_agent
RC=$?
fresh_stop() {
	[[ $RC == 0 ]] && [[ ! -e $PIN ]] &&
		! in_f tc qdisc show dev sw0 | grep -q clsact
}
check "clean stop removes the pin dir and clsact qdisc it created" fresh_stop
finish
