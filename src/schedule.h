/* SPDX-License-Identifier: MIT */
/*
 * schedule.h: an endpoint's windows ("schedule = DAYS HH:MM-HH:MM [N]"), the
 * time zone they are read in, and the pure function that says how many
 * containers are wanted at an instant and when that changes next.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SCHEDULE_WINDOWS_MAX    32      /* per section */
#define TIMEZONE_NAME_MAX       64      /* characters of "Area/City" */

struct schedule_window {
        uint8_t days;                   /* bit 0 Sunday .. bit 6 Saturday, as tm_wday counts */
        uint16_t start, end;            /* minutes after local midnight; end 1..1440, and end <= start ends the next day */
        unsigned containers;            /* 0: the endpoint's containers */
};

struct schedule {
        struct schedule_window *windows;        /* none: warm around the clock */
        size_t n;
};
/* config.c's endpoint copy clears every list field through its first pointer before it copies it. */
_Static_assert(offsetof(struct schedule, windows) == 0, "the windows come first");

struct config;

/* 0, or -EINVAL with what was expected in why; containers_max bounds N. */
int schedule_window_parse(const char *s, unsigned containers_max, struct schedule_window *ret, char *why, size_t size);
/* The window as a line of the file, such as 'Mon-Fri 07:30-19:00 3'. */
int schedule_window_format(const struct schedule_window *w, char *buf, size_t size);
int schedule_add(struct schedule *s, const struct schedule_window *w);
bool schedule_equal(const struct schedule *a, const struct schedule *b);
int schedule_copy(struct schedule *dst, const struct schedule *src);
void schedule_done(struct schedule *s);
/* The most containers any window (or the endpoint itself) asks for. */
unsigned schedule_containers_max(const struct schedule *s, unsigned containers);

/* 0 when zone names a zone of tzdata; -ENOENT or -EINVAL with why. */
int timezone_check(const char *zone, char *why, size_t size);
/*
 * Makes zone (NULL: the one warmd started with, $TZ or /etc/localtime) the
 * zone of localtime_r() for the whole process; see schedule.c.
 */
int timezone_use(const char *zone);

/* What a schedule says at an instant. */
struct schedule_point {
        unsigned containers;            /* wanted now; 0: outside every window */
        time_t next;                    /* when that changes next; 0: never */
        unsigned next_containers;       /* from then on */
};

/*
 * The pure function: the containers wanted at now (CLOCK_REALTIME seconds)
 * under the windows of s read in zone, and the next instant that changes.
 * Without windows: containers, for ever.
 */
int schedule_at(const struct schedule *s, unsigned containers, const char *zone, time_t now,
                struct schedule_point *ret);

/* Formats an instant in zone as "Mon 2026-12-07 07:30 CET". */
int schedule_format_time(const char *zone, time_t t, char *buf, size_t size);

/*
 * For "warmd -n": each scheduled endpoint's next boundaries and its requests
 * a day and a month (the next 30 days from now), then the totals with and
 * without the schedules.  Prints nothing when no endpoint has a schedule.
 */
int schedule_print(FILE *f, const struct config *c, time_t now);
