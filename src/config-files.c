/* SPDX-License-Identifier: MIT */
/*
 * config-files.c: which files make up a configuration: the main file, then
 * the drop-ins of the directory named like it plus ".d", in the byte order
 * of their names, as systemd, sudoers.d and apt.conf.d read theirs; and
 * which file set each [global] key, for "warmd -n".
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

/* The drop-ins' paths join c->files after the main file's; an error is the directory's. */
int config_list_dropins(struct parser *p, const char *path) {
        _cleanup_(freep) char *dir = NULL;
        char **names = NULL, **files;
        size_t n = 0;
        int r;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = config_dropins(dir, &names, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* Not a file of the set: shown by its own path, after the main file's errors. */
                p->path = dir;
                p->file = 1;
                if (r == -E2BIG)
                        add_error_at(p, 0, "more than %d files named *%s: warmd reads at most %d", DROPINS_MAX,
                                     DROPIN_SUFFIX, DROPINS_MAX);
                else
                        add_error_at(p, 0, "cannot read the directory: %s", strerror(-r));
                p->path = path;
                p->file = 0;
                return 0;
        }
        files = reallocarray(p->config->files, 1 + n, sizeof(char *));
        if (!files) {
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                return -ENOMEM;
        }
        if (n > 0)                      /* names is NULL without drop-ins */
                memcpy(files + 1, names, n * sizeof(char *));
        free(names);
        p->config->files = files;
        p->config->n_files = 1 + n;
        return 0;
}

/* Whether [global] set key i to another value than its default: only those are worth showing. */
static bool global_differs(struct parser *p, size_t i) {
        const struct key *k = &config_keys[i];
        bool endpoint = k->scope & CONFIG_SCOPE_ENDPOINT;
        struct endpoint_config se = {};
        struct config sc = {};
        void *scratch = endpoint ? (void *) &se : (void *) &sc;
        const void *set = endpoint ? (const void *) &p->defaults : (const void *) p->config;
        bool differs;

        if (k->def)
                k->type->parse(p, k, k->def, scratch);
        differs = !k->type->equal(const_field_of(k, set), const_field_of(k, scratch));
        if (k->type->done)
                k->type->done(field_of(k, scratch));
        return differs;
}

/* The [global] keys the files set to other values than the defaults, with the last file and line, for "warmd -n". */
int config_keep_globals(struct parser *p) {
        struct config *c = p->config;

        c->globals = calloc(config_n_keys, sizeof *c->globals);
        if (!c->globals)
                return -ENOMEM;
        for (size_t i = 0; i < config_n_keys; i++) {
                if (!p->global_value[i] || !global_differs(p, i))
                        continue;
                c->globals[c->n_globals++] = (struct config_setting) {
                        .key = config_keys[i].name,
                        .file = c->files[p->global_file[i]],
                        .line = p->global_line[i],
                        .value = p->global_value[i],
                };
                p->global_value[i] = NULL;
        }
        return 0;
}

/* Where the endpoint of s, or else [global] in the file that set it last, set key; false: neither did. */
bool config_key_set_at(const struct parser *p, const struct section *s, const char *name, unsigned *ret_file,
                       unsigned *ret_line) {
        size_t id = config_key_id(name);

        if (s->key_line[id] > 0) {
                *ret_file = s->file;
                *ret_line = s->key_line[id];
        } else if (p->global_line[id] > 0) {
                *ret_file = p->global_file[id];
                *ret_line = p->global_line[id];
        } else
                return false;
        return true;
}

/* Where key was set for s: its own, else [global]'s (in the file that set it last), else the section's header. */
void config_where_set(const struct parser *p, const struct section *s, const char *key, unsigned *ret_file,
                      unsigned *ret_line) {
        if (!config_key_set_at(p, s, key, ret_file, ret_line)) {
                *ret_file = s->file;
                *ret_line = s->line;
        }
}

int config_copy_files(const struct config *from, struct config *to) {
        to->files = calloc(from->n_files ? from->n_files : 1, sizeof(char *));
        if (!to->files)
                return -ENOMEM;
        for (; to->n_files < from->n_files; to->n_files++)
                if (!(to->files[to->n_files] = strdup(from->files[to->n_files])))
                        return -ENOMEM;
        return 0;
}
