#!/bin/bash
# Link shaping: a bulk TCP transfer (iperf3, 3 s) over a shaped link lands
# within 15% of the configured rate, on host-side and fabric-side egress,
# at a non-default rate and at the default 1000 Mbit/s.  iperf3 reports
# TCP payload, about 95% of the link's bytes at a 1500-byte MTU.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd iperf3 python3 ss
export PRISM_TESTBED=t-tbshape
SECS=3

on_exit '"$PRISM" testbed down >/dev/null 2>&1'

# mbit FROM TO: Mbit/s received by TO from FROM in a SECS-second transfer.
mbit() {
	local from=$1 to=$2 addr json
	addr=$(tb_addr "$to")
	tb_exec "$to" iperf3 -s -1 -B "$addr" >/dev/null 2>&1 &
	local srv=$!
	wait_listen "$to" 5201 || { kill $srv; echo 0; return; }
	json=$(tb_exec "$from" iperf3 -c "$addr" -t $SECS -J 2>/dev/null)
	wait $srv
	python3 -c 'import json,sys
print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' \
		<<<"$json" 2>/dev/null || echo 0
}

# rate_case FROM TO WANT WHAT: one case, within 15% of WANT Mbit/s.
rate_case() {
	local from=$1 to=$2 want=$3 what=$4 got
	got=$(mbit "$from" "$to")
	if ((got * 100 >= want * 85 && got * 100 <= want * 115)); then
		ok "$from -> $to: $got Mbit/s, within 15% of $want ($what)"
	else
		not_ok "$from -> $to: $got Mbit/s, not within 15% of $want ($what)"
	fi
}

check "up --link-mbit 200 --client-mbit 100" \
	"$PRISM" testbed up --backends 2 --link-mbit 200 --client-mbit 100 ||
	finish
rate_case b1 b2 200 "b1 eth0 and fabric b2 egress at 200"
rate_case client b1 100 "client eth0 egress at 100"
rate_case b1 client 100 "b1 sends at 200, fabric egress to client at 100"

check "up again with the defaults (rebuild)" "$PRISM" testbed up
rate_case controller b1 1000 "default links 1000"
check "testbed down" "$PRISM" testbed down
finish
