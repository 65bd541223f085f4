#!/bin/bash
# Realtime safety on a real JACK server: tolk runs under test/rtguard (an
# LD_PRELOAD library that reports any allocation, lock, blocking call, I/O
# or printf from the JACK process thread) through mic switching, relay,
# handovers, recording with segment rolls, reload, meters and top, and
# must make no violation. A tolk built to call malloc in its process
# callback shows that the guard catches one, with a backtrace.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ROOM="$TMP/room.yaml"
GUARD=$B/test/rtguard.so
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
cp test/integration/rtguard_room.yaml "$ROOM"

start_jackd

# ---- the guard catches a malloc ---------------------------------------------

RTGUARD_LOG="$TMP/inject.guard" LD_PRELOAD="$GUARD" $B/test/tolk-rtinject --plugin-dir $B/plugins \
	--server "$SERVER" --name inject --control "$TMP/inject.sock" --record-dir "$TMP/rec" --config "$ROOM" \
	2>"$TMP/inject.log" &
INJECT=$!
PIDS+=("$INJECT")
wait_for 10 $B/tolkctl --control "$TMP/inject.sock" status
sleep 0.5
stop_pid "$INJECT"
check_true "an injected malloc is reported by name" "$(head -5 "$TMP/inject.guard")" \
	grep -q "VIOLATION: malloc() called from the JACK process thread" "$TMP/inject.guard"
where=$(sed -n 's/.*tolk-rtinject(+\(0x[0-9a-f]*\)).*/\1/p' "$TMP/inject.guard" | head -1)
check "the backtrace leads to the process callback" "on_process" \
	"$(addr2line -f -e $B/test/tolk-rtinject "$where" 2>/dev/null | head -1)"
check_true "the count is at the end" "$(tail -1 "$TMP/inject.guard")" \
	grep -Eq "rtguard: [1-9][0-9]* violation\(s\) in [1-9][0-9]* process cycle" "$TMP/inject.guard"

# ---- a whole session under the guard ---------------------------------------

RTGUARD_LOG="$TMP/tolk.guard" LD_PRELOAD="$GUARD" start_tolk tolk "$SOCK" --config "$ROOM" ||
	{ fail "tolk starts under rtguard" "$(cat "$TMP/tolk.log")"; finish; }
TOLK1=$TOLK_PID
start_tones tolk:floor_main:440 tolk:mic_en_1:600 tolk:mic_fr_1:760 tolk:mic_de_1:900
ctl record start rt1 >/dev/null
for round in 1 2 3; do
	ctl mic fr 1 on >/dev/null
	# MIDI in (a button) and out (its LED) through the process callback
	$B/test/midi_client "$SERVER" tolk:midi_in_en_1 tolk:midi_out_en_1 +50 90,3c,7f +100 90,3d,7f +50 80,3d,00 >/dev/null
	ctl listen en 1 fr >/dev/null
	ctl handover fr 1 2 >/dev/null
	ctl mic de 1 on >/dev/null
	ctl listen de 1 auto >/dev/null
	ctl floor-language fr >/dev/null
	ctl meters >/dev/null
	ctl status >/dev/null
	ctl output en 1 B >/dev/null 2>&1
	ctl volume fr 2 -6 >/dev/null 2>&1
	ctl insert mic_en_1 gate threshold_db -40 >/dev/null 2>&1
	ctl insert out_fr leveller bypass on >/dev/null 2>&1
	sleep 0.5
	ctl handover fr 2 1 >/dev/null
	ctl mic en 1 off >/dev/null
	ctl floor-language en >/dev/null
	ctl insert out_fr leveller bypass off >/dev/null 2>&1
	# a reload that adds a language and a console, then one that takes
	# them away again: ports come and go, the audio thread switches rooms
	sed -i 's|  - { code: de, name: Deutsch, idle: duck }|  - { code: de, name: Deutsch, idle: duck }\n  - { code: it, name: Italiano }|; s|consoles: 2 }$|consoles: 3 }|' "$ROOM"
	ctl reload | grep -q 'language it added' || fail "reload under the guard (round $round)" "$(ctl reload 2>&1)"
	cp test/integration/rtguard_room.yaml "$ROOM"
	ctl reload >/dev/null 2>&1
	timeout 1 $B/tolkctl --control "$SOCK" top >/dev/null 2>&1
	ctl mic de 1 off >/dev/null
	ctl mic fr 1 off >/dev/null
done
sleep 2.5 # past a segment roll
ctl record stop >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
check_true "segments rolled while the guard watched" "$(ls "$TMP/rec/rt1")" \
	sh -c "ls '$TMP/rec/rt1' | grep -c '_en_.*\.flac' | grep -qv '^1$'"
stop_pid "$TOLK1"
check_true "the guard saw the process cycles" "$(tail -2 "$TMP/tolk.guard")" \
	grep -Eq "rtguard: [0-9]+ violation\(s\) in [1-9][0-9]{2,} process cycle" "$TMP/tolk.guard"
check "no violation in the whole session" "0" \
	"$(sed -n 's/^rtguard: \([0-9]*\) violation.*/\1/p' "$TMP/tolk.guard" | tail -1)"
if grep -q VIOLATION "$TMP/tolk.guard"; then
	head -40 "$TMP/tolk.guard"
fi

finish
