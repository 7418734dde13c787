/* SPDX-License-Identifier: MIT */
/*
 * journal-record.c: a record as "FIELD=value" strings, the form every
 * message of warmd takes before it is sent, and the builder of the plain
 * ones.  Nothing here sends: tests read records field by field.
 *
 * A record grows as fields are added.  The first add that fails is kept in
 * the record, every later one does nothing, and journal_record_end() reports
 * it: a builder adds its fields one after the other and checks once, with
 * no count of what it added to keep up to date.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* Keeps the first error, the one that explains the rest. */
static int record_fail(struct journal_record *rec, int error) {
        if (rec->error == 0)
                rec->error = error;
        return rec->error;
}

int journal_record_begin(struct journal_record *rec, int priority, const char *message_id) {
        *rec = (struct journal_record) { .priority = priority };
        if (message_id)
                journal_record_add(rec, "MESSAGE_ID=%s", message_id);
        journal_record_add(rec, "PRIORITY=%d", priority);
        return journal_record_add(rec, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME);
}

int journal_record_add(struct journal_record *rec, const char *format, ...) {
        char **fields, *s;
        va_list ap;
        int r;

        if (rec->error < 0)
                return rec->error;
        fields = array_grow(rec->fields, rec->n, &rec->allocated, sizeof *rec->fields);
        if (!fields)
                return record_fail(rec, -ENOMEM);
        rec->fields = fields;
        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return record_fail(rec, errno > 0 ? -errno : -ENOMEM);
        rec->fields[rec->n++] = s;
        if (strncmp(s, "MESSAGE=", 8) == 0)
                rec->message = s + 8;
        return 0;
}

int journal_record_end(struct journal_record *rec, struct journal_record *ret) {
        int r = rec->error < 0 ? rec->error : rec->message ? 0 : -EINVAL;

        if (r < 0) {
                journal_record_done(rec);
                return r;
        }
        *ret = *rec;
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
        free(rec->fields);
        *rec = (struct journal_record) {};
}

int journal_build_eventv(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                         const char *format, va_list ap) {
        struct journal_record rec;
        char *msg;

        journal_record_begin(&rec, priority, message_id);
        if (endpoint)
                journal_record_add(&rec, "WARMD_ENDPOINT=%s", endpoint);
        if (vasprintf(&msg, format, ap) < 0)
                record_fail(&rec, errno > 0 ? -errno : -ENOMEM);
        else {
                journal_record_add(&rec, "MESSAGE=%s", msg);
                free(msg);
        }
        return journal_record_end(&rec, ret);
}

int journal_build_event(int priority, const char *message_id, const char *endpoint, struct journal_record *ret,
                        const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = journal_build_eventv(priority, message_id, endpoint, ret, format, ap);
        va_end(ap);
        return r;
}
