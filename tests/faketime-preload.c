/* SPDX-License-Identifier: MIT */
/*
 * faketime-preload.c: an LD_PRELOAD library for tests/schedule-window.sh,
 * loaded before libfaketime.  libfaketime (0.9.10) moves the absolute
 * expiry of every timerfd by the offset of its fake wall clock, whatever the
 * timer's clock: with FAKETIME_DONT_FAKE_MONOTONIC=1 a CLOCK_MONOTONIC or
 * CLOCK_BOOTTIME timer of sd-event then lands before the boot (EINVAL) or
 * days away.  This library hands libfaketime only the CLOCK_REALTIME
 * timers, which it translates right, and arms the others as they are.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define FDS 4096

static unsigned char realtime_fd[FDS];  /* 1: a CLOCK_REALTIME timerfd */

int timerfd_create(int clockid, int flags) {
        static int (*next)(int, int);
        int fd;

        if (!next)
                next = (int (*)(int, int)) dlsym(RTLD_NEXT, "timerfd_create");
        fd = next ? next(clockid, flags) : (int) syscall(SYS_timerfd_create, clockid, flags);
        if (fd >= 0 && fd < FDS)
                realtime_fd[fd] = clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
        return fd;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new_value, struct itimerspec *old_value) {
        static int (*next)(int, int, const struct itimerspec *, struct itimerspec *);

        if (!next)
                next = (int (*)(int, int, const struct itimerspec *, struct itimerspec *))
                        dlsym(RTLD_NEXT, "timerfd_settime");
        if (fd >= 0 && fd < FDS && realtime_fd[fd] && next)
                return next(fd, flags, new_value, old_value);
        return (int) syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
}
