/* SPDX-License-Identifier: MIT */
/* test-notify.c: the STATUS line systemctl shows. */
#include "config.h"

#include "tests.h"
#include "warmd.h"

int main(void) {
        static const struct {
                struct status_totals t;
                uint64_t now;
                const char *extra;
                const char *want;
        } cases[] = {
                { { .endpoints = 1, .containers = 1 }, 0, NULL, "1 endpoint, 1 container; first round running" },
                { { .endpoints = 12, .containers = 140, .next_usec = 5 * USEC_PER_SEC }, 2 * USEC_PER_SEC, NULL,
                  "12 endpoints, 140 containers; first round running; next in 3s" },
                { { .endpoints = 12, .containers = 140, .have_round = true, .reached = 138, .warm = 131, .cold = 7,
                    .failed = 2, .next_usec = 1000 * USEC_PER_SEC },
                  (1000 - 892) * USEC_PER_SEC, NULL,
                  "12 endpoints, 140 containers; last round HH:MM:SS: 138/140 reached (131 warm, 7 cold, 2 failed); "
                  "next in 14m52s" },
                { { .endpoints = 2, .containers = 4, .have_round = true, .reached = 4, .warm = 4,
                    .next_usec = 7300 * USEC_PER_SEC },
                  100 * USEC_PER_SEC, "reload failed at 10:00:00, running previous configuration",
                  "2 endpoints, 4 containers; last round HH:MM:SS: 4/4 reached (4 warm, 0 cold, 0 failed); "
                  "next in 2h00m; reload failed at 10:00:00, running previous configuration" },
                { { .endpoints = 2, .containers = 4, .next_usec = 5 }, 10, NULL,
                  "2 endpoints, 4 containers; first round running; next now" },
                { { .endpoints = 3, .containers = 9, .have_round = true, .reached = 9, .cold = 3, .warm = 6,
                    .reclaim_endpoints = 1, .reclaim_name = "orders", .reclaim_max_usec = 895 * USEC_PER_SEC,
                    .reclaim_suggest_usec = 448 * USEC_PER_SEC },
                  0, NULL,
                  "3 endpoints, 9 containers; last round HH:MM:SS: 9/9 reached (6 warm, 3 cold, 0 failed); "
                  "containers reclaimed between rounds on 1 endpoint (orders: idle lifetime under 14m55s, "
                  "suggested interval 7m28s)" },
                { { .endpoints = 3, .containers = 9, .have_round = true, .reached = 9, .warm = 9,
                    .reclaim_endpoints = 2, .reclaim_name = "search", .reclaim_min_usec = 290 * USEC_PER_SEC,
                    .reclaim_max_usec = 595 * USEC_PER_SEC, .reclaim_suggest_usec = 290 * USEC_PER_SEC },
                  0, NULL,
                  "3 endpoints, 9 containers; last round HH:MM:SS: 9/9 reached (9 warm, 0 cold, 0 failed); "
                  "containers reclaimed between rounds on 2 endpoints (search: idle lifetime 4m50s to 9m55s, "
                  "suggested interval 4m50s)" },
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
        return tests_result("test-notify");
}
