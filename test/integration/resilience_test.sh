#!/bin/bash
# Integration test of Tolk's resilience on a real JACK server: the server
# killed under a recording tolk and started again (files stay valid, the
# state comes back, the recording goes on in a new segment, a connect:
# entry whose port appears late is made each time), and the same without
# --reconnect (a clean close, then exit status 1).
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600,760
REC="$TMP/rec"
ROOM=test/integration/resilience_room.yaml
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
rec_state() { json record status | grep -o '"state":"[a-z-]*"' | cut -d'"' -f4; }


kill_jackd() { # SIGKILL, the way a crash goes
	kill -KILL "$JACKD_PID"
	wait "$JACKD_PID" 2>/dev/null
}

start_jackd
start_tolk tolk "$SOCK" --config "$ROOM" --reconnect || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
TOLK1=$TOLK_PID

# ---- a connect: entry whose port appears after tolk ---------------------

check_true "connect: entry to a missing port is reported, not fatal" "$(cat "$TMP/tolk.log")" \
	grep -q "connect latesrc:tone1 -> floor_main (line 22:15) failed" "$TMP/tolk.log"
start_tones none:440
# start_tones names its client at random; the entry names latesrc
$B/test/tonegen -s "$SERVER" -n latesrc none:440 >"$TMP/latesrc.out" 2>&1 &
PIDS+=("$!")
LATE_PID=$!
start_tones tolk:mic_fr_1:600
check_true "the late port is connected when it appears" "$(cat "$TMP/tolk.log")" \
	wait_for 5 grep -q "connected latesrc:tone1 -> floor_main" "$TMP/tolk.log"
check "the floor arrives through the late connection" "440" "$(probe tolk:out_en)"

# ---- the server dies under a recording -----------------------------------

ctl record start res1 >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
ctl mic fr 1 on >/dev/null
ctl relay fr 2 >/dev/null 2>&1
sleep 2
kill_jackd
check_true "tolk sees the server go" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 10 grep -q "JACK server went away" "$TMP/tolk.log"
check_true "tolk keeps running and answers" "no answer" wait_for 5 ctl status
check "recording waits for the server" "waiting-for-jack" "$(rec_state)"
check_true "the jack-down alarm is raised" "$(json status)" \
	wait_for 3 sh -c "$B/tolkctl --control '$SOCK' --json status | grep -q '\"kind\":\"jack-down\"'"
seg1=$(ls "$REC"/res1/*.flac "$REC"/res1/*.opus 2>/dev/null)
check "segment 1: a FLAC and an Opus file per channel" "8" "$(echo "$seg1" | grep -c .)"
# shellcheck disable=SC2086
check_true "segment 1: every file valid (sndfile-info, soxi, opusinfo)" "$seg1" all_valid $seg1
check_true "the timeline says the server went away" "" grep -q '"event":"jack-lost"' "$REC/res1/timeline.jsonl"

# ---- it comes back ---------------------------------------------------------

launch_jackd || { fail "jackd starts again" "$(cat "$TMP/jackd.log")"; finish; }
check_true "tolk reconnects within 3 s" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 4 grep -q "JACK server is back" "$TMP/tolk.log"
check_true "the recording resumes" "$(json record status)" \
	wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\",\"meeting\":\"res1\"'"
check "in segment 2" "2" "$(json record status | grep -o '"segment":[0-9]*' | cut -d: -f2)"
check "the state is restored: fr/1 live on fr" "fr/1" \
	"$(json status | grep -o '"code":"fr","name":"[^"]*","feed":"[^"]*"' | cut -d'"' -f12)"
check "tolk's ports are back" "9" "$(jack_lsp -s "$SERVER" | grep -c '^tolk:')"
$B/test/tonegen -s "$SERVER" -n latesrc none:440 >"$TMP/latesrc.out" 2>&1 &
PIDS+=("$!")
start_tones tolk:mic_fr_1:600
check_true "the connect: entry is made again" "" \
	wait_for 5 sh -c "grep -c 'connected latesrc:tone1 -> floor_main' '$TMP/tolk.log' | grep -q 2"
check "audio flows again: floor on en, fr/1 on fr" "440 600" "$(probe tolk:out_en tolk:out_fr)"
check_true "the jack-down alarm clears" "$(json status)" \
	wait_for 3 sh -c "! $B/tolkctl --control '$SOCK' --json status | grep -q '\"kind\":\"jack-down\"'"
sleep 1
ctl record stop >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
n=$(ls "$REC"/res1/*.flac | wc -l)
check "segment 2 is new files beside segment 1" "8" "$n"
# shellcheck disable=SC2046
check_true "every file of both segments valid" "" all_valid $(ls "$REC"/res1/*.flac "$REC"/res1/*.opus)
check_true "the timeline says the server came back" "" grep -q '"event":"jack-back"' "$REC/res1/timeline.jsonl"
check_true "segment 2 in the manifest" "" grep -q '"segment":2' "$REC/res1/manifest.json"
check_true "tolk-verify passes" "$($B/tolk-verify "$REC/res1" 2>&1 | tail -3)" sh -c "$B/tolk-verify '$REC/res1' >/dev/null"
stop_pid "$TOLK1"

# ---- without --reconnect: a clean close, then exit 1 ---------------------

SOCK="$TMP/tolk2.sock"
start_tolk tolk2 "$SOCK" --config "$ROOM" || { fail "tolk2 starts" "$(cat "$TMP/tolk2.log")"; finish; }
TOLK2=$TOLK_PID
ctl record start res2 >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
sleep 1.5
kill_jackd
exit_status "$TOLK2"
check "without --reconnect tolk exits with status 1" "1" "$EXIT_STATUS"
# shellcheck disable=SC2046
check_true "and its files are valid" "$(ls "$REC"/res2)" all_valid $(ls "$REC"/res2/*.flac "$REC"/res2/*.opus)
check_true "and the manifest verifies" "" sh -c "$B/tolk-verify '$REC/res2' >/dev/null"

finish
