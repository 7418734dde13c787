/* SPDX-License-Identifier: MIT */
/*
 * test-config.c: durations, every config key (from the table in config-keys.c), every error
 * message with its exact FILE:LINE text, and the key list in warmd.conf(5).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "credential.h"
#include "internal.h"

static char dir[] = "/tmp/test-config-XXXXXX";

static void test_durations(void) {
        static const struct {
                const char *in;
                int r;
                uint64_t usec;
        } cases[] = {
                { "0",      0,       0 },
                { "15",     0,       15 * USEC_PER_SEC },
                { "250ms",  0,       250 * USEC_PER_MSEC },
                { "30s",    0,       30 * USEC_PER_SEC },
                { "15m",    0,       15 * USEC_PER_MINUTE },
                { "2h",     0,       2 * USEC_PER_HOUR },
                { "15min",  0,       15 * USEC_PER_MINUTE },
                { "250msec", 0,      250 * USEC_PER_MSEC },
                { "30sec",  0,       30 * USEC_PER_SEC },
                { "2hour",  0,       2 * USEC_PER_HOUR },
                { "15mins", -EINVAL, 0 },
                { "",       -EINVAL, 0 },
                { "m",      -EINVAL, 0 },
                { "5x",     -EINVAL, 0 },
                { "1.5s",   -EINVAL, 0 },
                { "-1s",    -EINVAL, 0 },
                { "5 m",    -EINVAL, 0 },
                { "10S",    -EINVAL, 0 },
                { "99999999999999999999", -ERANGE, 0 },
                { "9999999999999999h", -ERANGE, 0 },
        };
        static const struct {
                uint64_t usec;
                enum duration_style style;
                const char *out;
        } formats[] = {
                { 15 * USEC_PER_MINUTE,      DURATION_CONFIG,  "15m" },
                { USEC_PER_HOUR,             DURATION_CONFIG,  "1h" },
                { 90 * USEC_PER_SEC,         DURATION_CONFIG,  "90s" },
                { 1500 * USEC_PER_MSEC,      DURATION_CONFIG,  "1500ms" },
                { 0,                         DURATION_CONFIG,  "0ms" },
                { 1500,                      DURATION_CONFIG,  "2ms" },
                { 0,                         DURATION_ROUNDED, "0s" },
                { 1499 * USEC_PER_MSEC,      DURATION_ROUNDED, "1s" },
                { 59500 * USEC_PER_MSEC,     DURATION_ROUNDED, "1m00s" },
                { 599 * USEC_PER_SEC,        DURATION_ROUNDED, "9m59s" },
                { 3725 * USEC_PER_SEC,       DURATION_ROUNDED, "1h02m" },
                { 30 * USEC_PER_HOUR,        DURATION_ROUNDED, "30h00m" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0;
                int r = parse_duration(cases[i].in, &v);

                CHECK(r == cases[i].r, "parse_duration(\"%s\") = %d, want %d", cases[i].in, r, cases[i].r);
                if (r == 0)
                        CHECK(v == cases[i].usec, "parse_duration(\"%s\") = %llu us", cases[i].in,
                              (unsigned long long) v);
        }
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                char buf[32];

                CHECK(format_duration(formats[i].usec, formats[i].style, buf, sizeof buf) == 0 && streq(buf, formats[i].out),
                      "format_duration(%llu, %d) = %s, want %s", (unsigned long long) formats[i].usec, formats[i].style, buf,
                      formats[i].out);
        }
        {
                char small[4];

                CHECK(format_duration(15 * USEC_PER_MINUTE, DURATION_CONFIG, small, sizeof small) == 0 &&
                      format_duration(150 * USEC_PER_MINUTE, DURATION_CONFIG, small, sizeof small) == -ENOBUFS &&
                      format_duration(150 * USEC_PER_MINUTE, DURATION_ROUNDED, small, sizeof small) == -ENOBUFS,
                      "format_duration() into a buffer too small");
        }
}

static const char *write_file_n(const char *name, const char *text, size_t len) {
        static char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
                abort();
        return path;
}

static const char *write_file(const char *name, const char *text) {
        return write_file_n(name, text, strlen(text));
}

/* Loads len bytes of text; compares the errors, with "F" standing for the file's path. */
static struct config *load_expect_n(const char *text, size_t len, const char *const *want, unsigned flags) {
        struct config_errors e = {};
        struct config *c = NULL;
        const char *path = write_file_n("t.conf", text, len);
        size_t n_want = 0;
        int r;

        while (want && want[n_want])
                n_want++;
        r = config_load(path, flags, &c, &e);
        CHECK((r == 0) == (n_want == 0), "config_load() = %d with %zu errors, want %zu errors, for:\n%s", r, e.n,
              n_want, text);
        for (size_t i = 0; i < e.n || i < n_want; i++) {
                char expect[1024] = "";

                if (i < n_want)
                        snprintf(expect, sizeof expect, "%s%s", path, want[i] + 1);
                CHECK(i < e.n && i < n_want && streq(e.lines[i], expect), "error %zu:\n  got:  %s\n  want: %s", i,
                      i < e.n ? e.lines[i] : "(none)", i < n_want ? expect : "(none)");
        }
        config_errors_clear(&e);
        return c;
}

static struct config *load_expect(const char *text, const char *const *want, unsigned flags) {
        return load_expect_n(text, strlen(text), want, flags);
}

#define ENDPOINT "[e]\nurl = http://127.0.0.1:8080/f\ncontainers = 3\n"
#define LAMBDA "[e]\nlambda = fn\nregion = eu-west-1\ncontainers = 3\n"

static void test_errors(void) {
        static const struct {
                const char *text;
                const char *errors[8];
        } cases[] = {
                { "[global]\n" ENDPOINT, {} },
                { "", {} },                     /* no endpoints: valid, warmd waits for a reload */
                { "[global]\ninterval = 1m\n", {} },
                { "[global]\ninterval = 5x\n" ENDPOINT,
                  { "F:2: interval: invalid duration '5x' (use a number with ms, s, m or h)" } },
                { "[global]\ninterval = 0\n" ENDPOINT, { "F:2: interval: 0 is out of range (1s..24h)" } },
                { "[global]\ninterval = 25h\n" ENDPOINT, { "F:2: interval: 25h is out of range (1s..24h)" } },
                { "[global]\ntimeout = 0ms\n" ENDPOINT, { "F:2: timeout: 0ms is out of range (1ms..1h)" } },
                { "[global]\nconnect_timeout = 2h\n" ENDPOINT, { "F:2: connect_timeout: 2h is out of range (1ms..1h)" } },
                { "[global]\nmax_parallel = 0\n" ENDPOINT, { "F:2: max_parallel: 0 is out of range (1..100000)" } },
                { "[global]\nmax_parallel = lots\n" ENDPOINT, { "F:2: max_parallel: invalid number 'lots'" } },
                { "[global]\njitter = 20m\n" ENDPOINT,
                  { "F:2: [e]: jitter (20m) must not be longer than interval (15m)" } },
                { "[global]\nurl = http://x/\n" ENDPOINT, { "F:2: 'url' belongs in an endpoint section, not in [global]" } },
                { ENDPOINT "max_parallel = 5\n", { "F:4: 'max_parallel' is only allowed in [global]" } },
                { ENDPOINT "contaners = 10\n", { "F:4: unknown key 'contaners' in [e]; did you mean 'containers'?" } },
                { ENDPOINT "intervall = 1m\n", { "F:4: unknown key 'intervall' in [e]; did you mean 'interval'?" } },
                { ENDPOINT "frobnicate = 1\n", { "F:4: unknown key 'frobnicate' in [e]" } },
                { ENDPOINT "url = http://127.0.0.1/other\n", { "F:4: duplicate key 'url' (first set at line 2)" } },
                { "[e]\nurl = ftp://127.0.0.1/f\ncontainers = 1\n",
                  { "F:2: url: only http and https URLs are supported: 'ftp://127.0.0.1/f'" } },
                { "[e]\nurl = http://\ncontainers = 1\n",
                  { "F:2: url: invalid URL: No host part in the URL (the URL is not shown: it may hold a secret)" } },
                { "[e]\nurl =\ncontainers = 1\n", { "F:2: url: empty value" } },
                { "[e]\nurl = http://127.0.0.1/\ncontainers = 0\n", { "F:3: containers: 0 is out of range (1..10000)" } },
                { "[e]\nurl = http://127.0.0.1/\ncontainers = 10001\n",
                  { "F:3: containers: 10001 is out of range (1..10000)" } },
                { "[e]\nurl = http://127.0.0.1/\ncontainers = ten\n", { "F:3: containers: invalid number 'ten'" } },
                { "[e]\nurl = http://127.0.0.1/\ncontainers = -1\n", { "F:3: containers: invalid number '-1'" } },
                { "[e]\ncontainers = 1\n", { "F:1: [e]: missing required key 'url'" } },
                { "[e]\nurl = http://127.0.0.1/\n", { "F:1: [e]: missing required key 'containers'" } },
                { ENDPOINT "method = get\n",
                  { "F:4: method: invalid method 'get' (use an upper-case HTTP method such as GET or POST)" } },
                { ENDPOINT "body = {}\n", { "F:4: [e]: 'body' needs a method that sends one, such as method = POST" } },
                { ENDPOINT "header = NoColon\n",
                  { "F:4: header: expected 'Name: value' (the value is not shown: it may be a secret)" } },
                { ENDPOINT "[an-endpoint-name-that-is-far-too-long-for-inih-to-keep-whole]\nurl = http://127.0.0.1/\ncontainers = 1\n",
                  { "F:4: section name too long (60 characters; the limit is 49)" } },
                { ENDPOINT "header = Bad Name: 1\n", { "F:4: header: invalid header name 'Bad Name'" } },
                { ENDPOINT "expect_status = 99\n", { "F:4: expect_status: 99 is out of range (100..599)" } },
                { ENDPOINT "reuse_header = X Reused\n", { "F:4: reuse_header: invalid header name 'X Reused'" } },
                { ENDPOINT "instance_json = a..b\n",
                  { "F:4: instance_json: invalid JSON path 'a..b' (use a field name or a dotted path such as a.b)" } },
                { ENDPOINT "cold_threshold = soon\n",
                  { "F:4: cold_threshold: invalid duration 'soon' (use a number with ms, s, m or h)" } },
                { ENDPOINT ENDPOINT, { "F:4: duplicate section [e] (first defined at line 1)" } },
                { "url = http://127.0.0.1/\n" ENDPOINT,
                  { "F:1: 'url' is outside any section; put it under [global] or an endpoint section" } },
                { ENDPOINT "just words\n", { "F:4: syntax error: expected '[section]' or 'key = value'" } },
                { ENDPOINT "[broken\n", { "F:4: syntax error: '[' without ']'" } },
                { ENDPOINT "[has space]\nurl = http://127.0.0.1/\ncontainers = 1\n",
                  { "F:4: invalid section name [has space] (use letters, digits, '_', '.', ':', '@' and '-')" } },
                { ENDPOINT "header = X-Token: ${credential:}\n",
                  { "F:4: header: invalid credential reference (use ${credential:NAME} with NAME made of letters, digits, '_', '.' and '-')" } },
                /* A bare CR inside a line would reach the wire as it is (found by tests/fuzz). */
                { ENDPOINT "header = X-A: 1\rX-Injected: 2\n",
                  { "F:4: header: control character 0x0d in the value" } },
                { ENDPOINT "header = X-A: ${c\redential:token}\n",
                  { "F:4: header: control character 0x0d in the value" } },
                { "[global]\nuser_agent = ua/1\rX-Injected: 2\n" ENDPOINT,
                  { "F:2: user_agent: control character 0x0d in the value" } },
                { ENDPOINT "header = X-A: tab\tseparated\n", {} },
                /* A Lambda payload is one JSON value: Lambda refuses what json_tokener_parse() would take. */
                { LAMBDA "body = [1, {\"a\": null}]  \n", {} },
                { LAMBDA "body = 1{\"a\n", { "F:5: [e]: 'body' must be JSON for 'lambda': it is the event payload" } },
                { LAMBDA "body = {\"a\": 1} x\n", { "F:5: [e]: 'body' must be JSON for 'lambda': it is the event payload" } },
                { LAMBDA "body = {\"a\": 1}}\n", { "F:5: [e]: 'body' must be JSON for 'lambda': it is the event payload" } },
                /* Every mistake, not just the first, in file order. */
                { "[global]\ninterval = 5x\n[e]\nurl = gopher://x/\ncontaners = 2\n",
                  { "F:2: interval: invalid duration '5x' (use a number with ms, s, m or h)",
                    "F:3: [e]: missing required key 'containers'",
                    "F:4: url: only http and https URLs are supported: 'gopher://x/'",
                    "F:5: unknown key 'contaners' in [e]; did you mean 'containers'?" } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                config_free(load_expect(cases[i].text, cases[i].errors, 0));
}

static void test_long_line(void) {
        char text[512], want[128];
        const char *errors[] = { want, NULL };
        int n;

        n = snprintf(text, sizeof text, ENDPOINT "header = X-Pad: ");
        memset(text + n, 'a', 250);
        text[n + 250] = '\n';
        text[n + 251] = '\0';
        snprintf(want, sizeof want, "F:4: line too long (266 characters; the limit is 199)");
        config_free(load_expect(text, errors, 0));
}

/* A UTF-8 byte order mark must not cost the first section, nor a later one. */
static void test_bom(void) {
        struct config *c = load_expect("\xEF\xBB\xBF[a]\nurl = http://127.0.0.1/a\ncontainers = 1\n"
                                       "[b]\nurl = http://127.0.0.1/b\ncontainers = 2\n", NULL, 0);

        CHECK(c && c->n_endpoints == 2 && streq(c->endpoints[0]->name, "a") && streq(c->endpoints[1]->name, "b") &&
              c->endpoints[1]->containers == 2, "BOM: both endpoints read");
        config_free(c);
}

/* Thousands of sections: all kept in file order, and a late duplicate still names the first one. */
static void test_many_sections(void) {
        enum { N = 5000 };
        size_t size = N * 64 + 128, len = 0;
        char *text = malloc(size), want[128];
        const char *errors[] = { want, NULL };
        struct config *c;
        bool ordered = true;

        if (!text)
                abort();
        for (unsigned i = 0; i < N; i++)
                len += (size_t) snprintf(text + len, size - len, "[e%u]\nurl = http://127.0.0.1/%u\ncontainers = 1\n", i, i);
        c = load_expect(text, NULL, 0);
        for (unsigned i = 0; c && i < c->n_endpoints && ordered; i++) {
                char name[16];

                snprintf(name, sizeof name, "e%u", i);
                ordered = streq(c->endpoints[i]->name, name) && c->endpoints[i]->line == 3 * i + 1;
        }
        CHECK(c && c->n_endpoints == N && ordered, "%d sections: %zu endpoints, in file order: %s", N,
              c ? c->n_endpoints : 0, ordered ? "yes" : "no");
        config_free(c);

        /* e1234 starts at line 3 * 1234 + 1; the copy follows the last section. */
        snprintf(text + len, size - len, "[e1234]\nurl = http://127.0.0.1/x\ncontainers = 1\n");
        snprintf(want, sizeof want, "F:%u: duplicate section [e1234] (first defined at line %u)", 3 * N + 1, 3 * 1234 + 1);
        config_free(load_expect(text, errors, 0));
        free(text);
}

static void test_unreadable(void) {
        struct config_errors e = {};
        struct config *c = NULL;
        char path[300];

        snprintf(path, sizeof path, "%s/missing.conf", dir);
        CHECK(config_load(path, 0, &c, &e) == -ENOENT, "missing file must fail with -ENOENT");
        CHECK(e.n == 1 && strstr(e.lines[0], "missing.conf: cannot read: No such file or directory"),
              "missing file error: %s", e.n ? e.lines[0] : "(none)");
        config_errors_clear(&e);

        /* A directory opens, and the error comes from read(): the message and the return are its own. */
        snprintf(path, sizeof path, "%s: cannot read: Is a directory", dir);
        CHECK(config_load(dir, 0, &c, &e) == -EISDIR && e.n == 1 && streq(e.lines[0], path),
              "a directory: %s", e.n ? e.lines[0] : "(none)");
        config_errors_clear(&e);
}

static void test_values(void) {
        struct config *c;
        const struct endpoint_config *a, *b;

        c = load_expect("; comment\n"
                        "[global]\n"
                        "interval = 5m          ; inline comment\n"
                        "jitter = 30s\n"
                        "timeout = 2s\n"
                        "connect_timeout = 500ms\n"
                        "max_parallel = 77\n"
                        "user_agent = test/1\n"
                        "\n"
                        "  [orders-api]\n"
                        "  url = https://abc.execute-api.eu-west-1.amazonaws.com/prod/orders\n"
                        "containers = 10\n"
                        "method = POST\n"
                        "header = X-Warmup: 1\n"
                        "header = X-Other: two words\n"
                        "body = {\"warmup\": true}\n"
                        "interval = 1m\n"
                        "expect_status = 204\n"
                        "reuse_header = X-Container-Reused\n"
                        "reuse_json = meta.reused\n"
                        "instance_header = X-Container-Id\n"
                        "instance_json = container\n"
                        "cold_threshold = 1s\n"
                        "[b]\n"
                        "url = http://127.0.0.1:1/\n"
                        "containers = 1\n",
                        NULL, 0);
        CHECK(c && c->n_endpoints == 2, "two endpoints");
        if (!c)
                return;
        CHECK(c->max_parallel == 77 && streq(c->user_agent, "test/1"), "global values");
        a = config_find_endpoint(c, "orders-api");
        b = config_find_endpoint(c, "b");
        CHECK(a && b, "find endpoints");
        if (!a || !b)
                goto out;
        CHECK(a->line == 10 && a->containers == 10 && streq(a->method, "POST"), "orders-api basics");
        CHECK(streq(a->url, "https://abc.execute-api.eu-west-1.amazonaws.com/prod/orders"), "url");
        CHECK(a->n_headers == 2 && streq(a->headers[0], "X-Warmup: 1") && streq(a->headers[1], "X-Other: two words"),
              "headers");
        CHECK(a->header_list && streq(a->header_list->data, "X-Warmup: 1"), "curl header list");
        CHECK(streq(a->body, "{\"warmup\": true}"), "body");
        CHECK(a->interval_usec == USEC_PER_MINUTE, "endpoint interval overrides global");
        CHECK(a->jitter_usec == 30 * USEC_PER_SEC && a->timeout_usec == 2 * USEC_PER_SEC &&
              a->connect_timeout_usec == 500 * USEC_PER_MSEC, "inherited timings");
        CHECK(a->expect_status == 204 && streq(a->reuse_header, "X-Container-Reused") &&
              streq(a->reuse_json, "meta.reused") && streq(a->instance_header, "X-Container-Id") &&
              streq(a->instance_json, "container") && a->cold_threshold_usec == USEC_PER_SEC, "reuse keys");
        CHECK(b->interval_usec == 5 * USEC_PER_MINUTE && !b->method && b->expect_status == 0, "b inherits");
        CHECK(!a->host_is_address && b->host_is_address, "a host name needs resolving, 127.0.0.1 does not");
        CHECK(config_total_containers(c) == 11, "total containers");
        CHECK(!endpoint_config_equal(a, b) && endpoint_config_equal(a, a), "equality");
out:
        config_free(c);

        c = load_expect(ENDPOINT, NULL, 0);
        CHECK(c && c->max_parallel == 1000 && streq(c->user_agent, PACKAGE_NAME "/" PACKAGE_VERSION), "defaults");
        if (c) {
                a = c->endpoints[0];
                CHECK(a->interval_usec == 15 * USEC_PER_MINUTE && a->jitter_usec == 0 &&
                      a->timeout_usec == 10 * USEC_PER_SEC && a->connect_timeout_usec == 5 * USEC_PER_SEC,
                      "default timings");
        }
        config_free(c);
}

static void test_addresses(void) {
        static const struct {
                const char *url;
                bool address;
        } cases[] = {
                { "http://127.0.0.1:8080/f", true },
                { "http://[::1]:8080/f", true },
                { "https://[fe80::1%25eth0]/f", true },
                { "http://localhost/f", false },
                { "https://abc.lambda-url.eu-west-1.on.aws/", false },
                { "http://127.0.0.1.nip.io/", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char text[256];
                struct config *c;

                snprintf(text, sizeof text, "[e]\nurl = %s\ncontainers = 2\n", cases[i].url);
                c = load_expect(text, NULL, 0);
                CHECK(c && c->endpoints[0]->host_is_address == cases[i].address, "%s: address %d", cases[i].url,
                      cases[i].address);
                config_free(c);
        }
}

static void test_credentials(void) {
        static const char *const missing_dir[] = {
                "F:4: header: credential 'tok' requested, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential=tok:FILE in the unit)",
                NULL
        };
        static const char *const missing_file[] = {
                "F:4: header: cannot read credential 'nope': No such file or directory", NULL
        };
        const char *text = ENDPOINT "header = Authorization: Bearer ${credential:tok}\n";
        struct config *c;
        char creds[300];

        unsetenv("CREDENTIALS_DIRECTORY");
        config_free(load_expect(text, missing_dir, 0));
        /* warmd -n from a shell checks the syntax only. */
        c = load_expect(text, NULL, CONFIG_CREDENTIALS_OPTIONAL);
        CHECK(c && c->endpoints[0]->has_credentials, "credential syntax accepted without a directory");
        config_free(c);

        snprintf(creds, sizeof creds, "%s/creds", dir);
        mkdir(creds, 0700);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        write_file("creds/tok", "s3cret-value\n");
        c = load_expect(text, NULL, 0);
        CHECK(c && streq(c->endpoints[0]->headers[0], "Authorization: Bearer s3cret-value"),
              "credential expanded: %s", c ? c->endpoints[0]->headers[0] : "(none)");
        config_free(c);

        config_free(load_expect(ENDPOINT "header = X-Key: ${credential:nope}\n", missing_file, 0));

        /* A final line break is not part of a credential, also after CREDENTIAL_MAX bytes (test_credential_limits()). */
        static const char *const control[] = {
                "F:4: header: credential 'ctl' contains a control character, such as a line break or a NUL byte", NULL
        };
        char big[CREDENTIAL_MAX + 3];

        memset(big, 'k', CREDENTIAL_MAX);
        strcpy(big + CREDENTIAL_MAX, "\r\n");
        write_file("creds/big", big);
        c = load_expect(ENDPOINT "header = X-Key: ${credential:big}\n", NULL, 0);
        CHECK(c && strlen(c->endpoints[0]->headers[0]) == strlen("X-Key: ") + CREDENTIAL_MAX,
              "a credential of %d bytes and CR LF is read whole", CREDENTIAL_MAX);
        config_free(c);
        write_file("creds/ctl", "a\001b\n");
        config_free(load_expect(ENDPOINT "header = X-Key: ${credential:ctl}\n", control, 0));
        unsetenv("CREDENTIALS_DIRECTORY");
}

/* The TLS keys: files checked at load, the key as a credential, inheritance and its undoing. */
static void test_tls(void) {
        static const struct {
                const char *text;
                const char *errors[3];
        } cases[] = {
                { ENDPOINT "ca_file = relative.pem\n", { "F:4: ca_file: 'relative.pem' is not an absolute path" } },
                { ENDPOINT "ca_file = /nonexistent/ca.pem\n",
                  { "F:4: ca_file: cannot read '/nonexistent/ca.pem': No such file or directory" } },
                { ENDPOINT "ca_file = /tmp\n", { "F:4: ca_file: '/tmp' is not a regular file" } },
                { ENDPOINT "client_cert = /nonexistent.pem\n",
                  { "F:4: client_cert: cannot read '/nonexistent.pem': No such file or directory" } },
                { ENDPOINT "client_key = /etc/passwd\n", { "F:4: [e]: 'client_key' needs 'client_cert'" } },
                { "[global]\nclient_key = /etc/passwd\n" ENDPOINT, { "F:2: [e]: 'client_key' needs 'client_cert'" } },
                { ENDPOINT "client_cert = /etc/passwd\nclient_key = ${credential:a/b}\n",
                  { "F:5: client_key: invalid credential reference (use ${credential:NAME} with NAME made of letters, digits, '_', '.' and '-')" } },
                { ENDPOINT "client_cert = /etc/passwd\nclient_key = ${credential:..}\n",
                  { "F:5: client_key: invalid credential reference (use ${credential:NAME} with NAME made of letters, digits, '_', '.' and '-')" } },
                { ENDPOINT "http_version = 3\n", { "F:4: http_version: invalid HTTP version '3' (use auto, 1.1 or 2)" } },
                { ENDPOINT "http_version = 1.1\nca_file = system\n", {} },
        };
        static const char *const key_missing_dir[] = {
                "F:5: client_key: credential 'tls-key' requested, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential=tls-key:FILE in the unit)",
                NULL
        };
        static const char *const key_missing_file[] = {
                "F:5: client_key: cannot read '${credential:tls-key}': No such file or directory", NULL
        };
        const char *key_text = ENDPOINT "client_cert = /etc/passwd\nclient_key = ${credential:tls-key}\n";
        char creds[300], want[400];
        struct config *c;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                config_free(load_expect(cases[i].text, cases[i].errors[0] ? cases[i].errors : NULL, 0));

        /* [global] gives every endpoint its files and version; "system" takes the CA file back. */
        c = load_expect("[global]\nca_file = /etc/passwd\nhttp_version = 1.1\nclient_cert = /etc/group\n"
                        "[a]\nurl = https://127.0.0.1/a\ncontainers = 1\n"
                        "[b]\nurl = https://127.0.0.1/b\ncontainers = 1\nca_file = system\nhttp_version = 2\n", NULL, 0);
        CHECK(c && streq_ptr(c->endpoints[0]->ca_file, "/etc/passwd") && !c->endpoints[1]->ca_file,
              "ca_file inherited by [a], undone by [b]");
        CHECK(c && c->endpoints[0]->http_version == HTTP_VERSION_1_1 && c->endpoints[1]->http_version == HTTP_VERSION_2,
              "http_version inherited and overridden");
        CHECK(c && streq_ptr(c->endpoints[1]->client_cert, "/etc/group"), "client_cert inherited");
        config_free(c);
        c = load_expect(ENDPOINT, NULL, 0);
        CHECK(c && c->endpoints[0]->http_version == HTTP_VERSION_AUTO && !c->endpoints[0]->ca_file &&
              !c->endpoints[0]->client_cert && !c->endpoints[0]->client_key, "TLS defaults");
        config_free(c);

        /* The key as a credential: the path into $CREDENTIALS_DIRECTORY, never the key. */
        unsetenv("CREDENTIALS_DIRECTORY");
        config_free(load_expect(key_text, key_missing_dir, 0));
        c = load_expect(key_text, NULL, CONFIG_CREDENTIALS_OPTIONAL);
        CHECK(c != NULL, "warmd -n from a shell: the key reference is checked for syntax only");
        config_free(c);
        c = load_expect(ENDPOINT "client_cert = ${credential:c}\nclient_key = ${credential:k}\n", NULL,
                        CONFIG_CREDENTIALS_OPTIONAL);
        CHECK(c != NULL, "warmd -n from a shell: certificate and key both as credentials");
        config_free(c);
        snprintf(creds, sizeof creds, "%s/keycreds", dir);
        mkdir(creds, 0700);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        config_free(load_expect(key_text, key_missing_file, 0));
        write_file("keycreds/tls-key", "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n");
        snprintf(want, sizeof want, "%s/tls-key", creds);
        c = load_expect(key_text, NULL, 0);
        CHECK(c && streq_ptr(c->endpoints[0]->client_key, want), "client_key is the credential's path: %s",
              c && c->endpoints[0]->client_key ? c->endpoints[0]->client_key : "(none)");
        config_free(c);
        unsetenv("CREDENTIALS_DIRECTORY");
}

/* auth and its keys: the checks between them, and the default audience. */
static void test_auth(void) {
        static const struct {
                const char *text;
                const char *errors[3];
        } cases[] = {
                { ENDPOINT "auth = gcp\n", { "F:4: auth: invalid value 'gcp' (use none, aws, google or azure)" } },
                { ENDPOINT "audience = https://a\n", { "F:4: [e]: 'audience' needs auth = google" } },
                { ENDPOINT "auth = azure\n",
                  { "F:4: [e]: auth = azure needs 'resource' (the application ID URI or client id of the app the token is for)" } },
                { "[global]\nauth = azure\n" ENDPOINT,
                  { "F:2: [e]: auth = azure needs 'resource' (the application ID URI or client id of the app the token is for)" } },
                { ENDPOINT "auth = google\nheader = authorization: Bearer x\n",
                  { "F:5: [e]: 'header = Authorization: ...' cannot be set with auth = google: warmd sends the token in it" } },
                { "[e]\nlambda = f\nregion = eu-west-1\ncontainers = 1\nauth = google\n",
                  { "F:5: [e]: auth = google cannot be used with 'lambda': an invoke is signed with AWS credentials" } },
                { "[global]\nauth = google\n[e]\nlambda = f\nregion = eu-west-1\ncontainers = 1\nauth = azure\n",
                  { "F:7: [e]: auth = azure cannot be used with 'lambda': an invoke is signed with AWS credentials" } },
                { ENDPOINT "auth = azure\nresource = api://a b\n",
                  { "F:4: [e]: auth = azure needs 'resource' (the application ID URI or client id of the app the token is for)",
                    "F:5: resource: 'api://a b' has a space or a control character" } },
                /* resource and client_id from [global] are for the endpoints that use them. */
                { "[global]\nresource = api://a\nclient_id = c\n" ENDPOINT, {} },
                { ENDPOINT "auth = none\n", {} },
        };
        static const struct {
                const char *url, *audience;
        } origins[] = {
                { "http://127.0.0.1:8080/f", "http://127.0.0.1:8080" },
                { "https://orders-abc123-ew.a.run.app/warmup?x=1", "https://orders-abc123-ew.a.run.app" },
                { "https://orders-abc123-ew.a.run.app:443/", "https://orders-abc123-ew.a.run.app" },
                { "https://user:pw@Run.Example:8443/a", "https://Run.Example:8443" },
        };
        struct config *c;
        char text[512];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                config_free(load_expect(cases[i].text, cases[i].errors[0] ? cases[i].errors : NULL, 0));
        for (size_t i = 0; i < ELEMENTSOF(origins); i++) {
                snprintf(text, sizeof text, "[e]\nurl = %s\ncontainers = 1\nauth = google\n", origins[i].url);
                c = load_expect(text, NULL, 0);
                CHECK(c && c->endpoints[0]->auth == AUTH_GOOGLE && streq_ptr(c->endpoints[0]->audience, origins[i].audience),
                      "default audience of %s: %s", origins[i].url, c ? c->endpoints[0]->audience : "(none)");
                config_free(c);
        }
        /* A Lambda endpoint is signed with AWS credentials: an auth of [global] is for the others. */
        for (size_t i = 0; i < 2; i++) {
                snprintf(text, sizeof text, "[global]\nauth = %s\nresource = api://g\n"
                         "[l]\nlambda = f\nregion = eu-west-1\ncontainers = 1\n"
                         "[u]\nurl = https://a.example/\ncontainers = 1\n", i ? "azure" : "google");
                c = load_expect(text, NULL, 0);
                CHECK(c && c->n_endpoints == 2 && c->endpoints[0]->auth == AUTH_NONE &&
                      c->endpoints[1]->auth == (i ? AUTH_AZURE : AUTH_GOOGLE),
                      "auth = %s in [global]: not the Lambda endpoint's, the URL endpoint's", i ? "azure" : "google");
                config_free(c);
        }
        c = load_expect("[global]\nauth = azure\nresource = api://g\n" ENDPOINT "client_id = id\n", NULL, 0);
        CHECK(c && c->endpoints[0]->auth == AUTH_AZURE && streq_ptr(c->endpoints[0]->resource, "api://g") &&
              streq_ptr(c->endpoints[0]->client_id, "id"), "auth and resource inherited from [global]");
        config_free(c);
}

/* Two values of every key, neither the default, and what else the key needs; a key missing here fails. */
static const struct sample {
        const char *key, *a, *b, *context;
} samples[] = {
        { "interval",        "1m",                 "2m", NULL },
        { "jitter",          "1s",                 "2s", NULL },
        { "timeout",         "1s",                 "2s", NULL },
        { "connect_timeout", "1s",                 "2s", NULL },
        { "max_parallel",    "10",                 "20", NULL },
        { "user_agent",      "a/1",                "b/1", NULL },
        { "metrics_file",    "/run/a.prom",        "/run/b.prom", NULL },
        { "topup",           "no",                 "3", NULL },
        { "url",             "http://127.0.0.1/a", "http://127.0.0.1/b", NULL },
        { "containers",      "3",                  "4", NULL },
        { "method",          "PUT",                "PATCH", NULL },
        { "header",          "X-A: 1",             "X-A: 2", NULL },
        { "body",            "{}",                 "[]",       "method = POST\n" },
        { "expect_status",   "200",                "204", NULL },
        { "reuse_header",    "X-A",                "X-B", NULL },
        { "reuse_json",      "a",                  "b", NULL },
        { "instance_header", "X-A",                "X-B", NULL },
        { "instance_json",   "a",                  "b", NULL },
        { "cold_threshold",  "1s",                 "2s", NULL },
        { "lambda",          "fn-a",               "fn-b:live", "region = eu-west-1\n" },
        { "region",          "eu-west-1",          "us-east-1", NULL },
        { "aws_service",     "execute-api",        "s3",       "auth = aws\nregion = eu-west-1\n" },
        { "profile",         "a",                  "b", NULL },
        /* Any two readable regular files do for the file keys: only OpenSSL reads them as PEM. */
        { "ca_file",         "/etc/passwd",        "/etc/group", NULL },
        { "client_cert",     "/etc/passwd",        "/etc/group", NULL },
        { "client_key",      "/etc/passwd",        "/etc/group", "client_cert = /etc/passwd\n" },
        { "http_version",    "1.1",                "2", NULL },
        { "auth",            "azure",              "google",   "resource = api://warm\n" },
        { "audience",        "https://a.example",  "https://b.example", "auth = google\n" },
        { "resource",        "api://a",            "api://b",  "auth = azure\n" },
        { "client_id",       "id-a",               "id-b",     "auth = azure\nresource = api://warm\n" },
        /* A source's own keys: the section is a source, without url and containers. */
        { "lambda_tag",      "warmd",              "team", "region = eu-west-1\n" },
        { "refresh",         "5m",                 "1h",   "region = eu-west-1\nlambda_tag = warmd\n" },
        { "schedule",        "Mon-Fri 07:30-19:00", "Sat,Sun 10:00-16:00 2", NULL },
        { "timezone",        "Europe/Berlin",      "America/New_York", NULL },
};

/* A source's keys make the section a source: it has neither url nor containers. */
static bool is_source_key(const char *key) {
        return streq(key, "lambda_tag") || streq(key, "refresh");
}

/* A key that stands in for a required one: an endpoint has "lambda" instead of "url". */
static bool stands_in(const char *key, const char *required) {
        return (streq(key, "lambda") && streq(required, "url")) || is_source_key(key);
}

/*
 * A key its context makes required: auth = azure needs a resource, and auth = aws on a host that names
 * no service needs aws_service, so it cannot load unset.
 */
static bool required_by_context(const char *key) {
        return streq(key, "resource") || streq(key, "aws_service");
}

static const struct sample *sample_of(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(samples); i++)
                if (streq(samples[i].key, key))
                        return &samples[i];
        return NULL;
}

enum { UNSET, IN_GLOBAL, IN_ENDPOINT };

/* One endpoint [e] with every required key, and key set to value where asked. */
static struct config *load_with(const struct config_key_info *k, int where, const char *value) {
        const struct sample *s = sample_of(k->name);
        struct config_key_info r;
        char text[1024];
        size_t n = 0;

        n += (size_t) snprintf(text + n, sizeof text - n, "[global]\n");
        if (where == IN_GLOBAL)
                n += (size_t) snprintf(text + n, sizeof text - n, "%s = %s\n", k->name, value);
        n += (size_t) snprintf(text + n, sizeof text - n, "[e]\n%s", s->context ? s->context : "");
        for (size_t i = 0; config_key_info(i, &r) == 0; i++)
                if (r.required && !streq(r.name, k->name) &&
                    /* refresh's context makes the section a source whether it is set or not. */
                    !((where == IN_ENDPOINT || streq(k->name, "refresh")) && stands_in(k->name, r.name)))
                        n += (size_t) snprintf(text + n, sizeof text - n, "%s = %s\n", r.name, sample_of(r.name)->a);
        if (where == IN_ENDPOINT || (k->required && where == UNSET))
                n += (size_t) snprintf(text + n, sizeof text - n, "%s = %s\n", k->name,
                                       where == IN_ENDPOINT ? value : s->a);
        if (n >= sizeof text)
                abort();
        return load_expect(text, NULL, 0);
}

/* Whether two loads differ in what the key fills: its endpoint's config, or the global values. */
static bool differ(const struct config_key_info *k, const struct config *x, const struct config *y) {
        if (is_source_key(k->name)) {
                /* Unset, lambda_tag leaves a plain endpoint where the other has a source. */
                if (x->n_sources != y->n_sources)
                        return true;
                return x->n_sources > 0 && !endpoint_config_equal(x->sources[0], y->sources[0]);
        }
        if (k->scope & CONFIG_SCOPE_ENDPOINT)
                return !endpoint_config_equal(x->endpoints[0], y->endpoints[0]);
        return !config_global_equal(x, y);
}

/*
 * Every key of the table: two files that differ only in that key must load
 * differently, as endpoint_config_equal() (for a reload) or
 * config_global_equal() sees it.  A key the table misses anywhere fails here.
 */
static void test_every_key(void) {
        struct config_key_info k;
        size_t n_keys = 0;

        for (size_t i = 0; config_key_info(i, &k) == 0; i++, n_keys++) {
                const struct sample *s = sample_of(k.name);
                int places[] = { IN_ENDPOINT, IN_GLOBAL };

                CHECK(s, "key '%s' has no sample values in test-config.c", k.name);
                if (!s)
                        continue;
                CHECK(k.summary[0], "key '%s' has a summary for the man page", k.name);
                /* Only a key the endpoint may override can take its value from [global]. */
                if ((k.scope & CONFIG_SCOPE_GLOBAL) && (k.scope & CONFIG_SCOPE_ENDPOINT))
                        CHECK(k.inheritable, "key '%s' is in both scopes, but its type cannot be inherited", k.name);

                for (size_t j = 0; j < ELEMENTSOF(places); j++) {
                        struct config *a, *a2, *b, *u = NULL;

                        if (!(k.scope & (places[j] == IN_GLOBAL ? CONFIG_SCOPE_GLOBAL : CONFIG_SCOPE_ENDPOINT)))
                                continue;
                        a = load_with(&k, places[j], s->a);
                        a2 = load_with(&k, places[j], s->a);
                        b = load_with(&k, places[j], s->b);
                        if (!k.required && !required_by_context(k.name))
                                u = load_with(&k, UNSET, NULL);
                        CHECK(a && a2 && b && (k.required || required_by_context(k.name) || u), "%s in %s: all load", k.name,
                              places[j] == IN_GLOBAL ? "[global]" : "[e]");
                        if (a && a2 && b) {
                                CHECK(!differ(&k, a, a2), "%s = %s twice: the same", k.name, s->a);
                                CHECK(differ(&k, a, b), "%s = %s and = %s in %s: the change is not seen", k.name, s->a,
                                      s->b, places[j] == IN_GLOBAL ? "[global]" : "[e]");
                                if (u)
                                        CHECK(differ(&k, u, a) && differ(&k, u, b), "%s set or not: the change is not seen",
                                              k.name);
                        }
                        config_free(a);
                        config_free(a2);
                        config_free(b);
                        config_free(u);
                }
        }
        CHECK(n_keys > 0, "the table has keys");
        for (size_t i = 0; i < ELEMENTSOF(samples); i++) {
                bool found = false;

                for (size_t j = 0; config_key_info(j, &k) == 0; j++)
                        found = found || streq(k.name, samples[i].key);
                CHECK(found, "sample '%s' names no key of the table", samples[i].key);
        }
}

/* An endpoint's own value wins over [global]'s. */
static void test_override(void) {
        struct config *g = load_expect("[global]\ntimeout = 3s\n" ENDPOINT "timeout = 4s\n", NULL, 0);

        CHECK(g && g->endpoints[0]->timeout_usec == 4 * USEC_PER_SEC, "endpoint timeout overrides [global]");
        config_free(g);
}

/* Headers are compared as a list: order and number count. */
static void test_header_list_equal(void) {
        static const char *const lists[] = {
                "header = X-A: 1\nheader = X-B: 2\n",
                "header = X-B: 2\nheader = X-A: 1\n",
                "header = X-A: 1\n",
                "header = X-A: 1\nheader = X-B: 2\nheader = X-C: 3\n",
                "header = X-A: 1\nheader = X-B: 2\nheader = X-B: 2\n",
                "",
        };
        struct config *c[ELEMENTSOF(lists)], *again;
        char text[512];

        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                snprintf(text, sizeof text, ENDPOINT "%s", lists[i]);
                c[i] = load_expect(text, NULL, 0);
        }
        snprintf(text, sizeof text, ENDPOINT "%s", lists[0]);
        again = load_expect(text, NULL, 0);
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                for (size_t j = 0; j < ELEMENTSOF(lists); j++)
                        if (c[i] && c[j])
                                CHECK(endpoint_config_equal(c[i]->endpoints[0], c[j]->endpoints[0]) == (i == j),
                                      "headers %zu and %zu: equal must be %d", i, j, i == j);
        CHECK(again && c[0] && endpoint_config_equal(again->endpoints[0], c[0]->endpoints[0]), "same headers, equal");
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                config_free(c[i]);
        config_free(again);
}

static char *read_all(const char *path) {
        FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        if (getdelim(&text, &size, '\0', f) < 0) {
                free(text);
                text = NULL;
        }
        fclose(f);
        return text;
}

/* The key list in warmd.conf(5), as the table makes it. */
static void render_key_list(FILE *f) {
        struct config_key_info k;

        fputs(".Bl -column \"connect_timeout\" \"global, endpoint\" \"Value\"\n"
              ".It Em Key Ta Em Sections Ta Em Value\n", f);
        for (size_t i = 0; config_key_info(i, &k) == 0; i++)
                fprintf(f, ".It Cm %s Ta %s Ta %s\n", k.name,
                        k.scope == (CONFIG_SCOPE_GLOBAL | CONFIG_SCOPE_ENDPOINT) ? "global, endpoint" :
                        k.scope == CONFIG_SCOPE_GLOBAL ? "global" : "endpoint",
                        k.summary);
        fputs(".El\n", f);
}

/* Whether the .It lines of section ".Sh title" name key (as "Cm key"), and only keys of the given scope. */
static bool man_section_has(const char *man, const char *title, const char *key, unsigned scope, char *stray,
                            size_t stray_size) {
        char head[64];
        const char *s, *end;
        bool found = false;

        snprintf(head, sizeof head, "\n.Sh %s\n", title);
        s = strstr(man, head);
        if (!s)
                return false;
        s += strlen(head);
        end = strstr(s, "\n.Sh ");
        if (!end)
                end = s + strlen(s);
        for (const char *l = s; l && l < end; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                const char *c = l;

                if (strncmp(l, ".It Cm ", 7) != 0)
                        continue;
                /* Every "Cm word" on the line: ".It Cm interval , Cm jitter" names two keys. */
                while ((c = strstr(c, "Cm ")) && c < strchr(l, '\n')) {
                        char word[64];
                        struct config_key_info k;
                        bool known = false;

                        c += 3;
                        snprintf(word, sizeof word, "%.*s", (int) strcspn(c, " \n"), c);
                        for (size_t i = 0; config_key_info(i, &k) == 0; i++)
                                known = known || (streq(k.name, word) && (k.scope & scope));
                        if (!known && stray[0] == '\0')
                                snprintf(stray, stray_size, "%s", word);
                        found = found || streq(word, key);
                }
        }
        return found;
}

/* warmd.conf(5) documents exactly the keys of the table: in its key list, and each in its sections. */
static void test_man_page(void) {
        const char *top = getenv("top_srcdir");
        char path[512], *man, *want = NULL, stray[2][64] = { "", "" };
        size_t want_size = 0;
        struct config_key_info k;
        FILE *f;

        snprintf(path, sizeof path, "%s/man/warmd.conf.5", top ? top : ".");
        man = read_all(path);
        CHECK(man, "read %s", path);
        if (!man)
                return;
        f = open_memstream(&want, &want_size);
        if (!f)
                abort();
        render_key_list(f);
        fclose(f);
        CHECK(strstr(man, want), "%s: the key list must read, as made from the table in src/config-keys.c:\n%s", path, want);

        for (size_t i = 0; config_key_info(i, &k) == 0; i++) {
                if (k.scope & CONFIG_SCOPE_GLOBAL)
                        CHECK(man_section_has(man, "GLOBAL SECTION", k.name, CONFIG_SCOPE_GLOBAL, stray[0], sizeof stray[0]),
                              "%s: GLOBAL SECTION does not describe '%s'", path, k.name);
                if (k.scope & CONFIG_SCOPE_ENDPOINT)
                        CHECK(man_section_has(man, "ENDPOINT SECTIONS", k.name, CONFIG_SCOPE_ENDPOINT, stray[1],
                                              sizeof stray[1]),
                              "%s: ENDPOINT SECTIONS does not describe '%s'", path, k.name);
        }
        CHECK(!stray[0][0], "%s: GLOBAL SECTION describes '%s', which is no key of [global]", path, stray[0]);
        CHECK(!stray[1][0], "%s: ENDPOINT SECTIONS describes '%s', which is no key of an endpoint", path, stray[1]);
        free(want);
        free(man);
}

/* A URL's user, password and query values never appear: not in url_display, not in an error. */
static void test_url_secrets(void) {
        static const struct {
                const char *url, *shown;
        } cases[] = {
                { "http://127.0.0.1:8080/f", "http://127.0.0.1:8080/f" },
                { "http://alice:PASSWORD@127.0.0.1/f", "http://***@127.0.0.1/f" },
                { "https://TOKEN@example.com/", "https://***@example.com/" },
                { "https://fn.azurewebsites.net/api/f?code=KEY", "https://fn.azurewebsites.net/api/f?code=***" },
                { "https://h/p?code=KEY&clientId=default&KEY", "https://h/p?code=***&clientId=***&***" },
                { "https://h/p?code=KEY#KEY", "https://h/p?code=***" },
                { "https://alice:PASSWORD@h/p?a=KEY&&b=", "https://***@h/p?a=***&&b=***" },
        };
        static const struct {
                const char *url, *error;
        } bad[] = {
                { "ftp://alice:PASSWORD@127.0.0.1/f?code=KEY",
                  "F:2: url: only http and https URLs are supported: 'ftp://***@127.0.0.1/f?code=***'" },
                { "http://alice:PASSWORD@/f?code=KEY",
                  "F:2: url: invalid URL: No host part in the URL (the URL is not shown: it may hold a secret)" },
                { "http://alice:PASSWORD@h/f?code=KEY KEY",
                  "F:2: url: invalid URL: Bad query (the URL is not shown: it may hold a secret)" },
        };
        char text[512];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct config *c;

                snprintf(text, sizeof text, "[e]\nurl = %s\ncontainers = 1\n", cases[i].url);
                c = load_expect(text, NULL, 0);
                CHECK(c && streq(c->endpoints[0]->url, cases[i].url) && streq_ptr(c->endpoints[0]->url_display, cases[i].shown),
                      "%s: shown as %s, want %s", cases[i].url, c ? c->endpoints[0]->url_display : "(none)", cases[i].shown);
                config_free(c);
        }
        /* A Lambda endpoint's URL is made at load, and shown as any other. */
        {
                struct config *c = load_expect("[e]\nlambda = fn-a\nregion = eu-west-1\ncontainers = 1\n", NULL, 0);

                CHECK(c && c->endpoints[0]->url && streq_ptr(c->endpoints[0]->url_display, c->endpoints[0]->url),
                      "lambda: shown as %s", c ? c->endpoints[0]->url_display : "(none)");
                config_free(c);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *want[] = { bad[i].error, NULL };

                snprintf(text, sizeof text, "[e]\nurl = %s\ncontainers = 1\n", bad[i].url);
                config_free(load_expect(text, want, 0));
        }
}

/* A NUL byte is an error at its line, wherever it is: never a value cut short. */
static void test_nul(void) {
        static const struct {
                const char *text;
                size_t len;
                const char *error;
        } cases[] = {
#define T(s) s, sizeof(s) - 1
                { T(ENDPOINT "header = Authorization: Bearer abc\0def\n"), "F:4: NUL byte at column 35" },
                { T(ENDPOINT "method = POST\nbody = {}\0{}\n"), "F:5: NUL byte at column 10" },
                { T(ENDPOINT "; a comment\0\n"), "F:4: NUL byte at column 12" },
                { T("[e]\nurl = http://127.0.0.1/\0\ncontainers = 1\n"), "F:2: NUL byte at column 24" },
                { T(ENDPOINT "header = X: 1\n\0"), "F:5: NUL byte at column 1" },
#undef T
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *want[] = { cases[i].error, NULL };

                config_free(load_expect_n(cases[i].text, cases[i].len, want, 0));
        }
}

/*
 * Control characters (below 0x20 but TAB, and DEL) are refused with FILE:LINE in every value but
 * body, and never shown; a CR that ends a line (CRLF) is a line end.
 */
static void test_control_characters(void) {
        static const struct {
                const char *text, *errors[2];
        } cases[] = {
                { ENDPOINT "header = X-A: a\rb\n", { "F:4: header: control character 0x0d in the value" } },
                { ENDPOINT "header = X-A: a\r\r\n", { "F:4: header: control character 0x0d in the value" } },
                { ENDPOINT "header = X-A: a\x7f" "b\n", { "F:4: header: control character 0x7f in the value" } },
                { ENDPOINT "header = X-A: a\x1b[2Jb\n", { "F:4: header: control character 0x1b in the value" } },
                { "[global]\nuser_agent = a\rb\n" ENDPOINT, { "F:2: user_agent: control character 0x0d in the value" } },
                { "[global]\nuser_agent = a\x0b\n" ENDPOINT, { "F:2: user_agent: control character 0x0b in the value" } },
                { ENDPOINT "reuse_json = a\x01\n", { "F:4: reuse_json: control character 0x01 in the value" } },
                { "[e]\nurl = http://127.0.0.1/\x1b\ncontainers = 1\n", { "F:2: url: control character 0x1b in the value" } },
                { ENDPOINT "fo\x1bo = 1\n", { "F:4: control character 0x1b" } },
                { "x\x1b = 1\n" ENDPOINT, { "F:1: control character 0x1b" } },
                { ENDPOINT "[a\x1b]\nurl = http://127.0.0.1/\ncontainers = 1\n",
                  { "F:4: control character 0x1b in a section header" } },
                /* What may be there. */
                { ENDPOINT "header = X-A: a\tb\n", {} },
                { "[e]\r\nurl = http://127.0.0.1/\r\ncontainers = 1 \r\nheader = X-A: 1\t\r\n", {} },
                { ENDPOINT "; a comment \x01\n", {} },
                { ENDPOINT "method = POST\nbody = a\x01\rb\n", {} },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct config *c = load_expect(cases[i].text, cases[i].errors, 0);

                if (c && strstr(cases[i].text, "body"))
                        CHECK(streq(c->endpoints[0]->body, "a\x01\rb"), "body keeps its control characters");
                if (c && strstr(cases[i].text, "X-A: a\tb"))
                        CHECK(streq(c->endpoints[0]->headers[0], "X-A: a\tb"), "a TAB in a header value");
                if (c && strstr(cases[i].text, "[e]\r\n"))
                        CHECK(c->endpoints[0]->containers == 1 && streq(c->endpoints[0]->headers[0], "X-A: 1"),
                              "CRLF lines");
                config_free(c);
        }
}

/* Loads text and returns its errors. */
static int load_errors(const char *text, size_t len, struct config_errors *ret) {
        struct config *c = NULL;
        int r = config_load(write_file_n("t.conf", text, len), 0, &c, ret);

        config_free(c);
        return r;
}

static char *repeat(const char *head, const char *line, size_t n, const char *tail, size_t *ret_len) {
        size_t hl = strlen(head), ll = strlen(line), tl = strlen(tail), len = hl + n * ll + tl;
        char *t = malloc(len + 1);

        if (!t)
                abort();
        memcpy(t, head, hl);
        for (size_t i = 0; i < n; i++)
                memcpy(t + hl + i * ll, line, ll);
        memcpy(t + hl + n * ll, tail, tl + 1);
        if (ret_len)
                *ret_len = len;
        return t;
}

/* The first 100 errors in file order, then "and N more errors", N exact. */
static void test_error_cap(void) {
        static const struct {
                size_t junk;
                bool missing;           /* an error only found after the file is read, at line 1 */
                size_t shown, more;
        } cases[] = {
                { 99, false, 99, 0 },
                { 100, false, 100, 0 },
                { 101, false, 100, 1 },
                { 1000, false, 100, 900 },
                { 99, true, 100, 0 },
                { 100, true, 100, 1 },
                { 500000, true, 100, 499901 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *head = cases[i].missing ? "[e]\nurl = http://127.0.0.1/\n" : ENDPOINT;
                size_t first = cases[i].missing ? 3 : 4, len;
                char *text = repeat(head, "junk\n", cases[i].junk, "", &len), want[512];
                struct config_errors e = {};
                const char *path = NULL;
                bool ok = true;

                CHECK(load_errors(text, len, &e) == -EINVAL, "%zu errors: the load fails", cases[i].junk);
                CHECK(e.n == cases[i].shown + (cases[i].more > 0) && e.n_more == cases[i].more,
                      "%zu junk lines%s: %zu lines, %zu more; want %zu and %zu", cases[i].junk,
                      cases[i].missing ? " and a missing key" : "", e.n, e.n_more, cases[i].shown, cases[i].more);
                for (size_t j = 0; j < e.n && j < cases[i].shown; j++) {
                        path = path ? path : e.lines[0];
                        if (cases[i].missing && j == 0)
                                snprintf(want, sizeof want, "%s/t.conf:1: [e]: missing required key 'containers'", dir);
                        else
                                snprintf(want, sizeof want, "%s/t.conf:%zu: syntax error: expected '[section]' or 'key = value'",
                                         dir, first + j - cases[i].missing);
                        if (!streq(e.lines[j], want)) {
                                CHECK(false, "error %zu: %s, want %s", j, e.lines[j], want);
                                ok = false;
                                break;
                        }
                }
                if (cases[i].more > 0 && e.n == cases[i].shown + 1) {
                        snprintf(want, sizeof want, "%s/t.conf: and %zu more error%s", dir, cases[i].more,
                                 cases[i].more == 1 ? "" : "s");
                        CHECK(streq(e.lines[e.n - 1], want), "last line: %s, want %s", e.lines[e.n - 1], want);
                }
                CHECK(ok, "%zu junk lines: errors in file order", cases[i].junk);
                config_errors_clear(&e);
                free(text);
        }
}

/* Headers per endpoint: 100, and one more is an error. */
static void test_headers_limit(void) {
        const char *over[] = { "F:104: header: too many headers (the limit is 100 per endpoint)", NULL };
        char *text = repeat(ENDPOINT, "header = X-A: 1\n", 100, "", NULL);
        struct config *c = load_expect(text, NULL, 0);
        size_t n = 0;

        for (struct curl_slist *l = c ? c->endpoints[0]->header_list : NULL; l; l = l->next)
                n++;
        CHECK(c && c->endpoints[0]->n_headers == 100 && n == 100, "100 headers: all kept, and in curl's list");
        config_free(c);
        free(text);
        text = repeat(ENDPOINT, "header = X-A: 1\n", 101, "", NULL);
        config_free(load_expect(text, over, 0));
        free(text);
}

/* A line: 199 characters without its leading and trailing blanks, which may be any number. */
static void test_line_limit(void) {
        const char *over[] = { "F:4: line too long (200 characters; the limit is 199)", NULL };
        const char *huge[] = { "F:4: line too long (1000014 characters; the limit is 199)", NULL };
        char value[1000001], *text;
        struct config *c;

        memset(value, 'a', sizeof value - 1);
        value[sizeof value - 1] = '\0';
        /* "header = X-A: " is 14 characters. */
        text = malloc(4 * sizeof value);
        if (!text)
                abort();
        sprintf(text, ENDPOINT "header = X-A: %.185s\n", value);
        c = load_expect(text, NULL, 0);
        CHECK(c && strlen(c->endpoints[0]->headers[0]) == 190, "a line of 199 characters");
        config_free(c);
        sprintf(text, ENDPOINT "header = X-A: %.186s\n", value);
        config_free(load_expect(text, over, 0));
        sprintf(text, ENDPOINT "header = X-A: %s\n", value);
        config_free(load_expect(text, huge, 0));
        memset(value, ' ', sizeof value - 1);
        sprintf(text, ENDPOINT "%sheader = X-A: 1%s\n", value, value);
        c = load_expect(text, NULL, 0);
        CHECK(c && streq(c->endpoints[0]->headers[0], "X-A: 1"), "a short line between long runs of blanks");
        config_free(c);
        free(text);
}

/* The file: 16 MiB read, from a file, a pipe or a device alike. */
static void test_file_limit(void) {
        enum { MAX = 16 * 1024 * 1024 };
        const char *over[] = { "F: too large: warmd reads at most 16777216 bytes (16 MiB), credentials included", NULL };
        size_t head = strlen(ENDPOINT);
        struct config_errors e = {};
        struct config *c = NULL;
        char *text = malloc(MAX + 2);
        int r;

        if (!text)
                abort();
        /* ENDPOINT, then comment lines of 64 bytes, then one to make it MAX exactly. */
        memcpy(text, ENDPOINT, head);
        for (size_t i = head; i < MAX; i += 64) {
                size_t n = MAX - i < 64 ? MAX - i : 64;

                memset(text + i, '#', n - 1);
                text[i + n - 1] = '\n';
        }
        c = load_expect_n(text, MAX, NULL, 0);
        CHECK(c && c->n_endpoints == 1, "a file of 16 MiB exactly");
        config_free(c);
        text[MAX] = '#';
        config_free(load_expect_n(text, MAX + 1, over, 0));
        free(text);

        r = config_load("/dev/zero", 0, &c, &e);
        CHECK(r == -EINVAL && e.n == 1 &&
              streq(e.lines[0], "/dev/zero: too large: warmd reads at most 16777216 bytes (16 MiB), credentials included"),
              "/dev/zero: %d, %s", r, e.n ? e.lines[0] : "(no error)");
        config_errors_clear(&e);
}

/* A credential: 8192 bytes; a header with its credentials: 16384 bytes; all credentials count as read. */
static void test_credential_limits(void) {
        static const char *const cred_over[] = { "F:4: header: credential 'c8193' is longer than 8192 bytes", NULL };
        static const char *const header_over[] = {
                "F:4: header: longer than 16384 bytes with its credentials (the value is not shown: it may be a secret)", NULL
        };
        static const char *const file_over[] = {
                "F: too large: warmd reads at most 16777216 bytes (16 MiB), credentials included", NULL
        };
        static const size_t sizes[] = { 8192, 8193, 8189, 8190 };
        char creds[300], name[32], *data = malloc(8194), *text;
        struct config *c;

        if (!data)
                abort();
        snprintf(creds, sizeof creds, "%s/creds", dir);
        mkdir(creds, 0700);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                memset(data, 'k', sizes[i]);
                data[sizes[i]] = '\0';
                snprintf(name, sizeof name, "creds/c%zu", sizes[i]);
                write_file(name, data);
        }
        c = load_expect(ENDPOINT "header = X: ${credential:c8192}\n", NULL, 0);
        CHECK(c && strlen(c->endpoints[0]->headers[0]) == 3 + 8192, "a credential of 8192 bytes");
        config_free(c);
        config_free(load_expect(ENDPOINT "header = X: ${credential:c8193}\n", cred_over, 0));
        /* "X: " is 3 bytes: 3 + 8192 + 8189 = 16384. */
        c = load_expect(ENDPOINT "header = X: ${credential:c8192}${credential:c8189}\n", NULL, 0);
        CHECK(c && strlen(c->endpoints[0]->headers[0]) == 16384, "a header of 16384 bytes with its credentials");
        config_free(c);
        config_free(load_expect(ENDPOINT "header = X: ${credential:c8192}${credential:c8190}\n", header_over, 0));

        /* 21 endpoints of 100 headers of 8 KiB: more than 16 MiB in all. */
        {
                size_t size = 21 * (64 + 100 * 40) + 1, len = 0;

                text = malloc(size);
                if (!text)
                        abort();
                for (unsigned i = 0; i < 21; i++) {
                        len += (size_t) snprintf(text + len, size - len, "[e%u]\nurl = http://127.0.0.1/\ncontainers = 1\n", i);
                        for (unsigned j = 0; j < 100; j++)
                                len += (size_t) snprintf(text + len, size - len, "header = X: ${credential:c8192}\n");
                }
                config_free(load_expect(text, file_over, 0));
                free(text);
        }
        unsetenv("CREDENTIALS_DIRECTORY");
        free(data);
}

/* 100,000 endpoints; one more is an error, and the rest of the file is not read. */
static void test_endpoints_limit(void) {
        enum { MAX = 100000 };
        const char *over[] = {
                "F:300001: too many endpoints: warmd reads at most 100000, and not the rest of the file", NULL
        };
        size_t size = (MAX + 2) * 48 + 64, len = 0;
        char *text = malloc(size);
        struct config *c;

        if (!text)
                abort();
        for (unsigned i = 0; i < MAX; i++)
                len += (size_t) snprintf(text + len, size - len, "[e%u]\nurl = http://127.0.0.1/\ncontainers = 1\n", i);
        c = load_expect(text, NULL, 0);
        CHECK(c && c->n_endpoints == MAX, "100000 endpoints: %zu", c ? c->n_endpoints : 0);
        config_free(c);
        /* The junk after the endpoint too many is not read: no error for it. */
        snprintf(text + len, size - len, "[e%u]\nurl = http://127.0.0.1/\ncontainers = 1\njunk\n", MAX);
        config_free(load_expect(text, over, 0));
        free(text);
}

static bool ends_with(const char *s, const char *tail) {
        size_t n = strlen(s), t = strlen(tail);

        return n >= t && streq(s + n - t, tail);
}

/* Drop-ins: the *.conf files of d.conf.d after d.conf, by name; a later [global] key wins; each endpoint knows its file. */
static void test_dropins(void) {
        static const struct {
                const char *name, *text;
        } files[] = {
                { "d.conf", "[m]\nurl = http://127.0.0.1/\ncontainers = 1\n" },
                { "d.conf.d/20-b.conf", "[global]\ninterval = 2m\n[b]\nurl = http://127.0.0.1/\ncontainers = 1\n" },
                { "d.conf.d/10-a.conf", "[global]\ninterval = 3m\ntimeout = 1s\n[a]\nurl = http://127.0.0.1/\ncontainers = 1\n" },
                { "d.conf.d/.hidden.conf", "junk\n" },
                { "d.conf.d/a.conf~", "junk\n" },
                { "d.conf.d/README", "junk\n" },
        };
        static const char *const names[] = { "m", "a", "b" };
        static const char *const from[] = { "/d.conf", "/d.conf.d/10-a.conf", "/d.conf.d/20-b.conf" };
        struct config_errors e = {};
        struct config *c = NULL;
        char main_path[256], sub[256];

        snprintf(sub, sizeof sub, "%s/d.conf.d", dir);
        if (mkdir(sub, 0700) < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                write_file(files[i].name, files[i].text);
        snprintf(main_path, sizeof main_path, "%s/d.conf", dir);

        CHECK(config_load(main_path, 0, &c, &e) == 0 && e.n == 0, "a main file and two drop-ins load");
        if (!c)
                return;
        CHECK(c->n_files == 3 && streq(c->files[0], main_path) && ends_with(c->files[1], from[1]) &&
              ends_with(c->files[2], from[2]), "the files: the main one, then the drop-ins by name, no others");
        CHECK(c->n_endpoints == 3, "three endpoints: %zu", c->n_endpoints);
        for (size_t i = 0; i < c->n_endpoints && i < ELEMENTSOF(names); i++) {
                const struct endpoint_config *ep = c->endpoints[i];

                CHECK(streq(ep->name, names[i]) && ends_with(ep->file, from[i]),
                      "endpoint %zu: [%s] from %s", i, ep->name, ep->file);
                CHECK(ep->interval_usec == 2 * USEC_PER_MINUTE && ep->timeout_usec == USEC_PER_SEC,
                      "[%s]: interval from the last file that set it, timeout from the only one", ep->name);
        }
        CHECK(c->n_globals == 2 && streq(c->globals[0].key, "interval") && streq(c->globals[0].value, "2m") &&
              ends_with(c->globals[0].file, from[2]) && c->globals[0].line == 2 &&
              streq(c->globals[1].key, "timeout") && ends_with(c->globals[1].file, from[1]) && c->globals[1].line == 3,
              "the globals set, each with the file and line that set it last");
        config_free(c);
        c = NULL;

        /* The same name in two files: both places named. */
        write_file("d.conf.d/30-dup.conf", "[m]\nurl = http://127.0.0.1/\ncontainers = 1\n");
        {
                char want[600];

                snprintf(want, sizeof want, "%s/d.conf.d/30-dup.conf:1: duplicate section [m] (first defined at %s:1)",
                         dir, main_path);
                CHECK(config_load(main_path, 0, &c, &e) == -EINVAL && e.n == 1 && streq(e.lines[0], want),
                      "a duplicate across files: %s", e.n ? e.lines[0] : "(none)");
        }
        config_errors_clear(&e);
        config_free(c);
}

int main(void) {
        if (!mkdtemp(dir))
                return 99;
        test_durations();
        test_errors();
        test_long_line();
        test_bom();
        test_many_sections();
        test_unreadable();
        test_values();
        test_addresses();
        test_credentials();
        test_tls();
        test_auth();
        test_every_key();
        test_override();
        test_header_list_equal();
        test_man_page();
        test_url_secrets();
        test_nul();
        test_control_characters();
        test_error_cap();
        test_headers_limit();
        test_line_limit();
        test_file_limit();
        test_credential_limits();
        test_endpoints_limit();
        test_dropins();
        {
                char cmd[300];

                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", dir);
        }
        return tests_result("test-config");
}
