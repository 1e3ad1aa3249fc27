#!/bin/bash
# Runs every test program and counts its result lines:
#   ok - NAME / not ok - NAME / skip - NAME # reason
# C tests: build/tests/{unit,bpf}/test_*; end-to-end: tests/e2e/*.sh (root).
# A program that exits non-zero without printing a "not ok" counts as one
# failure.  Ends with "N passed, N failed, N skipped".
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
	log=$LOGDIR/$(basename "$prog").log
	printf '== %s\n' "$prog"
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

if [[ ${#failed_names[@]} -gt 0 ]]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
