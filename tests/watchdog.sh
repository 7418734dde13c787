#!/bin/bash
# test-timeout: 300
# SPDX-License-Identifier: MIT
#
# A warmd that stops warming is restarted by a real systemd, and a healthy
# one is not.  In the container of tests/systemd.sh (systemd as PID 1), three
# instances of a test unit (WatchdogSec=3s, Restart=on-failure, LimitCORE=0)
# run side by side, each warming an endpoint of its own every second, with
# tests/watchdog-preload.c loaded:
#
#   healthy      no fault: over the whole span, never restarted;
#   round-timer  from 3 s on, arming a round timer is silently dropped: the
#                loop keeps turning but rounds stop, which only warmd's own
#                check can see: systemd must record a watchdog timeout;
#   curl-epoll   from 3 s on, epoll_wait() on curl's epoll set fails: warmd
#                either ends its loop (exit status 3) or, with the curl source
#                turned off, stops pinging; either way systemd restarts it.
#
# Judged by systemd's own record: NRestarts, the MainPID, and its journal
# lines ("Watchdog timeout", the main process's exit status).
#
# The rootfs is the one tests/systemd.sh caches in $WARMD_TEST_ROOTFS
# (default /var/cache/warmd-test-rootfs); warmd is the binary under test, the
# build tree's, not an installed one.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

ROOTFS=${WARMD_TEST_ROOTFS:-/var/cache/warmd-test-rootfs}

require_root
require_cmd systemd-nspawn nsenter unshare
[ -d /sys/fs/cgroup/systemd ] || [ -f /sys/fs/cgroup/cgroup.controllers ] ||
	skip "no usable cgroup hierarchy"
enter_mount_ns "$@"

cc=${CC:-cc}
command -v "$cc" >/dev/null || skip "no C compiler ($cc) to build the preload library"
mkdir -p "$WORK/bin"
"$cc" -shared -fPIC -o "$WORK/bin/watchdog-preload.so" "$top_srcdir/tests/watchdog-preload.c" -ldl \
	2>"$WORK/cc.log" || { cat "$WORK/cc.log"; skip "cannot build tests/watchdog-preload.c"; }
cp "$WARMD" "$WORK/bin/warmd"

t_start=$(now_ns)
rootfs_ensure "$ROOTFS"
say "rootfs ready in $(ms_since "$t_start") ms"

container_boot "$ROOTFS" --bind-ro="$WORK/bin:/run/warmd-bin" --bind-ro="$top_srcdir/tests:/run/warmd-tests"
out=$(cx /run/warmd-bin/warmd --version 2>&1) ||
	skip "the warmd under test does not run in the container: $out"
container_platform

put() { cx sh -c 'umask 022; mkdir -p "$(dirname "$1")" && cat >"$1.tmp" && mv "$1.tmp" "$1"' sh "$1"; }
# No start rate limit: a broken instance is restarted every few seconds for the whole test.
put /etc/systemd/system/warmd-wd@.service <<'EOF'
[Unit]
Description=warmd under a broken loop (%i)
StartLimitIntervalSec=0

[Service]
Type=notify
ExecStart=/run/warmd-bin/warmd -c /etc/warmd-test/%i.conf
Environment=LD_PRELOAD=/run/warmd-bin/watchdog-preload.so WATCHDOG_FAULT_AFTER_MS=3000
EnvironmentFile=/etc/warmd-test/%i.env
WatchdogSec=3s
Restart=on-failure
RestartSec=200ms
LimitCORE=0
EOF
instances="healthy round-timer curl-epoll"
for i in $instances; do
	put "/etc/warmd-test/$i.conf" <<EOF
[global]
interval = 1s
timeout = 1s

[wd-$i]
url = http://127.0.0.1:$CONTAINER_PORT/wd-$i
containers = 2
EOF
	fault=$i
	[ "$i" = healthy ] && fault=none
	echo "WATCHDOG_FAULT=$fault" | put "/etc/warmd-test/$i.env"
done
cx systemctl daemon-reload

unit() { echo "warmd-wd@$1.service"; }
prop() { cx systemctl show -P "$2" "$(unit "$1")"; }
requests() { container_report "fn(\"/wd-$1\")[\"requests\"]"; }
# journal_has INSTANCE REGEX: systemd's or warmd's lines for the unit match REGEX.  (Not grep -q: it
# would leave journalctl writing to a closed pipe, and pipefail would call the match a failure.)
journal_has() { cx journalctl --no-pager -q -u "$(unit "$1")" | grep -E -- "$2" >/dev/null; }

t_start=$(now_ns)
for i in $instances; do
	rc=0
	cx systemctl start "$(unit "$i")" || rc=$?
	check_eq "$i: systemctl start (READY=1)" 0 "$rc"
done
declare -A pid0
for i in $instances; do
	pid0[$i]=$(prop "$i" MainPID)
	check "$i: rounds reach the platform before any fault" wait_for 3 eval "[ \$(requests $i) -ge 2 ]"
done

# restarted INSTANCE: systemd counts a restart, and a new main process runs.
restarted() {
	local n p
	{ read -r n && read -r p; } < <(cx systemctl show --value -p NRestarts -p MainPID "$(unit "$1")")
	[ "$n" -ge 1 ] && [ "$p" -gt 0 ] && [ "$p" -ne "${pid0[$1]}" ]
}
status_has() { [[ $(prop "$1" StatusText) =~ $2 ]]; }

# ------------------------------------------------------------ rounds stop, the loop turns

# From the fault to the kill: the lost timer is due within 1 s, it is late past
# interval + timeout (2 s), the next check (every 1.5 s) stops the pings, and
# systemd waits WatchdogSec (3 s) after the last one.
check "round-timer: StatusText says why the keep-alives stopped" \
	wait_for 15 status_has round-timer 'watchdog keep-alives stopped: endpoint wd-round-timer: round [0-9]* is [0-9]*s late'
say "round-timer: StatusText: $(prop round-timer StatusText | cut -c1-160)"
n_before=$(requests round-timer)
check "round-timer: systemd restarted warmd (NRestarts >= 1, a new main pid)" wait_for 15 restarted round-timer
say "round-timer: restarted after $(ms_since "$t_start") ms; NRestarts=$(prop round-timer NRestarts)"
check "round-timer: systemd's journal says \"Watchdog timeout\"" journal_has round-timer 'Watchdog timeout'
check "round-timer: warmd's journal says which endpoint is how late" \
	journal_has round-timer 'endpoint wd-round-timer: round [0-9]+ is [0-9]+s late.*no more watchdog keep-alives'
check "round-timer: that record carries its MESSAGE_ID, which the catalog explains" \
	eval "cx journalctl --no-pager -q -u '$(unit round-timer)' MESSAGE_ID=$WARMD_MESSAGE_WATCHDOG | grep 'wd-round-timer' >/dev/null"
check "round-timer: never an exit of its own: the loop kept turning" \
	eval '! journal_has round-timer "Main process exited, code=exited"'
check "round-timer: the restarted warmd warms again" \
	wait_for 5 eval "[ \$(requests round-timer) -gt $n_before ]"

# ------------------------------------------------------------ curl's epoll set fails

check "curl-epoll: systemd restarted warmd (NRestarts >= 1, a new main pid)" wait_for 15 restarted curl-epoll
say "curl-epoll: restarted after $(ms_since "$t_start") ms; NRestarts=$(prop curl-epoll NRestarts)"
check "curl-epoll: systemd's journal has a watchdog timeout or exit status 3" \
	journal_has curl-epoll 'Watchdog timeout|Main process exited, code=exited, status=3/'
cx journalctl --no-pager -q -u "$(unit curl-epoll)" |
	grep -E 'Watchdog timeout|Main process exited|curl sockets' | head -n 3 | sed 's/^/    /'

# ------------------------------------------------------------ healthy, over the same span

# At least five watchdog intervals in all, whatever the faulty ones took.
while [ "$(ms_since "$t_start")" -lt 15000 ]; do sleep 0.5; done
n=$(requests healthy)
check "healthy: rounds still reach the platform" wait_for 3 eval "[ \$(requests healthy) -ge $((n + 2)) ]"
check_eq "healthy: NRestarts after $(ms_since "$t_start") ms" 0 "$(prop healthy NRestarts)"
check_eq "healthy: the same main pid" "${pid0[healthy]}" "$(prop healthy MainPID)"
check_eq "healthy: active" active "$(cx systemctl is-active "$(unit healthy)" || true)"
check "healthy: no watchdog timeout in its journal" eval '! journal_has healthy "Watchdog timeout|keep-alives"'

for i in $instances; do
	cx systemctl stop "$(unit "$i")" || true
done

finish
