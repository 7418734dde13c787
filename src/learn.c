/* SPDX-License-Identifier: MIT */
/*
 * learn.c: what warmd learns about the platform from its own rounds.  How
 * many requests it takes to reach N containers (top-up), and how long idle
 * containers live (reclaims and interval advice).  Pure functions over plain
 * numbers and one tree of instance ids, so the unit tests need no network.
 */
#include "config.h"

#include <search.h>

#include "warmd.h"

/* Rounds a container may go unseen before warmd forgets it: it bounds the tree at 4 rounds of requests. */
#define FORGET_AFTER_ROUNDS 3

const char *shortfall_to_string(enum shortfall s) {
        switch (s) {
        case SHORTFALL_NONE:
                return "none";
        case SHORTFALL_FAILED:
                return "failed";
        case SHORTFALL_NO_INSTANCES:
                return "no-instances";
        case SHORTFALL_TOPUP_OFF:
                return "topup-off";
        case SHORTFALL_LIMIT:
                return "limit";
        case SHORTFALL_MAX_PARALLEL:
                return "max-parallel";
        case SHORTFALL_NO_PROGRESS:
                return "no-progress";
        }
        return "unknown";
}

const char *overlap_to_string(enum overlap o) {
        switch (o) {
        case OVERLAP_NONE:
                return "none";
        case OVERLAP_PACKING:
                return "packing";
        case OVERLAP_SPREAD:
                return "spread";
        case OVERLAP_SERIAL:
                return "serial";
        }
        return "unknown";
}

unsigned endpoint_request_limit(const struct endpoint_config *ep) {
        return endpoint_request_limit_for(ep, ep->containers);
}

unsigned endpoint_request_limit_for(const struct endpoint_config *ep, unsigned containers) {
        if (ep->topup_factor < 1)
                return containers;
        return ep->topup_factor * containers;
}

/* ceil(n * batch / reached), without overflow for any unsigned inputs. */
static uint64_t scale(unsigned n, unsigned batch, unsigned reached) {
        return ((uint64_t) n * batch + reached - 1) / reached;
}

/*
 * The size of the round's next attempt.  On a packing platform, the last
 * attempt sent batch requests, which reached batch_reached distinct
 * containers; so one container took about batch / batch_reached of them at
 * once, and N containers need N * batch / batch_reached requests at once.
 * The containers already reached are not avoided (a platform places
 * requests as it likes); they take their share of the next attempt, and are
 * counted by it.  No more than N are filled so: a container takes at least
 * as many as the estimate says, which only errs low.
 *
 * When containers served requests one after another instead, more requests
 * only make them serve more in turn, and wake containers past N once they do
 * overlap (an attempt of 1.3 x N woke 59 for 50).  Every container reached
 * is idle when the next attempt starts, and a platform gives a request an
 * idle container before it starts a new one: an attempt of N, one request
 * for each container reached and one for each missing, wakes at most the
 * missing ones.  One that wakes none says that more will not either.
 */
unsigned topup_next(const struct topup_state *t, enum shortfall *ret_why) {
        uint64_t want;

        if (t->reached >= t->containers) {
                *ret_why = SHORTFALL_NONE;
                return 0;
        }
        /* More of the same only adds load to a platform that fails or throttles. */
        if (t->failed > 0) {
                *ret_why = SHORTFALL_FAILED;
                return 0;
        }
        if (!t->instances_known) {
                *ret_why = SHORTFALL_NO_INSTANCES;
                return 0;
        }
        if (t->limit <= t->containers) {
                *ret_why = SHORTFALL_TOPUP_OFF;
                return 0;
        }
        if (t->sent >= t->limit) {
                *ret_why = SHORTFALL_LIMIT;
                return 0;
        }
        /* Requests over max_parallel wait for others to finish: they overlap no more than a batch of max_parallel. */
        if (t->max_parallel > 0 && t->batch >= t->max_parallel) {
                *ret_why = SHORTFALL_MAX_PARALLEL;
                return 0;
        }
        if (t->cause != OVERLAP_PACKING && t->gained == 0) {
                *ret_why = SHORTFALL_NO_PROGRESS;
                return 0;
        }
        if (t->cause == OVERLAP_PACKING) {
                want = scale(t->containers, t->batch, MAX(t->batch_reached, 1U));
                if (want <= t->batch)
                        want = t->batch + 1;
        } else
                want = t->containers;
        if (t->max_parallel > 0 && want > t->max_parallel)
                want = t->max_parallel;
        if (want > t->limit - t->sent)
                want = t->limit - t->sent;
        *ret_why = SHORTFALL_NONE;
        return (unsigned) want;
}

/*
 * The first attempt of the next round.  A short attempt raises it to what N
 * containers would have needed; an attempt that reached more than N lowers
 * it half way to what would have done, so it settles back on N where
 * requests do not share containers, without undershooting where they do.
 */
unsigned topup_learn(unsigned containers, unsigned limit, unsigned batch, unsigned batch_reached) {
        uint64_t want;

        if (batch_reached == 0)
                return MIN(MAX(batch, containers), limit);
        want = scale(containers, batch, batch_reached);
        if (want < batch)
                want = batch - (batch - want + 1) / 2;
        want = MAX(want, (uint64_t) containers);
        return (unsigned) MIN(want, (uint64_t) limit);
}

/* ----------------------------------------------------------------- overlap */

/* Answers of one container this close together, beyond how far apart they were sent, were served at once. */
#define TOGETHER_USEC (2 * USEC_PER_MSEC)

static int cmp_window(const void *a, const void *b) {
        const struct service_window *x = a, *y = b;

        if (x->hash != y->hash)
                return x->hash < y->hash ? -1 : 1;
        return x->first_byte_usec < y->first_byte_usec ? -1 : x->first_byte_usec > y->first_byte_usec;
}

static uint64_t distance(uint64_t a, uint64_t b) {
        return a > b ? a - b : b - a;
}

/*
 * A container served each request somewhere between when it was sent and
 * its first byte.  Two requests of one container, a answered before b:
 *  - b sent after a was answered: the container was free again; the
 *    requests did not overlap because warmd sent them apart (spread);
 *  - answered no further apart than they were sent (give or take
 *    TOGETHER_USEC), and both sent and answered less than half the attempt's
 *    quickest answer apart: served in turn, b would have waited a whole
 *    service for a, so the container served both at once (packing);
 *  - answered no further apart than they were sent, but sent or answered
 *    further apart than that: the send gap explains the answers, warmd sent
 *    them apart (spread).  Both sent and answered: a first byte is seen when
 *    warmd reads it, and a client busy with a thousand handshakes reads the
 *    answers of requests sent 1.5 s apart within 30 ms of each other;
 *  - answered further apart than they were sent: sent together, served one
 *    after another by the platform (serial: slow starts of its own, a queue).
 * The attempt's cause is what most pairs show; packing wins only outright,
 * as it alone makes top-up send more than N.
 */
void overlap_classify(struct service_window *w, size_t n, struct overlap_report *ret) {
        struct overlap_report r = { .cause = OVERLAP_NONE };
        uint64_t first_sent = UINT64_MAX, last_sent = 0, quickest = UINT64_MAX;
        uint64_t serial_min = UINT64_MAX;

        qsort(w, n, sizeof *w, cmp_window);
        for (size_t i = 0; i < n; i++) {
                first_sent = MIN(first_sent, w[i].sent_usec);
                last_sent = MAX(last_sent, w[i].sent_usec);
                quickest = MIN(quickest, w[i].first_byte_usec - MIN(w[i].sent_usec, w[i].first_byte_usec));
        }
        for (size_t i = 1; i < n; i++) {
                const struct service_window *a = &w[i - 1], *b = &w[i];
                uint64_t apart = b->first_byte_usec - a->first_byte_usec;

                if (a->hash != b->hash)
                        continue;
                if (MAX(a->sent_usec, b->sent_usec) >= a->first_byte_usec)
                        r.spread++;
                else if (apart <= distance(a->sent_usec, b->sent_usec) + TOGETHER_USEC) {
                        if (apart < quickest / 2 && distance(a->sent_usec, b->sent_usec) < quickest / 2)
                                r.packed++;
                        else
                                r.spread++;
                } else {
                        r.serial++;
                        serial_min = MIN(serial_min, apart);
                }
        }
        r.spread_usec = n > 0 ? last_sent - first_sent : 0;
        if (r.packed > r.spread + r.serial)
                r.cause = OVERLAP_PACKING;
        else if (r.spread > 0 && r.spread >= r.serial) {
                r.cause = OVERLAP_SPREAD;
                r.service_usec = quickest;
        } else if (r.serial > 0) {
                r.cause = OVERLAP_SERIAL;
                r.service_usec = serial_min;
        }
        *ret = r;
}

/* ---------------------------------------------------------------- lifetime */

struct sighting {
        uint64_t hash;
        uint64_t first_seen, last_seen;         /* CLOCK_BOOTTIME usec of its first and latest answer */
        uint64_t last_round;
        unsigned rounds;                        /* rounds it answered in */
};

static int cmp_sighting(const void *a, const void *b) {
        uint64_t x = ((const struct sighting *) a)->hash, y = ((const struct sighting *) b)->hash;

        return x < y ? -1 : x > y;
}

void lifetime_init(struct lifetime *l) {
        *l = (struct lifetime) {};
}

void lifetime_done(struct lifetime *l) {
        tdestroy(l->root, free);
        *l = (struct lifetime) {};
}

void lifetime_round_begin(struct lifetime *l, uint64_t round, uint64_t now) {
        l->round = round;
        l->round_start = now;
        l->new_count = 0;
        l->seen_again = 0;
}

int lifetime_seen(struct lifetime *l, uint64_t hash, enum reuse reuse, uint64_t now) {
        struct sighting key = { .hash = hash }, *n, **p;

        p = tfind(&key, &l->root, cmp_sighting);
        if (p) {
                n = *p;
                if (n->last_round == l->round)
                        return 0;       /* answered twice in this round */
                /* It lived through the idle time since its last answer. */
                if (l->round_start > n->last_seen)
                        l->longest_survived = MAX(l->longest_survived, l->round_start - n->last_seen);
                if (n->last_round + 1 == l->round)
                        l->seen_again++;
                n->last_round = l->round;
                n->last_seen = now;
                n->rounds++;
                return 0;
        }

        n = malloc(sizeof *n);
        if (!n)
                return -ENOMEM;
        *n = (struct sighting) { .hash = hash, .first_seen = now, .last_seen = now, .last_round = l->round,
                                 .rounds = 1 };
        p = tsearch(n, &l->root, cmp_sighting);
        if (!p) {
                free(n);
                return -ENOMEM;
        }
        l->n++;
        /* A warm answer from a container warmd never saw: the platform started it for someone else. */
        if (reuse != REUSE_WARM)
                l->new_count++;
        return 0;
}

struct prune {
        struct lifetime *l;
        struct sighting **stale;
        size_t n, max;
        unsigned seen_now;
};

static void collect(const void *node, VISIT which, void *userdata) {
        const struct sighting *n = *(const struct sighting *const *) node;
        struct prune *p = userdata;

        if (which != postorder && which != leaf)
                return;
        if (n->last_round == p->l->round)
                p->seen_now++;
        else if (n->last_round + FORGET_AFTER_ROUNDS < p->l->round && p->n < p->max)
                p->stale[p->n++] = (struct sighting *) n;
}

/* The bound less the jitter, which can make a gap that much longer, to the nearest second. */
static uint64_t suggest(uint64_t bound, uint64_t jitter) {
        uint64_t v = bound > 2 * jitter ? bound - jitter : bound / 2;

        v = (v + USEC_PER_SEC / 2) / USEC_PER_SEC * USEC_PER_SEC;
        return MAX(v, USEC_PER_SEC);
}

/*
 * Ends a round's observation.  Containers were reclaimed between rounds when
 * the round found new ones while some that answered the previous round did
 * not answer again, and no request failed (a failure can also make a
 * platform replace a container).  Without instance ids, a cold start in a
 * round after the first says the same with less precision.  Returns 1 and
 * fills *ret when a reclaim was seen, 0 when not.
 */
int lifetime_round_end(struct lifetime *l, const struct summary *s, uint64_t jitter, uint64_t now,
                       struct reclaim *ret) {
        struct sighting *stale[256];
        struct prune p;
        struct reclaim rc = {};
        bool reclaimed = false;
        uint64_t gap = l->prev_end > 0 && l->round_start > l->prev_end ? l->round_start - l->prev_end : 0;

        /* tdelete() cannot run inside twalk_r(): collect a batch, delete it, walk again while batches are full. */
        do {
                p = (struct prune) { .l = l, .stale = stale, .max = ELEMENTSOF(stale) };
                twalk_r(l->root, collect, &p);
                for (size_t i = 0; i < p.n; i++) {
                        tdelete(stale[i], &l->root, cmp_sighting);
                        free(stale[i]);
                        l->n--;
                }
        } while (p.n == p.max);

        if (gap > 0 && s->failed == 0) {
                if (s->instances_known) {
                        unsigned gone = l->prev_count > l->seen_again ? l->prev_count - l->seen_again : 0;

                        reclaimed = l->new_count > 0 && gone > 0;
                        rc.new_containers = l->new_count;
                        rc.precise = true;
                } else if (s->warm + s->cold > 0) {
                        reclaimed = s->cold > 0;
                        rc.new_containers = s->cold;
                        if (!reclaimed)
                                l->longest_survived = MAX(l->longest_survived, gap);
                }
        }
        if (reclaimed) {
                l->reclaims++;
                l->reclaimed_within = l->reclaimed_within ? MIN(l->reclaimed_within, gap) : gap;
        }
        /* The platform changed its mind: the older bound gives way to the newer one. */
        if (l->reclaimed_within > 0 && l->longest_survived >= l->reclaimed_within) {
                if (reclaimed)
                        l->longest_survived = 0;
                else
                        l->reclaimed_within = 0;
        }

        l->prev_count = s->instances_known ? p.seen_now : 0;
        /* After a round with failures, the next one may find new containers for reasons of its own. */
        l->prev_end = s->failed == 0 && s->ok > 0 ? now : 0;
        if (!reclaimed)
                return 0;
        rc.gap_usec = gap;
        rc.lifetime_min_usec = l->longest_survived;
        rc.lifetime_max_usec = l->reclaimed_within;
        rc.suggested_interval_usec = suggest(l->longest_survived > 0 ? l->longest_survived : l->reclaimed_within / 2,
                                             jitter);
        *ret = rc;
        return 1;
}
