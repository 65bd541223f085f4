#!/bin/bash
# Integration test of the archive as auditors meet it, on a real JACK
# server: a signed manifest (recording.signing_key) checked by tolk-verify
# --key and by openssl, and caught when a file or the manifest is changed;
# the key file's own checks at start-up; the Archive view over HTTP (curl:
# tokens, ranges, traversal) and in Debian's chromium (test/web/archive_test.mjs:
# lanes, a click that plays from the right moment).
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

PORT=$((18100 + RANDOM % 800))
TECH=tech-$RANDOM-$RANDOM-token
OBS=obs-$RANDOM-$RANDOM-token
FR=fr-$RANDOM-$RANDOM-token
sed "s|  mics: true|  mics: true\n  signing_key: $TMP/sign.key|" test/integration/record_room.yaml >"$TMP/room.yaml"
cat >>"$TMP/room.yaml" <<YAML
web:
  listen: "127.0.0.1:$PORT"
  tokens: { technician: "$TECH", observer: "$OBS", booths: { fr: "$FR" } }
YAML

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
ctl mic fr 1 on >/dev/null # fr: the floor's 440 Hz, then the mic's 600 Hz from here
sleep 3
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
flac=$(ls "$REC"/signed/signed_fr_*.flac | head -1)
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
gone=$(ls "$REC"/signed/signed_de_*.opus | head -1)
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

rm -rf "$REC/signed"; cp -a "$TMP/pristine" "$REC/signed"

# ---- the Archive view over HTTP --------------------------------------------
BASE="http://127.0.0.1:$PORT"
get() { curl -s -o "$TMP/body" -w '%{http_code}' --path-as-is "$@"; }
check "/api/archive: the technician token" "200" "$(get -H "Authorization: Bearer $TECH" "$BASE/api/archive")"
check "lists the meeting, signed" "yes" "$(grep -q '"name":"signed"[^}]*"signed":true' "$TMP/body" && echo yes)"
check "/api/archive: the observer token too" "200" "$(get -H "Authorization: Bearer $OBS" "$BASE/api/archive")"
check "/api/archive: an interpreter's token is refused" "403" "$(get -H "Authorization: Bearer $FR" "$BASE/api/archive")"
check "/api/archive: no token, no archive" "401" "$(get "$BASE/api/archive")"
opus=$(basename "$(ls "$REC"/signed/signed_fr_*.opus)")
size=$(stat -c %s "$REC/signed/$opus")
code=$(curl -s -D "$TMP/headers" -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $OBS" -r 100-1123 \
	"$BASE/archive/signed/$opus")
check "a range of an Opus file: 206 Partial Content" "206" "$code"
check "with its Content-Range and Accept-Ranges" "yes" \
	"$(grep -qi "^Content-Range: bytes 100-1123/$size" "$TMP/headers" && grep -qi '^Accept-Ranges: bytes' "$TMP/headers" && echo yes)"
check "and exactly those bytes" "same" "$(dd if="$REC/signed/$opus" bs=1 skip=100 count=1024 status=none | cmp -s - "$TMP/body" && echo same)"
check "the whole file without a range: 200, audio/ogg" "200 yes" \
	"$(get -H "Authorization: Bearer $OBS" "$BASE/archive/signed/$opus") $(cmp -s "$TMP/body" "$REC/signed/$opus" && echo yes)"
check "a range past the end: 416" "416" "$(get -H "Authorization: Bearer $OBS" -r "$((size + 10))-" "$BASE/archive/signed/$opus")"
ln -s /etc/passwd "$REC/signed/passwd.opus"
ln -s /etc "$REC/outside"
before=$(grep -c 'GET /archive/' "$REC/audit.jsonl" 2>/dev/null)
for path in "/archive/../../etc/passwd" "/archive/signed/../../../etc/passwd" "/archive/%2e%2e/%2e%2e/etc/passwd" \
	"/archive/signed/..%2f..%2f..%2fetc%2fpasswd" "/archive//etc/passwd" "/archive/signed//etc/passwd" \
	"/archive/%252e%252e/etc/passwd" "/archive/signed/passwd.opus" "/archive/outside/passwd" \
	"/archive/signed/.manifest.json.tmp" "/archive/signed/%2fetc%2fpasswd"; do
	code=$(get -H "Authorization: Bearer $TECH" "$BASE$path")
	[ "$code" = 404 ] && ! grep -q 'root:' "$TMP/body" || fail "traversal $path" "$code $(head -c 80 "$TMP/body")"
	echo "$path -> $code" >>"$TMP/traversal"
	sleep 0.25 # within the audit's burst a second: each in full, none summed up
done
check "11 traversal attempts ('..', encoded, absolute, links out, hidden): all 404" "11" "$(grep -c ' -> 404$' "$TMP/traversal")"
wait_for 3 sh -c "[ \$(grep -c 'GET /archive/' '$REC/audit.jsonl') -ge $((before + 11)) ]"
check "each refusal has an audit line (refused, the path, the token, the reason)" "11" \
	"$(grep '"command":"GET /archive/' "$REC/audit.jsonl" | grep '"result":"refused"' |
	   grep '"token":"technician"' | grep -c '"error":"')"
check_true "a link out is named as such" "$(grep 'passwd.opus' "$REC/audit.jsonl" | tail -1)" \
	sh -c "grep 'GET /archive/signed/passwd.opus' '$REC/audit.jsonl' | grep -q '\"error\":\"a link\"'"
rm "$REC/signed/passwd.opus" "$REC/outside"

# ---- clips from the web ------------------------------------------------------
code=$(curl -s -D "$TMP/headers" -o "$TMP/web-clip.wav" -w '%{http_code}' -H "Authorization: Bearer $OBS" \
	"$BASE/api/clip?meeting=signed&channel=fr&from=%2B1&to=%2B2.5&format=wav")
check "GET /api/clip: 200, as a download" "200 yes" \
	"$code $(grep -qi '^Content-Disposition: attachment; filename="signed_fr_clip.wav"' "$TMP/headers" && echo yes)"
fr_flac=$(ls "$REC"/signed/signed_fr_*.flac)
check "the web clip holds the recorded samples from +1 s to +2.5 s" \
	"$(sox "$fr_flac" -t s32 - trim 48000s 72000s | md5sum | cut -d' ' -f1)" \
	"$(sox "$TMP/web-clip.wav" -t s32 - 2>/dev/null | md5sum | cut -d' ' -f1)"
check "its provenance comes with it (X-Tolk-Provenance: the clip's hash, the source's)" "yes yes" \
	"$(grep -i '^X-Tolk-Provenance:' "$TMP/headers" | grep -q "\"sha256\":\"$(sha256sum "$TMP/web-clip.wav" | cut -d' ' -f1)\"" && echo yes) \
$(grep -i '^X-Tolk-Provenance:' "$TMP/headers" | grep -q "$(sha256sum "$fr_flac" | cut -d' ' -f1)" && echo yes)"
check "a clip past the recording: 400, saying why" "400 yes" \
	"$(get -H "Authorization: Bearer $OBS" "$BASE/api/clip?meeting=signed&channel=fr&from=%2B1&to=%2B99") $(grep -q 'must lie within' "$TMP/body" && echo yes)"
check "a clip of another folder: 404" "404" \
	"$(get -H "Authorization: Bearer $OBS" "$BASE/api/clip?meeting=..&channel=fr&from=%2B1&to=%2B2")"
check "a clip without its times: 400" "400" "$(get -H "Authorization: Bearer $OBS" "$BASE/api/clip?meeting=signed&channel=fr")"
check "an interpreter's token cuts no clip" "403" \
	"$(get -H "Authorization: Bearer $FR" "$BASE/api/clip?meeting=signed&channel=fr&from=%2B1&to=%2B2")"
check "no temporary clip is left behind" "" "$(ls -d "${TMPDIR:-/tmp}"/tolk-clip-* 2>/dev/null)"

# ---- the Archive view in a browser -------------------------------------------
sh test/web/install.sh >/dev/null
mkdir -p build/test
BASE="$BASE" TECH="$TECH" OBS="$OBS" REC="$REC" SHOT="$(pwd)/build/test/archive-page.png" \
	node test/web/archive_test.mjs >"$TMP/web.out" 2>&1
rc=$?
cat "$TMP/web.out" | grep -v '^\[  PASSED\|^\[  FAILED  \] [0-9]* test'
ok=$((ok + $(grep -c '^\[       OK' "$TMP/web.out")))
bad=$((bad + $(grep -c '^\[  FAILED  \] [^0-9]' "$TMP/web.out")))
[ $rc -ne 0 ] && ! grep -q '^\[  FAILED' "$TMP/web.out" && fail "the browser test runs" "exit $rc: $(tail -5 "$TMP/web.out")"

check_true "engine still running" "" kill -0 "$TOLK_PID"
finish
