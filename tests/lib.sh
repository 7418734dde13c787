# SPDX-License-Identifier: MIT
# lib.sh: what the integration tests share: a scratch directory, the bundled
# platform on loopback, reading its report, and assertions that say what failed.
# Sourced by tests/*.sh; automake runs them with WARMD and top_srcdir set.

set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${WARMD:=$top_srcdir/src/warmd}"
export LC_ALL=C

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/warmd-$TEST_NAME.XXXXXX")
PIDS=()
FAILED=0
CHECKED=0

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}

command -v python3 >/dev/null || skip "python3 is needed to run the bundled platform"
[ -x "$WARMD" ] || skip "warmd is not built at $WARMD"

pass() {
	CHECKED=$((CHECKED + 1))
	echo "ok: $*"
}

fail() {
	CHECKED=$((CHECKED + 1))
	FAILED=$((FAILED + 1))
	echo "FAIL: $*"
}

# check DESCRIPTION WANT GOT
check() {
	if [ "$2" = "$3" ]; then pass "$1 ($3)"; else fail "$1: want '$2', got '$3'"; fi
}

# check_cmd DESCRIPTION COMMAND...
check_cmd() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

finish() {
	echo "$TEST_NAME: $CHECKED checks, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# start_platform [faas-sim options...]: sets PORT
start_platform() {
	local i
	python3 "$top_srcdir/tests/faas-sim.py" --host 127.0.0.1 --port 0 --port-file "$WORK/port" \
		--max-seconds 300 -q "$@" >"$WORK/platform.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 100); do
		[ -s "$WORK/port" ] && break
		sleep 0.05
	done
	[ -s "$WORK/port" ] || { cat "$WORK/platform.log"; echo "platform did not start"; exit 99; }
	PORT=$(cat "$WORK/port")
}

# report PYTHON-EXPRESSION: evaluates it with r = the platform's /_report (detail=1)
report() {
	python3 - "$PORT" "$1" <<'PY'
import json, sys, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_report?detail=1" % sys.argv[1], timeout=10))
f = r["functions"]
fn = lambda p: f.get(p, {"requests": 0, "cold_starts": 0, "warm": 0, "distinct_containers": 0, "arrivals": []})
print(eval(sys.argv[2]))
PY
}

reset_platform() {
	python3 -c "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$PORT/_reset' + sys.argv[1], method='POST'), timeout=10)" "${1:-}"
}

# wait_for SECONDS PYTHON-EXPRESSION: polls the report until the expression is true
wait_for() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(report "$2")" = True ] && return 0
		sleep 0.1
	done
	return 1
}
