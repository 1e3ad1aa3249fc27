#!/bin/bash
# In-band unlock lost (docs/handoff.md): the controller re-opens the
# client's window after a hand-back with a marked window update that also
# removes the flow's switch entry as it passes.  If that packet is lost
# before the switch, the flow stays locked and the client's zero-window
# probes would be dropped forever; the controller's fallback (a client
# silent for 200 ms gets its entry removed through the agent and a second
# window update) must keep the connection alive.  A tc program on the
# controller's egress (tools/drop_mark.bpf.c, loaded by tc) drops every
# packet carrying the mark; requests on one
# keep-alive connection must all succeed, each one after a fallback, and
# with the filter gone, none may need it.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3 tc clang
export PRISM_TESTBED=t-inband
PIN=/sys/fs/bpf/$PRISM_TESTBED
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"

check "testbed up" "$PRISM" testbed up --backends 2 || finish
check "prism up" "$PRISM" up || finish

fallbacks() {
	tb_exec controller curl -s -m 2 http://127.0.0.1:9900/metrics |
		awk '$1 == "prism_controller_unlock_fallbacks_total" {print $2}'
}
dp() {
	"$PRISM" switch stats --pin-dir "$PIN" --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["data_plane"][sys.argv[1]])' "$1"
}
# run N: N GETs of 1 KB on one keep-alive connection; prints requests,
# wrong bodies, connections.
run() {
	# Larger than the relay limit: handed off in either delivery mode.
	tb_exec client timeout 30 python3 "$TOOLS/keepalive_client.py" $VIP 80 20000 --count "$1" |
		python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["requests"], len(r["bad"]), r["connections"])'
}

check "build the mark-dropping tc program" clang -O2 -g -target bpf \
	-I/usr/include/"$(cc -print-multiarch)" -c "$TOOLS/drop_mark.bpf.c" -o "$E2E_TMP/drop_mark.o" || finish
check "drop marked packets on the controller's egress" \
	tb_exec controller sh -c "tc qdisc add dev eth0 clsact &&
		tc filter add dev eth0 egress bpf da obj $E2E_TMP/drop_mark.o sec tc" || finish
f0=$(fallbacks)
u0=$(dp unlock)
read -r nreq nbad nconn <<<"$(run 5)"
sleep 0.5 # the last hand-back's fallback: the client's FIN waits for it
f1=$(fallbacks)
u1=$(dp unlock)
[[ $nreq == 5 && $nbad == 0 && $nconn == 1 ]] &&
	ok "unlocks lost: 5 requests on one connection, every body exact" ||
	not_ok "unlocks lost: 5 requests on one connection, every body exact" "requests $nreq, bad $nbad, connections $nconn"
[[ $((f1 - f0)) == 5 && $((u1 - u0)) == 0 ]] &&
	ok "each lost unlock was repaired by the fallback ($((f1 - f0)) fallbacks)" ||
	not_ok "each lost unlock was repaired by the fallback" "fallbacks +$((f1 - f0)), in-band unlocks +$((u1 - u0))"

check "filter removed" tb_exec controller tc qdisc del dev eth0 clsact
read -r nreq nbad nconn <<<"$(run 5)"
f2=$(fallbacks)
u2=$(dp unlock)
[[ $nreq == 5 && $nbad == 0 && $nconn == 1 ]] &&
	ok "unlocks delivered: 5 requests on one connection, every body exact" ||
	not_ok "unlocks delivered: 5 requests on one connection" "requests $nreq, bad $nbad, connections $nconn"
[[ $((f2 - f1)) == 0 && $((u2 - u1)) == 5 ]] &&
	ok "unlocks delivered: 5 in-band unlocks, no fallback" ||
	not_ok "unlocks delivered: 5 in-band unlocks, no fallback" "fallbacks +$((f2 - f1)), in-band unlocks +$((u2 - u1))"
n=$("$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}')
[[ $n == 0 ]] && ok "switch table empty at the end" || not_ok "switch table empty at the end" "flows: $n"
check "prism down" "$PRISM" down
finish
