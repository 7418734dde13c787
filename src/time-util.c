/* SPDX-License-Identifier: MIT */
/* time-util.c: durations, read as a config file writes them and written for a config file or a reader. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "util.h"

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "",     USEC_PER_SEC },
                { "ms",   USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "s",    USEC_PER_SEC },
                { "sec",  USEC_PER_SEC },
                { "m",    USEC_PER_MINUTE },
                { "min",  USEC_PER_MINUTE },        /* as in systemd's time spans, which users know */
                { "h",    USEC_PER_HOUR },
                { "hour", USEC_PER_HOUR },
        };
        const char *p = s;
        uint64_t n = 0;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (n > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(p, units[i].suffix))
                        continue;
                if (n > UINT64_MAX / units[i].usec)
                        return -ERANGE;
                *ret_usec = n * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

/* In the largest unit that divides it, so that parse_duration() reads it back; 0 and below a millisecond, in ms. */
static int format_config(uint64_t usec, char *buf, size_t size) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "h",  USEC_PER_HOUR },
                { "m",  USEC_PER_MINUTE },
                { "s",  USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
        };

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (usec > 0 && usec % units[i].usec == 0)
                        return snprintf(buf, size, "%" PRIu64 "%s", usec / units[i].usec, units[i].suffix);
        return snprintf(buf, size, "%" PRIu64 "ms", usec_to_msec(usec));
}

/* To the nearest second, the two largest units only. */
static int format_rounded(uint64_t usec, char *buf, size_t size) {
        uint64_t s = (usec + USEC_PER_SEC / 2) / USEC_PER_SEC;

        if (s >= 3600)
                return snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
        if (s >= 60)
                return snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        return snprintf(buf, size, "%" PRIu64 "s", s);
}

int format_duration(uint64_t usec, enum duration_style style, char *buf, size_t size) {
        int n = style == DURATION_ROUNDED ? format_rounded(usec, buf, size) : format_config(usec, buf, size);

        return n >= 0 && (size_t) n < size ? 0 : -ENOBUFS;
}
