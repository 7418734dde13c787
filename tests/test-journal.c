/* SPDX-License-Identifier: MIT */
/* test-journal.c: the fields of each kind of journal record, built without a journal. */
#include "config.h"

#include <inttypes.h>
#include <wchar.h>

#include "tests.h"
#include "internal.h"

static const struct endpoint_config ep = {
        .name = "orders-api",
        /* The journal shows the display form config.c made, never the URL with its secrets. */
        .url = "http://alice:PASSWORD@127.0.0.1:8080/orders?code=KEY",
        .url_display = "http://***@127.0.0.1:8080/orders?code=***",
        .containers = 10,
};

struct field {
        const char *name, *value;       /* value NULL: must be absent */
};

static void expect_fields(const char *what, const struct journal_record *rec, const struct field *f, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *v = journal_record_get(rec, f[i].name);

                if (!f[i].value)
                        CHECK(!v, "%s: %s must be absent, is '%s'", what, f[i].name, v);
                else
                        CHECK(v && streq(v, f[i].value), "%s: %s = '%s', want '%s'", what, f[i].name, v ? v : "(absent)",
                              f[i].value);
        }
}

/* No field of a record carries the URL's password or query key. */
static void expect_no_secret(const char *what, const struct journal_record *rec) {
        for (size_t i = 0; i < rec->n; i++)
                CHECK(!strstr(rec->fields[i], "PASSWORD") && !strstr(rec->fields[i], "KEY"), "%s: a secret in %s", what,
                      rec->fields[i]);
}

static void test_request(void) {
        static const struct {
                const char *what;
                struct result r;
                int priority;
                struct field fields[13];
        } cases[] = {
                { "warm with instance",
                  { .ok = true, .http_status = 200, .total_usec = 12400, .connect_usec = 300, .ttfb_usec = 12000,
                    .reuse = REUSE_WARM, .instance = "c-7" },
                  LOG_INFO,
                  { { "MESSAGE_ID", WARMD_MESSAGE_REQUEST }, { "PRIORITY", "6" }, { "WARMD_ENDPOINT", "orders-api" },
                    { "WARMD_URL", "http://***@127.0.0.1:8080/orders?code=***" }, { "WARMD_ROUND", "3" }, { "WARMD_REUSED", "warm" },
                    { "WARMD_INSTANCE", "c-7" }, { "WARMD_HTTP_STATUS", "200" }, { "WARMD_DURATION_MS", "12" },
                    { "WARMD_CONNECT_MS", "0" }, { "WARMD_TTFB_MS", "12" }, { "WARMD_ERROR", NULL }, { "WARMD_NOTE", NULL } } },
                { "guessed cold",
                  { .ok = true, .http_status = 200, .total_usec = 1500000, .reuse = REUSE_COLD, .reuse_guessed = true },
                  LOG_INFO,
                  { { "WARMD_REUSED", "cold" }, { "WARMD_REUSE_GUESSED", "1" }, { "WARMD_INSTANCE", NULL },
                    { "WARMD_DURATION_MS", "1500" } } },
                { "connection refused",
                  { .error = "Couldn't connect to server", .total_usec = 1000 },
                  LOG_NOTICE,
                  { { "PRIORITY", "5" }, { "WARMD_REUSED", "unknown" }, { "WARMD_HTTP_STATUS", NULL },
                    { "WARMD_ERROR", "Couldn't connect to server" } } },
                { "HTTP 500",
                  { .http_status = 500, .error = "HTTP 500 (expected 2xx)" },
                  LOG_NOTICE,
                  { { "WARMD_HTTP_STATUS", "500" }, { "WARMD_ERROR", "HTTP 500 (expected 2xx)" } } },
                { "a note: succeeded, but a JSON field stayed unknown",
                  { .ok = true, .http_status = 200, .total_usec = 5000, .note = "reuse_json: the body is empty" },
                  LOG_NOTICE,
                  { { "PRIORITY", "5" }, { "WARMD_REUSED", "unknown" }, { "WARMD_ERROR", NULL },
                    { "WARMD_NOTE", "reuse_json: the body is empty" } } },
        };
        static const char *const messages[] = {
                "orders-api round 3: warm, instance c-7, HTTP 200 in 12 ms",
                "orders-api round 3: cold (guessed), HTTP 200 in 1500 ms",
                "orders-api round 3: failed after 1 ms: Couldn't connect to server",
                "orders-api round 3: unknown, failed: HTTP 500 (expected 2xx) in 0 ms",
                "orders-api round 3: unknown, HTTP 200 in 5 ms (reuse_json: the body is empty)",
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct journal_record rec;
                size_t n = 0;

                CHECK(journal_build_request(&ep, 3, &cases[i].r, &rec) == 0, "%s: build", cases[i].what);
                while (n < ELEMENTSOF(cases[i].fields) && cases[i].fields[n].name)
                        n++;
                CHECK(rec.priority == cases[i].priority, "%s: priority %d", cases[i].what, rec.priority);
                expect_fields(cases[i].what, &rec, cases[i].fields, n);
                CHECK(rec.message && streq(rec.message, messages[i]), "%s: MESSAGE '%s'", cases[i].what, rec.message);
                CHECK(journal_record_get(&rec, "SYSLOG_IDENTIFIER"), "%s: identifier", cases[i].what);
                expect_no_secret("record", &rec);
                journal_record_done(&rec);
        }
}

static void test_round(void) {
        struct summary full = { .containers = 10, .sent = 10, .ok = 10, .warm = 8, .cold = 2, .instances = 10,
                                .instances_known = true, .reached = 10, .p50_usec = 120000, .max_usec = 340000 };
        struct summary short_ = { .containers = 10, .sent = 10, .ok = 7, .failed = 3, .warm = 7, .unknown = 3,
                                  .reached = 7, .p50_usec = 1000, .max_usec = 2000 };
        static const struct field full_fields[] = {
                { "MESSAGE_ID", WARMD_MESSAGE_ROUND }, { "PRIORITY", "6" }, { "WARMD_ROUND", "3" },
                { "WARMD_CONTAINERS", "10" }, { "WARMD_SENT", "10" }, { "WARMD_OK", "10" }, { "WARMD_FAILED", "0" },
                { "WARMD_WARM", "8" }, { "WARMD_COLD", "2" }, { "WARMD_UNKNOWN", "0" }, { "WARMD_INSTANCES", "10" },
                { "WARMD_REACHED", "10" }, { "WARMD_P50_MS", "120" }, { "WARMD_MAX_MS", "340" },
                { "WARMD_UNLOGGED", "0" },
        };
        static const struct field short_fields[] = {
                { "MESSAGE_ID", WARMD_MESSAGE_SHORT }, { "PRIORITY", "4" }, { "WARMD_REACHED", "7" },
                { "WARMD_FAILED", "3" }, { "WARMD_INSTANCES", NULL },
        };
        struct journal_record rec;

        CHECK(journal_build_round(&ep, 3, &full, 0, &rec) == 0, "round: build");
        expect_fields("round", &rec, full_fields, ELEMENTSOF(full_fields));
        CHECK(streq(rec.message, "orders-api round 3: 10 of 10 reached (8 warm, 2 cold, 0 unknown, 0 failed), "
                                 "p50 120 ms, max 340 ms"), "round MESSAGE '%s'", rec.message);
        expect_no_secret("record", &rec);
        journal_record_done(&rec);

        CHECK(journal_build_round(&ep, 3, &short_, 0, &rec) == 0, "short: build");
        expect_fields("short", &rec, short_fields, ELEMENTSOF(short_fields));
        CHECK(rec.priority == LOG_WARNING, "short: warning");
        CHECK(streq(rec.message, "orders-api round 3: 7 of 10 reached (7 warm, 0 cold, 3 unknown, 3 failed), "
                                 "p50 1 ms, max 2 ms"), "short MESSAGE '%s'", rec.message);
        journal_record_done(&rec);

        CHECK(journal_build_round(&ep, 4, &full, 7, &rec) == 0, "held back: build");
        CHECK(streq(journal_record_get(&rec, "WARMD_UNLOGGED"), "7"), "held back: WARMD_UNLOGGED");
        CHECK(streq(rec.message, "orders-api round 4: 10 of 10 reached (8 warm, 2 cold, 0 unknown, 0 failed), "
                                 "p50 120 ms, max 340 ms; 7 request records held back (journal rate limit)"),
              "held back MESSAGE '%s'", rec.message);
        journal_record_done(&rec);
}

/* The room round summaries leave for request records, by the intervals and jitters configured. */
static void test_budget_limit(void) {
        static const struct {
                uint64_t interval, jitter;
                size_t n;
                unsigned limit;
                bool scheduled;
        } cases[] = {
                { 15 * USEC_PER_MINUTE, 0, 1, 10000 - 100 - 1, false },
                { USEC_PER_SEC, 0, 1, 10000 - 100 - 31, false },
                { 10 * USEC_PER_SEC, 5 * USEC_PER_SEC, 1, 10000 - 100 - 7, false },       /* rounds as close as 5 s */
                { 10 * USEC_PER_SEC, 10 * USEC_PER_SEC, 1, 10000 - 100 - 31, false },     /* ... or back to back */
                { USEC_PER_HOUR, 0, 1000, 10000 - 100 - 1000, false },
                { USEC_PER_HOUR, 0, 9899, 1, false },
                { USEC_PER_HOUR, 0, 9900, 0, false },
                { USEC_PER_HOUR, 0, 10000, 0, false },                                    /* summaries take it all */
                { USEC_PER_HOUR, 0, 1000, 10000 - 100 - 2000, true },                     /* and a schedule's record each */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct schedule_window w = { .days = 0x7f, .start = 0, .end = 60 };
                struct endpoint_config one = { .interval_usec = cases[i].interval, .jitter_usec = cases[i].jitter,
                                               .schedule = { cases[i].scheduled ? &w : NULL, cases[i].scheduled } };
                struct endpoint_config **eps = calloc(cases[i].n, sizeof *eps);
                struct config c = { .n_endpoints = cases[i].n, .endpoints = eps };
                unsigned got;

                CHECK(eps, "calloc");
                if (!eps)
                        return;
                for (size_t k = 0; k < cases[i].n; k++)
                        eps[k] = &one;
                got = journal_budget_limit(&c);
                CHECK(got == cases[i].limit, "limit for %zu endpoints every %" PRIu64 " s (jitter %" PRIu64 " s): %u, want %u",
                      cases[i].n, cases[i].interval / USEC_PER_SEC, cases[i].jitter / USEC_PER_SEC, got, cases[i].limit);
                free(eps);
        }
}

/* Successful requests get half the budget, failed ones all of it, in any 30 s. */
static void test_budget_admit(void) {
        struct journal_budget b = { .limit = 10 };
        uint64_t t0 = 1000 * USEC_PER_SEC + 400 * USEC_PER_MSEC;
        unsigned ok = 0, failed = 0;

        for (int i = 0; i < 20; i++)
                ok += journal_budget_admit(&b, t0, false);
        CHECK(ok == 5, "successes admitted: %u, want 5 (half of 10)", ok);
        for (int i = 0; i < 20; i++)
                failed += journal_budget_admit(&b, t0 + USEC_PER_SEC, true);
        CHECK(failed == 5, "failures admitted after them: %u, want 5 (the rest of 10)", failed);
        CHECK(!journal_budget_admit(&b, t0 + 30 * USEC_PER_SEC, true), "30 s later the first records still count");
        CHECK(!journal_budget_admit(&b, t0 + 30 * USEC_PER_SEC, false), "... also for a success");
        CHECK(!journal_budget_admit(&b, t0 + 31 * USEC_PER_SEC, false),
              "31 s later the successes are out, but the failures still fill half");
        CHECK(journal_budget_admit(&b, t0 + 31 * USEC_PER_SEC, true) && b.used == 6,
              "... and a failure fits (used %u, want 6)", b.used);
        CHECK(journal_budget_admit(&b, t0 + 32 * USEC_PER_SEC, false) && b.used == 2,
              "32 s later only the latest failure counts, and a success fits (used %u, want 2)", b.used);
        CHECK(journal_budget_admit(&b, t0 + 3600 * USEC_PER_SEC, false) && b.used == 1,
              "after an hour only the new record counts (used %u)", b.used);
}

static void test_topup(void) {
        struct summary topped = { .containers = 5, .sent = 35, .ok = 35, .warm = 30, .cold = 5, .instances = 5,
                                  .instances_known = true, .reached = 5, .attempts = 3 };
        struct summary failed = { .containers = 5, .sent = 5, .ok = 3, .failed = 2, .warm = 3, .unknown = 2,
                                  .instances = 3, .instances_known = true, .reached = 3, .attempts = 1,
                                  .shortfall = SHORTFALL_FAILED };
        struct summary limit = { .containers = 10, .sent = 80, .ok = 80, .warm = 80, .instances = 9,
                                 .instances_known = true, .reached = 9, .attempts = 4, .shortfall = SHORTFALL_LIMIT };
        struct endpoint_config ep8 = ep;
        struct journal_record rec;

        ep8.topup_factor = 8;
        CHECK(journal_build_round(&ep, 3, &topped, 0, &rec) == 0, "topped up: build");
        CHECK(streq(journal_record_get(&rec, "WARMD_ATTEMPTS"), "3") && streq(journal_record_get(&rec, "WARMD_SENT"), "35") &&
              !journal_record_get(&rec, "WARMD_SHORTFALL"), "topped up: attempts and requests");
        CHECK(streq(rec.message, "orders-api round 3: 5 of 5 reached (30 warm, 5 cold, 0 unknown, 0 failed), "
                                 "p50 0 ms, max 0 ms, 3 attempts, 35 requests"), "topped up MESSAGE '%s'", rec.message);
        journal_record_done(&rec);

        CHECK(journal_build_round(&ep, 3, &failed, 0, &rec) == 0, "failed: build");
        CHECK(streq(journal_record_get(&rec, "WARMD_SHORTFALL"), "failed"), "failed: the reason as a field");
        CHECK(streq(rec.message, "orders-api round 3: 3 of 5 reached (3 warm, 0 cold, 2 unknown, 2 failed), "
                                 "p50 0 ms, max 0 ms; not topped up, 2 requests failed"), "failed MESSAGE '%s'",
              rec.message);
        journal_record_done(&rec);

        CHECK(journal_build_round(&ep8, 3, &limit, 0, &rec) == 0, "limit: build");
        CHECK(streq(journal_record_get(&rec, "WARMD_SHORTFALL"), "limit"), "limit: the reason as a field");
        CHECK(strstr(rec.message, ", 4 attempts, 80 requests; top-up limit of 80 requests reached"),
              "limit MESSAGE '%s'", rec.message);
        journal_record_done(&rec);

        /* Why the first attempt fell short, field by field and in words; what the round woke past N. */
        static const struct {
                const char *what;
                struct summary s;
                const char *cause, *spread, *service, *overshoot, *words;
        } causes[] = {
                { "packing", { .containers = 5, .sent = 18, .ok = 18, .instances = 5, .instances_known = true,
                               .reached = 5, .attempts = 2, .first = { OVERLAP_PACKING, 2000, 0, 3, 0, 0 } },
                  "packing", "2", NULL, "0",
                  "orders-api round 3: 5 of 5 reached (0 warm, 0 cold, 0 unknown, 0 failed), p50 0 ms, max 0 ms, "
                  "first attempt short: containers took several requests at once, 2 attempts, 18 requests" },
                { "spread", { .containers = 1000, .sent = 1000, .ok = 1000, .instances = 980, .instances_known = true,
                              .reached = 980, .attempts = 1, .shortfall = SHORTFALL_MAX_PARALLEL,
                              .first = { OVERLAP_SPREAD, 933000, 300000, 0, 20, 0 } },
                  "spread", "933", "300", "0",
                  "orders-api round 3: 980 of 1000 reached (0 warm, 0 cold, 0 unknown, 0 failed), p50 0 ms, max 0 ms, "
                  "first attempt short: not overlapped, sent over 933 ms, a container answered in 300 ms and took "
                  "another; not topped up, reaching N needs more requests at once than max_parallel allows" },
                { "serial, past N", { .containers = 50, .sent = 150, .ok = 150, .instances = 52,
                                      .instances_known = true, .reached = 52, .attempts = 3, .overshoot = 2,
                                      .first = { OVERLAP_SERIAL, 5000, 143000, 0, 0, 12 } },
                  "serial", "5", "143", "2",
                  "orders-api round 3: 52 of 50 reached (0 warm, 0 cold, 0 unknown, 0 failed), p50 0 ms, max 0 ms, "
                  "first attempt short: the platform served requests sent together one after another, 143 ms apart, "
                  "2 past N, 3 attempts, 150 requests" },
                { "reached at once", { .containers = 5, .sent = 5, .ok = 5, .instances = 5, .instances_known = true,
                                       .reached = 5, .attempts = 1 },
                  NULL, NULL, NULL, "0",
                  "orders-api round 3: 5 of 5 reached (0 warm, 0 cold, 0 unknown, 0 failed), p50 0 ms, max 0 ms" },
                { "no ids", { .containers = 5, .sent = 5, .ok = 5, .reached = 5, .attempts = 1 },
                  NULL, NULL, NULL, NULL,
                  "orders-api round 3: 5 of 5 reached (0 warm, 0 cold, 0 unknown, 0 failed), p50 0 ms, max 0 ms" },
        };
        for (size_t i = 0; i < ELEMENTSOF(causes); i++) {
                const char *want[] = { causes[i].cause, causes[i].spread, causes[i].service, causes[i].overshoot };
                const char *names[] = { "WARMD_SHORT_CAUSE", "WARMD_SPREAD_MS", "WARMD_SERVICE_MS", "WARMD_OVERSHOOT" };

                CHECK(journal_build_round(&ep8, 3, &causes[i].s, 0, &rec) == 0, "%s: build", causes[i].what);
                for (size_t j = 0; j < ELEMENTSOF(names); j++) {
                        const char *got = journal_record_get(&rec, names[j]);

                        CHECK(want[j] ? got && streq(got, want[j]) : !got, "%s: %s=%s, want %s", causes[i].what,
                              names[j], got ? got : "(absent)", want[j] ? want[j] : "(absent)");
                }
                CHECK(streq(rec.message, causes[i].words), "%s: MESSAGE '%s'", causes[i].what, rec.message);
                journal_record_done(&rec);
        }
}

static void test_reclaim(void) {
        struct endpoint_config e = { .name = "orders-api", .url = "https://secret@example.com/x", .containers = 5,
                                     .interval_usec = 15 * USEC_PER_MINUTE };
        struct reclaim rc = { .new_containers = 3, .precise = true, .gap_usec = 899 * USEC_PER_SEC,
                              .lifetime_max_usec = 599 * USEC_PER_SEC, .lifetime_min_usec = 300 * USEC_PER_SEC,
                              .suggested_interval_usec = 300 * USEC_PER_SEC };
        static const struct field fields[] = {
                { "MESSAGE_ID", WARMD_MESSAGE_RECLAIM }, { "PRIORITY", "4" }, { "WARMD_ENDPOINT", "orders-api" },
                { "WARMD_ROUND", "4" }, { "WARMD_INTERVAL_SEC", "900" }, { "WARMD_NEW_CONTAINERS", "3" },
                { "WARMD_IDLE_GAP_MS", "899000" }, { "WARMD_LIFETIME_MIN_MS", "300000" },
                { "WARMD_LIFETIME_MAX_MS", "599000" }, { "WARMD_SUGGESTED_INTERVAL_SEC", "300" },
                { "WARMD_RECLAIM_FROM", "instances" }, { "WARMD_URL", NULL },
        };
        struct journal_record rec;

        CHECK(journal_build_reclaim(&e, 4, &rc, &rec) == 0, "reclaim: build");
        expect_fields("reclaim", &rec, fields, ELEMENTSOF(fields));
        CHECK(streq(rec.message, "orders-api round 4: 3 new containers: the platform reclaimed idle containers "
                                 "within 14m59s (interval 15m00s); their idle lifetime is between 5m00s and 9m59s; "
                                 "suggested interval 5m00s"), "reclaim MESSAGE '%s'", rec.message);
        journal_record_done(&rec);

        rc = (struct reclaim) { .new_containers = 1, .gap_usec = 60 * USEC_PER_SEC,
                                .lifetime_max_usec = 60 * USEC_PER_SEC, .suggested_interval_usec = 30 * USEC_PER_SEC };
        CHECK(journal_build_reclaim(&e, 2, &rc, &rec) == 0, "reclaim from cold starts: build");
        CHECK(!journal_record_get(&rec, "WARMD_LIFETIME_MIN_MS") &&
              streq(journal_record_get(&rec, "WARMD_RECLAIM_FROM"), "cold-starts"), "cold starts: no lower bound");
        CHECK(strstr(rec.message, "1 new container (cold starts): ") && strstr(rec.message, "is at most 1m00s;"),
              "cold starts MESSAGE '%s'", rec.message);
        journal_record_done(&rec);
}

/* A schedule's boundary: wake, change of N and sleep, each with its counts and the next boundary. */
static void test_window(void) {
        struct endpoint_config e = { .name = "orders-api", .url = "https://secret@example.com/x", .containers = 10 };
        static const struct {
                unsigned previous, containers;
                uint64_t next;
                const char *what, *message;
        } cases[] = {
                { 0, 10, UINT64_C(1796661000000000), "wake",
                  "orders-api: a window opens; warming 10 containers until Mon 2026-12-07 19:00 CET" },
                { 10, 3, UINT64_C(1796675400000000), "change",
                  "orders-api: the schedule changes N from 10 to 3 containers until Mon 2026-12-07 23:00 CET" },
                { 3, 0, UINT64_C(1796711400000000), "sleep",
                  "orders-api: outside its schedule's windows; sleeping until Tue 2026-12-08 07:30 CET" },
                { 0, 2, 0, "wake", "orders-api: a window opens; warming 2 containers" },
        };
        static const char *const local[] = { "Mon 2026-12-07 19:00 CET", "Mon 2026-12-07 23:00 CET",
                                             "Tue 2026-12-08 07:30 CET", "" };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct scheduler_event ev = {
                        .type = SCHEDULER_EVENT_WINDOW, .endpoint = &e, .previous = cases[i].previous,
                        .containers = cases[i].containers, .next_realtime = cases[i].next, .next_local = local[i],
                };
                char c[16], p[16], n[32];
                struct journal_record rec;

                snprintf(c, sizeof c, "%u", cases[i].containers);
                snprintf(p, sizeof p, "%u", cases[i].previous);
                snprintf(n, sizeof n, "%" PRIu64, cases[i].next);
                const struct field fields[] = {
                        { "MESSAGE_ID", WARMD_MESSAGE_SCHEDULE }, { "PRIORITY", "6" }, { "WARMD_ENDPOINT", "orders-api" },
                        { "WARMD_SCHEDULE", cases[i].what }, { "WARMD_CONTAINERS", c },
                        { "WARMD_PREVIOUS_CONTAINERS", p }, { "WARMD_NEXT_BOUNDARY_USEC", cases[i].next ? n : NULL },
                        { "WARMD_URL", NULL },
                };

                CHECK(journal_build_window(&ev, &rec) == 0, "window %zu: build", i);
                expect_fields(cases[i].what, &rec, fields, ELEMENTSOF(fields));
                CHECK(streq(rec.message, cases[i].message), "window MESSAGE '%s'", rec.message);
                journal_record_done(&rec);
        }
}

static void test_event(void) {
        struct journal_record rec;

        CHECK(journal_build_event(LOG_ERR, WARMD_MESSAGE_RELOAD_FAILED, NULL, &rec, "Reload of %s rejected", "x.conf") == 0,
              "event: build");
        CHECK(streq(journal_record_get(&rec, "MESSAGE_ID"), WARMD_MESSAGE_RELOAD_FAILED) &&
              streq(journal_record_get(&rec, "PRIORITY"), "3") && !journal_record_get(&rec, "WARMD_ENDPOINT") &&
              streq(rec.message, "Reload of x.conf rejected"), "event fields");
        CHECK(journal_record_add(&rec, "WARMD_CONFIG=%s", "x.conf") == 0 &&
              streq(journal_record_get(&rec, "WARMD_CONFIG"), "x.conf"), "extra field");
        journal_record_done(&rec);

        CHECK(journal_build_event(LOG_WARNING, WARMD_MESSAGE_ROUND_SKIPPED, "e1", &rec, "skipped") == 0 &&
              streq(journal_record_get(&rec, "WARMD_ENDPOINT"), "e1"), "event with endpoint");
        journal_record_done(&rec);
}

/* A record grows with every field added; the first add that fails stops it, and the end says so. */
static void test_record(void) {
        static const wchar_t bad[] = { 0xD800, 0 };     /* no character in any locale: vasprintf() fails */
        struct journal_record rec, built = {};
        unsigned failed = 0;

        CHECK(journal_record_begin(&rec, LOG_INFO, WARMD_MESSAGE_START) == 0 && rec.n == 3, "begin: three fields");
        for (unsigned i = 0; i < 100; i++)
                failed += journal_record_add(&rec, "WARMD_F%u=%u", i, i) != 0;
        CHECK(failed == 0, "%u of 100 adds failed", failed);
        CHECK(journal_record_add(&rec, "MESSAGE=%s", "many") == 0, "message");
        CHECK(journal_record_end(&rec, &built) == 0 && built.n == 104 &&
              streq(journal_record_get(&built, "WARMD_F99"), "99") && streq(built.message, "many"),
              "104 fields, no limit to keep up to date");
        journal_record_done(&built);

        CHECK(journal_record_begin(&rec, LOG_INFO, NULL) == 0 && !journal_record_get(&rec, "MESSAGE_ID") && rec.n == 2,
              "begin without a message id");
        CHECK(journal_record_add(&rec, "WARMD_A=%ls", bad) == -EILSEQ, "a failing add returns its error");
        CHECK(journal_record_add(&rec, "MESSAGE=%s", "x") == -EILSEQ && !rec.message && rec.n == 2,
              "later adds do nothing and return the first error");
        built = (struct journal_record) { .priority = 42 };
        CHECK(journal_record_end(&rec, &built) == -EILSEQ && built.priority == 42 && rec.n == 0 && !rec.fields,
              "end: the error, ret untouched, the record freed");

        journal_record_begin(&rec, LOG_INFO, NULL);
        CHECK(journal_record_end(&rec, &built) == -EINVAL && built.priority == 42, "end: no MESSAGE= is no record");

        CHECK(journal_build_event(LOG_INFO, WARMD_MESSAGE_START, NULL, &built, "%ls", bad) == -EILSEQ &&
              built.priority == 42, "event whose message cannot be formatted");
}

int main(void) {
        test_record();
        test_request();
        test_round();
        test_topup();
        test_reclaim();
        test_window();
        test_event();
        test_budget_limit();
        test_budget_admit();
        return tests_result("test-journal");
}
