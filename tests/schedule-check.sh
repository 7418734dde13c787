#!/bin/bash
# warmd -n with schedules: each scheduled endpoint's next boundaries in the
# local time of "timezone", with the zone, through a daylight-saving change,
# and its requests a day and a month against warming around the clock; an
# unknown zone is a FILE:LINE error.  And the status line's times are in
# "timezone" even without a schedule.  warmd runs under libfaketime at chosen
# instants, so the figures are fixed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_cmd faketime

# Office hours in Berlin, on Monday 2026-12-07 at 06:00 CET: 30 days from then
# hold 22 week days of 138 rounds of 10 and 48 of 3, and 8 week-end days of
# 72 rounds of 2: 34680 requests, where around the clock would be 86400.
cat >"$WORK/office.conf" <<'CONF'
[global]
timezone = Europe/Berlin
interval = 5m

[orders-api]
url = https://orders.example.com/warm
containers = 10
schedule = Mon-Fri 07:30-19:00
schedule = Mon-Fri 19:00-23:00 3
schedule = Sat,Sun 10:00-16:00 2

[always]
url = https://always.example.com/warm
containers = 1
interval = 15m
CONF
rc=0
out=$(TZ=UTC faketime '2026-12-07 05:00:00' "$WARMD" -n -c "$WORK/office.conf" 2>&1) || rc=$?
check_eq "office hours: -n exits 0" 0 "$rc"
check_eq "office hours: next boundaries in CET, requests a day and a month, and the totals" "[orders-api] now sleeping
  Mon 2026-12-07 07:30 CET: wake, 10 containers
  Mon 2026-12-07 19:00 CET: 3 containers
  Mon 2026-12-07 23:00 CET: sleep
  Tue 2026-12-08 07:30 CET: wake, 10 containers
  requests: 1156 a day, 34680 a month (around the clock: 86400 a month)
all endpoints: 1252 requests a day, 37560 a month; around the clock 89280 a month, so the schedules save 51720 (57%)
configuration OK" "$(sed -n '/^\[orders-api\] now/,$p' <<<"$out")"

# New York falls back on Sunday 2026-11-01: 01:15 happens twice, and counts once, at its first (EDT).
cat >"$WORK/ny.conf" <<'CONF'
[global]
timezone = America/New_York
[night]
url = https://night.example.com/
containers = 4
interval = 1m
schedule = Sun 01:15-01:45 3
CONF
out=$(TZ=UTC faketime '2026-11-01 05:00:00' "$WARMD" -n -c "$WORK/ny.conf" 2>&1) || true
check_eq "fall-back: the repeated 01:15 counts at its first occurrence, in EDT; a week on, in EST" "[night] now sleeping
  Sun 2026-11-01 01:15 EDT: wake, 3 containers
  Sun 2026-11-01 01:45 EDT: sleep
  Sun 2026-11-08 01:15 EST: wake, 3 containers
  Sun 2026-11-08 01:45 EST: sleep" "$(sed -n '/^\[night\] now/,$p' <<<"$out" | head -n 5)"

# A zone tzdata does not have: -n fails at its line, and says what was expected.
printf '[global]\ntimezone = Europe/Berlinn\n[e]\nurl = http://127.0.0.1/\ncontainers = 1\n' >"$WORK/bad.conf"
rc=0
"$WARMD" -n -c "$WORK/bad.conf" >"$WORK/out" 2>"$WORK/err" || rc=$?
check_eq "unknown timezone: -n exits 1" 1 "$rc"
check_eq "unknown timezone: FILE:LINE and what was expected" \
	"$WORK/bad.conf:2: timezone: unknown time zone 'Europe/Berlinn' (not in /usr/share/zoneinfo; use a name of tzdata such as Europe/Berlin)" \
	"$(cat "$WORK/err")"
check_eq "unknown timezone: nothing on stdout" "" "$(cat "$WORK/out")"

# The zone is the process's: without any schedule, the status line's times are in it too.
faketime_setup
start_platform --hold-ms 20 --cold-ms 0
notify_start
conf timezone=Asia/Kolkata interval=1h -- e /e 1 >"$WORK/kolkata.conf"
fake_clock_warmd "$(date -u -d '2026-12-07 06:30:00' +%s)" "$WORK/kolkata.conf"
check "timezone without a schedule: the status line's last round is at 12:00 in Kolkata, 06:30 UTC" \
	notify_wait 10 '^STATUS=1 endpoint, 1 container; last round 12:00:'
terminate "$WARMD_PID"
finish
