/* SPDX-License-Identifier: MIT */
/* test-learn.c: top-up sizes, what a round teaches the next, and idle lifetimes from instance ids. */
#include "config.h"

#include <inttypes.h>

#include "tests.h"
#include "warmd.h"

#define S USEC_PER_SEC
#define MS USEC_PER_MSEC
#define P OVERLAP_PACKING
#define SE OVERLAP_SERIAL
#define SP OVERLAP_SPREAD

static void test_limit(void) {
        struct endpoint_config ep = { .containers = 5, .topup_factor = 8 };

        CHECK(endpoint_request_limit(&ep) == 40, "8 x N: %u", endpoint_request_limit(&ep));
        ep.topup_factor = 3;
        CHECK(endpoint_request_limit(&ep) == 15, "topup_factor = 3: %u", endpoint_request_limit(&ep));
        ep.topup_factor = 1;
        CHECK(endpoint_request_limit(&ep) == 5, "topup = no: N: %u", endpoint_request_limit(&ep));
}

static void test_next(void) {
        static const struct {
                const char *what;
                struct topup_state t;
                unsigned want;
                enum shortfall why;
        } cases[] = {
                { "reached N", { 5, 40, 0, 5, 5, 0, true, 5, 5, 1, P }, 0, SHORTFALL_NONE },
                /* 4 requests per container: 5 reached 2, so 5 containers need ceil(5 * 5 / 2) = 13. */
                { "4 per container, first top-up", { 5, 40, 0, 5, 2, 0, true, 5, 2, 1, P }, 13, SHORTFALL_NONE },
                { "second top-up", { 5, 40, 0, 18, 4, 0, true, 13, 4, 1, P }, 17, SHORTFALL_NONE },
                { "the limit cuts the attempt", { 5, 40, 0, 35, 4, 0, true, 13, 4, 1, P }, 5, SHORTFALL_NONE },
                { "limit spent", { 5, 40, 0, 40, 4, 0, true, 5, 4, 1, P }, 0, SHORTFALL_LIMIT },
                { "a failure: no top-up", { 5, 40, 0, 5, 3, 2, true, 5, 3, 1, P }, 0, SHORTFALL_FAILED },
                { "no instance ids", { 5, 40, 0, 5, 5, 0, false, 5, 0, 1, P }, 0, SHORTFALL_NONE },
                { "no instance ids, short", { 5, 40, 0, 5, 4, 0, false, 5, 0, 1, P }, 0, SHORTFALL_NO_INSTANCES },
                { "topup = no", { 5, 5, 0, 5, 2, 0, true, 5, 2, 1, P }, 0, SHORTFALL_TOPUP_OFF },
                { "barely overlapping: at least one more", { 5, 40, 0, 5, 4, 0, true, 5, 4, 1, P }, 7, SHORTFALL_NONE },
                { "max_parallel caps the attempt", { 5, 40, 10, 5, 2, 0, true, 5, 2, 1, P }, 10, SHORTFALL_NONE },
                { "max_parallel reached", { 5, 40, 10, 15, 3, 0, true, 10, 3, 1, P }, 0, SHORTFALL_MAX_PARALLEL },
                { "N over max_parallel", { 40, 320, 30, 40, 30, 0, true, 40, 30, 1, P }, 0, SHORTFALL_MAX_PARALLEL },
                /* Served one after another: N again, one for each container reached and one per missing. */
                { "serial: 39 of 50, N again", { 50, 400, 0, 50, 39, 0, true, 50, 39, 39, SE }, 50, SHORTFALL_NONE },
                { "serial: 7 more, N again", { 50, 400, 0, 100, 46, 0, true, 50, 44, 7, SE }, 50, SHORTFALL_NONE },
                { "serial: none more, stop", { 50, 400, 0, 150, 46, 0, true, 50, 40, 0, SE }, 0,
                  SHORTFALL_NO_PROGRESS },
                { "spread: 980 of 1000, N again", { 1000, 8000, 0, 1000, 980, 0, true, 1000, 980, 980, SP }, 1000,
                  SHORTFALL_NONE },
                { "spread: the limit cuts N", { 50, 120, 0, 100, 48, 0, true, 50, 47, 2, SP }, 20, SHORTFALL_NONE },
                { "no pairs at all: N again", { 5, 40, 0, 5, 4, 0, true, 5, 4, 4, OVERLAP_NONE }, 5, SHORTFALL_NONE },
                { "packing with nothing gained goes on", { 5, 80, 0, 18, 2, 0, true, 13, 2, 0, P }, 33,
                  SHORTFALL_NONE },
                { "serial over max_parallel", { 50, 400, 30, 30, 20, 0, true, 30, 20, 20, SE }, 0,
                  SHORTFALL_MAX_PARALLEL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                enum shortfall why = (enum shortfall) -1;
                unsigned n = topup_next(&cases[i].t, &why);

                CHECK(n == cases[i].want, "%s: %u requests, want %u", cases[i].what, n, cases[i].want);
                CHECK(why == cases[i].why, "%s: why %s, want %s", cases[i].what, shortfall_to_string(why),
                      shortfall_to_string(cases[i].why));
        }
}

static void test_learn(void) {
        static const struct {
                const char *what;
                unsigned containers, limit, batch, batch_reached, want;
        } cases[] = {
                { "one per container, reached N", 5, 40, 5, 5, 5 },
                { "4 per container, 17 reached 5: keep 17", 5, 40, 17, 5, 17 },
                { "short: grow to what N needs", 5, 40, 5, 2, 13 },
                { "more than N: half way down", 5, 40, 9, 9, 7 },
                { "and on down to N", 5, 40, 6, 6, 5 },
                { "never above the limit", 5, 10, 5, 1, 10 },
                { "nothing reached: unchanged", 5, 40, 9, 0, 9 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned n = topup_learn(cases[i].containers, cases[i].limit, cases[i].batch, cases[i].batch_reached);

                CHECK(n == cases[i].want, "%s: %u, want %u", cases[i].what, n, cases[i].want);
        }
}

/* Windows in ms: a container, when the request was sent, its first byte. */
static void test_classify(void) {
        static const struct {
                const char *what;
                struct { uint64_t hash, sent, first; } w[6];
                size_t n;
                enum overlap cause;
                uint64_t spread_ms, service_ms;
        } cases[] = {
                { "one request per container", { { 1, 0, 300 }, { 2, 1, 301 }, { 3, 2, 302 } }, 3, OVERLAP_NONE, 2, 0 },
                /* Cloud Run: a container answers the requests it took together, at the same time. */
                { "packed: answered together", { { 1, 0, 300 }, { 1, 1, 300 }, { 1, 2, 301 }, { 2, 3, 300 } }, 4,
                  P, 3, 0 },
                { "packed: a late joiner answers as late as it came", { { 1, 0, 300 }, { 1, 50, 350 } }, 2, P, 50, 0 },
                /* Sent 933 ms apart by warmd's handshakes: the container was free again. */
                { "spread: sent after the first answer", { { 1, 0, 300 }, { 1, 933, 1233 }, { 2, 10, 310 } }, 3,
                  SP, 933, 300 },
                /* HTTP/1.1 TLS: each request after its own handshake; one container took two in turn. */
                { "spread: sent 250 ms apart, answered 100 ms apart",
                  { { 1, 0, 300 }, { 1, 250, 400 }, { 2, 5, 105 } }, 3, SP, 250, 100 },
                /* serverless-offline: all sent at once, one instance answers them 169 ms and more apart. */
                { "serial: sent together, answered in turn",
                  { { 1, 0, 3796 }, { 1, 3, 4427 }, { 1, 5, 4596 }, { 2, 1, 3800 } }, 4, SE, 5, 169 },
                { "mixed, packing not the most: not packing",
                  { { 1, 0, 300 }, { 1, 1, 300 }, { 2, 0, 300 }, { 2, 2, 700 } }, 4, SE, 2, 400 },
                { "nothing", { { 0 } }, 0, OVERLAP_NONE, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct service_window w[6];
                struct overlap_report r;

                for (size_t j = 0; j < cases[i].n; j++)
                        w[j] = (struct service_window) { cases[i].w[j].hash, 1000 * S + cases[i].w[j].sent * MS,
                                                         1000 * S + cases[i].w[j].first * MS };
                overlap_classify(w, cases[i].n, &r);
                CHECK(r.cause == cases[i].cause, "%s: %s, want %s", cases[i].what, overlap_to_string(r.cause),
                      overlap_to_string(cases[i].cause));
                CHECK(r.spread_usec == cases[i].spread_ms * MS, "%s: spread %" PRIu64 " us", cases[i].what,
                      r.spread_usec);
                CHECK(r.service_usec == cases[i].service_ms * MS, "%s: service %" PRIu64 " us", cases[i].what,
                      r.service_usec);
        }
}

/* An answer of container id, sent at sent_ms and answered (first byte) at first_ms. */
static struct result served(const char *id, uint64_t sent_ms, uint64_t first_ms) {
        struct result r = { .ok = true, .sent = true, .answered_usec = (first_ms + 1) * MS, .pretransfer_usec = 0,
                            .total_usec = (first_ms + 1 - sent_ms) * MS, .ttfb_usec = (first_ms - sent_ms) * MS };

        snprintf(r.instance, sizeof r.instance, "%s", id);
        return r;
}

/* What the round's accumulator tells top-up at the end of each attempt. */
static void test_attempt(void) {
        const struct result first[] = { served("c1", 1000, 1300), served("c1", 1001, 1300), served("c2", 1000, 1300),
                                        served("c2", 1002, 1301), served("c3", 1001, 1300) };
        const struct result second[] = { served("c1", 2000, 2100), served("c4", 2000, 2300), served("c4", 2001, 2500) };
        struct round_acc a;
        struct topup_state t = { .containers = 5, .instances_known = true };

        CHECK(round_acc_init(&a, 5, 40) == 0, "init");
        for (size_t i = 0; i < ELEMENTSOF(first); i++)
                round_acc_add(&a, &first[i]);
        round_acc_attempt(&a, 0, true, &t);
        CHECK(t.batch_reached == 3 && t.reached == 3 && t.gained == 3, "attempt 1: %u of the attempt, %u, %u new",
              t.batch_reached, t.reached, t.gained);
        CHECK(t.cause == OVERLAP_PACKING && a.s.first.cause == OVERLAP_PACKING && a.s.first.spread_usec == 2 * MS,
              "attempt 1: packing, kept as the first's: %s", overlap_to_string(t.cause));

        for (size_t i = 0; i < ELEMENTSOF(second); i++)
                round_acc_add(&a, &second[i]);
        round_acc_attempt(&a, ELEMENTSOF(first), false, &t);
        CHECK(t.batch_reached == 2 && t.reached == 4 && t.gained == 1, "attempt 2: %u of the attempt, %u, %u new",
              t.batch_reached, t.reached, t.gained);
        CHECK(t.cause == OVERLAP_SERIAL && a.s.first.cause == OVERLAP_PACKING, "attempt 2: serial (%s), the first's kept",
              overlap_to_string(t.cause));
        round_acc_done(&a);
}

/* One round: begins at start, the ids answer 100 ms later, ends then. */
static int round_with(struct lifetime *l, uint64_t round, uint64_t start, const char *const *ids, size_t n,
                      unsigned failed, struct reclaim *ret) {
        struct summary s = { .containers = (unsigned) n, .sent = (unsigned) n + failed, .ok = (unsigned) n,
                             .failed = failed, .instances_known = n > 0 };

        lifetime_round_begin(l, round, start);
        for (size_t i = 0; i < n; i++)
                CHECK(lifetime_seen(l, instance_hash(ids[i]), REUSE_UNKNOWN, start + 100 * USEC_PER_MSEC) == 0,
                      "seen %s", ids[i]);
        return lifetime_round_end(l, &s, 0, start + 100 * USEC_PER_MSEC, ret);
}

static void test_lifetime(void) {
        static const char *const abc[] = { "a", "b", "c" }, *const abd[] = { "a", "b", "d" },
                                 *const efg[] = { "e", "f", "g" }, *const abcd[] = { "a", "b", "c", "d" };
        struct lifetime l;
        struct reclaim rc = {};

        lifetime_init(&l);
        CHECK(round_with(&l, 1, 1000 * S, abc, 3, 0, &rc) == 0, "round 1 finds only new containers: no reclaim");
        CHECK(round_with(&l, 2, 1010 * S, abc, 3, 0, &rc) == 0, "the same containers: no reclaim");
        CHECK(l.longest_survived == 10 * S - 100 * USEC_PER_MSEC, "survived 9.9 s: %" PRIu64, l.longest_survived);
        CHECK(round_with(&l, 3, 1020 * S, abcd, 4, 0, &rc) == 0, "one more, none gone: no reclaim");
        CHECK(round_with(&l, 4, 1040 * S, abd, 3, 0, &rc) == 0, "c gone, none new: no reclaim");

        CHECK(round_with(&l, 5, 1070 * S, efg, 3, 0, &rc) == 1, "a, b and d gone, e, f and g new: reclaim");
        CHECK(rc.new_containers == 3 && rc.precise, "3 new: %u", rc.new_containers);
        CHECK(rc.gap_usec == 30 * S - 100 * USEC_PER_MSEC, "gap 29.9 s: %" PRIu64, rc.gap_usec);
        CHECK(rc.lifetime_max_usec == rc.gap_usec, "at most the gap");
        CHECK(rc.lifetime_min_usec == 20 * S - 100 * USEC_PER_MSEC, "at least 19.9 s (d): %" PRIu64,
              rc.lifetime_min_usec);
        CHECK(rc.suggested_interval_usec == 20 * S, "suggested 20 s: %" PRIu64, rc.suggested_interval_usec);
        CHECK(l.reclaims == 1, "one reclaim counted");

        /* A failed request can make a platform replace a container: no warning, and none in the round after. */
        CHECK(round_with(&l, 6, 1200 * S, abc, 3, 1, &rc) == 0, "a failure: no reclaim");
        CHECK(round_with(&l, 7, 1210 * S, (const char *const[]) { "x", "y", "z" }, 3, 0, &rc) == 0,
              "after a failed round: no reclaim");
        lifetime_done(&l);

        /* Without instance ids, cold starts after round 1 say the same, less precisely. */
        lifetime_init(&l);
        {
                struct summary cold = { .containers = 2, .sent = 2, .ok = 2, .cold = 2 };
                struct summary warm = { .containers = 2, .sent = 2, .ok = 2, .warm = 2 };

                lifetime_round_begin(&l, 1, 100 * S);
                CHECK(lifetime_round_end(&l, &cold, 0, 101 * S, &rc) == 0, "cold round 1: no reclaim");
                lifetime_round_begin(&l, 2, 111 * S);
                CHECK(lifetime_round_end(&l, &warm, 0, 112 * S, &rc) == 0, "warm round 2: no reclaim");
                CHECK(l.longest_survived == 10 * S, "survived 10 s: %" PRIu64, l.longest_survived);
                lifetime_round_begin(&l, 3, 142 * S);
                CHECK(lifetime_round_end(&l, &cold, 0, 143 * S, &rc) == 1, "cold round 3: reclaim");
                CHECK(!rc.precise && rc.new_containers == 2, "from cold starts: %u", rc.new_containers);
                CHECK(rc.lifetime_max_usec == 30 * S && rc.lifetime_min_usec == 10 * S, "10 s to 30 s");
                CHECK(rc.suggested_interval_usec == 10 * S, "suggested 10 s");
        }
        lifetime_done(&l);

        /* Forgotten after a few rounds unseen: the tree stays bounded. */
        lifetime_init(&l);
        for (uint64_t r = 1; r <= 10; r++) {
                char id[32];
                const char *ids[] = { id };

                snprintf(id, sizeof id, "c-%" PRIu64, r);
                (void) round_with(&l, r, r * 10 * S, ids, 1, 0, &rc);
        }
        CHECK(l.n == 4, "4 rounds' containers kept: %zu", l.n);
        lifetime_done(&l);

        /* More to forget in one round than one batch holds: all of it goes. */
        lifetime_init(&l);
        for (uint64_t r = 1; r <= 6; r++) {
                lifetime_round_begin(&l, r, r * 10 * S);
                for (unsigned i = 0; i < (r == 1 ? 1000U : 1U); i++) {
                        char id[32];

                        snprintf(id, sizeof id, "r%" PRIu64 "-%u", r, i);
                        CHECK(lifetime_seen(&l, instance_hash(id), REUSE_COLD, r * 10 * S) == 0, "seen");
                }
                (void) lifetime_round_end(&l, &(struct summary) { .ok = 1, .instances_known = true }, 0,
                                          r * 10 * S + 1, &rc);
        }
        CHECK(l.n == 4, "1000 stale containers forgotten at once: %zu kept", l.n);
        lifetime_done(&l);
}

int main(void) {
        test_limit();
        test_next();
        test_learn();
        test_classify();
        test_attempt();
        test_lifetime();
        return tests_result("test-learn");
}
