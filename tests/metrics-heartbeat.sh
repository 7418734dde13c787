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
PROM="$WORK/warmd.prom"
conf timezone=Europe/Berlin "metrics_file=$PROM" \
	-- sleeps /sleeps 1 interval=1s "schedule=Mon 07:00-07:30" >"$WORK/warmd.conf"

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

# READY=1 comes after the writes at start (one for the endpoint going to sleep, one for the start).
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
