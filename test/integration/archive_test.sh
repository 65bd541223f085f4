#!/bin/bash
# Integration test of the archive as auditors meet it, on a real JACK
# server: a signed manifest (recording.signing_key) checked by tolk-verify
# --key and by openssl, and caught when a file or the manifest is changed;
# the key file's own checks at start-up.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
REC="$TMP/rec"
ctl() { $B/tolkctl --control "$SOCK" "$@"; }
json() { ctl --json "$@"; }
V=$B/tolk-verify

# ---- keys ------------------------------------------------------------------
out=$($V --keygen "$TMP/sign.key"); rc=$?
check "tolk-verify --keygen: exit 0" "0" "$rc"
check "the secret key is 0600, the public one 0644" "600 644" \
	"$(stat -c %a "$TMP/sign.key") $(stat -c %a "$TMP/sign.key.pub")"
check "openssl reads both and agrees on the public key" "same" \
	"$(openssl pkey -in "$TMP/sign.key" -pubout 2>/dev/null | cmp -s - "$TMP/sign.key.pub" && echo same)"
out=$($V --keygen "$TMP/sign.key" 2>&1); rc=$?
check "--keygen never overwrites a key (exit 2, saying so)" "2 yes" \
	"$rc $(grep -q 'never overwritten' <<<"$out" && echo yes)"

sed "s|  mics: true|  mics: true\n  signing_key: $TMP/sign.key|" test/integration/record_room.yaml >"$TMP/room.yaml"

start_jackd
chmod 0640 "$TMP/sign.key"
$B/tolk --server "$SERVER" --name refused --control "$TMP/refused.sock" --record-dir "$TMP/rec" \
	--config "$TMP/room.yaml" >"$TMP/refused.out" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null; rc=$?
check "a key file others can read stops the start (exit 2), with the reason" "2 yes" \
	"$rc $(grep -q 'mode 0640; it must be 0600' "$TMP/refused.out" && echo yes)"
chmod 0600 "$TMP/sign.key"
if [ "$(id -u)" = 0 ]; then
	chown nobody "$TMP/sign.key"
	$B/tolk --check "$TMP/room.yaml" --config "$TMP/room.yaml" >"$TMP/refused.out" 2>&1; rc=$?
	check "a key file of another user stops the start too" "2 yes" \
		"$rc $(grep -q 'not by this user' "$TMP/refused.out" && echo yes)"
	chown root "$TMP/sign.key"
fi

start_tolk tolk "$SOCK" --config "$TMP/room.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440 tolk:mic_fr_1:600
json record start signed >/dev/null
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"recording\"'"
sleep 2
ctl record stop >/dev/null
wait_for 10 test -s "$REC/signed/manifest.json.sig"
wait_for 10 sh -c "$B/tolkctl --control '$SOCK' --json record status | grep -q '\"state\":\"stopped\"'"

# ---- the signature --------------------------------------------------------
out=$($V --key "$TMP/sign.key.pub" "$REC/signed"); rc=$?
check "tolk-verify --key: a fresh archive is good and signed (exit 0)" "0 yes" \
	"$rc $(grep -q '^SIGNED ' <<<"$out" && echo yes)"
check "openssl pkeyutl verifies manifest.json.sig with the public key" "Signature Verified Successfully" \
	"$(openssl pkeyutl -verify -pubin -inkey "$TMP/sign.key.pub" -rawin -in "$REC/signed/manifest.json" \
		-sigfile "$REC/signed/manifest.json.sig" 2>&1)"
secret=$(sed -n 2p "$TMP/sign.key")
check "the secret key is in no status, log or audit" "0" \
	"$( (json status; json record status; cat "$TMP/tolk.log" "$REC/audit.jsonl" "$REC"/signed/*.json*) 2>/dev/null | grep -c -F "$secret")"

cp -a "$REC/signed" "$TMP/pristine"
flac=$(ls "$REC"/signed/*_fr_*.flac | head -1)
printf '\x55' | dd of="$flac" bs=1 seek=$(( $(stat -c %s "$flac") / 2 )) conv=notrunc status=none
out=$($V --key "$TMP/sign.key.pub" "$REC/signed"); rc=$?
check "one byte of a FLAC flipped: caught (exit 1), the file named" "1 yes" \
	"$rc $(grep -q "^MISMATCH  $flac" <<<"$out" && echo yes)"

# The manifest edited to match the changed file, as someone who can write
# the folder would: the hashes agree again, the signature does not.
rm -rf "$REC/signed"; cp -a "$TMP/pristine" "$REC/signed"
printf '\x55' | dd of="$flac" bs=1 seek=$(( $(stat -c %s "$flac") / 2 )) conv=notrunc status=none
old=$(grep -o "\"file\":\"$(basename "$flac")\"[^}]*\"sha256\":\"[0-9a-f]*\"" "$REC/signed/manifest.json" | grep -o '[0-9a-f]\{64\}')
new=$(sha256sum "$flac" | cut -d' ' -f1)
sed -i "s/$old/$new/" "$REC/signed/manifest.json"
out=$($V "$REC/signed"); rc=$?
check "re-hashed manifest: without the key the hashes alone agree (exit 0)" "0" "$rc"
out=$($V --key "$TMP/sign.key.pub" "$REC/signed"); rc=$?
check "re-hashed manifest: --key catches it (exit 1), naming manifest.json" "1 yes" \
	"$rc $(grep -q "^BAD SIGNATURE $REC/signed/manifest.json" <<<"$out" && echo yes)"

rm -rf "$REC/signed"; cp -a "$TMP/pristine" "$REC/signed"
gone=$(ls "$REC"/signed/*_de_*.opus | head -1)
rm "$gone"
out=$($V --key "$TMP/sign.key.pub" "$REC/signed"); rc=$?
check "a file missing: caught (exit 1), the file named" "1 yes" "$rc $(grep -q "^MISSING   $gone" <<<"$out" && echo yes)"

rm -rf "$REC/signed"; cp -a "$TMP/pristine" "$REC/signed"
rm "$REC/signed/manifest.json.sig"
out=$($V --key "$TMP/sign.key.pub" "$REC/signed"); rc=$?
check "the signature removed: caught (exit 1)" "1 yes" "$rc $(grep -q '^UNSIGNED ' <<<"$out" && echo yes)"

$V --keygen "$TMP/other.key" >/dev/null
rm -rf "$REC/signed"; cp -a "$TMP/pristine" "$REC/signed"
out=$($V --key "$TMP/other.key.pub" "$REC/signed"); rc=$?
check "another key's public half does not pass it" "1" "$rc"

check_true "engine still running" "" kill -0 "$TOLK_PID"
finish
