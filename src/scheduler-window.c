/* SPDX-License-Identifier: MIT */
/*
 * scheduler-window.c: the boundaries of the endpoints' schedules, on the
 * wall clock.  Each scheduled endpoint has a CLOCK_REALTIME timer at its
 * next boundary; schedule_at() (schedule.c) says what it wants then, and
 * scheduler.c turns that into rounds or sleep.  The rounds between two
 * boundaries stay on scheduler.c's monotonic grid.
 *
 * An absolute CLOCK_REALTIME timer fires when the clock reaches it, also
 * after the clock is set forward or the machine resumes; but when the clock
 * is set back, the boundary computed before may no longer be the next one.
 * A timerfd with TFD_TIMER_CANCEL_ON_SET is told of every clock set, and
 * then every boundary is computed again.  Everything is decided from the
 * time it is now, so a window slept through is never made up for.
 */
#include "config.h"

#include <inttypes.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "scheduler-internal.h"

#define RETRY_USEC (10 * USEC_PER_SEC)  /* when a boundary could not be computed (out of memory) */

static int on_boundary(sd_event_source *src _unused_, uint64_t usec _unused_, void *userdata) {
        window_apply(userdata, false);
        return 0;
}

/*
 * The largest time_t, which the kernel takes as "never": the timer only
 * waits to be cancelled when the clock is set.  (INT32_MAX would expire in
 * 2038, and then again at every arming.)
 */
static int arm_clock_watch(int fd) {
        struct itimerspec its = { .it_value.tv_sec = (time_t) ((UINTMAX_C(1) << (sizeof(time_t) * 8 - 1)) - 1) };

        if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                return -errno;
        return 0;
}

static int on_clock_set(sd_event_source *src, int fd, uint32_t revents _unused_, void *userdata) {
        struct scheduler *s = userdata;
        uint64_t expirations;
        int r;

        /* ECANCELED is the news; the timer must be armed again to hear of the next set. */
        if (read(fd, &expirations, sizeof expirations) < 0 && errno != ECANCELED && errno != EAGAIN)
                return 0;
        r = arm_clock_watch(fd);
        if (r < 0) {
                log_error_errno(r, "Failed to watch for clock changes; schedules follow the clock as it is now");
                (void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
        }
        log_info("The system clock was set; computing the schedules' boundaries again");
        for (size_t i = 0; i < s->n_endpoints; i++)
                if (s->endpoints[i]->cfg->schedule.n > 0)
                        window_apply(s->endpoints[i], false);
        return 0;
}

/* Made with the first schedule, so a configuration without any has no more file descriptors than before. */
static int watch_clock(struct scheduler *s) {
        int fd, r;

        if (s->clock_set)
                return 0;
        fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = arm_clock_watch(fd);
        if (r >= 0)
                r = sd_event_add_io(s->event, &s->clock_set, fd, EPOLLIN, on_clock_set, s);
        if (r < 0) {
                close(fd);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(s->clock_set, true);
        (void) sd_event_source_set_description(s->clock_set, "clock-set");
        return 0;
}

void window_watch_done(struct scheduler *s) {
        s->clock_set = sd_event_source_disable_unref(s->clock_set);
        window_cache_clear(s);
}

void window_cache_clear(struct scheduler *s) {
        schedule_done(&s->window_cache.schedule);
}

/* schedule_at() for ep, or the answer just given for an equal schedule in the same second (and zone: see reload). */
static int point_at(struct endpoint *ep, time_t now, struct schedule_point *ret) {
        struct scheduler *s = ep->sched;
        const struct endpoint_config *cfg = ep->cfg;
        int r;

        if (s->window_cache.schedule.n > 0 && s->window_cache.now == now && s->window_cache.containers == cfg->containers &&
            schedule_equal(&s->window_cache.schedule, &cfg->schedule)) {
                *ret = s->window_cache.point;
                return 0;
        }
        r = schedule_at(&cfg->schedule, cfg->containers, s->config->timezone, now, ret);
        if (r < 0)
                return r;
        /* Out of memory only costs the next endpoint a computation of its own. */
        if (schedule_copy(&s->window_cache.schedule, &cfg->schedule) >= 0) {
                s->window_cache.containers = cfg->containers;
                s->window_cache.now = now;
                s->window_cache.point = *ret;
        }
        return 0;
}

static int arm_boundary(struct endpoint *ep, uint64_t when) {
        int r;

        if (!ep->win.timer) {
                r = sd_event_add_time(ep->sched->event, &ep->win.timer, CLOCK_REALTIME, when, USEC_PER_MSEC,
                                      on_boundary, ep);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(ep->win.timer, "schedule-boundary");
                (void) sd_event_source_set_priority(ep->win.timer, BOUNDARY_TIMER_PRIORITY);
        } else {
                r = sd_event_source_set_time(ep->win.timer, when);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(ep->win.timer, when > 0 ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

void window_apply(struct endpoint *ep, bool fresh) {
        struct scheduler *s = ep->sched;
        const struct endpoint_config *cfg = ep->cfg;
        uint64_t now = now_usec(CLOCK_REALTIME);
        unsigned previous = fresh ? 0 : ep->win.wanted;
        struct schedule_point p;
        char when[64] = "";
        int r;

        if (cfg->schedule.n == 0) {
                /* No schedule (any more): around the clock. */
                if (ep->win.timer)
                        (void) sd_event_source_set_enabled(ep->win.timer, SD_EVENT_OFF);
                ep->win.next_realtime = 0;
                return;
        }
        r = watch_clock(s);
        if (r < 0)
                log_warning("Failed to watch for clock changes (%s); schedules follow the clock as it is now",
                            strerror(-r));
        r = point_at(ep, (time_t) (now / USEC_PER_SEC), &p);
        if (r < 0) {
                /* Only memory can fail here: what the endpoint does stays as it is, and it is tried again soon. */
                log_error_errno(r, "%s: failed to compute the schedule; trying again in 10s", cfg->name);
                p = (struct schedule_point) { .containers = previous, .next = (time_t) ((now + RETRY_USEC) / USEC_PER_SEC) };
        }
        ep->win.next_realtime = p.next > 0 ? (uint64_t) p.next * USEC_PER_SEC : 0;
        r = arm_boundary(ep, ep->win.next_realtime);
        if (r < 0) {
                /* As with a round timer that cannot be armed: the loop ends, and systemd restarts warmd. */
                log_error_errno(r, "%s: failed to arm the schedule's timer; stopping", cfg->name);
                (void) sd_event_exit(s->event, r);
                return;
        }
        ep->win.wanted = p.containers;
        if (!fresh && previous == p.containers)
                return;
        if (p.next > 0)
                (void) schedule_format_time(s->config->timezone, p.next, when, sizeof when);
        scheduler_emit(s, &(struct scheduler_event) {
                .type = SCHEDULER_EVENT_WINDOW,
                .endpoint = cfg,
                .round = ep->round,
                .previous = previous,
                .containers = p.containers,
                .next_realtime = ep->win.next_realtime,
                .next_local = when,
        });
        scheduler_window_changed(ep, previous);
}

void window_catch_up(struct endpoint *ep) {
        if (ep->cfg->schedule.n > 0 && ep->win.next_realtime > 0 && now_usec(CLOCK_REALTIME) >= ep->win.next_realtime)
                window_apply(ep, false);
}

void window_done(struct endpoint *ep) {
        ep->win.timer = sd_event_source_disable_unref(ep->win.timer);
}
