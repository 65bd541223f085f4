#!/bin/bash
# The control-room page in a real browser: a real engine with web: on a
# dummy jackd, Debian's chromium driven by playwright-core from npm
# (test/web/web_test.mjs). The screenshot is kept in build/test/.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
PORT=$((18100 + RANDOM % 800))
OBSERVER=observer-$RANDOM-$RANDOM-token
sed -e "s/@PORT@/$PORT/" -e "s/@OBSERVER@/$OBSERVER/" test/integration/web_room.yaml >"$TMP/room.yaml"

start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
TOKEN=$(grep -o 'token=[0-9a-f]*' "$TMP/tolk.log" | head -1 | cut -d= -f2)
check_true "the technician token is made up and printed once" "$(grep web: "$TMP/tolk.log")" \
	test "${#TOKEN}" -eq 32 -a "$(grep -c "$TOKEN" "$TMP/tolk.log")" -eq 1
check_true "the page listens on loopback only" "$(ss -ltn | grep ":$PORT ")" \
	sh -c "ss -ltn | grep ':$PORT ' | grep -q '127.0.0.1:$PORT'"
mkdir -p build/test
BASE="http://127.0.0.1:$PORT" TOKEN="$TOKEN" OBSERVER="$OBSERVER" SOCK="$SOCK" B="$(pwd)/$B" SERVER="$SERVER" \
	AUDIT="$TMP/rec/audit.jsonl" SHOT="$(pwd)/build/test/web-page.png" \
	node test/web/web_test.mjs >"$TMP/web.out" 2>&1
rc=$?
grep -v '^\[  PASSED\|^\[  FAILED  \] [0-9]* test' "$TMP/web.out"
ok=$((ok + $(grep -c '^\[       OK' "$TMP/web.out")))
bad=$((bad + $(grep -c '^\[  FAILED  \] [^0-9]' "$TMP/web.out")))
[ $rc -ne 0 ] && ! grep -q '^\[  FAILED' "$TMP/web.out" && fail "the browser test runs" "exit $rc"
finish
