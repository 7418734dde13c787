#!/bin/bash
# test-timeout: 900
# sanitizers: skip (it installs its own build of warmd in a container)
# SPDX-License-Identifier: MIT
#
# warmd under a real systemd as PID 1: a minimal Debian booted with
# systemd-nspawn, warmd installed by "make install" (prefix /usr, sysconfdir
# /etc), the bundled platform running inside the container.  Checks the
# shipped unit (systemd-analyze verify/security), start, journal records
# under -u warmd, StatusText, a rejected reload, a watchdog restart, and a
# prompt stop.
#
# The rootfs is built once with debootstrap and cached in
# $WARMD_TEST_ROOTFS (default /var/cache/warmd-test-rootfs); the container
# runs with --volatile=overlay, so the cache stays pristine.
# WARMD_TEST_DESTDIR=DIR uses an existing "make install DESTDIR=DIR" tree
# (prefix /usr, sysconfdir /etc) instead of building one.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

ROOTFS=${WARMD_TEST_ROOTFS:-/var/cache/warmd-test-rootfs}

require_root
require_cmd systemd-nspawn nsenter unshare make
[ -d /sys/fs/cgroup/systemd ] || [ -f /sys/fs/cgroup/cgroup.controllers ] ||
	skip "no usable cgroup hierarchy"
enter_mount_ns "$@"

# ------------------------------------------------------------ rootfs and install tree

t_start=$(now_ns)
rootfs_ensure "$ROOTFS"
say "rootfs ready in $(ms_since "$t_start") ms"

dest=${WARMD_TEST_DESTDIR:-}
if [ -z "$dest" ]; then
	# A build of its own, so that the tree under test keeps its prefix.
	t_start=$(now_ns)
	src="$WORK/src"
	mkdir -p "$src" "$WORK/build"
	tar -C "$top_srcdir" --exclude=.git --exclude='./warmd-*' -cf - . | tar -C "$src" -xf -
	if [ -f "$src/Makefile" ]; then
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$src" distclean >/dev/null 2>&1 || true
	fi
	dest="$WORK/dest"
	if ! (cd "$WORK/build" &&
		"$src/configure" -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var &&
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j"$(nproc)" &&
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install DESTDIR="$dest") >"$WORK/install.log" 2>&1; then
		tail -n 20 "$WORK/install.log"
		fail "configure --prefix=/usr --sysconfdir=/etc && make install DESTDIR=... (log above)"
		bail
	fi
	pass "make install DESTDIR=... with prefix /usr, sysconfdir /etc ($(ms_since "$t_start") ms)"
fi
check "make install put warmd in /usr/sbin" test -x "$dest/usr/sbin/warmd"
check "make install put warmd.conf in /etc/warmd" test -f "$dest/etc/warmd/warmd.conf"
unit_src=$(cd "$dest" && find . -path '*/systemd/system/warmd.service' | head -n1)
unit_src=${unit_src#.}
check "make install put warmd.service in a systemd unit directory ($unit_src)" \
	test -n "$unit_src" -a -f "$dest$unit_src"
if [ -z "$unit_src" ] || [ ! -x "$dest/usr/sbin/warmd" ]; then bail; fi

# ------------------------------------------------------------ boot

container_boot "$ROOTFS" --bind-ro="$dest:/run/warmd-dest" --bind-ro="$top_srcdir/tests:/run/warmd-tests"

# ------------------------------------------------------------ install warmd and the platform

cx sh -c 'tar -C /run/warmd-dest -cf - . | tar -C / --keep-directory-symlink --no-same-owner -xf -' 
cx systemctl daemon-reload
check_eq "warmd.service is known to systemd" "$unit_src" \
	"$(cx systemctl show -P FragmentPath warmd.service)"

cx journalctl --update-catalog
missing=""
for mid in "${WARMD_MESSAGE_IDS[@]}"; do
	cx journalctl --list-catalog "$mid" 2>/dev/null | grep -q "^$mid" || missing="$missing $mid"
done
check_eq "journalctl --list-catalog knows every warmd MESSAGE_ID after install" "" "${missing# }"

container_platform
port=$CONTAINER_PORT
in_requests() { container_report "fn(\"$1\")[\"requests\"]"; }
in_has() { [ "$(in_requests "$1")" -ge "$2" ]; }

secret="sd-s3cr3t-$RANDOM$RANDOM"
conf_good=$(cat <<EOF
[global]
interval = 2s
timeout = 5s

[sd-alpha]
url = http://127.0.0.1:$port/sd-alpha
containers = 3
reuse_header = X-Container-Reused
instance_header = X-Container-Id
header = Authorization: Bearer \${credential:sd-token}

[sd-beta]
url = http://127.0.0.1:$port/sd-beta
containers = 2
reuse_json = reused
instance_json = container
EOF
)
put() { cx sh -c 'umask 022; mkdir -p "$(dirname "$1")" && cat >"$1.tmp" && mv "$1.tmp" "$1"' sh "$1"; }
put /etc/warmd/warmd.conf <<<"$conf_good"
printf '%s\n' "$secret" | put /etc/warmd-test/sd-token
put /etc/systemd/system/warmd.service.d/test.conf <<'EOF'
[Service]
WatchdogSec=3s
LimitCORE=0
RestartSec=200ms
LoadCredential=sd-token:/etc/warmd-test/sd-token
EOF
cx systemctl daemon-reload

# ------------------------------------------------------------ the unit, offline

out=$(cx systemd-analyze verify --man=no --recursive-errors=no "$unit_src" 2>&1) && rc=0 || rc=$?
check_eq "systemd-analyze verify $unit_src" 0 "$rc"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
out=$(cx systemd-analyze security --offline=yes --threshold=20 --no-pager "$unit_src" 2>&1) && rc=0 || rc=$?
check_eq "systemd-analyze security --offline=yes --threshold=20 $unit_src" 0 "$rc"
printf '%s\n' "$out" | grep -E 'Overall exposure' | sed 's/^/    /' || true

# ------------------------------------------------------------ start

t_start=$(now_ns)
rc=0
cx systemctl start warmd.service || rc=$?
check_eq "systemctl start warmd" 0 "$rc"
say "start took $(ms_since "$t_start") ms"
check_eq "warmd is active" active "$(cx systemctl is-active warmd.service || true)"
check_eq "warmd runs as a dynamic user, not root" yes \
	"$(cx sh -c 'p=$(systemctl show -P MainPID warmd); [ "$p" -gt 0 ] && [ "$(stat -c %u /proc/$p)" -ne 0 ] && echo yes || echo no')"

req_count() { cx_jfields MESSAGE_ID -u warmd MESSAGE_ID=$WARMD_MESSAGE_REQUEST | wc -l; }
req_at_least() { [ "$(req_count)" -ge "$1" ]; }

check "journalctl -u warmd: per-request records within 5 s" wait_for 5 req_at_least 5
cx_jfields WARMD_ENDPOINT,WARMD_URL,WARMD_ROUND,WARMD_REUSED,WARMD_INSTANCE,WARMD_HTTP_STATUS,WARMD_DURATION_MS \
	-u warmd MESSAGE_ID=$WARMD_MESSAGE_REQUEST >"$WORK/req.tsv"
n=$(wc -l <"$WORK/req.tsv")
check_eq "journalctl -u warmd: all $n request records have WARMD_ENDPOINT, WARMD_URL, WARMD_ROUND, WARMD_REUSED=warm|cold, WARMD_INSTANCE, WARMD_HTTP_STATUS=200, WARMD_DURATION_MS" "$n" \
	"$(count_lines "$WORK/req.tsv" '($1 == "sd-alpha" || $1 == "sd-beta") && $2 == "http://127.0.0.1:" p "/" $1 && $3 ~ /^[0-9]+$/ && ($4 == "warm" || $4 == "cold") && $5 != "<none>" && $5 != "" && $6 == "200" && $7 ~ /^[0-9.]+$/' -v p="$port")"
head -n 2 "$WORK/req.tsv" | sed 's/^/    /'
# stderr is the journal under systemd (JOURNAL_STREAM): warmd must not print there too.
check_eq "each event once: nothing from warmd on its stdout/stderr stream" 0 \
	"$(cx_jfields MESSAGE -u warmd _TRANSPORT=stdout | wc -l)"
status_has() { cx systemctl show -P StatusText warmd.service | grep -q -- "$1"; }
check "StatusText contains \"reached\"" wait_for 5 status_has reached
say "StatusText: $(cx systemctl show -P StatusText warmd.service)"
check "the credential from LoadCredential= is not in the journal" \
	test "$(cx journalctl --no-pager -o export | grep -ac -- "$secret" || true)" -eq 0

# ------------------------------------------------------------ a rejected reload

pid0=$(cx systemctl show -P MainPID warmd.service)
put /etc/warmd/warmd.conf <<<"$conf_good
[sd-broken]
url = ftp://127.0.0.1/x
containers = 1"
rc=0
cx systemctl reload warmd.service || rc=$?
check_eq "systemctl reload with a broken config" 0 "$rc"
check "broken config: StatusText says the reload failed" wait_for 3 status_has 'reload failed'
say "StatusText: $(cx systemctl show -P StatusText warmd.service)"
check_eq "broken config: warmd still active" active "$(cx systemctl is-active warmd.service || true)"
check_eq "broken config: same main pid" "$pid0" "$(cx systemctl show -P MainPID warmd.service)"
check_ge "broken config: the rejection is in journalctl -u warmd -p err" 1 \
	"$(cx_jfields MESSAGE_ID -u warmd -p err MESSAGE_ID=$WARMD_MESSAGE_RELOAD_FAILED | wc -l)"
a0=$(in_requests /sd-alpha)
b0=$(in_requests /sd-beta)
check "broken config: new requests keep reaching sd-alpha" wait_for 5 in_has /sd-alpha $((a0 + 3))
check "broken config: new requests keep reaching sd-beta" wait_for 5 in_has /sd-beta $((b0 + 2))

# Back to a good configuration (a restart must find one).
put /etc/warmd/warmd.conf <<<"$conf_good"
cx systemctl reload warmd.service
check "good config again: StatusText no longer says the reload failed" \
	wait_for 5 eval '! status_has "reload failed"'

# ------------------------------------------------------------ watchdog

n0=$(cx systemctl show -P NRestarts warmd.service)
pid0=$(cx systemctl show -P MainPID warmd.service)
cx kill -STOP "$pid0"
say "sent SIGSTOP to warmd (pid $pid0 in the container); WatchdogSec=3s"
restarted() {
	local n p
	n=$(cx systemctl show -P NRestarts warmd.service)
	p=$(cx systemctl show -P MainPID warmd.service)
	[ "$n" -gt "$n0" ] && [ "$p" -ne "$pid0" ] && [ "$p" -gt 0 ] &&
		[ "$(cx systemctl is-active warmd.service)" = active ]
}
t_start=$(now_ns)
check "watchdog: warmd restarted (NRestarts > $n0, new main pid, active)" wait_for 10 restarted
say "restart seen after $(ms_since "$t_start") ms; NRestarts=$(cx systemctl show -P NRestarts warmd.service)"
check "watchdog: \"Watchdog timeout\" in journalctl -u warmd" \
	test "$(cx journalctl --no-pager -u warmd.service | grep -c 'Watchdog timeout' || true)" -ge 1

# ------------------------------------------------------------ stop

t_start=$(now_ns)
rc=0
cx systemctl stop warmd.service || rc=$?
ms=$((($(now_ns) - t_start) / 1000000))
check_eq "systemctl stop warmd" 0 "$rc"
check_eq "warmd is inactive after stop" inactive "$(cx systemctl is-active warmd.service || true)"
check "systemctl stop returned within 1 s (${ms} ms)" test "$ms" -lt 1000
check_ge "journalctl -u warmd: a stop record" 1 \
	"$(cx_jfields MESSAGE_ID -u warmd MESSAGE_ID=$WARMD_MESSAGE_STOP | wc -l)"

# ------------------------------------------------------------ journal volume at scale

# 10,000 endpoints x 10 containers: one round is 100,000 requests, ten
# times journald's default rate limit (10,000 records per 30 s per unit;
# this container's journald runs with its defaults).  Every round summary
# must still reach the journal, and each request is either a record of its
# own or counted in its round's WARMD_UNLOGGED.  A platform of its own,
# answering at once, keeps this part short.
vol_endpoints=10000
vol_containers=10
cx systemd-run --quiet --unit=faas-sim-volume --property=Type=exec \
	python3 /run/warmd-tests/faas-sim.py --host 127.0.0.1 --port 0 --hold-ms 1 --cold-ms 1 \
	--port-file /run/faas-sim-volume.port --max-seconds 300 -q
vol_port() { cx cat /run/faas-sim-volume.port 2>/dev/null | grep -E '^[0-9]+$'; }
if ! wait_for 10 vol_port >/dev/null; then
	fail "the second faas-sim did not start inside the container"
	bail
fi
vport=$(vol_port)
{
	printf '[global]\ninterval = 1h\nmax_parallel = 2000\ntimeout = 30s\n'
	for ((i = 1; i <= vol_endpoints; i++)); do
		printf '[v%d]\nurl = http://127.0.0.1:%d/v%d\ncontainers = %d\n' "$i" "$vport" "$i" "$vol_containers"
	done
} | put /etc/warmd/warmd.conf
t_start=$(now_ns)
cx systemctl start warmd.service
inv=$(cx systemctl show -P InvocationID warmd.service)
vol_total() {
	cx python3 -S -c '
import json, sys, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_report" % sys.argv[1], timeout=30))
print(sum(f.get("requests", 0) for f in r["functions"].values()))' "$vport"
}
vol_done() { [ "$(vol_total)" -ge $((vol_endpoints * vol_containers)) ]; }
# until_by SECONDS COMMAND...: COMMAND once a second until it succeeds or
# SECONDS have passed; each try here reads 10,000 records, so a deadline,
# not a number of tries, keeps this bounded.
until_by() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 1
	done
}
check "scale: the platform saw all $((vol_endpoints * vol_containers)) requests of the first round" \
	until_by 180 vol_done
say "scale: first round of $vol_endpoints x $vol_containers sent in $(ms_since "$t_start") ms"
# summaries: WARMD_ENDPOINT, WARMD_UNLOGGED of every round record of this run.
summaries() {
	cx_jfields WARMD_ENDPOINT,WARMD_UNLOGGED -u warmd _SYSTEMD_INVOCATION_ID="$inv" \
		MESSAGE_ID=$WARMD_MESSAGE_ROUND MESSAGE_ID=$WARMD_MESSAGE_SHORT >"$WORK/vol-rounds.tsv"
	[ "$(wc -l <"$WORK/vol-rounds.tsv")" -ge "$vol_endpoints" ]
}
check "scale: journalctl -u warmd counts a round summary for each of the $vol_endpoints endpoints" \
	until_by 60 summaries
check_eq "scale: round summaries in the journal" "$vol_endpoints" "$(wc -l <"$WORK/vol-rounds.tsv")"
check_eq "scale: one summary per endpoint" "$vol_endpoints" "$(cut -f1 "$WORK/vol-rounds.tsv" | sort -u | wc -l)"
req_logged=$(cx journalctl --no-pager -q -o cat -u warmd _SYSTEMD_INVOCATION_ID="$inv" \
	MESSAGE_ID=$WARMD_MESSAGE_REQUEST | wc -l)
unlogged=$(awk -F'\t' '{ n += $2 } END { print n + 0 }' "$WORK/vol-rounds.tsv")
say "scale: $req_logged request records, $unlogged held back and counted in the summaries"
check_eq "scale: request records + WARMD_UNLOGGED = the requests the platform saw" \
	"$(vol_total)" $((req_logged + unlogged))
check_eq "scale: journald suppressed nothing of warmd's" 0 \
	"$(cx journalctl --no-pager -q -o cat | grep -c 'Suppressed [0-9]* messages from warmd.service' || true)"
cx systemctl stop warmd.service

finish
