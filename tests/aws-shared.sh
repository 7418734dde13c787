#!/bin/bash
# One set of AWS credential sources for the whole daemon, judged by the
# bundled platform's counts: a Lambda endpoint and a tag source on the
# container credentials endpoint fetch them once, not once each; and a
# reload that removes the endpoints of a role stops its refreshes (STS is
# called no more), while the container credentials the rest still use stay.
# test-timeout: 180
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

CTOKEN=container-token-$RANDOM$RANDOM
TASK=arn:aws:iam::123456789012:role/from-container
# Container credentials that outlive the test (one fetch is all a run needs); role credentials of 6 s.
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 \
	--lambda-functions '{"orders": {}, "f1": {}, "billing": {}}' \
	--aws-roles "{\"$TASK\": {\"trust\": [\"container\"]}}" --sts-ttl-s 6 \
	--container-token "$CTOKEN" --container-ttl-s 3600
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ENDPOINT_URL_STS=http://127.0.0.1:$PORT/sts/ \
	AWS_EC2_METADATA_DISABLED=true AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$PORT/container-credentials \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=$CTOKEN AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION \
	AWS_ENDPOINT_URL_LAMBDA AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
printf '[profile task]\nrole_arn = %s\ncredential_source = EcsContainer\n' "$TASK" >"$WORK/aws-config"
tags '{"tags": {"f1": {"warmd": "1"}}}'

ORDERS=lambda:123456789012:orders:\$LATEST
F1=lambda:123456789012:f1:\$LATEST
BILLING=lambda:123456789012:billing:\$LATEST

# orders_conf: the start of both configurations, an endpoint on the container's credentials.
orders_conf() {
	printf '[global]\nregion = eu-west-1\ninterval = 1s\n\n[orders]\nlambda = orders\ncontainers = 1\n'
}

# ---------------------------------------------------------- one fetch for the endpoint and the source
{ orders_conf; cat; } >"$WORK/warmd.conf" <<CONF

[fleet]
lambda_tag = warmd
refresh = 10s
CONF
"$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
check "endpoint and source both signed with the container's credentials: orders invoked twice, f1 found and invoked" \
	wait_for 60 platform_true "fn('$ORDERS')['requests'] >= 2 and r['tagging']['pages'] >= 1 and fn('$F1')['requests'] >= 1"
check_eq "the container credentials were fetched once for both (platform)" 1 "$(report 'r["aws"]["container_fetches"]')"
check_eq "no request refused" "{}" "$(report 'r["aws"]["rejected"]')"
terminate "$WPID"

# ---------------------------------------------------------- a reload lets go of a role no one uses
{ orders_conf; cat; } >"$WORK/warmd.conf" <<CONF

[billing]
lambda = billing
profile = task
containers = 1
CONF
reset_platform
"$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
check "the role's credentials refreshed while billing uses them (STS called 3 times)" \
	wait_for 60 platform_true "r['aws']['sts_calls'] >= 3 and fn('$BILLING')['requests'] >= 1"
sed -i '/^\[billing\]/,$d' "$WORK/warmd.conf"
kill -HUP "$WPID"
check "billing removed by the reload" wait_for 30 grep -q "billing: endpoint removed" "$WORK/err"
O=$(report "fn('$ORDERS')['requests']")
STS=$(report 'r["aws"]["sts_calls"]')
# 8 more rounds of orders, a second apart: more than two lifetimes of the role's credentials.
check "orders warmed on after the reload" wait_for 60 platform_true "fn('$ORDERS')['requests'] >= $O + 8"
check_eq "no AssumeRole after the reload: the role's refreshes stopped" "$STS" "$(report 'r["aws"]["sts_calls"]')"
check_eq "the container credentials, still used by orders, fetched once" 1 "$(report 'r["aws"]["container_fetches"]')"
check_eq "no request refused" "{}" "$(report 'r["aws"]["rejected"]')"
terminate "$WPID"

finish
