/* SPDX-License-Identifier: MIT */
/*
 * token.h: bearer tokens that expire (token.c), the sources that fetch them
 * (google.c, azure.c), and the JSON Web Tokens they are made of (jwt.c).
 * Only auth.c and the unit tests include it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <systemd/sd-event.h>

#include "http.h"

#define TOKEN_ANSWER_MAX        (64U * 1024U)   /* bytes of a token endpoint's answer kept */
#define TOKEN_WHY_MAX           256U            /* room for why there is no token: never the token */

/* ------------------------------------------------------------------- jwt.c */

/* base64url without padding (RFC 7515), as JWTs use it. */
int jwt_base64url(const void *data, size_t n, char **ret);
/*
 * A compact JWT signed with RS256 (RSASSA-PKCS1-v1_5 with SHA-256), header
 * {"alg":"RS256","typ":"JWT"} with "kid" when kid is not NULL.  claims is the
 * JSON of the payload, sent as is.
 */
int jwt_sign_rs256(EVP_PKEY *key, const char *kid, const char *claims, char **ret);
/* The "exp" claim of a JWT (seconds since the epoch), read without checking the signature. */
int jwt_expiry(const char *jwt, uint64_t *ret_sec);

/* ----------------------------------------------------------------- token.c */

/* One request of a source to fetch a token; every part may hold a secret, and is wiped when done. */
struct token_fetch {
        char *url;
        const char *method;             /* NULL: GET, or POST with a body */
        struct curl_slist *headers;
        char *body;
};

void token_fetch_done(struct token_fetch *f);
/* base plus "?name=value&..." (NULL-terminated pairs), each value URL-encoded by libcurl. */
int token_url(const char *base, const char *const *params, char **ret);

/* What a source does for the tokens it gives; src is its own state. */
struct token_ops {
        const char *what;               /* "Google ID token", for messages */
        /* The request for a token for audience (and client_id, or NULL); or why not, in why. */
        int (*request)(void *src, const char *audience, const char *client_id, struct token_fetch *ret,
                       char *why, size_t size);
        /* A 200 answer's token and its expiry (CLOCK_REALTIME seconds); or why not, never with the token. */
        int (*answer)(void *src, const char *body, size_t len, char **ret_token, uint64_t *ret_expiry,
                      char *why, size_t size);
        /* Where the source looks, for messages: "the metadata server at http://..." */
        const char *(*where)(void *src);
};

struct token;
typedef void (*token_changed_fn)(void *userdata);

/*
 * Starts fetching a token for (ops, src, audience, client_id) through h, whose done callback must be
 * token_on_done(); changed is called when the token arrives, is refreshed, or cannot be had.
 */
int token_new(sd_event *e, struct http *h, const struct token_ops *ops, void *src, const char *audience,
              const char *client_id, token_changed_fn changed, void *userdata, struct token **ret);
struct token *token_free(struct token *t);
bool token_is(const struct token *t, const struct token_ops *ops, const char *audience, const char *client_id);
/*
 * 0 and the token (valid until the next call into the event loop); -EAGAIN while it is being fetched;
 * -ENOKEY with why there is none in why (where warmd looked, never a secret).
 */
int token_get(struct token *t, const char **ret, char *why, size_t size);
/*
 * For a token fetched at now (CLOCK_REALTIME usec) whose expiry says exp_sec
 * (seconds): when it is taken to expire (at most 24 hours on, whatever it
 * says) and how long until it is refreshed (5 minutes ahead, or half-way
 * through a shorter lifetime).  -ESTALE if it has expired already.  Pure.
 */
int token_lifetime(uint64_t now, uint64_t exp_sec, uint64_t *ret_expiry, uint64_t *ret_refresh_in);
/* The http done callback of the tokens' requests. */
void token_on_done(void *userdata, const struct http_response *r);

/* ---------------------------------------------------------------- google.c */

struct google;

/* Finds where Google ID tokens come from: a service-account key, or the metadata server. */
int google_new(struct google **ret);
struct google *google_free(struct google *g);
extern const struct token_ops google_token_ops;
/* The assertion of a service-account key for target_audience, issued at now (seconds); pure, for the tests. */
int google_assertion(EVP_PKEY *key, const char *key_id, const char *email, const char *token_uri,
                     const char *target_audience, uint64_t now, char **ret);

/* ----------------------------------------------------------------- azure.c */

struct azure;

/* Finds where Azure access tokens come from: App Service's identity endpoint, or the VM's IMDS. */
int azure_new(struct azure **ret);
struct azure *azure_free(struct azure *a);
extern const struct token_ops azure_token_ops;
