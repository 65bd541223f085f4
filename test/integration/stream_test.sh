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
# fr.opus is mounted as README's Icecast section says for live listening
# (a burst of about a second); the others keep Icecast's 64 KiB.
icecast_config "$PORT" "$PASSWORD" \
	"<mount><mount-name>/council/fr.opus</mount-name><burst-size>4096</burst-size></mount>"
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
	# "normal for live streams"); with a short burst, the audio after the
	# headers (pages 0 and 1) starts at the page that is live, which it
	# calls a gap before page 2. Anything else it says is a fault.
	opusinfo "$f" >"$f.info" 2>&1
	local joined="sequence number gap in stream 1. Got page [0-9]* when expecting page 2. .*(normal for live streams)"
	grep -v -e "EOS not set on stream 1 (normal for live streams)" -e "$joined" "$f.info" |
		grep -iE "warn|error|hole" >"$f.faults"
	# and the granule position jumps there too, once
	if grep -q "$joined" "$f.info" && [ "$(grep -c "discontinuity in stream (1)" "$f.faults")" = 1 ]; then
		sed -i '/discontinuity in stream (1)/d' "$f.faults"
	fi
	if ! grep -q "type opus" "$f.info" || ! grep -q "Playback length" "$f.info" || [ -s "$f.faults" ]; then
		echo "opusinfo refused: $(head -2 "$f.faults")"
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

# How far behind live a new listener starts: the audio Icecast hands it at
# once (its burst), read by opusinfo from the first half second.
behind() { # behind MOUNT: seconds of audio in the first 0.5 s of a new connection
	local f="$TMP/burst$RANDOM.opus"
	curl -s --max-time 0.5 -o "$f" "http://127.0.0.1:$PORT/council/$1.opus"
	opusinfo "$f" 2>/dev/null | sed -n 's/.*Playback length: \([0-9]*\)m:\([0-9.]*\)s.*/\1 \2/p' |
		awk '{ printf "%.1f\n", $1 * 60 + $2 }'
}
b_en=$(behind en)
b_fr=$(behind fr)
echo "note: a new listener starts ${b_en:-?} s behind live on en.opus (Icecast's 64 KiB burst), ${b_fr:-?} s on fr.opus (burst-size 4096)"
check_true "Icecast's default burst puts a new listener seconds behind live (en: ${b_en:-?} s)" "$b_en" \
	awk -v s="${b_en:-0}" 'BEGIN { exit !(s >= 5) }'
check_true "README's live mount starts a new listener within about a second of live (fr: ${b_fr:-?} s)" "$b_fr" \
	awk -v s="${b_fr:-9}" 'BEGIN { exit !(s > 0 && s <= 1.5) }'

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
