#!/bin/sh
# Runs every test suite (make test calls this after building) and ends with
# one line "N passed, N failed". Each suite prints cmocka-style lines and a
# "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" summary; a suite that
# dies without its summary counts as one failure.
set -u
cd "$(dirname "$0")/.."

LOGS=build/test/logs
mkdir -p "$LOGS"
passed=0
failed=0

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1:${TSAN_OPTIONS:-}"

suite() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$LOGS/$name.log" 2>&1
	rc=$?
	cat "$LOGS/$name.log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$LOGS/$name.log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$LOGS/$name.log" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "[  FAILED  ] $name exited with status $rc (see $LOGS/$name.log)"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

# TSan needs a narrow address space layout on kernels with wide mmap
# randomisation; retry without ASLR when it says so.
tsan() {
	"$@" && return 0
	rc=$?
	if "$@" 2>&1 | grep -q "unexpected memory mapping"; then
		setarch "$(uname -m)" -R "$@"
		return $?
	fi
	return $rc
}

for t in build/test/unit/test_*; do
	suite "unit-$(basename "$t")" "$t"
done
for t in config command osc manifest; do
	suite "fuzz-replay-$t" build/test/replay_$t test/fuzz/corpus/$t test/fuzz/regressions/$t
done
suite ring-stress-tsan tsan build/test/ring_stress
suite plugins-no-alloc build/test/plugin_no_alloc build/plugins/*.so
suite integration-engine bash test/integration/engine_test.sh
suite integration-console bash test/integration/console_test.sh
suite integration-record bash test/integration/record_test.sh
suite integration-archive bash test/integration/archive_test.sh
suite integration-recfault bash test/integration/recfault_test.sh
suite integration-access bash test/integration/access_test.sh
suite integration-alarms bash test/integration/alarm_test.sh
suite integration-osc bash test/integration/osc_test.sh
suite integration-hearing bash test/integration/hearing_test.sh
suite integration-resilience bash test/integration/resilience_test.sh
suite integration-pipewire bash test/integration/pipewire_test.sh
suite integration-reload bash test/integration/reload_test.sh
suite integration-storm bash test/integration/storm_test.sh
suite integration-hardening bash test/integration/hardening_test.sh
suite integration-lockout bash test/integration/lockout_test.sh
suite integration-web bash test/integration/web_test.sh
suite integration-touch-console bash test/integration/touch_console_test.sh
suite integration-midi bash test/integration/midi_test.sh
suite integration-netjack bash test/integration/netjack_test.sh
suite integration-stream bash test/integration/stream_test.sh
suite integration-rtp bash test/integration/rtp_test.sh
suite integration-listen bash test/integration/listen_test.sh
suite integration-metrics bash test/integration/metrics_test.sh
suite integration-service bash test/integration/service_test.sh
suite integration-incident bash test/integration/incident_test.sh
suite man-pages bash test/integration/man_test.sh
suite debian-package bash test/integration/deb_test.sh
suite integration-rtguard bash test/integration/rtguard_test.sh
suite soak-short env SOAK_HOURS=0.5 SOAK_MINUTES=1.5 SOAK_SEGMENT_MINUTES=10 bash test/soak/soak.sh

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
