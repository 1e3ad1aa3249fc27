#!/bin/bash
# Fault (issue 6): the switch's flow table is full.  The switch agent runs
# with --table-size 2; two 64 MB downloads hold both entries (200 Mbit/s
# links: ~3 s each).  A third request must be answered 503 at once (the
# controller's LOCK gets ENOSPC), counted by the controller
# (handoff_failures_total{reason="switch"}) and by the switch (table_full,
# or fast_table_full when the data plane answered the LOCK itself);
# the two downloads get every byte; afterwards the table is empty, the
# controller keeps no extra fd and new requests are served.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl python3
export PRISM_TESTBED=t-h11-full
RUN=/run/prism/$PRISM_TESTBED
PIN=/sys/fs/bpf/$PRISM_TESTBED
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
BIG=/bytes/67108864
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"

check "testbed up (2 backends, 200 Mbit/s)" "$PRISM" testbed up --backends 2 --link-mbit 200 || finish
if ! check "prism up" "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

stats() { "$PRISM" switch stats --pin-dir "$PIN"; }
flows() { stats | awk '/^flow table:/ {print $3}'; }
capacity() { stats | awk '/^flow table:/ {print $5}'; }
table_full() { stats | awk '$1 == "table_full" || $1 == "fast_table_full" {n += $2} END {print n}'; }
pid_of() { cat "$RUN/$1.pid"; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
metric_switch() {
	tb_exec controller curl -s -m 2 http://127.0.0.1:9900/metrics |
		awk '/^prism_controller_handoff_failures_total/ && /reason="switch"/ {print $2}'
}
# wait_flows N SECONDS: until the switch table holds N entries.
wait_flows() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ $(flows) == "$1" ]] && return 0
		sleep 0.1
	done
	return 1
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
# fetch NAME: a 64 MB download in the background (fault_client.py checks
# every byte); NAME.mark appears after the first 100 kB.
fetch() {
	tb_exec client timeout 25 python3 "$TOOLS/fault_client.py" $VIP 80 $BIG \
		"$E2E_TMP/$1.mark" --mark-after 100000 --timeout 5 >"$E2E_TMP/$1.json" 2>&1 &
	echo $! >"$E2E_TMP/$1.pid"
}
wait_mark() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $E2E_TMP/$1.mark ]] && { cat "$E2E_TMP/$1.mark"; return 0; }
		sleep 0.05
	done
	return 1
}
code_of() { tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP$1"; }

# Replace prism up's agent by one with a table of 2 flows (same command
# line otherwise).  SIGTERM: it removes its pins and detaches.
sw_pid=$(pid_of switch)
mapfile -d '' sw_argv <"/proc/$sw_pid/cmdline"
kill "$sw_pid"
for ((i = 0; i < 100; i++)); do kill -0 "$sw_pid" 2>/dev/null || break; sleep 0.05; done
rm -f "$RUN/switch.ready"
# Not through tb_exec: a function in the background is a subshell, and
# its pid would not be the agent's (prism down stops switch.pid).
"$PRISM" testbed exec fabric -- "$PRISM" "${sw_argv[@]:1}" --table-size 2 >>"$RUN/switch.log" 2>&1 &
new_sw=$!
echo "$new_sw" >"$RUN/switch.pid"
on_exit "kill $new_sw 2>/dev/null; wait $new_sw 2>/dev/null"
for ((i = 0; i < 200; i++)); do [[ -e $RUN/switch.ready ]] && break; sleep 0.05; done
cap=$(capacity)
if [[ $cap != 2 ]]; then
	not_ok "switch agent restarted with --table-size 2" "capacity: ${cap:-none}" "$(tail -n 5 "$RUN/switch.log")"
	finish
fi
ok "switch agent restarted with --table-size 2"

# Warm up: channels to both backends exist, the agent knows every peer.
for i in 1 2 3 4; do code_of /bytes/1000 >/dev/null; done
sleep 0.3
ctl_fds0=$(nfds "$(pid_of controller)")
full0=$(table_full)
sw0=$(metric_switch)

fetch a
va=$(wait_mark a)
fetch b
vb=$(wait_mark b)
if [[ -z $va || -z $vb ]] || ! wait_flows 2 2; then
	not_ok "two downloads hold both entries" "marks: '$va' '$vb', flows: $(flows)" "$(cat "$E2E_TMP"/*.json 2>/dev/null)"
	finish
fi
ok "two 64 MB downloads ($va, $vb) hold both entries of the table"

# The third request, on a new connection, while the table is full: one
# to hand off (larger than the relay limit).
t0=$(date +%s.%N)
out=$(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "http://$VIP/bytes/100000")
rc=$?
t1=$(date +%s.%N)
code=${out%% *}
dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
busy=$(flows)
if [[ $code == 503 ]] && awk -v d="$dt" 'BEGIN {exit !(d < 1.0)}'; then
	ok "table full: a third request gets 503 in $dt s"
else
	not_ok "table full: a third request gets 503 quickly" "code ${code:-none} (curl exit $rc) after $dt s, flows $busy" \
		"$(grep -i 'switch' "$RUN/controller.log" | tail -n 3)"
fi
sw1=$(metric_switch)
full1=$(table_full)
[[ $((${sw1:-0} - ${sw0:-0})) -ge 1 ]] &&
	ok "table full: counted by the controller (handoff_failures_total{reason=\"switch\"} ${sw0:-0} -> $sw1)" ||
	not_ok "table full: counted by the controller (handoff_failures_total{reason=\"switch\"})" "${sw0:-none} -> ${sw1:-none}"
[[ $((${full1:-0} - ${full0:-0})) -ge 1 ]] &&
	ok "table full: counted by the switch (table_full ${full0:-0} -> $full1)" ||
	not_ok "table full: counted by the switch (table_full)" "${full0:-none} -> ${full1:-none}" "$(stats | tail -n 12)"
[[ $busy == 2 ]] && ok "table full: the failed request left no entry (2 / 2)" ||
	not_ok "table full: the failed request left no entry" "flows: $busy"
# A small response is relayed (adaptive delivery): it needs no entry.
if [[ ${PRISM_DELIVERY:-adaptive} == adaptive ]]; then
	code=$(code_of /bytes/1000)
	[[ $code == 200 && $(flows) == 2 ]] &&
		ok "table full: a small request is still served, relayed (200, no entry)" ||
		not_ok "table full: a small request is still served, relayed" "code $code, flows $(flows)"
fi

for n in a b; do wait "$(cat "$E2E_TMP/$n.pid")" 2>/dev/null; done
[[ $(json "$E2E_TMP/a.json" complete) == True && $(json "$E2E_TMP/b.json" complete) == True ]] &&
	ok "both 64 MB downloads complete, every byte" ||
	not_ok "both 64 MB downloads complete, every byte" "$(cat "$E2E_TMP/a.json")" "$(cat "$E2E_TMP/b.json")"
wait_flows 0 3 && ok "the table is empty once the downloads ended" ||
	not_ok "the table is empty once the downloads ended" "$("$PRISM" switch flows --pin-dir "$PIN" 2>&1 | head)"
code=$(code_of /bytes/1000)
[[ $code == 200 ]] && ok "a new request is served afterwards" ||
	not_ok "a new request is served afterwards" "code $code" "$(tail -n 3 "$RUN/controller.log")"
# The lowest of a few samples: health checks open short-lived sockets.
ctl_fds1=999
for i in 1 2 3 4 5; do
	sleep 0.2
	n=$(nfds "$(pid_of controller)")
	[[ $n -lt $ctl_fds1 ]] && ctl_fds1=$n
done
[[ $ctl_fds1 -le $ctl_fds0 ]] && ok "controller fds: $ctl_fds0 -> $ctl_fds1 (no socket leaked)" ||
	not_ok "controller fds: $ctl_fds0 -> $ctl_fds1 (no socket leaked)" "$(ls -l /proc/$(pid_of controller)/fd | tail -n 5)"
finish
