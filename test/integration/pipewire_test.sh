#!/bin/bash
# Tolk under PipeWire's JACK (pw-jack), on a private PipeWire: its own
# XDG_RUNTIME_DIR and session bus, pipewire and wireplumber from Debian.
# PipeWire's libjack never calls the shutdown callback, so when pipewire
# is killed under a recording tolk, only tolk's own watchdog (no process
# cycle for ten periods or 200 ms) can see it: the test does what the
# jackd2 resilience test does, loss and return, and then the same without
# --reconnect (a clean close, exit status 1).
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

for tool in pipewire wireplumber pw-jack dbus-daemon; do
	command -v "$tool" >/dev/null || { fail "$tool is installed (tools/install-deps.sh)" "not found"; finish; }
done

SOCK="$TMP/tolk.sock"
FREQS=440,600,760
REC="$TMP/rec"
ROOM=test/integration/resilience_room.yaml
export XDG_RUNTIME_DIR="$TMP/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
# PipeWire's and WirePlumber's own config and state: the packaged
# defaults, nothing of the machine's user.
export XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data"
unset PIPEWIRE_REMOTE JACK_DEFAULT_SERVER
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
rec_state() { json record status | grep -o '"state":"[a-z-]*"' | cut -d'"' -f4; }


dbus-daemon --session --nofork --nopidfile --address="unix:path=$XDG_RUNTIME_DIR/bus" >"$TMP/dbus.log" 2>&1 &
PIDS+=("$!")
export DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG_RUNTIME_DIR/bus"
wait_for 5 test -S "$XDG_RUNTIME_DIR/bus"

start_pipewire() { # sets PW_PID and WP_PID; waits until a JACK client can join
	pipewire >>"$TMP/pipewire.log" 2>&1 &
	PW_PID=$!
	PIDS+=("$PW_PID")
	wait_for 10 test -S "$XDG_RUNTIME_DIR/pipewire-0" || return 1
	wireplumber >>"$TMP/wireplumber.log" 2>&1 &
	WP_PID=$!
	PIDS+=("$WP_PID")
	wait_for 10 pw-jack jack_lsp
}
kill_pipewire() { # SIGKILL, the way a crash goes; wireplumber follows it
	kill -KILL "$PW_PID"
	wait "$PW_PID" 2>/dev/null
	stop_pid "$WP_PID"
}
# pw-jack sets LD_LIBRARY_PATH and execs: $! is the program's own PID.
start_tolk_pw() { # start_tolk_pw NAME ARGS...: tolk on PipeWire's libjack; sets TOLK_PID
	local name=$1
	shift
	pw-jack $B/tolk --name "$name" --control "$SOCK" --record-dir "$REC" "$@" 2>>"$TMP/$name.log" &
	TOLK_PID=$!
	PIDS+=("$TOLK_PID")
	wait_for 10 $B/tolkctl --control "$SOCK" status
}
tones() { # tones NAME DEST:FREQ...: a generator on PipeWire, until it plays
	local name=$1
	shift
	pw-jack $B/test/tonegen -n "$name" "$@" >"$TMP/$name.out" 2>&1 &
	PIDS+=("$!")
	wait_for 10 grep -q ready "$TMP/$name.out"
}
pwprobe() { # pwprobe PORT...: the frequency each carries, on one line
	pw-jack $B/test/probe -n "probe$RANDOM" -f "$FREQS" "$@" | awk '{printf "%s%s", sep, $2; sep=" "} END {print ""}'
}
went_away() { grep -q "JACK server went away: ${2:-}" "$TMP/$1.log"; }

start_pipewire || { fail "pipewire and wireplumber start" "$(tail -5 "$TMP/pipewire.log" "$TMP/wireplumber.log")"; finish; }
pass "a private pipewire and wireplumber run, and pw-jack reaches them"
TOLK_JACK_INFO_SHUTDOWN_ONLY=1 start_tolk_pw tolk --config "$ROOM" --reconnect || { fail "tolk starts under pw-jack" "$(cat "$TMP/tolk.log")"; finish; }
TOLK1=$TOLK_PID
tones latesrc none:440 || fail "the floor's generator starts" "$(cat "$TMP/latesrc.out")"
tones mics tolk:mic_fr_1:600 || fail "the mic's generator starts" "$(cat "$TMP/mics.out")"
check_true "the connect: entry is made on PipeWire" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 5 grep -q "connected latesrc:tone1 -> floor_main" "$TMP/tolk.log"
ctl mic fr 1 on >/dev/null
check "PipeWire routes as jackd does: floor on en, fr/1 on fr" "440 600" "$(pwprobe tolk:out_en tolk:out_fr)"
check "PipeWire's tools see the ports' pretty names (JACK metadata)" "Français (distribution)|fr booth 1 mic" \
	"$(pw-jack jack_property --port -l tolk:out_fr http://jackaudio.org/metadata/pretty-name)|$(pw-jack jack_property --port -l tolk:mic_fr_1 http://jackaudio.org/metadata/pretty-name)"

# ---- pipewire dies under a recording -------------------------------------

ctl record start pw1 >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
sleep 2
killed_ms=$(date +%s%3N)
kill_pipewire
check_true "tolk's watchdog sees the server go within 2 s" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 2 went_away tolk "no process cycle"
seen_ms=$(date +%s%3N)
echo "note: the loss was seen $((seen_ms - killed_ms)) ms after pipewire was killed"
check_true "tolk keeps running and answers" "no answer" wait_for 5 ctl status
check "recording waits for the server" "waiting-for-jack" "$(rec_state)"
check_true "the jack-down alarm is raised" "$(json status)" \
	wait_for 3 sh -c "$B/tolkctl --control '$SOCK' --json status | grep -q '\"kind\":\"jack-down\"'"
seg1=$(ls "$REC"/pw1/*.flac "$REC"/pw1/*.opus 2>/dev/null)
check "segment 1: a FLAC and an Opus file per channel" "8" "$(echo "$seg1" | grep -c .)"
# shellcheck disable=SC2086
check_true "segment 1: every file valid (sndfile-info, soxi, opusinfo)" "$seg1" all_valid $seg1
check_true "the timeline says why" "$(cat "$REC/pw1/timeline.jsonl")" \
	grep -q '"event":"jack-lost","reason":"no process cycle' "$REC/pw1/timeline.jsonl"

# ---- it comes back ---------------------------------------------------------

start_pipewire || { fail "pipewire starts again" "$(tail -5 "$TMP/pipewire.log")"; finish; }
check_true "tolk is back within 3 s" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 3 grep -q "JACK server is back" "$TMP/tolk.log"
check "tolk's ports are back on PipeWire" "9" "$(pw-jack jack_lsp | grep -c '^tolk:')"
check_true "the recording resumes" "$(json record status)" \
	wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\",\"meeting\":\"pw1\"'"
check "in segment 2" "2" "$(json record status | grep -o '"segment":[0-9]*' | cut -d: -f2)"
check "the state is restored: fr/1 live on fr" "fr/1" \
	"$(json status | grep -o '"code":"fr","name":"[^"]*","feed":"[^"]*"' | cut -d'"' -f12)"
tones latesrc none:440 || fail "the floor's generator starts again" "$(cat "$TMP/latesrc.out")"
tones mics tolk:mic_fr_1:600 || fail "the mic's generator starts again" "$(cat "$TMP/mics.out")"
check_true "the connect: entry is made again" "" \
	wait_for 5 sh -c "grep -c 'connected latesrc:tone1 -> floor_main' '$TMP/tolk.log' | grep -q 2"
check "audio flows again: floor on en, fr/1 on fr" "440 600" "$(pwprobe tolk:out_en tolk:out_fr)"
check_true "the jack-down alarm clears" "$(json status)" \
	wait_for 3 sh -c "! $B/tolkctl --control '$SOCK' --json status | grep -q '\"kind\":\"jack-down\"'"
sleep 1
ctl record stop >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
check "segment 2 is new files beside segment 1" "8" "$(ls "$REC"/pw1/*.flac | wc -l)"
# shellcheck disable=SC2046
check_true "every file of both segments valid" "" all_valid $(ls "$REC"/pw1/*.flac "$REC"/pw1/*.opus)
check_true "the timeline says the server came back" "" grep -q '"event":"jack-back"' "$REC/pw1/timeline.jsonl"
check_true "tolk-verify passes" "$($B/tolk-verify "$REC/pw1" 2>&1 | tail -3)" sh -c "$B/tolk-verify '$REC/pw1' >/dev/null"
check "no false alarm while PipeWire ran: the watchdog fired once" "1" "$(grep -c 'no process cycle' "$TMP/tolk.log")"
stop_pid "$TOLK1"

# ---- without --reconnect: a clean close, then exit 1 ---------------------

SOCK="$TMP/tolk2.sock"
start_tolk_pw tolk2 --config "$ROOM" || { fail "tolk2 starts" "$(cat "$TMP/tolk2.log")"; finish; }
TOLK2=$TOLK_PID
ctl record start pw2 >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
sleep 1.5
kill_pipewire
exit_status "$TOLK2"
check "without --reconnect tolk exits with status 1" "1" "$EXIT_STATUS"
check_true "libjack's shutdown callback tells it at once" "$(tail -3 "$TMP/tolk2.log")" \
	went_away tolk2 "the server closed the connection"
check "the watchdog had nothing to do" "0" "$(grep -c 'no process cycle' "$TMP/tolk2.log")"
# shellcheck disable=SC2046
check_true "and its files are valid" "$(ls "$REC"/pw2)" all_valid $(ls "$REC"/pw2/*.flac "$REC"/pw2/*.opus)
check_true "and the manifest verifies" "" sh -c "$B/tolk-verify '$REC/pw2' >/dev/null"

finish
