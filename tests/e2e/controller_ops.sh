#!/bin/bash
# Operability of the controller (issue 7), end to end: a controller run from
# a configuration file in a 3-backend testbed; balancing policies and their
# distributions, /metrics against what the client saw, the access log
# against the requests, active health checks, drain, and reloads that add
# and remove a backend while a client keeps a connection busy.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3 curl
export PRISM_TESTBED=${OPS_TESTBED:-t-h8-ops}
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
RUN=/run/prism/$PRISM_TESTBED
CONF=$E2E_TMP/prism.conf
ALOG=$E2E_TMP/access.log

check "testbed up (3 backends)" "$PRISM" testbed up --backends 3 || finish
if ! check "prism up" "$PRISM" up; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

# conf POLICY BACKEND-LINE...: writes the configuration file.
conf() {
	local policy=$1
	shift
	{
		echo "# written by controller_ops.sh"
		echo "[controller]"
		echo "listen $VIP:80"
		echo "switch 198.18.2.1:7700"
		echo "key $RUN/key"
		echo "policy $policy"
		echo "access-log $ALOG"
		echo "health-interval 200"
		echo "health-timeout 200"
		echo "backoff 500"
		[[ -n ${PRISM_DELIVERY:-} ]] && echo "delivery $PRISM_DELIVERY"
		for b in "$@"; do echo "backend $b"; done
		echo "[switch]"
		echo "listen 198.18.2.1:7700  # other daemons' sections are skipped"
	} >"$CONF"
}
B1=b1=198.18.11.2:7800
B2=b2=198.18.12.2:7800
B3=b3=198.18.13.2:7800

# Replace prism up's controller by one reading $CONF; prism down stops it.
kill "$(cat "$RUN/controller.pid")" 2>/dev/null
sleep 0.3
conf rr "$B1" "$B2,weight=2" "$B3"
rm -f "$RUN/controller.ready"
# Started directly (not through tb_bg's subshell) so that $! is the
# controller itself: testbed exec execs into it.
"$PRISM" testbed exec controller -- "$PRISM" controller --config "$CONF" \
	--ready-file "$RUN/controller.ready" >"$RUN/controller.log" 2>&1 &
CTL=$!
on_exit "kill $CTL 2>/dev/null; wait $CTL 2>/dev/null"
echo "$CTL" >"$RUN/controller.pid"
for ((i = 0; i < 100; i++)); do [[ -e $RUN/controller.ready ]] && break; sleep 0.05; done
check "controller from a config file is ready" test -e "$RUN/controller.ready" || finish

# reqs PATHS [--header NAME:VALUES]: JSON of one keep-alive connection.
reqs() { tb_exec client python3 "$TOOLS/ops_client.py" $VIP 80 seq "$@"; }
metrics() { tb_exec controller curl -s --max-time 3 http://127.0.0.1:9900/metrics; }
paths() { local n=$1 p=$2; seq -s, -f "$p%g" 1 "$n"; }
# reload: SIGHUP, then wait until the controller logged it.
reload() {
	local before
	before=$(grep -c "reload: .* backends, policy" "$RUN/controller.log" 2>/dev/null)
	kill -HUP "$CTL"
	for ((i = 0; i < 40; i++)); do
		[[ $(grep -c "reload: .* backends, policy" "$RUN/controller.log" 2>/dev/null) -gt $before ]] && return 0
		sleep 0.05
	done
	return 1
}

# distribution JSON: "b1 b2 b3 counts" of the backends that served.
distribution() {
	python3 -c '
import json, sys
r = json.loads(sys.argv[1])
c = {}
for p, st, b, n in r["reqs"]:
    c[b] = c.get(b, 0) + 1
ok = r["error"] is None and all(x[1] == 200 for x in r["reqs"])
print(int(ok), c.get("b1", 0), c.get("b2", 0), c.get("b3", 0), len(r["ports"]))' "$1"
}

ALL_OUT=()
# ---- round-robin with weights 1:2:1 ----
out=$(reqs "$(paths 40 /bytes/)")
ALL_OUT+=("$out")
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
[[ $good == 1 && $n1 == 10 && $n2 == 20 && $n3 == 10 && $nports == 1 ]] &&
	ok "rr weights 1:2:1: 40 requests split exactly 10/20/10 on one connection" ||
	not_ok "rr weights 1:2:1: 40 requests split exactly 10/20/10 on one connection" "got ok=$good $n1/$n2/$n3 ports=$nports ${out:0:300}"

# ---- least-conn (sequential requests: every backend idle, ties rotate) ----
conf least-conn "$B1" "$B2" "$B3"
reload || not_ok "reload to least-conn" "no reload in the log"
out=$(reqs "$(paths 30 /bytes/)")
ALL_OUT+=("$out")
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
[[ $good == 1 && $n1 == 10 && $n2 == 10 && $n3 == 10 ]] &&
	ok "least-conn: 30 sequential requests split 10/10/10" ||
	not_ok "least-conn: 30 sequential requests split 10/10/10" "got $n1/$n2/$n3 ${out:0:300}"

# ---- hash-uri: each path where --which-backend says, stable, query ignored ----
conf hash-uri "$B1" "$B2" "$B3"
reload || not_ok "reload to hash-uri" "no reload in the log"
list=$(paths 30 /bytes/),$(seq -s, -f "/bytes/%g?v=2" 1 30)
out=$(reqs "$list")
ALL_OUT+=("$out")
want=$(for i in $(seq 1 30); do "$PRISM" controller --policy hash-uri \
	--backend "$B1" --backend "$B2" --backend "$B3" --which-backend "/bytes/$i"; done | tr '\n' ' ')
verdict=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1]); want = sys.argv[2].split()
got = [x[2] for x in r["reqs"]]
ok = r["error"] is None and len(got) == 60 and got[:30] == want and got[30:] == want
print("ok" if ok and len(set(want)) == 3 else "bad %s vs %s" % (got, want))' "$out" "$want")
[[ $verdict == ok ]] &&
	ok "hash-uri: 60 requests land where --which-backend computes (query ignored, all 3 used)" ||
	not_ok "hash-uri: 60 requests land where --which-backend computes (query ignored, all 3 used)" "$verdict"

# ---- hash-header ----
conf hash-header:X-Tenant "$B1" "$B2" "$B3"
reload || not_ok "reload to hash-header" "no reload in the log"
tenants=$(seq -s, -f "tenant%g" 1 20)
out=$(reqs "$(paths 40 /bytes/)" --header "X-Tenant:$tenants")
ALL_OUT+=("$out")
want=$(for i in $(seq 1 20); do "$PRISM" controller --policy hash-header:X-Tenant \
	--backend "$B1" --backend "$B2" --backend "$B3" --which-backend "tenant$i"; done | tr '\n' ' ')
verdict=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1]); want = sys.argv[2].split()
got = [x[2] for x in r["reqs"]]
ok = r["error"] is None and got == want + want
print("ok" if ok else "bad %s vs %s" % (got, want))' "$out" "$want")
[[ $verdict == ok ]] &&
	ok "hash-header:X-Tenant: 40 requests follow the header, not the path" ||
	not_ok "hash-header:X-Tenant: 40 requests follow the header, not the path" "$verdict"

# ---- /metrics: valid exposition text; counters equal what the client saw ----
sleep 0.2 # the last client's close reaches the controller
text=$(metrics)
echo "$text" >"$E2E_TMP/metrics.txt"
verdict=$(python3 - "$E2E_TMP/metrics.txt" "${ALL_OUT[@]}" <<'EOF'
import json, os, re, sys
text = open(sys.argv[1]).read()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
typed, errors, values = {}, [], {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
            errors.append(line)
        typed[name] = kind
    elif line.startswith("#") or not line:
        continue
    else:
        m = sample.match(line)
        if not m:
            errors.append(line)
            continue
        base = re.sub(r'_(bucket|sum|count)$', '', m.group(1))
        if m.group(1) not in typed and base not in typed:
            errors.append("untyped " + line)
        values[m.group(1) + (m.group(2) or "")] = float(m.group(7))
seen = {}
for out in sys.argv[2:]:
    for p, st, b, n in json.loads(out)["reqs"]:
        seen[b] = seen.get(b, 0) + 1
bad = []
# Every response here is small: relayed in adaptive delivery (the
# default), handed off with PRISM_DELIVERY=handoff.
relay = os.environ.get("PRISM_DELIVERY", "adaptive") == "adaptive"
for b, n in seen.items():
    h = values.get('prism_controller_handoffs_total{backend="%s"}' % b)
    rl = values.get('prism_controller_relays_total{backend="%s"}' % b)
    if (h, rl) != ((0, n) if relay else (n, 0)):
        bad.append("%s handoffs %s relays %s, %d requests" % (b, h, rl, n))
    r = values.get('prism_controller_requests_total{backend="%s",status="200"}' % b)
    if r != n:
        bad.append("%s requests_total{status=200} %s != %d" % (b, r, n))
total = sum(seen.values())
hc = values.get("prism_controller_request_seconds_count")
if hc != total:
    bad.append("request_seconds_count %s != %d" % (hc, total))
if values.get("prism_controller_connections_open") != 0:
    bad.append("connections_open %s" % values.get("prism_controller_connections_open"))
print("ok" if not errors and not bad and total == 170 else "bad %s %s total %d" % (errors[:3], bad, total))
EOF
)
[[ $verdict == ok ]] &&
	ok "/metrics parses as Prometheus text; hand-offs or relays, requests per backend and histogram count equal the client's 170 requests" ||
	not_ok "/metrics parses as Prometheus text; hand-offs or relays, requests per backend and histogram count equal the client's 170 requests" "$verdict"

# ---- access log: one line per request, in order, matching ----
verdict=$(python3 - "$ALOG" "${ALL_OUT[@]}" <<'EOF'
import json, os, re, sys
line_re = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\d+\.\d+\.\d+\.\d+):(\d+) "(\S+) (\S+)" (\d{3}|-) (\d+) (\S+) (\d+\.\d{3}|-) (handoff|relay|-)$')
how = "relay" if os.environ.get("PRISM_DELIVERY", "adaptive") == "adaptive" else "handoff"
lines = open(sys.argv[1]).read().splitlines()
want = []
for out in sys.argv[2:]:
    want += json.loads(out)["reqs"]
bad = []
if len(lines) != len(want):
    bad.append("%d lines for %d requests" % (len(lines), len(want)))
for l, (p, st, b, n) in zip(lines, want):
    m = line_re.match(l)
    if not m:
        bad.append("format: " + l)
    elif (m.group(1), m.group(3), m.group(4), m.group(7), int(m.group(6))) != ("198.18.1.2", "GET", p, b, n):
        bad.append("%s != GET %s %s %d" % (l, p, b, n))
    elif m.group(5) != str(st):
        bad.append("status: " + l)
    elif m.group(9) != how:
        bad.append("delivery (want %s): %s" % (how, l))
print("ok" if not bad else "bad %s" % bad[:3])
EOF
)
[[ $verdict == ok ]] &&
	ok "access log: one line per request with client, method, target, status, backend, exact response bytes and delivery" ||
	not_ok "access log: one line per request with client, method, target, status, backend, exact response bytes and delivery" "$verdict"

# ---- routes: Host and path prefix select a pool ----
conf rr "$B1" "$B2" "$B3"
{
	echo "[controller]"
	echo "route img.test/bytes/=b2"
	echo "route /bytes/1=b1,b3"
} >>"$CONF"
reload || not_ok "reload with routes" "no reload in the log"
out=$(reqs "$(paths 8 /bytes/)" --host img.test:80)
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
out2=$(reqs "$(seq -s, -f /bytes/1%g 0 9)" --host vip)
read -r good2 m1 m2 m3 nports <<<"$(distribution "$out2")"
out3=$(reqs "$(seq -s, -f /bytes/%g 2 7)" --host IMG.TEST.evil)
read -r good3 k1 k2 k3 nports <<<"$(distribution "$out3")"
if [[ $good == 1 && $n2 == 8 && $good2 == 1 && $m1 == 5 && $m3 == 5 &&
	$good3 == 1 && $k1 == 2 && $k2 == 2 && $k3 == 2 ]]; then
	ok "routes: Host img.test -> b2 only; /bytes/1* -> b1,b3 only; other hosts and paths -> all"
else
	not_ok "routes: Host img.test -> b2 only; /bytes/1* -> b1,b3 only; other hosts and paths -> all" "img $n1/$n2/$n3, prefix $m1/$m2/$m3, other $k1/$k2/$k3"
fi

# ---- active health checks: b2's checks fail -> no requests -> back ----
# b2's health endpoint moves to a port where nothing listens (the hand-off
# channel stays up): its checks fail, it must leave the rotation.
conf rr "$B1" "$B2,http=198.18.12.2:81" "$B3"
reload || not_ok "reload: b2's health address" "no reload in the log"
state() { tb_exec controller "$PRISM" controller status | awk -v b="$1" '$1 == b {print $3}'; }
for ((i = 0; i < 60; i++)); do [[ $(state b2) == unhealthy ]] && break; sleep 0.1; done
st=$(state b2)
out=$(reqs "$(paths 12 /bytes/)")
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
[[ $st == unhealthy && $good == 1 && $n2 == 0 && $n1 == 6 && $n3 == 6 ]] &&
	ok "health: b2 failing its checks is marked unhealthy and gets none of 12 requests" ||
	not_ok "health: b2 failing its checks is marked unhealthy and gets none of 12 requests" "state $st, $n1/$n2/$n3 ${out:0:200}"
conf rr "$B1" "$B2" "$B3"
reload || not_ok "reload: b2's health address back" "no reload in the log"
for ((i = 0; i < 60; i++)); do [[ $(state b2) == up ]] && break; sleep 0.1; done
st=$(state b2)
out=$(reqs "$(paths 12 /bytes/)")
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
[[ $st == up && $good == 1 && $n2 -ge 3 ]] &&
	ok "health: b2 passing its checks again is back in the rotation ($n2 of 12)" ||
	not_ok "health: b2 passing its checks again is back in the rotation" "state $st, $n1/$n2/$n3"

# ---- drain through the admin endpoint ----
tb_exec controller "$PRISM" controller drain b1 >/dev/null
out=$(reqs "$(paths 10 /bytes/)")
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
tb_exec controller "$PRISM" controller undrain b1 >/dev/null
out2=$(reqs "$(paths 9 /bytes/)")
read -r good2 m1 m2 m3 nports <<<"$(distribution "$out2")"
[[ $good == 1 && $n1 == 0 && $good2 == 1 && $m1 -ge 2 ]] &&
	ok "drain b1: no new requests while draining, its share after undrain" ||
	not_ok "drain b1: no new requests while draining, its share after undrain" "drained $n1/$n2/$n3, after $m1/$m2/$m3"

# ---- reload while a connection is busy: remove b3, add it back ----
# Client connections reset (Tcp: EstabResets) and RSTs the client sent
# (OutRsts).  The client also answers stray backend segments that escape the
# VIP rewrite after a hand-back with RSTs (seen without any reload too, on
# other 4-tuples than its connection): reported, not asserted.
resets() { tb_exec client cat /proc/net/snmp | awk '/^Tcp:/ { if (h) print $9; h = 1 }'; }
outrsts() { tb_exec client cat /proc/net/snmp | awk '/^Tcp:/ { if (h) print $15; h = 1 }'; }
rst0=$(resets)
out0=$(outrsts)
tb_exec client python3 "$TOOLS/ops_client.py" $VIP 80 busy 4 100000 >"$E2E_TMP/busy.json" &
BUSY=$!
sleep 1
conf rr "$B1" "$B2"
reload
t_rm=$(date +%s.%N)
sleep 1.2
t_add=$(date +%s.%N)
conf rr "$B1" "$B2" "$B3,weight=2"
reload
t_added=$(date +%s.%N)
wait $BUSY
rst1=$(resets)
echo "# client RSTs sent to stray segments during the busy run: $(($(outrsts) - out0))"
verdict=$(python3 - "$E2E_TMP/busy.json" "$t_rm" "$t_add" "$t_added" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t_rm, t_add, t_added = map(float, sys.argv[2:5])
log = r["log"]
# A request that was running on b3 at the reload completes after it.
mid = [b for t, b in log if t_rm + 0.1 < t < t_add]
late = [b for t, b in log if t > t_added + 0.3]
bad = []
if r["error"]:
    bad.append(r["error"])
if len(r["ports"]) != 1:
    bad.append("connection replaced: %s" % r["ports"])
if not mid or "b3" in mid:
    bad.append("b3 served while removed (%d requests then)" % len(mid))
if "b3" not in late:
    bad.append("b3 not back after re-adding (%d requests after)" % len(late))
if r["count"] < 50:
    bad.append("only %d requests" % r["count"])
print("ok %d" % r["count"] if not bad else "bad %s" % bad)
EOF
)
if [[ $verdict == ok* && $rst0 == "$rst1" ]]; then
	ok "reload removes and re-adds b3 while one connection stays busy: ${verdict#ok } requests, no error, connection never reset"
else
	not_ok "reload removes and re-adds b3 while one connection stays busy" "$verdict; client connections reset: $rst0 -> $rst1"
fi
grep -q "backend b3: drained, channel closed" "$RUN/controller.log" &&
	ok "removed backend's channel closed once its connections came back" ||
	not_ok "removed backend's channel closed once its connections came back" "$(grep b3 "$RUN/controller.log" | tail -3)"

# ---- a bad configuration is refused and the old one kept ----
printf '[controller]\nbogus-key 1\n' >>"$CONF"
kill -HUP "$CTL"
sleep 0.3
out=$(reqs "$(paths 3 /bytes/)")
read -r good n1 n2 n3 nports <<<"$(distribution "$out")"
v=$(metrics | awk '$1 == "prism_controller_reloads_total{result=\"error\"}" {print $2}')
[[ $good == 1 && $v == 1 ]] &&
	ok "a bad configuration is rejected on reload; serving goes on" ||
	not_ok "a bad configuration is rejected on reload; serving goes on" "good $good, reload errors $v"

# ---- prism status shows the controller's backends ----
st=$("$PRISM" status 2>&1)
if grep -qE '^b3 +198\.18\.13\.2:7800 +up +2 ' <<<"$st" && grep -q '^policy rr' <<<"$st"; then
	ok "prism status lists backends with state, weight and load"
else
	not_ok "prism status lists backends with state, weight and load" "$st"
fi

# ---- the switch agent's /metrics ----
sw=$(tb_exec fabric curl -s --max-time 3 http://127.0.0.1:9900/metrics)
tob=$(awk '$1 == "prism_switch_packets_total{verdict=\"to_backend\"}" {print $2}' <<<"$sw")
toc=$(awk '$1 == "prism_switch_packets_total{verdict=\"to_client\"}" {print $2}' <<<"$sw")
fl=$(awk '$1 == "prism_switch_flows" {print $2}' <<<"$sw")
cap=$(awk '$1 == "prism_switch_flows_capacity" {print $2}' <<<"$sw")
if [[ ${tob:-0} -gt 0 && ${toc:-0} -gt 2000 && $fl == 0 && ${cap:-0} -gt 0 ]]; then
	ok "switch agent /metrics: rewritten packets counted ($tob to backends, $toc to clients), flow table empty"
else
	not_ok "switch agent /metrics: rewritten packets counted, flow table empty" "to_backend '$tob' to_client '$toc' flows '$fl' capacity '$cap'; ${sw:0:300}"
fi

check "prism down" "$PRISM" down
kill "$CTL" 2>/dev/null
wait "$CTL" 2>/dev/null
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$RUN"/*.log 2>/dev/null; then
	not_ok "no sanitizer report in the daemons' logs" "$(grep -hE -A5 "Sanitizer|runtime error" "$RUN"/*.log | head -20)"
else
	ok "no sanitizer report in the daemons' logs"
fi
finish
