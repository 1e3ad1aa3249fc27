#!/bin/bash
# Unmodified clients that half-close and pipeline (issue 14): a raw-socket
# client (tools/pipeline_client.py) and h2load, through the VIP, every
# body exact, the close orderly, no reset, no retransmission timeout, no
# stall (a correctness bound: direct access answers in milliseconds).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
export PRISM_TESTBED=${CL_TESTBED:-t-cl}
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
PIN=/sys/fs/bpf/$PRISM_TESTBED
RUN=/run/prism/$PRISM_TESTBED

check "testbed up" "$PRISM" testbed up --backends 2 || finish
if ! check "prism up" "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

# counter NAME: a TCP counter of the client host.
counter() {
	tb_exec client cat /proc/net/netstat /proc/net/snmp | awk -v want="$1" '
		{ if (p == $1) { for (i = 2; i <= NF; i++) v[substr($1, 1, length($1) - 1) h[i]] = $i; p = "" }
		  else { p = $1; split($0, h) } }
		END { print v[want] + 0 }'
}
flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }
# field JSON KEY: one field of the client's JSON line.
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
# lt A B: A < B as numbers.
lt() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }

timeouts0=$(counter TcpExtTCPTimeouts)

# ---- half-close: the FIN at each moment of a request's life ----
halfclose_case() {
	local name=$1 size=$2
	shift 2
	local out rc
	out=$(tb_exec client timeout 30 python3 "$TOOLS/pipeline_client.py" \
		halfclose $VIP 80 "$size" "$@")
	rc=$?
	if [[ $rc -eq 0 ]] && lt "$(field "$out" seconds)" 5; then
		ok "$name"
	else
		not_ok "$name" "rc $rc: $out"
	fi
}
halfclose_case "half-close with the request: all 3,000,000 bytes, then an orderly close" 3000000
halfclose_case "half-close with the request, small object" 1000
halfclose_case "half-close while the backend serves: complete, orderly close" 3000000 --after-ms 5
halfclose_case "half-close after 3 pipelined requests: all 3 answered, then closed" 100000 --count 3
halfclose_case "half-close during the first response of 2" 2000000 --count 2 --after-ms 1

# ---- pipelining ----
pipeline_case() {
	local name=$1 sizes=$2 depth=$3 count=$4 out rc
	out=$(tb_exec client timeout 60 python3 "$TOOLS/pipeline_client.py" \
		pipeline $VIP 80 "$sizes" --depth "$depth" --count "$count")
	rc=$?
	local gap
	gap=$(field "$out" max_gap_ms)
	if [[ $rc -eq 0 ]] && lt "$gap" 1000; then
		ok "$name"
	else
		not_ok "$name" "rc $rc: ${out:0:600}"
	fi
	echo "# $name: $(field "$out" rate) req/s, longest gap $gap ms"
	PIPE_OUT=$out
}
pipeline_case "4 pipelined 1 KB requests at a time, 200 in all: each once, in order" 1024 4 200
pipeline_case "depth 8, sizes 1 B .. 1 MB mixed, 120 in all" 1,100000,1024,1000000,65536,10 8 120
backends=$(field "$PIPE_OUT" backends)
if grep -q b1 <<<"$backends" && grep -q b2 <<<"$backends"; then
	ok "pipelined requests go through the policy: both backends served"
else
	not_ok "pipelined requests go through the policy: both backends served" "$backends"
fi

if command -v h2load >/dev/null; then
	for size in 10240 102400 1048576; do
		out=$(tb_exec client timeout 60 h2load --h1 -c 4 -m 4 -n 400 \
			"http://$VIP/bytes/$size" 2>&1)
		line=$(grep -E '^requests:' <<<"$out")
		if grep -qE 'requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored' <<<"$out"; then
			ok "h2load --h1 -c 4 -m 4, $size B: 400 of 400 succeeded"
		else
			not_ok "h2load --h1 -c 4 -m 4, $size B: 400 of 400 succeeded" "$line" "$(tail -5 <<<"$out")"
		fi
		echo "# h2load $size B: $(grep -E '^finished in' <<<"$out")"
	done
else
	skip "h2load pipelining" "h2load not installed (nghttp2-client, scripts/deps.sh)"
fi

timeouts1=$(counter TcpExtTCPTimeouts)
[[ $((timeouts1 - timeouts0)) -eq 0 ]] && ok "the client saw no retransmission timeout" ||
	not_ok "the client saw no retransmission timeout" "TCPTimeouts +$((timeouts1 - timeouts0))"
sleep 0.5
n=$(flows)
[[ $n == 0 ]] && ok "switch table empty at the end" || not_ok "switch table empty at the end" "$n entries"
check "prism down" "$PRISM" down
finish
