#!/bin/sh
# The pure core (engine/core/) stays pure: no JACK, audio file, codec,
# socket, HTTP, OSC or file-descriptor header may reach it, directly or
# through another header. Run by the build for every core object:
#   check-core-includes.sh CC FILE [FLAGS...]
# It asks the compiler which headers FILE pulls in and fails, naming them,
# when one is forbidden.
set -u
cc=$1
file=$2
shift 2
deps=$("$cc" "$@" -M "$file" 2>&1) || { echo "$deps" >&2; exit 1; }
bad=$(printf '%s\n' "$deps" | tr ' \\' '\n\n' | grep -E \
	'/jack/|/sndfile\.h$|/opus|/ogg/|/FLAC/|/ebur128\.h$|/lilv|/lv2/|/lo/|/shout/|/microhttpd\.h$|/sys/socket\.h$|/netinet/|/arpa/|/sys/un\.h$|/netdb\.h$|/fcntl\.h$|/unistd\.h$|/dirent\.h$|/sys/stat\.h$|/poll\.h$' |
	sort -u)
if [ -n "$bad" ]; then
	echo "$file: the core may not include these (JACK, audio files, codecs, sockets, HTTP, OSC, file I/O belong in the shells):" >&2
	printf '  %s\n' $bad >&2
	exit 1
fi
