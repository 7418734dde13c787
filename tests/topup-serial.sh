#!/bin/bash
# Top-up knows what it is fixing, judged by the platform's record: a platform that starts its
# containers one after another (faas-sim --serial-starts, like serverless-offline) gets N from cold
# and no container past it; a round that warmd sent apart is named so; containers woken past N are
# counted in the round record and the metrics file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 200 --cold-ms 20
ids="reuse_header = X-Container-Reused
instance_header = X-Container-Id"

# 50 from cold, the platform taking one request at a time and none while it starts a container.
cat >"$WORK/serial.conf" <<CONF
[global]
timeout = 10s
[serial]
url = http://127.0.0.1:$PORT/serial?serial=1
containers = 50
$ids
CONF
once "$WORK/serial.conf"
check_eq "serial starts: --once exits 0" 0 "$RC"
woken=$(report 'fn("/serial")["distinct_containers"]')
check_ge "serial starts: the platform saw at least 50 containers" 50 "$woken"
check_le "serial starts: and at most 52" 52 "$woken"
check_eq "serial starts: every one a cold start of this round" "$woken" "$(report 'fn("/serial")["cold_starts"]')"
check "serial starts: the round took more than one attempt" grep -qE "^serial round 1: 50 of 50 reached .*, [2-8] attempts, [0-9]+ requests$" "$WORK/err"
check "serial starts: the record names the platform's serial service" \
	grep -qE "^serial round 1: .*, first attempt short: the platform served requests sent together one after another, [0-9]+ ms apart, " "$WORK/err"
check "serial starts: no attempt larger than N" test "$(report 'fn("/serial")["max_in_flight"]')" -le 50

# max_parallel = 5 for N = 10: the second five leave as the first are answered, and find them free.
reset_platform "?kill=1"
cat >"$WORK/spread.conf" <<CONF
[global]
timeout = 10s
max_parallel = 5
[spread]
url = http://127.0.0.1:$PORT/spread?hold_ms=100
containers = 10
$ids
CONF
once "$WORK/spread.conf"
check_eq "sent apart: 5 containers served 10 requests" "10 5" "$(report '"%d %d" % (fn("/spread")["requests"], fn("/spread")["distinct_containers"])')"
check "sent apart: the record names it, with the spread and the container's service time" \
	grep -qE "^spread round 1: 5 of 10 reached .*, first attempt short: not overlapped, sent over [0-9]+ ms, a container answered in [0-9]+ ms and took another; not topped up" "$WORK/err"
spread=$(sed -n 's/.*sent over \([0-9]*\) ms, a container answered in \([0-9]*\) ms.*/\1 \2/p' "$WORK/err")
check "sent apart: the spread exceeded the service time ($spread)" test "${spread% *}" -ge "${spread#* }"
# The platform holds from the request's arrival; libcurl stamps its pretransfer time when it enters
# PERFORMING, after it has written the request: the service time warmd sees can read a little short.
check "sent apart: a service time near the platform's 100 ms hold ($spread)" test "${spread#* }" -ge 90 -a "${spread#* }" -lt 1000

# Overshoot: a daemon learns from a packing platform that 5 containers need 17 requests; the platform
# then stops packing, and the next round wakes 17.  The record and the metric say 12 past N, and the
# round after goes back to N.
reset_platform "?kill=1&per_container=4"
mkdir -m 0755 "$WORK/metrics"
cat >"$WORK/over.conf" <<CONF
[global]
timeout = 10s
interval = 3s
metrics_file = $WORK/metrics/warmd.prom
[over]
url = http://127.0.0.1:$PORT/over?hold_ms=150&cold_ms=100
containers = 5
$ids
CONF
"$WARMD" -c "$WORK/over.conf" >/dev/null 2>"$WORK/over.err" &
wpid=$!
at_exit "stop_pid $wpid"
wait_for 20 grep -q "^over round 1: 5 of 5 reached" "$WORK/over.err" || fail "round 1 did not reach 5"
check "round 1 on the packing platform: named packing, no container past N" \
	grep -qE "^over round 1: 5 of 5 reached .*, first attempt short: containers took several requests at once, [0-9]+ attempts" "$WORK/over.err"
reset_platform "?kill=1&per_container=1"
wait_for 20 grep -q "^over round 2: " "$WORK/over.err" || fail "no round 2"
sent2=$(report 'fn("/over")["requests"]')
woken2=$(report 'fn("/over")["distinct_containers"]')
check "round 2 sends what round 1 learned ($sent2 > 5)" test "$sent2" -gt 5
check_eq "round 2 wakes one container per request" "$sent2" "$woken2"
check "round 2's record counts them past N" grep -qE "^over round 2: $woken2 of 5 reached .*, $((woken2 - 5)) past N, 1 attempt, $sent2 requests$" "$WORK/over.err"
wait_for 10 grep -q "^warmd_containers_overshoot_total{endpoint=\"over\"} $((woken2 - 5))\$" "$WORK/metrics/warmd.prom" || true
check_eq "the metric counts them" "warmd_containers_overshoot_total{endpoint=\"over\"} $((woken2 - 5))" \
	"$(grep '^warmd_containers_overshoot_total{' "$WORK/metrics/warmd.prom")"
reset_platform
wait_for 20 grep -q "^over round 3: " "$WORK/over.err" || fail "no round 3"
check_eq "round 3 is back to N: the platform saw 5 requests" 5 "$(report 'fn("/over")["requests"]')"
check "round 3 reaches 5 in one attempt, none past N" grep -qE "^over round 3: 5 of 5 reached \([^)]*\), p50 [0-9]+ ms, max [0-9]+ ms$" "$WORK/over.err"
stop_pid "$wpid"

finish
