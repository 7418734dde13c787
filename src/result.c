/* SPDX-License-Identifier: MIT */
/*
 * result.c: turns one response into a result (ok, reuse, instance, timings)
 * and a round's results into a summary.  Pure functions: no network, no
 * journal, so the unit tests can feed them anything.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>

#include "warmd.h"

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

void result_from_response(const struct endpoint_config *ep, const struct response *r, struct result *ret) {
        json_object *root = NULL;
        int reuse = -EINVAL;

        *ret = (struct result) {
                .http_status = r->curl_code == CURLE_OK ? r->http_status : 0,
                .total_usec = r->total_usec,
                .connect_usec = r->connect_usec,
                .ttfb_usec = r->ttfb_usec,
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

        /* A response that is not ok still came from some container, so it still says which. */
        if ((ep->reuse_json || ep->instance_json) && r->body && r->body_len > 0) {
                json_tokener *tok = json_tokener_new();

                if (tok) {
                        root = json_tokener_parse_ex(tok, r->body, (int) r->body_len);
                        if (json_tokener_get_error(tok) != json_tokener_success) {
                                json_object_put(root);
                                root = NULL;
                        }
                        json_tokener_free(tok);
                }
        }

        if (ep->reuse_header && r->reuse_header)
                reuse = parse_bool_word(r->reuse_header);
        if (reuse < 0 && ep->reuse_json && root) {
                json_object *o = json_lookup(root, ep->reuse_json);

                if (o)
                        reuse = json_to_reuse(o);
        }
        if (reuse >= 0)
                ret->reuse = reuse ? REUSE_WARM : REUSE_COLD;
        else if (ep->cold_threshold_usec > 0) {
                ret->reuse = r->total_usec > ep->cold_threshold_usec ? REUSE_COLD : REUSE_WARM;
                ret->reuse_guessed = true;
        }

        if (ep->instance_header && r->instance_header && *r->instance_header)
                set_instance(ret, r->instance_header);
        else if (ep->instance_json && root) {
                json_object *o = json_lookup(root, ep->instance_json);

                if (o && (json_object_is_type(o, json_type_string) || json_object_is_type(o, json_type_int)))
                        set_instance(ret, json_object_get_string(o));
        }

        json_object_put(root);
}

/* ---------------------------------------------------------------- summary */

int round_acc_init(struct round_acc *a, unsigned containers) {
        *a = (struct round_acc) {};
        a->durations = calloc(containers, sizeof(uint64_t));
        a->instance_hashes = calloc(containers, sizeof(uint64_t));
        if (!a->durations || !a->instance_hashes) {
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
        *a = (struct round_acc) {};
}

void round_acc_reset(struct round_acc *a, unsigned containers) {
        a->n = 0;
        a->n_hashes = 0;
        a->s = (struct summary) { .containers = containers };
}

/* FNV-1a: instance ids only need telling apart within one round. */
static uint64_t hash_string(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return h;
}

void round_acc_add(struct round_acc *a, const struct result *r) {
        struct summary *s = &a->s;

        s->sent++;
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
        if (a->n < a->capacity)
                a->durations[a->n++] = r->total_usec;
        /* Only a request that did its job counts a container as reached. */
        if (r->ok && r->instance[0] && a->n_hashes < a->capacity)
                a->instance_hashes[a->n_hashes++] = hash_string(r->instance);
}

static int cmp_u64(const void *x, const void *y) {
        uint64_t a = *(const uint64_t *) x, b = *(const uint64_t *) y;

        return a < b ? -1 : a > b;
}

void round_acc_finish(struct round_acc *a, struct summary *ret) {
        struct summary *s = &a->s;

        if (a->n > 0) {
                qsort(a->durations, a->n, sizeof(uint64_t), cmp_u64);
                s->p50_usec = a->durations[(a->n - 1) / 2];
                s->max_usec = a->durations[a->n - 1];
        }
        if (a->n_hashes > 0) {
                qsort(a->instance_hashes, a->n_hashes, sizeof(uint64_t), cmp_u64);
                s->instances = 1;
                for (unsigned i = 1; i < a->n_hashes; i++)
                        s->instances += a->instance_hashes[i] != a->instance_hashes[i - 1];
                s->instances_known = true;
        }
        s->reached = s->instances_known ? s->instances : s->ok;
        *ret = *s;
}
