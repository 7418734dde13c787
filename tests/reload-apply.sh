#!/bin/bash
# What a reload changes, as the platform sees it.  An unchanged endpoint
# keeps its round in flight and its grid; an endpoint whose header, method or
# body changed gets a round at once with the new value; a changed user_agent
# and max_parallel apply to the requests started after the reload.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 100 --cold-ms 0
conf="$WORK/warmd.conf"

# write_conf EDIT-LINES...: [keep] and [edit]; the lines go into [edit].
write_conf() {
	{
		cat <<CONF
[keep]
url = http://127.0.0.1:$PORT/keep?hold_ms=1500
containers = 2
interval = 2s
timeout = 10s

[edit]
url = http://127.0.0.1:$PORT/edit
containers = 1
interval = 1h
CONF
		printf '%s\n' "$@"
	} >"$conf.tmp"
	mv "$conf.tmp" "$conf"
}

write_conf "header = X-Version: 1"
"$WARMD" -c "$conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"

wait_for 10 platform_true 'fn("/keep")["requests"] >= 2 and fn("/edit")["requests"] >= 1' ||
	fail "the first rounds did not arrive"

# ------------------------------------------------ unchanged: round in flight and grid kept

# Half a second into keep's first round (it holds its containers 1.5 s), edit changes.
sleep 0.5
write_conf "header = X-Version: 2"
kill -HUP "$WARMD_PID"
check "changed header: a round at once" wait_for 3 platform_true 'fn("/edit")["requests"] >= 2'
check_eq "changed header: the new round sent the new value" 2 \
	"$(report 'fn("/edit")["requests_seen"][-1]["headers"].get("x-version")')"

wait_for 10 platform_true 'fn("/keep")["requests"] >= 6' || fail "keep: rounds 2 and 3 did not arrive"
check_eq "unchanged endpoint: its round in flight at the reload was answered, not aborted" "False False" \
	"$(report '" ".join(str(s["aborted"]) for s in fn("/keep")["requests_seen"][:2])')"
# Round k of keep is due 2k s after its first; a restarted schedule would put a round at the reload
# (0.5 s) or shift the grid by 0.5 s.
offsets=$(grid_offsets /keep 2 2 3)
say "keep: rounds 0-2, late from their grid points (ms): $offsets"
check "unchanged endpoint: rounds still at 0, 2 and 4 s on its grid (within 250 ms)" in_range "$offsets" 0 250

# ------------------------------------------------ changed method, changed body

# changed_round N WHAT LINES...: reload with edit's new LINES; edit must get its round N at once.
changed_round() {
	local n=$1 what=$2
	shift 2
	write_conf "$@"
	kill -HUP "$WARMD_PID"
	check "$what: a round at once" wait_for 3 platform_true "fn('/edit')['requests'] >= $n"
}
changed_round 3 "changed method (GET to POST)" "header = X-Version: 2" "method = POST"
check_eq "changed method: the new round used it" POST "$(report 'fn("/edit")["requests_seen"][-1]["method"]')"
changed_round 4 "changed body (none to 'one')" "header = X-Version: 2" "method = POST" "body = one"
changed_round 5 "changed body ('one' to 'two')" "header = X-Version: 2" "method = POST" "body = two"
check_eq "changed body: the new round sent it" "POST two" \
	"$(report 'fn("/edit")["requests_seen"][-1]["method"] + " " + fn("/edit")["requests_seen"][-1]["body"]')"
# The same file again: nothing changed, nothing sent.
kill -HUP "$WARMD_PID"
sleep 1
check_eq "an unchanged file: no new round" 5 "$(report 'fn("/edit")["requests"]')"
stop_pid "$WARMD_PID"

# ------------------------------------------------ user_agent and max_parallel

reset_platform "?kill=1"
write_global() {
	cat >"$conf.tmp" <<CONF
[global]
max_parallel = $1
user_agent = $2

[wide]
url = http://127.0.0.1:$PORT/wide?hold_ms=300
containers = 4
interval = 1s
CONF
	mv "$conf.tmp" "$conf"
}
write_global 2 ua-one
"$WARMD" -c "$conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"
wait_for 5 platform_true 'fn("/wide")["requests"] >= 4' || fail "wide: no first round"
check_eq "max_parallel = 2: at most 2 in flight" 2 "$(report 'fn("/wide")["max_in_flight"]')"
check_eq "user_agent = ua-one: sent" ua-one "$(report '"|".join(sorted({s["headers"].get("user-agent") for s in fn("/wide")["requests_seen"]}))')"

# after_reload MAX UA: reload with them, let requests of the old settings finish, then watch two rounds.
after_reload() {
	write_global "$1" "$2"
	kill -HUP "$WARMD_PID"
	sleep 1.2
	reset_platform
	wait_for 5 platform_true 'fn("/wide")["requests"] >= 8' || fail "wide: no 2 rounds after the reload"
}
after_reload 8 ua-two
check_eq "max_parallel 2 -> 8 by reload: all 4 in flight together" 4 "$(report 'fn("/wide")["max_in_flight"]')"
check_eq "user_agent ua-one -> ua-two by reload: every later request sends ua-two" ua-two \
	"$(report '"|".join(sorted({s["headers"].get("user-agent") for s in fn("/wide")["requests_seen"]}))')"
after_reload 2 ua-two
check_eq "max_parallel 8 -> 2 by reload: at most 2 in flight" 2 "$(report 'fn("/wide")["max_in_flight"]')"
finish
