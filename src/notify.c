/* SPDX-License-Identifier: MIT */
/*
 * notify.c: the service manager sink.  sd_notify() messages, the STATUS line
 * that "systemctl status warmd" shows, and when the watchdog calls a round
 * late, each decided by a pure function.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "warmd.h"

int notify_status_format(const struct status_totals *t, uint64_t now_mono, const char *extra, char *buf,
                         size_t size) {
        char when[16] = "", next[32];
        size_t n;
        int r;

        r = snprintf(buf, size, "%u endpoint%s, %u container%s", t->endpoints, t->endpoints == 1 ? "" : "s",
                     t->containers, t->containers == 1 ? "" : "s");
        if (r < 0 || (size_t) r >= size)
                return -ENOBUFS;
        n = (size_t) r;

        if (t->have_round) {
                time_t sec = (time_t) (t->last_round_realtime / USEC_PER_SEC);
                struct tm tm;

                if (localtime_r(&sec, &tm))
                        strftime(when, sizeof when, "%H:%M:%S", &tm);
                r = snprintf(buf + n, size - n, "; last round %s: %u/%u reached (%u warm, %u cold, %u failed)", when,
                             t->reached, t->round_containers, t->warm, t->cold, t->failed);
        } else
                r = snprintf(buf + n, size - n, "; first round running");
        if (r < 0 || (size_t) r >= size - n)
                return -ENOBUFS;
        n += (size_t) r;

        if (t->next_usec > 0) {
                if (t->next_usec > now_mono)
                        (void) format_duration(t->next_usec - now_mono, DURATION_ROUNDED, next, sizeof next);
                r = snprintf(buf + n, size - n, "; next %s%s", t->next_usec > now_mono ? "in " : "",
                             t->next_usec > now_mono ? next : "now");
                if (r < 0 || (size_t) r >= size - n)
                        return -ENOBUFS;
                n += (size_t) r;
        }

        /* Endpoints outside their schedule's windows, and when the first wakes, in the schedules' zone. */
        if (t->sleeping > 0) {
                time_t sec = (time_t) (t->wake_realtime / USEC_PER_SEC);
                char wake[48] = "";
                struct tm tm;

                if (t->wake_realtime > 0 && localtime_r(&sec, &tm))
                        strftime(wake, sizeof wake, ", next wakes %a %H:%M %Z", &tm);
                r = snprintf(buf + n, size - n, "; %u sleeping%s", t->sleeping, wake);
                if (r < 0 || (size_t) r >= size - n)
                        return -ENOBUFS;
                n += (size_t) r;
        }

        /* What warmd has learned about idle lifetimes, once containers have been seen to die between rounds. */
        if (t->reclaim_endpoints > 0 && t->reclaim_name) {
                char lo[32], hi[32], life[80], suggest[32];

                (void) format_duration(t->reclaim_min_usec, DURATION_ROUNDED, lo, sizeof lo);
                (void) format_duration(t->reclaim_max_usec, DURATION_ROUNDED, hi, sizeof hi);
                (void) format_duration(t->reclaim_suggest_usec, DURATION_ROUNDED, suggest, sizeof suggest);
                if (t->reclaim_min_usec > 0 && t->reclaim_max_usec > 0)
                        snprintf(life, sizeof life, "%s to %s", lo, hi);
                else if (t->reclaim_max_usec > 0)
                        snprintf(life, sizeof life, "under %s", hi);
                else
                        snprintf(life, sizeof life, "over %s", lo);
                r = snprintf(buf + n, size - n, "; containers reclaimed between rounds on %u endpoint%s (%s: idle "
                             "lifetime %s, suggested interval %s)",
                             t->reclaim_endpoints, t->reclaim_endpoints == 1 ? "" : "s", t->reclaim_name, life,
                             suggest);
                if (r < 0 || (size_t) r >= size - n)
                        return -ENOBUFS;
                n += (size_t) r;
        }

        if (extra) {
                r = snprintf(buf + n, size - n, "; %s", extra);
                if (r < 0 || (size_t) r >= size - n)
                        return -ENOBUFS;
        }
        return 0;
}

void notify_ready(void) {
        (void) sd_notify(false, "READY=1");
}

void notify_reloading(void) {
        char msg[96];

        /* MONOTONIC_USEC lets a newer service manager match READY=1 to this reload. */
        snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec(CLOCK_MONOTONIC));
        (void) sd_notify(false, msg);
}

void notify_stopping(void) {
        (void) sd_notify(false, "STOPPING=1");
}

void notify_status(const char *status) {
        (void) sd_notifyf(false, "STATUS=%s", status);
}

void notify_watchdog(void) {
        (void) sd_notify(false, "WATCHDOG=1");
}

uint64_t watchdog_late(const struct round_clock *c, uint64_t now, char *why, size_t size) {
        const struct endpoint_config *ep = c->cfg;
        uint64_t allowed = ep->interval_usec + ep->jitter_usec + ep->timeout_usec;
        uint64_t timer_late = c->timer_usec > 0 && now > c->timer_usec ? now - c->timer_usec : 0;
        uint64_t answers_late = c->answers_usec > 0 && now > c->answers_usec ? now - c->answers_usec : 0;
        char late[32], limit[32];

        if (MAX(timer_late, answers_late) <= allowed)
                return 0;
        /* Rounded up, so that it never reads as no more than the allowance. */
        (void) format_duration(MAX(timer_late, answers_late) + USEC_PER_SEC / 2 - 1, DURATION_ROUNDED, late, sizeof late);
        (void) format_duration(allowed, DURATION_ROUNDED, limit, sizeof limit);
        if (timer_late >= answers_late)
                snprintf(why, size, "endpoint %s: round %" PRIu64 " is %s late, more than interval + jitter + "
                         "timeout (%s)", ep->name, c->round + 1, late, limit);
        else
                snprintf(why, size, "endpoint %s: round %" PRIu64 " has waited for answers %s past its timeout, "
                         "more than interval + jitter + timeout (%s)", ep->name, c->round, late, limit);
        return MAX(timer_late, answers_late);
}
