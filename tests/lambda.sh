#!/bin/bash
# Lambda endpoints through the Invoke API stand-in of the bundled platform,
# which verifies every SigV4 signature itself: N invokes reach N containers
# (by name and alias, and by a cross-account ARN), cold starts are told from
# the log tail, function errors, throttling, a missing alias and a bad
# signature are each reported as such, instance-role credentials are
# refreshed across their expiry with no refused request, and no key, secret
# or token reaches warmd's output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

FUNCTIONS='{"orders": {"aliases": ["live"]},
            "xacct": {"account": "210987654321", "aliases": ["prod"]},
            "capped": {"reserved": 2},
            "broken": {}}'
AKID=AKIDWARMDTEST
SECRET=warmd-test-secret-0123456789
# Temporary keys: an STS session token is often 1,000 characters or more.
TMP_AKID=ASIAWARMDTEST
TMP_SECRET=warmd-temporary-secret-9876543210
TMP_TOKEN=$(printf 'IQoJb3JpZ2luX2VjE%.0s' $(seq 60))
start_platform --hold-ms 150 --cold-ms 200 --aws-region eu-west-1 --lambda-functions "$FUNCTIONS" \
	--aws-key "$AKID:$SECRET" --aws-key "$TMP_AKID:$TMP_SECRET:$TMP_TOKEN" \
	--imds-role warmd-test-role --imds-ttl-s 6

# Never the real metadata address: every run names the platform, or turns the step off.
export AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$PORT
export AWS_EC2_METADATA_DISABLED=true
unset AWS_ENDPOINT_URL AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE CREDENTIALS_DIRECTORY AWS_REGION \
	AWS_DEFAULT_REGION

ORDERS=lambda:123456789012:orders:live
XACCT=lambda:210987654321:xacct:prod

cat >"$WORK/warmd.conf" <<CONF
[global]
region = eu-west-1
timeout = 10s

[orders]
lambda = orders:live
containers = 10
instance_json = container

[xacct]
lambda = arn:aws:lambda:eu-west-1:210987654321:function:xacct:prod
containers = 3
CONF

# ---------------------------------------------------------- configuration errors, with their lines
cat >"$WORK/broken.conf" <<'CONF'
[both]
url = http://127.0.0.1:1/
lambda = orders
region = eu-west-1
containers = 1

[noregion]
lambda = orders:live
containers = 1

[badarn]
lambda = arn:aws:lambda:eu-west-1:12345:function:orders
containers = 1

[signed]
lambda = orders
region = eu-west-1
header = X-Amz-Date: 20200101T000000Z
body = not json
containers = 1
CONF
RC=0
"$WARMD" -n -c "$WORK/broken.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "-n: a broken Lambda configuration exits 1" 1 "$RC"
cat >"$WORK/broken.expected" <<EXPECTED
$WORK/broken.conf:2: [both]: 'url' and 'lambda' cannot both be set
$WORK/broken.conf:8: [noregion]: no region for 'orders:live' (set region = in [global] or here, or AWS_REGION)
$WORK/broken.conf:12: lambda: invalid function ARN (use arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]): 'arn:aws:lambda:eu-west-1:12345:function:orders'
$WORK/broken.conf:18: [signed]: 'header' cannot be set for 'lambda': an invoke is signed, and its headers are warmd's
$WORK/broken.conf:19: [signed]: 'body' must be JSON for 'lambda': it is the event payload
EXPECTED
check "-n: every mistake with its file and line" diff -u "$WORK/broken.expected" "$WORK/err"

# ---------------------------------------------------------- static keys
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET once "$WORK/warmd.conf"
check_eq "static keys: --once exits 0" 0 "$RC"
check_eq "no invoke was refused" "{}" "$(report 'r["aws"]["rejected"]')"
check_eq "orders:live: 10 invokes, 10 containers, all cold" "10 10 10" \
	"$(report "' '.join(str(fn('$ORDERS')[k]) for k in ('requests', 'distinct_containers', 'cold_starts'))")"
check_eq "orders:live: all 10 in flight at once" 10 "$(report "fn('$ORDERS')['max_in_flight']")"
check_eq "cross-account ARN: 3 containers of xacct:prod" 3 "$(report "fn('$XACCT')['distinct_containers']")"
check_eq "every invoke is a warm-up to a serverless-plugin-warmup handler (event and client context)" 13 \
	"$(report 'r["aws"]["plugin_invokes"]')"
check_eq "table: orders reached 10/10, all cold by the log tail" "orders 10 10 0 10 0 10/10" \
	"$(awk '$1 == "orders" { print $1, $2, $3, $4, $5, $6, $7 }' "$WORK/out")"

reset_platform
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET once "$WORK/warmd.conf"
check_eq "second round: exits 0" 0 "$RC"
check_eq "second round: the platform started no container" 0 "$(report "fn('$ORDERS')['cold_starts']")"
check_eq "table: orders all warm by the log tail" "orders 10 10 10 0 0 10/10" \
	"$(awk '$1 == "orders" { print $1, $2, $3, $4, $5, $6, $7 }' "$WORK/out")"
# none FILE...: true if no line of standard input occurs in any FILE
none() {
	! grep -qF -f - "$@"
}
printf '%s\n' "$SECRET" "$AKID" >"$WORK/static-keys"
check "no key or secret on stderr or stdout" none "$WORK/out" "$WORK/err" <"$WORK/static-keys"

# ---------------------------------------------------------- a shared-credentials file
mkdir -p "$WORK/creds"
cat >"$WORK/creds/aws-credentials" <<CREDS
[default]
aws_access_key_id = AKIDWRONGDEFAULT
aws_secret_access_key = not-the-secret

[warmer]
aws_access_key_id = $AKID
aws_secret_access_key = $SECRET
CREDS
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_PROFILE=warmer once "$WORK/warmd.conf"
check_eq "credentials file (systemd credential aws-credentials), profile warmer: --once exits 0" 0 "$RC"
check_eq "credentials file: no invoke refused" "{}" "$(report 'r["aws"]["rejected"]')"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/warmd.conf"
check_eq "credentials file, profile default (other keys): refused by the platform" 13 \
	"$(report 'r["aws"]["rejected"].get("UnrecognizedClientException", 0)')"
AWS_SHARED_CREDENTIALS_FILE=$WORK/creds/aws-credentials AWS_PROFILE=nobody once "$WORK/warmd.conf"
check "AWS_SHARED_CREDENTIALS_FILE without the profile: said so" grep -q "no profile \[nobody\]" "$WORK/err"
cat >>"$WORK/creds/aws-credentials" <<CREDS

[temporary]
aws_access_key_id = $TMP_AKID
aws_secret_access_key = $TMP_SECRET
aws_session_token = $TMP_TOKEN
CREDS
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_PROFILE=temporary once "$WORK/warmd.conf"
check_eq "credentials file, a session token of ${#TMP_TOKEN} characters: --once exits 0" 0 "$RC"
check_eq "credentials file, a long session token: no invoke refused" "{}" "$(report 'r["aws"]["rejected"]')"
printf '%s\n' "not-the-secret" "$SECRET" "$TMP_SECRET" "$TMP_TOKEN" >"$WORK/file-keys"
check "credentials file: no secret on stderr or stdout" none "$WORK/out" "$WORK/err" <"$WORK/file-keys"

# ---------------------------------------------------------- failures, each named
cat >"$WORK/bad.conf" <<CONF
[global]
region = eu-west-1

[missing]
lambda = orders:nope
containers = 1

[capped]
lambda = capped
containers = 4

[broken]
lambda = broken
containers = 1
body = {"raise": "KeyError"}
CONF
reset_platform
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET once "$WORK/bad.conf"
check_eq "failures: --once exits 2 (fell short)" 2 "$RC"
check "404: the function or qualifier does not exist" \
	grep -q "missing round 1: .*404 ResourceNotFoundException.*does not exist" "$WORK/err"
check "429: throttled, with the reserved-concurrency hint" \
	grep -q "capped round 1: .*throttled (429 TooManyRequestsException).*reserved concurrency" "$WORK/err"
check_eq "capped: the platform ran 2 invokes and refused 2" "2 2" \
	"$(report "'%d %d' % (fn('lambda:123456789012:capped:\$LATEST')['requests'], r['aws']['rejected'].get('TooManyRequestsException', 0))")"
check "function error: Unhandled with its errorType" \
	grep -q "broken round 1: .*function error: Unhandled: KeyError" "$WORK/err"
check_eq "table: broken is not counted as reached" "broken 1 0 0/1" \
	"$(awk '$1 == "broken" { print $1, $2, $3, $7 }' "$WORK/out")"

reset_platform
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=wrong-secret once "$WORK/warmd.conf"
check_eq "wrong secret: --once exits 2" 2 "$RC"
check_eq "wrong secret: every invoke refused by the platform's own check" 13 \
	"$(report 'r["aws"]["rejected"].get("InvalidSignatureException", 0)')"
check "wrong secret: reported as a signature error" \
	grep -q "orders round 1: .*403 InvalidSignatureException: the signature was refused" "$WORK/err"
check_eq "wrong secret: no container started" 0 "$(report "fn('$ORDERS')['requests']")"

# ---------------------------------------------------------- no credentials at all
reset_platform
once "$WORK/warmd.conf"
check_eq "no credentials: --once exits 2" 2 "$RC"
check "no credentials: said so, with where warmd looked" grep -q "no AWS credentials" "$WORK/err"
# A metadata service that does not answer fails the waiting round with its reason; it does not hang it.
RC=0
AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 \
	timeout 20 "$WARMD" --once -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "metadata service unreachable: --once ends, short of N" 2 "$RC"
check "metadata service unreachable: the round says why" \
	grep -q "orders round 1: .*no AWS credentials: instance role credentials from http://127.0.0.1:9" "$WORK/err"

# ---------------------------------------------------------- instance role, refreshed across expiry
# Credentials live 6 s and are fetched again half-way through; 14 rounds a second apart (13 s)
# cross two expiries.
cat >"$WORK/imds.conf" <<CONF
[global]
region = eu-west-1
interval = 1s

[orders]
lambda = orders:live
containers = 3
CONF
reset_platform
AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$PORT \
	"$WARMD" -c "$WORK/imds.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
wait_for 30 platform_true "r['aws']['imds_credential_fetches'] >= 3 and fn('$ORDERS')['requests'] >= 42" || true
stop_pid "$WPID"
check_ge "instance role: credentials fetched at least 3 times" 3 "$(report 'r["aws"]["imds_credential_fetches"]')"
check_eq "instance role: no invoke refused across the expiries" "{}" "$(report 'r["aws"]["rejected"]')"
check_eq "instance role: each refresh came before the credentials it replaced expired" "{}" \
	"$(report 'r["aws"]["late_refreshes"]')"
check_ge "instance role: at least 14 rounds of 3 invokes reached the function" 42 "$(report "fn('$ORDERS')['requests']")"
report '"\\n".join(r["aws"]["issued"])' >"$WORK/issued"
check "instance role: the platform issued keys, secrets and tokens" test -s "$WORK/issued"
check "instance role: none of them in warmd's output" none "$WORK/out" "$WORK/err" <"$WORK/issued"

finish
