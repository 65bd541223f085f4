#!/bin/bash
# make bench: Tolk's performance, measured side by side in one run on this
# machine and printed as figures and ratios. Nothing here passes or fails:
# a target that is missed is said plainly. Writes build/bench.json too.
#   BENCH_RECORD_SECONDS  length of each recording run (default 60)
#   BENCH_RECORD_CHANNELS channel counts to record (default "32 64 128")
#   BENCH_LIVE_COMPLEXITY Opus complexity for the 127-channel live room
#                         (default: the recorder's own default)
set -u
cd "$(dirname "$0")/.."

. test/integration/lib.sh

REC_SECONDS=${BENCH_RECORD_SECONDS:-60}
REC_CHANNELS=${BENCH_RECORD_CHANNELS:-32 64 128}
SOCK="$TMP/tolk.sock"
J="$TMP/json"
mkdir -p "$J"
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
# num JSON KEY: the first number after "KEY":
num() { echo "$1" | grep -o "\"$2\":[-0-9.e]*" | head -1 | cut -d: -f2; }
# cpu_ticks PID: user + system time so far, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
target() { # target NAME OK(0|1) TEXT
	if [ "$2" = 1 ]; then echo "   target $1: met ($3)"; else echo "   target $1: MISSED ($3)"; fi
	printf '{"target":"%s","met":%s,"detail":"%s"}\n' "$1" "$([ "$2" = 1 ] && echo true || echo false)" "$3" >>"$J/targets.jsonl"
}

echo "Tolk $(build/tolk --version | cut -d' ' -f2) on $(nproc) cores, $(uname -m), jackd $(dpkg-query -W -f='${Version}' jackd2 2>/dev/null), dummy backend, 48 kHz"
echo

# ---- 2. routing cost, offline -------------------------------------------------

echo "== Routing cost, offline: the router (and every insert) on synthetic buffers"
$B/bench/routing_bench --plugin-dir $B/plugins test/rooms/room-2.yaml test/rooms/room-un.yaml \
	test/rooms/room-ep.yaml test/rooms/room-64.yaml 3>"$J/routing.jsonl"
ep_ratio=$(grep '"room":"room-ep","period":64,"inserts":false' "$J/routing.jsonl" | grep -o '"memcpy_ratio":[0-9.]*' | cut -d: -f2)
ep_share=$(grep '"room":"room-ep","period":64,"inserts":true' "$J/routing.jsonl" | grep -o '"period_share":[0-9.]*' | cut -d: -f2)
target "room-ep routing <= 3x the memcpy bound" "$(awk -v r="$ep_ratio" 'BEGIN{print (r <= 3) ? 1 : 0}')" "${ep_ratio}x"
target "room-ep with inserts <= 10% of a 64-frame period" "$(awk -v r="$ep_share" 'BEGIN{print (r <= 0.10) ? 1 : 0}')" \
	"$(awk -v r="$ep_share" 'BEGIN{printf "%.1f%%", 100 * r}')"
echo

# ---- 1. added latency ---------------------------------------------------------

start_jackd
echo "== Added latency: impulses into floor_main (and a live mic), read at the outputs"
printf '%-12s %-18s %-14s %8s %8s\n' room from to added jack
latency_rows() { # latency_rows ROOM FROM LABEL SOURCE...: impulses into tolk:FROM, a row per SOURCE
	local room=$1 from=$2 label=$3
	shift 3
	$B/bench/latency_probe -s "$SERVER" -d "tolk:$from" "$@" |
		while read -r port added jack hits; do
			printf '%-12s %-18s %-14s %8s %8s\n' "$room" "$label" "${port#tolk:}" "$added" "$jack"
			printf '{"room":"%s","from":"%s","to":"%s","added_frames":%s,"jack_reported_frames":%s,"impulses":%s}\n' \
				"$room" "$from" "${port#tolk:}" "$added" "$jack" "$hits" >>"$J/latency.jsonl"
		done
}
latency_room() { # latency_room ROOM.yaml
	local room=$1 name
	name=$(basename "$room" .yaml)
	start_tolk tolk "$SOCK" --config "$room" --no-record || { echo "tolk did not start: $(cat "$TMP/tolk.log")"; return; }
	latency_rows "$name" floor_main floor_main tolk:out_floor tolk:out_en tolk:out_fr
	ctl mic fr 1 on >/dev/null
	latency_rows "$name" mic_fr_1 "mic_fr_1 (live)" tolk:out_fr
	stop_pid "$TOLK_PID"
}
latency_room test/rooms/room-2.yaml
latency_room test/rooms/room-2-lv2.yaml
lat_ok=$(awk -F'[:,]' '/"room":"room-2"/ {if ($8 != 0 || $10 != 0) bad=1}
	/"room":"room-2-lv2"/ {if ($8 != 64 || $10 != 64) bad=1} END {print bad ? 0 : 1}' "$J/latency.jsonl")
target "0 frames added without latency inserts; exactly the inserts' 64 with one, as JACK reports" "$lat_ok" \
	"$(wc -l <"$J/latency.jsonl") paths"
echo

# ---- 3. process time in JACK, and 5. memory and start-up ---------------------------

echo "== Process time in JACK: room-ep, period 256, tones on every input, mics live in turn"
alone=$($B/bench/dsp_load -s "$SERVER" 5)
start_tolk tolk "$SOCK" --config test/rooms/room-ep.yaml ||
	{ echo "tolk did not start: $(cat "$TMP/tolk.log")"; finish; }
tones="tolk:floor_main:440"
booths=$(grep -o 'id: [a-z0-9-]*' test/rooms/room-ep.yaml | cut -d' ' -f2)
for b in $booths; do
	for n in 1 2 3; do
		tones="$tones tolk:mic_${b}_$n:$((300 + 20 * n))"
	done
done
# shellcheck disable=SC2086
start_tones $tones
for t in $(seq 0 19); do
	c=$((t % 3 + 1))
	for b in $booths; do ctl mic "$b" "$c" on >/dev/null; done
	sleep 0.6
done
with=$($B/bench/dsp_load -s "$SERVER" 5)
st=$(ctl --json status)
p=$(echo "$st" | grep -o '"process":{[^}]*}')
printf '  process callback: p50 %s us (%.2f%% of the period), p99 %s us (%.2f%%), max %s us (%.2f%%), %s cycles\n' \
	"$(num "$p" p50_us)" "$(awk -v x="$(num "$p" p50_share)" 'BEGIN{print 100*x}')" \
	"$(num "$p" p99_us)" "$(awk -v x="$(num "$p" p99_share)" 'BEGIN{print 100*x}')" \
	"$(num "$p" max_us)" "$(awk -v x="$(num "$p" max_share)" 'BEGIN{print 100*x}')" "$(num "$p" cycles)"
echo "  server DSP load: jackd alone ${alone% *}% (max ${alone#* }%), with tolk, tones and switching ${with% *}% (max ${with#* }%)"
printf '{"room":"room-ep","period":256,%s,"dsp_load_alone":%s,"dsp_load_alone_max":%s,"dsp_load_with_tolk":%s,"dsp_load_with_tolk_max":%s}\n' \
	"${p#\"process\":\{}" "${alone% *}" "${alone#* }" "${with% *}" "${with#* }" | sed 's/},"dsp/,"dsp/' >"$J/process.jsonl"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$TOLK_PID/status")
ready=$(grep -o 'ready in [0-9]* ms' "$TMP/tolk.log" | tail -1 | grep -o '[0-9]*')
rs=$(ctl --json record status)
rings=$(awk -v s="$(num "$rs" ring_seconds)" -v c=25 'BEGIN{printf "%.0f", s * 48000 * 4 * c / 1024}')
echo
echo "== Memory and start-up (room-ep, 10 s rings)"
echo "  RSS ${rss} KiB, of which recording rings ${rings} KiB (25 channels x 10 s x 48 kHz x 4 bytes); ready ${ready} ms after exec"
printf '{"room":"room-ep","rss_kib":%s,"ring_kib":%s,"ready_ms":%s}\n' "$rss" "$rings" "$ready" >"$J/memory.jsonl"
stop_pid "$TOLK_PID"
stop_pid "${PIDS[-1]}"
echo

# ---- 4. recording capacity beside jack_capture ---------------------------------------

echo "== Recording capacity: N mono channels of tones for ${REC_SECONDS} s (2 cores)"
printf '%-13s %4s %-16s %7s %6s %8s %10s  %s\n' recorder N format cpu xruns dropped high_water files
rec_row() { # rec_row RECORDER N FORMAT CPU XRUNS DROPPED HIGH FILES
	printf '%-13s %4s %-16s %6s%% %6s %8s %9ss  %s\n' "$@"
	printf '{"recorder":"%s","channels":%s,"format":"%s","cpu_percent":%s,"xruns":%s,"dropped_frames":"%s","ring_high_water_seconds":"%s","files":"%s"}\n' \
		"$@" >>"$J/recording.jsonl"
}
tolk_record() { # tolk_record N FORMATS LABEL
	local n=$1 formats=$2 label=$3 x0 x1 t0 t1 rs dir frames bad=0 f tag
	tag=$(echo "$formats" | tr -dc 'a-z')
	sed "s/formats: \[flac, opus\]/formats: [$formats]/" "test/rooms/record-$n.yaml" >"$TMP/record.yaml"
	start_tolk tolk "$SOCK" --config "$TMP/record.yaml" || { echo "tolk did not start"; return; }
	start_tones tolk:floor_main:440
	x0=$(num "$(ctl --json record status)" xruns)
	t0=$(cpu_ticks "$TOLK_PID")
	ctl record start "take$n-$tag" >/dev/null
	sleep "$REC_SECONDS"
	ctl record stop >/dev/null
	wait_for 30 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
	t1=$(cpu_ticks "$TOLK_PID")
	rs=$(ctl --json record status)
	x1=$(num "$rs" xruns)
	dir="$TMP/rec/take$n-$tag"
	frames=""
	for f in "$dir"/*.flac "$dir"/*.wav; do
		[ -e "$f" ] || continue
		frames="$frames $(soxi -s "$f" 2>/dev/null || echo bad)"
	done
	for f in "$dir"/*.opus; do
		[ -e "$f" ] || continue
		opusinfo "$f" >/dev/null 2>&1 || bad=$((bad + 1))
	done
	frames=$(echo "$frames" | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
	case "$frames" in
	*bad*) bad=$((bad + 1)) ;;
	esac
	rec_row tolk "$n" "$label" "$(awk -v a="$t0" -v b="$t1" -v s="$REC_SECONDS" -v hz="$HZ" 'BEGIN{printf "%.0f", 100 * (b - a) / hz / s}')" \
		"$((x1 - x0))" "$(num "$rs" dropped_frames)" "$(num "$rs" ring_high_water_seconds)" \
		"$(ls "$dir" | grep -c '\.\(wav\|flac\|opus\)$') valid, $bad bad, frames ${frames% }"
	echo "$n $((x1 - x0)) $(num "$rs" dropped_frames) $(num "$rs" ring_high_water_seconds)" >>"$TMP/tolk-$tag.txt"
}
# jack_capture_cpu FILE FORMAT N PORT...: records N ports for REC_SECONDS;
# prints its CPU time as a share of one core
jack_capture_cpu() {
	local file=$1 format=$2 n=$3 port ports=()
	shift 3
	for port in "$@"; do ports+=(-p "$port"); done
	JACK_DEFAULT_SERVER=$SERVER /usr/bin/time -f '%U %S' jack_capture -f "$format" -c "$n" "${ports[@]}" \
		-d "$REC_SECONDS" --daemon "$file" 2>&1 >/dev/null | tail -1 |
		awk -v s="$REC_SECONDS" '{printf "%.0f", 100 * ($1 + $2) / s}'
}
jack_capture_record() { # jack_capture_record N FORMAT LABEL (tolk running)
	local n=$1 format=$2 label=$3 x0 x1 cpu file
	file="$TMP/jc-$n.$format"
	x0=$(num "$(ctl --json record status)" xruns)
	cpu=$(jack_capture_cpu "$file" "$format" "$n" 'tolk:out_*')
	x1=$(num "$(ctl --json record status)" xruns)
	rec_row jack_capture "$n" "$label" "$cpu" "$((x1 - x0))" "-" "-" \
		"$(soxi "$file" >/dev/null 2>&1 && echo "1 valid, $(soxi -c "$file") channels, frames $(soxi -s "$file")" || echo "not readable")"
}
for n in $REC_CHANNELS; do
	tolk_record "$n" "flac, opus" "FLAC + Opus"
	stop_pid "$TOLK_PID"
	tolk_record "$n" "wav" "WAV"
	jack_capture_record "$n" wav "WAV (one file)"
	jack_capture_record "$n" ogg "Ogg Vorbis"
	stop_pid "$TOLK_PID"
done
# Held means sustainably: a backlog above a second after one minute is
# growing, and would fill the ring within the hour.
held=$(awk '$1 == 128 {print ($2 == 0 && $3 == 0 && $4 < 1.0) ? 1 : 0}' "$TMP/tolk-flacopus.txt" 2>/dev/null)
target "128 channels FLAC + Opus, no dropped frame, no xrun, no growing backlog" "${held:-0}" \
	"$(awk '$1 == 128 {print $2 " xruns, " $3 " dropped, ring high water " $4 " s"}' "$TMP/tolk-flacopus.txt" 2>/dev/null || echo "128 not run")"

# ---- 6. a real large room: 127 channels with every console live ------------------------

# thread_ticks PID: "role ticks" per thread, the roles README's thread table names
thread_ticks() {
	local t comm
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		case "$comm" in
		tolk-rt) comm="process" ;;
		tolk-opus-*) comm="encoders" ;;
		tolk-disk) comm="disk" ;;
		tolk-loudness) comm="loudness" ;;
		tolk-preroll) comm="preroll" ;;
		tolk) comm="control" ;;
		tolk-jack) comm="jack-notify" ;;
		esac
		echo "$comm $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"
	done | awk '{s[$1] += $2} END {for (k in s) print k, s[k]}' | sort
}
echo
echo "== Recording capacity in a real large room: record-127-live for ${REC_SECONDS} s, FLAC + Opus (2 cores)"
echo "   the floor, 42 languages, 42 booths of 2 consoles with console 1 live, a different tone on every"
echo "   input, 84 phones feeds through the hearing limiter; 127 recorded channels"
live_room=test/rooms/record-127-live.yaml
if [ -n "${BENCH_LIVE_COMPLEXITY:-}" ]; then # another Opus complexity than the default
	sed "s/buffer_seconds: 10 }/buffer_seconds: 10, opus_complexity: $BENCH_LIVE_COMPLEXITY }/" "$live_room" >"$TMP/live.yaml"
	live_room=$TMP/live.yaml
fi
echo "   Opus complexity ${BENCH_LIVE_COMPLEXITY:-(the default)}"
start_tolk tolk "$SOCK" --config "$live_room" || { echo "tolk did not start: $(tail -3 "$TMP/tolk.log")"; }
live_tones="tolk:floor_main:440"
for k in $(seq 1 42); do
	b=$(printf 'b%02d' "$k")
	live_tones="$live_tones tolk:mic_${b}_1:$((300 + 12 * k)):0.3 tolk:mic_${b}_2:$((306 + 12 * k)):0.3"
done
# shellcheck disable=SC2086
$B/test/tonegen -s "$SERVER" -n tones127 $live_tones >"$TMP/tones127.out" 2>&1 &
PIDS+=("$!")
wait_for 10 grep -q ready "$TMP/tones127.out"
for k in $(seq 1 42); do ctl mic "$(printf 'b%02d' "$k")" 1 on >/dev/null; done
sleep 1
st0=$(ctl --json status)
x0=$(num "$(ctl --json record status)" xruns)
thread_ticks "$TOLK_PID" >"$TMP/ticks0"
busy0=$(head -1 /proc/stat)
ctl record start live127 >/dev/null
sleep "$REC_SECONDS"
busy1=$(head -1 /proc/stat)
rs=$(ctl --json record status)
backlog=$(num "$rs" backlog_seconds)
t_stop=$(date +%s.%N)
finishing=$(ctl --json record stop | grep -o '"finishing":[0-9.]*' | cut -d: -f2)
wait_for 120 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
final_s=$(awk -v a="$t_stop" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
thread_ticks "$TOLK_PID" >"$TMP/ticks1"
rs=$(ctl --json record status)
st1=$(ctl --json status)
x1=$(num "$rs" xruns)
live_xruns=$((x1 - x0))
over=$(($(num "$(echo "$st1" | grep -o '"process":{[^}]*}')" overruns) - $(num "$(echo "$st0" | grep -o '"process":{[^}]*}')" overruns)))
dropped=$(num "$rs" dropped_frames)
dir="$TMP/rec/live127"
flac_frames=$(for f in "$dir"/*.flac; do soxi -s "$f" 2>/dev/null || echo bad; done | sort -u | tr '\n' ' ')
# Glitches: a step in a file's sine. The timeline says at which JACK frame
# JACK told of each xrun (a few periods after it: up to 2300 frames here);
# a glitch up to 16 periods before one is JACK's (a period lost, or a
# source client cut short), any other is the recorder's own.
glitched=0
: >"$TMP/glitches"
for f in "$dir"/*.flac; do
	g=$($B/test/filetone --smooth 0.05 "$f")
	[ "$(echo "$g" | cut -d' ' -f2)" = 0 ] && continue
	glitched=$((glitched + 1))
	for at in $(echo "$g" | cut -d' ' -f3-); do echo "$at"; done >>"$TMP/glitches"
done
first=$(grep -o '"first_frame":[0-9]*' "$dir/manifest.jsonl" | head -1 | cut -d: -f2)
grep '"event":"xrun"' "$dir/timeline.jsonl" | grep -o '"frame":[0-9]*' | cut -d: -f2 >"$TMP/xrun_at"
grep '"event":"discontinuity"' "$dir/timeline.jsonl" | sed 's/.*"at":\([0-9]*\),"jack_frames":\(-*[0-9]*\).*/\1 \2/' >"$TMP/gaps"
# moments: glitches within two periods of each other are one
sort -n "$TMP/glitches" | awk 'NR == 1 || $1 - last > 512 {print} {last = $1}' >"$TMP/moments"
moments=$(wc -l <"$TMP/moments")
gaps=$(wc -l <"$TMP/gaps")
# A moment is JACK's when the timeline has a discontinuity there (JACK's
# frame time jumped: cycles it never ran, or one frame time given twice), or an xrun was told up to 16 periods after it (a source client cut
# short leaves no gap); the JACK frame of a file position counts the gaps
# before it.
own=$(awk -v first="${first:-0}" 'FILENAME ~ /gaps$/ {ga[ng] = $1; gj[ng++] = $2; next}
	FILENAME ~ /xrun_at$/ {x[nx++] = $1; next}
	{ k = $1; jk = first + k
	  for (i = 0; i < ng; i++) { if (ga[i] - 1024 <= k && k <= ga[i] + 1024) next; if (ga[i] <= k) jk += gj[i] }
	  for (i = 0; i < nx; i++) if (jk >= x[i] - 4096 && jk <= x[i] + 512) next
	  n++ } END {print n + 0}' "$TMP/gaps" "$TMP/xrun_at" "$TMP/moments")
opus_bad=0
opus_frames=""
for f in "$dir"/*.opus; do
	opusinfo "$f" >/dev/null 2>&1 || opus_bad=$((opus_bad + 1))
	opus_frames="$opus_frames $(($(ffmpeg -v error -i "$f" -f s16le -ac 1 - 2>/dev/null | wc -c) / 2))"
done
opus_frames=$(echo "$opus_frames" | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
n_flac=$(ls "$dir"/*.flac 2>/dev/null | wc -l)
n_opus=$(ls "$dir"/*.opus 2>/dev/null | wc -l)
cpu_by_thread=$(join "$TMP/ticks0" "$TMP/ticks1" | awk -v hz="$HZ" -v s="$REC_SECONDS" \
	'{printf "%s%s %.0f%%", sep, $1, 100 * ($3 - $2) / hz / s; sep=", "}')
printf '  tolk:         %s FLAC + %s Opus files; FLAC frames %s; Opus frames (ffmpeg) %s; %s Opus refused by opusinfo\n' \
	"$n_flac" "$n_opus" "${flac_frames% }" "${opus_frames% }" "$opus_bad"
printf '                final %s s after record stop (it said finishing %s s; backlog at stop %s s), %s dropped frames,\n' \
	"$final_s" "${finishing:-?}" "${backlog:-?}" "${dropped:-?}"
printf '                %s FLAC files with a glitch, at %s moments; %s of them at no discontinuity or xrun in the timeline (the recorder'"'"'s own);\n' \
	"$glitched" "$moments" "$own"
printf '                the timeline: %s discontinuities of JACK'"'"'s frame time\n' "$gaps"
printf '                %s tolk overruns (CPU clock), %s xruns\n' "$over" "$live_xruns"
# The whole machine, every process: what is left is the headroom.
machine=$(printf '%s\n%s\n' "$busy0" "$busy1" | awk '{idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i}
	NR == 1 {i0 = idle; t0 = total} NR == 2 {printf "%.0f", 100 * (1 - (idle - i0) / (total - t0))}')
echo "                CPU by thread (share of one core): $cpu_by_thread"
echo "                the machine (every process, $(nproc) cores): ${machine}% busy, $((100 - machine))% headroom"
printf '{"recorder":"tolk","room":"record-127-live","seconds":%s,"final_after_stop_s":%s,"backlog_at_stop_s":%s,"dropped_frames":%s,"flac_glitched":%s,"glitch_moments":%s,"glitches_own":%s,"overruns":%s,"xruns":%s,"flac":%s,"opus":%s,"opus_refused":%s,"cpu_by_thread":"%s","machine_busy_percent":%s}\n' \
	"$REC_SECONDS" "$final_s" "${backlog:-null}" "${dropped:-null}" "$glitched" "$moments" "$own" "$over" "$live_xruns" "$n_flac" "$n_opus" "$opus_bad" \
	"$cpu_by_thread" "$machine" >>"$J/live127.jsonl"
# The peer: jack_capture records the same 127 signals (the distribution
# outputs and the tones feeding the mics) into one WAV; FLAC holds at most
# 8 channels, so it cannot take them.
live_ports="tolk:out_floor"
for k in $(seq 1 42); do live_ports="$live_ports tolk:out_$(printf 'l%02d' "$k")"; done
for k in $(seq 2 85); do live_ports="$live_ports tones127:tone$k"; done
x0=$(num "$(ctl --json record status)" xruns)
# shellcheck disable=SC2086
jc_cpu=$(jack_capture_cpu "$TMP/jc-127-live.wav" wav 127 $live_ports)
x1=$(num "$(ctl --json record status)" xruns)
echo "  jack_capture: 1 WAV of $(soxi -c "$TMP/jc-127-live.wav" 2>/dev/null || echo '?') channels, frames $(soxi -s "$TMP/jc-127-live.wav" 2>/dev/null || echo unreadable), CPU ${jc_cpu}% of one core, $((x1 - x0)) xruns (tolk running beside it, not recording)"
printf '{"recorder":"jack_capture","room":"record-127-live","format":"wav","cpu_percent":%s,"xruns":%s}\n' \
	"${jc_cpu:-null}" "$((x1 - x0))" >>"$J/live127.jsonl"
stop_pid "$TOLK_PID"
live_ok=$(awk -v f="$final_s" -v d="${dropped:-1}" -v g="$glitched" -v o="$over" -v b="$opus_bad" \
	'BEGIN{print (f <= 2 && d == 0 && g == 0 && o == 0 && b == 0) ? 1 : 0}')
[ "$(echo "$flac_frames" | wc -w)" = 1 ] || live_ok=0
target "record-127-live: final within 2 s of stop, no dropped frame, no glitch, no overrun, every file valid and one length" \
	"$live_ok" "final ${final_s} s, ${dropped:-?} dropped, $glitched glitched at $moments moments ($own the recorder's own, the rest JACK's $live_xruns xruns), $over overruns, FLAC frames ${flac_frames% }"
own_ok=$(awk -v f="$final_s" -v d="${dropped:-1}" -v g="$own" -v o="$over" -v b="$opus_bad" \
	'BEGIN{print (f <= 2 && d == 0 && g == 0 && o == 0 && b == 0) ? 1 : 0}')
[ "$(echo "$flac_frames" | wc -w)" = 1 ] || own_ok=0
target "record-127-live, the recorder's part: final within 2 s, no dropped frame, no glitch of its own, no overrun, files valid and one length" \
	"$own_ok" "final ${final_s} s, ${dropped:-?} dropped, $own glitches of its own, $over overruns"

# ---- 7. Opus encoder speed: ours against libopusenc, one channel --------------------

echo
echo "== Opus encoding speed, one channel of speech-like signal, 60 s, 32 kb/s (thread CPU time)"
for cx in 3 5 8; do
	echo "  complexity $cx:"
	$B/bench/opus_speed -s 60 -c "$cx" 3>>"$J/opus.jsonl"
done
ours=$(grep '"encoder":"tolk"' "$J/opus.jsonl" | grep '"complexity":3' | grep -o '"realtime_x":[0-9.]*' | cut -d: -f2)
theirs=$(grep '"encoder":"libopusenc"' "$J/opus.jsonl" | grep '"complexity":3' | grep -o '"realtime_x":[0-9.]*' | cut -d: -f2)
target "Opus per channel >= 1.5x libopusenc's speed (complexity 3)" \
	"$(awk -v a="$ours" -v b="$theirs" 'BEGIN{print ((b > 0 && a / b >= 1.5) ? 1 : 0)}')" \
	"$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.0fx against %.0fx: %.2f times", a, b, (b > 0 ? a / b : 0)}')"

# ---- 8. room to ear: RTP through Janus, beside Icecast ------------------------------

echo
echo "== Room to ear: fr/1's mic switched on, the tone found in chromium (WebAudio), ten times"
bash bench/listen_delay.sh "$J/listen.jsonl"

# ---- build/bench.json -----------------------------------------------------------------

list() { [ -s "$1" ] && paste -sd, "$1" || true; }
{
	printf '{"tolk":"%s","cores":%s,"rate":48000,"record_seconds":%s,' "$(build/tolk --version | cut -d' ' -f2)" "$(nproc)" "$REC_SECONDS"
	printf '"routing":[%s],"latency":[%s],"process":%s,"memory":%s,"recording":[%s],"live127":[%s],"opus":[%s],"listen":[%s],"targets":[%s]}\n' \
		"$(list "$J/routing.jsonl")" "$(list "$J/latency.jsonl")" "$(cat "$J/process.jsonl" 2>/dev/null || echo null)" \
		"$(cat "$J/memory.jsonl" 2>/dev/null || echo null)" "$(list "$J/recording.jsonl")" "$(list "$J/live127.jsonl")" \
		"$(list "$J/opus.jsonl")" "$(list "$J/listen.jsonl")" "$(list "$J/targets.jsonl")"
} >build/bench.json
echo
echo "Written: build/bench.json"
