#!/bin/bash
# Live reload on a real JACK server: languages, booths and consoles added
# and removed, idle policy, inserts and recorded channels changed while a
# continuity probe listens to channels the changes do not touch (no gap,
# no discontinuity, connections kept); a bad file refused with its
# line:col; SIGHUP; the recording going on frame for frame.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
ROOM="$TMP/room.yaml"
REC="$TMP/rec"
FREQS=440,600
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
cp test/integration/reload_room.yaml "$ROOM"
# edit FROM TO: one line of the room replaced (sed, literal-ish)
edit() { sed -i "s|$1|$2|" "$ROOM"; }
ports() { jack_lsp -s "$SERVER" | grep -c '^tolk:'; }
# pretty PORT: the port's JACK metadata pretty-name (what patchbays show)
pretty() { JACK_DEFAULT_SERVER=$SERVER jack_property --port -l "tolk:$1" http://jackaudio.org/metadata/pretty-name; }
# order PORT...: their metadata order, on one line
order() {
	local p
	for p in "$@"; do JACK_DEFAULT_SERVER=$SERVER jack_property --port -l "tolk:$p" http://jackaudio.org/metadata/order; done |
		tr '\n' ' ' | sed 's/ $//'
}
ascending() { [ "$(echo "$1" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')" = "$1" ]; }

start_jackd
start_tolk tolk "$SOCK" --config "$ROOM" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:ramp tolk:mic_fr_1:440:0.5
ctl mic fr 1 on >/dev/null
ctl record start rl >/dev/null
wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
$B/test/continuity -s "$SERVER" -n cont tolk:out_en:ramp tolk:out_floor:ramp tolk:out_fr:smooth:0.01 \
	>"$TMP/cont.out" 2>&1 &
CONT=$!
PIDS+=("$CONT")
wait_for 10 grep -q ready "$TMP/cont.out" || fail "the continuity probe starts" "$(cat "$TMP/cont.out")"
sleep 0.5

# ---- what patchbays show: JACK metadata -----------------------------------

check "pretty names: floor input, distribution channels, a booth's mic and headphones" \
	"Floor: main|Floor (distribution)|Français (distribution)|fr booth 1 mic|fr booth 2 headphones" \
	"$(pretty floor_main)|$(pretty out_floor)|$(pretty out_fr)|$(pretty mic_fr_1)|$(pretty phones_fr_2)"
check "the client's pretty name is the meeting's" "Tolk: itest-reload" \
	"$(JACK_DEFAULT_SERVER=$SERVER jack_property --client -l tolk http://jackaudio.org/metadata/pretty-name)"
o=$(order floor_main out_floor out_en out_fr out_de mic_fr_1 phones_fr_1 mic_fr_2 phones_fr_2)
check_true "metadata order: floor, languages, then the booth console by console ($o)" "$o" ascending "$o"

out=$(json reload)
check "reload with nothing changed says so" '{"ok":true,"changed":[],"note":"no change"}' "$out"

# ---- add a language and a booth ---------------------------------------------

edit "  - { code: de, name: Deutsch, idle: duck }" \
	"  - { code: de, name: Deutsch, idle: duck }\n  - { code: it, name: Italiano, idle: silence }"
edit "  - { id: fr, outputs: \[fr\], understands: \[en\], consoles: 2 }" \
	"  - { id: fr, outputs: [fr], understands: [en], consoles: 2 }\n  - { id: it, outputs: [it], understands: [en], consoles: 1 }"
out=$(json reload)
check_true "add a language and a booth: the reply says what changed" "$out" \
	sh -c "echo '$out' | grep -q '\"language it added (port out_it)\",\"booth it added (1 console(s))\"'"
check "their ports appear: out_it, mic_it_1, phones_it_1" "3" \
	"$(jack_lsp -s "$SERVER" | grep -cE '^tolk:(out_it|mic_it_1|phones_it_1)$')"
check "the new channel is in status" "silence" \
	"$(json status | grep -o '"code":"it","name":"Italiano","feed":"[a-z]*"' | cut -d'"' -f12)"
check "the new ports have their pretty names" "Italiano (distribution)|it booth 1 mic|it booth 1 headphones" \
	"$(pretty out_it)|$(pretty mic_it_1)|$(pretty phones_it_1)"
o=$(order out_de out_it mic_fr_1 phones_fr_2 mic_it_1 phones_it_1)
check_true "and their place in the order: it after de, its booth after fr's ($o)" "$o" ascending "$o"
IT_UUIDS=$(jack_lsp -s "$SERVER" -U | grep -A1 -E '^tolk:(out_it|mic_it_1|phones_it_1)$' | awk '/uuid:/ {print $2}')
sleep 0.3

# ---- consoles, idle policy, inserts ----------------------------------------

edit "understands: \[en\], consoles: 2 }" "understands: [en], consoles: 3 }"
edit "name: Deutsch, idle: duck }" "name: Deutsch, idle: silence, inserts: { outputs: [{highpass: {hz: 100}}] } }"
out=$(json reload)
check_true "consoles, idle policy and inserts: all in the reply" "$out" \
	sh -c "echo '$out' | grep -q 'booth fr: consoles 2 -> 3' && echo '$out' | grep -q 'language de: idle duck -> silence' && echo '$out' | grep -q 'inserts of out_de changed'"
check "a third fr console" "yes" "$(jack_lsp -s "$SERVER" | grep -q '^tolk:mic_fr_3$' && echo yes)"
check "the live mic stays live" "fr/1" \
	"$(json status | grep -o '"code":"fr","name":"[^"]*","feed":"[^"]*"' | cut -d'"' -f12)"
sleep 0.3

# ---- recorded channels ------------------------------------------------------

edit "channels: \[floor, en, fr, de\]" "channels: [floor, en, fr]"
out=$(json reload)
check_true "recorded channels changed: recording goes on in a new segment" "$out" \
	sh -c "echo '$out' | grep -q '\"recording\":\"new segment\"'"
sleep 0.3

# ---- remove them again --------------------------------------------------------

edit "  - { code: it, name: Italiano, idle: silence }" ""
edit "  - { id: it, outputs: \[it\], understands: \[en\], consoles: 1 }" ""
out=$(json reload)
check_true "remove a language and a booth" "$out" \
	sh -c "echo '$out' | grep -q 'language it removed' && echo '$out' | grep -q 'booth it removed'"
check "their ports are gone" "0" "$(jack_lsp -s "$SERVER" | grep -cE '^tolk:(out_it|mic_it_1|phones_it_1)$')"
all_props=$(JACK_DEFAULT_SERVER=$SERVER jack_property -l)
check_true "and their metadata with them" "uuids $IT_UUIDS; $all_props" \
	sh -c "[ \$(echo '$IT_UUIDS' | grep -c .) = 3 ] && ! echo '$all_props' | grep -qxF '$IT_UUIDS'"
sleep 0.3

# ---- a bad file is refused ------------------------------------------------------

cp "$ROOM" "$TMP/good.yaml"
edit "  language: en" "  language: en\n  bogus: [unclosed"
out=$(json reload); rc=$?
check "a bad file: refused (tolkctl exit 1)" "1" "$rc"
check_true "the refusal names file, line and column" "$out" \
	sh -c "echo '$out' | grep -Eq 'reload refused, the running configuration stays: [^\"]*room.yaml:[0-9]+:[0-9]+: '"
check "the running configuration stays" "yes" "$(jack_lsp -s "$SERVER" | grep -q '^tolk:mic_fr_3$' && echo yes)"
cp "$TMP/good.yaml" "$ROOM"

# ---- SIGHUP ---------------------------------------------------------------------

edit "name: Deutsch," "name: German,"
kill -HUP "$TOLK_PID"
check_true "SIGHUP reloads" "$(tail -3 "$TMP/tolk.log")" \
	wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json status | grep -q '\"name\":\"German\"'"
check_true "and logs what changed" "" grep -q "reload: language de: name 'Deutsch' -> 'German'" "$TMP/tolk.log"
check "patchbays see the new name" "German (distribution)" "$(pretty out_de)"
sleep 0.5

# ---- what the probe heard -------------------------------------------------------

stop_pid "$CONT"
check "the probe stayed connected to out_en, out_floor and out_fr" "3" "$(grep -c ' [0-9]* ' "$TMP/cont.out")"
check_continuity "$SOCK" "$TMP/cont.out" "no gap, no discontinuity through six reloads" 96000
check "state kept through every reload: fr/1 still live" "fr/1" \
	"$(json status | grep -o '"code":"fr","name":"[^"]*","feed":"[^"]*"' | cut -d'"' -f12)"

# ---- the recording ----------------------------------------------------------------

ctl record stop >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"
floor=$(ls "$REC"/rl/rl_floor_*.flac | sort)
check "two segments of the floor" "2" "$(echo "$floor" | grep -c .)"
# shellcheck disable=SC2086
read -r _ breaks slips < <($B/test/filetone --ramp-period 256 $floor)
check "the floor ramp runs on across the reload's segment boundary: no frame lost or doubled" "0" "$breaks"
why=$(slips_explained "$SOCK" "$slips")
check_true "the recorded ramp: any period lost or repeated was JACK's xrun ($why)" "$why" slips_explained "$SOCK" "$slips"
check "de recorded until its channel left the recording" "1" "$(ls "$REC"/rl/rl_de_*.flac | wc -l)"
check_true "tolk-verify passes" "$($B/tolk-verify "$REC/rl" 2>&1 | tail -2)" sh -c "$B/tolk-verify '$REC/rl' >/dev/null"
check_true "the audit has the reload and its changes" "" \
	sh -c "grep '\"command\":\"reload\"' '$REC/audit.jsonl' | grep -q 'booth it added'"
finish
