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
