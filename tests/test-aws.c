/* SPDX-License-Identifier: MIT */
/*
 * test-aws.c: the AWS credential sources' pure parts: credential_process's
 * command line and output, the container endpoint's address rule, the
 * profiles of the config and credentials files, and the chain's order.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "../src/aws-internal.h"
#include "tests.h"

static void test_process_split(void) {
        static const struct {
                const char *cmd;
                int want;
                const char *words[5];
        } cases[] = {
                { "/usr/bin/helper credential-process --x 1", 0, { "/usr/bin/helper", "credential-process", "--x", "1" } },
                { "  a   'b c'  \"d \\\"e\\\"\" f\\ g  ", 0, { "a", "b c", "d \"e\"", "f g" } },
                { "a 'it''s'", 0, { "a", "its" } },
                { "a $HOME `x`", 0, { "a", "$HOME", "`x`" } },  /* no expansion, no shell */
                { "a 'open", -EINVAL, {} },
                { "a \"open", -EINVAL, {} },
                { "a \\", -EINVAL, {} },
                { "   ", -EINVAL, {} },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char **argv = NULL;
                int r = aws_process_split(cases[i].cmd, &argv);
                size_t n = 0;

                CHECK(r == cases[i].want, "[%s]: %d", cases[i].cmd, r);
                if (r < 0)
                        continue;
                for (; argv[n]; n++)
                        CHECK(n < ELEMENTSOF(cases[i].words) && cases[i].words[n] && streq(argv[n], cases[i].words[n]),
                              "[%s] word %zu: [%s]", cases[i].cmd, n, argv[n]);
                CHECK(n < ELEMENTSOF(cases[i].words) && !cases[i].words[n], "[%s]: %zu words", cases[i].cmd, n);
                for (size_t j = 0; j < n; j++)
                        free(argv[j]);
                free(argv);
        }
}

/* The SDKs' rule: https anywhere, http only to hosts that keep the credentials on the machine. */
static void test_container_url(void) {
        static const struct {
                const char *url;
                bool want;
        } cases[] = {
                { "http://169.254.170.2/v2/credentials/x", true },
                { "http://169.254.170.23/v1/credentials", true },
                { "http://[fd00:ec2::23]/v1/credentials", true },
                { "http://127.0.0.1:8080/creds", true },
                { "http://127.1.2.3/creds", true },
                { "http://[::1]:9/creds", true },
                { "http://localhost/creds", true },
                { "https://creds.example.com/x", true },
                { "http://creds.example.com/x", false },
                { "http://192.0.2.1/creds", false },
                { "http://[::2]/creds", false },
                { "ftp://127.0.0.1/creds", false },
                { "not a url", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(aws_container_url_allowed(cases[i].url) == cases[i].want, "%s: %d", cases[i].url, !cases[i].want);
}

static void test_credentials_json(void) {
        static const struct {
                const char *name, *json, *token_field;
                unsigned flags;
                int want;
                uint64_t expiration;
        } cases[] = {
                { "process, long-term", "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}",
                  "SessionToken", AWS_JSON_VERSION_1, 0, 0 },
                { "process, temporary", "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                  "\"SessionToken\": \"T\", \"Expiration\": \"2026-12-05T10:00:00.123Z\"}",
                  "SessionToken", AWS_JSON_VERSION_1, 0, UINT64_C(1796464800) * 1000000 },
                { "process, no Version", "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}",
                  "SessionToken", AWS_JSON_VERSION_1, -EBADMSG, 0 },
                { "process, Version 2", "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}",
                  "SessionToken", AWS_JSON_VERSION_1, -EBADMSG, 0 },
                { "process, bad Expiration", "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                  "\"Expiration\": \"tomorrow\"}", "SessionToken", AWS_JSON_VERSION_1, -EBADMSG, 0 },
                { "IMDS, failed Code", "{\"Code\": \"Failure\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                  "\"Token\": \"T\", \"Expiration\": \"2026-12-05T10:00:00Z\"}", "Token", AWS_JSON_TEMPORARY, -EBADMSG, 0 },
                { "container, no Expiration", "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Token\": \"T\"}",
                  "Token", AWS_JSON_TEMPORARY, -EBADMSG, 0 },
                { "not JSON", "AccessKeyId=A", "Token", 0, -EBADMSG, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct aws_credentials c = {};
                int r = aws_credentials_from_json(cases[i].json, strlen(cases[i].json), cases[i].token_field,
                                                  cases[i].flags, &c);

                CHECK(r == cases[i].want, "%s: %d", cases[i].name, r);
                if (r == 0)
                        CHECK(streq(c.access_key_id, "A") && streq(c.secret_access_key, "S") &&
                              c.expiration == cases[i].expiration, "%s: values", cases[i].name);
                aws_credentials_done(&c);
        }
}

static char *write_file(const char *dir, const char *name, const char *text) {
        char *path = NULL;
        FILE *f;

        if (asprintf(&path, "%s/%s", dir, name) < 0 || !(f = fopen(path, "we")))
                abort();
        fputs(text, f);
        fclose(f);
        return path;
}

/* Both files, the credentials file's keys winning; either section form; errors by line, never by value. */
static void test_profiles(void) {
        char dir[] = "/tmp/test-aws-XXXXXX", why[AWS_ERROR_MAX] = "";
        struct aws_profile p = {};
        char *config, *creds;
        int r;

        if (!mkdtemp(dir))
                abort();
        config = write_file(dir, "config", "[default]\nregion = eu-west-1\n"
                            "[profile team]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
                            "external_id = x\nduration_seconds = 900\naws_access_key_id = FROMCONFIG\n");
        creds = write_file(dir, "credentials", "[base]\naws_access_key_id = A\naws_secret_access_key = S\n"
                           "[team]\naws_access_key_id = FROMCREDS\n");
        unsetenv("CREDENTIALS_DIRECTORY");
        setenv("AWS_CONFIG_FILE", config, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);

        r = aws_profile_load("team", &p, why, sizeof why);
        CHECK(r == 0 && p.found && streq_ptr(p.role_arn, "arn:aws:iam::1:role/r") &&
              streq_ptr(p.source_profile, "base") && streq_ptr(p.external_id, "x") && p.duration_seconds == 900,
              "team: %d %s", r, why);
        CHECK(r == 0 && streq_ptr(p.access_key_id, "FROMCREDS"), "the credentials file wins");
        aws_profile_done(&p);

        r = aws_profile_load("base", &p, why, sizeof why);
        CHECK(r == 0 && p.found && streq_ptr(p.secret_access_key, "S"), "base: %d", r);
        aws_profile_done(&p);

        r = aws_profile_load("nobody", &p, why, sizeof why);
        CHECK(r == 0 && !p.found && strstr(p.files, config) && strstr(p.files, creds), "nobody: %s", p.files);
        aws_profile_done(&p);

        free(write_file(dir, "config", "[profile team]\nrole_arn = x\nduration_seconds = forever\n"));
        r = aws_profile_load("team", &p, why, sizeof why);
        CHECK(r == -EINVAL && strstr(why, "duration_seconds"), "duration_seconds: %d %s", r, why);

        free(write_file(dir, "config", "[profile team]\naws_secret_access_key SECRETVALUE\n"));
        r = aws_profile_load("team", &p, why, sizeof why);
        CHECK(r == -EINVAL && strstr(why, "syntax error at line 2") && !strstr(why, "SECRETVALUE"),
              "a syntax error by its line, not its text: %s", why);

        /* The size limit: 64 KiB, a byte more is an error that says so. */
        {
                char *big = malloc(70000);

                if (!big)
                        abort();
                memset(big, '#', 69999);
                big[69999] = '\0';
                memcpy(big, "[profile team]\n", 15);
                free(write_file(dir, "config", big));
                big[65536] = '\0';
                free(write_file(dir, "credentials", big + 15));     /* 65521 bytes of comment: within */
                free(big);
        }
        r = aws_profile_load("team", &p, why, sizeof why);
        CHECK(r == -EFBIG && strstr(why, "larger than 65536 bytes"), "a config file over 64 KiB: %d %s", r, why);
        free(write_file(dir, "config", "[profile team]\n"));
        r = aws_profile_load("team", &p, why, sizeof why);
        CHECK(r == 0, "a credentials file within 64 KiB: %d %s", r, why);
        aws_profile_done(&p);

        unlink(config);
        unlink(creds);
        rmdir(dir);
        free(config);
        free(creds);
        unsetenv("AWS_CONFIG_FILE");
        unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

int main(void) {
        test_process_split();
        test_container_url();
        test_credentials_json();
        test_profiles();
        return tests_result("test-aws");
}
