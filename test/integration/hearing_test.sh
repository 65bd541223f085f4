#!/bin/bash
# Integration test of the inserts and hearing protection on a real JACK
# server: the chains and their latencies, channels kept sample-aligned
# around an LV2 plugin with latency (from a Debian package, x42-plugins),
# a 0 dBFS square burst held at the phones ceiling, the exposure figure of
# a calibrated tone against its closed form, changes and bypass while
# running, the dose carried over a restart, and configuration errors with
# their line and column.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ROOM=test/integration/hearing_room.yaml
FREQS=440,1000
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
field() { # field JSON-TEXT CONSOLE KEY: a number from `exposure`
	echo "$1" | grep -o "{\"console\":\"$2\"[^}]*" | grep -o "\"$3\":[-0-9.]*" | cut -d: -f2
}

start_jackd
start_tolk tolk "$SOCK" --config "$ROOM" --log-dir "$TMP/logs" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }

# ---- chains and latency -------------------------------------------------------

ins=$(json inserts)
check "the LV2 plugin reports its latency" "yes" \
	"$(echo "$ins" | grep -q '"chain":"outputs.fr","latency_frames":64,"delay_frames":64' && echo yes)"
check "the other channels are padded to it" "yes yes" \
	"$(for c in outputs.floor outputs.en; do echo "$ins" | grep -q "\"chain\":\"$c\",\"latency_frames\":0,\"delay_frames\":64" && echo yes; done | tr '\n' ' ' | sed 's/ $//')"
check "every phones chain ends with the hearing limiter" "yes yes" \
	"$(for c in phones.fr phones.en; do echo "$ins" | sed 's/{"chain"/\n&/g' | grep "\"chain\":\"$c\"" | grep -o '"plugin":"[a-z_:#]*"' | tail -1 | grep -q hearing_limiter && echo yes; done | tr '\n' ' ' | sed 's/ $//')"
check "a booth's own phones chain comes first" "yes" \
	"$(echo "$ins" | grep -q '"chain":"phones.en","latency_frames":48,"delay_frames":48,"inserts":\[{"position":1,"plugin":"highpass"' && echo yes)"
check "status reports the latency, of each chain too" "yes" \
	"$(json status | grep -q '"latency":{"rate":48000,"mic_frames":0,"output_frames":64,"channel_frames":64,"phones_frames":48,"channel_ms":1.333,"phones_ms":1.000,"chains":{"mics.fr":0,"mics.en":0,"outputs.floor":0,"outputs.en":0,"outputs.fr":64,"phones.fr":48,"phones.en":48}}' && echo yes)"

# JACK's latency: a port's range as "min max" (jack_lsp -l)
latency() { # latency PORT playback|capture
	jack_lsp -s "$SERVER" -l "tolk:$1" | grep -A2 -x "tolk:$1" | sed -n "s/.*port $2 latency = \[ \([0-9]*\) \([0-9]*\) \].*/\1 \2/p"
}
lat_mic=$(latency mic_fr_1 playback)
lat_out=$(latency out_fr capture)
lat_floor=$(latency out_floor capture)
lat_phones=$(latency phones_fr_1 capture)
echo "JACK latency: mic_fr_1 playback [$lat_mic], out_floor capture [$lat_floor], out_fr capture [$lat_out], phones_fr_1 capture [$lat_phones]"
check "JACK: the distribution outputs carry the channel latency (64) and no more" "64 64|64 64" "$lat_out|$lat_floor"
check "JACK: a mic's playback latency is the distribution path's, without the hearing limiter" "64 64" "$lat_mic"
check "JACK: the phones carry their chain (48) after the floor, and after a relayed channel (64 + 48)" "48 112" "$lat_phones"

# ---- exposure of a calibrated tone: 1 kHz at 0.01 is 110 + 20 log10(0.01 / sqrt 2) = 66.99 dB(A)

start_tones tolk:floor_main:1000:0.01
sleep 2
e1=$(json exposure)
sleep 5
e2=$(json exposure)
# The tone's own level, from two readings: energy is seconds x 10^(L/10).
laeq=$(awk -v s1="$(field "$e1" fr/1 seconds)" -v l1="$(field "$e1" fr/1 laeq_dba)" \
	   -v s2="$(field "$e2" fr/1 seconds)" -v l2="$(field "$e2" fr/1 laeq_dba)" \
	   'BEGIN { if (s2 <= s1) { print "none"; exit }
		    printf "%.1f\n", 10 * log((s2 * 10 ^ (l2 / 10) - s1 * 10 ^ (l1 / 10)) / (s2 - s1)) / log(10) }')
dose=$(awk -v s="$(field "$e2" fr/1 seconds)" -v l="$(field "$e2" fr/1 laeq_dba)" -v d="$(field "$e2" fr/1 dose_percent)" \
	   'BEGIN { want = 100 * s / 28800 * 10 ^ ((l - 80) / 10); print (d > 0 && (d - want) / want < 0.005 && (want - d) / want < 0.005) ? "yes" : "no: " d " for " want }')
check "exposure: the dose is LAeq against 80 dB(A) over 8 h" "yes" "$dose"
check "exposure: a 1 kHz tone at 0.01 of full scale is 67.0 dB(A)" "67.0" "$laeq"
check "exposure: the day is today, local time" "$(date +%F)" \
	"$(echo "$e2" | grep -o '{"console":"fr/1","day":"[0-9-]*"' | grep -o '[0-9]\{4\}-[0-9-]*')"
stop_pid "${PIDS[-1]}"

# ---- channels stay sample-aligned around the LV2 latency ------------------------

# aligned TAKE: record 2 s, then out_en less out_fr: silence when aligned.
aligned() {
	ctl record start "$1" >/dev/null
	sleep 2
	ctl record stop >/dev/null
	wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
	sox -m -v 1 "$(ls "$TMP/rec/$1/$1"_en_*.wav | head -1)" -v -1 "$(ls "$TMP/rec/$1/$1"_fr_*.wav | head -1)" -n stat 2>&1 |
		awk '/Maximum amplitude/ {print ($3 < 0.001) ? "aligned" : "off by " $3}'
}

start_tones tolk:floor_main:440:0.1
check "out_en and out_fr (through the LV2 plugin) are sample-aligned" "aligned" "$(aligned take1)"
ctl insert outputs.fr 1 bypass on >/dev/null
check "bypassed, the LV2 insert keeps its latency" "aligned" "$(aligned take2)"
stop_pid "${PIDS[-1]}"

# ---- a 0 dBFS square burst into floor_main ---------------------------------------

start_tones tolk:floor_main:square:1.0
check "the distribution output carries the burst at full scale" "yes" \
	"$(probe_raw tolk:out_floor | awk '{print ($5 > -0.1) ? "yes" : "no: " $5}')"
# Bursts of 100 ms, 100 ms apart, are a sustained level: after the first
# 100 ms the limit is 94 dB SPL (-16 dBFS), and stays there while they go on.
check "phones hold the bursts below the 100 dB SPL ceiling, at the 94 dB SPL sustained limit" "yes yes yes" \
	"$(probe_raw tolk:phones_fr_1 tolk:phones_fr_2 tolk:phones_en_1 | awk '{printf "%s%s", sep, ($5 <= -15.9 && $5 > -16.5) ? "yes" : "no: " $5; sep=" "} END {print ""}')"
if wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json events | grep -q 'limiter fr/1: above 94 dB SPL for 100 ms: limit lowered to 94 dB SPL'"; then
	pass "the sustained limit reaches the events"
else
	fail "the sustained limit reaches the events" "$(ctl --json events)"
fi
if wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json events | grep -q '\"kind\":\"hearing\",\"text\":\"limiter fr/1: [0-9]* intervention(s), deepest'"; then
	pass "the limiter's interventions reach the events"
else
	fail "the limiter's interventions reach the events" "$(ctl --json events)"
fi
check "exposure shows the interventions" "yes" \
	"$(json exposure | grep -q '{"console":"fr/1","day":"[0-9-]*","seconds":[0-9.]*,"laeq_dba":[0-9.]*,"dose_percent":[0-9.]*,"limiter":{"interventions":[1-9]' && echo yes)"
stop_pid "${PIDS[-1]}"

# ---- the 1-minute back-off lowers the level at the ear, also for a loud input --------
# A fresh engine (its limiters armed), a 1 kHz tone at 0 dBFS into the floor:
# fr/1 hears it at the 94 dB SPL sustained limit (-16 dBFS) until the
# 1-minute average passes 80 dB SPL (after about 5 s), then 6 dB lower;
# en/1, at volume -40 dB, stays quiet and untouched.

MAIN_PID=$TOLK_PID
start_tolk bo "$TMP/bo.sock" --config "$ROOM" --log-dir "$TMP/bo-logs" || fail "a second engine starts" "$(tail -3 "$TMP/bo.log")"
BO_PID=$TOLK_PID
TOLK_PID=$MAIN_PID
bo() { $B/tolkctl --control "$TMP/bo.sock" "$@"; }
bo volume en 1 -40 >/dev/null
start_tones bo:floor_main:1000:1.0
sleep 0.5
read -r _ _ _ _ fr_before < <(probe_raw bo:phones_fr_1)
read -r _ _ _ _ en_before < <(probe_raw bo:phones_en_1)
check_true "a loud floor: fr/1 at the sustained limit, 94 dB SPL (-16 dBFS peak: $fr_before)" "$fr_before" \
	awk -v p="$fr_before" 'BEGIN { exit !(p > -16.5 && p < -15.5) }'
if wait_for 20 sh -c "$B/tolkctl --control '$TMP/bo.sock' --json events | grep -q 'hearing fr/1: 1-minute average above 80 dB SPL'"; then
	pass "the 1-minute average trips the back-off"
else
	fail "the 1-minute average trips the back-off" "$(bo --json events)"
fi
sleep 3 # its 2 s glide
read -r _ _ _ _ fr_after < <(probe_raw bo:phones_fr_1)
read -r _ _ _ _ en_after < <(probe_raw bo:phones_en_1)
check_true "backed off, the loud input's peak at the ear is at most 0.6 of before ($fr_before -> $fr_after dBFS)" \
	"$fr_after" awk -v a="$fr_after" -v b="$fr_before" 'BEGIN { exit !(10 ^ ((a - b) / 20) <= 0.6) }'
check_true "... the sustained limit less 6 dB: 88 dB SPL (-22 dBFS peak: $fr_after)" "$fr_after" \
	awk -v p="$fr_after" 'BEGIN { exit !(p > -22.5 && p < -21.5) }'
check_true "a quiet console in the same room is unchanged ($en_before -> $en_after dBFS)" "$en_after" \
	awk -v a="$en_after" -v b="$en_before" 'BEGIN { d = a - b; exit !(d < 0.5 && d > -0.5) }'
check "exposure says the back-off is on and how long it has left" "yes" \
	"$(bo --json exposure | grep -q '{"console":"fr/1",[^}]*"limiter":{[^}]*"backoff":true,"backoff_left_s":17[0-9][0-9]' && echo yes)"
stop_pid "${PIDS[-1]}"
stop_pid "$BO_PID"
check "the exposure log says it too" "yes" \
	"$(grep -q '"console":"fr/1",.*"backoff":true,"backoff_left_s":17[0-9][0-9]' "$TMP/bo-logs/exposure.jsonl" && echo yes)"

# ---- changes while running ---------------------------------------------------------

check "a parameter changes while audio runs" "yes" \
	"$(ctl insert mics.fr gate threshold_db -50 | grep -q 'threshold_db -50 (was -55)' && json inserts | grep -o '"chain":"mics.fr".*' | grep -q '"threshold_db":-50' && echo yes)"
check "a value out of range is refused" "insert: threshold_db must be between -90 and 0, not 5" \
	"$(ctl insert mics.fr gate threshold_db 5 2>&1 | sed 's/^tolkctl: //')"
check "the hearing limiter cannot be bypassed" "yes" \
	"$(ctl insert phones.fr hearing_limiter bypass on 2>&1 | grep -q 'cannot be changed or bypassed' && echo yes)"
check "the audit records the change" "yes" \
	"$(grep -q '"changes":\["insert mics.fr 2 (gate) threshold_db -50 (was -55)"\]' "$TMP/logs/audit.jsonl" && echo yes)"

# ---- the dose is carried over a restart ----------------------------------------------

before=$(field "$(json exposure)" fr/1 seconds)
stop_pid "$TOLK_PID"
check "stopping writes the last minute to exposure.jsonl" "yes" \
	"$(tail -n 3 "$TMP/logs/exposure.jsonl" | grep -q '"console":"fr/1","day":"'"$(date +%F)"'"' && echo yes)"
echo '{"time":"2026-01-15T17:00:00.000Z","console":"fr/1","day":"2026-01-15","minute_laeq_dba":70.00,"day_laeq_dba":75.000,"day_seconds":14400.0,"dose_percent":15.8114,"limiter":{"interventions":4,"backoffs":0,"backoff":false}}' \
	>>"$TMP/logs/exposure.jsonl"
start_tolk tolk "$SOCK" --config "$ROOM" --log-dir "$TMP/logs" || { fail "tolk restarts" "$(cat "$TMP/tolk.log")"; finish; }
check "exposure of a past day, from the log" \
	'{"ok":true,"day":"2026-01-15","from":"exposure.jsonl","dbspl_at_0dbfs":110,"consoles":[{"console":"fr/1","seconds":14400.0,"laeq_dba":75.000,"dose_percent":15.8114,"interventions":4,"backoffs":0}]}' \
	"$(json exposure 2026-01-15)"
check "a day with nothing logged" "exposure: nothing logged for 2025-01-15" "$(ctl exposure 2025-01-15 2>&1 | sed 's/^tolkctl: //')"
check "a day that is not one" "exposure: '15.1.2026' is not a day (YYYY-MM-DD)" "$(ctl exposure 15.1.2026 2>&1 | sed 's/^tolkctl: //')"
after=$(field "$(json exposure)" fr/1 seconds)
check "after a restart the day's exposure goes on" "yes" \
	"$(awk -v a="$after" -v b="$before" 'BEGIN { print (a >= b && b > 5) ? "yes" : "no: " a " after " b }')"

# ---- configuration errors name the file, line and column --------------------------------

bad() { # bad SED-EXPRESSION: the room with one change, checked
	sed "$1" "$ROOM" >"$TMP/bad.yaml"
	$B/tolk --check "$TMP/bad.yaml" 2>&1
	echo "exit $?"
}
check "an unknown LV2 URI" "$TMP/bad.yaml:14:17: no LV2 plugin 'http://example.org/none' is installed (lv2ls lists them) exit 2" \
	"$(bad 's|http://gareus.org/oss/lv2/dpl#mono|http://example.org/none|' | tr '\n' ' ' | sed 's/ $//')"
check "an LV2 parameter out of its range" "$TMP/bad.yaml:14:76: threshold must be between -10 and 0 for 'http://gareus.org/oss/lv2/dpl#mono', not 3 exit 2" \
	"$(bad 's|threshold: -1|threshold: 3|' | tr '\n' ' ' | sed 's/ $//')"
check "an LV2 control that does not exist" "yes" \
	"$(bad 's|threshold: -1|thresh: -1|' | grep -q "bad.yaml:14:76: LV2 plugin 'http://gareus.org/oss/lv2/dpl#mono' has no control 'thresh' (it has: enable, gain, threshold, release, truepeak)" && echo yes)"
check "a stereo LV2 plugin" "yes" \
	"$(bad 's|dpl#mono|dpl#stereo|' | grep -q "bad.yaml:14:17: LV2 plugin 'http://gareus.org/oss/lv2/dpl#stereo' has 2 audio input(s) and 2 output(s); an insert is mono" && echo yes)"
check "an unknown built-in plugin" "yes" \
	"$(bad 's|{highpass: {hz: 80}}|{lowpass: {hz: 80}}|' | grep -q "bad.yaml:27:10: no plugin 'lowpass'" && echo yes)"
check "a built-in parameter that does not exist" "$TMP/bad.yaml:27:22: highpass has no parameter 'freq' (it has: hz) exit 2" \
	"$(bad 's|{highpass: {hz: 80}}|{highpass: {freq: 80}}|' | tr '\n' ' ' | sed 's/ $//')"
mkdir -p "$TMP/no-plugins"
out=$($B/tolk --plugin-dir "$TMP/no-plugins" --check test/integration/room.yaml 2>&1)
rc=$?
check "no hearing limiter, no start" "yes exit 2" \
	"$(echo "$out" | grep -q '^the hearing limiter is missing: .*Tolk will not run headphone feeds without it$' && echo yes) exit $rc"

# ---- LV2 inserts by name: their own short name, or name: ----------------------

cat >"$TMP/lv2names.yaml" <<'ROOM'
meeting: itest-lv2names
floor: { inputs: [main], language: en }
languages:
  - { code: en, name: English }
  - code: fr
    name: "Français"
    inserts:
      outputs:
        - {lv2: {uri: "http://gareus.org/oss/lv2/dpl#mono"}}
        - {lv2: {uri: "http://gareus.org/oss/lv2/fil4#mono"}, name: eq}
        - {lv2: {uri: "http://gareus.org/oss/lv2/dpl#mono"}}
booths:
  - { id: fr, outputs: [fr], understands: [en], consoles: 1 }
ROOM
SOCK2="$TMP/lv2names.sock"
ctl2() { $B/tolkctl --control "$SOCK2" "$@" 2>&1; }
start_tolk lv2names "$SOCK2" --config "$TMP/lv2names.yaml" --no-record --log-dir "$TMP/logs2" ||
	fail "tolk starts with three LV2 inserts" "$(cat "$TMP/lv2names.log")"
names=$(ctl2 --json inserts | grep -o '"chain":"outputs.fr"[^]]*' | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')
check "inserts shows each LV2 insert's name: its own (lv2:name, lower-cased), the room's name:, and -2 when taken" \
	"x42-dpl-digital-peak-limiter-mono eq x42-dpl-digital-peak-limiter-mono-2 " "$names"
check "an LV2 insert is addressed by its short name" \
	"changed: insert outputs.fr 1 (x42-dpl-digital-peak-limiter-mono) threshold -2 (was -1)" \
	"$(ctl2 insert outputs.fr x42-dpl-digital-peak-limiter-mono threshold -2)"
check "and by the name the room gave it" "changed: insert outputs.fr 2 (eq) bypass on" \
	"$(ctl2 insert outputs.fr eq bypass on)"
check "an unknown name: the error lists the chain's names" \
	"tolkctl: insert: outputs.fr has no insert 'limiter_mono' (it has: 1 x42-dpl-digital-peak-limiter-mono, 2 eq, 3 x42-dpl-digital-peak-limiter-mono-2)" \
	"$(ctl2 insert outputs.fr limiter_mono threshold -2)"

finish
