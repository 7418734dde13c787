/* SPDX-License-Identifier: MIT */
/*
 * discover.c: endpoints found from their tags.  Each source (a section with
 * lambda_tag) reads, every refresh, the Lambda functions of its region that
 * carry the tag key, through the Resource Groups Tagging API (tagging.c
 * parses the pages), and each becomes an endpoint SOURCE/FUNCTION[:QUALIFIER]
 * made with the source's keys.  The endpoints of every source, with the
 * file's own, form the configuration main.c hands to the scheduler, which
 * keeps what did not change running.
 *
 * A refresh that fails keeps the last list, warns once per streak of
 * failures, and is retried with backoff.  An invalid tag value is named
 * once; a source keeps the first DISCOVER_ENDPOINTS_MAX by name.  One
 * record says what each refresh changed.  discover-set.c makes the set of
 * endpoints from the lists, and learns from rounds which to leave out.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "discover-internal.h"

#define TARGET_HEADER           "X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources"
#define CONTENT_TYPE_HEADER     "Content-Type: application/x-amz-json-1.1"
#define PAGES_MAX               1000U   /* a refresh reads at most this many pages: 100,000 functions */
#define RETRY_MIN_USEC          (5 * USEC_PER_SEC)
#define NAMES_SHOWN             10      /* endpoints named in a change record's message; the fields have all */

void found_done(struct found *f) {
        free(f->endpoint);
        free(f->lambda);
}

void found_array_free(struct found *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                found_done(&a[i]);
        free(a);
}

void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void refresh_clear(struct source *s) {
        free(s->token);
        free(s->body);
        s->token = s->body = NULL;
        http_secret_headers_free(s->headers);
        s->headers = NULL;
        found_array_free(s->pending, s->n_pending);
        s->pending = NULL;
        s->n_pending = s->pending_cap = 0;
        strv_free(s->invalid_now, s->n_invalid_now);
        s->invalid_now = NULL;
        s->n_invalid_now = s->invalid_cap = 0;
        s->pages = 0;
}

static struct source *source_free(struct source *s) {
        if (!s)
                return NULL;
        if (s->disc)
                http_abort(s->disc->http, s);
        refresh_clear(s);
        found_array_free(s->list, s->n_list);
        found_array_free(s->leaving, s->n_leaving);
        strv_free(s->invalid, s->n_invalid);
        sd_event_source_disable_unref(s->timer);
        free(s->url);
        free(s->host);
        free(s->region);
        free(s);
        return NULL;
}

void discover_changed(struct discovery *d) {
        if (d->changed)
                d->changed(d->userdata);
}

/* ------------------------------------------------------------------ refresh */

static int on_timer(sd_event_source *e _unused_, uint64_t usec _unused_, void *userdata);
static void refresh_start(struct source *s);

static void arm(struct source *s, uint64_t after) {
        int r = sd_event_source_set_time_relative(s->timer, after);

        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "[%s]: cannot arm the refresh timer", s->cfg->name);
}

static void refresh_failed(struct source *s, const char *why) {
        uint64_t wait = RETRY_MIN_USEC;

        refresh_clear(s);
        s->fetching = false;
        s->errors++;
        /* 5 s, 10 s, 20 s ... up to refresh: a throttled API is not asked again at once. */
        for (unsigned i = 1; i < s->failures + 1 && wait < s->cfg->refresh_usec; i++)
                wait *= 2;
        wait = MIN(wait, s->cfg->refresh_usec);
        if (s->failures++ == 0)
                log_warning("[%s]: cannot read the functions tagged %s: %s; %s, retrying with backoff", s->cfg->name,
                            s->cfg->lambda_tag, why, s->listed ? "keeping the last list" : "nothing found yet");
        else
                log_debug("[%s]: refresh failed again: %s", s->cfg->name, why);
        arm(s, wait);
        if (!s->settled) {
                s->settled = true;
                discover_changed(s->disc);
        }
}

/* The page's request, signed now: a refresh of many pages may outlast a signature. */
static int page_request(struct source *s) {
        static const char *const to_sign[] = { TARGET_HEADER, NULL };
        struct sigv4_signature sig = {};
        struct curl_slist *l = NULL;
        char why[256];
        int r;

        free(s->body);
        s->body = NULL;
        http_secret_headers_free(s->headers);
        s->headers = NULL;
        r = tagging_request_body(s->cfg->lambda_tag, s->token, &s->body);
        if (r < 0)
                return r;
        r = auth_aws_sign(s->disc->auth, s->cfg->profile,
                          &(struct sigv4_request) {
                                  .method = "POST",
                                  .host = s->host,
                                  .path = "/",
                                  .headers = to_sign,
                                  .payload = s->body,
                                  .payload_len = strlen(s->body),
                                  .region = s->region,
                                  .service = "tagging",
                          },
                          time(NULL), &sig, why, sizeof why);
        if (r == -EAGAIN) {
                s->waiting_credentials = true;
                return 0;
        }
        if (r < 0) {
                refresh_failed(s, why);
                return 0;
        }
        s->waiting_credentials = false;
        r = -ENOMEM;
        if (!(l = curl_slist_append(l, CONTENT_TYPE_HEADER)) || !curl_slist_append(l, TARGET_HEADER) ||
            !curl_slist_append(l, sig.date_header) || !curl_slist_append(l, sig.authorization) ||
            (sig.token_header && !curl_slist_append(l, sig.token_header)))
                goto out;
        s->headers = l;
        l = NULL;
        r = http_start(s->disc->http,
                       &(struct http_request) {
                               .name = s->cfg->name,
                               .url = s->url,
                               .method = "POST",
                               .headers = s->headers,
                               .body = s->body,
                               .timeout_usec = s->cfg->timeout_usec,
                               .connect_timeout_usec = s->cfg->connect_timeout_usec,
                               .ca_file = s->cfg->ca_file,
                               .capture = { "x-amzn-ErrorType" },
                               /* One byte more than a page may have: a body that fills it is too large. */
                               .keep_body = TAGGING_PAGE_MAX + 1,
                       },
                       0, s);
out:
        http_secret_headers_free(l);
        sigv4_signature_done(&sig);
        return r;
}

static void refresh_start(struct source *s) {
        int r;

        if (s->fetching)
                return;
        refresh_clear(s);
        s->fetching = true;
        r = page_request(s);
        if (r < 0) {
                char why[128];

                snprintf(why, sizeof why, "cannot start the request: %s", strerror(-r));
                refresh_failed(s, why);
        }
}

static int on_timer(sd_event_source *e _unused_, uint64_t usec _unused_, void *userdata) {
        refresh_start(userdata);
        return 0;
}

static void on_auth_changed(void *userdata) {
        struct discovery *d = userdata;

        for (size_t i = 0; i < d->n_sources; i++) {
                struct source *s = d->sources[i];

                if (s->waiting_credentials && page_request(s) < 0)
                        refresh_failed(s, "cannot start the request");
        }
}

static int strv_add(char ***v, size_t *n, size_t *cap, const char *s) {
        char **a = array_grow(*v, *n, cap, sizeof(char *)), *c;

        if (!a)
                return -ENOMEM;
        *v = a;
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        a[(*n)++] = c;
        return 0;
}

int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

bool strv_has_sorted(char **v, size_t n, const char *s) {
        return n > 0 && bsearch(&s, v, n, sizeof(char *), cmp_str);
}

/* One function of a page: an endpoint found, or an invalid tag value kept to be named. */
static int take(struct source *s, const struct tagging_resource *res) {
        char fn[80], *item = NULL;
        const char *qualifier;
        unsigned containers;
        struct found *a, f = {};
        int r;

        if (tagging_arn_function(res->arn, fn, sizeof fn) < 0)
                return 0;               /* not a function's ARN: nothing to invoke */
        if (tagging_tag_value(res->value, &containers, &qualifier) < 0) {
                if (asprintf(&item, "%s=%s", fn, res->value) < 0)
                        return -ENOMEM;
                r = strv_add(&s->invalid_now, &s->n_invalid_now, &s->invalid_cap, item);
                free(item);
                return r;
        }
        if (asprintf(&f.lambda, "%s%s%s", fn, qualifier ? ":" : "", qualifier ? qualifier : "") < 0)
                return -ENOMEM;
        if (asprintf(&f.endpoint, "%s/%s", s->cfg->name, f.lambda) < 0) {
                free(f.lambda);
                return -ENOMEM;
        }
        f.containers = containers;
        a = array_grow(s->pending, s->n_pending, &s->pending_cap, sizeof *a);
        if (!a) {
                found_done(&f);
                return -ENOMEM;
        }
        s->pending = a;
        a[s->n_pending++] = f;
        return 0;
}

int cmp_found(const void *a, const void *b) {
        return strcmp(((const struct found *) a)->endpoint, ((const struct found *) b)->endpoint);
}

struct found *found_find(struct found *list, size_t n, const char *endpoint) {
        struct found key = { .endpoint = (char *) endpoint };

        return n > 0 ? bsearch(&key, list, n, sizeof *list, cmp_found) : NULL;
}

/* "a, b, c and 7 more" of the names in v that are not in the other list. */
static void names(FILE *f, const struct found *v, size_t n, const struct found *other, size_t n_other, bool by_count,
                  unsigned *ret_count) {
        unsigned count = 0;

        for (size_t i = 0; i < n; i++) {
                struct found *o = found_find((struct found *) other, n_other, v[i].endpoint);

                if (by_count ? !o || o->containers == v[i].containers : !!o)
                        continue;
                if (f && count < NAMES_SHOWN)
                        fprintf(f, "%s%s", count ? ", " : "", v[i].endpoint);
                count++;
        }
        if (f && count > NAMES_SHOWN)
                fprintf(f, " and %u more", count - NAMES_SHOWN);
        *ret_count = count;
}

/* One record per refresh that changed the source's list: what came, what went, what changed.  True if any. */
static bool log_change(struct source *s, const struct found *old, size_t n_old) {
        char *added = NULL, *removed = NULL, *counted = NULL;
        size_t sa = 0, sr = 0, sc = 0;
        unsigned na, nr, nc;
        FILE *fa = open_memstream(&added, &sa), *fr = open_memstream(&removed, &sr), *fc = open_memstream(&counted, &sc);
        struct journal_record rec;

        names(fa, s->list, s->n_list, old, n_old, false, &na);
        names(fr, old, n_old, s->list, s->n_list, false, &nr);
        names(fc, s->list, s->n_list, old, n_old, true, &nc);
        if (fa)
                fclose(fa);
        if (fr)
                fclose(fr);
        if (fc)
                fclose(fc);
        if ((na || nr || nc) &&
            journal_build_event(LOG_NOTICE, WARMD_MESSAGE_DISCOVERY, NULL, &rec,
                                "[%s]: %zu endpoint%s from tag %s: %u added%s%s%s, %u removed%s%s%s, %u changed%s%s%s",
                                s->cfg->name, s->n_list, s->n_list == 1 ? "" : "s", s->cfg->lambda_tag, na,
                                na ? " (" : "", na && added ? added : "", na ? ")" : "", nr, nr ? " (" : "",
                                nr && removed ? removed : "", nr ? ")" : "", nc, nc ? " (" : "",
                                nc && counted ? counted : "", nc ? ")" : "") >= 0) {
                journal_record_add(&rec, "WARMD_SOURCE=%s", s->cfg->name);
                journal_record_add(&rec, "WARMD_ENDPOINTS=%zu", s->n_list);
                journal_record_add(&rec, "WARMD_ADDED=%u", na);
                journal_record_add(&rec, "WARMD_REMOVED=%u", nr);
                journal_record_add(&rec, "WARMD_CHANGED=%u", nc);
                journal_send(&rec);
                journal_record_done(&rec);
        }
        free(added);
        free(removed);
        free(counted);
        return na || nr || nc;
}

/* Invalid tag values are named once, while they stay invalid; one fixed and broken again is named again. */
static void warn_invalid(struct source *s) {
        if (s->n_invalid_now > 0)       /* the list is NULL when empty */
                qsort(s->invalid_now, s->n_invalid_now, sizeof(char *), cmp_str);
        for (size_t i = 0; i < s->n_invalid_now; i++) {
                char *eq = strchr(s->invalid_now[i], '=');

                if (strv_has_sorted(s->invalid, s->n_invalid, s->invalid_now[i]) || !eq)
                        continue;
                log_warning("[%s]: function %.*s has tag %s = '%s', which is not N or N:QUALIFIER (N from 1 to %u); "
                            "skipping it", s->cfg->name, (int) (eq - s->invalid_now[i]), s->invalid_now[i],
                            s->cfg->lambda_tag, eq + 1, CONTAINERS_MAX);
        }
        strv_free(s->invalid, s->n_invalid);
        s->invalid = s->invalid_now;
        s->n_invalid = s->n_invalid_now;
        s->invalid_now = NULL;
        s->n_invalid_now = s->invalid_cap = 0;
}

static void refresh_done(struct source *s) {
        struct found *old = s->list;
        size_t n_old = s->n_list, n = 0;
        bool was_listed = s->listed, was_settled = s->settled, any;

        if (s->n_pending > 0)           /* the list is NULL when empty */
                qsort(s->pending, s->n_pending, sizeof *s->pending, cmp_found);
        /* The same function tagged twice cannot be: but a page boundary may repeat one. */
        for (size_t i = 0; i < s->n_pending; i++) {
                if (n > 0 && streq(s->pending[n - 1].endpoint, s->pending[i].endpoint)) {
                        found_done(&s->pending[i]);
                        continue;
                }
                s->pending[n++] = s->pending[i];
        }
        /* A stable choice: the first DISCOVER_ENDPOINTS_MAX by name, whatever order the pages came in. */
        if (n > DISCOVER_ENDPOINTS_MAX) {
                if (!s->over_limit)
                        log_warning("[%s]: %zu functions are tagged %s; a source warms at most %u, the first by name "
                                    "(up to %s)", s->cfg->name, n, s->cfg->lambda_tag, DISCOVER_ENDPOINTS_MAX,
                                    s->pending[DISCOVER_ENDPOINTS_MAX - 1].endpoint);
                s->over_limit = true;
                for (size_t i = DISCOVER_ENDPOINTS_MAX; i < n; i++)
                        found_done(&s->pending[i]);
                n = DISCOVER_ENDPOINTS_MAX;
        } else
                s->over_limit = false;
        /* What warmd learned of a function lasts while the API lists it. */
        for (size_t i = 0; i < n; i++) {
                struct found *o = found_find(old, n_old, s->pending[i].endpoint);

                if (o) {
                        s->pending[i].gone_until = o->gone_until;
                        s->pending[i].shadowed = o->shadowed;
                }
        }
        s->list = s->pending;
        s->n_list = n;
        s->pending = NULL;
        s->n_pending = s->pending_cap = 0;
        warn_invalid(s);
        if (s->failures > 0)
                log_info("[%s]: the functions tagged %s are read again, after %u failed refresh%s", s->cfg->name,
                         s->cfg->lambda_tag, s->failures, s->failures == 1 ? "" : "es");
        s->failures = 0;
        s->listed = true;
        s->settled = true;
        s->fetching = false;
        any = log_change(s, was_listed ? old : NULL, was_listed ? n_old : 0);
        if (discover_leaving_take(s, old, n_old) < 0)
                log_error("[%s]: out of memory: functions that left the list stop at once", s->cfg->name);
        /* A function left out for its 404s has its hour over: it is tried again. */
        for (size_t i = 0; i < s->n_list; i++)
                if (s->list[i].gone_until > 0 && s->list[i].gone_until <= now_usec(CLOCK_MONOTONIC)) {
                        s->list[i].gone_until = 0;
                        any = true;
                }
        found_array_free(old, n_old);
        refresh_clear(s);
        arm(s, s->cfg->refresh_usec);
        /* An unchanged list changes nothing to apply; the first one ends the wait of --once and --discover. */
        if (any || !was_settled)
                discover_changed(s->disc);
}

static void on_done(void *userdata, const struct http_response *hr) {
        struct source *s = userdata;
        struct tagging_page page = {};
        char why[320];
        int r;

        if (hr->curl_code != CURLE_OK) {
                snprintf(why, sizeof why, "%s", hr->curl_error ? hr->curl_error : curl_easy_strerror(hr->curl_code));
                return refresh_failed(s, why);
        }
        if (hr->http_status != 200) {
                tagging_error(hr->http_status, hr->headers[0], hr->body, hr->body_len, why, sizeof why);
                return refresh_failed(s, why);
        }
        if (hr->body_len > TAGGING_PAGE_MAX) {
                snprintf(why, sizeof why, "a page larger than %u bytes", TAGGING_PAGE_MAX);
                return refresh_failed(s, why);
        }
        r = tagging_page_parse(hr->body ? hr->body : "", hr->body_len, s->cfg->lambda_tag, &page, why, sizeof why);
        if (r == -ENOMEM)
                snprintf(why, sizeof why, "out of memory");
        if (r < 0)
                return refresh_failed(s, why);
        for (size_t i = 0; i < page.n && r >= 0; i++)
                r = take(s, &page.items[i]);
        free(s->token);
        s->token = page.next_token;
        page.next_token = NULL;
        tagging_page_done(&page);
        if (r < 0)
                return refresh_failed(s, "out of memory");
        if (!s->token)
                return refresh_done(s);
        if (++s->pages >= PAGES_MAX) {
                snprintf(why, sizeof why, "more than %u pages", PAGES_MAX);
                return refresh_failed(s, why);
        }
        r = page_request(s);
        if (r < 0) {
                snprintf(why, sizeof why, "cannot start the request: %s", strerror(-r));
                refresh_failed(s, why);
        }
}

/* ------------------------------------------------------------------ sources */

/* The SDKs' endpoint override for the service, else the region's public endpoint. */
static int source_url(struct source *s) {
        const char *base = getenv("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API");
        CURLU *u;
        char *host = NULL, *port = NULL;
        size_t n;
        int r;

        if (!base || !*base)
                base = getenv("AWS_ENDPOINT_URL");
        if (base && *base) {
                n = strlen(base);
                while (n > 0 && base[n - 1] == '/')
                        n--;
                r = asprintf(&s->url, "%.*s/", (int) n, base);
        } else
                r = asprintf(&s->url, "https://tagging.%s.amazonaws.com/", s->region);
        if (r < 0)
                return -ENOMEM;
        u = curl_url();
        if (!u)
                return -ENOMEM;
        r = -EINVAL;
        if (curl_url_set(u, CURLUPART_URL, s->url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
                /* The Host header as curl sends it: the port only when the URL names one. */
                if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
                        r = asprintf(&s->host, "%s:%s", host, port) < 0 ? -ENOMEM : 0;
                else
                        r = (s->host = strdup(host)) ? 0 : -ENOMEM;
        }
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

static int source_new(struct discovery *d, const struct endpoint_config *cfg, struct source **ret) {
        const char *region = cfg->region ? cfg->region : getenv("AWS_REGION");
        struct source *s;
        int r;

        if (!region || !*region)
                region = getenv("AWS_DEFAULT_REGION");
        if (!region || !*region)
                return -EINVAL;         /* config.c has refused such a source */
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->cfg = cfg;
        s->region = strdup(region);
        r = s->region ? source_url(s) : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &s->timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_timer, s);
        if (r >= 0) {
                (void) sd_event_source_set_description(s->timer, "discovery-refresh");
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        }
        if (r < 0) {
                source_free(s);
                return r;
        }
        s->disc = d;
        *ret = s;
        return 0;
}

static int on_defer(sd_event_source *e _unused_, void *userdata) {
        discover_changed(userdata);
        return 0;
}

int discovery_new(sd_event *e, struct auth *auth, discovery_changed_fn fn, discovery_busy_fn busy, void *userdata,
                  struct discovery **ret) {
        struct discovery *d;
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->event = sd_event_ref(e);
        d->changed = fn;
        d->busy = busy;
        d->userdata = userdata;
        r = auth_listen(auth, on_auth_changed, d);
        if (r >= 0) {
                d->auth = auth;
                r = http_new(e, PACKAGE_NAME "/" PACKAGE_VERSION, on_done, &d->http);
        }
        if (r >= 0)
                r = sd_event_add_defer(e, &d->defer, on_defer, d);
        if (r >= 0) {
                (void) sd_event_source_set_description(d->defer, "discovery-changed");
                r = sd_event_source_set_enabled(d->defer, SD_EVENT_OFF);
        }
        if (r < 0) {
                discovery_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

struct discovery *discovery_free(struct discovery *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_sources; i++)
                source_free(d->sources[i]);
        free(d->sources);
        sd_event_source_disable_unref(d->defer);
        http_free(d->http);
        auth_unlisten(d->auth, on_auth_changed, d);
        config_free(d->base);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}

/* Whether a source of the new file reads the same list as s: the same section, tag and region. */
static bool same_list(const struct source *s, const struct endpoint_config *cfg) {
        const char *region = cfg->region ? cfg->region : getenv("AWS_REGION");

        if (!region || !*region)
                region = getenv("AWS_DEFAULT_REGION");
        return streq(s->cfg->name, cfg->name) && streq(s->cfg->lambda_tag, cfg->lambda_tag) && region &&
                streq(s->region, region);
}

/* The plan without its configuration: the new sources go; the kept ones are still the running ones'. */
static void plan_drop(struct discovery_plan *p, size_t n) {
        for (size_t i = 0; p->sources && p->from && i < n; i++)
                if (p->from[i] == SIZE_MAX)
                        source_free(p->sources[i]);
        free(p->sources);
        free(p->from);
        free(p);
}

struct discovery_plan *discovery_plan_free(struct discovery_plan *p) {
        struct config *c;

        if (!p)
                return NULL;
        c = p->base;
        plan_drop(p, c->n_sources);
        config_free(c);
        return NULL;
}

/*
 * A source that reads the same list keeps it, so a reload stops none of its
 * endpoints while the API is read again (one whose other keys changed starts
 * over, as any changed endpoint does).  Everything that can fail happens
 * here, and the running sources are only looked at: a reload that fails
 * after (in the scheduler's apply) leaves them as they were.
 */
int discovery_plan_new(struct discovery *d, struct config *c, struct discovery_plan **ret) {
        struct discovery_plan *p;
        bool *taken;
        int r = -ENOMEM;

        p = calloc(1, sizeof *p);
        taken = calloc(d->n_sources + 1, sizeof *taken);
        if (!p || !taken)
                goto fail;
        p->sources = calloc(c->n_sources + 1, sizeof *p->sources);
        p->from = calloc(c->n_sources + 1, sizeof *p->from);
        if (!p->sources || !p->from)
                goto fail;
        for (size_t i = 0; i < c->n_sources; i++)
                p->from[i] = SIZE_MAX;
        for (size_t i = 0; i < c->n_sources; i++) {
                for (size_t j = 0; j < d->n_sources && p->from[i] == SIZE_MAX; j++)
                        if (!taken[j] && same_list(d->sources[j], c->sources[i])) {
                                p->sources[i] = d->sources[j];
                                p->from[i] = j;
                                taken[j] = true;
                        }
                if (p->from[i] == SIZE_MAX && (r = source_new(d, c->sources[i], &p->sources[i])) < 0)
                        goto fail;
        }
        free(taken);
        p->base = c;
        *ret = p;
        return 0;
fail:
        if (p)
                plan_drop(p, c->n_sources);     /* c stays the caller's */
        free(taken);
        return r;
}

/*
 * The plan becomes the running sources, or, with none, the set built last
 * is taken as applied (a refresh's).  Nothing here can fail.
 */
void discovery_commit(struct discovery *d, struct discovery_plan *p) {
        if (p) {
                size_t n = p->base->n_sources;

                for (size_t i = 0; i < n; i++)
                        if (p->from[i] != SIZE_MAX)
                                d->sources[p->from[i]] = NULL;
                for (size_t i = 0; i < d->n_sources; i++)
                        source_free(d->sources[i]);
                free(d->sources);
                d->sources = p->sources;
                d->n_sources = n;
                for (size_t i = 0; i < n; i++) {
                        struct source *s = d->sources[i];

                        s->cfg = p->base->sources[i];
                        if (s->fetching) {
                                /* The refresh in flight was asked for the old section: it starts over. */
                                http_abort(d->http, s);
                                refresh_clear(s);
                                s->fetching = s->waiting_credentials = false;
                        }
                }
                config_free(d->base);
                d->base = p->base;
                free(p->from);
                free(p);
        }
        discover_set_commit(d);
}

int discovery_set_config(struct discovery *d, struct config *c) {
        struct discovery_plan *p;
        int r;

        r = discovery_plan_new(d, c, &p);
        if (r < 0)
                return r;
        discovery_commit(d, p);
        return 0;
}

void discovery_start(struct discovery *d) {
        for (size_t i = 0; i < d->n_sources; i++)
                refresh_start(d->sources[i]);
}

bool discovery_settled(const struct discovery *d) {
        for (size_t i = 0; i < d->n_sources; i++)
                if (!d->sources[i]->settled)
                        return false;
        return true;
}

const struct config *discovery_base(const struct discovery *d) {
        return d->base;
}

const struct config *discovery_plan_base(const struct discovery_plan *p) {
        return p->base;
}

