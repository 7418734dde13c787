/* SPDX-License-Identifier: MIT */
/*
 * fuzz-response.c: libFuzzer harness for result_from_response() and the
 * round summary.  An input is five lines and then the body, as it arrived:
 *
 *   status              a number: the HTTP status; anything else: the
 *                       transfer failed, with this line as curl's error text
 *   reuse header        value of the reuse header; empty: the header is absent
 *   instance header     likewise
 *   reuse_json path     empty: "reused"
 *   instance_json path  empty: "container"
 *   body...             any bytes
 *
 * The endpoint comes from config_load(), so the JSON paths are exactly those
 * a config may hold.  Each input is judged under every combination of
 * reuse_json, instance_json, reuse_header (with instance_header) and
 * cold_threshold, with and without expect_status, and the results go
 * through one round's summary.
 */
#include "config.h"

#include <stdint.h>

#include "warmd.h"
#include "fuzz.h"

#define COMBINATIONS 32

static struct memfile conf;
static struct config *fallback;

static struct config *load_endpoint(const char *reuse_json, const char *instance_json) {
        struct config_errors errors = {};
        struct config *c = NULL;
        char *text = NULL;
        int n;

        n = asprintf(&text,
                     "[fn]\nurl = http://127.0.0.1/fn\ncontainers = 1\nreuse_header = X-Container-Reused\n"
                     "instance_header = X-Container-Id\ncold_threshold = 500ms\nexpect_status = 200\n"
                     "reuse_json = %s\ninstance_json = %s\n",
                     reuse_json, instance_json);
        FUZZ_ASSERT(n > 0);
        memfile_set(&conf, text, (size_t) n);
        free(text);
        if (config_load(conf.path, CONFIG_CREDENTIALS_OPTIONAL, &c, &errors) < 0)
                c = NULL;
        config_errors_clear(&errors);
        return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        memfile_open(&conf);
        fallback = load_endpoint("reused", "container");
        FUZZ_ASSERT(fallback);
        return 0;
}

/* Splits off the next line; NULL past the end of the input. */
static char *next_line(const uint8_t **p, const uint8_t *end) {
        const uint8_t *nl;
        char *s;

        if (*p >= end)
                return NULL;
        nl = memchr(*p, '\n', (size_t) (end - *p));
        if (!nl)
                nl = end;
        s = strndup((const char *) *p, (size_t) (nl - *p));   /* a NUL inside ends the value, as in a header */
        FUZZ_ASSERT(s);
        *p = nl < end ? nl + 1 : end;
        return s;
}

static bool is_number(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static void check_result(const struct endpoint_config *ep, const struct response *r, const struct result *res) {
        int header_word = ep->reuse_header && r->reuse_header ? parse_bool_word(r->reuse_header) : -1;

        FUZZ_ASSERT(res->ok == !res->error[0]);
        FUZZ_ASSERT(memchr(res->error, '\0', sizeof res->error));
        FUZZ_ASSERT(memchr(res->instance, '\0', sizeof res->instance));
        for (const char *c = res->instance; *c; c++)
                FUZZ_ASSERT((unsigned char) *c >= 0x20 && *c != 0x7f);
        FUZZ_ASSERT(res->total_usec == r->total_usec);
        if (r->curl_code != CURLE_OK) {
                FUZZ_ASSERT(!res->ok && res->http_status == 0);
                FUZZ_ASSERT(res->reuse == REUSE_UNKNOWN && !res->instance[0]);
                return;
        }
        FUZZ_ASSERT(res->http_status == r->http_status);
        if (header_word >= 0)
                FUZZ_ASSERT(res->reuse == (header_word ? REUSE_WARM : REUSE_COLD) && !res->reuse_guessed);
        if (res->reuse_guessed)
                FUZZ_ASSERT(ep->cold_threshold_usec > 0 && res->reuse != REUSE_UNKNOWN);
        if (!ep->reuse_header && !ep->reuse_json && !ep->cold_threshold_usec)
                FUZZ_ASSERT(res->reuse == REUSE_UNKNOWN);
        if (ep->cold_threshold_usec > 0)
                FUZZ_ASSERT(res->reuse != REUSE_UNKNOWN);
        if (!ep->instance_header && !ep->instance_json)
                FUZZ_ASSERT(!res->instance[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = data, *end = data + size;
        char *status = next_line(&p, end), *reuse = next_line(&p, end), *instance = next_line(&p, end),
             *reuse_json = next_line(&p, end), *instance_json = next_line(&p, end);
        struct config *c = load_endpoint(reuse_json && *reuse_json ? reuse_json : "reused",
                                         instance_json && *instance_json ? instance_json : "container");
        const struct endpoint_config *full = (c ? c : fallback)->endpoints[0];
        struct response r = {
                .curl_code = CURLE_OK,
                .http_status = 200,
                .total_usec = size * 997,          /* either side of cold_threshold, depending on the input */
                .connect_usec = 100,
                .ttfb_usec = 200,
                .reuse_header = reuse && *reuse ? reuse : NULL,
                .instance_header = instance && *instance ? instance : NULL,
                .body = (const char *) p,
                .body_len = (size_t) (end - p),
        };
        struct round_acc acc;
        struct summary s;

        if (status && is_number(status) && strlen(status) <= 9)
                r.http_status = strtol(status, NULL, 10);
        else if (status) {
                r.curl_code = CURLE_OPERATION_TIMEDOUT;
                r.curl_error = status;
        }

        FUZZ_ASSERT(round_acc_init(&acc, COMBINATIONS) == 0);
        for (unsigned m = 0; m < COMBINATIONS; m++) {
                struct endpoint_config ep = *full;
                struct result res;

                ep.reuse_json = m & 1 ? full->reuse_json : NULL;
                ep.instance_json = m & 2 ? full->instance_json : NULL;
                ep.reuse_header = m & 4 ? full->reuse_header : NULL;
                ep.instance_header = m & 4 ? full->instance_header : NULL;
                ep.cold_threshold_usec = m & 8 ? full->cold_threshold_usec : 0;
                ep.expect_status = m & 16 ? full->expect_status : 0;
                result_from_response(&ep, &r, &res);
                check_result(&ep, &r, &res);
                round_acc_add(&acc, &res);
        }
        round_acc_finish(&acc, &s);
        FUZZ_ASSERT(s.sent == COMBINATIONS && s.ok + s.failed == s.sent);
        FUZZ_ASSERT(s.warm + s.cold + s.unknown == s.sent && s.reached <= s.sent);
        round_acc_done(&acc);

        config_free(c);
        free(status);
        free(reuse);
        free(instance);
        free(reuse_json);
        free(instance_json);
        return 0;
}
