#!/bin/bash
# No AWS key, secret or token reaches the journal from the sources beyond
# the environment: a chained role through STS, the container credentials
# endpoint (and its token), a credential_process (and a failing one, whose
# stdout holds a secret), signing a Function URL and refreshed across their
# expiry, all logged to a private journald whose whole store is then
# searched for every key the platform issued; so are the status lines warmd
# sent, its metrics file and its -n output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

enter_mount_ns "$@"
journald_start
notify_start

AKID=AKIDAWSJOURNAL
SECRET=aws-journal-secret-0123456789
WARMER=arn:aws:iam::123456789012:role/warmer
CHAINED=arn:aws:iam::210987654321:role/chained
CTOKEN=journal-container-token-$RANDOM$RANDOM
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 --aws-key "$AKID:$SECRET" \
	--aws-roles "{\"$WARMER\": {\"trust\": [\"user\"], \"external_id\": \"xid-j\"},
	              \"$CHAINED\": {\"trust\": [\"$WARMER\"]}}" \
	--sts-ttl-s 4 --container-token "$CTOKEN" --container-ttl-s 4

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE \
	AWS_CONFIG_FILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS=http://127.0.0.1:$PORT/sts/ \
	AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$PORT/container-credentials \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=$CTOKEN
mkdir -p "$WORK/creds"
cat >"$WORK/creds/aws-credentials" <<CREDS
[base]
aws_access_key_id = $AKID
aws_secret_access_key = $SECRET
CREDS
cat >"$WORK/helper" <<HELPER
#!/bin/bash
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "%s"}\n' \
	"$AKID" "$SECRET" "\$(date -u -d @\$((\$(date +%s) + 4)) +%Y-%m-%dT%H:%M:%SZ)"
HELPER
cat >"$WORK/failing" <<FAILING
#!/bin/bash
echo '{"Version": 1, "AccessKeyId": "AKIDJOURNALFAILING", "SecretAccessKey": "journal-failing-secret"}'
echo 'helper: no certificate' >&2
exit 1
FAILING
chmod +x "$WORK/helper" "$WORK/failing"
cat >"$WORK/creds/aws-config" <<CONFIG
[profile warmer]
role_arn = $WARMER
source_profile = base
external_id = xid-j

[profile chained]
role_arn = $CHAINED
source_profile = warmer

[profile helper]
credential_process = $WORK/helper

[profile failing]
credential_process = $WORK/failing
CONFIG
conf interval=1s auth=aws region=eu-west-1 metrics_file="$WORK/warmd.prom" \
	-- chained /function-url/abc/ 2 aws_service=lambda profile=chained \
	-- container /function-url/def/ 2 aws_service=lambda \
	-- helper /function-url/ghi/ 2 aws_service=lambda profile=helper \
	-- failing /function-url/jkl/ 2 aws_service=lambda profile=failing >"$WORK/warmd.conf"

CREDENTIALS_DIRECTORY=$WORK/creds "$WARMD" -v -c "$WORK/warmd.conf" >/dev/null 2>"$WORK/warmd.err" &
WPID=$!
at_exit "stop_pid $WPID"
wait_for 30 platform_true 'r["aws"]["sts_calls"] >= 6 and r["aws"]["container_fetches"] >= 3' || true
stop_pid "$WPID"
check_ge "roles: assumed again across expiries" 6 "$(report 'r["aws"]["sts_calls"]')"
check_ge "container: fetched again across expiries" 3 "$(report 'r["aws"]["container_fetches"]')"
check_ge "journal: the signed requests were logged" 6 \
	"$(jcount MESSAGE_ID="$WARMD_MESSAGE_REQUEST" WARMD_ENDPOINT=chained)"
check_ge "journal: the failing helper's rounds were logged, with its stderr" 1 \
	"$(jctl -o cat | grep -c "exited with status 1: helper: no certificate" || true)"

{
	printf '%s\n' "$AKID" "$SECRET" "$CTOKEN" AKIDJOURNALFAILING journal-failing-secret
	report '"\n".join(r["aws"]["issued"])'
} >"$WORK/secrets"
check_ge "the platform issued role and container keys" 20 "$(wc -l <"$WORK/secrets")"
jctl -o export >"$WORK/journal.export"
check_ge "the journal holds the records (not empty)" 1000 "$(wc -c <"$WORK/journal.export")"
check_eq "no key, secret or token anywhere in the journal (journalctl -o export)" 0 \
	"$(grep -acF -f "$WORK/secrets" "$WORK/journal.export" || true)"
check_eq "nor on warmd's stderr" 0 "$(grep -acF -f "$WORK/secrets" "$WORK/warmd.err" || true)"
check_ge "warmd sent status lines" 3 "$(grep -c STATUS= "$NOTIFY_LOG")"
check_eq "nor in the status lines" 0 "$(grep -acF -f "$WORK/secrets" "$NOTIFY_LOG" || true)"
check "the metrics file was written" grep -q 'endpoint="chained"' "$WORK/warmd.prom"
check_eq "nor in the metrics file" 0 "$(grep -acF -f "$WORK/secrets" "$WORK/warmd.prom" || true)"
CREDENTIALS_DIRECTORY=$WORK/creds "$WARMD" -n -c "$WORK/warmd.conf" >"$WORK/n.out" 2>&1
check "-n: the configuration is OK" grep -q "configuration OK" "$WORK/n.out"
check_eq "nor in -n output" 0 "$(grep -acF -f "$WORK/secrets" "$WORK/n.out" || true)"

finish
