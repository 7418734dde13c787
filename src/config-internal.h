/* SPDX-License-Identifier: MIT */
/*
 * config-internal.h: what the two parts of the config parser share: config.c
 * (the load: sections, endpoints, errors) and config-keys.c (the key table
 * and the value types).  No other module includes it.
 */
#pragma once

#include "credential.h"
#include "ini.h"
#include "internal.h"

#define ERRORS_SHOWN_MAX        100     /* then one line "and N more errors" */
#define KEYS_MAX                64      /* room in struct section; a static assertion checks it */
#define DROPINS_MAX             1000    /* files in warmd.conf.d: more is an error */
#define DROPIN_SUFFIX           ".conf"

struct parser;
struct key;

/* What a key's value is: how it is parsed into its field, compared, inherited and freed. */
struct value_type {
        const char *what;               /* for the key list in warmd.conf(5) */
        /* Parses value into the key's field of base, or reports an error; base is the whole struct. */
        void (*parse)(struct parser *p, const struct key *k, const char *value, void *base);
        bool (*equal)(const void *a, const void *b);
        /* For an endpoint that inherits the value from [global]; NULL: the type cannot be inherited. */
        int (*copy)(void *dst, const void *src);
        void (*done)(void *field);
        /* The range, such as "1s to 24h", from the key's min and max; NULL: none. */
        int (*format_range)(const struct key *k, char *buf, size_t size);
};

enum {
        KEY_REQUIRED = 1 << 0,          /* every endpoint must set it */
        KEY_REPEATABLE = 1 << 1,        /* may appear more than once in a section */
        KEY_CONTROL_CHARS = 1 << 2,     /* the value may hold control characters other than NUL */
};

struct key {
        const char *name;
        unsigned scope;                 /* CONFIG_SCOPE_*: global and endpoint means an endpoint may override */
        const struct value_type *type;
        /* The field: in struct config for keys only allowed in [global], else in struct endpoint_config. */
        size_t offset;
        uint64_t min, max;              /* for numbers and durations; for header, the most per endpoint */
        const char *def;                /* the default, parsed like a value from the file; NULL: none */
        unsigned flags;
        const char *doc;                /* in the key list: the value, if not just the type's name */
        const char *def_doc;            /* in the key list: the default, if def does not say it */
        const char *instead;            /* KEY_REQUIRED unless this other key is set */
};

struct section {
        char *name;
        unsigned file;                  /* its file: an index into the config's files */
        unsigned line;
        unsigned key_line[KEYS_MAX];    /* where each key was set; 0: not set */
        struct endpoint_config *ep;     /* NULL for [global] and rejected sections */
        bool bad_line;                  /* a line too long was dropped: it may have held any key */
        size_t headers_cap;
};

/* An error kept to be shown; they are kept sorted by file and line, in the order found within a line. */
struct error {
        unsigned file, line;
        char *text;
};

struct parser {
        const char *path;               /* the file being read */
        unsigned file;                  /* its index in config->files */
        uint64_t read_left;             /* of CONFIG_FILE_MAX, for the files still to read */
        struct ini_file *ini;
        unsigned line;                  /* of the item being read */
        unsigned char control;          /* the first control character of that line; 0: none */
        bool stop;                      /* a limit was reached: read no further */
        struct error errors[ERRORS_SHOWN_MAX];
        size_t n_errors;
        size_t n_more_errors;           /* counted, but neither kept nor formatted */
        struct credentials credentials;
        struct config *config;
        /* What [global] sets for keys an endpoint may override, on top of the defaults. */
        struct endpoint_config defaults;
        /* Where each [global] key was set last, whatever the file: a later file overrides. */
        unsigned global_file[KEYS_MAX], global_line[KEYS_MAX];
        char *global_value[KEYS_MAX];   /* as written, for "warmd -n" */

        struct section **sections;      /* in file order */
        size_t n_sections, sections_cap;
        size_t endpoints_cap;
        void *section_names;            /* tsearch() tree of the same, by name: no quadratic duplicate check */
        struct section *cur;            /* NULL before the first section header */
        bool failed_oom;
};

/* ------------------------------------------------- config.c, config-errors.c */

/* Keeps "FILE:LINE: message" to be shown, in the file being read; line 0 for the file as a whole. */
void add_error_at(struct parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
#define add_error(p, ...) add_error_at((p), (p)->line, __VA_ARGS__)
/* An error in another file than the one being read: a section's, found once all are read. */
void add_error_in(struct parser *p, unsigned file, unsigned line, const char *fmt, ...) _printf_(4, 5);
size_t config_n_errors(const struct parser *p);
/* Hands the errors kept to the caller, and a last line for those only counted. */
void config_move_errors(struct parser *p, struct config_errors *e);

/* ---------------------------------------------------------- config-files.c */

/*
 * The drop-ins of dir ("*.conf", not hidden), as paths, sorted by name.  No
 * directory is none.  Returns 0, -E2BIG past DROPINS_MAX, or -errno.
 */
int config_dropins(const char *dir, char ***ret, size_t *ret_n);
/* Adds path.d's drop-ins to p->config->files, or reports why the directory cannot be read; -ENOMEM. */
int config_list_dropins(struct parser *p, const char *path);
/* A copy of the list of files a loaded configuration was read from, for one made from it; -ENOMEM. */
int config_copy_files(const struct config *from, struct config *to);
/* Where the endpoint of s, or else [global] in the file that set it last, set key; false: neither did. */
bool config_key_set_at(const struct parser *p, const struct section *s, const char *key, unsigned *ret_file,
                       unsigned *ret_line);
/* The same, else the section's header. */
void config_where_set(const struct parser *p, const struct section *s, const char *key, unsigned *ret_file,
                      unsigned *ret_line);
/* Moves the [global] keys the files set, other than to their default, to p->config->globals; -ENOMEM. */
int config_keep_globals(struct parser *p);

/* ----------------------------------------------------------- config-keys.c */

extern const struct key config_keys[];
extern const size_t config_n_keys;

/* A key's index in config_keys[]; config_n_keys if there is none. */
size_t config_key_id(const char *name);
/* The key a typo meant, or NULL. */
const char *config_did_you_mean(const char *name);

/* The field a key fills in base, and the text values' helpers, which value types of both files use. */
static inline void *field_of(const struct key *k, void *base) {
        return (char *) base + k->offset;
}

static inline const void *const_field_of(const struct key *k, const void *base) {
        return (const char *) base + k->offset;
}

static inline bool string_equal(const void *a, const void *b) {
        return streq_ptr(*(char *const *) a, *(char *const *) b);
}

static inline int string_copy(void *dst, const void *src) {
        const char *s = *(char *const *) src;
        char *c = NULL;

        if (s && !(c = strdup(s)))
                return -ENOMEM;
        free(*(char **) dst);
        *(char **) dst = c;
        return 0;
}

static inline void string_done(void *field) {
        free(*(char **) field);
        *(char **) field = NULL;
}

static inline void set_string(struct parser *p, const char *value, char **dst) {
        char *s = strdup(value);

        if (!s) {
                p->failed_oom = true;
                return;
        }
        free(*dst);
        *dst = s;
}

/* The line where a section set a key; 0: not set. */
static inline unsigned set_at(const struct section *s, const char *name) {
        size_t i = config_key_id(name);

        return s && i < config_n_keys ? s->key_line[i] : 0;
}
