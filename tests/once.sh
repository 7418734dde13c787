#!/bin/bash
# --once: 3 endpoints x 5 containers reach 15 distinct containers, as the platform counts them,
# and a second round finds all 15 warm.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 100 --cold-ms 200
cat >"$WORK/warmd.conf" <<CONF
[global]
timeout = 10s

[alpha]
url = http://127.0.0.1:$PORT/alpha
containers = 5
reuse_header = X-Container-Reused
instance_header = X-Container-Id

[beta]
url = http://127.0.0.1:$PORT/beta
containers = 5
reuse_json = reused
instance_json = container

[gamma]
url = http://127.0.0.1:$PORT/gamma
containers = 5
method = POST
body = {"warmup": true}
CONF

once "$WORK/warmd.conf"
check_eq "first --once exits 0" 0 "$RC"
check_eq "platform saw 15 requests" 15 "$(report 'r["requests"]')"
check_eq "platform saw 15 cold starts" 15 "$(report 'sum(fn(p)["cold_starts"] for p in ("/alpha", "/beta", "/gamma"))')"
for p in alpha beta gamma; do
	check_eq "/$p: 5 distinct containers" 5 "$(report "fn('/$p')['distinct_containers']")"
done
check_eq "all 15 were in flight at once" 15 "$(report 'r["max_in_flight"]')"
check_eq "table: alpha reached 5/5, all cold" "alpha 5 5 0 5 0 5/5" \
	"$(awk '$1 == "alpha" { print $1, $2, $3, $4, $5, $6, $7 }' "$WORK/out")"
check_eq "table: gamma, no reuse reporting, counts ok" "gamma 5 5 0 0 5 5/5" \
	"$(awk '$1 == "gamma" { print $1, $2, $3, $4, $5, $6, $7 }' "$WORK/out")"

reset_platform
once "$WORK/warmd.conf"
check_eq "second --once exits 0" 0 "$RC"
check_eq "second round: no cold starts on the platform" 0 "$(report 'sum(fn(p)["cold_starts"] for p in ("/alpha", "/beta", "/gamma"))')"
check_eq "second round: still 15 distinct containers" 15 "$(report 'sum(fn(p)["distinct_containers"] for p in ("/alpha", "/beta", "/gamma"))')"
check_eq "table: beta all warm" "beta 5 5 5 0 0 5/5" \
	"$(awk '$1 == "beta" { print $1, $2, $3, $4, $5, $6, $7 }' "$WORK/out")"

# Under systemd, stderr is the journal already (JOURNAL_STREAM names it): nothing is printed twice.
reset_platform
: >"$WORK/stream"
stream_id=$(stat -c '%d:%i' "$WORK/stream")
RC=0
JOURNAL_STREAM=$stream_id "$WARMD" --once -c "$WORK/warmd.conf" >"$WORK/out" 2>>"$WORK/stream" || RC=$?
check_eq "with stderr as the journal stream: exit 0" 0 "$RC"
check_eq "with stderr as the journal stream: nothing on stderr" 0 "$(wc -c <"$WORK/stream")"
check_eq "with stderr as the journal stream: the round still ran" 15 "$(report 'r["requests"]')"
JOURNAL_STREAM=1:1 once "$WORK/warmd.conf"
check "with another journal stream: round summaries on stderr" grep -q "^alpha round 1: 5 of 5 reached" "$WORK/err"

# One endpoint falls short: exit 2.
cat >"$WORK/short.conf" <<CONF
[ok]
url = http://127.0.0.1:$PORT/alpha
containers = 2
[broken]
url = http://127.0.0.1:$PORT/broken?status=503
containers = 2
CONF
once "$WORK/short.conf"
check_eq "--once with an endpoint short of N exits 2" 2 "$RC"
check_eq "table: broken reached 0/2" "0/2" "$(awk '$1 == "broken" { print $7 }' "$WORK/out")"

finish
