#!/bin/bash
# test-timeout: 200
# A credential_process that hangs: at its timeout (60 s) it is killed, with
# what it started, and reaped, and the round that waited for it fails with
# the reason and reaches nothing, while an endpoint without credentials is
# warmed all along.  (The timeout is fixed: this test waits for it.)  A
# reload that drops the only endpoint that needs it kills and reaps it too.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 --aws-key "AKIDWARMDHANG:hang-secret"
export AWS_EC2_METADATA_DISABLED=true
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE \
	AWS_CONFIG_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI

# The helper starts a child that outlives it unless its group is killed, records both, and hangs.
cat >"$WORK/hung" <<HUNG
#!/bin/bash
sleep 1000 &
echo "\$\$ \$!" >>"$WORK/hung.pids"
wait
HUNG
chmod +x "$WORK/hung"
printf '[profile hung]\ncredential_process = %s\n' "$WORK/hung" >"$WORK/aws-config"
: >"$WORK/aws-credentials"
conf interval=1s timeout=5s \
	-- hung /function-url/abc/ 2 auth=aws aws_service=lambda region=eu-west-1 profile=hung \
	-- plain /plain 1 >"$WORK/warmd.conf"

export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
# Whatever the outcome, nothing the helpers started outlives the test.
at_exit 'for p in $(cat "$WORK/hung.pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done'

# start_hung LABEL CONF: warmd on CONF (its pid in WPID), until the helper has started (HELPER, CHILD).
start_hung() {
	: >"$WORK/hung.pids"
	"$WARMD" -c "$2" >"$WORK/out" 2>"$WORK/err" &
	WPID=$!
	at_exit "stop_pid $WPID"
	wait_for 10 test -s "$WORK/hung.pids" || true
	read -r HELPER CHILD <"$WORK/hung.pids" || true
	check "$1: the helper ran" test -n "$HELPER"
}
# killed LABEL: the helper is killed and reaped (not even a zombie of warmd's is left), its child with it.
killed() {
	check "$1: the helper killed and reaped" wait_for 5 test ! -e "/proc/$HELPER"
	check "$1: what it started killed with it (its process group)" wait_for 5 proc_gone "$CHILD"
	check "$1: warmd still runs" kill -0 "$WPID"
	stop_pid "$WPID"
}

# ---------------------------------------------------------- a reload drops the endpoint that needs it
cp "$WORK/warmd.conf" "$WORK/reload.conf"
start_hung reload "$WORK/reload.conf"
conf interval=1s -- plain /plain 1 >"$WORK/reload.conf"
kill -HUP "$WPID"
wait_for 10 grep -q "hung: endpoint removed" "$WORK/err" || true
killed "reload, no endpoint needs it"

# ---------------------------------------------------------- the timeout
reset_platform
start_hung timeout "$WORK/warmd.conf"
wait_for 90 grep -q "credential_process of profile hung: did not finish within 60 s" "$WORK/err" || true
check "a hung credential_process: the reason, with the bound, in the log" \
	grep -q "AWS credential_process of profile hung: did not finish within 60 s; retrying in 1 s" "$WORK/err"
check "the rounds that waited for it: failed, with the reason" \
	grep -q "hung round [0-9]*: .*credential_process of profile hung: did not finish within 60 s" "$WORK/err"
killed timeout
check_eq "nothing reached through credentials it never had" 0 "$(report "fn('function-url:abc')['requests']")"
check_ge "the endpoint without credentials was warmed meanwhile" 10 \
	"$(report "fn('/plain')['requests']")"

finish
