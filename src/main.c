/* SPDX-License-Identifier: MIT */
/*
 * main.c: arguments, -n, --once, signals, reload, and exit codes.  Everything
 * else is reached through the scheduler; nothing below main() exits.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "warmd.h"

enum {
        EXIT_OK = 0,
        EXIT_CONFIG = 1,        /* usage or configuration error */
        EXIT_SHORT = 2,         /* --once: an endpoint fell short of N */
        EXIT_RUNTIME = 3,       /* out of memory, event loop or libcurl failure, stdout not written */
};

/* Status updates are coalesced: with thousands of endpoints, rounds end thousands of times a minute. */
#define STATUS_MIN_GAP_USEC USEC_PER_SEC

/* CLOCK_BOOTTIME gained this much on CLOCK_MONOTONIC since the last watchdog check: a suspend. */
#define SUSPEND_MIN_USEC (USEC_PER_SEC / 10)

struct daemon {
        const char *config_path;
        bool once;
        bool json;                      /* --json: what -n and --once print, for scripts */
        struct once_report *once_report;
        bool discover;                  /* --discover: print what the sources find, warm nothing */
        sd_event *event;
        struct auth *auth;              /* the credentials: one of each source for the scheduler and the discovery */
        struct discovery *disc;         /* the sources, and the file's endpoints they join */
        struct scheduler *sched;
        struct journal_sink *journal;
        sd_event_source *status_timer;
        sd_event_source *signals[6];
        uint64_t status_last;
        sd_event_source *metrics_timer;
        uint64_t metrics_last;
        int metrics_error;              /* the last write's error, so a failing file is logged once */
        size_t once_left;               /* --once: endpoints whose round has not ended yet */
        char reload_note[160];
        sd_event_source *watchdog_timer;
        uint64_t watchdog_usec;         /* WatchdogSec= of the service manager; 0: no watchdog */
        uint64_t suspended_usec;        /* CLOCK_BOOTTIME minus CLOCK_MONOTONIC at the last check */
        char watchdog_note[320];        /* why the keep-alives stopped; empty while they go out */
};

static void help(void) {
        printf("Usage: %s [OPTION]...\n"
               "Keep serverless containers warm: every interval, send N overlapping requests\n"
               "to each configured endpoint, and log how many containers were reached.\n"
               "\n"
               "  -c, --config=FILE    read FILE, then FILE.d/*.conf, instead of %s\n"
               "  -n, --check-config   check the configuration, print the files and endpoints\n"
               "                       read and \"configuration OK\", or every error, and exit\n"
               "      --once           run one round of every endpoint now, print a table,\n"
               "                       and exit 0 only if every endpoint reached N\n"
               "      --json           with -n, --once or --discover, print JSON instead\n"
               "      --discover       print the endpoints the tag sources find, warm nothing\n"
               "  -v, --verbose        also log debug messages\n"
               "  -V, --version        print the version and exit\n"
               "  -h, --help           print this help and exit\n"
               "\n"
               "Exit status: 0 success, 1 usage or configuration error, 2 --once fell short\n"
               "of N on some endpoint, 3 runtime failure.  See warmd(8) and warmd.conf(5).\n",
               program_invocation_short_name, SYSCONFDIR "/warmd/warmd.conf");
}

/* ------------------------------------------------------------------ status */

/* A package starts warmd before anyone has written an endpoint: it waits, and says what to do. */
#define IDLE_FORMAT "no endpoints configured: edit %s, then systemctl reload warmd"

/* "; sources: fleet 250, other 3 (2 refresh errors)": the endpoints each source found, and its failures. */
static void sources_status(struct daemon *d, char *buf, size_t size) {
        size_t n = discovery_sources(d->disc), len = strlen(buf);

        for (size_t i = 0; i < n && len < size; i++) {
                struct source_stats st;
                int w;

                discovery_source_stats(d->disc, i, &st);
                w = snprintf(buf + len, size - len, "%s%s %zu", i == 0 ? (len ? "; sources: " : "sources: ") : ", ",
                             st.name, st.endpoints);
                if (w < 0)
                        return;
                len += (size_t) w;
                if (st.refresh_errors > 0 && len < size) {
                        w = snprintf(buf + len, size - len, " (%" PRIu64 " refresh error%s%s)", st.refresh_errors,
                                     st.refresh_errors == 1 ? "" : "s", st.failing ? ", failing" : "");
                        if (w < 0)
                                return;
                        len += (size_t) w;
                }
        }
}

static void status_now(struct daemon *d) {
        struct status_totals t;
        struct journal_stats js;
        char buf[512], extra[256];
        int r;

        scheduler_totals(d->sched, &t);
        journal_stats(&js);
        /* Records lost to a stalled journald are reported in the journal too, once it takes records again. */
        if (js.dropped > 0)
                snprintf(extra, sizeof extra, "%s%s%" PRIu64 " journal record%s dropped", d->reload_note,
                         d->reload_note[0] ? "; " : "", js.dropped, js.dropped == 1 ? "" : "s");
        else
                snprintf(extra, sizeof extra, "%s", d->reload_note);
        sources_status(d, extra, sizeof extra);
        if (t.endpoints == 0 && discovery_base(d->disc)->n_sources == 0) {
                r = snprintf(buf, sizeof buf, IDLE_FORMAT "%s%s", d->config_path, extra[0] ? "; " : "", extra);
                r = r < 0 || (size_t) r >= sizeof buf ? -ENOBUFS : 0;
        } else
                r = notify_status_format(&t, now_usec(ROUND_CLOCK), extra[0] ? extra : NULL, buf, sizeof buf);
        /* Once the watchdog has given up, the status says why first, until the service manager restarts warmd. */
        if (d->watchdog_note[0]) {
                char full[sizeof d->watchdog_note + 2 + sizeof buf];

                snprintf(full, sizeof full, "%s%s%s", d->watchdog_note, r >= 0 ? "; " : "", r >= 0 ? buf : "");
                notify_status(full);
        } else if (r >= 0)
                notify_status(buf);
        d->status_last = now_usec(CLOCK_MONOTONIC);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        status_now(userdata);
        return 0;
}

/*
 * Sinks rewritten after rounds are coalesced: true when a write may happen
 * now, gap after the last one; otherwise the sink's timer is armed for then.
 */
static bool coalesce(sd_event_source *timer, uint64_t last, uint64_t gap) {
        int enabled = SD_EVENT_OFF;
        uint64_t due;

        if (now_usec(CLOCK_MONOTONIC) >= last + gap) {
                /* A write now makes a timer armed for the same moment a second write within gap. */
                (void) sd_event_source_set_enabled(timer, SD_EVENT_OFF);
                return true;
        }
        (void) sd_event_source_get_enabled(timer, &enabled);
        /* The metrics timer may be armed later, for the file's heartbeat: bring it forward. */
        if (enabled == SD_EVENT_OFF || sd_event_source_get_time(timer, &due) < 0 || due > last + gap) {
                (void) sd_event_source_set_time(timer, last + gap);
                (void) sd_event_source_set_enabled(timer, SD_EVENT_ONESHOT);
        }
        return false;
}

/* An endpoint's round ended, or it woke, slept or changed N at a boundary of its schedule. */
static bool changes_totals(const struct scheduler_event *ev) {
        return ev->type == SCHEDULER_EVENT_ROUND || ev->type == SCHEDULER_EVENT_WINDOW;
}

/* The status sink: the STATUS= line, rewritten after rounds and boundaries, but at most once a second. */
static void status_sink(struct daemon *d, const struct scheduler_event *ev) {
        if (d->once || !changes_totals(ev))
                return;
        if (coalesce(d->status_timer, d->status_last, STATUS_MIN_GAP_USEC))
                status_now(d);
}

/* ---------------------------------------------------------------- watchdog */

/*
 * Time spent suspended since boot: CLOCK_MONOTONIC stops then, CLOCK_BOOTTIME
 * does not.  Read in this order, so that it is never negative.
 */
static uint64_t suspended_usec(void) {
        uint64_t mono = now_usec(CLOCK_MONOTONIC);

        return now_usec(CLOCK_BOOTTIME) - mono;
}

/*
 * WATCHDOG=1 says that warmd does its job, not only that its loop turns: it
 * goes out, every half of WatchdogSec= as systemd advises, only while the
 * scheduler finds no endpoint late and curl's sockets watched.  When that
 * fails, warmd says why once, in the journal and the status line, and sends
 * no keep-alive again: the service manager restarts it after WatchdogSec=.
 */
static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        struct daemon *d = userdata;
        uint64_t suspended = suspended_usec();
        char why[sizeof d->watchdog_note - 32];
        int r = 0;

        /*
         * Rounds that fell due during a suspend run at resume, and this check
         * may come before their timers: the first one after a resume only pings.
         */
        if (suspended < d->suspended_usec + SUSPEND_MIN_USEC)
                r = scheduler_check(d->sched, now_usec(ROUND_CLOCK), why, sizeof why);
        d->suspended_usec = suspended;
        if (r < 0) {
                snprintf(d->watchdog_note, sizeof d->watchdog_note, "watchdog keep-alives stopped: %s", why);
                log_event(LOG_ERR, WARMD_MESSAGE_WATCHDOG, NULL,
                          "%s; no more watchdog keep-alives: the service manager will restart warmd", why);
                status_now(d);
                return 0;
        }
        notify_watchdog();
        r = sd_event_source_set_time(s, usec + d->watchdog_usec / 2);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0) {
                /* Without its timer, warmd would be restarted after WatchdogSec= anyway: it stops now, and says why. */
                log_error_errno(r, "Failed to arm the watchdog timer");
                (void) sd_event_exit(d->event, r);
        }
        return 0;
}

/* ----------------------------------------------------------------- metrics */

static void metrics_now(struct daemon *d) {
        const char *path = scheduler_config(d->sched)->metrics_file;
        size_t n = scheduler_endpoints(d->sched);
        size_t n_src = discovery_sources(d->disc);
        struct endpoint_stats *st;
        struct source_stats *src;
        int r = -ENOMEM;

        if (!path)
                return;
        d->metrics_last = now_usec(CLOCK_MONOTONIC);
        st = calloc(n ? n : 1, sizeof *st);
        src = calloc(n_src ? n_src : 1, sizeof *src);
        if (st && src) {
                for (size_t i = 0; i < n; i++)
                        scheduler_endpoint_stats(d->sched, i, &st[i]);
                for (size_t i = 0; i < n_src; i++)
                        discovery_source_stats(d->disc, i, &src[i]);
                r = metrics_write(path, st, n, src, n_src);
        }
        free(st);
        free(src);
        if (r < 0 && r != d->metrics_error)
                log_error_errno(r, "Failed to write the metrics file %s", path);
        else if (r >= 0 && d->metrics_error < 0)
                log_info("Writing the metrics file %s again", path);
        d->metrics_error = r < 0 ? r : 0;
        /*
         * A file that stops changing reads as a daemon that stopped (the alert rules' WarmdMetricsStale), so
         * it is rewritten also when no round ends for long: every endpoint asleep outside its schedule.
         */
        if (!d->once && d->metrics_timer) {
                (void) sd_event_source_set_time(d->metrics_timer, d->metrics_last + METRICS_MAX_AGE_USEC);
                (void) sd_event_source_set_enabled(d->metrics_timer, SD_EVENT_ONESHOT);
        }
}

static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        metrics_now(userdata);
        return 0;
}

/*
 * The metrics sink: the file is rewritten after rounds and boundaries, at most once a second, and at least
 * every METRICS_MAX_AGE_USEC (metrics_now()); --once writes it at the end.
 */
static void metrics_sink(struct daemon *d, const struct scheduler_event *ev) {
        if (d->once || !changes_totals(ev) || !scheduler_config(d->sched)->metrics_file)
                return;
        if (coalesce(d->metrics_timer, d->metrics_last, METRICS_MIN_GAP_USEC))
                metrics_now(d);
}

/* ----------------------------------------------------------------- events */

/* --once ends when every endpoint has finished its round. */
static void once_sink(struct daemon *d, const struct scheduler_event *ev) {
        if (!d->once)
                return;
        once_report_event(d->once_report, ev);
        if (ev->type != SCHEDULER_EVENT_ROUND || d->once_left == 0)
                return;
        if (--d->once_left == 0)
                (void) sd_event_exit(d->event, 0);
}

/* Every event of the scheduler arrives here and goes out to each sink. */
static void on_event(void *userdata, const struct scheduler_event *ev) {
        struct daemon *d = userdata;

        journal_sink_event(d->journal, ev);
        discovery_event(d->disc, ev);
        status_sink(d, ev);
        metrics_sink(d, ev);
        once_sink(d, ev);
}

/* ------------------------------------------------------------------ config */

/* A round of N requests needs N sockets; the unit's LimitNOFILE sets the hard limit. */
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning("Could not raise the open file limit to %llu: %m", (unsigned long long) rl.rlim_max);
}

/* The file descriptors that rounds under a configuration can take at once, and why. */
struct fd_need {
        unsigned long total;
        unsigned in_flight;             /* requests and probes at once: max_parallel, or all there are */
        unsigned lookups;               /* host name lookups at once */
        unsigned own;                   /* warmd's own, requests and lookups aside */
        const struct endpoint_config *largest;  /* the largest round; NULL without endpoints */
        unsigned largest_containers;    /* its N, the largest of its schedule's windows */
};

/*
 * Descriptors warmd holds outside http.c's transfers: measured 8 at idle
 * (the standard streams, sd-event's epoll set, signalfd and two timerfds,
 * http.c's epoll set), plus the journal's socket and sd_notify's.
 */
#define DAEMON_FDS 10U

/*
 * The busiest moment rounds can have: every round due at once, each starting
 * with its probe when its host is a name (a probe takes a slot too), all of
 * it capped by max_parallel.  Each endpoint with a host name has at most one
 * lookup going, since its requests follow their probe.
 */
static void fds_needed(const struct config *c, struct fd_need *ret) {
        unsigned long requests = 0;
        struct fd_need n = { .own = DAEMON_FDS + (unsigned) http_fds_needed(0, 0) };

        for (size_t i = 0; i < c->n_endpoints; i++) {
                const struct endpoint_config *ep = c->endpoints[i];
                /* A schedule's window may ask for more than containers. */
                unsigned most = schedule_containers_max(&ep->schedule, ep->containers);

                requests += most + !ep->host_is_address;
                n.lookups += !ep->host_is_address;
                if (!n.largest || most > n.largest_containers) {
                        n.largest = ep;
                        n.largest_containers = most;
                }
        }
        n.in_flight = requests < c->max_parallel ? (unsigned) requests : c->max_parallel;
        if (n.lookups > n.in_flight)
                n.lookups = n.in_flight;
        n.total = DAEMON_FDS + http_fds_needed(n.in_flight, n.lookups);
        *ret = n;
}

/*
 * A request that finds no free descriptor fails with EMFILE and is not sent.
 * Say so when a configuration is loaded, at start and at every reload, with
 * the numbers, rather than let rounds fall short for no visible reason.
 */
static void check_fd_limit(const struct config *c) {
        struct journal_record rec;
        struct fd_need need;
        struct rlimit rl;

        raise_nofile();
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return;
        fds_needed(c, &need);
        if (need.total <= rl.rlim_cur || !need.largest)
                return;
        if (journal_build_event(LOG_WARNING, WARMD_MESSAGE_FD_LIMIT, NULL, &rec,
                                "Rounds can need %lu file descriptors at once, more than the limit of %llu "
                                "(RLIMIT_NOFILE): %u requests in flight (max_parallel=%u; the largest round, "
                                "[%s], has %u), %u host name lookups (2 each) and %u for warmd itself. Requests over the "
                                "limit fail with EMFILE and are not sent: raise LimitNOFILE= to at least %lu, "
                                "or lower max_parallel",
                                need.total, (unsigned long long) rl.rlim_cur, need.in_flight, c->max_parallel,
                                need.largest->name, need.largest_containers, need.lookups, need.own,
                                need.total) < 0)
                return;
        if (journal_record_add(&rec, "WARMD_FDS_NEEDED=%lu", need.total) >= 0 &&
            journal_record_add(&rec, "WARMD_FDS_LIMIT=%llu", (unsigned long long) rl.rlim_cur) >= 0)
                journal_send(&rec);
        journal_record_done(&rec);
}


static void log_config_loaded(struct daemon *d, const struct config *c) {
        struct journal_record rec;
        size_t containers = config_total_containers(c), dropins = c->n_files > 0 ? c->n_files - 1 : 0;
        char with[64] = "";

        if (dropins > 0)
                snprintf(with, sizeof with, " and %zu drop-in%s", dropins, dropins == 1 ? "" : "s");
        if (journal_build_event(LOG_INFO, WARMD_MESSAGE_CONFIG_LOADED, NULL, &rec,
                                "Loaded %s%s: %zu endpoint%s, %zu container%s", c->path, with, c->n_endpoints,
                                c->n_endpoints == 1 ? "" : "s", containers, containers == 1 ? "" : "s") < 0)
                return;
        if (journal_record_add(&rec, "WARMD_CONFIG=%s", c->path) >= 0 &&
            journal_record_add(&rec, "WARMD_CONFIG_FILES=%zu", c->n_files) >= 0 &&
            journal_record_add(&rec, "WARMD_ENDPOINTS=%zu", c->n_endpoints) >= 0 &&
            journal_record_add(&rec, "WARMD_CONTAINERS=%zu", containers) >= 0)
                journal_send(&rec);
        journal_record_done(&rec);
        /* With sources, what they find comes later: not idle. */
        if (c->n_endpoints == 0 && discovery_base(d->disc)->n_sources == 0)
                log_event(LOG_NOTICE, WARMD_MESSAGE_IDLE, NULL, IDLE_FORMAT, c->path);
}

static int load(const char *path, unsigned flags, bool to_log, struct config **ret) {
        struct config_errors errors = {};
        int r;

        r = config_load(path, flags, ret, &errors);
        for (size_t i = 0; i < errors.n; i++) {
                if (to_log)
                        log_error("%s", errors.lines[i]);
                else
                        fprintf(stderr, "%s\n", errors.lines[i]);
        }
        if (r == -ENOMEM)
                log_error_errno(r, "Failed to load %s", path);
        config_errors_clear(&errors);
        return r;
}

/*
 * The file's endpoints with what the sources found, to the scheduler, which
 * keeps what did not change; the credentials they and the sources need are
 * started first, and those neither needs any more are let go after.  With a
 * plan (a reload's sources), the discovery takes it only once the scheduler
 * has taken the set: a reload that fails leaves both as they were.  Takes
 * plan.
 */
static int apply_discovered(struct daemon *d, struct discovery_plan *plan) {
        const struct config *base = plan ? discovery_plan_base(plan) : discovery_base(d->disc);
        struct config *c = NULL;
        int r;

        r = discovery_config(d->disc, plan, &c);
        if (r >= 0)
                r = auth_prepare(d->auth, (const struct config *[]) { c, base }, 2);
        if (r >= 0)
                r = scheduler_apply_config(d->sched, c);
        if (r < 0) {
                config_free(c);
                discovery_plan_free(plan);
                return r;
        }
        discovery_commit(d->disc, plan);
        auth_forget(d->auth, (const struct config *[]) { scheduler_config(d->sched), discovery_base(d->disc) }, 2);
        journal_sink_set_config(d->journal, scheduler_config(d->sched));
        return 0;
}

static bool endpoint_busy(void *userdata, const char *name) {
        struct daemon *d = userdata;

        return d->sched && scheduler_endpoint_busy(d->sched, name);
}

/* A source's refresh ended: in the daemon, its endpoints are warmed from now on. */
static void on_discovered(void *userdata) {
        struct daemon *d = userdata;
        int r;

        if (!d->sched || d->once || d->discover)
                return;
        r = apply_discovered(d, NULL);
        if (r < 0)
                log_error_errno(r, "Failed to apply the endpoints the sources found");
        else
                check_fd_limit(scheduler_config(d->sched));
        metrics_now(d);
        status_now(d);
}

static void reload(struct daemon *d) {
        struct discovery_plan *plan;
        struct config *c = NULL;
        char when[16] = "";
        time_t now = time(NULL);
        struct tm tm;
        int r;

        notify_reloading();
        if (localtime_r(&now, &tm))
                strftime(when, sizeof when, "%H:%M:%S", &tm);

        r = load(d->config_path, 0, true, &c);
        if (r >= 0) {
                /* The sources are read again; until they answer, each keeps what it found, if it did not change. */
                r = discovery_plan_new(d->disc, c, &plan);
                if (r < 0)
                        config_free(c);
                else
                        r = apply_discovered(d, plan);
                if (r >= 0)
                        discovery_start(d->disc);
                else
                        log_error_errno(r, "Failed to apply %s", d->config_path);
        }
        if (r < 0) {
                log_event(LOG_ERR, WARMD_MESSAGE_RELOAD_FAILED, NULL,
                          "Reload of %s rejected; still running the previous configuration", d->config_path);
                snprintf(d->reload_note, sizeof d->reload_note,
                         "reload failed at %s, running previous configuration (see journalctl -u warmd)", when);
        } else {
                d->reload_note[0] = '\0';
                journal_sink_set_config(d->journal, scheduler_config(d->sched));
                log_config_loaded(d, scheduler_config(d->sched));
                check_fd_limit(scheduler_config(d->sched));
                /* Removed endpoints leave the file now, and a new metrics_file exists from the start. */
                metrics_now(d);
        }
        status_now(d);
        /* READY=1 whatever the outcome: the reload is over, and warmd still runs. */
        notify_ready();
}

/* ----------------------------------------------------------------- signals */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct daemon *d = userdata;
        int r;

        if (si->ssi_signo == SIGHUP) {
                if (!d->once && d->sched)
                        reload(d);
                return 0;
        }
        if (si->ssi_signo != SIGTERM && si->ssi_signo != SIGINT) {
                log_notice("Ignoring SIG%s from pid %" PRIu32 ": warmd has no use for it",
                           sigabbrev_np((int) si->ssi_signo), si->ssi_pid);
                return 0;
        }
        notify_stopping();
        log_event(LOG_INFO, WARMD_MESSAGE_STOP, NULL, "Stopping on %s", strsignal((int) si->ssi_signo));
        /* In-flight requests are aborted when the scheduler is freed, not awaited. */
        r = sd_event_exit(d->event, 0);
        if (r < 0)
                log_error_errno(r, "Failed to stop the event loop on %s", strsignal((int) si->ssi_signo));
        return 0;
}

/* ---------------------------------------------------------------- --once */

static int print_once(struct daemon *d) {
        bool short_of_n = false;
        int r;

        r = once_report_print(stdout, d->once_report, d->sched, d->json, &short_of_n);
        if (r < 0) {
                log_error_errno(r, "Failed to print the round");
                return EXIT_RUNTIME;
        }
        return short_of_n ? EXIT_SHORT : EXIT_OK;
}

/* -------------------------------------------------------------------- main */

/*
 * With fds 0-2 closed, the next file or socket opened would take one of them,
 * and whatever warmd prints would go into it: a log line into a connection to
 * the endpoint.  So they are opened on /dev/null before anything else.
 */
static int open_stdio(void) {
        for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
                int n;

                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                n = open("/dev/null", O_RDWR);         /* the lowest free fd: this one */
                if (n < 0)
                        return -errno;
                if (n != fd) {
                        close(n);
                        return -EBADF;
                }
        }
        return 0;
}

/* What warmd prints on stdout is its answer; one that did not get written is an error, not success. */
static int check_stdout(int rc) {
        errno = 0;
        if (fflush(stdout) == 0 && !ferror(stdout))
                return rc;
        fprintf(stderr, "%s: failed to write to standard output: %s\n", program_invocation_short_name,
                strerror(errno > 0 ? errno : EIO));
        return EXIT_RUNTIME;
}

/*
 * The event loop, its signal sources, and the status, metrics and watchdog
 * timers; freed by run() whatever happens.
 *
 * What a failure in a callback means is the callback's own decision.
 * libsystemd's default, for a callback that returns a negative errno, is to
 * disable its source with only a debug message and to go on without it: a
 * warmd that would never warm again, yet looks alive.  So every callback of
 * warmd's returns 0, and either logs and goes on, when the failure costs a
 * request, a round or a status line; or ends the loop with
 * sd_event_exit(event, -errno), when it stops the warming for good (a round
 * or watchdog timer that cannot be armed, curl's sockets or timer failing):
 * warmd then exits with status 3, which Restart=on-failure restarts.
 */
static int setup_loop(struct daemon *d) {
        /*
         * SIGUSR1, SIGUSR2 and SIGALRM would end warmd without a stop record
         * by default; it has no use for them, and a stray one must not stop
         * the warming, so they are logged and ignored.
         */
        static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
        _Static_assert(ELEMENTSOF(signals) == ELEMENTSOF(((struct daemon *) NULL)->signals), "one source per signal");
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals");

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop");
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = sd_event_add_signal(d->event, &d->signals[i], signals[i], on_signal, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to handle %s", strsignal(signals[i]));
                (void) sd_event_source_set_description(d->signals[i], sigabbrev_np(signals[i]));
        }
        r = sd_event_add_time(d->event, &d->status_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                              on_status_timer, d);
        if (r < 0)
                return log_error_errno(r, "Failed to create the status timer");
        (void) sd_event_source_set_description(d->status_timer, "status-timer");
        (void) sd_event_source_set_enabled(d->status_timer, SD_EVENT_OFF);
        r = sd_event_add_time(d->event, &d->metrics_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                              on_metrics_timer, d);
        if (r < 0)
                return log_error_errno(r, "Failed to create the metrics timer");
        (void) sd_event_source_set_description(d->metrics_timer, "metrics-timer");
        (void) sd_event_source_set_enabled(d->metrics_timer, SD_EVENT_OFF);

        /* Not sd_event_set_watchdog(): that would ping whenever the loop turns, rounds or not. */
        if (!d->once && sd_watchdog_enabled(false, &d->watchdog_usec) > 0) {
                d->suspended_usec = suspended_usec();
                r = sd_event_add_time_relative(d->event, &d->watchdog_timer, CLOCK_MONOTONIC, d->watchdog_usec / 2,
                                               USEC_PER_MSEC, on_watchdog, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the watchdog timer");
                (void) sd_event_source_set_description(d->watchdog_timer, "watchdog");
                /* Before the round timers: thousands of rounds due at once must not hold back the keep-alive. */
                (void) sd_event_source_set_priority(d->watchdog_timer, SD_EVENT_PRIORITY_IMPORTANT);
        } else
                d->watchdog_usec = 0;
        return 0;
}

/*
 * --once and --discover read every source before anything else: what they
 * find is what is warmed, or printed.  The loop runs until each source has
 * ended its first refresh, well or not, or a signal stops warmd.
 */
static int discover_first(struct daemon *d) {
        int r = 0;

        discovery_start(d->disc);
        while (r >= 0 && !discovery_settled(d->disc)) {
                if (sd_event_get_state(d->event) == SD_EVENT_FINISHED)
                        return -ECANCELED;
                r = sd_event_run(d->event, UINT64_MAX);
        }
        if (r < 0)
                log_error_errno(r, "Event loop failed");
        return r < 0 ? r : 0;
}

/* Takes ownership of c.  Returns the exit status. */
static int run(struct daemon *d, struct config *c) {
        struct config *warm = NULL;
        int r;

        raise_nofile();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                config_free(c);
                log_error("Failed to initialize libcurl");
                return EXIT_RUNTIME;
        }

        r = setup_loop(d);
        if (r >= 0 && d->once && (r = once_report_new(&d->once_report)) < 0)
                log_error_errno(r, "Failed to set up the report");
        if (r >= 0 && (r = journal_sink_new(&d->journal)) < 0)
                log_error_errno(r, "Failed to set up the journal sink");
        if (r >= 0) {
                journal_set_event(d->event);
                r = auth_new(d->event, &d->auth);
                if (r >= 0)
                        r = discovery_new(d->event, d->auth, on_discovered, endpoint_busy, d, &d->disc);
                if (r >= 0 && (r = discovery_set_config(d->disc, c)) >= 0)
                        c = NULL;       /* the discovery's now: the file's endpoints, and its sources */
                if (r < 0)
                        log_error_errno(r, "Failed to set up the sources");
        }
        if (r >= 0 && (d->once || d->discover))
                r = discover_first(d);
        if (r >= 0 && d->discover) {
                r = check_stdout(discovery_print(d->disc, stdout, d->json) < 0 ? EXIT_RUNTIME : EXIT_OK);
                goto done;
        }
        if (r >= 0 && ((r = discovery_config(d->disc, NULL, &warm)) < 0 ||
                       (r = auth_prepare(d->auth, (const struct config *[]) { warm, discovery_base(d->disc) }, 2)) < 0))
                log_error_errno(r, "Failed to set up the endpoints");
        if (r >= 0) {
                d->once_left = warm->n_endpoints;
                r = scheduler_new(d->event, d->auth, warm, d->once ? SCHEDULER_ONE_ROUND : 0, on_event, d, &d->sched);
                if (r < 0)
                        log_error_errno(r, "Failed to set up the endpoints");
                else {
                        warm = NULL;    /* the scheduler's now */
                        discovery_commit(d->disc, NULL);
                }
        }
        if (r >= 0) {
                log_event(LOG_INFO, WARMD_MESSAGE_START, NULL, "%s %s starting%s", PACKAGE_NAME, PACKAGE_VERSION,
                          d->once ? " one round" : "");
                journal_sink_set_config(d->journal, scheduler_config(d->sched));
                log_config_loaded(d, scheduler_config(d->sched));
                check_fd_limit(scheduler_config(d->sched));
                r = scheduler_start(d->sched);
        }
        if (r >= 0 && !d->once)
                discovery_start(d->disc);
        if (r >= 0 && !(d->once && scheduler_config(d->sched)->n_endpoints == 0)) {
                if (!d->once) {
                        /* Unless a boundary at start wrote them already: at most once a second still. */
                        if (d->status_last == 0)
                                status_now(d);
                        if (d->metrics_last == 0)
                                metrics_now(d);
                        notify_ready();
                }
                r = sd_event_loop(d->event);
                if (r < 0)
                        log_error_errno(r, "Event loop failed");
        }

        if (r >= 0 && d->once) {
                metrics_now(d);
                r = print_once(d);
                /* A source not read has warmed none of its functions: short of what the file asks. */
                if (r == EXIT_OK && !discovery_listed(d->disc))
                        r = EXIT_SHORT;
                r = check_stdout(r);
        } else if (r >= 0)
                r = EXIT_OK;
        else
                r = EXIT_RUNTIME;
done:
        config_free(c);
        config_free(warm);
        d->sched = scheduler_free(d->sched);
        d->once_report = once_report_free(d->once_report);
        d->disc = discovery_free(d->disc);
        d->auth = auth_free(d->auth);
        d->status_timer = sd_event_source_disable_unref(d->status_timer);
        d->watchdog_timer = sd_event_source_disable_unref(d->watchdog_timer);
        d->metrics_timer = sd_event_source_disable_unref(d->metrics_timer);
        for (size_t i = 0; i < ELEMENTSOF(d->signals); i++)
                d->signals[i] = sd_event_source_disable_unref(d->signals[i]);
        journal_flush();
        journal_set_event(NULL);
        d->journal = journal_sink_free(d->journal);
        d->event = sd_event_unref(d->event);
        curl_global_cleanup();
        return r;
}

int main(int argc, char *argv[]) {
        enum { ARG_ONCE = 0x100, ARG_JSON, ARG_DISCOVER };
        static const struct option options[] = {
                { "config",       required_argument, NULL, 'c' },
                { "check-config", no_argument,       NULL, 'n' },
                { "once",         no_argument,       NULL, ARG_ONCE },
                { "json",         no_argument,       NULL, ARG_JSON },
                { "discover",     no_argument,       NULL, ARG_DISCOVER },
                { "verbose",      no_argument,       NULL, 'v' },
                { "version",      no_argument,       NULL, 'V' },
                { "help",         no_argument,       NULL, 'h' },
                {}
        };
        struct daemon d = { .config_path = SYSCONFDIR "/warmd/warmd.conf" };
        bool check = false, verbose = false;
        struct config *c = NULL;
        int opt, r;

        if (open_stdio() < 0)
                return EXIT_RUNTIME;    /* with no stderr, nothing to say it on */

        while ((opt = getopt_long(argc, argv, "c:nvVh", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        d.config_path = optarg;
                        break;
                case 'n':
                        check = true;
                        break;
                case ARG_ONCE:
                        d.once = true;
                        break;
                case ARG_JSON:
                        d.json = true;
                        break;
                case ARG_DISCOVER:
                        d.discover = true;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'V':
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return check_stdout(EXIT_OK);
                case 'h':
                        help();
                        return check_stdout(EXIT_OK);
                default:
                        fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
                        return EXIT_CONFIG;
                }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help' for more information.\n",
                        program_invocation_short_name, argv[optind], program_invocation_short_name);
                return EXIT_CONFIG;
        }
        if (check + d.once + d.discover > 1) {
                fprintf(stderr, "%s: only one of --check-config, --once and --discover can be given\n",
                        program_invocation_short_name);
                return EXIT_CONFIG;
        }
        if (d.json && !check && !d.once && !d.discover) {
                fprintf(stderr, "%s: --json needs --check-config, --once or --discover\n", program_invocation_short_name);
                return EXIT_CONFIG;
        }

        log_setup();
        log_set_verbose(verbose);

        if (check) {
                r = load(d.config_path, CONFIG_CREDENTIALS_OPTIONAL, false, &c);
                if (r < 0)
                        return r == -ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
                r = report_config(stdout, c, d.json, time(NULL));
                config_free(c);
                if (r < 0) {
                        log_error_errno(r, "Failed to print the configuration");
                        return EXIT_RUNTIME;
                }
                return check_stdout(EXIT_OK);
        }

        r = load(d.config_path, 0, true, &c);
        if (r < 0)
                return r == -ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
        return run(&d, c);
}
