#!/bin/sh
# Installs the Debian packages Tolk builds, runs and tests with. Idempotent:
# when nothing is missing it does nothing and says nothing. x42-plugins is
# for the LV2 chain test (and for rooms that want its processors); clang and
# its runtime for make fuzz (libFuzzer); pipewire, wireplumber, pipewire-jack
# and dbus-daemon for the test of Tolk under PipeWire's JACK.
set -eu

PACKAGES="gcc make pkg-config libc6-dev jackd2 libjack-jackd2-dev libyaml-dev libcmocka-dev
libsndfile1-dev libopus-dev libogg-dev libssl-dev libopusenc-dev libebur128-dev liblo-dev liblilv-dev lv2-dev sndfile-programs sox opus-tools
tmux util-linux gdb procps binutils x42-plugins clang libclang-rt-dev libmicrohttpd-dev chromium iproute2
libshout-dev icecast2 curl ffmpeg jack-capture libflac-dev libsodium-dev mediainfo mediaconch openssl
prometheus libsystemd-dev scdoc man-db groff-base janus libjs-janus-gateway
pipewire pipewire-bin pipewire-jack wireplumber dbus-daemon liblo-tools
debhelper dpkg-dev lintian debootstrap"

# The web page test runs Node.js (playwright-core from npm); Debian's
# nodejs and npm when the machine has no node of its own.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: need root (or sudo) to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable realtime scheduling; the default (no) is right
# for a build machine, and a console install can change it later.
echo "jackd2 jackd/tweak_rt_limits boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
