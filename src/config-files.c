/* SPDX-License-Identifier: MIT */
/*
 * config-files.c: which files make up a configuration: the main file, then
 * the drop-ins of the directory named like it plus ".d", in the byte order
 * of their names, as systemd, sudoers.d and apt.conf.d read theirs.
 */
#include "config.h"

#include <dirent.h>

#include "config-internal.h"

/* Hidden files (an editor's, a package manager's) and names without the suffix are not read. */
static bool is_dropin_name(const char *name) {
        size_t n = strlen(name), s = strlen(DROPIN_SUFFIX);

        return name[0] != '.' && n > s && streq(name + n - s, DROPIN_SUFFIX);
}

/* By bytes, not by the locale: "10-a.conf" before "9-b.conf" on every host alike. */
static int cmp_name(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void names_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int config_dropins(const char *dir, char ***ret, size_t *ret_n) {
        char **v = NULL, **g;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0;
        DIR *d;

        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                /* No directory: no drop-ins, as for a package that has not created it. */
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        for (errno = 0; (de = readdir(d)); errno = 0) {
                if (!is_dropin_name(de->d_name))
                        continue;
                /* One more than the limit is enough to say it was passed. */
                if (n > DROPINS_MAX)
                        break;
                g = array_grow(v, n, &cap, sizeof(char *));
                if (!g) {
                        r = -ENOMEM;
                        goto fail;
                }
                v = g;
                if (asprintf(&v[n], "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                n++;
        }
        if (errno != 0) {
                r = -errno;
                goto fail;
        }
        closedir(d);
        if (n > DROPINS_MAX) {
                names_free(v, n);
                return -E2BIG;
        }
        if (n > 0)
                qsort(v, n, sizeof(char *), cmp_name);
        *ret = v;
        *ret_n = n;
        return 0;

fail:
        closedir(d);
        names_free(v, n);
        return r;
}
