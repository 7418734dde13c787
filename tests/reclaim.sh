#!/bin/bash
# Reclaims: the platform reclaims containers idle for 2 s. An endpoint warmed every 3 s loses its
# containers between rounds, and warmd warns, with the interval advice, in its record and
# on the status line; an endpoint warmed every 1 s keeps them, and warmd says nothing. Without
# container ids, cold starts after round 1 give the same warning.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 100 --cold-ms 100 --ttl-s 2
ids="reuse_header = X-Container-Reused
instance_header = X-Container-Id"
cat >"$WORK/warmd.conf" <<CONF
[global]
timeout = 5s
[dying]
url = http://127.0.0.1:$PORT/dying
containers = 3
interval = 3s
$ids
[living]
url = http://127.0.0.1:$PORT/living
containers = 3
interval = 1s
$ids
[anonymous]
url = http://127.0.0.1:$PORT/anonymous
containers = 2
interval = 3s
reuse_header = X-Container-Reused
CONF

# The service manager's end of sd_notify, for the status line.
notify_start
"$WARMD" -c "$WORK/warmd.conf" >/dev/null 2>"$WORK/err" &
wpid=$!
at_exit "stop_pid $wpid"
# Rounds 1 to 3 of "dying" (at 0, 3 and 6 s).
wait_for 20 platform_true 'fn("/dying")["requests"] >= 9 and fn("/anonymous")["requests"] >= 6 and r["in_flight"] == 0' ||
	fail "three rounds of dying did not finish"
sleep 0.5
stop_pid "$wpid" || true   # stop_pid returns non-zero when warmd is already gone

# The platform's record: dying's containers died between its rounds, living's did not.
check_eq "platform: dying started new containers in every round" 9 "$(report 'fn("/dying")["cold_starts"]')"
check_eq "platform: living kept its 3 containers" "3 3" \
	"$(report '"%d %d" % (fn("/living")["cold_starts"], fn("/living")["distinct_containers"])')"

warnings=$(grep -c "the platform reclaimed idle containers" "$WORK/err" || true)
check_eq "a warning in rounds 2 and 3 of dying, and of anonymous" 4 "$warnings"
check_eq "no warning about living" 0 "$(grep -c "^living .*reclaimed" "$WORK/err" || true)"
check "the warning names the endpoint, the new containers, the interval, the lifetime and the advice" \
	grep -qE "^dying round 2: 3 new containers: the platform reclaimed idle containers within 3s \(interval 3s\); their idle lifetime is at most 3s; suggested interval [12]s$" "$WORK/err"
check "without ids, from cold starts" \
	grep -qE "^anonymous round 2: 2 new containers \(cold starts\): the platform reclaimed" "$WORK/err"

# The status line "systemctl status" shows.
status=$(grep -P '\tSTATUS=' "$NOTIFY_LOG" | tail -n 1 | cut -f4-)
check "the status line says what was learned ($status)" \
	grep -qE "containers reclaimed between rounds on 2 endpoints \((dying|anonymous): idle lifetime under 3s, suggested interval [12]s\)" <<<"$status"

# New containers that real traffic started between rounds are no reclaim: a burst of 6 requests
# scales "busy" up to 6 containers; warmd's next round lands on some of them, warm, and on fewer of
# its own, which are still alive.
reset_platform "?kill=1"
cat >"$WORK/busy.conf" <<CONF
[global]
timeout = 5s
interval = 2s
[busy]
url = http://127.0.0.1:$PORT/busy
containers = 2
$ids
CONF
"$WARMD" -c "$WORK/busy.conf" >/dev/null 2>"$WORK/busy.err" &
bpid=$!
at_exit "stop_pid $bpid"
wait_for 10 platform_true 'fn("/busy")["requests"] >= 2 and r["in_flight"] == 0' || fail "round 1 of busy did not finish"
"$PYTHON" -c '
import concurrent.futures, sys, urllib.request
url = "http://127.0.0.1:%s/busy" % sys.argv[1]
with concurrent.futures.ThreadPoolExecutor(6) as ex:
    list(ex.map(lambda _: urllib.request.urlopen(url, timeout=10).read(), range(6)))' "$PORT"
wait_for 10 platform_true 'fn("/busy")["requests"] >= 12 and r["in_flight"] == 0' || fail "rounds 2 and 3 of busy did not finish"
stop_pid "$bpid" || true
check_eq "platform: the burst started 4 more containers, warmd none after round 1" "6 6" \
	"$(report '"%d %d" % (fn("/busy")["cold_starts"], fn("/busy")["distinct_containers"])')"
check_eq "no reclaim warning for busy" 0 "$(grep -c "reclaimed" "$WORK/busy.err" || true)"

finish
