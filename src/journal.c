/* SPDX-License-Identifier: MIT */
/*
 * journal.c: the log sink.  Records are built as "FIELD=value" lists by pure
 * functions (so tests need no journal), then sent with sd_journal_sendv() and,
 * unless stderr already is the journal, printed on stderr as readable lines.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "warmd.h"

static bool stderr_is_journal;
static int stderr_max_priority = LOG_INFO;

/* Under systemd, stderr is connected to the journal already: printing there too would log every event twice. */
void log_setup(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
                stderr_is_journal = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_verbose(bool v) {
        stderr_max_priority = v ? LOG_DEBUG : LOG_INFO;
}

int journal_record_add(struct journal_record *rec, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        if (rec->n >= ELEMENTSOF(rec->fields))
                return -E2BIG;
        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        rec->fields[rec->n++] = s;
        if (strncmp(s, "MESSAGE=", 8) == 0)
                rec->message = s + 8;
        return 0;
}

const char *journal_record_get(const struct journal_record *rec, const char *field) {
        size_t l = strlen(field);

        for (size_t i = 0; i < rec->n; i++)
                if (strncmp(rec->fields[i], field, l) == 0 && rec->fields[i][l] == '=')
                        return rec->fields[i] + l + 1;
        return NULL;
}

void journal_record_done(struct journal_record *rec) {
        for (size_t i = 0; i < rec->n; i++)
                free(rec->fields[i]);
        *rec = (struct journal_record) {};
}

static int record_begin(struct journal_record *rec, int priority, const char *message_id) {
        *rec = (struct journal_record) { .priority = priority };
        if (journal_record_add(rec, "MESSAGE_ID=%s", message_id) < 0 ||
            journal_record_add(rec, "PRIORITY=%d", priority) < 0 ||
            journal_record_add(rec, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME) < 0)
                return -ENOMEM;
        return 0;
}

/* All adds are checked once at the end: a failed add leaves rec->n short, never a hole. */
static int record_end(struct journal_record *rec, size_t expected, int r) {
        if (r < 0 || rec->n != expected || !rec->message) {
                journal_record_done(rec);
                return r < 0 ? r : -ENOMEM;
        }
        return 0;
}

int journal_build_request(const struct endpoint_config *ep, uint64_t round, const struct result *res,
                          struct journal_record *ret) {
        struct journal_record rec;
        char what[64 + INSTANCE_MAX];
        size_t expected = 0;
        int r;

        /* A note is a field the handler was asked for and did not give: worth the operator's notice too. */
        r = record_begin(&rec, res->ok && !res->note[0] ? LOG_INFO : LOG_NOTICE, WARMD_MESSAGE_REQUEST);
        expected += 3;

        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_URL=%s", ep->url);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_REUSED=%s", reuse_to_string(res->reuse));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_DURATION_MS=%" PRIu64, usec_to_msec(res->total_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_CONNECT_MS=%" PRIu64, usec_to_msec(res->connect_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_TTFB_MS=%" PRIu64, usec_to_msec(res->ttfb_usec));
        expected += 7;
        if (res->reuse_guessed) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_REUSE_GUESSED=1");
                expected++;
        }
        if (res->instance[0]) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_INSTANCE=%s", res->instance);
                expected++;
        }
        if (res->http_status > 0) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_HTTP_STATUS=%ld", res->http_status);
                expected++;
        }
        if (res->error[0]) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_ERROR=%s", res->error);
                expected++;
        }
        if (res->note[0]) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_NOTE=%s", res->note);
                expected++;
        }

        snprintf(what, sizeof what, "%s%s%s%s", reuse_to_string(res->reuse), res->reuse_guessed ? " (guessed)" : "",
                 res->instance[0] ? ", instance " : "", res->instance);
        if (res->http_status == 0)
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": failed after %" PRIu64 " ms: %s",
                                                   ep->name, round, usec_to_msec(res->total_usec), res->error);
        else if (!res->ok)
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": %s, failed: %s in %" PRIu64 " ms",
                                                   ep->name, round, what, res->error, usec_to_msec(res->total_usec));
        else
                r = r < 0 ? r : journal_record_add(&rec, "MESSAGE=%s round %" PRIu64 ": %s, HTTP %ld in %" PRIu64 " ms%s%s%s",
                                                   ep->name, round, what, res->http_status, usec_to_msec(res->total_usec),
                                                   res->note[0] ? " (" : "", res->note, res->note[0] ? ")" : "");
        expected++;

        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
}

int journal_build_round(const struct endpoint_config *ep, uint64_t round, const struct summary *s,
                        struct journal_record *ret) {
        bool short_of_n = s->reached < s->containers;
        struct journal_record rec;
        size_t expected = 0;
        int r;

        r = record_begin(&rec, short_of_n ? LOG_WARNING : LOG_INFO,
                         short_of_n ? WARMD_MESSAGE_SHORT : WARMD_MESSAGE_ROUND);
        expected += 3;
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", ep->name);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_URL=%s", ep->url);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_ROUND=%" PRIu64, round);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_CONTAINERS=%u", s->containers);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_SENT=%u", s->sent);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_OK=%u", s->ok);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_FAILED=%u", s->failed);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_WARM=%u", s->warm);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_COLD=%u", s->cold);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_UNKNOWN=%u", s->unknown);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_REACHED=%u", s->reached);
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_P50_MS=%" PRIu64, usec_to_msec(s->p50_usec));
        r = r < 0 ? r : journal_record_add(&rec, "WARMD_MAX_MS=%" PRIu64, usec_to_msec(s->max_usec));
        expected += 13;
        if (s->instances_known) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_INSTANCES=%u", s->instances);
                expected++;
        }
        r = r < 0 ? r : journal_record_add(&rec,
                        "MESSAGE=%s round %" PRIu64 ": %u of %u reached (%u warm, %u cold, %u unknown, %u failed), "
                        "p50 %" PRIu64 " ms, max %" PRIu64 " ms%s",
                        ep->name, round, s->reached, s->containers, s->warm, s->cold, s->unknown, s->failed,
                        usec_to_msec(s->p50_usec), usec_to_msec(s->max_usec),
                        s->guessed > 0 ? " (reuse guessed from timing)" : "");
        expected++;

        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
}

static int build_event_v(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                         const char *format, va_list ap) _printf_(5, 0);
static int build_event_v(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                         const char *format, va_list ap) {
        struct journal_record rec;
        size_t expected = 4;
        char *msg;
        int r;

        r = record_begin(&rec, priority, message_id);
        if (endpoint) {
                r = r < 0 ? r : journal_record_add(&rec, "WARMD_ENDPOINT=%s", endpoint);
                expected++;
        }
        if (r >= 0) {
                if (vasprintf(&msg, format, ap) < 0)
                        r = -ENOMEM;
                else {
                        r = journal_record_add(&rec, "MESSAGE=%s", msg);
                        free(msg);
                }
        }
        r = record_end(&rec, expected, r);
        if (r < 0)
                return r;
        *ret = rec;
        return 0;
}

int journal_build_event(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                        const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = build_event_v(priority, message_id, endpoint, ret, format, ap);
        va_end(ap);
        return r;
}

void journal_send(const struct journal_record *rec) {
        struct iovec iov[JOURNAL_FIELDS_MAX];

        for (size_t i = 0; i < rec->n; i++)
                iov[i] = (struct iovec) { .iov_base = rec->fields[i], .iov_len = strlen(rec->fields[i]) };
        /* Its return value says nothing useful: it succeeds even when no journald listens. */
        (void) sd_journal_sendv(iov, (int) rec->n);

        if (!stderr_is_journal && rec->priority <= stderr_max_priority && rec->message)
                fprintf(stderr, "%s\n", rec->message);
}

void log_event(int priority, const char *message_id, const char *endpoint, const char *format, ...) {
        struct journal_record rec;
        va_list ap;
        int r;

        va_start(ap, format);
        r = build_event_v(priority, message_id, endpoint, &rec, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        journal_send(&rec);
        journal_record_done(&rec);
}

int log_full(int priority, int err, const char *format, ...) {
        char *msg = NULL;
        va_list ap;
        int r;

        if (priority > stderr_max_priority && priority == LOG_DEBUG)
                return -abs(err);

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (err != 0)
                sd_journal_send("MESSAGE=%s: %s", msg, strerror(abs(err)), "PRIORITY=%d", priority,
                                "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME, "ERRNO=%d", abs(err), NULL);
        else
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME,
                                NULL);

        if (!stderr_is_journal && priority <= stderr_max_priority) {
                if (err != 0)
                        fprintf(stderr, "%s: %s\n", msg, strerror(abs(err)));
                else
                        fprintf(stderr, "%s\n", msg);
        }
        free(msg);
        return -abs(err);
}
