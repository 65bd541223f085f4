# Sourced after lib.sh by what runs a private icecast2 on loopback (the
# stream test, the listening bench). icecast2 run as root drops to nobody:
# its folder must be open to it.
#   icecast_config PORT PASSWORD [XML]: makes IC (a folder, removed on exit)
#   and IC/icecast.xml, with XML (say, extra HTTP headers) inside.
icecast_config() {
	IC=$(mktemp -d /tmp/tolk-icecast.XXXXXX)
	chmod 755 "$IC"
	mkdir -m 777 "$IC/log"
	trap 'cleanup; rm -rf "$IC"' EXIT
	cat >"$IC/icecast.xml" <<XML
<icecast>
  <limits><clients>20</clients><sources>8</sources><queue-size>524288</queue-size>
    <source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>
  <authentication><source-password>$2</source-password>
    <admin-user>admin</admin-user><admin-password>$2-admin</admin-password></authentication>
  <hostname>127.0.0.1</hostname>${3:-}
  <listen-socket><port>$1</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><logdir>$IC/log</logdir><webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><errorlog>error.log</errorlog><accesslog>access.log</accesslog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security>
</icecast>
XML
}
