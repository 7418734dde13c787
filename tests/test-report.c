/* SPDX-License-Identifier: MIT */
/* test-report.c: what -n prints of a configuration, and how --once groups the reasons of failures. */
#include "config.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests.h"
#include "internal.h"

static void fail_with(struct once_report *r, const struct endpoint_config *ep, const char *reason) {
        struct result res = { .ok = false };

        snprintf(res.error, sizeof res.error, "%s", reason);
        once_report_event(r, &(struct scheduler_event) { .type = SCHEDULER_EVENT_REQUEST, .endpoint = ep,
                                                         .result = &res });
}

/* Grouped with counts, the most frequent first; at most 16 reasons, the rest under "other reasons". */
static void test_failures(void) {
        struct endpoint_config e = { .name = "e" }, f = { .name = "f" };
        struct result ok = { .ok = true };
        struct once_report *r = NULL;
        struct json_object *a;
        char reason[32];
        int64_t total = 0;

        CHECK(once_report_new(&r) == 0, "once_report_new");
        if (!r)
                return;
        for (int i = 0; i < 20; i++) {
                snprintf(reason, sizeof reason, "reason %02d", i);
                fail_with(r, &e, reason);
        }
        for (int i = 0; i < 4; i++)
                fail_with(r, &e, "reason 05");
        fail_with(r, &f, "HTTP 503 (expected 2xx)");
        once_report_event(r, &(struct scheduler_event) { .type = SCHEDULER_EVENT_REQUEST, .endpoint = &e, .result = &ok });
        once_report_event(r, &(struct scheduler_event) { .type = SCHEDULER_EVENT_ROUND, .endpoint = &e });

        a = once_report_failures(r, "e");
        CHECK(a && json_object_array_length(a) == 17, "16 reasons and one for the rest: %zu",
              a ? json_object_array_length(a) : 0);
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *o = json_object_array_get_idx(a, i);
                const char *why = json_object_get_string(json_object_object_get(o, "reason"));
                int64_t n = json_object_get_int64(json_object_object_get(o, "count"));

                total += n;
                if (i == 0)
                        CHECK(streq(why, "reason 05") && n == 5, "the most frequent first: %s x %" PRId64, why, n);
                if (streq(why, "other reasons"))
                        CHECK(n == 4, "the 4 reasons past the 16th counted together: %" PRId64, n);
        }
        CHECK(total == 24, "every failure counted once, a success not: %" PRId64, total);
        json_object_put(a);

        a = once_report_failures(r, "f");
        CHECK(a && streq(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                         "[{\"reason\":\"HTTP 503 (expected 2xx)\",\"count\":1}]"),
              "another endpoint's own: %s", a ? json_object_to_json_string(a) : "NULL");
        json_object_put(a);
        a = once_report_failures(r, "none");
        CHECK(a && json_object_array_length(a) == 0, "an endpoint without failures: an empty list");
        json_object_put(a);
        once_report_free(r);
}

/* The text of -n: each file with its endpoints, the globals, then the verdict; no secret. */
static void test_config_text(void) {
        char *files[] = { "/etc/warmd/warmd.conf", "/etc/warmd/warmd.conf.d/10-a.conf" };
        struct endpoint_config m = { .name = "m", .file = files[0], .line = 4, .containers = 2,
                                     .url_display = "https://***@example.com/x?k=***" },
                               a = { .name = "a", .file = files[1], .line = 1, .containers = 1,
                                     .url_display = "http://example.com/" },
                               d = { .name = "discovered", .line = 0, .containers = 3 };
        struct endpoint_config *eps[] = { &m, &a, &d };
        struct config_setting g[] = { { .key = "interval", .file = files[1], .line = 7, .value = "5m" } };
        struct config c = { .path = files[0], .files = files, .n_files = 2, .globals = g, .n_globals = 1,
                            .endpoints = eps, .n_endpoints = 3 };
        const char *want =
                "/etc/warmd/warmd.conf\n"
                "  [m] line 4: 2 containers, https://***@example.com/x?k=***\n"
                "/etc/warmd/warmd.conf.d/10-a.conf\n"
                "  [a] line 1: 1 container, http://example.com/\n"
                "not from a file\n"
                "  [discovered] line 0: 3 containers, no URL\n"
                "[global]\n"
                "  interval = 5m (/etc/warmd/warmd.conf.d/10-a.conf:7)\n"
                "configuration OK\n";
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        CHECK(f && report_config(f, &c, false, 0) == 0 && fclose(f) == 0, "report_config");
        CHECK(text && streq(text, want), "the text:\n%s", text ? text : "(none)");
        free(text);
}

int main(void) {
        test_failures();
        test_config_text();
        return tests_result("test-report");
}
