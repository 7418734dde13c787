/* SPDX-License-Identifier: MIT */
/* test-sigv4.c: AWS Signature Version 4 against the example AWS publishes, and the Lambda paths it must get right. */
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

static void test_errors(void) {
        struct sigv4_request req = { .method = "GET", .host = "h", .path = "no-slash", .region = "r", .service = "s" };
        struct sigv4_signature s;

        CHECK(sigv4_sign(&req, &example_keys, EXAMPLE_TIME, &s) == -EINVAL, "a relative path is refused");
}

int main(void) {
        test_aws_example();
        test_lambda();
        test_errors();
        return tests_result("test-sigv4");
}
