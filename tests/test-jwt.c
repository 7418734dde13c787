/* SPDX-License-Identifier: MIT */
/*
 * test-jwt.c: the service-account assertion pinned against one made
 * independently (python3-cryptography, with the fixed key in tests/data),
 * base64url, a token's expiry and the lifetime token.c gives it (24 hours
 * at most), the token endpoints' answers, and the query of a token request.
 */
#include "config.h"

#include <inttypes.h>
#include <openssl/pem.h>
#include <unistd.h>

#include "tests.h"
#include "token.h"
#include "warmd.h"

#define KEY_FILE "tests/data/google-test-key.pem"

/*
 * Made with python3-cryptography from KEY_FILE: header {"alg":"RS256","typ":"JWT","kid":"0123abcd"}, claims
 * {"iat":1700000000,"exp":1700003600,"iss":"warmer@project.iam.gserviceaccount.com",
 * "aud":"https://oauth2.googleapis.com/token","target_audience":"https://orders-abc123-ew.a.run.app"},
 * each as compact JSON, signed with PKCS#1 v1.5 and SHA-256, which is deterministic.
 */
static const char pinned[] =
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjAxMjNhYmNkIn0."
        "eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiaXNzIjoid2FybWVyQHByb2plY3QuaWFtLmdzZXJ2aWNlYWNjb3VudC5j"
        "b20iLCJhdWQiOiJodHRwczovL29hdXRoMi5nb29nbGVhcGlzLmNvbS90b2tlbiIsInRhcmdldF9hdWRpZW5jZSI6Imh0dHBzOi8vb3Jk"
        "ZXJzLWFiYzEyMy1ldy5hLnJ1bi5hcHAifQ."
        "R9u45DCYCDaLkFyG0bWenRTB5nzUaBixiTWn1YM8d1IfQ_XA9smxO-lMqWyRsoXtewpi_mExSHSoDyiWIkHt4rcVXxGX0bE-ifCcIgLR"
        "tjhzceXBckmCNfdkMpHnioJl-XHORvRIqlKg4dqxvswDWaTsy0jgVazSA0mptUc-N_F6QO3z2aIrnOJVURQ3IeMlBoqfW9OFelTKmVdQ"
        "ZD8K9T9VlALGOpbqj7iDJs-6tAEMmSFa02wyRJmCd83GQsro3K0_C71OVg1obJFx5R6VJlrvarmTOR-gqJ4eREr6K6YNfg1LSBpjpM0r"
        "CkQqs-XuIeCiQpk9BRiUtLpquaiCyg";

static EVP_PKEY *load_key(void) {
        const char *top = getenv("top_srcdir");
        char path[4096];
        EVP_PKEY *k = NULL;
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", top ? top : ".", KEY_FILE);
        f = fopen(path, "re");
        if (f) {
                k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
                fclose(f);
        }
        CHECK(k, "the test key %s loads", path);
        return k;
}

/* The signature checked with the key's public half, as Google's token endpoint does. */
static bool verifies(EVP_PKEY *key, const char *jwt) {
        const char *dot = strrchr(jwt, '.');
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char sig[512];
        char b64[1024];
        size_t n = strlen(dot + 1), pad = (4 - n % 4) % 4;
        int m;
        bool ok;

        if (!ctx || n + pad >= sizeof b64)
                return false;
        for (size_t i = 0; i < n; i++)
                b64[i] = dot[1 + i] == '-' ? '+' : dot[1 + i] == '_' ? '/' : dot[1 + i];
        memset(b64 + n, '=', pad);
        b64[n + pad] = '\0';
        m = EVP_DecodeBlock(sig, (unsigned char *) b64, (int) (n + pad));
        ok = m > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, (size_t) m - pad, (const unsigned char *) jwt, (size_t) (dot - jwt)) == 1;
        EVP_MD_CTX_free(ctx);
        return ok;
}

static void test_assertion(void) {
        EVP_PKEY *key = load_key();
        char *jwt = NULL;
        uint64_t exp = 0;
        int r;

        if (!key)
                return;
        r = google_assertion(key, "0123abcd", "warmer@project.iam.gserviceaccount.com",
                             "https://oauth2.googleapis.com/token", "https://orders-abc123-ew.a.run.app", 1700000000,
                             &jwt);
        CHECK(r == 0, "google_assertion: %d", r);
        if (r == 0) {
                CHECK(streq(jwt, pinned), "the assertion is the one made independently:\n%s", jwt);
                CHECK(verifies(key, jwt), "its signature verifies with the public key");
                CHECK(jwt_expiry(jwt, &exp) == 0 && exp == 1700003600, "its exp is an hour on: %llu",
                      (unsigned long long) exp);
                /* One bit of the claims changed, and the signature no longer holds. */
                jwt[40] = jwt[40] == 'A' ? 'B' : 'A';
                CHECK(!verifies(key, jwt), "a changed claim fails the signature");
        }
        free(jwt);
        EVP_PKEY_free(key);
}

static void test_base64url(void) {
        static const struct {
                const char *in;
                size_t n;
                const char *out;
        } cases[] = {
                { "", 0, "" },
                { "f", 1, "Zg" },
                { "fo", 2, "Zm8" },
                { "foo", 3, "Zm9v" },
                { "\xfb\xff", 2, "-_8" },       /* the two letters that differ from base64 */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *s = NULL;

                CHECK(jwt_base64url(cases[i].in, cases[i].n, &s) == 0 && streq(s, cases[i].out), "base64url #%zu: %s",
                      i, s ? s : "(null)");
                free(s);
        }
}

static void test_expiry(void) {
        /* {"alg":"none"} . {"exp":1700000123,"aud":"x"} . (no signature) */
        static const char good[] = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAxMjMsImF1ZCI6IngifQ.";
        static const char *const bad[] = {
                "", "abc", "a.b", "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.",        /* no exp */
                "eyJhbGciOiJub25lIn0.eyJleHAiOiJzb29uIn0.",                     /* exp a string */
                "eyJhbGciOiJub25lIn0.e+J.",                                     /* not base64url */
                "eyJhbGciOiJub25lIn0.bm90IGpzb24.",                             /* not JSON */
        };
        uint64_t exp = 0;

        CHECK(jwt_expiry(good, &exp) == 0 && exp == 1700000123, "exp read: %llu", (unsigned long long) exp);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(jwt_expiry(bad[i], &exp) < 0, "not a token with an expiry: '%s'", bad[i]);
}

static void test_azure_answer(void) {
        static const struct {
                const char *body;
                bool ok;
                uint64_t expiry;
        } cases[] = {
                { "{\"access_token\":\"s3cr3t\",\"expires_on\":\"1700000999\",\"token_type\":\"Bearer\"}", true, 1700000999 },
                { "{\"access_token\":\"s3cr3t\",\"expires_on\":1700000998}", true, 1700000998 },
                { "{\"access_token\":\"s3cr3t\"}", false, 0 },
                { "{\"access_token\":\"s3cr3t\",\"expires_on\":\"soon\"}", false, 0 },
                { "{\"expires_on\":\"1700000999\"}", false, 0 },
                { "not json", false, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char why[TOKEN_WHY_MAX] = "", *t = NULL;
                uint64_t exp = 0;
                int r;

                r = azure_token_ops.answer(NULL, cases[i].body, strlen(cases[i].body), &t, &exp, why, sizeof why);
                CHECK((r == 0) == cases[i].ok, "azure answer #%zu: %d (%s)", i, r, why);
                if (r == 0)
                        CHECK(streq(t, "s3cr3t") && exp == cases[i].expiry, "azure answer #%zu: expiry %llu", i,
                              (unsigned long long) exp);
                else
                        CHECK(!strstr(why, "s3cr3t"), "azure answer #%zu: no token in the reason", i);
                free(t);
        }
}

/* A key file's problem is told by the request for a token, naming the file and never a value. */
static void test_google_keys(void) {
        static const struct {
                const char *content;
                const char *why;
        } cases[] = {
                { "not json", "is not JSON" },
                { "{\"type\": \"authorized_user\", \"refresh_token\": \"s3cr3t\"}", "is not a service-account key" },
                { "{\"type\": \"service_account\", \"client_email\": \"a@b\"}", "lacks private_key or client_email" },
                { "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"s3cr3t\"}",
                  "private_key is not an RSA key in PEM" },
                { "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"x\", "
                  "\"token_uri\": \"file:///etc/passwd\"}", "token_uri is neither https nor http to this machine" },
                /* The assertion and the token would cross the network in clear. */
                { "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"x\", "
                  "\"token_uri\": \"http://oauth2.example.com/token\"}", "token_uri is neither https nor http to this machine" },
        };
        char path[] = "/tmp/test-jwt-XXXXXX";
        int fd = mkstemp(path);

        CHECK(fd >= 0, "mkstemp");
        if (fd < 0)
                return;
        close(fd);
        setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct google *g = NULL;
                struct token_fetch f = {};
                char why[TOKEN_WHY_MAX] = "";
                FILE *out = fopen(path, "we");
                int r;

                if (out) {
                        fputs(cases[i].content, out);
                        fclose(out);
                }
                r = google_new(&g);
                CHECK(r == 0, "google_new #%zu: %d", i, r);
                if (r < 0)
                        continue;
                r = google_token_ops.request(g, "https://a.run.app", NULL, &f, why, sizeof why);
                CHECK(r == -ENOKEY && strstr(why, cases[i].why) && strstr(why, path) && !strstr(why, "s3cr3t"),
                      "key #%zu: %d, '%s'", i, r, why);
                token_fetch_done(&f);
                google_free(g);
        }
        unlink(path);
        unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
}

/* What the metadata server and the token endpoint answer, read as the token and its expiry. */
static void test_google_answers(void) {
        /* {"alg":"none"} . {"exp":1700000123,"aud":"x"} . */
        static const char jwt[] = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAxMjMsImF1ZCI6IngifQ.c2ln";
        struct google *g = NULL;
        char why[TOKEN_WHY_MAX], *t = NULL, body[256];
        uint64_t exp = 0;

        setenv("GCE_METADATA_HOST", "127.0.0.1:1", 1);
        CHECK(google_new(&g) == 0, "google_new, the metadata server");
        unsetenv("GCE_METADATA_HOST");
        if (!g)
                return;
        snprintf(body, sizeof body, "%s\n", jwt);
        CHECK(google_token_ops.answer(g, body, strlen(body), &t, &exp, why, sizeof why) == 0 && streq(t, jwt) &&
              exp == 1700000123, "metadata: the token itself, without its line end");
        free(t);
        t = NULL;
        CHECK(google_token_ops.answer(g, "<html>", 6, &t, &exp, why, sizeof why) < 0 && !t, "metadata: not a token");
        CHECK(google_token_ops.answer(g, "a.b.c", 5, &t, &exp, why, sizeof why) < 0 && !t, "metadata: no expiry");
        google_free(g);
}

static void test_url(void) {
        char *u = NULL;

        CHECK(token_url("http://169.254.169.254/metadata/identity/oauth2/token",
                        (const char *const[]) { "api-version", "2018-02-01", "resource", "api://a b&c", NULL }, &u) == 0 &&
              streq(u, "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&"
                       "resource=api%3a%2f%2fa+b%26c"),
              "query values encoded: %s", u ? u : "(null)");
        free(u);
}

/* A token's lifetime as token.c takes it: capped at 24 hours, refreshed ahead of its expiry. */
static void test_lifetime(void) {
        static const struct {
                uint64_t exp_in;        /* seconds from now the token says it expires */
                uint64_t expiry_in;     /* seconds from now it is taken to expire */
                uint64_t refresh_in;    /* seconds from now it is refreshed */
        } cases[] = {
                { 3600, 3600, 3300 },                   /* an hour: 5 minutes ahead */
                { 6, 6, 3 },                            /* short: half-way */
                { 600, 600, 300 },                      /* 10 minutes: half-way is 5 minutes ahead too */
                { 24 * 3600, 24 * 3600, 24 * 3600 - 300 },
                { 48 * 3600, 24 * 3600, 24 * 3600 - 300 },      /* longer: as if 24 hours */
                { 10 * 365 * 24 * 3600ULL, 24 * 3600, 24 * 3600 - 300 },
        };
        const uint64_t now = 1700000000 * USEC_PER_SEC;
        uint64_t expiry, refresh;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = token_lifetime(now, now / USEC_PER_SEC + cases[i].exp_in, &expiry, &refresh);

                CHECK(r == 0 && expiry == now + cases[i].expiry_in * USEC_PER_SEC &&
                      refresh == cases[i].refresh_in * USEC_PER_SEC,
                      "lifetime %" PRIu64 " s: r=%d, expiry in %" PRIu64 " s, refresh in %" PRIu64 " s", cases[i].exp_in,
                      r, (expiry - now) / USEC_PER_SEC, refresh / USEC_PER_SEC);
        }
        expiry = refresh = 7;
        CHECK(token_lifetime(now, now / USEC_PER_SEC, &expiry, &refresh) == -ESTALE && expiry == 7 && refresh == 7,
              "a token that expires now: -ESTALE, nothing written");
        CHECK(token_lifetime(now, 0, &expiry, &refresh) == -ESTALE, "exp 0: -ESTALE");
}

int main(void) {
        test_lifetime();
        test_assertion();
        test_base64url();
        test_expiry();
        test_azure_answer();
        test_url();
        test_google_keys();
        test_google_answers();
        return tests_result("test-jwt");
}
