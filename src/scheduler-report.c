/* SPDX-License-Identifier: MIT */
/*
 * scheduler-report.c: what the scheduler tells the sinks and the watchdog:
 * totals for the status line, each endpoint's counters for the metrics, its
 * last summary for --once, and whether rounds are on time.
 */
#include "config.h"

#include "scheduler-internal.h"

/*
 * For the watchdog: 0 while the loop does its job; not when curl's sockets are
 * no longer watched, nor when an endpoint waits far longer than it should for
 * its timer or for the answers of a running attempt (see watchdog_late()).
 */
int scheduler_check(const struct scheduler *s, uint64_t now, char *why, size_t size) {
        uint64_t worst = 0;

        if (!http_alive(s->http)) {
                snprintf(why, size, "the event source of the curl sockets is gone: no request can be answered");
                return -ENOTCONN;
        }
        for (size_t i = 0; i < s->n_endpoints && !(s->flags & SCHEDULER_ONE_ROUND); i++) {
                const struct endpoint *ep = s->endpoints[i];
                /* Asleep, it waits for no round timer (its next boundary has a timer of its own), only for answers. */
                const bool asleep = endpoint_sleeping(ep);
                const struct round_clock c = {
                        .cfg = ep->cfg,
                        .round = ep->round,
                        /* A timer not armed (that failed) should have fired when its round fell due. */
                        .timer_usec = asleep ? 0 : ep->next_mono ? ep->next_mono : ep->grid_mono,
                        .answers_usec = ep->state == ROUND_RUNNING ? ep->attempt_mono + ep->cfg->timeout_usec : 0,
                };
                char buf[256];
                uint64_t late = watchdog_late(&c, now, buf, sizeof buf);

                if (late > worst) {
                        worst = late;
                        snprintf(why, size, "%s", buf);
                }
        }
        return worst > 0 ? -ETIME : 0;
}

void scheduler_totals(const struct scheduler *s, struct status_totals *ret) {
        struct status_totals t = {
                .endpoints = (unsigned) s->n_endpoints,
                .last_round_realtime = s->last_round_realtime,
        };
        uint64_t latest_reclaim = 0;

        for (size_t i = 0; i < s->n_endpoints; i++) {
                const struct endpoint *ep = s->endpoints[i];

                t.containers += endpoint_wanted(ep);
                if (endpoint_sleeping(ep)) {
                        t.sleeping++;
                        if (ep->win.next_realtime > 0 && (t.wake_realtime == 0 || ep->win.next_realtime < t.wake_realtime))
                                t.wake_realtime = ep->win.next_realtime;
                }
                if (ep->next_mono > 0 && (t.next_usec == 0 || ep->next_mono < t.next_usec))
                        t.next_usec = ep->next_mono;
                if (!ep->have_summary)
                        continue;
                t.have_round = true;
                t.reached += ep->last.reached;
                t.round_containers += ep->last.containers;
                t.warm += ep->last.warm;
                t.cold += ep->last.cold;
                t.failed += ep->last.failed;
                t.sent += ep->last.sent;
                t.short_endpoints += ep->last.reached < ep->last.containers;
                if (ep->reclaim_realtime == 0)
                        continue;
                if (!t.reclaim_name || ep->reclaim_realtime >= latest_reclaim) {
                        latest_reclaim = ep->reclaim_realtime;
                        t.reclaim_name = ep->cfg->name;
                        t.reclaim_min_usec = ep->life.longest_survived;
                        t.reclaim_max_usec = ep->life.reclaimed_within;
                        t.reclaim_suggest_usec = ep->last_reclaim.suggested_interval_usec;
                }
                t.reclaim_endpoints++;
        }
        *ret = t;
}

size_t scheduler_endpoints(const struct scheduler *s) {
        return s->n_endpoints;
}

bool scheduler_endpoint_busy(const struct scheduler *s, const char *name) {
        for (size_t i = 0; i < s->n_endpoints; i++)
                if (streq(s->endpoints[i]->cfg->name, name))
                        return s->endpoints[i]->state != ROUND_IDLE && s->endpoints[i]->state != ROUND_FIRST;
        return false;
}

void scheduler_endpoint_stats(const struct scheduler *s, size_t i, struct endpoint_stats *ret) {
        const struct endpoint *ep = s->endpoints[i];
        struct endpoint_stats st = {
                .name = ep->cfg->name,
                .containers = ep->cfg->containers,
                .wanted = endpoint_wanted(ep),
                .in_window = !endpoint_sleeping(ep),
                .interval_usec = ep->cfg->interval_usec,
                .have_round = ep->have_summary,
                .last = ep->last,
                .last_round_realtime = ep->last_round_realtime,
                .rounds = ep->rounds,
                .short_rounds = ep->short_rounds,
                .topups = ep->topups,
                .overshoot = ep->overshoot,
                .next_requests = MIN(MAX(ep->learned, endpoint_wanted(ep)), endpoint_request_limit_for(ep->cfg, endpoint_wanted(ep))),
                .reclaims = ep->life.reclaims,
                .lifetime_min_usec = ep->life.longest_survived,
                .lifetime_max_usec = ep->life.reclaimed_within,
        };

        memcpy(st.requests, ep->requests, sizeof st.requests);
        *ret = st;
}

int scheduler_endpoint_summary(const struct scheduler *s, size_t i, struct summary *ret) {
        if (i >= s->n_endpoints || !s->endpoints[i]->have_summary)
                return -ENOENT;
        *ret = s->endpoints[i]->last;
        return 0;
}
