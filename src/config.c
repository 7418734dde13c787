/* SPDX-License-Identifier: MIT */
/*
 * config.c: reads warmd.conf with inih into a fresh struct config, and
 * validates all of it.  Every mistake is collected as "FILE:LINE: message";
 * any mistake fails the load, because a daemon that guesses (say, one
 * container for a mistyped "contaners") warms the wrong thing silently.
 */
#include "config.h"

#include <ctype.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <unistd.h>

#include "warmd.h"

#define DEFAULT_INTERVAL        (15 * USEC_PER_MINUTE)
#define DEFAULT_TIMEOUT         (10 * USEC_PER_SEC)
#define DEFAULT_CONNECT_TIMEOUT (5 * USEC_PER_SEC)
#define DEFAULT_MAX_PARALLEL    1000U
#define UNSET                   UINT64_MAX
#define CREDENTIAL_MAX          8192
#define SECTION_NAME_MAX        50      /* inih's MAX_SECTION: it cuts longer names short */

enum key_id {
        K_INTERVAL,
        K_JITTER,
        K_TIMEOUT,
        K_CONNECT_TIMEOUT,
        K_MAX_PARALLEL,
        K_USER_AGENT,
        K_URL,
        K_CONTAINERS,
        K_METHOD,
        K_HEADER,
        K_BODY,
        K_EXPECT_STATUS,
        K_REUSE_HEADER,
        K_REUSE_JSON,
        K_INSTANCE_HEADER,
        K_INSTANCE_JSON,
        K_COLD_THRESHOLD,
        _K_MAX,
};

enum {
        IN_GLOBAL = 1 << 0,
        IN_ENDPOINT = 1 << 1,
};

static const struct key_def {
        const char *name;
        unsigned scope;
        bool repeatable;
} keys[_K_MAX] = {
        [K_INTERVAL]        = { "interval",        IN_GLOBAL | IN_ENDPOINT, false },
        [K_JITTER]          = { "jitter",          IN_GLOBAL | IN_ENDPOINT, false },
        [K_TIMEOUT]         = { "timeout",         IN_GLOBAL | IN_ENDPOINT, false },
        [K_CONNECT_TIMEOUT] = { "connect_timeout", IN_GLOBAL | IN_ENDPOINT, false },
        [K_MAX_PARALLEL]    = { "max_parallel",    IN_GLOBAL,               false },
        [K_USER_AGENT]      = { "user_agent",      IN_GLOBAL,               false },
        [K_URL]             = { "url",             IN_ENDPOINT,             false },
        [K_CONTAINERS]      = { "containers",      IN_ENDPOINT,             false },
        [K_METHOD]          = { "method",          IN_ENDPOINT,             false },
        [K_HEADER]          = { "header",          IN_ENDPOINT,             true  },
        [K_BODY]            = { "body",            IN_ENDPOINT,             false },
        [K_EXPECT_STATUS]   = { "expect_status",   IN_ENDPOINT,             false },
        [K_REUSE_HEADER]    = { "reuse_header",    IN_ENDPOINT,             false },
        [K_REUSE_JSON]      = { "reuse_json",      IN_ENDPOINT,             false },
        [K_INSTANCE_HEADER] = { "instance_header", IN_ENDPOINT,             false },
        [K_INSTANCE_JSON]   = { "instance_json",   IN_ENDPOINT,             false },
        [K_COLD_THRESHOLD]  = { "cold_threshold",  IN_ENDPOINT,             false },
};

/* The four durations an endpoint inherits from [global] unless it sets its own. */
struct timing {
        uint64_t interval, jitter, timeout, connect_timeout;
        unsigned jitter_line;
};

struct section {
        char *name;
        unsigned line;
        unsigned key_line[_K_MAX];      /* where each key was set; 0: not set */
        struct endpoint_config *ep;     /* NULL for [global] and rejected sections */
        bool bad_line;                  /* a line too long was dropped: it may have held any key */
        struct timing timing;
};

struct parser {
        const char *path;
        unsigned flags;
        FILE *f;
        char *buf;
        size_t buf_size;
        unsigned line;
        bool syntax_error_on_line;
        struct config_errors *errors;
        struct config *config;

        struct section **sections;      /* in file order */
        size_t n_sections, sections_cap;
        size_t endpoints_cap;
        void *section_names;            /* tsearch() tree of the same, by name: no quadratic duplicate check */
        struct section *cur;            /* NULL before the first section header */
        unsigned global_line;
        struct timing global;
        bool failed_oom;
};

static void add_error_at(struct parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void add_error_at(struct parser *p, unsigned line, const char *fmt, ...) {
        char *msg = NULL, *full = NULL, **l;
        va_list ap;
        int r;

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
        l = realloc(p->errors->lines, (p->errors->n + 1) * sizeof(char *));
        if (!l) {
                free(full);
                goto oom;
        }
        p->errors->lines = l;
        l[p->errors->n++] = full;
        return;
oom:
        p->failed_oom = true;
}

#define add_error(p, ...) add_error_at((p), (p)->line, __VA_ARGS__)

void config_errors_clear(struct config_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->lines[i]);
        free(e->lines);
        e->lines = NULL;
        e->n = 0;
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

static void number_key(struct parser *p, const char *key, const char *value, unsigned min, unsigned max,
                       unsigned *dst) {
        unsigned v = 0;
        int r;

        r = parse_unsigned(value, &v);
        if (r == -EINVAL)
                return add_error(p, "%s: invalid number '%s'", key, value);
        if (r < 0 || v < min || v > max)
                return add_error(p, "%s: %s is out of range (%u..%u)", key, value, min, max);
        *dst = v;
}

static void duration_key(struct parser *p, const char *key, const char *value, uint64_t min, uint64_t max,
                         uint64_t *dst) {
        char lo[32], hi[32];
        uint64_t v = 0;
        int r;

        r = parse_duration(value, &v);
        if (r == -EINVAL)
                return add_error(p, "%s: invalid duration '%s' (use a number with ms, s, m or h)", key, value);
        if (r < 0 || v < min || v > max) {
                if (min == 0)
                        strcpy(lo, "0");
                else
                        (void) format_duration(min, lo, sizeof lo);
                (void) format_duration(max, hi, sizeof hi);
                return add_error(p, "%s: %s is out of range (%s..%s)", key, value, lo, hi);
        }
        *dst = v;
}

static void string_key(struct parser *p, const char *value, char **dst) {
        char *s = strdup(value);

        if (!s) {
                p->failed_oom = true;
                return;
        }
        free(*dst);
        *dst = s;
}

static bool is_token_char(char c) {
        return isalnum((unsigned char) c) || strchr("!#$%&'*+-.^_`|~", c);
}

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

static void url_key(struct parser *p, const char *value, char **dst) {
        CURLU *u = curl_url();
        char *scheme = NULL;
        CURLUcode uc;

        if (!u) {
                p->failed_oom = true;
                return;
        }
        /* libcurl's own parser, so warmd accepts exactly what it will send. */
        uc = curl_url_set(u, CURLUPART_URL, value, 0);
        if (uc != CURLUE_OK)
                add_error(p, "url: invalid URL '%s': %s", value, curl_url_strerror(uc));
        else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
                 !(streq(scheme, "http") || streq(scheme, "https")))
                add_error(p, "url: only http and https URLs are supported: '%s'", value);
        else {
                string_key(p, value, dst);
                if (p->cur->ep)
                        p->cur->ep->host_is_address = host_is_address(u);
        }
        curl_free(scheme);
        curl_url_cleanup(u);
}

static void json_path_key(struct parser *p, const char *key, const char *value, char **dst) {
        size_t n = strlen(value);

        if (value[0] == '.' || value[n - 1] == '.' || strstr(value, ".."))
                return add_error(p, "%s: invalid JSON path '%s' (use a field name or a dotted path such as a.b)",
                                 key, value);
        string_key(p, value, dst);
}

static void header_name_key(struct parser *p, const char *key, const char *value, char **dst) {
        for (const char *c = value; *c; c++)
                if (!is_token_char(*c))
                        return add_error(p, "%s: invalid header name '%s'", key, value);
        string_key(p, value, dst);
}

/* Reads $CREDENTIALS_DIRECTORY/name; the secret never appears in an error. */
static int read_credential(struct parser *p, const char *dir, const char *name, char **ret) {
        _cleanup_(freep) char *path = NULL, *data = NULL;
        ssize_t n;
        int fd;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int e = errno;

                add_error(p, "header: cannot read credential '%s': %s", name, strerror(e));
                return -e;
        }
        data = malloc(CREDENTIAL_MAX + 1);
        if (!data) {
                close(fd);
                return -ENOMEM;
        }
        n = read(fd, data, CREDENTIAL_MAX + 1);
        if (n < 0) {
                int e = errno;

                close(fd);
                add_error(p, "header: cannot read credential '%s': %s", name, strerror(e));
                return -e;
        }
        close(fd);
        if (n > CREDENTIAL_MAX) {
                add_error(p, "header: credential '%s' is longer than %d bytes", name, CREDENTIAL_MAX);
                return -E2BIG;
        }
        data[n] = '\0';
        if (n > 0 && data[n - 1] == '\n')
                data[--n] = '\0';
        if (n > 0 && data[n - 1] == '\r')
                data[--n] = '\0';
        if (strlen(data) != (size_t) n || strpbrk(data, "\r\n")) {
                add_error(p, "header: credential '%s' contains a line break or NUL byte", name);
                return -EINVAL;
        }
        *ret = data;
        data = NULL;
        return 0;
}

/*
 * Expands every ${credential:NAME} in a header value.  Returns 1 if the
 * value used a credential, 0 if not, -errno on error (already reported).
 */
static int expand_credentials(struct parser *p, const char *value, char **ret) {
        static const char prefix[] = "${credential:";
        const char *dir = getenv("CREDENTIALS_DIRECTORY"), *s = value, *m;
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        int used = 0, r = 0;

        f = open_memstream(&out, &len);
        if (!f)
                return -ENOMEM;
        while ((m = strstr(s, prefix))) {
                const char *name = m + strlen(prefix), *end = strchr(name, '}');
                _cleanup_(freep) char *n = NULL, *secret = NULL;

                fwrite(s, 1, (size_t) (m - s), f);
                if (!end || end == name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                         "0123456789_.-") != (size_t) (end - name) ||
                    (end - name == 1 && name[0] == '.') || (end - name == 2 && name[0] == '.' && name[1] == '.')) {
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
                        r = read_credential(p, dir, n, &secret);
                        if (r < 0)
                                break;
                        fputs(secret, f);
                        explicit_bzero(secret, strlen(secret));
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

static void header_key(struct parser *p, struct endpoint_config *ep, const char *value) {
        const char *colon = strchr(value, ':');
        char *expanded = NULL, **h;
        int r;

        if (!colon || colon == value)
                return add_error(p, "header: expected 'Name: value' (the value is not shown: it may be a secret)");
        for (const char *c = value; c < colon; c++)
                if (!is_token_char(*c))
                        return add_error(p, "header: invalid header name '%.*s'", (int) (colon - value), value);

        r = expand_credentials(p, value, &expanded);
        if (r == -ENOMEM)
                p->failed_oom = true;
        if (r < 0)
                return;
        if (r > 0)
                ep->has_credentials = true;

        h = realloc(ep->headers, (ep->n_headers + 2) * sizeof(char *));
        if (!h) {
                free(expanded);
                p->failed_oom = true;
                return;
        }
        ep->headers = h;
        h[ep->n_headers++] = expanded;
        h[ep->n_headers] = NULL;
}

static void endpoint_config_done(struct endpoint_config *ep);

/* ----------------------------------------------------------- unknown keys */

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

        for (size_t i = 0; i < _K_MAX; i++) {
                unsigned d = edit_distance(key, keys[i].name);

                if (d < best_d && d < strlen(keys[i].name)) {
                        best_d = d;
                        best = keys[i].name;
                }
        }
        return best;
}

/* ---------------------------------------------------------------- handler */

static void set_timing_key(struct parser *p, enum key_id id, const char *value, struct timing *t) {
        switch (id) {
        case K_INTERVAL:
                duration_key(p, "interval", value, USEC_PER_SEC, 24 * USEC_PER_HOUR, &t->interval);
                break;
        case K_JITTER:
                duration_key(p, "jitter", value, 0, 24 * USEC_PER_HOUR, &t->jitter);
                t->jitter_line = p->line;
                break;
        case K_TIMEOUT:
                duration_key(p, "timeout", value, USEC_PER_MSEC, USEC_PER_HOUR, &t->timeout);
                break;
        case K_CONNECT_TIMEOUT:
                duration_key(p, "connect_timeout", value, USEC_PER_MSEC, USEC_PER_HOUR, &t->connect_timeout);
                break;
        default:
                break;
        }
}

static void endpoint_key(struct parser *p, enum key_id id, const char *value) {
        struct endpoint_config *ep = p->cur->ep;

        switch (id) {
        case K_URL:
                url_key(p, value, &ep->url);
                break;
        case K_CONTAINERS:
                number_key(p, "containers", value, 1, CONTAINERS_MAX, &ep->containers);
                break;
        case K_METHOD:
                for (const char *c = value; *c; c++)
                        if (!isupper((unsigned char) *c))
                                return add_error(p, "method: invalid method '%s' (use an upper-case HTTP method such as GET or POST)", value);
                string_key(p, value, &ep->method);
                break;
        case K_HEADER:
                header_key(p, ep, value);
                break;
        case K_BODY:
                string_key(p, value, &ep->body);
                break;
        case K_EXPECT_STATUS:
                number_key(p, "expect_status", value, 100, 599, &ep->expect_status);
                break;
        case K_REUSE_HEADER:
                header_name_key(p, "reuse_header", value, &ep->reuse_header);
                break;
        case K_REUSE_JSON:
                json_path_key(p, "reuse_json", value, &ep->reuse_json);
                break;
        case K_INSTANCE_HEADER:
                header_name_key(p, "instance_header", value, &ep->instance_header);
                break;
        case K_INSTANCE_JSON:
                json_path_key(p, "instance_json", value, &ep->instance_json);
                break;
        case K_COLD_THRESHOLD:
                duration_key(p, "cold_threshold", value, USEC_PER_MSEC, USEC_PER_HOUR, &ep->cold_threshold_usec);
                break;
        default:
                set_timing_key(p, id, value, &p->cur->timing);
                break;
        }
}

static void global_key(struct parser *p, enum key_id id, const char *value) {
        switch (id) {
        case K_MAX_PARALLEL:
                number_key(p, "max_parallel", value, 1, MAX_PARALLEL_MAX, &p->config->max_parallel);
                break;
        case K_USER_AGENT:
                string_key(p, value, &p->config->user_agent);
                break;
        default:
                set_timing_key(p, id, value, &p->global);
                break;
        }
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parser *p = user;
        struct section *s = p->cur;
        bool global;
        size_t id;

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

        for (id = 0; id < _K_MAX; id++)
                if (streq(name, keys[id].name))
                        break;
        if (id == _K_MAX) {
                const char *hint = did_you_mean(name);

                if (hint)
                        add_error(p, "unknown key '%s' in [%s]; did you mean '%s'?", name, s->name, hint);
                else
                        add_error(p, "unknown key '%s' in [%s]", name, s->name);
                return 1;
        }
        if (global && !(keys[id].scope & IN_GLOBAL)) {
                add_error(p, "'%s' belongs in an endpoint section, not in [global]", name);
                return 1;
        }
        if (!global && !(keys[id].scope & IN_ENDPOINT)) {
                add_error(p, "'%s' is only allowed in [global]", name);
                return 1;
        }
        if (!keys[id].repeatable && s->key_line[id] > 0) {
                add_error(p, "duplicate key '%s' (first set at line %u)", name, s->key_line[id]);
                return 1;
        }
        s->key_line[id] = p->line;
        if (*value == '\0') {
                add_error(p, "%s: empty value", name);
                return 1;
        }

        if (global)
                global_key(p, (enum key_id) id, value);
        else if (s->ep)
                endpoint_key(p, (enum key_id) id, value);
        else {
                /* A rejected section: check the value against a scratch endpoint. */
                struct endpoint_config scratch = {};

                s->ep = &scratch;
                endpoint_key(p, (enum key_id) id, value);
                s->ep = NULL;
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
        s->timing = (struct timing) { UNSET, UNSET, UNSET, UNSET, 0 };
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
        if (valid_section_name(name) && !streq(name, "global")) {
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

/*
 * The reader hands inih one physical line at a time, so p->line is the line
 * the handler is called for: Debian's inih does not pass line numbers.  It
 * also finds what inih would only report by its first error's number: long
 * lines, syntax errors, and section headers (for duplicates and line numbers).
 */
static char *reader(char *str, int num, void *stream) {
        struct parser *p = stream;
        ssize_t n;
        char *s, *e;

        n = getline(&p->buf, &p->buf_size, p->f);
        if (n < 0)
                return NULL;
        p->line++;
        p->syntax_error_on_line = false;

        s = p->buf;
        if (n > 0 && s[n - 1] == '\n')
                s[--n] = '\0';
        if (n > 0 && s[n - 1] == '\r')
                s[--n] = '\0';
        if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) {
                s += 3;
                n -= 3;
        }
        /* Leading blanks are dropped so that inih never sees a continuation line. */
        while (*s == ' ' || *s == '\t') {
                s++;
                n--;
        }
        for (e = s + n; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
                *(e - 1) = '\0';

        if (e - s > num - 1) {
                add_error(p, "line too long (%zd characters; the limit is %d)", (ssize_t) (e - s), num - 1);
                if (p->cur)
                        p->cur->bad_line = true;
                str[0] = '\0';
                return str;
        }

        if (*s == '\0' || *s == ';' || *s == '#') {
                /* blank or comment */
        } else if (*s == '[') {
                char *end = strchr(s, ']'), *name;

                if (!end) {
                        add_error(p, "syntax error: '[' without ']'");
                        p->syntax_error_on_line = true;
                } else {
                        name = strndup(s + 1, (size_t) (end - s - 1));
                        if (!name)
                                p->failed_oom = true;
                        else if (strlen(name) >= SECTION_NAME_MAX)
                                add_error(p, "section name too long (%zu characters; the limit is %d)", strlen(name),
                                          SECTION_NAME_MAX - 1);
                        else if (!valid_section_name(name))
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

        memcpy(str, s, (size_t) (e - s));
        str[e - s] = '\0';
        if (p->syntax_error_on_line)
                str[0] = '\0';          /* already reported; inih need not see it */
        return str;
}

/* ------------------------------------------------------------- validation */

static void finish_endpoint(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        struct timing t = s->timing;
        char a[32], b[32];

        /* A key set to a bad value, or on a line too long, was reported already. */
        if (!ep->url && s->key_line[K_URL] == 0 && !s->bad_line)
                add_error_at(p, s->line, "[%s]: missing required key 'url'", s->name);
        if (ep->containers == 0 && s->key_line[K_CONTAINERS] == 0 && !s->bad_line)
                add_error_at(p, s->line, "[%s]: missing required key 'containers'", s->name);

        ep->interval_usec = t.interval != UNSET ? t.interval :
                            p->global.interval != UNSET ? p->global.interval : DEFAULT_INTERVAL;
        ep->jitter_usec = t.jitter != UNSET ? t.jitter : p->global.jitter != UNSET ? p->global.jitter : 0;
        ep->timeout_usec = t.timeout != UNSET ? t.timeout :
                           p->global.timeout != UNSET ? p->global.timeout : DEFAULT_TIMEOUT;
        ep->connect_timeout_usec = t.connect_timeout != UNSET ? t.connect_timeout :
                                   p->global.connect_timeout != UNSET ? p->global.connect_timeout :
                                   DEFAULT_CONNECT_TIMEOUT;

        if (ep->body && (!ep->method || streq(ep->method, "GET") || streq(ep->method, "HEAD")))
                add_error_at(p, s->key_line[K_BODY], "[%s]: 'body' needs a method that sends one, such as method = POST",
                             s->name);

        if (ep->jitter_usec > ep->interval_usec) {
                (void) format_duration(ep->jitter_usec, a, sizeof a);
                (void) format_duration(ep->interval_usec, b, sizeof b);
                add_error_at(p, t.jitter_line ? t.jitter_line : p->global.jitter_line ? p->global.jitter_line : s->line,
                             "[%s]: jitter (%s) must not be longer than interval (%s)", s->name, a, b);
        }

        for (size_t i = 0; i < ep->n_headers; i++) {
                struct curl_slist *l = curl_slist_append(ep->header_list, ep->headers[i]);

                if (!l) {
                        p->failed_oom = true;
                        return;
                }
                ep->header_list = l;
        }
}

static void endpoint_config_done(struct endpoint_config *ep) {
        free(ep->name);
        free(ep->url);
        free(ep->method);
        for (size_t i = 0; i < ep->n_headers; i++) {
                explicit_bzero(ep->headers[i], strlen(ep->headers[i]));
                free(ep->headers[i]);
        }
        free(ep->headers);
        curl_slist_free_all(ep->header_list);
        free(ep->body);
        free(ep->reuse_header);
        free(ep->reuse_json);
        free(ep->instance_header);
        free(ep->instance_json);
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
        free(c->user_agent);
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
        free(p->buf);
        if (p->f)
                fclose(p->f);
}

static unsigned error_line(const struct parser *p, const char *e) {
        size_t l = strlen(p->path);

        return e[l] == ':' && isdigit((unsigned char) e[l + 1]) ? (unsigned) strtoul(e + l + 1, NULL, 10) : 0;
}

struct error_pos {
        unsigned line;
        size_t index;
        char *text;
};

static int cmp_error_pos(const void *a, const void *b) {
        const struct error_pos *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Errors found after parsing (missing keys) belong among the others, in file order. */
static void sort_errors(struct parser *p) {
        struct error_pos *v;
        size_t n = p->errors->n;

        if (n < 2)
                return;
        v = calloc(n, sizeof *v);
        if (!v)
                return;         /* unsorted, but nothing is lost */
        for (size_t i = 0; i < n; i++)
                v[i] = (struct error_pos) { error_line(p, p->errors->lines[i]), i, p->errors->lines[i] };
        qsort(v, n, sizeof *v, cmp_error_pos);
        for (size_t i = 0; i < n; i++)
                p->errors->lines[i] = v[i].text;
        free(v);
}

int config_load(const char *path, unsigned flags, struct config **ret, struct config_errors *errors) {
        struct parser p = {
                .path = path,
                .flags = flags,
                .errors = errors,
                .global = { UNSET, UNSET, UNSET, UNSET, 0 },
        };
        struct config *c = NULL;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        p.config = c;
        c->max_parallel = DEFAULT_MAX_PARALLEL;
        c->path = strdup(path);
        if (!c->path) {
                r = -ENOMEM;
                goto fail;
        }

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
        } else if (r > 0 && errors->n == 0) {
                /* Something inih rejected that the reader did not foresee. */
                add_error_at(&p, (unsigned) r, "syntax error");
        }

        for (size_t i = 0; i < p.n_sections; i++)
                if (p.sections[i]->ep)
                        finish_endpoint(&p, p.sections[i]);
        if (!c->user_agent) {
                c->user_agent = strdup(PACKAGE_NAME "/" PACKAGE_VERSION);
                if (!c->user_agent)
                        p.failed_oom = true;
        }

        if (p.failed_oom) {
                r = -ENOMEM;
                goto fail;
        }
        sort_errors(&p);
        if (errors->n > 0) {
                r = -EINVAL;
                goto fail;
        }
        parser_done(&p);
        *ret = c;
        return 0;

fail:
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

/* Equal endpoints keep their schedule and history across a reload. */
bool endpoint_config_equal(const struct endpoint_config *a, const struct endpoint_config *b) {
        if (!streq(a->name, b->name) || !streq(a->url, b->url) || a->containers != b->containers ||
            !streq_ptr(a->method, b->method) || !streq_ptr(a->body, b->body) ||
            a->interval_usec != b->interval_usec || a->jitter_usec != b->jitter_usec ||
            a->timeout_usec != b->timeout_usec || a->connect_timeout_usec != b->connect_timeout_usec ||
            a->expect_status != b->expect_status || !streq_ptr(a->reuse_header, b->reuse_header) ||
            !streq_ptr(a->reuse_json, b->reuse_json) || !streq_ptr(a->instance_header, b->instance_header) ||
            !streq_ptr(a->instance_json, b->instance_json) || a->cold_threshold_usec != b->cold_threshold_usec ||
            a->n_headers != b->n_headers)
                return false;
        for (size_t i = 0; i < a->n_headers; i++)
                if (!streq(a->headers[i], b->headers[i]))
                        return false;
        return true;
}
