/* SPDX-License-Identifier: MIT */
/* test-ini.c: the INI reader: what each kind of line reads as, with its line; the limits; read errors. */
#include "config.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "tests.h"
#include "util.h"

static char dir[] = "/tmp/test-ini-XXXXXX";

static const char *write_file(const char *text, size_t len) {
        static char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/t.ini", dir);
        f = fopen(path, "we");
        if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
                abort();
        return path;
}

/*
 * Reads a file into one line per item: "S1 name", "K2 [section] name=value",
 * "E3 error", "B4 error", with " ^XX" for a control character; then the
 * return of the last ini_next() if it is not 0.
 */
static int read_items(const char *path, const struct ini_limits *limits, char *out, size_t size) {
        struct ini_file *f = NULL;
        struct ini_item it;
        size_t n = 0;
        int r;

        out[0] = '\0';
        r = ini_open(path, limits, &f);
        if (r < 0)
                return r;
        while ((r = ini_next(f, &it)) > 0) {
                static const char types[] = { [INI_SECTION] = 'S', [INI_KEY] = 'K', [INI_SYNTAX_ERROR] = 'E',
                                              [INI_BAD_LINE] = 'B' };

                n += (size_t) snprintf(out + n, size - n, "%s%c%u", n ? "|" : "", types[it.type], it.line);
                if (it.type == INI_SECTION)
                        n += (size_t) snprintf(out + n, size - n, " %s", it.name);
                else if (it.type == INI_KEY)
                        n += (size_t) snprintf(out + n, size - n, " [%s] %s=%s", it.section ? it.section : "-", it.name,
                                               it.value);
                else
                        n += (size_t) snprintf(out + n, size - n, " %s", it.error);
                if (it.control)
                        n += (size_t) snprintf(out + n, size - n, " ^%02x", it.control);
                if (n >= size)
                        abort();
        }
        /* Once it ended, it stays so. */
        CHECK(ini_next(f, &it) == r, "ini_next() after the end: %d again", r);
        ini_close(f);
        return r;
}

static void test_lines(void) {
        static const struct ini_limits limits = { .file_max = 4096, .line_max = 40 };
        static const struct {
                const char *text;
                size_t len;
                const char *want;
        } cases[] = {
#define T(s) s, sizeof(s) - 1
                { T(""), "" },
                { T("\n\n; comment\n# comment\n   \t\n"), "" },
                { T("[a]\nk = v\n"), "S1 a|K2 [a] k=v" },
                { T("k = v\n[a]\n"), "K1 [-] k=v|S2 a" },
                { T("  [a] trailing words\n\tk=v  \n"), "S1 a|K2 [a] k=v" },
                { T("[a]\nk: v\nk = a:b=c\nk: a = b\n"), "S1 a|K2 [a] k=v|K3 [a] k=a:b=c|K4 [a] k=a = b" },
                { T("[a]\nk = v ; comment\nk = v;no comment\nk =;x\nk = ;x\n"),
                  "S1 a|K2 [a] k=v|K3 [a] k=v;no comment|K4 [a] k=;x|K5 [a] k=" },
                { T("[a]\nk =\nk = \"quoted\"\nmy key = a b\n"), "S1 a|K2 [a] k=|K3 [a] k=\"quoted\"|K4 [a] my key=a b" },
                { T("[a]\nwords\n= v\nk ; c = v\n[b\n"),
                  "S1 a|E2 syntax error: expected '[section]' or 'key = value'|"
                  "E3 syntax error: expected '[section]' or 'key = value'|"
                  "E4 syntax error: expected '[section]' or 'key = value'|E5 syntax error: '[' without ']'" },
                /* A CR before the LF ends the line; one anywhere else is a control character. */
                { T("[a]\r\nk = v \r\nk = a\rb\r\n"), "S1 a|K2 [a] k=v|K3 [a] k=a\rb ^0d" },
                { T("[a]\nk = a\x1b" "b\n[b\x7f]\n; \x01\n"), "S1 a|K2 [a] k=a\x1b" "b ^1b|S3 b\x7f ^7f" },
                { T("[a]\nk = a\tb\n"), "S1 a|K2 [a] k=a\tb" },
                { T("\xEF\xBB\xBF[a]\nk = v"), "S1 a|K2 [a] k=v" },
                { T("[a]\nk = 1\0 2\n\0\nk = 3\n"), "S1 a|B2 NUL byte at column 6|B3 NUL byte at column 1|K4 [a] k=3" },
                /* 40 characters, then 41, without the blanks around them. */
                { T("[a]\n   k = 567890123456789012345678901234567890   \nk = 5678901234567890123456789012345678901\n"),
                  "S1 a|K2 [a] k=567890123456789012345678901234567890|B3 line too long (41 characters; the limit is 40)" },
#undef T
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char got[1024];
                int r = read_items(write_file(cases[i].text, cases[i].len), &limits, got, sizeof got);

                CHECK(r == 0 && streq(got, cases[i].want), "case %zu: %d\n  got:  %s\n  want: %s", i, r, got, cases[i].want);
        }
}

/* The file: limits.file_max bytes read, plus what ini_count() adds; a pipe or device alike. */
static void test_file_limit(void) {
        static const struct ini_limits limits = { .file_max = 16, .line_max = 40 };
        struct ini_file *f;
        struct ini_item it;
        char got[256];
        int r;

        /* 16 bytes exactly, then 17. */
        r = read_items(write_file("[a]\nk = 1\nk = 2\n", 16), &limits, got, sizeof got);
        CHECK(r == 0 && streq(got, "S1 a|K2 [a] k=1|K3 [a] k=2"), "16 bytes: %d %s", r, got);
        r = read_items(write_file("[a]\nk = 1\nk = 22\n", 17), &limits, got, sizeof got);
        CHECK(r == -EFBIG && streq(got, "S1 a|K2 [a] k=1"), "17 bytes: %d %s", r, got);
        r = read_items("/dev/zero", &limits, got, sizeof got);
        CHECK(r == -EFBIG && streq(got, ""), "/dev/zero: %d %s", r, got);

        /* What a value expands to counts as read. */
        CHECK(ini_open(write_file("[a]\nk = 1\nk = 2\n", 16), &limits, &f) == 0, "open");
        CHECK(ini_next(f, &it) == 1 && ini_next(f, &it) == 1 && it.type == INI_KEY, "[a], k = 1");
        ini_count(f, 1);
        CHECK(ini_next(f, &it) == -EFBIG, "one byte counted more: too large");
        ini_close(f);
}

static void test_errors(void) {
        static const struct ini_limits limits = { .file_max = 4096, .line_max = 40 };
        char path[256], got[256];
        struct ini_file *f = NULL;

        snprintf(path, sizeof path, "%s/missing", dir);
        CHECK(ini_open(path, &limits, &f) == -ENOENT && !f, "a missing file: -ENOENT");
        /* open() takes a directory; read() then says what is wrong. */
        CHECK(read_items(dir, &limits, got, sizeof got) == -EISDIR, "a directory: -EISDIR from read()");
        CHECK(!ini_close(NULL), "ini_close(NULL)");
}

int main(void) {
        char cmd[300];

        if (!mkdtemp(dir))
                return 99;
        test_lines();
        test_file_limit();
        test_errors();
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
        return tests_result("test-ini");
}
