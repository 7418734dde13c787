/* SPDX-License-Identifier: MIT */
/*
 * scheduler-internal.h: what the parts of the scheduler share: scheduler.c
 * (timers, rounds, the global cap, reload), scheduler-window.c (the
 * schedules' boundaries on the wall clock) and scheduler-report.c (what the
 * sinks and the watchdog read).  No other module includes it.
 */
#pragma once

#include "warmd.h"

/* Round timers go before curl's timer, so rounds due together are all queued before curl starts any. */
#define ROUND_TIMER_PRIORITY (SD_EVENT_PRIORITY_NORMAL - 10)
/* A boundary goes before a round due with it (both at once after a suspend): a window's end stops that round. */
#define BOUNDARY_TIMER_PRIORITY (ROUND_TIMER_PRIORITY - 1)

/*
 * Where an endpoint's round stands.  The transitions, and the only functions
 * that make them:
 *
 *   IDLE     -> FIRST    arm_first()       a new or changed endpoint waits for the first-rounds source
 *   IDLE     -> CREDENTIALS start_round()  the round waits for credentials being fetched (auth.c)
 *   IDLE     -> PROBING  start_round()     the host is resolved before the requests go
 *   IDLE     -> QUEUED   start_round()     the requests wait in line for room under max_parallel
 *   CREDENTIALS -> PROBING or QUEUED  on_auth_changed()  credentials arrived; the round is signed
 *   IDLE or CREDENTIALS -> IDLE  fail_round()  no credentials: every request fails, the round is reported
 *   FIRST    -> (as IDLE) on_first_rounds()
 *   PROBING  -> QUEUED   on_done()         the probe ended, whatever its outcome
 *   QUEUED   -> RUNNING  pump()            every request of the attempt has started
 *   RUNNING  -> QUEUED   attempt_done()    the attempt fell short of N: a top-up attempt waits in line
 *   RUNNING  -> IDLE     finish_round()    every request has been answered, and no top-up follows
 *   any      -> IDLE     abort_round()     the endpoint's configuration changed
 *
 * A round that falls due in CREDENTIALS, PROBING, QUEUED or RUNNING is skipped.
 */
enum round_state {
        ROUND_IDLE,
        ROUND_FIRST,
        ROUND_CREDENTIALS,
        ROUND_PROBING,
        ROUND_QUEUED,
        ROUND_RUNNING,
};

/* Where an endpoint stands in its schedule (scheduler-window.c). */
struct endpoint_window {
        sd_event_source *timer;         /* CLOCK_REALTIME, at the next boundary; made for the first schedule */
        unsigned wanted;                /* containers wanted now; 0: sleeping */
        uint64_t next_realtime;         /* the next boundary, CLOCK_REALTIME usec; 0: none */
        bool owed;                      /* a boundary came during a round: the new N's round follows it */
        bool fresh;                     /* scratch mark for scheduler_apply_config() */
};

struct endpoint {
        struct scheduler *sched;
        const struct endpoint_config *cfg;
        sd_event_source *timer;
        enum round_state state;
        uint64_t round;
        unsigned to_start;              /* requests of this attempt not started yet */
        unsigned in_flight;             /* requests (or the probe) started and not answered */
        unsigned batch;                 /* requests of this attempt */
        unsigned batch_from;            /* where this attempt's instance ids start in acc */
        unsigned attempts;
        unsigned learned;               /* requests the next round starts with; 0: N */
        struct lifetime life;
        uint64_t requests[_OUTCOME_MAX];
        uint64_t rounds, short_rounds, topups, overshoot;
        uint64_t last_round_realtime;
        uint64_t reclaim_realtime;      /* when it last saw a reclaim; 0: never */
        struct reclaim last_reclaim;
        bool kept;                      /* scratch mark for scheduler_apply_config() */
        size_t cfg_index;               /* where cfg sits in the scheduler's config */
        struct endpoint *queue_next;
        struct curl_slist *headers;     /* the round's own headers (auth.c); curl reads them until it ends */
        struct round_acc acc;
        bool have_summary;
        struct summary last;
        uint64_t next_mono;             /* when the timer fires next; 0: not armed */
        uint64_t grid_mono;             /* when the current round was due before its jitter */
        uint64_t attempt_mono;          /* when the running attempt had started all its requests */
        struct endpoint_window win;
};

struct scheduler {
        sd_event *event;
        struct config *config;
        struct http *http;
        struct auth *auth;              /* the credentials rounds carry; main.c's, shared with discover.c */
        struct endpoint **endpoints;    /* parallel to config->endpoints */
        size_t n_endpoints;
        struct endpoint *queue_head, *queue_tail;   /* the endpoints in ROUND_QUEUED, first in first out */
        sd_event_source *first_rounds;  /* runs every due first round in one dispatch */
        unsigned in_flight;
        unsigned flags;
        uint64_t last_round_realtime;
        scheduler_event_fn event_fn;
        void *event_userdata;
        sd_event_source *clock_set;     /* the system clock was set: boundaries are computed again */
        /* The last schedule_at() answer: endpoints mostly share [global]'s windows, and are all started at once. */
        struct {
                struct schedule schedule;       /* a copy; none: nothing cached */
                unsigned containers;
                time_t now;
                struct schedule_point point;
        } window_cache;
};

/* ---------------------------------------------------------- scheduler.c */

void scheduler_emit(struct scheduler *s, const struct scheduler_event *ev);
/* The schedule of ep wants another N (0: sleep) than before, previous; rounds follow. */
void scheduler_window_changed(struct endpoint *ep, unsigned previous);

/* --------------------------------------------------- scheduler-window.c */

/*
 * Works out what ep's schedule wants now, arms the boundary timer for the
 * next change and, when the count changed or fresh is set (a new or changed
 * endpoint), reports it and hands it to scheduler_window_changed().
 */
void window_apply(struct endpoint *ep, bool fresh);
/* A boundary that passed unseen (a suspend): applied before a round of ep starts. */
void window_catch_up(struct endpoint *ep);
void window_done(struct endpoint *ep);
void window_watch_done(struct scheduler *s);
/* Forgets the last answer: on reload, when the zone may change. */
void window_cache_clear(struct scheduler *s);

/* Containers a round of ep wants now: its schedule's N, else containers. */
static inline unsigned endpoint_wanted(const struct endpoint *ep) {
        return ep->cfg->schedule.n > 0 ? ep->win.wanted : ep->cfg->containers;
}

static inline bool endpoint_sleeping(const struct endpoint *ep) {
        return ep->cfg->schedule.n > 0 && ep->win.wanted == 0;
}
