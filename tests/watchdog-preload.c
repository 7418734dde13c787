/* SPDX-License-Identifier: MIT */
/*
 * watchdog-preload.c: an LD_PRELOAD library for tests/watchdog.sh.  It
 * breaks warmd's loop from outside, WATCHDOG_FAULT_AFTER_MS (default 3000)
 * after the process started, in the way $WATCHDOG_FAULT names:
 *
 *   curl-epoll   every epoll_wait() on curl's epoll set fails with EINVAL:
 *                no request is answered any more.
 *   round-timer  every arming of a CLOCK_BOOTTIME timer source is dropped,
 *                though reported as done: rounds stop, while the loop keeps
 *                turning for its other sources (signals, curl, the status
 *                and watchdog timers).
 *
 * Without WATCHDOG_FAULT it only watches, and changes nothing.
 *
 * Which epoll set is curl's: warmd has two, sd-event's and http.c's, both
 * made with epoll_create1(EPOLL_CLOEXEC), and sd-event waits on its own
 * with epoll_wait() too, sometimes with a timeout of 0, so neither the
 * order of creation nor the timeout tells them apart for sure.  What does is
 * their shape: curl's set is itself watched by sd-event's (sd_event_add_io()
 * adds it with EPOLL_CTL_ADD), and sd-event's is inside no other.  So the
 * library notes every epoll set created, and takes as curl's the one added
 * to another set.  Both live as long as warmd, so their numbers are not
 * reused while it runs.
 *
 * Which timers are rounds: the round timers are warmd's only sources on
 * CLOCK_BOOTTIME (ROUND_CLOCK); sd-event's own timers, curl's, the status,
 * metrics and watchdog timers and the AWS retry timer are on
 * CLOCK_MONOTONIC.  warmd arms a round timer with
 * sd_event_source_set_enabled(SD_EVENT_ONESHOT); the call comes from warmd
 * itself into libsystemd, so this library sees it.  Failing that call would
 * make warmd end its loop (a timer that cannot be armed is fatal); dropping
 * it silently is the lost timer that only the watchdog can see.  The first
 * rounds run from a deferred source, so some rounds happen before the fault.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

typedef struct sd_event_source sd_event_source;

#define SD_EVENT_ONESHOT (-1)
#define MAX_FDS 4096

static unsigned char epoll_sets[MAX_FDS];      /* 1: an epoll set; 2: one inside another (curl's) */
static struct timespec start;

/* The clock starts when the process does. */
__attribute__((constructor)) static void init(void) {
        clock_gettime(CLOCK_MONOTONIC, &start);
}

static bool faulting(const char *which) {
        static long after_ms = -1;
        const char *fault = getenv("WATCHDOG_FAULT");
        struct timespec now;

        if (!fault || strcmp(fault, which) != 0)
                return false;
        if (after_ms < 0) {
                const char *a = getenv("WATCHDOG_FAULT_AFTER_MS");

                after_ms = a ? atol(a) : 3000;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= after_ms;
}

#define REAL(name, type) ((type) dlsym(RTLD_NEXT, name))

static void note_set(int fd) {
        if (fd >= 0 && fd < MAX_FDS)
                epoll_sets[fd] = 1;
}

int epoll_create(int size) {
        int fd = REAL("epoll_create", int (*)(int))(size);

        note_set(fd);
        return fd;
}

int epoll_create1(int flags) {
        int fd = REAL("epoll_create1", int (*)(int))(flags);

        note_set(fd);
        return fd;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
        int r = REAL("epoll_ctl", int (*)(int, int, int, struct epoll_event *))(epfd, op, fd, ev);

        if (r == 0 && op == EPOLL_CTL_ADD && fd >= 0 && fd < MAX_FDS && epoll_sets[fd])
                epoll_sets[fd] = 2;
        return r;
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout) {
        if (epfd >= 0 && epfd < MAX_FDS && epoll_sets[epfd] == 2 && faulting("curl-epoll")) {
                errno = EINVAL;
                return -1;
        }
        return REAL("epoll_wait", int (*)(int, struct epoll_event *, int, int))(epfd, events, max, timeout);
}

int sd_event_source_set_enabled(sd_event_source *s, int enabled) {
        int (*get_clock)(sd_event_source *, clockid_t *) =
                REAL("sd_event_source_get_time_clock", int (*)(sd_event_source *, clockid_t *));
        clockid_t clock;

        if (enabled == SD_EVENT_ONESHOT && get_clock && get_clock(s, &clock) >= 0 && clock == CLOCK_BOOTTIME &&
            faulting("round-timer"))
                return 0;
        return REAL("sd_event_source_set_enabled", int (*)(sd_event_source *, int))(s, enabled);
}
