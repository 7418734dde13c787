/* SPDX-License-Identifier: MIT */
/*
 * faketime-preload.c: an LD_PRELOAD library for the schedule tests, loaded
 * before libfaketime.  libfaketime (0.9.10) moves the absolute
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
 * A thread polls the file, since the daemon's own loop cannot be asked to.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define FDS 4096

static unsigned char realtime_fd[FDS];  /* 1: a CLOCK_REALTIME timerfd */

/* What each realtime timerfd was last armed with on the fake clock, to arm it again after a set. */
static struct {
        int flags;
        struct itimerspec value;
} armed[FDS];
static unsigned char cancelled[FDS];    /* 1: the next read() fails with ECANCELED */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

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
                realtime_fd[fd] = clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
                armed[fd].flags = 0;
                __atomic_store_n(&cancelled[fd], 0, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&lock);
        }
        return fd;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new_value, struct itimerspec *old_value) {
        settime_fn *next = next_settime();
        int r;

        if (!(fd >= 0 && fd < FDS && realtime_fd[fd] && next))
                return (int) syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
        /* Under the lock, so the poller never arms a timer again with a value the daemon just replaced. */
        pthread_mutex_lock(&lock);
        r = next(fd, flags, new_value, old_value);
        if (r >= 0) {
                armed[fd].flags = flags & TFD_TIMER_ABSTIME ? flags : 0;
                armed[fd].value = *new_value;
                __atomic_store_n(&cancelled[fd], 0, __ATOMIC_SEQ_CST);
        }
        pthread_mutex_unlock(&lock);
        return r;
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
        settime_fn *next = next_settime();

        pthread_mutex_lock(&lock);
        for (int fd = 0; fd < FDS; fd++) {
                if (!realtime_fd[fd] || !(armed[fd].flags & TFD_TIMER_ABSTIME))
                        continue;
                if (armed[fd].flags & TFD_TIMER_CANCEL_ON_SET) {
                        armed[fd].flags = 0;  /* as in the kernel: armed again only by the daemon */
                        if (syscall(SYS_timerfd_settime, fd, 0, &now, NULL) >= 0)
                                __atomic_store_n(&cancelled[fd], 1, __ATOMIC_SEQ_CST);
                } else if (next)
                        (void) next(fd, armed[fd].flags, &armed[fd].value, NULL);
        }
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

static void *poll_clock(void *path) {
        char last[128], now[128];
        ssize_t n_last = read_file(path, last, sizeof last), n;

        for (;;) {
                usleep(20 * 1000);
                n = read_file(path, now, sizeof now);
                if (n < 0 || (n == n_last && memcmp(now, last, (size_t) n) == 0))
                        continue;
                memcpy(last, now, (size_t) n);
                n_last = n;
                clock_was_set();
        }
        return NULL;
}

__attribute__((constructor)) static void start(void) {
        const char *on = getenv("FAKETIME_PRELOAD_CLOCK_SET"), *path = getenv("FAKETIME_TIMESTAMP_FILE");
        sigset_t all, saved;
        pthread_t t;

        if (!on || strcmp(on, "1") != 0 || !path)
                return;
        /* The daemon takes its signals through a signalfd: they must stay blocked in this thread. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (pthread_create(&t, NULL, poll_clock, strdup(path)) == 0)
                pthread_detach(t);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
}
