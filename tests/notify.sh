#!/bin/bash
# SPDX-License-Identifier: MIT
#
# warmd's sd_notify protocol, as a service manager's notify socket receives
# it (tests/notify-recv.py): READY=1, STATUS=, watchdog keep-alives,
# RELOADING=1/MONOTONIC_USEC= on SIGHUP, a rejected reload that keeps the
# old configuration running, a reload that adds an endpoint, and STOPPING=1
# with a prompt exit on SIGTERM while a slow request is in flight.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform
port=$PORT
base="http://127.0.0.1:$port"
notify_start

cfg="$WORK/warmd.conf"
# write_cfg [EXTRA...]: the two base endpoints plus extra lines.
write_cfg() {
	{
		cat <<EOF
[global]
interval = 1s
timeout = 5s

[nt-a]
url = $base/nt-a
containers = 2
reuse_header = X-Container-Reused
instance_header = X-Container-Id

[nt-b]
url = $base/nt-b
containers = 2
reuse_json = reused
instance_json = container
EOF
		printf '%s\n' "$@"
	} >"$cfg.tmp"
	mv "$cfg.tmp" "$cfg"
}
write_cfg

WATCHDOG_USEC=1000000 sh -c 'WATCHDOG_PID=$$ exec "$0" -c "$1"' "$WARMD" "$cfg" \
	>"$WORK/warmd.out" 2>"$WORK/warmd.err" &
wpid=$!
at_exit "stop_pid $wpid"
say "warmd running as pid $wpid"

# ------------------------------------------------------------ READY, STATUS

line=$(notify_wait 5 '^READY=1$' || true)
check "READY=1 received" test -n "$line"
check_eq "READY=1 sent by warmd's own pid" "$wpid" "$(cut -f3 <<<"$line")"

line=$(notify_wait 5 '^STATUS=.*reached' || true)
check "STATUS= with \"reached\" after a round" test -n "$line"
say "status: $(cut -f4 <<<"$line")"

# ------------------------------------------------------------ SIGHUP

seq0=$(notify_seq)
kill -HUP "$wpid"
rl=$(notify_wait 3 '^RELOADING=1$' "$seq0" || true)
check "SIGHUP: RELOADING=1" test -n "$rl"
rl_seq=$(cut -f1 <<<"$rl")
mono=$(awk -F'\t' -v s="${rl_seq:-0}" '$1 == s && $4 ~ /^MONOTONIC_USEC=/ { sub(/^MONOTONIC_USEC=/, "", $4); print $4 }' "$NOTIFY_LOG")
check "SIGHUP: MONOTONIC_USEC= in the same message as RELOADING=1" \
	test -n "$mono"
now_mono=$("$PYTHON" -S -c 'import time; print(int(time.monotonic() * 1e6))')
check "SIGHUP: MONOTONIC_USEC is CLOCK_MONOTONIC (within 10 s of now)" \
	test "${mono:-0}" -gt $((now_mono - 10000000)) -a "${mono:-0}" -le "$now_mono"
check "SIGHUP: READY=1 after RELOADING=1" notify_wait 3 '^READY=1$' "${rl_seq:-999999}"

# ------------------------------------------------------------ a rejected reload

write_cfg "bogus_key_for_test = 1"
seq1=$(notify_seq)
kill -HUP "$wpid"
st=$(notify_wait 3 '^STATUS=.*reload failed' "$seq1" || true)
check "broken config: STATUS says the reload failed" test -n "$st"
say "status: $(cut -f4 <<<"$st")"
check "broken config: STATUS says the previous configuration keeps running" \
	grep -q 'previous configuration' <<<"$st"
check "broken config: READY=1 after RELOADING=1 all the same" \
	notify_wait 3 '^READY=1$' "$(notify_find '^RELOADING=1$' "$seq1" | cut -f1 || echo 999999)"
check "broken config: warmd still runs" kill -0 "$wpid"

a0=$(report 'fn("/nt-a")["requests"]')
b0=$(report 'fn("/nt-b")["requests"]')
wait_for 5 platform_true "fn('/nt-a')['requests'] >= $a0 + 2 and fn('/nt-b')['requests'] >= $b0 + 2" || true
a1=$(report 'fn("/nt-a")["requests"]')
b1=$(report 'fn("/nt-b")["requests"]')
check "broken config: the platform keeps receiving requests for nt-a ($a0 -> $a1)" \
	test "$a1" -ge $((a0 + 2))
check "broken config: the platform keeps receiving requests for nt-b ($b0 -> $b1)" \
	test "$b1" -ge $((b0 + 2))

# ------------------------------------------------------------ a reload that adds an endpoint

write_cfg "" "[nt-c]" "url = $base/nt-c" "containers = 2"
kill -HUP "$wpid"
check "reload adding an endpoint: the platform sees /nt-c within 3 s" \
	wait_for 3 platform_true 'fn("/nt-c")["requests"] >= 1'

# ------------------------------------------------------------ SIGTERM with a slow request in flight

write_cfg "" "[nt-slow]" "url = $base/nt-slow?hold_ms=30000" "containers = 2" "timeout = 60s"
kill -HUP "$wpid"
check "slow endpoint: requests in flight at the platform" \
	wait_for 4 platform_true 'fn("/nt-slow")["requests"] >= 2'
sleep 0.1
seq2=$(notify_seq)
t0=$(now_ns)
kill -TERM "$wpid"
wait_for 5 proc_gone "$wpid" || true
t1=$(now_ns)
rc=0
if proc_gone "$wpid"; then wait "$wpid" || rc=$?; else rc=timeout; fi
ms=$(((t1 - t0) / 1000000))
check "SIGTERM: warmd exits within 1 s with a 30 s request in flight (${ms} ms)" test "$ms" -lt 1000
check_eq "SIGTERM: exit status" 0 "$rc"
check "SIGTERM: STOPPING=1" notify_find '^STOPPING=1$' "$seq2"

# ------------------------------------------------------------ the watchdog, over the whole run

read -r wd_n _ wd_maxgap < <(awk -F'\t' '
	$4 == "WATCHDOG=1" {
		if (!first) first = $2
		if (last && $2 - last > gap) gap = $2 - last
		if ($2 <= first + 2000000000) n++
		last = $2
	}
	END { printf "%d %d %d\n", n, first, gap / 1000000 }' "$NOTIFY_LOG")
check_ge "watchdog: WATCHDOG=1 messages in the 2 s after the first one" 3 "$wd_n"
check "watchdog: never more than WATCHDOG_USEC (1 s) between two (longest ${wd_maxgap} ms)" \
	test "$wd_n" -gt 0 -a "$wd_maxgap" -lt 1000
check_eq "watchdog: every WATCHDOG=1 from warmd's pid" "$(notify_count '^WATCHDOG=1$')" \
	"$(count_lines "$NOTIFY_LOG" '$4 == "WATCHDOG=1" && $3 == p' -v p="$wpid")"

finish
