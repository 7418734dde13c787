#!/bin/bash
# Drop-ins: FILE.d/*.conf after FILE, in the order of their names; a later
# [global] key overrides; an endpoint defined twice, an error in a drop-in,
# the limits of the set; a reload that adds, removes or breaks a drop-in, as
# the platform sees the rounds.  The JSON of -n and --once, read by python3's
# json module.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 50 --cold-ms 0
conf=$WORK/warmd.conf
dir=$conf.d
mkdir "$dir"

# json EXPRESSION FILE: evaluates EXPRESSION over j, the JSON document in FILE.
json() {
	"$PYTHON" -S -c 'import json, sys; j = json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2"
}

# ------------------------------------------------ order and override

conf interval=1m -- main /main 1 >"$conf"
conf interval=2m timeout=3s -- second /second 1 >"$dir/20-second.conf"
conf interval=3m -- first /first 1 >"$dir/10-first.conf"
conf -- ignored /ignored 1 >"$dir/.hidden.conf"
conf -- ignored2 /ignored 1 >"$dir/30-backup.conf~"
conf -- ignored3 /ignored 1 >"$dir/README"
conf -- ignored4 /ignored 1 >"$dir/40-old.conf.dpkg-old"
rc=0
"$WARMD" -n -c "$conf" >"$WORK/n.txt" 2>"$WORK/n.err" || rc=$?
check_eq "-n with drop-ins: exit 0" 0 "$rc"
check_eq "-n: the files in the order read, each with its endpoints" \
	"$conf|  [main] line 3|$dir/10-first.conf|  [first] line 3|$dir/20-second.conf|  [second] line 4" \
	"$(grep -v '^\[global\]\|^  [a-z_]* = \|^configuration OK' "$WORK/n.txt" | sed 's/:.*//' | paste -sd'|')"
check_eq "-n: each global not at its default, with the file that set it last" \
	"  interval = 2m ($dir/20-second.conf:2)|  timeout = 3s ($dir/20-second.conf:3)" \
	"$(grep '^  [a-z_]* = ' "$WORK/n.txt" | paste -sd'|')"
check_eq "-n: the last line" "configuration OK" "$(tail -n1 "$WORK/n.txt")"

"$WARMD" -n --json -c "$conf" >"$WORK/n.json"
check_eq "-n --json: the files" "['$conf', '$dir/10-first.conf', '$dir/20-second.conf']" "$(json 'j["files"]' "$WORK/n.json")"
check_eq "-n --json: each endpoint's file and line" \
	"[('main', '$conf', 3), ('first', '$dir/10-first.conf', 3), ('second', '$dir/20-second.conf', 4)]" \
	"$(json '[(e["name"], e["file"], e["line"]) for e in j["endpoints"]]' "$WORK/n.json")"
check_eq "-n --json: every endpoint inherits the last file's interval and timeout" "['2m', '2m', '2m'] ['3s', '3s', '3s']" \
	"$(json '[e["interval"] for e in j["endpoints"]], [e["timeout"] for e in j["endpoints"]]' "$WORK/n.json" | tr -d '()' | sed 's/], /] /')"
# Every key an endpoint can have is in its JSON (header as "headers", body as "body_bytes"): warmd.conf(5)'s key list.
missing=
for key in $(awk '/^\.It Cm [a-z_]+ Ta .*endpoint Ta/ { print $3 }' "$top_srcdir/man/warmd.conf.5"); do
	json "any(k in j['endpoints'][0] for k in ('$key', '${key}s', '${key}_bytes'))" "$WORK/n.json" | grep -q True ||
		missing="$missing $key"
done
check_eq "-n --json: every key an endpoint can have is in its JSON" "" "${missing# }"
check_ge "-n --json: the key list of warmd.conf(5) was read" 20 \
	"$(awk '/^\.It Cm [a-z_]+ Ta .*endpoint Ta/' "$top_srcdir/man/warmd.conf.5" | wc -l)"
check_eq "-n --json: the globals set, with file and line" "[('interval', '2m', '$dir/20-second.conf', 2), ('timeout', '3s', '$dir/20-second.conf', 3)]" \
	"$(json '[(g["key"], g["value"], g["file"], g["line"]) for g in j["globals"]]' "$WORK/n.json")"

# Byte order of the names, whatever the order of creation or the locale: digits, upper case, lower case.
mkdir "$WORK/order.conf.d"
: >"$WORK/order.conf"
for n in b a C 10 9; do
	printf '[global]\nuser_agent = %s\n' "$n" >"$WORK/order.conf.d/$n.conf"
done
LC_ALL=C.UTF-8 "$WARMD" -n --json -c "$WORK/order.conf" >"$WORK/order.json"
check_eq "drop-ins in byte order of their names" "10 9 C a b" \
	"$(json '" ".join(f.split("/")[-1][:-5] for f in j["files"][1:])' "$WORK/order.json")"
check_eq "the last file's [global] key wins" "b" "$(json 'j["globals"][0]["value"]' "$WORK/order.json")"

# The set, warmed once, as the platform counts it; hidden and other names were not read.
once "$conf" --json
check_eq "--once with drop-ins: exit 0" 0 "$RC"
check_eq "the platform saw a request for each file's endpoint, none for the ignored files" "1 1 1 0" \
	"$(report 'fn("/main")["requests"], fn("/first")["requests"], fn("/second")["requests"], fn("/ignored")["requests"]' | tr -d '(),')"

# ------------------------------------------------ --once --json against the platform's record

reset_platform '?kill=1'
rm "$dir"/*.conf
conf -- alpha /alpha 3 reuse_header=X-Container-Reused instance_header=X-Container-Id >"$conf"
conf -- beta '/beta?status=503' 2 >"$dir/50-beta.conf"
once "$conf" --json
check_eq "--once --json, an endpoint short of N: exit 2 as documented" 2 "$RC"
cp "$WORK/out" "$WORK/once.json"
check_eq "--once --json: the endpoints" "['alpha', 'beta']" "$(json '[e["name"] for e in j["endpoints"]]' "$WORK/once.json")"
check_eq "--once --json: alpha's sent is what the platform received" "$(report 'fn("/alpha")["requests"]')" \
	"$(json 'j["endpoints"][0]["sent"]' "$WORK/once.json")"
check_eq "--once --json: alpha's reached is the platform's distinct containers" "$(report 'fn("/alpha")["distinct_containers"]')" \
	"$(json 'j["endpoints"][0]["reached"]' "$WORK/once.json")"
check_eq "--once --json: alpha's cold is the platform's cold starts" "$(report 'fn("/alpha")["cold_starts"]')" \
	"$(json 'j["endpoints"][0]["cold"]' "$WORK/once.json")"
check_eq "--once --json: alpha not short, beta short, one endpoint short" "False True 1" \
	"$(json '" ".join(map(str, (j["endpoints"][0]["short"], j["endpoints"][1]["short"], j["endpoints_short"])))' "$WORK/once.json")"
check_eq "--once --json: beta's failures, grouped with a count, as many as the platform answered" \
	"[('HTTP 503 (expected 2xx)', $(report 'fn("/beta")["requests"]'))]" \
	"$(json '[(f["reason"], f["count"]) for f in j["endpoints"][1]["failures"]]' "$WORK/once.json")"
check_eq "--once --json: beta's failed count" 2 "$(json 'j["endpoints"][1]["failed"]' "$WORK/once.json")"
check_eq "--once --json: the keys of an endpoint" \
	"attempts cold containers failed failures finished max_ms name ok p50_ms reached sent short unknown url warm" \
	"$(json '" ".join(sorted(j["endpoints"][0]))' "$WORK/once.json")"
check "--once --json: nothing but the document on stdout" json 'True' "$WORK/once.json"
rm "$dir/50-beta.conf"

# ------------------------------------------------ secrets masked in -n --json

mkdir "$WORK/creds"
printf 'CREDSECRET' >"$WORK/creds/token"
cat >"$dir/60-secret.conf" <<CONF
[secret]
url = http://user:URLPASSWORD@127.0.0.1:$PORT/secret?key=QUERYSECRET
containers = 1
header = Authorization: Bearer \${credential:token}
header = X-Api-Key: LITERALSECRET
CONF
rc=0
CREDENTIALS_DIRECTORY=$WORK/creds "$WARMD" -n --json -c "$conf" >"$WORK/secret.json" 2>&1 || rc=$?
check_eq "-n --json with credentials: exit 0" 0 "$rc"
check "-n --json: no secret in the output" bash -c '! grep -E "CREDSECRET|URLPASSWORD|QUERYSECRET|LITERALSECRET" "$1"' _ "$WORK/secret.json"
check_eq "-n --json: header names, values hidden; the URL as the journal shows it" \
	"['Authorization: (hidden)', 'X-Api-Key: (hidden)'] http://***@127.0.0.1:$PORT/secret?key=*** True" \
	"$(json '" ".join(map(str, (j["endpoints"][1]["headers"], j["endpoints"][1]["url"], j["endpoints"][1]["headers_from_credentials"])))' "$WORK/secret.json")"
CREDENTIALS_DIRECTORY=$WORK/creds "$WARMD" -n -c "$conf" >"$WORK/secret.txt" 2>&1
check "-n: no secret in the text either" bash -c '! grep -E "CREDSECRET|URLPASSWORD|QUERYSECRET|LITERALSECRET" "$1"' _ "$WORK/secret.txt"
rm "$dir/60-secret.conf"

# ------------------------------------------------ errors: located in their file, duplicates across files

conf -- alpha /other 1 >"$dir/70-dup.conf"
printf '[ok]\nurl = http://127.0.0.1:%s/ok\ncontainers = 1\ncontaners = 2\n' "$PORT" >"$dir/80-typo.conf"
rc=0
"$WARMD" -n -c "$conf" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
check_eq "-n with a broken drop-in: exit 1, nothing on stdout" "1 " "$rc $(cat "$WORK/stdout")"
check_eq "-n: a duplicate across files names both FILE:LINE; an error in a drop-in is located there" \
	"$dir/70-dup.conf:1: duplicate section [alpha] (first defined at $conf:1)|$dir/80-typo.conf:4: unknown key 'contaners' in [ok]; did you mean 'containers'?" \
	"$(paste -sd'|' "$WORK/stderr")"
rm "$dir/70-dup.conf" "$dir/80-typo.conf"

# A discovery source in a drop-in: listed under its file, and in -n --json's sources.
mkdir "$WORK/src.conf.d"
conf -- static /static 1 >"$WORK/src.conf"
printf '[global]\nregion = eu-west-1\n[team]\nlambda_tag = warm\n' >"$WORK/src.conf.d/10-src.conf"
check_eq "-n: a source in a drop-in, under its file" \
	"$WORK/src.conf.d/10-src.conf|  [team] line 3: a source of the Lambda functions tagged warm" \
	"$("$WARMD" -n -c "$WORK/src.conf" | grep -A1 -x "$WORK/src.conf.d/10-src.conf" | paste -sd'|')"
"$WARMD" -n --json -c "$WORK/src.conf" >"$WORK/src.json"
check_eq "-n --json: the source with its file and line, the endpoint apart" "[('team', '$WORK/src.conf.d/10-src.conf', 3, 'warm')] ['static']" \
	"$(json '" ".join(map(str, ([(s["name"], s["file"], s["line"], s["lambda_tag"]) for s in j["sources"]], [e["name"] for e in j["endpoints"]])))' "$WORK/src.json")"

printf 'containers = 3\n' >>"$WORK/src.conf.d/10-src.conf"
rc=0
out=$("$WARMD" -n -c "$WORK/src.conf" 2>&1) || rc=$?
check_eq "a source's error, found once every file was read, is located in its drop-in" \
	"1 $WORK/src.conf.d/10-src.conf:5: [team]: 'containers' cannot be set in a source (a section with lambda_tag): each function's tag value says how many" \
	"$rc $out"

# Errors are listed file by file: one found after every file was read (a missing key in the main
# file) comes before those of the drop-ins.
printf '[nokey]\nurl = http://127.0.0.1:%s/x\n' "$PORT" >"$WORK/late.conf"
mkdir "$WORK/late.conf.d"
printf 'junk\n' >"$WORK/late.conf.d/a.conf"
rc=0
out=$("$WARMD" -n -c "$WORK/late.conf" 2>&1) || rc=$?
check_eq "errors in file order: the main file's (found last), then the drop-in's" \
	"1 $WORK/late.conf:1: [nokey]: missing required key 'containers'|$WORK/late.conf.d/a.conf:1: syntax error: expected '[section]' or 'key = value'" \
	"$rc $(paste -sd'|' <<<"$out")"

# The errors shown are counted over the set: 60 in the main file, 60 in a drop-in: the first 100, in
# file order, then how many more.
mkdir "$WORK/many.conf.d"
for i in $(seq 60); do echo junk; done >"$WORK/many.conf"
for i in $(seq 60); do echo junk; done >"$WORK/many.conf.d/a.conf"
rc=0
"$WARMD" -n -c "$WORK/many.conf" >/dev/null 2>"$WORK/many.err" || rc=$?
check_eq "120 errors in two files: exit 1, 100 shown (60 of the main file, then 40 of the drop-in), then the rest counted" \
	"1 101 60 40 $WORK/many.conf.d/a.conf:40: $WORK/many.conf: and 20 more errors" \
	"$rc $(wc -l <"$WORK/many.err") $(grep -c "^$WORK/many.conf:[0-9]" "$WORK/many.err") $(grep -c "^$WORK/many.conf.d/a.conf:" "$WORK/many.err") $(sed -n 100p "$WORK/many.err" | cut -d' ' -f1) $(tail -n1 "$WORK/many.err")"

# [global] once per file; twice in one file is still an error.
printf '[global]\ninterval = 1m\n[global]\ntimeout = 1s\n' >"$dir/90-twice.conf"
rc=0
out=$("$WARMD" -n -c "$conf" 2>&1) || rc=$?
check_eq "[global] twice in one drop-in" "1 $dir/90-twice.conf:3: duplicate section [global] (first defined at line 1)" "$rc $out"
rm "$dir/90-twice.conf"

# ------------------------------------------------ the limits of the set

for i in $(seq -w 1000); do : >"$dir/$i.conf"; done
rc=0
out=$("$WARMD" -n -c "$conf" 2>&1) || rc=$?
check_eq "1000 drop-ins: the limit, read" "0 configuration OK" "$rc ${out##*$'\n'}"
: >"$dir/1001.conf"
rc=0
out=$("$WARMD" -n -c "$conf" 2>&1) || rc=$?
check_eq "1001 drop-ins: one error for the directory" "1 $dir: more than 1000 files named *.conf: warmd reads at most 1000" "$rc $out"
rm -f "$dir"/*.conf
# 16 MiB in all, at the limit: the main file of 10 MiB (comments after its endpoint), a drop-in of 6 MiB.
comments() { head -c "$1" /dev/zero | tr '\0' '\n' | sed 's/^$/#/'; }
{ cat "$conf"; comments $((5 * 1024 * 1024)); } >"$WORK/big.conf"
truncate -s $((10 * 1024 * 1024)) "$WORK/big.conf"
mkdir "$WORK/big.conf.d"
comments $((3 * 1024 * 1024)) >"$WORK/big.conf.d/a.conf"
rc=0
out=$("$WARMD" -n -c "$WORK/big.conf" 2>&1) || rc=$?
check_eq "16 MiB in two files: read" "0 configuration OK" "$rc ${out##*$'\n'}"
echo >>"$WORK/big.conf.d/a.conf"
rc=0
out=$("$WARMD" -n -c "$WORK/big.conf" 2>&1) || rc=$?
check_eq "one byte more: too large, said of the drop-in" \
	"1 $WORK/big.conf.d/a.conf: too large: warmd reads at most 16777216 bytes (16 MiB) in all its files, credentials included" "$rc $out"

# ------------------------------------------------ reload: add, remove, break a drop-in

reset_platform '?kill=1'
conf interval=1s -- main /main 1 >"$conf"
"$WARMD" -c "$conf" >/dev/null 2>"$WORK/daemon.err" &
pid=$!
at_exit "stop_pid $pid"
check "the daemon warms the main file's endpoint" wait_for 10 platform_true 'fn("/main")["requests"] >= 1'

conf -- added /added 1 interval=1s >"$dir/10-added.conf"
kill -HUP "$pid"
check "reload: an added drop-in's endpoint is warmed" wait_for 10 platform_true 'fn("/added")["requests"] >= 2'

# A broken drop-in: the reload is rejected, and the running set goes on, the added endpoint included.
printf '[broken]\nurl = http://127.0.0.1:%s/broken\ncontainers = many\n' "$PORT" >"$dir/20-broken.conf"
kill -HUP "$pid"
check "reload with a broken drop-in: the error names the drop-in and its line" \
	wait_for 10 lines_at_least 1 "$dir/20-broken.conf:3: containers: invalid number 'many'" "$WORK/daemon.err"
check "reload with a broken drop-in: rejected" wait_for 10 lines_at_least 1 "rejected; still running the previous configuration" "$WORK/daemon.err"
reset_platform
check "after the rejected reload, both endpoints of the old set are still warmed" \
	wait_for 10 platform_true 'fn("/main")["requests"] >= 2 and fn("/added")["requests"] >= 2'
check_eq "the broken drop-in's endpoint was never warmed" 0 "$(report 'fn("/broken")["requests"]')"

# Removed: the endpoint stops.  Its requests are counted once main has had two more rounds after the reload.
rm "$dir/20-broken.conf" "$dir/10-added.conf"
loads=$(grep -c "Loaded $conf" "$WORK/daemon.err")
kill -HUP "$pid"
check "reload after removing the drop-ins: loaded" wait_for 10 lines_at_least $((loads + 1)) "Loaded $conf" "$WORK/daemon.err"
# A round begun after the reload: any request sent before it has arrived by then.
seen=$(report 'fn("/main")["requests"]')
wait_for 10 platform_true "fn('/main')['requests'] > $seen" || fail "no round of main after the reload"
reset_platform
check "the main file's endpoint goes on" wait_for 10 platform_true 'fn("/main")["requests"] >= 2'
check_eq "a removed drop-in's endpoint is no longer warmed" 0 "$(report 'fn("/added")["requests"]')"
terminate "$pid"
check_eq "the daemon exits 0" 0 "$RC"

# A FIFO among the drop-ins, with no writer: read as empty, never waited for (a reload would stall the loop).
mkdir "$WORK/fifo.conf.d"
printf '[e]\nurl = http://127.0.0.1:%s/e\ncontainers = 1\n' "$PORT" >"$WORK/fifo.conf"
mkfifo "$WORK/fifo.conf.d/10-fifo.conf"
rc=0
out=$(timeout 20 "$WARMD" -n -c "$WORK/fifo.conf" 2>&1) || rc=$?
check_eq "a FIFO drop-in without a writer: -n does not wait for it" "0 configuration OK" "$rc ${out##*$'\n'}"

finish
