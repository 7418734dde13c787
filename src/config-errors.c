/* SPDX-License-Identifier: MIT */
/*
 * config-errors.c: the errors of a configuration load, as "FILE:LINE:
 * message", kept in the order of the files read and of their lines: only
 * the first ERRORS_SHOWN_MAX are kept, the rest counted.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "config-internal.h"

static void add_error_v(struct parser *p, unsigned file, unsigned line, const char *fmt, va_list ap) {
        const char *path = file < p->config->n_files ? p->config->files[file] : p->path;
        char *msg = NULL, *full = NULL;
        size_t lo = 0, hi;
        struct error *last = &p->errors[ERRORS_SHOWN_MAX - 1];
        int r;

        /* Only the first errors in file order are shown; the others are only counted, cheaply. */
        if (p->n_errors == ERRORS_SHOWN_MAX && (file > last->file || (file == last->file && line >= last->line))) {
                p->n_more_errors++;
                return;
        }
        r = vasprintf(&msg, fmt, ap);
        if (r < 0)
                goto oom;
        if (line > 0)
                r = asprintf(&full, "%s:%u: %s", path, line, msg);
        else
                r = asprintf(&full, "%s: %s", path, msg);
        free(msg);
        if (r < 0)
                goto oom;
        if (p->n_errors == ERRORS_SHOWN_MAX) {
                /* An error found late (a missing key) at an earlier line pushes out the last one. */
                free(p->errors[--p->n_errors].text);
                p->n_more_errors++;
        }
        /* After every error at the same line or before it. */
        hi = p->n_errors;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct error *m = &p->errors[mid];

                if (m->file < file || (m->file == file && m->line <= line))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        memmove(p->errors + lo + 1, p->errors + lo, (p->n_errors - lo) * sizeof(struct error));
        p->errors[lo] = (struct error) { file, line, full };
        p->n_errors++;
        return;
oom:
        p->failed_oom = true;
}

void add_error_at(struct parser *p, unsigned line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        add_error_v(p, p->file, line, fmt, ap);
        va_end(ap);
}

/* An error in another file than the one being read: a section's, found once all are read. */
void add_error_in(struct parser *p, unsigned file, unsigned line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        add_error_v(p, file, line, fmt, ap);
        va_end(ap);
}

size_t config_n_errors(const struct parser *p) {
        return p->n_errors + p->n_more_errors;
}

/* Hands the errors kept to the caller, and a last line for those only counted. */
void config_move_errors(struct parser *p, struct config_errors *e) {
        char **l;

        if (config_n_errors(p) == 0)
                return;
        l = calloc(p->n_errors + 1, sizeof(char *));
        if (l && p->n_more_errors > 0 &&
            asprintf(&l[p->n_errors], "%s: and %zu more error%s", p->config->path, p->n_more_errors,
                     p->n_more_errors == 1 ? "" : "s") < 0) {
                free(l);
                l = NULL;
        }
        if (!l) {
                p->failed_oom = true;
                return;
        }
        for (size_t i = 0; i < p->n_errors; i++)
                l[i] = p->errors[i].text;
        e->lines = l;
        e->n = p->n_errors + (p->n_more_errors > 0);
        e->n_more = p->n_more_errors;
        p->n_errors = p->n_more_errors = 0;
}

void config_errors_clear(struct config_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->lines[i]);
        free(e->lines);
        *e = (struct config_errors) {};
}
