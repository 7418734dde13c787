#!/bin/bash
# A round to a host name resolves it once, with a connect-only probe, before
# its N requests leave: not N resolver threads, one per request. The probe
# itself sends nothing, so the platform counts exactly N requests.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root, to give the test its own /etc/hosts in a mount namespace"
command -v strace >/dev/null || skip "strace is not installed"
command -v unshare >/dev/null || skip "unshare is not installed"

start_platform --hold-ms 200 --cold-ms 100
{ cat /etc/hosts; echo "127.0.0.1 faas.warmd-test"; } >"$WORK/hosts"
# Names not in the hosts file go to a resolver on loopback where nothing listens: no query leaves the machine.
echo "nameserver 127.0.0.1" >"$WORK/resolv.conf"

# run_counting_threads CONFIG: runs warmd --once with the test's /etc/hosts; prints its thread count.
run_counting_threads() {
	unshare --mount sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf &&
		exec strace -f -qq -e trace=clone,clone3 -o "$3" "$4" --once -c "$5"' \
		sh "$WORK/hosts" "$WORK/resolv.conf" "$WORK/strace.out" "$WARMD" "$1" >"$WORK/out" 2>"$WORK/err"
	grep -cE '^[0-9]+ +clone3?\(' "$WORK/strace.out" || true
}

cat >"$WORK/address.conf" <<CONF
[by-address]
url = http://127.0.0.1:$PORT/by-address
containers = 50
CONF
# The baseline: threads warmd starts with nothing to resolve (none; a sanitizer runtime may add its own).
base=$(run_counting_threads "$WORK/address.conf")
check_eq "IP address: 50 requests" 50 "$(report 'fn("/by-address")["requests"]')"

cat >"$WORK/name.conf" <<CONF
[by-name]
url = http://faas.warmd-test:$PORT/by-name
containers = 50
instance_header = X-Container-Id
CONF
threads=$(run_counting_threads "$WORK/name.conf")
check_eq "host name: one resolver thread for 50 requests, not 50" 1 "$((threads - base))"
check_eq "host name: the platform saw exactly 50 requests (the probe sends none)" 50 "$(report 'fn("/by-name")["requests"]')"
check_eq "host name: 50 containers reached" 50 "$(report 'fn("/by-name")["distinct_containers"]')"
check_eq "host name: all 50 in flight at once" 50 "$(report 'fn("/by-name")["max_in_flight"]')"

cat >"$WORK/dead.conf" <<CONF
[unknown-name]
url = http://no-such-host.warmd-test:$PORT/x
containers = 3
CONF
rc=0
unshare --mount sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && exec "$3" --once -c "$4"' \
	sh "$WORK/hosts" "$WORK/resolv.conf" "$WARMD" "$WORK/dead.conf" >"$WORK/out" 2>"$WORK/err" || rc=$?
check_eq "unknown host: the round still runs and fails clearly (exit 2)" 2 "$rc"
check_eq "unknown host: one error per request" 3 "$(grep -c "^unknown-name round 1: failed after .*resolve" "$WORK/err" || true)"
finish
