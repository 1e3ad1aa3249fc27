#!/bin/bash
# The hand-off suite again, with every daemon (switch agent, controller,
# backends) built with AddressSanitizer and UBSan (make asan); handoff.sh
# fails on any sanitizer report in their logs.
. "$(dirname "$0")/lib.sh"
require_root
ASAN=$BUILD/asan/prism
[[ -x $ASAN ]] || skip_all "no $ASAN (make asan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
PRISM=$ASAN HO_TESTBED=t-hoa exec bash "$(dirname "$0")/handoff.sh"
