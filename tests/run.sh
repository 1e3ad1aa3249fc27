#!/bin/bash
# Runs every test program and counts its result lines:
#   ok - NAME / not ok - NAME / skip - NAME # reason
# C tests: build/tests/{unit,bpf}/test_*; end-to-end: tests/e2e/*.sh (root).
# A program that exits non-zero without printing a "not ok" counts as one
# failure.  Ends with "N passed, N failed, N skipped".
# Then, when $BUILD/asan/prism exists (make asan) and SANITIZE is not 0,
# the end-to-end scripts run a second time with every daemon built with
# AddressSanitizer + UBSan; every report they write (log_path) fails that
# pass.  The first pass runs Prism in its default adaptive delivery, the
# sanitizer pass with PRISM_DELIVERY=handoff (every request handed off), so
# every end-to-end test runs in both modes (docs/delivery.md); relay.sh
# runs adaptive in both.  PRISM_DELIVERY set by the caller applies to both.
# Last, a host-mode pass (PRISM_MODE=host) of the hand-off, upload,
# bad-input, fault, client-behaviour and HTTPS tests; HOST_MODE=0 skips it.
# Usage: tests/run.sh [PATTERN]   (runs only tests whose path matches)
set -u
cd "$(dirname "$0")/.."
PATTERN=${1:-}
BUILD=${BUILD:-build}
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failed_names=()

run_one() {
	local prog=$1 log out rc
	log=$LOGDIR/${LOGPREFIX:-}$(basename "$prog").log
	printf '== %s%s\n' "${LOGPREFIX:+[$LOGPREFIX] }" "$prog"
	if [[ $prog == *.sh ]]; then
		timeout 900 bash "$prog" >"$log" 2>&1
	else
		timeout 600 "$prog" >"$log" 2>&1
	fi
	rc=$?
	grep -E '^(ok|not ok|skip) - |^#' "$log" | sed 's/^/   /'
	local p f s
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	s=$(grep -c '^skip - ' "$log")
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		echo "   not ok - $prog exited $rc without a failing case; log tail:"
		tail -n 15 "$log" | sed 's/^/   | /'
		f=1
	fi
	if [[ $f -gt 0 ]]; then
		failed_names+=("$prog")
		grep -B2 -A12 '^not ok - ' "$log" | grep -v '^ok - ' | tail -n 40 | sed 's/^/   | /'
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

for prog in $BUILD/tests/unit/test_* $BUILD/tests/bpf/test_* tests/e2e/*.sh; do
	[[ -e $prog ]] || continue
	[[ $prog == *.d || $prog == */lib.sh ]] && continue
	[[ -n $PATTERN && $prog != *$PATTERN* ]] && continue
	run_one "$prog"
done

# The sanitizer pass over the end-to-end scripts.
ASAN_PRISM=$PWD/$BUILD/asan/prism
[[ $BUILD == /* ]] && ASAN_PRISM=$BUILD/asan/prism
if [[ ${SANITIZE:-1} != 0 && -x $ASAN_PRISM ]]; then
	REPORTS=$(mktemp -d /tmp/prism-sanitize.XXXXXX)
	export PRISM=$ASAN_PRISM LOGPREFIX=asan-
	export PRISM_DELIVERY=${PRISM_DELIVERY:-handoff}
	export ASAN_OPTIONS=detect_leaks=1:log_path=$REPORTS/asan
	export UBSAN_OPTIONS=print_stacktrace=1:log_path=$REPORTS/ubsan
	for prog in tests/e2e/*.sh; do
		[[ $prog == */lib.sh ]] && continue
		[[ $prog == */fuzz_short.sh || $prog == */bench_smoke.sh ]] && continue
		[[ -n $PATTERN && $prog != *$PATTERN* ]] && continue
		run_one "$prog"
	done
	unset PRISM LOGPREFIX ASAN_OPTIONS UBSAN_OPTIONS PRISM_DELIVERY
	if compgen -G "$REPORTS/*" >/dev/null; then
		echo "   not ok - sanitizers: reports from the daemons under test"
		head -n 30 "$REPORTS"/* | sed 's/^/   | /'
		failed=$((failed + 1))
		failed_names+=("sanitizer pass")
	else
		echo "   ok - sanitizers: no AddressSanitizer/UBSan report in the e2e pass"
		passed=$((passed + 1))
	fi
	rm -rf "$REPORTS"
fi

# The host-mode pass (docs/switch.md, host mode): the hand-off, upload,
# bad-input and fault tests again, with the fabric a plain router and the
# transformations on the controller's and backends' hosts.  Unless the
# caller chose a mode for every pass already (PRISM_MODE), or HOST_MODE=0.
HOST_TESTS="handoff store bad_input_clients fault_backend clients tls"
if [[ ${HOST_MODE:-1} != 0 && -z ${PRISM_MODE:-} ]]; then
	# Every request handed off, as in the sanitizer pass: relaying never
	# touches the tables, and a hand-off timeout (fault_backend.sh) is
	# then a hand-off's, whose CLOSED the stopped backend must honour.
	export PRISM_MODE=host LOGPREFIX=host-
	export PRISM_DELIVERY=${PRISM_DELIVERY:-handoff}
	for t in $HOST_TESTS; do
		prog=tests/e2e/$t.sh
		[[ -n $PATTERN && $prog != *$PATTERN* ]] && continue
		run_one "$prog"
	done
	unset PRISM_MODE LOGPREFIX PRISM_DELIVERY
fi

if [[ ${#failed_names[@]} -gt 0 ]]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
