/* SPDX-License-Identifier: MIT */
/*
 * config.c: reads warmd.conf (through ini.c) into a fresh struct config, and
 * validates all of it.  Every mistake is collected as "FILE:LINE: message";
 * any mistake fails the load, because a daemon that guesses (say, one
 * container for a mistyped "contaners") warms the wrong thing silently.
 *
 * Every key is one line of the table keys[] below: its name, the sections it
 * may appear in, its type (how it is parsed, compared, inherited and freed)
 * and the field it fills.  The handler, did-you-mean, inheritance from
 * [global], endpoint_config_equal() and the key list in warmd.conf(5) all
 * follow from that table.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credential.h"
#include "ini.h"
#include "url.h"
#include "warmd.h"

#define SECTION_NAME_MAX        50      /* 49 characters, as when libinih read the file */
/*
 * Limits on what comes from outside, listed in warmd.conf(5)'s LIMITS.  The
 * file is read in bytes actually read, so a pipe or a device is bounded too.
 * At these limits "warmd -n" takes at most about 0.3 s here (see
 * bench/config-limits), so a reload does not hold up a stop for long.
 */
#define CONFIG_FILE_MAX         (16U * 1024U * 1024U)   /* bytes read, plus bytes credentials add */
#define LINE_MAX_CHARS          199     /* without the line's leading and trailing blanks */
#define ERRORS_SHOWN_MAX        100     /* then one line "and N more errors" */
#define ENDPOINTS_MAX           100000U /* the rest of the file is not read */
#define HEADERS_MAX             100     /* per endpoint */
#define HEADER_MAX              16384   /* one header, "Name: value", with its credentials */
#define KEYS_MAX                64      /* room in struct section; a static assertion checks it */

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
        unsigned line;
        unsigned key_line[KEYS_MAX];    /* where each key was set; 0: not set */
        struct endpoint_config *ep;     /* NULL for [global] and rejected sections */
        bool bad_line;                  /* a line too long was dropped: it may have held any key */
        size_t headers_cap;
};

/* An error kept to be shown; they are kept sorted by line, in the order found within a line. */
struct error {
        unsigned line;
        char *text;
};

struct parser {
        const char *path;
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
        struct section *global;         /* the first [global], or NULL */

        struct section **sections;      /* in file order */
        size_t n_sections, sections_cap;
        size_t endpoints_cap;
        void *section_names;            /* tsearch() tree of the same, by name: no quadratic duplicate check */
        struct section *cur;            /* NULL before the first section header */
        bool failed_oom;
};

static void add_error_at(struct parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void add_error_at(struct parser *p, unsigned line, const char *fmt, ...) {
        char *msg = NULL, *full = NULL;
        size_t lo = 0, hi;
        va_list ap;
        int r;

        /* Only the first errors in file order are shown; the others are only counted, cheaply. */
        if (p->n_errors == ERRORS_SHOWN_MAX && line >= p->errors[ERRORS_SHOWN_MAX - 1].line) {
                p->n_more_errors++;
                return;
        }
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                goto oom;
        if (line > 0)
                r = asprintf(&full, "%s:%u: %s", p->path, line, msg);
        else
                r = asprintf(&full, "%s: %s", p->path, msg);
        free(msg);
        if (r < 0)
                goto oom;
        if (p->n_errors == ERRORS_SHOWN_MAX) {
                /* An error found late (a missing key) at an earlier line pushes out the last one. */
                free(p->errors[--p->n_errors].text);
                p->n_more_errors++;
        }
        /* After every error at the same line or before it. */
        hi = p->n_errors;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (p->errors[mid].line <= line)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        memmove(p->errors + lo + 1, p->errors + lo, (p->n_errors - lo) * sizeof(struct error));
        p->errors[lo] = (struct error) { line, full };
        p->n_errors++;
        return;
oom:
        p->failed_oom = true;
}

#define add_error(p, ...) add_error_at((p), (p)->line, __VA_ARGS__)

static size_t n_errors(const struct parser *p) {
        return p->n_errors + p->n_more_errors;
}

/* Hands the errors kept to the caller, and a last line for those only counted. */
static void move_errors(struct parser *p, struct config_errors *e) {
        char **l;

        if (n_errors(p) == 0)
                return;
        l = calloc(p->n_errors + 1, sizeof(char *));
        if (l && p->n_more_errors > 0 &&
            asprintf(&l[p->n_errors], "%s: and %zu more error%s", p->path, p->n_more_errors,
                     p->n_more_errors == 1 ? "" : "s") < 0) {
                free(l);
                l = NULL;
        }
        if (!l) {
                p->failed_oom = true;
                return;
        }
        for (size_t i = 0; i < p->n_errors; i++)
                l[i] = p->errors[i].text;
        e->lines = l;
        e->n = p->n_errors + (p->n_more_errors > 0);
        e->n_more = p->n_more_errors;
        p->n_errors = p->n_more_errors = 0;
}

void config_errors_clear(struct config_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->lines[i]);
        free(e->lines);
        *e = (struct config_errors) {};
}

/* ------------------------------------------------------------------ values */

static int parse_unsigned(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v > UINT32_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static bool is_token_char(char c) {
        return isalnum((unsigned char) c) || strchr("!#$%&'*+-.^_`|~", c);
}

/* ------------------------------------------------------------------- types */

static void *field_of(const struct key *k, void *base) {
        return (char *) base + k->offset;
}

static const void *const_field_of(const struct key *k, const void *base) {
        return (const char *) base + k->offset;
}

static bool u64_equal(const void *a, const void *b) {
        return *(const uint64_t *) a == *(const uint64_t *) b;
}

static int u64_copy(void *dst, const void *src) {
        *(uint64_t *) dst = *(const uint64_t *) src;
        return 0;
}

static bool unsigned_equal(const void *a, const void *b) {
        return *(const unsigned *) a == *(const unsigned *) b;
}

static int unsigned_copy(void *dst, const void *src) {
        *(unsigned *) dst = *(const unsigned *) src;
        return 0;
}

static bool string_equal(const void *a, const void *b) {
        return streq_ptr(*(char *const *) a, *(char *const *) b);
}

static int string_copy(void *dst, const void *src) {
        const char *s = *(char *const *) src;
        char *c = NULL;

        if (s && !(c = strdup(s)))
                return -ENOMEM;
        free(*(char **) dst);
        *(char **) dst = c;
        return 0;
}

static void string_done(void *field) {
        free(*(char **) field);
        *(char **) field = NULL;
}

static void set_string(struct parser *p, const char *value, char **dst) {
        char *s = strdup(value);

        if (!s) {
                p->failed_oom = true;
                return;
        }
        free(*dst);
        *dst = s;
}

static void duration_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        char lo[32], hi[32];
        uint64_t v = 0;
        int r;

        r = parse_duration(value, &v);
        if (r == -EINVAL)
                return add_error(p, "%s: invalid duration '%s' (use a number with ms, s, m or h)", k->name, value);
        if (r < 0 || v < k->min || v > k->max) {
                (void) format_duration(k->min, DURATION_CONFIG, lo, sizeof lo);
                (void) format_duration(k->max, DURATION_CONFIG, hi, sizeof hi);
                return add_error(p, "%s: %s is out of range (%s..%s)", k->name, value, lo, hi);
        }
        *(uint64_t *) field_of(k, base) = v;
}

static int duration_range(const struct key *k, char *buf, size_t size) {
        char lo[32], hi[32];

        (void) format_duration(k->min, DURATION_CONFIG, lo, sizeof lo);
        (void) format_duration(k->max, DURATION_CONFIG, hi, sizeof hi);
        return snprintf(buf, size, "%s to %s", lo, hi) < (int) size ? 0 : -ENOBUFS;
}

static const struct value_type type_duration = {
        .what = "duration",
        .parse = duration_parse,
        .equal = u64_equal,
        .copy = u64_copy,
        .format_range = duration_range,
};

static void number_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        unsigned v = 0;
        int r;

        r = parse_unsigned(value, &v);
        if (r == -EINVAL)
                return add_error(p, "%s: invalid number '%s'", k->name, value);
        if (r < 0 || v < k->min || v > k->max)
                return add_error(p, "%s: %s is out of range (%" PRIu64 "..%" PRIu64 ")", k->name, value, k->min, k->max);
        *(unsigned *) field_of(k, base) = v;
}

static int number_range(const struct key *k, char *buf, size_t size) {
        return snprintf(buf, size, "%" PRIu64 " to %" PRIu64, k->min, k->max) < (int) size ? 0 : -ENOBUFS;
}

static const struct value_type type_number = {
        .what = "number",
        .parse = number_parse,
        .equal = unsigned_equal,
        .copy = unsigned_copy,
        .format_range = number_range,
};

static void text_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_text = {
        .what = "text",
        .parse = text_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

/* A factor, where no is 1 (N requests and no more) and yes is the key's default. */
static void factor_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        int b = parse_bool_word(value);

        if (b == 0)
                *(unsigned *) field_of(k, base) = 1;
        else if (b > 0)
                number_parse(p, k, k->def, base);
        else
                number_parse(p, k, value, base);
}

static const struct value_type type_factor = {
        .what = "yes, no or a factor",
        .parse = factor_parse,
        .equal = unsigned_equal,
        .copy = unsigned_copy,
        .format_range = number_range,
};

/* The directory must exist when the file is written, not now: under systemd it is made at start. */
static void path_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        if (value[0] != '/')
                return add_error(p, "%s: '%s' is not an absolute path", k->name, value);
        if (value[strlen(value) - 1] == '/')
                return add_error(p, "%s: '%s' names a directory, not a file", k->name, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_path = {
        .what = "absolute path",
        .parse = path_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

static void method_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        for (const char *c = value; *c; c++)
                if (!isupper((unsigned char) *c))
                        return add_error(p, "%s: invalid method '%s' (use an upper-case HTTP method such as GET or POST)",
                                         k->name, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_method = {
        .what = "HTTP method",
        .parse = method_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

static void header_name_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        for (const char *c = value; *c; c++)
                if (!is_token_char(*c))
                        return add_error(p, "%s: invalid header name '%s'", k->name, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_header_name = {
        .what = "header name",
        .parse = header_name_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

static void json_path_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        size_t n = strlen(value);

        if (value[0] == '.' || value[n - 1] == '.' || strstr(value, ".."))
                return add_error(p, "%s: invalid JSON path '%s' (use a field name or a dotted path such as a.b)",
                                 k->name, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_json_path = {
        .what = "JSON path",
        .parse = json_path_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

/* Fills the URL's derived fields too, so it only suits struct endpoint_config's url. */
static void url_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        struct endpoint_config *ep = base;
        CURLU *u = curl_url();
        char *scheme = NULL, *shown = NULL;
        CURLUcode uc;

        if (!u) {
                p->failed_oom = true;
                return;
        }
        /* libcurl's own parser, so warmd accepts exactly what it will send.  An invalid URL cannot be redacted. */
        uc = curl_url_set(u, CURLUPART_URL, value, 0);
        if (uc != CURLUE_OK)
                add_error(p, "%s: invalid URL: %s (the URL is not shown: it may hold a secret)", k->name,
                          curl_url_strerror(uc));
        else if (url_display(u, &shown) < 0)
                p->failed_oom = true;
        else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
                 !(streq(scheme, "http") || streq(scheme, "https")))
                add_error(p, "%s: only http and https URLs are supported: '%s'", k->name, shown);
        else {
                set_string(p, value, &ep->url);
                free(ep->url_display);
                ep->url_display = shown;
                shown = NULL;
                ep->host_is_address = host_is_address(u);
        }
        free(shown);
        curl_free(scheme);
        curl_url_cleanup(u);
}

static const struct value_type type_url = {
        .what = "URL",
        .parse = url_parse,
        .equal = string_equal,
        .done = string_done,
};

static void lambda_key_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        struct lambda_target t;
        const char *why = NULL;

        if (lambda_parse(value, &t, &why) < 0)
                return add_error(p, "%s: %s: '%s'", k->name, why, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_lambda = {
        .what = "function",
        .parse = lambda_key_parse,
        .equal = string_equal,
        .done = string_done,
};

static bool valid_region(const char *s) {
        if (!*s || strlen(s) >= sizeof((struct lambda_target) {}).region)
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s) && *s != '-')
                        return false;
        return true;
}

static void region_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        if (!valid_region(value))
                return add_error(p, "%s: invalid region '%s' (such as eu-west-1)", k->name, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_region = {
        .what = "AWS region",
        .parse = region_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

/* The field is the NULL-terminated headers; n_headers, has_credentials and header_list go with it. */
static void headers_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        struct endpoint_config *ep = base;
        const char *colon = strchr(value, ':');
        char *expanded = NULL, **h, error[CREDENTIAL_ERROR_MAX];
        int r;

        if (ep->n_headers >= k->max)
                return add_error(p, "%s: too many headers (the limit is %" PRIu64 " per endpoint)", k->name, k->max);
        if (!colon || colon == value)
                return add_error(p, "%s: expected 'Name: value' (the value is not shown: it may be a secret)", k->name);
        for (const char *c = value; c < colon; c++)
                if (!is_token_char(*c))
                        return add_error(p, "%s: invalid header name '%.*s'", k->name, (int) (colon - value), value);

        r = credentials_expand(&p->credentials, value, &expanded, error, sizeof error);
        if (r == -ENOMEM)
                p->failed_oom = true;
        else if (r < 0)
                add_error(p, "%s: %s", k->name, error);
        if (r < 0)
                return;
        if (r > 0) {
                size_t n = strlen(expanded);

                ep->has_credentials = true;
                /* What credentials add counts as read, so they cannot make a small file large. */
                ini_count(p->ini, n - strlen(value));
                if (n > HEADER_MAX) {
                        add_error(p, "%s: longer than %d bytes with its credentials (the value is not shown: it may be a secret)",
                                  k->name, HEADER_MAX);
                        explicit_bzero(expanded, n);
                        free(expanded);
                        return;
                }
        }

        /* n_headers + 1 for the terminating NULL. */
        h = array_grow(ep->headers, ep->n_headers + 1, &p->cur->headers_cap, sizeof(char *));
        if (!h) {
                explicit_bzero(expanded, strlen(expanded));
                free(expanded);
                p->failed_oom = true;
                return;
        }
        ep->headers = h;
        h[ep->n_headers++] = expanded;
        h[ep->n_headers] = NULL;
}

/* As a list: the same headers in the same order. */
static bool headers_equal(const void *a, const void *b) {
        char *const *x = *(char **const *) a, *const *y = *(char **const *) b;

        if (!x || !y)
                return !x == !y;
        for (; *x && *y; x++, y++)
                if (!streq(*x, *y))
                        return false;
        return !*x && !*y;
}

static void headers_done(void *field) {
        char **h = *(char ***) field;

        for (size_t i = 0; h && h[i]; i++) {
                explicit_bzero(h[i], strlen(h[i]));
                free(h[i]);
        }
        free(h);
        *(char ***) field = NULL;
}

static int headers_range(const struct key *k, char *buf, size_t size) {
        return snprintf(buf, size, "at most %" PRIu64 " per endpoint", k->max) < (int) size ? 0 : -ENOBUFS;
}

static const struct value_type type_headers = {
        .what = "Name: value",
        .format_range = headers_range,
        .parse = headers_parse,
        .equal = headers_equal,
        .done = headers_done,
};

/*
 * A file read at connection time (by OpenSSL, through libcurl): absolute, so
 * it does not depend on the working directory, and readable now, so a typo
 * fails the load with its line rather than every request of a round.
 */
static int check_file(struct parser *p, const struct key *k, const char *path, const char *shown) {
        struct stat st;
        int fd;

        if (path[0] != '/') {
                add_error(p, "%s: '%s' is not an absolute path", k->name, shown);
                return -EINVAL;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;

                add_error(p, "%s: cannot read '%s': %s", k->name, shown, strerror(e));
                return -e;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                add_error(p, "%s: '%s' is not a regular file", k->name, shown);
                return -EINVAL;
        }
        close(fd);
        return 0;
}

static void file_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        if (check_file(p, k, value, value) >= 0)
                set_string(p, value, field_of(k, base));
}

/* "system" is libcurl's built-in store (a NULL field), so an endpoint can undo [global]'s file. */
static void ca_file_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        if (streq(value, "system"))
                string_done(field_of(k, base));
        else
                file_parse(p, k, value, base);
}

static const struct value_type type_ca_file = {
        .what = "absolute path or system",
        .parse = ca_file_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

/*
 * A client certificate or its private key: a file, or ${credential:NAME},
 * the file systemd's LoadCredential= puts in $CREDENTIALS_DIRECTORY (the way
 * to hand a key to a DynamicUser service).  The field is the path; the key
 * itself is only ever read by OpenSSL, and only the credential's name
 * appears in an error.
 */
static void key_file_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        _cleanup_(freep) char *path = NULL;
        char error[CREDENTIAL_ERROR_MAX];
        int r;

        if (!credential_is_reference(value))
                return file_parse(p, k, value, base);
        r = credentials_path(&p->credentials, value, &path, error, sizeof error);
        if (r == -ENOMEM)
                p->failed_oom = true;
        else if (r < 0)
                add_error(p, "%s: %s", k->name, error);
        else if (r > 0 && check_file(p, k, path, value) >= 0)
                set_string(p, path, field_of(k, base));
}

static const struct value_type type_key_file = {
        .what = "absolute path or ${credential:NAME}",
        .parse = key_file_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

static void http_version_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        static const struct {
                const char *name;
                enum http_version v;
        } versions[] = {
                { "auto", HTTP_VERSION_AUTO },
                { "1.1",  HTTP_VERSION_1_1 },
                { "2",    HTTP_VERSION_2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(versions); i++)
                if (streq(value, versions[i].name)) {
                        *(enum http_version *) field_of(k, base) = versions[i].v;
                        return;
                }
        add_error(p, "%s: invalid HTTP version '%s' (use auto, 1.1 or 2)", k->name, value);
}

static bool http_version_equal(const void *a, const void *b) {
        return *(const enum http_version *) a == *(const enum http_version *) b;
}

static int http_version_copy(void *dst, const void *src) {
        *(enum http_version *) dst = *(const enum http_version *) src;
        return 0;
}

static const struct value_type type_http_version = {
        .what = "auto, 1.1 or 2",
        .parse = http_version_parse,
        .equal = http_version_equal,
        .copy = http_version_copy,
};

/* ------------------------------------------------------------------- keys */

#define GLOBAL   CONFIG_SCOPE_GLOBAL
#define ENDPOINT CONFIG_SCOPE_ENDPOINT
#define EP(f) offsetof(struct endpoint_config, f)
#define GL(f) offsetof(struct config, f)

/*
 * Every key warmd knows.  A key in both scopes is set in [global] for every
 * endpoint, and an endpoint may set its own.  A new key is one line here and
 * its field; tests/test-config.c then wants sample values for it, and
 * warmd.conf(5) its line in the key list and its description.
 */
static const struct key keys[] = {
        { .name = "interval",        .scope = GLOBAL | ENDPOINT, .type = &type_duration,
          .offset = EP(interval_usec), .min = USEC_PER_SEC, .max = 24 * USEC_PER_HOUR, .def = "15m" },
        { .name = "jitter",          .scope = GLOBAL | ENDPOINT, .type = &type_duration,
          .offset = EP(jitter_usec), .max = 24 * USEC_PER_HOUR, .def = "0", .doc = "at most interval" },
        { .name = "timeout",         .scope = GLOBAL | ENDPOINT, .type = &type_duration,
          .offset = EP(timeout_usec), .min = USEC_PER_MSEC, .max = USEC_PER_HOUR, .def = "10s" },
        { .name = "connect_timeout", .scope = GLOBAL | ENDPOINT, .type = &type_duration,
          .offset = EP(connect_timeout_usec), .min = USEC_PER_MSEC, .max = USEC_PER_HOUR, .def = "5s" },
        { .name = "max_parallel",    .scope = GLOBAL,            .type = &type_number,
          .offset = GL(max_parallel), .min = 1, .max = MAX_PARALLEL_MAX, .def = "1000" },
        { .name = "user_agent",      .scope = GLOBAL,            .type = &type_text,
          .offset = GL(user_agent), .def = PACKAGE_NAME "/" PACKAGE_VERSION, .def_doc = PACKAGE_NAME "/VERSION" },
        { .name = "metrics_file",    .scope = GLOBAL,            .type = &type_path,
          .offset = GL(metrics_file), .def_doc = "none" },
        { .name = "topup",           .scope = GLOBAL | ENDPOINT, .type = &type_factor,
          .offset = EP(topup_factor), .min = 1, .max = TOPUP_FACTOR_MAX, .def = "8",
          .doc = "times containers: the most requests of a round; no is 1" },
        { .name = "url",             .scope = ENDPOINT,          .type = &type_url,
          .offset = EP(url), .flags = KEY_REQUIRED, .instead = "lambda", .doc = "http or https only" },
        { .name = "lambda",          .scope = ENDPOINT,          .type = &type_lambda,
          .offset = EP(lambda), .doc = "NAME, NAME:QUALIFIER or an ARN; instead of url" },
        { .name = "region",          .scope = GLOBAL | ENDPOINT, .type = &type_region,
          .offset = EP(region), .def_doc = "$AWS_REGION, else $AWS_DEFAULT_REGION" },
        { .name = "containers",      .scope = ENDPOINT,          .type = &type_number,
          .offset = EP(containers), .min = 1, .max = CONTAINERS_MAX, .flags = KEY_REQUIRED },
        { .name = "method",          .scope = ENDPOINT,          .type = &type_method,
          .offset = EP(method), .doc = "upper case", .def_doc = "GET" },
        { .name = "header",          .scope = ENDPOINT,          .type = &type_headers,
          .offset = EP(headers), .max = HEADERS_MAX, .flags = KEY_REPEATABLE },
        { .name = "body",            .scope = ENDPOINT,          .type = &type_text,
          .offset = EP(body), .flags = KEY_CONTROL_CHARS, .doc = "sent as is" },
        { .name = "expect_status",   .scope = ENDPOINT,          .type = &type_number,
          .offset = EP(expect_status), .min = 100, .max = 599, .def_doc = "any 2xx" },
        { .name = "reuse_header",    .scope = ENDPOINT,          .type = &type_header_name,
          .offset = EP(reuse_header) },
        { .name = "reuse_json",      .scope = ENDPOINT,          .type = &type_json_path,
          .offset = EP(reuse_json) },
        { .name = "instance_header", .scope = ENDPOINT,          .type = &type_header_name,
          .offset = EP(instance_header) },
        { .name = "instance_json",   .scope = ENDPOINT,          .type = &type_json_path,
          .offset = EP(instance_json) },
        { .name = "cold_threshold",  .scope = ENDPOINT,          .type = &type_duration,
          .offset = EP(cold_threshold_usec), .min = USEC_PER_MSEC, .max = USEC_PER_HOUR, .def_doc = "none" },
        { .name = "ca_file",         .scope = GLOBAL | ENDPOINT, .type = &type_ca_file,
          .offset = EP(ca_file), .doc = "PEM", .def_doc = "system" },
        { .name = "client_cert",     .scope = GLOBAL | ENDPOINT, .type = &type_key_file,
          .offset = EP(client_cert), .doc = "PEM", .def_doc = "none" },
        { .name = "client_key",      .scope = GLOBAL | ENDPOINT, .type = &type_key_file,
          .offset = EP(client_key), .doc = "PEM", .def_doc = "in client_cert" },
        { .name = "http_version",    .scope = GLOBAL | ENDPOINT, .type = &type_http_version,
          .offset = EP(http_version), .def = "auto" },
};

_Static_assert(ELEMENTSOF(keys) <= KEYS_MAX, "struct section has no room for every key");

/* A key's index, for the rules between keys; ELEMENTSOF(keys) if there is none. */
static size_t key_id(const char *name) {
        size_t i;

        /* The first byte first: a header line, the most common, then costs one strcmp(), not ten. */
        for (i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].name[0] == name[0] && streq(keys[i].name, name))
                        break;
        return i;
}

/* The line where a section set a key; 0: not set. */
static unsigned set_at(const struct section *s, const char *name) {
        size_t i = key_id(name);

        return s && i < ELEMENTSOF(keys) ? s->key_line[i] : 0;
}

int config_key_info(size_t i, struct config_key_info *ret) {
        const struct key *k;
        char range[64] = "";
        const char *def;
        int n;

        if (i >= ELEMENTSOF(keys))
                return -ENOENT;
        k = &keys[i];
        if (k->type->format_range && k->type->format_range(k, range, sizeof range) < 0)
                return -ENOBUFS;
        def = k->def_doc ? k->def_doc : k->def;
        n = snprintf(ret->summary, sizeof ret->summary, "%s%s%s%s%s%s%s%s%s%s%s", k->type->what, range[0] ? ", " : "",
                     range, k->doc ? ", " : "", k->doc ? k->doc : "", k->flags & KEY_REQUIRED ? "; required" : "",
                     k->instead ? " unless " : "", k->instead ? k->instead : "",
                     def ? "; default " : "", def ? def : "", k->flags & KEY_REPEATABLE ? "; repeatable" : "");
        if (n < 0 || (size_t) n >= sizeof ret->summary)
                return -ENOBUFS;
        ret->name = k->name;
        ret->scope = k->scope;
        ret->required = k->flags & KEY_REQUIRED;
        ret->inheritable = k->type->copy != NULL;
        return 0;
}

static unsigned edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[64];

        if (lb >= ELEMENTSOF(row) || la >= 64)
                return UINT32_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];

                row[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j], best;

                        best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        diag = up;
                        row[j] = best;
                }
        }
        return row[lb];
}

static const char *did_you_mean(const char *key) {
        const char *best = NULL;
        unsigned best_d = 3;    /* two edits at most: a typo, not another word */

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                unsigned d = edit_distance(key, keys[i].name);

                if (d < best_d && d < strlen(keys[i].name)) {
                        best_d = d;
                        best = keys[i].name;
                }
        }
        return best;
}

/* ---------------------------------------------------------------- handler */

static void endpoint_config_done(struct endpoint_config *ep);

static void handle_key(struct parser *p, const char *name, const char *value) {
        struct section *s = p->cur;
        const struct key *k;
        bool global;
        size_t id;

        id = key_id(name);
        /* Nothing of a line with a control character is shown, unless it is a key that may hold them. */
        if (p->control && id == ELEMENTSOF(keys)) {
                add_error(p, "control character 0x%02x", p->control);
                return;
        }
        if (!s) {
                add_error(p, "'%s' is outside any section; put it under [global] or an endpoint section", name);
                return;
        }
        global = streq(s->name, "global");

        if (id == ELEMENTSOF(keys)) {
                const char *hint = did_you_mean(name);

                if (hint)
                        add_error(p, "unknown key '%s' in [%s]; did you mean '%s'?", name, s->name, hint);
                else
                        add_error(p, "unknown key '%s' in [%s]", name, s->name);
                return;
        }
        k = &keys[id];
        if (global && !(k->scope & CONFIG_SCOPE_GLOBAL)) {
                add_error(p, "'%s' belongs in an endpoint section, not in [global]", name);
                return;
        }
        if (!global && !(k->scope & CONFIG_SCOPE_ENDPOINT)) {
                add_error(p, "'%s' is only allowed in [global]", name);
                return;
        }
        if (!(k->flags & KEY_REPEATABLE) && s->key_line[id] > 0) {
                add_error(p, "duplicate key '%s' (first set at line %u)", name, s->key_line[id]);
                return;
        }
        s->key_line[id] = p->line;
        if (*value == '\0') {
                add_error(p, "%s: empty value", name);
                return;
        }
        /* A control character (a bare CR above all) would reach the wire as it is; body is sent whole. */
        if (p->control && !(k->flags & KEY_CONTROL_CHARS)) {
                add_error(p, "%s: control character 0x%02x in the value", name, p->control);
                return;
        }

        if (global)
                /* A key an endpoint may override is a default for all of them. */
                k->type->parse(p, k, value, k->scope & CONFIG_SCOPE_ENDPOINT ? (void *) &p->defaults : (void *) p->config);
        else if (s->ep)
                k->type->parse(p, k, value, s->ep);
        else {
                /* A rejected section: check the value against a scratch endpoint. */
                struct endpoint_config scratch = {};

                s->headers_cap = 0;
                k->type->parse(p, k, value, &scratch);
                endpoint_config_done(&scratch);
        }
}

/* --------------------------------------------------------------- sections */

static bool valid_section_name(const char *s) {
        if (!*s || strlen(s) >= SECTION_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.:@-", *s))
                        return false;
        return true;
}

static int cmp_section_name(const void *a, const void *b) {
        return strcmp(((const struct section *) a)->name, ((const struct section *) b)->name);
}

static void begin_section(struct parser *p, const char *name) {
        struct section *s, **found, **v;

        p->cur = NULL;
        v = array_grow(p->sections, p->n_sections, &p->sections_cap, sizeof(struct section *));
        if (!v) {
                p->failed_oom = true;
                return;
        }
        p->sections = v;
        s = calloc(1, sizeof *s);
        if (!s || !(s->name = strdup(name))) {
                free(s);
                p->failed_oom = true;
                return;
        }
        s->line = p->line;
        p->sections[p->n_sections++] = s;
        p->cur = s;

        found = tsearch(s, &p->section_names, cmp_section_name);
        if (!found) {
                p->failed_oom = true;
                return;
        }
        if (*found != s) {
                add_error(p, "duplicate section [%s] (first defined at line %u)", name, (*found)->line);
                return;         /* its keys are still read, for their own errors, but not applied */
        }
        if (streq(name, "global"))
                p->global = s;
        else if (valid_section_name(name)) {
                if (p->config->n_endpoints == ENDPOINTS_MAX) {
                        add_error(p, "too many endpoints: warmd reads at most %u, and not the rest of the file",
                                  ENDPOINTS_MAX);
                        p->stop = true;
                        return;
                }
                /* Endpoint configs are allocated one by one, so they never move as the array grows. */
                struct endpoint_config *ep = calloc(1, sizeof *ep), **a;

                a = ep ? array_grow(p->config->endpoints, p->config->n_endpoints, &p->endpoints_cap, sizeof(*a)) : NULL;
                if (!a) {
                        free(ep);
                        p->failed_oom = true;
                        return;
                }
                p->config->endpoints = a;
                a[p->config->n_endpoints++] = ep;
                ep->name = strdup(name);
                ep->line = p->line;
                if (!ep->name)
                        p->failed_oom = true;
                s->ep = ep;
        }
}

/* A section header: errors in its name are reported, and its keys are still read, for their own errors. */
static void handle_section(struct parser *p, const char *header) {
        _cleanup_(freep) char *name = strdup(header);

        if (!name) {
                p->failed_oom = true;
                return;
        }
        /* Never echo a control character: the name is shown with '?' instead. */
        if (p->control) {
                add_error(p, "control character 0x%02x in a section header", p->control);
                for (char *c = name; *c; c++)
                        if (is_control_char((unsigned char) *c))
                                *c = '?';
        }
        if (strlen(name) >= SECTION_NAME_MAX)
                add_error(p, "section name too long (%zu characters; the limit is %d)", strlen(name), SECTION_NAME_MAX - 1);
        else if (!valid_section_name(name) && !p->control)
                add_error(p, "invalid section name [%s] (use letters, digits, '_', '.', ':', '@' and '-')", name);
        begin_section(p, name);
}

/* ------------------------------------------------------------- validation */

/*
 * A Lambda endpoint: exactly one of url and lambda; the invoke is a POST of
 * the payload (serverless-plugin-warmup's by default), to a URL and with
 * headers derived here, so reload equality and the journal see them as for
 * any endpoint.  Returns false if the endpoint is not a Lambda one.
 */
static bool finish_lambda(struct parser *p, struct section *s) {
        static const char *const fixed[] = {
                "Content-Type: application/json",
                "X-Amz-Invocation-Type: RequestResponse",
                "X-Amz-Log-Type: Tail",         /* Lambda's REPORT line tells cold from warm */
        };
        struct endpoint_config *ep = s->ep;
        unsigned line = set_at(s, "lambda");
        _cleanup_(freep) char *ctx = NULL;
        const char *region, *why = NULL;
        struct curl_slist *l = NULL;
        struct lambda_target t;
        CURLU *u;
        int r;

        if (!ep->lambda)
                return false;
        if (set_at(s, "url"))
                add_error_at(p, set_at(s, "url"), "[%s]: 'url' and 'lambda' cannot both be set", s->name);
        if (set_at(s, "method"))
                add_error_at(p, set_at(s, "method"), "[%s]: 'method' cannot be set for 'lambda': an invoke is a POST",
                             s->name);
        if (set_at(s, "header"))
                add_error_at(p, set_at(s, "header"), "[%s]: 'header' cannot be set for 'lambda': an invoke is signed, "
                             "and its headers are warmd's", s->name);
        if (lambda_parse(ep->lambda, &t, &why) < 0)
                return true;            /* reported at its line */

        free(ep->method);       /* one set next to lambda is an error, reported above; POST replaces it */
        if (!(ep->method = strdup("POST"))) {
                p->failed_oom = true;
                return true;
        }
        if (!ep->body && !(ep->body = strdup(LAMBDA_DEFAULT_PAYLOAD))) {
                p->failed_oom = true;
                return true;
        }
        r = lambda_payload_check(ep->body);
        if (r == -ENOMEM) {
                p->failed_oom = true;
                return true;
        }
        if (r < 0) {
                add_error_at(p, set_at(s, "body"), "[%s]: 'body' must be JSON for 'lambda': it is the event payload",
                             s->name);
                return true;
        }

        region = t.region[0] ? t.region : ep->region ? ep->region : getenv("AWS_REGION");
        if (!region || !*region)
                region = getenv("AWS_DEFAULT_REGION");
        if (!region || !*region || !valid_region(region)) {
                add_error_at(p, line, "[%s]: no region for '%s' (set region = in [global] or here, or AWS_REGION)",
                             s->name, ep->lambda);
                return true;
        }
        if (region != ep->region) {
                char *c = strdup(region);

                if (!c) {
                        p->failed_oom = true;
                        return true;
                }
                free(ep->region);
                ep->region = c;
        }

        free(ep->url);          /* likewise a url, and the form of it that is shown */
        ep->url = NULL;
        free(ep->url_display);
        ep->url_display = NULL;
        r = lambda_url(&t, ep->region, &ep->url);
        if (r >= 0 && (u = curl_url())) {
                if (curl_url_set(u, CURLUPART_URL, ep->url, 0) == CURLUE_OK) {
                        ep->host_is_address = host_is_address(u);
                        r = url_display(u, &ep->url_display);
                } else
                        r = -EINVAL;
                curl_url_cleanup(u);
        } else if (r >= 0)
                r = -ENOMEM;
        if (r == -ENOMEM)
                p->failed_oom = true;
        else if (r < 0)
                add_error_at(p, line, "[%s]: cannot make an invoke URL for '%s' (check AWS_ENDPOINT_URL_LAMBDA and "
                             "AWS_ENDPOINT_URL)", s->name, ep->lambda);
        if (r < 0)
                return true;

        r = lambda_client_context(ep->body, &ctx);
        if (r == -E2BIG)
                add_error_at(p, set_at(s, "body"), "[%s]: 'body' is too long to be sent as the client context too",
                             s->name);
        else if (r == -ENOMEM)
                p->failed_oom = true;
        for (size_t i = 0; i < ELEMENTSOF(fixed) + 1; i++) {
                const char *h = i < ELEMENTSOF(fixed) ? fixed[i] : ctx;

                if (h && !(l = curl_slist_append(l, h))) {
                        p->failed_oom = true;
                        break;
                }
                ep->header_list = l;
        }
        return true;
}

static void finish_endpoint(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        bool lambda = false;
        struct curl_slist *tail = NULL;
        unsigned line;
        char a[32], b[32];

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const struct key *k = &keys[i];

                if (!(k->scope & CONFIG_SCOPE_ENDPOINT) || s->key_line[i] > 0)
                        continue;
                /* A key set to a bad value, or on a line too long, was reported already. */
                if (k->flags & KEY_REQUIRED) {
                        if (!s->bad_line && !(k->instead && set_at(s, k->instead)))
                                add_error_at(p, s->line, "[%s]: missing required key '%s'", s->name, k->name);
                } else if (((k->scope & CONFIG_SCOPE_GLOBAL) || k->def) &&
                           k->type->copy(field_of(k, ep), const_field_of(k, &p->defaults)) < 0) {
                        p->failed_oom = true;
                        return;
                }
        }

        /* A Lambda endpoint's method, body and headers are set there, before the checks below. */
        if (finish_lambda(p, s) && ep->header_list)
                lambda = true;
        /* By the lines, not the fields: a credential left unread by "warmd -n" leaves its field unset. */
        line = set_at(s, "client_key");
        if (line == 0)
                line = set_at(p->global, "client_key");
        if (line > 0 && set_at(s, "client_cert") == 0 && set_at(p->global, "client_cert") == 0)
                add_error_at(p, line, "[%s]: 'client_key' needs 'client_cert'", s->name);

        line = set_at(s, "body");
        if (ep->body && (!ep->method || streq(ep->method, "GET") || streq(ep->method, "HEAD")))
                add_error_at(p, line, "[%s]: 'body' needs a method that sends one, such as method = POST", s->name);

        if (ep->jitter_usec > ep->interval_usec) {
                line = set_at(s, "jitter");
                if (line == 0)
                        line = set_at(p->global, "jitter");
                (void) format_duration(ep->jitter_usec, DURATION_CONFIG, a, sizeof a);
                (void) format_duration(ep->interval_usec, DURATION_CONFIG, b, sizeof b);
                add_error_at(p, line > 0 ? line : s->line, "[%s]: jitter (%s) must not be longer than interval (%s)",
                             s->name, a, b);
        }

        /* Appended at the tail, which curl_slist_append() would otherwise walk to for every header. */
        for (size_t i = 0; !lambda && i < ep->n_headers; i++) {
                struct curl_slist *l = curl_slist_append(tail, ep->headers[i]);

                if (!l) {
                        p->failed_oom = true;
                        return;
                }
                if (!tail)
                        ep->header_list = l;
                tail = tail ? tail->next : l;
        }
}

static void endpoint_config_done(struct endpoint_config *ep) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if ((keys[i].scope & CONFIG_SCOPE_ENDPOINT) && keys[i].type->done)
                        keys[i].type->done(field_of(&keys[i], ep));
        free(ep->name);
        free(ep->url_display);
        curl_slist_free_all(ep->header_list);
}

void endpoint_config_free(struct endpoint_config *ep) {
        if (!ep)
                return;
        endpoint_config_done(ep);
        free(ep);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_endpoints; i++)
                endpoint_config_free(c->endpoints[i]);
        free(c->endpoints);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].scope == CONFIG_SCOPE_GLOBAL && keys[i].type->done)
                        keys[i].type->done(field_of(&keys[i], c));
        free(c->path);
        free(c);
        return NULL;
}

/* The tree only points at sections; parser_done() frees them through p->sections. */
static void noop_free(void *p _unused_) {
}

static void parser_done(struct parser *p) {
        tdestroy(p->section_names, noop_free);
        for (size_t i = 0; i < p->n_sections; i++) {
                free(p->sections[i]->name);
                free(p->sections[i]);
        }
        free(p->sections);
        endpoint_config_done(&p->defaults);
        credentials_done(&p->credentials);
        for (size_t i = 0; i < p->n_errors; i++)
                free(p->errors[i].text);
        ini_close(p->ini);
}

int config_load(const char *path, unsigned flags, struct config **ret, struct config_errors *errors) {
        struct parser p = {
                .path = path,
                .credentials.optional = flags & CONFIG_CREDENTIALS_OPTIONAL,
        };
        struct config *c = NULL;
        struct ini_item it;
        int r, read_error = 0;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        p.config = c;
        c->path = strdup(path);
        if (!c->path) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].def)
                        keys[i].type->parse(&p, &keys[i], keys[i].def,
                                            keys[i].scope == CONFIG_SCOPE_GLOBAL ? (void *) c : (void *) &p.defaults);

        r = ini_open(path, &(struct ini_limits) { .file_max = CONFIG_FILE_MAX, .line_max = LINE_MAX_CHARS }, &p.ini);
        if (r < 0) {
                add_error_at(&p, 0, "cannot read: %s", strerror(-r));
                goto fail;
        }
        while (!p.stop && (r = ini_next(p.ini, &it)) > 0) {
                p.line = it.line;
                p.control = it.control;
                switch (it.type) {
                case INI_SECTION:
                        handle_section(&p, it.name);
                        break;
                case INI_KEY:
                        handle_key(&p, it.name, it.value);
                        break;
                case INI_BAD_LINE:
                case INI_SYNTAX_ERROR:
                        /* A line not read may have held any key: the section's missing keys are no news. */
                        if (it.type == INI_BAD_LINE && p.cur)
                                p.cur->bad_line = true;
                        add_error(&p, "%s", it.error);
                        break;
                }
        }
        if (r == -EFBIG) {
                add_error_at(&p, 0, "too large: warmd reads at most %u bytes (16 MiB), credentials included",
                             CONFIG_FILE_MAX);
                if (p.cur)
                        p.cur->bad_line = true;         /* cut short: its missing keys are no news */
        } else if (r < 0) {
                add_error_at(&p, 0, "cannot read: %s", strerror(-r));
                read_error = r;
        }

        for (size_t i = 0; i < p.n_sections; i++)
                if (p.sections[i]->ep)
                        finish_endpoint(&p, p.sections[i]);

        if (p.failed_oom) {
                r = -ENOMEM;
                goto fail;
        }
        if (n_errors(&p) > 0) {
                r = read_error < 0 ? read_error : -EINVAL;
                goto fail;
        }
        parser_done(&p);
        *ret = c;
        return 0;

fail:
        move_errors(&p, errors);
        parser_done(&p);
        config_free(c);
        return r < 0 ? r : -EINVAL;
}

const struct endpoint_config *config_find_endpoint(const struct config *c, const char *name) {
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (streq(c->endpoints[i]->name, name))
                        return c->endpoints[i];
        return NULL;
}

size_t config_total_containers(const struct config *c) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_endpoints; i++)
                n += c->endpoints[i]->containers;
        return n;
}

/* Equal endpoints keep their schedule and history across a reload: every key an endpoint has, from the table. */
bool endpoint_config_equal(const struct endpoint_config *a, const struct endpoint_config *b) {
        if (!streq(a->name, b->name))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if ((keys[i].scope & CONFIG_SCOPE_ENDPOINT) &&
                    !keys[i].type->equal(const_field_of(&keys[i], a), const_field_of(&keys[i], b)))
                        return false;
        return true;
}

/* The keys only allowed in [global]: the others reach every endpoint, and endpoint_config_equal() sees them. */
bool config_global_equal(const struct config *a, const struct config *b) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].scope == CONFIG_SCOPE_GLOBAL &&
                    !keys[i].type->equal(const_field_of(&keys[i], a), const_field_of(&keys[i], b)))
                        return false;
        return true;
}
