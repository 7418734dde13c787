/* SPDX-License-Identifier: MIT */
/*
 * report.c: what "warmd -n" and "warmd --once" print on standard output,
 * as text for people and, with --json, as one JSON document for scripts;
 * and "warmd --discover --json" (discover-set.c prints its table).
 * Nothing secret is printed: URLs as the journal shows them, header values
 * and bodies not at all, [global] values as written (credentials unread).
 */
#include "config.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>

#include "internal.h"
#include "schedule.h"

/* Distinct failure reasons kept per endpoint; the rest are counted under one more. */
#define REASONS_MAX     16
#define REASON_OTHER    "other reasons"

/* ------------------------------------------------------------------ JSON */

/* Adds v under key; takes v, and fails on a NULL v (json-c's allocation failed). */
static int add(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int append(struct json_object *a, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* json-c's "null" is NULL itself: a missing value is not an allocation failure. */
static int add_nullable(struct json_object *o, const char *key, const char *s) {
        return s ? add(o, key, json_object_new_string(s)) : json_object_object_add(o, key, NULL);
}

static int add_duration(struct json_object *o, const char *key, uint64_t usec) {
        char buf[32];

        if (format_duration(usec, DURATION_CONFIG, buf, sizeof buf) < 0)
                return -ENOBUFS;
        return add(o, key, json_object_new_string(buf));
}

/* Milliseconds to the microsecond, written as such rather than as a double's 17 digits. */
static struct json_object *new_msec(uint64_t usec) {
        char buf[32];

        snprintf(buf, sizeof buf, "%" PRIu64 ".%03" PRIu64, usec / USEC_PER_MSEC, usec % USEC_PER_MSEC);
        return json_object_new_double_s((double) usec / (double) USEC_PER_MSEC, buf);
}

static int print_json(FILE *f, struct json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                return -ENOMEM;
        fprintf(f, "%s\n", s);
        return 0;
}

/* --------------------------------------------------------------- warmd -n */

static const char *http_version_name(enum http_version v) {
        switch (v) {
        case HTTP_VERSION_1_1:
                return "1.1";
        case HTTP_VERSION_2:
                return "2";
        default:
                return "auto";
        }
}

static const char *auth_name(enum endpoint_auth a) {
        switch (a) {
        case AUTH_AWS:
                return "aws";
        case AUTH_GOOGLE:
                return "google";
        case AUTH_AZURE:
                return "azure";
        default:
                return "none";
        }
}

/* A header as it may be shown: its name, never its value, which may be a token whatever its source. */
static struct json_object *masked_headers(const struct endpoint_config *ep) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < ep->n_headers; i++) {
                const char *h = ep->headers[i], *colon = strchr(h, ':');
                char *shown = NULL;

                if (asprintf(&shown, "%.*s: (hidden)", (int) (colon ? colon - h : 0), h) < 0 ||
                    append(a, json_object_new_string(shown)) < 0) {
                        free(shown);
                        json_object_put(a);
                        return NULL;
                }
                free(shown);
        }
        return a;
}

static int add_int(struct json_object *o, const char *key, int64_t v) {
        return add(o, key, json_object_new_int64(v));
}

/* 0 is "not set" for these: null. */
static int add_duration_or_null(struct json_object *o, const char *key, uint64_t usec) {
        return usec ? add_duration(o, key, usec) : add_nullable(o, key, NULL);
}

static struct json_object *schedule_json(const struct schedule *sc) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < sc->n; i++) {
                char line[96];

                if (schedule_window_format(&sc->windows[i], line, sizeof line) < 0 ||
                    append(a, json_object_new_string(line)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

/* An endpoint with every value it has, inherited or its own, and where it was defined. */
static struct json_object *endpoint_json(const struct endpoint_config *ep) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (add(o, "name", json_object_new_string(ep->name)) < 0 ||
            add_nullable(o, "file", ep->file) < 0 ||
            add_int(o, "line", ep->line) < 0 ||
            add_nullable(o, "url", ep->url_display) < 0 ||
            add_nullable(o, "lambda", ep->lambda) < 0 ||
            add_nullable(o, "region", ep->region) < 0 ||
            add_int(o, "containers", ep->containers) < 0 ||
            add(o, "method", json_object_new_string(ep->method ? ep->method : "GET")) < 0 ||
            add(o, "headers", masked_headers(ep)) < 0 ||
            add(o, "headers_from_credentials", json_object_new_boolean(ep->has_credentials)) < 0 ||
            add_int(o, "body_bytes", ep->body ? (int64_t) strlen(ep->body) : 0) < 0 ||
            add_duration(o, "interval", ep->interval_usec) < 0 ||
            add_duration(o, "jitter", ep->jitter_usec) < 0 ||
            add_duration(o, "timeout", ep->timeout_usec) < 0 ||
            add_duration(o, "connect_timeout", ep->connect_timeout_usec) < 0 ||
            (ep->expect_status ? add_int(o, "expect_status", ep->expect_status)
                               : add_nullable(o, "expect_status", NULL)) < 0 ||
            add_nullable(o, "reuse_header", ep->reuse_header) < 0 ||
            add_nullable(o, "reuse_json", ep->reuse_json) < 0 ||
            add_nullable(o, "instance_header", ep->instance_header) < 0 ||
            add_nullable(o, "instance_json", ep->instance_json) < 0 ||
            add_duration_or_null(o, "cold_threshold", ep->cold_threshold_usec) < 0 ||
            add_nullable(o, "ca_file", ep->ca_file) < 0 ||
            add_nullable(o, "client_cert", ep->client_cert) < 0 ||
            add_nullable(o, "client_key", ep->client_key) < 0 ||
            add(o, "http_version", json_object_new_string(http_version_name(ep->http_version))) < 0 ||
            add(o, "auth", json_object_new_string(auth_name(ep->auth))) < 0 ||
            add_nullable(o, "audience", ep->audience) < 0 ||
            add_nullable(o, "resource", ep->resource) < 0 ||
            add_nullable(o, "client_id", ep->client_id) < 0 ||
            add_nullable(o, "aws_service", ep->aws_service) < 0 ||
            add_nullable(o, "profile", ep->profile) < 0 ||
            add_nullable(o, "lambda_tag", ep->lambda_tag) < 0 ||
            add_duration_or_null(o, "refresh", ep->refresh_usec) < 0 ||
            add(o, "schedules", schedule_json(&ep->schedule)) < 0 ||
            add_int(o, "topup", ep->topup_factor) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int config_json(FILE *f, const struct config *c) {
        struct json_object *o = json_object_new_object(), *files, *globals, *eps, *sources;
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (add_nullable(o, "timezone", c->timezone) < 0 ||
            add(o, "files", files = json_object_new_array()) < 0 ||
            add(o, "globals", globals = json_object_new_array()) < 0 ||
            add(o, "endpoints", eps = json_object_new_array()) < 0 ||
            add(o, "sources", sources = json_object_new_array()) < 0)
                goto fail;
        for (size_t i = 0; i < c->n_files; i++)
                if (append(files, json_object_new_string(c->files[i])) < 0)
                        goto fail;
        for (size_t i = 0; i < c->n_globals; i++) {
                const struct config_setting *g = &c->globals[i];
                struct json_object *go = json_object_new_object();

                if (append(globals, go) < 0 ||
                    add(go, "key", json_object_new_string(g->key)) < 0 ||
                    add(go, "value", json_object_new_string(g->value)) < 0 ||
                    add(go, "file", json_object_new_string(g->file)) < 0 ||
                    add_int(go, "line", g->line) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (append(eps, endpoint_json(c->endpoints[i])) < 0)
                        goto fail;
        for (size_t i = 0; i < c->n_sources; i++)
                if (append(sources, endpoint_json(c->sources[i])) < 0)
                        goto fail;
        r = print_json(f, o);
fail:
        json_object_put(o);
        return r;
}

/* An endpoint's lines under its file: the place for whatever more -n says of one endpoint. */
static void endpoint_text(FILE *f, const struct endpoint_config *ep) {
        if (ep->lambda_tag)
                fprintf(f, "  [%s] line %u: a source of the Lambda functions tagged %s\n", ep->name, ep->line,
                        ep->lambda_tag);
        else
                fprintf(f, "  [%s] line %u: %u container%s, %s\n", ep->name, ep->line, ep->containers,
                        ep->containers == 1 ? "" : "s", ep->url_display ? ep->url_display : "no URL");
}

static int config_text(FILE *f, const struct config *c, time_t now) {
        size_t j = 0, k = 0;
        int r;

        /* The endpoints and the sources are in the order they were read, file by file. */
        for (size_t i = 0; i < c->n_files; i++) {
                fprintf(f, "%s\n", c->files[i]);
                for (; j < c->n_endpoints && streq_ptr(c->endpoints[j]->file, c->files[i]); j++)
                        endpoint_text(f, c->endpoints[j]);
                for (; k < c->n_sources && streq_ptr(c->sources[k]->file, c->files[i]); k++)
                        endpoint_text(f, c->sources[k]);
        }
        /* Endpoints made otherwise than from a file, if any, follow the files'. */
        if (j < c->n_endpoints)
                fprintf(f, "not from a file\n");
        for (; j < c->n_endpoints; j++)
                endpoint_text(f, c->endpoints[j]);
        if (c->n_globals > 0)
                fprintf(f, "[global]\n");
        for (size_t i = 0; i < c->n_globals; i++)
                fprintf(f, "  %s = %s (%s:%u)\n", c->globals[i].key, c->globals[i].value, c->globals[i].file,
                        c->globals[i].line);
        /* What the schedules cost, before the verdict, which stays the last line for scripts. */
        r = schedule_print(f, c, now);
        if (r < 0)
                return r;
        fprintf(f, "configuration OK%s\n", c->n_endpoints == 0 && c->n_sources == 0 ? " (no endpoints)" : "");
        return 0;
}

int report_config(FILE *f, const struct config *c, bool json, time_t now) {
        if (json)
                return config_json(f, c);
        return config_text(f, c, now);
}

/* ----------------------------------------------------------------- --once */

struct once_report {
        /* Per endpoint name, an object of failure reasons to counts: json-c's hash tables find them. */
        struct json_object *failures;
};

int once_report_new(struct once_report **ret) {
        struct once_report *r = calloc(1, sizeof *r);

        if (!r || !(r->failures = json_object_new_object())) {
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

struct once_report *once_report_free(struct once_report *r) {
        if (!r)
                return NULL;
        json_object_put(r->failures);
        free(r);
        return NULL;
}

static int count_failure(struct once_report *r, const char *endpoint, const char *reason) {
        struct json_object *reasons, *n;

        if (!json_object_object_get_ex(r->failures, endpoint, &reasons) &&
            add(r->failures, endpoint, reasons = json_object_new_object()) < 0)
                return -ENOMEM;
        if (!json_object_object_get_ex(reasons, reason, &n)) {
                /* A bound on what a misbehaving server can make warmd keep: its errors may all differ. */
                if (json_object_object_length(reasons) >= REASONS_MAX && !streq(reason, REASON_OTHER))
                        return count_failure(r, endpoint, REASON_OTHER);
                return add(reasons, reason, json_object_new_int64(1));
        }
        return json_object_set_int64(n, json_object_get_int64(n) + 1) ? 0 : -ENOMEM;
}

void once_report_event(struct once_report *r, const struct scheduler_event *ev) {
        const struct result *res = ev->result;

        if (!r || ev->type != SCHEDULER_EVENT_REQUEST || res->ok)
                return;
        /* Without memory the reason is lost, not the round: the counts in the table stay right. */
        (void) count_failure(r, ev->endpoint->name, res->error[0] ? res->error : "unknown");
}

static int cmp_reason(const void *a, const void *b) {
        struct json_object *const *x = a, *const *y = b;
        int64_t cx = json_object_get_int64(json_object_object_get(*x, "count"));
        int64_t cy = json_object_get_int64(json_object_object_get(*y, "count"));

        if (cx != cy)
                return cx > cy ? -1 : 1;
        return strcmp(json_object_get_string(json_object_object_get(*x, "reason")),
                      json_object_get_string(json_object_object_get(*y, "reason")));
}

/* The reasons of an endpoint's failures, the most frequent first. */
struct json_object *once_report_failures(const struct once_report *r, const char *endpoint) {
        struct json_object *a = json_object_new_array(), *reasons;

        if (!a || !json_object_object_get_ex(r->failures, endpoint, &reasons))
                return a;
        json_object_object_foreach(reasons, reason, n) {
                struct json_object *o = json_object_new_object();

                if (append(a, o) < 0 || add(o, "reason", json_object_new_string(reason)) < 0 ||
                    add(o, "count", json_object_get(n)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        }
        json_object_array_sort(a, cmp_reason);
        return a;
}

/* An endpoint whose round never ended (warmd was stopped) reached nothing. */
static bool endpoint_summary(const struct scheduler *s, size_t i, struct summary *ret) {
        if (scheduler_endpoint_summary(s, i, ret) >= 0)
                return true;
        *ret = (struct summary) { .containers = scheduler_config(s)->endpoints[i]->containers };
        return false;
}

static int once_json(FILE *f, const struct once_report *rep, const struct scheduler *s, bool *ret_short) {
        const struct config *c = scheduler_config(s);
        struct json_object *o = json_object_new_object(), *eps;
        unsigned n_short = 0;
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (add(o, "endpoints", eps = json_object_new_array()) < 0)
                goto fail;
        for (size_t i = 0; i < c->n_endpoints; i++) {
                const struct endpoint_config *ep = c->endpoints[i];
                struct json_object *e = json_object_new_object();
                struct summary sm;
                bool finished = endpoint_summary(s, i, &sm);

                n_short += sm.reached < sm.containers;
                if (append(eps, e) < 0 ||
                    add(e, "name", json_object_new_string(ep->name)) < 0 ||
                    add_nullable(e, "url", ep->url_display) < 0 ||
                    add_int(e, "containers", sm.containers) < 0 ||
                    add(e, "finished", json_object_new_boolean(finished)) < 0 ||
                    add_int(e, "sent", sm.sent) < 0 ||
                    add_int(e, "ok", sm.ok) < 0 ||
                    add_int(e, "reached", sm.reached) < 0 ||
                    add(e, "short", json_object_new_boolean(sm.reached < sm.containers)) < 0 ||
                    add_int(e, "warm", sm.warm) < 0 ||
                    add_int(e, "cold", sm.cold) < 0 ||
                    add_int(e, "unknown", sm.unknown) < 0 ||
                    add_int(e, "failed", sm.failed) < 0 ||
                    add_int(e, "attempts", sm.attempts) < 0 ||
                    add(e, "p50_ms", new_msec(sm.p50_usec)) < 0 ||
                    add(e, "max_ms", new_msec(sm.max_usec)) < 0 ||
                    add(e, "failures", once_report_failures(rep, ep->name)) < 0)
                        goto fail;
        }
        if (add(o, "endpoints_short", json_object_new_int64(n_short)) < 0)
                goto fail;
        r = print_json(f, o);
        if (r >= 0)
                *ret_short = n_short > 0;
fail:
        json_object_put(o);
        return r;
}

static void once_table(FILE *f, const struct scheduler *s, bool *ret_short) {
        const struct config *c = scheduler_config(s);
        int width = 8;
        bool short_of_n = false;

        for (size_t i = 0; i < c->n_endpoints; i++) {
                int l = (int) strlen(c->endpoints[i]->name);

                if (l > width)
                        width = l;
        }
        fprintf(f, "%-*s %6s %6s %6s %6s %7s %11s %7s %7s %8s\n", width, "ENDPOINT", "SENT", "OK", "WARM", "COLD",
                "UNKNOWN", "REACHED", "P50", "MAX", "ATTEMPTS");
        for (size_t i = 0; i < c->n_endpoints; i++) {
                struct summary sm;
                char reached[32], p50[24], max[24];

                (void) endpoint_summary(s, i, &sm);
                snprintf(reached, sizeof reached, "%u/%u", sm.reached, sm.containers);
                snprintf(p50, sizeof p50, "%" PRIu64 "ms", usec_to_msec(sm.p50_usec));
                snprintf(max, sizeof max, "%" PRIu64 "ms", usec_to_msec(sm.max_usec));
                fprintf(f, "%-*s %6u %6u %6u %6u %7u %11s %7s %7s %8u\n", width, c->endpoints[i]->name, sm.sent,
                        sm.ok, sm.warm, sm.cold, sm.unknown, reached, p50, max, sm.attempts);
                if (sm.reached < sm.containers)
                        short_of_n = true;
        }
        *ret_short = short_of_n;
}

int once_report_print(FILE *f, const struct once_report *r, const struct scheduler *s, bool json, bool *ret_short) {
        if (json)
                return once_json(f, r, s, ret_short);
        once_table(f, s, ret_short);
        return 0;
}

/* -------------------------------------------------------------- --discover */

/*
 * What the sources found: "endpoints" are the rows of the table, what would
 * be warmed; each source with its own count of them, and the functions it
 * found that a static endpoint warms instead (counted there, not here).
 */
int report_discovery_json(FILE *f, const struct discovery *d) {
        struct json_object *o = json_object_new_object(), *eps, *sources;
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (add(o, "endpoints", eps = json_object_new_array()) < 0 ||
            add(o, "sources", sources = json_object_new_array()) < 0)
                goto fail;
        for (size_t i = 0; i < discovery_sources(d); i++) {
                struct json_object *so = json_object_new_object(), *left;
                struct source_stats st;
                struct discovered x;

                discovery_source_stats(d, i, &st);
                if (append(sources, so) < 0 ||
                    add(so, "name", json_object_new_string(st.name)) < 0 ||
                    add(so, "lambda_tag", json_object_new_string(st.lambda_tag)) < 0 ||
                    add(so, "region", json_object_new_string(st.region)) < 0 ||
                    add(so, "read", json_object_new_boolean(st.listed)) < 0 ||
                    add_int(so, "refresh_errors", (int64_t) st.refresh_errors) < 0 ||
                    add_int(so, "endpoints", (int64_t) st.endpoints) < 0 ||
                    add(so, "left_to_static", left = json_object_new_array()) < 0)
                        goto fail;
                for (size_t j = 0; discovery_found(d, i, j, &x); j++) {
                        struct json_object *e;

                        if (x.left_to_static) {
                                if (append(left, json_object_new_string(x.endpoint)) < 0)
                                        goto fail;
                                continue;
                        }
                        e = json_object_new_object();
                        if (append(eps, e) < 0 ||
                            add(e, "name", json_object_new_string(x.endpoint)) < 0 ||
                            add(e, "source", json_object_new_string(st.name)) < 0 ||
                            add(e, "lambda", json_object_new_string(x.lambda)) < 0 ||
                            add(e, "region", json_object_new_string(st.region)) < 0 ||
                            add_int(e, "containers", x.containers) < 0)
                                goto fail;
                }
        }
        r = print_json(f, o);
fail:
        json_object_put(o);
        return r;
}
