#!/bin/bash
# test-timeout: 240
# Schedules when the system clock is set, judged by the platform's record.
# warmd runs under libfaketime with its wall clock in a file the test
# rewrites, and tests/faketime-preload.c plays the kernel's part in a clock
# set (FAKETIME_PRELOAD_CLOCK_SET=1): realtime timers follow the new clock,
# and TFD_TIMER_CANCEL_ON_SET timers read ECANCELED.  A real set is out of
# reach: CLOCK_REALTIME has no namespace (a time namespace offsets only the
# monotonic and boot-time clocks), so it would set the host's clock.
# [win] has the window Mon 07:00-07:30 (Europe/Berlin), [long] Mon
# 06:30-07:45, [clock] none; all every second.
#   1. 04:00, asleep; set forward to 06:59:56: a round of [win] at 07:00.
#   2. set forward past the window's end (07:31): its rounds stop.
#   3. set back to 06:59:56: the window is ahead again, a round at 07:00
#      (without the recompute the next boundary stays next Monday's).
#   4. inside both windows, set back to 06:00: the rounds of [win] and
#      [long] stop (without the recompute their boundaries stay 07:30 and
#      07:45, and they go on; [long] was in its window all along, so this
#      does not hang on step 3).
# Arrivals are put on warmd's fake wall clock by fake_arrivals.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

faketime_setup

start_platform --hold-ms 50 --cold-ms 0
# The window's start: Monday 2026-12-07 07:00 CET, 06:00 UTC.
W=$(date -u -d '2026-12-07 06:00:00' +%s)
conf timezone=Europe/Berlin interval=1s timeout=1s \
	-- win /win 1 "schedule=Mon 07:00-07:30" \
	-- long /long 1 "schedule=Mon 06:30-07:45" \
	-- clock /clock 1 >"$WORK/warmd.conf"

# fake PATH: the arrivals of PATH on warmd's wall clock, as seconds after the window's start.
fake() { fake_arrivals "$1" "$W"; }
count() { report "fn('$1')['requests']"; }
# clock_rounds N: wait for N more rounds of [clock], so time has passed on warmd's loop.
clock_rounds() {
	local c
	c=$(count /clock)
	wait_for 20 platform_true "fn('/clock')['requests'] >= $c + $1" || fail "[clock] stopped"
}
# round_at_start WHAT N: the (N+1)th round of [win] came, at the window's start on the new clock.
round_at_start() {
	wait_for 10 platform_true "fn('/win')['requests'] > $2" ||
		{ fail "$1: no round of [win] after the set"; return; }
	check "$1: the round of [win] at 07:00 (s after it: $(fake /win | tr -d ' '))" \
		"$PYTHON" -S -c 'import sys; l = eval(sys.argv[1])[int(sys.argv[2])]; sys.exit(not (-0.2 <= l < 3))' \
		"$(fake /win)" "$2"
}
# stops WHAT PATH...: after the set, once a round in flight is in, PATH has no round while [clock] has 3.
stops() {
	local what=$1 n p
	shift
	clock_rounds 2
	n=$(for p in "$@"; do count "$p"; done)
	clock_rounds 3
	check_eq "$what: no round of $* while [clock] had 3" "$n" "$(for p in "$@"; do count "$p"; done)"
}

fake_clock_warmd --settable $((W - 3 * 3600)) "$WORK/warmd.conf" FAKETIME_PRELOAD_CLOCK_SET=1

clock_rounds 3
check_eq "04:00: [win] and [long] asleep, hours before their windows" "0 0" "$(count /win) $(count /long)"

fake_clock_set $((W - 4))
round_at_start "set forward from 04:00 to 06:59:56" 0

fake_clock_set $((W + 1860))
stops "set forward past the window's end, to 07:31" /win

n=$(count /win)
fake_clock_set $((W - 4))
round_at_start "set back from 07:31 to 06:59:56" "$n"

clock_rounds 2
fake_clock_set $((W - 3600))
stops "set back from inside the windows to 06:00" /win /long

say "warmd's log of the sets: $(grep -c 'system clock was set' "$WORK/err") lines"
terminate "$WARMD_PID"
check_eq "warmd stops cleanly" 0 "$RC"
finish
