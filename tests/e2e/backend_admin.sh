#!/bin/bash
# prism backend: --config FILE ([backend] section as flags, the command
# line winning) and /metrics on its admin port, counting what a client did.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl
export PRISM_TESTBED=t-badm
on_exit "$PRISM testbed down >/dev/null 2>&1"
check "testbed up" "$PRISM" testbed up --backends 1 || finish
B1=$(tb_addr b1)
cat >"$E2E_TMP/prism.conf" <<CONF
# read by every daemon: none of these lines are for the backend
[controller]
listen 198.19.0.1:80
[backend]
name from-config
listen $B1:8080
admin 127.0.0.1:9911
CONF
# The command line overrides the file's name.
tb_bg b1 "$PRISM" backend --config "$E2E_TMP/prism.conf" --name b1cli \
	>"$E2E_TMP/b.log" 2>&1
wait_listen b1 8080 && ok "backend listens where its config file says" ||
	{ not_ok "backend listens where its config file says" "$(cat "$E2E_TMP/b.log")"; finish; }
hdr=$(tb_exec client curl -s -D - -o /dev/null "http://$B1:8080/bytes/10")
grep -qi '^X-Prism-Backend: b1cli' <<<"$hdr" && ok "the command line wins over the file (--name)" ||
	not_ok "the command line wins over the file (--name)" "$hdr"
for i in 1 2; do tb_exec client curl -s -o /dev/null "http://$B1:8080/bytes/1000"; done
tb_exec client curl -s -o /dev/null "http://$B1:8080/no-such-file"
m=$(tb_exec b1 curl -s http://127.0.0.1:9911/metrics)
val() { awk -v k="$1" '$1 == k {print $2}' <<<"$m"; }
direct=$(val 'prism_backend_requests_total{backend="b1cli",via="direct"}')
ok2=$(val 'prism_backend_responses_total{backend="b1cli",class="2xx"}')
nf=$(val 'prism_backend_responses_total{backend="b1cli",class="4xx"}')
if [[ $direct == 4 && $ok2 == 3 && $nf == 1 ]]; then
	ok "/metrics counts the 4 requests: 3 x 2xx, 1 x 4xx"
else
	not_ok "/metrics counts the 4 requests: 3 x 2xx, 1 x 4xx" "direct=$direct 2xx=$ok2 4xx=$nf" "${m:0:800}"
fi
grep -q '^# TYPE prism_backend_requests_total counter' <<<"$m" &&
	ok "/metrics is Prometheus text (TYPE lines)" ||
	not_ok "/metrics is Prometheus text (TYPE lines)" "${m:0:400}"
printf '[backend]\nbogus-option 1\n' >"$E2E_TMP/bad.conf"
check_rc "an unknown key in the config file is refused (exit 2)" 2 \
	"$PRISM" backend --config "$E2E_TMP/bad.conf" --listen 127.0.0.1:1
finish
