#!/bin/bash
# Incident reports on a real jackd: fr/1 speaks a 600 Hz tone into fr and
# falls silent (live-silent is raised); a technician files an incident
# without naming a channel, so it takes the channel with the alarm. Its
# folder is checked when complete: the files and their modes, the FLAC
# clip (flac -t, soxi) with the tone where it was and the silence after,
# report.md naming the alarm, the audit and the timeline. Then: an alarm
# listed in incidents.auto opens one by itself, a console's "problem"
# files a draft, the site's hook runs with the folder and its exit status
# and output reach the log, `incidents` and `incident <id>` show them,
# bad words are refused with the reason, the web page's command path
# files one, and a --no-record run files one without audio.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600
PRE=8
POST=3
PORT=$((19300 + RANDOM % 300))
TECH=tech-$RANDOM-$RANDOM-token
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
cat >"$TMP/hook.sh" <<EOF
#!/bin/sh
echo "ticket for \$1 (\$TOLK_INCIDENT_ID, \$TOLK_INCIDENT_SEVERITY, room \$TOLK_INCIDENT_ROOM, notify=<\${NOTIFY_SOCKET:-}>)"
ls "\$1" >"$TMP/hook.ls"
exit 3
EOF
chmod +x "$TMP/hook.sh"
{
	room_two_languages itest-incident
	cat <<EOF
recording: { formats: [flac], autostart: true }
alarms: { live_silent_db: -50, live_silent_seconds: 1, floor_silent_db: -50, floor_silent_seconds: 1, clear_seconds: 0.5 }
incidents: { pre_seconds: $PRE, post_seconds: $POST, auto: [floor-silent], command: "$TMP/hook.sh" }
web: { listen: "127.0.0.1:$PORT", tokens: { technician: "$TECH" } }
EOF
} >"$TMP/council.yaml"
# field JSON KEY: a string or number member's value
field() { grep -o "\"$2\":\"\?[^\",}]*" <<<"$1" | head -1 | sed 's/.*:"\?//'; }
complete() { grep -q '"state":"complete"' "$1/incident.json" 2>/dev/null; }
# part FILE FROM SECONDS: the tone in that stretch of the file
part() {
	sox "$1" "$TMP/part.wav" trim "$2" "$3" 2>/dev/null && $B/test/filetone -f "$FREQS" "$TMP/part.wav" | cut -d' ' -f2
}

start_jackd
# A NOTIFY_SOCKET nobody listens on: the hook must not inherit it.
NOTIFY_SOCKET="$TMP/nobody.sock" start_tolk tolk "$SOCK" --config "$TMP/council.yaml" ||
	{ fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440
$B/test/tonegen -s "$SERVER" -n frmic tolk:mic_fr_1:600 >"$TMP/frmic.out" 2>&1 &
FRMIC=$!
PIDS+=("$FRMIC")
wait_for 10 grep -q ready "$TMP/frmic.out"
ctl mic fr 1 on >/dev/null
sleep $((PRE + 1)) # the pre-roll fills
stop_pid "$FRMIC"
silent_at=$(date +%s%3N)
check_true "live-silent fr is raised when fr/1 falls silent" "$(ctl --json status | grep -o '"alarms":[^]]*]')" \
	wait_for 5 sh -c "$B/tolkctl --control '$SOCK' --json status | grep -q '\"kind\":\"live-silent\",\"subject\":\"fr\"'"
sleep 1
reported_at=$(date +%s%3N)
R=$(ctl --json incident fr is silent, the delegates hear nothing --severity high)
ID=$(field "$R" id)
DIR=$(field "$R" folder)
check_true "incident answers at once with its id, folder and the alarm's channel" "$R" \
	sh -c "echo '$R' | grep -q '\"ok\":true' && echo '$R' | grep -q '\"channels\":\[\"fr\"\]' &&
		echo '$R' | grep -q '\"state\":\"collecting\"' && test -d '$DIR'"
check_true "the id is YYYYMMDD-NN and the folder <log-dir>/incidents/<UTC stamp>-<id>" "$ID $DIR" \
	sh -c "echo '$ID' | grep -qx '[0-9]\{8\}-[0-9][0-9]' && echo '$DIR' | grep -qx '$TMP/rec/incidents/[0-9]\{8\}T[0-9]\{6\}Z-$ID'"
check_true "the folder is complete after post_seconds" "$(ls "$DIR")" wait_for $((POST + 10)) complete "$DIR"
for f in incident.json report.md status.json events.json audit.jsonl timeline.jsonl audio/fr.flac; do
	check_true "the folder holds $f" "$(ls -R "$DIR")" test -s "$DIR/$f"
done
check "folders are 0750" "750 750" "$(stat -c %a "$DIR") $(stat -c %a "$DIR/audio")"
check "files are 0640" "640" "$(find "$DIR" -type f -printf '%m\n' | sort -u | tr '\n' ' ' | sed 's/ $//')"
J=$(cat "$DIR/incident.json")
check_true "incident.json: id, actor, severity, text, room, meeting, version, the config's SHA-256" "$J" \
	sh -c "echo '$J' | grep -q '\"id\":\"$ID\"' && echo '$J' | grep -q '\"actor\":{\"uid\":$(id -u)' &&
		echo '$J' | grep -q '\"severity\":\"high\"' && echo '$J' | grep -q '\"text\":\"fr is silent, the delegates hear nothing\"' &&
		echo '$J' | grep -q '\"room\":\"council\"' && echo '$J' | grep -q '\"meeting\":\"itest-incident\"' &&
		echo '$J' | grep -q '\"version\":\"$($B/tolk --version | awk '{print $NF}')\"' &&
		echo '$J' | grep -q '\"sha256\":\"$(sha256sum "$TMP/council.yaml" | cut -d' ' -f1)\"'"
check_true "incident.json: JACK's server, rate and period, the process times, the alarm" "$J" \
	sh -c "echo '$J' | grep -q '\"jack\":{\"server\":\"$SERVER\",\"up\":true,\"sample_rate\":48000,\"period_frames\":256' &&
		echo '$J' | grep -q '\"process\":{\"cycles\":' && echo '$J' | grep -q '\"kind\":\"live-silent\",\"subject\":\"fr\"'"
check_true "status.json holds status, record status and meters at the report" "$(head -c 300 "$DIR/status.json")" \
	sh -c "grep -q '^{\"status\":{\"ok\":true' '$DIR/status.json' && grep -q '\"record\":{\"ok\":true' '$DIR/status.json' &&
		grep -q '\"meters\":{\"ok\":true' '$DIR/status.json'"
check_true "events.json has the alarm and the incident" "$(head -c 400 "$DIR/events.json")" \
	sh -c "grep -q 'alarm live-silent fr' '$DIR/events.json' && grep -q 'incident $ID' '$DIR/events.json'"
check_true "audit.jsonl: the incident command, by its actor" "$(tail -2 "$DIR/audit.jsonl")" \
	grep -q '"command":"incident fr is silent' "$DIR/audit.jsonl"
check_true "timeline.jsonl: the mic, the alarm and the incident" "$(grep -c . "$DIR/timeline.jsonl") lines" \
	sh -c "grep -q '\"event\":\"alarm\",\"kind\":\"live-silent\"' '$DIR/timeline.jsonl' &&
		grep -q '\"event\":\"incident\",\"id\":\"$ID\"' '$DIR/timeline.jsonl'"
check_true "the recording's own timeline has the incident (the archive shows it)" "" \
	sh -c "grep -q '\"event\":\"incident\",\"id\":\"$ID\"' '$TMP'/rec/itest-incident/timeline.jsonl"
check_true "report.md names the alarm, the channel and what was done" "$(cat "$DIR/report.md")" \
	sh -c "grep -q '^# Incident $ID: fr is silent' '$DIR/report.md' && grep -q 'live-silent fr\*\* since' '$DIR/report.md' &&
		grep -q 'fr/1 is live but below -50 dBFS' '$DIR/report.md' && grep -q 'mic fr/1 on\|fr/1.*live' '$DIR/report.md' &&
		grep -q 'audio/fr.flac.: $((PRE + POST)).0 s, the report at $PRE.0 s' '$DIR/report.md'"
flac -t -s "$DIR/audio/fr.flac" 2>"$TMP/flac.err"
check_true "flac -t: the clip decodes" "$(cat "$TMP/flac.err")" test $? -eq 0
check "soxi: 48 kHz, mono, pre + post seconds" "48000 1 $((PRE + POST))" \
	"$(soxi -r "$DIR/audio/fr.flac") $(soxi -c "$DIR/audio/fr.flac") $(soxi -D "$DIR/audio/fr.flac" | cut -d. -f1)"
# The tone stopped (reported_at - silent_at) ms before the report, which
# is PRE s into the clip.
gap=$(awk -v a="$silent_at" -v b="$reported_at" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
tone_end=$(awk -v p=$PRE -v g="$gap" 'BEGIN { printf "%.2f", p - g }')
check "the clip: fr/1's 600 Hz before it fell silent" 600 "$(part "$DIR/audio/fr.flac" 0.5 "$(awk -v t="$tone_end" 'BEGIN { printf "%.2f", t - 1.0 }')")"
check "the clip: silence from then on, through the report and after" silence \
	"$(part "$DIR/audio/fr.flac" "$(awk -v t="$tone_end" 'BEGIN { printf "%.2f", t + 0.4 }')" "=$((PRE + POST))")"
check_true "the hook ran with the folder; its output and exit status are in the log" "$(grep "incident $ID" "$TMP/tolk.log")" \
	sh -c "grep -qF 'incident $ID: $TMP/hook.sh says: ticket for $DIR ($ID, high, room council, notify=<>)' '$TMP/tolk.log' &&
		grep -q 'incident $ID complete: .*incidents.command: exit 3' '$TMP/tolk.log' && grep -q report.md '$TMP/hook.ls'"

# incidents.auto: the floor falls silent.
pkill -f "tonegen -s $SERVER -n tones" 2>/dev/null
check_true "floor-silent (in incidents.auto) opens an incident by itself" "$(ctl --json incidents | head -c 300)" \
	wait_for 8 sh -c "$B/tolkctl --control '$SOCK' --json incidents | grep -q '\"opened_by\":\"alarm\",\"draft\":false,\"severity\":\"high\",\"text\":\"alarm floor-silent'"
check_true "the automatic incident is audited, via alarm" "$(tail -3 "$TMP/rec/audit.jsonl")" \
	grep -q '"via":"alarm","actor":{"alarm":"floor-silent"},"command":"incident (incidents.auto)"' "$TMP/rec/audit.jsonl"

# A console's technical problem: a signal and a draft.
P=$(ctl --json problem fr 2)
check_true "problem fr 2: a draft incident with the console's channel" "$P" \
	sh -c "echo '$P' | grep -q '\"draft\":true' && echo '$P' | grep -q '\"channels\":\[\"fr\"'"
check_true "problem fr 2: a signal the control room sees" "" \
	sh -c "$B/tolkctl --control '$SOCK' --json events | grep -q 'problem: fr/2 reports a technical problem'"

# The web page's command path (its Report button posts this).
W=$(curl -s -H "Authorization: Bearer $TECH" --data 'incident clicks on en --channel en --severity low' \
	"http://127.0.0.1:$PORT/api/command")
check_true "the web page files one, audited with its token's role" "$W" \
	sh -c "echo '$W' | grep -q '\"channels\":\[\"en\"\]' && grep -q '\"via\":\"web\",\"actor\":{\"token\":\"technician\".*\"command\":\"incident clicks on en' '$TMP/rec/audit.jsonl'"

L=$(ctl --json incidents)
check "incidents lists all four, oldest first" 4 "$(grep -o '"id":"[0-9-]*"' <<<"$L" | wc -l)"
check "incidents: the first is ours" "$ID" "$(grep -o '"id":"[0-9-]*"' <<<"$L" | head -1 | cut -d'"' -f4)"
S=$(ctl --json incident "$ID")
check_true "incident <id> shows that one, with its folder" "$(head -c 200 <<<"$S")" \
	sh -c "echo '$S' | grep -q '\"incident\":{\"id\":\"$ID\"' && echo '$S' | grep -q '\"folder\":\"$DIR\"'"
check "incident <unknown id>: a clear error" "incident: no incident '19990101-01' (incidents lists them)" \
	"$(ctl --json incident 19990101-01 | grep -o '"error":"[^"]*' | cut -d'"' -f4)"
check "a bad severity is refused with the reason" "incident: severity 'urgent' is not low, medium or high" \
	"$(ctl --json incident x --severity urgent | grep -o '"error":"[^"]*' | cut -d'"' -f4)"
check "an unknown channel is refused with the reason" \
	"incident: 'xx' is not a channel of this room (floor or a language code)" \
	"$(ctl --json incident x --channel xx | grep -o '"error":"[^"]*' | cut -d'"' -f4)"
check "no text: the usage" "usage: incident <what happened> [--severity low|medium|high] [--channel <code>]... | incident <id>" \
	"$(ctl --json incident --severity low | grep -o '"error":"[^"]*' | cut -d'"' -f4)"
check_true "a refused incident made no folder" "$(ls "$TMP/rec/incidents")" \
	test "$(ls "$TMP/rec/incidents" | wc -l)" -eq 4
check_true "the engine still runs" "" kill -0 "$TOLK_PID"
stop_pid "$TOLK_PID"
check_true "every folder was complete at the stop" "$(grep -L complete "$TMP"/rec/incidents/*/incident.json)" \
	sh -c "! grep -L '\"state\":\"complete\"' '$TMP'/rec/incidents/*/incident.json | grep -q ."

# --no-record: an incident, and no audio (an incident's clip is a recording).
start_tolk tolk2 "$TMP/n.sock" --config "$TMP/council.yaml" --no-record --log-dir "$TMP/nolog" ||
	{ fail "tolk --no-record starts" "$(cat "$TMP/tolk2.log")"; finish; }
N=$($B/tolkctl --control "$TMP/n.sock" --json incident test under no-record)
NDIR=$(field "$N" folder)
check_true "--no-record: the incident is filed under the log dir" "$N" \
	sh -c "echo '$NDIR' | grep -q '^$TMP/nolog/incidents/'"
check_true "--no-record: complete, without audio, saying why" "$(cat "$NDIR/incident.json" 2>/dev/null)" \
	sh -c "$(declare -f complete); wait_for() { :; }; for i in \$(seq 100); do complete '$NDIR' && break; sleep 0.1; done;
		complete '$NDIR' && test ! -e '$NDIR/audio' &&
		grep -q '\"no_audio\":\"recording is disabled for this run (--no-record)\"' '$NDIR/incident.json'"
check_true "--no-record: nothing under the recordings folder" "$(ls "$TMP/rec" | grep -v '^itest-incident$\|^audit\|^exposure\|^incidents$')" \
	sh -c "! ls '$TMP/rec' | grep -qv '^itest-incident$\|^audit.jsonl$\|^exposure.jsonl$\|^incidents$' && test \$(ls '$TMP/rec/incidents' | wc -l) -eq 4"
finish
