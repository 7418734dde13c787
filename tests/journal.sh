#!/bin/bash
# SPDX-License-Identifier: MIT
#
# warmd's journal records, read back from a real (private) systemd-journald:
# per-request and per-round records with their WARMD_* fields and message
# ids, the warning for a round that fell short of N, priorities, and that a
# secret passed as a credential reaches the endpoint but never the journal.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_root
enter_mount_ns "$@"
journald_start
start_platform
port=$PORT
base="http://127.0.0.1:$port"

# -------------------------------------------------------- one good round

cfg="$WORK/good.conf"
cat >"$cfg" <<EOF
[global]
interval = 1h
timeout = 10s

[jt-alpha]
url = $base/jt-alpha
containers = 3
reuse_header = X-Container-Reused
instance_header = X-Container-Id
EOF
# jt-beta in a drop-in: the config-loaded record counts the files.
mkdir "$cfg.d"
cat >"$cfg.d/50-beta.conf" <<EOF
[jt-beta]
url = $base/jt-beta?from=warmd
containers = 3
reuse_json = reused
instance_json = container
EOF

once "$cfg"
check_eq "warmd --once, 2 endpoints x 3 containers: exit status" 0 "$RC"

req_fields=WARMD_ENDPOINT,WARMD_URL,WARMD_ROUND,WARMD_REUSED,WARMD_INSTANCE,WARMD_HTTP_STATUS,WARMD_DURATION_MS,PRIORITY
jfields "$req_fields" MESSAGE_ID=$WARMD_MESSAGE_REQUEST WARMD_ENDPOINT=jt-alpha WARMD_ENDPOINT=jt-beta \
	>"$WORK/req.tsv"
check_eq "journal: per-request records (MESSAGE_ID=$WARMD_MESSAGE_REQUEST)" 6 "$(wc -l <"$WORK/req.tsv")"
n=$(wc -l <"$WORK/req.tsv")
check_eq "journal: per-request records for jt-alpha" 3 "$(count_lines "$WORK/req.tsv" '$1 == "jt-alpha"')"
check_eq "journal: per-request records for jt-beta" 3 "$(count_lines "$WORK/req.tsv" '$1 == "jt-beta"')"
# Query values are never shown: they may be keys (warmd.conf(5), url).
check_eq "journal: WARMD_URL is the configured URL, query values hidden, in all $n request records" "$n" \
	"$(count_lines "$WORK/req.tsv" '($1 == "jt-alpha" && $2 == a) || ($1 == "jt-beta" && $2 == b)' \
		-v a="$base/jt-alpha" -v b="$base/jt-beta?from=***")"
check_eq "journal: WARMD_ROUND is a number in all $n request records" "$n" \
	"$(count_lines "$WORK/req.tsv" '$3 ~ /^[0-9]+$/')"
check_eq "journal: WARMD_REUSED is warm or cold in all $n request records" "$n" \
	"$(count_lines "$WORK/req.tsv" '$4 == "warm" || $4 == "cold"')"
check_eq "journal: WARMD_INSTANCE is set in all $n request records" "$n" \
	"$(count_lines "$WORK/req.tsv" '$5 != "" && $5 != "<none>"')"
check_eq "journal: WARMD_HTTP_STATUS=200 in all $n request records" "$n" \
	"$(count_lines "$WORK/req.tsv" '$6 == "200"')"
check_eq "journal: WARMD_DURATION_MS is numeric in all $n request records" "$n" \
	"$(count_lines "$WORK/req.tsv" '$7 ~ /^[0-9]+(\.[0-9]+)?$/')"
check_eq "journal: successful request records are info (PRIORITY=6)" "$n" \
	"$(count_lines "$WORK/req.tsv" '$8 == "6"')"

# What the platform saw: per function, each container id and whether it was
# a cold start.  The journal must name the same instances, warm/cold alike.
report "json.dumps(r)" >"$WORK/report1.json"
"$PYTHON" - "$WORK/report1.json" "$WORK/req.tsv" >"$WORK/match.out" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))["functions"]
bad = []
for name in ("jt-alpha", "jt-beta"):
    arr = rep.get("/" + name, {}).get("arrivals", [])
    plat = sorted((cid, "cold" if cold else "warm") for _t, cid, cold in arr)
    jour = sorted((f[4], f[3]) for f in (l.rstrip("\n").split("\t") for l in open(sys.argv[2]))
                  if f[0] == name)
    if plat != jour:
        bad.append("%s: platform %s, journal %s" % (name, plat, jour))
print("; ".join(bad) if bad else "same")
EOF
check_eq "journal: WARMD_INSTANCE/WARMD_REUSED match what the platform recorded" same \
	"$(cat "$WORK/match.out")"

jfields WARMD_ENDPOINT,WARMD_REACHED,WARMD_CONTAINERS,WARMD_SENT,PRIORITY \
	MESSAGE_ID=$WARMD_MESSAGE_ROUND WARMD_ENDPOINT=jt-alpha WARMD_ENDPOINT=jt-beta >"$WORK/round.tsv"
check_eq "journal: round summaries (MESSAGE_ID=$WARMD_MESSAGE_ROUND)" 2 "$(wc -l <"$WORK/round.tsv")"
check_eq "journal: one summary per endpoint" "jt-alpha jt-beta" \
	"$(cut -f1 "$WORK/round.tsv" | sort | xargs)"
check_eq "journal: both summaries have WARMD_REACHED=3 WARMD_CONTAINERS=3 WARMD_SENT=3 PRIORITY=6" 2 \
	"$(count_lines "$WORK/round.tsv" '$2 == "3" && $3 == "3" && $4 == "3" && $5 == "6"')"
check_eq "journal: no fell-short warning for a round that reached N" 0 \
	"$(jcount MESSAGE_ID=$WARMD_MESSAGE_SHORT WARMD_ENDPOINT=jt-alpha WARMD_ENDPOINT=jt-beta)"

jfields MESSAGE_ID,WARMD_CONFIG,WARMD_ENDPOINTS,WARMD_CONTAINERS,WARMD_CONFIG_FILES \
	MESSAGE_ID=$WARMD_MESSAGE_CONFIG_LOADED MESSAGE_ID=$WARMD_MESSAGE_START MESSAGE_ID=$WARMD_MESSAGE_STOP >"$WORK/life.tsv"
# --once stops by itself, not on a signal: a start record and a config-loaded record, no stop record.
check_eq "journal: one start record, one config-loaded record" "1 1" \
	"$(count_lines "$WORK/life.tsv" '$1 == m' -v m="$WARMD_MESSAGE_START") $(count_lines "$WORK/life.tsv" '$1 == m' -v m="$WARMD_MESSAGE_CONFIG_LOADED")"
check_eq "journal: config-loaded record names the file, 2 endpoints, 6 containers, 2 files read" \
	"$cfg 2 6 2" "$(awk -F'\t' -v m="$WARMD_MESSAGE_CONFIG_LOADED" '$1 == m { print $2, $3, $4, $5; exit }' "$WORK/life.tsv")"
check_eq "journal: its message counts the drop-in" "Loaded $cfg and 1 drop-in: 2 endpoints, 6 containers" \
	"$(jfields MESSAGE MESSAGE_ID=$WARMD_MESSAGE_CONFIG_LOADED | head -n1)"

# -------------------------------------------------------- an endpoint that falls short

# A port nobody listens on: bind one, note it, close it.
dead_port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cfg2="$WORK/short.conf"
cat >"$cfg2" <<EOF
[global]
timeout = 5s
connect_timeout = 2s

[jt-short]
url = $base/jt-short?status=500
containers = 3
instance_header = X-Container-Id

[jt-dead]
url = http://127.0.0.1:$dead_port/jt-dead
containers = 3
EOF
once "$cfg2"
check_eq "warmd --once with endpoints that fall short: exit status" 2 "$RC"

jfields WARMD_ENDPOINT,PRIORITY,WARMD_REACHED,WARMD_CONTAINERS \
	MESSAGE_ID=$WARMD_MESSAGE_SHORT WARMD_ENDPOINT=jt-short WARMD_ENDPOINT=jt-dead >"$WORK/short.tsv"
check_eq "journal: fell-short records (MESSAGE_ID=$WARMD_MESSAGE_SHORT) for the HTTP 500 endpoint" 1 \
	"$(count_lines "$WORK/short.tsv" '$1 == "jt-short"')"
check_eq "journal: fell-short records for the dead port" 1 \
	"$(count_lines "$WORK/short.tsv" '$1 == "jt-dead"')"
check_eq "journal: both are warnings (PRIORITY=4) with WARMD_REACHED < WARMD_CONTAINERS=3" 2 \
	"$(count_lines "$WORK/short.tsv" '$2 == "4" && $4 == "3" && $3 ~ /^[0-9]+$/ && $3 < 3')"
jfields WARMD_ENDPOINT,PRIORITY,WARMD_HTTP_STATUS \
	MESSAGE_ID=$WARMD_MESSAGE_REQUEST WARMD_ENDPOINT=jt-short >"$WORK/short-req.tsv"
check_eq "journal: 3 failed request records for the HTTP 500 endpoint" 3 "$(wc -l <"$WORK/short-req.tsv")"
check_eq "journal: failed requests are notice (PRIORITY=5) with WARMD_HTTP_STATUS=500" 3 \
	"$(count_lines "$WORK/short-req.tsv" '$2 == "5" && $3 == "500"')"
check_eq "journal: requests to the dead port carry WARMD_ERROR" 3 \
	"$(jfields WARMD_ERROR MESSAGE_ID=$WARMD_MESSAGE_REQUEST WARMD_ENDPOINT=jt-dead | grep -vc '^<none>$' || true)"

check_ge "journalctl -p warning shows the fell-short records" 2 \
	"$(jcount -p warning MESSAGE_ID=$WARMD_MESSAGE_SHORT)"
check_eq "journalctl -p warning shows no per-request records of successful requests" 0 \
	"$(jcount -p warning MESSAGE_ID=$WARMD_MESSAGE_REQUEST WARMD_ENDPOINT=jt-alpha WARMD_ENDPOINT=jt-beta)"
check_eq "journalctl -p warning shows nothing from warmd but the fell-short records" 0 \
	"$(jfields MESSAGE_ID -p warning _COMM=warmd | grep -vc "^$WARMD_MESSAGE_SHORT\$" || true)"

# -------------------------------------------------------- a secret from a credential

secret="s3cr3t-$RANDOM$RANDOM-token"
mkdir -p "$WORK/creds"
printf '%s\n' "$secret" >"$WORK/creds/tok"
chmod 0400 "$WORK/creds/tok"

# A loopback server that records the Authorization header it receives.
cat >"$WORK/recorder.py" <<'EOF'
import http.server, os, sys, threading
out, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(out, "a") as f:
            f.write("%s\n" % self.headers.get("Authorization", "<none>"))
        body = b'{"container": "rec-1", "reused": false}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Container-Id", "rec-1")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
threading.Timer(120, s.shutdown).start()
s.serve_forever()
EOF
"$PYTHON" "$WORK/recorder.py" "$WORK/auth.log" "$WORK/recorder.port" 2>"$WORK/recorder.err" &
rec_pid=$!
at_exit "stop_pid $rec_pid"
wait_for 10 test -s "$WORK/recorder.port" || { fail "header recorder did not start"; exit 1; }

cfg3="$WORK/cred.conf"
cat >"$cfg3" <<EOF
[jt-cred]
url = http://127.0.0.1:$(cat "$WORK/recorder.port")/jt-cred
containers = 1
header = Authorization: Bearer \${credential:tok}
header = X-Warmup: 1
instance_header = X-Container-Id
EOF
CREDENTIALS_DIRECTORY="$WORK/creds" once "$cfg3"
check_eq "warmd --once with a credential in a header: exit status" 0 "$RC"
check_eq "the endpoint received the credential (one trailing newline stripped)" \
	"Bearer $secret" "$(head -n1 "$WORK/auth.log" 2>/dev/null || true)"
check_ge "journal: the credential endpoint was logged" 1 \
	"$(jcount MESSAGE_ID=$WARMD_MESSAGE_REQUEST WARMD_ENDPOINT=jt-cred)"
check_eq "journal: the secret appears nowhere in the journal (journalctl -o export)" 0 \
	"$(jctl -o export | grep -ac -- "$secret" || true)"
check_eq "the secret appears nowhere on warmd's stdout/stderr" 0 \
	"$(cat "$WORK/out" "$WORK/err" | grep -ac -- "$secret" || true)"

# -------------------------------------------------------- the budget for request records

# 1,000 endpoints that answer and 50 that fail, 10 containers each, one
# round: 10,500 request records would be more than journald's default
# limit leaves next to 1,050 round summaries.  The budget (warmd(8),
# "Journal volume") is 10,000 - 100 - 1,050 = 8,850 in 30 s, successes
# only while fewer than half of it are used: every failure has its record,
# successes at most 4,425, and the rest is counted in WARMD_UNLOGGED.  This
# journald has no rate limit, so what is missing was held back by warmd.
cfg4="$WORK/budget.conf"
{
	conf interval=1h timeout=10s
	for ((i = 1; i <= 1050; i++)); do
		status=""
		[ "$i" -gt 1000 ] && status="?status=500"
		conf -- "jb-$i" "/jb-$i$status" 10
	done
} >"$cfg4"
once "$cfg4"
check_eq "warmd --once, 1,050 endpoints x 10, 50 of them failing: exit status" 2 "$RC"
sent_ok=$(report 'sum(f["requests"] for p, f in r["functions"].items() if p.startswith("/jb-") and int(p[4:]) <= 1000)')
sent_failed=$(report 'sum(f["requests"] for p, f in r["functions"].items() if p.startswith("/jb-") and int(p[4:]) > 1000)')
check_eq "budget: the platform saw 10,000 requests to the endpoints that answer" 10000 "$sent_ok"
check_eq "budget: the platform saw 500 requests to the endpoints that fail" 500 "$sent_failed"
jfields WARMD_ENDPOINT,PRIORITY MESSAGE_ID=$WARMD_MESSAGE_REQUEST >"$WORK/budget-req.tsv"
jfields WARMD_ENDPOINT,WARMD_UNLOGGED MESSAGE_ID=$WARMD_MESSAGE_ROUND MESSAGE_ID=$WARMD_MESSAGE_SHORT \
	>"$WORK/budget-round.tsv"
logged_ok=$(count_lines "$WORK/budget-req.tsv" '$1 ~ /^jb-/ && $2 == "6"')
logged_failed=$(count_lines "$WORK/budget-req.tsv" '$1 ~ /^jb-/ && $2 == "5"')
held_ok=$(awk -F'\t' '$1 ~ /^jb-/ && substr($1, 4) + 0 <= 1000 { n += $2 } END { print n + 0 }' "$WORK/budget-round.tsv")
held_failed=$(awk -F'\t' '$1 ~ /^jb-/ && substr($1, 4) + 0 > 1000 { n += $2 } END { print n + 0 }' "$WORK/budget-round.tsv")
say "budget: $logged_ok successful and $logged_failed failed request records, $held_ok held back"
check_eq "budget: every round summary is in the journal" 1050 "$(count_lines "$WORK/budget-round.tsv" '$1 ~ /^jb-/')"
check_eq "budget: every failed request has its record" 500 "$logged_failed"
check_eq "budget: no failed request was held back" 0 "$held_failed"
check_le "budget: at most half the budget (4,425) went to successful requests" 4425 "$logged_ok"
check_ge "budget: ... and it was used" 3925 "$logged_ok"
check_eq "budget: successful request records + WARMD_UNLOGGED = the requests the platform saw" \
	"$sent_ok" $((logged_ok + held_ok))

finish
