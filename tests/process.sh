#!/bin/bash
# SPDX-License-Identifier: MIT
#
# warmd as a process: an answer on stdout that cannot be written is an
# error; closed fds 0-2 are opened on /dev/null before anything else takes
# them; SIGUSR1, SIGUSR2 and SIGALRM are logged and ignored, not fatal; the
# round timers run on CLOCK_BOOTTIME.  Judged by the platform's record, a
# private journald and /proc.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_root
enter_mount_ns "$@"
journald_start
start_platform

# ------------------------------------------------------------ stdout that cannot be written

conf interval=1h -- pr-full /pr-full 2 >"$WORK/pr-full.conf"
for args in "-n" "--once" "--version"; do
	RC=0
	# shellcheck disable=SC2086
	"$WARMD" $args -c "$WORK/pr-full.conf" >/dev/full 2>"$WORK/full.err" || RC=$?
	check_eq "warmd $args >/dev/full: exit status 3" 3 "$RC"
	check "warmd $args >/dev/full: says why on stderr" \
		grep -qx "warmd: failed to write to standard output: No space left on device" "$WORK/full.err"
done
check_eq "warmd --once >/dev/full: the round itself was sent (the platform saw 2 requests)" 2 \
	"$(report 'fn("/pr-full")["requests"]')"

# ------------------------------------------------------------ fds 0-2 closed

conf interval=1s -- pr-fds /pr-fds 2 >"$WORK/pr-fds.conf"
"$WARMD" -c "$WORK/pr-fds.conf" 0<&- 1>&- 2>&- &
pid=$!
at_exit "stop_pid $pid"
check "fds 0-2 closed: warmd keeps warming (the platform saw 2 rounds)" \
	wait_for 10 platform_true 'fn("/pr-fds")["requests"] >= 4'
for fd in 0 1 2; do
	check_eq "fds 0-2 closed: fd $fd is /dev/null" /dev/null "$(readlink "/proc/$pid/fd/$fd" || echo closed)"
done
stop_pid "$pid"

# ------------------------------------------------------------ signals it has no use for

conf interval=1s -- pr-sig /pr-sig 2 >"$WORK/pr-sig.conf"
"$WARMD" -c "$WORK/pr-sig.conf" >"$WORK/sig.out" 2>"$WORK/sig.err" &
pid=$!
at_exit "stop_pid $pid"
check "signals: warmd is warming" wait_for 10 platform_true 'fn("/pr-sig")["requests"] >= 2'
for sig in USR1 USR2 ALRM; do
	kill -"$sig" "$pid"
done
n0=$(report 'fn("/pr-sig")["requests"]')
check "signals: after SIGUSR1, SIGUSR2 and SIGALRM warmd still warms (2 more rounds)" \
	wait_for 10 platform_true "fn('/pr-sig')['requests'] >= $n0 + 4"
check "signals: warmd is still running" kill -0 "$pid"
jfields PRIORITY,MESSAGE _PID="$pid" PRIORITY=5 >"$WORK/sig.tsv"
for sig in USR1 USR2 ALRM; do
	check_eq "signals: a notice record says SIG$sig was ignored" 1 \
		"$(count_lines "$WORK/sig.tsv" 'index($2, "Ignoring SIG" s " from pid ") == 1' -v s="$sig")"
done
check_eq "signals: no stop record before SIGTERM" 0 "$(jcount _PID="$pid" MESSAGE_ID="$WARMD_MESSAGE_STOP")"
terminate "$pid"
check_eq "signals: SIGTERM still stops warmd, exit status 0" 0 "$RC"
check_eq "signals: one stop record after SIGTERM" 1 "$(jcount _PID="$pid" MESSAGE_ID="$WARMD_MESSAGE_STOP")"

# ------------------------------------------------------------ the clock of the round timers

# A suspend cannot be staged here; what can be seen is the clock of the
# timerfd that sd-event arms for the round timers (clockid 7 is
# CLOCK_BOOTTIME, 1 CLOCK_MONOTONIC), and that it holds the next round, an
# hour away.
conf interval=1h -- pr-clock /pr-clock 2 >"$WORK/pr-clock.conf"
"$WARMD" -c "$WORK/pr-clock.conf" >"$WORK/clock.out" 2>"$WORK/clock.err" &
pid=$!
at_exit "stop_pid $pid"
check "clock: the first round went out" wait_for 10 platform_true 'fn("/pr-clock")["requests"] >= 2'
# The status line's timer (at most once a second) shares the monotonic timerfd until it fires.
sleep 1.5
timers() {      # one line per timerfd of warmd: clockid, seconds until it fires
	local f
	for f in /proc/"$pid"/fdinfo/*; do
		awk '$1 == "clockid:" { c = $2 } $1 == "it_value:" { gsub(/[(),]/, " "); v = $2 }
			END { if (c != "") print c, v }' "$f" 2>/dev/null || true
	done
}
timers >"$WORK/timers.txt"
check_eq "clock: a CLOCK_BOOTTIME timer holds the next round, 3500-3600 s away" 1 \
	"$(awk '$1 == 7 && $2 > 3500 && $2 <= 3600 { n++ } END { print n + 0 }' "$WORK/timers.txt")"
check_eq "clock: no CLOCK_MONOTONIC timer is that far away" 0 \
	"$(awk '$1 == 1 && $2 > 3000 { n++ } END { print n + 0 }' "$WORK/timers.txt")"
stop_pid "$pid"

finish
