/* SPDX-License-Identifier: MIT */
/*
 * journal.c: the journal sink.  Each event of the scheduler becomes a record,
 * built by pure functions (so tests need no journal) and sent through the
 * daemon's log (log.c); request records only within the budget that keeps
 * round summaries clear of journald's rate limit.
 */
#include "config.h"

#include <inttypes.h>
#include <search.h>
#include <stdio.h>

#include "internal.h"

int journal_build_request(const struct endpoint_config *ep, uint64_t round, const struct result *res,
                          struct journal_record *ret) {
        struct journal_record rec;
        char what[64 + INSTANCE_MAX];

        /* A note is a field the handler was asked for and did not give: worth the operator's notice too. */
        journal_record_begin(&rec, res->ok && !res->note[0] ? LOG_INFO : LOG_NOTICE, WARMD_MESSAGE_REQUEST);

        journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        journal_record_add(&rec, "WARMD_URL=%s", ep->url_display);
        journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        journal_record_add(&rec, "WARMD_REUSED=%s", reuse_to_string(res->reuse));
        journal_record_add(&rec, "WARMD_DURATION_MS=%" PRIu64, usec_to_msec(res->total_usec));
        journal_record_add(&rec, "WARMD_CONNECT_MS=%" PRIu64, usec_to_msec(res->connect_usec));
        journal_record_add(&rec, "WARMD_TTFB_MS=%" PRIu64, usec_to_msec(res->ttfb_usec));
        if (res->reuse_guessed)
                journal_record_add(&rec, "WARMD_REUSE_GUESSED=1");
        if (res->instance[0])
                journal_record_add(&rec, "WARMD_INSTANCE=%s", res->instance);
        if (res->http_status > 0)
                journal_record_add(&rec, "WARMD_HTTP_STATUS=%ld", res->http_status);
        if (res->error[0])
                journal_record_add(&rec, "WARMD_ERROR=%s", res->error);
        if (res->note[0])
                journal_record_add(&rec, "WARMD_NOTE=%s", res->note);

        snprintf(what, sizeof what, "%s%s%s%s", reuse_to_string(res->reuse), res->reuse_guessed ? " (guessed)" : "",
                 res->instance[0] ? ", instance " : "", res->instance);
        if (res->http_status == 0)
                journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": failed after %" PRIu64 " ms: %s", ep->name,
                                   round, usec_to_msec(res->total_usec), res->error);
        else if (!res->ok)
                journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": %s, failed: %s in %" PRIu64 " ms", ep->name,
                                   round, what, res->error, usec_to_msec(res->total_usec));
        else
                journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": %s, HTTP %ld in %" PRIu64 " ms%s%s%s",
                                   ep->name, round, what, res->http_status, usec_to_msec(res->total_usec),
                                   res->note[0] ? " (" : "", res->note, res->note[0] ? ")" : "");

        return journal_record_end(&rec, ret);
}

/* Why a short round was not topped up, said so that the reader knows what to change. */
static const char *shortfall_reason(const struct endpoint_config *ep, const struct summary *s, char *buf,
                                    size_t size) {
        switch (s->shortfall) {
        case SHORTFALL_FAILED:
                snprintf(buf, size, "; not topped up, %u request%s failed", s->failed, s->failed == 1 ? "" : "s");
                return buf;
        case SHORTFALL_NO_INSTANCES:
                return "; not topped up, no instance ids to count containers by";
        case SHORTFALL_TOPUP_OFF:
                return "; not topped up, topup = no";
        case SHORTFALL_LIMIT:
                snprintf(buf, size, "; top-up limit of %u requests reached", endpoint_request_limit(ep));
                return buf;
        case SHORTFALL_MAX_PARALLEL:
                return "; not topped up, reaching N needs more requests at once than max_parallel allows";
        case SHORTFALL_NO_PROGRESS:
                return "; not topped up further, the last attempt woke no new container";
        case SHORTFALL_NONE:
                break;
        }
        return "";
}

/* Why the first attempt fell short, and what top-up woke past N: what the round cost is plain. */
static const char *overlap_text(const struct summary *s, char *buf, size_t size) {
        const struct overlap_report *o = &s->first;
        char past[32] = "";

        if (s->overshoot > 0)
                snprintf(past, sizeof past, ", %u past N", s->overshoot);
        switch (o->cause) {
        case OVERLAP_PACKING:
                snprintf(buf, size, ", first attempt short: containers took several requests at once%s", past);
                break;
        case OVERLAP_SPREAD:
                snprintf(buf, size, ", first attempt short: not overlapped, sent over %" PRIu64
                         " ms, a container answered in %" PRIu64 " ms and took another%s",
                         usec_to_msec(o->spread_usec), usec_to_msec(o->service_usec), past);
                break;
        case OVERLAP_SERIAL:
                snprintf(buf, size, ", first attempt short: the platform served requests sent together one after "
                         "another, %" PRIu64 " ms apart%s", usec_to_msec(o->service_usec), past);
                break;
        case OVERLAP_NONE:
                snprintf(buf, size, "%s", past);
                break;
        }
        return buf;
}

int journal_build_round(const struct endpoint_config *ep, uint64_t round, const struct summary *s, unsigned unlogged,
                        struct journal_record *ret) {
        bool short_of_n = s->reached < s->containers;
        char attempts[64] = "", reason[80], overlap[192];
        struct journal_record rec;
        char held[64] = "";

        journal_record_begin(&rec, short_of_n ? LOG_WARNING : LOG_INFO,
                             short_of_n ? WARMD_MESSAGE_SHORT : WARMD_MESSAGE_ROUND);
        journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        journal_record_add(&rec, "WARMD_URL=%s", ep->url_display);
        journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        journal_record_add(&rec, "WARMD_CONTAINERS=%u", s->containers);
        journal_record_add(&rec, "WARMD_SENT=%u", s->sent);
        journal_record_add(&rec, "WARMD_OK=%u", s->ok);
        journal_record_add(&rec, "WARMD_FAILED=%u", s->failed);
        journal_record_add(&rec, "WARMD_WARM=%u", s->warm);
        journal_record_add(&rec, "WARMD_COLD=%u", s->cold);
        journal_record_add(&rec, "WARMD_UNKNOWN=%u", s->unknown);
        journal_record_add(&rec, "WARMD_REACHED=%u", s->reached);
        journal_record_add(&rec, "WARMD_P50_MS=%" PRIu64, usec_to_msec(s->p50_usec));
        journal_record_add(&rec, "WARMD_MAX_MS=%" PRIu64, usec_to_msec(s->max_usec));
        journal_record_add(&rec, "WARMD_UNLOGGED=%u", unlogged);
        if (s->instances_known)
                journal_record_add(&rec, "WARMD_INSTANCES=%u", s->instances);
        if (unlogged > 0)
                snprintf(held, sizeof held, "; %u request record%s held back (journal rate limit)", unlogged,
                         unlogged == 1 ? "" : "s");
        if (s->attempts > 0)
                journal_record_add(&rec, "WARMD_ATTEMPTS=%u", s->attempts);
        if (short_of_n && s->shortfall != SHORTFALL_NONE)
                journal_record_add(&rec, "WARMD_SHORTFALL=%s", shortfall_to_string(s->shortfall));
        if (s->first.cause != OVERLAP_NONE) {
                journal_record_add(&rec, "WARMD_SHORT_CAUSE=%s", overlap_to_string(s->first.cause));
                journal_record_add(&rec, "WARMD_SPREAD_MS=%" PRIu64, usec_to_msec(s->first.spread_usec));
                if (s->first.cause != OVERLAP_PACKING)
                        journal_record_add(&rec, "WARMD_SERVICE_MS=%" PRIu64, usec_to_msec(s->first.service_usec));
        }
        if (s->instances_known)
                journal_record_add(&rec, "WARMD_OVERSHOOT=%u", s->overshoot);
        /* Topped up, or started from what earlier rounds learned: the cost shows. */
        if (s->attempts > 1 || s->sent != s->containers)
                snprintf(attempts, sizeof attempts, ", %u attempt%s, %u requests", s->attempts,
                         s->attempts == 1 ? "" : "s", s->sent);
        journal_record_add(&rec,
                           "MESSAGE=%s round %" PRIu64 ": %u of %u reached (%u warm, %u cold, %u unknown, %u failed), "
                           "p50 %" PRIu64 " ms, max %" PRIu64 " ms%s%s%s%s%s",
                           ep->name, round, s->reached, s->containers, s->warm, s->cold, s->unknown, s->failed,
                           usec_to_msec(s->p50_usec), usec_to_msec(s->max_usec),
                           s->guessed > 0 ? " (reuse guessed from timing)" : "", overlap_text(s, overlap, sizeof overlap),
                           attempts,
                           short_of_n ? shortfall_reason(ep, s, reason, sizeof reason) : "", held);

        return journal_record_end(&rec, ret);
}

/*
 * The reclaim warning says what warmd knows: the idle time the containers
 * did not survive bounds their lifetime from above, the longest idle time
 * any survived bounds it from below, and the advice follows from both.
 */
int journal_build_reclaim(const struct endpoint_config *ep, uint64_t round, const struct reclaim *rc,
                          struct journal_record *ret) {
        char interval[32], gap[32], lo[32], hi[32], suggested[32], known[96];
        struct journal_record rec;

        (void) format_duration(ep->interval_usec, DURATION_ROUNDED, interval, sizeof interval);
        (void) format_duration(rc->gap_usec, DURATION_ROUNDED, gap, sizeof gap);
        (void) format_duration(rc->lifetime_min_usec, DURATION_ROUNDED, lo, sizeof lo);
        (void) format_duration(rc->lifetime_max_usec, DURATION_ROUNDED, hi, sizeof hi);
        (void) format_duration(rc->suggested_interval_usec, DURATION_ROUNDED, suggested, sizeof suggested);
        if (rc->lifetime_min_usec > 0)
                snprintf(known, sizeof known, "between %s and %s", lo, hi);
        else
                snprintf(known, sizeof known, "at most %s", hi);

        journal_record_begin(&rec, LOG_WARNING, WARMD_MESSAGE_RECLAIM);
        journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        journal_record_add(&rec, "WARMD_INTERVAL_SEC=%" PRIu64, ep->interval_usec / USEC_PER_SEC);
        journal_record_add(&rec, "WARMD_NEW_CONTAINERS=%u", rc->new_containers);
        journal_record_add(&rec, "WARMD_IDLE_GAP_MS=%" PRIu64, usec_to_msec(rc->gap_usec));
        journal_record_add(&rec, "WARMD_LIFETIME_MAX_MS=%" PRIu64, usec_to_msec(rc->lifetime_max_usec));
        journal_record_add(&rec, "WARMD_SUGGESTED_INTERVAL_SEC=%" PRIu64, rc->suggested_interval_usec / USEC_PER_SEC);
        journal_record_add(&rec, "WARMD_RECLAIM_FROM=%s", rc->precise ? "instances" : "cold-starts");
        if (rc->lifetime_min_usec > 0)
                journal_record_add(&rec, "WARMD_LIFETIME_MIN_MS=%" PRIu64, usec_to_msec(rc->lifetime_min_usec));
        journal_record_add(&rec,
                           "MESSAGE=%s round %" PRIu64 ": %u new container%s%s: the platform reclaimed idle containers "
                           "within %s (interval %s); their idle lifetime is %s; suggested interval %s",
                           ep->name, round, rc->new_containers, rc->new_containers == 1 ? "" : "s",
                           rc->precise ? "" : " (cold starts)", gap, interval, known, suggested);

        return journal_record_end(&rec, ret);
}

int journal_build_window(const struct scheduler_event *ev, struct journal_record *ret) {
        const char *what = ev->containers == 0 ? "sleep" : ev->previous == 0 ? "wake" : "change";
        char until[96] = "";
        struct journal_record rec;

        if (ev->next_realtime > 0 && ev->next_local)
                snprintf(until, sizeof until, " until %s", ev->next_local);
        journal_record_begin(&rec, LOG_INFO, WARMD_MESSAGE_SCHEDULE);
        journal_record_add(&rec, "WARMD_ENDPOINT=%s", ev->endpoint->name);
        journal_record_add(&rec, "WARMD_SCHEDULE=%s", what);
        journal_record_add(&rec, "WARMD_CONTAINERS=%u", ev->containers);
        journal_record_add(&rec, "WARMD_PREVIOUS_CONTAINERS=%u", ev->previous);
        if (ev->next_realtime > 0)
                journal_record_add(&rec, "WARMD_NEXT_BOUNDARY_USEC=%" PRIu64, ev->next_realtime);
        if (ev->containers == 0)
                journal_record_add(&rec, "MESSAGE=%s: outside its schedule's windows; sleeping%s", ev->endpoint->name,
                                   until);
        else if (ev->previous == 0)
                journal_record_add(&rec, "MESSAGE=%s: a window opens; warming %u container%s%s", ev->endpoint->name,
                                   ev->containers, ev->containers == 1 ? "" : "s", until);
        else
                journal_record_add(&rec, "MESSAGE=%s: the schedule changes N from %u to %u container%s%s",
                                   ev->endpoint->name, ev->previous, ev->containers, ev->containers == 1 ? "" : "s",
                                   until);
        return journal_record_end(&rec, ret);
}

/* ------------------------------------------------------------------ budget */

unsigned journal_budget_limit(const struct config *c) {
        uint64_t reserve = JOURNAL_RATE_OTHER;

        for (size_t i = 0; i < c->n_endpoints; i++) {
                const struct endpoint_config *ep = c->endpoints[i];
                /* Jitter can bring two rounds as close as interval - jitter. */
                uint64_t gap = ep->interval_usec > ep->jitter_usec + USEC_PER_SEC ? ep->interval_usec - ep->jitter_usec
                                                                                   : USEC_PER_SEC;

                reserve += JOURNAL_RATE_INTERVAL_USEC / gap + 1;
                /* A schedule's wake, sleep or change of N: windows are whole minutes, so one a window at most. */
                reserve += ep->schedule.n > 0;
                if (reserve >= JOURNAL_RATE_BURST)
                        return 0;
        }
        return JOURNAL_RATE_BURST - (unsigned) reserve;
}

bool journal_budget_admit(struct journal_budget *b, uint64_t now, bool failed) {
        uint64_t second = now / USEC_PER_SEC;

        if (second > b->second) {
                /* Empty the slots of the seconds passed since; after a pause as long as the window, all of them. */
                uint64_t n = second - b->second < JOURNAL_BUDGET_SLOTS ? second - b->second : JOURNAL_BUDGET_SLOTS;

                for (uint64_t i = 1; i <= n; i++) {
                        unsigned *slot = &b->slots[(b->second + i) % JOURNAL_BUDGET_SLOTS];

                        b->used -= *slot;
                        *slot = 0;
                }
                b->second = second;
        }
        if (b->used >= (failed ? b->limit : b->limit / 2))
                return false;
        b->slots[second % JOURNAL_BUDGET_SLOTS]++;
        b->used++;
        return true;
}

/* ------------------------------------------------------------------ the sink */

struct journal_sink {
        struct journal_budget budget;
        /* Per endpoint, the requests of its current round whose record was held back; only while there are any. */
        void *unlogged_by_name;
};

struct unlogged {
        char *name;
        uint64_t round;
        unsigned n;
};

static int unlogged_cmp(const void *a, const void *b) {
        return strcmp(((const struct unlogged *) a)->name, ((const struct unlogged *) b)->name);
}

static void unlogged_free(void *p) {
        struct unlogged *u = p;

        free(u->name);
        free(u);
}

static void unlogged_count(struct journal_sink *sink, const char *name, uint64_t round) {
        struct unlogged key = { .name = (char *) name }, *u;
        void **found = tfind(&key, &sink->unlogged_by_name, unlogged_cmp);

        if (found)
                u = *found;
        else {
                /* Out of memory, the round's record counts fewer than were held back; nothing else is lost. */
                u = calloc(1, sizeof *u);
                if (!u || !(u->name = strdup(name)) || !tsearch(u, &sink->unlogged_by_name, unlogged_cmp)) {
                        if (u)
                                unlogged_free(u);
                        return;
                }
        }
        if (u->round != round) {        /* a round aborted by a reload left its count behind */
                u->round = round;
                u->n = 0;
        }
        u->n++;
}

static unsigned unlogged_take(struct journal_sink *sink, const char *name, uint64_t round) {
        struct unlogged key = { .name = (char *) name }, *u;
        void **found = tfind(&key, &sink->unlogged_by_name, unlogged_cmp);
        unsigned n;

        if (!found)
                return 0;
        u = *found;
        n = u->round == round ? u->n : 0;
        tdelete(&key, &sink->unlogged_by_name, unlogged_cmp);
        unlogged_free(u);
        return n;
}

int journal_sink_new(struct journal_sink **ret) {
        struct journal_sink *sink = calloc(1, sizeof *sink);

        if (!sink)
                return -ENOMEM;
        /* Until a configuration sizes it: all but what other records need. */
        sink->budget.limit = JOURNAL_RATE_BURST - JOURNAL_RATE_OTHER;
        *ret = sink;
        return 0;
}

struct journal_sink *journal_sink_free(struct journal_sink *sink) {
        if (!sink)
                return NULL;
        tdestroy(sink->unlogged_by_name, unlogged_free);
        free(sink);
        return NULL;
}

void journal_sink_set_config(struct journal_sink *sink, const struct config *c) {
        sink->budget.limit = journal_budget_limit(c);
}

void journal_sink_event(struct journal_sink *sink, const struct scheduler_event *ev) {
        const struct endpoint_config *ep = ev->endpoint;
        struct journal_record rec;
        int r = -EINVAL;

        switch (ev->type) {
        case SCHEDULER_EVENT_REQUEST:
                if (!journal_budget_admit(&sink->budget, now_usec(CLOCK_MONOTONIC), !ev->result->ok)) {
                        unlogged_count(sink, ep->name, ev->round);
                        return;
                }
                r = journal_build_request(ep, ev->round, ev->result, &rec);
                break;
        case SCHEDULER_EVENT_ROUND:
                r = journal_build_round(ep, ev->round, ev->summary, unlogged_take(sink, ep->name, ev->round), &rec);
                break;
        case SCHEDULER_EVENT_ROUND_SKIPPED:
                r = journal_build_event(LOG_WARNING, WARMD_MESSAGE_ROUND_SKIPPED, ep->name, &rec,
                                        "%s: round %" PRIu64 " is still in flight (%u of %u requests pending); "
                                        "skipping this round",
                                        ep->name, ev->round, ev->pending, ev->requests);
                break;
        case SCHEDULER_EVENT_RECLAIM:
                r = journal_build_reclaim(ep, ev->round, ev->reclaim, &rec);
                break;
        case SCHEDULER_EVENT_WINDOW:
                r = journal_build_window(ev, &rec);
                break;
        }
        if (r < 0)
                return;
        journal_send(&rec);
        journal_record_done(&rec);
}
