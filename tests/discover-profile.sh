#!/bin/bash
# A tag source with profile = NAME reads the tagging API with that profile's
# credentials from the AWS shared config and credentials files, not the
# environment's, and the functions it finds are invoked with them too, judged
# by the bundled platform's signature checks: static keys in the credentials
# file, and a role assumed through STS from them; a profile found nowhere is
# said, with the files, and --discover exits 3.
# test-timeout: 120
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

AKID=AKIDWARMDPROFILE
SECRET=warmd-profile-secret-0123456789
ROLE=arn:aws:iam::123456789012:role/tagger
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 \
	--lambda-functions '{"f1": {}, "f2": {"aliases": ["live"]}}' --aws-key "$AKID:$SECRET" \
	--aws-roles "{\"$ROLE\": {\"trust\": [\"user\"]}}"
# The environment's keys are ones the platform does not know: only the profile's can sign.
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ENDPOINT_URL_STS=http://127.0.0.1:$PORT/sts/ \
	AWS_ACCESS_KEY_ID=AKIDNOTTHEPROFILES AWS_SECRET_ACCESS_KEY=not-the-profiles-secret \
	AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials AWS_EC2_METADATA_DISABLED=true
unset AWS_ENDPOINT_URL_LAMBDA AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_REGION AWS_DEFAULT_REGION
printf '[tagger]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AKID" "$SECRET" >"$WORK/aws-credentials"
printf '[profile role]\nrole_arn = %s\nsource_profile = tagger\n' "$ROLE" >"$WORK/aws-config"
tags '{"tags": {"f1": {"warmd": "2"}, "f2": {"warmd": "1:live"}}}'

F1=lambda:123456789012:f1:\$LATEST
F2=lambda:123456789012:f2:live

# source PROFILE: a configuration whose one source reads with PROFILE.
source_conf() {
	cat <<CONF
[global]
region = eu-west-1
timeout = 20s

[fleet]
lambda_tag = warmd
profile = $1
CONF
}

# ---------------------------------------------------------- static keys of the credentials file
source_conf tagger >"$WORK/tagger.conf"
RC=0
"$WARMD" --discover -c "$WORK/tagger.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "profile = tagger: --discover exits 0" 0 "$RC"
check_eq "profile = tagger: both functions found" "fleet/f1 2 f1|fleet/f2:live 1 f2:live" \
	"$(awk 'NR > 1 { printf "%s%s %s %s", sep, $1, $2, $3; sep = "|" }' "$WORK/out")"
check_eq "profile = tagger: the platform checked the signatures of 1 page, none refused" "1 {}" \
	"$(report "'%d %s' % (r['tagging']['pages'], r['tagging']['rejected'])")"
cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"

reset_platform
once "$WORK/tagger.conf"
cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
check_eq "profile = tagger: --once exits 0" 0 "$RC"
check_eq "profile = tagger: the functions found are invoked with the profile's keys (2 + 1 containers, none refused)" \
	"2 1 {} {}" \
	"$(report "'%d %d %s %s' % (fn('$F1')['distinct_containers'], fn('$F2')['distinct_containers'], r['aws']['rejected'], r['tagging']['rejected'])")"

# ---------------------------------------------------------- a role assumed from the profile's keys
source_conf role >"$WORK/role.conf"
reset_platform
once "$WORK/role.conf"
cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
check_eq "profile = role: --once exits 0" 0 "$RC"
check_eq "profile = role: AssumeRole called, the list read and the functions invoked, none refused" \
	"1 1 2 1 {} {}" \
	"$(report "'%d %d %d %d %s %s' % (min(r['aws']['sts_calls'], 1), r['tagging']['pages'], fn('$F1')['distinct_containers'], fn('$F2')['distinct_containers'], r['aws']['rejected'], r['tagging']['rejected'])")"

# ---------------------------------------------------------- a profile found nowhere
source_conf nobody >"$WORK/nobody.conf"
reset_platform
RC=0
"$WARMD" --discover -c "$WORK/nobody.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
check_eq "profile = nobody: --discover exits 3" 3 "$RC"
check "profile = nobody: said, with the files" \
	grep -q "\[fleet\]: cannot read the functions tagged warmd: .*no profile \[nobody\] in the AWS config file $WORK/aws-config or" "$WORK/err"
check_eq "profile = nobody: nothing sent to the tagging API" 0 "$(report 'r["tagging"]["requests"]')"

printf '%s\n' "$SECRET" "$AKID" >"$WORK/secrets"
check "no key or secret in any output" eval '! grep -qF -f "$WORK/secrets" "$WORK/all-output"'

finish
