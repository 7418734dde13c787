#!/bin/bash
# Rounds on a fixed grid: round k of an endpoint arrives at the platform at
# its first round + k x interval, plus a jitter drawn afresh each round that
# never adds up, and however long a round takes.  Judged by the arrival times
# the platform itself recorded (kernel receive timestamps).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 100 --cold-ms 0
cat >"$WORK/warmd.conf" <<CONF
[global]
interval = 1s
timeout = 5s

# Each round holds its containers for 700 ms of the 1 s interval.
[long]
url = http://127.0.0.1:$PORT/long?hold_ms=700
containers = 3

[jittery]
url = http://127.0.0.1:$PORT/jittery
containers = 3
jitter = 600ms
CONF

"$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"
ROUNDS=8
wait_for 15 platform_true "fn('/long')['requests'] >= 3 * $ROUNDS and fn('/jittery')['requests'] >= 3 * $ROUNDS" ||
	fail "$ROUNDS rounds did not arrive in 15 s"
stop_pid "$WARMD_PID"

long=$(grid_offsets /long 1 3 "$ROUNDS")
jittery=$(grid_offsets /jittery 1 3 "$ROUNDS")
say "long: offsets from the grid (ms): $long"
say "jittery: offsets from the grid (ms): $jittery"

# Timer slack on a busy machine is tens of ms; a round that waited for the one before it would
# be 700 ms late, and 700 ms more each round.
check "long rounds: each round on the grid, within 0-250 ms, although a round takes 700 ms" \
	in_range "$long" 0 250
check "jitter: each round within 0-600 ms (+250 ms slack) of the grid; jitter does not add up" \
	in_range "$jittery" 0 850
# Rounds 1-7: round 0 starts at once, without jitter.  7 draws of a uniform 0-600 ms all within
# 100 ms of each other: probability below 2e-4.
spread=$("$PYTHON" -S -c 'import sys; l = eval(sys.argv[1])[1:]; print(max(l) - min(l))' "$jittery")
check_ge "jitter: drawn afresh each round (spread of the offsets, ms)" 100 "$spread"
finish
