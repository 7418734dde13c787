/* SPDX-License-Identifier: MIT */
/*
 * result.c: turns one response into a result (ok, reuse, instance, timings)
 * and a round's results into a summary.  Pure functions: no network, no
 * journal, so the unit tests can feed them anything.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>

#include "internal.h"

const char *reuse_to_string(enum reuse r) {
        switch (r) {
        case REUSE_WARM:
                return "warm";
        case REUSE_COLD:
                return "cold";
        default:
                return "unknown";
        }
}

/* 1 for a word meaning true, 0 for false, -EINVAL for anything else. */
int parse_bool_word(const char *s) {
        static const char *const yes[] = { "1", "true", "yes" }, *const no[] = { "0", "false", "no" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* Walks a dotted path such as "meta.container"; NULL if any step is missing. */
static json_object *json_lookup(json_object *root, const char *path) {
        char key[256];
        json_object *o = root;

        while (o && *path) {
                size_t n = strcspn(path, ".");

                if (n >= sizeof key || !json_object_is_type(o, json_type_object))
                        return NULL;
                memcpy(key, path, n);
                key[n] = '\0';
                if (!json_object_object_get_ex(o, key, &o))
                        return NULL;
                path += n + (path[n] == '.');
        }
        return o;
}

/* "a|b": the first of the paths a and b that the root has. */
static json_object *json_lookup_either(json_object *root, const char *paths) {
        char path[256];
        json_object *o;

        for (const char *p = paths; *p; p += strcspn(p, "|"), p += *p == '|') {
                size_t n = strcspn(p, "|");

                if (n >= sizeof path)
                        continue;
                memcpy(path, p, n);
                path[n] = '\0';
                if ((o = json_lookup(root, path)))
                        return o;
        }
        return NULL;
}

static int json_to_reuse(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_boolean:
                return json_object_get_boolean(o) ? 1 : 0;
        case json_type_int: {
                int64_t v = json_object_get_int64(o);
                return v == 0 || v == 1 ? (int) v : -EINVAL;
        }
        case json_type_string:
                return parse_bool_word(json_object_get_string(o));
        default:
                return -EINVAL;
        }
}

/* Copies an instance id, replacing control characters so it is safe in any log line. */
static void set_instance(struct result *res, const char *s) {
        size_t i;

        for (i = 0; s[i] && i < sizeof res->instance - 1; i++)
                res->instance[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        res->instance[i] = '\0';
}

static bool status_ok(const struct endpoint_config *ep, long status) {
        if (ep->expect_status > 0)
                return status == (long) ep->expect_status;
        return status >= 200 && status <= 299;
}

/* ------------------------------------------------------------- body scan */

void body_scan_init(struct body_scan *s, const struct endpoint_config *ep) {
        *s = (struct body_scan) {
                .ep = ep,
                .reuse = -ENOENT,
                .instance = -ENOENT,
                .fields = ep->lambda ? lambda_answer_fields : NULL,
        };
        s->state = ep->reuse_json || ep->instance_json || s->fields ? BODY_JSON_READING : BODY_JSON_UNUSED;
}

static void tokener_free(struct body_scan *s) {
        if (s->tok)     /* json-c 0.16's json_tokener_free() does not take NULL */
                json_tokener_free(s->tok);
        s->tok = NULL;
}

void body_scan_done(struct body_scan *s) {
        tokener_free(s);
}

/*
 * Takes the configured fields that root has so far; true when all are known.
 * A member of an object being parsed is only added once its value is
 * complete, so what is found here is final.  (Of a name given twice, which
 * value counts then depends on where the body's pieces break; JSON names
 * should be unique, RFC 8259.)
 */
static bool take_fields(struct body_scan *s, json_object *root) {
        const struct endpoint_config *ep = s->ep;
        json_object *o;

        if (ep->reuse_json && s->reuse == -ENOENT && (o = json_lookup(root, ep->reuse_json)))
                s->reuse = json_to_reuse(o);
        if (ep->instance_json && s->instance == -ENOENT && (o = json_lookup(root, ep->instance_json))) {
                if (json_object_is_type(o, json_type_string) || json_object_is_type(o, json_type_int)) {
                        snprintf(s->instance_id, sizeof s->instance_id, "%s", json_object_get_string(o));
                        s->instance = 0;
                } else
                        s->instance = -EINVAL;
        }
        if (s->fields) {
                for (size_t i = 0; i < BODY_FIELDS_MAX && s->fields[i]; i++)
                        if (!s->field[i][0] && (o = json_lookup_either(root, s->fields[i])) &&
                            json_object_is_type(o, json_type_string))
                                snprintf(s->field[i], sizeof s->field[i], "%s", json_object_get_string(o));
                return false;
        }
        return (!ep->reuse_json || s->reuse != -ENOENT) && (!ep->instance_json || s->instance != -ENOENT);
}

/*
 * The root value as far as it has been parsed.  json-c has no call for it,
 * so this reads the tokener's parse stack, which json-c 0.16 (Debian 12) up
 * to 0.19 still declare in json_tokener.h; a json-c that hides it makes this
 * fail to build, not misbehave.  It is what lets reading stop at a field
 * near the start of a long body: without it, reading would go on to the end
 * of the JSON value, and the partial tree that json-c builds meanwhile costs
 * 13 to 30 times the bytes parsed (measured: 0.9 MiB for 64 KiB of a
 * typical list of records).
 */
static json_object *partial_root(struct json_tokener *tok) {
        return tok->stack[0].current;
}

static void scan_settle(struct body_scan *s, enum body_json state) {
        s->state = state;
        tokener_free(s);
}

bool body_scan_feed(struct body_scan *s, const char *data, size_t len) {
        enum json_tokener_error e;
        json_object *root;

        if (s->state != BODY_JSON_READING)
                return true;
        if (len > BODY_READ_MAX - s->bytes)
                len = BODY_READ_MAX - s->bytes;
        if (!s->tok) {
                s->tok = json_tokener_new();
                if (!s->tok) {
                        scan_settle(s, BODY_JSON_NO_MEMORY);
                        return true;
                }
        }

        root = json_tokener_parse_ex(s->tok, data, (int) len);
        e = json_tokener_get_error(s->tok);
        if (e == json_tokener_success) {
                bool object = json_object_is_type(root, json_type_object);

                s->bytes += json_tokener_get_parse_end(s->tok);
                if (object)
                        (void) take_fields(s, root);
                json_object_put(root);
                scan_settle(s, object ? BODY_JSON_COMPLETE : BODY_JSON_NOT_OBJECT);
        } else if (e != json_tokener_continue) {
                s->json_error = e;
                s->error_offset = s->bytes + json_tokener_get_parse_end(s->tok);
                s->bytes += len;
                scan_settle(s, BODY_JSON_INVALID);
        } else {
                s->bytes += len;
                root = partial_root(s->tok);
                if (root && !json_object_is_type(root, json_type_object))
                        scan_settle(s, BODY_JSON_NOT_OBJECT);
                else if (root && take_fields(s, root))
                        scan_settle(s, BODY_JSON_FOUND);
                else if (s->bytes >= BODY_READ_MAX)
                        scan_settle(s, BODY_JSON_LIMIT);
        }
        return s->state != BODY_JSON_READING;
}

void body_scan_end(struct body_scan *s) {
        json_object *root;

        if (s->state != BODY_JSON_READING)
                return;
        if (s->bytes == 0) {
                scan_settle(s, BODY_JSON_EMPTY);
                return;
        }
        /* The terminating NUL is how json-c is told the input ends: a bare number needs it to be complete. */
        root = json_tokener_parse_ex(s->tok, "", 1);
        scan_settle(s, root ? BODY_JSON_NOT_OBJECT : BODY_JSON_ENDED);
        json_object_put(root);
}

/* Why a field that the body was asked for stayed unknown; NULL if it was found. */
static const char *why_unknown(const struct body_scan *s, int field, bool reuse, char *buf, size_t size) {
        const char *path = reuse ? s->ep->reuse_json : s->ep->instance_json;

        switch (s->state) {
        case BODY_JSON_EMPTY:
                return "the body is empty";
        case BODY_JSON_ENDED:
                return "the body ended inside its JSON";
        case BODY_JSON_NOT_OBJECT:
                return "the body is JSON but not an object";
        case BODY_JSON_INVALID:
                snprintf(buf, size, "the body is not valid JSON (%s at byte %zu)",
                         json_tokener_error_desc(s->json_error), s->error_offset);
                return buf;
        case BODY_JSON_NO_MEMORY:
                return "out of memory to parse the body";
        default:
                break;
        }
        if (field == -EINVAL) {
                snprintf(buf, size, "'%s' is %s", path,
                         reuse ? "not true/false, 0/1, yes/no" : "not a string or an integer");
                return buf;
        }
        if (field >= 0)
                return NULL;
        if (s->state == BODY_JSON_LIMIT)
                snprintf(buf, size, "no '%s' in the first %u KiB of the body", path, BODY_READ_MAX / 1024);
        else
                snprintf(buf, size, "no '%s' in the body", path);
        return buf;
}

/* "reuse_json: why; instance_json: why", or one "reuse_json, instance_json: why" for a reason they share. */
static void set_note(struct result *res, const char *why_reuse, const char *why_instance) {
        if (why_reuse && why_instance && streq(why_reuse, why_instance))
                snprintf(res->note, sizeof res->note, "reuse_json, instance_json: %s", why_reuse);
        else if (why_reuse && why_instance)
                snprintf(res->note, sizeof res->note, "reuse_json: %s; instance_json: %s", why_reuse, why_instance);
        else if (why_reuse)
                snprintf(res->note, sizeof res->note, "reuse_json: %s", why_reuse);
        else if (why_instance)
                snprintf(res->note, sizeof res->note, "instance_json: %s", why_instance);
}

void result_from_response(const struct endpoint_config *ep, const struct response *r, struct result *ret) {
        const struct body_scan *scan = r->scan;
        struct body_scan whole;
        char buf_reuse[128], buf_instance[128];
        const char *why_reuse = NULL, *why_instance = NULL;
        int reuse = -EINVAL;

        *ret = (struct result) {
                .sent = r->sent,
                .http_status = r->curl_code == CURLE_OK ? r->http_status : 0,
                .total_usec = r->total_usec,
                .connect_usec = r->connect_usec,
                .ttfb_usec = r->ttfb_usec,
                .pretransfer_usec = r->pretransfer_usec,
                .reuse = REUSE_UNKNOWN,
        };

        if (r->curl_code != CURLE_OK) {
                snprintf(ret->error, sizeof ret->error, "%s",
                         r->curl_error && *r->curl_error ? r->curl_error : curl_easy_strerror(r->curl_code));
                return;
        }

        ret->ok = status_ok(ep, r->http_status);
        if (!ret->ok) {
                if (ep->expect_status > 0)
                        snprintf(ret->error, sizeof ret->error, "HTTP %ld (expected %u)", r->http_status,
                                 ep->expect_status);
                else
                        snprintf(ret->error, sizeof ret->error, "HTTP %ld (expected 2xx)", r->http_status);
        }

        if (!scan) {
                body_scan_init(&whole, ep);
                (void) body_scan_feed(&whole, r->body ? r->body : "", r->body ? r->body_len : 0);
                body_scan_end(&whole);
                scan = &whole;
        }

        /* A response that is not ok still came from some container, so it still says which. */
        if (ep->reuse_header && r->reuse_header)
                reuse = parse_bool_word(r->reuse_header);
        if (reuse < 0 && ep->reuse_json) {
                reuse = scan->reuse;
                if (reuse < 0)
                        why_reuse = why_unknown(scan, reuse, true, buf_reuse, sizeof buf_reuse);
        }
        if (reuse >= 0)
                ret->reuse = reuse ? REUSE_WARM : REUSE_COLD;
        else if (ep->cold_threshold_usec > 0) {
                ret->reuse = r->total_usec > ep->cold_threshold_usec ? REUSE_COLD : REUSE_WARM;
                ret->reuse_guessed = true;
        }

        if (ep->instance_header && r->instance_header && *r->instance_header)
                set_instance(ret, r->instance_header);
        else if (ep->instance_json && scan->instance == 0)
                set_instance(ret, scan->instance_id);
        else if (ep->instance_json)
                why_instance = why_unknown(scan, scan->instance, false, buf_instance, sizeof buf_instance);

        /* A failed request already says what went wrong; the body of an error page is no news. */
        if (ret->ok)
                set_note(ret, why_reuse, why_instance);
        if (ep->lambda)
                lambda_apply(ep, r, scan, ret);
        if (scan == &whole)
                body_scan_done(&whole);
}

/* ------------------------------------------------------------ from http */

/* Where result_request_setup() puts each header in the request's capture[]. */
enum {
        CAPTURE_REUSE,
        CAPTURE_INSTANCE,
        CAPTURE_PLATFORM,               /* the platform's (lambda_answer_headers), in its order */
};

_Static_assert(CAPTURE_PLATFORM + LAMBDA_ANSWER_HEADERS <= HTTP_CAPTURE_MAX, "http captures too few headers");

/* A scan that could not be allocated: the result says so, as for a tokener that could not be. */
static struct body_scan scan_no_memory = {
        .state = BODY_JSON_NO_MEMORY,
        .reuse = -ENOENT,
        .instance = -ENOENT,
};

/* http's on_body: the body scanned as it streams in, in a scan of the request's own. */
static bool scan_piece(void *userdata, void **state, const char *data, size_t len) {
        struct body_scan *s = *state;

        if (!s) {
                s = malloc(sizeof *s);
                if (!s) {
                        *state = &scan_no_memory;
                        return true;
                }
                body_scan_init(s, userdata);
                *state = s;
        }
        return body_scan_feed(s, data, len);
}

static void scan_free(void *state) {
        struct body_scan *s = state;

        if (s == &scan_no_memory)
                return;
        body_scan_done(s);
        free(s);
}

/* What the results need of the answers: the headers to capture, and the body scanned as it streams in. */
static void request_answer_setup(const struct endpoint_config *ep, struct http_request *req) {
        req->capture[CAPTURE_REUSE] = ep->reuse_header;
        req->capture[CAPTURE_INSTANCE] = ep->instance_header;
        if (ep->lambda)
                memcpy(req->capture + CAPTURE_PLATFORM, lambda_answer_headers, sizeof lambda_answer_headers);
        /* A body is read only for what it tells: its JSON fields, when the endpoint has some to find. */
        if (ep->reuse_json || ep->instance_json || ep->lambda) {
                req->on_body = scan_piece;
                req->body_userdata = (void *) ep;
                req->body_free = scan_free;
        }
}

void endpoint_request(const struct endpoint_config *ep, const struct curl_slist *headers, struct http_request *ret) {
        *ret = (struct http_request) {
                .name = ep->name,
                .url = ep->url,
                .method = ep->method,
                .headers = headers ? headers : ep->header_list,
                .body = ep->body,
                .timeout_usec = ep->timeout_usec,
                .connect_timeout_usec = ep->connect_timeout_usec,
                .ca_file = ep->ca_file,
                .client_cert = ep->client_cert,
                .client_key = ep->client_key,
                .http_version = ep->http_version,
                .host_is_address = ep->host_is_address,
        };
        request_answer_setup(ep, ret);
}

void result_from_http(const struct endpoint_config *ep, const struct http_response *hr, struct result *ret) {
        struct body_scan *scan = hr->body_state;
        struct response r = {
                .curl_code = hr->curl_code,
                .curl_error = hr->curl_error,
                .http_status = hr->http_status,
                .total_usec = hr->total_usec,
                .connect_usec = hr->connect_usec,
                .ttfb_usec = hr->ttfb_usec,
                .pretransfer_usec = hr->pretransfer_usec,
                .sent = hr->sent,
                .probe = hr->probe,
                .reuse_header = hr->headers[CAPTURE_REUSE],
                .instance_header = hr->headers[CAPTURE_INSTANCE],
                .platform_headers = ep->lambda ? hr->headers + CAPTURE_PLATFORM : NULL,
        };

        /* No scan: no piece of a body came, which result_from_response() takes as an empty body. */
        if (scan) {
                body_scan_end(scan);
                r.scan = scan;
        }
        result_from_response(ep, &r, ret);
        /* The answer is complete now: this dates the request's times, so rounds can compare them. */
        ret->answered_usec = now_usec(CLOCK_MONOTONIC);
}

/* ---------------------------------------------------------------- summary */

int round_acc_init(struct round_acc *a, unsigned containers, unsigned limit) {
        *a = (struct round_acc) { .limit = MAX(limit, containers) };
        a->durations = calloc(containers, sizeof(uint64_t));
        a->instance_hashes = calloc(containers, sizeof(uint64_t));
        a->windows = calloc(containers, sizeof(struct service_window));
        if (!a->durations || !a->instance_hashes || !a->windows) {
                round_acc_done(a);
                return -ENOMEM;
        }
        a->capacity = containers;
        round_acc_reset(a, containers);
        return 0;
}

void round_acc_done(struct round_acc *a) {
        free(a->durations);
        free(a->instance_hashes);
        free(a->windows);
        *a = (struct round_acc) {};
}

void round_acc_reset(struct round_acc *a, unsigned containers) {
        a->n = 0;
        a->n_hashes = 0;
        a->s = (struct summary) { .containers = containers };
}

/* FNV-1a: instance ids only need telling apart within an endpoint's recent rounds. */
uint64_t instance_hash(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return h;
}

/*
 * Only a topped-up round needs more than N entries: the arrays grow then, by
 * doubling up to the limit, rather than take 8 x N at start for every
 * endpoint.  Out of memory, entries beyond the capacity are not kept.
 */
static void grow(struct round_acc *a) {
        unsigned c = MIN(2 * a->capacity, a->limit);
        struct service_window *w;
        uint64_t *v;

        if (c <= a->capacity)
                return;
        v = reallocarray(a->durations, c, sizeof(uint64_t));
        if (!v)
                return;
        a->durations = v;
        v = reallocarray(a->instance_hashes, c, sizeof(uint64_t));
        if (!v)
                return;
        a->instance_hashes = v;
        w = reallocarray(a->windows, c, sizeof(struct service_window));
        if (!w)
                return;
        a->windows = w;
        a->capacity = c;
}

void round_acc_add(struct round_acc *a, const struct result *r) {
        struct summary *s = &a->s;

        /* A request that never left (no socket, no address) is not sent, only failed. */
        s->sent += r->sent;
        if (r->ok)
                s->ok++;
        else
                s->failed++;
        switch (r->reuse) {
        case REUSE_WARM:
                s->warm++;
                break;
        case REUSE_COLD:
                s->cold++;
                break;
        default:
                s->unknown++;
        }
        if (r->reuse_guessed)
                s->guessed++;
        if (r->sent && a->n == a->capacity)
                grow(a);
        /* The time of a request that never left says nothing of the endpoint. */
        if (r->sent && a->n < a->capacity)
                a->durations[a->n++] = r->total_usec;
        /* Only a request that did its job counts a container as reached. */
        if (r->ok && r->instance[0] && a->n_hashes < a->capacity) {
                uint64_t start = r->answered_usec > r->total_usec ? r->answered_usec - r->total_usec : 0;

                a->windows[a->n_hashes] = (struct service_window) {
                        .hash = instance_hash(r->instance),
                        .sent_usec = start + r->pretransfer_usec,
                        .first_byte_usec = start + MAX(r->ttfb_usec, r->pretransfer_usec),
                };
                a->instance_hashes[a->n_hashes] = a->windows[a->n_hashes].hash;
                a->n_hashes++;
        }
}

static int cmp_u64(const void *x, const void *y) {
        uint64_t a = *(const uint64_t *) x, b = *(const uint64_t *) y;

        return a < b ? -1 : a > b;
}

static unsigned count_distinct(uint64_t *v, unsigned n) {
        unsigned d = n > 0;

        qsort(v, n, sizeof(uint64_t), cmp_u64);
        for (unsigned i = 1; i < n; i++)
                d += v[i] != v[i - 1];
        return d;
}

unsigned round_acc_instances(struct round_acc *a, unsigned from) {
        if (from >= a->n_hashes)
                return 0;
        return count_distinct(a->instance_hashes + from, a->n_hashes - from);
}

void round_acc_attempt(struct round_acc *a, unsigned from, bool first, struct topup_state *t) {
        struct overlap_report ov;
        unsigned before;

        from = MIN(from, a->n_hashes);
        /* Counted before the whole array is sorted, which mixes this attempt's ids with earlier ones. */
        before = from > 0 ? count_distinct(a->instance_hashes, from) : 0;
        t->batch_reached = round_acc_instances(a, from);
        t->reached = t->instances_known ? round_acc_instances(a, 0) : a->s.ok;
        t->gained = t->reached > before ? t->reached - before : 0;
        overlap_classify(a->windows + from, a->n_hashes - from, &ov);
        t->cause = ov.cause;
        if (first && t->reached < t->containers)
                a->s.first = ov;
}

void round_acc_finish(struct round_acc *a, struct summary *ret) {
        struct summary *s = &a->s;

        if (a->n > 0) {
                qsort(a->durations, a->n, sizeof(uint64_t), cmp_u64);
                s->p50_usec = a->durations[(a->n - 1) / 2];
                s->max_usec = a->durations[a->n - 1];
        }
        if (a->n_hashes > 0) {
                s->instances = count_distinct(a->instance_hashes, a->n_hashes);
                s->instances_known = true;
        }
        s->reached = s->instances_known ? s->instances : s->ok;
        s->overshoot = s->instances_known && s->instances > s->containers ? s->instances - s->containers : 0;
        *ret = *s;
}
