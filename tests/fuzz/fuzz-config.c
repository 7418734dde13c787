/* SPDX-License-Identifier: MIT */
/*
 * fuzz-config.c: libFuzzer harness for config_load().  Each input is a whole
 * warmd.conf, loaded twice: as "warmd -n" from a shell loads it (no
 * credentials, CONFIG_CREDENTIALS_OPTIONAL), and as the daemon does under
 * systemd, with $CREDENTIALS_DIRECTORY holding a few credentials, good and
 * bad.  Besides memory errors (ASan, UBSan) it checks what the man page
 * promises: a load fails with at least one "FILE:..." error or succeeds with
 * none, and no credential's content ever appears in an error.
 */
#include "config.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <sys/stat.h>

#include "internal.h"
#include "fuzz.h"

#define SECRET "s3cret-Fuzz-7f1c"

static struct memfile conf;
static char cred_dir[] = "/tmp/warmd-fuzz-cred.XXXXXX";

static void put_credential(const char *name, const char *content, size_t len) {
        char path[sizeof cred_dir + 64];
        int fd;

        snprintf(path, sizeof path, "%s/%s", cred_dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, content, len) != (ssize_t) len) {
                perror(path);
                abort();
        }
        close(fd);
}

static void remove_credentials(void) {
        static const char *const names[] = { "token", "key", "crlf", "cr", "nul", "empty", "long" };
        char path[sizeof cred_dir + 64];

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof path, "%s/%s", cred_dir, names[i]);
                unlink(path);
        }
        rmdir(cred_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static char long_secret[9000];

        memfile_open(&conf);
        if (!mkdtemp(cred_dir)) {
                perror("mkdtemp");
                abort();
        }
        atexit(remove_credentials);
        put_credential("token", SECRET, strlen(SECRET));
        put_credential("key", SECRET "\n", strlen(SECRET) + 1);
        put_credential("crlf", SECRET "\r\n", strlen(SECRET) + 2);
        put_credential("cr", SECRET "\rX-Injected: 1", strlen(SECRET) + 14);
        put_credential("nul", SECRET "\0tail", strlen(SECRET) + 5);
        put_credential("empty", "", 0);
        memset(long_secret, 'S', sizeof long_secret - 1);
        put_credential("long", long_secret, sizeof long_secret - 1);
        return 0;
}

/* What may not go onto the wire in a header line. */
static bool has_control_char_but_tab(const char *s) {
        for (; *s; s++)
                if (((unsigned char) *s < 0x20 && *s != '\t') || *s == 0x7f)
                        return true;
        return false;
}

/* The body as Lambda takes a payload, one JSON value with only white space after it: 1 an object, 0 another
 * value, -1 not that. */
static int json_payload_kind(const char *body) {
        struct json_tokener *tok = json_tokener_new();
        json_object *o;
        size_t end;
        int kind;

        FUZZ_ASSERT(tok);
        o = json_tokener_parse_ex(tok, body, (int) strlen(body) + 1);
        end = json_tokener_get_parse_end(tok);
        kind = json_tokener_get_error(tok) != json_tokener_success ? -1 : json_object_is_type(o, json_type_object);
        json_tokener_free(tok);
        json_object_put(o);
        if (kind >= 0 && end < strlen(body) && body[end + strspn(body + end, " \t\r\n")])
                kind = -1;
        return kind;
}

static void check_loaded(const struct config *c) {
        FUZZ_ASSERT(c->user_agent);
        FUZZ_ASSERT(c->max_parallel > 0);
        for (size_t i = 0; i < c->n_endpoints; i++) {
                const struct endpoint_config *ep = c->endpoints[i];
                size_t n = 0;

                FUZZ_ASSERT(ep->name && ep->url);
                FUZZ_ASSERT(ep->containers >= 1 && ep->containers <= CONTAINERS_MAX);
                FUZZ_ASSERT(ep->interval_usec > 0);
                FUZZ_ASSERT(endpoint_config_equal(ep, ep));
                FUZZ_ASSERT(config_find_endpoint(c, ep->name) == ep);
                for (const struct curl_slist *l = ep->header_list; l; l = l->next) {
                        FUZZ_ASSERT(!has_control_char_but_tab(l->data));
                        n++;
                }
                if (ep->lambda) {
                        /* An invoke's headers are warmd's: none from "header =", the three fixed ones
                         * (X-Amz-Log-Type: Tail among them), and the client context when the body is an object. */
                        int kind = json_payload_kind(ep->body);

                        FUZZ_ASSERT(ep->n_headers == 0 && streq(ep->method, "POST") && kind >= 0);
                        FUZZ_ASSERT(n == (kind ? 4U : 3U));
                } else
                        FUZZ_ASSERT(n == ep->n_headers);
                for (size_t h = 0; h < ep->n_headers; h++)
                        FUZZ_ASSERT(!has_control_char_but_tab(ep->headers[h]));
        }
        FUZZ_ASSERT(config_total_containers(c) >= c->n_endpoints);
        FUZZ_ASSERT(!has_control_char_but_tab(c->user_agent));
}

static void load(const uint8_t *data, size_t size, unsigned flags) {
        struct config_errors errors = {};
        struct config *c = NULL;
        bool secret_in_input = memmem(data, size, SECRET, strlen(SECRET)) != NULL;
        int r;

        r = config_load(conf.path, flags, &c, &errors);
        if (r == 0) {
                FUZZ_ASSERT(c);
                FUZZ_ASSERT(errors.n == 0);
                check_loaded(c);
                config_free(c);
                return;
        }
        FUZZ_ASSERT(r < 0);
        FUZZ_ASSERT(r == -ENOMEM || errors.n > 0);
        for (size_t i = 0; i < errors.n; i++) {
                FUZZ_ASSERT(strncmp(errors.lines[i], conf.path, strlen(conf.path)) == 0);
                FUZZ_ASSERT(secret_in_input || !strstr(errors.lines[i], SECRET));
                FUZZ_ASSERT(!strstr(errors.lines[i], "SSSSSSSSSSSSSSSS") || memmem(data, size, "SSSSSSSSSSSSSSSS", 16));
        }
        config_errors_clear(&errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        memfile_set(&conf, data, size);

        unsetenv("CREDENTIALS_DIRECTORY");
        load(data, size, CONFIG_CREDENTIALS_OPTIONAL);
        setenv("CREDENTIALS_DIRECTORY", cred_dir, 1);
        load(data, size, 0);
        return 0;
}
