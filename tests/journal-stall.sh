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

# Three daemons.  A sends a round a second.  B sends 700 requests every 2
# s (time enough for a round, so none is skipped), which fail (HTTP 500), so
# their records are notices, which the budget
# lets through (warmd(8), "Journal volume"), and with a long name and path
# each record is about 550 bytes: B outgrows the 2 MiB its queue holds, and
# what journald's socket takes, within seconds.
b_name=js-b-$(printf '%040d' 0)
b_path=/$b_name/$(printf 'p%.0s' $(seq 90))
cat >"$WORK/js-a.conf" <<EOF
[global]
interval = 1s
jitter = 0

[js-a]
url = http://127.0.0.1:$PORT/js-a
containers = 10
EOF
cat >"$WORK/js-b.conf" <<EOF
[global]
interval = 2s
jitter = 0
max_parallel = 1000
metrics_file = $WORK/js-b.prom

[$b_name]
url = http://127.0.0.1:$PORT$b_path?status=500
containers = 700
EOF
cat >"$WORK/js-c.conf" <<EOF
[global]
interval = 1h

[js-c]
url = http://127.0.0.1:$PORT/js-c
containers = 2
EOF
containers=700
requests() { report "fn('$1')['requests']"; }

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
	wait_for 10 platform_true "fn('/js-a')['requests'] >= 10 and fn('$b_path')['requests'] >= $containers and fn('/js-c')['requests'] >= 2"

# ------------------------------------------------------------ journald stalls

kill -STOP "$JOURNALD_PID"
at_exit "kill -CONT $JOURNALD_PID 2>/dev/null"
say "journald (pid $JOURNALD_PID) stopped; max_dgram_qlen $(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null)"
a0=$(requests /js-a)
b0=$(requests "$b_path")
check "stalled journald: daemon A keeps sending rounds (3 more, by the platform's count)" \
	wait_for 10 platform_true "fn('/js-a')['requests'] >= $a0 + 3 * 10"
check "stalled journald: daemon B keeps sending rounds (3 more, by the platform's count)" \
	wait_for 15 platform_true "fn('$b_path')['requests'] >= $b0 + 3 * $containers"
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
RC=0
wait "$pid_a" || RC=$?
check_eq "stalled journald: SIGTERM stopped A with exit status 0" 0 "$RC"
dropped_b() {
	jfields WARMD_DROPPED _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_JOURNAL_DROPPED" |
		awk '$1 ~ /^[0-9]+$/ { n += $1; k++ } END { if (k) print n; else exit 1 }'
}
check "journald back: B's count of dropped records arrives within 5 s" wait_for 5 dropped_b
d=$(dropped_b || echo 0)
check_ge "journald back: B dropped records" 1 "$d"
# The metric is the same count, written after B's next rounds: what the alert rule WarmdJournalDropping reads.
b_metric() { awk '$1 == "warmd_journal_records_dropped_total" { print $2 }' "$WORK/js-b.prom" 2>/dev/null; }
check "journald back: B's warmd_journal_records_dropped_total is the journal's count ($d)" \
	wait_for 10 eval '[ "$(b_metric)" = "$d" ]'
check_eq "journald back: the count is a warning (PRIORITY=4)" 4 \
	"$(jfields PRIORITY _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_JOURNAL_DROPPED" | sort -u | xargs)"
c_notice() { [ "$(jfields MESSAGE _PID="$pid_c" PRIORITY=5 | grep -c 'Ignoring SIGUSR1')" = 1 ]; }
check "journald back: idle C's notice, queued during the stall, arrives within 5 s with nothing else to write" \
	wait_for 5 c_notice
check_eq "journald back: C dropped nothing" 0 "$(jcount _PID="$pid_c" MESSAGE_ID="$WARMD_MESSAGE_JOURNAL_DROPPED")"

last_round() { jfields WARMD_ROUND _PID="$pid_b" MESSAGE_ID="$WARMD_MESSAGE_SHORT" | sort -n | tail -n1; }
r0=$(last_round)
check "journald back: B's round summaries reach the journal again" \
	wait_for 10 eval '[ "$(last_round)" -gt "${r0:-0}" ]'
terminate "$pid_b"
check_eq "B stops with exit status 0" 0 "$RC"

# The account, up to the last round k whose summary is in the journal.
# Records go to journald in the order B wrote them, so every record of
# rounds 1..k is before that summary: in the journal, or counted in a
# dropped-records record before it, or, for a request, counted in its
# round's WARMD_UNLOGGED.  (What was still queued when B stopped came
# later, and is not part of it.)
jfields MESSAGE_ID,WARMD_ROUND,WARMD_DROPPED,WARMD_UNLOGGED _PID="$pid_b" >"$WORK/b.tsv"
k=$(last_round)
read -r got d_k held <<<"$(awk -F'\t' -v k="$k" -v req="$WARMD_MESSAGE_REQUEST" -v short="$WARMD_MESSAGE_SHORT" \
	-v drop="$WARMD_MESSAGE_JOURNAL_DROPPED" -v start="$WARMD_MESSAGE_START" -v conf="$WARMD_MESSAGE_CONFIG_LOADED" '
	done { next }
	$1 == drop { d += $3; next }
	$1 == start || $1 == conf { n++; next }
	$1 == req && $2 <= k { n++ }
	$1 == short && $2 <= k { n++; h += $4; if ($2 == k) done = 1 }
	END { print n + 0, d + 0, h + 0 }' "$WORK/b.tsv")"
p=$(requests "$b_path")
check_eq "B's rounds were all whole at the platform ($containers requests each)" 0 $((p % containers))
check_ge "the platform saw B's rounds 1..$k" $((k * containers)) "$p"
say "B, rounds 1..$k: $got records in the journal, $d_k dropped, $held held back"
check_eq "journald back: records in the journal + dropped + held back = every record B wrote for rounds 1..$k" \
	$((2 + k * (containers + 1))) $((got + d_k + held))

finish
