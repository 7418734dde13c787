#!/bin/bash
# The container credentials endpoint named by AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
# on ECS's own address, http://169.254.170.2: in a network namespace of the
# test's own, where that address is on the loopback interface and the
# bundled platform listens on port 80.  The relative URI is taken before a
# full one; its token is checked by the platform.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

enter_net_ns 169.254.170.2 -- "$@"

AKID=AKIDWARMDREL
SECRET=warmd-relative-secret-0123
CTOKEN=container-token-$RANDOM$RANDOM
start_platform --host 0.0.0.0 --port 80 --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 \
	--aws-key "$AKID:$SECRET" --container-token "$CTOKEN" --container-ttl-s 3600
check_eq "the platform listens on port 80 of every address of the namespace" 80 "$PORT"

export AWS_EC2_METADATA_DISABLED=true
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE \
	AWS_CONFIG_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
	AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE CREDENTIALS_DIRECTORY
# No profile: the chain reaches the container endpoint.
: >"$WORK/aws-config"
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-config

# Without ":80": curl leaves a default port out of Host, and the signature covers Host.
conf -- fnurl http://127.0.0.1/function-url/abc/ 3 auth=aws aws_service=lambda region=eu-west-1 method=POST \
	instance_header=X-Container-Id >"$WORK/warmd.conf"
reached() {
	report "'%d %d %d' % (fn('function-url:abc')['requests'], fn('function-url:abc')['distinct_containers'], r['aws']['container_fetches'])"
}

AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/container-credentials AWS_CONTAINER_AUTHORIZATION_TOKEN=$CTOKEN \
	once "$WORK/warmd.conf"
check_eq "relative URI: --once exits 0, 3 reached with the credentials of one fetch from 169.254.170.2" \
	"0 3 3 1" "$RC $(reached)"

# Taken before a full URI that leads nowhere, and without its leading '/' as with it.
reset_platform
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=container-credentials AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9/none \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=$CTOKEN once "$WORK/warmd.conf"
check_eq "relative URI beside a full one: the relative one is taken, 3 reached" "0 3 3 1" "$RC $(reached)"

reset_platform
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/container-credentials AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong-token \
	once "$WORK/warmd.conf"
check_eq "relative URI, wrong token: --once exits 2, refused by the platform, 0 reached" "2 1 0 0 0" \
	"$RC $(report "r['aws']['rejected'].get('ContainerTokenRefused', 0)") $(reached)"
check "relative URI, wrong token: the reason" \
	grep -q "fnurl round 1: .*container credentials endpoint: HTTP 401 (the authorization token was refused)" "$WORK/err"

report '"\\n".join(r["aws"]["issued"])' | sed '/^$/d' >"$WORK/issued"
printf '%s\n' "$SECRET" "$CTOKEN" >>"$WORK/issued"
check "no key, secret or token in warmd's output" bash -c '! grep -qF -f "$1" "$2" "$3"' - "$WORK/issued" \
	"$WORK/out" "$WORK/err"

finish
