/* SPDX-License-Identifier: MIT */
/*
 * test-discover.c: tag discovery without a network: GetResources' request and
 * pages (tagging.c), tag values, and sources in the configuration with the
 * endpoints made from them (config.c).
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <unistd.h>

#include "tests.h"
#include "internal.h"

static char dir[] = "/tmp/test-discover-XXXXXX";

/* The request as the service model has it; checked as JSON, not as text. */
static void test_request(void) {
        char *body = NULL;
        json_object *o, *v;

        CHECK(tagging_request_body("warmd", NULL, &body) == 0, "first page");
        o = json_tokener_parse(body);
        CHECK(o && json_object_object_length(o) == 3, "three members: %s", body);
        CHECK(json_object_object_get_ex(o, "ResourceTypeFilters", &v) &&
              streq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), "[\"lambda:function\"]"),
              "ResourceTypeFilters: %s", body);
        CHECK(json_object_object_get_ex(o, "TagFilters", &v) &&
              streq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), "[{\"Key\":\"warmd\"}]"),
              "TagFilters: %s", body);
        CHECK(json_object_object_get_ex(o, "ResourcesPerPage", &v) && json_object_get_int(v) == 100,
              "ResourcesPerPage 100: %s", body);
        CHECK(!json_object_object_get_ex(o, "PaginationToken", NULL), "no token on the first page");
        json_object_put(o);
        free(body);

        /* A key with quotes stays one string. */
        CHECK(tagging_request_body("a\"b/c", "TOKEN/+=", &body) == 0, "next page");
        o = json_tokener_parse(body);
        CHECK(o && json_object_object_get_ex(o, "PaginationToken", &v) && streq(json_object_get_string(v), "TOKEN/+="),
              "the token as given: %s", body);
        CHECK(o && json_object_object_get_ex(o, "TagFilters", &v) &&
              streq(json_object_get_string(json_object_object_get(json_object_array_get_idx(v, 0), "Key")), "a\"b/c"),
              "the key as given: %s", body);
        json_object_put(o);
        free(body);
}

static int parse(const char *body, struct tagging_page *p, char *why, size_t size) {
        return tagging_page_parse(body, strlen(body), "warmd", p, why, size);
}

static void test_pages(void) {
        struct tagging_page p;
        char why[256], *big;
        int r;

        r = parse("{\"PaginationToken\":\"next\",\"ResourceTagMappingList\":["
                  "{\"ResourceARN\":\"arn:aws:lambda:eu-west-1:123456789012:function:orders\","
                  " \"Tags\":[{\"Key\":\"team\",\"Value\":\"a\"},{\"Key\":\"warmd\",\"Value\":\"5:live\"}]},"
                  "{\"ResourceARN\":\"arn:aws:lambda:eu-west-1:123456789012:function:users\","
                  " \"Tags\":[{\"Key\":\"warmd\",\"Value\":\"\"}]},"
                  "{\"ResourceARN\":\"arn:aws:lambda:eu-west-1:123456789012:function:other\","
                  " \"Tags\":[{\"Key\":\"team\",\"Value\":\"b\"}]}]}",
                  &p, why, sizeof why);
        CHECK(r == 0, "a page parses: %s", why);
        if (r == 0) {
                CHECK(p.n == 2, "two functions with the tag, the third skipped: %zu", p.n);
                CHECK(p.n == 2 && streq(p.items[0].arn, "arn:aws:lambda:eu-west-1:123456789012:function:orders") &&
                      streq(p.items[0].value, "5:live") && streq(p.items[1].value, ""), "ARNs and values");
                CHECK(p.next_token && streq(p.next_token, "next"), "the next token");
                tagging_page_done(&p);
        }
        CHECK(parse("{\"PaginationToken\":\"\",\"ResourceTagMappingList\":[]}", &p, why, sizeof why) == 0 &&
              p.n == 0 && !p.next_token, "an empty token ends the list");
        tagging_page_done(&p);
        CHECK(parse("{}", &p, why, sizeof why) == 0 && p.n == 0 && !p.next_token, "no members: an empty last page");
        tagging_page_done(&p);

        static const char *const bad[] = {
                "",
                "not json",
                "[]",
                "{\"ResourceTagMappingList\":{}}",
                "{\"ResourceTagMappingList\":[{\"Tags\":[]}]}",
                "{\"ResourceTagMappingList\":[{\"ResourceARN\":\"arn:aws:lambda:eu-west-1:1:function:a\"",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                why[0] = '\0';
                CHECK(parse(bad[i], &p, why, sizeof why) == -EBADMSG && why[0], "'%s' is refused", bad[i]);
        }

        /* The service model's limits: a token of 2048 characters, an ARN of 1011. */
        big = malloc(4096);
        for (int n = 2048; n <= 2049; n++) {
                snprintf(big, 4096, "{\"PaginationToken\":\"%0*d\"}", n, 0);
                r = parse(big, &p, why, sizeof why);
                CHECK(n == 2048 ? r == 0 : r == -EBADMSG, "a token of %d characters: %d", n, r);
                tagging_page_done(&p);
        }
        for (int n = 1011; n <= 1012; n++) {
                snprintf(big, 4096, "{\"ResourceTagMappingList\":[{\"ResourceARN\":\"%0*d\",\"Tags\":[{\"Key\":\"warmd\","
                         "\"Value\":\"1\"}]}]}", n, 0);
                r = parse(big, &p, why, sizeof why);
                CHECK(n == 1011 ? r == 0 : r == -EBADMSG, "an ARN of %d characters: %d", n, r);
                tagging_page_done(&p);
        }
        free(big);
}

static void test_errors(void) {
        static const struct {
                long status;
                const char *header, *body, *want;
        } cases[] = {
                { 400, "ThrottledException", "{\"Message\":\"Rate exceeded\"}", "HTTP 400 ThrottledException: Rate exceeded" },
                { 400, NULL, "{\"__type\":\"com.amazonaws.tagging#ThrottledException\",\"message\":\"slow down\"}",
                  "HTTP 400 ThrottledException: slow down" },
                { 403, "AccessDeniedException:http://internal", "", "HTTP 403 AccessDeniedException" },
                { 502, NULL, "<html>", "HTTP 502" },
                /* The service's words make one log line. */
                { 400, "ValidationException", "{\"message\":\"bad\\nFORGED: line\\r\\nagain\"}",
                  "HTTP 400 ValidationException: bad FORGED: line  again" },
        };
        char why[256];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tagging_error(cases[i].status, cases[i].header, cases[i].body, strlen(cases[i].body), why, sizeof why);
                CHECK(streq(why, cases[i].want), "'%s', want '%s'", why, cases[i].want);
        }
}

static void test_tag_values(void) {
        static const struct {
                const char *value;
                unsigned containers;    /* 0: refused */
                const char *qualifier;
        } cases[] = {
                { "5", 5, NULL },
                { "1", 1, NULL },
                { "10000", 10000, NULL },
                { "5:live", 5, "live" },
                { "2:$LATEST", 2, "$LATEST" },
                { "3:12", 3, "12" },
                { "0", 0, NULL },
                { "10001", 0, NULL },
                { "99999999999999999999", 0, NULL },
                { "", 0, NULL },
                { "x", 0, NULL },
                { " 5", 0, NULL },
                { "5 ", 0, NULL },
                { "-1", 0, NULL },
                { "+1", 0, NULL },
                { "5:", 0, NULL },
                { "5:li ve", 0, NULL },
                { "5:live:x", 0, NULL },
                { ":live", 0, NULL },
                { "yes", 0, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned n = 0;
                const char *q = NULL;
                int r = tagging_tag_value(cases[i].value, &n, &q);

                if (cases[i].containers == 0) {
                        CHECK(r == -EINVAL, "'%s' is refused", cases[i].value);
                        continue;
                }
                CHECK(r == 0 && n == cases[i].containers && streq_ptr(q, cases[i].qualifier), "'%s': %u '%s'",
                      cases[i].value, n, q ? q : "(none)");
        }
}

static void test_arns(void) {
        char name[80];

        CHECK(tagging_arn_function("arn:aws:lambda:eu-west-1:123456789012:function:orders", name, sizeof name) == 0 &&
              streq(name, "orders"), "a function's ARN");
        CHECK(tagging_arn_function("arn:aws:lambda:eu-west-1:123456789012:function:orders:live", name, sizeof name) < 0,
              "an alias's ARN is not a function's");
        CHECK(tagging_arn_function("arn:aws:s3:::bucket", name, sizeof name) < 0, "not Lambda's");
        CHECK(tagging_arn_function("orders", name, sizeof name) < 0, "not an ARN");
}

/* ----------------------------------------------------------- configuration */

static struct config *load(const char *text, char *first_error, size_t size) {
        struct config_errors e = {};
        struct config *c = NULL;
        char path[128];
        FILE *f;

        snprintf(path, sizeof path, "%s/t.conf", dir);
        f = fopen(path, "w");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
        if (first_error)
                first_error[0] = '\0';
        if (config_load(path, 0, &c, &e) < 0 && first_error && e.n > 0)
                snprintf(first_error, size, "%s", strchr(e.lines[0], ':') + 1);
        config_errors_clear(&e);
        return c;
}

static void test_sources(void) {
        static const struct {
                const char *text, *error;       /* error: "LINE: message" of the first; NULL: loads */
        } cases[] = {
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\n", NULL },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\ncontainers = 3\n",
                  "4: [fleet]: 'containers' cannot be set in a source (a section with lambda_tag): each function's tag value says how many" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nurl = http://127.0.0.1/\n",
                  "4: [fleet]: 'url' cannot be set in a source" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nlambda = orders\n",
                  "4: [fleet]: 'lambda' cannot be set in a source" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nmethod = GET\n",
                  "4: [fleet]: 'method' cannot be set in a source" },
                { "[fleet]\nlambda_tag = warmd\n", "1: [fleet]: no region for the source" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nauth = google\n",
                  "4: [fleet]: auth = google cannot be used in a source: the functions it finds are invoked with AWS credentials" },
                { "[global]\nauth = azure\nresource = api://x\n[fleet]\nlambda_tag = warmd\nregion = eu-west-1\n",
                  "2: [fleet]: auth = azure cannot be used in a source" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nbody = not json\n",
                  "4: [fleet]: 'body' must be JSON for 'lambda'" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nrefresh = 9s\n", "4: refresh: 9s is out of range (10s..24h)" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nrefresh = 25h\n", "4: refresh: 25h is out of range (10s..24h)" },
                { "[orders]\nlambda = orders\nregion = eu-west-1\ncontainers = 1\nrefresh = 5m\n",
                  "5: [orders]: 'refresh' is only for a source (a section with lambda_tag)" },
                { "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\ninterval = 1m\njitter = 2m\n",
                  "5: [fleet]: jitter (2m) must not be longer than interval (1m)" },
        };
        char err[512];

        unsetenv("AWS_REGION");
        unsetenv("AWS_DEFAULT_REGION");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_LAMBDA");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct config *c = load(cases[i].text, err, sizeof err);

                if (!cases[i].error)
                        CHECK(c, "loads: %s", err);
                else
                        CHECK(!c && strncmp(err, cases[i].error, strlen(cases[i].error)) == 0, "got '%s', want '%s'", err,
                              cases[i].error);
                config_free(c);
        }

        /* 128 characters are AWS's limit on a tag key. */
        for (int n = 128; n <= 129; n++) {
                char text[400];
                struct config *c;

                snprintf(text, sizeof text, "[fleet]\nregion = eu-west-1\nlambda_tag = %0*d\n", n, 0);
                c = load(text, err, sizeof err);
                CHECK(n == 128 ? c != NULL : c == NULL, "a tag key of %d characters: %s", n, err);
                config_free(c);
        }
}

/* A found function becomes an endpoint with the source's keys; the file's endpoints stay as loaded. */
static void test_derive_and_combine(void) {
        struct config *c, *all = NULL;
        struct endpoint_config *ep = NULL, **extra;
        char err[512];

        c = load("[global]\nmax_parallel = 77\ntimeout = 3s\n"
                 "[orders]\nlambda = orders:live\nregion = eu-west-1\ncontainers = 2\n"
                 "[web]\nurl = http://127.0.0.1:1/x\nheader = X-A: 1\ncontainers = 1\n"
                 "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\ninterval = 2m\nrefresh = 5m\nbody = {\"w\":1}\n",
                 err, sizeof err);
        CHECK(c, "loads: %s", err);
        if (!c)
                return;
        CHECK(c->n_endpoints == 2 && c->n_sources == 1, "2 endpoints and 1 source: %zu %zu", c->n_endpoints,
              c->n_sources);
        CHECK(c->n_sources == 1 && c->sources[0]->refresh_usec == 5 * USEC_PER_MINUTE &&
              streq(c->sources[0]->lambda_tag, "warmd"), "the source's keys");

        CHECK(config_endpoint_derive(c->sources[0], "fleet/users:live", "users:live", 4, NULL, NULL, &ep) == 0,
              "derive");
        if (ep) {
                CHECK(streq(ep->name, "fleet/users:live") && ep->containers == 4, "name and containers");
                CHECK(ep->interval_usec == 2 * USEC_PER_MINUTE && ep->timeout_usec == 3 * USEC_PER_SEC,
                      "interval from the source, timeout from [global]");
                CHECK(streq(ep->body, "{\"w\":1}") && streq(ep->region, "eu-west-1"), "body and region");
                CHECK(!ep->lambda_tag && ep->refresh_usec == 0, "not a source itself");
                CHECK(strstr(ep->url, "/2015-03-31/functions/users/invocations?Qualifier=live") != NULL, "url %s",
                      ep->url);
        }

        extra = calloc(1, sizeof *extra);
        extra[0] = ep;
        CHECK(config_combine(c, extra, 1, &all) == 0, "combine");
        if (all) {
                CHECK(all->n_endpoints == 3 && all->n_sources == 0 && all->max_parallel == 77, "3 endpoints, globals");
                for (size_t i = 0; i < 2 && all->n_endpoints == 3; i++)
                        CHECK(all->endpoints[i] != c->endpoints[i] && endpoint_config_equal(all->endpoints[i], c->endpoints[i]),
                              "a copy of [%s], equal", c->endpoints[i]->name);
                CHECK(all->n_endpoints == 3 && all->endpoints[2] == ep, "the found one last");
                CHECK(all->n_endpoints == 3 && all->endpoints[1]->header_list &&
                      streq(all->endpoints[1]->header_list->data, "X-A: 1"), "headers copied");
        } else
                config_endpoint_free(ep);
        free(extra);
        config_free(all);
        config_free(c);
}

int main(void) {
        if (!mkdtemp(dir))
                abort();
        test_request();
        test_pages();
        test_errors();
        test_tag_values();
        test_arns();
        test_sources();
        test_derive_and_combine();
        {
                char path[128];

                snprintf(path, sizeof path, "%s/t.conf", dir);
                unlink(path);
                rmdir(dir);
        }
        return tests_result("test-discover");
}
