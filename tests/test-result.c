/* SPDX-License-Identifier: MIT */
/* test-result.c: reuse and instance from headers and JSON, in their order, and the summary arithmetic. */
#include "config.h"

#include "tests.h"
#include "internal.h"

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
                const char *note;
        } cases[] = {
                { "header warm",
                  { .reuse_header = "X-R", .instance_header = "X-Id" },
                  { .http_status = 200, .reuse_header = "true", .instance_header = "c-1" },
                  true, REUSE_WARM, false, "c-1", "", "" },
                { "header cold (0)",
                  { .reuse_header = "X-R" }, { .http_status = 204, .reuse_header = "0" },
                  true, REUSE_COLD, false, "", "", "" },
                { "header beats JSON",
                  { .reuse_header = "X-R", .reuse_json = "reused" },
                  { .http_status = 200, .reuse_header = "no", .body = "{\"reused\": true}", .body_len = 16 },
                  true, REUSE_COLD, false, "", "", "" },
                { "bad header value falls through to JSON",
                  { .reuse_header = "X-R", .reuse_json = "reused" },
                  { .http_status = 200, .reuse_header = "maybe", .body = "{\"reused\": true}", .body_len = 16 },
                  true, REUSE_WARM, false, "", "", "" },
                { "JSON boolean and instance",
                  { .reuse_json = "reused", .instance_json = "container" },
                  { .http_status = 200, .body = "{\"reused\":false,\"container\":\"abc\"}", .body_len = 34 },
                  true, REUSE_COLD, false, "abc", "", "" },
                { "JSON dotted path, numeric instance",
                  { .reuse_json = "meta.warm", .instance_json = "meta.id" },
                  { .http_status = 200, .body = "{\"meta\":{\"warm\":true,\"id\":42}}", .body_len = 30 },
                  true, REUSE_WARM, false, "42", "", "" },
                { "JSON path missing",
                  { .reuse_json = "meta.warm", .instance_json = "meta.id" },
                  { .http_status = 200, .body = "{\"meta\":1}", .body_len = 10 },
                  true, REUSE_UNKNOWN, false, "", "", "reuse_json: no 'meta.warm' in the body; instance_json: no 'meta.id' in the body" },
                { "body not JSON",
                  { .reuse_json = "reused" }, { .http_status = 200, .body = "<html>", .body_len = 6 },
                  true, REUSE_UNKNOWN, false, "", "", "reuse_json: the body is not valid JSON (unexpected character at byte 0)" },
                { "body cut short is not parsed",
                  { .reuse_json = "reused" }, { .http_status = 200, .body = "{\"reused\": true}", .body_len = 10 },
                  true, REUSE_UNKNOWN, false, "", "", "reuse_json: the body ended inside its JSON" },
                { "JSON values of the wrong type",
                  { .reuse_json = "reused", .instance_json = "container" },
                  { .http_status = 200, .body = "{\"reused\":\"maybe\",\"container\":[1]}", .body_len = 34 },
                  true, REUSE_UNKNOWN, false, "", "",
                  "reuse_json: 'reused' is not true/false, 0/1, yes/no; instance_json: 'container' is not a string or an integer" },
                { "body an array", { .reuse_json = "reused" }, { .http_status = 200, .body = "[1,2]", .body_len = 5 },
                  true, REUSE_UNKNOWN, false, "", "", "reuse_json: the body is JSON but not an object" },
                { "body a bare number", { .reuse_json = "reused" }, { .http_status = 200, .body = "42", .body_len = 2 },
                  true, REUSE_UNKNOWN, false, "", "", "reuse_json: the body is JSON but not an object" },
                { "empty body", { .reuse_json = "reused" }, { .http_status = 200 },
                  true, REUSE_UNKNOWN, false, "", "", "reuse_json: the body is empty" },
                { "one reason for both fields",
                  { .reuse_json = "reused", .instance_json = "container" },
                  { .http_status = 200, .body = "{\"reused\" true}", .body_len = 15 },
                  true, REUSE_UNKNOWN, false, "", "",
                  "reuse_json, instance_json: the body is not valid JSON (object property name separator ':' expected at byte 10)" },
                { "the header answers reuse; the instance still needs the body",
                  { .reuse_header = "X-R", .reuse_json = "reused", .instance_json = "container" },
                  { .http_status = 200, .reuse_header = "1", .body = "<html>", .body_len = 6 },
                  true, REUSE_WARM, false, "", "",
                  "instance_json: the body is not valid JSON (unexpected character at byte 0)" },
                { "an error page makes no note",
                  { .reuse_json = "reused" }, { .http_status = 502, .body = "<html>", .body_len = 6 },
                  false, REUSE_UNKNOWN, false, "", "HTTP 502 (expected 2xx)", "" },
                { "whatever follows the JSON value is not read",
                  { .reuse_json = "reused" }, { .http_status = 200, .body = "{\"reused\":1} trailing", .body_len = 21 },
                  true, REUSE_WARM, false, "", "", "" },
                { "threshold: slow is cold, guessed",
                  { .cold_threshold_usec = USEC_PER_SEC }, { .http_status = 200, .total_usec = 1500000 },
                  true, REUSE_COLD, true, "", "", "" },
                { "threshold: fast is warm, guessed",
                  { .cold_threshold_usec = USEC_PER_SEC }, { .http_status = 200, .total_usec = 20000 },
                  true, REUSE_WARM, true, "", "", "" },
                { "a reported answer beats the threshold",
                  { .reuse_header = "X-R", .cold_threshold_usec = 1 },
                  { .http_status = 200, .reuse_header = "yes", .total_usec = 900000 },
                  true, REUSE_WARM, false, "", "", "" },
                { "nothing configured",
                  {}, { .http_status = 200, .reuse_header = "true" }, true, REUSE_UNKNOWN, false, "", "", "" },
                { "header beats JSON for the instance",
                  { .instance_header = "X-Id", .instance_json = "container" },
                  { .http_status = 200, .instance_header = "h", .body = "{\"container\":\"j\"}", .body_len = 17 },
                  true, REUSE_UNKNOWN, false, "h", "", "" },
                { "control characters in an instance id are masked",
                  { .instance_header = "X-Id" }, { .http_status = 200, .instance_header = "a\tb" },
                  true, REUSE_UNKNOWN, false, "a?b", "", "" },
                { "500 is a failure, still read",
                  { .reuse_header = "X-R" }, { .http_status = 500, .reuse_header = "1" },
                  false, REUSE_WARM, false, "", "HTTP 500 (expected 2xx)", "" },
                { "expect_status",
                  { .expect_status = 200 }, { .http_status = 204 }, false, REUSE_UNKNOWN, false, "",
                  "HTTP 204 (expected 200)", "" },
                { "curl error",
                  { .reuse_header = "X-R" },
                  { .curl_code = CURLE_COULDNT_CONNECT, .curl_error = "Failed to connect", .reuse_header = "1" },
                  false, REUSE_UNKNOWN, false, "", "Failed to connect", "" },
                { "curl error without a buffer",
                  {}, { .curl_code = CURLE_OPERATION_TIMEDOUT }, false, REUSE_UNKNOWN, false, "", "Timeout was reached", "" },
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
                CHECK(streq(res.note, cases[i].note), "%s: note '%s'", cases[i].name, res.note);
        }
}

/* The same results whether a body comes in one piece or a byte at a time, as http.c may see it. */
static void test_scan_in_pieces(void) {
        static const struct endpoint_config ep = { .reuse_json = "meta.warm", .instance_json = "id" };
        static const char *const bodies[] = {
                "{\"meta\":{\"warm\":true},\"id\":\"c-1\"}", "{\"id\":7,\"meta\":{\"warm\":\"no\"}}",
                " {\"meta\" : {\"warm\": 0} , \"id\": \"x\" } ", "{\"meta\":1}", "<html>", "{\"meta\":{\"warm\":tru",
                "[{\"id\":1}]", "", "  ",
        };

        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                struct response whole = { .http_status = 200, .body = bodies[i], .body_len = strlen(bodies[i]) };
                struct response pieces = { .http_status = 200 };
                struct result a, b;
                struct body_scan scan;

                body_scan_init(&scan, &ep);
                for (size_t k = 0; k < strlen(bodies[i]) && !body_scan_feed(&scan, bodies[i] + k, 1); k++)
                        ;
                body_scan_end(&scan);
                pieces.scan = &scan;
                result_from_response(&ep, &whole, &a);
                result_from_response(&ep, &pieces, &b);
                body_scan_done(&scan);
                CHECK(a.reuse == b.reuse && streq(a.instance, b.instance) && streq(a.note, b.note),
                      "'%s' a byte at a time: %s '%s' '%s', in one piece: %s '%s' '%s'", bodies[i], reuse_to_string(b.reuse),
                      b.instance, b.note, reuse_to_string(a.reuse), a.instance, a.note);
        }
}

/* Feeds body in pieces of size; returns the bytes offered when the scan said it knew enough, or 0 if it never did. */
static size_t feed_until_known(struct body_scan *scan, const char *body, size_t len, size_t size) {
        for (size_t off = 0; off < len; off += size)
                if (body_scan_feed(scan, body + off, len - off < size ? len - off : size))
                        return off + (len - off < size ? len - off : size);
        return 0;
}

/* Reading stops as soon as the fields are known, and after BODY_READ_MAX bytes at the latest. */
static void test_scan_stops(void) {
        static const struct endpoint_config ep = { .reuse_json = "reused", .instance_json = "container" };
        size_t big = 4 * BODY_READ_MAX, n, at;
        struct response resp = { .http_status = 200 };
        struct body_scan scan;
        struct result res;
        char *body = malloc(big + 1);

        CHECK(body, "malloc");
        if (!body)
                return;

        /* The fields first, then a long pad: known within the first 4 KiB piece. */
        n = (size_t) snprintf(body, big, "{\"reused\":true,\"container\":\"c-9\",\"pad\":\"");
        memset(body + n, 'x', big - n);
        body_scan_init(&scan, &ep);
        CHECK(feed_until_known(&scan, body, big, 4096) == 4096, "fields first: known after the first piece");
        CHECK(scan.state == BODY_JSON_FOUND && !scan.tok, "fields first: found, tokener freed");
        resp.scan = &scan;
        result_from_response(&ep, &resp, &res);
        CHECK(res.reuse == REUSE_WARM && streq(res.instance, "c-9") && !res.note[0], "fields first: warm, c-9, '%s'", res.note);
        body_scan_done(&scan);

        /* A field counts once the comma after its value is parsed: at byte BODY_READ_MAX, and one byte later. */
        for (int past = 0; past <= 1; past++) {
                static const char tail[] = "\",\"reused\":1,\"container\":\"c\"}";
                const char *comma = strchr(tail + 2, ',');

                at = BODY_READ_MAX + (size_t) past;    /* 1-based position of the comma after the 1 */
                n = (size_t) snprintf(body, big, "{\"pad\":\"");
                memset(body + n, 'x', at - (size_t) (comma - tail) - 1 - n);
                n = at - (size_t) (comma - tail) - 1;
                memcpy(body + n, tail, sizeof tail);
                CHECK(body[at - 1] == ',' && body[at - 2] == '1', "limit case built right");
                body_scan_init(&scan, &ep);
                (void) feed_until_known(&scan, body, strlen(body), 5000);     /* pieces that straddle the limit */
                body_scan_end(&scan);
                resp.scan = &scan;
                result_from_response(&ep, &resp, &res);
                CHECK(scan.bytes == BODY_READ_MAX, "limit: %zu bytes parsed", scan.bytes);
                if (!past)
                        CHECK(res.reuse == REUSE_WARM && streq(res.note, "instance_json: no 'container' in the first 64 KiB of the body"),
                              "reuse at the limit: found; note '%s'", res.note);
                else
                        CHECK(res.reuse == REUSE_UNKNOWN &&
                              streq(res.note, "reuse_json: no 'reused' in the first 64 KiB of the body; "
                                              "instance_json: no 'container' in the first 64 KiB of the body"),
                              "reuse past the limit: unknown; note '%s'", res.note);
                body_scan_done(&scan);
        }

        /* A body that is not an object has no fields: known at its first byte. */
        body[0] = '[';
        for (size_t k = 1; k + 1 < big; k += 2)
                memcpy(body + k, "1,", 2);
        body_scan_init(&scan, &ep);
        CHECK(feed_until_known(&scan, body, big, 4096) == 4096 && scan.state == BODY_JSON_NOT_OBJECT, "array: stops at once");
        body_scan_done(&scan);

        /* Invalid JSON is placed in the body, across pieces. */
        body_scan_init(&scan, &ep);
        CHECK(!body_scan_feed(&scan, "{\"a\":1", 6) && body_scan_feed(&scan, " x}", 3), "invalid in the second piece");
        CHECK(scan.state == BODY_JSON_INVALID && scan.error_offset == 7, "invalid at byte %zu", scan.error_offset);
        body_scan_done(&scan);

        /* Nothing configured: nothing to read. */
        body_scan_init(&scan, &(struct endpoint_config) { .reuse_header = "X-R" });
        CHECK(body_scan_feed(&scan, "{}", 2) && scan.state == BODY_JSON_UNUSED && scan.bytes == 0, "no JSON keys: nothing read");
        body_scan_done(&scan);
        free(body);
}

static struct result mk(bool ok, enum reuse reuse, const char *instance, uint64_t ms) {
        struct result r = { .ok = ok, .sent = true, .reuse = reuse, .total_usec = ms * USEC_PER_MSEC };

        snprintf(r.instance, sizeof r.instance, "%s", instance);
        return r;
}

static void test_summary(void) {
        struct round_acc a;
        struct summary s;

        CHECK(round_acc_init(&a, 5, 5) == 0, "init");

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
        round_acc_add(&a, &(struct result) { .ok = true, .sent = true, .total_usec = 3000 });
        round_acc_add(&a, &(struct result) { .ok = true, .sent = true, .total_usec = 1000, .reuse = REUSE_WARM,
                                             .reuse_guessed = true });
        round_acc_add(&a, &(struct result) { .ok = false, .sent = true, .total_usec = 2000 });
        round_acc_finish(&a, &s);
        CHECK(!s.instances_known && s.reached == 2 && s.guessed == 1, "reached %u from ok", s.reached);
        CHECK(s.p50_usec == 2000 && s.max_usec == 3000, "p50 of three");

        /* A request that never left (no socket) is failed, not sent, and has no say in the times. */
        round_acc_reset(&a, 3);
        round_acc_add(&a, &(struct result) { .ok = true, .sent = true, .total_usec = 5000 });
        round_acc_add(&a, &(struct result) { .total_usec = 0 });
        round_acc_add(&a, &(struct result) { .total_usec = 0 });
        round_acc_finish(&a, &s);
        CHECK(s.sent == 1 && s.ok == 1 && s.failed == 2, "sent %u of 3, failed %u", s.sent, s.failed);
        CHECK(s.p50_usec == 5000 && s.max_usec == 5000, "p50 %llu of the one sent", (unsigned long long) s.p50_usec);

        /* An empty round. */
        round_acc_reset(&a, 4);
        round_acc_finish(&a, &s);
        CHECK(s.sent == 0 && s.reached == 0 && s.p50_usec == 0 && s.containers == 4, "empty round");

        round_acc_done(&a);

        /* Sized for N = 2, it grows with a top-up up to its limit of 6 requests, and keeps no more. */
        CHECK(round_acc_init(&a, 2, 6) == 0 && a.capacity == 2, "init for 2, limit 6");
        for (unsigned i = 0; i < 7; i++) {
                struct result r = { .ok = true, .sent = true, .total_usec = 1000 * (i + 1) };

                snprintf(r.instance, sizeof r.instance, "c%u", i);
                round_acc_add(&a, &r);
        }
        round_acc_finish(&a, &s);
        CHECK(a.capacity == 6 && s.sent == 7 && s.instances == 6, "grew to %u, %u ids of %u requests", a.capacity,
              s.instances, s.sent);
        CHECK(round_acc_instances(&a, 4) == 2, "ids of the last attempt: %u", round_acc_instances(&a, 4));
        round_acc_done(&a);
}

int main(void) {
        test_bool_words();
        test_reuse();
        test_scan_in_pieces();
        test_scan_stops();
        test_summary();
        return tests_result("test-result");
}
