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
# The same room over TLS, with a self-signed certificate made here.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1
chmod 600 "$TMP/key.pem"
TLS_PORT=$((PORT + 1000))
sed -e "s/$PORT/$TLS_PORT/" "$TMP/room.yaml" >"$TMP/tls.yaml"
printf '  tls: { cert_file: "%s", key_file: "%s" }\n' "$TMP/cert.pem" "$TMP/key.pem" >>"$TMP/tls.yaml"
start_tolk tls "$TMP/tls.sock" --config "$TMP/tls.yaml" || fail "tolk starts with TLS" "$(cat "$TMP/tls.log")"
check "over TLS the log gives an https address" "yes" \
	"$(grep -q "web: control-room page at https://127.0.0.1:$TLS_PORT/" "$TMP/tls.log" && echo yes)"
check_true "and plain HTTP on that port gets no page" "" \
	sh -c "! curl -s -m 3 -H 'Authorization: Bearer $FR' http://127.0.0.1:$TLS_PORT/console/fr/1 | grep -q html"
check "the key never shows in the log" "0" "$(grep -c 'PRIVATE KEY' "$TMP/tls.log")"
mkdir -p build/test
TLS_BASE="https://127.0.0.1:$TLS_PORT" TLS_SOCK="$TMP/tls.sock" NODE_EXTRA_CA_CERTS="$TMP/cert.pem" \
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
