# Result lines and the summary that test/run.sh reads, shared by every
# test script (lib.sh sources it; the tests that need no JACK server too).
ok=0
bad=0

pass() { echo "[       OK ] $1"; ok=$((ok + 1)); }
fail() { echo "[  FAILED  ] $1: $2"; bad=$((bad + 1)); }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_true NAME DETAIL COMMAND...: passes when the command succeeds
check_true() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$detail"; fi
}

wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# The summary line test/run.sh reads, and the exit status.
finish() {
	echo "[  PASSED  ] $ok test(s)."
	if [ $bad -ne 0 ]; then
		echo "[  FAILED  ] $bad test(s)"
		exit 1
	fi
	exit 0
}
