/* SPDX-License-Identifier: MIT */
/*
 * faketime-preload.c: an LD_PRELOAD library for the tests that run warmd on
 * a fake clock (fake_clock_warmd in tests/lib.sh), loaded before libfaketime.  libfaketime (0.9.10) moves the absolute
 * expiry of every timerfd by the offset of its fake wall clock, whatever the
 * timer's clock: with FAKETIME_DONT_FAKE_MONOTONIC=1 a CLOCK_MONOTONIC or
 * CLOCK_BOOTTIME timer of sd-event then lands before the boot (EINVAL) or
 * days away.  This library hands libfaketime only the CLOCK_REALTIME
 * timers, which it translates right, and arms the others as they are.
 *
 * With FAKETIME_PRELOAD_CLOCK_SET=1 it also plays the kernel's part in a
 * clock set (tests/schedule-clock-set.sh), which libfaketime does not: when
 * the content of FAKETIME_TIMESTAMP_FILE changes (the fake clock was set),
 *   - every absolute CLOCK_REALTIME timer is armed again, so libfaketime
 *     translates it with the new offset (the kernel keeps such timers on
 *     the wall clock: they fire when it reaches them, also after a set);
 *   - every timer armed with TFD_TIMER_CANCEL_ON_SET becomes readable, and
 *     its next read() fails with ECANCELED.
 *
 * With FAKETIME_PRELOAD_FORWARD=FILE it moves every clock, the monotonic
 * ones too, on by the seconds FILE holds (0 at start), on top of
 * libfaketime's wall clock: time passes in an instant, as if the daemon had
 * waited (tests/metrics-heartbeat.sh, for a 5-minute timer).  It is not a
 * clock set: every absolute timer, of any clock, is armed again with the
 * new offset and fires if the clock has passed it; none is cancelled.
 * A thread polls the files, since the daemon's own loop cannot be asked to.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define FDS 4096

/* What each timerfd made through here is: the clock tells who translates its expiry. */
enum { FD_NONE, FD_REALTIME, FD_OTHER };
static unsigned char fd_kind[FDS];

/* What each timerfd was last armed with on the fake clock, to arm it again after a set or a move. */
static struct {
        int flags;
        struct itimerspec value;
} armed[FDS];
static unsigned char cancelled[FDS];    /* 1: the next read() fails with ECANCELED */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool forward_on;                 /* FAKETIME_PRELOAD_FORWARD is set */
static int64_t forward_nsec;            /* how far every clock is moved on; written under the lock */

#define NSEC_PER_SEC INT64_C(1000000000)

static int64_t nsec_of(const struct timespec *ts) {
        return (int64_t) ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

static struct timespec timespec_of(int64_t nsec) {
        return (struct timespec) { .tv_sec = nsec / NSEC_PER_SEC, .tv_nsec = nsec % NSEC_PER_SEC };
}

typedef int settime_fn(int, int, const struct itimerspec *, struct itimerspec *);

static settime_fn *next_settime(void) {
        static settime_fn *next;

        if (!next)
                next = (settime_fn *) dlsym(RTLD_NEXT, "timerfd_settime");
        return next;
}

int timerfd_create(int clockid, int flags) {
        static int (*next)(int, int);
        int fd;

        if (!next)
                next = (int (*)(int, int)) dlsym(RTLD_NEXT, "timerfd_create");
        fd = next ? next(clockid, flags) : (int) syscall(SYS_timerfd_create, clockid, flags);
        if (fd >= 0 && fd < FDS) {
                pthread_mutex_lock(&lock);
                fd_kind[fd] = clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM ? FD_REALTIME : FD_OTHER;
                armed[fd].flags = 0;
                __atomic_store_n(&cancelled[fd], 0, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&lock);
        }
        return fd;
}

/*
 * Arms fd with what the daemon asked, on its clock: an absolute expiry goes
 * back by the forward offset; then libfaketime translates a realtime one to
 * the real clock, and the kernel takes the others as they are.  Under the
 * lock.
 */
static int arm(int fd, int flags, const struct itimerspec *value, struct itimerspec *old_value) {
        settime_fn *next = next_settime();
        struct itimerspec v = *value;

        /* {0, 1} and the like: sd-event's "long ago", which stays so. */
        if (flags & TFD_TIMER_ABSTIME && nsec_of(&v.it_value) > forward_nsec)
                v.it_value = timespec_of(nsec_of(&v.it_value) - forward_nsec);
        if (fd_kind[fd] == FD_REALTIME && next)
                return next(fd, flags, &v, old_value);
        return (int) syscall(SYS_timerfd_settime, fd, flags, &v, old_value);
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new_value, struct itimerspec *old_value) {
        int r;

        if (!(fd >= 0 && fd < FDS && fd_kind[fd] != FD_NONE && new_value))
                return (int) syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
        /* Under the lock, so the poller never arms a timer again with a value the daemon just replaced. */
        pthread_mutex_lock(&lock);
        r = arm(fd, flags, new_value, old_value);
        if (r >= 0) {
                armed[fd].flags = flags & TFD_TIMER_ABSTIME ? flags : 0;
                armed[fd].value = *new_value;
                __atomic_store_n(&cancelled[fd], 0, __ATOMIC_SEQ_CST);
        }
        pthread_mutex_unlock(&lock);
        return r;
}

/* The clocks that move on with FAKETIME_PRELOAD_FORWARD: all but the CPU-time ones. */
static bool moves(clockid_t clk) {
        switch (clk) {
        case CLOCK_REALTIME:
        case CLOCK_REALTIME_COARSE:
        case CLOCK_REALTIME_ALARM:
        case CLOCK_TAI:
        case CLOCK_MONOTONIC:
        case CLOCK_MONOTONIC_COARSE:
        case CLOCK_MONOTONIC_RAW:
        case CLOCK_BOOTTIME:
        case CLOCK_BOOTTIME_ALARM:
                return true;
        default:
                return false;
        }
}

int clock_gettime(clockid_t clk, struct timespec *ts) {
        static int (*next)(clockid_t, struct timespec *);
        int r;

        if (!next)
                next = (int (*)(clockid_t, struct timespec *)) dlsym(RTLD_NEXT, "clock_gettime");
        r = next ? next(clk, ts) : (int) syscall(SYS_clock_gettime, clk, ts);
        if (r == 0 && forward_on && moves(clk))
                *ts = timespec_of(nsec_of(ts) + __atomic_load_n(&forward_nsec, __ATOMIC_SEQ_CST));
        return r;
}

/* libfaketime answers these without clock_gettime(): with the offset on, they come from it. */
time_t time(time_t *ret) {
        static time_t (*next)(time_t *);
        struct timespec ts;

        if (!forward_on) {
                if (!next)
                        next = (time_t (*)(time_t *)) dlsym(RTLD_NEXT, "time");
                return next(ret);
        }
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return (time_t) -1;
        if (ret)
                *ret = ts.tv_sec;
        return ts.tv_sec;
}

int gettimeofday(struct timeval *tv, void *tz) {
        static int (*next)(struct timeval *, void *);
        struct timespec ts;

        if (!forward_on) {
                if (!next)
                        next = (int (*)(struct timeval *, void *)) dlsym(RTLD_NEXT, "gettimeofday");
                return next(tv, tz);
        }
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        *tv = (struct timeval) { .tv_sec = ts.tv_sec, .tv_usec = ts.tv_nsec / 1000 };
        return 0;
}

/* The ECANCELED of a timer cancelled by a set, once, as the kernel reports it. */
ssize_t read(int fd, void *buf, size_t count) {
        static ssize_t (*next)(int, void *, size_t);

        if (!next)
                next = (ssize_t (*)(int, void *, size_t)) dlsym(RTLD_NEXT, "read");
        if (fd >= 0 && fd < FDS && __atomic_exchange_n(&cancelled[fd], 0, __ATOMIC_SEQ_CST)) {
                uint64_t drain;

                (void) next(fd, &drain, sizeof drain);  /* the expiry that made it readable */
                errno = ECANCELED;
                return -1;
        }
        return next(fd, buf, count);
}

static void clock_was_set(void) {
        /* 1 ns from now on the real clock: readable at once. */
        const struct itimerspec now = { .it_value.tv_nsec = 1 };

        pthread_mutex_lock(&lock);
        for (int fd = 0; fd < FDS; fd++) {
                if (fd_kind[fd] != FD_REALTIME || !(armed[fd].flags & TFD_TIMER_ABSTIME))
                        continue;
                if (armed[fd].flags & TFD_TIMER_CANCEL_ON_SET) {
                        armed[fd].flags = 0;  /* as in the kernel: armed again only by the daemon */
                        if (syscall(SYS_timerfd_settime, fd, 0, &now, NULL) >= 0)
                                __atomic_store_n(&cancelled[fd], 1, __ATOMIC_SEQ_CST);
                } else
                        (void) arm(fd, armed[fd].flags, &armed[fd].value, NULL);
        }
        pthread_mutex_unlock(&lock);
}

/* Every clock moved on to seconds: every absolute timer is armed again, and fires if now passed. */
static void moved_on(int64_t seconds) {
        pthread_mutex_lock(&lock);
        __atomic_store_n(&forward_nsec, seconds * NSEC_PER_SEC, __ATOMIC_SEQ_CST);
        for (int fd = 0; fd < FDS; fd++)
                if (fd_kind[fd] != FD_NONE && armed[fd].flags & TFD_TIMER_ABSTIME)
                        (void) arm(fd, armed[fd].flags, &armed[fd].value, NULL);
        pthread_mutex_unlock(&lock);
}

static ssize_t read_file(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -1;
        n = syscall(SYS_read, fd, buf, size);
        close(fd);
        return n;
}

/* A file the poller watches, and what its content was last time. */
struct watched {
        const char *path;
        char last[128];
        ssize_t n_last;
};

/* The file changed since the last look: its content in buf, NUL-terminated. */
static bool changed(struct watched *w, char *buf, size_t size) {
        ssize_t n;

        if (!w->path)
                return false;
        n = read_file(w->path, buf, size - 1);
        if (n < 0 || (n == w->n_last && memcmp(buf, w->last, (size_t) n) == 0))
                return false;
        memcpy(w->last, buf, (size_t) n);
        w->n_last = n;
        buf[n] = 0;
        return true;
}

static struct watched clock_file = { .n_last = -1 }, forward_file = { .n_last = -1 };

static void *poll_files(void *unused) {
        char buf[128];

        for (;;) {
                usleep(20 * 1000);
                if (changed(&clock_file, buf, sizeof buf))
                        clock_was_set();
                if (changed(&forward_file, buf, sizeof buf))
                        moved_on(strtoll(buf, NULL, 10));
        }
        return unused;
}

__attribute__((constructor)) static void start(void) {
        const char *on = getenv("FAKETIME_PRELOAD_CLOCK_SET"), *path = getenv("FAKETIME_TIMESTAMP_FILE");
        const char *forward = getenv("FAKETIME_PRELOAD_FORWARD");
        char buf[128];
        sigset_t all, saved;
        pthread_t t;

        if (on && strcmp(on, "1") == 0 && path) {
                clock_file.path = strdup(path);
                (void) changed(&clock_file, buf, sizeof buf);
        }
        if (forward && *forward) {
                forward_file.path = strdup(forward);
                if (changed(&forward_file, buf, sizeof buf))
                        forward_nsec = strtoll(buf, NULL, 10) * NSEC_PER_SEC;
                forward_on = true;
        }
        if (!clock_file.path && !forward_file.path)
                return;
        /* The daemon takes its signals through a signalfd: they must stay blocked in this thread. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (pthread_create(&t, NULL, poll_files, NULL) == 0)
                pthread_detach(t);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
}
