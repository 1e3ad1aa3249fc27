#!/bin/bash
# The switch data plane driven by the agent, on the testbed: a TCP flow from
# the client to the VIP whose entry is OWNED by b1 reaches a socket in b1,
# and b1's segments reach the client with the VIP as source and a zero
# window.  b1 sends first and the client only reads (the SYN-ACK carries
# window 0 too, so the client could not send anyway).  Then LOCK: the
# client's segments are dropped at the switch, and DELETE: the flow is gone.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3 tcpdump
export PRISM_TESTBED=t-swt-$$
PIN=/sys/fs/bpf/$PRISM_TESTBED
CLIENT=198.18.1.2 B1=198.18.11.2 VIP=198.19.0.1
PORT=8089 CPORT=45000 BYTES=200000
T=$E2E_TMP

on_exit '"$PRISM" testbed down >/dev/null 2>&1'
check "testbed up with 1 backend" "$PRISM" testbed up --backends 1 || finish
head -c 32 /dev/urandom | base64 >$T/key

# The agent on the fabric, on the client's and b1's links; b1 and the
# controller are its peers.  Its pid comes from the ready file ($TB_PID is
# the subshell's).
tb_bg fabric "$PRISM" switch run --iface client b1 --key $T/key \
	--peer $B1 198.18.2.2 --pin-dir $PIN --ready-file $T/ready \
	>$T/agent.log 2>&1
for _ in $(seq 100); do [[ -s $T/ready ]] && break; sleep 0.05; done
AGENT_PID=$(cat $T/ready 2>/dev/null)
on_exit "kill -TERM $AGENT_PID 2>/dev/null; sleep 0.2"
if ! grep -q "ready: " $T/agent.log || ! kill -0 "$AGENT_PID" 2>/dev/null; then
	not_ok "agent ready on the fabric" "$(cat $T/agent.log)"
	finish
fi
ok "agent ready on the fabric"

# ctl_b1 OP ARGS...: an op sent by b1; prints the status.
ctl_b1() {
	tb_exec b1 "$PRISM" switch ctl --agent 198.18.11.1:7700 --key $T/key "$@"
}
flow_json() {
	"$PRISM" switch flows --pin-dir $PIN --json | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin)['flows'] if f['client'] == '$CLIENT:$CPORT']
print(json.dumps(f[0]) if f else 'absent')"
}
owned() {
	[[ $(ctl_b1 own $CLIENT:$CPORT $VIP:$PORT $B1) == ok ]] &&
		flow_json | grep -q '"state": "owned", "backend": "198.18.11.2", "rev": "ok"'
}
check "b1 sets the flow OWNED by b1" owned

cat >$T/server.py <<PY
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$B1', $PORT)); s.listen(1); s.settimeout(10)
c, peer = s.accept()
print('accepted %s:%d' % peer, flush=True)
c.sendall(bytes(i % 251 for i in range($BYTES)))
c.settimeout(3)
try:
    c.recv(1)   # the client only reads; its FIN is cleared by the switch
except OSError:
    pass
PY
cat >$T/client.py <<PY
import socket
s = socket.socket(); s.bind(('$CLIENT', $CPORT)); s.settimeout(10)
s.connect(('$VIP', $PORT))
data = b''
while len(data) < $BYTES:
    d = s.recv(65536)
    if not d:
        break
    data += d
ok = data == bytes(i % 251 for i in range($BYTES))
print('peer %s:%d bytes %d %s' % (s.getpeername() + (len(data), 'intact' if ok else 'CORRUPT')), flush=True)
PY

# timeout: tcpdump ends by itself should the kill below miss it.
tb_bg client timeout 30 tcpdump -i eth0 -n -U -w $T/client.pcap tcp port $PORT \
	2>$T/tcpdump.log
TD_PID=$TB_PID
for _ in $(seq 50); do grep -q listening $T/tcpdump.log && break; sleep 0.05; done
tb_bg b1 python3 $T/server.py >$T/server.out 2>&1
SRV_PID=$TB_PID
wait_listen b1 $PORT || not_ok "b1 listens on :$PORT"
tb_exec client python3 $T/client.py >$T/client.out 2>&1
wait $SRV_PID
sleep 0.3
kill $TD_PID 2>/dev/null
wait $TD_PID 2>/dev/null
tcpdump -n -r $T/client.pcap 2>/dev/null >$T/client.txt
sed 's/^/# client: /' $T/client.out
sed 's/^/# b1: /' $T/server.out

check "the connection reached a socket in b1, from the client's 4-tuple" \
	grep -qx "accepted $CLIENT:$CPORT" $T/server.out
check "client read every byte intact, peer is the VIP" \
	grep -qx "peer $VIP:$PORT bytes $BYTES intact" $T/client.out
vip_segments() { grep "IP $VIP.$PORT > $CLIENT.$CPORT:" $T/client.txt; }
seen_from_vip() {
	[[ $(vip_segments | grep -c 'Flags \[S\.\]') == 1 ]] &&
		vip_segments | grep -q 'length [1-9]'
}
check "client saw b1's segments (SYN-ACK and data) from the VIP" seen_from_vip
zero_window() {
	[[ $(vip_segments | wc -l) -gt 2 ]] && ! vip_segments | grep -vq ', win 0,'
}
check "every segment from the VIP carries window 0" zero_window
no_leak() {
	! grep -q "IP $B1" $T/client.txt && ! grep -q 'Flags \[R' $T/client.txt
}
check "no segment from b1's own address and no reset at the client" no_leak
# The byte counter counts what the switch translated, retransmissions
# included (a loaded machine makes b1 retransmit now and then): it must
# equal the payload the client's capture saw from the VIP, at least BYTES.
vip_payload() {
	vip_segments | sed -n 's/.* length \([0-9]*\).*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}
counters() {
	local seen
	seen=$(vip_payload)
	flow_json | python3 -c "
import json, sys
f = json.load(sys.stdin)
print(f, 'client saw $seen')
assert f['to_backend_packets'] > 0 and f['to_client_packets'] > 0
assert f['to_client_bytes'] == $seen >= $BYTES, f['to_client_bytes']
"
}
check "flow counters: packets both ways, every payload byte to the client" counters

# LOCK (a second flow: the first one's client socket still holds its
# 4-tuple): the client's SYN dies at the switch instead of reaching the
# controller.
LPORT=45001
dp_stat() {
	"$PRISM" switch stats --pin-dir $PIN --json |
		python3 -c "import json,sys; print(json.load(sys.stdin)['data_plane']['$1'])"
}
locked() {
	local d0
	[[ $(ctl_b1 lock $CLIENT:$LPORT $VIP:$PORT) == ok ]] || return 1
	d0=$(dp_stat drop_locked)
	tb_exec client python3 -c "
import socket
s = socket.socket(); s.bind(('$CLIENT', $LPORT)); s.settimeout(0.5)
try:
    s.connect(('$VIP', $PORT)); raise SystemExit('connected')
except socket.timeout:
    pass" &&
		(($(dp_stat drop_locked) > d0)) &&
		"$PRISM" switch flows --pin-dir $PIN | grep -q "^$CLIENT:$LPORT .* locked .* [1-9]\$" &&
		[[ $(ctl_b1 delete $CLIENT:$LPORT $VIP:$PORT) == ok ]]
}
check "LOCK: client segments dropped at the switch, counted" locked
deleted() {
	[[ $(ctl_b1 delete $CLIENT:$CPORT $VIP:$PORT) == ok ]] &&
		[[ $(flow_json) == absent ]] &&
		"$PRISM" switch stats --pin-dir $PIN | grep -qx 'flow table: 0 / 131072 entries (rev_flows 0 / 131073)'
}
check "DELETE: flow and reverse entry gone" deleted

stopped() {
	kill -TERM $AGENT_PID
	for _ in $(seq 50); do kill -0 $AGENT_PID 2>/dev/null || break; sleep 0.1; done
	! kill -0 $AGENT_PID 2>/dev/null &&
		grep -q "shutting down" $T/agent.log &&
		[[ -z $(tb_exec fabric tc filter show dev client ingress) ]] &&
		[[ -z $(tb_exec fabric tc filter show dev b1 ingress) ]] &&
		[[ -z $(ls -A $PIN 2>/dev/null) ]]
}
check "agent stops on SIGTERM: filters and pins gone" stopped
finish
