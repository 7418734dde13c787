#!/bin/bash
# The overlap check that keeps warmd honest: N=200 requests of one round must
# all be in flight together, so the platform needs 200 containers. A count, not a timing.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 300 --cold-ms 200
cat >"$WORK/warmd.conf" <<CONF
[wide]
url = http://127.0.0.1:$PORT/wide
containers = 200
CONF

once "$WORK/warmd.conf"
check_eq "--once exits 0" 0 "$RC"
check_eq "platform: 200 requests" 200 "$(report 'fn("/wide")["requests"]')"
check_eq "platform: 200 distinct containers served the round" 200 "$(report 'fn("/wide")["distinct_containers"]')"
check_eq "platform: 200 requests in flight at once" 200 "$(report 'r["max_in_flight"]')"

# max_parallel caps what is in flight, across endpoints, and the rest still runs.
reset_platform "?kill=1"
cat >"$WORK/capped.conf" <<CONF
[global]
max_parallel = 30
[a]
url = http://127.0.0.1:$PORT/a
containers = 40
instance_header = X-Container-Id
[b]
url = http://127.0.0.1:$PORT/b
containers = 40
instance_header = X-Container-Id
CONF
once "$WORK/capped.conf"
check_eq "capped: all 80 requests were served" 80 "$(report 'r["requests"]')"
check_eq "capped: never more than 30 in flight" 30 "$(report 'r["max_in_flight"]')"
check_eq "capped: exit 2, since 30 at a time cannot reach 40 containers" 2 "$RC"
check_eq "capped: the table agrees with the platform on a's containers" \
	"$(report 'fn("/a")["distinct_containers"]')/40" "$(awk '$1 == "a" { print $7 }' "$WORK/out")"

# Under the cap, a round starts whole or waits: d's 6 requests wait for c's to finish
# rather than start 4 now and 2 later, which would reuse containers and reach only 4.
reset_platform "?kill=1"
cat >"$WORK/whole.conf" <<CONF
[global]
max_parallel = 10
[c]
url = http://127.0.0.1:$PORT/c
containers = 6
instance_header = X-Container-Id
[d]
url = http://127.0.0.1:$PORT/d
containers = 6
instance_header = X-Container-Id
CONF
once "$WORK/whole.conf"
check_eq "whole rounds: exit 0, both endpoints reached 6" 0 "$RC"
check_eq "whole rounds: the platform saw 6 containers for c" 6 "$(report 'fn("/c")["distinct_containers"]')"
check_eq "whole rounds: the platform saw 6 containers for d" 6 "$(report 'fn("/d")["distinct_containers"]')"
check_eq "whole rounds: d's 6 requests were all in flight together" 6 "$(report 'fn("/d")["max_in_flight"]')"
check_eq "whole rounds: never more than 10 in flight" True "$(report 'r["max_in_flight"] <= 10')"

finish
