#!/bin/bash
# RTP Opus for the phones, checked without Janus: nothing sent or opened
# without rtp: and web:; a reload that adds rtp: starts it; ffmpeg, given
# an SDP, decodes each channel's tone; each channel's sequence numbers and
# timestamps run on unbroken through reloads (one that keeps the sender,
# one that replaces it) and through a lost and returned JACK server (one
# SSRC throughout, the pause told by the timestamps); status.rtp counts
# packets and bytes and shows the delay within one frame and one period;
# a destination that refuses sends raises rtp-send once, and it clears
# when sends go through again.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600
BASE=$((21000 + 8 * (RANDOM % 500)))
BLOCKED=198.51.100.7 # TEST-NET-2: never a real host

rtp_status() { $B/tolkctl --control "$SOCK" --json status | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin).get('rtp')))"; }
packets_of() { # packets_of CHANNEL: packets sent to the first destination
	rtp_status | python3 -c "import json,sys
d=json.load(sys.stdin)
print(sum(c['packets'] for c in d['destinations'][0]['channels'] if c['channel']=='$1') if d else 0)"
}
# tolk's own network sockets (ss: inet, any state), one per line
inet_sockets() { ss -H -anp -A inet 2>/dev/null | grep "pid=$TOLK_PID," || true; }
sdp() { # sdp PORT: a session description of one channel's stream
	printf 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=tolk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %s RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 sprop-stereo=0\r\n' "$1"
}
heard() { # heard PORT: the tone ffmpeg decodes from that port over 2 s
	sdp "$1" >"$TMP/$1.sdp"
	timeout 15 ffmpeg -hide_banner -loglevel error -protocol_whitelist file,udp,rtp -i "$TMP/$1.sdp" -t 2 -ac 1 \
		-y "$TMP/$1.wav" 2>"$TMP/$1.ffmpeg" || { echo "ffmpeg refused: $(head -c 300 "$TMP/$1.ffmpeg")"; return; }
	$B/test/filetone -f "$FREQS" "$TMP/$1.wav" | cut -d' ' -f2
}
field() { # field PORT NAME < rtp_listen output
	awk -v p="$1" -v f="$2" '$1 == "port" && $2 == p { for (i = 3; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}
listen_for() { # listen_for SECONDS OUT PORT...: rtp_listen in the background until "ready"
	local s=$1 out=$2
	shift 2
	$B/test/rtp_listen -t "$s" "$@" >"$out" 2>"$out.err" &
	LISTEN_PID=$!
	PIDS+=("$LISTEN_PID")
	wait_for 5 grep -q ready "$out"
}

room() { # room [RTP-SECTION-LINES]
	room_two_languages itest-rtp
	echo "recording: { formats: [flac], autostart: false }"
	echo "alarms: { clear_seconds: 1 }"
	[ -n "${1:-}" ] && printf '%s\n' "$1"
}
RTP="rtp:
  destinations: [{ host: 127.0.0.1, port_base: $BASE }]
  channels: all
  bitrate: 48000"

start_jackd
room >"$TMP/room.yaml"
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" --reconnect || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440 tolk:mic_fr_1:600

# ---- nothing unless the config says so ----
listen_for 1.5 "$TMP/none.out" $BASE $((BASE + 2)) $((BASE + 4))
wait "$LISTEN_PID"
check "without rtp: nothing is sent" "0 0 0" \
	"$(field $BASE packets <"$TMP/none.out") $(field $((BASE + 2)) packets <"$TMP/none.out") $(field $((BASE + 4)) packets <"$TMP/none.out")"
check "without rtp: and web:, tolk has no network socket at all" "" "$(inet_sockets)"
check "status has no rtp" "null" "$(rtp_status)"
check "janus-config says there is nothing to configure" \
	"tolkctl: janus-config: this room sends no RTP (no rtp: section in $TMP/room.yaml)" \
	"$($B/tolkctl --control "$SOCK" janus-config 2>&1)"

# ---- a reload adds it ----
room "$RTP" >"$TMP/room.yaml"
r=$($B/tolkctl --control "$SOCK" --json reload 2>&1)
check_true "a reload that adds rtp: is accepted" "$r" grep -q '"ok":true' <<<"$r"
fr_over() { [ "$(packets_of fr)" -gt "$1" ]; } # evaluated anew on each try
wait_for 5 fr_over 20
check_true "packets flow on every channel" "$(rtp_status)" fr_over 20
sockets=$(inet_sockets)
check_true "with rtp: tolk has UDP sockets for sending and listens on none" "$sockets" \
	bash -c "echo '$sockets' | grep -q '^udp' && ! echo '$sockets' | grep -qE 'LISTEN|^tcp'"
$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null

# ---- ffmpeg decodes each channel from its SDP ----
check "floor (port $BASE): ffmpeg decodes the floor's tone" "440" "$(heard $BASE)"
check "en (port $((BASE + 2))): idle on the floor, ffmpeg decodes the floor" "440" "$(heard $((BASE + 2)))"
check "fr (port $((BASE + 4))): ffmpeg decodes fr/1's tone" "600" "$(heard $((BASE + 4)))"
$B/tolkctl --control "$SOCK" mic fr 1 off >/dev/null
check "fr goes back to the floor when its mic goes off" "440" "$(heard $((BASE + 4)))"
$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null

# ---- status, and the delay ----
st=$(rtp_status)
check "status.rtp lists the destination and each channel with its port" \
	"127.0.0.1 $BASE floor:$BASE en:$((BASE + 2)) fr:$((BASE + 4))" \
	"$(echo "$st" | python3 -c "import json,sys
d=json.load(sys.stdin)['destinations'][0]
print(d['host'], d['port_base'], ' '.join('%s:%d' % (c['channel'], c['port']) for c in d['channels']))")"
check_true "status.rtp counts packets and bytes" "$st" \
	python3 -c "import json,sys
d=json.loads('''$st''')['destinations'][0]['channels']
sys.exit(not all(c['packets'] > 50 and c['bytes'] > 12 * c['packets'] for c in d))"
delay=$(echo "$st" | python3 -c "import json,sys; d=json.load(sys.stdin)['delay_ms']; print(d['median'], d['max'], d['bound'])")
echo "note: router to wire, last packets: median ${delay% * *} ms, worst $(echo "$delay" | cut -d' ' -f2) ms; bound (one frame and one period) ${delay##* } ms"
check_true "median delay from router to wire within one frame and one period ($delay)" "$delay" \
	awk -v m="${delay% * *}" -v b="${delay##* }" 'BEGIN { exit !(m > 0 && m <= b) }'

# ---- continuity through reloads ----
listen_for 6 "$TMP/reload.out" $BASE $((BASE + 2)) $((BASE + 4))
sleep 1.5
room "$RTP
alarms: { clear_seconds: 1.5 }" | sed '/^alarms: { clear_seconds: 1 }$/d' >"$TMP/room.yaml"
r1=$($B/tolkctl --control "$SOCK" --json reload)
sleep 2
room "$(echo "$RTP" | sed 's/bitrate: 48000/bitrate: 64000/')" >"$TMP/room.yaml"
r2=$($B/tolkctl --control "$SOCK" --json reload)
wait "$LISTEN_PID"
check_true "the first reload keeps the sender ($r1)" "$r1" grep -qv 'rtp changed' <<<"$r1"
check_true "the second replaces it ($r2)" "$r2" grep -q 'rtp changed' <<<"$r2"
for p in $BASE $((BASE + 2)) $((BASE + 4)); do
	line=$(grep "^port $p " "$TMP/reload.out")
	check "port $p through the reloads: one SSRC, no break in sequence, every step one frame" "1 0 0 0" \
		"$(field $p ssrcs <"$TMP/reload.out") $(field $p seq_breaks <"$TMP/reload.out") $(field $p ts_odd <"$TMP/reload.out") $(field $p ts_jumps <"$TMP/reload.out")"
	check_true "port $p: about 50 packets a second throughout ($line)" "$line" \
		test "$(field $p packets <"$TMP/reload.out")" -ge 270
done
check "payload type 111" "111" "$(field $BASE pt <"$TMP/reload.out")"

# ---- continuity through a lost and returned server ----
ssrc_before=$(field $((BASE + 4)) ssrc <"$TMP/reload.out")
listen_for 9 "$TMP/jack.out" -v $((BASE + 4))
sleep 1 # packets before the loss, to tell the pause by
stop_pid "$JACKD_PID"
sleep 1.5
start_jackd
wait_for 10 grep -q "JACK server is back" "$TMP/tolk.log" || fail "tolk comes back with the server" "$(tail -5 "$TMP/tolk.log")"
start_tones tolk:floor_main:440 tolk:mic_fr_1:600
wait "$LISTEN_PID"
line=$(grep "^port" "$TMP/jack.out")
check "after the server came back: the same SSRC, the sequence unbroken, the timestamps in whole frames" \
	"$ssrc_before 1 0 0" \
	"$(field $((BASE + 4)) ssrc <"$TMP/jack.out") $(field $((BASE + 4)) ssrcs <"$TMP/jack.out") $(field $((BASE + 4)) seq_breaks <"$TMP/jack.out") $(field $((BASE + 4)) ts_odd <"$TMP/jack.out")"
check_true "the pause is told by the timestamps and a marker ($line)" "$line $(cat "$TMP/jack.out.err")" \
	test "$(field $((BASE + 4)) ts_jumps <"$TMP/jack.out")" -ge 1 -a "$(field $((BASE + 4)) markers <"$TMP/jack.out")" -ge 1
check "fr still carries fr/1's tone after the server came back" "600" "$(heard $((BASE + 4)))"

# ---- multicast, beside unicast ----
GROUP=239.255.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
room "rtp:
  destinations: [{ host: 127.0.0.1, port_base: $BASE }, { host: $GROUP, port_base: $((BASE + 100)), ttl: 1, interface: lo }]
  channels: all" >"$TMP/room.yaml"
$B/tolkctl --control "$SOCK" reload >/dev/null
$B/test/rtp_listen -g "$GROUP" -i lo -t 2 $((BASE + 104)) >"$TMP/mcast.out" 2>&1 &
LISTEN_PID=$!
PIDS+=("$LISTEN_PID")
wait "$LISTEN_PID"
line=$(grep "^port" "$TMP/mcast.out")
check_true "multicast: the group $GROUP on lo gets fr, about 50 packets a second, unbroken ($line)" "$(cat "$TMP/mcast.out")" \
	test "$(field $((BASE + 104)) packets <"$TMP/mcast.out")" -ge 80 -a "$(field $((BASE + 104)) seq_breaks <"$TMP/mcast.out")" = 0
check "multicast: the same channel, the same SSRC as its unicast stream" "$ssrc_before" "$(field $((BASE + 104)) ssrc <"$TMP/mcast.out")"
check_true "janus-config for the group: the mountpoint joins it on lo" "$($B/tolkctl --control "$SOCK" janus-config 2 | grep -A3 'port = '"$((BASE + 104))")" \
	bash -c "$B/tolkctl --control $SOCK janus-config 2 | grep -A3 'port = $((BASE + 104))' | grep -q 'mcast = \"$GROUP\"'"

# ---- a destination that refuses ----
if [ "$(id -u)" -eq 0 ] && ip route add prohibit $BLOCKED/32 2>/dev/null; then
	trap 'ip route del prohibit '$BLOCKED'/32 2>/dev/null; cleanup' EXIT
	room "rtp:
  destinations: [{ host: 127.0.0.1, port_base: $BASE }, { host: $BLOCKED, port_base: $BASE }]
  channels: all" >"$TMP/room.yaml"
	$B/tolkctl --control "$SOCK" reload >/dev/null
	alarm() { $B/tolkctl --control "$SOCK" --json status | grep -o "\"kind\":\"rtp-send\",\"subject\":\"$BLOCKED:$BASE\"[^}]*"; }
	check_true "sends the route refuses raise rtp-send for that destination" "$(alarm)" wait_for 5 alarm
	check "it is raised once" "1" "$(grep -c "alarm rtp-send" "$TMP/tolk.log")"
	check_true "status.rtp says why" "$(rtp_status)" bash -c "$B/tolkctl --control $SOCK --json status | grep -q '\"failing\":true,\"last_error\":\"Permission denied\"'"
	before=$(packets_of fr)
	sleep 0.5
	check_true "the other destination is served all the while" "$before" fr_over "$before"
	ip route del prohibit $BLOCKED/32
	check_true "when sends go through again, rtp-send clears" "$(alarm)" wait_for 5 bash -c "! $B/tolkctl --control $SOCK --json status | grep -q '\"kind\":\"rtp-send\"'"
	check "raised once, cleared once" "1 1" "$(grep -c "ALARM: alarm rtp-send" "$TMP/tolk.log") $(grep -c "cleared rtp-send" "$TMP/tolk.log")"
else
	echo "note: not root (or no CAP_NET_ADMIN): the refused-send alarm is left out"
fi
check_true "tolk ran throughout" "" kill -0 "$TOLK_PID"
finish
