/* SPDX-License-Identifier: MIT */
/*
 * google.c: Google-signed ID tokens for an audience (a Cloud Run service's
 * URL), found where Google's auth libraries find them, in this order:
 *
 *   1. a service-account key: $GOOGLE_APPLICATION_CREDENTIALS, else the
 *      systemd credential "google-credentials" ($CREDENTIALS_DIRECTORY).
 *      warmd signs an RS256 assertion with "target_audience" (RFC 7523) and
 *      exchanges it at the key's token_uri for an "id_token";
 *   2. the metadata server: $GCE_METADATA_HOST, else metadata.google.internal,
 *      asked for the default service account's identity with format=full.
 *
 * The token's expiry is its own "exp".  The key is read once, when the first
 * endpoint that needs it is loaded; its private half never leaves OpenSSL.
 */
#include "config.h"

#include <unistd.h>
#include <json-c/json.h>
#include <openssl/pem.h>

#include "secret-file.h"
#include "token.h"
#include "url.h"
#include "warmd.h"

#define METADATA_DEFAULT_HOST   "metadata.google.internal"
#define METADATA_IDENTITY_PATH  "/computeMetadata/v1/instance/service-accounts/default/identity"
#define DEFAULT_TOKEN_URI       "https://oauth2.googleapis.com/token"
#define KEY_FILE_MAX            (64 * 1024)     /* a service-account key is about 2.4 KB */
#define CREDENTIAL_NAME         "google-credentials"
#define ASSERTION_LIFETIME      3600            /* seconds: the most Google accepts */
#define JWT_BEARER_GRANT        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

struct google {
        char *where;                    /* for messages */
        char *metadata_url;             /* NULL: a key */
        EVP_PKEY *key;
        char *key_id;                   /* "private_key_id"; NULL: none */
        char *email;
        char *token_uri;
        char error[TOKEN_WHY_MAX - 64]; /* why the key cannot be used; empty: it can */
};

int google_assertion(EVP_PKEY *key, const char *key_id, const char *email, const char *token_uri,
                     const char *target_audience, uint64_t now, char **ret) {
        struct json_object *o = json_object_new_object();
        int r = -ENOMEM;

        /* The claims of Google's libraries, in their order. */
        if (o && json_object_object_add(o, "iat", json_object_new_int64((int64_t) now)) == 0 &&
            json_object_object_add(o, "exp", json_object_new_int64((int64_t) now + ASSERTION_LIFETIME)) == 0 &&
            json_object_object_add(o, "iss", json_object_new_string(email)) == 0 &&
            json_object_object_add(o, "aud", json_object_new_string(token_uri)) == 0 &&
            json_object_object_add(o, "target_audience", json_object_new_string(target_audience)) == 0)
                r = jwt_sign_rs256(key, key_id,
                                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE),
                                   ret);
        json_object_put(o);
        return r;
}

static const char *string_field(struct json_object *o, const char *name) {
        struct json_object *v;

        if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        return NULL;
}

/* The key's fields; a problem goes to g->error, naming the file and the field, never a value. */
static int take_key(struct google *g, const char *path, const char *text, size_t len) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = NULL;
        const char *type, *pem, *email, *uri, *kid;
        BIO *bio = NULL;
        int r = -ENOKEY;

        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object)) {
                snprintf(g->error, sizeof g->error, "the key file %s is not JSON", path);
                goto out;
        }
        type = string_field(o, "type");
        pem = string_field(o, "private_key");
        email = string_field(o, "client_email");
        uri = string_field(o, "token_uri");
        kid = string_field(o, "private_key_id");
        if (!type || !streq(type, "service_account")) {
                snprintf(g->error, sizeof g->error, "the key file %s is not a service-account key "
                         "(\"type\": \"service_account\"): only those can sign for an ID token", path);
                goto out;
        }
        if (!pem || !email) {
                snprintf(g->error, sizeof g->error, "the key file %s lacks private_key or client_email", path);
                goto out;
        }
        /* The signed assertion and the ID token cross to it: never in clear beyond this machine. */
        if (uri && !url_keeps_secrets(uri, NULL)) {
                snprintf(g->error, sizeof g->error, "the key file %s: token_uri is neither https nor http to "
                         "this machine", path);
                goto out;
        }
        bio = BIO_new_mem_buf(pem, -1);
        if (!bio) {
                r = -ENOMEM;
                goto out;
        }
        g->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        if (!g->key || EVP_PKEY_get_base_id(g->key) != EVP_PKEY_RSA) {
                snprintf(g->error, sizeof g->error, "the key file %s: private_key is not an RSA key in PEM", path);
                goto out;
        }
        g->email = strdup(email);
        g->token_uri = strdup(uri ? uri : DEFAULT_TOKEN_URI);
        g->key_id = kid ? strdup(kid) : NULL;
        r = g->email && g->token_uri && (!kid || g->key_id) ? 0 : -ENOMEM;
out:
        BIO_free(bio);
        json_object_put(o);
        return r;
}

static int from_key_file(struct google *g, const char *path) {
        char *text = NULL;
        size_t len = 0;
        int r;

        if (asprintf(&g->where, "the service-account key %s", path) < 0)
                return -ENOMEM;
        r = secret_file_read(path, KEY_FILE_MAX, &text, &len);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                snprintf(g->error, sizeof g->error, "the key file %s is larger than %d bytes", path, KEY_FILE_MAX);
        else if (r < 0)
                snprintf(g->error, sizeof g->error, "cannot read the key file %s: %s", path, strerror(-r));
        else
                r = take_key(g, path, text, len);
        secret_file_free(text, len);
        return r == -ENOMEM ? r : 0;
}

int google_new(struct google **ret) {
        const char *path = getenv("GOOGLE_APPLICATION_CREDENTIALS"), *dir = getenv("CREDENTIALS_DIRECTORY");
        const char *host = getenv("GCE_METADATA_HOST");
        _cleanup_(freep) char *cred = NULL;
        struct google *g;
        int r = 0;

        g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        if ((!path || !*path) && dir) {
                if (asprintf(&cred, "%s/%s", dir, CREDENTIAL_NAME) < 0)
                        r = -ENOMEM;
                else if (access(cred, F_OK) == 0)
                        path = cred;
        }
        if (r == 0 && path && *path)
                r = from_key_file(g, path);
        else if (r == 0) {
                if (!host || !*host)
                        host = METADATA_DEFAULT_HOST;
                if (asprintf(&g->metadata_url, "http://%s" METADATA_IDENTITY_PATH, host) < 0 ||
                    asprintf(&g->where, "the metadata server at http://%s", host) < 0)
                        r = -ENOMEM;
        }
        if (r < 0) {
                google_free(g);
                return r;
        }
        *ret = g;
        return 0;
}

struct google *google_free(struct google *g) {
        if (!g)
                return NULL;
        EVP_PKEY_free(g->key);
        free(g->key_id);
        free(g->email);
        free(g->token_uri);
        free(g->metadata_url);
        free(g->where);
        free(g);
        return NULL;
}

static int google_request(void *src, const char *audience, const char *client_id _unused_, struct token_fetch *ret,
                          char *why, size_t size) {
        struct google *g = src;
        struct token_fetch f = {};
        _cleanup_(freep) char *assertion = NULL;
        int r;

        if (g->metadata_url) {
                r = token_url(g->metadata_url, (const char *const[]) { "audience", audience, "format", "full", NULL },
                              &f.url);
                if (r >= 0 && !(f.headers = curl_slist_append(NULL, "Metadata-Flavor: Google")))
                        r = -ENOMEM;
        } else if (g->error[0]) {
                snprintf(why, size, "%s", g->error);
                return -ENOKEY;
        } else {
                r = google_assertion(g->key, g->key_id, g->email, g->token_uri, audience,
                                     now_usec(CLOCK_REALTIME) / USEC_PER_SEC, &assertion);
                if (r == -EIO)
                        snprintf(why, size, "cannot sign the assertion with the key");
                if (r >= 0 && (asprintf(&f.body, "grant_type=%s&assertion=%s", JWT_BEARER_GRANT, assertion) < 0 ||
                               !(f.url = strdup(g->token_uri))))
                        r = -ENOMEM;
                if (assertion)
                        explicit_bzero(assertion, strlen(assertion));
                f.method = "POST";
        }
        if (r < 0) {
                token_fetch_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

/* A JWT's characters only: an answer that is anything else is not a token. */
static bool is_jwt(const char *s, size_t n) {
        return n > 0 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static int google_answer(void *src, const char *body, size_t len, char **ret_token, uint64_t *ret_expiry,
                         char *why, size_t size) {
        struct google *g = src;
        struct json_tokener *tok;
        struct json_object *o = NULL;
        const char *jwt = body;
        size_t n = len;
        uint64_t exp = 0;
        char *t;
        int r = -EBADMSG;

        if (!g->metadata_url) {
                /* The token endpoint: {"id_token": "..."} */
                tok = json_tokener_new();
                if (!tok)
                        return -ENOMEM;
                o = json_tokener_parse_ex(tok, body, (int) len);
                json_tokener_free(tok);
                jwt = o && json_object_is_type(o, json_type_object) ? string_field(o, "id_token") : NULL;
                if (!jwt) {
                        snprintf(why, size, "the token endpoint %s answered without an id_token", g->token_uri);
                        goto out;
                }
                n = strlen(jwt);
        }
        /* The metadata server answers with the token itself, perhaps with a line end. */
        while (n > 0 && (jwt[n - 1] == '\n' || jwt[n - 1] == '\r'))
                n--;
        if (!is_jwt(jwt, n) || jwt_expiry(jwt, &exp) < 0) {
                snprintf(why, size, "the answer is not an ID token with an expiry");
                goto out;
        }
        t = strndup(jwt, n);
        if (!t) {
                r = -ENOMEM;
                goto out;
        }
        *ret_token = t;
        *ret_expiry = exp;
        r = 0;
out:
        json_object_put(o);
        return r;
}

static const char *google_where(void *src) {
        return ((struct google *) src)->where;
}

const struct token_ops google_token_ops = {
        .what = "Google ID token",
        .request = google_request,
        .answer = google_answer,
        .where = google_where,
};
