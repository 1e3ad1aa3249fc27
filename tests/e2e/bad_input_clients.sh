#!/bin/bash
# Bad input (issue 6): malicious HTTP clients against the controller (the
# VIP) and a backend (direct, with --root), hostile peers of a backend's
# hand-off port, and a backend at its connection limit (--max-conns).
# Every case asserts what the attacker got and that the service goes on:
# later requests are served, the switch table stays empty, nothing outside
# the document root is ever sent.  Known bugs are reported as skips
# (docs/reliability.md).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl python3 tcpdump
export PRISM_TESTBED=t-h9-bad
RUN=/run/prism/$PRISM_TESTBED
PIN=/sys/fs/bpf/$PRISM_TESTBED
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
B1=198.18.11.2
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"

check "testbed up" "$PRISM" testbed up --backends 1 || finish
if ! check "prism up" "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi
flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }
raw() { tb_exec client timeout 20 python3 "$TOOLS/rawhttp.py" "$@"; }
served() { [[ $(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code}' "$1") == 200 ]]; }

# A second backend on b1 with a document root (and a secret next to it),
# a short idle timeout, no hand-off.
ROOT=$E2E_TMP/root
mkdir -p "$ROOT/sub"
echo hello >"$ROOT/index.html"
echo inner >"$ROOT/sub/a.txt"
echo TOPSECRET >"$E2E_TMP/secret.txt"
ln -s ../secret.txt "$ROOT/link"
tb_bg b1 "$PRISM" backend --name r1 --listen $B1:8081 --root "$ROOT" --idle-timeout 1000 >"$E2E_TMP/r1.log" 2>&1
wait_listen b1 8081 || { not_ok "backend with --root listens"; finish; }
# A third backend on b1 that takes at most one connection (hand-off port
# 7801), and a second controller in front of it alone, on VIP:8080, with a
# 1 s idle timeout and its metrics on 127.0.0.1:9901; it hands off every
# request (a relayed one holds no connection at the backend, so the limit
# is never reached by those).
# Host mode: each daemon's own host's agent (docs/switch.md).
BE_SW=(--switch 198.18.11.1:7700) CTL_SW=(--switch 198.18.2.1:7700)
if [[ ${PRISM_MODE:-switch} == host ]]; then
	BE_SW=(--mode host --switch $B1:7700 --controller-switch 198.18.2.2:7700)
	CTL_SW=(--mode host --switch 198.18.2.2:7700)
fi
tb_bg b1 "$PRISM" backend --name r2 --listen $B1:8082 --handoff-port 7801 \
	"${BE_SW[@]}" --key "$RUN/key" --peer-id 150 --max-conns 1 \
	>"$E2E_TMP/r2.log" 2>&1
wait_listen b1 7801 || { not_ok "backend with --max-conns 1 listens"; finish; }
tb_bg controller "$PRISM" controller --listen $VIP:8080 "${CTL_SW[@]}" \
	--key "$RUN/key" --backend r2=$B1:7801,http=$B1:8082 --idle-timeout 1000 --header-timeout 1000 \
	--peer-id 2 --admin 127.0.0.1:9901 --health-interval off --delivery handoff \
	>"$E2E_TMP/ctl2.log" 2>&1
wait_listen controller 8080 || { not_ok "second controller listens"; finish; }

# --- request framing: both parsers must refuse ambiguous requests -------
# reject TARGET NAME REQ: 400/501, nothing served, connection closed.
reject() {
	local where=$1 name=$2 out
	out=$(raw ${where/:/ } "$3")
	if grep -qE '"status": (400|501),' <<<"$out" && grep -q '"closed": true' <<<"$out"; then
		ok "$where: $name: rejected and closed"
	else
		not_ok "$where: $name: rejected and closed" "$out"
	fi
}
for t in $VIP:80 $B1:8081; do
	reject $t "two different Content-Length" \
		'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'
	reject $t "Content-Length and Transfer-Encoding" \
		'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	reject $t "Transfer-Encoding not ending in chunked" \
		'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'
	reject $t "space before the colon (Transfer-Encoding : chunked)" \
		'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n'
	reject $t "Content-Length +5" 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde'
	reject $t "Content-Length -1" 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'
	reject $t "Content-Length 2^64" \
		'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n'
	reject $t "NUL in the request target" 'GET /by\x00tes/10 HTTP/1.1\r\nHost: x\r\n\r\n'
	reject $t "NUL in a header value" 'GET /bytes/10 HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'
	reject $t "obsolete line folding" 'GET /bytes/10 HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'
	reject $t "HTTP/1.1 without Host" 'GET /bytes/10 HTTP/1.1\r\n\r\n'
	out=$(raw ${t/:/ } "GET / HTTP/1.1\\r\\nHost: x\\r\\n$(printf 'X-Big: %060000d\\r\\n' 0)\\r\\n")
	# The server may reset rather than close: the rest of the head is
	# still unread when it closes.
	grep -qE '"status": (400|431),' <<<"$out" && grep -qE '"(closed|reset)": true' <<<"$out" &&
		ok "$t: 60 kB header: 431, connection ended" || not_ok "$t: 60 kB header: 431, connection ended" "$out"
done
served "http://$VIP/bytes/1000" && served "http://$B1:8081/index.html" &&
	ok "both serve normally after the bad requests" ||
	not_ok "both serve normally after the bad requests"

# --- path traversal at the backend ----------------------------------------
body=$(tb_exec client curl -s -m 5 "http://$B1:8081/sub/a.txt")
[[ $body == inner ]] && ok "root: a file under --root is served" ||
	not_ok "root: a file under --root is served" "$body"
leaks=()
for p in /../secret.txt /..%2fsecret.txt /%2e%2e/secret.txt /sub/../../secret.txt \
	/sub/%2e%2e/%2e%2e/secret.txt '/..\secret.txt' /link /sub/../link \
	/../../../../etc/passwd /%2e%2e/%2e%2e/%2e%2e/etc/passwd //etc/passwd; do
	code=$(tb_exec client curl -s -m 5 --path-as-is -o "$E2E_TMP/trav" -w '%{http_code}' "http://$B1:8081$p")
	if grep -qE 'TOPSECRET|root:x:0' "$E2E_TMP/trav" 2>/dev/null || [[ ! $code =~ ^(400|403|404)$ ]]; then
		leaks+=("$p -> ${code:-none}")
	fi
done
[[ ${#leaks[@]} -eq 0 ]] && ok "root: 11 traversal paths (dot-dot, encoded, symlink, absolute) give 400/403/404, never the file" ||
	not_ok "root: traversal paths give 400/403/404, never the file" "${leaks[@]}"

# --- slowloris: a head trickled byte by byte must still time out ---------
# slow HOST PORT: sends a header line every 0.3 s for up to 6 s; prints
# the seconds until the server closed, or "open".
slow() {
	tb_exec client timeout 10 python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
s.settimeout(0.3)
t0 = time.time()
s.sendall(b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n")
while time.time() - t0 < 6:
    try:
        if s.recv(4096) == b"":
            print("%.1f" % (time.time() - t0)); sys.exit(0)
    except socket.timeout:
        pass
    except ConnectionResetError:
        print("%.1f" % (time.time() - t0)); sys.exit(0)
    try:
        s.sendall(b"X-Slow: 1\r\n")
    except OSError:
        print("%.1f" % (time.time() - t0)); sys.exit(0)
print("open")' "$1" "$2"
}
for t in "$B1 8081 backend" "$VIP 8080 controller"; do
	set -- $t
	r=$(slow "$1" "$2")
	if [[ $r != open ]] && awk -v r="$r" 'BEGIN {exit !(r < 4)}'; then
		ok "slowloris on the $3 (idle and header timeout 1 s): closed after $r s"
	else
		not_ok "slowloris on the $3 (idle and header timeout 1 s): closed within 4 s" "result: $r"
	fi
done

# --- hostile peers of the hand-off port (b1:7800) ----------------------
# A real, validly signed HANDOFF is captured from the wire for the replay:
# a response too large to relay (its REQUEST, declined, comes first).
# (tcpdump stops by itself after 6 segments to port 7800, or after 4 s.)
tb_exec b1 timeout 4 tcpdump -i eth0 -U -s 0 -c 6 -w "$E2E_TMP/ho.pcap" 'tcp dst port 7800' 2>/dev/null &
TCPDUMP=$!
sleep 1
served "http://$VIP/bytes/100000"
wait "$TCPDUMP"
have_msg=0
python3 "$TOOLS/handoff_attack.py" extract "$E2E_TMP/ho.pcap" "$E2E_TMP/ho.bin" >/dev/null && have_msg=1
# The channel is sealed: the request the controller passed on (in a
# REQUEST, then in the HANDOFF) is not in the bytes on the wire.
scan=$(python3 "$TOOLS/handoff_attack.py" scan "$E2E_TMP/ho.pcap" "GET /bytes/100000")
if [[ $have_msg == 1 ]] && grep -q '"found": false' <<<"$scan"; then
	ok "hand-off channel: the request crossed the fabric sealed, not in clear"
else
	not_ok "hand-off channel: the request crossed the fabric sealed, not in clear" "$scan"
fi
ctl_log0=$(grep -c 'channel closed' "$RUN/b1.log")
bpid=$(cat "$RUN/b1.pid")
fds0=$(ls /proc/$bpid/fd | wc -l)
# hostile NAME MODE: one hostile peer; passes when the connection was
# closed, no switch entry appeared and b1 still serves (via the VIP and
# directly).
hostile() {
	local name="hand-off port: $1" out n
	out=$(tb_exec client timeout 10 python3 "$TOOLS/handoff_attack.py" send $B1 7800 "$1" "$E2E_TMP/ho.bin")
	sleep 0.2
	n=$(flows)
	if grep -q '"closed": true' <<<"$out" && [[ $n == 0 ]] &&
		served "http://$VIP/bytes/1000" && served "http://$B1/bytes/1000"; then
		ok "$name: connection closed, no switch entry, b1 keeps serving"
	else
		not_ok "$name: connection closed, no switch entry, b1 keeps serving" "$out" "flows: $n" \
			"$(tail -n 3 "$RUN/b1.log")"
	fi
}
hostile garbage
hostile badmac
if [[ $have_msg == 1 ]]; then
	hostile truncated
else
	skip "hand-off port: truncated" "no HANDOFF captured with tcpdump"
fi
ctl_log1=$(grep -c 'channel closed' "$RUN/b1.log")
echo "# b1 logged $((ctl_log1 - ctl_log0)) closed hand-off channels for 3 hostile peers"
sleep 0.5
fds1=$(ls /proc/$bpid/fd | wc -l)
[[ $fds1 -le $fds0 ]] && ok "hand-off port: b1's fds $fds0 -> $fds1 (nothing kept)" ||
	not_ok "hand-off port: b1's fds $fds0 -> $fds1 (nothing kept)" "$(ls -l /proc/$bpid/fd | tail -n 5)"
# Last: a replay that is accepted leaves state behind.
if [[ $have_msg == 1 ]]; then
	hostile replay
else
	skip "hand-off port: replay" "no HANDOFF captured with tcpdump"
fi

# --- backend connection limit -------------------------------------------
# r2 busy with one long download: the next request is refused by r2
# (HO_ERR_OVERLOAD), answered 503 by the controller and counted.
n0=$(flows) # the replay above may have left an entry behind
# (Not through tb_exec: a function in the background is a subshell, and
# killing it would leave the download running.)
"$PRISM" testbed exec client -- timeout 20 python3 "$TOOLS/fault_client.py" $VIP 8080 \
	/bytes/268435456 "$E2E_TMP/busy.mark" --timeout 5 >/dev/null 2>&1 &
BUSY=$!
for ((i = 0; i < 100; i++)); do [[ -s $E2E_TMP/busy.mark ]] && break; sleep 0.05; done
code=$(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP:8080/bytes/100")
kill "$BUSY" 2>/dev/null; wait "$BUSY" 2>/dev/null
refused=$(tb_exec controller curl -s -m 2 http://127.0.0.1:9901/metrics |
	awk '/^prism_controller_handoff_failures_total/ && /refused/ {print $2}')
if [[ $code == 503 && ${refused:-0} -ge 1 ]]; then
	ok "backend at --max-conns: the next request gets 503, counted (handoff_failures_total refused $refused)"
else
	not_ok "backend at --max-conns: the next request gets 503, counted" "code $code, refused ${refused:-none}" \
		"$(tail -n 3 "$E2E_TMP/ctl2.log")"
fi
for ((i = 0; i < 40; i++)); do served "http://$VIP:8080/bytes/100" && break; sleep 0.1; done
[[ $i -lt 40 ]] && ok "backend at --max-conns: served again once the download ended" ||
	not_ok "backend at --max-conns: served again once the download ended"
n=$(flows)
[[ $n == "$n0" ]] && ok "backend at --max-conns: no switch entry left" ||
	not_ok "backend at --max-conns: no switch entry left" "flows: $n0 -> $n"

# The second controller has just used the switch agent too, with its own
# peer id (--peer-id 2): the first one must keep working.
code=$(tb_exec client curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$VIP/bytes/100")
if [[ $code == 200 ]]; then
	ok "two controllers on one switch agent: the first still hands off"
elif grep -q 'replay (old sequence)' "$RUN/switch.log"; then
	not_ok "two controllers on one switch agent: the first still hands off" \
		"the agent dropped the first controller's datagrams as replays (got $code)"
else
	not_ok "two controllers on one switch agent: the first still hands off" "code $code"
fi

# Idle unauthenticated connections must not lock controllers out.
tb_bg client python3 "$TOOLS/handoff_attack.py" hold $B1 7800 20 8 >/dev/null 2>&1
sleep 1
tb_bg controller "$PRISM" controller --listen $VIP:8082 "${CTL_SW[@]}" \
	--key "$RUN/key" --backend b1=$B1:7800 --admin off --health-interval off \
	>"$E2E_TMP/ctl3.log" 2>&1
wait_listen controller 8082
code=$(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP:8082/bytes/100")
if [[ $code == 200 ]]; then
	ok "hand-off port: 20 idle unauthenticated connections do not lock out a new controller"
else
	not_ok "hand-off port: 20 idle unauthenticated connections do not lock out a new controller" "code $code"
fi
finish
