/* SPDX-License-Identifier: MIT */
/*
 * azure.c: Microsoft Entra access tokens for a resource, from a managed
 * identity, found where Microsoft's identity libraries find them:
 *
 *   1. App Service and Functions: $IDENTITY_ENDPOINT with the header
 *      X-IDENTITY-HEADER: $IDENTITY_HEADER (api-version 2019-08-01);
 *   2. a VM: the instance metadata service's token endpoint,
 *      http://169.254.169.254/metadata/identity/oauth2/token with
 *      "Metadata: true" (api-version 2018-02-01); the host is
 *      $AZURE_POD_IDENTITY_AUTHORITY_HOST when set, as azure-identity has it.
 *
 * client_id picks a user-assigned identity.  The token's expiry is the
 * answer's expires_on.  $IDENTITY_HEADER is a secret: it goes only into the
 * request's header.
 */
#include "config.h"

#include <ctype.h>
#include <json-c/json.h>

#include "token.h"
#include "warmd.h"

#define IMDS_DEFAULT_AUTHORITY  "http://169.254.169.254"
#define IMDS_TOKEN_PATH         "/metadata/identity/oauth2/token"
#define IMDS_API_VERSION        "2018-02-01"
#define APP_SERVICE_API_VERSION "2019-08-01"

struct azure {
        char *url;                      /* the token endpoint, without its query */
        char *identity_header;          /* App Service's secret; NULL: IMDS */
        char *where;
};

int azure_new(struct azure **ret) {
        const char *endpoint = getenv("IDENTITY_ENDPOINT"), *header = getenv("IDENTITY_HEADER");
        const char *authority = getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST");
        struct azure *a;
        int r = 0;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        if (endpoint && *endpoint && header && *header) {
                a->url = strdup(endpoint);
                a->identity_header = strdup(header);
                if (!a->url || !a->identity_header ||
                    asprintf(&a->where, "the App Service identity endpoint %s", endpoint) < 0)
                        r = -ENOMEM;
        } else {
                size_t n;

                if (!authority || !*authority)
                        authority = IMDS_DEFAULT_AUTHORITY;
                n = strlen(authority);
                while (n > 0 && authority[n - 1] == '/')
                        n--;
                if (asprintf(&a->url, "%.*s" IMDS_TOKEN_PATH, (int) n, authority) < 0 ||
                    asprintf(&a->where, "the instance metadata service at %.*s", (int) n, authority) < 0)
                        r = -ENOMEM;
        }
        if (r < 0) {
                azure_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

struct azure *azure_free(struct azure *a) {
        if (!a)
                return NULL;
        free(a->url);
        if (a->identity_header)
                explicit_bzero(a->identity_header, strlen(a->identity_header));
        free(a->identity_header);
        free(a->where);
        free(a);
        return NULL;
}

static int azure_request(void *src, const char *resource, const char *client_id, struct token_fetch *ret,
                         char *why _unused_, size_t size _unused_) {
        struct azure *a = src;
        struct token_fetch f = {};
        const char *params[] = {
                "api-version", a->identity_header ? APP_SERVICE_API_VERSION : IMDS_API_VERSION,
                "resource", resource,
                client_id ? "client_id" : NULL, client_id,
                NULL,
        };
        _cleanup_(freep) char *h = NULL;
        int r;

        r = token_url(a->url, params, &f.url);
        if (r >= 0) {
                if (a->identity_header && asprintf(&h, "X-IDENTITY-HEADER: %s", a->identity_header) < 0)
                        r = -ENOMEM;
                else if (!(f.headers = curl_slist_append(NULL, a->identity_header ? h : "Metadata: true")))
                        r = -ENOMEM;
        }
        if (h)
                explicit_bzero(h, strlen(h));
        if (r < 0) {
                token_fetch_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

/* A count of seconds, as a JSON number or a string of digits. */
static int seconds_field(struct json_object *o, const char *name, uint64_t *ret) {
        struct json_object *v;
        const char *s;
        char *end;
        unsigned long long n;

        if (!json_object_object_get_ex(o, name, &v))
                return -ENOENT;
        if (json_object_is_type(v, json_type_int)) {
                if (json_object_get_int64(v) <= 0)
                        return -EINVAL;
                *ret = (uint64_t) json_object_get_int64(v);
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        s = json_object_get_string(v);
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        n = strtoull(s, &end, 10);
        if (*end || errno || n == 0)
                return -EINVAL;
        *ret = n;
        return 0;
}

static int azure_answer(void *src _unused_, const char *body, size_t len, char **ret_token, uint64_t *ret_expiry,
                        char *why, size_t size) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o, *v;
        uint64_t exp = 0, in = 0;
        const char *token = NULL;
        int r = -EBADMSG;

        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, body, (int) len);
        json_tokener_free(tok);
        if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "access_token", &v) &&
            json_object_is_type(v, json_type_string))
                token = json_object_get_string(v);
        if (!token || !*token)
                snprintf(why, size, "the answer has no access_token");
        /* expires_on is when; older endpoints give only expires_in, how long from now. */
        else if (seconds_field(o, "expires_on", &exp) < 0 && seconds_field(o, "expires_in", &in) < 0)
                snprintf(why, size, "the answer has no expires_on");
        else {
                char *t = strdup(token);

                if (!t)
                        r = -ENOMEM;
                else {
                        *ret_token = t;
                        *ret_expiry = exp ? exp : now_usec(CLOCK_REALTIME) / USEC_PER_SEC + in;
                        r = 0;
                }
        }
        json_object_put(o);
        return r;
}

static const char *azure_where(void *src) {
        return ((struct azure *) src)->where;
}

const struct token_ops azure_token_ops = {
        .what = "Azure access token",
        .request = azure_request,
        .answer = azure_answer,
        .where = azure_where,
};
