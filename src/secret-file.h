/* SPDX-License-Identifier: MIT */
/* secret-file.h: a small file that holds a secret (a token, a key), read whole up to a limit. */
#pragma once

#include <stddef.h>

/*
 * Reads the file at path whole into *ret (NUL-terminated; the file may hold
 * NUL bytes too, *ret_len says how many bytes it has).  Returns 0, -EFBIG
 * when it holds more than max bytes, or -errno of open() or read().  A
 * FIFO without a writer reads as empty rather than blocking.
 */
int secret_file_read(const char *path, size_t max, char **ret, size_t *ret_len);
/* Wipes and frees what secret_file_read() returned.  Accepts NULL. */
void secret_file_free(char *buf, size_t len);
