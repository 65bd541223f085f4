#!/bin/bash
# Integration test of roles and the audit log: tolkctl run as other users
# (setpriv), identified by the kernel's peer credentials.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

chmod 711 "$TMP"
SOCK="$TMP/pub/tolk.sock"
cp test/integration/roles_room.yaml "$TMP/roles.yaml"

as_user() { # as_user UID GID tolkctl-args...
	local uid=$1 gid=$2
	shift 2
	setpriv --reuid="$uid" --regid="$gid" --clear-groups $B/tolkctl --control "$SOCK" "$@"
}

# An unknown user is a config error with its place, before anything starts.
sed 's/observers: \[nobody\]/observers: [nobody, no-such-user-here]/' "$TMP/roles.yaml" >"$TMP/bad.yaml"
out=$($B/tolk --config "$TMP/bad.yaml" --server "$SERVER" --control "$TMP/bad.sock" 2>&1); rc=$?
check "unknown user: exit 2 with file:line:col" "2:$TMP/bad.yaml:10:23: unknown user 'no-such-user-here'" "$rc:$out"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "note: not root (or no setpriv): the other-user checks did not run"
	finish
fi

start_jackd
start_tolk tolk "$SOCK" --config "$TMP/roles.yaml" || { fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
check "with roles the socket is open to others, the folder only passable" "666 711" \
	"$(stat -c %a "$SOCK") $(stat -c %a "$TMP/pub")"

out=$(as_user nobody nogroup status); rc=$?
check "observer: status allowed" "0" "$rc"
out=$(as_user nobody nogroup --json mic fr 1 on); rc=$?
check "observer: cannot switch a mic" \
	'1:{"ok":false,"error":"permission denied: an observer may use status, events, meters, record status, inserts, exposure, help, console and incidents only"}' "$rc:$out"
out=$(as_user nobody nogroup --json record start x); rc=$?
check "observer: cannot start a recording" "1" "$rc"
out=$(as_user 4242 4242 --json status); rc=$?
check "no role: refused with a clear error" \
	'1:{"ok":false,"error":"permission denied: uid 4242 has no role on this engine (control: technicians, observers)"}' "$rc:$out"
out=$($B/tolkctl --control "$SOCK" --json mic fr 1 on); rc=$?
check "technician: switches the mic" "0" "$rc"
check "refusals are logged" "3" "$(grep -c 'refused uid' "$TMP/tolk.log")"

AUDIT="$TMP/rec/audit.jsonl"
check "audit log is 0640" "640" "$(stat -c %a "$AUDIT")"
check "audit: every refusal" "3" "$(grep -c '"result":"refused"' "$AUDIT")"
check "audit: an accepted read is not a line of its own" "0" \
	"$(grep -c '"user":"nobody"},"command":"status","result":"ok"' "$AUDIT")"
check "audit: the observer's connection opened and closed, with its one read" "yes" \
	"$(grep -q '"user":"nobody"},"command":"(connect)","result":"ok"' "$AUDIT" &&
	   grep -q '"user":"nobody"},"command":"(disconnect)","result":"ok","reads":1,"why":"closed"' "$AUDIT" && echo yes)"
check "audit: a refusal names actor, command and error" "1" \
	"$(grep -c '"actor":{"uid":65534,"gid":65534,"pid":[0-9]*,"user":"nobody"},"command":"mic fr 1 on","result":"refused","error":"permission denied' "$AUDIT")"
check "audit: an accepted change carries the state change" "1" \
	"$(grep -c '"user":"root"},"command":"mic fr 1 on","result":"ok","changes":\["mic fr/1 on"\]' "$AUDIT")"

# Without a control section the socket stays private.
start_tolk private "$TMP/private/tolk.sock" --config test/integration/room.yaml --no-record
check "without roles: socket 0600 in a 0700 folder" "600 700" \
	"$(stat -c %a "$TMP/private/tolk.sock") $(stat -c %a "$TMP/private")"
finish
