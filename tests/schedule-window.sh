#!/bin/bash
# Schedules on the wall clock, judged by the platform's record: warmd runs
# under libfaketime with its wall clock set 6 s before Monday 07:30 in
# Europe/Berlin, so the boundary comes to the test.  Around it:
#   [opens]    Mon 07:30-08:00, 3 containers: nothing before 07:30, a round at 07:30;
#   [switches] Mon 07:00-07:30 3, Mon 07:30-08:00 1: a round of 3 at start, a round of 1 at 07:30;
#   [closes]   Mon 07:00-07:30 2, every second: rounds until 07:30, none after;
#   [always]   no schedule, every second: the test's own clock.
# The status line and the metrics file say who sleeps.  Then a reload of the
# same file keeps what the schedules were doing: no new round.  Last, a
# second warmd sees its wall clock jump an hour past its window's end, as at
# a resume from suspend: its next round, due on the monotonic grid, does not
# go out.  Arrivals are put on warmd's fake wall clock by fake_arrivals.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

faketime_setup

start_platform --hold-ms 50 --cold-ms 0
# The boundary: Monday 2026-12-07 07:30 CET, 06:30 UTC.
B=$(date -u -d '2026-12-07 06:30:00' +%s)
{
	sed -e "s/@PORT@/$PORT/" -e "/^interval = 1h$/a metrics_file = $WORK/warmd.prom" \
		"$top_srcdir/tests/data/schedule-boundary.conf"
	echo
	conf -- always /always 1 interval=1s
} >"$WORK/warmd.conf"

notify_start
fake_clock_warmd $((B - 6)) "$WORK/warmd.conf"

# fake PATH: the arrivals of PATH on warmd's wall clock, as seconds after the boundary.
fake() { fake_arrivals "$1" "$B"; }
after_boundary() {      # after_boundary SECONDS: [always] has had a round that long after the boundary
	"$PYTHON" -S -c 'import sys; l = eval(sys.argv[1]); sys.exit(not (l and max(l) >= float(sys.argv[2])))' \
		"$(fake /always)" "$1"
}

wait_for 30 after_boundary 3 || fail "[always] did not run 3 s past the boundary (is the fake clock set?): $(fake /always)"

opens=$(fake /opens)
switches=$(fake /switches)
closes=$(fake /closes)
say "after the boundary, in s: opens $opens; switches $switches; closes $closes"

check_eq "[opens]: one round of 3, at the window's start" 3 "$(report "fn('/opens')['requests']")"
check "[opens]: nothing before the window (every arrival at the boundary or after)" \
	"$PYTHON" -S -c 'import sys; l = eval(sys.argv[1]); sys.exit(not (l and min(l) >= -0.2))' "$opens"
check_eq "[switches]: a round of 3 at start, then a round of 1 at the boundary" 4 \
	"$(report "fn('/switches')['requests']")"
check "[switches]: the 3 before the boundary, the 1 after" \
	"$PYTHON" -S -c 'import sys; l = sorted(eval(sys.argv[1])); sys.exit(not (len(l) == 4 and max(l[:3]) < 0 and l[3] >= -0.2))' "$switches"
check_ge "[closes]: rounds inside its window" 4 "$(report "fn('/closes')['requests']")"
check "[closes]: no round after its window (a round in flight at the end arrives within 0.5 s of it)" \
	"$PYTHON" -S -c 'import sys; l = eval(sys.argv[1]); sys.exit(not (l and max(l) < 0.5))' "$closes"

# Before the boundary [opens] slept, after it [closes] does, until next Monday.
check "status line before the boundary: 1 sleeping, waking at 07:30 CET" \
	notify_find '^STATUS=4 endpoints, 6 containers; .*; 1 sleeping, next wakes Mon 07:30 CET' ||
	grep STATUS "$NOTIFY_LOG" | head -5
check "status line after the boundary: 1 sleeping, waking next Monday at 07:00 CET" \
	notify_wait 5 '^STATUS=4 endpoints, 5 containers; .*; 1 sleeping, next wakes Mon 07:00 CET'
metric() { grep -E "^$1\{endpoint=\"$2\"\} " "$WORK/warmd.prom" | awk '{ print $2 }'; }
wait_for 5 grep -q 'warmd_containers_wanted{endpoint="closes"} 0' "$WORK/warmd.prom" || true
check_eq "metrics: [opens] wants 3" 3 "$(metric warmd_containers_wanted opens)"
check_eq "metrics: [switches] wants 1" 1 "$(metric warmd_containers_wanted switches)"
check_eq "metrics: [closes] wants 0" 0 "$(metric warmd_containers_wanted closes)"
check_eq "metrics: [closes] is out of its window, [opens] in, [always] has none" "0 1 1" \
	"$(metric warmd_schedule_in_window closes) $(metric warmd_schedule_in_window opens) $(metric warmd_schedule_in_window always)"

# A reload of the same file: every schedule keeps its state, so no endpoint starts a new round.
before=$(report "[fn(p)['requests'] for p in ('/opens', '/switches', '/closes')]")
kill -HUP "$WARMD_PID"
wait_for 10 lines_at_least 2 "Loaded " "$WORK/err" || fail "no reload seen in the log"
always=$(report "fn('/always')['requests']")
wait_for 10 platform_true "fn('/always')['requests'] >= $always + 2" || fail "[always] stopped after the reload"
check_eq "reload: no new round of a scheduled endpoint" "$before" \
	"$(report "[fn(p)['requests'] for p in ('/opens', '/switches', '/closes')]")"

# The same windows in London, an hour behind: it is 06:30 there, before every window.  Each schedule is
# worked out again in the new zone, and all three go to sleep, with no round.
sed -i 's|^timezone = Europe/Berlin$|timezone = Europe/London|' "$WORK/warmd.conf"
kill -HUP "$WARMD_PID"
wait_for 10 lines_at_least 3 "Loaded " "$WORK/err" || fail "no second reload seen in the log"
wait_for 5 grep -q 'warmd_containers_wanted{endpoint="opens"} 0' "$WORK/warmd.prom" || true
check_eq "reload into London: [opens], [switches] and [closes] want 0" "0 0 0" \
	"$(metric warmd_containers_wanted opens) $(metric warmd_containers_wanted switches) $(metric warmd_containers_wanted closes)"
check "reload into London: the status line's next wake is London's 07:00" \
	notify_wait 5 '^STATUS=4 endpoints, 1 container; .*; 3 sleeping, next wakes Mon 07:00 GMT'
check_eq "reload into London: no new round" "$before" \
	"$(report "[fn(p)['requests'] for p in ('/opens', '/switches', '/closes')]")"

terminate "$WARMD_PID"
check_eq "warmd stops cleanly" 0 "$RC"

# A wall clock that jumps an hour on while the monotonic grid runs on, as at a resume: the round of
# [late] that falls due next must not go out, since its window is over, and [missed], whose window
# lay within the hour, has nothing to make up for.
# With the watchdog on: an endpoint asleep is late for nothing.
notify_start
# [missed]: a window the jump passes over whole, slept through, not made up for.
conf timezone=Europe/Berlin interval=2s timeout=1s \
	-- late /late 2 "schedule=Mon 07:00-07:30" \
	-- missed /missed 2 "schedule=Mon 07:30-07:31" \
	-- clock /clock 1 >"$WORK/jump.conf"
fake_clock_warmd --settable $((B - 30)) "$WORK/jump.conf" WATCHDOG_USEC=1000000
# Just after a round of [late], so the jump comes well before the next (2 s on; [clock] is due with it,
# and wakes the loop no sooner).
wait_for 10 platform_true "fn('/late')['requests'] >= 4" || fail "[late] did not warm in its window"
late=$(report "fn('/late')['requests']")
fake_clock_offset $((FAKE_OFF + 3600))
clock=$(report "fn('/clock')['requests']")
wait_for 15 platform_true "fn('/clock')['requests'] >= $clock + 3" || fail "[clock] stopped"
check_eq "after the jump past its window: no round of [late], while [clock] ran 3 more" "$late" \
	"$(report "fn('/late')['requests']")"
check_eq "a window jumped over whole: no round of [missed]" 0 "$(report "fn('/missed')['requests']")"
# [late] has slept for 3 rounds of [clock], past its interval and timeout: the watchdog keeps going.
seq=$(notify_seq)
check "the watchdog keeps its keep-alives with endpoints asleep" notify_wait 5 '^WATCHDOG=1' "$seq"
check_eq "the watchdog found no endpoint late" 0 "$(notify_count 'keep-alives stopped')"
terminate "$WARMD_PID"
finish
