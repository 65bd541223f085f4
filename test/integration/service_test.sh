#!/bin/bash
# Tolk as systemd runs it, without systemd: the test listens on the
# NOTIFY_SOCKET it gives the engine (build/test/notify_listen) with a 1 s
# WATCHDOG_USEC, and sees READY=1 once the ports are up, STATUS= lines
# that follow the room, WATCHDOG=1 twice a second, no WATCHDOG while the
# process callback is stalled (jackd stopped with SIGSTOP: the server is
# there, the callback does not run) and WATCHDOG again when it runs,
# STOPPING=1 at the end. With JOURNAL_STREAM naming its stderr, log lines
# carry syslog priorities (jack-down an error, floor-silent a warning).
# The unit file passes systemd-analyze verify wherever tolk is installed
# (the package test does that); here its syntax and hardening are read.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
NOTIFY="$TMP/notify.sock"
{
	room_two_languages itest-service
	cat <<EOF
recording: { formats: [flac], autostart: true }
alarms: { floor_silent_db: -50, floor_silent_seconds: 1, clear_seconds: 0.5 }
EOF
} >"$TMP/council.yaml"

$B/test/notify_listen "$NOTIFY" >"$TMP/notify.out" 2>&1 &
PIDS+=("$!")
wait_for 5 grep -q listening "$TMP/notify.out"
# pings_between FROM_MS TO_MS: WATCHDOG=1 lines received in that window
pings_between() { awk -v a="$1" -v b="$2" '$2 == "WATCHDOG=1" && $1 >= a && $1 < b' "$TMP/notify.out" | wc -l; }
now_ms() { tail -1 "$TMP/notify.out" | awk '{print $1}'; }
clock0=$(date +%s%3N)
since_ms() { echo $(($(date +%s%3N) - clock0)); }

start_jackd
NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=1000000 start_tolk tolk "$SOCK" --config "$TMP/council.yaml" ||
	{ fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
check_true "READY=1 is sent" "$(cat "$TMP/notify.out")" wait_for 5 grep -q ' READY=1$' "$TMP/notify.out"
check_true "the ports are up when READY=1 comes" "$(jack_lsp -s "$SERVER" | head)" \
	sh -c "jack_lsp -s '$SERVER' | grep -q '^tolk:out_fr$'"
check_true "STATUS= says the room, JACK, the recording" "$(grep STATUS= "$TMP/notify.out")" \
	wait_for 5 grep -q ' STATUS=council: JACK up, recording itest-service, 0 console(s) live, ' "$TMP/notify.out"
$B/tolkctl --control "$SOCK" mic fr 1 on >/dev/null
check_true "STATUS= follows a console going live" "$(grep STATUS= "$TMP/notify.out" | tail -2)" \
	wait_for 5 grep -q ' STATUS=council: JACK up, recording itest-service, 1 console(s) live' "$TMP/notify.out"
sleep 3
t=$(since_ms)
n=$(pings_between $((t - 2500)) "$t")
check_true "WATCHDOG=1 twice a second while both loops run ($n in 2.5 s)" "$n" test "$n" -ge 4 -a "$n" -le 7

# The process callback stalls: the server is there but runs no cycle.
kill -STOP "$JACKD_PID"
stop_t=$(since_ms)
sleep 3
cont_t=$(since_ms)
kill -CONT "$JACKD_PID"
n=$(pings_between $((stop_t + 700)) "$cont_t")
check "no WATCHDOG=1 while the process callback is stalled" 0 "$n"
check_true "the log says the callback stopped and the watchdog is not fed" "$(tail -3 "$TMP/tolk.log")" \
	grep -q "ALARM: the process callback has not run for [0-9]* ms while the JACK server is up" "$TMP/tolk.log"
sleep 2
t=$(since_ms)
n=$(pings_between $((t - 1500)) "$t")
check_true "WATCHDOG=1 again once the callback runs ($n in 1.5 s)" "$n" test "$n" -ge 2
check_true "tolk is still running" "" kill -0 "$TOLK_PID"
stop_pid "$TOLK_PID"
check_true "STOPPING=1 at the end" "$(tail -3 "$TMP/notify.out")" grep -q ' STOPPING=1$' "$TMP/notify.out"

# The journal: JOURNAL_STREAM names the stream stderr is (device:inode).
: >"$TMP/journal.log"
JOURNAL_STREAM="$(stat -c '%d:%i' "$TMP/journal.log")" $B/tolk --server "$SERVER" --name tolkj \
	--control "$TMP/j.sock" --record-dir "$TMP/rec" --config "$TMP/council.yaml" --reconnect 2>>"$TMP/journal.log" &
JPID=$!
PIDS+=("$JPID")
wait_for 10 $B/tolkctl --control "$TMP/j.sock" status
check_true "journal: info lines carry <6> and no timestamp" "$(head -3 "$TMP/journal.log")" \
	grep -q '^<6>tolk: running: client' "$TMP/journal.log"
check_true "journal: floor-silent is a warning (<4>)" "$(grep floor-silent "$TMP/journal.log")" \
	wait_for 5 grep -q '^<4>tolk: ALARM: alarm floor-silent' "$TMP/journal.log"
stop_pid "$JACKD_PID"
check_true "journal: jack-down is an error (<3>)" "$(grep -i jack "$TMP/journal.log")" \
	wait_for 10 grep -q '^<3>tolk: ALARM: alarm jack-down' "$TMP/journal.log"
check_true "journal: no line without a priority" "$(grep -v '^<[0-7]>' "$TMP/journal.log" | head -3)" \
	sh -c "! grep -qv '^<[0-7]>tolk: ' '$TMP/journal.log'"
stop_pid "$JPID"
# Not the journal's stream (another file's device:inode): plain lines.
JOURNAL_STREAM="1:1" $B/tolk --check "$TMP/council.yaml" >/dev/null 2>&1
check_true "a JOURNAL_STREAM naming another stream leaves the timestamps" "$(grep -c '^20' "$TMP/tolk.log")" \
	grep -q '^20[0-9-]*T[0-9:.]*Z tolk: running' "$TMP/tolk.log"

# The unit: systemd reads it, and its hardening is what README says.
UNIT="contrib/systemd/tolk@.service"
mkdir -p "$TMP/unit"
cp "$UNIT" "$TMP/unit/"
systemd-analyze verify "$TMP/unit/tolk@council.service" >"$TMP/verify.out" 2>&1
check_true "systemd-analyze verify: nothing wrong but what only an install provides" "$(cat "$TMP/verify.out")" \
	sh -c "! grep -v 'is not executable: No such file or directory\|Command .man .*failed with code' '$TMP/verify.out' | grep -q ."
for key in Type=notify WatchdogSec= NotifyAccess=main LimitRTPRIO= LimitMEMLOCK=infinity ProtectSystem=strict \
	PrivateTmp=yes 'RestrictAddressFamilies=AF_UNIX$' SupplementaryGroups=audio 'ExecStart=.*/etc/tolk/%i.yaml'; do
	check_true "the unit has $key" "" grep -q "^$key" "$UNIT"
done
exposure=$(systemd-analyze security --offline=yes "$TMP/unit/tolk@.service" 2>/dev/null | awk '/Overall exposure level/ {print $(NF-2)}')
check_true "systemd-analyze security: exposure $exposure, at most 4 (OK)" "$exposure" \
	awk -v x="${exposure:-10}" 'BEGIN { exit !(x <= 4.0) }'
finish
