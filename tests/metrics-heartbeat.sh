#!/bin/bash
# The metrics file is rewritten at least every 5 minutes, also while no round
# ends: with its only endpoint asleep outside its schedule, a file that stopped
# changing would read as a warmd that stopped (the alert rules'
# WarmdMetricsStale).  warmd runs on a fake wall clock on a Sunday, its
# endpoint's window on Monday; tests/faketime-preload.c then moves every one
# of its clocks, monotonic and wall, on in an instant (FAKETIME_PRELOAD_FORWARD):
# 4 minutes on, the file is the one written at start; past 5, a new one;
# past 10, another.  Judged by the file itself (a new file renamed over it),
# and by the platform's record: no round, so no round wrote it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

faketime_setup
start_platform --hold-ms 20 --cold-ms 0
mkdir "$WORK/metrics"
PROM="$WORK/metrics/warmd.prom"
conf timezone=Europe/Berlin "metrics_file=$PROM" \
	-- sleeps /sleeps 1 interval=1s "schedule=Mon 07:00-07:30" >"$WORK/warmd.conf"

# renames: every file renamed into $WORK/metrics, one name a line, as inotify tells it.
"$PYTHON" - "$WORK/metrics" "$WORK/renames" <<'PY' &
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x80) < 0:   # IN_MOVED_TO
    sys.exit(1)
with open(sys.argv[2], "w") as out:
    out.write("watching\n")
    out.flush()
    while True:
        buf, i = os.read(fd, 65536), 0
        while i < len(buf):
            _, _, _, n = struct.unpack_from("iIII", buf, i)
            out.write(buf[i + 16:i + 16 + n].rstrip(b"\0").decode() + "\n")
            out.flush()
            i += 16 + n
PY
at_exit "stop_pid $!"
wait_for 10 grep -q watching "$WORK/renames" || { fail "no inotify watch"; bail; }
renames() { grep -c '^warmd\.prom$' "$WORK/renames"; }

# With the watchdog on, its keep-alives show that warmd's loop has run since the clocks moved.
notify_start
echo 0 >"$WORK/forward"
fake_clock_warmd "$(date -u -d '2026-12-06 11:00:00' +%s)" "$WORK/warmd.conf" \
	FAKETIME_PRELOAD_FORWARD="$WORK/forward" WATCHDOG_USEC=1000000

# written: the file's inode and modification time; a rename() of a new file changes both.
written() { stat -c '%i %.9Y' "$PROM" 2>/dev/null; }
rewritten() { [ "$(written)" != "$1" ]; }
# forward SECONDS: every clock of warmd is SECONDS on from where it started.
forward() { echo "$1" >"$WORK/forward"; }

# READY=1 comes after the write at start.
notify_wait 10 '^READY=1$' >/dev/null || { fail "warmd did not start"; bail; }
check "a metrics file at start" test -s "$PROM"
check "at start: the endpoint sleeps (in_window 0)" grep -q '^warmd_schedule_in_window{endpoint="sleeps"} 0$' "$PROM"
first=$(written)

# keepalives SEQ: 3 watchdog keep-alives after notification SEQ.
keepalives() { [ "$(notify_count '^WATCHDOG=1$' "$1")" -ge 3 ]; }

seq=$(notify_seq)
forward 240
check "4 minutes on: warmd's loop ran (3 watchdog keep-alives since)" wait_for 10 keepalives "$seq"
check_eq "4 minutes on: the file is still the one written at start" "$first" "$(written)"
# The endpoint's going to sleep wrote it; the start, within the same second, not again.
check_eq "4 minutes on: one write since start (at most one a second)" 1 "$(renames)"

forward 310
check "5 minutes 10 s on: a new file" wait_for 10 rewritten "$first"
second=$(written)
check "5 minutes 10 s on: the new file says the endpoint sleeps" \
	grep -q '^warmd_schedule_in_window{endpoint="sleeps"} 0$' "$PROM"

forward 620
check "10 minutes 20 s on: a new file again" wait_for 10 rewritten "$second"

check_eq "the platform saw no round: no round wrote the file" 0 "$(report "fn('/sleeps')['requests']")"
check_eq "warmd logged no error" "" "$(grep -i 'error\|fail' "$WORK/err" || true)"
terminate "$WARMD_PID"
check_eq "warmd stops cleanly" 0 "$RC"
finish
