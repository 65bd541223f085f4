# Shared by the integration tests (bash): result lines, waiting, a private
# JACK server, and tolk started on it. Every process started here is
# recorded in PIDS and stopped by its PID on exit.
B=build
TMP=$(mktemp -d /tmp/tolk-itest.XXXXXX)
. "$(dirname "${BASH_SOURCE[0]}")/results.sh"

# Server names come from a small pool, one flock each, rather than being
# made up anew: jackd sometimes leaves its slot in the shared registry
# (/dev/shm/jack-shm-registry, eight slots) taken when it exits with a
# client attached, and only a server of the same name reclaims it. A fixed
# pool cannot leak more slots than it has names.
SERVER=""
for slot in 0 1 2 3; do
	exec 9>"/tmp/tolk-itest-$(id -u)-$slot.lock"
	if flock -n 9; then
		SERVER="tolk-itest-$slot"
		break
	fi
done
if [ -z "$SERVER" ]; then
	echo "[  FAILED  ] no free test server name: four test runs already going"
	echo "[  FAILED  ] 1 test(s)"
	exit 1
fi
PIDS=()

export JACK_NO_START_SERVER=1
export JACK_NO_AUDIO_RESERVATION=1
# A call from the wrong thread aborts tolk, naming the function (README: Threads).
export TOLK_THREAD_STRICT=1
# Logs of a --no-record run go to the state folder: the test's own.
export XDG_STATE_HOME="$TMP/state"

# stop_pid PID: TERM, then KILL after 5 s; never waits without bound.
stop_pid() {
	local p=$1 i=0
	kill -TERM "$p" 2>/dev/null || return 0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# Newest first: clients leave before their server goes.
cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[$i]}"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

launch_jackd() {
	jackd -n "$SERVER" -d dummy -r 48000 -p 256 >"$TMP/jackd.log" 2>&1 &
	JACKD_PID=$!
	PIDS+=("$JACKD_PID")
	wait_for 10 jack_lsp -s "$SERVER"
}

start_jackd() { # sets JACKD_PID; exits the test when the server does not come up
	if launch_jackd; then
		return
	fi
	# Every registry slot taken by servers that are gone: with no jackd
	# running at all, the registry is stale through and through.
	if grep -q "Too many servers already active" "$TMP/jackd.log" && ! pgrep -x jackd >/dev/null; then
		echo "note: JACK's server registry was full of stale entries; removing it"
		rm -f /dev/shm/jack-shm-registry
		launch_jackd && return
	fi
	fail "jackd starts" "$(cat "$TMP/jackd.log")"
	finish
}

start_tolk() { # start_tolk NAME SOCKET [ARGS...]; sets TOLK_PID
	local name=$1 sock=$2
	shift 2
	$B/tolk --server "$SERVER" --name "$name" --control "$sock" --record-dir "$TMP/rec" "$@" 2>>"$TMP/$name.log" &
	TOLK_PID=$!
	PIDS+=("$TOLK_PID")
	wait_for 10 $B/tolkctl --control "$sock" status
}

start_tones() { # start_tones DEST:FREQ[:AMP]...: one generator, waits until it plays
	local log="$TMP/tones-$RANDOM.out"
	$B/test/tonegen -s "$SERVER" -n "tones$RANDOM" "$@" >"$log" 2>&1 &
	PIDS+=("$!")
	wait_for 10 grep -q ready "$log" || fail "tonegen starts" "$(cat "$log")"
}

# probe_raw PORT...: the probe's lines (see test/integration/probe.c)
probe_raw() {
	$B/test/probe -s "$SERVER" -n "probe$RANDOM" -f "$FREQS" "$@"
}

# probe PORT...: the frequency each port carries (or "silence"), on one line
probe() {
	probe_raw "$@" | awk '{printf "%s%s", sep, $2; sep=" "} END {print ""}'
}

# level PORT: RMS in dBFS, rounded
level() {
	probe_raw "$1" | awk '{printf "%.0f\n", $3}'
}

# valid FILE: another tool reads a recording (sndfile-info and soxi for
# FLAC and WAV, opusinfo for Opus); all_valid FILE...: every one does.
valid() {
	case "$1" in
	*.opus) opusinfo "$1" >/dev/null 2>&1 ;;
	*) sndfile-info "$1" 2>/dev/null | grep -q '^Frames *: *[1-9]' && soxi -D "$1" >/dev/null 2>&1 ;;
	esac
}
all_valid() {
	local f
	[ $# -gt 0 ] || return 1
	for f in "$@"; do valid "$f" || { echo "invalid: $f"; return 1; }; done
}

# exit_status PID: waits up to 10 s for the child to end and sets
# EXIT_STATUS to its exit status, or "none" if it runs on. (Not in $(...):
# a subshell cannot wait for its parent's children.)
exit_status() {
	local i
	EXIT_STATUS=none
	for i in $(seq 1 100); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			EXIT_STATUS=$?
			return
		fi
		sleep 0.1
	done
}

# tolk_kept_time SOCKET: tolk's process callback kept within its period.
# Ideally no cycle's CPU time passed it (status process.overruns). But this
# machine is a VM without a steal clock: when the host takes the vCPU away
# mid-cycle, the guest counts the stolen time as the thread's CPU time,
# and a single stalled cycle cannot be told from tolk's own (a fault of
# the realtime thread that waits on the memory map lock spins, and counts
# as CPU time too). So stray overruns (at most one per 500 cycles) pass
# while tolk's p99 stays under three quarters of the period; a tolk that is
# really too slow fails both. (A quarter was too tight: one CI run on a
# busy host saw a small room's p99 at 0.59 for a few seconds, where the
# same test reads 0.02 to 0.06 otherwise.) Prints what it found.
tolk_kept_time() {
	local st cycles overruns p99
	st=$($B/tolkctl --control "$1" --json status | grep -o '"process":{[^}]*}')
	cycles=$(echo "$st" | grep -o '"cycles":[0-9]*' | cut -d: -f2)
	overruns=$(echo "$st" | grep -o '"overruns":[0-9]*' | cut -d: -f2)
	p99=$(echo "$st" | grep -o '"p99_share":[0-9.]*' | cut -d: -f2)
	echo "${overruns:-?} of ${cycles:-?} cycles past the period in CPU time, p99 ${p99:-?} of a period"
	[ "${overruns:-1}" -eq 0 ] ||
		{ [ $((overruns * 500)) -le "${cycles:-0}" ] && awk -v p="${p99:-1}" 'BEGIN { exit !(p < 0.75) }'; }
}

# slips_explained SOCKET SLIPS: a continuity probe's slips (whole periods
# lost or repeated at a period's start) are JACK's doing, not tolk's, only
# when JACK counted at least one xrun per two slips and tolk kept its time.
# Prints what it found.
slips_explained() {
	local xruns kept
	xruns=$($B/tolkctl --control "$1" --json record status | grep -o '"xruns":[0-9]*' | cut -d: -f2)
	kept=$(tolk_kept_time "$1")
	echo "$2 slip(s), $xruns xrun(s) by JACK's count; tolk: $kept"
	[ "$2" -eq 0 ] || { tolk_kept_time "$1" >/dev/null && [ "$2" -le $((2 * ${xruns:-0})) ]; }
}

# check_continuity SOCKET FILE WHAT MIN_FRAMES: each port a continuity
# probe reported in FILE ran MIN_FRAMES and more with no break, and its
# slips (if any) were JACK's xruns.
check_continuity() {
	local port frames breaks worst slips why
	while read -r port frames breaks worst slips; do
		check_true "$port: $3" "$frames frames, $breaks break(s), worst $worst" \
			test "$breaks" = 0 -a "$frames" -gt "$4"
		why=$(slips_explained "$1" "$slips")
		check_true "$port: any period lost or repeated was JACK's xrun, not tolk's ($why)" "$why" \
			slips_explained "$1" "$slips"
	done < <(grep '^tolk:' "$2")
}

# room_two_languages MEETING: a small room's first lines (en and fr, a fr
# booth of two consoles), for a test to add its own sections to.
room_two_languages() {
	cat <<EOF
meeting: $1
floor: { inputs: [main], language: en }
languages:
  - { code: en, name: English }
  - { code: fr, name: "Français" }
booths:
  - { id: fr, outputs: [fr], understands: [en], consoles: 2 }
EOF
}
