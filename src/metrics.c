/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: the Prometheus sink.  A file in the text exposition format for
 * node_exporter's textfile collector, formatted by a pure function and
 * replaced atomically: written under a name the collector ignores (it reads
 * only *.prom), then renamed over the old one, so a scrape sees the old file
 * or the new one, never half of one.
 *
 * Labels name the endpoint only: a URL can hold a secret, and instance ids
 * change with every container, which would make a new series each time.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The escapes the exposition format defines for a label value. */
static void put_label(FILE *f, const char *v) {
        for (; *v; v++)
                switch (*v) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                default:
                        fputc(*v, f);
                }
}

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const struct endpoint_stats *st, const char *result, double v) {
        fprintf(f, "%s{endpoint=\"", name);
        put_label(f, st->name);
        if (result)
                fprintf(f, "\",result=\"%s", result);
        fprintf(f, "\"} %.15g\n", v);
}

static double seconds(uint64_t usec) {
        return (double) usec / (double) USEC_PER_SEC;
}

enum metric {
        M_REACHED,
        M_TARGET,
        M_REQUESTS,
        M_ATTEMPTS,
        M_NEXT_REQUESTS,
        M_P50,
        M_MAX,
        M_LAST,
        M_INTERVAL,
        M_REQUESTS_TOTAL,
        M_ROUNDS_TOTAL,
        M_SHORT_TOTAL,
        M_TOPUPS_TOTAL,
        M_OVERSHOOT_TOTAL,
        M_RECLAIMS_TOTAL,
        M_LIFETIME_MIN,
        M_LIFETIME_MAX,
        M_WANTED,
        M_IN_WINDOW,
        _M_MAX,
};

static const struct metric_def {
        const char *name, *type, *help;
        bool after_round;               /* only once the endpoint has finished a round */
} metrics[_M_MAX] = {
        [M_REACHED]        = { "warmd_round_containers_reached", "gauge",
                               "Distinct containers the last round reached.", true },
        [M_TARGET]         = { "warmd_round_containers_target", "gauge", "Containers the endpoint keeps warm (N).",
                               false },
        [M_REQUESTS]       = { "warmd_round_requests", "gauge", "Requests the last round sent, top-ups included.",
                               true },
        [M_ATTEMPTS]       = { "warmd_round_attempts", "gauge", "Attempts the last round took (1 without top-up).",
                               true },
        [M_NEXT_REQUESTS]  = { "warmd_round_next_requests", "gauge",
                               "Requests the next round starts with, as learned from the last.", false },
        [M_P50]            = { "warmd_round_request_duration_p50_seconds", "gauge",
                               "Median request duration of the last round.", true },
        [M_MAX]            = { "warmd_round_request_duration_max_seconds", "gauge",
                               "Longest request duration of the last round.", true },
        [M_LAST]           = { "warmd_last_round_timestamp_seconds", "gauge",
                               "When the last round ended, in seconds since the epoch.", true },
        [M_INTERVAL]       = { "warmd_interval_seconds", "gauge", "The configured interval between rounds.", false },
        [M_REQUESTS_TOTAL] = { "warmd_requests_total", "counter",
                               "Keep-alive requests by what they found: a warm or cold container, unknown, or a "
                               "failure.", false },
        [M_ROUNDS_TOTAL]   = { "warmd_rounds_total", "counter", "Rounds finished.", false },
        [M_SHORT_TOTAL]    = { "warmd_rounds_short_total", "counter", "Rounds that reached fewer than N containers.",
                               false },
        [M_TOPUPS_TOTAL]   = { "warmd_topups_total", "counter", "Top-up attempts sent after a short first attempt.",
                               false },
        [M_OVERSHOOT_TOTAL] = { "warmd_containers_overshoot_total", "counter",
                                "Distinct containers rounds reached past N: containers woken, and billed, beyond the "
                                "target.", false },
        [M_RECLAIMS_TOTAL] = { "warmd_reclaims_total", "counter",
                               "Rounds that found containers reclaimed since the round before.", false },
        [M_LIFETIME_MIN]   = { "warmd_container_idle_lifetime_min_seconds", "gauge",
                               "Longest idle time containers were seen to survive (a lower bound).", false },
        [M_LIFETIME_MAX]   = { "warmd_container_idle_lifetime_max_seconds", "gauge",
                               "Shortest idle time after which containers were gone (an upper bound).", false },
        [M_WANTED]         = { "warmd_containers_wanted", "gauge",
                               "Containers the endpoint's schedule wants now (0 while it sleeps); N without one.",
                               false },
        [M_IN_WINDOW]      = { "warmd_schedule_in_window", "gauge",
                               "1 inside a window of the endpoint's schedule, or without one; 0 while it sleeps.",
                               false },
};

static void samples(FILE *f, enum metric m, const struct endpoint_stats *st) {
        static const char *const outcomes[_OUTCOME_MAX] = {
                [OUTCOME_WARM] = "warm",
                [OUTCOME_COLD] = "cold",
                [OUTCOME_UNKNOWN] = "unknown",
                [OUTCOME_FAILED] = "failed",
        };
        const char *name = metrics[m].name;

        switch (m) {
        case M_REACHED:
                return sample(f, name, st, NULL, st->last.reached);
        case M_TARGET:
                return sample(f, name, st, NULL, st->containers);
        case M_REQUESTS:
                return sample(f, name, st, NULL, st->last.sent);
        case M_ATTEMPTS:
                return sample(f, name, st, NULL, st->last.attempts);
        case M_NEXT_REQUESTS:
                return sample(f, name, st, NULL, st->next_requests);
        case M_P50:
                return sample(f, name, st, NULL, seconds(st->last.p50_usec));
        case M_MAX:
                return sample(f, name, st, NULL, seconds(st->last.max_usec));
        case M_LAST:
                return sample(f, name, st, NULL, seconds(st->last_round_realtime));
        case M_INTERVAL:
                return sample(f, name, st, NULL, seconds(st->interval_usec));
        case M_REQUESTS_TOTAL:
                for (size_t o = 0; o < _OUTCOME_MAX; o++)
                        sample(f, name, st, outcomes[o], (double) st->requests[o]);
                return;
        case M_ROUNDS_TOTAL:
                return sample(f, name, st, NULL, (double) st->rounds);
        case M_SHORT_TOTAL:
                return sample(f, name, st, NULL, (double) st->short_rounds);
        case M_TOPUPS_TOTAL:
                return sample(f, name, st, NULL, (double) st->topups);
        case M_OVERSHOOT_TOTAL:
                return sample(f, name, st, NULL, (double) st->overshoot);
        case M_RECLAIMS_TOTAL:
                return sample(f, name, st, NULL, (double) st->reclaims);
        case M_LIFETIME_MIN:
                /* An unknown bound is left out rather than written as 0, which would read as "dies at once". */
                if (st->lifetime_min_usec > 0)
                        sample(f, name, st, NULL, seconds(st->lifetime_min_usec));
                return;
        case M_LIFETIME_MAX:
                if (st->lifetime_max_usec > 0)
                        sample(f, name, st, NULL, seconds(st->lifetime_max_usec));
                return;
        case M_WANTED:
                return sample(f, name, st, NULL, st->wanted);
        case M_IN_WINDOW:
                return sample(f, name, st, NULL, st->in_window);
        case _M_MAX:
                break;
        }
}

/* The format wants all samples of a metric together, under one HELP and TYPE. */
int metrics_format(FILE *f, const struct endpoint_stats *st, size_t n) {
        struct journal_stats js;

        header(f, "warmd_build_info", "gauge", "Always 1; the version of warmd as a label.");
        fprintf(f, "warmd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
        /* The journal's own record of a loss may itself be lost while journald stalls: this count is not. */
        journal_stats(&js);
        header(f, "warmd_journal_records_dropped_total", "counter",
               "Journal records that journald did not take (stalled or full), since warmd started.");
        fprintf(f, "warmd_journal_records_dropped_total %" PRIu64 "\n", js.dropped);
        for (size_t m = 0; m < _M_MAX; m++) {
                header(f, metrics[m].name, metrics[m].type, metrics[m].help);
                for (size_t i = 0; i < n; i++)
                        if (st[i].have_round || !metrics[m].after_round)
                                samples(f, (enum metric) m, &st[i]);
        }
        return ferror(f) ? -EIO : 0;
}

/* The discovery sources: what each found, and how often reading it failed. */
int metrics_format_sources(FILE *f, const struct source_stats *src, size_t n) {
        if (n == 0)
                return 0;
        header(f, "warmd_source_endpoints", "gauge",
               "Endpoints the source warms: found at its last successful refresh, less those a static endpoint warms.");
        for (size_t i = 0; i < n; i++) {
                fputs("warmd_source_endpoints{source=\"", f);
                put_label(f, src[i].name);
                fprintf(f, "\"} %zu\n", src[i].endpoints);
        }
        header(f, "warmd_source_refresh_errors_total", "counter", "Refreshes of the source that failed.");
        for (size_t i = 0; i < n; i++) {
                fputs("warmd_source_refresh_errors_total{source=\"", f);
                put_label(f, src[i].name);
                fprintf(f, "\"} %" PRIu64 "\n", src[i].refresh_errors);
        }
        return ferror(f) ? -EIO : 0;
}

int metrics_write(const char *path, const struct endpoint_stats *st, size_t n, const struct source_stats *src,
                  size_t n_src) {
        char *tmp = NULL;
        const char *slash = strrchr(path, '/');
        FILE *f;
        int fd, r;

        /* A dot file next to the target: same file system for rename(), and not a *.prom the collector reads. */
        if (asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int) (slash - path + 1) : 0, path, slash ? slash + 1 : path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                return r;
        }
        /* The unit's UMask=0077 would keep node_exporter, another user, from reading it. */
        if (fchmod(fd, 0644) < 0) {
                r = -errno;
                close(fd);
                goto fail;
        }
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                goto fail;
        }
        r = metrics_format(f, st, n);
        if (r >= 0)
                r = metrics_format_sources(f, src, n_src);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                goto fail;
        /* No fsync: a metrics file lost in a crash is rewritten after the next round, and readers only need rename(). */
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        free(tmp);
        return 0;
fail:
        (void) unlink(tmp);
        free(tmp);
        return r;
}
