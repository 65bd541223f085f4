#!/bin/sh
# playwright-core for the web page test, from npm at the version the lock
# file pins. Idempotent: nothing happens when it is there already.
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/playwright-core/package.json ]; then
	echo "web test: installing playwright-core from npm"
	npm ci --no-audit --no-fund --loglevel=error
fi
