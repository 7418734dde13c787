/* SPDX-License-Identifier: MIT */
/* tests.h: the one assertion macro the unit tests share; a failure is reported and counted, not fatal. */
#pragma once

#include <stdio.h>

static unsigned tests_checked, tests_failed;

#define CHECK(cond, ...)                                                         \
        do {                                                                     \
                tests_checked++;                                                 \
                if (!(cond)) {                                                   \
                        tests_failed++;                                          \
                        fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);    \
                        fprintf(stderr, __VA_ARGS__);                            \
                        fputc('\n', stderr);                                     \
                }                                                                \
        } while (0)

static inline int tests_result(const char *name) {
        printf("%s: %u checks, %u failed\n", name, tests_checked, tests_failed);
        return tests_failed ? 1 : 0;
}
