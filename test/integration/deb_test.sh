#!/bin/bash
# The Debian package: make deb builds it with dpkg-buildpackage from a
# copy of the tree; lintian finds no error; it holds the programs, the
# plugins, the unit, the man pages and the Prometheus rules, and depends
# on the libraries dpkg-shlibdeps found. Then a clean system: a minimal
# Debian bookworm made by debootstrap from the machine's own mirror, where
# apt installs the package with its dependencies, tolk --version and
# --check run, the tolk user is in the audio group, and a purge removes it
# all but the archive folder (which is the archivists', never the package
# manager's).
set -u
cd "$(dirname "$0")/../.."

. test/integration/results.sh
TMP=$(mktemp -d /tmp/tolk-debtest.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
make --no-print-directory deb >"$TMP/deb.out" 2>&1
DEB=build/deb/tolk_${VERSION}_$(dpkg --print-architecture).deb
check_true "make deb builds $DEB" "$(tail -20 "$TMP/deb.out")" test -s "$DEB"
[ -s "$DEB" ] || finish
check_true "the build is warning-free with Debian's hardening flags" "$(grep -i 'warning:' "$TMP/deb.out" | head -5)" \
	sh -c "! grep -qi 'warning:' '$TMP/deb.out'"
lintian --fail-on error build/deb/*.changes >"$TMP/lintian.out" 2>&1
rc=$?
check_true "lintian: no error" "$(grep -v 'root privileges' "$TMP/lintian.out" | head -10)" \
	sh -c "test $rc -eq 0 && ! grep -q '^E:' '$TMP/lintian.out'"
echo "lintian: $(grep -c '^W:' "$TMP/lintian.out") warning(s)"
dpkg-deb -c "$DEB" | awk '{print $NF}' >"$TMP/contents"
for f in ./usr/bin/tolk ./usr/bin/tolkctl ./usr/bin/tolk-verify ./usr/lib/tolk/plugins/hearing_limiter.so \
	./lib/systemd/system/tolk@.service ./usr/share/man/man1/tolk.1.gz ./usr/share/man/man1/tolkctl.1.gz \
	./usr/share/man/man1/tolk-verify.1.gz ./usr/share/man/man5/tolk.yaml.5.gz \
	./usr/share/tolk/prometheus/tolk-alerts.yml ./usr/share/tolk/janus/janus.jcfg ./usr/share/doc/tolk/copyright; do
	check_true "the package holds $f" "" grep -qx -- "$f" "$TMP/contents"
done
depends=$(dpkg-deb -f "$DEB" Depends)
check_true "Depends come from shlibs: libjack, libsystemd0, libsndfile1, libmicrohttpd12" "$depends" \
	sh -c "echo '$depends' | grep -q libjack && echo '$depends' | grep -q libsystemd0 &&
		echo '$depends' | grep -q libsndfile1 && echo '$depends' | grep -q libmicrohttpd12"
mkdir -p "$TMP/x"
dpkg-deb -x "$DEB" "$TMP/x"
check "the packaged unit runs the packaged binary" "ExecStart=/usr/bin/tolk" \
	"$(grep -o '^ExecStart=[^ ]*' "$TMP/x/lib/systemd/system/tolk@.service")"
check "man reads the packaged page without a warning" "" \
	"$(man --warnings -l "$TMP/x/usr/share/man/man1/tolk.1.gz" 2>&1 >/dev/null)"

# A clean system.
if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null; then
	fail "a clean system to install on" "needs root and debootstrap (make deps)"
	finish
fi
MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 ~ /debian$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
ROOT="$TMP/root"
SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
if ! debootstrap --variant=minbase "${SUITE:-bookworm}" "$ROOT" "${MIRROR:-http://deb.debian.org/debian}" \
	>"$TMP/debootstrap.out" 2>&1; then
	fail "debootstrap makes a clean $SUITE" "$(tail -5 "$TMP/debootstrap.out")"
	finish
fi
pass "debootstrap makes a clean $SUITE (minbase) from ${MIRROR:-deb.debian.org}"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$DEB" channels.yaml "$ROOT/tmp/"
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/$(basename "$DEB")" \
	>"$TMP/install.out" 2>&1
check_true "apt installs the package and its dependencies on the clean system" "$(tail -5 "$TMP/install.out")" \
	sh -c "in_root() { chroot '$ROOT' \"\$@\"; }; chroot '$ROOT' dpkg-query -W -f='\${Status}' tolk | grep -q 'install ok installed'"
check "tolk --version runs there" "tolk $VERSION" "$(in_root tolk --version 2>&1)"
check "tolk --check reads the shipped room there" "/tmp/channels.yaml: ok (3 languages, 3 booths, 6 consoles)" \
	"$(in_root tolk --check /tmp/channels.yaml 2>&1)"
check_true "tolkctl and tolk-verify run there" "" sh -c "chroot '$ROOT' tolkctl --help >/dev/null && chroot '$ROOT' tolk-verify --help >/dev/null"
check_true "the tolk user is there, in the audio group" "$(in_root id tolk 2>&1)" \
	sh -c "chroot '$ROOT' id -nG tolk | grep -qw audio"
check "/etc/tolk is 0750 root:tolk" "750 root tolk" "$(in_root stat -c '%a %U %G' /etc/tolk 2>&1)"
in_root apt-get purge -y -qq tolk >"$TMP/purge.out" 2>&1
check_true "apt purges it" "$(tail -3 "$TMP/purge.out")" \
	sh -c "! chroot '$ROOT' dpkg-query -W -f='\${Status}' tolk 2>/dev/null | grep -q installed"
left=$(for f in /usr/bin/tolk /usr/bin/tolkctl /usr/lib/tolk /lib/systemd/system/tolk@.service \
	/usr/share/man/man1/tolk.1.gz /usr/share/doc/tolk /etc/tolk; do [ -e "$ROOT$f" ] && echo "$f"; done)
check "nothing of it is left but the archive folder" "" "$left"
check_true "the archive folder /var/lib/tolk stays" "" test -d "$ROOT/var/lib/tolk"
finish
