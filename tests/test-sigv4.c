/* SPDX-License-Identifier: MIT */
/*
 * test-sigv4.c: AWS Signature Version 4 against the example AWS publishes, the Lambda paths it must get
 * right, and signed HTTP endpoints (Function URLs, API Gateway) from their URLs.
 */
#include "config.h"

#include "tests.h"
#include "warmd.h"

/* 2015-08-30T12:36:00Z, the instant of AWS's example. */
#define EXAMPLE_TIME ((time_t) 1440938160)

static const struct aws_credentials example_keys = {
        .access_key_id = (char *) "AKIDEXAMPLE",
        .secret_access_key = (char *) "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

/* The worked example of AWS's "Signature Version 4 signing process" documentation (IAM ListUsers). */
static void test_aws_example(void) {
        static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL };
        struct sigv4_request req = {
                .method = "GET",
                .host = "iam.amazonaws.com",
                .path = "/",
                .query = "Action=ListUsers&Version=2010-05-08",
                .headers = headers,
                .region = "us-east-1",
                .service = "iam",
        };
        struct sigv4_signature s;
        int r;

        r = sigv4_sign(&req, &example_keys, EXAMPLE_TIME, &s);
        CHECK(r == 0, "sigv4_sign: %d", r);
        if (r < 0)
                return;
        CHECK(streq(s.amz_date, "20150830T123600Z"), "date %s", s.amz_date);
        CHECK(streq(s.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"), "signature %s",
              s.signature);
        CHECK(streq(s.authorization, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
                                     "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                                     "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
              "authorization %s", s.authorization);
        CHECK(streq(s.date_header, "X-Amz-Date: 20150830T123600Z"), "%s", s.date_header);
        CHECK(!s.token_header, "no token header without a session token");
        sigv4_signature_done(&s);

        /* The query is sorted and the header names folded to lower case before signing: same signature. */
        req.query = "Version=2010-05-08&Action=ListUsers";
        static const char *const shouting[] = { "CONTENT-TYPE:   application/x-www-form-urlencoded; charset=utf-8  ", NULL };
        req.headers = shouting;
        r = sigv4_sign(&req, &example_keys, EXAMPLE_TIME, &s);
        CHECK(r == 0 && streq(s.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
              "canonical forms: %s", r == 0 ? s.signature : "");
        if (r == 0)
                sigv4_signature_done(&s);
}

/*
 * The Lambda cases.  The expected values come from a second implementation
 * written from the same specification (tests/faas_aws.py, which checks
 * itself against the example above); the point pinned here is what 7.88.1's
 * built-in signer gets wrong: an ARN's "%3A" is encoded again ("%253A") in
 * the canonical request, and the session token is signed.
 */
static void test_lambda(void) {
        static const char *const headers[] = { "X-Amz-Invocation-Type: RequestResponse", "X-Amz-Log-Type: Tail", NULL };
        static const struct aws_credentials temp = {
                .access_key_id = (char *) "ASIAEXAMPLE",
                .secret_access_key = (char *) "secretEXAMPLE",
                .session_token = (char *) "tokenEXAMPLE",
        };
        static const struct {
                const char *name;
                const char *path, *query;
                const struct aws_credentials *cred;
                const char *signature;
        } cases[] = {
                { "name and alias", "/2015-03-31/functions/orders/invocations", "Qualifier=live", &example_keys,
                  "1d3de3ed580764a8f817b86fea3a74826de42c227e449e7d0a4df6cb59f3db61" },
                { "ARN", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aorders/invocations",
                  NULL, &example_keys, "ce317d5adbde9f0b1ba5deb46d737932b7c9cbd07e8d8d56d18d87634c12d99b" },
                { "session token", "/2015-03-31/functions/orders/invocations", "Qualifier=%24LATEST", &temp,
                  "2d467d5bb138fd602feac1bb9b81e638323cfa8d5b99a82402305f028958547a" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sigv4_request req = {
                        .method = "POST",
                        .host = "lambda.eu-west-1.amazonaws.com",
                        .path = cases[i].path,
                        .query = cases[i].query,
                        .headers = headers,
                        .payload = "{\"source\": \"serverless-plugin-warmup\"}",
                        .region = "eu-west-1",
                        .service = "lambda",
                };
                struct sigv4_signature s;
                int r;

                req.payload_len = strlen(req.payload);
                r = sigv4_sign(&req, cases[i].cred, EXAMPLE_TIME, &s);
                CHECK(r == 0, "%s: sigv4_sign: %d", cases[i].name, r);
                if (r < 0)
                        continue;
                CHECK(streq(s.signature, cases[i].signature), "%s: signature %s", cases[i].name, s.signature);
                if (cases[i].cred->session_token) {
                        CHECK(s.token_header && streq(s.token_header, "X-Amz-Security-Token: tokenEXAMPLE"), "%s: token header",
                              cases[i].name);
                        CHECK(strstr(s.authorization, "SignedHeaders=host;x-amz-date;x-amz-invocation-type;x-amz-log-type;"
                                                      "x-amz-security-token,"),
                              "%s: %s", cases[i].name, s.authorization);
                }
                sigv4_signature_done(&s);
        }
}

/*
 * Signed HTTP endpoints (auth = aws), from the URL as configured: a Lambda
 * Function URL and an API Gateway route, each with the service and region
 * its host names.  The signatures come from tests/faas_aws.py's
 * independent implementation:
 *   python3 -c 'import faas_aws; print(faas_aws.signature(SECRET, "20150830T123600Z", REGION, SERVICE,
 *               METHOD, PATH, QUERY, HEADERS, sorted(HEADERS), BODY))'
 * with HEADERS the lower-case host, x-amz-date and, with a token, x-amz-security-token.
 */
static void test_signed_urls(void) {
        static const struct aws_credentials temp = {
                .access_key_id = (char *) "ASIAEXAMPLE",
                .secret_access_key = (char *) "secretEXAMPLE",
                .session_token = (char *) "tokenEXAMPLE",
        };
        static const struct {
                const char *name, *method, *url, *body;
                const struct aws_credentials *cred;
                const char *service, *region, *signature;
        } cases[] = {
                { "Function URL", "POST", "https://abcdefghij.lambda-url.eu-west-1.on.aws/warm?b=2&a=1",
                  "{\"warm\": true}", &example_keys, "lambda", "eu-west-1",
                  "c875d1bef42591770f95db333ba1a71504a0fbaa1cddc4f711fc140fddd4d9a8" },
                { "API Gateway, session token", "GET", "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/orders%20x",
                  NULL, &temp, "execute-api", "us-east-1",
                  "455c884ce738a7d52197eb3b99bb766c9982cb283977447e839f3fcf66d6fdd6" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char service[SIGV4_NAME_MAX], region[SIGV4_NAME_MAX], host[128];
                struct curl_slist *l = NULL;
                const char *auth = NULL, *tok = NULL;
                int r;

                snprintf(host, sizeof host, "%s", cases[i].url + strlen("https://"));
                host[strcspn(host, "/")] = '\0';
                r = sigv4_scope_from_host(host, service, region);
                CHECK(r == 1 && streq(service, cases[i].service) && streq(region, cases[i].region),
                      "%s: service and region from the host: %d %s %s", cases[i].name, r, r == 1 ? service : "",
                      r == 1 ? region : "");
                r = sigv4_sign_url(&(struct sigv4_url_request) {
                                           .method = cases[i].method,
                                           .url = cases[i].url,
                                           .payload = cases[i].body,
                                           .payload_len = cases[i].body ? strlen(cases[i].body) : 0,
                                           .region = cases[i].region,
                                           .service = cases[i].service,
                                   },
                                   cases[i].cred, EXAMPLE_TIME, &l);
                CHECK(r == 0, "%s: sigv4_sign_url: %d", cases[i].name, r);
                for (struct curl_slist *h = l; h; h = h->next) {
                        if (strncmp(h->data, "Authorization: ", 15) == 0)
                                auth = h->data;
                        if (strncmp(h->data, "X-Amz-Security-Token: ", 22) == 0)
                                tok = h->data;
                }
                CHECK(auth && strlen(auth) > 64 && streq(auth + strlen(auth) - 64, cases[i].signature),
                      "%s: %s", cases[i].name, auth ? auth : "(no Authorization)");
                CHECK(!cases[i].cred->session_token == !tok, "%s: the token header only with a token", cases[i].name);
                http_secret_headers_free(l);
        }

        /*
         * curl leaves a port the scheme has by default out of the Host it
         * sends, so the signature leaves it out too: the Function URL with
         * :443 spelt out signs as without it.  Another port is signed.
         */
        static const struct {
                const char *url;
                bool same;
        } ports[] = {
                { "https://abcdefghij.lambda-url.eu-west-1.on.aws:443/warm?b=2&a=1", true },
                { "https://abcdefghij.lambda-url.eu-west-1.on.aws:8443/warm?b=2&a=1", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
                struct curl_slist *l = NULL;
                const char *auth = NULL;
                int r = sigv4_sign_url(&(struct sigv4_url_request) {
                                               .method = cases[0].method,
                                               .url = ports[i].url,
                                               .payload = cases[0].body,
                                               .payload_len = strlen(cases[0].body),
                                               .region = cases[0].region,
                                               .service = cases[0].service,
                                       },
                                       cases[0].cred, EXAMPLE_TIME, &l);

                CHECK(r == 0, "%s: sigv4_sign_url: %d", ports[i].url, r);
                for (struct curl_slist *h = l; h; h = h->next)
                        if (strncmp(h->data, "Authorization: ", 15) == 0)
                                auth = h->data;
                CHECK(auth && streq(auth + strlen(auth) - 64, cases[0].signature) == ports[i].same,
                      "%s: %s the signature without the port", ports[i].url, ports[i].same ? "is" : "is not");
                http_secret_headers_free(l);
        }
}

/* Only the two forms of host name a signature's scope may be read from. */
static void test_scope_from_host(void) {
        static const struct {
                const char *host;
                int want;
                const char *service, *region;
        } cases[] = {
                { "abc.lambda-url.us-east-2.on.aws", 1, "lambda", "us-east-2" },
                { "abc.lambda-url.us-east-2.on.aws.", 1, "lambda", "us-east-2" },
                { "x1.execute-api.eu-central-1.amazonaws.com", 1, "execute-api", "eu-central-1" },
                { "x1.execute-api.cn-north-1.amazonaws.com.cn", 1, "execute-api", "cn-north-1" },
                { "lambda-url.us-east-2.on.aws", 0, NULL, NULL },
                { "a.b.lambda-url.us-east-2.on.aws", 0, NULL, NULL },
                { "abc.lambda-url..on.aws", 0, NULL, NULL },
                { "x1.execute-api.eu-west-1.amazonaws.com.example.com", 0, NULL, NULL },
                { "api.example.com", 0, NULL, NULL },
                { "127.0.0.1", 0, NULL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char service[SIGV4_NAME_MAX] = "", region[SIGV4_NAME_MAX] = "";
                int r = sigv4_scope_from_host(cases[i].host, service, region);

                CHECK(r == cases[i].want && (r == 0 || (streq(service, cases[i].service) && streq(region, cases[i].region))),
                      "%s: %d %s %s", cases[i].host, r, service, region);
        }
}

static void test_errors(void) {
        struct sigv4_request req = { .method = "GET", .host = "h", .path = "no-slash", .region = "r", .service = "s" };
        struct sigv4_signature s;

        CHECK(sigv4_sign(&req, &example_keys, EXAMPLE_TIME, &s) == -EINVAL, "a relative path is refused");
}

int main(void) {
        test_aws_example();
        test_lambda();
        test_signed_urls();
        test_scope_from_host();
        test_errors();
        return tests_result("test-sigv4");
}
