/* SPDX-License-Identifier: MIT */
/*
 * oom-preload.c: an LD_PRELOAD library for tests/oom.sh.  Once the
 * file named by $OOM_AFTER_OPEN has been opened (fopen, open or openat),
 * every malloc, calloc and realloc fails with ENOMEM, as when the machine
 * runs out of memory while warmd reads its configuration.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

static int failing;

static void opened(const char *path) {
        const char *after = getenv("OOM_AFTER_OPEN");

        if (after && strcmp(path, after) == 0)
                failing = 1;
}

#define REAL(name, type) ((type) dlsym(RTLD_NEXT, name))
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static mode_t mode_arg(int flags, va_list ap) {
        return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

FILE *fopen(const char *path, const char *mode) {
        FILE *f = REAL("fopen", fopen_fn)(path, mode);

        if (f)
                opened(path);
        return f;
}

FILE *fopen64(const char *path, const char *mode) {
        FILE *f = REAL("fopen64", fopen_fn)(path, mode);

        if (f)
                opened(path);
        return f;
}

int open(const char *path, int flags, ...) {
        va_list ap;
        int fd;

        va_start(ap, flags);
        fd = REAL("open", open_fn)(path, flags, mode_arg(flags, ap));
        va_end(ap);
        if (fd >= 0)
                opened(path);
        return fd;
}

int open64(const char *path, int flags, ...) {
        va_list ap;
        int fd;

        va_start(ap, flags);
        fd = REAL("open64", open_fn)(path, flags, mode_arg(flags, ap));
        va_end(ap);
        if (fd >= 0)
                opened(path);
        return fd;
}

int openat(int dir, const char *path, int flags, ...) {
        va_list ap;
        int fd;

        va_start(ap, flags);
        fd = REAL("openat", openat_fn)(dir, path, flags, mode_arg(flags, ap));
        va_end(ap);
        if (fd >= 0)
                opened(path);
        return fd;
}

void *malloc(size_t size) {
        if (failing) {
                errno = ENOMEM;
                return NULL;
        }
        return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
        if (failing) {
                errno = ENOMEM;
                return NULL;
        }
        return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
        if (failing) {
                errno = ENOMEM;
                return NULL;
        }
        return __libc_realloc(p, size);
}
