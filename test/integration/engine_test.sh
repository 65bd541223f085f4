#!/bin/bash
# Integration test of the engine on a real JACK server (dummy backend, a
# server name of its own): tones go into floor_* and mic_*, probes read the
# outputs, tolkctl switches mics. Every process it starts is stopped by PID.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ROOM=test/integration/room.yaml
FREQS=440,520,600,760,920,1080

ctl() { $B/tolkctl --control "$SOCK" "$@"; }

# booth_mics BOOTH: the booth's '"n":N,"mic":BOOL' pairs from status
booth_mics() {
	ctl --json status | sed 's/.*"booths":\[//; s/,"signals":.*//' | sed 's/},{"id"/}\n{"id"/g' |
		grep "^{\?\"id\":\"$1\"" | grep -o '"n":[0-9]*,"mic":[a-z]*' | tr '\n' ' ' | sed 's/ $//'
}

purity() {
	probe_raw "$1" | awk '{print ($4 >= 0.95) ? "clean" : "mixed " $4}'
}

# ---- bad configs and command lines: before any server ---------------------

bad_config() { # bad_config NAME FILE-CONTENT EXPECTED-MESSAGE
	printf '%s' "$2" >"$TMP/bad.yaml"
	local out rc
	out=$($B/tolk --server "$SERVER" --name badcfg --control "$TMP/bad.sock" --config "$TMP/bad.yaml" 2>&1)
	rc=$?
	check "bad config exits 2: $1" "2" "$rc"
	check "bad config message: $1" "$TMP/bad.yaml:$3" "$out"
}

bad_config "malformed YAML" $'meeting: m\nfloor: [unclosed\n' \
	"3:1: malformed YAML: did not find expected ',' or ']' while parsing a flow sequence"
bad_config "unknown key" $'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nrooms: 2\n' \
	"4:1: unknown key 'rooms' (expected one of: meeting, room, floor, languages, booths, connect, phones, inserts, recording, control, alarms, osc, web, stream, rtp, consoles, midi, incidents)"
bad_config "duplicate code" $'meeting: m\nfloor: { inputs: [main] }\nlanguages:\n  - { code: en }\n  - { code: en }\n' \
	"5:13: duplicate language code 'en'"
bad_config "duplicate booth id" $'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nbooths:\n  - { id: en, outputs: [en] }\n  - { id: en, outputs: [en] }\n' \
	"6:11: duplicate booth id 'en'"
bad_config "output names no language" $'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nbooths:\n  - { id: fr, outputs: [fr] }\n' \
	"5:25: booth output 'fr' names no language"
bad_config "console count 0" $'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nbooths:\n  - { id: en, outputs: [en], consoles: 0 }\n' \
	"5:40: consoles must be between 1 and 8, not 0"
bad_config "console count 9" $'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nbooths:\n  - { id: en, outputs: [en], consoles: 9 }\n' \
	"5:40: consoles must be between 1 and 8, not 9"

out=$($B/tolk --config "$TMP/missing.yaml" 2>&1); rc=$?
check "missing file exits 2" "2" "$rc"
check "missing file message" "$TMP/missing.yaml:1:1: cannot open: No such file or directory" "$out"
out=$($B/tolk --check "$ROOM" 2>&1); rc=$?
check "--check accepts a good file" "0:$ROOM: ok (4 languages, 2 booths, 4 consoles)" "$rc:$out"
$B/tolk --check "$TMP/bad.yaml" >/dev/null 2>&1; rc=$?
check "--check refuses a bad file" "2" "$rc"
$B/tolk --bogus >/dev/null 2>&1; rc=$?
check "unknown option exits 2" "2" "$rc"
$B/tolk --server "no-such-server-$$" --config "$ROOM" --control "$TMP/none.sock" >/dev/null 2>&1; rc=$?
check "unreachable JACK server exits 1" "1" "$rc"

# ---- a real JACK server ------------------------------------------------------

start_jackd

# A bad config makes no port, even with the server up.
printf 'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nbooths: [{ id: en, outputs: [xx] }]\n' >"$TMP/bad.yaml"
$B/tolk --server "$SERVER" --name badcfg --control "$TMP/bad.sock" --config "$TMP/bad.yaml" >/dev/null 2>&1
check "bad config makes no JACK port" "0" "$(jack_lsp -s "$SERVER" | grep -c '^badcfg:')"

if start_tolk tolk "$SOCK" --config "$ROOM"; then pass "tolk starts and answers status"; else fail "tolk starts" "$(cat "$TMP/tolk.log")"; fi

ports=$(jack_lsp -s "$SERVER" | grep '^tolk:' | sort | tr '\n' ' ')
check "port names" "tolk:floor_aux tolk:floor_main tolk:mic_en_1 tolk:mic_en_2 tolk:mic_fr_1 tolk:mic_fr_2 tolk:out_de tolk:out_en tolk:out_es tolk:out_floor tolk:out_fr tolk:phones_en_1 tolk:phones_en_2 tolk:phones_fr_1 tolk:phones_fr_2 " "$ports"

start_tones tolk:floor_main:440 tolk:mic_fr_1:600 tolk:mic_fr_2:760 tolk:mic_en_1:920 tolk:mic_en_2:1080

# Before any mic: every channel follows its idle policy.
check "idle: floor, channels and phones" "440 440 440 silence 440 440 440" \
	"$(probe tolk:out_floor tolk:out_en tolk:out_fr tolk:out_de tolk:out_es tolk:phones_fr_1 tolk:phones_en_2)"
check "idle: floor level" "-9" "$(level tolk:out_fr)"
check "idle: duck is the floor at -18 dB" "-27" "$(level tolk:out_es)"
check "idle: floor_aux sums silence into a clean floor" "clean" "$(purity tolk:out_floor)"
check "status before: feeds" '"feed":"floor" "feed":"floor" "feed":"silence" "feed":"duck"' \
	"$(ctl --json status | grep -o '"feed":"[^"]*"' | tr '\n' ' ' | sed 's/ $//')"

# A mic on: its channel carries it, nothing else changes.
out=$(ctl mic fr 1 on); rc=$?
check "mic fr 1 on: accepted" "0:fr/1: mic ON, output A (fr), listen floor -> floor" "$rc:$out"
check "mic fr 1 on: out_fr carries fr/1" "600" "$(probe tolk:out_fr)"
check "mic fr 1 on: out_fr is the mic alone" "clean" "$(purity tolk:out_fr)"
check "mic fr 1 on: others unchanged" "440 440 silence 440" \
	"$(probe tolk:out_floor tolk:out_en tolk:out_de tolk:phones_fr_1)"
check "mic fr 1 on: status feed" '"fr/1"' \
	"$(ctl --json status | grep -o '"code":"fr","name":"Français","feed":"[^"]*"' | sed 's/.*"feed"://')"

# Takeover inside the booth.
out=$(ctl --json mic fr 2 on); rc=$?
check "takeover: reply" '0:{"ok":true,"booth":"fr","n":2,"mic":true,"mute":false,"output":"A","channel":"fr","listen":"floor","hears":"floor","taken_over":1,"floor_language":"en","changed":true}' "$rc:$out"
check "takeover: out_fr carries fr/2" "600→760" "600→$(probe tolk:out_fr)"
check "takeover: status mics" '"n":1,"mic":false "n":2,"mic":true' "$(booth_mics fr)"
grep -q "mic fr/2 on, taking over from fr/1 (now off)" "$TMP/tolk.log" && pass "takeover is logged" || fail "takeover is logged" "$(cat "$TMP/tolk.log")"

# The other booth on its own channel.
ctl mic en 1 on >/dev/null
check "second booth: out_en carries en/1, out_fr still fr/2" "920 760" "$(probe tolk:out_en tolk:out_fr)"

# Bad commands: refused, the engine runs on, the audio is untouched.
bad_cmd() { # bad_cmd NAME EXPECTED-ERROR WORDS...
	local name=$1 want=$2 out rc
	shift 2
	out=$(ctl --json "$@"); rc=$?
	check "bad command refused: $name" "1:{\"ok\":false,\"error\":\"$want\"}" "$rc:$out"
}
bad_cmd "unknown command" "unknown command 'launch' (try help)" launch rockets
bad_cmd "unknown booth" "mic: unknown booth 'zz'" mic zz 1 on
bad_cmd "console out of range" "mic: booth fr has consoles 1 to 2, not '3'" mic fr 3 on
bad_cmd "not a number" "mic: booth fr has consoles 1 to 2, not 'one'" mic fr one on
bad_cmd "bad switch" "mic: expected on or off, not 'loud'" mic fr 1 loud
bad_cmd "missing words" "usage: mic <booth> <n> on|off" mic fr
bad_cmd "status with arguments" "status: takes no arguments" status all
out=$(ctl mic zz 1 on 2>&1); rc=$?
check "tolkctl prints the error readably" "1:tolkctl: mic: unknown booth 'zz'" "$rc:$out"
kill -0 "$TOLK_PID" 2>/dev/null && pass "engine alive after bad commands" || fail "engine alive after bad commands" "it died"
check "audio untouched by bad commands" "920 760 440" "$(probe tolk:out_en tolk:out_fr tolk:out_floor)"

# Off: back to the idle policy.
out=$(ctl mic fr 2 off); rc=$?
check "mic fr 2 off: accepted" "0:fr/2: mic off, output A (fr), listen floor -> floor" "$rc:$out"
check "mic fr 2 off: out_fr back to the floor" "440" "$(probe tolk:out_fr)"
check "mic fr 2 off: status feed" '"floor"' \
	"$(ctl --json status | grep -o '"code":"fr","name":"Français","feed":"[^"]*"' | sed 's/.*"feed"://')"
ctl mic en 1 off >/dev/null
check "all off: every channel idle again" "440 440 silence 440" "$(probe tolk:out_en tolk:out_fr tolk:out_de tolk:out_es)"

# No xrun or NaN trouble reported by the engine along the way.
grep -q "xrun" "$TMP/tolk.log" && echo "note: xruns reported: $(grep xrun "$TMP/tolk.log")"

# A second engine on the same socket is refused; another name is fine.
$B/tolk --server "$SERVER" --name other --control "$SOCK" --config "$ROOM" >/dev/null 2>&1; rc=$?
check "second engine on a live socket exits 2" "2" "$rc"

# SIGTERM: a clean stop, status 0, socket gone.
kill -TERM "$TOLK_PID"
wait "$TOLK_PID"; rc=$?
check "SIGTERM stops with status 0" "0" "$rc"
[ ! -e "$SOCK" ] && pass "control socket removed on exit" || fail "control socket removed on exit" "$SOCK remains"

# connect: entries are made at start, both ways; a missing port is a
# warning, not a failure. The engine with them is also the one that meets
# the server's departure below.
sed 's/^meeting: itest$/meeting: itest-connect/' "$ROOM" >"$TMP/connect.yaml"
printf 'connect:\n  floor_main: system:capture_1\n  out_en: [system:playback_1, system:playback_2]\n  out_fr: nowhere:port\n' >>"$TMP/connect.yaml"
start_tolk tolk2 "$TMP/tolk2.sock" --config "$TMP/connect.yaml" || fail "tolk2 starts" "$(cat "$TMP/tolk2.log")"
check "connect: floor_main from system:capture_1" "1" \
	"$(jack_lsp -s "$SERVER" -c tolk2:floor_main | grep -c '^   system:capture_1$')"
check "connect: out_en to two playback ports" "2" \
	"$(jack_lsp -s "$SERVER" -c tolk2:out_en | grep -c '^   system:playback_[12]$')"
grep -q "connect out_fr -> nowhere:port (line 24:11) failed: is the port there?" "$TMP/tolk2.log" \
	&& pass "connect: a missing port is a warning naming its line" \
	|| fail "connect: a missing port is a warning naming its line" "$(cat "$TMP/tolk2.log")"
kill -0 "$TOLK_PID" 2>/dev/null && pass "connect: engine runs on after a failed connection" \
	|| fail "connect: engine runs on after a failed connection" "it died"

# The server goes away under a running engine: status 1.
kill -TERM "$JACKD_PID"
wait "$JACKD_PID"
end=$((SECONDS + 10))
while kill -0 "$TOLK_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
wait "$TOLK_PID"; rc=$?
check "server loss exits 1" "1" "$rc"
grep -q "JACK server went away" "$TMP/tolk2.log" && pass "server loss is logged" || fail "server loss is logged" "$(cat "$TMP/tolk2.log")"

finish
