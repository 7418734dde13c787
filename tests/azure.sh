#!/bin/bash
# test-timeout: 240
# auth = azure against the bundled platform's managed-identity endpoints (a
# VM's IMDS, App Service's identity endpoint) and its Easy Auth-like front,
# which takes only a token it issued, unexpired, for its resource.  For each
# source: a round reaches N, one token serves every endpoint of a resource,
# tokens are refreshed before they expire across runs longer than their
# lifetime with no refused request, and a wrong identity header, an unknown
# client id, an expired token, a wrong resource or an unreachable endpoint
# fail with the reason and no container reached.  Neither the tokens nor the
# identity header reach warmd's output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

RESOURCE=api://warm-orders
IDENTITY_SECRET=identity-header-secret-0123456789
CLIENT_ID=7d1b1c2e-5f3a-4c6b-9e8d-0a1b2c3d4e5f
start_platform --hold-ms 50 --cold-ms 100 --azure-resource "$RESOURCE" --azure-identity-header "$IDENTITY_SECRET" \
	--azure-client-id "$CLIENT_ID" --azure-token-ttl-s 6
# Never the real metadata address: every run names the platform.
export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:$PORT/
unset IDENTITY_ENDPOINT IDENTITY_HEADER MSI_ENDPOINT MSI_SECRET

conf timeout=5s resource=$RESOURCE -- orders /azure/orders 5 auth=azure instance_header=X-Container-Id \
	-- billing /azure/billing 3 auth=azure instance_header=X-Container-Id >"$WORK/warmd.conf"

# ---------------------------------------------------------- the VM's instance metadata service
once "$WORK/warmd.conf"
check_eq "IMDS: --once exits 0" 0 "$RC"
check_eq "IMDS: orders reached 5 containers behind the front" 5 "$(report "fn('/azure/orders')['distinct_containers']")"
check_eq "IMDS: billing reached 3" 3 "$(report "fn('/azure/billing')['distinct_containers']")"
check_eq "IMDS: the front took 8 tokens and refused none" "8 {}" \
	"$(report '"%d %s" % (r["azure"]["accepted"], r["azure"]["refused"])')"
check_eq "IMDS: one token for the resource both endpoints share, system-assigned" "1 ['']" \
	"$(report '"%d %s" % (r["azure"]["imds_fetches"], r["azure"]["client_ids"])')"

conf timeout=5s resource=$RESOURCE client_id=$CLIENT_ID -- orders /azure/orders 2 auth=azure >"$WORK/user.conf"
reset_platform
once "$WORK/user.conf"
check_eq "user-assigned identity: --once exits 0" 0 "$RC"
check_eq "user-assigned identity: the token was asked for its client_id" "['$CLIENT_ID']" \
	"$(report 'r["azure"]["client_ids"]')"

# ---------------------------------------------------------- App Service and Functions
reset_platform
IDENTITY_ENDPOINT=http://127.0.0.1:$PORT/msi/token IDENTITY_HEADER=$IDENTITY_SECRET once "$WORK/warmd.conf"
check_eq "App Service: --once exits 0" 0 "$RC"
check_eq "App Service: orders reached 5" 5 "$(report "fn('/azure/orders')['distinct_containers']")"
check_eq "App Service: one token from the identity endpoint, none from IMDS" "1 0" \
	"$(report '"%d %d" % (r["azure"]["app_service_fetches"], r["azure"]["imds_fetches"])')"

# ---------------------------------------------------------- failures, each with its reason, no container reached
reset_platform
IDENTITY_ENDPOINT=http://127.0.0.1:$PORT/msi/token IDENTITY_HEADER=wrong-$IDENTITY_SECRET once "$WORK/warmd.conf"
check_eq "wrong identity header: --once exits 2" 2 "$RC"
check "wrong identity header: each request says why and where" \
	grep -q "orders round 1: .*no Azure access token for $RESOURCE: the App Service identity endpoint http://127.0.0.1:$PORT/msi/token: HTTP 401" \
	"$WORK/err"
check_eq "wrong identity header: no container reached" 0 \
	"$(report "fn('/azure/orders')['requests'] + fn('/azure/billing')['requests']")"

conf resource=$RESOURCE client_id=no-such-identity -- orders /azure/orders 2 auth=azure >"$WORK/nouser.conf"
once "$WORK/nouser.conf"
check_eq "unknown client_id: --once exits 2" 2 "$RC"
check "unknown client_id: HTTP 400 from the instance metadata service, with its reason" \
	grep -q "orders round 1: .*no Azure access token for $RESOURCE (client id no-such-identity): the instance metadata service at http://127.0.0.1:$PORT: HTTP 400 invalid_request: Identity not found" \
	"$WORK/err"

conf resource=api://someone-else -- orders /azure/orders 2 auth=azure >"$WORK/other.conf"
reset_platform
once "$WORK/other.conf"
check_eq "wrong resource: --once exits 2" 2 "$RC"
check_eq "wrong resource: the front refused both" 2 "$(report 'r["azure"]["refused"].get("wrong resource", 0)')"
check_eq "wrong resource: no container reached" 0 "$(report "fn('/azure/orders')['requests']")"

RC=0
AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9 timeout 30 "$WARMD" --once -c "$WORK/warmd.conf" \
	>"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "IMDS unreachable: --once ends, short of N" 2 "$RC"
check "IMDS unreachable: the round says where warmd looked" \
	grep -q "orders round 1: .*no Azure access token for $RESOURCE: the instance metadata service at http://127.0.0.1:9" \
	"$WORK/err"

start_platform --as EXPIRED --azure-resource "$RESOURCE" --azure-token-ttl-s 0
conf resource=$RESOURCE -- orders "http://127.0.0.1:$EXPIRED/azure/orders" 2 auth=azure >"$WORK/expired.conf"
AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:$EXPIRED once "$WORK/expired.conf"
check_eq "expired token: --once exits 2" 2 "$RC"
check "expired token: said so" grep -q "orders round 1: .*the token has expired already" "$WORK/err"
check_eq "expired token: no container reached" 0 "$(report "fn('/azure/orders')['requests']" "$EXPIRED")"

start_platform --as LARGE --azure-resource "$RESOURCE" --azure-answer-pad 70000
conf resource=$RESOURCE -- orders "http://127.0.0.1:$LARGE/azure/orders" 2 auth=azure >"$WORK/large.conf"
AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:$LARGE once "$WORK/large.conf"
check_eq "an answer over 64 KiB: --once exits 2" 2 "$RC"
check "an answer over 64 KiB: not used, and said so" grep -q "orders round 1: .*the answer is larger than 65535 bytes" \
	"$WORK/err"
check_eq "an answer over 64 KiB: no container reached" 0 "$(report "fn('/azure/orders')['requests']" "$LARGE")"

# ---------------------------------------------------------- refreshed before expiry, for each source
# Tokens live 6 s and are fetched again half-way through; rounds a second apart for 13 s or more
# cross two expiries.  The platform counts a fetch that comes after the previous token expired.
conf interval=1s resource=$RESOURCE -- orders /azure/orders 3 auth=azure >"$WORK/refresh.conf"
check_token_refresh IMDS azure 'r["azure"]["imds_fetches"]' /azure/orders
check_token_refresh "App Service" azure 'r["azure"]["app_service_fetches"]' /azure/orders \
	IDENTITY_ENDPOINT="http://127.0.0.1:$PORT/msi/token" IDENTITY_HEADER="$IDENTITY_SECRET"

# ---------------------------------------------------------- a refresh that fails: retried with backoff
# Tokens live 8 s; the refresh due half-way fails twice, retried 1 s then 2 s later, and the third
# try comes before the token expires: the token in hand carries every round meanwhile.
start_platform --as RETRY --azure-resource "$RESOURCE" --azure-token-ttl-s 8
conf interval=1s resource=$RESOURCE -- orders "http://127.0.0.1:$RETRY/azure/orders" 2 auth=azure >"$WORK/retry.conf"
check_token_retry "$RETRY" /azure/orders azure 'r["azure"]["imds_fetches"]' token_fail "no Azure access token" \
	AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:$RETRY"

# ---------------------------------------------------------- a reload: a token no endpoint needs any more is let go
start_platform --as RELOAD --azure-resource "$RESOURCE" --azure-token-ttl-s 2
conf interval=1s resource=$RESOURCE -- plain "http://127.0.0.1:$RELOAD/plain" 1 \
	-- func "http://127.0.0.1:$RELOAD/azure/orders" 1 auth=azure >"$WORK/reload.conf"
AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:$RELOAD "$WARMD" -c "$WORK/reload.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
wait_for 20 platform_true "r['azure']['imds_fetches'] >= 2" "$RELOAD" || true
conf interval=1s -- plain "http://127.0.0.1:$RELOAD/plain" 1 >"$WORK/reload.conf"
kill -HUP "$WPID"
wait_for 20 lines_at_least 1 "func: endpoint removed" "$WORK/err" || true
reset_platform "" "$RELOAD"
# Six rounds of plain take 5 s or more: a token of 2 s still refreshed would be fetched twice or more.
wait_for 30 platform_true "fn('/plain')['requests'] >= 6" "$RELOAD" || true
check_ge "reload: plain kept its rounds" 6 "$(report "fn('/plain')['requests']" "$RELOAD")"
check_eq "reload: the removed endpoint's token is no longer fetched" 0 "$(report 'r["azure"]["imds_fetches"]' "$RELOAD")"
conf interval=1s resource=$RESOURCE -- plain "http://127.0.0.1:$RELOAD/plain" 1 \
	-- func "http://127.0.0.1:$RELOAD/azure/orders" 1 auth=azure >"$WORK/reload.conf"
kill -HUP "$WPID"
wait_for 20 platform_true "fn('/azure/orders')['requests'] >= 1" "$RELOAD" || true
check_eq "reload: an endpoint added back gets a token and reaches the front" "1 1" \
	"$(report '"%d %d" % (min(r["azure"]["imds_fetches"], 1), min(r["azure"]["accepted"], 1))' "$RELOAD")"
stop_pid "$WPID"

finish
