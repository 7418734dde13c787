/* SPDX-License-Identifier: MIT */
/*
 * lambda.c: a Lambda endpoint from setup to answer, warmed through the
 * Invoke API: its keys checked and its URL, method, payload and fixed
 * headers derived from "lambda = ..." (at load, for config.c), and what of
 * an invoke's answer to keep and how it turns into a result (function
 * errors, throttling, cold starts from the log tail).  A round is signed
 * as any request with auth = aws is, for service lambda (auth.c).
 */
#include "config.h"

#include <ctype.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#define ARN_PREFIX              "arn:"
/* AWS's limits: a function name is at most 64 characters, a qualifier 128. */
#define FUNCTION_NAME_MAX       64
#define QUALIFIER_MAX           128
#define CLIENT_CONTEXT_MAX      3583    /* bytes of base64, as the Invoke API allows */

static bool valid_chars(const char *s, size_t n, const char *extra) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr(extra, s[i]))
                        return false;
        return true;
}

/*
 * An AWS region as AWS names them ("eu-west-1", "us-gov-west-1"): lower-case
 * letters, digits and '-', and short, as it goes into a host name.
 */
bool lambda_region_valid(const char *s, size_t n) {
        if (n == 0 || n >= sizeof((struct lambda_target) {}).region)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char) s[i]) && !isdigit((unsigned char) s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* curl_slist_append() returns NULL when out of memory, and the list is then still the caller's to free. */
static bool append(struct curl_slist **l, const char *header) {
        struct curl_slist *n = curl_slist_append(*l, header);

        if (n)
                *l = n;
        return n;
}

static bool field_is(const char *s, size_t n, const char *word) {
        return n == strlen(word) && strncmp(s, word, n) == 0;
}

/*
 * "NAME", "NAME:QUALIFIER", or "arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]".
 * An ARN goes into the path whole but for its qualifier (a cross-account invoke needs the
 * account); a qualifier always goes into Qualifier=.
 */
int lambda_parse(const char *spec, struct lambda_target *ret, const char **ret_error) {
        struct lambda_target t = { .function = spec };
        const char *name = spec, *end;

        if (strncmp(spec, ARN_PREFIX, strlen(ARN_PREFIX)) == 0) {
                const char *f[9];
                size_t len[9], n = 0;

                /* arn : partition : lambda : region : account : function : name [: qualifier] */
                for (const char *p = spec; p && n < ELEMENTSOF(f); n++) {
                        f[n] = p;
                        end = strchr(p, ':');
                        len[n] = end ? (size_t) (end - p) : strlen(p);
                        p = end ? end + 1 : NULL;
                }
                if (n < 7 || n > 8 || !field_is(f[2], len[2], "lambda") || !field_is(f[5], len[5], "function") ||
                    len[4] != 12 || !valid_chars(f[4], len[4], "") || len[1] == 0) {
                        *ret_error = "invalid function ARN (use arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])";
                        return -EINVAL;
                }
                if (!lambda_region_valid(f[3], len[3])) {
                        *ret_error = "invalid region in the function ARN";
                        return -EINVAL;
                }
                memcpy(t.region, f[3], len[3]);
                t.region[len[3]] = '\0';
                name = f[6];
                t.name_len = len[6];
                t.function_len = (size_t) (f[6] + len[6] - spec);
                if (n == 8) {
                        t.qualifier = f[7];
                        t.qualifier_len = len[7];
                }
        } else {
                end = strchr(spec, ':');
                t.name_len = end ? (size_t) (end - spec) : strlen(spec);
                t.function_len = t.name_len;
                if (end) {
                        t.qualifier = end + 1;
                        t.qualifier_len = strlen(end + 1);
                }
        }

        if (t.name_len > FUNCTION_NAME_MAX || !valid_chars(name, t.name_len, "-_")) {
                *ret_error = "invalid function name (letters, digits, '-' and '_', at most 64)";
                return -EINVAL;
        }
        if (t.qualifier && (t.qualifier_len > QUALIFIER_MAX || !valid_chars(t.qualifier, t.qualifier_len, "-_$"))) {
                *ret_error = "invalid qualifier (an alias or a version, such as live, 3 or $LATEST)";
                return -EINVAL;
        }
        *ret = t;
        return 0;
}

/* The invoke URL: the SDKs' endpoint override, else the region's public endpoint. */
int lambda_url(const struct lambda_target *t, const char *region, char **ret) {
        const char *base = getenv("AWS_ENDPOINT_URL_LAMBDA");
        _cleanup_(freep) char *fn = NULL, *q = NULL, *public = NULL;
        char *url = NULL;
        size_t n;

        if (!base || !*base)
                base = getenv("AWS_ENDPOINT_URL");
        if (!base || !*base) {
                if (!lambda_region_valid(region, strlen(region)))
                        return -EINVAL;
                if (asprintf(&public, "https://lambda.%s.amazonaws.com", region) < 0)
                        return -ENOMEM;
                base = public;
        }
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        fn = curl_easy_escape(NULL, t->function, (int) t->function_len);
        q = t->qualifier ? curl_easy_escape(NULL, t->qualifier, (int) t->qualifier_len) : NULL;
        if (!fn || (t->qualifier && !q))
                return -ENOMEM;
        if (asprintf(&url, "%.*s/2015-03-31/functions/%s/invocations%s%s", (int) n, base, fn, q ? "?Qualifier=" : "",
                     q ? q : "") < 0)
                return -ENOMEM;
        *ret = url;
        return 0;
}

/*
 * The payload parsed as the Invoke API takes it: one JSON value and nothing
 * after it.  json_tokener_parse() stops after the first value and drops the
 * rest, so it takes "1{" or "{} x", which Lambda refuses on every invoke;
 * strict mode refuses characters after the value.
 */
static int payload_parse(const char *body, json_object **ret) {
        enum json_tokener_error e;
        struct json_tokener *tok;
        size_t n = strlen(body);
        json_object *o;

        if (n >= INT_MAX)
                return -EINVAL;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, body, (int) n + 1);     /* with the NUL, which ends a trailing number */
        e = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (e != json_tokener_success) {
                json_object_put(o);
                return -EINVAL;
        }
        *ret = o;               /* NULL for "null", which is JSON too */
        return 0;
}

int lambda_payload_check(const char *body) {
        json_object *o;
        int r;

        r = payload_parse(body, &o);
        if (r < 0)
                return r;
        json_object_put(o);
        return 0;
}

/*
 * serverless-plugin-warmup sends its payload also as the client context,
 * wrapped as {"custom": PAYLOAD}, and handlers written for it may test
 * context.custom.source; so does warmd, when the body is a JSON object.
 * Returns 1 with the header, 0 when there is none to send.
 */
int lambda_client_context(const char *body, char **ret) {
        _cleanup_(freep) char *ctx = NULL, *b64 = NULL;
        json_object *o;
        size_t n;
        int len, r;

        r = payload_parse(body, &o);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        n = json_object_is_type(o, json_type_object);
        json_object_put(o);
        if (!n)
                return 0;
        if (asprintf(&ctx, "{\"custom\":%s}", body) < 0)
                return -ENOMEM;
        n = strlen(ctx);
        if (4 * ((n + 2) / 3) > CLIENT_CONTEXT_MAX)
                return -E2BIG;
        b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64)
                return -ENOMEM;
        len = EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) ctx, (int) n);
        if (len < 0)
                return -EINVAL;
        if (asprintf(ret, "X-Amz-Client-Context: %s", b64) < 0)
                return -ENOMEM;
        return 1;
}

/* ------------------------------------------------------------------- setup */

int lambda_key_check(const char *key, const char *value, char **ret_error) {
        struct lambda_target t;
        const char *why = NULL;
        int r = 0;

        if (streq(key, "lambda")) {
                if (lambda_parse(value, &t, &why) < 0)
                        r = asprintf(ret_error, "%s: '%s'", why, value);
        } else if (streq(key, "region")) {
                if (!lambda_region_valid(value, strlen(value)))
                        r = asprintf(ret_error, "invalid region '%s' (such as eu-west-1)", value);
        }
        if (r < 0)
                return -ENOMEM;
        return r > 0 ? -EINVAL : 0;
}

static int problem(const struct lambda_setup *setup, const char *key, const char *fmt, ...) _printf_(3, 4);
static int problem(const struct lambda_setup *setup, const char *key, const char *fmt, ...) {
        _cleanup_(freep) char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        setup->problem(setup->userdata, key, msg);
        return 0;
}

/* The region: the ARN's, else the endpoint's (or [global]'s), else the environment's, as the SDKs look. */
static int region_take(struct endpoint_config *ep, const struct lambda_target *t) {
        const char *region = t->region[0] ? t->region : ep->region ? ep->region : getenv("AWS_REGION");
        char *c;

        if (!region || !*region)
                region = getenv("AWS_DEFAULT_REGION");
        if (!region || !*region || !lambda_region_valid(region, strlen(region)))
                return -ENOENT;
        if (region == ep->region)
                return 0;
        c = strdup(region);
        if (!c)
                return -ENOMEM;
        free(ep->region);
        ep->region = c;
        return 0;
}

/* A URL made from the environment's endpoint override must still be one. */
static int url_check(const char *url) {
        CURLU *u = curl_url();
        CURLUcode c;

        if (!u)
                return -ENOMEM;
        c = curl_url_set(u, CURLUPART_URL, url, 0);
        curl_url_cleanup(u);
        return c == CURLUE_OK ? 0 : c == CURLUE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

/*
 * The invoke is a POST of the payload (serverless-plugin-warmup's by
 * default), to a URL and with headers derived here, so reload equality and
 * the journal see them as for any endpoint.
 */
int lambda_endpoint_setup(struct endpoint_config *ep, const struct lambda_setup *setup) {
        static const char *const fixed[] = {
                "Content-Type: application/json",
                "X-Amz-Invocation-Type: RequestResponse",
                "X-Amz-Log-Type: Tail",         /* Lambda's REPORT line tells cold from warm */
        };
        _cleanup_(freep) char *ctx = NULL;
        struct lambda_target t;
        const char *why = NULL;
        int r = 0;

        if ((setup->set & LAMBDA_SET_URL) && r >= 0)
                r = problem(setup, "url", "[%s]: 'url' and 'lambda' cannot both be set", ep->name);
        if ((setup->set & LAMBDA_SET_METHOD) && r >= 0)
                r = problem(setup, "method", "[%s]: 'method' cannot be set for 'lambda': an invoke is a POST",
                            ep->name);
        if ((setup->set & LAMBDA_SET_HEADER) && r >= 0)
                r = problem(setup, "header", "[%s]: 'header' cannot be set for 'lambda': an invoke is signed, "
                            "and its headers are warmd's", ep->name);
        if (r < 0)
                return r;
        if (lambda_parse(ep->lambda, &t, &why) < 0)
                return 0;               /* reported at its line, by lambda_key_check() */

        free(ep->method);       /* one set next to lambda is an error, reported above; POST replaces it */
        if (!(ep->method = strdup("POST")))
                return -ENOMEM;
        if (!ep->body && !(ep->body = strdup(LAMBDA_DEFAULT_PAYLOAD)))
                return -ENOMEM;
        r = lambda_payload_check(ep->body);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(setup, "body", "[%s]: 'body' must be JSON for 'lambda': it is the event payload",
                               ep->name);

        r = region_take(ep, &t);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(setup, "lambda",
                               "[%s]: no region for '%s' (set region = in [global] or here, or AWS_REGION)",
                               ep->name, ep->lambda);

        free(ep->url);          /* likewise a url; config.c derives the form of it that is shown */
        ep->url = NULL;
        r = lambda_url(&t, ep->region, &ep->url);
        if (r >= 0)
                r = url_check(ep->url);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(setup, "lambda",
                               "[%s]: cannot make an invoke URL for '%s' (check AWS_ENDPOINT_URL_LAMBDA and "
                               "AWS_ENDPOINT_URL)", ep->name, ep->lambda);

        r = lambda_client_context(ep->body, &ctx);
        if (r == -E2BIG)
                r = problem(setup, "body", "[%s]: 'body' is too long to be sent as the client context too",
                            ep->name);
        if (r == -ENOMEM)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(fixed) + 1; i++) {
                const char *h = i < ELEMENTSOF(fixed) ? fixed[i] : ctx;

                if (h && !append(&ep->header_list, h))
                        return -ENOMEM;
        }
        return 1;
}

/* ---------------------------------------------------------------- response */

/* The headers Lambda answers with, to capture; in the order of enum lambda_answer_header. */
const char *const lambda_answer_headers[LAMBDA_ANSWER_HEADERS] = {
        [LAMBDA_FUNCTION_ERROR] = "X-Amz-Function-Error",
        [LAMBDA_ERROR_TYPE] = "x-amzn-ErrorType",
        [LAMBDA_LOG_RESULT] = "X-Amz-Log-Result",
};

/*
 * The JSON fields an error answer explains itself with: "errorType" from
 * the function, "message" (or "Message") from the service; in the order of
 * enum lambda_answer_field.  An error answer is small; a good one is read to
 * its end (BODY_READ_MAX at most) for these.
 */
const char *const lambda_answer_fields[] = {
        [LAMBDA_FIELD_ERROR_TYPE] = "errorType",
        [LAMBDA_FIELD_MESSAGE] = "message|Message",
        NULL,
};

static const char *answer_header(const struct response *r, enum lambda_answer_header h) {
        return r->platform_headers ? r->platform_headers[h] : NULL;
}


/* "TooManyRequestsException:http://internal..." -> "TooManyRequestsException". */
static void error_type(const char *h, char *buf, size_t size) {
        size_t n = h ? strcspn(h, ":") : 0;

        snprintf(buf, size, "%.*s", (int) n, h ? h : "");
        if (!buf[0])
                snprintf(buf, size, "error");
}

/*
 * Lambda's REPORT line, the last of the log tail, carries "Init Duration"
 * only when the invoke paid for a new container.  Returns REUSE_UNKNOWN
 * when there is no REPORT line (a tail cut short, or no log at all).
 */
enum reuse lambda_log_reuse(const char *log_result_b64) {
        unsigned char text[LAMBDA_LOG_TAIL_MAX];
        size_t n = log_result_b64 ? strlen(log_result_b64) : 0;
        const char *report;
        int len;

        if (n == 0 || n > sizeof text || n % 4 != 0)
                return REUSE_UNKNOWN;
        len = EVP_DecodeBlock(text, (const unsigned char *) log_result_b64, (int) n);
        if (len <= 0)
                return REUSE_UNKNOWN;
        text[len < (int) sizeof text ? len : (int) sizeof text - 1] = '\0';
        report = strstr((const char *) text, "REPORT RequestId:");
        if (!report)
                return REUSE_UNKNOWN;
        return strstr(report, "Init Duration:") ? REUSE_COLD : REUSE_WARM;
}

void lambda_apply(const struct endpoint_config *ep, const struct response *r, const struct body_scan *scan,
                  struct result *res) {
        const char *msg = scan->field[LAMBDA_FIELD_MESSAGE][0] ? scan->field[LAMBDA_FIELD_MESSAGE] : NULL;
        const char *function_error = answer_header(r, LAMBDA_FUNCTION_ERROR);
        char type[64];

        if (r->curl_code != CURLE_OK)
                return;
        error_type(answer_header(r, LAMBDA_ERROR_TYPE), type, sizeof type);

        if (r->http_status >= 200 && r->http_status <= 299 && function_error) {
                const char *et = scan->field[LAMBDA_FIELD_ERROR_TYPE][0] ? scan->field[LAMBDA_FIELD_ERROR_TYPE] : NULL;

                res->ok = false;
                snprintf(res->error, sizeof res->error, "function error: %.63s%s%.63s", function_error,
                         et ? ": " : "", et ? et : "");
        } else if (r->http_status == 429)
                snprintf(res->error, sizeof res->error,
                         "throttled (429 %s): the function's reserved concurrency, or the account's concurrency "
                         "limit, is below containers = %u",
                         type, ep->containers);
        else if (r->http_status == 403)
                snprintf(res->error, sizeof res->error,
                         "403 %s: the signature was refused, or the credentials are invalid or expired%s%.100s", type,
                         msg ? ": " : "", msg ? msg : "");
        else if (r->http_status == 404)
                snprintf(res->error, sizeof res->error, "404 %s: the function or qualifier does not exist%s%.100s", type,
                         msg ? ": " : "", msg ? msg : "");
        else if (!res->ok)
                snprintf(res->error, sizeof res->error, "HTTP %ld %s%s%.100s", r->http_status, type, msg ? ": " : "",
                         msg ? msg : "");

        /* The log tail is the platform's own word on the container; a payload field only fills a gap. */
        if (res->ok) {
                enum reuse lr = lambda_log_reuse(answer_header(r, LAMBDA_LOG_RESULT));

                if (lr != REUSE_UNKNOWN) {
                        res->reuse = lr;
                        res->reuse_guessed = false;
                }
        }
}
