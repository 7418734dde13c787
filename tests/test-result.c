/* SPDX-License-Identifier: MIT */
/* test-result.c: reuse and instance from headers and JSON, in their order, and the summary arithmetic. */
#include "config.h"

#include "tests.h"
#include "warmd.h"

static void test_bool_words(void) {
        static const struct {
                const char *in;
                int want;
        } cases[] = {
                { "1", 1 }, { "true", 1 }, { "TRUE", 1 }, { "yes", 1 }, { "Yes", 1 },
                { "0", 0 }, { "false", 0 }, { "no", 0 }, { "NO", 0 },
                { "", -EINVAL }, { "2", -EINVAL }, { "warm", -EINVAL }, { "truth", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(parse_bool_word(cases[i].in) == cases[i].want, "parse_bool_word(\"%s\")", cases[i].in);
}

static void test_reuse(void) {
        static const struct {
                const char *name;
                struct endpoint_config ep;
                struct response r;
                bool ok;
                enum reuse reuse;
                bool guessed;
                const char *instance;
                const char *error;
        } cases[] = {
                { "header warm",
                  { .reuse_header = "X-R", .instance_header = "X-Id" },
                  { .http_status = 200, .reuse_header = "true", .instance_header = "c-1" },
                  true, REUSE_WARM, false, "c-1", "" },
                { "header cold (0)",
                  { .reuse_header = "X-R" }, { .http_status = 204, .reuse_header = "0" },
                  true, REUSE_COLD, false, "", "" },
                { "header beats JSON",
                  { .reuse_header = "X-R", .reuse_json = "reused" },
                  { .http_status = 200, .reuse_header = "no", .body = "{\"reused\": true}", .body_len = 16 },
                  true, REUSE_COLD, false, "", "" },
                { "bad header value falls through to JSON",
                  { .reuse_header = "X-R", .reuse_json = "reused" },
                  { .http_status = 200, .reuse_header = "maybe", .body = "{\"reused\": true}", .body_len = 16 },
                  true, REUSE_WARM, false, "", "" },
                { "JSON boolean and instance",
                  { .reuse_json = "reused", .instance_json = "container" },
                  { .http_status = 200, .body = "{\"reused\":false,\"container\":\"abc\"}", .body_len = 34 },
                  true, REUSE_COLD, false, "abc", "" },
                { "JSON dotted path, numeric instance",
                  { .reuse_json = "meta.warm", .instance_json = "meta.id" },
                  { .http_status = 200, .body = "{\"meta\":{\"warm\":true,\"id\":42}}", .body_len = 30 },
                  true, REUSE_WARM, false, "42", "" },
                { "JSON path missing",
                  { .reuse_json = "meta.warm", .instance_json = "meta.id" },
                  { .http_status = 200, .body = "{\"meta\":1}", .body_len = 10 },
                  true, REUSE_UNKNOWN, false, "", "" },
                { "body not JSON",
                  { .reuse_json = "reused" }, { .http_status = 200, .body = "<html>", .body_len = 6 },
                  true, REUSE_UNKNOWN, false, "", "" },
                { "body cut short is not parsed",
                  { .reuse_json = "reused" }, { .http_status = 200, .body = "{\"reused\": true}", .body_len = 10 },
                  true, REUSE_UNKNOWN, false, "", "" },
                { "threshold: slow is cold, guessed",
                  { .cold_threshold_usec = USEC_PER_SEC }, { .http_status = 200, .total_usec = 1500000 },
                  true, REUSE_COLD, true, "", "" },
                { "threshold: fast is warm, guessed",
                  { .cold_threshold_usec = USEC_PER_SEC }, { .http_status = 200, .total_usec = 20000 },
                  true, REUSE_WARM, true, "", "" },
                { "a reported answer beats the threshold",
                  { .reuse_header = "X-R", .cold_threshold_usec = 1 },
                  { .http_status = 200, .reuse_header = "yes", .total_usec = 900000 },
                  true, REUSE_WARM, false, "", "" },
                { "nothing configured",
                  {}, { .http_status = 200, .reuse_header = "true" }, true, REUSE_UNKNOWN, false, "", "" },
                { "header beats JSON for the instance",
                  { .instance_header = "X-Id", .instance_json = "container" },
                  { .http_status = 200, .instance_header = "h", .body = "{\"container\":\"j\"}", .body_len = 17 },
                  true, REUSE_UNKNOWN, false, "h", "" },
                { "control characters in an instance id are masked",
                  { .instance_header = "X-Id" }, { .http_status = 200, .instance_header = "a\tb" },
                  true, REUSE_UNKNOWN, false, "a?b", "" },
                { "500 is a failure, still read",
                  { .reuse_header = "X-R" }, { .http_status = 500, .reuse_header = "1" },
                  false, REUSE_WARM, false, "", "HTTP 500 (expected 2xx)" },
                { "expect_status",
                  { .expect_status = 200 }, { .http_status = 204 }, false, REUSE_UNKNOWN, false, "",
                  "HTTP 204 (expected 200)" },
                { "curl error",
                  { .reuse_header = "X-R" },
                  { .curl_code = CURLE_COULDNT_CONNECT, .curl_error = "Failed to connect", .reuse_header = "1" },
                  false, REUSE_UNKNOWN, false, "", "Failed to connect" },
                { "curl error without a buffer",
                  {}, { .curl_code = CURLE_OPERATION_TIMEDOUT }, false, REUSE_UNKNOWN, false, "", "Timeout was reached" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct result res;

                result_from_response(&cases[i].ep, &cases[i].r, &res);
                CHECK(res.ok == cases[i].ok, "%s: ok", cases[i].name);
                CHECK(res.reuse == cases[i].reuse, "%s: reuse %s, want %s", cases[i].name, reuse_to_string(res.reuse),
                      reuse_to_string(cases[i].reuse));
                CHECK(res.reuse_guessed == cases[i].guessed, "%s: guessed", cases[i].name);
                CHECK(streq(res.instance, cases[i].instance), "%s: instance '%s'", cases[i].name, res.instance);
                CHECK(streq(res.error, cases[i].error), "%s: error '%s'", cases[i].name, res.error);
        }
}

static struct result mk(bool ok, enum reuse reuse, const char *instance, uint64_t ms) {
        struct result r = { .ok = ok, .reuse = reuse, .total_usec = ms * USEC_PER_MSEC };

        snprintf(r.instance, sizeof r.instance, "%s", instance);
        return r;
}

static void test_summary(void) {
        struct round_acc a;
        struct summary s;

        CHECK(round_acc_init(&a, 5) == 0, "init");

        /* Ids known: reached counts distinct instances of ok requests. */
        {
                struct result r[] = {
                        mk(true, REUSE_WARM, "c1", 40), mk(true, REUSE_COLD, "c2", 300), mk(true, REUSE_WARM, "c1", 10),
                        mk(false, REUSE_UNKNOWN, "c9", 20), mk(true, REUSE_UNKNOWN, "", 50),
                };

                for (size_t i = 0; i < ELEMENTSOF(r); i++)
                        round_acc_add(&a, &r[i]);
        }
        round_acc_finish(&a, &s);
        CHECK(s.containers == 5 && s.sent == 5 && s.ok == 4 && s.failed == 1, "counts %u/%u/%u", s.sent, s.ok, s.failed);
        CHECK(s.warm == 2 && s.cold == 1 && s.unknown == 2, "reuse counts");
        CHECK(s.instances_known && s.instances == 2 && s.reached == 2, "reached %u from distinct ids", s.reached);
        CHECK(s.p50_usec == 40 * USEC_PER_MSEC && s.max_usec == 300 * USEC_PER_MSEC, "p50 %llu max %llu",
              (unsigned long long) s.p50_usec, (unsigned long long) s.max_usec);

        /* Ids unknown: reached counts ok requests. */
        round_acc_reset(&a, 3);
        round_acc_add(&a, &(struct result) { .ok = true, .total_usec = 3000 });
        round_acc_add(&a, &(struct result) { .ok = true, .total_usec = 1000, .reuse = REUSE_WARM, .reuse_guessed = true });
        round_acc_add(&a, &(struct result) { .ok = false, .total_usec = 2000 });
        round_acc_finish(&a, &s);
        CHECK(!s.instances_known && s.reached == 2 && s.guessed == 1, "reached %u from ok", s.reached);
        CHECK(s.p50_usec == 2000 && s.max_usec == 3000, "p50 of three");

        /* An empty round. */
        round_acc_reset(&a, 4);
        round_acc_finish(&a, &s);
        CHECK(s.sent == 0 && s.reached == 0 && s.p50_usec == 0 && s.containers == 4, "empty round");

        round_acc_done(&a);
}

int main(void) {
        test_bool_words();
        test_reuse();
        test_summary();
        return tests_result("test-result");
}
