#!/bin/bash
# test-timeout: 600
# On serverless-offline, which builds its Lambda instances one at a time in its main thread: a round
# of 50 from cold reaches 50 and wakes at most 52 instances, as the instances' own record counts
# them (each appends its id to a file when it starts).  Needs node and npm, and the npm registry
# (serverless 3 and serverless-offline 13 are installed under the test's directory); skips without.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_cmd node npm
SLS="$WORK/sls"
mkdir -p "$SLS"
cd "$SLS" || exit 99
printf '{"name": "warmd-test", "version": "1.0.0", "private": true}\n' >package.json
# Version 3: version 4 of the framework needs an account; version 13 of the plugin runs on node 18.
if ! timeout 400 npm install --no-audit --no-fund --loglevel=error serverless@3 serverless-offline@13 \
	>"$WORK/npm.log" 2>&1; then
	tail -5 "$WORK/npm.log"
	skip "npm could not install serverless and serverless-offline (is the registry reachable?)"
fi
[ -f node_modules/serverless/bin/serverless.js ] || skip "npm installed no serverless/bin/serverless.js"

read -r HTTP_PORT LAMBDA_PORT < <(free_ports 2)
cat >handler.js <<'JS'
// One id per instance, appended to the record as the instance starts: the platform's own count.
const id = require('crypto').randomBytes(6).toString('hex');
require('fs').appendFileSync(__dirname + '/instances.txt', id + '\n');
let served = 0;
module.exports.hello = async (event) => {
  await new Promise((done) => setTimeout(done, Number((event.queryStringParameters || {}).hold_ms || 100)));
  return { statusCode: 200, body: id,
           headers: { 'X-Container-Id': id, 'X-Container-Reused': String(served++ > 0) } };
};
JS
cat >serverless.yml <<YML
service: warmd-test
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs18.x
plugins:
  - serverless-offline
functions:
  hello:
    handler: handler.hello
    events:
      - http: { path: hello, method: get }
custom:
  serverless-offline:
    host: 127.0.0.1
    httpPort: $HTTP_PORT
    lambdaPort: $LAMBDA_PORT
    noPrependStageInUrl: true
YML

# start_offline: a fresh serverless-offline, so that every instance starts cold; SLS_PID is its pid.
start_offline() {
	[ -z "${SLS_PID:-}" ] || stop_pid "$SLS_PID"
	: >instances.txt
	SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*' \
		node node_modules/serverless/bin/serverless.js offline start >"$WORK/offline.log" 2>&1 &
	SLS_PID=$!
	at_exit "stop_pid $SLS_PID"
	if ! wait_for 90 grep -q "Server ready" "$WORK/offline.log"; then
		tail -20 "$WORK/offline.log"
		skip "serverless-offline did not start"
	fi
}
instances() { sort -u instances.txt | wc -l; }

cat >"$WORK/warmd.conf" <<CONF
[global]
timeout = 30s
[offline]
url = http://127.0.0.1:$HTTP_PORT/hello?hold_ms=500
containers = 50
reuse_header = X-Container-Reused
instance_header = X-Container-Id
CONF

# What the platform does without top-up, for the log: from cold, 50 sent together reach fewer.
start_offline
sed 's/^timeout = 30s$/timeout = 30s\ntopup = no/' "$WORK/warmd.conf" >"$WORK/once.conf"
once "$WORK/once.conf"
say "without top-up: $(sed -n 's/^offline round 1: \([0-9]* of 50\) reached.*/\1/p' "$WORK/err") reached, $(instances) instances started"

start_offline
once "$WORK/warmd.conf"
sed -n 's/^\(offline round 1: [0-9]* of 50 reached.*\)/\1/p' "$WORK/err"
woken=$(instances)
check_eq "from cold: --once exits 0, 50 of 50 reached" "0 50/50" "$RC $(awk '$1 == "offline" { print $7 }' "$WORK/out")"
check_ge "from cold: at least 50 instances started" 50 "$woken"
check_le "from cold: at most 52 instances started" 52 "$woken"
check_eq "the record counts as many past N as the instances say" "$((woken > 50 ? woken - 50 : 0))" \
	"$(sed -n 's/^offline round 1: .*, \([0-9]*\) past N, .*/\1/p' "$WORK/err" | grep . || echo 0)"
check "a short first attempt is not taken for packing" \
	test -z "$(grep '^offline round 1: .*first attempt short: containers took several requests at once' "$WORK/err")"

finish
