#!/bin/bash
# test-timeout: 300
# auth = aws and the AWS credential sources beyond the environment, judged
# by the bundled platform's own checks: a Function URL that verifies SigV4
# (service lambda), STS AssumeRole (signature, trust, external id, chained
# roles, keys that expire), a container credentials endpoint that checks
# its token, a credential_process, and roles assumed with the instance role's
# or the environment's keys.  For each source: a round reaches N,
# a wrong credential fails with its reason and reaches nothing, and the
# credentials are refreshed before they expire across a run longer than
# their lifetime, with no refused request; no key, secret or token reaches
# warmd's output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

AKID=AKIDWARMDAUTH
SECRET=warmd-auth-secret-0123456789
ACCT=123456789012
WARMER=arn:aws:iam::$ACCT:role/warmer
CHAINED=arn:aws:iam::210987654321:role/chained
TASK=arn:aws:iam::$ACCT:role/from-container
CTOKEN=container-token-$RANDOM$RANDOM
HOST=arn:aws:iam::$ACCT:role/from-host
ROLES="{\"$WARMER\": {\"trust\": [\"user\"], \"external_id\": \"xid-1\"},
        \"$CHAINED\": {\"trust\": [\"$WARMER\"]},
        \"$TASK\": {\"trust\": [\"container\"]},
        \"$HOST\": {\"trust\": [\"instance-role\", \"user\"]}}"
start_platform --hold-ms 100 --cold-ms 100 --aws-region eu-west-1 --aws-key "$AKID:$SECRET" \
	--imds-role warmd-host \
	--aws-roles "$ROLES" --sts-ttl-s 6 --container-token "$CTOKEN" --container-ttl-s 6

export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS=http://127.0.0.1:$PORT/sts/
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE \
	AWS_CONFIG_FILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE

FN=function-url:abc
# none FILE...: true if no line of standard input occurs in any FILE
none() {
	! grep -qF -f - "$@"
}
reached() {
	report "'%d %d' % (fn('$FN')['requests'], fn('$FN')['distinct_containers'])"
}

# The Function URL on the platform's address: service and region from the keys.
endpoint() { # PROFILE-LINE
	cat <<CONF
[global]
timeout = 10s
$1

[fnurl]
url = http://127.0.0.1:$PORT/function-url/abc/
auth = aws
aws_service = lambda
region = eu-west-1
method = POST
body = {"warm": true}
containers = 4
instance_header = X-Container-Id
CONF
}

# ---------------------------------------------------------- configuration errors
cat >"$WORK/broken.conf" <<'CONF'
[noservice]
url = http://127.0.0.1:1/x
auth = aws
region = eu-west-1
containers = 1

[noregion]
url = http://127.0.0.1:1/x
auth = aws
aws_service = execute-api
containers = 1

[badauth]
url = http://127.0.0.1:1/x
auth = kerberos
profile = has space
containers = 1

[hdr]
url = https://abc.lambda-url.eu-west-1.on.aws/
auth = aws
header = Authorization: Bearer x
containers = 1
CONF
RC=0
"$WARMD" -n -c "$WORK/broken.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "-n: a broken auth configuration exits 1" 1 "$RC"
cat >"$WORK/broken.expected" <<EXPECTED
$WORK/broken.conf:3: [noservice]: auth = aws needs aws_service: the host is neither a Function URL nor an API Gateway endpoint
$WORK/broken.conf:9: [noregion]: auth = aws needs a region (set region = in [global] or here, or AWS_REGION)
$WORK/broken.conf:15: auth: invalid value 'kerberos' (use none, aws, google or azure)
$WORK/broken.conf:16: profile: invalid profile name (letters, digits, '-', '_', '.', '@' and '+') 'has space'
$WORK/broken.conf:22: [hdr]: 'header = Authorization: ...' cannot be set with auth = aws: warmd sends the signature in it
EXPECTED
check "-n: every mistake with its file and line" diff -u "$WORK/broken.expected" "$WORK/err"

# ---------------------------------------------------------- static keys, a Function URL
endpoint "" >"$WORK/env.conf"
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET once "$WORK/env.conf"
check_eq "Function URL, keys from the environment: --once exits 0" 0 "$RC"
check_eq "Function URL: the platform verified 4 signed requests and reached 4 containers" "4 4" "$(reached)"
check_eq "Function URL: none refused" "{}" "$(report 'r["aws"]["rejected"]')"
check_eq "Function URL: the body arrived as signed" '{"warm": true}' \
	"$(report "fn('$FN')['requests_seen'][0]['body']")"

reset_platform
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=wrong-secret once "$WORK/env.conf"
check_eq "Function URL, wrong secret: --once exits 2" 2 "$RC"
check_eq "Function URL, wrong secret: 4 refused by the platform's check" 4 \
	"$(report 'r["aws"]["rejected"].get("InvalidSignatureException", 0)')"
check_eq "Function URL, wrong secret: 0 reached" "0 0" "$(reached)"
check "Function URL, wrong secret: HTTP 403 in the round's record" grep -q "fnurl round 1: .*403" "$WORK/err"

# The host names service and region: a region of [global] does not sign it.  Through a proxy, so
# that the platform, on loopback, sees the Function URL's host.
cat >"$WORK/host.conf" <<CONF
[global]
region = us-east-1

[fnhost]
url = http://abc.lambda-url.eu-west-1.on.aws/
auth = aws
containers = 3
CONF
reset_platform
AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET http_proxy=http://127.0.0.1:$PORT once "$WORK/host.conf"
check_eq "Function URL by its host name: --once exits 0" 0 "$RC"
check_eq "Function URL by its host name: 3 reached, signed for lambda in eu-west-1" "3 3" "$(reached)"

# ---------------------------------------------------------- roles through STS, chained
mkdir -p "$WORK/creds"
cat >"$WORK/creds/aws-credentials" <<CREDS
[base]
aws_access_key_id = $AKID
aws_secret_access_key = $SECRET
CREDS
cat >"$WORK/creds/aws-config" <<CONFIG
[profile warmer]
role_arn = $WARMER
source_profile = base
external_id = xid-1
role_session_name = warmd-test

[profile chained]
role_arn = $CHAINED
source_profile = warmer

[profile wrong-xid]
role_arn = $WARMER
source_profile = base
external_id = not-it

[profile task]
role_arn = $TASK
credential_source = EcsContainer

[profile host]
role_arn = $HOST
credential_source = Ec2InstanceMetadata

[profile env]
role_arn = $HOST
credential_source = Environment

[profile helper]
credential_process = "$WORK/helper" --profile 'a b'

[profile failing]
credential_process = $WORK/failing

[profile chatty]
credential_process = $WORK/chatty

[profile missing]
credential_process = $WORK/no-such-helper --flag
CONFIG
endpoint "profile = chained" >"$WORK/chained.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/chained.conf"
check_eq "chained role (base -> warmer -> chained): --once exits 0" 0 "$RC"
check_eq "chained role: 4 reached" "4 4" "$(reached)"
check_eq "chained role: two AssumeRole calls, none refused" "2 {}" \
	"$(report "'%d %s' % (r['aws']['sts_calls'], r['aws']['rejected'])")"

# A profile named in warmd.conf skips the environment, as an explicit profile does in the SDKs.
endpoint "profile = base" >"$WORK/base.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_ACCESS_KEY_ID=AKIDNOTTHISONE AWS_SECRET_ACCESS_KEY=not-this-one \
	once "$WORK/base.conf"
check_eq "profile = base with other keys in the environment: the profile's keys sign, 4 reached" "0 4 4" \
	"$RC $(reached)"

endpoint "profile = wrong-xid" >"$WORK/xid.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/xid.conf"
check_eq "wrong external id: --once exits 2" 2 "$RC"
check_eq "wrong external id: 0 reached" "0 0" "$(reached)"
check "wrong external id: STS's AccessDenied in the round's record" \
	grep -q "fnurl round 1: .*no AWS credentials: role $WARMER (profile wrong-xid): AssumeRole: HTTP 403 AccessDenied" \
	"$WORK/err"

endpoint "profile = nobody" >"$WORK/nobody.conf"
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/nobody.conf"
check "a profile named but found nowhere: said so, with the files" \
	grep -q "no profile \[nobody\] in the AWS config file $WORK/creds/aws-config or" "$WORK/err"

# A profile added to the AWS files is taken up by a reload: the files are read at each load.
endpoint "profile = later" | sed 's/^timeout = 10s$/interval = 1s/' >"$WORK/later.conf"
reset_platform
AWS_CONFIG_FILE=$WORK/aws-config.later AWS_SHARED_CREDENTIALS_FILE=$WORK/creds/aws-credentials \
	"$WARMD" -c "$WORK/later.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
wait_for 20 grep -q "no profile \[later\]" "$WORK/err" || true
check_eq "a profile not there yet: nothing reached" "0 0" "$(reached)"
printf '[profile later]\nrole_arn = %s\nsource_profile = base\nexternal_id = xid-1\n' "$WARMER" >"$WORK/aws-config.later"
kill -HUP "$WPID"
wait_for 5 platform_true "fn('$FN')['requests'] >= 4" || true
stop_pid "$WPID"
check_ge "the profile added, then SIGHUP: the role is assumed and the endpoint reached" 4 "$(reached | cut -d' ' -f1)"

# ---------------------------------------------------------- the container credentials endpoint
printf '%s\n' "$CTOKEN" >"$WORK/ctoken"
printf 'wrong-token\n' >"$WORK/wtoken"
export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$PORT/container-credentials
reset_platform
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/ctoken once "$WORK/env.conf"
check_eq "container endpoint: --once exits 0" 0 "$RC"
check_eq "container endpoint: 4 reached" "4 4" "$(reached)"
check_eq "container endpoint: one fetch, none refused" "1 {}" \
	"$(report "'%d %s' % (r['aws']['container_fetches'], r['aws']['rejected'])")"
reset_platform
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/wtoken once "$WORK/env.conf"
check_eq "container endpoint, wrong token: --once exits 2" 2 "$RC"
check_eq "container endpoint, wrong token: refused by the platform, 0 reached" "1 0 0" \
	"$(report "'%d %s' % (r['aws']['rejected'].get('ContainerTokenRefused', 0), '%d %d' % (fn('$FN')['requests'], fn('$FN')['distinct_containers']))")"
check "container endpoint, wrong token: the reason" \
	grep -q "fnurl round 1: .*container credentials endpoint: HTTP 401 (the authorization token was refused)" "$WORK/err"
# The token file is read whole, in as many reads as it takes, up to 16 KiB.
reset_platform
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=<(printf '%s' "${CTOKEN:0:8}"; sleep 0.5; printf '%s\n' "${CTOKEN:8}") \
	once "$WORK/env.conf"
check_eq "container endpoint, a token file that comes in parts: read whole, 4 reached, none refused" \
	"0 4 4 {}" "$RC $(reached) $(report 'r["aws"]["rejected"]')"
head -c 16384 /dev/zero | tr '\0' t >"$WORK/token-16k"
reset_platform
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/token-16k once "$WORK/env.conf"
check_eq "container endpoint, a token file of 16 KiB, the limit: sent (and refused, it is not the token)" \
	1 "$(report "r['aws']['rejected'].get('ContainerTokenRefused', 0)")"
printf 't' >>"$WORK/token-16k"
reset_platform
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/token-16k once "$WORK/env.conf"
check_eq "container endpoint, a token file of 16 KiB and 1 byte: --once exits 2, the endpoint never asked" \
	"2 {} 0 0 0" "$RC $(report 'r["aws"]["rejected"]') $(report 'r["aws"]["container_fetches"]') $(reached)"
check "container endpoint, a token file too large: said so, with the file" \
	grep -q "fnurl round 1: .*container credentials endpoint: the token file $WORK/token-16k is larger than 16384 bytes" "$WORK/err"
: >"$WORK/token-empty"
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/token-empty once "$WORK/env.conf"
check "container endpoint, an empty token file: said so, with the file" \
	grep -q "fnurl round 1: .*cannot read the token file $WORK/token-empty: empty, or more than one line" "$WORK/err"
AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.1/creds once "$WORK/env.conf"
check "container endpoint off the host in clear text: refused, said why" \
	grep -q "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https" "$WORK/err"
endpoint "profile = task" >"$WORK/task.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_CONTAINER_AUTHORIZATION_TOKEN=$CTOKEN once "$WORK/task.conf"
check_eq "credential_source = EcsContainer: a role assumed with the container's keys, 4 reached" "0 4 4" \
	"$RC $(reached)"
unset AWS_CONTAINER_CREDENTIALS_FULL_URI
endpoint "profile = host" >"$WORK/host-role.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$PORT \
	once "$WORK/host-role.conf"
check_eq "credential_source = Ec2InstanceMetadata: a role assumed with the instance role's keys, 4 reached" \
	"0 4 4 1 1" "$RC $(reached) $(report "'%d %d' % (r['aws']['imds_credential_fetches'], r['aws']['sts_calls'])")"
# AWS_EC2_METADATA_DISABLED=true holds for a role's credential_source too, as in botocore: the
# platform's IMDS, which would answer, is never asked.
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_EC2_METADATA_DISABLED=true AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$PORT \
	once "$WORK/host-role.conf"
check_eq "credential_source = Ec2InstanceMetadata, the service disabled: --once exits 2, 0 reached, IMDS and STS never asked" \
	"2 0 0 0 0 0" "$RC $(reached) $(report "'%d %d %d' % (r['aws']['imds_credential_fetches'], r['aws']['imds_token_requests'], r['aws']['sts_calls'])")"
check "credential_source = Ec2InstanceMetadata, the service disabled: said so" \
	grep -q "fnurl round 1: .*role $HOST (profile host): no credentials to assume it with: instance role credentials: the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED=true)" "$WORK/err"
endpoint "profile = env" >"$WORK/env-role.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET once "$WORK/env-role.conf"
check_eq "credential_source = Environment: a role assumed with the environment's keys, 4 reached" \
	"0 4 4 1" "$RC $(reached) $(report "r['aws']['sts_calls']")"

# ---------------------------------------------------------- credential_process
# The helper prints the keys (Version 1) and logs, to its own record, when it ran and until when
# what it printed is valid.
cat >"$WORK/helper" <<HELPER
#!/bin/bash
[ "\$1 \$2" = "--profile a b" ] || { echo "helper: wrong arguments: \$*" >&2; exit 9; }
now=\$(date +%s)
exp=\$((now + \${HELPER_TTL:-3600}))
echo "\$now \$exp" >>"$WORK/helper.record"
# What it started with: its descriptors beyond 0, 1, 2 and bash's own 255 (before bash opens any
# more), its blocked and ignored signals (as bash hands them on), whether it leads its own process
# group, and its open-file soft limit.
ls /proc/\$\$/fd >"$WORK/helper.fds"
{
	grep -vxE '0|1|2|255' "$WORK/helper.fds" | sed 's/^/fd /'
	grep -E '^Sig(Blk|Ign):' /proc/self/status; read -r -a st </proc/\$\$/stat; echo "leader \$(( st[4] == \$\$ ))"
	echo "nofile \$(ulimit -Sn)"
} >"$WORK/helper.start"
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "%s"}\n' \
	"$AKID" "$SECRET" "\$(date -u -d @\$exp +%Y-%m-%dT%H:%M:%SZ)"
HELPER
cat >"$WORK/failing" <<FAILING
#!/bin/bash
echo '{"Version": 1, "AccessKeyId": "AKIDFROMFAILING", "SecretAccessKey": "failing-helper-secret"}'
printf 'aws_signing_helper: certificate expired\nsecond line\n%0500d\n' 0 | tr 0 x >&2
exit 3
FAILING
cat >"$WORK/chatty" <<'CHATTY'
#!/bin/bash
printf '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "Pad": "%065536d"}\n' 0
CHATTY
chmod +x "$WORK/helper" "$WORK/failing" "$WORK/chatty"
endpoint "profile = helper" >"$WORK/helper.conf"
reset_platform
# warmd started as systemd starts it, with SIGPIPE ignored (IgnoreSIGPIPE=yes): the helper must not be.
trap '' PIPE
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/helper.conf"
trap - PIPE
check_eq "credential_process, without a shell, quoted arguments: --once exits 0" 0 "$RC"
check_eq "credential_process: 4 reached" "4 4" "$(reached)"
# warmd raises its own soft limit to the hard one; the helper gets at most select()'s FD_SETSIZE.
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] || [ "$NOFILE" -gt 1024 ] && NOFILE=1024
check_eq "credential_process: started with no signal blocked or ignored, in its own process group, with the usual open-file limit ($NOFILE) and no descriptor of warmd's" \
	"SigBlk:	0000000000000000 SigIgn:	0000000000000000 leader 1 nofile $NOFILE" \
	"$(paste -sd' ' "$WORK/helper.start")"
endpoint "profile = failing" >"$WORK/failing.conf"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/failing.conf"
check_eq "failing credential_process: --once exits 2, 0 reached" "2 0 0" "$RC $(reached)"
check "failing credential_process: its stderr, as one line, with its status" \
	grep -q "exited with status 3: aws_signing_helper: certificate expired second line x" "$WORK/err"
# 120 characters of it: the 52 of the first lines, then 68 of the 500 x.
check_eq "failing credential_process: its stderr cut at 120 characters" 68 \
	"$(grep -o "second line x*" "$WORK/err" | head -1 | tr -cd x | wc -c)"
printf '%s\n' AKIDFROMFAILING failing-helper-secret >"$WORK/failing-keys"
endpoint "profile = chatty" >"$WORK/chatty.conf"
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/chatty.conf"
check "credential_process writing more than 64 KiB: refused, said so" \
	grep -q "fnurl round 1: .*credential_process of profile chatty: wrote more than 65536 bytes" "$WORK/err"
endpoint "profile = missing" >"$WORK/missing.conf"
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/missing.conf"
check "a credential_process that cannot be run: said why, naming it" \
	grep -q "fnurl round 1: .*credential_process of profile missing: cannot run $WORK/no-such-helper: No such file or directory" "$WORK/err"
reset_platform
rm -f "$WORK/helper.record"
CREDENTIALS_DIRECTORY=$WORK/creds HELPER_TTL=-60 once "$WORK/helper.conf"
check_eq "credential_process with expired credentials: --once exits 2, 0 reached" "2 0 0" "$RC $(reached)"
check "expired credentials: said so" grep -q "fnurl round 1: .*credential_process of profile helper: the credentials fetched expire in less than 2 s" "$WORK/err"
check_eq "expired credentials: not fetched again and again (the helper ran once)" 1 "$(wc -l <"$WORK/helper.record")"
check "failing credential_process: its stdout is never shown" none "$WORK/out" "$WORK/err" <"$WORK/failing-keys"

# ---------------------------------------------------------- refreshed before expiry
# Role, container and process credentials that live 6 s, over 14 rounds a second apart: each is
# fetched again before the last expired (the platform's and the helper's records), and no request
# is refused.  A refresh that waited for expiry would make a late refresh, or a refused request.
conf interval=1s timeout=5s auth=aws region=eu-west-1 \
	-- chained /function-url/abc/ 2 aws_service=lambda profile=chained \
	-- container /function-url/def/ 2 aws_service=lambda \
	-- helper /function-url/ghi/ 2 aws_service=lambda profile=helper >"$WORK/long.conf"
reset_platform
rm -f "$WORK/helper.record"
CREDENTIALS_DIRECTORY=$WORK/creds HELPER_TTL=6 AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$PORT/container-credentials \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=$CTOKEN "$WARMD" -c "$WORK/long.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
wait_for 40 platform_true "r['aws']['container_fetches'] >= 3 and r['aws']['sts_calls'] >= 6 and \
all(fn('function-url:' + f)['requests'] >= 28 for f in ('abc', 'def', 'ghi'))" || true
stop_pid "$WPID"
check_ge "role chain: AssumeRole called at least 6 times (two roles, 3 lifetimes)" 6 "$(report 'r["aws"]["sts_calls"]')"
check_ge "container: fetched at least 3 times" 3 "$(report 'r["aws"]["container_fetches"]')"
check_ge "credential_process: run at least 3 times" 3 "$(wc -l <"$WORK/helper.record")"
check_eq "no refresh came after the credentials it replaced had expired (platform)" "{}" \
	"$(report 'r["aws"]["late_refreshes"]')"
check_eq "no credential_process run came after what it replaced had expired (its record)" 0 \
	"$(awk 'NR > 1 && $1 >= prev { late++ } { prev = $2 } END { print late + 0 }' "$WORK/helper.record")"
check_eq "no request refused across the expiries" "{}" "$(report 'r["aws"]["rejected"]')"
for f in abc def ghi; do
	check_ge "function-url:$f: 14 rounds of 2 reached it" 28 "$(report "fn('function-url:$f')['requests']")"
done
report '"\\n".join(r["aws"]["issued"])' >"$WORK/issued"
printf '%s\n' "$SECRET" "$AKID" "$CTOKEN" >>"$WORK/issued"
check "the platform issued keys, secrets and tokens" test -s "$WORK/issued"
check "none of them, nor the static keys or the container token, in warmd's output" \
	none "$WORK/out" "$WORK/err" <"$WORK/issued"

finish
