#!/bin/bash
# sanitizers: skip (its LD_PRELOAD malloc cannot come before the ASan runtime)
# Exit status 3: out of memory while the configuration is read is a runtime
# failure, not a configuration error, and never "configuration OK" for a file
# read in part.  Memory runs out through tests/oom-preload.c, which makes
# every allocation fail once the configuration file has been opened.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

cc=${CC:-cc}
command -v "$cc" >/dev/null || skip "no C compiler ($cc) to build the preload library"
"$cc" -shared -fPIC -o "$WORK/oom.so" "$top_srcdir/tests/oom-preload.c" -ldl 2>"$WORK/cc.log" ||
	{ cat "$WORK/cc.log"; skip "cannot build tests/oom-preload.c"; }

cat >"$WORK/warmd.conf" <<CONF
[a]
url = http://127.0.0.1:1/a
containers = 2
header = X-Warmup: 1
CONF
# Loaded but not triggered, the library changes nothing.
rc=0
LD_PRELOAD="$WORK/oom.so" "$WARMD" -n -c "$WORK/warmd.conf" >"$WORK/out" 2>&1 || rc=$?
check_eq "with the library loaded but no trigger: -n says OK" "0 configuration OK" "$rc $(tail -n1 "$WORK/out")"

# oom ARGS...: warmd ARGS -c FILE with memory gone once FILE is open; prints "STATUS STDOUT".
oom() {
	local rc=0
	OOM_AFTER_OPEN="$WORK/warmd.conf" LD_PRELOAD="$WORK/oom.so" \
		"$WARMD" "$@" -c "$WORK/warmd.conf" >"$WORK/out" 2>"$WORK/err" || rc=$?
	echo "$rc $(head -c 200 "$WORK/out")"
}
check_eq "-n, out of memory while reading the file: exit 3, nothing on stdout" "3 " "$(oom -n)"
check_eq "-n --json, out of memory while reading the file: exit 3, nothing on stdout" "3 " "$(oom -n --json)"
check_eq "--once, out of memory while reading the file: exit 3" "3 " "$(oom --once)"
check_eq "the daemon, out of memory while reading the file: exit 3" "3 " "$(oom)"
finish
