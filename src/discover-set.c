/* SPDX-License-Identifier: MIT */
/*
 * discover-set.c: the set of endpoints the sources' lists make, with the
 * file's own: a static endpoint of the same function wins; a function that
 * answered 404 is left out for an hour once its round has ended; a function that left the list while
 * its round was in flight stays until that round ends.  Also what is shown
 * of the sources: --discover's table, and their stats.
 */
#include "config.h"

#include <stdio.h>

#include "discover-internal.h"

#define GONE_HOLD_USEC          USEC_PER_HOUR

int discover_leaving_take(struct source *s, struct found *old, size_t n_old) {
        struct discovery *d = s->disc;
        size_t n = 0;

        /* Tagged again: in the list, not leaving. */
        for (size_t i = 0; i < s->n_leaving; i++)
                if (found_find(s->list, s->n_list, s->leaving[i].endpoint))
                        found_done(&s->leaving[i]);
                else
                        s->leaving[n++] = s->leaving[i];
        s->n_leaving = n;
        for (size_t i = 0; i < n_old; i++) {
                struct found *a;

                if (found_find(s->list, s->n_list, old[i].endpoint) || !d->busy ||
                    !d->busy(d->userdata, old[i].endpoint))
                        continue;
                a = array_grow(s->leaving, s->n_leaving, &s->leaving_cap, sizeof *a);
                if (!a)
                        return -ENOMEM;
                s->leaving = a;
                a[s->n_leaving++] = old[i];
                old[i] = (struct found) {};     /* moved: its strings are the leaving one's now */
        }
        return 0;
}

/* A leaving endpoint stays while its round is in flight. */
static bool leaving_busy(struct discovery *d, const struct found *f) {
        return d->busy && d->busy(d->userdata, f->endpoint);
}

/* ------------------------------------------------------------------ the set */

/* "REGION FUNCTION:QUALIFIER" of every static Lambda endpoint, sorted: what a found function is matched with. */
static int static_keys(const struct config *c, char ***ret, size_t *ret_n) {
        char **v = calloc(c->n_endpoints + 1, sizeof(char *));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_endpoints; i++) {
                const struct endpoint_config *ep = c->endpoints[i];
                struct lambda_target t;
                const char *err;

                if (!ep->lambda || lambda_parse(ep->lambda, &t, &err) < 0)
                        continue;
                if (asprintf(&v[n], "%s %.*s:%.*s", t.region[0] ? t.region : ep->region, (int) t.name_len,
                             t.function + t.function_len - t.name_len, t.qualifier ? (int) t.qualifier_len : 7,
                             t.qualifier ? t.qualifier : "$LATEST") < 0) {
                        strv_free(v, n);
                        return -ENOMEM;
                }
                n++;
        }
        if (n > 0)                      /* v is NULL when empty */
                qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}

static void derive_problem(void *userdata, const char *key, const char *message) {
        log_warning("%s (from the source's %s)", message, key);
}

/*
 * Which found functions a static endpoint of base warms already: those are
 * left to it.  Only shadowed_next is written, so a set that is then not
 * applied changes nothing; shadow_commit() takes it, with a notice.
 */
static int shadow_compute(const struct config *base, struct source *const *sources, size_t n) {
        size_t n_static = 0;
        char **statics = NULL;
        int r;

        r = static_keys(base, &statics, &n_static);
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct source *s = sources[i];

                for (size_t j = 0; j < s->n_list; j++) {
                        struct found *f = &s->list[j];
                        char *key = NULL;

                        if (asprintf(&key, "%s %s%s", s->region, f->lambda, strchr(f->lambda, ':') ? "" : ":$LATEST") < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        f->shadowed_next = strv_has_sorted(statics, n_static, key);
                        free(key);
                }
        }
        strv_free(statics, n_static);
        return r;
}

/* The notice, once, for a function a static endpoint has taken over. */
static void shadow_commit(struct discovery *d) {
        for (size_t i = 0; i < d->n_sources; i++) {
                struct source *s = d->sources[i];

                for (size_t j = 0; j < s->n_list; j++) {
                        struct found *f = &s->list[j];

                        if (f->shadowed_next && !f->shadowed)
                                log_notice("[%s]: %s is also a static endpoint of %s, which wins: not warmed as %s",
                                           s->cfg->name, f->lambda, d->base->path, f->endpoint);
                        f->shadowed = f->shadowed_next;
                }
        }
}

void discover_set_commit(struct discovery *d) {
        shadow_commit(d);
        /* A leaving endpoint whose round has ended was left out of the set: it goes now. */
        for (size_t i = 0; i < d->n_sources; i++) {
                struct source *s = d->sources[i];

                for (size_t j = 0; j < s->n_leaving;)
                        if (leaving_busy(d, &s->leaving[j]))
                                j++;
                        else {
                                found_done(&s->leaving[j]);
                                s->leaving[j] = s->leaving[--s->n_leaving];
                        }
        }
}

/* The endpoints being built: each found function, made with its source's keys. */
struct endpoints {
        struct endpoint_config **v;
        size_t n, cap;
};

static int add_endpoint(struct endpoints *e, const struct endpoint_config *source, const struct found *f) {
        struct endpoint_config **a = array_grow(e->v, e->n, &e->cap, sizeof *a);
        int r;

        if (!a)
                return -ENOMEM;
        e->v = a;
        r = config_endpoint_derive(source, f->endpoint, f->lambda, f->containers, derive_problem, NULL, &a[e->n]);
        if (r == -EINVAL)
                return 0;       /* said, and skipped */
        if (r >= 0)
                e->n++;
        return r;
}

/*
 * base's endpoints with what sources[i] found, each made with the keys of
 * base->sources[i].  It changes nothing the running set depends on: a set
 * that is not applied leaves the discovery as it was.
 */
static int set_build(struct discovery *d, const struct config *base, struct source *const *sources,
                     struct config **ret) {
        struct endpoints e = {};
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        r = shadow_compute(base, sources, base->n_sources);
        for (size_t i = 0; i < base->n_sources && r >= 0; i++) {
                const struct source *s = sources[i];

                for (size_t j = 0; j < s->n_list && r >= 0; j++)
                        if (s->list[j].gone_until <= now && !s->list[j].shadowed_next)
                                r = add_endpoint(&e, base->sources[i], &s->list[j]);
                for (size_t j = 0; j < s->n_leaving && r >= 0; j++)
                        if (leaving_busy(d, &s->leaving[j]))
                                r = add_endpoint(&e, base->sources[i], &s->leaving[j]);
        }
        if (r >= 0)
                r = config_combine(base, e.v, e.n, ret);
        if (r < 0)
                for (size_t i = 0; i < e.n; i++)
                        config_endpoint_free(e.v[i]);
        free(e.v);
        return r;
}

int discovery_config(struct discovery *d, const struct discovery_plan *p, struct config **ret) {
        return p ? set_build(d, p->base, p->sources, ret) : set_build(d, d->base, d->sources, ret);
}

/* ------------------------------------------------------------------ events */

/* The source an endpoint was found by: its name up to the '/'. */
static struct source *source_of(struct discovery *d, const char *endpoint) {
        const char *slash = strchr(endpoint, '/');

        for (size_t i = 0; slash && i < d->n_sources; i++)
                if (strlen(d->sources[i]->cfg->name) == (size_t) (slash - endpoint) &&
                    strncmp(d->sources[i]->cfg->name, endpoint, (size_t) (slash - endpoint)) == 0)
                        return d->sources[i];
        return NULL;
}

void discovery_event(struct discovery *d, const struct scheduler_event *ev) {
        struct source *s;
        struct found *f;

        if ((ev->type != SCHEDULER_EVENT_ROUND && ev->type != SCHEDULER_EVENT_REQUEST) ||
            !(s = source_of(d, ev->endpoint->name)))
                return;
        f = found_find(s->list, s->n_list, ev->endpoint->name);
        if (ev->type == SCHEDULER_EVENT_REQUEST) {
                if (f && ev->result && ev->result->http_status == 404)
                        f->answered_404 = true;
                return;
        }
        /* A round has ended: a leaving endpoint, or one whose function is gone, goes now, not before. */
        for (size_t i = 0; i < s->n_leaving; i++)
                if (streq(s->leaving[i].endpoint, ev->endpoint->name))
                        (void) sd_event_source_set_enabled(d->defer, SD_EVENT_ONESHOT);
        if (!f || !f->answered_404)
                return;
        f->answered_404 = false;
        f->gone_until = now_usec(CLOCK_MONOTONIC) + GONE_HOLD_USEC;
        log_notice("%s: the function or its qualifier does not exist (404), yet the tagging API lists the "
                   "function, as it does for a while after a delete; not warmed for an hour, unless it leaves "
                   "the list", f->endpoint);
        (void) sd_event_source_set_enabled(d->defer, SD_EVENT_ONESHOT);
}

/* ------------------------------------------------------------------ seeing it */

size_t discovery_sources(const struct discovery *d) {
        return d->n_sources;
}

void discovery_source_stats(const struct discovery *d, size_t i, struct source_stats *ret) {
        const struct source *s = d->sources[i];
        size_t left = 0;

        /* A function a static endpoint warms is counted there, not here too. */
        for (size_t j = 0; j < s->n_list; j++)
                left += s->list[j].shadowed;
        *ret = (struct source_stats) {
                .name = s->cfg->name,
                .lambda_tag = s->cfg->lambda_tag,
                .region = s->region,
                .endpoints = s->n_list - left,
                .left_to_static = left,
                .refresh_errors = s->errors,
                .listed = s->listed,
                .failing = s->failures > 0,
        };
}

bool discovery_listed(const struct discovery *d) {
        for (size_t i = 0; i < d->n_sources; i++)
                if (!d->sources[i]->listed)
                        return false;
        return true;
}

bool discovery_found(const struct discovery *d, size_t i, size_t j, struct discovered *ret) {
        const struct found *x;

        if (j >= d->sources[i]->n_list)
                return false;
        x = &d->sources[i]->list[j];
        *ret = (struct discovered) {
                .endpoint = x->endpoint,
                .lambda = x->lambda,
                .containers = x->containers,
                .left_to_static = x->shadowed,
        };
        return true;
}

int discovery_print(struct discovery *d, FILE *f, bool json) {
        int width = 8, r;

        /* What would be warmed: a function a static endpoint warms is that endpoint's. */
        r = shadow_compute(d->base, d->sources, d->n_sources);
        if (r < 0)
                return r;
        shadow_commit(d);
        if (json) {
                r = report_discovery_json(f, d);
                return r < 0 ? r : discovery_listed(d) ? 0 : -EIO;
        }
        for (size_t i = 0; i < d->n_sources; i++)
                for (size_t j = 0; j < d->sources[i]->n_list; j++)
                        width = MAX(width, (int) strlen(d->sources[i]->list[j].endpoint));
        fprintf(f, "%-*s %10s %s\n", width, "ENDPOINT", "CONTAINERS", "FUNCTION");
        for (size_t i = 0; i < d->n_sources; i++)
                for (size_t j = 0; j < d->sources[i]->n_list; j++) {
                        const struct found *x = &d->sources[i]->list[j];

                        if (!x->shadowed)
                                fprintf(f, "%-*s %10u %s\n", width, x->endpoint, x->containers, x->lambda);
                }
        return discovery_listed(d) ? 0 : -EIO;
}
