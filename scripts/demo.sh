#!/bin/bash
# The demo (run by `make demo`, which installs the packages and builds
# first): brings up the testbed, shows it, fetches a file from a small web
# server in b1 with curl from the client, and takes the testbed down.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PRISM=$PWD/$BUILD/prism
export PRISM_TESTBED=${PRISM_TESTBED:-demo}
PORT=8000

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: must run as root (network namespaces)" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/prism-demo.XXXXXX)
SERVER=
cleanup() {
	if [[ -n $SERVER ]]; then
		kill "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
	fi
	echo "== prism testbed down"
	"$PRISM" testbed down || true
	rm -rf "$TMP"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "prism testbed up --backends 2 --link-mbit 1000"
"$PRISM" testbed up --backends 2 --link-mbit 1000
step "prism testbed status"
"$PRISM" testbed status

B1=$("$PRISM" testbed addr b1)
head -c 50000000 /dev/urandom >"$TMP/file-50M"
step "web server in b1 ($B1:$PORT): python3 -m http.server"
"$PRISM" testbed exec b1 -- python3 -m http.server -b "$B1" -d "$TMP" $PORT \
	>/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 50); do
	"$PRISM" testbed exec b1 -- ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done

step "client: curl http://$B1:$PORT/file-50M (b1's link is 1000 Mbit/s)"
"$PRISM" testbed exec client -- curl -sS -o /dev/null \
	-w '%{http_code}, %{size_download} bytes in %{time_total} s = %{speed_download} B/s\n' \
	"http://$B1:$PORT/file-50M" |
	awk '{print; if (match($0, /= [0-9.]+ B/)) printf "   (%.0f Mbit/s)\n", substr($0, RSTART + 2, RLENGTH - 4) * 8 / 1e6}'
