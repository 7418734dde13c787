/* SPDX-License-Identifier: MIT */
/* util.h: small helpers every module shares: cleanup attributes, time, strings. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)

static inline void freep(void *p) {
        free(*(void **) p);
}

/*
 * Makes room for element n of an array of *cap elements, doubling it when
 * full, so n appends cost O(n).  Returns the array, or NULL (the old one is
 * kept) when out of memory.
 */
static inline void *array_grow(void *v, size_t n, size_t *cap, size_t size) {
        size_t c;

        if (n < *cap)
                return v;
        c = *cap ? 2 * *cap : 16;
        v = reallocarray(v, c, size);
        if (v)
                *cap = c;
        return v;
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* As HTTP field values forbid them: all but HTAB below 0x20, and DEL. */
static inline bool is_control_char(unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Round half up, so 1499 us reads as 1 ms and 1500 us as 2 ms. */
static inline uint64_t usec_to_msec(uint64_t usec) {
        return (usec + USEC_PER_MSEC / 2) / USEC_PER_MSEC;
}

/* time-util.c: durations. */
enum duration_style {
        DURATION_CONFIG,        /* as a config value, which parse_duration() reads back: "0ms", "1500ms", "90s", "15m" */
        DURATION_ROUNDED,       /* to the second, for a reader: "7s", "9m59s", "1h02m" */
};

/* A whole number and a unit (ms, s, m, h, or systemd's msec, sec, min, hour); a bare number is seconds. */
int parse_duration(const char *s, uint64_t *ret_usec);
/* -ENOBUFS if it does not fit. */
int format_duration(uint64_t usec, enum duration_style style, char *buf, size_t size);
