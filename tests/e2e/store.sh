#!/bin/bash
# The object store through Prism (issue 8): `prism up --store` in a testbed
# with 2 backends; request bodies travel from the client to the backend
# through the switch, answers and placement are checked against what the
# clients saw and what landed in each backend's store directory.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd curl python3 sha256sum
export PRISM_TESTBED=${STORE_TESTBED:-t-store}
RUN=/run/prism/$PRISM_TESTBED
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1; rm -rf $RUN/store-b1 $RUN/store-b2"
TOOL=$E2E_ROOT/tests/e2e/tools/store_client.py
VIP=198.19.0.1
PIN=/sys/fs/bpf/$PRISM_TESTBED

check "testbed up" "$PRISM" testbed up --backends 2 || finish
rm -rf "$RUN/store-b1" "$RUN/store-b2"
if ! check "prism up --store: backends with a store, controller hash-uri" "$PRISM" up --store; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

# counter NAME: a TCP counter of the client host (see handoff.sh).
counter() {
	tb_exec client cat /proc/net/netstat /proc/net/snmp |
		awk -v want="$1" '
		/^(TcpExt|Tcp):/ { if (!(FNR in names)) { split($0, h); hdr = 1 } }
		{ if (prev == $1) { for (i = 2; i <= NF; i++) v[substr($1, 1, length($1) - 1) h[i]] = $i; prev = "" } else prev = $1; split($0, h) }
		END { print v[want] + 0 }'
}
ctl_bytes() {
	tb_exec controller cat /proc/net/dev | awk '$1 == "eth0:" {print $2 + $10}'
}
flows() { "$PRISM" switch stats --pin-dir "$PIN" | awk '/^flow table:/ {print $3}'; }
client() { tb_exec client timeout 120 python3 "$TOOL" $VIP "$@"; }
# which KEY: the backend the controller's policy names for /obj/KEY.
which() {
	"$PRISM" controller --which-backend "/obj/$1" --policy hash-uri \
		--backend "b1=$(tb_addr b1):7800" --backend "b2=$(tb_addr b2):7800"
}
json() { python3 -c "import json, sys; r = json.loads(sys.argv[1]); print($1)" "$2" 2>/dev/null; }

# PUT + GET on one keep-alive connection, 0 B .. 64 MB.
SIZES=0,1,1000,65536,1000000,8388608,67108864
timeouts0=$(counter TcpExtTCPTimeouts)
retrans0=$(counter TcpRetransSegs)
out=$(client roundtrip ka $SIZES)
res=$(json 'len(r["bad"]), r["connections"], r["requests"]' "$out")
[[ $res == "0 1 14" ]] &&
	ok "keep-alive: PUT then GET of 7 objects (0 B .. 64 MB), ETags and bodies exact, one connection" ||
	not_ok "keep-alive: PUT then GET of 7 objects (0 B .. 64 MB), ETags and bodies exact, one connection" "${out:0:600}"

# Bodies over CONN_BODY_MAX stream right behind their heads, so part of
# each is queued at the controller when it freezes the connection: that
# part goes after the HANDOFF (HANDOFF_DATA, HO_F_MORE).  On the
# connection above, whether a queue was there (and under HO_PENDING_MAX)
# depends on how far its window had grown; a fresh connection's 200 KB
# PUT, its first 64 KB window sent in one burst, leaves one nearly always.
out=$(client fresh split 5 200000)
[[ $(json 'len(r["bad"]), r["requests"]' "$out") == "0 10" ]] &&
	ok "fresh connections: 5 PUTs of 200 KB, GET byte-exact" ||
	not_ok "fresh connections: 5 PUTs of 200 KB, GET byte-exact" "${out:0:600}"
splits=$(tb_exec controller curl -s http://127.0.0.1:9900/metrics |
	awk '$1 == "prism_controller_split_handoffs_total" {print $2}')
taken=$(tb_exec b1 curl -s http://127.0.0.1:9900/metrics; tb_exec b2 curl -s http://127.0.0.1:9900/metrics)
split_in=$(awk '/^prism_backend_handoff_events_total/ && /event="split_takeover"/ {s += $2} END {print s + 0}' <<<"$taken")
[[ ${splits:-0} -ge 1 && $split_in == "$splits" ]] &&
	ok "split hand-offs: $splits sent, as many taken over with their data after" ||
	not_ok "split hand-offs: sent and taken over" "controller $splits, backends $split_in"

# Placement: every object is on the backend the policy names, only there,
# with the same bytes.
misplaced=()
for s in ${SIZES//,/ }; do
	key=ka-$s
	want=$(which "$key")
	other=b1
	[[ $want == b1 ]] && other=b2
	sum=$(python3 -c "import hashlib, random, sys; s = int(sys.argv[1]); print(hashlib.sha256(random.Random(s).randbytes(s)).hexdigest())" "$s")
	if [[ ! -f $RUN/store-$want/$key || -e $RUN/store-$other/$key ]] ||
		[[ $(sha256sum <"$RUN/store-$want/$key" | cut -d' ' -f1) != "$sum" ]]; then
		misplaced+=("$key: policy says $want; $(ls "$RUN"/store-b*/"$key" 2>&1 | tr '\n' ' ')")
	fi
done
[[ ${#misplaced[@]} -eq 0 ]] && ok "each object is stored (byte-exact) only on the backend hash-uri names" ||
	not_ok "each object is stored (byte-exact) only on the backend hash-uri names" "${misplaced[@]}"
used=$(ls "$RUN/store-b1" "$RUN/store-b2" | grep -c '^ka-')
on_b1=$(ls "$RUN/store-b1" | grep -c '^ka-')
echo "# placement: $on_b1 of $used objects on b1"

# Across connections: curl, one connection per request, 100-continue for
# the larger bodies (curl's default above 1 MB).
bad=()
for s in 0 5000 2000000 20000000; do
	head -c "$s" /dev/urandom >"$E2E_TMP/up-$s"
	code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -T "$E2E_TMP/up-$s" "http://$VIP/obj/cx-$s")
	tb_exec client curl -s -o "$E2E_TMP/down-$s" "http://$VIP/obj/cx-$s"
	[[ $code == 201 ]] && cmp -s "$E2E_TMP/up-$s" "$E2E_TMP/down-$s" || bad+=("cx-$s: PUT $code, GET differs or failed")
done
[[ ${#bad[@]} -eq 0 ]] && ok "curl across connections: PUT 201, GET byte-exact (0 B .. 20 MB)" ||
	not_ok "curl across connections: PUT 201, GET byte-exact (0 B .. 20 MB)" "${bad[@]}"
out=$(tb_exec client curl -sv -o /dev/null -w 'status %{http_code}\n' -H 'Expect: 100-continue' \
	-T "$E2E_TMP/up-2000000" "http://$VIP/obj/cx-2000000" 2>&1)
grep -q '^< HTTP/1.1 100 Continue' <<<"$out" && grep -q '^status 200$' <<<"$out" &&
	ok "Expect: 100-continue answered with 100, then the replace with 200" ||
	not_ok "Expect: 100-continue answered with 100, then the replace with 200" "$(grep -E '^[<>] |status' <<<"$out" | head)"

# Upload bypass: 120 MB of PUTs, the controller's link carries < 2 %.
# Host mode: the bodies cross the controller's port twice (in from the
# router, back out to the backend), but not its stack: what its IP layer
# received (IpExt InOctets: segments the program sent on never get there)
# stays < 2 %.
ip_in() {
	tb_exec controller cat /proc/net/netstat | awk '$1 == "IpExt:" {if (h) {for (i = 2; i <= NF; i++) if (n[i] == "InOctets") print $i} else {h = 1; for (i = 2; i <= NF; i++) n[i] = $i}}'
}
ctl0=$(ctl_bytes)
in0=$(ip_in)
out=$(client put up 4 30000000)
ctl1=$(ctl_bytes)
in1=$(ip_in)
ctl=$((ctl1 - ctl0))
total=120000000
pct=$(awk -v a=$ctl -v b=$total 'BEGIN {printf "%.3f", 100 * a / b}')
if [[ ${PRISM_MODE:-switch} == host ]]; then
	ipct=$(awk -v a=$((in1 - in0)) -v b=$total 'BEGIN {printf "%.3f", 100 * a / b}')
	if [[ $(json 'len(r["bad"])' "$out") == 0 && $ctl -gt $((total * 19 / 10)) &&
		$ctl -lt $((total * 22 / 10)) && $((in1 - in0)) -lt $((total / 50)) ]]; then
		ok "host mode, 120 MB of PUTs: the controller's port carried $pct% (in and out), its stack received $ipct% (< 2%)"
	else
		not_ok "host mode, 120 MB of PUTs: the bodies cross the controller's port twice, not its stack" "link $pct%, stack $ipct%" "${out:0:300}"
	fi
elif [[ $(json 'len(r["bad"])' "$out") == 0 && $ctl -gt 0 && $ctl -lt $((total / 50)) ]]; then
	ok "upload bypass: 120 MB of PUTs, the controller link carried $pct% (< 2%)"
else
	not_ok "upload bypass: 120 MB of PUTs, the controller link carried $pct% (< 2%)" "${out:0:300}"
fi
timeouts1=$(counter TcpExtTCPTimeouts)
echo "# client retransmitted segments during the uploads: $(($(counter TcpRetransSegs) - retrans0))"
[[ $((timeouts1 - timeouts0)) -eq 0 ]] && ok "client saw no retransmission timeout during the uploads" ||
	not_ok "client saw no retransmission timeout during the uploads" "TCPTimeouts +$((timeouts1 - timeouts0))"

out=$(client chunked chunky 3000000)
[[ $(json 'r["put"] == [201, True] and r["get"] == 200 and r["same"]' "$out") == True ]] &&
	ok "chunked upload (uneven chunks, 3 MB): 201, ETag right, GET byte-exact" ||
	not_ok "chunked upload (uneven chunks, 3 MB): 201, ETag right, GET byte-exact" "$out"

out=$(client pipeline piped)
[[ $(json '[x[0] for x in r["responses"]] == [404, 201, 200, 204, 404] and r["responses"][2][2]' "$out") == True ]] &&
	ok "pipelined GET, PUT, GET, DELETE, GET in one write: 404 201 200 204 404 in order" ||
	not_ok "pipelined GET, PUT, GET, DELETE, GET in one write: 404 201 200 204 404 in order" "$out"

code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$VIP/obj/cx-5000")
code2=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' "http://$VIP/obj/cx-5000")
code3=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$VIP/obj/cx-5000")
[[ "$code $code2 $code3" == "204 404 404" && ! -e $RUN/store-b1/cx-5000 && ! -e $RUN/store-b2/cx-5000 ]] &&
	ok "DELETE 204, then GET 404 and DELETE 404; the file is gone" ||
	not_ok "DELETE 204, then GET 404 and DELETE 404; the file is gone" "$code $code2 $code3"

code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -T "$E2E_TMP/up-5000" "http://$VIP/obj/..%2Fx")
code2=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -T "$E2E_TMP/up-5000" "http://$VIP/obj/a%20b")
[[ "$code $code2" == "400 400" ]] && ok "bad keys get 400" || not_ok "bad keys get 400" "$code $code2"

# What object stores return: the PUT's Content-Type; conditional writes
# (412) and reads (304); a range of an object.
cu() { tb_exec client curl -s -o /dev/null -w '%{http_code}' "$@"; }
code=$(cu -T "$E2E_TMP/up-5000" -H 'Content-Type: image/png' "http://$VIP/obj/typed")
t=$(tb_exec client curl -s -o /dev/null -D - "http://$VIP/obj/typed" | tr -d '\r' | awk 'tolower($1)=="content-type:"{print $2}')
[[ $code == 201 && $t == image/png ]] && ok "PUT with Content-Type: image/png, GET returns it" ||
	not_ok "PUT with Content-Type: image/png, GET returns it" "PUT $code, Content-Type $t"
etag=$(tb_exec client curl -s -o /dev/null -D - "http://$VIP/obj/typed" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
c1=$(cu -H "If-None-Match: $etag" "http://$VIP/obj/typed")
c2=$(cu -T "$E2E_TMP/up-5000" -H 'If-Match: "not-it"' "http://$VIP/obj/typed")
c3=$(cu -T "$E2E_TMP/up-5000" -H 'If-None-Match: *' "http://$VIP/obj/typed")
c4=$(cu -X DELETE -H 'If-Match: "not-it"' "http://$VIP/obj/typed")
c5=$(cu -T "$E2E_TMP/up-5000" -H "If-Match: $etag" "http://$VIP/obj/typed")
c6=$(cu -T "$E2E_TMP/up-5000" -H 'If-Match: *' "http://$VIP/obj/never-stored")
[[ "$c1 $c2 $c3 $c4 $c5 $c6" == "304 412 412 412 200 412" ]] &&
	ok "If-None-Match GET 304; If-Match / If-None-Match: * on PUT and DELETE: 412, or the write when they hold" ||
	not_ok "If-None-Match GET 304; If-Match / If-None-Match: * on PUT and DELETE: 412, or the write when they hold" "$c1 $c2 $c3 $c4 $c5 $c6 (ETag $etag)"
tb_exec client curl -s -r 100-199 -o "$E2E_TMP/orange" "http://$VIP/obj/typed"
tail -c +101 "$E2E_TMP/up-5000" | head -c 100 | cmp -s - "$E2E_TMP/orange" &&
	ok "a range of an object: its bytes" || not_ok "a range of an object: its bytes" "$(stat -c %s "$E2E_TMP/orange") bytes"
cu -X DELETE "http://$VIP/obj/typed" >/dev/null

# Interrupted uploads.  A reset reaches the backend, which drops the
# temporary file at once.
client interrupt cut-rst 3000000 10000000 >/dev/null
sleep 0.5
where=$(which cut-rst)
tmp=$(ls -A "$RUN/store-$where" | grep -c '^\.tmp\.')
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' "http://$VIP/obj/cut-rst")
[[ $code == 404 && $tmp == 0 ]] && ok "upload reset mid-body: no object visible, temporary file removed" ||
	not_ok "upload reset mid-body: no object visible, temporary file removed" "GET $code" "$(ls -A "$RUN"/store-b*)"
n=$(flows)
[[ $n == 0 ]] && ok "switch table empty" || not_ok "switch table empty" "flows: $n"
# The switch clears a client's FIN to a backend (docs/switch.md), so an
# upload closed mid-body waits for the backend's idle timeout (60 s) to be
# dropped; meanwhile nothing of it is visible.
client interrupt cut-fin 3000000 10000000 --fin >/dev/null
sleep 0.5
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' "http://$VIP/obj/cut-fin")
[[ $code == 404 ]] && ok "upload closed mid-body: no object visible" ||
	not_ok "upload closed mid-body: no object visible" "GET $code"
check "prism down" "$PRISM" down
grep -h "uploads" "$RUN"/b*.log | sed 's/^/# /'
# With PRISM=build/asan/prism (make asan) the daemons report here.
reports=$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' "$RUN"/*.log 2>/dev/null)
[[ -z $reports ]] && ok "no sanitizer report in the daemons' logs" ||
	not_ok "no sanitizer report in the daemons' logs" "$(grep -hE -A12 'Sanitizer|runtime error' $reports | head -n 40)"
finish
