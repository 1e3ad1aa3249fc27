# Helpers for end-to-end tests.  Source it first thing:
#   . "$(dirname "$0")/lib.sh"
#   require_root
#   export PRISM_TESTBED=t-mine          # each test its own testbed
#   on_exit "$PRISM testbed down >/dev/null 2>&1"
#   check "testbed comes up" "$PRISM" testbed up
#   tb_exec client curl -s http://198.19.0.1/
#   finish
# Output: one line per case, "ok - NAME", "not ok - NAME" (followed by
# "#" detail lines) or "skip - NAME # reason"; tests/run.sh counts them.
set -u

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$E2E_ROOT/$BUILD
PRISM=${PRISM:-$BUILD/prism}
E2E_NAME=$(basename "$0" .sh)
E2E_FAILED=0
E2E_TMP=$(mktemp -d "/tmp/prism-$E2E_NAME.XXXXXX")
E2E_CLEANUP=()

ok() { echo "ok - $1"; }

# not_ok NAME [DETAIL...]: each DETAIL line is printed as a "#" comment.
not_ok() {
	local name=$1
	shift
	echo "not ok - $name"
	E2E_FAILED=$((E2E_FAILED + 1))
	[[ $# -gt 0 ]] && printf '%s\n' "$@" | sed 's/^/#   /'
	return 0
}

skip() { echo "skip - $1 # $2"; }

# check NAME CMD...: one case, passing when CMD exits 0.  CMD's output is
# shown (as comments) only when it fails.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [[ $rc -eq 0 ]]; then
		ok "$name"
	else
		not_ok "$name" "exit $rc: $*" "$(tail -n 15 <<<"$out")"
	fi
	return $rc
}

# check_rc NAME RC CMD...: passes when CMD exits with exactly RC.
check_rc() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [[ $rc -eq $want ]]; then
		ok "$name"
	else
		not_ok "$name" "exit $rc, wanted $want: $*" "$(tail -n 15 <<<"$out")"
	fi
}

# on_exit CMD: run CMD (a shell string) when the test exits, last
# registered first.
on_exit() { E2E_CLEANUP+=("$1"); }

e2e_cleanup() {
	local i
	for ((i = ${#E2E_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${E2E_CLEANUP[$i]}" || true
	done
	rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# skip_all REASON: the whole file is skipped.
skip_all() {
	skip "$E2E_NAME" "$1"
	exit 0
}

require_root() {
	[[ $(id -u) -eq 0 ]] || skip_all "needs root (network namespaces)"
	[[ -x $PRISM ]] || skip_all "no $PRISM (run make first)"
}

# require_cmd TOOL...: skip everything when a tool is missing.
require_cmd() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null ||
			skip_all "$t not installed (scripts/deps.sh)"
	done
}

# tb_exec HOST CMD...: CMD in HOST's network namespace of $PRISM_TESTBED.
tb_exec() {
	local host=$1
	shift
	"$PRISM" testbed exec "$host" -- "$@"
}

# tb_addr HOST: the host's address.
tb_addr() { "$PRISM" testbed addr "$1"; }

# tb_bg HOST CMD...: CMD in the background inside HOST; its pid is in
# $TB_PID, and it is killed at exit (testbed down would kill it too).
tb_bg() {
	tb_exec "$@" &
	TB_PID=$!
	on_exit "kill $TB_PID 2>/dev/null; wait $TB_PID 2>/dev/null"
}

# wait_listen HOST PORT [SECONDS]: until a TCP socket listens on PORT there.
wait_listen() {
	local host=$1 port=$2 t=${3:-5} i
	for ((i = 0; i < t * 20; i++)); do
		tb_exec "$host" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . &&
			return 0
		sleep 0.05
	done
	return 1
}

# finish: exit status 1 when a case failed.
finish() { exit $((E2E_FAILED > 0)); }
