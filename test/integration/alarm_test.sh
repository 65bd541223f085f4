#!/bin/bash
# Integration test of the alarms on a real JACK server: each one provoked
# with tones (or their absence) and cleared again, with short thresholds.
# xrun comes from stopping the server for a moment, recording-drop from
# stopping the disk thread alone (gdb, non-stop mode). Not provoked:
# both-open, which the channel rules never allow (one booth per channel,
# switched atomically); the alarm tracker's unit tests cover it.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600,920
ctl() { $B/tolkctl --control "$SOCK" "$@"; }

# saw TEXT: the events show TEXT within 5 s
saw() { wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json events | grep -q '\"text\":\"$1'"; }
expect_event() { # expect_event NAME TEXT
	if saw "$2"; then pass "$1"; else fail "$1" "no event '$2' in $(ctl --json events)"; fi
}

start_jackd
start_tolk tolk "$SOCK" --config test/integration/alarm_room.yaml || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }

expect_event "floor-silent: raised while the floor is silent" "alarm floor-silent: the floor is below -50 dBFS"
check "status lists the active alarm" "yes" \
	"$(ctl --json status | grep -q '"alarms":\[{"kind":"floor-silent","subject":"","since":"20' && echo yes)"
start_tones tolk:floor_main:440
expect_event "floor-silent: cleared when the floor speaks" "cleared floor-silent"

ctl mic en 1 on >/dev/null
expect_event "live-silent: a live mic with nothing on it" "alarm live-silent en: en/1 is live but below -50 dBFS"
start_tones tolk:mic_en_1:920
expect_event "live-silent: cleared when the interpreter speaks" "cleared live-silent en"

ctl listen fr 2 auto >/dev/null
ctl mic en 1 off >/dev/null
expect_event "no-pivot: auto-relay with no pivot" "alarm no-pivot fr/2"
ctl floor-language en >/dev/null
expect_event "no-pivot: cleared when the floor turns to a language fr understands" "cleared no-pivot fr/2"

start_tones tolk:mic_fr_1:600:1.0
LOUD=${PIDS[-1]}
expect_event "clipping: a mic at full scale" "alarm clipping mic_fr_1: peak 0.0 dBFS"
stop_pid "$LOUD"
expect_event "clipping: cleared when it stops" "cleared clipping mic_fr_1"

ctl record start alarms >/dev/null
expect_event "disk-low: raised while recording with too little disk for the threshold" "alarm disk-low"

# recording-drop: stop only the disk thread (gdb, non-stop mode) for longer
# than the 1 s rings hold, while the audio thread runs on.
DISK_TID=$(ps -L -o tid=,comm= -p "$TOLK_PID" | awk '$2 == "tolk-disk" {print $1}')
if [ -n "$DISK_TID" ] && command -v gdb >/dev/null &&
	timeout 20 gdb -q -batch -ex "set non-stop on" -ex "attach $DISK_TID" -ex "shell sleep 1.8" -ex detach \
		>"$TMP/gdb.log" 2>&1; then
	expect_event "recording-behind: raised while the disk thread stands still, before the drop" \
		"alarm recording-behind"
	expect_event "recording-drop: the disk thread stalled" "alarm recording-drop"
	check "recording-drop: the drop is in the timeline" "yes" \
		"$(grep -q '"event":"dropped","frames":[0-9]*,"channel":"all"' "$TMP/rec/alarms/timeline.jsonl" && echo yes)"
else
	echo "note: cannot stop a single thread with gdb here: recording-drop was not provoked"
fi
ctl record stop >/dev/null
expect_event "disk-low: cleared when recording stops" "cleared disk-low"
if [ -n "${DISK_TID:-}" ] && grep -q detached "$TMP/gdb.log" 2>/dev/null; then
	expect_event "recording-drop: cleared when the drops stop" "cleared recording-drop"
	check "recording-drop: silence kept every channel aligned" "1" \
		"$(for f in "$TMP"/rec/alarms/*.wav; do soxi -s "$f"; done | sort -u | wc -l)"
fi

kill -STOP "$JACKD_PID"
sleep 0.3
kill -CONT "$JACKD_PID"
expect_event "xrun: a stalled server" "alarm xrun"
# Cleared once no xrun has come for five clear times. A busy machine may
# go on making xruns of its own; then the alarm rightly stays.
xruns() { ctl --json record status | grep -o '"xruns":[0-9]*' | cut -d: -f2; }
if wait_for 20 sh -c "$B/tolkctl --control '$SOCK' --json events | grep -q '\"text\":\"cleared xrun'"; then
	pass "xrun: cleared when the xruns stop"
else
	before=$(xruns)
	sleep 2.6
	after=$(xruns)
	check_true "xrun: not cleared only because the xruns went on ($before -> $after in 2.6 s)" "" \
		test "${after:-0}" -gt "${before:-0}"
fi

check "each alarm was raised once" "1 1 1 1 1" \
	"$(for k in floor-silent 'live-silent en' 'no-pivot fr/2' 'clipping mic_fr_1' disk-low; do
		ctl --json events | grep -o "\"text\":\"alarm $k[:\"]" | wc -l | tr -d '\n'; echo -n ' '; done | sed 's/ $//')"
check "the alarms reach the log" "yes" "$(grep -q 'ALARM: alarm clipping mic_fr_1' "$TMP/tolk.log" && echo yes)"

# ---- tolkctl top, driven in tmux ------------------------------------------------

ctl mic fr 1 on >/dev/null
TMUX_SESSION="tolk-top-$$"
tmux new-session -d -s "$TMUX_SESSION" -x 130 -y 40 \
	"$B/tolkctl --control '$SOCK' top; echo TOP-EXIT=\$?; sleep 10"
sleep 1.5
screen=$(tmux capture-pane -p -t "$TMUX_SESSION")
echo "$screen" >"$TMP/top.screen"
check "top: a row per channel with feed and level" "yes" \
	"$(echo "$screen" | grep -qE '^ 2  fr +Français +fr/1 +floor +floor +\[' && echo yes)"
check "top: booths, alarms and last events" "yes" \
	"$(echo "$screen" | grep -q '^BOOTHS' && echo "$screen" | grep -q '1:ON floor>floor' &&
	   echo "$screen" | grep -q '^ALARMS' && echo "$screen" | grep -q 'mic fr/1 on' && echo yes)"
check "top: recording state and disk left" "yes" \
	"$(echo "$screen" | grep -qE '^recording: stopped .*disk left [0-9.]+ GB' && echo yes)"
tmux send-keys -t "$TMUX_SESSION" q
sleep 0.5
check "top: q quits cleanly" "TOP-EXIT=0" "$(tmux capture-pane -p -t "$TMUX_SESSION" | grep -o 'TOP-EXIT=[0-9]*')"
tmux kill-session -t "$TMUX_SESSION" 2>/dev/null
lines=$(timeout 2.5 $B/tolkctl --control "$SOCK" top | grep -c ' floor=en en=')
[ "$lines" -ge 2 ] && pass "top without a terminal: a line a second ($lines)" || fail "top without a terminal" "$lines lines"
finish
