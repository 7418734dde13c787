#!/bin/bash
# Response bodies are read only as far as they tell something: the JSON
# fields of a 70 KB body are found, a 100 MB body is not downloaded, a field
# past the first 64 KiB and a body that is not JSON are noted on the request,
# not silently "unknown". Judged by what the platform sent and counted.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 50 --cold-ms 50
cat >"$WORK/warmd.conf" <<CONF
[global]
timeout = 30s

[long]
url = http://127.0.0.1:$PORT/long?pad=70000
containers = 2
reuse_json = reused
instance_json = container

[huge]
url = http://127.0.0.1:$PORT/huge?pad=100000000
containers = 2
reuse_json = reused
instance_json = container

[huge-headers]
url = http://127.0.0.1:$PORT/huge-headers?pad=100000000
containers = 2
reuse_header = X-Container-Reused
instance_header = X-Container-Id

[late]
url = http://127.0.0.1:$PORT/late?pad=100000&pad_first=1
containers = 2
reuse_json = reused
instance_json = container

[text]
url = http://127.0.0.1:$PORT/text?body=text
containers = 2
reuse_json = reused
CONF

# ids_seen ENDPOINT ROUND-FILE: the container ids warmd reported for it, sorted, one line
ids_seen() {
	sed -n "s/^$1 round 1: [a-z]*, instance \([^,]*\), HTTP 200 .*/\1/p" "$2" | sort | tr '\n' ' '
}
# ids_platform PATH: the container ids the platform served on it since the last reset, sorted, one line
ids_platform() {
	report "' '.join(sorted(c for _, c, _ in fn('$1')['arrivals'])) + ' '"
}

for run in 1 2; do
	[ "$run" = 1 ] || reset_platform
	once "$WORK/warmd.conf"
	check_eq "run $run: --once exits 0" 0 "$RC"
	[ "$run" = 1 ] && want=cold || want=warm
	for ep in long huge huge-headers; do
		check_eq "run $run: $ep: both $want, as the platform says" "2 $want, platform 2 $want" \
			"$(grep -c "^$ep round 1: $want, instance " "$WORK/err") $want, platform $(report "sum(1 for _, _, cold in fn('/$ep')['arrivals'] if cold == ('$want' == 'cold'))") $want"
		check_eq "run $run: $ep: the ids warmd reports are the platform's" "$(ids_platform "/$ep")" "$(ids_seen "$ep" "$WORK/err")"
	done
	# The platform's own count: a 100 MB answer is cut off early by the client, after what the
	# socket buffers hold (a few MB on loopback), not sent whole.
	for ep in huge huge-headers; do
		check_eq "run $run: $ep: the client left both 100 MB answers early" 2 "$(report "fn('/$ep')['answers_cut']")"
		check_eq "run $run: $ep: under 32 MB of 200 MB sent" True "$(report "fn('/$ep')['bytes_sent'] < 32 * 2**20")"
	done
	check_eq "run $run: late: both requests reached the platform" 2 "$(report 'fn("/late")["requests"]')"
	check_eq "run $run: late: noted, not silently unknown" 2 "$(grep -c "^late round 1: unknown, HTTP 200 in [0-9]* ms (reuse_json: no 'reused' in the first 64 KiB of the body; instance_json: no 'container' in the first 64 KiB of the body)$" "$WORK/err")"
	check_eq "run $run: text: noted as not JSON" 2 "$(grep -c "^text round 1: unknown, HTTP 200 in [0-9]* ms (reuse_json: the body is not valid JSON (.* at byte [0-9]*))$" "$WORK/err")"
done
finish
