#!/bin/bash
# Integration test of OSC for booth consoles on a real JACK server: a test
# OSC client drives a booth and gets state feedback; a disallowed address
# is refused and audited; malformed messages get errors and the engine
# runs on.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
PORT=19110
osc() { $B/test/osc_client -w 300 127.0.0.1 $PORT "$@"; }

start_jackd
start_tolk tolk "$SOCK" --config test/integration/osc_room.yaml || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
check "OSC listens on loopback only, as configured" "127.0.0.1:$PORT" \
	"$(ss -lun 2>/dev/null | awk '{print $4}' | grep ":$PORT\$")"
MAIN_PID=$TOLK_PID
start_tolk plain "$TMP/plain.sock" --config test/integration/room.yaml --no-record --log-dir "$TMP/rec"
check "no OSC port without an osc: section" "" "$(ss -lunp 2>/dev/null | grep "pid=$TOLK_PID,")"
TOLK_PID=$MAIN_PID

$B/test/osc_client -w 1500 127.0.0.1 $PORT /tolk/fr/1/subscribe >"$TMP/sub.out" &
SUB=$!
sleep 0.3
osc /tolk/fr/1/mic i 1 >/dev/null
osc /tolk/fr/1/listen s auto >/dev/null
wait $SUB
check "subscribe: the state comes at once" "yes" \
	"$(head -1 "$TMP/sub.out" | grep -q "^/tolk/fr/1/state iissssss 0 0 'A' '' 'floor' 'floor' '' ''" && echo yes)"
check "state feedback follows a mic-on" "yes" \
	"$(grep -q "^/tolk/fr/1/state iissssss 1 0 'A' '' 'floor' 'floor' '' 'floor'" "$TMP/sub.out" && echo yes)"
check "state feedback follows the listen change" "yes" \
	"$(grep -q "^/tolk/fr/1/state iissssss 1 0 'A' '' 'auto' 'floor' '' 'floor'" "$TMP/sub.out" && echo yes)"
n=$(grep -c '^/tolk/fr/1/meters ff' "$TMP/sub.out")
[ "$n" -ge 8 ] && pass "meters come at 10 Hz ($n in 1.5 s)" || fail "meters at 10 Hz" "$n in 1.5 s"
check "the OSC mic-on reached the engine" "true" \
	"$($B/tolkctl --control "$SOCK" --json status | grep -o '"consoles":\[{"n":1,"mic":[a-z]*' | head -1 | grep -o '[a-z]*$')"

out=$($B/test/osc_client -b 127.0.0.2 -w 300 127.0.0.1 $PORT /tolk/fr/2/mic i 1)
check "a disallowed address is refused" \
	"/tolk/fr/2/error s 'permission denied: this address may not drive that booth (osc: consoles)'" "$out"
check "the refusal is audited with the peer" "1" \
	"$(grep -c '"via":"osc","actor":{"address":"127.0.0.2:[0-9]*"},"command":"mic fr 2 on","result":"refused"' "$TMP/rec/audit.jsonl")"
check "and logged" "1" "$(grep -c 'refused OSC 127.0.0.2' "$TMP/tolk.log")"

osc /tolk/fr/1/problem >/dev/null
check_true "/tolk/fr/1/problem: a technical problem, a draft incident" "$($B/tolkctl --control "$SOCK" --json incidents | head -c 300)" \
	sh -c "$B/tolkctl --control '$SOCK' --json incidents | grep -q '\"via\":\"osc\".*\"opened_by\":\"console\",\"draft\":true'"
check "wrong type" "/tolk/fr/1/error s 'mic takes 'i', not 's''" "$(osc /tolk/fr/1/mic s on)"
check "unknown command" "/tolk/fr/1/error s 'unknown command'" "$(osc /tolk/fr/1/launch)"
check "unknown path" "/tolk/error s 'unknown address: expected /tolk/<booth>/<n>/<command>'" "$(osc /elsewhere i 1)"
check "unknown booth: the error names the booths" "/tolk/error s 'unknown booth 'xx': the booths are fr'" "$(osc /tolk/xx/1/mic i 1)"
check "unknown console: the error names the booth's consoles" \
	"/tolk/error s 'unknown console fr/3: booth fr has consoles 1..2'" "$(osc /tolk/fr/3/mic i 1)"
check "huge string" "/tolk/fr/1/error s 'the argument must be a short plain word'" "$(osc /tolk/fr/1/listen s @8000)"
check "a refused command says why" "/tolk/fr/1/error s 'volume: volume must be between -60 and 0 dB'" \
	"$(osc /tolk/fr/1/volume f 6)"
# ---- OSC apps that send from one port and listen on another -----------------
# oscsend (liblo-tools) sends from a port of the moment; oscdump listens on a
# fixed one, as TouchOSC, Open Stage Control and other console apps do. Its
# lines start with a timetag.

dump() { # dump PORT: oscdump listening there, into $TMP/dump-PORT.out
	oscdump -L "$1" >"$TMP/dump-$1.out" 2>&1 &
	PIDS+=("$!")
	sleep 0.2
}
dumped() { grep -c "$2" "$TMP/dump-$1.out"; }
dump 19201
oscsend 127.0.0.1 $PORT /tolk/fr/2/subscribe i 19201
check_true "subscribe i <port>: the state arrives at that port, not at oscsend's" "$(cat "$TMP/dump-19201.out")" \
	wait_for 2 grep -q ' /tolk/fr/2/state iissssss' "$TMP/dump-19201.out"
oscsend 127.0.0.1 $PORT /tolk/fr/2/mute i 1
check_true "state changes follow there" "$(cat "$TMP/dump-19201.out")" \
	wait_for 2 grep -q ' /tolk/fr/2/state iissssss 0 1 ' "$TMP/dump-19201.out"
check_true "and meters at 10 Hz" "$(dumped 19201 meters) meters" \
	wait_for 2 sh -c "[ \$(grep -c ' /tolk/fr/2/meters ff' '$TMP/dump-19201.out') -ge 5 ]"
oscsend 127.0.0.1 $PORT /tolk/fr/2/volume f 6
check_true "and the errors of oscsend's commands" "$(grep error "$TMP/dump-19201.out")" \
	wait_for 2 grep -q ' /tolk/fr/2/error s "volume: volume must be between -60 and 0 dB"' "$TMP/dump-19201.out"
check "a plain subscribe still gets feedback at its source port" "yes" \
	"$(osc /tolk/fr/2/subscribe | grep -q '^/tolk/fr/2/state iissssss 0 1 ' && echo yes)"
dump 19202
oscsend 127.0.0.1 $PORT /tolk/fr/1/subscribe s 127.0.0.1:19202
check_true "subscribe s <host:port>: an allowed host gets the state" "$(cat "$TMP/dump-19202.out")" \
	wait_for 2 grep -q ' /tolk/fr/1/state iissssss' "$TMP/dump-19202.out"
check "subscribe s to a host not in the booth's allowlist is refused" \
	"/tolk/fr/1/error s 'subscribe: 10.9.8.7 is not in booth fr's allowlist (osc: consoles)'" \
	"$(osc /tolk/fr/1/subscribe s 10.9.8.7:9000)"
check "and audited, with the target" "1" \
	"$(grep -c '"command":"subscribe fr 1 10.9.8.7:9000","result":"refused"' "$TMP/rec/audit.jsonl")"
check "subscribe i 0 is refused" "/tolk/fr/1/error s 'subscribe: port 0 is not 1..65535'" "$(osc /tolk/fr/1/subscribe i 0)"
check "subscribe s without a port" "/tolk/fr/1/error s 'subscribe s takes host:port, as 127.0.0.1:9000'" \
	"$(osc /tolk/fr/1/subscribe s 127.0.0.1)"
check "subscribe with a float" "/tolk/fr/1/error s 'subscribe takes '', 'i' (a port) or 's' (host:port), not 'f''" \
	"$(osc /tolk/fr/1/subscribe f 1)"

printf 'not osc at all' >/dev/udp/127.0.0.1/$PORT 2>/dev/null
sleep 0.2
kill -0 "$TOLK_PID" 2>/dev/null && pass "the engine runs on after malformed OSC" || fail "the engine runs on" "it died"
check "and still answers" "0" "$($B/tolkctl --control "$SOCK" status >/dev/null; echo $?)"
finish
