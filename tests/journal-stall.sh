#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A stalled journald must not stall warmd.  A private journald is stopped
# with SIGSTOP while three warmd daemons run.  A and B keep sending rounds
# (the platform's own record counts them); once B has more records than
# its queue holds, its status line counts the records dropped; SIGTERM
# stops A within a second.  After SIGCONT B's count arrives in the journal
# as a record of its own, and it is exact: the records in the journal, the
# count and the request records held back by the budget are every record
# B wrote, as the platform's request count says.  C, idle but for one
# record during the stall, has it delivered once journald is back, with
# nothing further to write.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_root
enter_mount_ns "$@"
journald_start
start_platform --hold-ms 5 --cold-ms 5
notify_start

# B writes 200 request records a second: more than the 256 KiB its queue
# holds, and than journald's socket takes, within a few seconds.
containers=200
conf() {        # conf NAME
	cat >"$WORK/$1.conf" <<EOF
[global]
interval = 1s
jitter = 0

[$1]
url = http://127.0.0.1:$PORT/$1
containers = $containers
EOF
}
conf js-a
conf js-b
conf js-c
sed -i -e 's/^interval = 1s$/interval = 1h/' -e 's/^containers = .*/containers = 2/' "$WORK/js-c.conf"
sed -i 's/^containers = .*/containers = 10/' "$WORK/js-a.conf"
requests() { report "fn('/$1')['requests']"; }

env -u NOTIFY_SOCKET "$WARMD" -c "$WORK/js-a.conf" >/dev/null 2>"$WORK/a.err" &
pid_a=$!
at_exit "stop_pid $pid_a"
"$WARMD" -c "$WORK/js-b.conf" >/dev/null 2>"$WORK/b.err" &
pid_b=$!
at_exit "stop_pid $pid_b"
env -u NOTIFY_SOCKET "$WARMD" -c "$WORK/js-c.conf" >/dev/null 2>"$WORK/c.err" &
pid_c=$!
at_exit "stop_pid $pid_c"
check "before the stall: the daemons are warming" \
	wait_for 10 platform_true "fn('/js-a')['requests'] >= 10 and fn('/js-b')['requests'] >= $containers and fn('/js-c')['requests'] >= 2"

# ------------------------------------------------------------ journald stalls

kill -STOP "$JOURNALD_PID"
at_exit "kill -CONT $JOURNALD_PID 2>/dev/null"
say "journald (pid $JOURNALD_PID) stopped; max_dgram_qlen $(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null)"
a0=$(requests js-a)
b0=$(requests js-b)
check "stalled journald: daemon A keeps sending rounds (3 more, by the platform's count)" \
	wait_for 10 platform_true "fn('/js-a')['requests'] >= $a0 + 3 * 10"
check "stalled journald: daemon B keeps sending rounds (3 more, by the platform's count)" \
	wait_for 10 platform_true "fn('/js-b')['requests'] >= $b0 + 3 * $containers"
check "stalled journald: once its queue is full, B's status line counts the records dropped" \
	notify_wait 20 '^STATUS=.*[0-9]+ journal records? dropped'
say "$(notify_find '^STATUS=.*journal record' | cut -f4)"
# C's only record during the stall: the notice that it ignored SIGUSR1.
kill -USR1 "$pid_c"

t0=$(now_ns)
kill -TERM "$pid_a"
wait_for 3 proc_gone "$pid_a" || true
ms=$(ms_since "$t0")
check_le "stalled journald: A exited within 1000 ms of SIGTERM" 1000 "$ms"

# ------------------------------------------------------------ journald is back

kill -CONT "$JOURNALD_PID"
rc=0
wait "$pid_a" || rc=$?
check_eq "stalled journald: SIGTERM stopped A with exit status 0" 0 "$rc"
dropped_b() {
	jfields WARMD_DROPPED _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_JOURNAL_DROPPED" |
		awk '$1 ~ /^[0-9]+$/ { n += $1; k++ } END { if (k) print n; else exit 1 }'
}
check "journald back: B's count of dropped records arrives within 5 s" wait_for 5 dropped_b
d=$(dropped_b || echo 0)
check_ge "journald back: B dropped records" 1 "$d"
check_eq "journald back: the count is a warning (PRIORITY=4)" 4 \
	"$(jfields PRIORITY _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_JOURNAL_DROPPED" | sort -u | xargs)"
c_notice() { [ "$(jfields MESSAGE _PID="$pid_c" PRIORITY=5 | grep -c 'Ignoring SIGUSR1')" = 1 ]; }
check "journald back: idle C's notice, queued during the stall, arrives within 5 s with nothing else to write" \
	wait_for 5 c_notice
check_eq "journald back: C dropped nothing" 0 "$(jcount _PID="$pid_c" MESSAGE_ID="$WARMD_MESSAGE_JOURNAL_DROPPED")"

# Stop B between two rounds: right after a round summary written after the stall.
last_round() { jfields WARMD_ROUND _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_ROUND" | sort -n | tail -n1; }
r0=$(last_round)
check "journald back: B's round summaries reach the journal again" \
	wait_for 5 eval '[ "$(last_round)" -gt "${r0:-0}" ]'
kill -TERM "$pid_b"
rc=0
wait "$pid_b" || rc=$?
check_eq "B stops with exit status 0" 0 "$rc"

# Every record B wrote is in the journal, in the count of dropped records
# or in a round's count of request records held back: start, config
# loaded, one per request and one per round, and the stop record.
p=$(requests js-b)
check_eq "B's rounds were all whole ($containers requests each)" 0 $((p % containers))
want=$((3 + p + p / containers))
got=$(jfields MESSAGE_ID _PID="$pid_b" | grep -vc "^$WARMD_MESSAGE_JOURNAL_DROPPED\$" || true)
held=$(jfields WARMD_UNLOGGED _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_ROUND" | awk '{ n += $1 } END { print n + 0 }')
say "B: $p requests at the platform; $got records in the journal, $d dropped, $held held back"
check_eq "journald back: records in the journal + dropped + held back = every record B wrote" \
	"$want" $((got + d + held))

finish
