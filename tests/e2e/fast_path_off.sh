#!/bin/bash
# A switch without the fast path (`prism switch run --fast-path off`): the
# controller's and backends' LOCKs get no answer from the data plane, so
# they fall back to the agent (docs/switch.md) and every request must still
# be served, exactly, with the agent executing the ops; a wrong value for
# the flag is refused.  Then the fast path back on: the data plane answers
# again (the clients re-probe it after SWITCH_FAST_RETRY_S, 10 s).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
export PRISM_TESTBED=t-fastoff
RUN=/run/prism/$PRISM_TESTBED
PIN=/sys/fs/bpf/$PRISM_TESTBED
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"

check_rc "--fast-path maybe is refused (exit 2)" 2 "$PRISM" switch run --fast-path maybe
check "testbed up" "$PRISM" testbed up --backends 2 || finish
check "prism up" "$PRISM" up || finish

stat() {
	"$PRISM" switch stats --pin-dir "$PIN" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["data_plane"]["fast_ops"], d["agent"]["ops"])'
}
# restart_agent FLAGS...: prism up's agent again, with FLAGS appended.
restart_agent() {
	local pid i
	pid=$(cat "$RUN/switch.pid")
	mapfile -d '' argv <"/proc/$pid/cmdline"
	kill "$pid"
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	rm -f "$RUN/switch.ready"
	"$PRISM" testbed exec fabric -- "$PRISM" "${argv[@]:1}" "$@" >>"$RUN/switch.log" 2>&1 &
	echo $! >"$RUN/switch.pid"
	for ((i = 0; i < 200; i++)); do [[ -e $RUN/switch.ready ]] && return 0; sleep 0.05; done
	return 1
}
run() {
	# Both larger than the relay limit: handed off in either delivery mode.
	tb_exec client timeout 60 python3 "$TOOLS/keepalive_client.py" $VIP 80 20000,70000 --count "$1" |
		python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["requests"], len(r["bad"]))'
}

check "switch agent restarted with --fast-path off" restart_agent --fast-path off || finish
read -r f0 a0 <<<"$(stat)"
read -r nreq nbad <<<"$(run 20)"
read -r f1 a1 <<<"$(stat)"
[[ $nreq == 20 && $nbad == 0 ]] &&
	ok "fast path off: 20 requests, every body exact" ||
	not_ok "fast path off: 20 requests, every body exact" "requests $nreq, bad $nbad"
# Two LOCKs per request, through the agent; none answered by the data plane.
[[ $((f1 - f0)) == 0 && $((a1 - a0)) -ge 40 ]] &&
	ok "fast path off: no fast op, the agent executed $((a1 - a0)) ops" ||
	not_ok "fast path off: the agent executes the LOCKs" "fast ops +$((f1 - f0)), agent ops +$((a1 - a0))"

check "switch agent restarted with the fast path on" restart_agent --fast-path on || finish
sleep 10.5 # the clients ask the data plane again after 10 s
read -r f2 a2 <<<"$(stat)"
read -r nreq nbad <<<"$(run 20)"
read -r f3 a3 <<<"$(stat)"
[[ $nreq == 20 && $nbad == 0 && $((f3 - f2)) -ge 40 ]] &&
	ok "fast path on again: 20 requests exact, $((f3 - f2)) fast ops" ||
	not_ok "fast path on again: the data plane answers" "requests $nreq, bad $nbad, fast ops +$((f3 - f2)), agent ops +$((a3 - a2))" "$("$PRISM" switch stats --pin-dir "$PIN" | grep -E 'fast|not_tcp|bad_magic')"
n=$("$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}')
[[ $n == 0 ]] && ok "switch table empty at the end" || not_ok "switch table empty at the end" "flows: $n"
check "prism down" "$PRISM" down
finish
