#!/bin/bash
# The interpreter's touch console in a real browser: a real engine with web:
# and an interpreter's token on a dummy jackd, Debian's chromium driven by
# playwright-core (test/web/console_test.mjs). The screenshot is kept in
# build/test/console-page.png.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
PORT=$((18900 + RANDOM % 800))
TECHNICIAN=technician-$RANDOM-$RANDOM-token
FR=booth-fr-$RANDOM-$RANDOM-token
sed -e "s/@PORT@/$PORT/" -e "s/@TECHNICIAN@/$TECHNICIAN/" -e "s/@FR@/$FR/" test/integration/console_web_room.yaml \
	>"$TMP/room.yaml"

start_jackd
start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
mkdir -p build/test
BASE="http://127.0.0.1:$PORT" FR="$FR" TECHNICIAN="$TECHNICIAN" SOCK="$SOCK" B="$(pwd)/$B" SERVER="$SERVER" \
	AUDIT="$TMP/rec/audit.jsonl" SHOT="$(pwd)/build/test/console-page.png" \
	node test/web/console_test.mjs >"$TMP/console.out" 2>&1
rc=$?
grep -v '^\[  PASSED\|^\[  FAILED  \] [0-9]* test' "$TMP/console.out"
ok=$((ok + $(grep -c '^\[       OK' "$TMP/console.out")))
bad=$((bad + $(grep -c '^\[  FAILED  \] [^0-9]' "$TMP/console.out")))
[ $rc -ne 0 ] && ! grep -q '^\[  FAILED' "$TMP/console.out" && fail "the browser test runs" "exit $rc"
check "the audit never holds a token" "0" "$(grep -c -e "$FR" -e "$TECHNICIAN" "$TMP/rec/audit.jsonl")"
finish
