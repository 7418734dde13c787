/* SPDX-License-Identifier: MIT */
/*
 * config.c: reads warmd.conf with inih into a fresh struct config, and
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
#include <arpa/inet.h>
#include <fcntl.h>
#include <ini.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "warmd.h"

#define SECTION_NAME_MAX        50      /* inih's MAX_SECTION: it cuts longer names short */
/*
 * Limits on what comes from outside, listed in warmd.conf(5)'s LIMITS.  The
 * file is read in bytes actually read, so a pipe or a device is bounded too.
 * At these limits "warmd -n" takes at most about 0.3 s here (see
 * bench/config-limits), so a reload does not hold up a stop for long.
 */
#define CONFIG_FILE_MAX         (16U * 1024U * 1024U)   /* bytes read, plus bytes credentials add */
#define LINE_KEEP               256     /* bytes of a line kept: more than inih's line buffer */
#define ERRORS_SHOWN_MAX        100     /* then one line "and N more errors" */
#define ENDPOINTS_MAX           100000U /* the rest of the file is not read */
#define HEADERS_MAX             100     /* per endpoint */
#define HEADER_MAX              16384   /* one header, "Name: value", with its credentials */
#define CREDENTIAL_MAX          8192
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
        unsigned flags;
        FILE *f;
        char in[64 * 1024];             /* read ahead */
        size_t in_pos, in_len;
        uint64_t read;                  /* bytes read from the file */
        uint64_t size;                  /* bytes of it used, plus bytes credentials added */
        bool too_large;
        bool stop;                      /* a limit was reached: read no further */
        char buf[LINE_KEEP + 1];        /* the line, without leading blanks, as far as it is kept */
        size_t len;                     /* its length without trailing blanks, also past LINE_KEEP */
        size_t nul_column;              /* where the line has its first NUL byte; 0: none */
        unsigned char control;          /* the first control character of the line; 0: none */
        unsigned line;
        bool syntax_error_on_line;
        struct error errors[ERRORS_SHOWN_MAX];
        size_t n_errors;
        size_t n_more_errors;           /* counted, but neither kept nor formatted */
        void *credentials;              /* tsearch() tree of struct credential: each file read once */
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

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "",     USEC_PER_SEC },
                { "ms",   USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "s",    USEC_PER_SEC },
                { "sec",  USEC_PER_SEC },
                { "m",    USEC_PER_MINUTE },
                { "min",  USEC_PER_MINUTE },        /* as in systemd's time spans, which users know */
                { "h",    USEC_PER_HOUR },
                { "hour", USEC_PER_HOUR },
        };
        const char *p = s;
        uint64_t n = 0;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (n > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(p, units[i].suffix))
                        continue;
                if (n > UINT64_MAX / units[i].usec)
                        return -ERANGE;
                *ret_usec = n * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

int format_duration(uint64_t usec, char *buf, size_t size) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "h",  USEC_PER_HOUR },
                { "m",  USEC_PER_MINUTE },
                { "s",  USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
        };
        int n = -1;

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (usec > 0 && usec % units[i].usec == 0) {
                        n = snprintf(buf, size, "%" PRIu64 "%s", usec / units[i].usec, units[i].suffix);
                        break;
                }
        if (n < 0)
                n = snprintf(buf, size, "%" PRIu64 "ms", usec_to_msec(usec));
        return n >= 0 && (size_t) n < size ? 0 : -ENOBUFS;
}

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

/* As HTTP field values forbid them: all but HTAB below 0x20, and DEL. */
static bool is_control(unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
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

static void format_duration_or_zero(uint64_t usec, char *buf, size_t size) {
        if (usec == 0)
                snprintf(buf, size, "0");
        else
                (void) format_duration(usec, buf, size);
}

static void duration_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        char lo[32], hi[32];
        uint64_t v = 0;
        int r;

        r = parse_duration(value, &v);
        if (r == -EINVAL)
                return add_error(p, "%s: invalid duration '%s' (use a number with ms, s, m or h)", k->name, value);
        if (r < 0 || v < k->min || v > k->max) {
                format_duration_or_zero(k->min, lo, sizeof lo);
                format_duration_or_zero(k->max, hi, sizeof hi);
                return add_error(p, "%s: %s is out of range (%s..%s)", k->name, value, lo, hi);
        }
        *(uint64_t *) field_of(k, base) = v;
}

static int duration_range(const struct key *k, char *buf, size_t size) {
        char lo[32], hi[32];

        format_duration_or_zero(k->min, lo, sizeof lo);
        format_duration_or_zero(k->max, hi, sizeof hi);
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

/* An IP address (IPv6 comes bracketed) needs no name resolution before a round. */
static bool host_is_address(CURLU *u) {
        unsigned char buf[sizeof(struct in6_addr)];
        char *host = NULL, *h;
        bool r = false;

        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return false;
        h = host;
        if (h[0] == '[') {
                h++;
                h[strcspn(h, "]%")] = '\0';
                r = inet_pton(AF_INET6, h, buf) == 1;
        } else
                r = inet_pton(AF_INET, h, buf) == 1;
        curl_free(host);
        return r;
}

/*
 * The URL as it may be shown, in the journal and in errors: with "***" for
 * the user and password, "name=***" for each part of the query (Azure
 * Functions keys travel as ?code=KEY), and no fragment.  curl takes the URL
 * apart; only the query's '&'-separated parts are split here, as curl has no
 * call for them.
 */
static int url_display(CURLU *u, char **ret) {
        char *query = NULL, *user = NULL, *pass = NULL, *frag = NULL, *out = NULL, *shown = NULL;
        bool secrets;
        size_t len = 0;
        CURLU *d = NULL;
        FILE *f = NULL;
        int r = -ENOMEM;

        /* Nothing to hide, as for most URLs: no copy to change (that halves the time of 100,000 endpoints). */
        secrets = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
                  curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK ||
                  curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
                  curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK;
        curl_free(user);
        curl_free(pass);
        curl_free(query);
        curl_free(frag);
        user = pass = query = NULL;
        if (!secrets) {
                if (curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK)
                        return -ENOMEM;
                *ret = strdup(shown);
                curl_free(shown);
                return *ret ? 0 : -ENOMEM;
        }
        d = curl_url_dup(u);
        if (!d)
                return -ENOMEM;
        if (curl_url_get(d, CURLUPART_USER, &user, 0) == CURLUE_OK ||
            curl_url_get(d, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
                if (curl_url_set(d, CURLUPART_USER, "***", 0) != CURLUE_OK ||
                    curl_url_set(d, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK)
                        goto out;
        }
        if (curl_url_get(d, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
                f = open_memstream(&out, &len);
                if (!f)
                        goto out;
                for (const char *q = query;;) {
                        size_t n = strcspn(q, "&"), name = strcspn(q, "=&");

                        if (name < n)
                                fprintf(f, "%.*s=***", (int) name, q);
                        else if (n > 0)
                                fputs("***", f);
                        if (q[n] == '\0')
                                break;
                        fputc('&', f);
                        q += n + 1;
                }
                if (fclose(f) != 0 || curl_url_set(d, CURLUPART_QUERY, out, 0) != CURLUE_OK)
                        goto out;
        }
        if (curl_url_set(d, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
            curl_url_get(d, CURLUPART_URL, &shown, 0) != CURLUE_OK)
                goto out;
        *ret = strdup(shown);
        r = *ret ? 0 : -ENOMEM;
out:
        curl_free(shown);
        curl_free(query);
        curl_free(user);
        curl_free(pass);
        free(out);
        curl_url_cleanup(d);
        return r;
}

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

/* "lambda" and "region": lambda.c checks them. */
static void lambda_key_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        _cleanup_(freep) char *why = NULL;
        int r;

        r = lambda_key_check(k->name, value, &why);
        if (r == -ENOMEM)
                p->failed_oom = true;
        else if (r < 0)
                add_error(p, "%s: %s", k->name, why);
        else
                set_string(p, value, field_of(k, base));
}

static const struct value_type type_lambda = {
        .what = "function",
        .parse = lambda_key_parse,
        .equal = string_equal,
        .done = string_done,
};

static const struct value_type type_region = {
        .what = "AWS region",
        .parse = lambda_key_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
};

/* A file name in $CREDENTIALS_DIRECTORY, as systemd allows them: no '/', not "." or "..". */
static bool valid_credential_name(const char *name, size_t n) {
        return n > 0 &&
               strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") >= n &&
               !(n == 1 && name[0] == '.') && !(n == 2 && name[0] == '.' && name[1] == '.');
}

/* A credential as read once per load; the tree p->credentials holds them by name. */
struct credential {
        char *name;
        char *value;                    /* NULL when it could not be read */
        size_t len;
        char *failure;                  /* why not, reported at every line that refers to it */
        int error;
};

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

/*
 * Reads $CREDENTIALS_DIRECTORY/NAME into c, or says in c->failure why it
 * cannot; the secret never appears in a message.  Returns 0, or -ENOMEM.
 */
static int read_credential(const char *dir, struct credential *c) {
        _cleanup_(freep) char *path = NULL;
        char *data = NULL;
        ssize_t n = 0;
        int fd, r;

        if (asprintf(&path, "%s/%s", dir, c->name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                data = malloc(CREDENTIAL_MAX + 1);
                if (!data) {
                        close(fd);
                        return -ENOMEM;
                }
                n = read(fd, data, CREDENTIAL_MAX + 1);
                if (n < 0)
                        c->error = -errno;
                close(fd);
        } else
                c->error = -errno;

        if (c->error < 0)
                r = asprintf(&c->failure, "header: cannot read credential '%s': %s", c->name, strerror(-c->error));
        else if (n > CREDENTIAL_MAX) {
                c->error = -E2BIG;
                r = asprintf(&c->failure, "header: credential '%s' is longer than %d bytes", c->name, CREDENTIAL_MAX);
        } else {
                if (n > 0 && data[n - 1] == '\n')
                        n--;
                if (n > 0 && data[n - 1] == '\r')
                        n--;
                data[n] = '\0';
                c->value = data;
                c->len = (size_t) n;
                data = NULL;
                r = 0;
                for (ssize_t i = 0; i < n; i++)
                        if (is_control((unsigned char) c->value[i])) {
                                c->error = -EINVAL;
                                r = asprintf(&c->failure, "header: credential '%s' contains a control character, "
                                             "such as a line break or a NUL byte", c->name);
                                break;
                        }
        }
        if (data) {
                explicit_bzero(data, CREDENTIAL_MAX + 1);
                free(data);
        }
        return r < 0 ? -ENOMEM : 0;
}

/* The credential NAME, read at its first use in this load.  Returns 0 or -errno (already reported). */
static int get_credential(struct parser *p, const char *dir, const char *name, const struct credential **ret) {
        struct credential key = { .name = (char *) name }, *c, **found;
        int r;

        found = tfind(&key, &p->credentials, cmp_credential);
        if (!found) {
                c = calloc(1, sizeof *c);
                if (!c || !(c->name = strdup(name))) {
                        free(c);
                        return -ENOMEM;
                }
                r = read_credential(dir, c);
                found = r < 0 ? NULL : tsearch(c, &p->credentials, cmp_credential);
                if (!found) {
                        credential_free(c);
                        return -ENOMEM;
                }
        }
        c = *found;
        if (c->failure) {
                add_error(p, "%s", c->failure);
                return c->error;
        }
        *ret = c;
        return 0;
}

/*
 * Expands every ${credential:NAME} in a header value.  Returns 1 if the
 * value used a credential, 0 if not, -errno on error (already reported).
 */
static int expand_credentials(struct parser *p, const char *value, char **ret) {
        static const char prefix[] = "${credential:";
        const char *dir, *s = value, *m;
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        int used = 0, r = 0;

        /* Most headers have none; a stream for each of 100,000 would double the time they take. */
        if (!strstr(value, prefix)) {
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
        while ((m = strstr(s, prefix))) {
                const char *name = m + strlen(prefix), *end = strchr(name, '}');
                _cleanup_(freep) char *n = NULL;
                const struct credential *secret = NULL;

                fwrite(s, 1, (size_t) (m - s), f);
                if (!end || !valid_credential_name(name, (size_t) (end - name))) {
                        add_error(p, "header: invalid credential reference (use ${credential:NAME} with NAME made of letters, digits, '_', '.' and '-')");
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
                        if (!(p->flags & CONFIG_CREDENTIALS_OPTIONAL)) {
                                add_error(p, "header: credential '%s' requested, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential=%s:FILE in the unit)", n, n);
                                r = -ENOENT;
                                break;
                        }
                } else {
                        r = get_credential(p, dir, n, &secret);
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

/* The field is the NULL-terminated headers; n_headers, has_credentials and header_list go with it. */
static void headers_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        struct endpoint_config *ep = base;
        const char *colon = strchr(value, ':');
        char *expanded = NULL, **h;
        int r;

        if (ep->n_headers >= k->max)
                return add_error(p, "%s: too many headers (the limit is %" PRIu64 " per endpoint)", k->name, k->max);
        if (!colon || colon == value)
                return add_error(p, "%s: expected 'Name: value' (the value is not shown: it may be a secret)", k->name);
        for (const char *c = value; c < colon; c++)
                if (!is_token_char(*c))
                        return add_error(p, "%s: invalid header name '%.*s'", k->name, (int) (colon - value), value);

        r = expand_credentials(p, value, &expanded);
        if (r == -ENOMEM)
                p->failed_oom = true;
        if (r < 0)
                return;
        if (r > 0) {
                size_t n = strlen(expanded);

                ep->has_credentials = true;
                /* What credentials add counts as read, so they cannot make a small file large. */
                p->size += n - strlen(value);
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
        static const char prefix[] = "${credential:";
        const char *dir = getenv("CREDENTIALS_DIRECTORY"), *name = value + strlen(prefix);
        _cleanup_(freep) char *path = NULL;
        size_t n;

        if (strncmp(value, prefix, strlen(prefix)) != 0)
                return file_parse(p, k, value, base);
        n = strlen(name);
        if (n < 2 || name[n - 1] != '}' || !valid_credential_name(name, n - 1))
                return add_error(p, "%s: invalid credential reference (use ${credential:NAME} with NAME made of letters, digits, '_', '.' and '-')",
                                 k->name);
        if (!dir) {
                if (!(p->flags & CONFIG_CREDENTIALS_OPTIONAL))
                        add_error(p, "%s: credential '%.*s' requested, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential=%.*s:FILE in the unit)",
                                  k->name, (int) (n - 1), name, (int) (n - 1), name);
                return;
        }
        if (asprintf(&path, "%s/%.*s", dir, (int) (n - 1), name) < 0) {
                p->failed_oom = true;
                return;
        }
        if (check_file(p, k, path, value) >= 0)
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

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parser *p = user;
        struct section *s = p->cur;
        const struct key *k;
        bool global;
        size_t id;

        id = key_id(name);
        /* Nothing of a line with a control character is shown, unless it is a key that may hold them. */
        if (p->control && id == ELEMENTSOF(keys)) {
                add_error(p, "control character 0x%02x", p->control);
                return 1;
        }
        /* inih reports its own errors through its return value; we count those in the reader. */
        if (!s) {
                add_error(p, "'%s' is outside any section; put it under [global] or an endpoint section", name);
                return 1;
        }
        /* inih keeps only the first SECTION_NAME_MAX - 1 characters of a name (longer ones are rejected). */
        if (strncmp(section, s->name, SECTION_NAME_MAX - 1) != 0) {
                /* The reader and inih disagree on the section: report it rather than guess. */
                add_error(p, "'%s' is in a section warmd could not read; fix the section header above it", name);
                return 1;
        }
        global = streq(s->name, "global");

        if (id == ELEMENTSOF(keys)) {
                const char *hint = did_you_mean(name);

                if (hint)
                        add_error(p, "unknown key '%s' in [%s]; did you mean '%s'?", name, s->name, hint);
                else
                        add_error(p, "unknown key '%s' in [%s]", name, s->name);
                return 1;
        }
        k = &keys[id];
        if (global && !(k->scope & CONFIG_SCOPE_GLOBAL)) {
                add_error(p, "'%s' belongs in an endpoint section, not in [global]", name);
                return 1;
        }
        if (!global && !(k->scope & CONFIG_SCOPE_ENDPOINT)) {
                add_error(p, "'%s' is only allowed in [global]", name);
                return 1;
        }
        if (!(k->flags & KEY_REPEATABLE) && s->key_line[id] > 0) {
                add_error(p, "duplicate key '%s' (first set at line %u)", name, s->key_line[id]);
                return 1;
        }
        s->key_line[id] = p->line;
        if (*value == '\0') {
                add_error(p, "%s: empty value", name);
                return 1;
        }
        /* A control character (a bare CR above all) would reach the wire as it is; body is sent whole. */
        if (p->control && !(k->flags & KEY_CONTROL_CHARS)) {
                add_error(p, "%s: control character 0x%02x in the value", name, p->control);
                return 1;
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
        return 1;
}

/* ----------------------------------------------------------------- reader */

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

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Refills p->in, reading at most one byte past the limit in all; false at the end of the file. */
static bool fill(struct parser *p) {
        size_t want = sizeof p->in, n;

        if (p->read > CONFIG_FILE_MAX)
                return false;
        if (want > CONFIG_FILE_MAX + 1 - p->read)
                want = CONFIG_FILE_MAX + 1 - p->read;
        n = fread(p->in, 1, want, p->f);
        p->in_pos = 0;
        p->in_len = n;
        /* A UTF-8 byte order mark at the start of the file is not part of the first line. */
        if (p->read == 0 && n >= 3 && memcmp(p->in, "\xEF\xBB\xBF", 3) == 0) {
                p->in_pos = 3;
                p->size += 3;
        }
        p->read += n;
        return p->in_pos < p->in_len;
}

/*
 * Reads one line: its bytes after the leading blanks into p->buf, as far as
 * LINE_KEEP, and its length without trailing blanks and line end into
 * p->len, also past LINE_KEEP.  Every byte read counts towards
 * CONFIG_FILE_MAX, so neither a line nor the file can grow without bound.
 * Reads in blocks, with memchr(): a byte at a time took ten times as long.
 * Returns false at the end of the file or at the limit.
 */
static bool read_line(struct parser *p) {
        size_t column = 0, pos = 0, end = 0, end_before = 0;
        bool blank = true, any = false;
        char last = 0;

        p->nul_column = 0;
        while (p->in_pos < p->in_len || fill(p)) {
                const char *start = p->in + p->in_pos, *nl, *z;
                size_t avail = p->in_len - p->in_pos, span, k = 0, j;

                any = true;
                nl = memchr(start, '\n', avail);
                span = nl ? (size_t) (nl - start) : avail;
                p->size += span + (nl != NULL);
                if (p->size > CONFIG_FILE_MAX) {
                        p->too_large = true;
                        return false;
                }
                p->in_pos += span + (nl != NULL);
                if (p->nul_column == 0 && (z = memchr(start, '\0', span)))
                        p->nul_column = column + (size_t) (z - start) + 1;
                column += span;
                /* Leading blanks are dropped so that inih never sees a continuation line. */
                while (blank && k < span && is_blank(start[k]))
                        k++;
                if (k < span) {
                        blank = false;
                        if (pos < LINE_KEEP)
                                memcpy(p->buf + pos, start + k, span - k < LINE_KEEP - pos ? span - k : LINE_KEEP - pos);
                        /* Where the line ends without trailing blanks, and without its last byte (a CR, maybe). */
                        for (j = span; j > k && is_blank(start[j - 1]); j--)
                                ;
                        if (j == span) {
                                for (j = span - 1; j > k && is_blank(start[j - 1]); j--)
                                        ;
                                end_before = j > k ? pos + (j - k) : end;
                                j = span;
                        }
                        if (j > k)
                                end = pos + (j - k);
                        pos += span - k;
                        last = start[span - 1];
                }
                if (nl)
                        break;
        }
        if (!any)
                return false;
        /* A CR before the LF ends the line too, with the blanks before it. */
        if (last == '\r' && end == pos)
                end = end_before;
        p->len = end;
        p->line++;
        return true;
}

/*
 * The reader hands inih one physical line at a time, so p->line is the line
 * the handler is called for: Debian's inih does not pass line numbers.  It
 * also finds what inih would only report by its first error's number: long
 * lines, NUL bytes, syntax errors, and section headers (for duplicates and
 * line numbers).
 */
static char *reader(char *str, int num, void *stream) {
        struct parser *p = stream;
        size_t limit = (size_t) num - 1 < LINE_KEEP ? (size_t) num - 1 : LINE_KEEP;
        char *s = p->buf;

        if (p->stop || !read_line(p))
                return NULL;
        p->syntax_error_on_line = false;
        p->control = 0;
        str[0] = '\0';

        /* A NUL byte would end the value early, and silently. */
        if (p->nul_column > 0 || p->len > limit) {
                if (p->nul_column > 0)
                        add_error(p, "NUL byte at column %zu", p->nul_column);
                else
                        add_error(p, "line too long (%zu characters; the limit is %zu)", p->len, limit);
                if (p->cur)
                        p->cur->bad_line = true;        /* it may have held any key */
                return str;
        }
        s[p->len] = '\0';
        for (const char *c = s; *c; c++)
                if (is_control((unsigned char) *c)) {
                        p->control = (unsigned char) *c;
                        break;
                }

        if (*s == '\0' || *s == ';' || *s == '#') {
                /* blank or comment */
        } else if (*s == '[') {
                char *end = strchr(s, ']'), *name;

                if (!end) {
                        add_error(p, "syntax error: '[' without ']'");
                        p->syntax_error_on_line = true;
                } else {
                        /* Never echo a control character: the name is shown with '?' instead. */
                        if (p->control) {
                                add_error(p, "control character 0x%02x in a section header", p->control);
                                for (char *c = s; *c; c++)
                                        if (is_control((unsigned char) *c))
                                                *c = '?';
                        }
                        name = strndup(s + 1, (size_t) (end - s - 1));
                        if (!name)
                                p->failed_oom = true;
                        else if (strlen(name) >= SECTION_NAME_MAX)
                                add_error(p, "section name too long (%zu characters; the limit is %d)", strlen(name),
                                          SECTION_NAME_MAX - 1);
                        else if (!valid_section_name(name) && !p->control)
                                add_error(p, "invalid section name [%s] (use letters, digits, '_', '.', ':', '@' and '-')", name);
                        begin_section(p, name ? name : "");
                        free(name);
                }
        } else {
                bool found = false;

                for (const char *c = s; *c; c++) {
                        if (*c == '=' || *c == ':') {
                                found = c > s;
                                break;
                        }
                        if (*c == ';' && c > s && isspace((unsigned char) c[-1]))
                                break;
                }
                if (!found) {
                        add_error(p, "syntax error: expected '[section]' or 'key = value'");
                        p->syntax_error_on_line = true;
                }
        }

        if (!p->syntax_error_on_line)   /* else already reported; inih need not see it */
                memcpy(str, s, p->len + 1);
        return str;
}

/* ------------------------------------------------------------- validation */

struct lambda_problems {
        struct parser *p;
        const struct section *s;
};

static void lambda_problem(void *userdata, const char *key, const char *message) {
        struct lambda_problems *lp = userdata;

        add_error_at(lp->p, set_at(lp->s, key), "%s", message);
}

/* A Lambda endpoint, set up by lambda.c; the URL it makes is shown as any.  Returns false if it is not one. */
static bool finish_lambda(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        struct lambda_problems lp = { p, s };
        CURLU *u;
        int r;

        if (!ep->lambda)
                return false;
        r = lambda_endpoint_setup(ep, &(struct lambda_setup) {
                                          .set = (set_at(s, "url") ? LAMBDA_SET_URL : 0) |
                                                 (set_at(s, "method") ? LAMBDA_SET_METHOD : 0) |
                                                 (set_at(s, "header") ? LAMBDA_SET_HEADER : 0),
                                          .problem = lambda_problem,
                                          .userdata = &lp,
                                  });
        if (r > 0) {
                free(ep->url_display);
                ep->url_display = NULL;
                u = curl_url();
                /* lambda.c has parsed the URL: only memory can fail. */
                if (!u || curl_url_set(u, CURLUPART_URL, ep->url, 0) != CURLUE_OK)
                        r = -ENOMEM;
                else {
                        ep->host_is_address = host_is_address(u);
                        r = url_display(u, &ep->url_display);
                }
                curl_url_cleanup(u);
        }
        if (r == -ENOMEM)
                p->failed_oom = true;
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
                (void) format_duration(ep->jitter_usec, a, sizeof a);
                (void) format_duration(ep->interval_usec, b, sizeof b);
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
        tdestroy(p->credentials, credential_free);
        for (size_t i = 0; i < p->n_errors; i++)
                free(p->errors[i].text);
        if (p->f)
                fclose(p->f);
}

int config_load(const char *path, unsigned flags, struct config **ret, struct config_errors *errors) {
        struct parser p = {
                .path = path,
                .flags = flags,
        };
        struct config *c = NULL;
        int r;

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

        p.f = fopen(path, "re");
        if (!p.f) {
                r = -errno;
                add_error_at(&p, 0, "cannot read: %s", strerror(-r));
                goto fail;
        }

        r = ini_parse_stream(reader, &p, handler, &p);
        if (ferror(p.f)) {
                add_error_at(&p, 0, "cannot read: %m");
                r = -EIO;
        } else if (r < 0) {
                r = -ENOMEM;
        } else if (r > 0 && n_errors(&p) == 0) {
                /* Something inih rejected that the reader did not foresee. */
                add_error_at(&p, (unsigned) r, "syntax error");
        }
        if (p.too_large) {
                add_error_at(&p, 0, "too large: warmd reads at most %u bytes (16 MiB), credentials included",
                             CONFIG_FILE_MAX);
                if (p.cur)
                        p.cur->bad_line = true;         /* cut short: its missing keys are no news */
        }

        for (size_t i = 0; i < p.n_sections; i++)
                if (p.sections[i]->ep)
                        finish_endpoint(&p, p.sections[i]);

        if (p.failed_oom) {
                r = -ENOMEM;
                goto fail;
        }
        if (n_errors(&p) > 0) {
                r = -EINVAL;
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
