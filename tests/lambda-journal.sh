#!/bin/bash
# No AWS key, secret or session token reaches the journal: Lambda rounds with
# static keys, a refused signature, and instance-role credentials refreshed
# across an expiry, all logged to a private journald, whose whole store is
# then searched for every key the platform issued.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

enter_mount_ns "$@"
journald_start

AKID=AKIDJOURNALTEST
SECRET=journal-test-secret-9876543210
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 --lambda-functions '{"orders": {"aliases": ["live"]}}' \
	--aws-key "$AKID:$SECRET" --imds-role journal-role --imds-ttl-s 4

export AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$PORT
unset AWS_ENDPOINT_URL AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION
cat >"$WORK/warmd.conf" <<CONF
[global]
region = eu-west-1
interval = 1s

[orders]
lambda = orders:live
containers = 3
CONF

AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET once "$WORK/warmd.conf"
check_eq "static keys: --once exits 0" 0 "$RC"
AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=not-$SECRET AWS_SESSION_TOKEN=tok-$SECRET \
	once "$WORK/warmd.conf"
check_eq "a wrong secret and a token: --once exits 2" 2 "$RC"

AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$PORT "$WARMD" -v -c "$WORK/warmd.conf" >/dev/null 2>"$WORK/imds.err" &
WPID=$!
at_exit "stop_pid $WPID"
wait_for 15 platform_true 'r["aws"]["imds_credential_fetches"] >= 3' || true
stop_pid "$WPID"
check_ge "instance role: three sets of credentials fetched, across expiries" 3 \
	"$(report 'r["aws"]["imds_credential_fetches"]')"

check_ge "journal: the invokes were logged" 9 "$(jcount MESSAGE_ID="$WARMD_MESSAGE_REQUEST" WARMD_ENDPOINT=orders)"
check_ge "journal: the refused signature was logged" 3 \
	"$(jcount MESSAGE_ID="$WARMD_MESSAGE_REQUEST" WARMD_ENDPOINT=orders WARMD_HTTP_STATUS=403)"

{
	printf '%s\n' "$AKID" "$SECRET" "not-$SECRET" "tok-$SECRET"
	report '"\n".join(r["aws"]["issued"])'
} >"$WORK/secrets"
check_ge "the platform issued instance-role keys" 9 "$(wc -l <"$WORK/secrets")"
jctl -o export >"$WORK/journal.export"
check_ge "the journal holds the records (not empty)" 1000 "$(wc -c <"$WORK/journal.export")"
check_eq "no key, secret or token anywhere in the journal (journalctl -o export)" 0 \
	"$(grep -acF -f "$WORK/secrets" "$WORK/journal.export" || true)"
check_eq "nor on warmd's stderr" 0 "$(cat "$WORK"/*.err | grep -acF -f "$WORK/secrets" || true)"

finish
