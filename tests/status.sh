#!/bin/bash
# The STATUS= line, as a notify socket receives it: rewritten after rounds,
# but at most once a second, however many rounds end in between.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 50 --cold-ms 0
notify_start
{
	conf interval=1s jitter=900ms
	# Ten endpoints with jitter: rounds end at ten moments a second, spread over it.
	for i in $(seq 10); do
		conf -- "ep$i" "/ep$i" 1
	done
} >"$WORK/warmd.conf"

"$WARMD" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" &
WARMD_PID=$!
at_exit "stop_pid $WARMD_PID"
start=$(now_ns)
wait_for 5 notify_find '^READY=1$' >/dev/null || fail "no READY=1"
# Four rounds of the ten endpoints, and as many seconds for STATUS= to be rewritten in.
enough() {
	platform_true 'r["requests"] >= 40' && [ "$(notify_count '^STATUS=')" -ge 4 ]
}
wait_for 15 enough || true
secs=$((($(ms_since "$start") + 999) / 1000))
stop_pid "$WARMD_PID"

rounds=$(report 'r["requests"]')
n=$(notify_count '^STATUS=')
# The receiver's clock: gaps between consecutive STATUS= datagrams, in ms.
gaps=$(awk -F'\t' '$4 ~ /^STATUS=/ { if (last) printf "%d ", ($2 - last) / 1000000; last = $2 }' "$NOTIFY_LOG")
say "$rounds rounds ended in $secs s, $n STATUS= lines; gaps (ms): $gaps"
check_ge "rounds ended (one request each)" 40 "$rounds"
check_ge "STATUS= rewritten after rounds, about once a second" 4 "$n"
check_le "no more than one STATUS= a second (+1 at start)" $((secs + 1)) "$n"
# The receiver may read a datagram late by a scheduling delay; 800 ms leaves room for that,
# and still fails a limit of half a second.
check_eq "no two STATUS= lines less than a second apart (800 ms allowing for the receiver)" "" \
	"$(tr ' ' '\n' <<<"$gaps" | awk '$1 != "" && $1 < 800' | xargs)"
check "the latest STATUS= adds up the rounds" grep -q '^STATUS=10 endpoints, 10 containers; last round .* reached' \
	<<<"$(awk -F'\t' '$4 ~ /^STATUS=/ { s = $4 } END { print s }' "$NOTIFY_LOG")"
finish
