#!/bin/bash
# Top-up: on a platform whose containers take 4 requests at once (like Cloud Run's concurrency),
# a round keeps sending larger overlapping attempts until N distinct containers answered, as the
# platform counts them; the next round starts from what it learned; the bound, topup = no,
# failures and max_parallel all stop it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 150 --cold-ms 100 --requests-per-container 4
ids="reuse_header = X-Container-Reused
instance_header = X-Container-Id"

col() { awk -v e="$1" -v c="$2" '$1 == e { print $c }' "$WORK/out"; }

cat >"$WORK/topup.conf" <<CONF
[global]
timeout = 10s
[shared]
url = http://127.0.0.1:$PORT/shared
containers = 5
$ids
CONF
once "$WORK/topup.conf"
check_eq "4 per container: --once exits 0" 0 "$RC"
check_eq "the platform saw 5 distinct containers" 5 "$(report 'fn("/shared")["distinct_containers"]')"
check_eq "the platform saw 5 cold starts" 5 "$(report 'fn("/shared")["cold_starts"]')"
check_eq "the table's SENT is what the platform counted" "$(report 'fn("/shared")["requests"]')" "$(col shared 2)"
check_eq "the table says 5/5 reached" 5/5 "$(col shared 7)"
check "the table says the round took more than one attempt" test "$(col shared 10)" -gt 1
check "the round record says attempts and requests" \
	grep -qE "^shared round 1: 5 of 5 reached .*, $(col shared 10) attempts, $(col shared 2) requests$" "$WORK/err"
check "at most 8 x N requests" test "$(report 'fn("/shared")["requests"]')" -le 40

# Learning: the daemon's second round starts with what the first needed, in one attempt, and
# reaches the same 5 warm containers. An endpoint whose containers take one request each stays at N.
reset_platform "?kill=1"
cat >"$WORK/learn.conf" <<CONF
[global]
timeout = 10s
interval = 6s
[shared]
url = http://127.0.0.1:$PORT/shared
containers = 5
$ids
[single]
url = http://127.0.0.1:$PORT/single?per_container=1
containers = 5
$ids
CONF
"$WARMD" -c "$WORK/learn.conf" >/dev/null 2>"$WORK/learn.err" &
wpid=$!
at_exit "stop_pid $wpid"
wait_for 20 platform_true 'fn("/single")["requests"] >= 5 and fn("/shared")["distinct_containers"] >= 5 and r["in_flight"] == 0' ||
	fail "the first rounds did not finish"
first=$(report 'fn("/shared")["requests"]')
reset_platform
wait_for 20 platform_true 'fn("/single")["requests"] >= 5 and fn("/shared")["requests"] > 0 and r["in_flight"] == 0' ||
	fail "the second rounds did not finish"
sleep 0.5
second=$(report 'fn("/shared")["requests"]')
stop_pid "$wpid"
check "round 2 sends fewer requests than round 1 ($second < $first)" test "$second" -lt "$first"
check "round 2 sends more than N ($second > 5)" test "$second" -gt 5
check_eq "round 2 reaches the 5 containers warm" "5 0" "$(report '"%d %d" % (fn("/shared")["distinct_containers"], fn("/shared")["cold_starts"])')"
check "round 2 took one attempt" grep -qE "^shared round 2: 5 of 5 reached .*, 1 attempt, $second requests$" "$WORK/learn.err"
check_eq "one request per container: round 2 sends N" 5 "$(report 'fn("/single")["requests"]')"

# topup = no, in [global] or for the endpoint: N requests and no more.
for where in global endpoint; do
	reset_platform "?kill=1"
	if [ $where = global ]; then g="topup = no"; e=""; else g=""; e="topup = no"; fi
	cat >"$WORK/off.conf" <<CONF
[global]
timeout = 10s
$g
[shared]
url = http://127.0.0.1:$PORT/shared
containers = 5
$ids
$e
CONF
	once "$WORK/off.conf"
	check_eq "topup = no in $where: the platform saw 5 requests" 5 "$(report 'fn("/shared")["requests"]')"
	check_eq "topup = no in $where: exit 2, 2 of 5 reached" "2 2/5" "$RC $(col shared 7)"
	check "topup = no in $where: the record says why" grep -q "^shared round 1: 2 of 5 reached .*; not topped up, topup = no$" "$WORK/err"
done

# The bound: topup = 2 allows 10 requests in all.
reset_platform "?kill=1"
sed 's/^timeout = 10s$/timeout = 10s\ntopup = 2/' "$WORK/topup.conf" >"$WORK/bound.conf"
once "$WORK/bound.conf"
check_eq "topup = 2: the platform saw 10 requests" 10 "$(report 'fn("/shared")["requests"]')"
check_eq "topup = 2: 2 containers, exit 2" "2 2" "$RC $(report 'fn("/shared")["distinct_containers"]')"
check "topup = 2: the record names the limit" grep -q "; top-up limit of 10 requests reached$" "$WORK/err"

# Failures are not topped up blindly: one request in 5 is throttled, the other 4 reach one container.
reset_platform "?kill=1"
cat >"$WORK/fail.conf" <<CONF
[failing]
url = http://127.0.0.1:$PORT/failing?fail_every=5
containers = 5
$ids
CONF
once "$WORK/fail.conf"
check_eq "a 503: the platform saw 5 requests, no more" 5 "$(report 'fn("/failing")["requests"]')"
check_eq "a 503: exit 2" 2 "$RC"
check "a 503: the record says why" grep -qE "^failing round 1: [12] of 5 reached .*; not topped up, 1 request failed$" "$WORK/err"

# max_parallel still holds: no attempt larger than 8, and the record says so.
reset_platform "?kill=1"
sed 's/^timeout = 10s$/timeout = 10s\nmax_parallel = 8/' "$WORK/topup.conf" >"$WORK/cap.conf"
once "$WORK/cap.conf"
check "max_parallel = 8: never more than 8 in flight at the platform" \
	test "$(report 'r["max_in_flight"]')" -le 8
check_eq "max_parallel = 8: 2 containers, exit 2" "2 2" "$RC $(report 'fn("/shared")["distinct_containers"]')"
check_eq "max_parallel = 8: one top-up of 8, no more" 13 "$(report 'fn("/shared")["requests"]')"
check "max_parallel = 8: the record says why" grep -q "more requests at once than max_parallel allows$" "$WORK/err"

finish
