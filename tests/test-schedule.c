/* SPDX-License-Identifier: MIT */
/* test-schedule: windows parsed, and schedule_at() over daylight-saving changes, midnights and week ends. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tests.h"

static time_t utc(const char *s) {
        struct tm tm = {};

        if (!strptime(s, "%Y-%m-%d %H:%M", &tm))
                abort();
        return timegm(&tm);
}

/* "a|b|c": one window each. */
static bool windows(const char *spec, struct schedule *ret) {
        char buf[512], *save = NULL, why[256];

        snprintf(buf, sizeof buf, "%s", spec);
        for (char *w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
                struct schedule_window sw;

                if (schedule_window_parse(w, CONTAINERS_MAX, &sw, why, sizeof why) < 0 || schedule_add(ret, &sw) < 0) {
                        fprintf(stderr, "'%s': %s\n", w, why);
                        return false;
                }
        }
        return true;
}

/* Times are UTC; the comment of each says what the wall clock shows. */
static const struct at_case {
        const char *zone, *windows;
        unsigned containers;
        const char *now;
        unsigned want;
        const char *next;               /* NULL: never */
        unsigned next_want;
} at_cases[] = {
        /* Office hours: Mon 2026-12-07, CET (+1). */
        { "Europe/Berlin", "Mon-Fri 07:30-19:00", 10, "2026-12-07 06:00", 0, "2026-12-07 06:30", 10 },
        { "Europe/Berlin", "Mon-Fri 07:30-19:00", 10, "2026-12-07 06:30", 10, "2026-12-07 18:00", 0 },
        { "Europe/Berlin", "Mon-Fri 07:30-19:00", 10, "2026-12-07 12:00", 10, "2026-12-07 18:00", 0 },
        /* Friday evening to Monday morning: across the week end. */
        { "Europe/Berlin", "Mon-Fri 07:30-19:00", 10, "2026-12-11 18:00", 0, "2026-12-14 06:30", 10 },
        /* N changes between two windows; where windows overlap, the larger N counts. */
        { "Europe/Berlin", "Mon-Fri 07:30-19:00|Mon-Fri 19:00-23:00 3", 10, "2026-12-07 12:00", 10, "2026-12-07 18:00", 3 },
        { "Europe/Berlin", "Mon-Fri 07:30-19:00|Mon-Fri 19:00-23:00 3", 10, "2026-12-07 18:00", 3, "2026-12-07 22:00", 0 },
        { "Europe/Berlin", "* 08:00-12:00 2|* 10:00-11:00 5", 10, "2026-12-07 08:00", 2, "2026-12-07 09:00", 5 },
        { "Europe/Berlin", "* 08:00-12:00 2|* 10:00-11:00 5", 10, "2026-12-07 09:30", 5, "2026-12-07 10:00", 2 },
        { "Europe/Berlin", "* 08:00-12:00 7|* 10:00-11:00 5", 10, "2026-12-07 08:00", 7, "2026-12-07 11:00", 0 },
        /* Across midnight: Fri 22:30 CET, the window ends on Saturday at 02:00. */
        { "Europe/Berlin", "Fri 22:00-02:00 2", 10, "2026-12-11 21:30", 2, "2026-12-12 01:00", 0 },
        { "Europe/Berlin", "Fri 22:00-02:00 2", 10, "2026-12-12 00:30", 2, "2026-12-12 01:00", 0 },
        { "Europe/Berlin", "Fri 22:00-02:00 2", 10, "2026-12-12 01:00", 0, "2026-12-18 21:00", 2 },
        /* Across midnight and the week's end: Sunday 23:00 to Monday 01:00. */
        { "Europe/Berlin", "Sun 23:00-01:00 1", 10, "2026-12-13 22:30", 1, "2026-12-14 00:00", 0 },
        /* A window that ends at 24:00 and one that starts at 00:00 the next day: no boundary between them. */
        { "Europe/Berlin", "Mon 12:00-24:00 4|Tue 00:00-06:00 4", 10, "2026-12-07 12:00", 4, "2026-12-08 05:00", 0 },
        /* Around the clock, and no windows at all: never a boundary. */
        { "Europe/Berlin", "* 00:00-24:00", 10, "2026-12-07 12:00", 10, NULL, 0 },
        { "Europe/Berlin", "", 6, "2026-12-07 12:00", 6, NULL, 0 },

        /* Berlin springs forward on 2026-03-29 at 01:00 UTC: 02:00 CET becomes 03:00 CEST.  02:30 is skipped,
         * and the window starts at the first instant after it, 03:00 CEST. */
        { "Europe/Berlin", "Sun 02:30-04:00 5", 10, "2026-03-29 00:00", 0, "2026-03-29 01:00", 5 },
        { "Europe/Berlin", "Sun 02:30-04:00 5", 10, "2026-03-29 01:00", 5, "2026-03-29 02:00", 0 },
        /* A window of skipped times only is empty that day: the next is a week on, in CEST. */
        { "Europe/Berlin", "Sun 02:10-02:50 5", 10, "2026-03-29 00:00", 0, "2026-04-05 00:10", 5 },
        /* The day before and after: 07:30 follows the clock change. */
        { "Europe/Berlin", "* 07:30-19:00", 10, "2026-03-28 06:00", 0, "2026-03-28 06:30", 10 },
        { "Europe/Berlin", "* 07:30-19:00", 10, "2026-03-28 18:00", 0, "2026-03-29 05:30", 10 },
        /* Berlin falls back on 2026-10-25 at 01:00 UTC: 03:00 CEST becomes 02:00 CET.  02:15 happens twice;
         * the window counts once, at the first. */
        { "Europe/Berlin", "Sun 02:15-02:45 4", 10, "2026-10-25 00:00", 0, "2026-10-25 00:15", 4 },
        { "Europe/Berlin", "Sun 02:15-02:45 4", 10, "2026-10-25 00:15", 4, "2026-10-25 00:45", 0 },
        { "Europe/Berlin", "Sun 02:15-02:45 4", 10, "2026-10-25 00:50", 0, "2026-11-01 01:15", 4 },
        /* A window across the repeated hour lasts an hour longer. */
        { "Europe/Berlin", "Sun 01:00-04:00 2", 10, "2026-10-25 00:30", 2, "2026-10-25 03:00", 0 },

        /* New York springs forward on 2026-03-08 at 07:00 UTC: 02:00 EST becomes 03:00 EDT. */
        { "America/New_York", "* 02:30-03:30 2", 10, "2026-03-08 06:00", 0, "2026-03-08 07:00", 2 },
        { "America/New_York", "* 02:30-03:30 2", 10, "2026-03-08 07:00", 2, "2026-03-08 07:30", 0 },
        { "America/New_York", "Mon-Fri 09:00-17:00", 3, "2026-03-06 22:00", 0, "2026-03-09 13:00", 3 },
        /* New York falls back on 2026-11-01 at 06:00 UTC: 02:00 EDT becomes 01:00 EST. */
        { "America/New_York", "Sun 01:15-01:45 3", 10, "2026-11-01 05:00", 0, "2026-11-01 05:15", 3 },
        { "America/New_York", "Sun 01:15-01:45 3", 10, "2026-11-01 05:50", 0, "2026-11-08 06:15", 3 },
        { "America/New_York", "Mon-Fri 09:00-17:00", 3, "2026-10-30 22:00", 0, "2026-11-02 14:00", 3 },

        /* Lord Howe shifts by 30 minutes.  On 2026-10-04 at 15:30 UTC the day before, 02:00 (+10:30) becomes
         * 02:30 (+11): 02:10 is skipped, and the window starts at 02:30. */
        { "Australia/Lord_Howe", "Sun 02:10-03:00 2", 10, "2026-10-03 15:00", 0, "2026-10-03 15:30", 2 },
        { "Australia/Lord_Howe", "Sun 02:10-03:00 2", 10, "2026-10-03 15:30", 2, "2026-10-03 16:00", 0 },
        /* On 2026-04-05 at 15:00 UTC the day before, 02:00 (+11) becomes 01:30 (+10:30): 01:40 happens twice. */
        { "Australia/Lord_Howe", "Sun 01:40-01:50 4", 10, "2026-04-04 14:30", 0, "2026-04-04 14:40", 4 },
        { "Australia/Lord_Howe", "Sun 01:40-01:50 4", 10, "2026-04-04 14:55", 0, "2026-04-11 15:10", 4 },

        /* No daylight saving: India at +05:30, and UTC. */
        { "Asia/Kolkata", "Mon-Fri 09:00-18:00 2", 10, "2026-12-07 03:00", 0, "2026-12-07 03:30", 2 },
        { "Asia/Kolkata", "Mon-Fri 09:00-18:00 2", 10, "2026-12-11 12:30", 0, "2026-12-14 03:30", 2 },
        { "UTC", "Sat,Sun 10:00-16:00 2", 10, "2026-12-11 12:00", 0, "2026-12-12 10:00", 2 },
        { "UTC", "Fri-Mon 10:00-16:00 2", 10, "2026-12-14 16:00", 0, "2026-12-18 10:00", 2 },
};

static void test_at(void) {
        for (size_t i = 0; i < ELEMENTSOF(at_cases); i++) {
                const struct at_case *c = &at_cases[i];
                struct schedule s = {};
                struct schedule_point p = {};
                time_t next = c->next ? utc(c->next) : 0;
                int r = -1;

                if (windows(c->windows, &s))
                        r = schedule_at(&s, c->containers, c->zone, utc(c->now), &p);
                CHECK(r == 0 && p.containers == c->want && p.next == next && (next == 0 || p.next_containers == c->next_want),
                      "%s '%s' at %s UTC: %u containers, next change at %+lld s from the expected %s UTC to %u "
                      "(expected %u, then %u)", c->zone, c->windows, c->now, p.containers,
                      (long long) (p.next - next), c->next ? c->next : "never", p.next_containers, c->want,
                      c->next_want);
                schedule_done(&s);
        }
}

static void test_parse(void) {
        static const struct {
                const char *s;
                int ok;
                uint8_t days;
                unsigned start, end, containers;
        } cases[] = {
                { "Mon-Fri 07:30-19:00", 1, 0x3e, 450, 1140, 0 },
                { "Sat,Sun 10:00-16:00 2", 1, 0x41, 600, 960, 2 },
                { "* 00:00-24:00", 1, 0x7f, 0, 1440, 0 },
                { "Fri 22:00-02:00", 1, 0x20, 1320, 120, 0 },
                { "Fri-Mon  10:00-16:00\t3", 1, 0x63, 600, 960, 3 },
                { "mon 10:00-11:00", 1, 0x02, 600, 660, 0 },
                { "Mon,Wed-Thu 10:00-11:00", 1, 0x1a, 600, 660, 0 },
                { "Mon 10:00-00:00", 1, 0x02, 600, 1440, 0 },
                { "Mon", 0, 0, 0, 0, 0 },
                { "Mon 10:00", 0, 0, 0, 0, 0 },
                { "Mon 10:00-11:00 3 4", 0, 0, 0, 0, 0 },
                { "Mnd 10:00-11:00", 0, 0, 0, 0, 0 },
                { "Mon- 10:00-11:00", 0, 0, 0, 0, 0 },
                { "Mon, 10:00-11:00", 0, 0, 0, 0, 0 },
                { "Mon 24:00-11:00", 0, 0, 0, 0, 0 },
                { "Mon 10:60-11:00", 0, 0, 0, 0, 0 },
                { "Mon 10:00-24:01", 0, 0, 0, 0, 0 },
                { "Mon 7:30-19:00", 0, 0, 0, 0, 0 },
                { "Mon 10:00-10:00", 0, 0, 0, 0, 0 },
                { "Mon 00:00-00:00", 0, 0, 0, 0, 0 },
                { "Mon 10:00-11:00 0", 0, 0, 0, 0, 0 },
                { "Mon 10:00-11:00 10001", 0, 0, 0, 0, 0 },
                { "Mon 10:00-11:00 -1", 0, 0, 0, 0, 0 },
                { "Mon 10:00-11:00 2x", 0, 0, 0, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct schedule_window w = {};
                char why[256] = "";
                int r = schedule_window_parse(cases[i].s, CONTAINERS_MAX, &w, why, sizeof why);

                if (cases[i].ok)
                        CHECK(r == 0 && w.days == cases[i].days && w.start == cases[i].start && w.end == cases[i].end &&
                              w.containers == cases[i].containers, "'%s' parses: %d %s (days %#x %u-%u %u)",
                              cases[i].s, r, why, w.days, w.start, w.end, w.containers);
                else
                        CHECK(r == -EINVAL && why[0], "'%s' is rejected with a reason", cases[i].s);
        }
}

static void test_zone(void) {
        char why[256];

        CHECK(timezone_check("Europe/Berlin", why, sizeof why) == 0, "Europe/Berlin is a zone");
        CHECK(timezone_check("UTC", why, sizeof why) == 0, "UTC is a zone");
        CHECK(timezone_check("Europe/Berlinn", why, sizeof why) == -ENOENT && strstr(why, "unknown time zone"),
              "Europe/Berlinn is not: %s", why);
        CHECK(timezone_check("../../etc/passwd", why, sizeof why) == -EINVAL, "a path out of tzdata is not");
        CHECK(timezone_check("/etc/localtime", why, sizeof why) == -EINVAL, "an absolute path is not");
        CHECK(timezone_check("Europe", why, sizeof why) == -ENOENT, "a directory of tzdata is not");
        CHECK(timezone_check("America/Argentina/ComodRivadavia", why, sizeof why) == 0, "a long name of tzdata is a zone");
        CHECK(timezone_check("Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", why, sizeof why) == -EINVAL,
              "a name of 65 characters is not");
}

/* Loads text from a file of its own; the errors, one a line and without the file name, in errors. */
static struct config *load(const char *text, char *errors, size_t size) {
        char path[] = "/tmp/test-schedule-XXXXXX";
        struct config_errors e = {};
        struct config *c = NULL;
        FILE *f;
        int fd;
        size_t n = 0;

        fd = mkstemp(path);
        if (fd < 0 || !(f = fdopen(fd, "w")))
                abort();
        fputs(text, f);
        fclose(f);
        errors[0] = '\0';
        (void) config_load(path, CONFIG_CREDENTIALS_OPTIONAL, &c, &e);
        for (size_t i = 0; i < e.n; i++)
                n += (size_t) snprintf(errors + n, size - MIN(n, size), "%s\n", strchr(e.lines[i], ':') + 1);
        config_errors_clear(&e);
        unlink(path);
        return c;
}

#define EP "[e]\nurl = http://127.0.0.1/\ncontainers = 10\n"

static void test_keys(void) {
        static const struct {
                const char *text, *error;       /* error: the first, after "FILE:"; NULL: loads */
        } cases[] = {
                { "[global]\ntimezone = Europe/Berlinn\n" EP,
                  "2: timezone: unknown time zone 'Europe/Berlinn' (not in /usr/share/zoneinfo; use a name of tzdata "
                  "such as Europe/Berlin)\n" },
                { "[global]\ntimezone = ../etc/passwd\n" EP,
                  "2: timezone: invalid time zone '../etc/passwd' (use a name of tzdata such as Europe/Berlin or UTC)\n" },
                { EP "timezone = UTC\n", "4: 'timezone' is only allowed in [global]\n" },
                { EP "schedule = Mnd 07:30-19:00\n",
                  "4: schedule: invalid days 'Mnd' (use Mon, Tue, Wed, Thu, Fri, Sat or Sun, a range such as Mon-Fri, "
                  "a list such as Sat,Sun, or *)\n" },
                { EP "schedule = Mon-Fri 7:30-19:00\n",
                  "4: schedule: invalid hours '7:30-19:00' (use HH:MM-HH:MM from 00:00 to 24:00, such as 07:30-19:00)\n" },
                { EP "schedule = Mon-Fri\n",
                  "4: schedule: expected DAYS HH:MM-HH:MM [N], such as 'Mon-Fri 07:30-19:00 3', not 'Mon-Fri'\n" },
                { EP "schedule = Mon 07:30-19:00 0\n",
                  "4: schedule: invalid container count '0' (use a number from 1 to 10000)\n" },
                { "[global]\ntimezone = America/New_York\nschedule = * 00:00-24:00 2\n" EP "schedule = Sat 10:00-11:00\n", NULL },
        };
        char errors[2048];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct config *c = load(cases[i].text, errors, sizeof errors);

                if (cases[i].error)
                        CHECK(!c && strcmp(errors, cases[i].error) == 0, "error '%s', got '%s'", cases[i].error, errors);
                else
                        CHECK(c && !errors[0], "loads: %s", errors);
                config_free(c);
        }

        /* 33 windows: one past the limit, reported at its line. */
        {
                char text[4096];
                size_t n = (size_t) snprintf(text, sizeof text, EP);
                struct config *c;

                for (int i = 0; i <= SCHEDULE_WINDOWS_MAX; i++)
                        n += (size_t) snprintf(text + n, sizeof text - n, "schedule = Mon 10:00-11:00\n");
                c = load(text, errors, sizeof errors);
                CHECK(!c && strcmp(errors, "36: schedule: too many windows (the limit is 32 per section)\n") == 0,
                      "the 33rd window is an error at its line: %s", errors);
                config_free(c);
        }

        /* [global]'s windows are every endpoint's, unless it sets its own: then only its own. */
        {
                struct config *c = load("[global]\ntimezone = Asia/Kolkata\nschedule = Mon-Fri 09:00-18:00\n"
                                        "schedule = Sat 10:00-12:00 2\n" EP
                                        "[f]\nurl = http://127.0.0.1/\ncontainers = 1\nschedule = Sun 10:00-12:00\n",
                                        errors, sizeof errors);

                CHECK(c && c->n_endpoints == 2 && streq_ptr(c->timezone, "Asia/Kolkata"), "loads: %s", errors);
                if (c && c->n_endpoints == 2) {
                        CHECK(c->endpoints[0]->schedule.n == 2 && c->endpoints[0]->schedule.windows[1].containers == 2,
                              "[e] inherits both windows of [global]");
                        CHECK(c->endpoints[1]->schedule.n == 1 && c->endpoints[1]->schedule.windows[0].days == 0x01,
                              "[f] has only its own window");
                }
                config_free(c);
        }
}

/*
 * What -n prints, to any FILE: the office hours of the README from Monday 2026-12-07 06:00 CET; [same]
 * shares them (computed once) at another interval: 22 week days of 12 rounds of 10 and 4 of 3, 8 week-end
 * days of 6 rounds of 2; [none] has a schedule around the clock, which has no boundary.
 */
static void test_print(void) {
        static const char want[] =
                "[orders-api] now sleeping\n"
                "  Mon 2026-12-07 07:30 CET: wake, 10 containers\n"
                "  Mon 2026-12-07 19:00 CET: 3 containers\n"
                "  Mon 2026-12-07 23:00 CET: sleep\n"
                "  Tue 2026-12-08 07:30 CET: wake, 10 containers\n"
                "  requests: 1156 a day, 34680 a month (around the clock: 86400 a month)\n"
                "[same] now sleeping\n"
                "  Mon 2026-12-07 07:30 CET: wake, 10 containers\n"
                "  Mon 2026-12-07 19:00 CET: 3 containers\n"
                "  Mon 2026-12-07 23:00 CET: sleep\n"
                "  Tue 2026-12-08 07:30 CET: wake, 10 containers\n"
                "  requests: 100 a day, 3000 a month (around the clock: 7200 a month)\n"
                "[none] now warming 1 container\n"
                "  requests: 24 a day, 720 a month (around the clock: 720 a month)\n"
                "all endpoints: 1280 requests a day, 38400 a month; around the clock 94320 a month, so the schedules "
                "save 55920 (59%)\n";
        char errors[512], *text = NULL;
        size_t size = 0;
        struct config *c;
        FILE *f;

        c = load("[global]\ntimezone = Europe/Berlin\nschedule = Mon-Fri 07:30-19:00\nschedule = Mon-Fri 19:00-23:00 3\n"
                 "schedule = Sat,Sun 10:00-16:00 2\n"
                 "[orders-api]\nurl = http://127.0.0.1/\ncontainers = 10\ninterval = 5m\n"
                 "[same]\nurl = http://127.0.0.1/\ncontainers = 10\ninterval = 1h\n"
                 "[none]\nurl = http://127.0.0.1/\ncontainers = 1\ninterval = 1h\nschedule = * 00:00-24:00\n",
                 errors, sizeof errors);
        CHECK(c, "loads: %s", errors);
        if (!c)
                return;
        f = open_memstream(&text, &size);
        if (!f)
                abort();
        CHECK(schedule_print(f, c, utc("2026-12-07 05:00")) == 0, "prints");
        fclose(f);
        CHECK(text && streq(text, want), "-n output:\n%s", text ? text : "");
        free(text);
        config_free(c);
}

/* A discovery source's windows, its own or [global]'s, are every function's it finds, through a reload's copy too. */
static void test_source(void) {
        char errors[512];
        struct config *c = load("[global]\nschedule = Mon-Fri 09:00-17:00\n"
                                "[fleet]\nlambda_tag = warmd\nregion = eu-west-1\nschedule = Sat 10:00-12:00 2\n"
                                "[other]\nlambda_tag = team\nregion = eu-west-1\n",
                                errors, sizeof errors);
        struct endpoint_config *a = NULL, *b = NULL, **extra;
        struct config *all = NULL;

        CHECK(c && c->n_sources == 2, "loads: %s", errors);
        if (!c || c->n_sources != 2)
                return;
        CHECK(config_endpoint_derive(c->sources[0], "fleet/f", "f", 4, NULL, NULL, &a) == 0 &&
              a->schedule.n == 1 && a->schedule.windows[0].days == 0x40 && a->schedule.windows[0].containers == 2,
              "[fleet]'s own window");
        CHECK(config_endpoint_derive(c->sources[1], "other/g", "g", 3, NULL, NULL, &b) == 0 &&
              b->schedule.n == 1 && b->schedule.windows[0].days == 0x3e, "[other] takes [global]'s");
        extra = calloc(2, sizeof *extra);
        if (!extra)
                abort();
        extra[0] = a;
        extra[1] = b;
        CHECK(config_combine(c, extra, 2, &all) == 0 && all->n_endpoints == 2 &&
              schedule_equal(&all->endpoints[0]->schedule, &a->schedule) &&
              schedule_equal(&all->endpoints[1]->schedule, &b->schedule), "combined: the same windows");
        free(extra);
        config_free(all);
        config_free(c);
}

int main(void) {
        test_parse();
        test_source();
        test_print();
        test_keys();
        test_zone();
        test_at();
        return tests_result("test-schedule");
}
