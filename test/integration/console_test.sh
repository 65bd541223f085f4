#!/bin/bash
# Integration test of the console and booth rules on a real JACK server:
# every mic plays its own tone, probes read channels and headphones, and
# tolkctl works the consoles as interpreters and technicians would.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ROOM=test/integration/console_room.yaml
FREQS=440,600,760,920,1080,1240,1400,1560,1720
# floor 440; en/1 920, en/2 1080; fr/1 600, fr/2 760; de/1 1240, de/2 1400;
# es/1 1560; es2/1 1720

ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }

# channel_field CODE KEY: a channel's value from status, e.g. "+" or "floor"
channel_field() {
	json status | grep -o "\"code\":\"$1\",[^}]*" | grep -o "\"$2\":[^,}]*" | cut -d: -f2 | tr -d '"'
}

# console_field BOOTH N KEY: a console's value from status
console_field() {
	json status | sed 's/},{"id"/}\n{"id"/g' | grep "\"id\":\"$1\"" |
		grep -o "{\"n\":$2,[^}]*" | grep -o "\"$3\":[^,}]*" | cut -d: -f2 | tr -d '"'
}

start_jackd
start_tolk tolk "$SOCK" --config "$ROOM" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440 tolk:mic_en_1:920 tolk:mic_en_2:1080 tolk:mic_fr_1:600 \
	tolk:mic_fr_2:760 tolk:mic_de_1:1240 tolk:mic_de_2:1400 tolk:mic_es_1:1560 tolk:mic_es2_1:1720

# ---- a relay chain: floor -> en booth -> fr booth -> out_fr ----------------

ctl mic en 1 on >/dev/null
ctl listen fr 1 en >/dev/null
ctl mic fr 1 on >/dev/null
check "relay chain: en/1 hears the floor, out_en carries en/1" "440 920" "$(probe tolk:phones_en_1 tolk:out_en)"
check "relay chain: fr/1 hears out_en, and speaks into out_fr" "920 600" "$(probe tolk:phones_fr_1 tolk:out_fr)"
check "relay chain: quality of fr is + from en" "+ en" "$(channel_field fr quality) $(channel_field fr source)"
check "relay chain: quality of en is floor" "floor floor" "$(channel_field en quality) $(channel_field en source)"
out=$(json listen en 1 fr); rc=$?
check "relay cycle refused" '1:{"ok":false,"error":"listen: relay cycle: channel fr is fed, through relay, by booth en"}' "$rc:$out"
check "relay cycle: nothing changed" "440" "$(probe tolk:phones_en_1)"

# ---- sidetone and volume ----------------------------------------------------

# fr/1 listens to the silent de channel: all it hears is its own voice at -20 dB.
ctl listen fr 1 de >/dev/null
check "sidetone: own voice, at -20 dB" "600 -29" "$(probe_raw tolk:phones_fr_1 | awk '{printf "%s %.0f", $2, $3}')"
ctl listen fr 1 en >/dev/null
ctl volume en 2 -20 >/dev/null
check "volume: -20 dB on en/2" "440 -29" "$(probe_raw tolk:phones_en_2 | awk '{printf "%s %.0f", $2, $3}')"

# ---- auto-relay follows the floor language ----------------------------------

ctl listen fr 2 auto >/dev/null
check "auto-relay: floor en is understood, fr/2 hears the floor" "440 floor" \
	"$(probe tolk:phones_fr_2) $(console_field fr 2 hears)"
ctl floor-language de >/dev/null
check "auto-relay: floor de, fr/2 takes the en pivot" "920 en" \
	"$(probe tolk:phones_fr_2) $(console_field fr 2 hears)"
ctl mic en 1 off >/dev/null
check "auto-relay: no pivot live, fr/2 falls back to the floor" "440 floor no pivot" \
	"$(probe tolk:phones_fr_2) $(console_field fr 2 hears) $(console_field fr 2 note)"
ctl mic en 1 on >/dev/null
ctl floor-language en >/dev/null
check "auto-relay: floor back to en, fr/2 hears the floor" "440" "$(probe tolk:phones_fr_2)"

# ---- interlock and override ---------------------------------------------------

ctl mic de 1 on >/dev/null
out=$(json mic de 2 on); rc=$?
check "booth interlock: refused, naming the colleague" '1:{"ok":false,"error":"mic: interlock: de/1 is live"}' "$rc:$out"
check "booth interlock: out_de still carries de/1" "1240" "$(probe tolk:out_de)"
ctl mic fr 2 on >/dev/null
check "booth override: fr/2 takes over from fr/1" "760 false" "$(probe tolk:out_fr) $(console_field fr 1 mic)"
ctl output en 2 B >/dev/null
out=$(json mic en 2 on); rc=$?
check "channel interlock: en/2 on fr is refused, engaged by fr" \
	'1:{"ok":false,"error":"mic: engaged by fr: fr/2 is live on channel fr"}' "$rc:$out"
check "channel interlock: out_fr unchanged, en/1 still live" "760 920" "$(probe tolk:out_fr tolk:out_en)"
ctl mic es 1 on >/dev/null
check "channel override: es/1 live" "1560" "$(probe tolk:out_es)"
out=$(ctl mic es2 1 on); rc=$?
check "channel override: es2/1 takes the channel" "0:es2/1: mic ON, output A (es), listen floor -> floor, took the channel from es/1" "$rc:$out"
check "channel override: out_es carries es2/1, es/1 is off" "1720 false" \
	"$(probe tolk:out_es) $(console_field es 1 mic)"

# ---- cough --------------------------------------------------------------------

ctl mute fr 2 on >/dev/null
check "cough: out_fr goes silent, not to the floor" "silence" "$(probe tolk:out_fr)"
check "cough: status says muted" "true" "$(channel_field fr muted)"
ctl mute fr 2 off >/dev/null
check "cough released: out_fr carries fr/2 again" "760" "$(probe tolk:out_fr)"

# ---- handover -----------------------------------------------------------------

# Record 1 s of out_fr while fr/2 hands over to fr/1 half-way through.
(sleep 0.45; ctl handover fr 2 1 >"$TMP/handover.out" 2>&1) &
HANDOVER=$!
line=$($B/test/probe -s "$SERVER" -n "probe-ho" -f "$FREQS" -t 1.0 -w 10 tolk:out_fr)
wait $HANDOVER
echo "handover probe: $line"
check "handover: from fr/2 to fr/1 within the recording" "760 600" "$(echo "$line" | awk '{print $7, $8}')"
check "handover: RMS never below half (-6 dB) through the switch" "yes" \
	"$(echo "$line" | awk '{print ($6 >= $3 - 6.02) ? "yes" : "no: min " $6 " dBFS against " $3}')"
check "handover: one live mic after it" "true false" "$(console_field fr 1 mic) $(console_field fr 2 mic)"
grep -q "handover fr/2 -> fr/1 on fr" "$TMP/tolk.log" && pass "handover is logged" || fail "handover is logged" "$(cat "$TMP/tolk.log")"

# ---- retour -------------------------------------------------------------------

ctl mic en 1 off >/dev/null
ctl output fr 1 B >/dev/null
check "retour: fr/1 on its B channel carries into out_en" "600" "$(probe tolk:out_en)"
check "retour: the floor language becomes fr" "fr false" \
	"$(json status | grep -o '"floor_language":"[a-z]*","floor_language_pinned":[a-z]*' | sed 's/"floor_language":"//; s/","floor_language_pinned":/ /')"
ctl output fr 1 A >/dev/null
ctl floor-language de pin >/dev/null
ctl output fr 1 B >/dev/null
check "retour: a pinned floor language stays" "de" "$(json status | grep -o '"floor_language":"[a-z]*"' | cut -d'"' -f4)"

# ---- signals ------------------------------------------------------------------

ctl slower fr 1 >/dev/null
ctl help de 2 >/dev/null
check "signals: slower names the booth only, help the console" \
	'"kind":"slower","booth":"fr","acked":false,"text" "kind":"help","booth":"de","n":2,"acked":false,"text"' \
	"$(json status | grep -o '"kind":"[a-z]*","booth":"[a-z0-9]*",\("n":[0-9]*,\)\?"acked":false,"text"' | tr '\n' ' ' | sed 's/ $//')"
check "events: the signals are there with the changes" "2" "$(json events | grep -o '"kind":"\(slower\|help\)"' | wc -l)"

# ---- the hearing limiter's ceiling (this room: 100 dB SPL = 0 dBFS) ----------

start_tones tolk:floor_main:1000:1.0
check "a loud floor reaches out_floor above 0 dBFS" "yes" \
	"$(probe_raw tolk:out_floor | awk '{print ($5 > 0.0) ? "yes" : "no: " $5}')"
check "phones never pass the ceiling" "yes yes" \
	"$(probe_raw tolk:phones_en_1 tolk:phones_de_2 | awk '{printf "%s%s", sep, ($5 <= 0.0 && $5 > -0.5) ? "yes" : "no: " $5; sep=" "} END {print ""}')"

# ---- meters ---------------------------------------------------------------------

m=$(json meters)
check "meters: out_en (en/1's 920 Hz at 0.5) peak and RMS" "yes" \
	"$(echo "$m" | grep -q '{"port":"out_en","peak_dbfs":-6\.[0-9],"rms_dbfs":-9\.[0-9]}' && echo yes)"
check "meters: the mic de/1 is metered at its input" "yes" \
	"$(echo "$m" | grep -q '{"port":"mic_de_1","peak_dbfs":-6\.[0-9],"rms_dbfs":-9\.[0-9]}' && echo yes)"
check "meters: a cough reads as silence" "yes" \
	"$(ctl mute de 1 on >/dev/null; sleep 0.2; json meters | grep -q '{"port":"out_de","peak_dbfs":null,"rms_dbfs":null}' && echo yes; ctl mute de 1 off >/dev/null)"
check "meters: R128 short-term loudness of out_en (a 920 Hz sine at half scale: -9 LUFS)" "yes" \
	"$(echo "$m" | grep -o '{"channel":"en","momentary_lufs":[-0-9.]*,"short_term_lufs":[-0-9.]*}' |
	   sed 's/.*"short_term_lufs"://; s/}//' | awk '{print ($1 >= -10 && $1 <= -8) ? "yes" : "no: " $1}')"
check "meters: every input, floor and mics" "9" \
	"$(echo "$m" | grep -o '"port":"\(floor_main\|mic_[a-z0-9]*_[0-9]\)"' | wc -l)"

# ---- events --follow: a change reaches a follower within 100 ms ---------------

( $B/tolkctl --control "$SOCK" events --follow 2>/dev/null |
	while IFS= read -r l; do echo "$(date +%s%3N) $l"; done >"$TMP/follow.out" ) &
FOLLOWER=$!
PIDS+=("$FOLLOWER")
sleep 0.3
ctl mic de 2 off >/dev/null
ctl mic de 1 off >/dev/null
wait_for 5 grep -q '"text":"mic de/1 off"' "$TMP/follow.out"
check "events --follow: the mic change arrives as a JSON line" "1" "$(grep -c '"kind":"change","text":"mic de/1 off"' "$TMP/follow.out")"
check "events --follow: within 100 ms of the change" "yes" \
	"$(grep '"text":"mic de/1 off"' "$TMP/follow.out" | awk '{ match($0, /"time_ms":[0-9]+/); t = substr($0, RSTART + 10, RLENGTH - 10); print ($1 - t <= 100) ? "yes" : "no: " $1 - t " ms" }')"
pkill -P "$FOLLOWER" 2>/dev/null

kill -0 "$TOLK_PID" 2>/dev/null && pass "engine still running" || fail "engine still running" "it died"
grep -i "xrun" "$TMP/tolk.log" && echo "note: xruns reported"
finish
