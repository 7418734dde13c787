#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The schedule's journal records, read back from a real (private)
# systemd-journald: warmd on a fake wall clock 5 s before Monday 07:30 in
# Europe/Berlin says, with MESSAGE_ID and fields, that [opens] sleeps at
# start and wakes at 07:30, that [switches] changes N from 3 to 1, and that
# [closes] goes to sleep until next Monday.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_root
enter_mount_ns "$@"
faketime_setup
journald_start
start_platform --hold-ms 20 --cold-ms 0

B=$(date -u -d '2026-12-07 06:30:00' +%s)      # Mon 07:30 CET
sed "s/@PORT@/$PORT/" "$top_srcdir/tests/data/schedule-boundary.conf" >"$WORK/warmd.conf"
fake_clock_warmd $((B - 5)) "$WORK/warmd.conf"

records() {
	jfields WARMD_ENDPOINT,WARMD_SCHEDULE,WARMD_PREVIOUS_CONTAINERS,WARMD_CONTAINERS,WARMD_NEXT_BOUNDARY_USEC,PRIORITY \
		MESSAGE_ID="$WARMD_MESSAGE_SCHEDULE"
}
has_records() { [ "$(records | wc -l)" -ge "$1" ]; }
wait_for 20 has_records 6 || fail "fewer than 6 schedule records: $(records)"
# The boundaries in usec: Mon 08:00 CET; next Monday 07:00 CET.
u8=$(((B + 1800) * 1000000))
u7=$(((B + 7 * 86400 - 1800) * 1000000))
T=$'\t'
check_eq "[opens]: asleep at start until 07:30, then awake with 3 until 08:00" \
	"opens${T}sleep${T}0${T}0${T}$((B * 1000000))${T}6
opens${T}wake${T}0${T}3${T}$u8${T}6" "$(records | grep '^opens' || true)"
check_eq "[switches]: awake with 3 at start, then N from 3 to 1 at 07:30" \
	"switches${T}wake${T}0${T}3${T}$((B * 1000000))${T}6
switches${T}change${T}3${T}1${T}$u8${T}6" "$(records | grep '^switches' || true)"
check_eq "[closes]: awake with 2 at start, asleep at 07:30 until next Monday 07:00" \
	"closes${T}wake${T}0${T}2${T}$((B * 1000000))${T}6
closes${T}sleep${T}2${T}0${T}$u7${T}6" "$(records | grep '^closes' || true)"
check_eq "the message says when, in the zone" 1 \
	"$(jctl MESSAGE_ID="$WARMD_MESSAGE_SCHEDULE" WARMD_ENDPOINT=closes WARMD_SCHEDULE=sleep -o cat |
		grep -c "^closes: outside its schedule's windows; sleeping until Mon 2026-12-14 07:00 CET$" || true)"
terminate "$WARMD_PID"
finish
