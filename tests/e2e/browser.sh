#!/bin/bash
# A browser through the VIP (issue 14): headless Chromium in the client
# host loads a page with 24 images from the backends' --root; the test
# checks that the page ran (its script counts the images that decoded) and
# that every image is on the screenshot in its own colour, not only that
# bytes arrived.  Then the same files with real HTTP semantics: types,
# ranges, validators, and the request-line limit, with curl.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3 curl
export PRISM_TESTBED=${BR_TESTBED:-t-br}
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1"
TOOLS=$E2E_ROOT/tests/e2e/tools
VIP=198.19.0.1
RUN=/run/prism/$PRISM_TESTBED
SITE=$E2E_TMP/site
N=24

python3 "$TOOLS/site.py" make "$SITE" $N
head -c 3000000 /dev/urandom >"$SITE/big.bin"
chmod -R a+rX "$E2E_TMP"
check "testbed up" "$PRISM" testbed up --backends 2 || finish
if ! check "prism up --root (both backends serve the site)" "$PRISM" up --root "$SITE"; then
	tail -n 20 "$RUN"/*.log | sed 's/^/#   /'
	finish
fi

# ---- the browser ----
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $CHROMIUM ]]; then
	skip "chromium renders the page" "chromium not installed (scripts/deps.sh)"
else
	chrome() {
		tb_exec client timeout 60 "$CHROMIUM" --headless=new --no-sandbox \
			--disable-gpu --disable-quic --no-first-run \
			--disable-background-networking --disable-component-update \
			--disable-sync --hide-scrollbars --user-data-dir="$E2E_TMP/profile$1" \
			--window-size=800,600 "${@:2}" "http://$VIP/" 2>"$E2E_TMP/chrome$1.err"
	}
	chrome 1 --dump-dom >"$E2E_TMP/dom.html"
	out=$(python3 "$TOOLS/site.py" check-dom "$E2E_TMP/dom.html" $N)
	[[ $? -eq 0 ]] && ok "chromium ran the page: $out" ||
		not_ok "chromium ran the page: loaded $N of $N" "$out" "$(head -c 400 "$E2E_TMP/dom.html")" "$(tail -3 "$E2E_TMP/chrome1.err")"
	chrome 2 --screenshot="$E2E_TMP/shot.png" >/dev/null
	if [[ -s $E2E_TMP/shot.png ]]; then
		out=$(python3 "$TOOLS/site.py" check-shot "$E2E_TMP/shot.png" $N)
		[[ $? -eq 0 ]] && ok "the screenshot shows every image in its colour" ||
			not_ok "the screenshot shows every image in its colour" "$out"
	else
		not_ok "the screenshot shows every image in its colour" "no screenshot" "$(tail -3 "$E2E_TMP/chrome2.err")"
	fi
fi

# ---- the same files, with curl ----
hdr() { tb_exec client curl -s -o /dev/null -D - "$@" | tr -d '\r'; }
field() { awk -v f="$1" 'BEGIN{IGNORECASE=1} tolower($1) == tolower(f) ":" {sub(/^[^:]*: /, ""); print; exit}'; }

t=$(hdr "http://$VIP/" | field Content-Type)
[[ $t == text/html ]] && ok "a directory serves its index.html as text/html" ||
	not_ok "a directory serves its index.html as text/html" "Content-Type: $t"
t=$(hdr "http://$VIP/img/3.png" | field Content-Type)
[[ $t == image/png ]] && ok "image/png from the extension" || not_ok "image/png from the extension" "Content-Type: $t"
loc=$(hdr "http://$VIP/img" | field Location)
[[ $loc == /img/ ]] && ok "a directory without its slash: 301 to it" || not_ok "a directory without its slash: 301 to it" "Location: $loc"

# curl -r on a 3 MB object, through the hand-off: the bytes of the range.
tb_exec client curl -s -r 0-99 -o "$E2E_TMP/r1" -w '%{http_code}' "http://$VIP/bytes/3000000" >"$E2E_TMP/code"
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d == bytes(i % 251 for i in range(100)) else 1)' "$E2E_TMP/r1" &&
	[[ $(cat "$E2E_TMP/code") == 206 ]] && ok "curl -r 0-99 on /bytes/3000000: 206 with those 100 bytes" ||
	not_ok "curl -r 0-99 on /bytes/3000000: 206 with those 100 bytes" "status $(cat "$E2E_TMP/code"), $(stat -c %s "$E2E_TMP/r1") bytes"
tb_exec client curl -s -r 1000000- -o "$E2E_TMP/r2" "http://$VIP/big.bin"
tail -c +1000001 "$SITE/big.bin" | cmp -s - "$E2E_TMP/r2" &&
	ok "curl -r 1000000- on a 3 MB file: the last 2,000,000 bytes exact" ||
	not_ok "curl -r 1000000- on a 3 MB file: the last 2,000,000 bytes exact" "$(stat -c %s "$E2E_TMP/r2") bytes"
cr=$(hdr -r 5000000- "http://$VIP/big.bin" | awk 'NR==1{print $2} tolower($1)=="content-range:"{print $2, $3}' | tr '\n' ' ')
[[ $cr == "416 bytes */3000000 " ]] && ok "a range past the end: 416 with Content-Range: bytes */size" ||
	not_ok "a range past the end: 416 with Content-Range: bytes */size" "$cr"
# A resumed download (curl -C -): the rest, byte-exact.
head -c 1234567 "$SITE/big.bin" >"$E2E_TMP/part"
tb_exec client curl -s -C - -o "$E2E_TMP/part" "http://$VIP/big.bin"
cmp -s "$SITE/big.bin" "$E2E_TMP/part" && ok "curl -C - resumes a download byte-exact" ||
	not_ok "curl -C - resumes a download byte-exact" "$(stat -c %s "$E2E_TMP/part") bytes"

etag=$(hdr "http://$VIP/big.bin" | field ETag)
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://$VIP/big.bin")
[[ -n $etag && $code == 304 ]] && ok "If-None-Match with its ETag: 304" || not_ok "If-None-Match with its ETag: 304" "ETag '$etag', status $code"
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -z "$SITE/big.bin" "http://$VIP/big.bin")
[[ $code == 304 ]] && ok "If-Modified-Since its Last-Modified (curl -z): 304" || not_ok "If-Modified-Since its Last-Modified (curl -z): 304" "status $code"
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -r 0-9 -H 'If-Range: "stale"' "http://$VIP/big.bin")
[[ $code == 200 ]] && ok "a Range with a stale If-Range: the whole 200" || not_ok "a Range with a stale If-Range: the whole 200" "status $code"

long=$(python3 -c 'print("/" + "a" * 20000)')
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' "http://$VIP$long")
[[ $code == 414 ]] && ok "a 20 KB request line: 414" || not_ok "a 20 KB request line: 414" "status $code"
code=$(tb_exec client curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(python3 -c 'print("b" * 20000)')" "http://$VIP/")
[[ $code == 431 ]] && ok "a 20 KB header field: 431" || not_ok "a 20 KB header field: 431" "status $code"

check "prism down" "$PRISM" down
finish
