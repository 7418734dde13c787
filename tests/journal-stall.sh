#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A stalled journald must not stall warmd.  A private journald is stopped
# with SIGSTOP while two warmd daemons run: both keep sending rounds (the
# platform's own record counts them), SIGTERM stops one within a second,
# and the other's status line counts the records journald did not take.
# After SIGCONT that count arrives in the journal as a record of its own,
# and it is exact: the records in the journal plus the count are every
# record warmd wrote, as the platform's request count says.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_root
enter_mount_ns "$@"
journald_start
start_platform --hold-ms 5 --cold-ms 5
notify_start

# Enough records to fill journald's socket queue in about two rounds,
# whatever net.unix.max_dgram_qlen is (10 by default, 512 under systemd).
qlen=$(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null || echo 512)
containers=$((qlen / 2 + 5))
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
requests() { report "fn('/$1')['requests']"; }

env -u NOTIFY_SOCKET "$WARMD" -c "$WORK/js-a.conf" >/dev/null 2>"$WORK/a.err" &
pid_a=$!
at_exit "stop_pid $pid_a"
"$WARMD" -c "$WORK/js-b.conf" >/dev/null 2>"$WORK/b.err" &
pid_b=$!
at_exit "stop_pid $pid_b"
check "before the stall: both daemons are warming" \
	wait_for 10 platform_true "fn('/js-a')['requests'] >= $containers and fn('/js-b')['requests'] >= $containers"

# ------------------------------------------------------------ journald stalls

kill -STOP "$JOURNALD_PID"
at_exit "kill -CONT $JOURNALD_PID 2>/dev/null"
say "journald (pid $JOURNALD_PID) stopped; $containers containers per round, max_dgram_qlen $qlen"
a0=$(requests js-a)
b0=$(requests js-b)
check "stalled journald: daemon A keeps sending rounds (3 more, by the platform's count)" \
	wait_for 10 platform_true "fn('/js-a')['requests'] >= $a0 + 3 * $containers"
check "stalled journald: daemon B keeps sending rounds (3 more, by the platform's count)" \
	wait_for 10 platform_true "fn('/js-b')['requests'] >= $b0 + 3 * $containers"
check "stalled journald: B's status line counts the records dropped" \
	notify_wait 5 '^STATUS=.*[0-9]+ journal records? dropped'
say "$(notify_find '^STATUS=.*journal record' | cut -f4)"

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

# Stop B between two rounds: right after a round summary written after the stall.
last_round() { jfields WARMD_ROUND _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_ROUND" | sort -n | tail -n1; }
r0=$(last_round)
check "journald back: B's round summaries reach the journal again" \
	wait_for 5 eval '[ "$(last_round)" -gt "${r0:-0}" ]'
kill -TERM "$pid_b"
rc=0
wait "$pid_b" || rc=$?
check_eq "B stops with exit status 0" 0 "$rc"

# Every record B wrote is in the journal or in the count: start, config
# loaded, one per request and one per round, and the stop record.
p=$(requests js-b)
check_eq "B's rounds were all whole ($containers requests each)" 0 $((p % containers))
want=$((3 + p + p / containers))
got=$(jfields MESSAGE_ID _PID="$pid_b" | grep -vc "^$WARMD_MESSAGE_JOURNAL_DROPPED\$" || true)
say "B: $p requests at the platform; $got records in the journal, $d dropped"
check_eq "journald back: records in the journal + records counted as dropped = every record B wrote" \
	"$want" $((got + d))

finish
