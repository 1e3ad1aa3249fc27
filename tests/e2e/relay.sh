#!/bin/bash
# Adaptive delivery (issue 21): a GET or HEAD whose response is at most
# --relay-max bytes is answered by its backend over the hand-off channel
# and written by the controller; a larger one is handed off as before.
# Asserts per size which way each response went (the controller's and the
# backends' counters, the access log), that a relayed response is the
# same bytes and headers as a handed-off or direct one, HEAD and
# "Connection: close", a client that reads slowly (the controller queues
# the rest) or not at all, that a relayed request touches no switch entry,
# and that a target found too large is handed off without asking again.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl python3
# This test is about the adaptive mode, whatever the pass runs.
export PRISM_DELIVERY=adaptive
export PRISM_TESTBED=${RL_TESTBED:-t-rl}
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
PIN=/sys/fs/bpf/$PRISM_TESTBED
RUN=/run/prism/$PRISM_TESTBED
ALOG=$E2E_TMP/access.log

check "testbed up" "$PRISM" testbed up --backends 2 || finish
if ! check "prism up (adaptive delivery, access log)" "$PRISM" up \
	--controller-arg --access-log --controller-arg "$ALOG"; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

metric() {
	tb_exec controller curl -s -m 3 http://127.0.0.1:9900/metrics |
		awk -v n="$1" '$1 == n {print $2; f = 1} END {if (!f) print 0}'
}
bmetric() { # HOST NAME: a backend's counter
	tb_exec "$1" curl -s -m 3 "http://127.0.0.1:9900/metrics" |
		awk -v n="$2" '$1 == n {print $2; f = 1} END {if (!f) print 0}'
}
counter() {
	tb_exec client cat /proc/net/netstat /proc/net/snmp | awk -v want="$1" '
		{ if (p == $1) { for (i = 2; i <= NF; i++) v[substr($1, 1, length($1) - 1) h[i]] = $i; p = "" }
		  else { p = $1; split($0, h) } }
		END { print v[want] + 0 }'
}
dp() { # the data plane's counter NAME
	"$PRISM" switch stats --pin-dir "$PIN" --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["data_plane"][sys.argv[1]])' "$1"
}
handoffs() {
	tb_exec controller curl -s -m 3 http://127.0.0.1:9900/metrics |
		awk '/^prism_controller_handoffs_total/ {n += $2} END {print n + 0}'
}
flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }

# ---- the choice per size ----
# Response heads are about 240 bytes: 1..7000 fit the default 8 KiB, 9000
# and up do not.  Small ones on one connection: all relayed (a socket the
# controller accepted has its round-trip sample from the handshake).
kc() { tb_exec client timeout 60 python3 "$TOOLS/keepalive_client.py" $VIP 80 "$@"; }
summary() {
	python3 -c '
import json, sys
r = json.loads(sys.argv[1]); b = r["backends"]
alt = all(b[i] != b[i + 1] for i in range(len(b) - 1)) and set(b) == {"b1", "b2"}
print(r["requests"], len(r["bad"]), r["connections"], int(alt))' "$1" 2>&1
}
timeouts0=$(counter TcpExtTCPTimeouts)
relayed0=$(metric prism_controller_relayed_total)
ho0=$(handoffs)
fast0=$(dp fast_ops)
out=$(kc 1,100,1024,4000,7000 --count 50)
rc=$?
relayed1=$(metric prism_controller_relayed_total)
ho1=$(handoffs)
fast1=$(dp fast_ops)
read -r nreq nbad nconn alternate <<<"$(summary "$out")"
[[ $rc == 0 && $nreq == 50 && $nbad == 0 && $nconn == 1 && $alternate == 1 ]] &&
	ok "50 GETs of 1 B .. 7 KB on one connection: exact, alternating between b1 and b2" ||
	not_ok "50 GETs of 1 B .. 7 KB on one connection: exact, alternating" "rc $rc ${out:0:400}"
[[ $((relayed1 - relayed0)) == 50 && $((ho1 - ho0)) == 0 && $((fast1 - fast0)) == 0 ]] &&
	ok "all 50 relayed: no hand-off, no switch operation" ||
	not_ok "all 50 relayed: no hand-off, no switch operation" \
		"relayed +$((relayed1 - relayed0)), hand-offs +$((ho1 - ho0)), fast ops +$((fast1 - fast0))"
r1=$(bmetric b1 'prism_backend_requests_total{backend="b1",via="relay"}')
r2=$(bmetric b2 'prism_backend_requests_total{backend="b2",via="relay"}')
[[ $r1 == 25 && $r2 == 25 ]] && ok "the backends count them: 25 relayed each" ||
	not_ok "the backends count the relayed requests, 25 each" "b1 $r1 b2 $r2"

# Large ones: offered once per target (declined), then handed off without
# asking, each on a new connection.
declined0=$(metric prism_controller_relay_declined_total)
ho0=$(handoffs)
for i in 1 2 3; do
	for n in 9000 70000 1000000; do
		out=$(kc $n --count 1)
		[[ $(summary "$out") == "1 0 1 "* ]] || not_ok "GET /bytes/$n exact" "${out:0:300}"
	done
done
declined1=$(metric prism_controller_relay_declined_total)
ho1=$(handoffs)
[[ $((declined1 - declined0)) == 3 && $((ho1 - ho0)) == 9 ]] &&
	ok "3 large targets, 3 times each: offered once each (declined), 9 hand-offs" ||
	not_ok "large targets offered once each, then handed off" \
		"declined +$((declined1 - declined0)), hand-offs +$((ho1 - ho0))"

# Mixed on one connection: every body exact, two fast ops per hand-off and
# none for a relayed request.  Relayed until the first hand-off (the
# first large object); a restored socket is not relayed on.
relayed0=$(metric prism_controller_relayed_total)
ho0=$(handoffs)
fast0=$(dp fast_ops)
out=$(kc 1,100,1024,4000,7000,9000,20000,70000,1000000 --count 54)
rc=$?
relayed1=$(metric prism_controller_relayed_total)
ho1=$(handoffs)
fast1=$(dp fast_ops)
timeouts1=$(counter TcpExtTCPTimeouts)
read -r nreq nbad nconn alternate <<<"$(summary "$out")"
nrl=$((relayed1 - relayed0)) nho=$((ho1 - ho0)) d=$((fast1 - fast0))
[[ $rc == 0 && $nreq == 54 && $nbad == 0 && $nconn == 1 && $alternate == 1 ]] &&
	ok "54 GETs of 1 B .. 1 MB mixed on one connection: exact, alternating, never replaced" ||
	not_ok "54 mixed GETs on one connection: exact, alternating" "rc $rc ${out:0:400}"
[[ $nrl == 5 && $nho == 49 && $d -ge $((2 * nho)) && $d -le $((2 * nho + 1)) ]] &&
	ok "mixed: the 5 small ones before the first large relayed, 49 handed off, $d fast ops: two per hand-off" ||
	not_ok "mixed: relayed + handed off = 54, two fast ops per hand-off" "relayed $nrl, hand-offs $nho, fast ops $d"
[[ $((timeouts1 - timeouts0)) == 0 ]] && ok "client saw no retransmission timeout" ||
	not_ok "client saw no retransmission timeout" "TCPTimeouts +$((timeouts1 - timeouts0))"

# ---- same bytes and headers as direct ----
B1=$(tb_addr b1)
strip() { grep -viE '^(date|x-prism-backend):' | tr -d '\r'; }
for path in /bytes/1000 /bytes/7000; do
	tb_exec client curl -s -D "$E2E_TMP/vh" -o "$E2E_TMP/vb" "http://$VIP$path"
	tb_exec client curl -s -D "$E2E_TMP/dh" -o "$E2E_TMP/db" "http://$B1$path"
	if cmp -s "$E2E_TMP/vb" "$E2E_TMP/db" && diff <(strip <"$E2E_TMP/vh") <(strip <"$E2E_TMP/dh") >/dev/null &&
		grep -qi '^x-prism-backend: b[12]' "$E2E_TMP/vh"; then
		ok "relayed $path: body and headers as from b1 directly (X-Prism-Backend kept)"
	else
		not_ok "relayed $path: body and headers as from b1 directly" "$(diff <(strip <"$E2E_TMP/vh") <(strip <"$E2E_TMP/dh"))"
	fi
done

# ---- HEAD, Connection: close ----
relayed0=$(metric prism_controller_relayed_total)
head=$(tb_exec client curl -s -I -m 5 "http://$VIP/bytes/5000000" | tr -d '\r')
relayed1=$(metric prism_controller_relayed_total)
grep -q '^HTTP/1.1 200' <<<"$head" && grep -qi '^content-length: 5000000' <<<"$head" &&
	[[ $((relayed1 - relayed0)) == 1 ]] &&
	ok "HEAD of a 5 MB object: its head only, relayed" ||
	not_ok "HEAD of a 5 MB object: its head only, relayed" "relayed +$((relayed1 - relayed0)): $head"
out=$(tb_exec client python3 - $VIP <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.sendall(b"GET /bytes/100 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, body = data.partition(b"\r\n\r\n")
print("ok" if head.startswith(b"HTTP/1.1 200") and b"Connection: close" in head and len(body) == 100 else "bad %r" % data[:300])
EOF
)
[[ $out == ok ]] && ok "Connection: close: the relayed response, then the controller closes" ||
	not_ok "Connection: close: the relayed response, then the controller closes" "$out"

# ---- a client that reads slowly, and one that never reads ----
# With --relay-max 64k, a 60 KB response is relayed into a client whose
# receive buffer is 4 KB: the controller queues what its socket does not
# take and writes it as the window opens.
"$PRISM" down >/dev/null 2>&1
if ! check "prism up --relay-max 64k" env PRISM_RELAY_MAX=64k "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi
out=$(tb_exec client timeout 30 python3 - $VIP <<'EOF'
import socket, sys, time
PAT = bytes(i % 251 for i in range(251 * 400))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(10)
s.connect((sys.argv[1], 80))
ok = True
for n in (60000, 50000, 60000):
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
    time.sleep(0.3)  # the response waits at the controller meanwhile
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    while len(body) < n:
        time.sleep(0.002)
        body += s.recv(4096)
    ok = ok and head.startswith(b"HTTP/1.1 200") and body == PAT[:n]
print("ok" if ok else "bad")
EOF
)
queued=$(metric prism_controller_relayed_total)
[[ $out == ok && $queued -ge 3 ]] &&
	ok "slow reader (4 KB receive buffer): three 50-60 KB relayed responses, exact" ||
	not_ok "slow reader: relayed responses exact" "$out, relayed $queued"
open0=$(metric prism_controller_connections_open)
tb_exec client timeout 10 python3 - $VIP <<'EOF'
import socket, sys, time
socks = []
for i in range(20):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect((sys.argv[1], 80))
    s.sendall(b"GET /bytes/60000 HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
time.sleep(0.5)
for s in socks:
    s.close()  # unread data: a reset
EOF
sleep 0.5
open1=$(metric prism_controller_connections_open)
[[ $open1 == "$open0" ]] &&
	ok "20 clients that never read their relayed response and reset: none left open ($open1)" ||
	not_ok "clients that never read their relayed response: none left open" "open $open0 -> $open1"
code=$(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP/bytes/1000")
[[ $code == 200 ]] && ok "served afterwards" || not_ok "served afterwards" "code $code"

# ---- the access log says how each went; bad options are refused ----
awk '{print $NF}' "$ALOG" | sort | uniq -c | tr '\n' ' ' >"$E2E_TMP/how"
n_relay=$(grep -c ' relay$' "$ALOG")
n_ho=$(grep -c ' handoff$' "$ALOG")
[[ $n_relay == $((50 + nrl + 4)) && $n_ho == $((9 + nho)) ]] &&
	ok "access log: $n_relay lines end in relay, $n_ho in handoff, as counted" ||
	not_ok "access log: delivery per line" "$(cat "$E2E_TMP/how"), want $((50 + nrl + 4)) relay, $((9 + nho)) handoff"
for bad in 1000 0 64m abc; do
	if "$PRISM" controller --relay-max $bad --listen 127.0.0.1:1 --switch 127.0.0.1:1 \
		--key /dev/null --backend b=127.0.0.1:1 >"$E2E_TMP/bad.log" 2>&1; then
		not_ok "--relay-max $bad refused" "accepted"
	elif grep -q "relay-max" "$E2E_TMP/bad.log"; then
		ok "--relay-max $bad refused, naming the option"
	else
		not_ok "--relay-max $bad refused, naming the option" "$(head -n 3 "$E2E_TMP/bad.log")"
	fi
done
[[ $(flows) == 0 ]] && ok "switch table empty at the end" || not_ok "switch table empty at the end" "flows: $(flows)"
check "prism down" "$PRISM" down
finish
