/* SPDX-License-Identifier: MIT */
/*
 * fuzz-response.c: libFuzzer harness for result_from_response() and the
 * round summary.  An input is six lines and then the body, as it arrived:
 *
 *   status              a number: the HTTP status; anything else: the
 *                       transfer failed, with this line as curl's error text
 *   reuse header        value of the reuse header; empty: the header is absent
 *   instance header     likewise
 *   reuse_json path     empty: "reused"
 *   instance_json path  empty: "container"
 *   piece sizes         numbers such as "1 7 300", used in turn: the pieces
 *                       the body arrives in; empty: one piece
 *   body...             any bytes
 *
 * The endpoint comes from config_load(), so the JSON paths are exactly those
 * a config may hold.  Each input is judged under every combination of
 * reuse_json, instance_json, reuse_header (with instance_header) and
 * cold_threshold, with and without expect_status, twice: with the body
 * scanned as it streams in (body_scan_feed() piece by piece, as http
 * does, stopping when the scan says so) and with the whole body at hand.
 * The results go through one round's summary.
 */
#include "config.h"

#include <stdint.h>

#include "internal.h"
#include "fuzz.h"

#define COMBINATIONS 32
#define PIECES_MAX 16

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

/* "1 7 300" -> {1, 7, 300}; zeros and junk are skipped. */
static size_t parse_pieces(const char *s, size_t *pieces) {
        size_t n = 0;

        while (s && *s && n < PIECES_MAX) {
                char *end;
                unsigned long v = strtoul(s, &end, 10);

                if (end == s) {
                        s++;
                        continue;
                }
                if (v > 0)
                        pieces[n++] = v;
                s = end;
        }
        return n;
}

/* The body as http.c hands it over: piece by piece until the scan has seen enough, then the end. */
static void scan_streamed(struct body_scan *scan, const struct endpoint_config *ep, const char *body, size_t len,
                          const size_t *pieces, size_t n_pieces) {
        size_t off = 0, i = 0;
        bool enough = false;

        body_scan_init(scan, ep);
        FUZZ_ASSERT(scan->state == (ep->reuse_json || ep->instance_json ? BODY_JSON_READING : BODY_JSON_UNUSED));
        while (off < len && !enough) {
                size_t n = n_pieces ? pieces[i++ % n_pieces] : len;

                if (n > len - off)
                        n = len - off;
                enough = body_scan_feed(scan, body + off, n);
                FUZZ_ASSERT(enough == (scan->state != BODY_JSON_READING));
                FUZZ_ASSERT(scan->bytes <= BODY_READ_MAX);
                off += n;
        }
        body_scan_end(scan);
        FUZZ_ASSERT(scan->state != BODY_JSON_READING && !scan->tok);
        FUZZ_ASSERT(scan->bytes <= BODY_READ_MAX && scan->bytes <= len);
        if (scan->state == BODY_JSON_FOUND)
                FUZZ_ASSERT((!ep->reuse_json || scan->reuse != -ENOENT) &&
                            (!ep->instance_json || scan->instance != -ENOENT));
        if (scan->instance == 0)
                FUZZ_ASSERT(memchr(scan->instance_id, '\0', sizeof scan->instance_id));
}

static void check_result(const struct endpoint_config *ep, const struct response *r, const struct result *res) {
        int header_word = ep->reuse_header && r->reuse_header ? parse_bool_word(r->reuse_header) : -1;

        FUZZ_ASSERT(res->ok == !res->error[0]);
        FUZZ_ASSERT(memchr(res->note, '\0', sizeof res->note));
        FUZZ_ASSERT(!res->note[0] || (res->ok && (ep->reuse_json || ep->instance_json)));
        FUZZ_ASSERT(memchr(res->error, '\0', sizeof res->error));
        FUZZ_ASSERT(memchr(res->instance, '\0', sizeof res->instance));
        for (const char *c = res->instance; *c; c++)
                FUZZ_ASSERT((unsigned char) *c >= 0x20 && *c != 0x7f);
        FUZZ_ASSERT(res->total_usec == r->total_usec && res->sent == r->sent);
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
             *reuse_json = next_line(&p, end), *instance_json = next_line(&p, end), *piece_line = next_line(&p, end);
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
                .sent = true,
        };
        size_t pieces[PIECES_MAX], n_pieces = parse_pieces(piece_line, pieces);
        struct round_acc acc;
        struct summary s;

        if (status && is_number(status) && strlen(status) <= 9)
                r.http_status = strtol(status, NULL, 10);
        else if (status) {
                r.curl_code = CURLE_OPERATION_TIMEDOUT;
                r.curl_error = status;
                r.sent = size & 1;              /* timed out after it was written, or before */
        }

        /* The scan depends only on the two JSON paths: one streamed scan for each of their four combinations. */
        struct endpoint_config scan_ep[4];
        struct body_scan scans[4];

        for (unsigned j = 0; j < 4; j++) {
                scan_ep[j] = *full;
                scan_ep[j].reuse_json = j & 1 ? full->reuse_json : NULL;
                scan_ep[j].instance_json = j & 2 ? full->instance_json : NULL;
                scan_streamed(&scans[j], &scan_ep[j], r.body, r.body_len, pieces, n_pieces);
        }

        FUZZ_ASSERT(round_acc_init(&acc, 2 * COMBINATIONS, 2 * COMBINATIONS) == 0);
        for (unsigned m = 0; m < COMBINATIONS; m++) {
                struct endpoint_config ep = *full;
                struct response streamed = r;
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

                streamed.scan = &scans[m & 3];
                streamed.body = NULL;
                streamed.body_len = 0;
                result_from_response(&ep, &streamed, &res);
                check_result(&ep, &streamed, &res);
                round_acc_add(&acc, &res);
        }
        for (unsigned j = 0; j < 4; j++)
                body_scan_done(&scans[j]);
        round_acc_finish(&acc, &s);
        FUZZ_ASSERT(s.sent == (r.sent ? 2 * COMBINATIONS : 0) && s.ok + s.failed == 2 * COMBINATIONS);
        FUZZ_ASSERT(s.warm + s.cold + s.unknown == 2 * COMBINATIONS && s.reached <= s.sent);
        round_acc_done(&acc);

        config_free(c);
        free(status);
        free(reuse);
        free(instance);
        free(reuse_json);
        free(instance_json);
        free(piece_line);
        return 0;
}
