#!/bin/bash
# Recordings under faults: the meeting folder removed while recording
# (noticed within seconds: recording-failed, and the recording goes on in
# a new folder), a full disk (the completed files stay verifiable: the
# manifest has room kept for it), links planted in a meeting folder (never
# followed), and kill -9 (the next start mends the open segment: FLAC and
# WAV headers count every frame, the manifest lists the files).
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
REC="$TMP/rec"
ROOM=test/integration/record_room.yaml
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
rec_state() { json record status | grep -o '"state":"[a-z-]*"' | cut -d'"' -f4; }
alarm_up() { json status | grep -q "\"kind\":\"$1\""; }
decodes() { # decodes FILE...: every file read by a tool nobody here wrote
	local f
	for f in "$@"; do
		case "$f" in
		*.opus) opusinfo "$f" >/dev/null 2>&1 || { echo "undecodable: $f"; return 1; } ;;
		*) soxi -D "$f" >/dev/null 2>&1 || { echo "undecodable: $f"; return 1; } ;;
		esac
	done
}

start_jackd
start_tolk tolk "$SOCK" --config "$ROOM" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:ramp tolk:mic_fr_1:440

# ---- the meeting folder removed while recording -----------------------------------

ctl record start gone >/dev/null
wait_for 5 sh -c "test \"\$($B/tolkctl --control '$SOCK' --json record status | grep -o '\"state\":\"recording\"')\" != ''"
sleep 1
rm -rf "$REC/gone"
t0=$SECONDS
check_true "a removed folder raises recording-failed within two seconds" "$(json status | grep -o '"alarms":.*' | cut -c1-300)" \
	wait_for 2 alarm_up recording-failed
check_true "and the log says the folder went" "$(grep gone "$TMP/tolk.log" | tail -2)" \
	wait_for 2 grep -q "its folder was removed; recording on in a new one" "$TMP/tolk.log"
check_true "the recording goes on in a new folder" "$(ls "$REC/gone" 2>&1 | head -3)" \
	wait_for 3 sh -c "ls '$REC/gone'/gone_floor_*.flac >/dev/null 2>&1"
sleep 1
ctl record stop >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
check_true "what was recorded after it is verifiable" "$($B/tolk-verify "$REC/gone" 2>&1 | tail -1)" \
	sh -c "$B/tolk-verify '$REC/gone' >/dev/null"
check_true "its timeline says the recording continued" "" \
	grep -q '"event":"record-start","meeting":"gone".*"continued":true' "$REC/gone/timeline.jsonl"

# ---- links planted in a meeting folder ------------------------------------------------

mkdir -p "$REC/links"
echo "outside, not Tolk's" >"$TMP/outside.txt"
ln -s "$TMP/outside.txt" "$REC/links/.manifest.json.tmp"
ln -s "$TMP/outside.txt" "$REC/links/manifest.jsonl"
ctl record start links >/dev/null
sleep 1.5
ctl record stop >/dev/null
sleep 0.5
check "a link at manifest.jsonl or .manifest.json.tmp is never written through" "outside, not Tolk's" \
	"$(cat "$TMP/outside.txt")"
check_true "and the refusal is said (recording-failed or a manifest alarm)" "$(grep -i 'manifest' "$TMP/tolk.log" | tail -2)" \
	grep -q "cannot add .* to the manifest: Too many levels of symbolic links" "$TMP/tolk.log"
mkdir -p "$REC/links2"
ln -s "$TMP/outside.txt" "$REC/links2/timeline.jsonl"
ctl record start links2 >/dev/null
sleep 1
check "a link at timeline.jsonl: not followed, the recording fails loudly" "failed" "$(rec_state)"
check "the file outside is untouched" "outside, not Tolk's" "$(cat "$TMP/outside.txt")"
ln -s "$TMP" "$REC/linked-meeting"
ctl record start linked-meeting >/dev/null
sleep 1
check "a meeting folder that is a link: refused" "failed" "$(rec_state)"
check "nothing written where it points" "0" "$(ls "$TMP" | grep -c '^linked-meeting_')"

# ---- a full disk -----------------------------------------------------------------------

mkdir -p "$TMP/full"
if mount -t tmpfs -o size=5m tmpfs "$TMP/full" 2>/dev/null; then
	stop_pid "$TOLK_PID"
	start_tolk tolk "$SOCK" --config "$ROOM" --record-dir "$TMP/full" ||
		fail "tolk starts on the small disk" "$(tail -3 "$TMP/tolk.log")"
	ctl record start full >/dev/null
	check_true "a full disk stops the recording with an alarm" "$(rec_state)" \
		wait_for 20 sh -c "test \"\$($B/tolkctl --control '$SOCK' --json record status | grep -o '\"state\":\"[a-z]*\"' | cut -d'\"' -f4)\" = failed"
	check_true "recording-failed is raised" "" wait_for 2 alarm_up recording-failed
	check "the disk is full" "yes" "$(test "$(df --output=avail "$TMP/full" | tail -1)" -lt 200 && echo yes)"
	check_true "the manifest is there, complete" "$(ls -la "$TMP/full/full" | head -5)" \
		test -s "$TMP/full/full/manifest.json"
	check_true "tolk-verify verifies what was recorded" "$($B/tolk-verify "$TMP/full/full" 2>&1 | tail -2)" \
		sh -c "$B/tolk-verify '$TMP/full/full' >/dev/null"
	check "no reserve left behind" "0" "$(ls -a "$TMP/full/full" | grep -c reserve)"
	stop_pid "$TOLK_PID"
	umount "$TMP/full"
	start_tolk tolk "$SOCK" --config "$ROOM" || fail "tolk starts again" "$(tail -3 "$TMP/tolk.log")"
	start_tones tolk:floor_main:ramp tolk:mic_fr_1:440
else
	echo "note: tmpfs cannot be mounted here: the full-disk checks did not run"
fi

# ---- kill -9 in the middle of a segment ----------------------------------------------------

ctl record start k9 >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
sleep 3
kill -KILL "$TOLK_PID"
wait "$TOLK_PID" 2>/dev/null
check "after kill -9 the FLAC header says 0 samples (as libsndfile leaves it)" "0.000000" \
	"$(soxi -D "$REC"/k9/k9_floor_*.flac)"
check "and no file is in a manifest" "no" "$(test -s "$REC/k9/manifest.json" && echo yes || echo no)"
start_tolk tolk "$SOCK" --config "$ROOM" || fail "tolk starts after the kill" "$(tail -3 "$TMP/tolk.log")"
start_tones tolk:floor_main:ramp tolk:mic_fr_1:440
check_true "the next start mends the open segment" "$(grep recovered "$TMP/tolk.log")" \
	wait_for 10 grep -q "recovered 18 file(s) of $REC/k9 left open by an unclean stop" "$TMP/tolk.log"
flac_s=$(soxi -D "$REC"/k9/k9_floor_*.flac)
wav_s=$(soxi -D "$REC"/k9/k9_floor_*.wav)
check_true "the FLAC header now counts its frames (soxi -D)" "$flac_s s" \
	sh -c "echo '$flac_s' | awk '{exit !(\$1 > 2.5)}'"
check_true "the WAV header counts every frame written, not only up to the last refresh" "$wav_s s" \
	sh -c "echo '$wav_s' | awk '{exit !(\$1 > 2.5)}'"
check "sndfile-info agrees with soxi on the FLAC" "$(printf '%.0f' "$(echo "$flac_s * 48000" | bc)")" \
	"$(sndfile-info "$REC"/k9/k9_floor_*.flac | sed -n 's/^Frames *: *//p')"
read -r _ breaks slips < <($B/test/filetone --ramp-period 256 "$REC"/k9/k9_floor_*.flac)
check "the floor ramp in the mended FLAC runs without a break" "0" "$breaks"
# The killed tolk's xruns are in the meeting's timeline: a period the
# source lost or repeated at one of them is JACK's, not the mending's.
k9_xruns=$(grep -o '"event":"xrun","count":[0-9]*' "$REC/k9/timeline.jsonl" | awk -F: '{ n += $3 } END { print n + 0 }')
check_true "and any period lost or repeated came with an xrun in the timeline" \
	"$slips slip(s), $k9_xruns xrun(s)" test "$slips" -le $((2 * k9_xruns))
# shellcheck disable=SC2046
check_true "every mended file decodes (soxi, opusinfo)" "" decodes $(ls "$REC"/k9/*.wav "$REC"/k9/*.flac "$REC"/k9/*.opus)
check "the manifest lists all 18, marked recovered" "18" "$(grep -c '"recovered":true' "$REC/k9/manifest.json")"
tr=$(grep '"event":"segment-start"' "$REC/k9/timeline.jsonl" | head -1 | grep -o '"time_reference":[0-9]*')
check "recovered files keep their segment's time reference (from the timeline)" "18" \
	"$(grep '"recovered":true' "$REC/k9/manifest.json" | grep -c "${tr:-none},\"first_sample\":\"")"
check_true "tolk-verify passes" "$($B/tolk-verify "$REC/k9" 2>&1 | tail -1)" sh -c "$B/tolk-verify '$REC/k9' >/dev/null"
check_true "the timeline says what was recovered" "" grep -q '"event":"recovered","segment":1,"files":18' "$REC/k9/timeline.jsonl"
finish
