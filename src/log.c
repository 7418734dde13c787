/* SPDX-License-Identifier: MIT */
/*
 * log.c: the daemon's log.  Every record, whether from the journal sink or
 * from any module's log_full() and log_event(), goes out here: to journald
 * through one journal_writer, and as a readable line on stderr unless stderr
 * already is the journal.
 *
 * This is process-wide, as systemd's log.c is, and the journal sink is not.
 * Every module logs, from places that hold no daemon object (config
 * parsing, libcurl callbacks, aws.c's files), and one connection keeps the
 * journal in the order records were written.  The sink is different: only
 * main.c feeds it, and its state (the budget, the records held back) belongs
 * to one daemon and its configuration, so it is an object main.c owns.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal-writer.h"
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

#define EXIT_FLUSH_USEC (500 * USEC_PER_MSEC)   /* at exit, within the 1 s a stop may take */

/* Made when first needed; out of memory, records go to stderr only. */
static struct journal_writer *writer;
static sd_event *writer_event;

static struct journal_writer *writer_get(void) {
        if (!writer && journal_writer_new(JOURNAL_SOCKET, &writer) >= 0 && writer_event)
                journal_writer_set_event(writer, writer_event);
        return writer;
}

void journal_set_event(sd_event *e) {
        writer_event = e;
        if (writer_get())
                journal_writer_set_event(writer, e);
}

void journal_flush(void) {
        if (writer)
                journal_writer_flush(writer, EXIT_FLUSH_USEC);
}

void journal_stats(struct journal_stats *ret) {
        *ret = (struct journal_stats) { .dropped = writer ? journal_writer_dropped(writer) : 0 };
}

void journal_send(const struct journal_record *rec) {
        if (rec->error < 0 || !rec->message)    /* part of a record would mislead: none is sent */
                return;
        if (writer_get())
                journal_writer_send(writer, rec->fields, rec->n);
        if (!stderr_is_journal && rec->priority <= stderr_max_priority)
                fprintf(stderr, "%s\n", rec->message);
}

void log_event(int priority, const char *message_id, const char *endpoint, const char *format, ...) {
        struct journal_record rec;
        va_list ap;
        int r;

        va_start(ap, format);
        r = journal_build_eventv(priority, message_id, endpoint, &rec, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        journal_send(&rec);
        journal_record_done(&rec);
}

int log_full(int priority, int err, const char *format, ...) {
        struct journal_record rec;
        char *msg;
        va_list ap;
        int r;

        if (priority > stderr_max_priority && priority == LOG_DEBUG)
                return -abs(err);

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)              /* the message is lost, but "return log_error_errno(r, ...)" still returns r */
                return -abs(err);

        journal_record_begin(&rec, priority, NULL);
        if (err != 0) {
                journal_record_add(&rec, "ERRNO=%d", abs(err));
                journal_record_add(&rec, "MESSAGE=%s: %s", msg, strerror(abs(err)));
        } else
                journal_record_add(&rec, "MESSAGE=%s", msg);
        journal_send(&rec);
        journal_record_done(&rec);
        free(msg);
        return -abs(err);
}
