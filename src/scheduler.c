/* SPDX-License-Identifier: MIT */
/*
 * scheduler.c: one timer per endpoint, its rounds, and the global cap.
 *
 * A round hands all N requests to http.c in one go, so they leave together.
 * Requests over max_parallel wait in a FIFO of endpoints (not of requests, so
 * memory follows the number of endpoints) and start as others finish.
 */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <sys/random.h>

#include "scheduler-internal.h"


static void on_done(void *userdata, const struct http_response *r);

static void emit(struct scheduler *s, const struct scheduler_event *ev) {
        if (s->event_fn)
                s->event_fn(s->event_userdata, ev);
}

void scheduler_emit(struct scheduler *s, const struct scheduler_event *ev) {
        emit(s, ev);
}

static uint64_t random_below(uint64_t n) {
        uint64_t v = 0;

        if (n == 0)
                return 0;
        if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
                v = now_usec(CLOCK_MONOTONIC) * UINT64_C(6364136223846793005);
        return v % n;
}

static void queue_append(struct scheduler *s, struct endpoint *ep) {
        ep->queue_next = NULL;
        if (s->queue_tail)
                s->queue_tail->queue_next = ep;
        else
                s->queue_head = ep;
        s->queue_tail = ep;
}

/* IDLE, PROBING or RUNNING (a top-up) -> QUEUED */
static void enqueue(struct scheduler *s, struct endpoint *ep) {
        assert(ep->state == ROUND_IDLE || ep->state == ROUND_PROBING || ep->state == ROUND_RUNNING);
        ep->state = ROUND_QUEUED;
        queue_append(s, ep);
}

/* QUEUED -> RUNNING: the head has started all its requests. */
static void dequeue_head(struct scheduler *s) {
        struct endpoint *ep = s->queue_head;

        assert(ep->state == ROUND_QUEUED);
        s->queue_head = ep->queue_next;
        if (!s->queue_head)
                s->queue_tail = NULL;
        ep->queue_next = NULL;
        ep->state = ROUND_RUNNING;
        ep->attempt_mono = now_usec(ROUND_CLOCK);
}

/* Removes ep from anywhere in the queue; only on reload and when freeing, so the walk is fine. */
static void queue_unlink(struct scheduler *s, struct endpoint *ep) {
        struct endpoint **p, *prev = NULL;

        if (ep->state != ROUND_QUEUED)
                return;
        for (p = &s->queue_head; *p; prev = *p, p = &(*p)->queue_next)
                if (*p == ep) {
                        *p = ep->queue_next;
                        if (s->queue_tail == ep)
                                s->queue_tail = prev;
                        break;
                }
        ep->queue_next = NULL;
}

static void attempt_done(struct endpoint *ep);
static void finish_round(struct endpoint *ep, enum shortfall why);

static void request_done(struct endpoint *ep, const struct result *res) {
        round_acc_add(&ep->acc, res);
        ep->requests[!res->ok ? OUTCOME_FAILED :
                     res->reuse == REUSE_WARM ? OUTCOME_WARM :
                     res->reuse == REUSE_COLD ? OUTCOME_COLD : OUTCOME_UNKNOWN]++;
        /* Out of memory only makes warmd forget a container, which costs at most a missed reclaim warning. */
        if (res->ok && res->instance[0])
                (void) lifetime_seen(&ep->life, instance_hash(res->instance), res->reuse, now_usec(CLOCK_BOOTTIME));
        emit(ep->sched, &(struct scheduler_event) {
                .type = SCHEDULER_EVENT_REQUEST,
                .endpoint = ep->cfg,
                .round = ep->round,
                .result = res,
        });
}

/* A request that could not even start still counts, as a failure, so the round adds up to N. */
static void count_unstarted(struct endpoint *ep, int err) {
        struct result res = { .reuse = REUSE_UNKNOWN };

        snprintf(res.error, sizeof res.error, "cannot start request: %s", strerror(-err));
        request_done(ep, &res);
}

/*
 * Starts queued requests while there is room under max_parallel.  A round
 * starts whole or waits: N requests split across the cap would not overlap,
 * and would reach fewer than N containers.  Only a round larger than the cap
 * itself takes what room there is.  The queue is strictly first in, first
 * out, so a large round is never starved by smaller ones behind it.
 */
static void pump(struct scheduler *s) {
        while (s->queue_head && s->in_flight < s->config->max_parallel) {
                struct endpoint *ep = s->queue_head;
                unsigned room = s->config->max_parallel - s->in_flight, n;
                struct http_request req;

                if (ep->to_start > room && ep->batch <= s->config->max_parallel)
                        break;
                n = ep->to_start < room ? ep->to_start : room;
                endpoint_request(ep->cfg, ep->headers, &req);
                for (unsigned i = 0; i < n; i++) {
                        int r = http_start(s->http, &req, 0, ep);

                        ep->to_start--;
                        if (r < 0)
                                count_unstarted(ep, r);
                        else {
                                ep->in_flight++;
                                s->in_flight++;
                        }
                }
                if (ep->to_start == 0) {
                        dequeue_head(s);
                        if (ep->in_flight == 0)
                                attempt_done(ep);
                }
        }
}

/* An endpoint whose timer cannot be armed would never warm again: the loop ends, and systemd restarts warmd. */
static int timer_lost(struct endpoint *ep, int r, const char *what) {
        (void) sd_event_exit(ep->sched->event, r);
        return log_error_errno(r, "%s: failed to %s; stopping", ep->cfg->name, what);
}

static int arm_timer(struct endpoint *ep, uint64_t when) {
        int r;

        r = sd_event_source_set_time(ep->timer, when);
        if (r >= 0)
                r = sd_event_source_set_enabled(ep->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return timer_lost(ep, r, "arm the round timer");
        ep->next_mono = when;
        return 0;
}

/*
 * IDLE -> FIRST.  The first round is due at once, with no jitter: a new
 * endpoint is cold until it runs.  All first rounds go from one deferred
 * source, in config order, rather than from as many timers due at the same
 * instant: sd-event dispatches one source per iteration and re-arms its
 * timerfd each time, which costs 10,000 endpoints a third of a second before
 * the last round is queued.
 */
static int arm_first(struct endpoint *ep, uint64_t now) {
        int r;

        assert(ep->state == ROUND_IDLE);
        r = sd_event_source_set_enabled(ep->timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_source_set_enabled(ep->sched->first_rounds, SD_EVENT_ONESHOT);
        if (r < 0)
                return timer_lost(ep, r, "schedule the first round");
        ep->grid_mono = now;
        ep->next_mono = now;
        ep->state = ROUND_FIRST;
        return 0;
}

/* IDLE or CREDENTIALS -> PROBING or QUEUED: the requests are ready to go. */
static void send_round(struct endpoint *ep) {
        struct scheduler *s = ep->sched;
        struct http_request req;

        /*
         * With an empty DNS cache, each of N requests to a host name would
         * start a resolver thread of its own, and the requests would leave as
         * their lookups finish, not together.  A probe that only resolves and
         * connects fills the cache first; the round follows when it is done,
         * whatever its outcome.  It sends nothing, so it warms no container.
         * It takes a slot under max_parallel, and is skipped when there is none.
         */
        endpoint_request(ep->cfg, ep->headers, &req);
        if (!req.host_is_address && endpoint_wanted(ep) > 1 && s->in_flight < s->config->max_parallel &&
            http_start(s->http, &req, HTTP_PROBE, ep) >= 0) {
                log_debug("%s round %" PRIu64 ": resolving the host first", ep->cfg->name, ep->round);
                ep->state = ROUND_PROBING;
                ep->in_flight++;
                s->in_flight++;
                return;
        }
        log_debug("%s round %" PRIu64 ": starting %u requests", ep->cfg->name, ep->round, ep->batch);
        ep->state = ROUND_IDLE;
        enqueue(s, ep);
        pump(s);
}

/* IDLE or CREDENTIALS -> IDLE: a round that cannot be sent; every request counts, as a failure. */
static void fail_round(struct endpoint *ep, const char *why) {
        struct result res = { .reuse = REUSE_UNKNOWN };

        snprintf(res.error, sizeof res.error, "%s", why);
        ep->state = ROUND_RUNNING;
        for (; ep->to_start > 0; ep->to_start--)
                request_done(ep, &res);
        finish_round(ep, SHORTFALL_FAILED);
}

static void headers_drop(struct endpoint *ep) {
        http_secret_headers_free(ep->headers);
        ep->headers = NULL;
}

/*
 * The round's headers that prove who sends it (auth.c), if the endpoint
 * needs any.  Returns 0 when they are ready, -EAGAIN while credentials are
 * being fetched (the round waits in CREDENTIALS), or another -errno when
 * the round has failed.
 */
static int sign_round(struct endpoint *ep) {
        char why[CURL_ERROR_SIZE];
        int r;

        headers_drop(ep);
        r = auth_round_headers(ep->sched->auth, ep->cfg, time(NULL), &ep->headers, why, sizeof why);
        if (r >= 0 || r == -EAGAIN)
                return r;
        fail_round(ep, why);
        return r;
}

/* IDLE -> CREDENTIALS, PROBING or QUEUED, or straight back to IDLE when it cannot be sent */
static void start_round(struct endpoint *ep) {
        int r;

        assert(ep->state == ROUND_IDLE);
        ep->round++;
        ep->batch = MIN(MAX(ep->learned, endpoint_wanted(ep)), endpoint_request_limit_for(ep->cfg, endpoint_wanted(ep)));
        ep->batch_from = 0;
        ep->attempts = 1;
        ep->to_start = ep->batch;
        round_acc_reset(&ep->acc, endpoint_wanted(ep));
        lifetime_round_begin(&ep->life, ep->round, now_usec(CLOCK_BOOTTIME));

        r = sign_round(ep);
        if (r == -EAGAIN) {
                log_debug("%s round %" PRIu64 ": waiting for credentials", ep->cfg->name, ep->round);
                ep->state = ROUND_CREDENTIALS;
        }
        if (r < 0)
                return;
        send_round(ep);
}

/* Credentials arrived, were refreshed, or were lost: the rounds waiting for them go on. */
static void on_auth_changed(void *userdata) {
        struct scheduler *s = userdata;

        for (size_t i = 0; i < s->n_endpoints; i++) {
                struct endpoint *ep = s->endpoints[i];

                if (ep->state == ROUND_CREDENTIALS && sign_round(ep) >= 0)
                        send_round(ep);
        }
}

/* any -> IDLE, with nothing reported: the configuration changed under the round. */
static void abort_round(struct endpoint *ep) {
        struct scheduler *s = ep->sched;

        queue_unlink(s, ep);
        s->in_flight -= http_abort(s->http, ep);
        ep->in_flight = 0;
        ep->to_start = 0;
        ep->state = ROUND_IDLE;
        headers_drop(ep);
}

static void round_due(struct endpoint *ep) {
        struct scheduler *s = ep->sched;

        ep->next_mono = 0;
        /* After a suspend, a boundary may have passed unseen: a round outside its window does not start. */
        window_catch_up(ep);
        if (endpoint_sleeping(ep))
                return;
        if (!(s->flags & SCHEDULER_ONE_ROUND)) {
                /*
                 * Fixed rate on a grid: round k is due at start + k * interval, plus its own
                 * random jitter.  Jitter does not add up from round to round, and how long a
                 * round takes does not move the next one.
                 */
                ep->grid_mono += ep->cfg->interval_usec;
                if (ep->grid_mono < now_usec(ROUND_CLOCK))
                        ep->grid_mono = now_usec(ROUND_CLOCK);      /* fell behind: no catching up */
                (void) arm_timer(ep, ep->grid_mono + random_below(ep->cfg->jitter_usec + 1));
        }

        if (ep->state != ROUND_IDLE) {
                emit(s, &(struct scheduler_event) {
                        .type = SCHEDULER_EVENT_ROUND_SKIPPED,
                        .endpoint = ep->cfg,
                        .round = ep->round,
                        .pending = ep->in_flight + ep->to_start - (ep->state == ROUND_PROBING),
                        .requests = ep->batch,
                });
                return;
        }
        start_round(ep);
}

static int on_round_timer(sd_event_source *src _unused_, uint64_t usec _unused_, void *userdata) {
        round_due(userdata);
        return 0;
}

static int on_first_rounds(sd_event_source *src _unused_, void *userdata) {
        struct scheduler *s = userdata;

        for (size_t i = 0; i < s->n_endpoints; i++)
                if (s->endpoints[i]->state == ROUND_FIRST) {
                        s->endpoints[i]->state = ROUND_IDLE;
                        round_due(s->endpoints[i]);
                }
        return 0;
}

/* RUNNING -> IDLE */
static void finish_round(struct endpoint *ep, enum shortfall why) {
        struct scheduler *s = ep->sched;
        struct reclaim rc;
        int r;

        assert(ep->state == ROUND_RUNNING);
        round_acc_finish(&ep->acc, &ep->last);
        ep->last.attempts = ep->attempts;
        ep->last.shortfall = ep->last.reached < ep->last.containers ? why : SHORTFALL_NONE;
        ep->have_summary = true;
        ep->state = ROUND_IDLE;
        ep->rounds++;
        ep->short_rounds += ep->last.reached < ep->last.containers;
        ep->topups += ep->attempts - 1;
        ep->overshoot += ep->last.overshoot;
        s->last_round_realtime = ep->last_round_realtime = now_usec(CLOCK_REALTIME);
        r = lifetime_round_end(&ep->life, &ep->last, ep->cfg->jitter_usec, now_usec(CLOCK_BOOTTIME), &rc);
        if (r > 0) {
                ep->last_reclaim = rc;
                ep->reclaim_realtime = ep->last_round_realtime;
        }

        /* The round first, then what it says about reclaims: a reader sees the round the warning is about. */
        emit(s, &(struct scheduler_event) {
                .type = SCHEDULER_EVENT_ROUND,
                .endpoint = ep->cfg,
                .round = ep->round,
                .summary = &ep->last,
        });
        if (r > 0)
                emit(s, &(struct scheduler_event) {
                        .type = SCHEDULER_EVENT_RECLAIM,
                        .endpoint = ep->cfg,
                        .round = ep->round,
                        .reclaim = &rc,
                });
        if (ep->win.owed && !(s->flags & SCHEDULER_ONE_ROUND)) {
                ep->win.owed = false;
                if (!endpoint_sleeping(ep))
                        (void) arm_first(ep, now_usec(ROUND_CLOCK));
        }
}

/*
 * A boundary of ep's schedule.  Asleep, its round timer is off (a round in
 * flight finishes).  Woken, or with another N, a round of the new N starts
 * at once and the grid starts over from it; a round in flight finishes
 * first.  What was learned of the top-up size was for the old N.
 */
void scheduler_window_changed(struct endpoint *ep, unsigned previous) {
        if (ep->win.wanted != previous)
                ep->learned = 0;
        if (ep->win.wanted == 0) {
                ep->win.owed = false;
                (void) sd_event_source_set_enabled(ep->timer, SD_EVENT_OFF);
                ep->next_mono = 0;
                if (ep->state == ROUND_FIRST)
                        ep->state = ROUND_IDLE;
                return;
        }
        if (ep->state == ROUND_IDLE)
                (void) arm_first(ep, now_usec(ROUND_CLOCK));
        else if (ep->state != ROUND_FIRST)
                ep->win.owed = true;
}

/*
 * Every request of an attempt has been answered.  A round short of N
 * distinct containers is topped up with another attempt while topup_next()
 * allows (RUNNING -> QUEUED); otherwise the round ends.  The next round
 * starts from what this one learned.
 */
static void attempt_done(struct endpoint *ep) {
        struct topup_state t = {
                .containers = endpoint_wanted(ep),
                .limit = endpoint_request_limit_for(ep->cfg, endpoint_wanted(ep)),
                .max_parallel = ep->sched->config->max_parallel,
                .sent = ep->acc.s.sent,
                .failed = ep->acc.s.failed,
                .instances_known = ep->acc.n_hashes > 0,
                .batch = ep->batch,
        };
        enum shortfall why;
        unsigned next;

        round_acc_attempt(&ep->acc, ep->batch_from, ep->attempts == 1, &t);
        next = topup_next(&t, &why);
        /* Only packing says how many requests a container takes at once; serial reuse says nothing of it. */
        if (t.instances_known && t.failed == 0)
                ep->learned = t.cause != OVERLAP_PACKING ? t.containers :
                        topup_learn(t.containers, MIN(t.limit, MAX(t.max_parallel, t.containers)), t.batch,
                                    t.batch_reached);
        if (next == 0) {
                finish_round(ep, why);
                return;
        }
        log_debug("%s round %" PRIu64 ": %u of %u reached after %u requests; topping up with %u more",
                  ep->cfg->name, ep->round, t.reached, t.containers, t.sent, next);
        ep->attempts++;
        ep->batch = next;
        ep->batch_from = ep->acc.n_hashes;
        ep->to_start = next;
        enqueue(ep->sched, ep);
}

static void on_done(void *userdata, const struct http_response *r) {
        struct endpoint *ep = userdata;
        struct scheduler *s = ep->sched;
        const struct endpoint_config *cfg = ep->cfg;
        struct result res;

        ep->in_flight--;
        s->in_flight--;
        if (r->probe) {
                assert(ep->state == ROUND_PROBING);
                if (r->curl_code != CURLE_OK)
                        log_debug("%s: probe failed (%s); sending the round anyway", cfg->name,
                                  curl_easy_strerror(r->curl_code));
                enqueue(s, ep);
                pump(s);
                return;
        }

        result_from_http(cfg, r, &res);
        request_done(ep, &res);
        if (ep->state == ROUND_RUNNING && ep->in_flight == 0)
                attempt_done(ep);
        pump(s);
}

/* ---------------------------------------------------------------- lifetime */

/* Sized for the largest N of the schedule's windows, so a change of N at a boundary needs no memory. */
static int acc_init(struct round_acc *a, const struct endpoint_config *cfg) {
        unsigned n = schedule_containers_max(&cfg->schedule, cfg->containers);

        return round_acc_init(a, n, endpoint_request_limit_for(cfg, n));
}

static struct endpoint *endpoint_free(struct endpoint *ep) {
        if (!ep)
                return NULL;
        if (ep->sched)
                abort_round(ep);
        sd_event_source_disable_unref(ep->timer);
        window_done(ep);
        round_acc_done(&ep->acc);
        lifetime_done(&ep->life);
        free(ep);
        return NULL;
}

static int endpoint_new(struct scheduler *s, const struct endpoint_config *cfg, struct endpoint **ret) {
        struct endpoint *ep;
        int r;

        ep = calloc(1, sizeof *ep);
        if (!ep)
                return -ENOMEM;
        ep->cfg = cfg;
        lifetime_init(&ep->life);
        r = acc_init(&ep->acc, cfg);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(s->event, &ep->timer, ROUND_CLOCK, UINT64_MAX, USEC_PER_MSEC, on_round_timer, ep);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(ep->timer, "round-timer");
        (void) sd_event_source_set_priority(ep->timer, ROUND_TIMER_PRIORITY);
        r = sd_event_source_set_enabled(ep->timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        /* Set last: from here on, freeing it also detaches it from the scheduler. */
        ep->sched = s;
        *ret = ep;
        return 0;
fail:
        endpoint_free(ep);
        return r;
}

int scheduler_new(sd_event *e, struct auth *auth, struct config *c, unsigned flags, scheduler_event_fn fn,
                  void *userdata, struct scheduler **ret) {
        struct scheduler *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->flags = flags;
        s->event_fn = fn;
        s->event_userdata = userdata;
        /* Before any resolver thread (see schedule.c on $TZ); the status line's times are in it too. */
        r = timezone_use(c->timezone);
        if (r >= 0)
                r = http_new(e, c->user_agent, on_done, &s->http);
        if (r >= 0 && (r = auth_listen(auth, on_auth_changed, s)) >= 0)
                s->auth = auth;
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(e, &s->first_rounds, on_first_rounds, s);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(s->first_rounds, "first-rounds");
        (void) sd_event_source_set_priority(s->first_rounds, ROUND_TIMER_PRIORITY);
        r = sd_event_source_set_enabled(s->first_rounds, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        s->endpoints = calloc(c->n_endpoints ? c->n_endpoints : 1, sizeof(struct endpoint *));
        if (!s->endpoints) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < c->n_endpoints; i++) {
                r = endpoint_new(s, c->endpoints[i], &s->endpoints[i]);
                if (r < 0)
                        goto fail;
                s->endpoints[i]->cfg_index = i;
                s->n_endpoints++;
        }
        s->config = c;
        *ret = s;
        return 0;
fail:
        scheduler_free(s);
        return r;
}

struct scheduler *scheduler_free(struct scheduler *s) {
        if (!s)
                return NULL;
        /* Nothing waits any more; unlinking each endpoint from the queue would walk it once per endpoint. */
        for (struct endpoint *ep = s->queue_head; ep; ep = ep->queue_next)
                ep->state = ROUND_IDLE;
        s->queue_head = s->queue_tail = NULL;
        for (size_t i = 0; i < s->n_endpoints; i++)
                endpoint_free(s->endpoints[i]);
        free(s->endpoints);
        sd_event_source_disable_unref(s->first_rounds);
        window_watch_done(s);
        http_free(s->http);
        auth_unlisten(s->auth, on_auth_changed, s);
        config_free(s->config);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

/* Every first round is due now; they run as soon as the caller enters the loop. */
int scheduler_start(struct scheduler *s) {
        uint64_t now = now_usec(ROUND_CLOCK);
        int r;

        for (size_t i = 0; i < s->n_endpoints; i++) {
                /* --once warms every endpoint now, at its containers, whatever its schedule says. */
                if (s->endpoints[i]->cfg->schedule.n > 0 && (s->flags & SCHEDULER_ONE_ROUND))
                        s->endpoints[i]->win.wanted = s->endpoints[i]->cfg->containers;
                else if (s->endpoints[i]->cfg->schedule.n > 0) {
                        window_apply(s->endpoints[i], true);
                        continue;
                }
                r = arm_first(s->endpoints[i], now);
                if (r < 0)
                        return r;
        }
        return 0;
}

const struct config *scheduler_config(const struct scheduler *s) {
        return s->config;
}

/* ------------------------------------------------------------------ reload */

static int cmp_endpoint_name(const void *a, const void *b) {
        const struct endpoint *x = *(struct endpoint *const *) a, *y = *(struct endpoint *const *) b;

        return strcmp(x->cfg->name, y->cfg->name);
}

static int cmp_name_endpoint(const void *name, const void *elem) {
        return strcmp(name, (*(struct endpoint *const *) elem)->cfg->name);
}

static struct endpoint *find_sorted(struct endpoint **sorted, size_t n, const char *name) {
        struct endpoint **p = bsearch(name, sorted, n, sizeof *sorted, cmp_name_endpoint);

        return p ? *p : NULL;
}

/*
 * All allocation happens before anything changes, so a failure leaves the
 * running state exactly as it was.  Then, in one pass that cannot fail:
 * unchanged endpoints keep their runtime state and their config object
 * (curl points into it); changed ones abort and start over with the new
 * config; new ones are created; removed ones are aborted and freed.
 */
int scheduler_apply_config(struct scheduler *s, struct config *c) {
        struct endpoint **sorted = NULL, **next = NULL, **prepared = NULL, **order = NULL;
        size_t n_order = 0;
        struct round_acc *accs = NULL;
        uint64_t now = now_usec(ROUND_CLOCK);
        size_t n_new = c->n_endpoints;
        int r = 0;

        sorted = malloc((s->n_endpoints ? s->n_endpoints : 1) * sizeof(struct endpoint *));
        order = malloc((s->n_endpoints ? s->n_endpoints : 1) * sizeof(struct endpoint *));
        next = calloc(n_new ? n_new : 1, sizeof(struct endpoint *));
        prepared = calloc(n_new ? n_new : 1, sizeof(struct endpoint *));
        accs = calloc(n_new ? n_new : 1, sizeof(struct round_acc));
        if (!sorted || !order || !next || !prepared || !accs) {
                r = -ENOMEM;
                goto fail;
        }
        memcpy(sorted, s->endpoints, s->n_endpoints * sizeof(struct endpoint *));
        qsort(sorted, s->n_endpoints, sizeof(struct endpoint *), cmp_endpoint_name);

        /* Phase 1: allocate (the caller started the credential sources the new endpoints need). */
        for (size_t i = 0; i < n_new; i++) {
                const struct endpoint_config *cfg = c->endpoints[i];
                struct endpoint *old = find_sorted(sorted, s->n_endpoints, cfg->name);

                if (!old)
                        r = endpoint_new(s, cfg, &prepared[i]);
                else if (!endpoint_config_equal(old->cfg, cfg))
                        r = acc_init(&accs[i], cfg);
                if (r < 0)
                        goto fail;
        }
        /* Last of phase 1, since the zone is the process's: it fails (out of memory) before it changes. */
        r = timezone_use(c->timezone);
        if (r < 0)
                goto fail;

        /* Phase 2: commit; nothing below can fail.  The queue is rebuilt at the end, in its old order. */
        for (struct endpoint *q = s->queue_head; q; q = q->queue_next)
                order[n_order++] = q;
        for (size_t i = 0; i < s->n_endpoints; i++) {
                s->endpoints[i]->kept = false;
                s->endpoints[i]->queue_next = NULL;
        }
        s->queue_head = s->queue_tail = NULL;

        for (size_t i = 0; i < n_new; i++) {
                struct endpoint_config *cfg = c->endpoints[i];
                struct endpoint *ep = prepared[i] ? prepared[i] : find_sorted(sorted, s->n_endpoints, cfg->name);

                ep->win.fresh = false;
                if (prepared[i]) {
                        log_full(ENDPOINT_LOG_LEVEL(cfg), 0, "%s: new endpoint, first round %s", cfg->name,
                                 cfg->schedule.n ? "as its schedule says" : "now");
                        ep->win.fresh = true;
                } else if (endpoint_config_equal(ep->cfg, cfg)) {
                        /* Keep the config object curl already points into; the equal new one goes away instead. */
                        c->endpoints[i] = s->config->endpoints[ep->cfg_index];
                        s->config->endpoints[ep->cfg_index] = cfg;
                } else {
                        abort_round(ep);
                        ep->cfg = cfg;
                        round_acc_done(&ep->acc);
                        ep->acc = accs[i];
                        accs[i] = (struct round_acc) {};
                        ep->have_summary = false;
                        ep->learned = 0;        /* learned for another N or another URL */
                        ep->life.prev_end = 0;  /* an aborted round is no evidence of a reclaim */
                        ep->win.owed = false;
                        ep->win.fresh = true;
                        log_full(ENDPOINT_LOG_LEVEL(cfg), 0, "%s: configuration changed, starting a new round %s",
                                 cfg->name, cfg->schedule.n ? "as its schedule says" : "now");
                }
                if (ep->win.fresh && cfg->schedule.n == 0)
                        (void) arm_first(ep, now);
                ep->kept = true;
                ep->cfg_index = i;
                next[i] = ep;
        }
        /* Rounds still waiting for room go back in line in their old order; a probing one waits for its probe. */
        for (size_t i = 0; i < n_order; i++)
                if (order[i]->kept && order[i]->state == ROUND_QUEUED)
                        queue_append(s, order[i]);
        for (size_t i = 0; i < s->n_endpoints; i++) {
                struct endpoint *ep = s->endpoints[i];

                if (ep->kept)
                        continue;
                log_full(ENDPOINT_LOG_LEVEL(ep->cfg), 0, "%s: endpoint removed", ep->cfg->name);
                if (ep->state == ROUND_QUEUED)
                        ep->state = ROUND_IDLE;         /* already out of the rebuilt queue */
                endpoint_free(ep);
        }

        free(s->endpoints);
        s->endpoints = next;
        s->n_endpoints = n_new;
        http_set_user_agent(s->http, c->user_agent);
        config_free(s->config);
        s->config = c;
        /* With the new timezone: an unchanged schedule keeps its state unless the count it wants changed. */
        window_cache_clear(s);
        for (size_t i = 0; i < s->n_endpoints; i++)
                if (s->endpoints[i]->cfg->schedule.n > 0 || s->endpoints[i]->win.timer)
                        window_apply(s->endpoints[i], s->endpoints[i]->win.fresh && s->endpoints[i]->cfg->schedule.n > 0);
        free(sorted);
        free(order);
        free(prepared);
        free(accs);
        pump(s);
        return 0;

fail:
        for (size_t i = 0; i < n_new; i++) {
                if (prepared && prepared[i]) {
                        prepared[i]->sched = NULL;      /* never attached: nothing to abort */
                        endpoint_free(prepared[i]);
                }
                if (accs)
                        round_acc_done(&accs[i]);
        }
        free(sorted);
        free(order);
        free(prepared);
        free(accs);
        free(next);
        return r;
}
