#!/bin/bash
# Tag discovery read once, judged by the bundled platform's record: 250
# tagged functions over 3 pages of GetResources, each warmed with its tag's
# count and qualifier (--once); a static endpoint of the same function wins;
# an invalid tag value is named and skipped; --discover prints what it finds
# and invokes nothing; 10,001 tagged functions are cut to the first 10,000
# by name whatever order the pages list them in; a source that cannot be
# read (refused, not JSON, no answer, unreachable) makes --discover exit 3
# and --once 2, the file's endpoints warmed all the same; the tagging API's
# own endpoint override; configuration errors of a source with their lines;
# no key, secret or token in any output.
# test-timeout: 240
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

AKID=ASIAWARMDDISCOVER
SECRET=warmd-discover-secret-0123456789
TOKEN=$(printf 'IQoJb3JpZ2luX2VjEDiscover%.0s' $(seq 20))

# 250 functions f000..f249, each with the alias live; orders too.
FUNCTIONS=$("$PYTHON" -c '
import json
f = {"f%03d" % i: {"aliases": ["live"]} for i in range(250)}
f["orders"] = {"aliases": ["live"]}
print(json.dumps(f))')
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 --lambda-functions "$FUNCTIONS" \
	--aws-key "$AKID:$SECRET:$TOKEN"
discover_env "$AKID" "$SECRET" "$TOKEN"

# keep: what warmd printed, for the check that no secret is in any of it.
keep() {
	cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
}

# Every third function on its alias with 2 containers, the others on $LATEST with 1; orders as a static
# endpoint too; one invalid value; one function tagged with another key only.
"$PYTHON" -c '
import json
t = {"f%03d" % i: {"team": "t%d" % (i % 7), "warmd": "2:live" if i % 3 == 0 else "1"} for i in range(250)}
t["orders"] = {"warmd": "3:live"}
t["bad"] = {"warmd": "many"}
t["other"] = {"team": "x"}
print(json.dumps({"tags": t}))' | tags

cat >"$WORK/warmd.conf" <<CONF
[global]
region = eu-west-1
timeout = 20s

[orders]
lambda = orders:live
containers = 1

[fleet]
lambda_tag = warmd
interval = 5m
CONF

# ---------------------------------------------------------- --discover: what it finds, nothing invoked
RC=0
"$WARMD" --discover -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "--discover exits 0" 0 "$RC"
check_eq "--discover: 250 endpoints found (orders left to the static endpoint, bad skipped)" 250 \
	"$(grep -c '^fleet/' "$WORK/out")"
check_eq "--discover: f003 on its alias, 2 containers" "fleet/f003:live 2 f003:live" \
	"$(awk '$1 == "fleet/f003:live" { print $1, $2, $3 }' "$WORK/out")"
check_eq "--discover: f004 on \$LATEST, 1 container" "fleet/f004 1 f004" \
	"$(awk '$1 == "fleet/f004" { print $1, $2, $3 }' "$WORK/out")"
check_eq "--discover: the platform saw no invoke" 0 "$(report 'r["aws"]["invokes"]')"
check_eq "--discover: GetResources read 3 pages (100, 100, 50)" 3 "$(report 'r["tagging"]["pages"]')"
check_eq "--discover: no GetResources refused" "{}" "$(report 'r["tagging"]["rejected"]')"
check_eq "the request as the service model has it" \
	"['lambda:function'] [{'Key': 'warmd'}] 100 ResourceGroupsTaggingAPI_20170126.GetResources application/x-amz-json-1.1" \
	"$(report '" ".join(str(x) for x in (r["tagging"]["last_body"]["ResourceTypeFilters"], r["tagging"]["last_body"]["TagFilters"], r["tagging"]["last_body"]["ResourcesPerPage"], r["tagging"]["last_headers"]["x-amz-target"], r["tagging"]["last_headers"]["content-type"]))')"
check "an invalid tag value is named, with the function" \
	grep -q "function bad has tag warmd = 'many', which is not N or N:QUALIFIER" "$WORK/err"
check "the static endpoint wins, with a notice" \
	grep -q "orders:live is also a static endpoint of $WORK/warmd.conf, which wins" "$WORK/err"
check_eq "the static endpoint wins: one notice" 1 "$(grep -c "orders:live is also a static endpoint" "$WORK/err")"
keep

# ---------------------------------------------------------- --discover --json: the same, for scripts
# Judged against the tags the platform serves: each function's tag value, read here from the same dict.
reset_platform
RC=0
"$WARMD" --discover --json -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
keep
check_eq "--discover --json exits 0" 0 "$RC"
check_eq "--discover --json: every function as its tag says, orders left to the static endpoint" ok "$("$PYTHON" -c '
import json, sys
o = json.load(open(sys.argv[1]))
want = sorted(("fleet/f%03d%s" % (i, ":live" if i % 3 == 0 else ""), "fleet", "f%03d%s" % (i, ":live" if i % 3 == 0 else ""),
               "eu-west-1", 2 if i % 3 == 0 else 1) for i in range(250))
got = sorted((e["name"], e["source"], e["lambda"], e["region"], e["containers"]) for e in o["endpoints"])
src = o["sources"]
print("ok" if got == want and len(src) == 1 and src[0] == {"name": "fleet", "lambda_tag": "warmd", "region": "eu-west-1",
      "read": True, "refresh_errors": 0, "endpoints": 250, "left_to_static": ["fleet/orders:live"]}
      else "wrong: %d endpoints, sources %s" % (len(got), src))' "$WORK/out")"
check_eq "--discover --json: the platform saw no invoke, and 3 pages" "0 3" \
	"$(report '"%d %d" % (r["aws"]["invokes"], r["tagging"]["pages"])')"

# ---------------------------------------------------------- --once: 250 functions warmed as tagged
reset_platform
once "$WORK/warmd.conf"
keep
check_eq "--once exits 0: every endpoint reached N" 0 "$RC"
check_eq "--once: 3 pages read before warming" 3 "$(report 'r["tagging"]["pages"]')"
check_eq "--once: no invoke refused" "{}" "$(report 'r["aws"]["rejected"]')"
check_eq "every function warmed on its tag's qualifier with its tag's count" "ok" "$(report '
"ok" if all(
    fn("lambda:123456789012:f%03d:%s" % (i, "live" if i % 3 == 0 else "$LATEST"))["distinct_containers"]
    == (2 if i % 3 == 0 else 1)
    and fn("lambda:123456789012:f%03d:%s" % (i, "$LATEST" if i % 3 == 0 else "live"))["requests"] == 0
    for i in range(250)) else "wrong"')"
check_eq "orders:live: only the static endpoint's 1 container, not the tag's 3" 1 \
	"$(report "fn('lambda:123456789012:orders:live')['requests']")"
check_eq "nothing invoked for the invalid tag" 0 "$(report "fn('lambda:123456789012:bad:\$LATEST')['requests']")"
check_eq "table: 251 endpoints, all reached" 251 "$(awk 'NR > 1 && $7 ~ /^[0-9]+\/[0-9]+$/ { split($7, a, "/"); if (a[1] == a[2]) n++ } END { print n + 0 }' "$WORK/out")"

# ---------------------------------------------------------- the daemon: a function counted once
# orders is both a static endpoint and tagged (3:live): it is the static endpoint's, and the source's
# count, in the status line and the metrics, leaves it out.  Counted twice, the source would say 251.
reset_platform
sed "s|^\[global\]\$|[global]\nmetrics_file = $WORK/warmd.prom|" "$WORK/warmd.conf" >"$WORK/daemon.conf"
notify_start
"$WARMD" -c "$WORK/daemon.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
check "daemon: every endpoint's first round reached the platform (335 containers: 84 x 2, 166 x 1, orders 1)" \
	wait_for 60 platform_true "sum(f['distinct_containers'] for f in r['functions'].values()) >= 335"
check "daemon: the status line counts 251 endpoints and 335 containers, the source 250" \
	notify_wait 30 'STATUS=251 endpoints, 335 containers; .*sources: fleet 250$'
check "daemon: metrics: the source warms 250" \
	wait_for 10 grep -qx 'warmd_source_endpoints{source="fleet"} 250' "$WORK/warmd.prom"
terminate "$WPID"
keep
check_eq "daemon: orders:live got the static endpoint's 1 container, not the tag's 3 too" "1 1" \
	"$(report "'%d %d' % (fn('lambda:123456789012:orders:live')['requests'], fn('lambda:123456789012:orders:live')['distinct_containers'])")"
check_eq "daemon: the platform saw 251 functions invoked, 335 containers" "251 335" \
	"$(report "'%d %d' % (sum(1 for f in r['functions'].values() if f['requests']), sum(f['distinct_containers'] for f in r['functions'].values()))")"
check_eq "daemon: the static endpoint wins, with one notice" 1 "$(grep -c "orders:live is also a static endpoint" "$WORK/err")"

# ---------------------------------------------------------- 10,001 functions: the first 10,000 by name
# Tagged in reverse order, so the pages list the last names first.
"$PYTHON" -c '
import json
t = {"g%05d" % i: {"warmd": "1"} for i in reversed(range(10001))}
print(json.dumps({"tags": t}))' | tags
reset_platform
RC=0
"$WARMD" --discover -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
keep
check_eq "10,001+ functions: --discover exits 0" 0 "$RC"
check_eq "a source is cut at 10,000 endpoints" 10000 "$(grep -c '^fleet/' "$WORK/out")"
check "the cut is said, with the last one kept" grep -q "a source warms at most 10000, the first by name" "$WORK/err"
check_eq "the first 10,000 by name: f000..f249, then g00000..g09749" "fleet/f000:live fleet/g09749 absent" \
	"$(awk 'NR == 2 { a = $1 } $1 ~ /^fleet\// { b = $1 } $1 == "fleet/g09750" { c = 1 } END { print a, b, c ? "present" : "absent" }' "$WORK/out")"
check_eq "every page read: 103 of 100 (10,252 tagged)" 103 "$(report 'r["tagging"]["pages"]')"

# ---------------------------------------------------------- a source that cannot be read
RC=0
AWS_SECRET_ACCESS_KEY=wrong "$WARMD" --discover -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
keep
check_eq "wrong secret: --discover exits 3" 3 "$RC"
check "wrong secret: the platform's refusal is said" \
	grep -q "\[fleet\]: cannot read the functions tagged warmd: HTTP 403 InvalidSignatureException" "$WORK/err"
check_ge "wrong secret: refused by the platform's own check" 1 \
	"$(report 'r["tagging"]["rejected"].get("InvalidSignatureException", 0)')"

# ---------------------------------------------------------- a page that is not GetResources' answer, and none
# read_fails WHAT FAULT CONF WHY: with the platform's FAULT (a /_tags body) on the next read, --discover -c CONF
# exits 3, says WHY, and prints nothing as found.
read_fails() {
	echo "$2" | tags
	RC=0
	"$WARMD" --discover -c "$3" >"$WORK/out" 2>"$WORK/err" || RC=$?
	keep
	check_eq "$1: --discover exits 3" 3 "$RC"
	check "$1: said" grep -q "\[fleet\]: cannot read the functions tagged warmd: $4" "$WORK/err"
	check_eq "$1: nothing printed as found" 1 "$(wc -l <"$WORK/out")"
}
read_fails "a page that is not JSON" '{"garbage": 1}' "$WORK/warmd.conf" \
	"the answer is not a JSON object; nothing found yet"
sed 's/^timeout = 20s$/timeout = 2s/' "$WORK/warmd.conf" >"$WORK/timeout.conf"
read_fails "no answer, timeout = 2s" '{"stall": 1}' "$WORK/timeout.conf" "Operation timed out after"

# ---------------------------------------------------------- the tagging API's own endpoint override
# AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API wins over AWS_ENDPOINT_URL, as in the SDKs.
RC=0
AWS_ENDPOINT_URL=http://127.0.0.1:1 AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$PORT \
	AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API=http://127.0.0.1:$PORT/ \
	"$WARMD" --discover -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
keep
check_eq "AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: read from the platform, exit 0" 0 "$RC"
reset_platform
AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API=http://127.0.0.1:1 once "$WORK/warmd.conf"
keep
check_eq "--once, the tagging API unreachable: exits 2" 2 "$RC"
check "--once, the tagging API unreachable: said" \
	grep -q "\[fleet\]: cannot read the functions tagged warmd: Failed to connect to 127.0.0.1 port 1" "$WORK/err"
check_eq "--once, the tagging API unreachable: the file's endpoint warmed all the same" "0 1" \
	"$(report "'%d %d' % (r['tagging']['requests'], fn('lambda:123456789012:orders:live')['requests'])")"

# ---------------------------------------------------------- configuration errors
cat >"$WORK/broken.conf" <<'CONF'
[fleet]
lambda_tag = warmd
containers = 3
url = http://127.0.0.1:1/

[other]
lambda_tag = team
region = eu-west-1
refresh = 5s
body = not json
CONF
RC=0
"$WARMD" -n -c "$WORK/broken.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "-n: a broken source exits 1" 1 "$RC"
cat >"$WORK/broken.expected" <<EXPECTED
$WORK/broken.conf:1: [fleet]: no region for the source (set region = in [global] or here, or AWS_REGION)
$WORK/broken.conf:3: [fleet]: 'containers' cannot be set in a source (a section with lambda_tag): each function's tag value says how many
$WORK/broken.conf:4: [fleet]: 'url' cannot be set in a source (a section with lambda_tag): the functions it finds are invoked through the Lambda API
$WORK/broken.conf:9: refresh: 5s is out of range (10s..24h)
$WORK/broken.conf:10: [other]: 'body' must be JSON for 'lambda': it is the event payload
EXPECTED
check "-n: every mistake of a source with its file and line" diff -u "$WORK/broken.expected" "$WORK/err"

# ---------------------------------------------------------- no secret anywhere
printf '%s\n' "$SECRET" "$TOKEN" "$AKID" >"$WORK/secrets"
check "warmd printed something to look in" test -s "$WORK/all-output"
check "no key, secret or token in any output" eval '! grep -qF -f "$WORK/secrets" "$WORK/all-output"'

finish
