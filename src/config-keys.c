/* SPDX-License-Identifier: MIT */
/*
 * config-keys.c: every key of warmd.conf, in the table config_keys[], and
 * the value types that parse, compare, inherit and free them.  A new key is
 * a line of the table; a new kind of value is a struct value_type here.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "url.h"

#define HEADERS_MAX             100     /* per endpoint */
#define HEADER_MAX              16384   /* one header, "Name: value", with its credentials */

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

/* A range's end: 0 as a bare "0", as warmd.conf(5) writes it. */
static void format_duration_or_zero(uint64_t usec, char *buf, size_t size) {
        if (usec == 0)
                snprintf(buf, size, "0");
        else
                (void) format_duration(usec, DURATION_CONFIG, buf, size);
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

/* An AWS service name (it goes into a signature's scope) or a profile name (a [profile NAME] header). */
static void aws_word_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        bool service = streq(k->name, "aws_service");
        size_t n = strlen(value);
        bool ok = n > 0 && n <= 64;

        for (size_t i = 0; ok && i < n; i++) {
                unsigned char c = (unsigned char) value[i];

                ok = service ? islower(c) || isdigit(c) || c == '-' : isalnum(c) || strchr("-_.@+", c);
        }
        if (!ok)
                return add_error(p, "%s: invalid %s '%s'", k->name,
                                 service ? "service name (such as execute-api: lower case, digits and '-')"
                                         : "profile name (letters, digits, '-', '_', '.', '@' and '+')",
                                 value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_aws_service = {
        .what = "AWS service",
        .parse = aws_word_parse,
        .equal = string_equal,
        .done = string_done,
};

static const struct value_type type_profile = {
        .what = "AWS profile",
        .parse = aws_word_parse,
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

/* A value that is one of a few words, each stored as its enum's value (an int). */
struct word {
        const char *name;
        int value;
};

/* noun names what the word is in an error: "invalid NOUN 'value' (use ...)". */
static void word_parse(struct parser *p, const struct key *k, const char *value, void *base, const struct word *words,
                       size_t n, const char *noun) {
        for (size_t i = 0; i < n; i++)
                if (streq(value, words[i].name)) {
                        *(int *) field_of(k, base) = words[i].value;
                        return;
                }
        add_error(p, "%s: invalid %s '%s' (use %s)", k->name, noun, value, k->type->what);
}

static bool word_equal(const void *a, const void *b) {
        return *(const int *) a == *(const int *) b;
}

static int word_copy(void *dst, const void *src) {
        *(int *) dst = *(const int *) src;
        return 0;
}

static void http_version_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        static const struct word versions[] = {
                { "auto", HTTP_VERSION_AUTO },
                { "1.1",  HTTP_VERSION_1_1 },
                { "2",    HTTP_VERSION_2 },
        };

        word_parse(p, k, value, base, versions, ELEMENTSOF(versions), "HTTP version");
}

static const struct value_type type_http_version = {
        .what = "auto, 1.1 or 2",
        .parse = http_version_parse,
        .equal = word_equal,
        .copy = word_copy,
};

static void auth_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        static const struct word kinds[] = {
                { "none",   AUTH_NONE },
                { "aws",    AUTH_AWS },
                { "google", AUTH_GOOGLE },
                { "azure",  AUTH_AZURE },
        };

        word_parse(p, k, value, base, kinds, ELEMENTSOF(kinds), "value");
}

static const struct value_type type_auth = {
        .what = "none, aws, google or azure",
        .parse = auth_parse,
        .equal = word_equal,
        .copy = word_copy,
};

/* An audience, a resource or a client id: sent in a query and in a token, so printable and without spaces. */
static void identifier_parse(struct parser *p, const struct key *k, const char *value, void *base) {
        for (const char *c = value; *c; c++)
                if (!isgraph((unsigned char) *c))
                        return add_error(p, "%s: '%s' has a space or a control character", k->name, value);
        set_string(p, value, field_of(k, base));
}

static const struct value_type type_identifier = {
        .what = "text",
        .parse = identifier_parse,
        .equal = string_equal,
        .copy = string_copy,
        .done = string_done,
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
const struct key config_keys[] = {
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
        { .name = "aws_service",     .scope = ENDPOINT,          .type = &type_aws_service,
          .offset = EP(aws_service), .doc = "auth = aws: when the host does not name it",
          .def_doc = "from a Function URL or API Gateway host" },
        { .name = "profile",         .scope = GLOBAL | ENDPOINT, .type = &type_profile,
          .offset = EP(profile), .doc = "of the AWS config and credentials files",
          .def_doc = "$AWS_PROFILE, else default" },
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
        { .name = "auth",            .scope = GLOBAL | ENDPOINT, .type = &type_auth,
          .offset = EP(auth), .def = "none" },
        { .name = "audience",        .scope = ENDPOINT,          .type = &type_identifier,
          .offset = EP(audience), .doc = "for auth = google", .def_doc = "the URL's scheme, host and port" },
        { .name = "resource",        .scope = GLOBAL | ENDPOINT, .type = &type_identifier,
          .offset = EP(resource), .doc = "for auth = azure; required there" },
        { .name = "client_id",       .scope = GLOBAL | ENDPOINT, .type = &type_identifier,
          .offset = EP(client_id), .doc = "for auth = azure: a user-assigned identity",
          .def_doc = "the system-assigned identity" },
        { .name = "lambda_tag",      .scope = ENDPOINT,          .type = &type_text,
          .offset = EP(lambda_tag), .doc = "a tag key: the section is a discovery source" },
        { .name = "refresh",         .scope = ENDPOINT,          .type = &type_duration,
          .offset = EP(refresh_usec), .min = 10 * USEC_PER_SEC, .max = 24 * USEC_PER_HOUR, .def = "10m",
          .doc = "a source's only" },
};

const size_t config_n_keys = ELEMENTSOF(config_keys);

_Static_assert(ELEMENTSOF(config_keys) <= KEYS_MAX, "struct section has no room for every key");

/* By index, for the rules between keys: a section keeps the line where it set each. */
size_t config_key_id(const char *name) {
        size_t i;

        /* The first byte first: a header line, the most common, then costs one strcmp(), not ten. */
        for (i = 0; i < ELEMENTSOF(config_keys); i++)
                if (config_keys[i].name[0] == name[0] && streq(config_keys[i].name, name))
                        break;
        return i;
}

int config_key_info(size_t i, struct config_key_info *ret) {
        const struct key *k;
        char range[64] = "";
        const char *def;
        int n;

        if (i >= ELEMENTSOF(config_keys))
                return -ENOENT;
        k = &config_keys[i];
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

const char *config_did_you_mean(const char *key) {
        const char *best = NULL;
        unsigned best_d = 3;    /* two edits at most: a typo, not another word */

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                unsigned d = edit_distance(key, config_keys[i].name);

                if (d < best_d && d < strlen(config_keys[i].name)) {
                        best_d = d;
                        best = config_keys[i].name;
                }
        }
        return best;
}

