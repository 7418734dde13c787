/* SPDX-License-Identifier: MIT */
/*
 * schedule.c: windows of the week ("Mon-Fri 07:30-19:00 3") read on the wall
 * clock of one time zone, and the pure function schedule_at() that turns
 * them into the containers wanted at an instant and the next instant that
 * changes.  Also what "warmd -n" prints of them.
 *
 * Time zones are glibc's: the zone is made $TZ and localtime_r() does the
 * rest, from tzdata.  $TZ is process-wide, so warmd has one zone at a time
 * (the configuration's "timezone"), and every local time it shows is in it.
 * timezone_use() sets it only when it changes, from the loop's thread;
 * its first call, from scheduler_new() before any resolver thread exists,
 * puts $TZ in the environment (":/etc/localtime" for an unset one, which
 * glibc reads the same), and from then on glibc's setenv() replaces the
 * variable's pointer in place and never frees the old string, so a
 * resolver thread's getenv() still reads a valid one.
 *
 * Local time to an instant: a window's edge at local time L is the first
 * instant whose local time is L or later.  That one rule gives both
 * daylight-saving cases warmd.conf(5) promises: a time skipped when clocks go
 * forward is the instant they jump (the first after it), and a time that
 * happens twice when they go back is its first occurrence.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "warmd.h"

#define DAY_SEC         (24 * 3600)
#define HORIZON_DAYS    8       /* windows are placed from yesterday to this many days on: a week and a day */
#define MONTH_DAYS      30

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* ------------------------------------------------------------------ parsing */

static int parse_day(const char *s, size_t n) {
        if (n != 3)
                return -EINVAL;
        for (int i = 0; i < 7; i++)
                if (strncasecmp(s, day_names[i], 3) == 0)
                        return i;
        return -EINVAL;
}

/* "*", a day, a range ("Mon-Fri", "Fri-Mon" wraps) or a list of those ("Sat,Sun"). */
static int parse_days(const char *s, uint8_t *ret) {
        uint8_t days = 0;

        if (strcmp(s, "*") == 0) {
                *ret = 0x7f;
                return 0;
        }
        while (*s) {
                const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s), *dash;
                int a, b;

                dash = memchr(s, '-', (size_t) (end - s));
                a = parse_day(s, (size_t) ((dash ? dash : end) - s));
                b = dash ? parse_day(dash + 1, (size_t) (end - dash - 1)) : a;
                if (a < 0 || b < 0)
                        return -EINVAL;
                for (int d = a;; d = (d + 1) % 7) {
                        days |= (uint8_t) (1u << d);
                        if (d == b)
                                break;
                }
                if (!comma)
                        break;
                s = comma + 1;
                if (!*s)
                        return -EINVAL;
        }
        *ret = days;
        return 0;
}

/* "HH:MM", 00:00 to max (24:00 only for an end). */
static int parse_clock(const char *s, size_t n, unsigned max, uint16_t *ret) {
        unsigned h, m;

        if (n != 5 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]) || s[2] != ':' ||
            !isdigit((unsigned char) s[3]) || !isdigit((unsigned char) s[4]))
                return -EINVAL;
        h = (unsigned) (s[0] - '0') * 10 + (unsigned) (s[1] - '0');
        m = (unsigned) (s[3] - '0') * 10 + (unsigned) (s[4] - '0');
        if (m > 59 || h * 60 + m > max)
                return -ERANGE;
        *ret = (uint16_t) (h * 60 + m);
        return 0;
}

int schedule_window_parse(const char *s, unsigned containers_max, struct schedule_window *ret, char *why,
                          size_t size) {
        struct schedule_window w = {};
        char buf[128], *tok[4], *save = NULL, *dash;
        size_t n = 0;

        if (strlen(s) >= sizeof buf) {
                snprintf(why, size, "expected DAYS HH:MM-HH:MM [N], such as 'Mon-Fri 07:30-19:00 3'");
                return -EINVAL;
        }
        strcpy(buf, s);
        for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                if (n == ELEMENTSOF(tok)) {
                        n++;
                        break;
                }
                tok[n++] = t;
        }
        if (n < 2 || n > 3) {
                snprintf(why, size, "expected DAYS HH:MM-HH:MM [N], such as 'Mon-Fri 07:30-19:00 3', not '%s'", s);
                return -EINVAL;
        }
        if (parse_days(tok[0], &w.days) < 0) {
                snprintf(why, size, "invalid days '%s' (use Mon, Tue, Wed, Thu, Fri, Sat or Sun, a range such as "
                         "Mon-Fri, a list such as Sat,Sun, or *)", tok[0]);
                return -EINVAL;
        }
        dash = strchr(tok[1], '-');
        if (!dash || parse_clock(tok[1], (size_t) (dash - tok[1]), 23 * 60 + 59, &w.start) < 0 ||
            parse_clock(dash + 1, strlen(dash + 1), 24 * 60, &w.end) < 0) {
                snprintf(why, size, "invalid hours '%s' (use HH:MM-HH:MM from 00:00 to 24:00, such as 07:30-19:00)",
                         tok[1]);
                return -EINVAL;
        }
        if (w.start == w.end) {
                snprintf(why, size, "'%s' starts where it ends (for the whole day, use 00:00-24:00)", tok[1]);
                return -EINVAL;
        }
        if (w.end == 0)
                w.end = 24 * 60;
        if (n == 3) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(tok[2], &end, 10);
                if (!isdigit((unsigned char) tok[2][0]) || *end || errno || v < 1 || v > containers_max) {
                        snprintf(why, size, "invalid container count '%s' (use a number from 1 to %u)", tok[2],
                                 containers_max);
                        return -EINVAL;
                }
                w.containers = (unsigned) v;
        }
        *ret = w;
        return 0;
}

/*
 * A window as a schedule line that parses back to it: the days as runs from
 * Monday on ("Mon-Fri", "Sat,Sun", "*"), for -n's JSON.
 */
int schedule_window_format(const struct schedule_window *w, char *buf, size_t size) {
        char days[64] = "";
        size_t len = 0;

        if (w->days == 0x7f)
                strcpy(days, "*");
        else
                for (int i = 0; i < 7;) {
                        int first = i, last;

                        if (!(w->days & (1u << ((i + 1) % 7)))) {
                                i++;
                                continue;
                        }
                        while (i + 1 < 7 && (w->days & (1u << ((i + 2) % 7))))
                                i++;
                        last = i++;
                        len += (size_t) snprintf(days + len, sizeof days - len, "%s%s%s%s", len ? "," : "",
                                                 day_names[(first + 1) % 7], last > first ? "-" : "",
                                                 last > first ? day_names[(last + 1) % 7] : "");
                }
        if (snprintf(buf, size, "%s %02u:%02u-%02u:%02u", days, w->start / 60u, w->start % 60u, w->end / 60u,
                     w->end % 60u) >= (int) size)
                return -ENOBUFS;
        if (w->containers) {
                size_t n = strlen(buf);

                if (snprintf(buf + n, size - n, " %u", w->containers) >= (int) (size - n))
                        return -ENOBUFS;
        }
        return 0;
}

int schedule_add(struct schedule *s, const struct schedule_window *w) {
        struct schedule_window *a = reallocarray(s->windows, s->n + 1, sizeof *a);

        if (!a)
                return -ENOMEM;
        a[s->n++] = *w;
        s->windows = a;
        return 0;
}

bool schedule_equal(const struct schedule *a, const struct schedule *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (a->windows[i].days != b->windows[i].days || a->windows[i].start != b->windows[i].start ||
                    a->windows[i].end != b->windows[i].end || a->windows[i].containers != b->windows[i].containers)
                        return false;
        return true;
}

int schedule_copy(struct schedule *dst, const struct schedule *src) {
        struct schedule_window *w = NULL;

        if (src->n > 0) {
                w = calloc(src->n, sizeof *w);
                if (!w)
                        return -ENOMEM;
                memcpy(w, src->windows, src->n * sizeof *w);
        }
        free(dst->windows);
        dst->windows = w;
        dst->n = src->n;
        return 0;
}

void schedule_done(struct schedule *s) {
        free(s->windows);
        *s = (struct schedule) {};
}

unsigned schedule_containers_max(const struct schedule *s, unsigned containers) {
        unsigned m = s->n > 0 ? 0 : containers;

        for (size_t i = 0; i < s->n; i++)
                m = MAX(m, s->windows[i].containers ? s->windows[i].containers : containers);
        return m;
}

/* -------------------------------------------------------------- time zones */

static const char *zone_dir(void) {
        const char *d = getenv("TZDIR");

        return d && *d ? d : "/usr/share/zoneinfo";
}

/* A name of tzdata, and a file of it: glibc would take anything else silently as UTC. */
int timezone_check(const char *zone, char *why, size_t size) {
        char path[PATH_MAX], magic[4];
        struct stat st;
        ssize_t n;
        int fd;

        if (strlen(zone) > TIMEZONE_NAME_MAX || zone[0] == '/' || zone[0] == '.' || strstr(zone, "..") ||
            strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-.") != strlen(zone)) {
                snprintf(why, size, "invalid time zone '%.*s' (use a name of tzdata such as Europe/Berlin or UTC)",
                         TIMEZONE_NAME_MAX, zone);
                return -EINVAL;
        }
        snprintf(path, sizeof path, "%s/%s", zone_dir(), zone);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (n = read(fd, magic, sizeof magic)) != 4 ||
            memcmp(magic, "TZif", 4) != 0) {
                if (fd >= 0)
                        close(fd);
                snprintf(why, size, "unknown time zone '%s' (not in %s; use a name of tzdata such as Europe/Berlin)",
                         zone, zone_dir());
                return -ENOENT;
        }
        close(fd);
        return 0;
}

int timezone_use(const char *zone) {
        static bool saved;
        static char *initial;           /* $TZ as warmd found it; NULL: unset */
        static char *current;           /* what warmd set last, ":NAME"; NULL: the initial zone */
        char *v = NULL;

        if (!saved) {
                const char *tz = getenv("TZ");

                if (tz && !(initial = strdup(tz)))
                        return -ENOMEM;
                /* $TZ in the environment from the first call on, so later calls only replace it (see above). */
                if (!tz)
                        (void) setenv("TZ", ":/etc/localtime", 1);
                saved = true;
        }
        if ((zone == NULL && current == NULL) || (zone && current && strcmp(zone, current + 1) == 0))
                return 0;
        /* ":NAME": always the file of tzdata, even for a name such as EST5EDT that reads as a POSIX rule too. */
        if (zone && asprintf(&v, ":%s", zone) < 0)
                return -ENOMEM;
        /* Back to the start's zone: ":/etc/localtime" is what an unset $TZ means, without unsetenv() under threads. */
        if (zone)
                (void) setenv("TZ", v, 1);
        else
                (void) setenv("TZ", initial ? initial : ":/etc/localtime", 1);
        tzset();
        free(current);
        current = v;
        return 0;
}

/* -------------------------------------------------------------- local time */

/* The wall clock at t, in seconds since the epoch as if it were UTC. */
static time_t wall(time_t t) {
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return t;
        return t + tm.tm_gmtoff;
}

/*
 * The first instant whose wall clock reads L or later.  Candidates are L
 * minus each offset the zone has around L; when none reads L exactly, L was
 * skipped, and the instant the clocks jumped past it is found by bisection
 * between a candidate before it and one after.
 */
static time_t local_to_instant(time_t L) {
        time_t best = 0, lo = 0, hi = 0;
        bool found = false, have_lo = false, have_hi = false;
        long offs[7];
        size_t n = 0;

        for (int k = -3; k <= 3; k++) {
                long o = (long) (wall(L + k * 12 * 3600) - (L + k * 12 * 3600));
                bool dup = false;

                for (size_t i = 0; i < n; i++)
                        dup |= offs[i] == o;
                if (!dup)
                        offs[n++] = o;
        }
        for (size_t i = 0; i < n; i++) {
                time_t t = L - offs[i], w = wall(t);

                if (w == L && (!found || t < best)) {
                        best = t;
                        found = true;
                } else if (w < L && (!have_lo || t > lo)) {
                        lo = t;
                        have_lo = true;
                } else if (w > L && (!have_hi || t < hi)) {
                        hi = t;
                        have_hi = true;
                }
        }
        if (found)
                return best;
        if (!have_lo || !have_hi || lo >= hi)
                return have_hi ? hi : L;
        while (hi - lo > 1) {
                time_t mid = lo + (hi - lo) / 2;

                if (wall(mid) >= L)
                        hi = mid;
                else
                        lo = mid;
        }
        return hi;
}

struct span {
        time_t start, end;
        unsigned containers;
};

static unsigned wanted_at(const struct span *sp, size_t n, time_t t) {
        unsigned m = 0;

        for (size_t i = 0; i < n; i++)
                if (sp[i].start <= t && t < sp[i].end)
                        m = MAX(m, sp[i].containers);
        return m;
}

static int cmp_time(const void *a, const void *b) {
        time_t x = *(const time_t *) a, y = *(const time_t *) b;

        return (x > y) - (x < y);
}

int schedule_at(const struct schedule *s, unsigned containers, const char *zone, time_t now,
                struct schedule_point *ret) {
        _cleanup_(freep) struct span *sp = NULL;
        _cleanup_(freep) time_t *edges = NULL;
        size_t n = 0, n_edges = 0;
        struct schedule_point p = { .containers = containers };
        time_t today, horizon;
        struct tm tm;
        int r;

        if (s->n == 0) {
                *ret = p;
                return 0;
        }
        r = timezone_use(zone);
        if (r < 0)
                return r;
        /* The windows that start from yesterday (one may still run) to past the horizon, as instants. */
        sp = calloc((HORIZON_DAYS + 2) * s->n, sizeof *sp);
        edges = calloc(2 * (HORIZON_DAYS + 2) * s->n, sizeof *edges);
        if (!sp || !edges)
                return -ENOMEM;
        today = wall(now);
        today -= ((today % DAY_SEC) + DAY_SEC) % DAY_SEC;
        horizon = local_to_instant(today + (HORIZON_DAYS + 1) * DAY_SEC);
        for (int d = -1; d <= HORIZON_DAYS; d++) {
                time_t day = today + (time_t) d * DAY_SEC;

                if (!gmtime_r(&day, &tm))
                        return -ERANGE;
                for (size_t i = 0; i < s->n; i++) {
                        const struct schedule_window *w = &s->windows[i];
                        time_t a, b;

                        if (!(w->days & (1u << tm.tm_wday)))
                                continue;
                        a = local_to_instant(day + w->start * 60);
                        b = local_to_instant(day + w->end * 60 + (w->end <= w->start ? DAY_SEC : 0));
                        if (b <= a)
                                continue;       /* a window that only held skipped times */
                        sp[n++] = (struct span) { a, b, w->containers ? w->containers : containers };
                        edges[n_edges++] = a;
                        edges[n_edges++] = b;
                }
        }
        qsort(edges, n_edges, sizeof *edges, cmp_time);
        p.containers = wanted_at(sp, n, now);
        for (size_t i = 0; i < n_edges && edges[i] < horizon; i++) {
                unsigned c;

                if (edges[i] <= now)
                        continue;
                c = wanted_at(sp, n, edges[i]);
                if (c != p.containers) {
                        p.next = edges[i];
                        p.next_containers = c;
                        break;
                }
        }
        *ret = p;
        return 0;
}

int schedule_format_time(const char *zone, time_t t, char *buf, size_t size) {
        struct tm tm;
        int r;

        r = timezone_use(zone);
        if (r < 0)
                return r;
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M %Z", &tm) == 0)
                return -ERANGE;
        return 0;
}

/* -------------------------------------------------------------------- -n */

/* The next 30 days of a schedule: from now, each span until the next change, with its count. */
struct month {
        const struct schedule *schedule;        /* what it was computed for */
        unsigned containers;
        struct schedule_point *spans;           /* span k runs from spans[k - 1].next (or now) to spans[k].next */
        size_t n, allocated;
};

static int month_compute(const struct endpoint_config *ep, const char *zone, time_t now, struct month *m) {
        time_t t = now, end = now + (time_t) MONTH_DAYS * DAY_SEC;

        m->schedule = &ep->schedule;
        m->containers = ep->containers;
        m->n = 0;
        while (t < end) {
                struct schedule_point p;
                int r;

                r = schedule_at(&ep->schedule, ep->containers, zone, t, &p);
                if (r < 0)
                        return r;
                if (p.next == 0 || p.next > end)
                        p.next = end;
                if (m->n == m->allocated) {
                        size_t a = m->allocated ? 2 * m->allocated : 64;
                        struct schedule_point *v = reallocarray(m->spans, a, sizeof *v);

                        if (!v)
                                return -ENOMEM;
                        m->spans = v;
                        m->allocated = a;
                }
                m->spans[m->n++] = p;
                t = p.next;
        }
        return 0;
}

/* Requests of the 30 days: N a round, a round at each wake and change, then one every interval. */
static uint64_t month_requests(const struct month *m, time_t now, uint64_t interval_usec) {
        uint64_t interval = MAX(interval_usec / USEC_PER_SEC, UINT64_C(1)), total = 0;
        time_t from = now;

        for (size_t k = 0; k < m->n; k++) {
                total += (uint64_t) m->spans[k].containers * (((uint64_t) (m->spans[k].next - from) + interval - 1) / interval);
                from = m->spans[k].next;
        }
        return total;
}

static int print_endpoint(FILE *f, const struct endpoint_config *ep, const char *zone, const struct month *m,
                          uint64_t month, uint64_t full) {
        char when[64];
        int r;

        fprintf(f, "[%s] now ", ep->name);
        if (m->spans[0].containers > 0)
                fprintf(f, "warming %u container%s\n", m->spans[0].containers, m->spans[0].containers == 1 ? "" : "s");
        else
                fprintf(f, "sleeping\n");
        /* Each span but the last ends at a boundary; the last ends with the 30 days. */
        for (size_t k = 0; k < 4 && k + 1 < m->n; k++) {
                unsigned from = m->spans[k].containers, to = m->spans[k + 1].containers;

                r = schedule_format_time(zone, m->spans[k].next, when, sizeof when);
                if (r < 0)
                        return r;
                if (to == 0)
                        fprintf(f, "  %s: sleep\n", when);
                else
                        fprintf(f, "  %s: %s%u container%s\n", when, from == 0 ? "wake, " : "", to, to == 1 ? "" : "s");
        }
        fprintf(f, "  requests: %" PRIu64 " a day, %" PRIu64 " a month (around the clock: %" PRIu64 " a month)\n",
                (month + MONTH_DAYS / 2) / MONTH_DAYS, month, full);
        return 0;
}

int schedule_print(FILE *f, const struct config *c, time_t now) {
        struct month m = {};
        uint64_t all = 0, always = 0;
        bool any = false;
        int r = 0;

        for (size_t i = 0; i < c->n_endpoints; i++) {
                const struct endpoint_config *ep = c->endpoints[i];
                uint64_t month, full = (uint64_t) ep->containers * MONTH_DAYS * DAY_SEC /
                                       MAX(ep->interval_usec / USEC_PER_SEC, UINT64_C(1));

                always += full;
                if (ep->schedule.n == 0) {
                        all += full;
                        continue;
                }
                any = true;
                /* Endpoints mostly share [global]'s windows: computed once for a run of equal ones. */
                if (!m.schedule || m.containers != ep->containers || !schedule_equal(m.schedule, &ep->schedule)) {
                        r = month_compute(ep, c->timezone, now, &m);
                        if (r < 0)
                                goto out;
                }
                month = month_requests(&m, now, ep->interval_usec);
                all += month;
                r = print_endpoint(f, ep, c->timezone, &m, month, full);
                if (r < 0)
                        goto out;
        }
        if (any)
                fprintf(f, "all endpoints: %" PRIu64 " requests a day, %" PRIu64 " a month; around the clock %" PRIu64
                        " a month, so the schedules save %" PRIu64 " (%" PRIu64 "%%)\n",
                        (all + MONTH_DAYS / 2) / MONTH_DAYS, all, always, always - all,
                        always > 0 ? (always - all) * 100 / always : 0);
out:
        free(m.spans);
        return r;
}
