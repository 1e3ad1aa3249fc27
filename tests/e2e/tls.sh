#!/bin/bash
# HTTPS end to end (issue 16): `prism up --tls` terminates TLS at the
# controller and each hand-off moves the session with the connection; the
# backends seal the responses themselves.  Real clients (Python ssl, curl,
# wrk, h2load, openssl s_client, Chromium) on one keep-alive connection
# whose requests alternate between backends, byte-exact; TLS 1.3 and 1.2,
# each cipher; KeyUpdate; renegotiation refused; hostile clients (plain
# HTTP, a stalled or truncated handshake, forged records) get their alert
# and lose their connection, with nothing left behind.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl python3 openssl
export PRISM_TESTBED=${TLS_TESTBED:-t-tls}
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
RUN=/run/prism/$PRISM_TESTBED
PIN=/sys/fs/bpf/$PRISM_TESTBED
CA=$RUN/tls/ca.pem
SITE=$E2E_TMP/site

python3 "$TOOLS/site.py" make "$SITE" 8
chmod -R a+rX "$E2E_TMP"
check "testbed up" "$PRISM" testbed up --backends 2 || finish
# A short header timeout: the stalled handshake below is bounded by it.
if ! check "prism up --tls (HTTPS on $VIP:443 and HTTP on :80)" "$PRISM" up --tls \
	--root "$SITE" --controller-arg --header-timeout --controller-arg 1500; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi
[[ -s $CA && -s $RUN/tls/cert.pem && $(stat -c %a "$RUN/tls/key.pem") == 600 ]] &&
	ok "the run folder has the throw-away CA, the certificate, a private key (0600)" ||
	not_ok "the run folder has the throw-away CA, the certificate, a private key (0600)" "$(ls -l "$RUN/tls")"

metric() {
	tb_exec controller curl -s -m 3 http://127.0.0.1:9900/metrics |
		awk -v m="$1" 'index($0, m) == 1 {n += $2} END {print n + 0}'
}
tls_event() { metric "prism_controller_tls_events_total{event=\"$1\"}"; }
ctl_bytes() {
	tb_exec controller cat /proc/net/dev | awk '$1 == "eth0:" {printf "%.0f\n", $2 + $10}'
}
flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }

# ---- one keep-alive connection, both versions -------------------------
SIZES=1024,4096,65536,1000000,2097152,8388608,3000,500000,1
for v in 1.3 1.2; do
	ho0=$(metric prism_controller_handoffs_total)
	ctl0=$(ctl_bytes)
	out=$(tb_exec client timeout 120 python3 "$TOOLS/keepalive_client.py" $VIP 443 $SIZES \
		--count 36 --tls "$CA" --tls-version $v)
	rc=$?
	ctl1=$(ctl_bytes)
	ho1=$(metric prism_controller_handoffs_total)
	read -r nreq nbad nconn alt ver <<<"$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
b = r["backends"]
alt = all(b[i] != b[i + 1] for i in range(len(b) - 1)) and set(b) == {"b1", "b2"}
print(r["requests"], len(r["bad"]), r["connections"], int(alt), r["tls"][0])' "$out" 2>&1)"
	name="TLS $v: 36 GETs (1 B .. 8 MB) on one connection, byte-exact, alternating b1/b2"
	if [[ $rc -eq 0 && $nreq == 36 && $nbad == 0 && $nconn == 1 && $alt == 1 && $ver == "TLSv$v" ]]; then
		ok "$name"
	else
		not_ok "$name" "rc $rc: ${out:0:500}"
	fi
	total=$((4 * (1024 + 4096 + 65536 + 1000000 + 2097152 + 8388608 + 3000 + 500000 + 1)))
	ctl=$((ctl1 - ctl0))
	pct=$(awk -v a=$ctl -v b=$total 'BEGIN {printf "%.3f", 100 * a / b}')
	[[ $((ho1 - ho0)) -ge 16 && $ctl -lt $((total / 50)) ]] &&
		ok "TLS $v: $((ho1 - ho0)) hand-offs; the controller link carried $pct% of $total bytes (< 2%)" ||
		not_ok "TLS $v: hand-offs, and the controller link < 2% of the bytes" \
			"hand-offs $((ho1 - ho0)), link $ctl of $total bytes"
done

# ---- every cipher, with curl: a relayed and a handed-off response ------
# check_bodies FILE SIZE...: each FILE.N holds /bytes/SIZE exactly.
check_bodies() {
	python3 - "$@" <<'EOF'
import sys
base, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
for i, n in enumerate(sizes):
    d = open("%s.%d" % (base, i), "rb").read()
    if len(d) != n or any(d[j] != j % 251 for j in range(n)):
        print("body %d: %d bytes, wrong" % (i, len(d)))
        sys.exit(1)
EOF
}
cipher_case() {
	local name=$1 opts=$2 want=$3 out
	out=$(tb_exec client curl -sS -v --cacert "$CA" $opts \
		-o "$E2E_TMP/c.0" "https://$VIP/bytes/1000" \
		-o "$E2E_TMP/c.1" "https://$VIP/bytes/300000" \
		-o "$E2E_TMP/c.2" "https://$VIP/bytes/5" 2>&1)
	if grep -q "SSL connection using $want" <<<"$out" &&
		[[ $(grep -c "Re-using existing connection" <<<"$out") == 2 ]] &&
		check_bodies "$E2E_TMP/c" 1000 300000 5; then
		ok "curl, $name: 3 requests on one connection, byte-exact"
	else
		not_ok "curl, $name: 3 requests on one connection, byte-exact" \
			"$(grep -E 'SSL connection|Re-using|curl:' <<<"$out" | head -5)"
	fi
}
cipher_case "TLS 1.3 AES-128-GCM" "--tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256" "TLSv1.3 / TLS_AES_128_GCM_SHA256"
cipher_case "TLS 1.3 AES-256-GCM" "--tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384" "TLSv1.3 / TLS_AES_256_GCM_SHA384"
cipher_case "TLS 1.3 ChaCha20-Poly1305" "--tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256" "TLSv1.3 / TLS_CHACHA20_POLY1305_SHA256"
cipher_case "TLS 1.2 AES-128-GCM" "--tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256" "TLSv1.2 / ECDHE-ECDSA-AES128-GCM-SHA256"
cipher_case "TLS 1.2 AES-256-GCM" "--tls-max 1.2 --ciphers ECDHE-ECDSA-AES256-GCM-SHA384" "TLSv1.2 / ECDHE-ECDSA-AES256-GCM-SHA384"
cipher_case "TLS 1.2 ChaCha20-Poly1305" "--tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305" "TLSv1.2 / ECDHE-ECDSA-CHACHA20-POLY1305"

out=$(tb_exec client curl -sS --cacert "$CA" --resolve prism.test:443:$VIP \
	-o /dev/null -w '%{http_code} %{ssl_verify_result}' https://prism.test/bytes/2000000 2>&1)
[[ $out == "200 0" ]] && ok "https://prism.test/: the certificate names the VIP's name" ||
	not_ok "https://prism.test/: the certificate names the VIP's name" "$out"
out=$(tb_exec client curl -sS -o /dev/null -w '%{http_code}' "http://$VIP/bytes/2000000" 2>&1)
[[ $out == 200 ]] && ok "plain HTTP on :80 at the same time" || not_ok "plain HTTP on :80 at the same time" "$out"
# The backends' own HTTPS (the benchmark's direct baseline), with the same
# certificate: reached by the name it carries.
out=$(tb_exec client curl -sS --cacert "$CA" --resolve "prism.test:443:$(tb_addr b1)" \
	-o "$E2E_TMP/d.0" https://prism.test/bytes/700000 -o "$E2E_TMP/d.1" https://prism.test/bytes/7 \
	-w '%{http_code} ' 2>&1)
[[ $out == "200 200 " ]] && check_bodies "$E2E_TMP/d" 700000 7 &&
	ok "direct HTTPS to b1 (prism backend --tls-cert): two requests, byte-exact" ||
	not_ok "direct HTTPS to b1: two requests, byte-exact" "$out"

# Pipelined requests in records that do not line up with them: half a
# head in one record, its rest and 400 more requests in one full record
# (16 KB, which does not fit behind the half head in a 16 KB buffer);
# through the VIP, and straight to a backend's own HTTPS.
out=$(tb_exec client timeout 30 python3 "$TOOLS/tls_pipe.py" $VIP 443 "$CA" prism.test 400 2>&1)
out2=$(tb_exec client timeout 30 python3 "$TOOLS/tls_pipe.py" "$(tb_addr b2)" 443 "$CA" prism.test 400 2>&1)
[[ $out == "responses 401 of 401" && $out2 == "responses 401 of 401" ]] &&
	ok "TLS pipelining across records (half a head, then a full 16 KB record of requests): 401 responses, VIP and direct" ||
	not_ok "TLS pipelining across records: 401 responses, VIP and direct" "VIP: $out" "direct: $out2"

# Resumption (the controller's tickets), then a hand-off on the resumed
# session, for both versions.
out=$(tb_exec client timeout 30 python3 "$TOOLS/tls_resume.py" $VIP "$CA" 400000 2>&1)
[[ $? -eq 0 ]] && ok "resumption with a ticket, TLS 1.3 and 1.2; handed off after: $(tr '\n' ' ' <<<"$out")" ||
	not_ok "resumption with a ticket, TLS 1.3 and 1.2" "$out"

# ---- load generators over https ----------------------------------------
if command -v wrk >/dev/null; then
	out=$(tb_exec client timeout 20 wrk -t1 -c4 -d2s "https://$VIP/bytes/100000" 2>&1)
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	if [[ ${reqs:-0} -gt 100 ]] && ! grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
		ok "wrk over https: $reqs requests of 100 KB, no errors"
	else
		not_ok "wrk over https: no errors" "$out"
	fi
else
	skip "wrk over https" "wrk not installed"
fi
if command -v h2load >/dev/null; then
	out=$(tb_exec client timeout 30 h2load --h1 -n 400 -c 4 "https://$VIP/bytes/20000" 2>&1)
	grep -q "400 succeeded, 0 failed, 0 errored" <<<"$out" &&
		ok "h2load --h1 over https: 400 requests on 4 connections succeeded" ||
		not_ok "h2load --h1 over https: 400 requests succeeded" "$(grep -E 'requests:|TLS' <<<"$out")"
else
	skip "h2load over https" "h2load not installed (nghttp2-client)"
fi

# ---- post-handshake messages: KeyUpdate, renegotiation ------------------
# openssl s_client's interactive "K": a KeyUpdate asking for ours back,
# between requests (the controller holds the connection then).
ku0=$(tls_event key_update)
out=$( (printf 'GET /bytes/300000 HTTP/1.1\nHost: x\n\n'; sleep 1; printf 'K\n'; sleep 0.5
	printf 'GET /bytes/30 HTTP/1.1\nHost: x\n\n'; sleep 0.5; printf 'K\n'; sleep 0.5
	printf 'GET /bytes/400000 HTTP/1.1\nHost: x\n\n'; sleep 1.5) |
	tb_exec client timeout 15 openssl s_client -connect $VIP:443 -CAfile "$CA" -crlf -tls1_3 2>&1)
ku1=$(tls_event key_update)
n200=$(grep -ac '^HTTP/1.1 200' <<<"$out")
[[ $n200 == 3 && $((ku1 - ku0)) == 2 ]] &&
	ok "TLS 1.3 KeyUpdate (update_requested) twice in a sequence: honoured, 3 responses" ||
	not_ok "TLS 1.3 KeyUpdate twice in a sequence: honoured, 3 responses" "200s: $n200, key updates +$((ku1 - ku0))" \
		"$(grep -aE 'KEYUPDATE|error|HTTP/' <<<"$out" | head -5)"
rn0=$(tls_event renegotiation_refused)
out=$( (printf 'GET /bytes/100 HTTP/1.1\nHost: x\n\n'; sleep 0.5; printf 'R\n'; sleep 1) |
	tb_exec client timeout 10 openssl s_client -connect $VIP:443 -CAfile "$CA" -crlf -tls1_2 2>&1)
rn1=$(tls_event renegotiation_refused)
grep -aq 'no renegotiation' <<<"$out" && [[ $((rn1 - rn0)) == 1 ]] &&
	ok "TLS 1.2 renegotiation: refused (no_renegotiation), counted" ||
	not_ok "TLS 1.2 renegotiation: refused (no_renegotiation), counted" "refused +$((rn1 - rn0))" \
		"$(grep -aE 'RENEG|error' <<<"$out" | head -3)"

# ---- a browser ------------------------------------------------------------
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $CHROMIUM ]]; then
	skip "chromium over https" "chromium not installed (scripts/deps.sh)"
else
	tb_exec client timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --ignore-certificate-errors \
		--user-data-dir="$E2E_TMP/profile" --dump-dom "https://$VIP/" \
		>"$E2E_TMP/dom.html" 2>"$E2E_TMP/chrome.err"
	out=$(python3 "$TOOLS/site.py" check-dom "$E2E_TMP/dom.html" 8)
	[[ $? -eq 0 ]] && ok "chromium over https ran the page: $out" ||
		not_ok "chromium over https ran the page" "$out" "$(tail -3 "$E2E_TMP/chrome.err")"
fi

# ---- hostile clients --------------------------------------------------------
cpid=$(cat "$RUN/controller.pid")
sleep 0.5
fds0=$(ls /proc/$cpid/fd | wc -l)
hf0=$(tls_event handshake_failure)
br0=$(tls_event bad_record)
# hostile MODE WANT_ALERT: the connection is closed; WANT_ALERT: the first
# reply record's type (21 plaintext alert, 23 encrypted), or "none".
hostile() {
	local out alert
	out=$(tb_exec client timeout 10 python3 "$TOOLS/tls_attack.py" $VIP 443 "$CA" "$1" 4)
	alert=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1])["alert"]; print("none" if a is None else a)' "$out" 2>/dev/null)
	if grep -q '"closed": true' <<<"$out" && [[ $alert == "$2" ]]; then
		ok "hostile TLS client, $1: connection closed (reply: $2)"
	else
		not_ok "hostile TLS client, $1: connection closed (reply: $2)" "$out"
	fi
}
hostile garbage 21   # plain HTTP: unexpected_message, in clear
hostile stalled none # closed by the header timeout (1.5 s)
hostile truncated none
hostile badtag 23    # bad_record_mac
hostile overlong 23  # record_overflow
hostile badtype 23   # unexpected_message
hf1=$(tls_event handshake_failure)
br1=$(tls_event bad_record)
[[ $((hf1 - hf0)) -ge 1 && $((br1 - br0)) == 2 ]] &&
	ok "counted: handshake failures +$((hf1 - hf0)), bad records +$((br1 - br0))" ||
	not_ok "counted: a handshake failure, 2 bad records" "handshake failures +$((hf1 - hf0)), bad records +$((br1 - br0))"
sleep 0.5
fds1=$(ls /proc/$cpid/fd | wc -l)
n=$(flows)
[[ $fds1 -le $fds0 && $n == 0 ]] && ok "nothing left: controller fds $fds0 -> $fds1, switch entries $n" ||
	not_ok "nothing left: controller fds $fds0 -> $fds1, switch entries $n" "$(ls -l /proc/$cpid/fd | tail -5)"
out=$(tb_exec client curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "https://$VIP/bytes/1000000" 2>&1)
[[ $out == 200 ]] && ok "HTTPS still served after the hostile clients" ||
	not_ok "HTTPS still served after the hostile clients" "$out"

# ---- several certificates (SNI); ticket keys that survive a restart -----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$E2E_TMP/other.key" -out "$E2E_TMP/other.pem" -subj /CN=other.test \
	-addext subjectAltName=DNS:other.test 2>/dev/null
head -c 48 /dev/urandom >"$E2E_TMP/ticket.key"
chmod a+r "$E2E_TMP"/other.* "$E2E_TMP/ticket.key"
# up_tls [ticket]: prism up --tls with the second certificate (and the
# shared ticket key file)
up_tls() {
	local extra=()
	[[ ${1:-} == ticket ]] && extra=(--controller-arg --tls-ticket-keys --controller-arg "$E2E_TMP/ticket.key" "${@:2}")
	"$PRISM" up --tls --controller-arg --tls-cert --controller-arg "$E2E_TMP/other.pem" \
		--controller-arg --tls-key --controller-arg "$E2E_TMP/other.key" "${extra[@]}" >/dev/null
}
if check "prism up --tls with a second certificate (other.test) and shared ticket keys" up_tls ticket; then
	o1=$(tb_exec client curl -sS --cacert "$E2E_TMP/other.pem" --resolve other.test:443:$VIP \
		-o /dev/null -w '%{http_code} %{ssl_verify_result}' https://other.test/bytes/300000 2>&1)
	o2=$(tb_exec client curl -sS --cacert "$CA" --resolve prism.test:443:$VIP \
		-o /dev/null -w '%{http_code} %{ssl_verify_result}' https://prism.test/bytes/300000 2>&1)
	o3=$(tb_exec client curl -sS --cacert "$CA" -o /dev/null -w '%{http_code} %{ssl_verify_result}' \
		"https://$VIP/bytes/300000" 2>&1)
	[[ $o1 == "200 0" && $o2 == "200 0" && $o3 == "200 0" ]] &&
		ok "SNI: other.test gets its own certificate; prism.test and no name get the default" ||
		not_ok "SNI: other.test gets its own certificate; prism.test and no name get the default" \
			"other.test: $o1; prism.test: $o2; by address: $o3"
	# restart MODE: a session from before a controller restart offered
	# after it; prints the tool's line.
	restart() {
		local p=$E2E_TMP/pause.$1 out
		mkdir -p "$p" && chmod a+rwx "$p"
		tb_exec client timeout 90 python3 "$TOOLS/tls_resume.py" $VIP "$CA" 300000 --pause "$p" >"$p/out" 2>&1 &
		local pid=$!
		for _ in $(seq 300); do [[ -e $p/ready ]] && break; sleep 0.1; done
		"$PRISM" down >/dev/null 2>&1
		up_tls "$1"
		touch "$p/go"
		wait $pid
		cat "$p/out"
	}
	r1=$(restart ticket)
	r2=$(restart none)
	[[ $r1 == "resumed=1 ok=1" && $r2 == "resumed=0 ok=1" ]] &&
		ok "ticket keys from --tls-ticket-keys: a session resumes across a controller restart (and without them it does not)" ||
		not_ok "ticket keys: a session resumes across a controller restart (and without them it does not)" \
			"with the key file: $r1; without: $r2"
	# Keys that change every 2 s: a ticket opens at once, not 5 s later.
	"$PRISM" down >/dev/null 2>&1
	up_tls ticket --controller-arg --tls-ticket-period --controller-arg 2
	aged() {
		local p=$E2E_TMP/age.$1
		mkdir -p "$p" && chmod a+rwx "$p"
		tb_exec client timeout 90 python3 "$TOOLS/tls_resume.py" $VIP "$CA" 1000 --pause "$p" >"$p/out" 2>&1 &
		local pid=$!
		for _ in $(seq 300); do [[ -e $p/ready ]] && break; sleep 0.1; done
		sleep "$1"
		touch "$p/go"
		wait $pid
		cat "$p/out"
	}
	a0=$(aged 0)
	a5=$(aged 5)
	[[ $a0 == "resumed=1 ok=1" && $a5 == "resumed=0 ok=1" ]] &&
		ok "--tls-ticket-period 2: a ticket resumes at once, not after two periods" ||
		not_ok "--tls-ticket-period 2: a ticket resumes at once, not after two periods" "at once: $a0; 5 s later: $a5"
fi

# ---- uploads over https (prism up --tls --store) -------------------------
# Bodies received at the controller before the hand-off (<= 64 KB) and
# streamed to the backend after it, in records the controller read ahead
# or left in the socket; then read back.
if check "prism up --tls --store" "$PRISM" up --tls --store --no-fsync; then
	good=0
	for n in 20000 65536 100000 1500000; do
		head -c $n /dev/urandom >"$E2E_TMP/up.$n"
		put=$(tb_exec client curl -sS --cacert "$CA" -T "$E2E_TMP/up.$n" \
			-o /dev/null -w '%{http_code}' "https://$VIP/obj/k$n" 2>&1)
		tb_exec client curl -sS --cacert "$CA" -o "$E2E_TMP/down.$n" "https://$VIP/obj/k$n" 2>&1
		if [[ $put == 201 || $put == 204 || $put == 200 ]] && cmp -s "$E2E_TMP/up.$n" "$E2E_TMP/down.$n"; then
			good=$((good + 1))
		else
			echo "# PUT $n: $put, read back: $(stat -c %s "$E2E_TMP/down.$n" 2>/dev/null)"
		fi
	done
	[[ $good == 4 ]] && ok "curl: PUT 20 KB, 64 KB, 100 KB, 1.5 MB over https, read back byte-exact" ||
		not_ok "curl: PUT 20 KB, 64 KB, 100 KB, 1.5 MB over https, read back byte-exact" "$good of 4"
	# Head and body in one write: the body's records arrive with the head.
	out=$(tb_exec client timeout 60 python3 "$TOOLS/tls_put.py" $VIP "$CA" 30000 60000 200000 1000000 2>&1)
	[[ $? -eq 0 ]] && ok "PUTs whose body came with the head (30 KB .. 1 MB), each read back on the connection: $out" ||
		not_ok "PUTs whose body came with the head, read back" "$out"
fi

# ---- bad configuration: a clear error, no controller ----------------------
# ctl_try ARGS...: a second controller on other ports, in the controller
# host; prints its exit code and first error line.
ctl_try() {
	local out
	out=$(tb_exec controller timeout 10 "$PRISM" controller --listen $VIP:8081 \
		--switch 127.0.0.1:1 --key "$RUN/key" --backend b1=$(tb_addr b1):7800 \
		--admin off "$@" 2>&1)
	echo "rc=$? $(grep -m1 -iE 'tls|error|pairs' <<<"$out")"
}
out=$(ctl_try --tls-cert "$RUN/tls/cert.pem")
[[ $out == rc=2*pairs* ]] && ok "--tls-cert without --tls-key: refused (usage, exit 2)" ||
	not_ok "--tls-cert without --tls-key: refused (usage, exit 2)" "$out"
out=$(ctl_try --tls-cert "$E2E_TMP/none.pem" --tls-key "$RUN/tls/key.pem" --tls-listen $VIP:8443)
[[ $out == rc=1*certificate*none.pem* ]] && ok "a missing certificate file: a clear error, exit 1" ||
	not_ok "a missing certificate file: a clear error, exit 1" "$out"
openssl ecparam -name prime256v1 -genkey -noout -out "$E2E_TMP/other.key" 2>/dev/null
out=$(ctl_try --tls-cert "$RUN/tls/cert.pem" --tls-key "$E2E_TMP/other.key" --tls-listen $VIP:8443)
[[ $out == rc=1*other.key*mismatch* || $out == rc=1*"does not match"* ]] && ok "a key that does not match the certificate: a clear error, exit 1" ||
	not_ok "a key that does not match the certificate: a clear error, exit 1" "$out"

# A backend's HTTPS on its HTTP port would share it (SO_REUSEPORT).
out=$(tb_exec b1 timeout 10 "$PRISM" backend --name bx --listen "$(tb_addr b1):8090" \
	--tls-cert "$RUN/tls/cert.pem" --tls-key "$RUN/tls/key.pem" \
	--tls-listen "$(tb_addr b1):8090" --admin off 2>&1)
rc=$?
[[ $rc == 2 && $out == *"--tls-listen's port"* ]] &&
	ok "a backend's --tls-listen on its --listen port: refused (exit 2)" ||
	not_ok "a backend's --tls-listen on its --listen port: refused (exit 2)" "rc $rc: $out"

check "prism down" "$PRISM" down
# Under the sanitizer pass of tests/run.sh the daemons may report into
# their logs, leaks at exit included.
reports=$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' "$RUN"/*.log 2>/dev/null)
[[ -z $reports ]] && ok "no sanitizer report in the daemons' logs" ||
	not_ok "no sanitizer report in the daemons' logs" "$(grep -hE -A12 'Sanitizer|runtime error' $reports | head -n 40)"
finish
