#!/bin/bash
# A reload that fails after the file was read and the sources were made
# ready (the scheduler cannot take the new set: tests/apply-fault-preload.c
# makes it run out of memory) leaves everything as it was, judged by the
# bundled platform's record: the running source goes on reading its own tag
# and following it, the functions of the rejected file's source and its new
# static endpoint are never invoked, and a later reload of the same file
# applies it whole.
# test-timeout: 180
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

cc=${CC:-cc}
command -v "$cc" >/dev/null || skip "no C compiler ($cc) to build the preload library"
"$cc" -shared -fPIC -o "$WORK/fault.so" "$top_srcdir/tests/apply-fault-preload.c" -ldl 2>"$WORK/cc.log" ||
	{ cat "$WORK/cc.log"; skip "cannot build tests/apply-fault-preload.c"; }

AKID=AKIDWARMDRELOAD
SECRET=warmd-reload-secret-0123456789
start_platform --hold-ms 50 --cold-ms 50 --aws-region eu-west-1 \
	--lambda-functions '{"a": {}, "b": {}, "c": {}, "extra": {}}' --aws-key "$AKID:$SECRET"
discover_env "$AKID" "$SECRET"

A=lambda:123456789012:a:\$LATEST
B=lambda:123456789012:b:\$LATEST
C=lambda:123456789012:c:\$LATEST
EXTRA=lambda:123456789012:extra:\$LATEST
# a is tagged for the running file's source (warmd), c for the rejected file's (warmd2).
tags '{"tags": {"a": {"warmd": "1"}, "c": {"warmd2": "1"}}}'

write_conf() {
	cat >"$WORK/warmd.conf.tmp" <<CONF
[global]
region = eu-west-1
interval = 1s

[fleet]
lambda_tag = $1
refresh = 10s
CONF
	[ -z "${2:-}" ] || printf '\n[extra]\nlambda = extra\ncontainers = 1\n' >>"$WORK/warmd.conf.tmp"
	mv "$WORK/warmd.conf.tmp" "$WORK/warmd.conf"
}

# last_tag: the tag key of the last GetResources the platform answered.
last_tag() {
	report 'r["tagging"]["last_body"]["TagFilters"][0]["Key"]'
}

write_conf warmd
APPLY_FAULT_FILE=$WORK/fault LD_PRELOAD=$WORK/fault.so "$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WPID=$!
at_exit "stop_pid $WPID"
check "a warmed from the first refresh" wait_for 30 platform_true "fn('$A')['requests'] >= 2"

# ---------------------------------------------------------- a reload that fails at the scheduler's apply
# The new file reads another tag and adds a static endpoint, whose round timer cannot be made.
write_conf warmd2 extra
touch "$WORK/fault"
kill -HUP "$WPID"
check "the reload is rejected" wait_for 30 lines_at_least 1 "Reload of $WORK/warmd.conf rejected" "$WORK/err"
rm -f "$WORK/fault"
check "the cause is said: the apply failed" grep -q "Failed to apply $WORK/warmd.conf" "$WORK/err"

# b is tagged for the running source now: only a source still reading warmd, and applying what it reads, finds it.
REQUESTS=$(report 'r["tagging"]["requests"]')
tags '{"tags": {"b": {"warmd": "1"}}}'
# A refresh is due within refresh = 10s of the last one.
if wait_for 20 platform_true "r['tagging']['requests'] > $REQUESTS"; then
	pass "the running source goes on refreshing after the failed reload"
else
	fail "the running source goes on refreshing after the failed reload"
	bail
fi
check_eq "and reads its own tag, not the rejected file's" warmd "$(last_tag)"
check "b, tagged since, is found and warmed by the running source" wait_for 20 platform_true "fn('$B')['requests'] >= 1"
A_NOW=$(report "fn('$A')['requests']")
check "a goes on being warmed" wait_for 20 platform_true "fn('$A')['requests'] >= $A_NOW + 2"
check_eq "nothing of the rejected file invoked: c (its source's) and extra (its static endpoint)" "0 0" \
	"$(report "'%d %d' % (fn('$C')['requests'], fn('$EXTRA')['requests'])")"

# ---------------------------------------------------------- the same file again, with memory: applied whole
kill -HUP "$WPID"
check "the reload applies the new file: c and extra warmed" \
	wait_for 30 platform_true "fn('$C')['requests'] >= 1 and fn('$EXTRA')['requests'] >= 1"
check_eq "the source reads the new tag" warmd2 "$(last_tag)"
A_NOW=$(report "fn('$A')['requests']")
B_NOW=$(report "fn('$B')['requests']")
C_NOW=$(report "fn('$C')['requests']")
wait_for 20 platform_true "fn('$C')['requests'] >= $C_NOW + 3" || true
check_eq "a and b, the old tag's, invoked no more (at most a round in flight)" "ok" \
	"$(report "'ok' if fn('$A')['requests'] <= $A_NOW + 1 and fn('$B')['requests'] <= $B_NOW + 1 else 'wrong'")"
check_eq "one reload rejected in all" 1 "$(grep -c "Reload of $WORK/warmd.conf rejected" "$WORK/err")"
stop_pid "$WPID"

printf '%s\n' "$SECRET" >"$WORK/secrets"
check "no secret in the output" eval '! grep -qF -f "$WORK/secrets" "$WORK/out" "$WORK/err"'

finish
