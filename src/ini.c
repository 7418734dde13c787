/* SPDX-License-Identifier: MIT */
/*
 * ini.c: reads an INI file line by line, within limits, into sections and
 * keys with their line numbers (see ini.h for the syntax).
 *
 * Written here rather than on libinih, which warmd used before: the inih
 * that distributions ship (Debian's r55, built with its defaults) passes no
 * line number to its handler and does not report section headers, so an
 * empty or duplicate section, and the line of every key, were out of its
 * reach; it returns only the line of the first error; it cuts a section
 * name at 49 characters and splits a line over 199 characters into more
 * lines, both silently (a value cut short, and the rest read as lines of
 * their own, with every later line number off); and a NUL byte ends a value
 * unseen.  Its limits are fixed when the library is built.  A reader of our
 * own had to see every line before inih did, so two parsers read each line;
 * what inih still did, splitting "key = value", is the few lines of
 * parse_key() below, which keep its rules: '=' or ':', blanks as isspace()
 * sees them, and a ';' after a blank starts a comment.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "ini.h"
#include "util.h"

struct ini_file {
        int fd;
        struct ini_limits limits;
        char in[64 * 1024];             /* read ahead */
        size_t in_pos, in_len;
        bool eof;
        int error;                      /* -EFBIG or a read error: the file is not read further */
        uint64_t read;                  /* bytes read from the file */
        uint64_t size;                  /* bytes of it used, plus what ini_count() added */
        unsigned line;
        char *buf;                      /* the line, without leading blanks, as far as limits.line_max */
        size_t len;                     /* its length without trailing blanks, also past limits.line_max */
        size_t nul_column;              /* where the line has its first NUL byte; 0: none */
        char *section;                  /* the last section's name */
        bool in_section;
        char message[96];
};

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

int ini_open(const char *path, const struct ini_limits *limits, struct ini_file **ret) {
        struct ini_file *f;
        int fd;

        /*
         * Opening a FIFO without a writer would block (a reload, the whole event loop) until one comes:
         * opened without blocking, such a FIFO reads as empty.  A pipe with a writer, as from a shell's
         * <(...), is then read as it comes.
         */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fcntl(fd, F_SETFL, 0) < 0) {
                int e = errno;

                close(fd);
                return -e;
        }
        f = malloc(sizeof *f);
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        *f = (struct ini_file) {
                .fd = fd,
                .limits = *limits,
                .buf = malloc(limits->line_max + 1),
                .section = malloc(limits->line_max + 1),
        };
        if (!f->buf || !f->section) {
                ini_close(f);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

struct ini_file *ini_close(struct ini_file *f) {
        if (!f)
                return NULL;
        explicit_bzero(f->in, sizeof f->in);
        if (f->buf)
                explicit_bzero(f->buf, f->limits.line_max + 1);
        if (f->section)
                explicit_bzero(f->section, f->limits.line_max + 1);
        free(f->buf);
        free(f->section);
        if (f->fd >= 0)
                close(f->fd);
        free(f);
        return NULL;
}

uint64_t ini_used(const struct ini_file *f) {
        return MAX(f->read, f->size);
}

void ini_count(struct ini_file *f, uint64_t n) {
        f->size += n;
}

/*
 * Refills f->in, reading at most one byte past limits.file_max in all, so a
 * pipe or /dev/zero is bounded too.  Returns 1, 0 at the end of the file,
 * or -errno.
 */
static int fill(struct ini_file *f) {
        uint64_t want = sizeof f->in;
        ssize_t n;

        if (f->eof || f->read > f->limits.file_max)
                return 0;
        if (want > f->limits.file_max + 1 - f->read)
                want = f->limits.file_max + 1 - f->read;
        do
                n = read(f->fd, f->in, (size_t) want);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        f->in_pos = 0;
        f->in_len = (size_t) n;
        f->eof = n == 0;
        /* A UTF-8 byte order mark at the start of the file is not part of the first line. */
        if (f->read == 0 && n >= 3 && memcmp(f->in, "\xEF\xBB\xBF", 3) == 0) {
                f->in_pos = 3;
                f->size += 3;
        }
        f->read += (uint64_t) n;
        return f->in_pos < f->in_len;
}

/*
 * Reads one line: its bytes after the leading blanks into f->buf, as far as
 * limits.line_max, and its length without trailing blanks and line end into
 * f->len, also past that.  Every byte read counts towards limits.file_max,
 * so neither a line nor the file can grow without bound.  Reads in blocks,
 * with memchr(): a byte at a time took ten times as long.  Returns 1, 0 at
 * the end of the file, -EFBIG at the limit, or -errno.
 */
static int read_line(struct ini_file *f) {
        size_t column = 0, pos = 0, end = 0, end_before = 0, keep = f->limits.line_max;
        bool blank = true, any = false;
        char last = 0;
        int r;

        f->nul_column = 0;
        for (;;) {
                const char *start, *nl, *z;
                size_t avail, span, k = 0, j;

                if (f->in_pos == f->in_len) {
                        r = fill(f);
                        if (r <= 0) {
                                if (r < 0)
                                        return r;
                                break;
                        }
                }
                start = f->in + f->in_pos;
                avail = f->in_len - f->in_pos;
                any = true;
                nl = memchr(start, '\n', avail);
                span = nl ? (size_t) (nl - start) : avail;
                f->size += span + (nl != NULL);
                if (f->size > f->limits.file_max)
                        return -EFBIG;
                f->in_pos += span + (nl != NULL);
                if (f->nul_column == 0 && (z = memchr(start, '\0', span)))
                        f->nul_column = column + (size_t) (z - start) + 1;
                column += span;
                while (blank && k < span && is_blank(start[k]))
                        k++;
                if (k < span) {
                        blank = false;
                        if (pos < keep)
                                memcpy(f->buf + pos, start + k, MIN(span - k, keep - pos));
                        /* Where the line ends without trailing blanks, and without its last byte (a CR, maybe). */
                        for (j = span; j > k && is_blank(start[j - 1]); j--)
                                ;
                        if (j == span) {
                                for (j = span - 1; j > k && is_blank(start[j - 1]); j--)
                                        ;
                                end_before = j > k ? pos + (j - k) : end;
                                j = span;
                        }
                        if (j > k)
                                end = pos + (j - k);
                        pos += span - k;
                        last = start[span - 1];
                }
                if (nl)
                        break;
        }
        if (!any)
                return 0;
        /* A CR before the LF ends the line too, with the blanks before it. */
        if (last == '\r' && end == pos)
                end = end_before;
        f->len = end;
        f->line++;
        return 1;
}

static char *skip_space(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        return s;
}

static void strip_space(char *s) {
        size_t n = strlen(s);

        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
}

/* "name = value" or "name: value", the first '=' or ':' splitting them; false if the line is not that. */
static bool parse_key(char *s, struct ini_item *it) {
        bool was_space = false;
        char *c, *v;

        for (c = s; *c; c++) {
                if (*c == '=' || *c == ':')
                        break;
                if (*c == ';' && c > s && isspace((unsigned char) c[-1]))
                        return false;           /* a comment starts before any '=' */
        }
        if (!*c || c == s)
                return false;
        *c = '\0';
        for (v = c + 1; *v; v++) {
                if (*v == ';' && was_space)
                        break;
                was_space = isspace((unsigned char) *v);
        }
        *v = '\0';
        it->name = skip_space(s);
        strip_space(s);
        it->value = skip_space(c + 1);
        strip_space(c + 1);
        return true;
}

int ini_next(struct ini_file *f, struct ini_item *ret) {
        for (;;) {
                struct ini_item it = {};
                char *s = f->buf, *end;
                int r;

                if (f->error < 0)
                        return f->error;
                r = read_line(f);
                if (r <= 0) {
                        f->error = r;
                        return r;
                }
                it.line = f->line;
                it.section = f->in_section ? f->section : NULL;
                /* A NUL byte would end the value early, and silently. */
                if (f->nul_column > 0 || f->len > f->limits.line_max) {
                        if (f->nul_column > 0)
                                snprintf(f->message, sizeof f->message, "NUL byte at column %zu", f->nul_column);
                        else
                                snprintf(f->message, sizeof f->message, "line too long (%zu characters; the limit is %zu)",
                                         f->len, f->limits.line_max);
                        it.type = INI_BAD_LINE;
                        it.error = f->message;
                        *ret = it;
                        return 1;
                }
                s[f->len] = '\0';
                for (const char *c = s; *c; c++)
                        if (is_control_char((unsigned char) *c)) {
                                it.control = (unsigned char) *c;
                                break;
                        }

                if (*s == '\0' || *s == ';' || *s == '#')
                        continue;
                if (*s == '[') {
                        end = strchr(s, ']');
                        if (!end) {
                                it.type = INI_SYNTAX_ERROR;
                                it.error = "syntax error: '[' without ']'";
                        } else {
                                /* What follows the ']' is not read. */
                                *end = '\0';
                                memcpy(f->section, s + 1, (size_t) (end - s));
                                f->in_section = true;
                                it.type = INI_SECTION;
                                it.section = it.name = f->section;
                        }
                } else if (parse_key(s, &it))
                        it.type = INI_KEY;
                else {
                        it.type = INI_SYNTAX_ERROR;
                        it.error = "syntax error: expected '[section]' or 'key = value'";
                }
                *ret = it;
                return 1;
        }
}
