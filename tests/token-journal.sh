#!/bin/bash
# test-timeout: 180
# No Google ID token, service-account assertion or key, Azure access token
# or identity header reaches the journal: rounds with auth = google (a
# service-account key, the metadata server) and auth = azure (IMDS, App
# Service), tokens refreshed across their expiry, and a refused token, all
# logged to a private journald, whose whole store is then searched for every
# secret the platform issued or saw; so are the status lines warmd sent, its
# metrics file and its -n output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

"$PYTHON" -c 'import cryptography' 2>/dev/null || skip "needs python3-cryptography"
enter_mount_ns "$@"
journald_start
notify_start

KEY_PEM=$top_srcdir/tests/data/google-test-key.pem
RESOURCE=api://warm-journal
IDENTITY_SECRET=journal-identity-secret-0123456789
sa_key() {
	"$PYTHON" - "$KEY_PEM" "$1" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "private_key_id": "0123abcd", "private_key": open(sys.argv[1]).read(),
                  "client_email": "warmer@warm-test.iam.gserviceaccount.com", "token_uri": sys.argv[2]}))
PY
}
sa_key http://unused/ >"$WORK/platform-key.json"
start_platform --hold-ms 20 --cold-ms 20 --google-key "$WORK/platform-key.json" --google-metadata \
	--google-token-ttl-s 4 --azure-resource "$RESOURCE" --azure-identity-header "$IDENTITY_SECRET" \
	--azure-token-ttl-s 4
sa_key "http://127.0.0.1:$PORT/google/token" >"$WORK/sa.json"
export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:$PORT
unset GOOGLE_APPLICATION_CREDENTIALS CREDENTIALS_DIRECTORY GCE_METADATA_HOST IDENTITY_ENDPOINT IDENTITY_HEADER

conf interval=1s metrics_file="$WORK/warmd.prom" -- run /run/orders 2 auth=google -- func /azure/orders 2 auth=azure resource=$RESOURCE \
	-- elsewhere /azure/billing 1 auth=azure resource=api://not-this-one >"$WORK/warmd.conf"

run() {
	"$WARMD" -v -c "$WORK/warmd.conf" >/dev/null 2>"$WORK/$1.err" &
	WPID=$!
	at_exit "stop_pid $WPID"
	wait_for 30 platform_true "$2 >= 3" || true
	stop_pid "$WPID"
	check_ge "$1: three tokens fetched, across expiries" 3 "$(report "$2")"
}
GOOGLE_APPLICATION_CREDENTIALS=$WORK/sa.json run key 'r["google"]["token_exchanges"]'
GCE_METADATA_HOST=127.0.0.1:$PORT IDENTITY_ENDPOINT=http://127.0.0.1:$PORT/msi/token IDENTITY_HEADER=$IDENTITY_SECRET \
	run metadata 'min(r["google"]["metadata_fetches"], r["azure"]["app_service_fetches"])'
check_ge "IMDS: tokens fetched" 3 "$(report 'r["azure"]["imds_fetches"] + r["azure"]["app_service_fetches"]')"

check_ge "journal: the requests were logged" 6 "$(jcount MESSAGE_ID="$WARMD_MESSAGE_REQUEST" WARMD_ENDPOINT=run)"
check_ge "journal: the refused token was logged" 1 \
	"$(jcount MESSAGE_ID="$WARMD_MESSAGE_REQUEST" WARMD_ENDPOINT=elsewhere WARMD_HTTP_STATUS=401)"
{
	printf '%s\n' "$IDENTITY_SECRET"
	sed -n '2,26p' "$KEY_PEM"
	report '"\n".join(r["google"]["issued"] + r["azure"]["issued"])'
} >"$WORK/secrets"
check_ge "the platform issued tokens and saw assertions" 12 "$(wc -l <"$WORK/secrets")"
jctl -o export >"$WORK/journal.export"
check_ge "the journal holds the records (not empty)" 1000 "$(wc -c <"$WORK/journal.export")"
check_eq "no token, assertion, key or identity header anywhere in the journal (journalctl -o export)" 0 \
	"$(grep -acF -f "$WORK/secrets" "$WORK/journal.export" || true)"
check_eq "nor on warmd's stderr" 0 "$(cat "$WORK"/*.err | grep -acF -f "$WORK/secrets" || true)"
check_ge "warmd sent status lines" 3 "$(grep -c STATUS= "$NOTIFY_LOG")"
check_eq "nor in the status lines" 0 "$(grep -acF -f "$WORK/secrets" "$NOTIFY_LOG" || true)"
check "the metrics file was written" grep -q 'endpoint="run"' "$WORK/warmd.prom"
check_eq "nor in the metrics file" 0 "$(grep -acF -f "$WORK/secrets" "$WORK/warmd.prom" || true)"
GOOGLE_APPLICATION_CREDENTIALS=$WORK/sa.json "$WARMD" -n -c "$WORK/warmd.conf" >"$WORK/n.out" 2>&1
check "-n: configuration OK" grep -q "configuration OK" "$WORK/n.out"
check_eq "nor in -n output" 0 "$(grep -acF -f "$WORK/secrets" "$WORK/n.out" || true)"

finish
