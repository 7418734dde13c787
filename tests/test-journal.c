/* SPDX-License-Identifier: MIT */
/* test-journal.c: the fields of each kind of journal record, built without a journal. */
#include "config.h"

#include "tests.h"
#include "warmd.h"

static const struct endpoint_config ep = {
        .name = "orders-api",
        .url = "http://127.0.0.1:8080/orders",
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
                    { "WARMD_URL", "http://127.0.0.1:8080/orders" }, { "WARMD_ROUND", "3" }, { "WARMD_REUSED", "warm" },
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
        };
        static const struct field short_fields[] = {
                { "MESSAGE_ID", WARMD_MESSAGE_SHORT }, { "PRIORITY", "4" }, { "WARMD_REACHED", "7" },
                { "WARMD_FAILED", "3" }, { "WARMD_INSTANCES", NULL },
        };
        struct journal_record rec;

        CHECK(journal_build_round(&ep, 3, &full, &rec) == 0, "round: build");
        expect_fields("round", &rec, full_fields, ELEMENTSOF(full_fields));
        CHECK(streq(rec.message, "orders-api round 3: 10 of 10 reached (8 warm, 2 cold, 0 unknown, 0 failed), "
                                 "p50 120 ms, max 340 ms"), "round MESSAGE '%s'", rec.message);
        journal_record_done(&rec);

        CHECK(journal_build_round(&ep, 3, &short_, &rec) == 0, "short: build");
        expect_fields("short", &rec, short_fields, ELEMENTSOF(short_fields));
        CHECK(rec.priority == LOG_WARNING, "short: warning");
        CHECK(streq(rec.message, "orders-api round 3: 7 of 10 reached (7 warm, 0 cold, 3 unknown, 3 failed), "
                                 "p50 1 ms, max 2 ms"), "short MESSAGE '%s'", rec.message);
        journal_record_done(&rec);
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

int main(void) {
        test_request();
        test_round();
        test_event();
        return tests_result("test-journal");
}
