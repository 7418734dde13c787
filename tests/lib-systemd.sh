# shellcheck shell=bash disable=SC2034
#
# Helpers for the tests that run warmd against real systemd parts:
# a private systemd-journald, a hand-made sd_notify receiver, and systemd
# as PID 1 in systemd-nspawn.  Sourced by tests/journal.sh, tests/notify.sh
# and tests/systemd.sh; they run as automake TESTS with WARMD, top_srcdir
# and top_builddir in the environment.  Exit status 77 means "skipped".

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${WARMD:=$top_builddir/src/warmd}"
export top_srcdir top_builddir WARMD
# Whatever service manager runs the tests must not hear from warmd.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM CREDENTIALS_DIRECTORY

# The interpreter itself, not a wrapper script in front of it (starts faster).
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
FAAS_SIM="$top_srcdir/tests/faas-sim.py"

# Message ids of warmd's journal records (see catalog/warmd.catalog).
MID_REQUEST=c7b0bcd3252f4b3dba81fe8cf8739cec
MID_ROUND=36000c07cf604447999d555c60a2e889
MID_SHORT=eea9db3034b444939b3b46d0e41e4458
MID_CONFIG=fd7ead82897b4c198b6bf8d084bbcf1b
MID_RELOAD_REJECTED=d882634e51414c3e9742fbb32cf59f7a
MID_START=c570a60c867c4b5cbd907321de78e307
MID_STOP=29fc3ff0616a4525847f7e361773f66b
MID_SKIPPED=53ccfd41088645a7b528f815865bf77c

# ------------------------------------------------------------------ results

T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)

say()  { printf '%s: %s\n' "$T_NAME" "$*"; }
pass() { T_PASS=$((T_PASS + 1)); printf 'PASS: %s\n' "$*"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
skip() { printf 'SKIP: %s: %s\n' "$T_NAME" "$*"; exit 77; }

# check DESCRIPTION COMMAND...: one assertion, one line.
check() {
	local what=$1
	shift
	if "$@" >/dev/null; then pass "$what"; else fail "$what"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1 ($3)"
	else
		fail "$1 (expected '$2', got '$3')"
	fi
}

# check_ge DESCRIPTION MIN ACTUAL
check_ge() {
	if [[ $3 =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		pass "$1 ($3 >= $2)"
	else
		fail "$1 (expected >= $2, got '$3')"
	fi
}

# count_lines FILE CONDITION [AWK OPTIONS...]: lines of the tab-separated
# FILE for which the awk CONDITION holds ("awk error" if it does not run).
count_lines() {
	local f=$1 cond=$2 n
	shift 2
	n=$(awk -F'\t' "$@" "($cond) { n++ } END { print n + 0 }" "$f") || n="awk error"
	echo "$n"
}

finish() {
	say "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# bail: stop here after a failed precondition.
bail() {
	finish || true
	exit 1
}

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

# ------------------------------------------------------------------ cleanup

# Every resource a test creates registers how to undo it; the EXIT trap
# undoes everything in reverse order, also when the test fails.
T_CLEANUP=()
at_exit() { T_CLEANUP+=("$*"); }

run_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[i]}"
	done
	T_CLEANUP=()
	exit "$rc"
}
trap run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/warmd-${T_NAME}.XXXXXX")
at_exit "rm -rf '$T_DIR'"

# stop_pid PID: TERM, wait up to 2 s, then KILL; always reap.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie child counts as gone.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# wait_for SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds.
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

require_warmd() {
	[ -x "$WARMD" ] || skip "warmd binary not found at $WARMD"
	require_cmd "$PYTHON"
	[ -r "$FAAS_SIM" ] || skip "$FAAS_SIM not found"
}

# enter_mount_ns "$@": re-run this script in a private mount namespace, so
# every mount it makes disappears with it.
enter_mount_ns() {
	if [ "${WARMD_TEST_MOUNT_NS:-}" != "$T_NAME" ]; then
		require_root
		require_cmd unshare
		unshare --mount --propagation private true 2>/dev/null ||
			skip "cannot create a mount namespace"
		trap - EXIT
		rm -rf "$T_DIR"
		WARMD_TEST_MOUNT_NS=$T_NAME exec unshare --mount --propagation private \
			bash "$0" "$@"
	fi
}

# ------------------------------------------------------------------ platform

# sim_start NAME [faas-sim options]: run faas-sim on 127.0.0.1 with a free
# port; sets SIM_PORT_<NAME> and SIM_PID_<NAME>.
sim_start() {
	local name=$1 pf pid port
	shift
	pf="$T_DIR/sim-$name.port"
	"$PYTHON" "$FAAS_SIM" --host 127.0.0.1 --port 0 --port-file "$pf" \
		--max-seconds 300 -q "$@" >"$T_DIR/sim-$name.log" 2>&1 &
	pid=$!
	at_exit "stop_pid $pid"
	if ! wait_for 10 test -s "$pf"; then
		cat "$T_DIR/sim-$name.log" >&2
		fail "faas-sim $name did not start"
		exit 1
	fi
	port=$(cat "$pf")
	printf -v "SIM_PORT_$name" '%s' "$port"
	printf -v "SIM_PID_$name" '%s' "$pid"
}

# sim_report PORT [detail]: the platform's record as JSON on stdout.
sim_report() {
	"$PYTHON" -S - "$1" "${2:-0}" <<'EOF'
import sys, urllib.request
port, detail = sys.argv[1], sys.argv[2]
url = "http://127.0.0.1:%s/_report%s" % (port, "?detail=1" if detail != "0" else "")
with urllib.request.urlopen(url, timeout=5) as r:
    sys.stdout.write(r.read().decode())
EOF
}

# sim_requests PORT PATH: requests the platform counted for PATH (0 if none).
sim_requests() {
	sim_report "$1" | "$PYTHON" -S -c '
import json, sys
r = json.load(sys.stdin)
print(r["functions"].get(sys.argv[1], {}).get("requests", 0))' "$2"
}

# sim_has PORT PATH N: the platform counted at least N requests for PATH.
sim_has() {
	[ "$(sim_requests "$1" "$2")" -ge "$3" ]
}

# ------------------------------------------------------------------ journald

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
		>"$T_DIR/journald.log" 2>&1 &
	JOURNALD_PID=$!
	at_exit "stop_pid $JOURNALD_PID"
	if ! wait_for 5 test -S /run/systemd/journal/socket; then
		cat "$T_DIR/journald.log" >&2
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

# ------------------------------------------------------------------ rootfs for nspawn

ROOTFS_PACKAGES="systemd,systemd-sysv,dbus,procps,python3,libcurl4,libinih1,libjson-c5"

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

# rootfs_ensure DIR: a cached minimal Debian bookworm with systemd, built
# once with debootstrap; skips the test when that is impossible.
rootfs_ensure() {
	local dir=$1 stamp="$1/.warmd-test-rootfs" mirror tmp
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
		bookworm "$tmp" "$mirror" >"$T_DIR/debootstrap.log" 2>&1; then
		tail -n 20 "$T_DIR/debootstrap.log" >&2
		skip "debootstrap failed (log above)"
	fi
	# No getty on the console, no units that need the host.
	rm -f "$tmp/etc/systemd/system/getty.target.wants/"*
	: >"$tmp/etc/machine-id"
	printf '%s' "$ROOTFS_PACKAGES" >"$tmp/.warmd-test-rootfs"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

# jfields FIELDS [journalctl matches...]: one line per journal record with
# the values of the comma-separated FIELDS, tab-separated; "<none>" when a
# record lacks a field.
jfields() {
	local fields=$1 out
	shift
	out="$T_DIR/jfields.json"
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
	local ready="$T_DIR/notify.ready" pid
	NOTIFY_LOG="$T_DIR/notify.log"
	: >"$NOTIFY_LOG"
	"$PYTHON" "$top_srcdir/tests/notify-recv.py" "$T_DIR/notify.sock" "$NOTIFY_LOG" \
		--ready "$ready" --max-seconds 300 2>"$T_DIR/notify-recv.err" &
	pid=$!
	at_exit "stop_pid $pid"
	if ! wait_for 10 test -s "$ready"; then
		cat "$T_DIR/notify-recv.err" >&2
		fail "notify receiver did not start"
		exit 1
	fi
	export NOTIFY_SOCKET="$T_DIR/notify.sock"
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
