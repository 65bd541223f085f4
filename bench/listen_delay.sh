#!/bin/bash
# The delay from the room to a delegate's ear, as make bench measures it
# (and on its own: bash bench/listen_delay.sh [OUT.jsonl]): a tone switched
# on at a known instant (fr/1's mic, through the control socket) and
# found in Debian's chromium by a WebAudio analyser, timestamps on the
# machine's one clock, ten times: through Tolk's RTP and a real Janus
# (the listener page, WebRTC), and beside it through a real Icecast (an
# <audio> element on the Ogg stream), both on loopback. Then 60 s of the
# tone through Janus, counting dropouts. Prints figures; fails nothing.
set -u
cd "$(dirname "$0")/.."

. test/integration/lib.sh

OUT=${1:-$TMP/listen.jsonl}
SOCK="$TMP/tolk.sock"
BASE=$((41000 + 8 * (RANDOM % 400)))
WEB=$((19900 + RANDOM % 100))
JPORT=$((20100 + RANDOM % 100))
ICE=$((20300 + RANDOM % 100))
LISTENER="listen-$RANDOM-$RANDOM-token"
PASSWORD="pw-$RANDOM-$RANDOM-secret"
JD="$TMP/janus"
. test/integration/icecast.sh
printf '%s\n' "$PASSWORD" >"$TMP/icecast.pw"
# Its CORS header lets the page's analyser read the stream. The mount is
# README's for live listening (a burst of about a second);
# BENCH_ICECAST_BURST=65536 measures Icecast's default instead.
BURST=${BENCH_ICECAST_BURST:-4096}
icecast_config "$ICE" "$PASSWORD" "
  <http-headers><header name=\"Access-Control-Allow-Origin\" value=\"*\" /></http-headers>
  <mount><mount-name>/bench/fr.opus</mount-name><burst-size>$BURST</burst-size></mount>"
trap '[ -f "$JD/pid" ] && stop_pid "$(cat "$JD/pid")"; cleanup; rm -rf "$IC"' EXIT
icecast2 -c "$IC/icecast.xml" >"$IC/out.log" 2>&1 &
PIDS+=("$!")
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$ICE/status-json.xsl" || { echo "  icecast2 did not start: $(cat "$IC/out.log")"; exit 0; }

mkdir -p "$JD"
sed -e "s|configs_folder = \"/etc/janus\"|configs_folder = \"$JD\"|" contrib/janus/janus.jcfg >"$JD/janus.jcfg"
sed -e "s|port = 8088|port = $JPORT|" -e "s|http://127.0.0.1:8080|http://127.0.0.1:$WEB|" \
	contrib/janus/janus.transport.http.jcfg >"$JD/janus.transport.http.jcfg"

room_two_languages bench-listen >"$TMP/room.yaml"
cat >>"$TMP/room.yaml" <<YAML
recording: { formats: [flac], autostart: false, channels: all }
rtp:
  destinations: [{ host: 127.0.0.1, port_base: $BASE }]
  channels: [fr]
  janus: { url: "http://127.0.0.1:$JPORT/janus" }
stream:
  icecast: { host: 127.0.0.1, port: $ICE, user: source, password_file: $TMP/icecast.pw }
  mount_prefix: /bench
  channels: [fr]
web:
  listen: 127.0.0.1:$WEB
  tokens: { listener: $LISTENER }
YAML
start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { echo "  tolk did not start: $(cat "$TMP/tolk.log")"; exit 0; }
# The floor silent, fr/1 a tone: fr is silence until the mic goes on.
start_tones tolk:mic_fr_1:600:0.3
$B/tolkctl --control "$SOCK" janus-config >"$JD/janus.plugin.streaming.jcfg"
janus -F "$JD" -C "$JD/janus.jcfg" -L "$JD/janus.log" -N >/dev/null 2>&1 &
echo $! >"$JD/pid"
wait_for 10 curl -s -m 1 -o /dev/null -X POST -d '{"janus":"info","transaction":"t"}' http://127.0.0.1:$JPORT/janus ||
	{ echo "  janus did not start: $(tail -5 "$JD/janus.log")"; exit 0; }
wait_for 10 sh -c "$B/tolkctl --control $SOCK --json status | grep -q '\"state\":\"up\"'"

sh test/web/install.sh >/dev/null
BASE_URL="http://127.0.0.1:$WEB" LISTENER="$LISTENER" SOCK="$SOCK" ICECAST="http://127.0.0.1:$ICE/bench/fr.opus" BURST="$BURST" \
	TRIALS="${BENCH_LISTEN_TRIALS:-10}" STEADY="${BENCH_LISTEN_STEADY:-60}" OUT="$OUT" \
	node bench/listen_delay.mjs
st=$($B/tolkctl --control "$SOCK" --json status)
echo "$st" | python3 -c "import json,sys
r=json.load(sys.stdin)['rtp']; d=r['delay_ms']
print('  Tolk alone, router to wire (status.rtp, last %d packets): median %.1f ms, worst %.1f ms; bound, one frame and one period: %.1f ms' % (r['packets_measured'], d['median'], d['max'], d['bound']))
print(json.dumps({'path':'router-to-wire','median_ms':d['median'],'max_ms':d['max'],'bound_ms':d['bound']}), file=open('$OUT','a'))"
