/* SPDX-License-Identifier: MIT */
/*
 * credential.c: systemd credentials as config values name them,
 * ${credential:NAME}, read from $CREDENTIALS_DIRECTORY once per load.  A
 * credential's content never appears in a message, and is wiped when freed.
 */
#include "config.h"

#include <search.h>
#include <stdio.h>

#include "credential.h"
#include "secret-file.h"
#include "util.h"

#define REFERENCE_PREFIX "${credential:"
#define INVALID_REFERENCE \
        "invalid credential reference (use ${credential:NAME} with NAME made of letters, digits, '_', '.' and '-')"

/* A credential as read once per load. */
struct credential {
        char *name;
        char *value;                    /* NULL when it could not be read */
        size_t len;
        char *failure;                  /* why not, reported at every value that names it */
        int error;
};

/* A file name in $CREDENTIALS_DIRECTORY, as systemd allows them: no '/', not "." or "..". */
static bool valid_name(const char *name, size_t n) {
        return n > 0 &&
               strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") >= n &&
               !(n == 1 && name[0] == '.') && !(n == 2 && name[0] == '.' && name[1] == '.');
}

static int cmp_credential(const void *a, const void *b) {
        return strcmp(((const struct credential *) a)->name, ((const struct credential *) b)->name);
}

static void credential_free(void *v) {
        struct credential *c = v;

        if (!c)
                return;
        if (c->value)
                explicit_bzero(c->value, c->len);
        free(c->value);
        free(c->failure);
        free(c->name);
        free(c);
}

void credentials_done(struct credentials *c) {
        tdestroy(c->by_name, credential_free);
        c->by_name = NULL;
}

/*
 * Reads $CREDENTIALS_DIRECTORY/NAME into c, or says in c->failure why it
 * cannot; the secret never appears in a message.  Returns 0, or -ENOMEM.
 */
static int read_credential(const char *dir, struct credential *c) {
        _cleanup_(freep) char *path = NULL;
        char *data = NULL;
        size_t len = 0, n;
        int r;

        if (asprintf(&path, "%s/%s", dir, c->name) < 0)
                return -ENOMEM;
        /* Room for a final line break, CR LF too, which is not part of the credential. */
        c->error = secret_file_read(path, CREDENTIAL_MAX + 2, &data, &len);
        if (c->error == -ENOMEM)
                return -ENOMEM;
        n = len;
        if (n > 0 && data[n - 1] == '\n')
                n--;
        if (n > 0 && data[n - 1] == '\r')
                n--;
        if (c->error == -EFBIG || (c->error == 0 && n > CREDENTIAL_MAX)) {
                c->error = -E2BIG;
                r = asprintf(&c->failure, "credential '%s' is longer than %d bytes", c->name, CREDENTIAL_MAX);
        } else if (c->error < 0)
                r = asprintf(&c->failure, "cannot read credential '%s': %s", c->name, strerror(-c->error));
        else {
                data[n] = '\0';
                c->value = data;
                c->len = n;
                r = 0;
                for (size_t i = 0; i < n; i++)
                        if (is_control_char((unsigned char) c->value[i])) {
                                c->error = -EINVAL;
                                r = asprintf(&c->failure, "credential '%s' contains a control character, "
                                             "such as a line break or a NUL byte", c->name);
                                break;
                        }
        }
        if (!c->value)
                secret_file_free(data, len);
        return r < 0 ? -ENOMEM : 0;
}

/* The credential NAME, read at its first use in this load.  Returns 0, -ENOMEM, or -errno with error set. */
static int get_credential(struct credentials *cs, const char *dir, const char *name, const struct credential **ret,
                          char *error, size_t error_size) {
        struct credential key = { .name = (char *) name }, *c, **found;
        int r;

        found = tfind(&key, &cs->by_name, cmp_credential);
        if (!found) {
                c = calloc(1, sizeof *c);
                if (!c || !(c->name = strdup(name))) {
                        free(c);
                        return -ENOMEM;
                }
                r = read_credential(dir, c);
                found = r < 0 ? NULL : tsearch(c, &cs->by_name, cmp_credential);
                if (!found) {
                        credential_free(c);
                        return -ENOMEM;
                }
        }
        c = *found;
        if (c->failure) {
                snprintf(error, error_size, "%s", c->failure);
                return c->error;
        }
        *ret = c;
        return 0;
}

/* The message for a reference without a directory: how to give it one. */
static int no_directory(const char *name, size_t n, char *error, size_t error_size) {
        snprintf(error, error_size,
                 "credential '%.*s' requested, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential=%.*s:FILE in the unit)",
                 (int) n, name, (int) n, name);
        return -ENOENT;
}

int credentials_expand(struct credentials *cs, const char *value, char **ret, char *error, size_t error_size) {
        const char *dir, *s = value, *m;
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        int used = 0, r = 0;

        /* Most values have none; a stream for each of 100,000 would double the time they take. */
        if (!strstr(value, REFERENCE_PREFIX)) {
                out = strdup(value);
                if (!out)
                        return -ENOMEM;
                *ret = out;
                return 0;
        }
        dir = getenv("CREDENTIALS_DIRECTORY");
        f = open_memstream(&out, &len);
        if (!f)
                return -ENOMEM;
        while ((m = strstr(s, REFERENCE_PREFIX))) {
                const char *name = m + strlen(REFERENCE_PREFIX), *end = strchr(name, '}');
                _cleanup_(freep) char *n = NULL;
                const struct credential *secret = NULL;

                fwrite(s, 1, (size_t) (m - s), f);
                if (!end || !valid_name(name, (size_t) (end - name))) {
                        snprintf(error, error_size, "%s", INVALID_REFERENCE);
                        r = -EINVAL;
                        break;
                }
                n = strndup(name, (size_t) (end - name));
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                used = 1;
                if (!dir) {
                        if (!cs->optional) {
                                r = no_directory(n, strlen(n), error, error_size);
                                break;
                        }
                } else {
                        r = get_credential(cs, dir, n, &secret, error, error_size);
                        if (r < 0)
                                break;
                        fwrite(secret->value, 1, secret->len, f);
                }
                s = end + 1;
        }
        fputs(s, f);
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                if (out)
                        explicit_bzero(out, len);
                free(out);
                return r;
        }
        *ret = out;
        return used;
}

bool credential_is_reference(const char *value) {
        return strncmp(value, REFERENCE_PREFIX, strlen(REFERENCE_PREFIX)) == 0;
}

int credentials_path(struct credentials *cs, const char *value, char **ret_path, char *error, size_t error_size) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY"), *name;
        char *path;
        size_t n;

        if (!credential_is_reference(value)) {
                snprintf(error, error_size, "%s", INVALID_REFERENCE);
                return -EINVAL;
        }
        name = value + strlen(REFERENCE_PREFIX);
        n = strlen(name);
        if (n < 2 || name[n - 1] != '}' || !valid_name(name, n - 1)) {
                snprintf(error, error_size, "%s", INVALID_REFERENCE);
                return -EINVAL;
        }
        if (!dir) {
                if (cs->optional)
                        return 0;
                return no_directory(name, n - 1, error, error_size);
        }
        if (asprintf(&path, "%s/%.*s", dir, (int) (n - 1), name) < 0)
                return -ENOMEM;
        *ret_path = path;
        return 1;
}
