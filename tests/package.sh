#!/bin/bash
# test-timeout: 900
# sanitizers: skip (it builds and installs its own Debian package)
# SPDX-License-Identifier: MIT
#
# The Debian package, as a user gets it: built by tools/package (which fails
# on any lintian error or warning), installed with dpkg -i in a booted
# Debian 12 (systemd as PID 1, systemd-nspawn), where warmd must be enabled,
# active and idle with no warning, with the empty drop-in directory, the alert
# rules, the dashboard and the bash completion installed; then an endpoint
# added to the conffile, and one in a drop-in, with "systemctl reload warmd"
# must warm the platform, as the platform itself records; a reinstall (an upgrade) must restart warmd and keep the edited
# conffile; and dpkg --purge must stop warmd and leave nothing behind.
#
# WARMD_TEST_DEB=DIR uses the packages tools/package left in DIR instead of
# building them.  The rootfs is tests/systemd.sh's cache, $WARMD_TEST_ROOTFS.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

ROOTFS=${WARMD_TEST_ROOTFS:-/var/cache/warmd-test-rootfs}

require_root
require_cmd systemd-nspawn nsenter unshare
debs=${WARMD_TEST_DEB:-}
if [ -z "$debs" ]; then
	[ -f "$top_srcdir/debian/changelog" ] || skip "no debian/ in $top_srcdir (release tarballs do not carry it)"
	require_cmd dpkg-buildpackage dh lintian git
fi
enter_mount_ns "$@"

# ------------------------------------------------------------ build

if [ -z "$debs" ]; then
	# configure.ac's AC_INIT defines the version; debian/rules refuses to build
	# a changelog that disagrees, and so does this, before the build.
	changelog=$(dpkg-parsechangelog -l "$top_srcdir/debian/changelog" -S Version)
	check_eq "debian/changelog's upstream version is warmd --version's" "$("$WARMD" --version)" "warmd ${changelog%-*}"
	debs="$WORK/deb"
	t_start=$(now_ns)
	rc=0
	"$top_srcdir/tools/package" "$debs" >"$WORK/package.log" 2>&1 || rc=$?
	sed 's/^/    /' "$WORK/package.log" | tail -n 25
	check_eq "tools/package: the package builds and lintian reports no error or warning ($(ms_since "$t_start") ms)" 0 "$rc"
fi
deb=$(ls "$debs"/warmd_*.deb 2>/dev/null | tail -n 1) || true
[ -n "$deb" ] || { fail "no warmd_*.deb in $debs"; bail; }
pkg_version=$(dpkg-deb -f "$deb" Version)
say "testing $deb"

rootfs_ensure "$ROOTFS"
container_boot "$ROOTFS" --bind-ro="$debs:/run/warmd-deb" --bind-ro="$top_srcdir/tests:/run/warmd-tests"

# ------------------------------------------------------------ install: enabled, active, idle

rc=0
cx dpkg -i "/run/warmd-deb/$(basename "$deb")" >"$WORK/dpkg-i.log" 2>&1 || rc=$?
sed 's/^/    /' "$WORK/dpkg-i.log"
check_eq "dpkg -i $(basename "$deb")" 0 "$rc"
[ "$rc" -eq 0 ] || bail

check_eq "the unit is enabled" enabled "$(cx systemctl is-enabled warmd.service 2>&1 || true)"
check_eq "the unit is active" active "$(cx systemctl is-active warmd.service 2>&1 || true)"
idle="no endpoints configured: edit /etc/warmd/warmd.conf, then systemctl reload warmd"
check_eq "StatusText says it is idle, and what to do" "$idle" "$(cx systemctl show -P StatusText warmd.service)"

check_eq "the journal: one notice-level record that says it is idle, and what to do" "5	$idle" \
	"$(cx_jfields PRIORITY,MESSAGE -u warmd MESSAGE_ID="$WARMD_MESSAGE_IDLE")"
check_eq "the journal: nothing at warning or worse about warmd" "" \
	"$(cx journalctl --no-pager -q -u warmd -p warning)"
missing=""
for mid in "${WARMD_MESSAGE_IDS[@]}"; do
	cx journalctl --list-catalog "$mid" 2>/dev/null | grep -q "^$mid" || missing="$missing $mid"
done
check_eq "the journal catalog knows every warmd MESSAGE_ID after dpkg -i" "" "${missing# }"

check_eq "warmd --version and the package version agree" "warmd ${pkg_version%-*}" "$(cx warmd --version)"
check_eq "/etc/warmd/warmd.conf is a conffile" "/etc/warmd/warmd.conf" \
	"$(cx dpkg-query -W -f='${Conffiles}\n' warmd | awk 'NF { print $1 }')"
check_eq "both man pages are installed" "/usr/share/man/man5/warmd.conf.5.gz /usr/share/man/man8/warmd.8.gz" \
	"$(cx dpkg -L warmd | grep -E '^/usr/share/man/man[0-9]/' | sort | tr '\n' ' ' | sed 's/ $//')"

check_eq "the empty drop-in directory /etc/warmd/warmd.conf.d is in the package" "/etc/warmd/warmd.conf.d" \
	"$(cx dpkg -L warmd | grep -x /etc/warmd/warmd.conf.d)"
check_eq "/etc/warmd/warmd.conf.d: a directory, empty" "directory 0" \
	"$(cx stat -c %F /etc/warmd/warmd.conf.d) $(cx ls -A /etc/warmd/warmd.conf.d | wc -l)"
for f in /usr/share/warmd/prometheus/warmd.rules.yml /usr/share/warmd/prometheus/warmd.rules.test.yml \
	/usr/share/warmd/grafana/warmd.json; do
	check "installed: $f, as shipped" cmp -s <(cx cat "$f") "$top_srcdir/contrib/${f#/usr/share/warmd/}"
done
completions=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null || echo /usr/share/bash-completion/completions)
check_eq "the bash completion is where bash-completion looks ($completions)" "$completions/warmd" \
	"$(cx dpkg -L warmd | grep -x "$completions/warmd")"

# ------------------------------------------------------------ an endpoint and a reload

container_platform
pid0=$(cx systemctl show -P MainPID warmd.service)
cx sh -c 'cat >>/etc/warmd/warmd.conf' <<EOF

[pkg-orders]
url = http://127.0.0.1:$CONTAINER_PORT/pkg-orders
containers = 3
interval = 2s
reuse_header = X-Container-Reused
instance_header = X-Container-Id
EOF
rc=0
cx systemctl reload warmd.service || rc=$?
check_eq "systemctl reload warmd" 0 "$rc"
check "after the reload, the platform sees 3 containers of /pkg-orders in use" \
	wait_for 10 container_platform_true 'fn("/pkg-orders")["distinct_containers"] >= 3'
check "and round 2 reaches them warm" \
	wait_for 10 container_platform_true 'fn("/pkg-orders")["warm"] >= 3'
check_eq "the reload kept the process" "$pid0" "$(cx systemctl show -P MainPID warmd.service)"
status_reached() { cx systemctl show -P StatusText warmd.service | grep -q '^1 endpoint, 3 containers; last round .*3/3 reached'; }
check "StatusText: 1 endpoint, 3 containers, 3/3 reached" wait_for 5 status_reached
say "StatusText: $(cx systemctl show -P StatusText warmd.service)"

# A drop-in of its own, as a team's configuration-management role would write it.
cx sh -c 'cat >/etc/warmd/warmd.conf.d/50-team.conf' <<EOF
[pkg-team]
url = http://127.0.0.1:$CONTAINER_PORT/pkg-team
containers = 2
interval = 2s
EOF
rc=0
cx systemctl reload warmd.service || rc=$?
check_eq "systemctl reload warmd, with a drop-in added" 0 "$rc"
check "after the reload, the platform sees the drop-in's endpoint warmed" \
	wait_for 10 container_platform_true 'fn("/pkg-team")["distinct_containers"] >= 2'
check_eq "warmd -n lists the drop-in and its endpoint" \
	"/etc/warmd/warmd.conf.d/50-team.conf|  [pkg-team] line 1: 2 containers, http://127.0.0.1:$CONTAINER_PORT/pkg-team" \
	"$(cx warmd -n | grep -A1 -x /etc/warmd/warmd.conf.d/50-team.conf | paste -sd'|')"
cx rm /etc/warmd/warmd.conf.d/50-team.conf

# ------------------------------------------------------------ an upgrade

rc=0
cx dpkg -i "/run/warmd-deb/$(basename "$deb")" >"$WORK/dpkg-upgrade.log" 2>&1 || rc=$?
check_eq "dpkg -i again (an upgrade)" 0 "$rc"
pid1=$(cx systemctl show -P MainPID warmd.service)
check "the upgrade restarted warmd (main pid $pid0 -> $pid1)" test "$pid1" -gt 0 -a "$pid1" != "$pid0"
check "the upgrade kept the edited conffile" cx grep -q '^\[pkg-orders\]' /etc/warmd/warmd.conf
n0=$(container_report 'fn("/pkg-orders")["requests"]')
check "after the upgrade, warmd keeps warming /pkg-orders" \
	wait_for 10 container_platform_true "fn(\"/pkg-orders\")[\"requests\"] >= $n0 + 3"

# ------------------------------------------------------------ purge

rc=0
cx dpkg --purge warmd >"$WORK/dpkg-purge.log" 2>&1 || rc=$?
sed 's/^/    /' "$WORK/dpkg-purge.log"
check_eq "dpkg --purge warmd" 0 "$rc"
check_eq "purged: the unit is not active" inactive "$(cx systemctl is-active warmd.service 2>&1 || true)"
check "purged: no warmd process" eval '! cx pgrep -x warmd'
check_eq "purged: dpkg knows nothing of warmd" "" "$(cx dpkg-query -W -f='${db:Status-Status}' warmd 2>/dev/null || true)"
left=$(cx sh -c 'ls -d /etc/warmd /usr/sbin/warmd /lib/systemd/system/warmd.service \
	/usr/lib/systemd/catalog/warmd.catalog /etc/systemd/system/*/warmd.service \
	/var/lib/systemd/deb-systemd-helper-enabled/warmd.service.dsh-also 2>/dev/null' || true)
check_eq "purged: the journal catalog has no warmd entry left" "" \
	"$(cx journalctl --list-catalog "${WARMD_MESSAGE_IDS[@]}" 2>/dev/null || true)"
check_eq "purged: no file left (configuration, binary, unit, catalog, enablement)" "" "$left"
n0=$(container_report 'fn("/pkg-orders")["requests"]')
# What must not happen can only be waited out: longer than pkg-orders' interval (2 s), and no longer.
sleep 2.5
check_eq "purged: the platform sees no more requests" "$n0" "$(container_report 'fn("/pkg-orders")["requests"]')"

finish
