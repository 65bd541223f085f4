#!/bin/bash
# Nobody who can reach the control socket can lock the technicians out:
# users without a role are refused at the door, half-sent requests are
# dropped within seconds, one uid holds a bounded share of the slots and
# the last ones are kept for technicians, and clients that never read
# are never waited for (the control thread answers a technician in well
# under a second throughout).
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

chmod 711 "$TMP"
SOCK="$TMP/pub/tolk.sock"
cp test/integration/roles_room.yaml "$TMP/roles.yaml"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "note: not root (or no setpriv): the other-user checks did not run"
	finish
fi
# hold NAME UID GID MODE COUNT: sockhold in the background, until ready
hold() {
	setpriv --reuid="$2" --regid="$3" --clear-groups $B/test/sockhold -n "$5" -m "$4" "$SOCK" >"$TMP/$1.out" 2>&1 &
	PIDS+=("$!")
	eval "HOLD_$1=$!"
	wait_for 10 grep -q ready "$TMP/$1.out"
}
# answered_ms: how long a technician's status takes, in ms (99999: no answer)
answered_ms() {
	local t0=$(date +%s%N)
	$B/tolkctl --control "$SOCK" --timeout 5000 --json status >/dev/null 2>&1 || { echo 99999; return; }
	echo $((($(date +%s%N) - t0) / 1000000))
}

start_jackd
start_tolk tolk "$SOCK" --config "$TMP/roles.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }

# ---- no role at all ------------------------------------------------------------------

hold norole 4242 4242 partial 40
ms=$(answered_ms)
check_true "40 connections of a user with no role: a technician answered within a second" "$ms ms" \
	test "$ms" -lt 1000
kill -TERM "$HOLD_norole"; wait "$HOLD_norole" 2>/dev/null
check "and every one of them was refused at the door" "open 0" "$(grep open "$TMP/norole.out")"

# ---- half a request line, never the newline ----------------------------------------------

hold half nobody nogroup partial 40
ms=$(answered_ms)
check_true "40 half-sent requests of an observer: a technician answered within a second" "$ms ms" \
	test "$ms" -lt 1000
hold halfroot 0 0 partial 40
ms=$(answered_ms)
check_true "and with 40 more of a technician's own uid: still answered within a second" "$ms ms" \
	test "$ms" -lt 1000
sleep 5.5
kill -TERM "$HOLD_half" "$HOLD_halfroot"; wait "$HOLD_half" "$HOLD_halfroot" 2>/dev/null
check "half-sent requests are dropped within a few seconds" "open 0 open 0" \
	"$(grep -h open "$TMP/half.out" "$TMP/halfroot.out" | tr '\n' ' ' | sed 's/ $//')"
check_true "refusals at the door are audited, counted past a burst" "$(grep -c '"command":"(connect)"' "$TMP/rec/audit.jsonl")" \
	grep -q '"via":"socket","actor":{"uid":4242.*"command":"(connect)","result":"refused","error":"permission denied: uid 4242 has no role' "$TMP/rec/audit.jsonl"

# ---- clients that never read -------------------------------------------------------------------

hold follow 0 0 follow 10
hold flood nobody nogroup flood 11
flood_since=$(date +%s%N)
worst=0
for ((i = 0; i < 400; i++)); do
	$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null 2>&1
	$B/tolkctl --control "$SOCK" mic fr 1 off >/dev/null 2>&1
	if ((i % 50 == 0)); then
		ms=$(answered_ms)
		((ms > worst)) && worst=$ms
	fi
done
check_true "10 followers and 11 flooders that never read: status answered within a second throughout" \
	"worst $worst ms" test "$worst" -lt 1000
# A client whose replies stop moving goes after 5 s: give the flooders that
# long from their start however fast the loop above ran.
left_ms=$((6500 - ($(date +%s%N) - flood_since) / 1000000))
((left_ms > 0)) && sleep "$(awk -v m="$left_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
kill -TERM "$HOLD_follow" "$HOLD_flood"; wait "$HOLD_follow" "$HOLD_flood" 2>/dev/null
check_true "clients whose output piles up are dropped, never waited for" \
	"$(grep -h open "$TMP/follow.out" "$TMP/flood.out" | tr '\n' ' ')" \
	sh -c "grep -q 'open 0' '$TMP/flood.out'"
check_true "the engine lives" "" kill -0 "$TOLK_PID"
finish
