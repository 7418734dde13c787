#!/bin/bash
# SIGHUP applies a new file: an unchanged endpoint keeps its schedule, a changed
# one starts over with its new settings, a new one gets a round at once, and a
# removed one is cancelled with its in-flight requests aborted.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 100 --cold-ms 100
# The endpoint to be removed lives on a platform of its own, so its open connections can be counted.
start_platform --as PORT2

connections_to_port2() {
	ss -Htn state established "( dport = :$PORT2 )" | wc -l
}
command -v ss >/dev/null || skip "ss (iproute2) is needed to count connections"

write_conf() {
	cat >"$WORK/warmd.conf" <<CONF
[global]
interval = 60s
timeout = 60s

[keep]
url = http://127.0.0.1:$PORT/keep
containers = 3

[change]
url = http://127.0.0.1:$PORT/change
containers = $1
CONF
	if [ "$2" = with-gone ]; then
		cat >>"$WORK/warmd.conf" <<CONF

[gone]
url = http://127.0.0.1:$PORT2/gone?hold_ms=30000
containers = 2
CONF
	else
		cat >>"$WORK/warmd.conf" <<CONF

[new]
url = http://127.0.0.1:$PORT/new
containers = 2
CONF
	fi
}

write_conf 2 with-gone
"$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"

wait_for 10 platform_true 'fn("/keep")["requests"] == 3 and fn("/change")["requests"] == 2' || fail "first rounds did not arrive"
wait_for 5 eval '[ "$(connections_to_port2)" -ge 2 ]' || true
check_eq "removed-to-be endpoint has 2 requests in flight" 2 "$(connections_to_port2)"

# Let the first round's containers come free (hold + cold start), so the changed round can find them.
sleep 0.5
write_conf 3 with-new
kill -HUP "$WARMD_PID"

wait_for 10 platform_true 'fn("/change")["requests"] == 5 and fn("/new")["requests"] == 2' ||
	fail "changed and new endpoints did not get a round at once"
check_eq "changed endpoint: a new round with its new count (2 + 3)" 5 "$(report 'fn("/change")["requests"]')"
check_eq "changed endpoint: the new round reached 3 containers" 3 "$(report 'fn("/change")["distinct_containers"]')"
check_eq "new endpoint: first round at once" 2 "$(report 'fn("/new")["requests"]')"
wait_for 5 eval '[ "$(connections_to_port2)" -eq 0 ]' || true
check_eq "removed endpoint: in-flight requests aborted" 0 "$(connections_to_port2)"
sleep 1
check_eq "unchanged endpoint: schedule kept, no extra round" 3 "$(report 'fn("/keep")["requests"]')"
check_eq "daemon still running" 0 "$(kill -0 "$WARMD_PID" && echo 0 || echo 1)"

# A broken file changes nothing: the next SIGHUP is rejected and the old endpoints stay.
printf '[keep]\ncontaners = 3\n' >"$WORK/warmd.conf"
kill -HUP "$WARMD_PID"
wait_for 5 grep -q "rejected" "$WORK/err" || true
check "broken reload: the error is logged with file and line" \
	grep -q "warmd.conf:2: unknown key 'contaners' in \[keep\]; did you mean 'containers'?" "$WORK/err"
check "broken reload: rejected, previous configuration kept" \
	grep -q "rejected; still running the previous configuration" "$WORK/err"
check_eq "daemon still running after the rejected reload" 0 "$(kill -0 "$WARMD_PID" && echo 0 || echo 1)"

terminate "$WARMD_PID"
check_eq "SIGTERM: exit 0" 0 "$RC"
finish
