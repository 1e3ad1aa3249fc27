#!/bin/bash
# Faults (issue 6): a backend killed (SIGKILL) in the middle of a response,
# a backend that stops answering hand-offs (SIGSTOP), the switch agent
# restarted, the controller restarted.  Asserts what the clients saw, the
# switch table and the controller's open fds afterwards.  One testbed with
# 3 backends and 200 Mbit/s links (a 64 MB response takes ~3 s, long
# enough to hit it mid-flight).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl python3
export PRISM_TESTBED=t-h9-fault
RUN=/run/prism/$PRISM_TESTBED
PIN=/sys/fs/bpf/$PRISM_TESTBED
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
BIG=/bytes/67108864
on_exit "for b in b1 b2 b3; do kill -CONT \$(cat $RUN/\$b.pid 2>/dev/null) 2>/dev/null; done; $PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"

check "testbed up (3 backends, 200 Mbit/s)" "$PRISM" testbed up --backends 3 --link-mbit 200 || finish
if ! check "prism up" "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }
pid_of() { cat "$RUN/$1.pid"; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# wait_flows N SECONDS: until the switch table holds N entries.
wait_flows() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ $(flows) == "$1" ]] && return 0
		sleep 0.1
	done
	return 1
}
# json FILE KEY: a field of fault_client.py's report.
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
# fetch NAME PATH [TIMEOUT]: fault_client.py in the background; its
# report lands in $E2E_TMP/NAME.json, the serving backend in NAME.mark.
fetch() {
	tb_exec client timeout 30 python3 "$TOOLS/fault_client.py" $VIP 80 "$2" \
		"$E2E_TMP/$1.mark" --mark-after 100000 --timeout "${3:-5}" >"$E2E_TMP/$1.json" 2>&1 &
	echo $! >"$E2E_TMP/$1.pid"
}
# wait_fetch NAME...: until those downloads ended (a plain `wait` would
# also wait for the daemons restarted below).
wait_fetch() {
	local n
	for n in "$@"; do wait "$(cat "$E2E_TMP/$n.pid")" 2>/dev/null; done
}
wait_mark() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $E2E_TMP/$1.mark ]] && { cat "$E2E_TMP/$1.mark"; return 0; }
		sleep 0.05
	done
	return 1
}
# served N: N small GETs on new connections; prints the non-200 codes.
served() {
	local i out=
	for ((i = 0; i < $1; i++)); do
		out+=$(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code} ' "http://$VIP/bytes/1000")
	done
	tr ' ' '\n' <<<"$out" | grep -v '^200$' | grep . | sort | uniq -c | tr '\n' ' '
}

# Warm up: the controller's channels to every backend exist.
served 3 >/dev/null
sleep 0.3
ctl_fds0=$(nfds "$(pid_of controller)")

# --- 1. backend killed mid-response ------------------------------------
fetch a $BIG
va=$(wait_mark a)
fetch b $BIG
vb=$(wait_mark b)
if [[ -z $va || -z $vb || $va == "$vb" ]]; then
	skip "backend killed mid-response" "could not get two downloads on two backends ($va, $vb)"
else
	victim_pid=$(pid_of "$va")
	kill -9 "$victim_pid"
	t_kill=$(date +%s.%N)
	wait_fetch a b
	t_end=$(json "$E2E_TMP/a.json" t_end)
	ended=$(python3 -c "import json; r = json.load(open('$E2E_TMP/a.json')); print('reset' if r['reset'] else 'eof' if r['eof'] else 'timeout' if r['timeout'] else 'complete' if r['complete'] else 'other')" 2>&1)
	dt=$(awk -v a="$t_kill" -v b="$t_end" 'BEGIN {printf "%.3f", b - a}')
	if [[ $ended == reset || $ended == eof ]] && [[ $(json "$E2E_TMP/a.json" complete) == False ]] &&
		awk -v d="$dt" 'BEGIN {exit !(d < 1.0)}'; then
		ok "backend $va killed mid-response: the client's connection ended ($ended) ${dt} s later"
	elif [[ $ended == timeout ]]; then
		not_ok "backend $va killed mid-response: the client's connection ends within 1 s" \
			"the client stalled (no reset, $(json "$E2E_TMP/a.json" body) bytes)"
	else
		not_ok "backend $va killed mid-response: the client's connection ends within 1 s" \
			"ended: $ended after $dt s" "$(cat "$E2E_TMP/a.json")"
	fi
	[[ $(json "$E2E_TMP/b.json" complete) == True ]] &&
		ok "a concurrent 64 MB download from $vb is unaffected (every byte)" ||
		not_ok "a concurrent 64 MB download from $vb is unaffected" "$(cat "$E2E_TMP/b.json")"
	wait_flows 0 3 && ok "no switch entry left behind for the killed backend's flow" ||
		not_ok "no switch entry left behind for the killed backend's flow" \
			"$("$PRISM" switch flows --pin-dir "$PIN" 2>&1 | head)"
	bad=$(served 12)
	[[ -z $bad ]] && ok "12 later requests on new connections: all 200 (the dead backend is skipped)" ||
		not_ok "12 later requests on new connections: all 200 (the dead backend is skipped)" "non-200: $bad" \
			"$(grep -i "$va" "$RUN/controller.log" | tail -n 5)"
	out=$(tb_exec client timeout 30 python3 "$TOOLS/keepalive_client.py" $VIP 80 1024,65536 --count 10)
	grep -q '"bad": \[\]' <<<"$out" && ok "10 later requests on one keep-alive connection: exact bodies" ||
		not_ok "10 later requests on one keep-alive connection: exact bodies" "${out:0:300}"
	# The lowest of a few samples: health checks open short-lived sockets.
	ctl_fds1=999
	for i in 1 2 3 4 5; do
		sleep 0.3
		n=$(nfds "$(pid_of controller)")
		[[ $n -lt $ctl_fds1 ]] && ctl_fds1=$n
	done
	# The dead backend's channel is gone: one fd fewer is fine, more is a leak.
	[[ $ctl_fds1 -le $ctl_fds0 ]] && ok "controller fds after the kill: $ctl_fds0 -> $ctl_fds1 (no socket leaked)" ||
		not_ok "controller fds after the kill: $ctl_fds0 -> $ctl_fds1 (no socket leaked)" "$(ls -l /proc/$(pid_of controller)/fd | tail -n 5)"
	dead=$va
fi

# --- 2. a backend that never answers a hand-off (SIGSTOP) --------------
# Stopped: its kernel still accepts on the hand-off channel, nothing
# answers.  The controller must time out (2 s), answer 503 (nothing was
# sent yet), mark it down and send later requests elsewhere.
for b in b1 b2 b3; do [[ $b != "${dead:-}" ]] && stopped=$b && break; done
kill -STOP "$(pid_of "$stopped")"
codes=
t0=$(date +%s.%N)
for i in 1 2 3; do
	codes+=$(tb_exec client curl -s -m 8 -o /dev/null -w '%{http_code} ' "http://$VIP/bytes/1000")
done
t1=$(date +%s.%N)
dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
n503=$(grep -o 503 <<<"$codes" | wc -l)
n200=$(grep -o 200 <<<"$codes" | wc -l)
[[ $n503 -le 1 && $((n503 + n200)) -eq 3 ]] &&
	ok "backend $stopped stopped: 3 requests answered ($codes) in $dt s, at most one 503" ||
	not_ok "backend $stopped stopped: one hand-off timeout gives a 503, the rest is served elsewhere" \
		"codes: $codes in $dt s" "$(grep -iE "$stopped|timeout" "$RUN/controller.log" | tail -n 5)"
bad=$(served 6)
[[ -z $bad ]] && ok "backend $stopped marked down: 6 more requests all 200" ||
	not_ok "backend $stopped marked down: 6 more requests all 200" "non-200: $bad"
kill -CONT "$(pid_of "$stopped")"
# Host mode: the HANDOFF it reads on waking was called off (CLOSED behind
# it); it must drop it, not take the connection the controller has back.
if [[ ${PRISM_MODE:-switch} == host ]] &&
	grep -q "hand-off to $stopped failed: timed out" "$RUN/controller.log"; then
	for ((i = 0; i < 20; i++)); do
		off=$(tb_exec "$stopped" curl -s -m 2 http://127.0.0.1:9900/metrics |
			awk '/^prism_backend_handoff_events_total/ && /event="called_off"/ {print $2}')
		[[ ${off:-0} -ge 1 ]] && break
		sleep 0.1
	done
	[[ ${off:-0} -ge 1 ]] && ok "host mode: $stopped, resumed, dropped the hand-off called off meanwhile" ||
		not_ok "host mode: $stopped, resumed, dropped the hand-off called off meanwhile" \
			"called_off ${off:-none}" "$(grep -v ' info:' "$RUN/$stopped.log" | tail -n 5)"
fi
wait_flows 0 3 && ok "switch table empty after the hand-off timeout" ||
	not_ok "switch table empty after the hand-off timeout" "$("$PRISM" switch flows --pin-dir "$PIN" 2>&1 | head)"

# --- 3. the switch agent restarted --------------------------------------
# A download in flight owns a flow; the agent is killed and started again
# with the same command line (SIGKILL: no chance to clean up).
# Host mode: the agent of the controller's host, which holds the table.
SW=switch SW_HOST=fabric
[[ ${PRISM_MODE:-switch} == host ]] && SW=agent-controller SW_HOST=controller
sw_pid=$(pid_of $SW)
mapfile -d '' sw_argv <"/proc/$sw_pid/cmdline"
fetch c $BIG
wait_mark c >/dev/null
kill -9 "$sw_pid"
while kill -0 "$sw_pid" 2>/dev/null; do sleep 0.05; done
rm -f "$RUN/$SW.ready"
tb_exec $SW_HOST "$PRISM" "${sw_argv[@]:1}" >>"$RUN/$SW.log" 2>&1 &
new_sw=$!
echo "$new_sw" >"$RUN/$SW.pid"
on_exit "kill $new_sw 2>/dev/null; wait $new_sw 2>/dev/null"
for ((i = 0; i < 100; i++)); do [[ -e $RUN/$SW.ready ]] && break; sleep 0.05; done
t_ready=$(date +%s.%N)
n=$(flows)
[[ $n == 0 ]] && ok "agent restarted: the flow table starts empty (no stale entry)" ||
	not_ok "agent restarted: the flow table starts empty (no stale entry)" "flows: $n"
code=$(tb_exec client curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP/bytes/1000")
t_served=$(date +%s.%N)
dt=$(awk -v a="$t_ready" -v b="$t_served" 'BEGIN {printf "%.3f", b - a}')
[[ $code == 200 ]] && awk -v d="$dt" 'BEGIN {exit !(d < 1.0)}' &&
	ok "agent restarted: a new connection is served ${dt} s after it is ready" ||
	not_ok "agent restarted: a new connection is served within 1 s" "code $code after $dt s"
wait_fetch c
echo "# download in flight across the agent restart: $(cat "$E2E_TMP/c.json")"
wait_flows 0 3 && ok "agent restarted: no entry left once the download ended" ||
	not_ok "agent restarted: no entry left once the download ended" "$("$PRISM" switch flows --pin-dir "$PIN" 2>&1 | head)"

# --- 4. the controller restarted ----------------------------------------
# Killed while a download owns a flow; started again.  The flow it owned
# must leave the switch.
ctl_pid=$(pid_of controller)
mapfile -d '' ctl_argv <"/proc/$ctl_pid/cmdline"
fetch d $BIG
wait_mark d >/dev/null
kill -9 "$ctl_pid"
while kill -0 "$ctl_pid" 2>/dev/null; do sleep 0.05; done
rm -f "$RUN/controller.ready"
tb_exec controller "$PRISM" "${ctl_argv[@]:1}" >>"$RUN/controller.log" 2>&1 &
new_ctl=$!
on_exit "kill $new_ctl 2>/dev/null; wait $new_ctl 2>/dev/null"
for ((i = 0; i < 100; i++)); do [[ -e $RUN/controller.ready ]] && break; sleep 0.05; done
wait_flows 0 5 && ok "controller restarted: the flows it owned are gone from the switch" ||
	not_ok "controller restarted: the flows it owned are gone from the switch" \
		"$("$PRISM" switch flows --pin-dir "$PIN" 2>&1 | head)"
bad=$(served 4)
if [[ -z $bad ]]; then
	ok "controller restarted: new requests served"
elif grep -q 'listen .*Address already in use' "$RUN/controller.log"; then
	not_ok "controller restarted: new requests served" \
		"the new controller cannot listen on the VIP (EADDRINUSE)" \
		"$(tb_exec controller ss -tanoH 'sport = :80' | head -n 5)"
else
	not_ok "controller restarted: new requests served" "non-200: $bad" \
		"$(tail -n 3 "$RUN/controller.log")" "$(tb_exec controller ss -tanoH 'sport = :80' | head -n 5)"
fi
wait_fetch d
echo "# download in flight across the controller restart: $(cat "$E2E_TMP/d.json")"

reports=$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' "$RUN"/*.log 2>/dev/null)
[[ -z $reports ]] && ok "no sanitizer report in the daemons' logs" ||
	not_ok "no sanitizer report in the daemons' logs" "$(grep -hE -A8 'Sanitizer|runtime error' $reports | head -n 30)"
finish
