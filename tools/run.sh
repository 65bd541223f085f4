#!/bin/sh
# make run: start Tolk on a config (default channels.yaml). When no JACK
# server answers, start one first with the dummy backend (no sound card
# needed) and stop it again, by its PID, when Tolk exits.
set -u
cd "$(dirname "$0")/.."
CONFIG=${1:-channels.yaml}
export JACK_NO_START_SERVER=1
JACKD_PID=""
TOLK_PID=""

stop_jackd() {
	if [ -n "$JACKD_PID" ]; then
		kill -TERM "$JACKD_PID" 2>/dev/null
		wait "$JACKD_PID" 2>/dev/null
		echo "run: stopped the dummy JACK server"
	fi
}
trap stop_jackd EXIT
# Ctrl-C reaches Tolk itself (same process group); the script waits for it.
trap 'if [ -n "$TOLK_PID" ]; then kill -TERM "$TOLK_PID" 2>/dev/null; fi' INT TERM

if ! jack_lsp >/dev/null 2>&1; then
	echo "run: no JACK server answers; starting jackd -d dummy -r 48000 -p 256"
	mkdir -p build
	# Its own session, so that Ctrl-C stops Tolk first and the server after.
	setsid jackd -d dummy -r 48000 -p 256 >build/jackd.log 2>&1 &
	JACKD_PID=$!
	i=0
	until jack_lsp >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$JACKD_PID" 2>/dev/null; then
			echo "run: jackd did not start; see build/jackd.log" >&2
			cat build/jackd.log >&2
			exit 1
		fi
		sleep 0.1
	done
fi

echo "run: starting Tolk on $CONFIG. In another terminal: build/tolkctl status"
echo "run: Ctrl-C stops it."
build/tolk --config "$CONFIG" --reconnect &
TOLK_PID=$!
status=""
while [ -z "$status" ]; do
	wait "$TOLK_PID"
	rc=$?
	# wait returns early (status > 128) when a trapped signal arrives.
	if ! kill -0 "$TOLK_PID" 2>/dev/null; then
		status=$rc
	fi
done
exit "$status"
