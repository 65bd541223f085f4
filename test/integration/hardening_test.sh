#!/bin/bash
# What an attack on the running engine found, each point as it must now
# hold: a control folder squatted by another user, tolkctl talking to an
# impostor, web requests from another origin or smuggling a second
# Content-Length, strangers holding the page's connections, and a flood of
# refused OSC packets filling the audit.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
PORT=$((18900 + RANDOM % 500))
OSCPORT=$((19500 + RANDOM % 400))
TOKEN=technician-$RANDOM-$RANDOM-token
sed -e "s/@PORT@/$PORT/" -e "s/@OSCPORT@/$OSCPORT/" -e "s/@TOKEN@/$TOKEN/" \
	test/integration/hardening_room.yaml >"$TMP/room.yaml"
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
BASE="http://127.0.0.1:$PORT"

# ---- 3. a socket folder made by another user ----------------------------------

mkdir -m 777 "$TMP/squat"
chown nobody "$TMP/squat"
out=$($B/tolk --config "$TMP/room.yaml" --control "$TMP/squat/tolk.sock" --server none --record-dir "$TMP/rec" 2>&1); rc=$?
check "a control folder owned by another user: tolk refuses to start (exit 2)" "2" "$rc"
check_true "and says whose folder it is" "$out" sh -c "echo '$out' | grep -q 'squat belongs to uid 65534'"
chown root "$TMP/squat"
out=$($B/tolk --config "$TMP/room.yaml" --control "$TMP/squat/tolk.sock" --server none --record-dir "$TMP/rec" 2>&1); rc=$?
check_true "a folder of ours that others may write to: refused too" "$out" \
	sh -c "test $rc = 2 && echo '$out' | grep -q 'writable by other users (mode 0777)'"
mkdir -p "$TMP/xdg"
ln -s "$TMP/squat" "$TMP/xdg/tolk"
out=$(XDG_RUNTIME_DIR="$TMP/xdg" $B/tolk --config "$TMP/room.yaml" --server none --record-dir "$TMP/rec" 2>&1); rc=$?
check_true "the default folder as a symbolic link: refused" "$out" \
	sh -c "test $rc = 2 && echo '$out' | grep -q 'is a symbolic link'"

# An impostor: an engine running as another user (nobody) on a socket
# where tolkctl expects ours. tolkctl must not believe it.
chmod 711 "$TMP" # nobody must reach its folder in here
mkdir -m 755 "$TMP/imp"
chown nobody "$TMP/imp"
cp "$TMP/room.yaml" "$TMP/imp/room.yaml"
sed -i -e '/^osc:/,$d' "$TMP/imp/room.yaml"
chmod 644 "$TMP/imp/room.yaml"
runuser -u nobody -- $B/tolk --config "$TMP/imp/room.yaml" --control "$TMP/imp/tolk.sock" --server none \
	--reconnect --record-dir "$TMP/imp/rec" 2>"$TMP/imp.log" &
PIDS+=("$!")
wait_for 10 test -S "$TMP/imp/tolk.sock"
out=$($B/tolkctl --control "$TMP/imp/tolk.sock" mic fr 1 on 2>&1); rc=$?
check "tolkctl refuses a socket served by another user (exit 3)" "3" "$rc"
check_true "and says so instead of printing the impostor's answer" "$out" \
	sh -c 'echo "$1" | grep -q "served by uid 65534" && ! echo "$1" | grep -q "\"ok\""' - "$out"
out=$($B/tolkctl --engine-user nobody --control "$TMP/imp/tolk.sock" --json status 2>&1); rc=$?
check "--engine-user names the engine's user when it is another" "0" "$rc"

# ---- 7. bad files --------------------------------------------------------------------

{ printf 'meeting: x\nfloor: '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo; } >"$TMP/deep.yaml"
t0=$(date +%s%N)
out=$($B/tolk --check "$TMP/deep.yaml" 2>&1); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "100,000-deep nesting: refused at once with its place" "2:$TMP/deep.yaml:2:39: nested deeper than 32 levels: no room file needs that" "$rc:$out"
check_true "in well under a second (20 s before)" "$ms ms" test "$ms" -lt 1000
{ printf 'meeting: x\nfloor: { inputs: [main] }\nlanguages:\n'; for ((i = 0; i < 10000; i++)); do echo "  - { code: l$i }"; done; } >"$TMP/many.yaml"
out=$($B/tolk --check "$TMP/many.yaml" 2>&1); rc=$?
check "10,000 languages: --check refuses at the first beyond the limit" "2:$TMP/many.yaml:260:5: one language too many: a room has at most 256" "$rc:$out"

# ---- the engine under attack ------------------------------------------------------

start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
AUDIT="$TMP/rec/audit.jsonl"

# ---- 4. requests from other origins --------------------------------------------

post() { # post [CURL ARGS...] -> HTTP status of POST /api/command "mic fr 1 on"
	curl -s -o /dev/null -w '%{http_code}' -X POST --data 'mic fr 1 on' "$@"
}
check "cookie from another origin (another port of the same host): 403" "403" \
	"$(post -b "tolk_token=$TOKEN" -H "Origin: http://127.0.0.1:6666" "$BASE/api/command")"
check "the foreign command did not run" "off" \
	"$(ctl --json status | grep -o '"n":1,"mic":[a-z]*' | head -1 | grep -q true && echo on || echo off)"
check "cookie with a Referer of another page: 403" "403" \
	"$(post -b "tolk_token=$TOKEN" -H "Referer: http://127.0.0.1:6666/x" "$BASE/api/command")"
check "cookie with neither Origin nor Referer: 403" "403" \
	"$(post -b "tolk_token=$TOKEN" "$BASE/api/command")"
check "?token= on a POST: 403" "403" "$(post -H "Origin: $BASE" "$BASE/api/command?token=$TOKEN")"
check "the page's own origin with the cookie: 200" "200" \
	"$(post -b "tolk_token=$TOKEN" -H "Origin: $BASE" "$BASE/api/command")"
check "a Bearer token without Origin (not a browser): 200" "200" \
	"$(post -H "Authorization: Bearer $TOKEN" "$BASE/api/command")"
dup=$(printf 'POST /api/command HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nContent-Length: 11\r\nContent-Length: 4\r\n\r\nmic fr 1 on' "$PORT" "$TOKEN" |
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; head -1 <&3")
check_true "two Content-Length headers: 400" "$dup" sh -c "echo '$dup' | grep -q ' 400 '"

# ---- 2. strangers holding the page's connections ---------------------------------

# 60 connections without a token, each trickling a header line every
# second: they must neither keep a technician out nor stay for long.
for ((i = 0; i < 60; i++)); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT || exit 0
	 printf 'GET / HTTP/1.1\r\nHost: x\r\n' >&3
	 for ((k = 0; k < 20; k++)); do sleep 1; printf 'X-Slow: %d\r\n' $k >&3 2>/dev/null || exit 0; done) &
	PIDS+=("$!")
done
sleep 1.5
t0=$(date +%s%N)
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/api/whoami")
ms=$((($(date +%s%N) - t0) / 1000000))
check_true "with 60 strangers connected, a technician is answered within a second" "HTTP $code in $ms ms" \
	test "$code" = 200 -a "$ms" -lt 1000
sleep 3.5
check_true "strangers are gone within a few seconds of connecting" "$(ss -tn state established "( sport = :$PORT )" | tail -n +2 | wc -l) left" \
	test "$(ss -tn state established "( sport = :$PORT )" | tail -n +2 | wc -l)" -le 16

# One address holding every event stream the page allows and strangers
# beside them: a 33rd stream is refused, and a technician from another
# address still gets in.
for ((i = 0; i < 32; i++)); do
	curl -s -N -m 20 -H "Authorization: Bearer $TOKEN" "$BASE/events" >"$TMP/events-$i.out" 2>&1 &
	PIDS+=("$!")
done
# Each holds its place once the page has pushed to it; on a busy machine
# that can take longer than a fixed pause.
streams_held() { [ "$(find "$TMP" -maxdepth 1 -name 'events-*.out' -size +0 | wc -l)" -eq 32 ]; }
check_true "32 event streams are open" "$(find "$TMP" -maxdepth 1 -name 'events-*.out' -size +0 | wc -l) of 32" \
	wait_for 10 streams_held
for ((i = 0; i < 20; i++)); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT || exit 0; printf 'GET / HTTP/1.1\r\n' >&3; sleep 8) &
	PIDS+=("$!")
done
sleep 1.5
check "a 33rd event stream is refused (503)" "503" \
	"$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/events")"
check "a technician from another address gets in" "200" \
	"$(curl -s -m 3 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/api/whoami")"

# ---- invalid UTF-8 on the control socket ---------------------------------------------

out=$(ctl --json "$(printf 'mic \xff\xfe fr')" 2>&1)
check "invalid UTF-8 in a command is not echoed raw: the reply stays JSON" \
	'{"ok":false,"error":"usage: mic <booth> <n> on|off"}' "$out"
out=$(ctl --json "$(printf 'n\xc3\x28o')" 2>&1)
check_true "an unknown command's echo replaces the bad bytes with U+FFFD" "$out" \
	sh -c 'echo "$1" | grep -q "n\\\\ufffd(o"' - "$out"

# ---- 6. a flood of refused OSC packets ---------------------------------------------

before=$(wc -l <"$AUDIT")
$B/test/osc_client -r 20000 127.0.0.1 $OSCPORT /tolk/fr/1/mic i 1
sleep 1.5
$B/test/osc_client -r 20000 127.0.0.1 $OSCPORT /tolk/fr/1/mic i 1
sleep 1.5
added=$(($(wc -l <"$AUDIT") - before))
check_true "40,000 refused OSC packets add a handful of audit lines, not one each" "$added lines" \
	test "$added" -gt 0 -a "$added" -le 30
check_true "the audit says how many were refused, from where" "$(tail -2 "$AUDIT")" \
	grep -q '"via":"summary","actor":{"source":"OSC 127.0.0.1"},"command":"[0-9]* refused requests in one second' "$AUDIT"
check_true "the engine still answers" "" ctl status
finish
