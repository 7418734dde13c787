/* SPDX-License-Identifier: MIT */
/* test-notify.c: the STATUS line systemctl shows, and when the watchdog calls an endpoint late. */
#include "config.h"

#include <inttypes.h>

#include "tests.h"
#include "warmd.h"

static void test_status_format(void) {
        static const struct {
                struct status_totals t;
                uint64_t now;
                const char *extra;
                const char *want;
        } cases[] = {
                { { .endpoints = 1, .containers = 1 }, 0, NULL, "1 endpoint, 1 container; first round running" },
                { { .endpoints = 12, .containers = 140, .next_usec = 5 * USEC_PER_SEC }, 2 * USEC_PER_SEC, NULL,
                  "12 endpoints, 140 containers; first round running; next in 3s" },
                { { .endpoints = 12, .containers = 140, .have_round = true, .round_containers = 140, .reached = 138, .warm = 131, .cold = 7,
                    .failed = 2, .next_usec = 1000 * USEC_PER_SEC },
                  (1000 - 892) * USEC_PER_SEC, NULL,
                  "12 endpoints, 140 containers; last round HH:MM:SS: 138/140 reached (131 warm, 7 cold, 2 failed); "
                  "next in 14m52s" },
                { { .endpoints = 2, .containers = 4, .have_round = true, .round_containers = 4, .reached = 4, .warm = 4,
                    .next_usec = 7300 * USEC_PER_SEC },
                  100 * USEC_PER_SEC, "reload failed at 10:00:00, running previous configuration",
                  "2 endpoints, 4 containers; last round HH:MM:SS: 4/4 reached (4 warm, 0 cold, 0 failed); "
                  "next in 2h00m; reload failed at 10:00:00, running previous configuration" },
                { { .endpoints = 2, .containers = 4, .next_usec = 5 }, 10, NULL,
                  "2 endpoints, 4 containers; first round running; next now" },
                { { .endpoints = 3, .containers = 9, .have_round = true, .round_containers = 9, .reached = 9, .cold = 3, .warm = 6,
                    .reclaim_endpoints = 1, .reclaim_name = "orders", .reclaim_max_usec = 895 * USEC_PER_SEC,
                    .reclaim_suggest_usec = 448 * USEC_PER_SEC },
                  0, NULL,
                  "3 endpoints, 9 containers; last round HH:MM:SS: 9/9 reached (6 warm, 3 cold, 0 failed); "
                  "containers reclaimed between rounds on 1 endpoint (orders: idle lifetime under 14m55s, "
                  "suggested interval 7m28s)" },
                { { .endpoints = 3, .containers = 9, .have_round = true, .round_containers = 9, .reached = 9, .warm = 9,
                    .reclaim_endpoints = 2, .reclaim_name = "search", .reclaim_min_usec = 290 * USEC_PER_SEC,
                    .reclaim_max_usec = 595 * USEC_PER_SEC, .reclaim_suggest_usec = 290 * USEC_PER_SEC },
                  0, NULL,
                  "3 endpoints, 9 containers; last round HH:MM:SS: 9/9 reached (9 warm, 0 cold, 0 failed); "
                  "containers reclaimed between rounds on 2 endpoints (search: idle lifetime 4m50s to 9m55s, "
                  "suggested interval 4m50s)" },
                /* Endpoints asleep outside their schedule's windows: how many, and the first wake (TZ is UTC here). */
                { { .endpoints = 3, .containers = 2, .have_round = true, .round_containers = 2, .reached = 2, .warm = 2, .sleeping = 2,
                    .wake_realtime = UINT64_C(1796628600) * USEC_PER_SEC },
                  0, NULL,
                  "3 endpoints, 2 containers; last round HH:MM:SS: 2/2 reached (2 warm, 0 cold, 0 failed); "
                  "2 sleeping, next wakes Mon 07:30 UTC" },
                /* All asleep: none wanted now, and the last rounds reached what they were sent for. */
                { { .endpoints = 1, .containers = 0, .have_round = true, .round_containers = 2, .reached = 2, .warm = 2,
                    .sleeping = 1, .wake_realtime = UINT64_C(1796628600) * USEC_PER_SEC },
                  0, NULL,
                  "1 endpoint, 0 containers; last round HH:MM:SS: 2/2 reached (2 warm, 0 cold, 0 failed); "
                  "1 sleeping, next wakes Mon 07:30 UTC" },
        };

        setenv("TZ", "UTC", 1);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[512], want[512], *p;

                CHECK(notify_status_format(&cases[i].t, cases[i].now, cases[i].extra, buf, sizeof buf) == 0,
                      "case %zu: format", i);
                /* The clock time is today's; compare its shape, not its value. */
                snprintf(want, sizeof want, "%s", cases[i].want);
                p = strstr(want, "HH:MM:SS");
                if (p)
                        memcpy(p, "00:00:00", 8);
                CHECK(streq(buf, want), "case %zu:\n  got:  %s\n  want: %s", i, buf, want);
        }

        {
                struct status_totals t = { .endpoints = 1, .containers = 1 };
                char small[16];

                CHECK(notify_status_format(&t, 0, NULL, small, sizeof small) == -ENOBUFS, "too small a buffer");
        }
}

#define S USEC_PER_SEC

static void test_watchdog_late(void) {
        /* interval 10s, jitter 2s, timeout 3s: late once a deadline is more than 15s past. */
        static const struct endpoint_config ep = {
                .name = "api", .interval_usec = 10 * S, .jitter_usec = 2 * S, .timeout_usec = 3 * S,
        };
        static const struct {
                uint64_t timer, answers, now;
                uint64_t want;
                const char *why;
        } cases[] = {
                /* The timer is due later: nothing waits yet. */
                { 1000 * S, 0, 990 * S, 0, NULL },
                /* A timer that fires a little late, in a busy loop: not late. */
                { 1000 * S, 0, 1001 * S, 0, NULL },
                /* Exactly the allowance: still on time. */
                { 1000 * S, 0, 1015 * S, 0, NULL },
                /* A microsecond more, and the timer is lost. */
                { 1000 * S, 0, 1015 * S + 1, 15 * S + 1, "endpoint api: round 8 is 16s late, more than "
                  "interval + jitter + timeout (15s)" },
                { 1000 * S, 0, 1130 * S, 130 * S, "endpoint api: round 8 is 2m10s late, more than "
                  "interval + jitter + timeout (15s)" },
                /* A timer with no deadline (none was ever armed) is never late. */
                { 0, 0, 5000 * S, 0, NULL },
                /* A round in flight whose requests have not timed out yet, the timer on time: not late. */
                { 1008 * S, 1003 * S, 1006 * S, 0, NULL },
                /* Requests neither answered nor timed out, long after their timeout: late, the timer on time. */
                { 1990 * S, 1003 * S, 1985 * S, 982 * S, "endpoint api: round 7 has waited for answers 16m22s "
                  "past its timeout, more than interval + jitter + timeout (15s)" },
                /* Both late: the one that passed first is reported. */
                { 1000 * S, 1010 * S, 1100 * S, 100 * S, "endpoint api: round 8 is 1m40s late, more than "
                  "interval + jitter + timeout (15s)" },
                { 1050 * S, 1010 * S, 1100 * S, 90 * S, "endpoint api: round 7 has waited for answers 1m30s "
                  "past its timeout, more than interval + jitter + timeout (15s)" },
                /* A clock read before the deadline it is compared to (the loop's time is cached): not late. */
                { UINT64_MAX, UINT64_MAX, 5, 0, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct round_clock c = {
                        .cfg = &ep, .round = 7, .timer_usec = cases[i].timer, .answers_usec = cases[i].answers,
                };
                char why[256] = "untouched";
                uint64_t got = watchdog_late(&c, cases[i].now, why, sizeof why);

                CHECK(got == cases[i].want, "watchdog case %zu: late %" PRIu64 ", want %" PRIu64, i, got,
                      cases[i].want);
                CHECK(streq(why, cases[i].why ? cases[i].why : "untouched"),
                      "watchdog case %zu:\n  got:  %s\n  want: %s", i, why, cases[i].why ? cases[i].why : "untouched");
        }

        {
                /* No jitter, the smallest timeout: the allowance is the interval and the timeout. */
                const struct endpoint_config fast = { .name = "f", .interval_usec = S, .timeout_usec = S / 1000 };
                struct round_clock c = { .cfg = &fast, .timer_usec = 10 * S };
                char why[256];

                CHECK(watchdog_late(&c, 11 * S + S / 1000, why, sizeof why) == 0, "fast: at the allowance");
                CHECK(watchdog_late(&c, 11 * S + S / 1000 + 1, why, sizeof why) > 0, "fast: past the allowance");
        }
}

int main(void) {
        test_status_format();
        test_watchdog_late();
        return tests_result("test-notify");
}
