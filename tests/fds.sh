#!/bin/bash
# Running out of file descriptors is named for what it is. When a
# configuration is loaded, at start and on reload, warmd warns if its rounds
# can need more descriptors than RLIMIT_NOFILE allows, with the numbers, and
# not when they fit, to the descriptor. A request that gets no socket fails
# with EMFILE in its record and is not counted as sent: SENT is what the
# platform itself received.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 8192 ] ||
	skip "the platform needs 8192 descriptors for 3000 connections; the hard limit is $(ulimit -Hn)"
start_platform --hold-ms 300 --cold-ms 0

LIMIT=1024
# run_limited ARGS...: execs warmd under RLIMIT_NOFILE=$LIMIT (soft and hard), with only fds 0-2 open,
# as systemd starts it; whatever else this shell holds would otherwise count against the limit.  Call
# it in a subshell, "(run_limited ...)", or in the background, where $! is then warmd's pid.
run_limited() {
	local f n
	for f in /proc/"$BASHPID"/fd/*; do
		n=${f##*/}
		if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi
	done
	ulimit -n "$LIMIT"
	exec "$WARMD" "$@"
}

# write_conf FILE MAX_PARALLEL
write_conf() {
	cat >"$1" <<CONF
[global]
interval = 1h
timeout = 20s
max_parallel = $2

[many]
url = http://127.0.0.1:$PORT/many
containers = 3000
instance_header = X-Container-Id
CONF
}
warning="Rounds can need [0-9]* file descriptors at once, more than the limit of $LIMIT (RLIMIT_NOFILE)"

# 1. 3000 requests at once under a limit of 1024.
write_conf "$WORK/over.conf" 5000
rc=0
(run_limited --once -c "$WORK/over.conf") >"$WORK/out" 2>"$WORK/err" || rc=$?
check_eq "over the limit: --once exits 2 (fell short)" 2 "$rc"
check_eq "over the limit: warned at start, with the numbers and what to change" 1 \
	"$(grep -c "^Rounds can need 3012 file descriptors at once, more than the limit of 1024 (RLIMIT_NOFILE): 3000 requests in flight (max_parallel=5000; the largest round, \[many\], has 3000), 0 host name lookups (2 each) and 12 for warmd itself. Requests over the limit fail with EMFILE and are not sent: raise LimitNOFILE= to at least 3012, or lower max_parallel$" "$WORK/err")"
got=$(report 'fn("/many")["requests"]')
check_ge "over the limit: some requests reached the platform" 900 "$got"
check_le "over the limit: not all of them could" 1100 "$got"
check_eq "over the limit: SENT is what the platform received" "$got" "$(awk '$1 == "many" { print $2 }' "$WORK/out")"
check_eq "over the limit: every other request failed as EMFILE, not sent" $((3000 - got)) \
	"$(grep -c "^many round 1: failed after [0-9]* ms: not sent: no socket: out of file descriptors (EMFILE, warmd's limit: raise LimitNOFILE=)$" "$WORK/err")"
check_eq "over the limit: none passed off as a network failure" 0 "$(grep -c "Couldn't connect" "$WORK/err")"
# Reached is distinct containers: a loaded machine can send some requests late enough for a container to take two.
reached=$(report 'fn("/many")["distinct_containers"]')
check "over the limit: the round says how many it reached ($reached, by the platform's record)" \
	grep -q "^many round 1: $reached of 3000 reached" "$WORK/err"

# 1b. A schedule's window that asks for more than containers counts with its N.
reset_platform "?kill=1"
printf '[global]\ninterval = 1h\nmax_parallel = 5000\n[peak]\nurl = http://127.0.0.1:%s/peak\ncontainers = 1\nschedule = * 00:00-24:00 2000\n' \
	"$PORT" >"$WORK/peak.conf"
(run_limited --once -c "$WORK/peak.conf") >"$WORK/out" 2>"$WORK/err" || true
check "a window of 2000 over containers = 1: warned with the window's N" \
	grep -q "^Rounds can need 2012 file descriptors at once, .*the largest round, \[peak\], has 2000)" "$WORK/err"

# 2. max_parallel such that rounds need exactly the limit: no warning, and indeed no request short of a
# socket.  (The round, larger than max_parallel, goes in turns and so falls short of 3000 containers.)
reset_platform "?kill=1"
write_conf "$WORK/fit.conf" $((LIMIT - 12))
(run_limited --once -c "$WORK/fit.conf") >"$WORK/out" 2>"$WORK/err" || true
check_eq "at the limit: no warning" 0 "$(grep -c "$warning" "$WORK/err")"
check_eq "at the limit: the platform received all 3000" 3000 "$(report 'fn("/many")["requests"]')"
check_eq "at the limit: no request without a socket" 0 "$(grep -c "not sent: no socket" "$WORK/err")"
check_eq "at the limit: SENT 3000" 3000 "$(awk '$1 == "many" { print $2 }' "$WORK/out")"

# 3. A reload that raises max_parallel by one: the check runs again and warns.
run_limited -c "$WORK/fit.conf" >"$WORK/out" 2>"$WORK/err" &
pid=$!
at_exit "stop_pid $pid"
wait_for 30 grep -q "^many round 1: [0-9]* of 3000 reached" "$WORK/err" || fail "daemon: the first round did not finish"
write_conf "$WORK/fit.conf" $((LIMIT - 11))
kill -HUP "$pid"
wait_for 10 grep -q "^Rounds can need 1025 " "$WORK/err" || true
check_eq "reload: warns once the rounds need one descriptor more than the limit" 1 \
	"$(grep -c "^Rounds can need 1025 file descriptors at once, more than the limit of 1024 (RLIMIT_NOFILE): 1013 requests in flight (max_parallel=1013;" "$WORK/err")"
stop_pid "$pid"
finish
