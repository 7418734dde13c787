#!/bin/bash
# xargs-curl: the shell one-liner warmer, "seq N | xargs -P N curl URL".
#
# Usage: xargs-curl.sh N URLFILE
#
# Every URL in URLFILE (one per line, "-" = standard input) is requested N
# times by separate curl processes started by xargs -P; all URLs at once
# (-P is N times the number of URLs), so a single URL is exactly
# "seq N | xargs -P N curl -s -o /dev/null URL".  Each curl runs with a 30 s
# limit.  Prints one summary line; exit 0 if every request got a 2xx answer.
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: xargs-curl.sh N URLFILE" >&2
	exit 2
fi
n=$1
urls=$(grep -v -e '^#' -e '^[[:space:]]*$' "$2" || true)
count=$(printf '%s\n' "$urls" | grep -c . || true)
if [ "$count" -eq 0 ]; then
	echo "xargs-curl: no URLs" >&2
	exit 2
fi

start=$(date +%s%N)
# Each URL repeated N times, one curl per line, N*URLs of them at once.
codes=$(printf '%s\n' "$urls" |
	awk -v n="$n" '{ for (i = 0; i < n; i++) print }' |
	xargs -P "$((n * count))" -n 1 \
		curl -s -o /dev/null --max-time 30 -w '%{http_code}\n' || true)
end=$(date +%s%N)

sent=$((n * count))
ok=$(printf '%s\n' "$codes" | grep -c '^2' || true)
echo "xargs-curl: urls=$count n=$n sent=$sent ok=$ok failed=$((sent - ok))" \
	"wall_ms=$(((end - start) / 1000000))"
[ "$ok" -eq "$sent" ]
