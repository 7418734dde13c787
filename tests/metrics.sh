#!/bin/bash
# metrics_file: a real prometheus-node-exporter reads the file through its textfile collector and
# the scrape has no error; the numbers agree with what the platform counted; no URL or container
# id is a label; the file is replaced by rename(), at most once a second, readable by others.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[ -n "$NODE_EXPORTER" ] || skip "prometheus-node-exporter is not installed (tools/deps test installs it)"

start_platform --hold-ms 100 --cold-ms 100 --requests-per-container 4
mkdir -m 0755 "$WORK/metrics"
PROM="$WORK/metrics/warmd.prom"
{
	cat <<CONF
[global]
timeout = 5s
interval = 1s
metrics_file = $PROM
[orders]
url = http://127.0.0.1:$PORT/orders?token=s3cret
containers = 5
reuse_header = X-Container-Reused
instance_header = X-Container-Id
[we.ird:name@x-y]
url = http://127.0.0.1:$PORT/weird?per_container=1
containers = 2
reuse_header = X-Container-Reused
CONF
	# Rounds that end at different times within each second: without the limit, one write each.
	for i in $(seq 10); do
		conf -- "spread$i" "/spread$i?per_container=1&hold_ms=$((i * 80))" 1
	done
} >"$WORK/warmd.conf"

command -v strace >/dev/null || skip "strace is not installed (tools/deps test installs it)"
# strace passes SIGTERM on to no one: warmd is stopped by its own pid, and strace ends with it.
strace -f -qq -o "$WORK/strace" -e trace=openat,rename,renameat,renameat2 -e signal=none -ttt \
	sh -c 'echo $$ >"$0"; exec "$1" -c "$2"' "$WORK/warmd.pid" "$WARMD" "$WORK/warmd.conf" >/dev/null 2>"$WORK/err" &
spid=$!
at_exit "stop_pid $spid"
wait_for 10 test -s "$WORK/warmd.pid"
at_exit "stop_pid $(cat "$WORK/warmd.pid")"
start=$(date +%s.%N)
wait_for 20 platform_true 'fn("/orders")["requests"] > 0' || fail "no round started"
# Four writes (three gaps to measure), and rounds enough for a learned lifetime in the file.
written() {
	lines_at_least 4 'rename.*warmd\.prom' "$WORK/strace" &&
		grep -q '^warmd_container_idle_lifetime_min_seconds{endpoint="orders"} ' "$PROM"
}
wait_for 20 written || fail "no four writes with a learned lifetime in 20 s"
kill "$(cat "$WORK/warmd.pid")"
wait "$spid" 2>/dev/null || true
end=$(date +%s.%N)

check "the file exists" test -s "$PROM"
check_eq "no temporary file is left next to it" "warmd.prom" "$(ls -A "$WORK/metrics")"
check_eq "mode 0644, for node_exporter's user" 644 "$(stat -c %a "$PROM")"

# Rewritten by rename() only, and at most once a second (plus the write at start).
grep -E 'rename(at2?)?\(' "$WORK/strace" | grep -F 'warmd.prom' >"$WORK/renames" || true
n=$(wc -l <"$WORK/renames")
max=$(python3 -c "import math, sys; print(math.ceil(float(sys.argv[2]) - float(sys.argv[1])) + 2)" "$start" "$end")
check "written by rename(), $n times" test "$n" -ge 3
check "$n writes in $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$start" "$end") s: at most one a second (<= $max)" \
	test "$n" -le "$max"
# When each write began: its temporary file was created.  Renames come after formatting, which a loaded
# machine can make take longer for one write than for the next.
grep -E 'openat\(.*/\.warmd\.prom\.[^"]*", O_RDWR\|O_CREAT' "$WORK/strace" >"$WORK/creates" || true
check_eq "one temporary file per write" "$n" "$(wc -l <"$WORK/creates")"
gaps=$(awk '{ t = $2 + 0; if (NR > 1 && t - p < 0.99) bad++; p = t } END { print bad + 0 }' "$WORK/creates")
check_eq "no two writes begin less than a second apart" 0 "$gaps"

metric() { awk -v m="$1" 'index($0, m) == 1 { print $2 }' "$PROM"; }
check_eq "warmd_round_containers_target" 5 "$(metric 'warmd_round_containers_target{endpoint="orders"}')"
check_eq "a label with every character a section name may hold" 2 "$(metric 'warmd_round_containers_target{endpoint="we.ird:name@x-y"}')"
check "warmd_last_round_timestamp_seconds is recent" python3 -c "
import sys, time
t = float(sys.argv[1]); sys.exit(0 if time.time() - 30 < t <= time.time() else 1)" \
	"$(metric 'warmd_last_round_timestamp_seconds{endpoint="orders"}')"
check "the learned lifetime bound is there" grep -q '^warmd_container_idle_lifetime_min_seconds{endpoint="orders"} ' "$PROM"
check "warmd_build_info" grep -q '^warmd_build_info{version="[^"]*"} 1$' "$PROM"
check "warmd_journal_records_dropped_total, 0 while journald takes every record" grep -q '^warmd_journal_records_dropped_total 0$' "$PROM"
check_eq "no URL in the file" "" "$(grep -E '127\.0\.0\.1|s3cret|http' "$PROM" || true)"
leak=$(report '"\n".join(a[1] for a in fn("/orders")["arrivals"])' | grep -F -f - "$PROM" || true)
check_eq "no container id in the file" "" "$leak"

# A real node_exporter scrapes it.
nport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$NODE_EXPORTER" --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$WORK/metrics" --web.listen-address="127.0.0.1:$nport" \
	>"$WORK/node_exporter.log" 2>&1 &
at_exit "stop_pid $!"
get_scrape() {
	python3 -c "import urllib.request, sys; print(urllib.request.urlopen('http://127.0.0.1:%s/metrics' % sys.argv[1], timeout=2).read().decode())" \
		"$nport" >"$WORK/scrape" 2>/dev/null
}
wait_for 10 get_scrape || true
scrape=$(cat "$WORK/scrape")
check_eq "node_exporter: the textfile scrape has no error" "node_textfile_scrape_error 0" \
	"$(grep '^node_textfile_scrape_error' <<<"$scrape" || true)"
check_eq "node_exporter: exposes warmd_round_containers_reached for orders" \
	"$(metric 'warmd_round_containers_reached{endpoint="orders"}')" \
	"$(awk '/^warmd_round_containers_reached\{endpoint="orders"\}/ { print $2 }' <<<"$scrape")"
check_eq "node_exporter: exposes that label" 1 \
	"$(grep -c '^warmd_round_containers_target{endpoint="we.ird:name@x-y"} 2$' <<<"$scrape" || true)"
check_eq "node_exporter logged no error about the file" "" "$(grep -i 'level=error' "$WORK/node_exporter.log" || true)"

# The numbers are the platform's: --once writes the file when its rounds are over.
reset_platform "?kill=1"
once "$WORK/warmd.conf"
check_eq "--once: warmd_requests_total of orders adds up to the platform's count" \
	"$(report 'fn("/orders")["requests"]')" \
	"$(awk '/^warmd_requests_total\{endpoint="orders",/ { s += $2 } END { print s }' "$PROM")"
check_eq "--once: warmd_requests_total{result=\"cold\"} is the platform's cold starts" \
	"$(report 'fn("/orders")["cold_starts"]')" "$(metric 'warmd_requests_total{endpoint="orders",result="cold"}')"
check_eq "--once: warmd_round_containers_reached is what the platform saw" \
	"$(report 'fn("/orders")["distinct_containers"]')" "$(metric 'warmd_round_containers_reached{endpoint="orders"}')"
check_eq "--once: warmd_round_requests" "$(report 'fn("/orders")["requests"]')" "$(metric 'warmd_round_requests{endpoint="orders"}')"

# A file that cannot be written is an error in the log, once, and the rounds go on.
sed "s|^metrics_file = .*|metrics_file = $WORK/missing/warmd.prom|" "$WORK/warmd.conf" >"$WORK/bad.conf"
once "$WORK/bad.conf"
check_eq "an unwritable metrics file is reported once" 1 "$(grep -c "Failed to write the metrics file $WORK/missing/warmd.prom" "$WORK/err")"

finish
