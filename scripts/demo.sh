#!/bin/bash
# The demo (run by `make demo`, which installs the packages and builds
# first): brings up the testbed and Prism in it, fetches objects from the
# client through the VIP with curl and wrk, shows which backend served what
# and how little crossed the controller's link, uploads and downloads an
# object through the object store (prism up --store), does the same
# downloads over HTTPS (prism up --tls), and tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PRISM=$PWD/$BUILD/prism
export PRISM_TESTBED=${PRISM_TESTBED:-demo}
VIP=198.19.0.1
RUN=/run/prism/$PRISM_TESTBED

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: must run as root (network namespaces)" >&2
	exit 1
fi
cleanup() {
	echo
	echo "== prism down; prism testbed down"
	"$PRISM" down || true
	"$PRISM" testbed down || true
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
link_bytes() {
	"$PRISM" testbed exec "$1" cat /proc/net/dev |
		awk '$1 == "eth0:" {printf "%.0f\n", $2 + $10}'
}
ctl_bytes() {
	# /proc/net/dev is per network namespace (/sys/class/net is not,
	# since testbed exec keeps the mount namespace).
	"$PRISM" testbed exec controller cat /proc/net/dev |
		awk '$1 == "eth0:" {printf "%.0f\n", $2 + $10}'
}

step "prism testbed up --backends 2   (links 1000 Mbit/s, client link 2000)"
"$PRISM" testbed up --backends 2
"$PRISM" testbed status
step "prism up   (switch agent in the fabric, backends b1 b2, controller on $VIP)"
"$PRISM" up
"$PRISM" status

ctl0=$(ctl_bytes) cli0=$(link_bytes client)
step "curl: three objects on one keep-alive connection through the VIP"
"$PRISM" testbed exec client -- curl -s \
	-w '  %{http_code} %{size_download} bytes, X-Prism-Backend: %header{x-prism-backend}\n' \
	-o /dev/null "http://$VIP/bytes/1024" -o /dev/null "http://$VIP/bytes/2097152" \
	-o /dev/null "http://$VIP/bytes/8388608"
step "wrk: 2 connections, 5 s, 1 MB objects"
"$PRISM" testbed exec client -- wrk -t2 -c2 -d5s --latency "http://$VIP/bytes/1048576"
ctl1=$(ctl_bytes) cli1=$(link_bytes client)

step "switch counters"
"$PRISM" switch stats --pin-dir "/sys/fs/bpf/$PRISM_TESTBED" | sed -n '1,8p'
"$PRISM" down >/dev/null
step "requests handed off to each backend, or relayed (responses up to 8 KiB; controller log)"
grep -h "backend b[0-9]*: handoffs" "$RUN/controller.log" | sed 's/^.*info: /  /'
step "bytes through the controller's link"
awk -v c=$((ctl1 - ctl0)) -v t=$((cli1 - cli0)) 'BEGIN {
	printf "  client link %d bytes, controller link %d bytes (%.2f%%): request heads,\n", t, c, 100 * c / t
	print "  hand-off messages, switch control and the one small relayed response;"
	print "  the large payloads went from the backends straight to the client." }'

step "prism up --store   (each backend an object store; keys placed by hash-uri)"
"$PRISM" up --store >/dev/null
head -c 20000000 /dev/urandom >"/tmp/prism-demo-obj.$$"
"$PRISM" testbed exec client -- curl -s -T "/tmp/prism-demo-obj.$$" \
	-w '  PUT /obj/demo: %{http_code}, %{size_upload} bytes up, X-Prism-Backend: %header{x-prism-backend}, ETag %header{etag}\n' \
	-o /dev/null "http://$VIP/obj/demo"
"$PRISM" testbed exec client -- curl -s -o "/tmp/prism-demo-obj.$$.back" \
	-w '  GET /obj/demo: %{http_code}, %{size_download} bytes down, X-Prism-Backend: %header{x-prism-backend}\n' \
	"http://$VIP/obj/demo"
cmp -s "/tmp/prism-demo-obj.$$" "/tmp/prism-demo-obj.$$.back" && echo "  the bytes read back are the bytes written"
ls -l "$RUN"/store-b*/demo | sed 's/^/  /'
rm -f "/tmp/prism-demo-obj.$$" "/tmp/prism-demo-obj.$$.back" "$RUN"/store-b*/demo

step "prism up --tls   (HTTPS: TLS ends at the controller; the session moves with each hand-off)"
"$PRISM" down >/dev/null
"$PRISM" up --tls
ctl0=$(ctl_bytes) cli0=$(link_bytes client)
"$PRISM" testbed exec client -- curl -s --cacert "$RUN/tls/ca.pem" \
	-w '  %{http_code} %{size_download} bytes, X-Prism-Backend: %header{x-prism-backend}\n' \
	-o /dev/null "https://$VIP/bytes/1024" -o /dev/null "https://$VIP/bytes/2097152" \
	-o /dev/null "https://$VIP/bytes/8388608"
"$PRISM" testbed exec client -- wrk -t2 -c2 -d5s "https://$VIP/bytes/1048576"
ctl1=$(ctl_bytes) cli1=$(link_bytes client)
awk -v c=$((ctl1 - ctl0)) -v t=$((cli1 - cli0)) 'BEGIN {
	printf "  client link %d bytes, controller link %d bytes (%.2f%%): the backends\n", t, c, 100 * c / t
	print "  sealed the responses themselves; the controller did the handshakes." }'
