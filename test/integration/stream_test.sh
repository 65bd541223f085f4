#!/bin/bash
# Listener streams through a real icecast2 on loopback: every channel's
# mount fetched with curl, read by opusinfo, and decoded to the tone its
# channel carries; icecast killed under a recording tolk (routing and
# recording unharmed, stream-down raised, no cycle of tolk's late), then
# started again (the streams come back, stream-up). The password is read
# from a file and never shows in logs or status.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600
PORT=$((18200 + RANDOM % 700))
PASSWORD="pw-$RANDOM-$RANDOM-secret"
. test/integration/icecast.sh
printf '%s\n' "$PASSWORD" >"$TMP/icecast.pw"
icecast_config "$PORT" "$PASSWORD"
start_icecast() {
	icecast2 -c "$IC/icecast.xml" >"$IC/out.log" 2>&1 &
	ICECAST_PID=$!
	PIDS+=("$ICECAST_PID")
	wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$PORT/status-json.xsl"
}
streams_up() { # streams_up N: that many streams up in status
	[ "$($B/tolkctl --control "$SOCK" --json status | grep -o '"state":"up"' | wc -l)" -eq "$1" ]
}
# heard MOUNT: the tone a mount carries over 3 s, decoded (or why not)
heard() {
	local f="$TMP/got$RANDOM.opus"
	curl -s --max-time 3 -o "$f" "http://127.0.0.1:$PORT/council/$1.opus"
	# A live stream has no end-of-stream page, and opusinfo says so (exit 1,
	# "normal for live streams"); anything else it says is a fault.
	opusinfo "$f" >"$f.info" 2>&1
	if ! grep -q "type opus" "$f.info" || ! grep -q "Playback length" "$f.info" ||
		grep -v "EOS not set on stream 1 (normal for live streams)" "$f.info" | grep -qiE "warn|error|hole"; then
		echo "opusinfo refused: $(grep -iE 'warn|error|hole' "$f.info" | head -2)"
		return
	fi
	opusdec --quiet --force-wav "$f" "$f.wav" 2>/dev/null || { echo "opusdec refused"; return; }
	$B/test/filetone -f "$FREQS" "$f.wav" | cut -d' ' -f2
}

start_icecast || { fail "icecast2 starts" "$(cat "$IC/out.log")"; finish; }
sed -e "s|@PORT@|$PORT|" -e "s|@PWFILE@|$TMP/icecast.pw|" test/integration/stream_room.yaml >"$TMP/room.yaml"
start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440 tolk:mic_fr_1:600
$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null
check_true "every channel's stream connects" "$($B/tolkctl --control "$SOCK" --json status | grep -o '"streams":[^]]*')" \
	wait_for 10 streams_up 4
check "status lists each stream's URL" "4" \
	"$($B/tolkctl --control "$SOCK" --json status | grep -o "\"url\":\"http://127.0.0.1:$PORT/council/[a-z]*.opus\"" | wc -l)"
sleep 1
check "floor.opus: opusinfo accepts it, and it carries the floor" "440" "$(heard floor)"
check "en.opus carries en (the floor, idle)" "440" "$(heard en)"
check "fr.opus carries fr/1's tone" "600" "$(heard fr)"
check "de.opus carries silence (idle: silence)" "silence" "$(heard de)"
# A page is what a listener waits for: at most stream.page_ms (100 ms) of
# audio each, where the archive's files keep a page a second.
page=$(grep -h "Page duration" "$TMP"/got*.info | grep -o '[0-9.]*ms' | sed 's/ms//' | sort -n | tail -1)
check_true "stream pages hold at most 100 ms of audio (opusinfo: longest ${page:-?} ms)" "$page" \
	awk -v p="${page:-1000}" 'BEGIN { exit !(p <= 100.5) }'
check_true "the stream carries the language and meeting" "$(cat "$TMP"/got*.info | grep -m3 -E 'TITLE|LANGUAGE')" \
	sh -c "grep -q 'TITLE=itest-stream: Français' $TMP/got*.info && grep -q 'LANGUAGE=fr' $TMP/got*.info"

# ---- Icecast dies under a recording --------------------------------------------

$B/tolkctl --control "$SOCK" record start st1 >/dev/null
sleep 1
kill -KILL "$ICECAST_PID"
wait "$ICECAST_PID" 2>/dev/null
check_true "stream-down is raised" "$(tail -3 "$TMP/tolk.log")" \
	wait_for 10 grep -q "ALARM: alarm stream-down /council/fr.opus" "$TMP/tolk.log"
check "routing is unharmed: fr still carries fr/1" "600" "$(probe tolk:out_fr)"
s1=$($B/tolkctl --control "$SOCK" --json record status | grep -o '"seconds":[0-9.]*' | cut -d: -f2)
sleep 1
s2=$($B/tolkctl --control "$SOCK" --json record status | grep -o '"seconds":[0-9.]*' | cut -d: -f2)
check_true "recording goes on" "$s1 -> $s2" awk -v a="$s1" -v b="$s2" 'BEGIN { exit !(b > a + 0.5) }'

# ---- it comes back -------------------------------------------------------------------

start_icecast || { fail "icecast2 starts again" "$(cat "$IC/out.log")"; finish; }
check_true "the streams come back (back-off at most 8 s here)" "$(tail -3 "$TMP/tolk.log")" wait_for 20 streams_up 4
check_true "stream-up is told" "$(grep stream "$TMP/tolk.log" | tail -3)" wait_for 10 grep -q "stream-up /council/fr.opus" "$TMP/tolk.log"
check "fr.opus carries fr/1's tone again, from fresh headers" "600" "$(heard fr)"
$B/tolkctl --control "$SOCK" record stop >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
st=$($B/tolkctl --control "$SOCK" --json status)
check "no dropped recording frame" "0" "$(echo "$st" | grep -o '"dropped_frames":[0-9]*' | cut -d: -f2)"
why=$(tolk_kept_time "$SOCK")
check_true "tolk's cycles kept within their period ($why)" "$why" tolk_kept_time "$SOCK"
check_true "the recording verifies" "" sh -c "$B/tolk-verify '$TMP/rec/st1' >/dev/null"
check "the password never shows in the log, audit or status" "0" \
	"$(cat "$TMP/tolk.log" "$TMP/rec/audit.jsonl" <(echo "$st") | grep -c -- "$PASSWORD")"
finish
