#!/bin/bash
# make bench: Tolk's performance, measured side by side in one run on this
# machine and printed as figures and ratios. Nothing here passes or fails:
# a target that is missed is said plainly. Writes build/bench.json too.
#   BENCH_RECORD_SECONDS  length of each recording run (default 60)
#   BENCH_RECORD_CHANNELS channel counts to record (default "32 64 128")
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
start_tolk tolk "$SOCK" --config test/rooms/room-ep.yaml --no-record ||
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
	start_tolk tolk "$SOCK" --config "$TMP/record.yaml" --no-record || { echo "tolk did not start"; return; }
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
jack_capture_record() { # jack_capture_record N FORMAT LABEL (tolk running)
	local n=$1 format=$2 label=$3 x0 x1 cpu file
	file="$TMP/jc-$n.$format"
	x0=$(num "$(ctl --json record status)" xruns)
	cpu=$(JACK_DEFAULT_SERVER=$SERVER /usr/bin/time -f '%U %S' jack_capture -f "$format" -c "$n" -p 'tolk:out_*' \
		-d "$REC_SECONDS" --daemon "$file" 2>&1 >/dev/null | tail -1 |
		awk -v s="$REC_SECONDS" '{printf "%.0f", 100 * ($1 + $2) / s}')
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

# ---- build/bench.json -----------------------------------------------------------------

list() { [ -s "$1" ] && paste -sd, "$1" || true; }
{
	printf '{"tolk":"%s","cores":%s,"rate":48000,"record_seconds":%s,' "$(build/tolk --version | cut -d' ' -f2)" "$(nproc)" "$REC_SECONDS"
	printf '"routing":[%s],"latency":[%s],"process":%s,"memory":%s,"recording":[%s],"targets":[%s]}\n' \
		"$(list "$J/routing.jsonl")" "$(list "$J/latency.jsonl")" "$(cat "$J/process.jsonl" 2>/dev/null || echo null)" \
		"$(cat "$J/memory.jsonl" 2>/dev/null || echo null)" "$(list "$J/recording.jsonl")" "$(list "$J/targets.jsonl")"
} >build/bench.json
echo
echo "Written: build/bench.json"
