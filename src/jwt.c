/* SPDX-License-Identifier: MIT */
/*
 * jwt.c: JSON Web Tokens (RFC 7519) as warmd needs them: signed with RS256
 * for a service-account assertion, and read for their expiry.  OpenSSL does
 * the base64 and the signature; only the URL-safe alphabet is done here.
 */
#include "config.h"

#include <json-c/json.h>
#include <openssl/evp.h>

#include "token.h"
#include "util.h"

#define JWT_MAX (64U * 1024U)   /* a token longer than this is not one warmd reads */

int jwt_base64url(const void *data, size_t n, char **ret) {
        char *s;
        size_t m;

        if (n > JWT_MAX)
                return -E2BIG;
        s = malloc(4 * ((n + 2) / 3) + 1);
        if (!s)
                return -ENOMEM;
        m = (size_t) EVP_EncodeBlock((unsigned char *) s, data, (int) n);
        while (m > 0 && s[m - 1] == '=')
                m--;
        s[m] = '\0';
        for (char *c = s; *c; c++)
                if (*c == '+')
                        *c = '-';
                else if (*c == '/')
                        *c = '_';
        *ret = s;
        return 0;
}

/* Decodes n bytes of base64url into a new NUL-terminated buffer; *ret_len without the NUL. */
static int base64url_decode(const char *s, size_t n, char **ret, size_t *ret_len) {
        _cleanup_(freep) char *b64 = NULL;
        unsigned char *out;
        size_t pad = (4 - n % 4) % 4;
        int m;

        if (n > JWT_MAX || pad == 3)
                return -EINVAL;
        b64 = malloc(n + pad + 1);
        out = malloc((n + pad) / 4 * 3 + 1);
        if (!b64 || !out) {
                free(out);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == '+' || c == '/' || c == '=') {
                        free(out);
                        return -EINVAL;
                }
                b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
        }
        memset(b64 + n, '=', pad);
        b64[n + pad] = '\0';
        m = EVP_DecodeBlock(out, (unsigned char *) b64, (int) (n + pad));
        if (m < 0 || (size_t) m < pad) {
                free(out);
                return -EINVAL;
        }
        m -= (int) pad;         /* EVP_DecodeBlock() counts the padding as zero bytes */
        out[m] = '\0';
        *ret = (char *) out;
        *ret_len = (size_t) m;
        return 0;
}

int jwt_sign_rs256(EVP_PKEY *key, const char *kid, const char *claims, char **ret) {
        _cleanup_(freep) char *header = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL;
        _cleanup_(freep) unsigned char *sig = NULL;
        struct json_object *o;
        EVP_MD_CTX *ctx;
        size_t sig_len = 0;
        char *jwt;
        int r;

        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
                return -EINVAL;
        /* json-c writes the header, so a key id with a quote in it stays JSON. */
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "alg", json_object_new_string("RS256")) < 0 ||
            json_object_object_add(o, "typ", json_object_new_string("JWT")) < 0 ||
            (kid && json_object_object_add(o, "kid", json_object_new_string(kid)) < 0) ||
            !(header = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)))) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_put(o);

        r = jwt_base64url(header, strlen(header), &h64);
        if (r >= 0)
                r = jwt_base64url(claims, strlen(claims), &c64);
        if (r < 0)
                return r;
        if (asprintf(&input, "%s.%s", h64, c64) < 0)
                return -ENOMEM;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        r = -EIO;
        if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestSign(ctx, NULL, &sig_len, (unsigned char *) input, strlen(input)) == 1 &&
            (sig = malloc(sig_len)) &&
            EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *) input, strlen(input)) == 1)
                r = 0;
        else if (sig_len > 0 && !sig)
                r = -ENOMEM;
        EVP_MD_CTX_free(ctx);
        if (r < 0)
                return r;
        r = jwt_base64url(sig, sig_len, &s64);
        if (r < 0)
                return r;
        if (asprintf(&jwt, "%s.%s", input, s64) < 0)
                return -ENOMEM;
        *ret = jwt;
        return 0;
}

int jwt_expiry(const char *jwt, uint64_t *ret_sec) {
        const char *dot1 = strchr(jwt, '.'), *dot2;
        _cleanup_(freep) char *payload = NULL;
        struct json_object *o, *exp;
        struct json_tokener *tok;
        size_t len = 0;
        int64_t v;
        int r;

        if (!dot1 || !(dot2 = strchr(dot1 + 1, '.')))
                return -EINVAL;
        r = base64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), &payload, &len);
        if (r < 0)
                return r;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, payload, (int) len);
        json_tokener_free(tok);
        r = -EINVAL;
        if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "exp", &exp) &&
            (json_object_is_type(exp, json_type_int) || json_object_is_type(exp, json_type_double))) {
                v = json_object_get_int64(exp);
                if (v > 0) {
                        *ret_sec = (uint64_t) v;
                        r = 0;
                }
        }
        json_object_put(o);
        return r;
}
