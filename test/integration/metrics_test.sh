#!/bin/bash
# GET /metrics as a control room's Prometheus meets it: a real engine on a
# dummy jackd, its exposition checked by promtool, scraped by Debian's
# real Prometheus server with the scrape token (from a file), and the
# shipped alerting rules (contrib/prometheus/) loaded there, checked and
# unit-tested by promtool; JACK killed under a --reconnect engine makes
# TolkJackDown fire in that Prometheus. Who may read the metrics: the
# technician's, the observer's and the scrape token; the scrape token
# opens nothing else.
set -u
cd "$(dirname "$0")/../.."

. test/integration/lib.sh

SOCK="$TMP/tolk.sock"
FREQS=440,600
PORT=$((19000 + RANDOM % 500))
PPORT=$((19600 + RANDOM % 300))
TECH=tech-$RANDOM-$RANDOM-token
OBSERVER=observer-$RANDOM-$RANDOM-token
SCRAPE=scrape-$RANDOM-$RANDOM-token
ctl() { $B/tolkctl --control "$SOCK" "$@"; }

# The file is council.yaml and names no room: the room is "council".
{
	room_two_languages itest-metrics
	cat <<EOF
recording: { formats: [flac], autostart: true }
web:
  listen: "127.0.0.1:$PORT"
  tokens: { technician: "$TECH", observer: "$OBSERVER", metrics: "$SCRAPE" }
EOF
} >"$TMP/council.yaml"

# get TOKEN PATH: the status code, the body in $TMP/body
get() {
	curl -s -o "$TMP/body" -w '%{http_code}' ${1:+-H "Authorization: Bearer $1"} "http://127.0.0.1:$PORT$2"
}
metric() { # metric 'NAME{LABELS}': its value in the last scrape ($TMP/metrics)
	grep -F "$1 " "$TMP/metrics" | awk '{print $NF}'
}

start_jackd
start_tolk tolk "$SOCK" --config "$TMP/council.yaml" --reconnect ||
	{ fail "tolk starts" "$(cat "$TMP/tolk.log")"; finish; }
start_tones tolk:floor_main:440 tolk:mic_fr_1:600
ctl mic fr 1 on >/dev/null
sleep 3.5 # the short-term loudness has its 3 s

check "the scrape token reads /metrics" 200 "$(get "$SCRAPE" /metrics)"
cp "$TMP/body" "$TMP/metrics"
check "Content-Type is Prometheus's text format 0.0.4" "text/plain; version=0.0.4; charset=utf-8" \
	"$(curl -s -o /dev/null -w '%{content_type}' -H "Authorization: Bearer $SCRAPE" "http://127.0.0.1:$PORT/metrics")"
promtool check metrics <"$TMP/metrics" >"$TMP/lint" 2>&1
check_true "promtool check metrics: clean" "$(cat "$TMP/lint")" test $? -eq 0 -a ! -s "$TMP/lint"
check "build info names the version, the room from the file's name and the JACK server" 1 \
	"$(metric "tolk_build_info{room=\"council\",version=\"$($B/tolk --version | awk '{print $NF}')\",jack_server=\"$SERVER\"}")"
check "JACK up, 48 kHz, 256-frame period" "1 48000 0.00533333333333333" \
	"$(metric 'tolk_jack_up{room="council"}') $(metric 'tolk_jack_sample_rate_hertz{room="council"}') $(metric 'tolk_jack_period_seconds{room="council"}')"
check "fr is fed by fr/1, live" "1 1" \
	"$(metric 'tolk_channel_info{room="council",channel="fr",name="Français",kind="interpreter",source="fr/1"}') $(metric 'tolk_channel_live{room="council",channel="fr"}')"
check "en is idle on the floor" 1 "$(metric 'tolk_channel_info{room="council",channel="en",name="English",kind="idle",source="floor"}')"
check "fr's RMS is the 0.5 sine's (-9 dBFS)" -9 "$(printf '%.0f' "$(metric 'tolk_channel_rms_dbfs{room="council",channel="fr"}')")"
check_true "fr's peak and short-term loudness are the tone's" "$(grep -E '_(peak_dbfs|lufs)\{room="council",channel="fr"' "$TMP/metrics")" \
	awk -v p="$(metric 'tolk_channel_peak_dbfs{room="council",channel="fr"}')" \
	-v s="$(metric 'tolk_channel_short_term_loudness_lufs{room="council",channel="fr"}')" \
	'BEGIN { exit !(p > -6.5 && p < -5.5 && s > -12 && s < -8) }'
check "one console live" 1 "$(metric 'tolk_consoles_live{room="council"}')"
check "recording, nothing dropped" "1 0" \
	"$(metric 'tolk_recording_state{room="council",state="recording"}') $(metric 'tolk_recording_dropped_frames_total{room="council"}')"
check_true "process time: the summary's quantiles, sum and count" "$(grep '^tolk_process_time' "$TMP/metrics")" \
	test "$(grep -c '^tolk_process_time_seconds{room="council",quantile="\(0.5\|0.99\|1\)"}' "$TMP/metrics")" -eq 3 \
	-a "$(metric 'tolk_process_time_seconds_count{room="council"}')" -gt 100
check_true "counters end in _total, and every family has HELP and TYPE" "$(grep '^# TYPE' "$TMP/metrics" | head -40)" \
	sh -c "! grep '^# TYPE .* counter' '$TMP/metrics' | grep -v '_total counter' | grep -q . &&
		test \$(grep -c '^# HELP tolk_' '$TMP/metrics') -eq \$(grep -c '^# TYPE tolk_' '$TMP/metrics')"
check_true "the limiter's interventions, a count per console" "$(grep '^tolk_limiter' "$TMP/metrics")" \
	test "$(grep -c '^tolk_limiter_interventions_total{room="council",booth="fr",console="[12]"} [0-9]*$' "$TMP/metrics")" -eq 2

check "the technician's token reads /metrics" 200 "$(get "$TECH" /metrics)"
check "the observer's token reads /metrics" 200 "$(get "$OBSERVER" /metrics)"
check "no token: 401, with WWW-Authenticate" "401 Bearer" \
	"$(get "" /metrics) $(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/metrics" | grep -i '^WWW-Authenticate' | awk '{print $2}')"
check "a wrong token: 401" 401 "$(get "not-the-token-at-all-0000" /metrics)"
check "the scrape token opens no page" 403 "$(get "$SCRAPE" /)"
check "the scrape token runs no command" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SCRAPE" --data 'mic fr 1 off' "http://127.0.0.1:$PORT/api/command")"
check "the scrape token reads no archive" 403 "$(get "$SCRAPE" /api/archive)"
check_true "the scrape token is in no log or audit" "$(grep -rl "$SCRAPE" "$TMP/tolk.log" "$TMP/rec" 2>/dev/null)" \
	sh -c "! grep -rqF '$SCRAPE' '$TMP/tolk.log' '$TMP/rec'"

# The shipped rules: valid, and their unit tests pass.
promtool check rules contrib/prometheus/tolk-alerts.yml >"$TMP/rules.out" 2>&1
check_true "promtool check rules contrib/prometheus/tolk-alerts.yml" "$(cat "$TMP/rules.out")" test $? -eq 0
(cd contrib/prometheus && promtool test rules tolk-alerts.test.yml) >"$TMP/rtest.out" 2>&1
check_true "promtool test rules: every alert's cases pass" "$(tail -20 "$TMP/rtest.out")" \
	sh -c "grep -q SUCCESS '$TMP/rtest.out' && ! grep -q FAILED '$TMP/rtest.out'"

# A real Prometheus scraping this engine with the rules loaded.
printf '%s\n' "$SCRAPE" >"$TMP/scrape.token"
cat >"$TMP/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [ "$(pwd)/contrib/prometheus/tolk-alerts.yml" ]
scrape_configs:
  - job_name: tolk
    authorization: { credentials_file: "$TMP/scrape.token" }
    static_configs: [ { targets: [ "127.0.0.1:$PORT" ] } ]
EOF
promtool check config "$TMP/prometheus.yml" >"$TMP/pconf.out" 2>&1
check_true "promtool check config: the scrape config is valid" "$(cat "$TMP/pconf.out")" test $? -eq 0
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address="127.0.0.1:$PPORT" >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
query() { # query PROMQL: the JSON answer
	curl -s --get --data-urlencode "query=$1" "http://127.0.0.1:$PPORT/api/v1/query"
}
check_true "Prometheus scrapes tolk: the target is up" "$(curl -s "http://127.0.0.1:$PPORT/api/v1/targets" | head -c 600)" \
	wait_for 30 sh -c "curl -s 'http://127.0.0.1:$PPORT/api/v1/targets' | grep -q '\"health\":\"up\"'"
check_true "Prometheus has fr live in room council" "$(query 'tolk_channel_live{channel="fr"}')" \
	wait_for 10 sh -c "curl -s --get --data-urlencode 'query=tolk_channel_live{channel=\"fr\",room=\"council\",job=\"tolk\"} == 1' \
		'http://127.0.0.1:$PPORT/api/v1/query' | grep -q '\"value\":\[[0-9.]*,\"1\"\]'"
check_true "Prometheus loaded the shipped rules, every one healthy" "$(curl -s "http://127.0.0.1:$PPORT/api/v1/rules" | head -c 600)" \
	sh -c "r=\$(curl -s 'http://127.0.0.1:$PPORT/api/v1/rules'); test \$(echo \"\$r\" | grep -o '\"health\":\"ok\"' | wc -l) -eq 9 &&
		! echo \"\$r\" | grep -q '\"health\":\"err'"

# The JACK server goes: the engine stays (--reconnect) and says so; the
# alert fires in Prometheus.
stop_pid "$JACKD_PID"
check_true "after JACK goes, the engine's metrics say tolk_jack_up 0 and jack-down is active" "$(get "$SCRAPE" /metrics; grep -E 'jack_up|jack-down' "$TMP/body")" \
	wait_for 10 sh -c "curl -s -H 'Authorization: Bearer $SCRAPE' http://127.0.0.1:$PORT/metrics >'$TMP/down' &&
		grep -q '^tolk_jack_up{room=\"council\"} 0' '$TMP/down' &&
		grep -q '^tolk_alarm_active{room=\"council\",kind=\"jack-down\",subject=\"\",acked=\"false\"} 1' '$TMP/down'"
promtool check metrics <"$TMP/down" >"$TMP/lint2" 2>&1
check_true "promtool check metrics: clean with JACK gone too" "$(cat "$TMP/lint2")" test $? -eq 0 -a ! -s "$TMP/lint2"
check_true "TolkJackDown fires in Prometheus, for room council" "$(query 'ALERTS')" \
	wait_for 30 sh -c "curl -s --get --data-urlencode 'query=ALERTS{alertname=\"TolkJackDown\",alertstate=\"firing\",room=\"council\"}' \
		'http://127.0.0.1:$PPORT/api/v1/query' | grep -q TolkJackDown"
stop_pid "$PROM_PID"
finish
