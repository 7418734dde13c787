/* SPDX-License-Identifier: MIT */
/* test-log.c: the plain daemon log, as its callers rely on it. */
#include "config.h"

#include <wchar.h>

#include "tests.h"
#include "warmd.h"

/*
 * "return log_error_errno(r, ...)" returns r, also when the message cannot
 * be formatted.  A lone surrogate is no character in any locale, so "%ls"
 * makes vasprintf() fail the way running out of memory would.
 */
static void test_log_full_returns_err(void) {
        static const wchar_t bad[] = { 0xD800, 0 };
        char *s = NULL;

        CHECK(asprintf(&s, "%ls", bad) < 0, "the format fails to format");
        free(s);
        CHECK(log_full(LOG_ERR, EIO, "%ls", bad) == -EIO, "a positive errno comes back negative");
        CHECK(log_full(LOG_ERR, -EIO, "%ls", bad) == -EIO, "a negative errno comes back as it is");
        CHECK(log_error_errno(-ENOENT, "Failed to open %ls", bad) == -ENOENT, "log_error_errno()");
        CHECK(log_full(LOG_WARNING, 0, "%ls", bad) == 0, "no error: 0");
        /* Debug messages are not even formatted unless verbose. */
        CHECK(log_full(LOG_DEBUG, -EPERM, "%ls", bad) == -EPERM, "debug: the error");
}

int main(void) {
        test_log_full_returns_err();
        return tests_result("test-log");
}
