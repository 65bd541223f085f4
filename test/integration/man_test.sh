#!/bin/bash
# The man pages (docs/man/*.scd, built by scdoc into build/man): groff
# reads them without a warning (man --warnings), each program's page
# names exactly the options its --help names, tolkctl's page the commands
# its --help lists, and tolk.yaml(5) every key the config loader accepts
# (asked of the loader itself: an unknown key's error lists them).
set -u
cd "$(dirname "$0")/../.."

. test/integration/results.sh
B=build
TMP=$(mktemp -d /tmp/tolk-mantest.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

for page in tolk.1 tolkctl.1 tolk-verify.1 tolk.yaml.5; do
	if [ ! -s "$B/man/$page" ]; then
		fail "$page is built" "no $B/man/$page (make man)"
		continue
	fi
	warnings=$(man --warnings -l "$B/man/$page" 2>&1 >/dev/null)
	check "man --warnings -l $page: no warning" "" "$warnings"
	MANWIDTH=100 man -l "$B/man/$page" 2>/dev/null | col -b >"$TMP/$page.txt"
	check "$page renders with NAME, SYNOPSIS and SEE ALSO" 3 \
		"$(grep -c '^NAME$\|^SYNOPSIS$\|^SEE ALSO$' "$TMP/$page.txt")"
done

# options PROGRAM: the long options its --help names, sorted
options_help() { $B/$1 --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' '; }
options_man() { grep -o -- '\*--[a-z][a-z-]*\*' "docs/man/$1.1.scd" | tr -d '*' | sort -u | tr '\n' ' '; }
for prog in tolk tolkctl tolk-verify; do
	check "$prog(1) names the options its --help names" "$(options_help $prog)" "$(options_man $prog)"
done
# tolkctl: the commands (the first word of each command line in --help)
cmds_help=$($B/tolkctl --help | sed -n '/^Commands:/,/^$/p' | grep -o '^  [a-z][a-z-]*' | sort -u | tr -d ' ' | tr '\n' ' ')
cmds_man=$(sed -n '/^# COMMANDS/,/^# EXIT/p' docs/man/tolkctl.1.scd | grep -o '^\*[a-z][a-z-]*' | tr -d '*' | sort -u | tr '\n' ' ')
check "tolkctl(1) lists the commands tolkctl --help lists" "$cmds_help" "$cmds_man"

# tolk.yaml(5): every key of every table, from the loader's own error.
keys_of() { # keys_of YAML: the keys the error after the unknown key 'zzz' lists
	printf '%s\n' "$1" >"$TMP/k.yaml"
	$B/tolk --check "$TMP/k.yaml" 2>&1 | sed -n 's/.*expected one of: \(.*\))$/\1/p' | tr -d ','
}
BASE=$'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]'
declare -A tables=(
	[top]=$'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en }]\nzzz: 1'
	[floor]=$'meeting: m\nfloor: { inputs: [main], zzz: 1 }\nlanguages: [{ code: en }]'
	[language]=$'meeting: m\nfloor: { inputs: [main] }\nlanguages: [{ code: en, zzz: 1 }]'
	[booth]="$BASE"$'\nbooths: [{ id: a, outputs: [en], zzz: 1 }]'
	[web.tokens]="$BASE"$'\nweb: { listen: 1, tokens: { zzz: 1 } }'
	[web.tls]="$BASE"$'\nweb: { listen: 1, tls: { zzz: 1 } }'
	[stream.icecast]="$BASE"$'\nstream: { icecast: { zzz: 1 } }'
	[midi.map]="$BASE"$'\nmidi: { map: { zzz: 1 } }'
	[rtp.destination]="$BASE"$'\nrtp: { destinations: [{ zzz: 1 }] }'
	[rtp.janus]="$BASE"$'\nrtp: { destinations: [{ host: 127.0.0.1 }], janus: { zzz: 1 } }'
)
for s in recording control alarms osc web stream rtp consoles midi incidents phones inserts; do
	tables[$s]="$BASE"$'\n'"$s: { zzz: 1 }"
done
for t in "${!tables[@]}"; do
	keys=$(keys_of "${tables[$t]}")
	missing=""
	for k in $keys; do
		sed 's/\\_/_/g' docs/man/tolk.yaml.5.scd | grep -q -- "\*$k\*\|^# $k\$" || missing="$missing $k"
	done
	if [ -n "$keys" ] && [ -z "$missing" ]; then
		pass "tolk.yaml(5) documents every key of $t ($(echo $keys | wc -w))"
	else
		fail "tolk.yaml(5) documents every key of $t" "missing:${missing:- (the loader listed none)}"
	fi
done

finish
