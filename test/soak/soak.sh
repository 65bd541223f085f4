#!/bin/bash
# make soak: an 8-hour meeting, compressed. jackd2's dummy backend cannot
# run faster than real time (its -w wait sets the period: -p 1024 -w 2000
# gives 96-frame periods at 1.00x, measured), so the meeting runs in real
# time, shortened: SOAK_HOURS of meeting (default 8) in SOAK_MINUTES of wall
# time (default 24), every cadence and the segment length divided by the
# same factor. Handovers every 3 meeting minutes in every booth, relay and
# floor-language changes about every 2, status/meters/events polling and
# OSC traffic all the time, and recording in hourly (meeting) segments.
#
# Reports xruns (JACK's count, and tolk's cycles past their period), dropped frames, RSS at start and
# end (and the drift per meeting hour), files and frames per channel
# against the timeline, frame-exact, and tolk-verify. CI runs a short one
# (SOAK_HOURS=0.5 SOAK_MINUTES=1.5 SOAK_SEGMENT_MINUTES=10).
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

HOURS=${SOAK_HOURS:-8}
MINUTES=${SOAK_MINUTES:-24}
SEGMENT=${SOAK_SEGMENT_MINUTES:-60}
SCALE=$(awk -v h="$HOURS" -v m="$MINUTES" 'BEGIN { printf "%.4f", h * 60 / m }')
wall() { awk -v x="$1" -v s="$SCALE" 'BEGIN { printf "%.3f", x / s }'; } # meeting seconds -> wall
SOCK="$TMP/tolk.sock"
REC="$TMP/rec"
PORT=$((19200 + RANDOM % 500))
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
field() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$TOLK_PID/status"; }

cat >"$TMP/room.yaml" <<ROOM
# The soak room: three booths with B outputs and relay, OSC on loopback.
meeting: soak
floor: { inputs: [main], language: en }
languages:
  - { code: en, name: English }
  - { code: fr, name: Français }
  - { code: de, name: Deutsch, idle: duck }
booths:
  - { id: en, outputs: [en, fr], understands: [fr, de], consoles: 2 }
  - { id: fr, outputs: [fr, en], understands: [en, de], consoles: 2 }
  - { id: de, outputs: [de], understands: [en], consoles: 2 }
inserts:
  mics: [{highpass: {hz: 80}}, {gate: {threshold_db: -55}}]
  outputs: [{leveller: {target_lufs: -23}}]
recording:
  formats: [flac, opus]
  segment_minutes: $(awk -v s="$SEGMENT" -v k="$SCALE" 'BEGIN { printf "%.4f", s / k }')
  buffer_seconds: 10
  autostart: false
  channels: all
osc:
  listen: "127.0.0.1:$PORT"
  consoles: { en: ["127.0.0.1"], fr: ["127.0.0.1"], de: ["127.0.0.1"] }
ROOM

echo "soak: a ${HOURS} h meeting in ${MINUTES} min of real time (x${SCALE}); segments of ${SEGMENT} meeting minutes"
start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440:0.3 tolk:mic_en_1:500:0.3 tolk:mic_en_2:550:0.3 tolk:mic_fr_1:600:0.3 \
	tolk:mic_fr_2:650:0.3 tolk:mic_de_1:700:0.3 tolk:mic_de_2:750:0.3
ctl record start soak >/dev/null || { fail "record start" "refused"; finish; }
for b in en fr de; do ctl mic $b 1 on >/dev/null; done

handover_every=$(wall 180)
change_every=$(wall 120)
end=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
warm=$(awk -v e="$end" 'BEGIN { printf "%d", e / 10 + 1 }')
rss_start=""
t0=$(date +%s.%N)
next_handover=0
next_change=0
live_en=1 live_fr=1 live_de=1
handovers=0 changes=0 polls=0 oscs=0 refused=0
now() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
later() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
while :; do
	t=$(now)
	later "$t" "$end" && break
	[ -z "$rss_start" ] && later "$t" "$warm" && rss_start=$(rss)
	if later "$t" "$next_handover"; then
		for b in en fr de; do
			eval "from=\$live_$b"
			to=$((3 - from))
			if ctl handover $b "$from" "$to" >/dev/null 2>&1; then eval "live_$b=$to"; else refused=$((refused + 1)); fi
			handovers=$((handovers + 1))
		done
		next_handover=$(awk -v a="$next_handover" -v b="$handover_every" 'BEGIN { print a + b }')
	fi
	if later "$t" "$next_change"; then
		case $((RANDOM % 4)) in
		0) ctl floor-language "$(echo en fr de | cut -d' ' -f$((RANDOM % 3 + 1)))" >/dev/null ;;
		1) ctl listen en $((RANDOM % 2 + 1)) "$(echo floor auto fr de | cut -d' ' -f$((RANDOM % 4 + 1)))" >/dev/null 2>&1 ;;
		2) ctl listen fr $((RANDOM % 2 + 1)) "$(echo floor auto en de | cut -d' ' -f$((RANDOM % 4 + 1)))" >/dev/null 2>&1 ;;
		3) ctl listen de $((RANDOM % 2 + 1)) "$(echo floor auto en fr | cut -d' ' -f$((RANDOM % 4 + 1)))" >/dev/null 2>&1 ;;
		esac
		changes=$((changes + 1))
		next_change=$(awk -v a="$next_change" -v b="$change_every" -v r="$RANDOM" 'BEGIN { print a + b * (0.5 + r / 32768) }')
	fi
	json status >/dev/null && json meters >/dev/null && ctl events >/dev/null
	polls=$((polls + 1))
	$B/test/osc_client -w 50 127.0.0.1 "$PORT" /tolk/de/2/volume f "-$((RANDOM % 12))" >/dev/null 2>&1
	$B/test/osc_client -w 50 127.0.0.1 "$PORT" /tolk/en/1/subscribe >/dev/null 2>&1
	oscs=$((oscs + 2))
	sleep 0.2
done
rss_end=$(rss)
status=$(json status)
ctl record stop >/dev/null
wait_for 30 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
recst=$(json record status)
stop_pid "$TOLK_PID"

# ---- the report --------------------------------------------------------------

xruns=$(echo "$recst" | field xruns)
dropped=$(echo "$recst" | field dropped_frames)
max_share=$(echo "$status" | field max_share)
p99_share=$(echo "$status" | field p99_share)
overruns=$(echo "$status" | field overruns)
wall_overruns=$(echo "$status" | field wall_overruns)
max_cpu_share=$(echo "$status" | field max_cpu_share)
TL="$REC/soak/timeline.jsonl"
first=$(grep '"event":"record-start"' "$TL" | head -1 | field frame)
last=$(grep '"event":"record-stop"' "$TL" | tail -1 | field frame)
expected=$((last - first))
segments=$(grep -c '"event":"segment-start"' "$TL")
drift=$(awk -v a="$rss_start" -v b="$rss_end" -v h="$HOURS" 'BEGIN { printf "%.0f", (b - a) / (h * 0.9) }')
echo
echo "soak report: ${HOURS} h meeting, ${MINUTES} min real time"
echo "  traffic: $handovers handovers ($refused refused), $changes relay/floor changes, $polls status+meters+events polls, $oscs OSC messages"
echo "  xruns: ${xruns:-?} in JACK; tolk's cycles past their period in CPU time: ${overruns:-?} (worst ${max_cpu_share:-?} of a period); by the wall clock: ${wall_overruns:-?} (process time p99 ${p99_share:-?}, worst ${max_share:-?})"
echo "  dropped recording frames: ${dropped:-?}"
echo "  RSS: ${rss_start:-?} KiB after warm-up, ${rss_end:-?} KiB at the end (${drift} KiB per meeting hour)"
echo "  recording: $segments segment(s), $expected frames from record-start to record-stop"
printf '  %-8s %6s %12s %12s %s\n' channel files frames expected result
ok_channels=0
for ch in floor en fr de; do
	for ext in flac opus; do
		files=$(ls "$REC"/soak/soak_${ch}_*.$ext 2>/dev/null)
		n=$(echo "$files" | grep -c .)
		sum=0
		for f in $files; do
			case $f in
			*.flac) k=$(soxi -s "$f" 2>/dev/null) ;;
			*.opus) k=$(grep -o "\"file\":\"$(basename "$f")\"[^}]*\"frames\":[0-9]*" "$REC/soak/manifest.json" | field frames) ;;
			esac
			sum=$((sum + ${k:-0}))
		done
		r=exact
		[ "$sum" -eq "$expected" ] && [ "$n" -eq "$segments" ] || r=WRONG
		[ $r = exact ] && ok_channels=$((ok_channels + 1))
		printf '  %-8s %6s %12s %12s %s\n' "$ch.$ext" "$n" "$sum" "$expected" "$r"
	done
done
echo

# JACK counts every xrun on the server; tolk's own share is a cycle of its
# process callback whose CPU time ran past its period. A cycle preempted by
# another process, or by the machine under it, is long by the wall clock
# only: reported, not tolk's.
# This machine is a VM without a steal clock: time the host takes from the
# vCPU mid-cycle counts as the thread's CPU time. Stray cycles (at most one
# per 500) pass while the p99 stays under a quarter of the period.
cycles=$(echo "$status" | field cycles)
check_true "no xrun caused by tolk (no cycle's CPU time past its period, but for a stray host stall)" \
	"${overruns:-?} of ${cycles:-?} cycles, p99 ${p99_share:-?}" \
	sh -c "test '${overruns:-1}' -eq 0 || { test \$((${overruns:-1} * 500)) -le '${cycles:-0}' && awk 'BEGIN { exit !(${p99_share:-1} < 0.25) }'; }"
[ "${xruns:-0}" != 0 ] && [ "${overruns:-0}" = 0 ] &&
	echo "note: $xruns xrun(s) in JACK while every tolk cycle finished within its period: the machine's, not tolk's"
check "no dropped recording frame" "0" "${dropped:-?}"
check_true "RSS flat (under 4 MiB growth after warm-up)" "${rss_start} -> ${rss_end} KiB" \
	test "$((rss_end - rss_start))" -lt 4096
check "every channel's files sum to the recorded frames, exactly" "8" "$ok_channels"
check_true "segments rolled as the meeting hours passed" "$segments" \
	test "$segments" -ge "$(awk -v h="$HOURS" -v s="$SEGMENT" 'BEGIN { printf "%d", h * 60 / s }')"
check_true "tolk-verify passes" "$($B/tolk-verify "$REC/soak" 2>&1 | tail -2)" \
	sh -c "$B/tolk-verify '$REC/soak' >/dev/null"
check_true "handovers happened" "$handovers" test "$handovers" -ge 3
finish
