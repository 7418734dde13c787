/* SPDX-License-Identifier: MIT */
/*
 * apply-fault-preload.c: an LD_PRELOAD library for tests/discover-reload.sh.
 * While the file named by $APPLY_FAULT_FILE exists, sd_event_add_time() on
 * CLOCK_BOOTTIME fails with ENOMEM.  The round timers are warmd's only
 * sources on that clock (ROUND_CLOCK; see watchdog-preload.c), and one is
 * made only for an endpoint the scheduler has not run before, in the first
 * phase of scheduler_apply_config(): a reload that adds an endpoint then
 * fails at the scheduler's apply, after the file was read and the sources
 * were made ready, which is the failure that must leave everything as it was.
 * Without the file it changes nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef int (*add_time_fn)(void *e, void **s, clockid_t clock, uint64_t usec, uint64_t accuracy, void *callback,
                           void *userdata);

int sd_event_add_time(void *e, void **s, clockid_t clock, uint64_t usec, uint64_t accuracy, void *callback,
                      void *userdata) {
        const char *fault = getenv("APPLY_FAULT_FILE");

        if (clock == CLOCK_BOOTTIME && fault && access(fault, F_OK) == 0)
                return -ENOMEM;
        return ((add_time_fn) dlsym(RTLD_NEXT, "sd_event_add_time"))(e, s, clock, usec, accuracy, callback,
                                                                      userdata);
}
