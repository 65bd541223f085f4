#!/bin/bash
# JACK MIDI control surfaces on a real JACK server: a test client plays a
# console's buttons (notes and a controller) into midi_in_fr_1 and reads
# its LEDs back from midi_out_fr_1; every press goes through the command
# path and its audit.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
console() { ctl --json status | grep -o '"consoles":\[{"n":1[^]]*' | grep -o "\"$1\":[^,]*" | head -1 | cut -d: -f2; }
play() { $B/test/midi_client "$SERVER" tolk:midi_in_fr_1 tolk:midi_out_fr_1 "$@"; }

start_jackd
start_tolk tolk "$SOCK" --config test/integration/midi_room.yaml || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }

check_true "a console with MIDI has its ports" "" play +100
check_true "a console without has none" "" sh -c "! $B/test/midi_client '$SERVER' tolk:midi_in_fr_2 tolk:midi_out_fr_2 +10 2>/dev/null"

out=$(play +100 90,3c,7f +300)
check "note 60 puts the mic live" "true" "$(console mic)"
check_true "and its LED comes back on midi_out_fr_1 (note 60, velocity 127)" "$out" grep -q "rx 90 3c 7f" <<<"$out"

out=$(play +100 90,3d,7f +300)
check "note 61 held mutes (cough)" "true" "$(console mute)"
check_true "its LED lights" "$out" grep -q "rx 90 3d 7f" <<<"$out"
out=$(play +100 80,3d,00 +300)
check "note-off releases it" "false" "$(console mute)"
check_true "and the LED goes out" "$out" grep -q "rx 90 3d 00" <<<"$out"

out=$(play +100 90,3f,7f +300)
check "note 63 selects output B" "B" "$(console output | tr -d '"')"
check_true "B's LED lights, A's goes out" "$out" sh -c "echo '$out' | grep -q 'rx 90 3f 7f' && echo '$out' | grep -q 'rx 90 3e 00'"
play +100 90,3e,7f +200 >/dev/null

play +100 b0,07,40 +300 >/dev/null
check "CC 7 sets the volume across -60..0 dB (64: -29.8 dB)" "-29.8" "$(console volume_db)"

play +100 90,3c,7f +300 >/dev/null
check "note 60 again takes the mic off" "false" "$(console mic)"

play +100 90,44,7f +300 >/dev/null
check_true "note 68: a technical problem, a draft incident for fr/1" "$(ctl --json incidents | head -c 300)" \
	wait_for 3 sh -c "$B/tolkctl --control '$SOCK' --json incidents |
		grep -q '\"actor\":{\"midi\":\"fr/1\"},\"opened_by\":\"console\",\"draft\":true'"

AUDIT="$TMP/rec/audit.jsonl"
check "the audit names the MIDI console" "yes" \
	"$(grep -q '"via":"midi","actor":{"midi":"fr/1"},"command":"mic fr 1 on","result":"ok"' "$AUDIT" && echo yes)"
check "a press a rule refuses (output C: the booth has A and B) is audited as refused" "yes" \
	"$(play +100 90,40,7f +300 >/dev/null
	   grep -q '"via":"midi","actor":{"midi":"fr/1"},"command":"output fr 1 C","result":"refused"' "$AUDIT" && echo yes)"
finish
