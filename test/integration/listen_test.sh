#!/bin/bash
# The delegates' phones through a real Janus: the test starts Debian's
# janus on loopback with README's locked-down files (contrib/janus) and
# the mountpoints `tolkctl janus-config` prints for the running room;
# Debian's chromium (playwright-core, test/web/listen_test.mjs) opens
# /listen, picks French and hears fr/1's tone through WebRTC (a WebAudio
# analyser in the page); the mic going off changes what it hears and
# what the page says; Janus restarted and the network dropped, the page
# plays again by itself. Also who may open /listen, and that Janus
# serves nothing but the Streaming plugin's mountpoints on loopback.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600
BASE=$((31000 + 8 * (RANDOM % 400)))
WEB=$((18900 + RANDOM % 500))
JPORT=$((19500 + RANDOM % 400))
TECHNICIAN="tech-$RANDOM-$RANDOM-token"
LISTENER="listen-$RANDOM-$RANDOM-token"
OBSERVER="observe-$RANDOM-$RANDOM-token"
JD="$TMP/janus"

room() {
	room_two_languages itest-listen
	cat <<YAML
recording: { formats: [flac], autostart: false }
rtp:
  destinations: [{ host: 127.0.0.1, port_base: $BASE }]
  channels: all
  janus: { url: "http://127.0.0.1:$JPORT/janus", id_base: 700, pin_file: "$TMP/listen.pin" }
web:
  listen: 127.0.0.1:$WEB
  tokens: { technician: $TECHNICIAN, observer: $OBSERVER, listener: $LISTENER }
${1:-}
YAML
}

# Janus from README's files: its folder the test's, its port and Tolk's origin.
mkdir -p "$JD"
sed -e "s|configs_folder = \"/etc/janus\"|configs_folder = \"$JD\"|" contrib/janus/janus.jcfg >"$JD/janus.jcfg"
sed -e "s|port = 8088|port = $JPORT|" -e "s|http://127.0.0.1:8080|http://127.0.0.1:$WEB|" \
	contrib/janus/janus.transport.http.jcfg >"$JD/janus.transport.http.jcfg"
cat >"$JD/restart" <<SH
#!/bin/sh
# Stops the running janus (if any) and starts another; its PID in $JD/pid.
[ -f "$JD/pid" ] && kill \$(cat "$JD/pid") 2>/dev/null && sleep 0.5
janus -F "$JD" -C "$JD/janus.jcfg" -L "$JD/janus.log" -N >/dev/null 2>&1 &
echo \$! >"$JD/pid"
for i in \$(seq 50); do curl -s -m 1 -o /dev/null -X POST -d '{"janus":"info","transaction":"t"}' http://127.0.0.1:$JPORT/janus && exit 0; sleep 0.2; done
exit 1
SH
chmod +x "$JD/restart"
trap '[ -f "$JD/pid" ] && stop_pid "$(cat "$JD/pid")"; cleanup' EXIT

PIN="pin$RANDOM$RANDOM"
printf '%s\n' "$PIN" >"$TMP/listen.pin"
chmod 0644 "$TMP/listen.pin"
room >"$TMP/room.yaml"
check "a pin file others may read stops the start (exit 2, with the reason)" \
	"2 tolk: rtp janus pin_file $TMP/listen.pin: others may read it (chmod o-rwx)" \
	"$($B/tolk --check "$TMP/room.yaml" >/dev/null 2>"$TMP/check.err"; echo "$? $(cat "$TMP/check.err")")"
chmod 0600 "$TMP/listen.pin"
start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440:0.3 tolk:mic_fr_1:600:0.3
$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null

# ---- janus-config ----
$B/tolkctl --control "$SOCK" janus-config >"$JD/janus.plugin.streaming.jcfg"
check "janus-config: one mountpoint per channel, with its language's name, port and Opus" \
	"700 Floor $BASE|701 English $((BASE + 2))|702 Français $((BASE + 4))|" \
	"$(awk '/^\tid = /{id=$3} /description = /{sub(/.*description = "/,""); sub(/"$/,""); d=$0} /port = /{printf "%s %s %s|", id, d, $3}' "$JD/janus.plugin.streaming.jcfg")"
check "each mountpoint listens on the address Tolk sends to, and has a secret" "3 3 3" \
	"$(grep -c 'iface = "127.0.0.1"' "$JD/janus.plugin.streaming.jcfg") $(grep -c 'codec = "opus"' "$JD/janus.plugin.streaming.jcfg") $(grep -c '^	secret = "[0-9a-f]\{32\}"' "$JD/janus.plugin.streaming.jcfg")"
check "an observer may not read it (it holds the secret)" "403" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'janus-config' -H "Authorization: Bearer $OBSERVER" http://127.0.0.1:$WEB/api/command)"
check "every mountpoint has the pin" "3" "$(grep -c "^	pin = \"$PIN\"" "$JD/janus.plugin.streaming.jcfg")"
check "the pin never shows in status, the log or the audit" "0" \
	"$({ $B/tolkctl --control "$SOCK" --json status; cat "$TMP/tolk.log" "$TMP/rec/audit.jsonl"; } | grep -c "$PIN")"
check "the secret never shows in status or the log" "0" \
	"$({ $B/tolkctl --control "$SOCK" --json status; cat "$TMP/tolk.log"; } | grep -c "$(grep -o '^	secret = "[0-9a-f]*' "$JD/janus.plugin.streaming.jcfg" | head -1 | cut -d'"' -f2)")"

"$JD/restart" || { fail "janus starts" "$(tail -20 "$JD/janus.log")"; finish; }
check "janus loads the three mountpoints, each bound to 127.0.0.1" "3" \
	"$(grep -c 'audio listener restricted to interface address: 127.0.0.1' "$JD/janus.log")"
check "janus loads no other plugin than streaming" "janus.plugin.streaming" \
	"$(curl -s -X POST -d '{"janus":"info","transaction":"t"}' http://127.0.0.1:$JPORT/janus | python3 -c "import json,sys; print(' '.join(sorted(json.load(sys.stdin)['plugins'])))")"
check "janus's admin API is off" "000" "$(curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:7088/admin)"
jports=$(ss -H -ltnp | grep "pid=$(cat "$JD/pid")," | awk '{print $4}' | sort | tr '\n' ' ')
check "janus listens on loopback only ($jports)" "127.0.0.1:$JPORT " "$jports"

# ---- who may open /listen ----
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "/listen without a token: 401" "401" "$(code http://127.0.0.1:$WEB/listen)"
check "/api/listen without a token: 401, and no pin" "401 0" \
	"$(code http://127.0.0.1:$WEB/api/listen) $(curl -s http://127.0.0.1:$WEB/api/listen | grep -c "$PIN")"
check "/listen with the listener token: 200" "200" "$(code -H "Authorization: Bearer $LISTENER" http://127.0.0.1:$WEB/listen)"
check "the listener token opens nothing else (/): 403" "403" "$(code -H "Authorization: Bearer $LISTENER" http://127.0.0.1:$WEB/)"
check "... nor /api/command" "403" "$(code -X POST -d 'mic fr 1 off' -H "Authorization: Bearer $LISTENER" http://127.0.0.1:$WEB/api/command)"
check "... nor /metrics" "401" "$(code -H "Authorization: Bearer $LISTENER" http://127.0.0.1:$WEB/metrics)"
check "janus.js is Debian's, served by Tolk" "$(sha256sum </usr/share/javascript/janus-gateway/janus.js)" \
	"$(curl -s -H "Authorization: Bearer $LISTENER" http://127.0.0.1:$WEB/listen/janus.js | sha256sum)"
check_true "the page loads nothing from elsewhere" "" \
	bash -c "! curl -s -H 'Authorization: Bearer $LISTENER' http://127.0.0.1:$WEB/listen | grep -Eo '(src|href)=\"[^\"]*\"' | grep -v '=\"/'"
api=$(curl -s -H "Authorization: Bearer $LISTENER" http://127.0.0.1:$WEB/api/listen)
check "/api/listen: each channel's name, mountpoint and whether an interpreter is on it" \
	"floor:Floor:700:False en:English:701:False fr:Français:702:True" \
	"$(echo "$api" | python3 -c "import json,sys; print(' '.join('%s:%s:%d:%s' % (c['code'], c['name'], c['mountpoint'], c['live']) for c in json.load(sys.stdin)['channels']))")"

# ---- Prometheus sees the streams ----
curl -s -H "Authorization: Bearer $TECHNICIAN" http://127.0.0.1:$WEB/metrics >"$TMP/metrics.txt"
check "promtool check metrics accepts /metrics with the RTP series" "" "$(promtool check metrics <"$TMP/metrics.txt" 2>&1)"
check_true "tolk_rtp_packets_total counts fr's packets to 127.0.0.1:$BASE" "$(grep '^tolk_rtp' "$TMP/metrics.txt" | head -3)" \
	awk -v want="tolk_rtp_packets_total{room=\"room\",channel=\"fr\",destination=\"127.0.0.1:$BASE\"}" '$1 == want && $2 > 10 { ok = 1 } END { exit !ok }' "$TMP/metrics.txt"
check_true "tolk_rtp_delay_median_seconds and _max_seconds give the delay" "$(grep '^tolk_rtp_delay' "$TMP/metrics.txt")" \
	test "$(grep -c '^tolk_rtp_delay_m[a-z]*_seconds{' "$TMP/metrics.txt")" -eq 2

# ---- the page, in chromium ----
BASE_URL="http://127.0.0.1:$WEB" LISTENER="$LISTENER" TECHNICIAN="$TECHNICIAN" SOCK="$SOCK" B="$(pwd)/$B" RESTART="$JD/restart" \
	node test/web/listen_test.mjs >"$TMP/listen.out" 2>&1
rc=$?
grep -v '^\[  PASSED\|^\[  FAILED  \] [0-9]* test' "$TMP/listen.out"
ok=$((ok + $(grep -c '^\[       OK' "$TMP/listen.out")))
bad=$((bad + $(grep -c '^\[  FAILED  \] [^0-9]' "$TMP/listen.out")))
[ $rc -ne 0 ] && ! grep -q '^\[  FAILED' "$TMP/listen.out" && fail "the browser test runs" "exit $rc: $(tail -5 "$TMP/listen.out")"

# ---- listen_page: open ----
room >"$TMP/room.yaml"
sed -i "s|^  tokens: { technician: $TECHNICIAN, observer: $OBSERVER, listener: $LISTENER }|&\n  listen_page: open|" "$TMP/room.yaml"
$B/tolkctl --control "$SOCK" reload >/dev/null
wait_for 5 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$WEB/listen) = 200 ]"
check "listen_page: open: /listen for anyone" "200 200" \
	"$(code http://127.0.0.1:$WEB/listen) $(code http://127.0.0.1:$WEB/api/listen)"
check "... and still nothing else without a token" "401" "$(code http://127.0.0.1:$WEB/)"
check "the listener token never shows in the audit or the log" "0" "$(cat "$TMP/rec/audit.jsonl" "$TMP/tolk.log" | grep -c "$LISTENER")"
finish
