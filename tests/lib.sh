# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
#
# lib.sh: what every integration test shares.  Sourced by tests/*.sh, which
# automake runs (through tests/run-test) with WARMD, top_srcdir and
# top_builddir in the environment.  Exit status 77 means "skipped".
#
#   results     check, check_eq, check_ge, check_le, pass, fail, skip, finish
#   the build   am_list (a list of Makefile.am)
#   cleanup     WORK (a scratch directory), at_exit, stop_pid
#   waiting     wait_for SECONDS COMMAND..., lines_at_least
#   warmd       conf (writes a configuration), once (runs warmd --once), terminate,
#               faketime_setup (warmd on a fake wall clock)
#   ids         WARMD_MESSAGE_* as src/warmd.h defines them
#   platform    start_platform, report, platform_true, reset_platform
#   tls         start_tls_proxy (nginx with a fresh test CA in front of the platform)
#   journald    enter_mount_ns, journald_start, jctl, jfields, jcount
#   notify      notify_start, notify_seq, notify_find, notify_wait, notify_count
#   rootfs      rootfs_ensure (a cached Debian for systemd-nspawn), require_plain_warmd
#   container   container_boot, cx, cx_jfields, container_platform, container_report,
#               container_platform_true (systemd as PID 1 in that Debian)

set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${WARMD:=$top_builddir/src/warmd}"
export top_srcdir top_builddir WARMD
export LC_ALL=C
# Whatever service manager runs the tests must not hear from warmd.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM CREDENTIALS_DIRECTORY

# The interpreter itself, not a wrapper script in front of it (starts faster).
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
FAAS_SIM="$top_srcdir/tests/faas-sim.py"
TEST_NAME=$(basename "$0" .sh)

# ------------------------------------------------------------------ results

CHECKED=0
FAILED=0

say()  { printf '%s: %s\n' "$TEST_NAME" "$*"; }
pass() { CHECKED=$((CHECKED + 1)); printf 'ok: %s\n' "$*"; }
fail() { CHECKED=$((CHECKED + 1)); FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"; }
skip() { printf 'SKIP: %s: %s\n' "$TEST_NAME" "$*"; exit 77; }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@" >/dev/null; then pass "$what"; else fail "$what"; fi
}

# check_eq DESCRIPTION WANT GOT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1 ($3)"; else fail "$1: want '$2', got '$3'"; fi
}

# check_ge DESCRIPTION MIN GOT, check_le DESCRIPTION MAX GOT: integers.
check_ge() {
	if [[ $3 =~ ^-?[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		pass "$1 ($3 >= $2)"
	else
		fail "$1: want >= $2, got '$3'"
	fi
}
check_le() {
	if [[ $3 =~ ^-?[0-9]+$ ]] && [ "$3" -le "$2" ]; then
		pass "$1 ($3 <= $2)"
	else
		fail "$1: want <= $2, got '$3'"
	fi
}

# finish: the last line of every test; fails if any check failed, or if none ran.
finish() {
	say "$CHECKED checks, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$CHECKED" -gt 0 ]
}

# bail: stop here after a failed precondition.
bail() {
	finish || true
	exit 1
}

# count_lines FILE CONDITION [AWK OPTIONS...]: lines of the tab-separated
# FILE for which the awk CONDITION holds ("awk error" if it does not run).
count_lines() {
	local f=$1 cond=$2 n
	shift 2
	n=$(awk -F'\t' "$@" "($cond) { n++ } END { print n + 0 }" "$f") || n="awk error"
	echo "$n"
}

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

# ------------------------------------------------------------------ the build

# am_list VAR [FILE]: the words of VAR in Makefile.am (or FILE, such as the
# build's Makefile), one a line; see tests/am-list.awk.
am_list() {
	awk -v want="$1" -f "$top_srcdir/tests/am-list.awk" "${2:-$top_srcdir/Makefile.am}"
}

# ------------------------------------------------------------------ cleanup

# Every resource a test creates registers how to undo it; the EXIT trap
# undoes everything in reverse order, also when the test fails or is killed
# by tests/run-test's timeout.
CLEANUP=()
at_exit() { CLEANUP+=("$*"); }

run_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}"
	done
	CLEANUP=()
	exit "$rc"
}
trap run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

WORK=$(mktemp -d "${TMPDIR:-/tmp}/warmd-$TEST_NAME.XXXXXX")
at_exit "rm -rf '$WORK'"

# stop_pid PID: TERM, wait up to 2 s, then KILL; always reap; never fails.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie child counts as gone.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# proc_gone PID: PID has exited (or is a zombie).
proc_gone() {
	local state=""
	[ -r "/proc/$1/stat" ] || return 0
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

# ------------------------------------------------------------------ waiting

# wait_for SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds;
# fails if it has not after SECONDS.
wait_for() {
	local limit=$1 i n
	shift
	n=$(awk -v s="$limit" 'BEGIN { printf "%d", s * 20 }')
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# lines_at_least N REGEX FILE: FILE has N lines or more that match REGEX
# (grep's basic syntax); for wait_for.
lines_at_least() {
	local n
	n=$(grep -c -- "$2" "$3" 2>/dev/null) || true
	[ "${n:-0}" -ge "$1" ]
}

# ------------------------------------------------------------------ warmd

# conf [KEY=VALUE...] [-- NAME URL CONTAINERS [KEY=VALUE...]]...: prints a
# configuration: the keys before the first "--" in [global] (no [global]
# without them), then an endpoint for each "--", with the keys after it.  A
# URL that starts with "/" is the platform's, on $PORT.
#   conf interval=1s -- orders /orders 3 instance_header=X-Container-Id >"$WORK/warmd.conf"
conf() {
	local url
	[ $# -eq 0 ] || [ "$1" = -- ] || echo "[global]"
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			[ $# -ge 4 ] || { echo "conf: '--' takes NAME URL CONTAINERS" >&2; return 1; }
			url=$3
			[[ $url != /* ]] || url="http://127.0.0.1:$PORT$url"
			printf '[%s]\nurl = %s\ncontainers = %s\n' "$2" "$url" "$4"
			shift 4
			continue
		fi
		[[ $1 == ?*=* ]] || { echo "conf: '$1' is not KEY=VALUE" >&2; return 1; }
		printf '%s = %s\n' "${1%%=*}" "${1#*=}"
		shift
	done
}

# once CONF [ARGS...]: warmd --once -c CONF ARGS...; its exit status in RC,
# its table in $WORK/out, its log in $WORK/err.  Variables set in front of it
# (VAR=value once CONF) are in warmd's environment.
once() {
	local cfg=$1
	shift
	RC=0
	"$WARMD" --once -c "$cfg" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
}

# terminate PID: SIGTERM to PID, a child of this shell, and wait for it to
# exit; its exit status in RC.  (stop_pid, for cleanup, does not wait long,
# and says nothing of how the process ended.)
terminate() {
	RC=0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" || RC=$?
}

# faketime_setup: FAKETIME_PRELOAD, for LD_PRELOAD, runs warmd on a fake wall
# clock (FAKETIME=..., FAKETIME_DONT_FAKE_MONOTONIC=1) with real monotonic
# clocks: libfaketime behind tests/faketime-preload.c, which keeps it to the
# CLOCK_REALTIME timers.  Skips the test without them.
faketime_setup() {
	local f cc=${CC:-cc} lib=
	for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 \
		/usr/local/lib/faketime/libfaketime.so.1; do
		[ -e "$f" ] && lib=$f && break
	done
	[ -n "$lib" ] || skip "libfaketime.so.1 not found (Debian's faketime package)"
	command -v "$cc" >/dev/null || skip "no C compiler ($cc) to build the preload library"
	"$cc" -shared -fPIC -o "$WORK/faketime-preload.so" "$top_srcdir/tests/faketime-preload.c" -ldl -pthread \
		2>"$WORK/cc.log" || { cat "$WORK/cc.log"; skip "cannot build tests/faketime-preload.c"; }
	FAKETIME_PRELOAD="$WORK/faketime-preload.so $lib"
}

# ------------------------------------------------------------------ preconditions

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not found"
	done
}

[ -x "$WARMD" ] || skip "warmd is not built at $WARMD"
"$PYTHON" -c '' 2>/dev/null || skip "python3 is needed to run the bundled platform"

# ------------------------------------------------------------------ message ids

# WARMD_MESSAGE_REQUEST and the rest, read from the header that defines them;
# WARMD_MESSAGE_IDS lists every one.
WARMD_MESSAGE_IDS=()
while read -r _name _id; do
	printf -v "$_name" '%s' "$_id"
	WARMD_MESSAGE_IDS+=("$_id")
done < <(sed -n 's/^#define[[:space:]]\{1,\}\(WARMD_MESSAGE_[A-Z0-9_]*\)[[:space:]]\{1,\}"\([0-9a-f]\{32\}\)".*/\1 \2/p' \
	"$top_srcdir"/src/*.h)
unset _name _id
if [ -z "${WARMD_MESSAGE_REQUEST:-}" ] || [ -z "${WARMD_MESSAGE_ROUND:-}" ]; then
	echo "ERROR: no WARMD_MESSAGE_* ids found in $top_srcdir/src/*.h"
	exit 99
fi

# ------------------------------------------------------------------ platform

# start_platform [--as VAR] [faas-sim options...]: runs the bundled platform
# (tests/faas-sim.py) on 127.0.0.1 with a free port, stopped at exit; sets
# VAR (default PORT) to its port.
start_platform() {
	local var=PORT pf pid
	if [ "${1:-}" = --as ]; then
		var=$2
		shift 2
	fi
	pf="$WORK/platform-$var.port"
	"$PYTHON" "$FAAS_SIM" --host 127.0.0.1 --port 0 --port-file "$pf" \
		--max-seconds 600 -q "$@" >"$WORK/platform-$var.log" 2>&1 &
	pid=$!
	at_exit "stop_pid $pid"
	if ! wait_for 10 test -s "$pf"; then
		cat "$WORK/platform-$var.log"
		echo "ERROR: the platform did not start"
		exit 99
	fi
	printf -v "$var" '%s' "$(cat "$pf")"
}

# report PYTHON-EXPRESSION [PORT]: evaluates the expression over what the
# platform on PORT (default $PORT) saw: r is its /_report?detail=1, and
# fn(path) one function's record (zeros for a path it never saw).
report() {
	"$PYTHON" -S - "${2:-$PORT}" "$1" <<'PY'
import json, sys, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_report?detail=1" % sys.argv[1], timeout=10))
f = r["functions"]
empty = {"requests": 0, "cold_starts": 0, "warm": 0, "distinct_containers": 0,
         "max_in_flight": 0, "arrivals": [], "details": []}
fn = lambda p: f.get(p, empty)
print(eval(sys.argv[2]))
PY
}

# platform_true PYTHON-EXPRESSION [PORT]: the expression holds (for wait_for).
platform_true() {
	[ "$(report "$@")" = True ]
}

# grid_offsets PATH INTERVAL_S N ROUNDS: for rounds 0..ROUNDS-1 of the endpoint
# at PATH (N requests each, rounds not overlapping), how late in ms its first
# request arrived after its point on a grid of INTERVAL_S.  The grid's origin
# is the latest that puts no round early, since a timer fires late, never early.
grid_offsets() {
	report "(lambda a, i, n, k: (lambda late: [round((x - min(late)) * 1000) for x in late])([a[n * j] - j * i for j in range(k)]))(sorted(t for t, _, _ in fn('$1')['arrivals']), $2, $3, $4)"
}

# in_range LIST LOW HIGH: every number of the Python list is within [LOW, HIGH].
in_range() {
	"$PYTHON" -S -c 'import sys; l = eval(sys.argv[1]); sys.exit(not (l and all(int(sys.argv[2]) <= x <= int(sys.argv[3]) for x in l)))' "$@"
}

# reset_platform [QUERY] [PORT]: clears the record; "?kill=1" drops the containers too.
reset_platform() {
	"$PYTHON" -S -c '
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%s/_reset%s" % (sys.argv[1], sys.argv[2]),
                       method="POST"), timeout=10)' "${2:-$PORT}" "${1:-}"
}

# check_token_refresh LABEL CLOUD FETCHES PATH [ENV=VALUE...]: runs warmd
# (in the environment given) on $WORK/refresh.conf, rounds of 3 a second apart
# to PATH behind CLOUD's front ("google" or "azure" in the platform's record)
# with tokens of 6 s, until FETCHES (a report expression) is 3 and 14 rounds
# have reached the front: across two expiries, every token must have come
# before the one before it expired, no request may have been refused, and no
# token the platform issued may be in warmd's output.
check_token_refresh() {
	local label=$1 cloud=$2 fetches=$3 path=$4 pid
	shift 4
	reset_platform
	env "$@" "$WARMD" -c "$WORK/refresh.conf" >"$WORK/out" 2>"$WORK/err" &
	pid=$!
	at_exit "stop_pid $pid"
	wait_for 40 platform_true "$fetches >= 3 and fn('$path')['requests'] >= 42" || true
	stop_pid "$pid"
	check_ge "$label: tokens fetched at least 3 times" 3 "$(report "$fetches")"
	check_eq "$label: every token refreshed before the one before expired" 0 \
		"$(report "r['$cloud']['late_refreshes']")"
	check_eq "$label: no request refused across the expiries" "{}" "$(report "r['$cloud']['refused']")"
	check_ge "$label: at least 14 rounds of 3 reached the front" 42 "$(report "r['$cloud']['accepted']")"
	report "'\\n'.join(r['$cloud']['issued'])" >"$WORK/issued"
	check "$label: the platform issued tokens" test -s "$WORK/issued"
	check "$label: none of them in warmd's output" \
		bash -c '! grep -qF -f "$1" "$2" "$3"' - "$WORK/issued" "$WORK/out" "$WORK/err"
}

# ------------------------------------------------------------------ tls

# free_ports COUNT: prints COUNT loopback TCP ports that were free just now.
free_ports() {
	"$PYTHON" -S - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# start_tls_proxy: a fresh test CA (tests/tls-ca.sh, in $WORK/tls) and nginx
# terminating TLS in front of the platform on $PORT, stopped at exit.  nginx
# logs "PORT PROTOCOL SESSION-REUSED CONNECTION PATH" for each request to
# $WORK/nginx/access.log.  Sets TLS_PORT (the CA's certificate for
# 127.0.0.1 and localhost; HTTP/1.1 and h2), WRONGHOST_PORT (a certificate
# for another name), EXPIRED_PORT (an expired certificate) and MTLS_PORT
# (like TLS_PORT, but a client certificate from the CA is required),
# GOAWAY_PORT (like TLS_PORT, but a connection closes after 10 requests: an
# HTTP/2 GOAWAY) and H2C_PORT (plain http, HTTP/2 only: prior knowledge).
start_tls_proxy() {
	local pid nginx features
	require_cmd openssl curl
	# Debian puts nginx in /usr/sbin, which a user's PATH lacks.
	nginx=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx) || skip "nginx not found (tools/deps test installs nginx-light)"
	features=$("$nginx" -V 2>&1) || true
	[[ $features == *--with-http_ssl_module* ]] || skip "$nginx was built without TLS (http_ssl_module)"
	[[ $features == *--with-http_v2_module* ]] || skip "$nginx was built without HTTP/2 (http_v2_module)"
	bash "$top_srcdir/tests/tls-ca.sh" "$WORK/tls"
	# H1_PORT: TLS without http2, as Azure's front doors by default; STREAMS50_PORT: HTTP/2 allowing 50 streams.
	read -r TLS_PORT WRONGHOST_PORT EXPIRED_PORT MTLS_PORT GOAWAY_PORT H2C_PORT H1_PORT STREAMS50_PORT \
		<<<"$(free_ports 8)"
	mkdir -p "$WORK/nginx/tmp"
	cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log info;
events { worker_connections 4096; }
http {
	client_body_temp_path $WORK/nginx/tmp/body;
	proxy_temp_path $WORK/nginx/tmp/proxy;
	fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
	uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
	scgi_temp_path $WORK/nginx/tmp/scgi;
	ssl_protocols TLSv1.2 TLSv1.3;
	proxy_buffering off;
	log_format tls '\$server_port \$server_protocol \$ssl_session_reused \$connection \$uri';
	access_log $WORK/nginx/access.log tls;
	server {
		listen 127.0.0.1:$TLS_PORT ssl http2;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$WRONGHOST_PORT ssl;
		ssl_certificate $WORK/tls/wronghost.pem;
		ssl_certificate_key $WORK/tls/wronghost.key;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$EXPIRED_PORT ssl;
		ssl_certificate $WORK/tls/expired.pem;
		ssl_certificate_key $WORK/tls/expired.key;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$MTLS_PORT ssl;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		ssl_client_certificate $WORK/tls/ca.pem;
		ssl_verify_client on;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$GOAWAY_PORT ssl http2;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		keepalive_requests 10;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$H2C_PORT http2;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$H1_PORT ssl backlog=4096;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$STREAMS50_PORT ssl http2;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		http2_max_concurrent_streams 50;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
}
CONF
	"$nginx" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
	pid=$!
	at_exit "stop_pid $pid"
	if ! wait_for 10 curl -s -o /dev/null --cacert "$WORK/tls/ca.pem" "https://127.0.0.1:$TLS_PORT/_report"; then
		cat "$WORK/nginx/error.log"
		echo "ERROR: nginx did not start"
		exit 99
	fi
}

# ------------------------------------------------------------------ journald

# enter_mount_ns "$@": re-run this script in a private mount namespace, so
# every mount it makes disappears with it.
enter_mount_ns() {
	if [ "${WARMD_TEST_MOUNT_NS:-}" != "$TEST_NAME" ]; then
		require_root
		require_cmd unshare
		unshare --mount --propagation private true 2>/dev/null ||
			skip "cannot create a mount namespace"
		trap - EXIT
		rm -rf "$WORK"
		WARMD_TEST_MOUNT_NS=$TEST_NAME exec unshare --mount --propagation private \
			bash "$0" "$@"
	fi
}

# journald_start: a private systemd-journald with volatile storage.  Must
# run inside enter_mount_ns.  Sets JOURNALD_PID.
journald_start() {
	local jd=/lib/systemd/systemd-journald d
	[ -x "$jd" ] || jd=/usr/lib/systemd/systemd-journald
	[ -x "$jd" ] || skip "systemd-journald not found"
	require_cmd journalctl
	for d in /run/systemd /run/log /var/log/journal; do
		[ -d "$d" ] || continue
		mount -t tmpfs -o mode=0755 tmpfs "$d"
	done
	[ -d /run/log ] || { mkdir -p /run/log && mount -t tmpfs -o mode=0755 tmpfs /run/log; }
	[ -d /run/systemd ] || { mkdir -p /run/systemd && mount -t tmpfs -o mode=0755 tmpfs /run/systemd; }
	mkdir -p /run/systemd/journal /run/systemd/journald.conf.d
	cat >/run/systemd/journald.conf.d/test.conf <<'EOF'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
RateLimitIntervalSec=0
Audit=no
EOF
	env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID "$jd" \
		>"$WORK/journald.log" 2>&1 &
	JOURNALD_PID=$!
	at_exit "stop_pid $JOURNALD_PID"
	if ! wait_for 5 test -S /run/systemd/journal/socket; then
		cat "$WORK/journald.log" >&2
		skip "private systemd-journald did not start"
	fi
	say "private journald running (pid $JOURNALD_PID)"
}

# jctl ARGS...: journalctl on the private journal, after a flush of what
# journald has queued.
jctl() {
	journalctl --sync >/dev/null 2>&1 || true
	journalctl --no-pager -q "$@"
}

# jfields FIELDS [journalctl matches...]: one line per journal record with
# the values of the comma-separated FIELDS, tab-separated; "<none>" when a
# record lacks a field.
jfields() {
	local fields=$1 out
	shift
	out="$WORK/jfields.json"
	jctl -o json "$@" >"$out" 2>/dev/null || true
	"$PYTHON" -S - "$fields" "$out" <<'PYEOF'
import json, sys
fields = sys.argv[1].split(",")
def val(v):
    if v is None:
        return "<none>"
    if isinstance(v, list):
        if v and all(isinstance(x, int) for x in v):
            return bytes(v).decode("utf-8", "replace")
        return ",".join(val(x) for x in v)
    return str(v).replace("\t", " ").replace("\n", " ")
with open(sys.argv[2]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        print("\t".join(val(r.get(k)) for k in fields))
PYEOF
}

# jcount [journalctl matches...]: number of matching records.
jcount() {
	jfields MESSAGE_ID "$@" | wc -l
}

# ------------------------------------------------------------------ sd_notify

# notify_start: a receiver on a fresh socket; exports NOTIFY_SOCKET and sets
# NOTIFY_LOG (see tests/notify-recv.py for its format).
notify_start() {
	local ready="$WORK/notify.ready" pid
	NOTIFY_LOG="$WORK/notify.log"
	: >"$NOTIFY_LOG"
	"$PYTHON" "$top_srcdir/tests/notify-recv.py" "$WORK/notify.sock" "$NOTIFY_LOG" \
		--ready "$ready" --max-seconds 600 2>"$WORK/notify-recv.err" &
	pid=$!
	at_exit "stop_pid $pid"
	if ! wait_for 10 test -s "$ready"; then
		cat "$WORK/notify-recv.err" >&2
		echo "ERROR: the notify receiver did not start"
		exit 99
	fi
	export NOTIFY_SOCKET="$WORK/notify.sock"
}

# notify_seq: number of the last datagram received so far (0 if none).
notify_seq() {
	awk -F'\t' 'END { print (NR ? $1 : 0) }' "$NOTIFY_LOG"
}

# notify_find REGEX [AFTER_SEQ]: print "SEQ TIME_NS PID LINE" of the first
# assignment matching REGEX in a datagram numbered above AFTER_SEQ.
notify_find() {
	awk -F'\t' -v re="$1" -v after="${2:-0}" \
		'$1 > after && $4 ~ re { print; found = 1; exit } END { exit !found }' "$NOTIFY_LOG"
}

# notify_wait SECONDS REGEX [AFTER_SEQ]: wait until notify_find succeeds.
notify_wait() {
	wait_for "$1" notify_find "$2" "${3:-0}" >/dev/null && notify_find "$2" "${3:-0}"
}

# notify_count REGEX [AFTER_SEQ]: number of matching assignments.
notify_count() {
	awk -F'\t' -v re="$1" -v after="${2:-0}" '$1 > after && $4 ~ re { n++ } END { print n + 0 }' "$NOTIFY_LOG"
}

# ------------------------------------------------------------------ rootfs for nspawn

ROOTFS_PACKAGES="systemd,systemd-sysv,dbus,procps,python3,libcurl4,libjson-c5"

# apt_mirror: the Debian mirror the machine's apt uses (for bookworm).
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
			BEGIN { RS = ""; FS = "\n" }
			{
				uri = ""; suites = ""; types = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/)   { uri = $i;    sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
					if ($i ~ /^Suites:/) { suites = $i }
					if ($i ~ /^Types:/)  { types = $i }
				}
				if (types ~ /[ \t]deb([ \t]|$)/ && suites ~ /[ \t]bookworm([ \t]|$)/ && uri != "") { print uri; exit }
			}' "$f"
	done | head -n1 | grep . && return 0
	[ -r /etc/apt/sources.list ] || return 1
	awk '$1 == "deb" {
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; continue }
				if ($(i + 1) == "bookworm") { print $i; exit }
				break
			}
		}' /etc/apt/sources.list | head -n1 | grep .
}

# require_plain_warmd: skips the test when $WARMD is a sanitizer build (as
# tests/sanitizers.sh runs the tests with), whose runtime a container lacks.
require_plain_warmd() {
	if ldd "$WARMD" 2>/dev/null | grep -q 'lib\(a\|ub\|t\)san'; then
		skip "$WARMD is built with a sanitizer, whose runtime the container lacks"
	fi
}

# rootfs_ensure DIR: a cached minimal Debian bookworm with systemd, built
# once with debootstrap; skips the test when that is impossible.
rootfs_ensure() {
	local dir=$1 stamp="$1/.warmd-test-rootfs" mirror tmp
	require_plain_warmd
	mkdir -p "$(dirname "$dir")"
	# Parallel runs wait for one build.
	exec {ROOTFS_LOCK_FD}>"$dir.lock"
	flock -w 600 "$ROOTFS_LOCK_FD" || skip "cannot lock $dir.lock"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ROOTFS_PACKAGES" ]; then
		return 0
	fi
	require_cmd debootstrap
	mirror=$(apt_mirror) || skip "no bookworm mirror in the apt sources"
	say "building the test rootfs in $dir from $mirror (once)"
	tmp="$dir.tmp.$$"
	at_exit "rm -rf '$tmp'"
	rm -rf "$tmp"
	if ! debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" \
		bookworm "$tmp" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
		tail -n 20 "$WORK/debootstrap.log" >&2
		skip "debootstrap failed (log above)"
	fi
	# No getty on the console, no units that need the host.
	rm -f "$tmp/etc/systemd/system/getty.target.wants/"*
	: >"$tmp/etc/machine-id"
	printf '%s' "$ROOTFS_PACKAGES" >"$tmp/.warmd-test-rootfs"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

# ------------------------------------------------------------------ a booted container

# container_cgroup: moves this shell into a cgroup of its own, which
# systemd-nspawn may populate.  nspawn leaves empty payload/supervisor groups
# behind; they are removed at exit (deepest first), after the shell moves back.
container_cgroup() {
	local cg_v2 mnt orig dir i
	local -a cg_list
	[ -d /sys/fs/cgroup/systemd ] || [ -f /sys/fs/cgroup/cgroup.controllers ] ||
		skip "no usable cgroup hierarchy"
	cg_v2=$(awk -F: '$1 == "0" && $2 == "" { print $3 }' /proc/self/cgroup)
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		cg_list=("/sys/fs/cgroup" "$cg_v2")            # unified hierarchy only
	else
		cg_list=("/sys/fs/cgroup/systemd" "$(awk -F: '$2 == "name=systemd" { print $3 }' /proc/self/cgroup)")
		[ -d /sys/fs/cgroup/unified ] && cg_list+=("/sys/fs/cgroup/unified" "$cg_v2")
	fi
	for ((i = 0; i < ${#cg_list[@]}; i += 2)); do
		mnt=${cg_list[i]}
		orig=${cg_list[i + 1]%/}
		if [ ! -d "$mnt" ] || [ -z "${cg_list[i + 1]}" ]; then
			skip "cannot find our cgroup under $mnt"
		fi
		dir="$mnt$orig/warmd-test-$$"
		mkdir "$dir"
		at_exit "container_cgroup_remove '$mnt' '$orig' '$dir'"
		echo $$ >"$dir/cgroup.procs"
	done
}

container_cgroup_remove() {
	local mnt=$1 orig=$2 dir=$3
	echo $$ >"$mnt$orig/cgroup.procs" 2>/dev/null || true
	find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
	[ -d "$dir" ] && say "could not remove cgroup $dir"
	return 0
}

# container_boot ROOTFS [systemd-nspawn options...]: boots ROOTFS with
# systemd as PID 1 (a volatile overlay, so ROOTFS stays pristine; a private
# network with only loopback) and waits until it is up.  Must run inside
# enter_mount_ns, as root.  Sets CONTAINER_LEADER; powered off at exit.
container_boot() {
	local rootfs=$1 t_start
	shift
	require_plain_warmd
	require_cmd systemd-nspawn nsenter
	container_cgroup
	mountpoint -q /run/systemd || mount -t tmpfs -o mode=0755 tmpfs /run/systemd
	CONTAINER_LOG="$WORK/nspawn.log"
	CONTAINER_LEADER=""
	t_start=$(now_ns)
	systemd-nspawn --quiet --register=no --keep-unit --volatile=overlay --private-network \
		-D "$rootfs" --machine="warmd-test-$$" "$@" \
		-b --console=read-only >"$CONTAINER_LOG" 2>&1 </dev/null &
	CONTAINER_NSPAWN_PID=$!
	at_exit container_stop
	if ! wait_for 20 container_find_leader; then
		cat "$CONTAINER_LOG"
		skip "systemd-nspawn did not start systemd (console log above)"
	fi
	if ! wait_for 30 container_booted; then
		cx systemctl --failed --no-legend 2>&1 || true
		tail -n 20 "$CONTAINER_LOG"
		skip "the container did not finish booting (failed units and console above)"
	fi
	say "container booted in $(ms_since "$t_start") ms (leader pid $CONTAINER_LEADER)"
}

container_find_leader() {
	local p
	for p in $(ps -o pid= --ppid "$CONTAINER_NSPAWN_PID" 2>/dev/null); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
			CONTAINER_LEADER=$p
			return 0
		fi
	done
	return 1
}

container_booted() {
	local s
	s=$(cx systemctl is-system-running 2>/dev/null) || true
	[ "$s" = running ] || [ "$s" = degraded ]
}

# cx CMD...: runs CMD inside the container, with a clean environment.
cx() {
	nsenter -t "$CONTAINER_LEADER" -m -u -i -n -p -r -w \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= SYSTEMD_COLORS=0 LANG=C.UTF-8 "$@"
}

# container_stop: poweroff, and wait for systemd-nspawn to exit (killed by
# its pid after 10 s); shows the last console lines if a check failed.
container_stop() {
	local i
	if [ -n "$CONTAINER_LEADER" ] && kill -0 "$CONTAINER_NSPAWN_PID" 2>/dev/null; then
		cx systemctl --no-block poweroff >/dev/null 2>&1 || true
	fi
	for ((i = 0; i < 200; i++)); do
		kill -0 "$CONTAINER_NSPAWN_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$CONTAINER_NSPAWN_PID" 2>/dev/null; then
		say "systemd-nspawn did not exit after poweroff, killing pid $CONTAINER_NSPAWN_PID"
		kill -KILL "$CONTAINER_NSPAWN_PID" 2>/dev/null
	fi
	wait "$CONTAINER_NSPAWN_PID" 2>/dev/null || true
	if [ "$FAILED" -gt 0 ] && [ -s "$CONTAINER_LOG" ]; then
		say "--- last console lines"
		tail -n 15 "$CONTAINER_LOG"
	fi
}

# container_platform: runs the bundled platform inside the container (its
# loopback is its own); sets CONTAINER_PORT.
container_platform() {
	cx systemd-run --quiet --unit=faas-sim --property=Type=exec \
		python3 /run/warmd-tests/faas-sim.py --host 127.0.0.1 --port 0 \
		--port-file /run/faas-sim.port --max-seconds 600 -q
	if ! wait_for 10 container_platform_port >/dev/null; then
		cx journalctl -u faas-sim --no-pager | tail -n 20
		fail "faas-sim did not start inside the container"
		bail
	fi
	CONTAINER_PORT=$(container_platform_port)
	say "faas-sim listening on 127.0.0.1:$CONTAINER_PORT inside the container"
}
container_platform_port() { cx cat /run/faas-sim.port 2>/dev/null | grep -E '^[0-9]+$'; }

# container_report PYTHON-EXPRESSION: as report, for the platform inside the container.
container_report() {
	cx python3 -S -c '
import json, sys, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_report?detail=1" % sys.argv[1], timeout=10))
f = r["functions"]
empty = {"requests": 0, "cold_starts": 0, "warm": 0, "distinct_containers": 0,
         "max_in_flight": 0, "arrivals": [], "details": []}
fn = lambda p: f.get(p, empty)
print(eval(sys.argv[2]))' "$CONTAINER_PORT" "$1"
}
container_platform_true() { [ "$(container_report "$1")" = True ]; }

# cx_jfields FIELDS [journalctl matches...]: as jfields, for the container's journal.
cx_jfields() {
	local fields=$1
	shift
	cx journalctl --no-pager -q -o json "$@" 2>/dev/null |
		"$PYTHON" -S -c '
import json, sys
fields = sys.argv[1].split(",")
for line in sys.stdin:
    if line.strip():
        r = json.loads(line)
        print("\t".join(str(r.get(k, "<none>")) for k in fields))' "$fields" || true
}

# ------------------------------------------------------------------ schedules
# Schedules
#
# warmd on a fake wall clock (after faketime_setup), for the tests of
# schedules and of what happens while endpoints sleep: the wall clock reads
# real time + FAKE_OFF seconds; the monotonic clocks stay real.

# fake_clock_warmd [--settable] AT CONF [VAR=VALUE...]: starts warmd -c CONF
# with its wall clock at AT (seconds since the epoch) now, running on from
# there, and TZ=UTC; its pid in WARMD_PID (stopped at exit), its stdout in
# $WORK/out, its stderr in $WORK/err.  --settable keeps FAKE_OFF in a file,
# so that fake_clock_set can set the clock later.  VAR=VALUE... go into its
# environment; with WATCHDOG_USEC among them, WATCHDOG_PID is warmd's.
fake_clock_warmd() {
	local settable=0 at cfg clock v watchdog=()
	if [ "$1" = --settable ]; then
		settable=1
		shift
	fi
	at=$1 cfg=$2
	shift 2
	for v in "$@"; do
		[[ $v != WATCHDOG_USEC=* ]] || watchdog=(bash -c 'export WATCHDOG_PID=$$; exec "$@"' warmd)
	done
	fake_clock_set "$at"
	clock=("FAKETIME=$(printf '%+d' "$FAKE_OFF")")
	[ "$settable" = 0 ] || clock=("FAKETIME_TIMESTAMP_FILE=$WORK/faketime" FAKETIME_NO_CACHE=1)
	env "${clock[@]}" FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC LD_PRELOAD="$FAKETIME_PRELOAD" "$@" \
		"${watchdog[@]}" "$WARMD" -c "$cfg" >"$WORK/out" 2>"$WORK/err" &
	WARMD_PID=$!
	at_exit "stop_pid $WARMD_PID"
}

# fake_clock_set AT: the fake wall clock reads AT (seconds since the epoch)
# now.  fake_clock_offset OFF: it reads the real time + OFF seconds.  Both
# set FAKE_OFF, and the file a warmd started with --settable reads it from.
fake_clock_set() {
	fake_clock_offset $(($1 - $(date +%s)))
}
fake_clock_offset() {
	FAKE_OFF=$1
	printf '%+d\n' "$FAKE_OFF" >"$WORK/faketime"
}

# fake_arrivals PATH ORIGIN: when the requests to PATH arrived at the
# platform, on the fake wall clock, in seconds after ORIGIN (seconds since
# the epoch).  The platform times arrivals on its CLOCK_MONOTONIC: each is
# put on the real wall clock through the report's own "now", then FAKE_OFF
# on (the offset in force since the last set).
fake_arrivals() {
	report "(lambda t: [round(t - (r['now'] - a) + $FAKE_OFF - $2, 3) for a, _, _ in fn('$1')['arrivals']])(__import__('time').time())"
}

# Discovery

# tags [JSON [PORT]]: POST /_tags to the platform on PORT (default $PORT): the
# functions' tags ({"tags": {"NAME": {"KEY": "VALUE"} or null}}), throttles.
# Without JSON, it is read from stdin (a list too long for an argument).
tags() {
	"$PYTHON" -S -c '
import sys, urllib.request
data = sys.argv[2].encode() if len(sys.argv) > 2 else sys.stdin.buffer.read()
urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%s/_tags" % sys.argv[1], data=data, method="POST"),
                       timeout=30)' "${2:-$PORT}" "$@"
}

# discover_env AKID SECRET [TOKEN]: the environment of a test on the platform
# on $PORT: its endpoint for every API, these keys, and no other AWS setting.
discover_env() {
	export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 \
		AWS_EC2_METADATA_DISABLED=true
	if [ -n "${3:-}" ]; then export AWS_SESSION_TOKEN=$3; else unset AWS_SESSION_TOKEN; fi
	unset AWS_ENDPOINT_URL_LAMBDA AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API AWS_PROFILE \
		AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION
}

# Identity

# enter_net_ns ADDRESS... -- "$@": re-run this script in a private network
# namespace whose loopback interface is up and holds each ADDRESS too (a
# cloud's link-local service address, such as ECS's 169.254.170.2), so that
# warmd reaches the platform there and nothing leaves the namespace.
enter_net_ns() {
	local addrs=() a
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		addrs+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	if [ "${WARMD_TEST_NET_NS:-}" != "$TEST_NAME" ]; then
		require_root
		require_cmd unshare ip
		unshare --net true 2>/dev/null || skip "cannot create a network namespace"
		trap - EXIT
		rm -rf "$WORK"
		WARMD_TEST_NET_NS=$TEST_NAME exec unshare --net bash "$0" "$@"
	fi
	ip link set lo up || { fail "cannot bring up the namespace's loopback interface"; bail; }
	for a in "${addrs[@]}"; do
		ip addr add "$a/32" dev lo || { fail "cannot add $a to the namespace's loopback interface"; bail; }
	done
}

# check_token_retry PORT PATH CLOUD FETCHES FAIL NO_TOKEN [ENV=VALUE...]: runs
# warmd (in the environment given) on $WORK/retry.conf, rounds of 2 a second
# apart to PATH behind CLOUD's front on the platform at PORT, whose tokens
# live 8 s.  Once FETCHES (a report expression) is 1, the platform's next
# two token requests fail (POST /_reset?FAIL=2): the refresh due half-way
# must be retried 1 s then 2 s later and succeed before the token in hand
# expires, so that every round meanwhile has it (no request refused, no
# round with NO_TOKEN, the start of its reason, in warmd's log).
check_token_retry() {
	local port=$1 path=$2 cloud=$3 fetches=$4 fail=$5 no_token=$6 pid
	shift 6
	env "$@" "$WARMD" -c "$WORK/retry.conf" >"$WORK/out" 2>"$WORK/err" &
	pid=$!
	at_exit "stop_pid $pid"
	wait_for 20 platform_true "$fetches >= 1" "$port" || true
	reset_platform "?$fail=2" "$port"
	wait_for 40 platform_true "$fetches >= 2 and fn('$path')['requests'] >= 24" "$port" || true
	stop_pid "$pid"
	check_eq "failing refresh: two fetches failed" 2 "$(report "r['$cloud']['failed_fetches']" "$port")"
	check_ge "failing refresh: then one got a token" 1 "$(report "$fetches" "$port")"
	check "failing refresh: retried after 1 s, then after 2 s" \
		grep -Pzq 'HTTP 500[^;\n]*; retrying in 1 s\n(.*\n)*.*HTTP 500[^;\n]*; retrying in 2 s' "$WORK/err"
	check_eq "failing refresh: the new token came before the old one expired" 0 \
		"$(report "r['$cloud']['late_refreshes']" "$port")"
	check_eq "failing refresh: no request refused, the token in hand kept serving" "{}" \
		"$(report "r['$cloud']['refused']" "$port")"
	check "failing refresh: no round went without the token" bash -c '! grep -q "$1" "$2"' - "$no_token" "$WORK/err"
	check_ge "failing refresh: 12 rounds of 2 reached the front meanwhile" 24 \
		"$(report "r['$cloud']['accepted']" "$port")"
}
