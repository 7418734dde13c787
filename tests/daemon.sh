#!/bin/bash
# The daemon with a 2 s interval: after the first round, the platform sees no
# more cold starts; rounds of different endpoints overlap; a dead endpoint, a
# 500 and a slow one past its timeout each fail clearly while the others carry on.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 100 --cold-ms 200 --ttl-s 60
cat >"$WORK/warmd.conf" <<CONF
[global]
interval = 2s
timeout = 1s

[one]
url = http://127.0.0.1:$PORT/one
containers = 4
instance_header = X-Container-Id
reuse_header = X-Container-Reused

[two]
url = http://127.0.0.1:$PORT/two
containers = 4
instance_json = container
reuse_json = reused

[dead]
url = http://127.0.0.1:1/nothing-listens-here
containers = 2

[broken]
url = http://127.0.0.1:$PORT/broken?status=500
containers = 2

[slow]
url = http://127.0.0.1:$PORT/slow?hold_ms=3000
containers = 2
timeout = 500ms

[lagging]
url = http://127.0.0.1:$PORT/lagging?hold_ms=4500
containers = 1
timeout = 10s
CONF

"$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"

wait_for 10 platform_true 'fn("/one")["requests"] >= 4 and fn("/two")["requests"] >= 4' ||
	fail "first round did not reach the platform"
check_eq "first round: one and two overlapped (all 8 + 4 more in flight at once)" True \
	"$(report 'r["max_in_flight"] >= 8')"
sleep 0.5
reset_platform
# Two more rounds of every endpoint.
wait_for 10 platform_true 'fn("/one")["requests"] >= 8 and fn("/two")["requests"] >= 8' ||
	fail "later rounds did not reach the platform"
check_eq "later rounds: no cold start on one" 0 "$(report 'fn("/one")["cold_starts"]')"
check_eq "later rounds: no cold start on two" 0 "$(report 'fn("/two")["cold_starts"]')"
check_eq "later rounds: one still spreads over its 4 containers" 4 "$(report 'fn("/one")["distinct_containers"]')"
check_eq "later rounds: two still spreads over its 4 containers" 4 "$(report 'fn("/two")["distinct_containers"]')"
check_eq "the failing endpoints kept being tried" True "$(report 'fn("/broken")["requests"] >= 2')"
# lagging's round 1 holds its container 4.5 s: rounds 2 and 3 (at 2 s and 4 s) are skipped, round 4 (6 s) is sent.
# Requests still in flight across the reset count in max_in_flight, so a doubled round shows as 2 or more.
wait_for 10 platform_true 'fn("/lagging")["requests"] >= 1' || fail "lagging: no request after the reset"
check_eq "a round still in flight is not doubled: never two requests to /lagging at once" 1 \
	"$(report 'fn("/lagging")["max_in_flight"]')"

terminate "$WARMD_PID"
check_eq "SIGTERM: exit 0" 0 "$RC"

check "dead endpoint: connection error per request" grep -q "^dead round 1: failed after .*: Failed to connect to 127.0.0.1 port 1" "$WORK/err"
check "500: HTTP error per request" grep -q "^broken round 1: unknown, failed: HTTP 500 (expected 2xx)" "$WORK/err"
check "slow: timeout per request" grep -q "^slow round 1: failed after .*: Operation timed out after" "$WORK/err"
check "lagging: the next round is skipped, and says why" \
	grep -q "^lagging: round 1 is still in flight (1 of 1 requests pending); skipping this round" "$WORK/err"
check "dead endpoint: round summary says 0 of 2" grep -q "^dead round 1: 0 of 2 reached" "$WORK/err"
check "one: round 2 reached all 4, all warm" grep -q "^one round 2: 4 of 4 reached (4 warm, 0 cold" "$WORK/err"
check "two: round 2 reached all 4, all warm" grep -q "^two round 2: 4 of 4 reached (4 warm, 0 cold" "$WORK/err"

# Stopping with requests of different timeouts in flight: curl re-arms its timer as each is
# aborted, after the loop has ended; that must not be logged as an error.
cat >"$WORK/stop.conf" <<CONF
[a]
url = http://127.0.0.1:$PORT/stop-a?hold_ms=5000
containers = 2
timeout = 8s
[b]
url = http://127.0.0.1:$PORT/stop-b?hold_ms=5000
containers = 2
timeout = 10s
CONF
"$WARMD" -c "$WORK/stop.conf" >"$WORK/out" 2>"$WORK/stop.err" &
STOP_PID=$!
at_exit "stop_pid $STOP_PID"
wait_for 10 platform_true 'fn("/stop-a")["requests"] >= 2 and fn("/stop-b")["requests"] >= 2' || fail "stop test: requests did not arrive"
terminate "$STOP_PID"
check_eq "stop mid-round: exit 0" 0 "$RC"
check_eq "stop mid-round: nothing logged at error" 0 "$(grep -ci "failed" "$WORK/stop.err" || true)"

finish
