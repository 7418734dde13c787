#!/bin/bash
# SPDX-License-Identifier: MIT
#
# warmd on a configuration without endpoints, as the Debian package starts
# it: READY=1; a STATUS= line and a notice-level journal record (in a
# private journald) that say what to do, nothing at warning or worse; no
# request while idle; a rejected reload says so and stays idle; a reload
# that adds an endpoint warms it, by the platform's own record.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

enter_mount_ns "$@"
journald_start
start_platform
notify_start

cfg="$WORK/warmd.conf"
conf interval=1s >"$cfg"
idle="no endpoints configured: edit $cfg, then systemctl reload warmd"

"$WARMD" -c "$cfg" >"$WORK/warmd.out" 2>&1 &
wpid=$!
at_exit "stop_pid $wpid"

check "READY=1" notify_wait 5 '^READY=1$'
check_eq "STATUS= says it is idle, and what to do" "STATUS=$idle" \
	"$(notify_wait 5 '^STATUS=' | cut -f4)"
idle_record() { [ "$(jcount _PID="$wpid" MESSAGE_ID="$WARMD_MESSAGE_IDLE")" -ge 1 ]; }
check "the journal: a record that says it is idle" wait_for 5 idle_record
check_eq "the journal: that record, at priority notice" "5	$idle" \
	"$(jfields PRIORITY,MESSAGE _PID="$wpid" MESSAGE_ID="$WARMD_MESSAGE_IDLE")"
# What must not happen can only be waited out: longer than the interval (1 s) that a round would
# keep, and no longer.
sleep 1.5
check_eq "idle: nothing at warning or worse in the journal" 0 "$(jcount _PID="$wpid" -p warning)"
check_eq "idle: the platform saw no request" 0 "$(report 'sum(v["requests"] for v in f.values())')"
check "idle: warmd is still running" kill -0 "$wpid"

# ------------------------------------------------------------ a rejected reload, still idle

printf '[global]\ninterval = 1s\n[broken]\ncontainers = 2\n' >"$cfg"
seq0=$(notify_seq)
kill -HUP "$wpid"
check "rejected reload: READY=1 again" notify_wait 5 '^READY=1$' "$seq0"
check "rejected reload: STATUS= still says idle, and that the reload failed" \
	notify_find "^STATUS=$idle; reload failed at " "$seq0"

# ------------------------------------------------------------ an endpoint: warm

cat >"$cfg" <<EOF
[global]
interval = 1s

[idle-orders]
url = http://127.0.0.1:$PORT/idle-orders
containers = 3
reuse_header = X-Container-Reused
instance_header = X-Container-Id
EOF
seq0=$(notify_seq)
kill -HUP "$wpid"
check "reload with an endpoint: READY=1" notify_wait 5 '^READY=1$' "$seq0"
check "reload with an endpoint: the platform sees 3 containers in use, then warm" \
	wait_for 10 platform_true 'fn("/idle-orders")["distinct_containers"] >= 3 and fn("/idle-orders")["warm"] >= 3'
check "reload with an endpoint: STATUS= counts it" notify_find '^STATUS=1 endpoint, 3 containers' "$seq0"

finish
