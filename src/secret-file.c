/* SPDX-License-Identifier: MIT */
/*
 * secret-file.c: small files that hold a secret (the container credentials
 * token, a service-account key), read whole, up to a limit, in as many
 * read()s as they take: a pipe or a file on a network filesystem can
 * answer in parts.  What was read is wiped whatever happens.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret-file.h"

int secret_file_read(const char *path, size_t max, char **ret, size_t *ret_len) {
        size_t len = 0;
        ssize_t n;
        char *buf;
        int fd, e = 0;

        /* As ini_open(): a FIFO without a writer would block the event loop until one came. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        buf = malloc(max + 1);
        if (!buf)
                e = ENOMEM;
        else if (fcntl(fd, F_SETFL, 0) < 0)
                e = errno;
        /* One byte past max at most: enough to know the file is too large, and /dev/zero is bounded too. */
        while (e == 0 && len <= max) {
                n = read(fd, buf + len, max + 1 - len);
                if (n < 0 && errno != EINTR)
                        e = errno;
                else if (n == 0)
                        break;
                else if (n > 0)
                        len += (size_t) n;
        }
        close(fd);
        if (e == 0 && len > max)
                e = EFBIG;
        if (e != 0) {
                secret_file_free(buf, len);
                return -e;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

void secret_file_free(char *buf, size_t len) {
        if (buf)
                explicit_bzero(buf, len);
        free(buf);
}
