#!/bin/bash
# Tag discovery following changes in the daemon, judged by the bundled
# platform's record: a function tagged and another untagged between two
# refreshes start and stop, with one change record, while an unchanged one
# keeps its schedule; a throttled refresh keeps the list, warns once for the
# streak and recovers; a deleted function the tagging API still lists costs
# one round of 404s, not one every round; a function untagged while its
# round is in flight stops once that round has ended; the status line and
# the metrics file give each source's endpoints and refresh errors; a reload
# reads the sources again; no key, secret or token in the output.  The
# daemon logs to a private journald, whose records are checked too.
# test-timeout: 240
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

enter_mount_ns "$@"
journald_start

AKID=AKIDWARMDREFRESH
SECRET=warmd-refresh-secret-0123456789
FUNCTIONS='{"a": {}, "b": {}, "c": {"aliases": ["live"]}, "e": {}}'
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 --lambda-functions "$FUNCTIONS" \
	--aws-key "$AKID:$SECRET"
discover_env "$AKID" "$SECRET"

A=lambda:123456789012:a:\$LATEST
B=lambda:123456789012:b:\$LATEST
C=lambda:123456789012:c:live
GHOST=lambda:123456789012:ghost:\$LATEST

# ghost is tagged, but no such function exists: the tagging API lists deleted functions for a while.
tags '{"tags": {"a": {"warmd": "2"}, "b": {"warmd": "1"}, "ghost": {"warmd": "2"}}}'

cat >"$WORK/warmd.conf" <<CONF
[global]
region = eu-west-1
metrics_file = $WORK/warmd.prom

[fleet]
lambda_tag = warmd
refresh = 10s
interval = 1s
CONF

notify_start
# -v: a found endpoint's start and stop are debug messages (the change record says them all).
"$WARMD" -v -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"

check "a and b warmed from the first refresh" wait_for 30 platform_true "fn('$A')['requests'] >= 4 and fn('$B')['requests'] >= 1"
check "the first change record names what the source found" \
	grep -q "\[fleet\]: 3 endpoints from tag warmd: 3 added (fleet/a, fleet/b, fleet/ghost), 0 removed, 0 changed" "$WORK/err"

# ---------------------------------------------------------- tagged and untagged between refreshes
tags '{"tags": {"b": null, "c": {"warmd": "1:live"}}}'
check "c, tagged now, is warmed on its alias after the next refresh" wait_for 30 platform_true "fn('$C')['requests'] >= 1"
check "one change record for that refresh: c added, b removed" \
	grep -q "\[fleet\]: 3 endpoints from tag warmd: 1 added (fleet/c:live), 1 removed (fleet/b), 0 changed" "$WORK/err"
B_STOPPED=$(report "fn('$B')['requests']")
A_NOW=$(report "fn('$A')['requests']")
# Three more rounds of a: b, removed, gets nothing in the meantime.
wait_for 30 platform_true "fn('$A')['requests'] >= $A_NOW + 6" || true
check_ge "a goes on: 3 more rounds" $((A_NOW + 6)) "$(report "fn('$A')['requests']")"
check_eq "b, untagged, is invoked no more" "$B_STOPPED" "$(report "fn('$B')['requests']")"
check_eq "a, unchanged, was started once and never restarted" "1 0" \
	"$(grep -c '^fleet/a: new endpoint' "$WORK/err") $(grep -c '^fleet/a: configuration changed' "$WORK/err" || true)"
check_eq "a, unchanged: its containers are the first two" 2 "$(report "fn('$A')['distinct_containers']")"

# ---------------------------------------------------------- the deleted function still listed
check_eq "ghost: one round of 2 invokes answered 404, in all the rounds since" 2 \
	"$(report 'r["aws"]["rejected"].get("ResourceNotFoundException", 0)')"
check "ghost: said once why it is left out" grep -q "^fleet/ghost: the function or its qualifier does not exist (404), yet the tagging API lists" "$WORK/err"

check_eq "journal: ghost's records are one round's: 2 requests answered 404, 1 summary short of N" "2 2 1" \
	"$(jcount WARMD_ENDPOINT=fleet/ghost MESSAGE_ID="$WARMD_MESSAGE_REQUEST") $(jcount WARMD_ENDPOINT=fleet/ghost WARMD_HTTP_STATUS=404) $(jcount WARMD_ENDPOINT=fleet/ghost MESSAGE_ID="$WARMD_MESSAGE_SHORT")"
check_le "journal: all of ghost's records, notices included" 6 "$(jcount WARMD_ENDPOINT=fleet/ghost)"
check_eq "journal: one change record per refresh that changed something, with its fields" \
	"$(printf 'fleet\t3\t3\t0\t0\nfleet\t3\t1\t1\t0')" \
	"$(jfields WARMD_SOURCE,WARMD_ENDPOINTS,WARMD_ADDED,WARMD_REMOVED,WARMD_CHANGED MESSAGE_ID="$WARMD_MESSAGE_DISCOVERY")"

# ---------------------------------------------------------- a throttled refresh keeps the list
tags '{"throttle": 2}'
check "two refreshes in a row throttled" wait_for 40 platform_true "r['tagging']['throttled'] >= 1"
A_THROTTLED=$(report "fn('$A')['requests']")
check "the retry, 5 s later, throttled too" wait_for 40 platform_true "r['tagging']['throttled'] >= 2"
check_ge "a still warmed while the refreshes failed: the list is kept" $((A_THROTTLED + 2)) \
	"$(report "fn('$A')['requests']")"
check "status line: the source failing, with its refresh errors" \
	notify_wait 20 'STATUS=.*sources: fleet 3 \(2 refresh errors, failing\)'
check "the next retry reads the list again" wait_for 40 lines_at_least 1 "read again, after 2 failed refreshes" "$WORK/err"
check "status line: the source's endpoints and refresh errors, no longer failing" \
	notify_wait 20 'STATUS=.*sources: fleet 3 \(2 refresh errors\)$'
check_eq "one warning for the streak of two throttled refreshes, naming the error" 1 \
	"$(grep -c 'cannot read the functions tagged warmd: HTTP 400 ThrottledException: Rate exceeded; keeping the last list' "$WORK/err")"
check "metrics: the source's endpoints and refresh errors" \
	wait_for 10 grep -qx 'warmd_source_refresh_errors_total{source="fleet"} 2' "$WORK/warmd.prom"
check "metrics: 3 endpoints found" grep -qx 'warmd_source_endpoints{source="fleet"} 3' "$WORK/warmd.prom"
check_eq "the platform refused nothing but the 2 throttles and ghost's 404s" "{'ThrottledException': 2} 2" \
	"$(report 'str(r["tagging"]["rejected"]) + " " + str(sum(r["aws"]["rejected"].values()))')"
stop_pid "$WPID"

# ---------------------------------------------------------- untagged in the middle of a round: the round ends
# On a platform where an invoke takes 0.9 s of each 1 s interval, a refresh most likely comes while the
# round is in flight; that round must end, answered, before the endpoint stops.
start_platform --as PORT2 --hold-ms 900 --cold-ms 0 --aws-region eu-west-1 --lambda-functions '{"slow": {}}' \
	--aws-key "$AKID:$SECRET"
PORT=$PORT2 tags '{"tags": {"slow": {"warmd": "1"}}}'
AWS_ENDPOINT_URL=http://127.0.0.1:$PORT2 "$WARMD" -v -c "$WORK/warmd.conf" >"$WORK/out3" 2>"$WORK/err3" &
WPID=$!
at_exit "stop_pid $WPID"
SLOW=lambda:123456789012:slow:\$LATEST
check "slow: warmed" wait_for 30 platform_true "fn('$SLOW')['requests'] >= 3" "$PORT2"
PORT=$PORT2 tags '{"tags": {"slow": null}}'
check "slow: removed by the next refresh" wait_for 30 lines_at_least 1 '^fleet/slow: endpoint removed' "$WORK/err3"
check_eq "slow: every invoke the platform saw was a round that ended, answered (none cut off)" \
	"$(report "fn('$SLOW')['requests']" "$PORT2")" "$(grep -c '^fleet/slow round [0-9]*: 1 of 1 reached' "$WORK/err3")"
stop_pid "$WPID"

# ---------------------------------------------------------- a reload reads the sources again
# refresh = 1h: after the first read, only the reload can find e.
tags '{"tags": {"e": {"warmd2": "1"}}}'
sed -e 's/refresh = 10s/refresh = 1h/' -e 's/lambda_tag = warmd/lambda_tag = warmd2/' "$WORK/warmd.conf" \
	>"$WORK/reload.conf"
"$WARMD" -v -c "$WORK/reload.conf" >"$WORK/out2" 2>"$WORK/err2" &
WPID=$!
at_exit "stop_pid $WPID"
check "reload: e warmed from the first read" wait_for 30 platform_true "fn('lambda:123456789012:e:\$LATEST')['requests'] >= 1"
tags '{"tags": {"a": {"warmd2": "1"}}}'
A_BEFORE=$(report "fn('$A')['requests']")
kill -HUP "$WPID"
check "reload: a, tagged since, is found by the reload's read" wait_for 30 platform_true "fn('$A')['requests'] > $A_BEFORE"
check "reload: the change record of that read" \
	grep -q "\[fleet\]: 2 endpoints from tag warmd2: 1 added (fleet/a), 0 removed, 0 changed" "$WORK/err2"
check_eq "reload: e, unchanged, kept its schedule" 1 "$(grep -c '^fleet/e: new endpoint' "$WORK/err2")"
stop_pid "$WPID"

printf '%s\n' "$SECRET" "$AKID" >"$WORK/secrets"
jctl -o export >"$WORK/journal.export"
check_ge "the journal holds the records (not empty)" 1000 "$(wc -c <"$WORK/journal.export")"
check_eq "no key or secret anywhere in the journal" 0 "$(grep -acF -f "$WORK/secrets" "$WORK/journal.export" || true)"
check "no key or secret in any output" \
	eval '! grep -qF -f "$WORK/secrets" "$WORK"/out* "$WORK"/err* "$WORK/warmd.prom"'

finish
