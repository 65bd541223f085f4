#!/bin/bash
# A reload storm on a real JACK server: two room files alternated under
# SIGHUP every 50 to 200 ms while tones play and WAV, FLAC and Opus record.
# Tolk must live through it (JACK's latency callback never sees a freed
# plan), channels the reloads do not touch must run on without a break,
# reloads that come faster than they can be applied are coalesced (and the
# log says so), and every recorded file must decode.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ROOM="$TMP/room.yaml"
REC="$TMP/rec"
FREQS=440,600
STORM=${STORM_RELOADS:-60}
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }

# Room A is the reload room recording all three formats; room B adds a
# language and a booth and changes de's idle policy.
sed 's/formats: \[flac\]/formats: [wav, flac, opus]/' test/integration/reload_room.yaml >"$TMP/a.yaml"
sed -e 's/  - { code: de, name: Deutsch, idle: duck }/  - { code: de, name: Deutsch, idle: silence }\n  - { code: it, name: Italiano, idle: floor }/' \
	-e 's/  - { id: fr, outputs: \[fr\], understands: \[en\], consoles: 2 }/&\n  - { id: it, outputs: [it], understands: [en], consoles: 1 }/' \
	"$TMP/a.yaml" >"$TMP/b.yaml"
cp "$TMP/a.yaml" "$ROOM"
check "room B differs from room A by a language, a booth and an idle policy" "3" \
	"$(diff "$TMP/a.yaml" "$TMP/b.yaml" | grep -c '^>')"

start_jackd
start_tolk tolk "$SOCK" --config "$ROOM" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:ramp tolk:mic_fr_1:440:0.5
ctl mic fr 1 on >/dev/null
ctl record start storm >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
$B/test/continuity -s "$SERVER" -n cont tolk:out_en:ramp tolk:out_floor:ramp >"$TMP/cont.out" 2>&1 &
CONT=$!
PIDS+=("$CONT")
wait_for 10 grep -q ready "$TMP/cont.out" || fail "the continuity probe starts" "$(cat "$TMP/cont.out")"
sleep 0.3

# ---- the storm ----------------------------------------------------------------

for ((i = 0; i < STORM; i++)); do
	if ((i % 2)); then cp "$TMP/a.yaml" "$ROOM"; else cp "$TMP/b.yaml" "$ROOM"; fi
	kill -HUP "$TOLK_PID" 2>/dev/null || break
	sleep "0.$(printf '%02d' $((5 + RANDOM % 16)))"
done
check_true "tolk lives through $STORM reloads in $SECONDS s" "$(tail -5 "$TMP/tolk.log")" kill -0 "$TOLK_PID"
# The last file wins: the storm ends on room B when STORM is odd, A when even.
if ((STORM % 2)); then want=yes; else want=no; fi
check_true "the last file wins once the storm is over" "$(tail -3 "$TMP/tolk.log")" \
	wait_for 5 sh -c "test \"\$(jack_lsp -s '$SERVER' | grep -q '^tolk:out_it\$' && echo yes || echo no)\" = $want"
check_true "reloads faster than they can be applied are coalesced, and the log says so" \
	"$(grep -c 'SIGHUP' "$TMP/tolk.log") SIGHUP lines" grep -q "reload: [0-9]* requests coalesced" "$TMP/tolk.log"
check_true "no JACK complaint about a port that is gone" "$(grep -m1 'incorrect port' "$TMP/tolk.log")" \
	sh -c "! grep -q 'incorrect port' '$TMP/tolk.log'"
check "state kept through the storm: fr/1 still live" "fr/1" \
	"$(json status | grep -o '"code":"fr","name":"[^"]*","feed":"[^"]*"' | cut -d'"' -f12)"
sleep 0.3

stop_pid "$CONT"
check "the probe stayed connected to out_en and out_floor" "2" "$(grep -c '^tolk:' "$TMP/cont.out")"
check_continuity "$SOCK" "$TMP/cont.out" "untouched by the reloads, no break through the storm" 48000

# ---- the recording --------------------------------------------------------------

ctl record stop >/dev/null
wait_for 20 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
bad=0
n=0
for f in "$REC"/storm/*.wav "$REC"/storm/*.flac "$REC"/storm/*.opus; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	case "$f" in
	*.opus) opusinfo "$f" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "undecodable: $f"; } ;;
	*) soxi -D "$f" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "undecodable: $f"; } ;;
	esac
done
check_true "the storm recorded files in every format" "$n files" test "$n" -gt 3
check "every recorded file decodes (soxi, opusinfo)" "0" "$bad"
check_true "tolk-verify passes" "$($B/tolk-verify "$REC/storm" 2>&1 | tail -2)" \
	sh -c "$B/tolk-verify '$REC/storm' >/dev/null"
finish
