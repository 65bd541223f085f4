#!/bin/sh
# make fuzz: each target for FUZZ_SECONDS (default 60) from its seed corpus.
# Ends with "N passed, N failed": a target fails when libFuzzer found a
# crash, a leak or a timeout; the input is in build/fuzz/crashes/.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
passed=0
failed=0
mkdir -p build/fuzz/crashes
for t in "$@"; do
	mkdir -p "build/fuzz/corpus/$t"
	echo "== fuzz $t for ${SECONDS_EACH}s"
	if build/fuzz/fuzz_"$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/crashes/$t-" "build/fuzz/corpus/$t" "test/fuzz/corpus/$t" \
		>"build/fuzz/$t.log" 2>&1; then
		echo "[       OK ] $t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "build/fuzz/$t.log" |
			grep -o '[0-9]*$') runs, no crash"
		passed=$((passed + 1))
	else
		tail -30 "build/fuzz/$t.log"
		echo "[  FAILED  ] $t: see build/fuzz/$t.log and build/fuzz/crashes/;" \
			"add the input to test/fuzz/regressions/$t/ once fixed"
		failed=$((failed + 1))
	fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
