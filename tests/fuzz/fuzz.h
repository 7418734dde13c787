/* SPDX-License-Identifier: MIT */
/* fuzz.h: what the libFuzzer harnesses share: a file in memory that config_load() can open by path. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* config_load() takes a path; a memfd gives one without touching the disk on every run. */
struct memfile {
        int fd;
        char path[64];
};

static inline void memfile_open(struct memfile *m) {
        m->fd = memfd_create("warmd-fuzz.conf", MFD_CLOEXEC);
        if (m->fd < 0) {
                perror("memfd_create");
                abort();
        }
        snprintf(m->path, sizeof m->path, "/proc/self/fd/%d", m->fd);
}

static inline void memfile_set(struct memfile *m, const void *data, size_t size) {
        if (ftruncate(m->fd, 0) < 0 || (size > 0 && pwrite(m->fd, data, size, 0) != (ssize_t) size)) {
                perror("memfd write");
                abort();
        }
}

/* An invariant the harness checks; a violation is reported as a crash, so libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond)                                                                \
        do {                                                                             \
                if (!(cond)) {                                                           \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                         \
                }                                                                        \
        } while (0)
