#!/bin/bash
# A bounded fuzz run inside `make test`: builds the libFuzzer targets with
# `make fuzz` and runs each for FUZZ_SECONDS (default 8) on a scratch copy
# of its seed corpus (the repository's corpus is never written).  A crash,
# sanitizer report or contract violation fails the case; the reproducer is
# kept in $BUILD/fuzz/artifacts/.  Longer runs: docs/reliability.md.
. "$(dirname "$0")/lib.sh"
command -v clang >/dev/null || skip_all "clang not installed (scripts/deps.sh)"
SECONDS_EACH=${FUZZ_SECONDS:-8}
FUZZ_DIR=$BUILD/fuzz
ART=$FUZZ_DIR/artifacts

if ! out=$(make -C "$E2E_ROOT" --no-print-directory BUILD="$BUILD" fuzz 2>&1); then
	# libclang-rt ships the fuzzer runtime; without it nothing can run.
	if grep -q 'libclang_rt.fuzzer\|fsanitize=fuzzer' <<<"$out"; then
		skip_all "no libFuzzer runtime (apt-get install libclang-rt-14-dev)"
	fi
	not_ok "make fuzz builds every target" "$(tail -n 15 <<<"$out")"
	finish
fi
ok "make fuzz builds every target"
mkdir -p "$ART"

for f in "$E2E_ROOT"/tests/fuzz/fuzz_*.c; do
	n=$(basename "$f" .c)
	seeds=$E2E_ROOT/tests/fuzz/corpus/${n#fuzz_}
	work=$E2E_TMP/$n
	mkdir -p "$work"
	[[ -d $seeds ]] || seeds=
	log=$E2E_TMP/$n.log
	(cd "$E2E_TMP" && timeout $((SECONDS_EACH + 60)) "$FUZZ_DIR/$n" \
		-max_total_time="$SECONDS_EACH" -timeout=5 -rss_limit_mb=1024 \
		-artifact_prefix="$ART/$n-" -print_final_stats=1 \
		"$work" $seeds >"$log" 2>&1)
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
	if [[ $rc -eq 0 && -n $execs ]]; then
		ok "$n: $SECONDS_EACH s, $execs inputs, no crash or contract violation"
	else
		not_ok "$n: $SECONDS_EACH s without a crash" "exit $rc; artifacts in $ART" \
			"$(grep -E 'ERROR|SUMMARY|runtime error|Test unit written|#0 |#1 |#2 ' "$log" | head -n 15)"
	fi
	echo "# $n: $(grep -c . <(ls "$work")) new corpus entries, $(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)"
done
finish
