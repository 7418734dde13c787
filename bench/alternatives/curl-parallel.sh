#!/bin/bash
# curl-parallel: one curl process doing all requests with its parallel mode,
# "curl --parallel --parallel-immediate --parallel-max N".
#
# Usage: curl-parallel.sh N URLFILE
#
# Every URL in URLFILE (one per line, "-" = standard input) is requested N
# times, all URLs at once: --parallel-max is N times the number of URLs.
# Note that the curl tool silently caps --parallel-max at 300, which is part
# of what this alternative shows.  --parallel-immediate opens new connections
# instead of waiting to multiplex or reuse one.  Each transfer is limited to
# 30 s.  Prints one summary line; exit 0 if every request got a 2xx answer.
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: curl-parallel.sh N URLFILE" >&2
	exit 2
fi
n=$1
urls=$(grep -v -e '^#' -e '^[[:space:]]*$' "$2" || true)
count=$(printf '%s\n' "$urls" | grep -c . || true)
if [ "$count" -eq 0 ]; then
	echo "curl-parallel: no URLs" >&2
	exit 2
fi

cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
# A curl config file: each URL N times, every body to /dev/null.
printf '%s\n' "$urls" |
	awk -v n="$n" '{ for (i = 0; i < n; i++) printf "url = \"%s\"\noutput = \"/dev/null\"\n", $0 }' >"$cfg"

start=$(date +%s%N)
codes=$(curl --parallel --parallel-immediate --parallel-max "$((n * count))" \
	-s --no-progress-meter --max-time 30 -w '%{http_code}\n' -K "$cfg" || true)
end=$(date +%s%N)

sent=$((n * count))
ok=$(printf '%s\n' "$codes" | grep -c '^2' || true)
echo "curl-parallel: urls=$count n=$n sent=$sent ok=$ok failed=$((sent - ok))" \
	"wall_ms=$(((end - start) / 1000000))"
[ "$ok" -eq "$sent" ]
