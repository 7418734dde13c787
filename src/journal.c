/* SPDX-License-Identifier: MIT */
/*
 * journal.c: the log sink.  Records are built as "FIELD=value" lists by pure
 * functions (so tests need no journal), then written to journald and, unless
 * stderr already is the journal, printed on stderr as readable lines.
 *
 * Writing a record never blocks the event loop.  sd_journal_sendv() writes
 * on a blocking socket: when journald stalls and its socket queue is full,
 * it waits, and so would every request and SIGTERM.  libsystemd has no
 * non-blocking variant, and its socket is private to it (systemd's own
 * log.c only bounds the wait, with SO_SNDTIMEO).  So records go out here in
 * journald's native protocol (systemd's JOURNAL_NATIVE_PROTOCOL.md) on a
 * connected non-blocking datagram socket.  A record journald cannot take at
 * once waits in a bounded queue until its socket has room; when the queue is
 * full, records are dropped and counted, and the count becomes a record of
 * its own as soon as journald takes records again.
 */
#include "config.h"

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "warmd.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool stderr_is_journal;
static int stderr_max_priority = LOG_INFO;

/* Under systemd, stderr is connected to the journal already: printing there too would log every event twice. */
void log_setup(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
                stderr_is_journal = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_verbose(bool v) {
        stderr_max_priority = v ? LOG_DEBUG : LOG_INFO;
}

int journal_record_add(struct journal_record *rec, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        if (rec->n >= ELEMENTSOF(rec->fields))
                return -E2BIG;
        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        rec->fields[rec->n++] = s;
        if (strncmp(s, "MESSAGE=", 8) == 0)
                rec->message = s + 8;
        return 0;
}

const char *journal_record_get(const struct journal_record *rec, const char *field) {
        size_t l = strlen(field);

        for (size_t i = 0; i < rec->n; i++)
                if (strncmp(rec->fields[i], field, l) == 0 && rec->fields[i][l] == '=')
                        return rec->fields[i] + l + 1;
        return NULL;
}

void journal_record_done(struct journal_record *rec) {
        for (size_t i = 0; i < rec->n; i++)
                free(rec->fields[i]);
        *rec = (struct journal_record) {};
}

static int record_begin(struct journal_record *rec, int priority, const char *message_id) {
        *rec = (struct journal_record) { .priority = priority };
        if (journal_record_add(rec, "MESSAGE_ID=%s", message_id) < 0 ||
            journal_record_add(rec, "PRIORITY=%d", priority) < 0 ||
            journal_record_add(rec, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME) < 0)
                return -ENOMEM;
        return 0;
}

/* All adds are checked once at the end: a failed add leaves rec->n short, never a hole. */
static int record_end(struct journal_record *rec, size_t expected, int r) {
        if (r < 0 || rec->n != expected || !rec->message) {
                journal_record_done(rec);
                return r < 0 ? r : -ENOMEM;
        }
        return 0;
}

int journal_build_request(const struct endpoint_config *ep, uint64_t round, const struct result *res,
                          struct journal_record *ret) {
        struct journal_record rec;
        char what[64 + INSTANCE_MAX];
        size_t expected = 0;
        int r;

        /* A note is a field the handler was asked for and did not give: worth the operator's notice too. */
        r = record_begin(&rec, res->ok && !res->note[0] ? LOG_INFO : LOG_NOTICE, WARMD_MESSAGE_REQUEST);
        expected += 3;

        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_URL=%s", ep->url_display);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_REUSED=%s", reuse_to_string(res->reuse));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_DURATION_MS=%" PRIu64, usec_to_msec(res->total_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_CONNECT_MS=%" PRIu64, usec_to_msec(res->connect_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_TTFB_MS=%" PRIu64, usec_to_msec(res->ttfb_usec));
        expected += 7;
        if (res->reuse_guessed) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_REUSE_GUESSED=1");
                expected++;
        }
        if (res->instance[0]) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_INSTANCE=%s", res->instance);
                expected++;
        }
        if (res->http_status > 0) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_HTTP_STATUS=%ld", res->http_status);
                expected++;
        }
        if (res->error[0]) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_ERROR=%s", res->error);
                expected++;
        }
        if (res->note[0]) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_NOTE=%s", res->note);
                expected++;
        }

        snprintf(what, sizeof what, "%s%s%s%s", reuse_to_string(res->reuse), res->reuse_guessed ? " (guessed)" : "",
                 res->instance[0] ? ", instance " : "", res->instance);
        if (res->http_status == 0)
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": failed after %" PRIu64 " ms: %s",
                                                   ep->name, round, usec_to_msec(res->total_usec), res->error);
        else if (!res->ok)
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": %s, failed: %s in %" PRIu64 " ms",
                                                   ep->name, round, what, res->error, usec_to_msec(res->total_usec));
        else
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": %s, HTTP %ld in %" PRIu64 " ms%s%s%s",
                                                   ep->name, round, what, res->http_status, usec_to_msec(res->total_usec),
                                                   res->note[0] ? " (" : "", res->note, res->note[0] ? ")" : "");
        expected++;

        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
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
        case SHORTFALL_NONE:
                break;
        }
        return "";
}

int journal_build_round(const struct endpoint_config *ep, uint64_t round, const struct summary *s, unsigned unlogged,
                        struct journal_record *ret) {
        bool short_of_n = s->reached < s->containers;
        char attempts[64] = "", reason[80];
        struct journal_record rec;
        char held[64] = "";
        size_t expected = 0;
        int r;

        r = record_begin(&rec, short_of_n ? LOG_WARNING : LOG_INFO,
                         short_of_n ? WARMD_MESSAGE_SHORT : WARMD_MESSAGE_ROUND);
        expected += 3;
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_URL=%s", ep->url_display);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_CONTAINERS=%u", s->containers);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_SENT=%u", s->sent);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_OK=%u", s->ok);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_FAILED=%u", s->failed);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_WARM=%u", s->warm);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_COLD=%u", s->cold);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_UNKNOWN=%u", s->unknown);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_REACHED=%u", s->reached);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_P50_MS=%" PRIu64, usec_to_msec(s->p50_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_MAX_MS=%" PRIu64, usec_to_msec(s->max_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_UNLOGGED=%u", unlogged);
        expected += 14;
        if (s->instances_known) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_INSTANCES=%u", s->instances);
                expected++;
        }
        if (unlogged > 0)
                snprintf(held, sizeof held, "; %u request record%s held back (journal rate limit)", unlogged,
                         unlogged == 1 ? "" : "s");
        if (s->attempts > 0) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_ATTEMPTS=%u", s->attempts);
                expected++;
        }
        if (short_of_n && s->shortfall != SHORTFALL_NONE) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_SHORTFALL=%s", shortfall_to_string(s->shortfall));
                expected++;
        }
        /* Topped up, or started from what earlier rounds learned: the cost shows. */
        if (s->attempts > 1 || s->sent != s->containers)
                snprintf(attempts, sizeof attempts, ", %u attempt%s, %u requests", s->attempts,
                         s->attempts == 1 ? "" : "s", s->sent);
        r = r < 0 ? r : journal_record_add(&rec,
                        "MESSAGE=%s round %" PRIu64 ": %u of %u reached (%u warm, %u cold, %u unknown, %u failed), "
                        "p50 %" PRIu64 " ms, max %" PRIu64 " ms%s%s%s%s",
                        ep->name, round, s->reached, s->containers, s->warm, s->cold, s->unknown, s->failed,
                        usec_to_msec(s->p50_usec), usec_to_msec(s->max_usec),
                        s->guessed > 0 ? " (reuse guessed from timing)" : "", attempts,
                        short_of_n ? shortfall_reason(ep, s, reason, sizeof reason) : "", held);
        expected++;

        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
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
        size_t expected = 0;
        int r;

        format_timespan(ep->interval_usec, interval, sizeof interval);
        format_timespan(rc->gap_usec, gap, sizeof gap);
        format_timespan(rc->lifetime_min_usec, lo, sizeof lo);
        format_timespan(rc->lifetime_max_usec, hi, sizeof hi);
        format_timespan(rc->suggested_interval_usec, suggested, sizeof suggested);
        if (rc->lifetime_min_usec > 0)
                snprintf(known, sizeof known, "between %s and %s", lo, hi);
        else
                snprintf(known, sizeof known, "at most %s", hi);

        r = record_begin(&rec, LOG_WARNING, WARMD_MESSAGE_RECLAIM);
        expected += 3;
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_INTERVAL_SEC=%" PRIu64, ep->interval_usec / USEC_PER_SEC);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_NEW_CONTAINERS=%u", rc->new_containers);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_IDLE_GAP_MS=%" PRIu64, usec_to_msec(rc->gap_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_LIFETIME_MAX_MS=%" PRIu64,
                                           usec_to_msec(rc->lifetime_max_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_SUGGESTED_INTERVAL_SEC=%" PRIu64,
                                           rc->suggested_interval_usec / USEC_PER_SEC);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_RECLAIM_FROM=%s", rc->precise ? "instances" : "cold-starts");
        expected += 8;
        if (rc->lifetime_min_usec > 0) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_LIFETIME_MIN_MS=%" PRIu64,
                                                   usec_to_msec(rc->lifetime_min_usec));
                expected++;
        }
        r = r < 0 ? r : journal_record_add(&rec,
                        "MESSAGE=%s round %" PRIu64 ": %u new container%s%s: the platform reclaimed idle containers "
                        "within %s (interval %s); their idle lifetime is %s; suggested interval %s",
                        ep->name, round, rc->new_containers, rc->new_containers == 1 ? "" : "s",
                        rc->precise ? "" : " (cold starts)", gap, interval, known, suggested);
        expected++;

        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
}

static int build_event_v(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                         const char *format, va_list ap) _printf_(5, 0);
static int build_event_v(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                         const char *format, va_list ap) {
        struct journal_record rec;
        size_t expected = 4;
        char *msg;
        int r;

        r = record_begin(&rec, priority, message_id);
        if (endpoint) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", endpoint);
                expected++;
        }
        if (r >= 0) {
                if (vasprintf(&msg, format, ap) < 0)
                        r = -ENOMEM;
                else {
                        r = journal_record_add(&rec, "MESSAGE=%s", msg);
                        free(msg);
                }
        }
        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
}

int journal_build_event(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                        const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = build_event_v(priority, message_id, endpoint, ret, format, ap);
        va_end(ap);
        return r;
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

static struct journal_budget budget = { .limit = JOURNAL_RATE_BURST - JOURNAL_RATE_OTHER };

/* Per endpoint, the requests of its current round whose record was held back; only while there are any. */
struct unlogged {
        char *name;
        uint64_t round;
        unsigned n;
};
static void *unlogged_by_name;

static int unlogged_cmp(const void *a, const void *b) {
        return strcmp(((const struct unlogged *) a)->name, ((const struct unlogged *) b)->name);
}

static void unlogged_free(void *p) {
        struct unlogged *u = p;

        free(u->name);
        free(u);
}

static void unlogged_count(const char *name, uint64_t round) {
        struct unlogged key = { .name = (char *) name }, *u;
        void **found = tfind(&key, &unlogged_by_name, unlogged_cmp);

        if (found)
                u = *found;
        else {
                /* Out of memory, the round's record counts fewer than were held back; nothing else is lost. */
                u = calloc(1, sizeof *u);
                if (!u || !(u->name = strdup(name)) || !tsearch(u, &unlogged_by_name, unlogged_cmp)) {
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

static unsigned unlogged_take(const char *name, uint64_t round) {
        struct unlogged key = { .name = (char *) name }, *u;
        void **found = tfind(&key, &unlogged_by_name, unlogged_cmp);
        unsigned n;

        if (!found)
                return 0;
        u = *found;
        n = u->round == round ? u->n : 0;
        tdelete(&key, &unlogged_by_name, unlogged_cmp);
        unlogged_free(u);
        return n;
}

void journal_set_config(const struct config *c) {
        if (c) {
                budget.limit = journal_budget_limit(c);
                return;
        }
        tdestroy(unlogged_by_name, unlogged_free);
        unlogged_by_name = NULL;
}

void journal_event(const struct scheduler_event *ev) {
        const struct endpoint_config *ep = ev->endpoint;
        struct journal_record rec;
        int r = -EINVAL;

        switch (ev->type) {
        case SCHEDULER_EVENT_REQUEST:
                if (!journal_budget_admit(&budget, now_usec(CLOCK_MONOTONIC), !ev->result->ok)) {
                        unlogged_count(ep->name, ev->round);
                        return;
                }
                r = journal_build_request(ep, ev->round, ev->result, &rec);
                break;
        case SCHEDULER_EVENT_ROUND:
                r = journal_build_round(ep, ev->round, ev->summary, unlogged_take(ep->name, ev->round), &rec);
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
        }
        if (r < 0)
                return;
        journal_send(&rec);
        journal_record_done(&rec);
}

/* ------------------------------------------------------------------ writer */

/*
 * Records journald cannot take at once wait here, oldest first, and go out
 * when its socket has room again: a burst (10,000 round summaries at once,
 * or a socket queue of 10 datagrams where net.unix.max_dgram_qlen is the
 * kernel's default) loses nothing.  Only a journald that stays stalled
 * fills this, and then records are dropped and counted.
 */
/*
 * About 7,000 request records of 300 bytes: journald took 15,000 records a
 * second on a loaded 2-core machine, and warmd writes at most 10,000 request
 * records in 30 s, so this holds the longest burst (every first round at
 * once) while journald waits for a CPU, and only a journald that stays
 * stalled for seconds fills it.  256 KiB lost 1,500 of 11,500 records of
 * such a burst there.
 */
#define QUEUE_BYTES_MAX (2U * 1024U * 1024U)
#define EXIT_FLUSH_USEC (500 * USEC_PER_MSEC)   /* at exit, within the 1 s a stop may take */

struct queued {
        struct queued *next;
        size_t size;
        char data[];
};

static struct {
        int fd;                         /* connected to journald; -1: not open */
        sd_event *event;                /* where to wait for journald to take records again */
        sd_event_source *watch;         /* EPOLLOUT, only while records wait */
        struct queued *head, *tail;
        size_t queued_bytes;
        uint64_t dropped;               /* records dropped since the last report */
        uint64_t dropped_since;         /* CLOCK_REALTIME usec of the first of them */
        uint64_t dropped_total;
} writer = { .fd = -1 };

/* A record in the native protocol: per field NAME=value\n, or NAME\n, a 64-bit length, value, \n. */
struct encoded {
        struct iovec iov[5 * JOURNAL_FIELDS_MAX];
        uint64_t lengths[JOURNAL_FIELDS_MAX];
        size_t n;
};

static void encode(struct encoded *e, char *const *fields, size_t n) {
        static char newline[] = "\n";

        e->n = 0;
        for (size_t i = 0; i < n && i < JOURNAL_FIELDS_MAX; i++) {
                char *f = fields[i], *eq = strchr(f, '=');

                if (!eq)
                        continue;
                if (!strchr(eq + 1, '\n')) {
                        e->iov[e->n++] = (struct iovec) { f, strlen(f) };
                        e->iov[e->n++] = (struct iovec) { newline, 1 };
                        continue;
                }
                /* A value with a newline in it goes with its length in front. */
                e->lengths[i] = htole64(strlen(eq + 1));
                e->iov[e->n++] = (struct iovec) { f, (size_t) (eq - f) };
                e->iov[e->n++] = (struct iovec) { newline, 1 };
                e->iov[e->n++] = (struct iovec) { &e->lengths[i], sizeof e->lengths[i] };
                e->iov[e->n++] = (struct iovec) { eq + 1, strlen(eq + 1) };
                e->iov[e->n++] = (struct iovec) { newline, 1 };
        }
}

static void writer_close(void) {
        writer.watch = sd_event_source_disable_unref(writer.watch);
        if (writer.fd >= 0)
                close(writer.fd);
        writer.fd = -1;
}

static int writer_open(void) {
        static const struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
        int fd, r;

        if (writer.fd >= 0)
                return 0;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Connected, so that EPOLLOUT says when journald's queue has room again. */
        if (connect(fd, (const struct sockaddr *) &sa, sizeof sa) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        writer.fd = fd;
        return 0;
}

/* A record too large for one datagram goes in a sealed memfd, as sd_journal_sendv() sends it. */
static int send_memfd(const struct iovec *iov, size_t n) {
        union {
                struct cmsghdr cmsg;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = { .msg_control = &control, .msg_controllen = sizeof control };
        size_t total = 0;
        int fd, r = 0;

        for (size_t i = 0; i < n; i++)
                total += iov[i].iov_len;
        fd = memfd_create("warmd-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        if (writev(fd, iov, (int) n) != (ssize_t) total ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                r = errno > 0 ? -errno : -EIO;
        else {
                control.cmsg = (struct cmsghdr) { .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
                                                  .cmsg_type = SCM_RIGHTS };
                memcpy(CMSG_DATA(&control.cmsg), &fd, sizeof(int));
                if (sendmsg(writer.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                        r = -errno;
        }
        close(fd);
        return r;
}

/* -EAGAIN: journald's queue is full; -ENOTCONN: there is no journald; anything else: it refused the record. */
static int writer_send(const struct iovec *iov, size_t n) {
        struct msghdr mh = { .msg_iov = (struct iovec *) iov, .msg_iovlen = n };
        int r = 0;

        for (int attempt = 0; attempt < 2; attempt++) {
                if (writer_open() < 0)
                        return -ENOTCONN;
                if (sendmsg(writer.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                        return 0;
                r = -errno;
                if (r == -EMSGSIZE || r == -ENOBUFS)
                        return send_memfd(iov, n);
                if (r != -ECONNREFUSED && r != -ENOTCONN)
                        return r;
                writer_close();         /* journald went away; connect to the new one */
        }
        return r == -ENOTCONN ? -ECONNREFUSED : r;
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void watch_writable(void) {
        if (writer.event && !writer.watch && writer.fd >= 0 &&
            sd_event_add_io(writer.event, &writer.watch, writer.fd, EPOLLOUT, on_writable, NULL) >= 0)
                (void) sd_event_source_set_description(writer.watch, "journal-writable");
}

static void count_dropped(void) {
        if (writer.dropped++ == 0)
                writer.dropped_since = now_usec(CLOCK_REALTIME);
        writer.dropped_total++;
}

static void enqueue(const struct iovec *iov, size_t n) {
        struct queued *q;
        size_t size = 0;

        for (size_t i = 0; i < n; i++)
                size += iov[i].iov_len;
        if (writer.queued_bytes + size > QUEUE_BYTES_MAX || !(q = malloc(sizeof *q + size))) {
                count_dropped();
                return;
        }
        *q = (struct queued) { .size = size };
        size = 0;
        for (size_t i = 0; i < n; i++) {
                memcpy(q->data + size, iov[i].iov_base, iov[i].iov_len);
                size += iov[i].iov_len;
        }
        if (writer.tail)
                writer.tail->next = q;
        else
                writer.head = q;
        writer.tail = q;
        writer.queued_bytes += q->size;
        watch_writable();
}

/* The record that says how many records journald did not take. */
static int report_dropped(void) {
        char id[64], prio[16], count[48], msg[160], ident[64], when[16] = "";
        char *fields[] = { id, prio, ident, count, msg };
        time_t since = (time_t) (writer.dropped_since / USEC_PER_SEC);
        struct encoded e;
        struct tm tm;
        int r;

        if (localtime_r(&since, &tm))
                strftime(when, sizeof when, "%H:%M:%S", &tm);
        snprintf(id, sizeof id, "MESSAGE_ID=%s", WARMD_MESSAGE_JOURNAL_DROPPED);
        snprintf(prio, sizeof prio, "PRIORITY=%d", LOG_WARNING);
        snprintf(ident, sizeof ident, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME);
        snprintf(count, sizeof count, "WARMD_DROPPED=%" PRIu64, writer.dropped);
        snprintf(msg, sizeof msg, "MESSAGE=journald did not take records from %s on: %" PRIu64 " record%s dropped",
                 when, writer.dropped, writer.dropped == 1 ? "" : "s");
        encode(&e, fields, ELEMENTSOF(fields));
        r = writer_send(e.iov, e.n);
        if (r >= 0)
                writer.dropped = 0;
        return r;
}

/* Sends what waits, oldest first, then the count of what was dropped; -EAGAIN while journald is full. */
static int flush(void) {
        int r;

        while (writer.head) {
                struct queued *q = writer.head;

                r = writer_send(&(struct iovec) { q->data, q->size }, 1);
                if (r == -EAGAIN)
                        return r;
                if (r < 0 && r != -ENOTCONN)
                        count_dropped();
                writer.head = q->next;
                if (!writer.head)
                        writer.tail = NULL;
                writer.queued_bytes -= q->size;
                free(q);
        }
        r = writer.dropped > 0 ? report_dropped() : 0;
        if (r != -EAGAIN)
                writer.watch = sd_event_source_disable_unref(writer.watch);
        return r;
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) flush();
        return 0;
}

static void write_fields(char *const *fields, size_t n) {
        struct encoded e;
        int r;

        encode(&e, fields, n);
        /* Behind records still waiting, or the count of dropped ones, so the journal reads in order. */
        r = writer.head || writer.dropped > 0 ? flush() : 0;
        if (r != -EAGAIN)
                r = writer_send(e.iov, e.n);
        if (r == -EAGAIN)
                enqueue(e.iov, e.n);
        else if (r < 0 && r != -ENOTCONN)
                count_dropped();
}

void journal_set_event(sd_event *e) {
        writer.watch = sd_event_source_disable_unref(writer.watch);
        writer.event = e;
        if (e && writer.head)
                watch_writable();
}

void journal_flush(void) {
        uint64_t end = now_usec(CLOCK_MONOTONIC) + EXIT_FLUSH_USEC;

        while (flush() == -EAGAIN) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);

                if (now >= end ||
                    poll(&(struct pollfd) { .fd = writer.fd, .events = POLLOUT }, 1,
                         (int) ((end - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC)) < 0)
                        break;
        }
        while (writer.head) {           /* journald stays stalled: what still waits is lost */
                struct queued *q = writer.head;

                writer.head = q->next;
                free(q);
        }
        writer.tail = NULL;
        writer.queued_bytes = 0;
}

void journal_stats(struct journal_stats *ret) {
        *ret = (struct journal_stats) { .dropped = writer.dropped_total };
}

void journal_send(const struct journal_record *rec) {
        write_fields(rec->fields, rec->n);
        if (!stderr_is_journal && rec->priority <= stderr_max_priority && rec->message)
                fprintf(stderr, "%s\n", rec->message);
}

void log_event(int priority, const char *message_id, const char *endpoint, const char *format, ...) {
        struct journal_record rec;
        va_list ap;
        int r;

        va_start(ap, format);
        r = build_event_v(priority, message_id, endpoint, &rec, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        journal_send(&rec);
        journal_record_done(&rec);
}

int log_full(int priority, int err, const char *format, ...) {
        struct journal_record rec = { .priority = priority };
        char *msg = NULL;
        va_list ap;
        int r;

        if (priority > stderr_max_priority && priority == LOG_DEBUG)
                return -abs(err);

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)              /* the message is lost, but "return log_error_errno(r, ...)" still returns r */
                return -abs(err);

        r = journal_record_add(&rec, "PRIORITY=%d", priority);
        r = r < 0 ? r : journal_record_add(&rec, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME);
        if (err != 0) {
                r = r < 0 ? r : journal_record_add(&rec, "ERRNO=%d", abs(err));
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s: %s", msg, strerror(abs(err)));
        } else
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s", msg);
        if (r >= 0)
                journal_send(&rec);
        journal_record_done(&rec);
        free(msg);
        return -abs(err);
}
