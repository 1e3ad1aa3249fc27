#!/bin/bash
# Smoke test of the end-to-end benchmarks: `prism bench e2e` (plain,
# --tls, --pipeline, put) and `prism bench latency` run on their own
# testbed, print JSON of the documented
# shape, every configuration served requests, and nothing is left behind.
# No timing thresholds: benchmarks report, tests assert behaviour.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wrk nginx haproxy python3

NAME=t-h6-bench
on_exit "$PRISM down --name $NAME >/dev/null 2>&1; $PRISM testbed down --name $NAME >/dev/null 2>&1; rm -rf /run/prism/$NAME"

out=$E2E_TMP/e2e.json
if timeout 120 "$PRISM" bench e2e --sizes 1k --duration 1 --json \
	--name $NAME --out "$E2E_TMP/e2e" >"$out" 2>"$E2E_TMP/e2e.err"; then
	ok "bench e2e runs"
else
	not_ok "bench e2e runs" "$(tail -n 15 "$E2E_TMP/e2e.err")"
fi

check "bench e2e JSON has the four configs (nginx as proxy, haproxy) with requests, Prism's relayed or handed off" python3 - "$out" <<'EOF'
import json, os, sys
rows = json.load(open(sys.argv[1]))
keys = {"config", "backends", "size_bytes", "gbps", "rps", "p50_us",
        "p99_us", "client_retrans", "client_timeouts", "workload"}
assert len(rows) == 4, rows
assert {r["config"] for r in rows} == {"direct", "proxy", "haproxy", "prism"}, rows
for r in rows:
    assert keys <= set(r), (sorted(keys - set(r)), r)
    assert r["backends"] == 2 and r["size_bytes"] == 1024, r
    # both ways on each link: at least the responses the client read
    assert r["client_link_bytes"] >= r["requests"] * 1024, r
    # every request of Prism's run reaches the controller: at least its
    # head (~100 bytes) per request crossed the controller's link
    if r["config"] == "prism":
        assert r["controller_link_bytes"] > r["requests"] * 100, r
        # how Prism's requests went, from the controller's counters: 1 KB
        # is relayed in adaptive delivery, handed off with PRISM_DELIVERY=handoff
        # (a few may be in flight when a wrk run stops)
        went = r["relayed"] + r["handed_off"]
        assert abs(went - r["requests"]) <= 4, r
        small = r["relayed"] if os.environ.get("PRISM_DELIVERY", "adaptive") == "adaptive" else r["handed_off"]
        assert small == went, r
    assert r["workload"] == "get", r
    assert r["requests"] > 0 and r["rps"] > 0 and r["gbps"] > 0, r
    assert r["errors"] == 0, r
    assert 0 < r["p50_us"] <= r["p99_us"], r
EOF

check "bench e2e wrote CSV with a header and 4 rows" \
	bash -c "[[ \$(wc -l <'$E2E_TMP/e2e/e2e.csv') -eq 5 ]]"

pipe=$E2E_TMP/pipe.json
if command -v h2load >/dev/null &&
	timeout 120 "$PRISM" bench e2e --pipeline 2 --sizes 1k --duration 1 \
		--json --name $NAME --out "$E2E_TMP/pipe" >"$pipe" \
		2>"$E2E_TMP/pipe.err"; then
	ok "bench e2e --pipeline runs"
	check "bench e2e --pipeline JSON: four configs, pipelined and unpipelined rates" \
		python3 - "$pipe" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
assert {r["config"] for r in rows} == {"direct", "proxy", "haproxy", "prism"}, rows
for r in rows:
    assert r["workload"] == "pipeline", r
    assert r["rps"] > 0 and r["rps_unpipelined"] > 0 and r["errors"] == 0, r
EOF
else
	not_ok "bench e2e --pipeline runs" "$(tail -n 15 "$E2E_TMP/pipe.err" 2>/dev/null)"
fi

tls=$E2E_TMP/tls.json
if timeout 120 "$PRISM" bench e2e --tls --sizes 100k --duration 1 \
	--json --name $NAME --out "$E2E_TMP/tls" >"$tls" 2>"$E2E_TMP/tls.err"; then
	ok "bench e2e --tls runs"
	check "bench e2e --tls JSON: the four configurations over TLS, no errors, backend CPU reported" \
		python3 - "$tls" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
assert {r["config"] for r in rows} == {"direct", "proxy", "haproxy", "prism"}, rows
for r in rows:
    assert r["tls"] is True and r["backend_cpu_s"] >= 0, r
    assert r["requests"] > 0 and r["errors"] == 0, r
prism = [r for r in rows if r["config"] == "prism"][0]
assert prism["handed_off"] > 0, prism
EOF
else
	not_ok "bench e2e --tls runs" "$(tail -n 15 "$E2E_TMP/tls.err" 2>/dev/null)"
fi

put=$E2E_TMP/put.json
if timeout 120 "$PRISM" bench e2e --workload put --sizes 4096 --duration 1 \
	--json --name $NAME --out "$E2E_TMP/put" >"$put" \
	2>"$E2E_TMP/put.err"; then
	ok "bench e2e --workload put runs"
else
	not_ok "bench e2e --workload put runs" "$(tail -n 15 "$E2E_TMP/put.err")"
fi

# wrk counts a status other than 2xx/3xx as an error: errors == 0 means
# every PUT was stored.
check "bench e2e put JSON has the four configs with uploads" \
	python3 - "$put" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
keys = {"config", "backends", "size_bytes", "gbps", "rps", "p50_us",
        "p99_us", "client_retrans", "client_timeouts", "client_resets",
        "requests", "errors", "workload"}
assert len(rows) == 4, rows
assert {r["config"] for r in rows} == {"direct", "proxy", "haproxy", "prism"}, rows
for r in rows:
    assert keys <= set(r), (sorted(keys - set(r)), r)
    assert r["workload"] == "put", r
    assert r["backends"] == 2 and r["size_bytes"] == 4096, r
    assert r["requests"] > 0 and r["rps"] > 0 and r["gbps"] > 0, r
    assert r["errors"] == 0, r
    assert 0 < r["p50_us"] <= r["p99_us"], r
EOF

check "bench e2e put CSV has the workload column" \
	bash -c "head -n1 '$E2E_TMP/put/e2e.csv' | grep -q ',workload,' &&
		 [[ \$(grep -c ',put,' '$E2E_TMP/put/e2e.csv') -eq 4 ]]"
# The stores are benchmark data: gone with the run.
check "bench e2e put removed the backends' stores" \
	bash -c "! ls -d /run/prism/$NAME/store-* 2>/dev/null"

lat=$E2E_TMP/lat.json
if timeout 120 "$PRISM" bench latency --requests 20 --json --name $NAME \
	--out "$E2E_TMP/lat" >"$lat" 2>"$E2E_TMP/lat.err"; then
	ok "bench latency runs"
else
	not_ok "bench latency runs" "$(tail -n 15 "$E2E_TMP/lat.err")"
fi

check "bench latency JSON has 20 samples per config" python3 - "$lat" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["config"] for r in rows] == ["direct", "proxy", "haproxy", "prism"], rows
for r in rows:
    assert r["requests"] == 20, r
    assert r["startup_us"] > 0 and r["b2b_us"] > 0, r
    for k in ("startup_overhead_us", "teardown_overhead_us", "teardown_us"):
        assert isinstance(r[k], (int, float)), (k, r)
    assert 0 < r["p99_us"] <= r["max_us"], r
    assert r["over_1s"] <= r["over_200ms"] <= 2 * r["requests"], r
    assert r["loss_pct"] == 0, r
EOF

# Under loss: the testbed's loss program on every host, the same figures.
latl=$E2E_TMP/latl.json
if timeout 120 "$PRISM" bench latency --requests 20 --loss 1 --json \
	--name $NAME --out "$E2E_TMP/latl" >"$latl" 2>"$E2E_TMP/latl.err"; then
	ok "bench latency --loss 1 runs"
	check "bench latency --loss JSON: four configs at 1% loss" python3 - "$latl" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["config"] for r in rows] == ["direct", "proxy", "haproxy", "prism"], rows
for r in rows:
    assert r["requests"] == 20 and r["loss_pct"] == 1, r
    assert 0 < r["p99_us"] <= r["max_us"], r
EOF
	check "bench latency --loss says so in its table" \
		grep -q "loss 1% on every host's links" "$E2E_TMP/latl.err"
else
	not_ok "bench latency --loss 1 runs" "$(tail -n 15 "$E2E_TMP/latl.err")"
fi
check_rc "bench latency refuses --loss 150" 2 "$PRISM" bench latency --loss 150

check "no testbed left behind" \
	bash -c "! ls /run/netns 2>/dev/null | grep -q '^$NAME-'"
# A bench's proxies run with -c/-f /tmp/prism-bench.XXXXXX/... and the
# bench removes that folder after stopping them: a leaked one is one whose
# config is gone (other benches may be running theirs meanwhile).
leaked_proxies() {
	local pid conf name
	for name in nginx haproxy; do
		for pid in $(pgrep -x $name); do
			conf=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
				grep -m1 '^/tmp/prism-bench\.')
			[[ -n $conf && ! -e $conf ]] && echo "$name $pid: $conf"
		done
	done
	return 0
}
left=$(leaked_proxies)
if [[ -z $left ]]; then
	ok "no nginx or haproxy left from the bench"
else
	not_ok "no nginx or haproxy left from the bench" "$left"
fi
finish
