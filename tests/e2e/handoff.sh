#!/bin/bash
# Per-request hand-off end to end (issue 4): prism up in a testbed, real
# clients (python http.client, curl, wrk, raw sockets) on the VIP; asserts
# what the clients saw, the client's TCP counters, the controller link's
# byte count, and that the switch table is empty afterwards.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl wrk python3
export PRISM_TESTBED=${HO_TESTBED:-t-ho}
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
PIN=/sys/fs/bpf/$PRISM_TESTBED
RUN=/run/prism/$PRISM_TESTBED

check "testbed up" "$PRISM" testbed up --backends 2 || finish
if ! check "prism up: switch, 2 backends, controller ready" "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

# counter NAME: a TCP counter of the client host (/proc/net is per netns).
counter() {
	tb_exec client cat /proc/net/netstat /proc/net/snmp |
		awk -v want="$1" '
		/^(TcpExt|Tcp):/ { if (!(FNR in names)) { split($0, h); hdr = 1 } }
		{ if (prev == $1) { for (i = 2; i <= NF; i++) v[substr($1, 1, length($1) - 1) h[i]] = $i; prev = "" } else prev = $1; split($0, h) }
		END { print v[want] + 0 }'
}
# ctl_bytes: bytes through the controller's link, both directions.
# /proc/net/dev is per network namespace; /sys/class/net is not (testbed
# exec keeps the mount namespace).
ctl_bytes() {
	tb_exec controller cat /proc/net/dev | awk '$1 == "eth0:" {print $2 + $10}'
}
flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }
# dp_stats NAME...: the data plane's counters, in that order.
dp_stats() {
	"$PRISM" switch stats --pin-dir "$PIN" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(str(d["data_plane"][n]) for n in sys.argv[1:]))' "$@"
}

# The controller's hand-offs, all backends.
handoffs() {
	tb_exec controller curl -s -m 3 http://127.0.0.1:9900/metrics |
		awk '/^prism_controller_handoffs_total/ {n += $2} END {print n + 0}'
}

SIZES=1024,4096,65536,1000000,2097152,8388608,3000,500000,1,7340032
timeouts0=$(counter TcpExtTCPTimeouts)
retrans0=$(counter TcpRetransSegs)
ctl0=$(ctl_bytes)
read -r claim0 unlock0 fast0 <<<"$(dp_stats claim unlock fast_ops)"
ho0=$(handoffs)
out=$(tb_exec client timeout 120 python3 "$TOOLS/keepalive_client.py" $VIP 80 $SIZES --count 100)
rc=$?
ctl1=$(ctl_bytes)
read -r claim1 unlock1 fast1 <<<"$(dp_stats claim unlock fast_ops)"
ho1=$(handoffs)
timeouts1=$(counter TcpExtTCPTimeouts)
retrans1=$(counter TcpRetransSegs)
summary=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
b = r["backends"]
alt = all(b[i] != b[i + 1] for i in range(len(b) - 1)) and set(b) == {"b1", "b2"}
print(r["requests"], len(r["bad"]), r["connections"], int(alt))' "$out" 2>&1)
read -r nreq nbad nconn alternate <<<"$summary"
if [[ $rc -eq 0 && $nreq == 100 && $nbad == 0 ]]; then
	ok "100 GETs (1 B .. 8 MB) on one keep-alive connection: every body exact"
else
	not_ok "100 GETs (1 B .. 8 MB) on one keep-alive connection: every body exact" "rc $rc: ${out:0:600}"
fi
[[ $nconn == 1 ]] && ok "the connection was never replaced" ||
	not_ok "the connection was never replaced" "connections: $nconn"
[[ $alternate == 1 ]] && ok "successive requests alternate between b1 and b2" ||
	not_ok "successive requests alternate between b1 and b2" "${out:0:400}"
[[ $((timeouts1 - timeouts0)) -eq 0 ]] && ok "client saw no retransmission timeout" ||
	not_ok "client saw no retransmission timeout" "TCPTimeouts +$((timeouts1 - timeouts0))"
echo "# client retransmitted segments during 100 GETs: $((retrans1 - retrans0))"
# Per request: the controller's LOCK and the backend's, both answered by
# the data plane; the backend's first segment claims, the controller's
# window update unlocks (docs/switch.md).  Plus, if it came before the
# second reading, the DELETE when the client closed.
# In adaptive delivery (the default) the small sizes are relayed until the
# connection's first hand-off (docs/delivery.md: a restored socket is not
# relayed on), touching no switch entry; everything else is handed off.
NHO=$((ho1 - ho0))
if [[ ${PRISM_DELIVERY:-adaptive} == adaptive ]]; then
	[[ $NHO -ge 60 && $NHO -lt 100 ]] && ok "adaptive delivery: $NHO hand-offs, the rest relayed" ||
		not_ok "adaptive delivery: 60..99 hand-offs, the rest relayed" "hand-offs $NHO"
else
	[[ $NHO == 100 ]] && ok "100 hand-offs" || not_ok "100 hand-offs" "hand-offs $NHO"
fi
d="claims +$((claim1 - claim0)), unlocks +$((unlock1 - unlock0)), fast ops +$((fast1 - fast0))"
if [[ ${PRISM_MODE:-switch} == host ]]; then
	# Host mode (docs/switch.md): nothing in band, every op local; the
	# client's segments reach each backend through its own host's check.
	owners=$(for b in b1 b2; do "$PRISM" switch stats --pin-dir "$PIN-$b" --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["data_plane"]["to_owner"])'; done | paste -sd' ')
	read -r own1 own2 <<<"$owners"
	[[ $((claim1 - claim0 + unlock1 - unlock0 + fast1 - fast0)) == 0 &&
		${own1:-0} -gt 0 && ${own2:-0} -gt 0 ]] &&
		ok "host mode, $NHO hand-offs: no in-band claim or unlock, no fast op; client segments delivered on b1 ($own1) and b2 ($own2)" ||
		not_ok "host mode: no in-band transition, client segments delivered on both backends' hosts" "$d; to_owner $owners"
else
	[[ $((claim1 - claim0)) == "$NHO" && $((unlock1 - unlock0)) == "$NHO" &&
		$((fast1 - fast0)) -ge $((2 * NHO)) && $((fast1 - fast0)) -le $((2 * NHO + 1)) ]] &&
		ok "$NHO hand-offs: $NHO in-band claims, $NHO in-band unlocks, $((2 * NHO)) fast LOCKs" ||
		not_ok "$NHO hand-offs: as many in-band claims and unlocks, two fast LOCKs each" "$d"
fi

# 10 rounds of the 10 sizes: 194 MB.
total=$((10 * (1024 + 4096 + 65536 + 1000000 + 2097152 + 8388608 + 3000 + 500000 + 1 + 7340032)))
ctl=$((ctl1 - ctl0))
pct=$(awk -v a=$ctl -v b=$total 'BEGIN {printf "%.3f", 100 * a / b}')
if [[ $ctl -gt 0 && $ctl -lt $((total / 50)) ]]; then
	ok "payload bypass: controller link carried $pct% of $total bytes (< 2%)"
else
	not_ok "payload bypass: controller link carried $pct% of $total bytes (< 2%)"
fi

# curl: several URLs on one connection, same bytes as from b1 directly.
B1=$(tb_addr b1)
urls=(/bytes/1000 /bytes/3000000 /bytes/20 /bytes/70000)
args=() dargs=()
for i in "${!urls[@]}"; do
	args+=(-o "$E2E_TMP/p$i" "http://$VIP${urls[$i]}")
	dargs+=(-o "$E2E_TMP/d$i" "http://$B1${urls[$i]}")
done
conns=$(tb_exec client curl -s -w '%{num_connects} %{http_code}\n' "${args[@]}")
tb_exec client curl -s "${dargs[@]}"
same=1
for i in "${!urls[@]}"; do cmp -s "$E2E_TMP/p$i" "$E2E_TMP/d$i" || same=0; done
[[ $(awk '{c += $1} END {print c}' <<<"$conns") == 1 && $(grep -c ' 200$' <<<"$conns") == 4 ]] &&
	ok "curl: 4 URLs over one connection, all 200" ||
	not_ok "curl: 4 URLs over one connection, all 200" "$conns"
[[ $same == 1 ]] && ok "curl: bytes through Prism equal bytes from b1 directly (direct mode)" ||
	not_ok "curl: bytes through Prism equal bytes from b1 directly (direct mode)"

# Direct mode with the python client: b1 without Prism.
out=$(tb_exec client timeout 60 python3 "$TOOLS/keepalive_client.py" "$B1" 80 $SIZES --count 10)
grep -q '"bad": \[\]' <<<"$out" && grep -q '"requests": 10' <<<"$out" &&
	ok "direct mode: python client against b1 gets exact bodies" ||
	not_ok "direct mode: python client against b1 gets exact bodies" "${out:0:300}"

# wrk: duration-bounded, 2 keep-alive connections.
timeouts0=$(counter TcpExtTCPTimeouts)
out=$(tb_exec client wrk -t1 -c2 -d3s --timeout 2s "http://$VIP/bytes/65536" 2>&1)
timeouts1=$(counter TcpExtTCPTimeouts)
reqs=$(awk '/requests in/ {print $1}' <<<"$out")
if [[ -n $reqs && $reqs -gt 10 ]] && ! grep -qE 'Socket errors|Non-2xx' <<<"$out"; then
	ok "wrk: $reqs requests in 3 s on 2 connections, no socket errors, all 2xx"
else
	not_ok "wrk: requests flow without socket errors" "$out"
fi
[[ $((timeouts1 - timeouts0)) -eq 0 ]] && ok "wrk: client saw no retransmission timeout" ||
	not_ok "wrk: client saw no retransmission timeout" "TCPTimeouts +$((timeouts1 - timeouts0))"

# raw REQ: the JSON rawhttp.py prints for a raw request to the VIP.
raw() { tb_exec client timeout 20 python3 "$TOOLS/rawhttp.py" $VIP 80 "$@"; }
expect_status() {
	local name=$1 want=$2 out
	shift 2
	out=$(raw "$@")
	if grep -q "\"status\": $want," <<<"$out" && grep -q '"closed": true' <<<"$out"; then
		ok "$name: $want and the connection closed"
	else
		not_ok "$name: $want and the connection closed" "$out"
	fi
}
expect_status "malformed request" 400 'GARBAGE\r\n\r\n'
expect_status "request smuggling (Content-Length and Transfer-Encoding)" 400 \
	'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
big=$(printf 'X-Big: %020000d\\r\\n' 0)
expect_status "head too large" 431 "GET / HTTP/1.1\\r\\nHost: x\\r\\n$big\\r\\n"
expect_status "unsupported method" 501 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n'
expect_status "HTTP/1.0 request served, then closed" 200 'GET /bytes/1000 HTTP/1.0\r\n\r\n'
expect_status "Connection: close served, then closed" 200 \
	'GET /bytes/5000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
out=$(raw 'GET /bytes/100 HTTP/1.0\r\n\r\n')
grep -q '"bytes": [0-9]*' <<<"$out" && python3 -c '
import json, sys
r = json.loads(sys.argv[1])
sys.exit(0 if r["bytes"] == len(r["head"]) + 4 + 100 else 1)' "$out" &&
	ok "HTTP/1.0: exactly head + 100 body bytes" ||
	not_ok "HTTP/1.0: exactly head + 100 body bytes" "$out"

# A client that closes between requests, and one that aborts mid-response.
out=$(raw 'GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n' --read 150)
out=$(raw 'GET /bytes/67108864 HTTP/1.1\r\nHost: x\r\n\r\n' --abort-after 200000)
sleep 1
n=$(flows)
[[ $n == 0 ]] && ok "clients closing between requests and mid-response leave no switch entry" ||
	not_ok "clients closing between requests and mid-response leave no switch entry" "flows: $n" "$("$PRISM" switch flows --pin-dir "$PIN" 2>&1 | head)"
out=$(tb_exec client timeout 60 python3 "$TOOLS/keepalive_client.py" $VIP 80 1024,2097152 --count 4)
grep -q '"bad": \[\]' <<<"$out" && ok "requests after the aborts are served" ||
	not_ok "requests after the aborts are served" "$out"

# Host mode: the backends' own tables are empty too (each hand-back
# removes its entry there).
if [[ ${PRISM_MODE:-switch} == host ]]; then
	left=$(for b in b1 b2; do "$PRISM" switch stats --pin-dir "$PIN-$b" | awk '/^flow table:/ {print $3}'; done | paste -sd' ')
	[[ $left == "0 0" ]] && ok "host mode: the backends' hosts hold no entry after the clients left" ||
		not_ok "host mode: the backends' hosts hold no entry after the clients left" "b1 b2: $left"
fi

# No backend reachable: 503.
for b in b1 b2; do kill "$(cat "$RUN/$b.pid")"; done
sleep 0.5
expect_status "no backend reachable" 503 'GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n'
n=$(flows)
[[ $n == 0 ]] && ok "switch table empty at the end" || not_ok "switch table empty at the end" "flows: $n"
check "prism down" "$PRISM" down
[[ ! -e $PIN/flows ]] && ok "switch maps unpinned after prism down" ||
	not_ok "switch maps unpinned after prism down" "$(ls "$PIN")"
grep -h "late_segments\|handoffs" "$RUN/controller.log" | tail -n 3 | sed 's/^/# /'
# Under the sanitizer pass of tests/run.sh the daemons may also report
# into their logs.
reports=$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' "$RUN"/*.log 2>/dev/null)
[[ -z $reports ]] && ok "no sanitizer report in the daemons' logs" ||
	not_ok "no sanitizer report in the daemons' logs" "$(grep -hE -A12 'Sanitizer|runtime error' $reports | head -n 40)"
finish
