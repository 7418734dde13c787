#!/bin/bash
# test-timeout: 240
# auth = google against the bundled platform's Google stand-ins, which check
# what Google checks: the assertion's RS256 signature against the
# service-account key's public half, its aud, iss and exp; and a Cloud
# Run-like front that takes only a valid ID token for its audience.  For the
# key and for the metadata server: a round reaches N, one token serves every
# endpoint of an audience, tokens are refreshed before they expire across
# runs longer than their lifetime with no refused request, and a wrong key,
# an expired token, a wrong audience or a missing source fail with the reason
# and no container reached.  No token or assertion reaches warmd's output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

"$PYTHON" -c 'import cryptography' 2>/dev/null || skip "needs python3-cryptography"
KEY_PEM=$top_srcdir/tests/data/google-test-key.pem
EMAIL=warmer@warm-test.iam.gserviceaccount.com

# sa_key PEM TOKEN_URI: a service-account key file, as the console downloads it.
sa_key() {
	"$PYTHON" - "$1" "$2" "$EMAIL" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "warm-test", "private_key_id": "0123abcd",
                  "private_key": open(sys.argv[1]).read(), "client_email": sys.argv[3], "client_id": "1",
                  "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": sys.argv[2]}))
PY
}

sa_key "$KEY_PEM" http://unused/ >"$WORK/platform-key.json"
start_platform --hold-ms 50 --cold-ms 100 --google-key "$WORK/platform-key.json" --google-metadata \
	--google-token-ttl-s 6
sa_key "$KEY_PEM" "http://127.0.0.1:$PORT/google/token" >"$WORK/sa.json"
unset GOOGLE_APPLICATION_CREDENTIALS CREDENTIALS_DIRECTORY GCE_METADATA_HOST

conf timeout=5s -- orders /run/orders 5 auth=google instance_header=X-Container-Id \
	-- billing /run/billing 3 auth=google instance_header=X-Container-Id >"$WORK/warmd.conf"
ORIGIN=http://127.0.0.1:$PORT

# ---------------------------------------------------------- configuration errors, with their lines
cat >"$WORK/broken.conf" <<'CONF'
[global]
auth = azure
resource = api://warm

[aud]
url = https://a.example/
containers = 1
audience = https://a.example

[noresource]
url = https://a.example/
containers = 1
auth = azure
resource =

[header]
url = https://a.example/
containers = 1
auth = google
header = Authorization: Bearer static

[lambda]
lambda = orders
region = eu-west-1
containers = 1
auth = google
[kind]
url = https://a.example/
containers = 1
auth = gcp
CONF
RC=0
"$WARMD" -n -c "$WORK/broken.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "-n: a broken auth configuration exits 1" 1 "$RC"
cat >"$WORK/broken.expected" <<EXPECTED
$WORK/broken.conf:8: [aud]: 'audience' needs auth = google
$WORK/broken.conf:13: [noresource]: auth = azure needs 'resource' (the application ID URI or client id of the app the token is for)
$WORK/broken.conf:14: resource: empty value
$WORK/broken.conf:20: [header]: 'header = Authorization: ...' cannot be set with auth = google: warmd sends the token in it
$WORK/broken.conf:26: [lambda]: auth = google cannot be used with 'lambda': an invoke is signed with AWS credentials
$WORK/broken.conf:30: auth: invalid value 'gcp' (use none, aws, google or azure)
EXPECTED
check "-n: every mistake with its file and line" diff -u "$WORK/broken.expected" "$WORK/err"

# ---------------------------------------------------------- a service-account key
GOOGLE_APPLICATION_CREDENTIALS=$WORK/sa.json once "$WORK/warmd.conf"
check_eq "key: --once exits 0" 0 "$RC"
check_eq "key: orders reached 5 containers behind the front" 5 "$(report "fn('/run/orders')['distinct_containers']")"
check_eq "key: billing reached 3" 3 "$(report "fn('/run/billing')['distinct_containers']")"
check_eq "key: the front refused nothing" "{}" "$(report 'r["google"]["refused"]')"
check_eq "key: the front took 8 ID tokens" 8 "$(report 'r["google"]["accepted"]')"
check_eq "key: one token for the audience both endpoints share" 1 "$(report 'r["google"]["token_exchanges"]')"
check_eq "key: the metadata server was not asked" 0 "$(report 'r["google"]["metadata_fetches"]')"

mkdir -p "$WORK/creds"
cp "$WORK/sa.json" "$WORK/creds/google-credentials"
reset_platform
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/warmd.conf"
check_eq "systemd credential google-credentials: --once exits 0" 0 "$RC"
check_eq "systemd credential: one token exchanged" 1 "$(report 'r["google"]["token_exchanges"]')"

# ---------------------------------------------------------- the metadata server
reset_platform
GCE_METADATA_HOST=127.0.0.1:$PORT once "$WORK/warmd.conf"
check_eq "metadata server: --once exits 0" 0 "$RC"
check_eq "metadata server: orders reached 5" 5 "$(report "fn('/run/orders')['distinct_containers']")"
check_eq "metadata server: one identity fetch for both endpoints" 1 "$(report 'r["google"]["metadata_fetches"]')"
check_eq "metadata server: the front refused nothing" "{}" "$(report 'r["google"]["refused"]')"

# ---------------------------------------------------------- failures, each with its reason, no container reached
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.pem" 2>/dev/null
sa_key "$WORK/other.pem" "$ORIGIN/google/token" >"$WORK/wrong.json"
reset_platform
GOOGLE_APPLICATION_CREDENTIALS=$WORK/wrong.json once "$WORK/warmd.conf"
check_eq "wrong key: --once exits 2" 2 "$RC"
check_eq "wrong key: the token endpoint refused the signature" 1 \
	"$(report 'r["google"]["refused"].get("assertion: bad signature", 0)')"
check_eq "wrong key: no container reached" 0 "$(report "fn('/run/orders')['requests'] + fn('/run/billing')['requests']")"
check "wrong key: each request says why and where" \
	grep -q "orders round 1: .*no Google ID token for $ORIGIN: the service-account key $WORK/wrong.json: HTTP 400 invalid_grant: assertion: bad signature" \
	"$WORK/err"

GOOGLE_APPLICATION_CREDENTIALS=$WORK/none.json once "$WORK/warmd.conf"
check_eq "missing key file: --once exits 2" 2 "$RC"
check "missing key file: said so" grep -q "orders round 1: .*cannot read the key file $WORK/none.json" "$WORK/err"

# The key file is read whole, in as many reads as it takes, up to 64 KiB.
pad_to() { # SIZE FILE: FILE with blanks after its JSON, SIZE bytes in all
	cat "$2"
	head -c $(($1 - $(stat -c %s "$2"))) /dev/zero | tr '\0' ' '
}
pad_to 65536 "$WORK/sa.json" >"$WORK/sa-64k.json"
reset_platform
GOOGLE_APPLICATION_CREDENTIALS=$WORK/sa-64k.json once "$WORK/warmd.conf"
check_eq "key file of 64 KiB, the limit: --once exits 0, one token exchanged" "0 1" \
	"$RC $(report 'r["google"]["token_exchanges"]')"
pad_to 65537 "$WORK/sa.json" >"$WORK/sa-big.json"
reset_platform
GOOGLE_APPLICATION_CREDENTIALS=$WORK/sa-big.json once "$WORK/warmd.conf"
check_eq "key file of 64 KiB and 1 byte: --once exits 2, nothing exchanged or reached" "2 0 0" \
	"$RC $(report "'%d %d' % (r['google']['token_exchanges'], fn('/run/orders')['requests'])")"
check "key file too large: said so, with the file" \
	grep -q "orders round 1: .*the key file $WORK/sa-big.json is larger than 65536 bytes" "$WORK/err"
: >"$WORK/empty.json"
GOOGLE_APPLICATION_CREDENTIALS=$WORK/empty.json once "$WORK/warmd.conf"
check "empty key file: said so, with the file" grep -q "orders round 1: .*the key file $WORK/empty.json is not JSON" "$WORK/err"
# Through a pipe that gives it in two parts: a single read() would see only the first.
reset_platform
GOOGLE_APPLICATION_CREDENTIALS=<(head -c 1000 "$WORK/sa.json"; sleep 0.5; tail -c +1001 "$WORK/sa.json") \
	once "$WORK/warmd.conf"
check_eq "key file that comes in parts: read whole, --once exits 0, one token exchanged" "0 1" \
	"$RC $(report 'r["google"]["token_exchanges"]')"

RC=0
GCE_METADATA_HOST=127.0.0.1:9 timeout 30 "$WARMD" --once -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || RC=$?
check_eq "metadata server unreachable: --once ends, short of N" 2 "$RC"
check "metadata server unreachable: the round says where warmd looked" \
	grep -q "orders round 1: .*no Google ID token for $ORIGIN: the metadata server at http://127.0.0.1:9" "$WORK/err"

conf -- orders /run/orders 2 auth=google audience=https://someone-else.a.run.app >"$WORK/aud.conf"
reset_platform
GCE_METADATA_HOST=127.0.0.1:$PORT once "$WORK/aud.conf"
check_eq "wrong audience: --once exits 2" 2 "$RC"
check_eq "wrong audience: the front refused both" 2 "$(report 'r["google"]["refused"].get("wrong audience", 0)')"
check_eq "wrong audience: no container reached" 0 "$(report "fn('/run/orders')['requests']")"
check "wrong audience: the 401 is reported" grep -q "orders round 1: .*401" "$WORK/err"

# A token that is expired when it arrives is not used.
start_platform --as EXPIRED --google-metadata --google-token-ttl-s 0
conf -- orders "http://127.0.0.1:$EXPIRED/run/orders" 2 auth=google >"$WORK/expired.conf"
GCE_METADATA_HOST=127.0.0.1:$EXPIRED once "$WORK/expired.conf"
check_eq "expired token: --once exits 2" 2 "$RC"
check "expired token: said so" grep -q "orders round 1: .*the token has expired already" "$WORK/err"
check_eq "expired token: no container reached" 0 "$(report "fn('/run/orders')['requests']" "$EXPIRED")"

# An answer of the token endpoint without an id_token (an access token instead) is no token.
reset_platform "?google_access_only=1"
GOOGLE_APPLICATION_CREDENTIALS=$WORK/sa.json once "$WORK/warmd.conf"
check_eq "answer without an id_token: --once exits 2, the endpoint answered once, no container reached" "2 1 0" \
	"$RC $(report "'%d %d' % (r['google']['token_exchanges'], fn('/run/orders')['requests'] + fn('/run/billing')['requests'])")"
check "answer without an id_token: said so, with where warmd looked" \
	grep -q "orders round 1: .*no Google ID token for $ORIGIN: the service-account key $WORK/sa.json: the token endpoint $ORIGIN/google/token answered without an id_token" \
	"$WORK/err"
report "'\\n'.join(r['google']['issued'])" | grep '^ya29\.' >"$WORK/access-tokens" || true
check "answer without an id_token: the platform issued an access token" test -s "$WORK/access-tokens"
check "answer without an id_token: the access token not in warmd's output" \
	bash -c '! grep -qF -f "$1" "$2" "$3"' - "$WORK/access-tokens" "$WORK/out" "$WORK/err"
reset_platform "?google_access_only=0"

# ---------------------------------------------------------- a refresh that fails: retried with backoff
# Tokens live 8 s; the refresh due half-way fails twice, retried 1 s then 2 s later, and the third
# try comes before the token expires: the token in hand carries every round meanwhile.
start_platform --as GRETRY --google-key "$WORK/platform-key.json" --google-token-ttl-s 8
sa_key "$KEY_PEM" "http://127.0.0.1:$GRETRY/google/token" >"$WORK/sa-retry.json"
conf interval=1s -- orders "http://127.0.0.1:$GRETRY/run/orders" 2 auth=google >"$WORK/retry.conf"
check_token_retry "$GRETRY" /run/orders google 'r["google"]["token_exchanges"]' google_fail "no Google ID token" \
	GOOGLE_APPLICATION_CREDENTIALS="$WORK/sa-retry.json"

# ---------------------------------------------------------- refreshed before expiry, for each source
# Tokens live 6 s and are fetched again half-way through; rounds a second apart for 13 s or more
# cross two expiries.  The platform counts a fetch that comes after the previous token expired.
conf interval=1s -- orders /run/orders 3 auth=google >"$WORK/refresh.conf"
check_token_refresh key google 'r["google"]["token_exchanges"]' /run/orders \
	GOOGLE_APPLICATION_CREDENTIALS="$WORK/sa.json"
check_token_refresh metadata google 'r["google"]["metadata_fetches"]' /run/orders \
	GCE_METADATA_HOST="127.0.0.1:$PORT"
sed -n '2,26p' "$KEY_PEM" >"$WORK/key-lines"
check "no line of the private key in warmd's output" bash -c '! grep -qF -f "$1" "$2" "$3"' - "$WORK/key-lines" \
	"$WORK/out" "$WORK/err"

finish
