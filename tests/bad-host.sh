#!/bin/bash
# An endpoint whose host does not resolve fails, round after round, and
# disturbs no other: next to it, while a slow endpoint keeps transfers in
# flight, the healthy endpoints (by address and by name) reach all their
# containers every round, as the platform itself counts them.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v unshare >/dev/null || skip "unshare is not installed"
# The test brings its own /etc/hosts and /etc/resolv.conf, in a mount namespace: no DNS server is
# needed, and none is asked. Names not in the hosts file go to loopback port 53, where nothing
# listens, so they fail at once.
if [ "$(id -u)" -eq 0 ]; then
	NS=(unshare --mount)
elif unshare --user --map-root-user --mount true 2>/dev/null; then
	NS=(unshare --user --map-root-user --mount)
else
	skip "needs root or user namespaces, to give the test its own /etc/hosts and /etc/resolv.conf"
fi

start_platform --hold-ms 100 --cold-ms 100
{ cat /etc/hosts; echo "127.0.0.1 faas.warmd-test"; } >"$WORK/hosts"
printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n' >"$WORK/resolv.conf"

# "${IN_NS[@]}" COMMAND...: runs COMMAND with the test's name files; COMMAND is exec'd, so $! is its pid.
IN_NS=("${NS[@]}" sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'
	sh "$WORK/hosts" "$WORK/resolv.conf")

RC=0
"${IN_NS[@]}" getent hosts nonexistent.invalid >/dev/null 2>&1 || RC=$?
[ "$RC" -ne 0 ] || skip "nonexistent.invalid resolves even with the test's resolv.conf"
"${IN_NS[@]}" getent hosts faas.warmd-test >/dev/null || skip "the test's /etc/hosts is not used for lookups"

cat >"$WORK/warmd.conf" <<CONF
[global]
interval = 1s
jitter = 0
timeout = 10s

[typo]
url = http://nonexistent.invalid:$PORT/typo
containers = 3

[slow]
url = http://127.0.0.1:$PORT/slow?hold_ms=3000
containers = 3
instance_header = X-Container-Id

[healthy]
url = http://127.0.0.1:$PORT/healthy
containers = 3
instance_header = X-Container-Id

[named]
url = http://faas.warmd-test:$PORT/named
containers = 3
instance_header = X-Container-Id
CONF

"${IN_NS[@]}" "$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"
# Five rounds of the healthy endpoints, while the slow one is in flight throughout.
wait_for 15 platform_true 'fn("/healthy")["requests"] >= 15 and fn("/named")["requests"] >= 15' ||
	fail "the healthy endpoints did not get 5 rounds in 15 s"
terminate "$WARMD_PID"
check_eq "SIGTERM: exit 0" 0 "$RC"

# Distinct containers per round, in the platform's own record: arrivals grouped by their 1 s slot.
per_round='(lambda a: [len({c for t, c, _ in a if round(t - a[0][0]) == k}) for k in range(5)])'
check_eq "healthy (by address): 3 containers in each of rounds 1-5" "[3, 3, 3, 3, 3]" \
	"$(report "$per_round(fn('/healthy')['arrivals'])")"
check_eq "named (by host name): 3 containers in each of rounds 1-5" "[3, 3, 3, 3, 3]" \
	"$(report "$per_round(fn('/named')['arrivals'])")"
check_eq "slow: its first round reached 3 containers" 3 "$(report 'len({c for t, c, _ in fn("/slow")["arrivals"][:3]})')"
check_eq "typo: nothing reached the platform" 0 "$(report 'fn("/typo")["requests"]')"

check_eq "typo: every request of round 3 failed to resolve" 3 \
	"$(grep -c "^typo round 3: failed after [0-9]* ms: Could not resolve host: nonexistent.invalid" "$WORK/err" || true)"
check "typo: round 3 says 0 of 3" grep -q "^typo round 3: 0 of 3 reached" "$WORK/err"
check_eq "no request failed to start" 0 "$(grep -c "cannot start request\|Failed to set up" "$WORK/err" || true)"
finish
