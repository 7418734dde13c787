#!/bin/bash
# When the last endpoint in a window goes to sleep, no round ends any more:
# the status line and the metrics file must still say so at the boundary,
# not hours later at the next wake.  One endpoint, warmed every 3 s until
# Monday 07:30 in Europe/Berlin, on a fake wall clock 4 s before it (rounds at
# 4 s and 1 s before the boundary: the last one ends before it); the
# platform's record says its rounds stopped, the files say it sleeps.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

faketime_setup
start_platform --hold-ms 20 --cold-ms 0
B=$(date -u -d '2026-12-07 06:30:00' +%s)
conf timezone=Europe/Berlin "metrics_file=$WORK/warmd.prom" \
	-- closes /closes 2 interval=3s "schedule=Mon 07:00-07:30" >"$WORK/warmd.conf"

notify_start
fake_clock_warmd $((B - 4)) "$WORK/warmd.conf"
at_exit "grep STATUS \"$NOTIFY_LOG\" | tail -3"

check "the status line says the endpoint sleeps, once its window ended" \
	notify_wait 15 '^STATUS=1 endpoint, 0 containers; last round [0-9:]*: 2/2 reached .*; 1 sleeping, next wakes Mon 07:00 CET'
in_window() { grep -q '^warmd_schedule_in_window{endpoint="closes"} 0$' "$WORK/warmd.prom"; }
check "the metrics file says it sleeps: in_window 0" wait_for 10 in_window
check "the metrics file says it wants no container" \
	grep -q '^warmd_containers_wanted{endpoint="closes"} 0$' "$WORK/warmd.prom"
# The truth: the platform saw its rounds, and none after the window.
n=$(report "fn('/closes')['requests']")
check_ge "the platform saw rounds inside the window" 2 "$n"
sleep 2
check_eq "the platform saw no round after it" "$n" "$(report "fn('/closes')['requests']")"
finish
