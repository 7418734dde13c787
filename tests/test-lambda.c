/* SPDX-License-Identifier: MIT */
/* test-lambda.c: "lambda = ..." into an Invoke URL, the client context, and Lambda's answers into results. */
#include "config.h"

#include <openssl/evp.h>

#include "tests.h"
#include "internal.h"

static void test_parse_and_url(void) {
        static const struct {
                const char *spec;
                const char *url;        /* NULL: refused */
                const char *region;     /* from the ARN */
        } cases[] = {
                { "orders", "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/orders/invocations", "" },
                { "orders:live", "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/orders/invocations?Qualifier=live", "" },
                { "orders:$LATEST", "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/orders/invocations?Qualifier=%24LATEST", "" },
                { "arn:aws:lambda:us-east-2:210987654321:function:xacct:prod",
                  "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-2%3A210987654321%3Afunction%3Axacct/invocations?Qualifier=prod",
                  "us-east-2" },
                { "arn:aws:lambda:us-east-2:210987654321:function:xacct",
                  "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-2%3A210987654321%3Afunction%3Axacct/invocations",
                  "us-east-2" },
                { "", NULL, NULL },
                { "orders:", NULL, NULL },
                { "or/ders", NULL, NULL },
                { "orders:live:extra", NULL, NULL },
                { "arn:aws:lambda:us-east-2:2109876543:function:xacct", NULL, NULL },
                { "arn:aws:s3:us-east-2:210987654321:function:xacct", NULL, NULL },
                { "arn:aws:lambda:us-east-2:210987654321:layer:xacct", NULL, NULL },
                { "arn:aws:lambda:us-east-2:210987654321:function:xacct:prod:more", NULL, NULL },
                { "a1234567890123456789012345678901234567890123456789012345678901234", NULL, NULL },
        };

        unsetenv("AWS_ENDPOINT_URL_LAMBDA");
        unsetenv("AWS_ENDPOINT_URL");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct lambda_target t;
                const char *err = NULL;
                char *url = NULL;
                int r = lambda_parse(cases[i].spec, &t, &err);

                if (!cases[i].url) {
                        CHECK(r == -EINVAL && err, "'%s' is refused", cases[i].spec);
                        continue;
                }
                CHECK(r == 0, "'%s' parses: %s", cases[i].spec, err ? err : "");
                if (r < 0)
                        continue;
                CHECK(streq(t.region, cases[i].region), "'%s': region '%s'", cases[i].spec, t.region);
                CHECK(lambda_url(&t, "eu-west-1", &url) == 0 && streq(url, cases[i].url), "'%s': %s", cases[i].spec,
                      url ? url : "(none)");
                free(url);
        }
}

static void test_endpoint_override(void) {
        struct lambda_target t;
        const char *err;
        char *url = NULL;

        CHECK(lambda_parse("fn:live", &t, &err) == 0, "parse");
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
        CHECK(lambda_url(&t, "eu-west-1", &url) == 0 && streq(url, "http://127.0.0.1:4566/2015-03-31/functions/fn/invocations?Qualifier=live"),
              "AWS_ENDPOINT_URL: %s", url);
        free(url);
        url = NULL;
        setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9", 1);
        CHECK(lambda_url(&t, "eu-west-1", &url) == 0 && streq(url, "http://127.0.0.1:9/2015-03-31/functions/fn/invocations?Qualifier=live"),
              "AWS_ENDPOINT_URL_LAMBDA wins: %s", url);
        free(url);
        unsetenv("AWS_ENDPOINT_URL_LAMBDA");
        unsetenv("AWS_ENDPOINT_URL");
        CHECK(lambda_url(&t, "eu west", &url) == -EINVAL, "a region with a blank is refused");
}

static void test_client_context(void) {
        char *h = NULL;
        unsigned char dec[256];
        int n;

        CHECK(lambda_client_context("{\"source\":\"serverless-plugin-warmup\"}", &h) == 1 && h, "a JSON object");
        if (h) {
                const char *b64 = h + strlen("X-Amz-Client-Context: ");

                n = EVP_DecodeBlock(dec, (const unsigned char *) b64, (int) strlen(b64));
                CHECK(n > 0, "base64");
                dec[n > 0 ? n : 0] = '\0';
                CHECK(strncmp((char *) dec, "{\"custom\":{\"source\":\"serverless-plugin-warmup\"}}", 48) == 0,
                      "wrapped as serverless-plugin-warmup does: %s", dec);
                free(h);
        }
        h = NULL;
        CHECK(lambda_client_context("[1, 2]", &h) == 0 && !h, "an array: no client context");
        CHECK(lambda_client_context("not json", &h) == 0 && !h, "not JSON: no client context");
        CHECK(lambda_client_context("{} {}", &h) == 0 && !h, "two values: no client context");
}

/* One JSON value and nothing after it, as the Invoke API takes a payload. */
static void test_payload_check(void) {
        static const struct {
                const char *body;
                int want;
        } cases[] = {
                { "{\"source\":\"serverless-plugin-warmup\"}", 0 },
                { " [1, 2] ", 0 },
                { "1", 0 },
                { "\"s\"", 0 },
                { "null", 0 },
                { "1{\"wda", -EINVAL },
                { "{} x", -EINVAL },
                { "{\"a\":1}}", -EINVAL },
                { "true false", -EINVAL },
                { "[1,]", -EINVAL },
                { "not json", -EINVAL },
                { "", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(lambda_payload_check(cases[i].body) == cases[i].want, "'%s': %d, want %d", cases[i].body,
                      lambda_payload_check(cases[i].body), cases[i].want);
}

static char *b64(const char *s) {
        static char out[4096];

        EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s, (int) strlen(s));
        return out;
}

static void test_log_tail(void) {
        CHECK(lambda_log_reuse(b64("START RequestId: 1 Version: $LATEST\nEND RequestId: 1\nREPORT RequestId: 1\t"
                                   "Duration: 2.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t"
                                   "Max Memory Used: 40 MB\tInit Duration: 180.00 ms\t\n")) == REUSE_COLD,
              "Init Duration: cold");
        CHECK(lambda_log_reuse(b64("START RequestId: 1\nEND RequestId: 1\nREPORT RequestId: 1\tDuration: 2.00 ms\t\n")) ==
                      REUSE_WARM,
              "no Init Duration: warm");
        CHECK(lambda_log_reuse(b64("Init Duration: 5 ms, printed by the handler itself\n")) == REUSE_UNKNOWN,
              "no REPORT line: unknown, whatever the handler printed");
        CHECK(lambda_log_reuse("not base64!") == REUSE_UNKNOWN, "garbage: unknown");
        CHECK(lambda_log_reuse(NULL) == REUSE_UNKNOWN, "no tail: unknown");
}

static void test_apply(void) {
        static struct endpoint_config ep = { .name = (char *) "fn", .containers = 5, .lambda = (char *) "fn" };
/* Lambda's answer headers: X-Amz-Function-Error, x-amzn-ErrorType, X-Amz-Log-Result. */
#define HEADERS(fe, et, log) .platform_headers = (const char *const[LAMBDA_ANSWER_HEADERS]) { fe, et, log }
        const struct {
                const char *name;
                struct response r;
                bool ok;
                const char *error_prefix;
        } cases[] = {
                { "function error", { .http_status = 200, HEADERS("Unhandled", NULL, NULL),
                                      .body = "{\"errorType\": \"KeyError\", \"errorMessage\": \"x\"}" },
                  false, "function error: Unhandled: KeyError" },
                { "throttled", { .http_status = 429, HEADERS(NULL, "TooManyRequestsException:http://internal", NULL),
                                 .body = "{\"message\": \"Rate Exceeded.\"}" },
                  false, "throttled (429 TooManyRequestsException): the function's reserved concurrency" },
                { "signature", { .http_status = 403, HEADERS(NULL, "InvalidSignatureException", NULL),
                                 .body = "{\"message\": \"no match\"}" },
                  false, "403 InvalidSignatureException: the signature was refused, or the credentials are invalid or expired: no match" },
                { "missing", { .http_status = 404, HEADERS(NULL, "ResourceNotFoundException", NULL),
                               .body = "{\"Message\": \"Function not found: x\"}" },
                  false, "404 ResourceNotFoundException: the function or qualifier does not exist: Function not found: x" },
                { "server", { .http_status = 500, HEADERS(NULL, "ServiceException", NULL) }, false, "HTTP 500 ServiceException" },
                { "no headers", { .http_status = 502 }, false, "HTTP 502 error" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct response r = cases[i].r;
                struct result res;

                r.body_len = r.body ? strlen(r.body) : 0;
                result_from_response(&ep, &r, &res);
                CHECK(res.ok == cases[i].ok, "%s: ok", cases[i].name);
                CHECK(strncmp(res.error, cases[i].error_prefix, strlen(cases[i].error_prefix)) == 0, "%s: '%s'",
                      cases[i].name, res.error);
        }

        /* A good answer: the log tail decides, and a payload field names the container. */
        {
                struct endpoint_config e2 = ep;
                char *tail = strdup(b64("REPORT RequestId: 9\tDuration: 1 ms\tInit Duration: 100.0 ms\t\n"));
                struct response r = { .http_status = 200, .body = "{\"container\": \"c-7\"}", .body_len = 20,
                                      HEADERS(NULL, NULL, tail) };
                struct result res;

                e2.instance_json = (char *) "container";
                result_from_response(&e2, &r, &res);
                CHECK(res.ok && res.reuse == REUSE_COLD && !res.reuse_guessed && streq(res.instance, "c-7"),
                      "cold from the tail, instance from the payload: ok=%d reuse=%d '%s'", res.ok, res.reuse, res.instance);
                free(tail);
        }
#undef HEADERS
}

/* The answer's fields, found while the body streams in byte by byte, and read to its end. */
static void test_answer_fields(void) {
        static struct endpoint_config ep = { .name = (char *) "fn", .containers = 1, .lambda = (char *) "fn" };
        static const char body[] = "{\"Message\": \"first\", \"errorType\": \"KeyError\", \"message\": \"second\"}";
        struct body_scan scan;
        size_t k;

        body_scan_init(&scan, &ep);
        for (k = 0; k < strlen(body) && !body_scan_feed(&scan, body + k, 1); k++)
                ;
        body_scan_end(&scan);
        CHECK(k == strlen(body) - 1 && scan.state == BODY_JSON_COMPLETE, "read to the end: %zu of %zu bytes, state %d",
              k + 1, strlen(body), scan.state);
        CHECK(streq(scan.field[LAMBDA_FIELD_ERROR_TYPE], "KeyError"), "errorType: '%s'", scan.field[LAMBDA_FIELD_ERROR_TYPE]);
        CHECK(streq(scan.field[LAMBDA_FIELD_MESSAGE], "first"), "the first of message and Message: '%s'",
              scan.field[LAMBDA_FIELD_MESSAGE]);
        body_scan_done(&scan);
}

/* One rule for a region, in the key, in an ARN and in the public URL: AWS's own, lower-case. */
static void test_region(void) {
        static const struct {
                const char *region;
                bool valid;
        } cases[] = {
                { "eu-west-1", true },
                { "us-gov-west-1", true },
                { "cn-north-1", true },
                { "EU-WEST-1", false },
                { "eu_west_1", false },
                { "eu west", false },
                { "", false },
                { "a-region-name-far-longer-than-any", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char arn[128], *why = NULL;
                struct lambda_target t;
                const char *err = NULL;

                CHECK(lambda_region_valid(cases[i].region, strlen(cases[i].region)) == cases[i].valid, "'%s'",
                      cases[i].region);
                CHECK((lambda_key_check("region", cases[i].region, &why) == 0) == cases[i].valid, "region = %s",
                      cases[i].region);
                free(why);
                snprintf(arn, sizeof arn, "arn:aws:lambda:%s:210987654321:function:f", cases[i].region);
                CHECK((lambda_parse(arn, &t, &err) == 0) == cases[i].valid, "%s", arn);
        }
}

static void test_key_check(void) {
        char *why = NULL;

        CHECK(lambda_key_check("region", "EU", &why) == -EINVAL && why &&
              streq(why, "invalid region 'EU' (such as eu-west-1)"), "region: '%s'", why ? why : "");
        free(why);
        why = NULL;
        CHECK(lambda_key_check("lambda", "or/ders", &why) == -EINVAL && why &&
              streq(why, "invalid function name (letters, digits, '-' and '_', at most 64): 'or/ders'"), "lambda: '%s'",
              why ? why : "");
        free(why);
        why = NULL;
        CHECK(lambda_key_check("lambda", "orders:live", &why) == 0 && !why, "a good function");
}

struct problems {
        char text[4][256];
        const char *key[4];
        size_t n;
};

static void on_problem(void *userdata, const char *key, const char *message) {
        struct problems *p = userdata;

        if (p->n < ELEMENTSOF(p->text)) {
                p->key[p->n] = key;
                snprintf(p->text[p->n++], sizeof p->text[0], "%s", message);
        }
}

/* The endpoint "lambda = ..." makes: a POST of the payload to the invoke URL, with the fixed headers. */
static void test_endpoint_setup(void) {
        struct endpoint_config ep = { .name = (char *) "e", .lambda = (char *) "orders:live",
                                      .region = strdup("eu-west-1") };
        struct problems p = {};
        struct lambda_setup setup = { .problem = on_problem, .userdata = &p };
        size_t n = 0;

        unsetenv("AWS_ENDPOINT_URL_LAMBDA");
        unsetenv("AWS_ENDPOINT_URL");
        CHECK(lambda_endpoint_setup(&ep, &setup) == 1 && p.n == 0, "set up, %zu problems", p.n);
        CHECK(ep.url && streq(ep.url, "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/orders/invocations?Qualifier=live"),
              "url %s", ep.url ? ep.url : "(none)");
        CHECK(ep.method && streq(ep.method, "POST"), "a POST");
        CHECK(ep.body && streq(ep.body, LAMBDA_DEFAULT_PAYLOAD), "serverless-plugin-warmup's payload");
        for (const struct curl_slist *h = ep.header_list; h; h = h->next)
                n++;
        CHECK(n == 4, "three fixed headers and the client context: %zu", n);
        free(ep.url);
        free(ep.method);
        free(ep.body);
        free(ep.region);
        curl_slist_free_all(ep.header_list);

        ep = (struct endpoint_config) { .name = (char *) "e", .lambda = (char *) "orders", .body = strdup("{} x") };
        setup.set = LAMBDA_SET_URL | LAMBDA_SET_HEADER;
        CHECK(lambda_endpoint_setup(&ep, &setup) == 0 && p.n == 3, "three problems: %zu", p.n);
        CHECK(streq(p.key[0], "url") && streq(p.text[0], "[e]: 'url' and 'lambda' cannot both be set"), "%s", p.text[0]);
        CHECK(streq(p.key[1], "header") && strncmp(p.text[1], "[e]: 'header' cannot be set", 27) == 0, "%s", p.text[1]);
        CHECK(streq(p.key[2], "body") && streq(p.text[2], "[e]: 'body' must be JSON for 'lambda': it is the event payload"),
              "%s", p.text[2]);
        free(ep.method);
        free(ep.body);
}

int main(void) {
        test_parse_and_url();
        test_endpoint_override();
        test_client_context();
        test_payload_check();
        test_log_tail();
        test_apply();
        test_answer_fields();
        test_region();
        test_key_check();
        test_endpoint_setup();
        return tests_result("test-lambda");
}
