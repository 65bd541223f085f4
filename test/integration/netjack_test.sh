#!/bin/bash
# A booth on another host through netjack2, between two jackd servers in
# two network namespaces joined by a veth pair (root; CI runs as root):
# the room host runs jackd (dummy) with netmanager loaded, the booth host
# jackd -d net. The booth's mic (a tone into the booth host's net
# playback port) must reach out_fr on the room host through tolk's
# connect: entry, made when the booth appears; the added latency is
# measured round trip with an impulse.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600
NS_ROOM="tolk-room-$$"
NS_BOOTH="tolk-booth-$$"
VETH="tkr$$"
MCAST_PORT=$((19300 + RANDOM % 500))
BOOTH_SERVER="$SERVER-booth"

netns_cleanup() {
	ip netns del "$NS_ROOM" 2>/dev/null
	ip netns del "$NS_BOOTH" 2>/dev/null
}
trap 'cleanup; netns_cleanup' EXIT

if ! ip netns add "$NS_ROOM" 2>"$TMP/netns.err" || ! ip netns add "$NS_BOOTH" 2>>"$TMP/netns.err"; then
	echo "note: cannot make network namespaces here ($(cat "$TMP/netns.err")); the netjack2 test needs root"
	echo "[  PASSED  ] 0 test(s)."
	exit 0
fi
ip link add "${VETH}r" type veth peer name "${VETH}b" &&
	ip link set "${VETH}r" netns "$NS_ROOM" && ip link set "${VETH}b" netns "$NS_BOOTH" &&
	ip -n "$NS_ROOM" addr add 10.77.0.1/24 dev "${VETH}r" && ip -n "$NS_BOOTH" addr add 10.77.0.2/24 dev "${VETH}b" &&
	ip -n "$NS_ROOM" link set lo up && ip -n "$NS_BOOTH" link set lo up &&
	ip -n "$NS_ROOM" link set "${VETH}r" up && ip -n "$NS_BOOTH" link set "${VETH}b" up &&
	ip -n "$NS_ROOM" route add 224.0.0.0/4 dev "${VETH}r" && ip -n "$NS_BOOTH" route add 224.0.0.0/4 dev "${VETH}b"
check "two hosts: network namespaces joined by a veth pair, multicast routed" "0" "$?"

# ---- the room host ------------------------------------------------------------

ip netns exec "$NS_ROOM" jackd -n "$SERVER" -d dummy -r 48000 -p 256 >"$TMP/jackd.log" 2>&1 &
JACKD_PID=$!
PIDS+=("$JACKD_PID")
wait_for 10 jack_lsp -s "$SERVER" || { fail "the room's jackd starts" "$(cat "$TMP/jackd.log")"; finish; }
ip netns exec "$NS_ROOM" jack_load -s "$SERVER" netmanager -i "-a 225.3.19.154 -p $MCAST_PORT -c" >"$TMP/load.log" 2>&1
check_true "netmanager loads into the room's jackd" "$(cat "$TMP/load.log")" grep -q "netmanager is running" "$TMP/load.log"
start_tolk tolk "$SOCK" --config test/integration/netjack_room.yaml ||
	{ fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
check_true "the booth is not there yet: a warning, not an error" "" \
	grep -q "connect booth1:from_slave_1 -> mic_fr_1 (line 13:13) failed" "$TMP/tolk.log"

# ---- the booth host joins -------------------------------------------------------

ip netns exec "$NS_BOOTH" jackd -n "$BOOTH_SERVER" -d net -a 225.3.19.154 -p "$MCAST_PORT" -C 2 -P 2 -n booth1 -l 2 \
	>"$TMP/booth.log" 2>&1 &
BOOTH_PID=$!
PIDS+=("$BOOTH_PID")
check_true "the booth host's jackd -d net joins the room" "$(tail -5 "$TMP/booth.log")" \
	wait_for 30 sh -c "jack_lsp -s '$SERVER' | grep -q '^booth1:from_slave_1$'"
check_true "tolk connects the booth's mic and phones when they appear" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 5 sh -c "grep -q 'connected booth1:from_slave_1 -> mic_fr_1' '$TMP/tolk.log' &&
			   grep -q 'connected phones_fr_1 -> booth1:to_slave_1' '$TMP/tolk.log'"
# The booth's mic: on a real booth host, a sound card client (zita-a2j or
# alsa_in) feeds the net backend's playback port; here a tone does.
$B/test/tonegen -s "$BOOTH_SERVER" -n boothmic system:playback_1:600 >"$TMP/boothmic.out" 2>&1 &
PIDS+=("$!")
wait_for 10 grep -q ready "$TMP/boothmic.out" || fail "the booth's mic tone starts" "$(cat "$TMP/boothmic.out")"
start_tones tolk:floor_main:440
$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null
sleep 0.3
check "the booth host's mic reaches out_fr on the room host" "440 600" "$(probe tolk:out_en tolk:out_fr)"

# ---- the latency it adds -----------------------------------------------------------

# Round trip: room -> booth (to_slave) -> looped back on the booth -> room
# (from_slave), with JACK's own delay cancelled by the probe's reference.
jack_disconnect -s "$SERVER" tolk:phones_fr_1 booth1:to_slave_1 2>/dev/null
jack_connect -s "$BOOTH_SERVER" system:capture_2 system:playback_2
out=$($B/bench/latency_probe -s "$SERVER" -d booth1:to_slave_2 booth1:from_slave_2)
frames=$(echo "$out" | awk '{print $2}')
hits=$(echo "$out" | awk '{print $4}')
echo "netjack2 latency (period 256, -l 2): round trip $frames frames ($(awk -v f="$frames" 'BEGIN { printf "%.1f", f / 48 }') ms), $hits impulses"
check_true "the round trip is measured, every impulse back" "$out" test "${hits:-0}" -ge 10 -a "${frames:-0}" -gt 0
check "the round trip is the -l 2 network latency: two periods of 256" "512" "$frames"

# ---- the booth host goes away and comes back --------------------------------------

kill -TERM "$BOOTH_PID" 2>/dev/null # the booth host's jackd
wait_for 10 sh -c "! jack_lsp -s '$SERVER' | grep -q '^booth1:'"
check_true "the booth leaving is told: connection lost" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 5 grep -q "connection lost: booth1:from_slave_1 -> mic_fr_1" "$TMP/tolk.log"
ip netns exec "$NS_BOOTH" jackd -n "$BOOTH_SERVER" -d net -a 225.3.19.154 -p "$MCAST_PORT" -C 2 -P 2 -n booth1 -l 2 \
	>"$TMP/booth2.log" 2>&1 &
PIDS+=("$!")
check_true "the booth comes back and tolk connects it again" "$(tail -5 "$TMP/tolk.log")" \
	wait_for 15 sh -c "[ \$(grep -c 'connected booth1:from_slave_1 -> mic_fr_1' '$TMP/tolk.log') -ge 2 ]"
finish
