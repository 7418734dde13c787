#!/bin/bash
# test-timeout: 300
# sanitizers: skip (valgrind cannot run a binary built with ASan)
# Memory errors and leaks: warmd under valgrind through its main paths:
# -n on a bad file, --once with failing endpoints, and a daemon that reloads
# (good file, then a broken one) and stops in the middle of a slow round.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v valgrind >/dev/null || skip "valgrind is not installed"
VG=(valgrind -q --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --track-fds=no)

start_platform --hold-ms 50 --cold-ms 50

rc=0
"${VG[@]}" "$WARMD" -n -c "$top_srcdir/tests/data/bad.conf" >/dev/null 2>"$WORK/vg-n" || rc=$?
check_eq "-n on bad.conf under valgrind: exit 1, no errors" 1 "$rc"

# Drop-ins, a [global] in each, and both reports of -n.
mkdir "$WORK/set.conf.d"
printf '[global]\ninterval = 1m\n[a]\nurl = http://u:p@127.0.0.1:1/a?k=v\ncontainers = 2\nheader = X-A: 1\n' >"$WORK/set.conf"
printf '[global]\ninterval = 2m\n[b]\nurl = http://127.0.0.1:1/b\ncontainers = 1\n' >"$WORK/set.conf.d/10-b.conf"
for json in "" --json; do
	rc=0
	"${VG[@]}" "$WARMD" -n $json -c "$WORK/set.conf" >/dev/null 2>"$WORK/vg-set" || rc=$?
	check_eq "-n $json on a file with drop-ins under valgrind: exit 0, no errors" 0 "$rc"
	[ "$rc" = 42 ] && cat "$WORK/vg-set"
done
printf '[a]\nurl = http://127.0.0.1:1/a\ncontainers = 1\n' >"$WORK/set.conf.d/20-dup.conf"
rc=0
"${VG[@]}" "$WARMD" -n -c "$WORK/set.conf" >/dev/null 2>"$WORK/vg-set" || rc=$?
check_eq "-n on a duplicate across drop-ins under valgrind: exit 1, no errors" 1 "$rc"

cat >"$WORK/once.conf" <<CONF
[global]
timeout = 2s
metrics_file = $WORK/warmd.prom
[shared]
url = http://127.0.0.1:$PORT/shared?per_container=4
containers = 3
instance_header = X-Container-Id
[good]
url = http://127.0.0.1:$PORT/good
containers = 20
reuse_json = reused
instance_json = container
[dead]
url = http://127.0.0.1:1/
containers = 2
[e500]
url = http://127.0.0.1:$PORT/e?status=500
containers = 2
[slow]
url = http://127.0.0.1:$PORT/slow?hold_ms=5000
containers = 2
timeout = 300ms
CONF
rc=0
"${VG[@]}" "$WARMD" --once --json -c "$WORK/once.conf" >/dev/null 2>"$WORK/vg-once" || rc=$?
check_eq "--once --json under valgrind: exit 2 (some endpoints fail), no errors" 2 "$rc"
[ "$rc" = 42 ] && cat "$WORK/vg-once"

reset_platform
sed -e "s/containers = 20/containers = 5/" "$WORK/once.conf" | sed -e 's/^\[global\]/[global]\ninterval = 1s/' >"$WORK/d.conf"
"${VG[@]}" "$WARMD" -c "$WORK/d.conf" >/dev/null 2>"$WORK/vg-d" &
VPID=$!
at_exit "stop_pid $VPID"
wait_for 30 platform_true 'fn("/good")["requests"] >= 10 and fn("/shared")["requests"] >= 10' ||
	fail "daemon under valgrind did not send two rounds, with top-ups"
printf '[global]\ninterval = 1s\n[good]\nurl = http://127.0.0.1:%s/good\ncontainers = 3\n' "$PORT" >"$WORK/d.conf"
mkdir "$WORK/d.conf.d"
printf '[new]\nurl = http://127.0.0.1:%s/new?hold_ms=20000\ncontainers = 2\ntimeout = 60s\n' "$PORT" >"$WORK/d.conf.d/new.conf"
kill -HUP "$VPID"
wait_for 30 platform_true 'fn("/new")["requests"] >= 2' || fail "reload under valgrind did not add the new endpoint"
echo '[broken' >"$WORK/d.conf"
kill -HUP "$VPID"
sleep 1
kill -TERM "$VPID"
rc=0
wait "$VPID" || rc=$?
check_eq "daemon under valgrind: reload, broken reload, stop mid-round: exit 0, no errors" 0 "$rc"
[ "$rc" = 42 ] && cat "$WORK/vg-d"
finish
