/* SPDX-License-Identifier: MIT */
/*
 * ini.h: the one reader of INI files, for every file warmd reads in that
 * form (warmd.conf, AWS's shared credentials file).  It owns the line
 * syntax that warmd.conf(5) documents; what the sections and keys mean is
 * the caller's.
 *
 *   [section]
 *   key = value        ("key: value" too)
 *   ; or # a comment, and the rest of a line from a ';' after a blank
 *
 * Leading and trailing blanks of a line, and a CR before its LF, are not
 * part of it; there are no continuation lines and no quoting.  A UTF-8 byte
 * order mark at the start of the file is skipped.
 *
 * Use:
 *
 *   struct ini_file *f;
 *   struct ini_item it;
 *
 *   r = ini_open(path, &limits, &f);
 *   while ((r = ini_next(f, &it)) > 0)
 *           ... it.type, it.line, it.section, it.name, it.value, it.error ...
 *   ini_close(f);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ini_limits {
        /* Bytes read, a byte order mark included, plus what ini_count() adds: past it ini_next() says -EFBIG. */
        uint64_t file_max;
        /* Characters of a line without its leading and trailing blanks: a longer line is an INI_BAD_LINE. */
        size_t line_max;
};

enum ini_type {
        INI_SECTION,            /* "[name]": name is the text between the brackets, as it is */
        INI_KEY,                /* "name = value": both without the blanks around them; value may be "" */
        INI_SYNTAX_ERROR,       /* neither, nor a comment or a blank line: error says what is wrong */
        INI_BAD_LINE,           /* too long, or with a NUL byte: not read at all, so it may have held any key */
};

/* One line that is not blank or a comment.  The strings last until the next ini_next() or ini_close(). */
struct ini_item {
        enum ini_type type;
        unsigned line;                  /* from 1 */
        const char *section;            /* the section the line is in (an INI_SECTION's own); NULL before any */
        const char *name;               /* INI_SECTION, INI_KEY */
        const char *value;              /* INI_KEY */
        const char *error;              /* INI_SYNTAX_ERROR, INI_BAD_LINE: the message, without file or line */
        /*
         * The line's first control character (below 0x20 but TAB, and DEL), which
         * may be in its name or value; 0: none.  The caller decides whether a
         * value may hold them, and never shows them.
         */
        unsigned char control;
};

struct ini_file;

/* Returns 0, or -errno from open(). */
int ini_open(const char *path, const struct ini_limits *limits, struct ini_file **ret);

/*
 * The next item.  Returns 1, 0 at the end of the file, -EFBIG past
 * limits.file_max, or -errno from read(); after an error, the file is not
 * read any further.
 */
int ini_next(struct ini_file *f, struct ini_item *ret);

/* Counts n bytes more towards limits.file_max, as what a value expands to, so that it cannot make a small file large. */
void ini_count(struct ini_file *f, uint64_t n);

/* The bytes that counted towards limits.file_max so far: those read, or used plus ini_count()'s if more. */
uint64_t ini_used(const struct ini_file *f);

/* Closes the file and wipes what was read of it, which may hold secrets.  Accepts NULL. */
struct ini_file *ini_close(struct ini_file *f);
