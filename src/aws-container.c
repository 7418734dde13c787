/* SPDX-License-Identifier: MIT */
/*
 * aws-container.c: credentials from the container credentials endpoint of
 * ECS and EKS (Pod Identity), with the SDKs' rules:
 *
 *   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: a path on http://169.254.170.2,
 *     taken first;
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI: any https URL, or an http one whose
 *     host is ECS's 169.254.170.2, EKS's 169.254.170.23 or fd00:ec2::23,
 *     localhost or a loopback address: credentials are never sent in clear
 *     text off the host;
 *   the Authorization header: the contents of
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every fetch: EKS
 *     rotates it), else AWS_CONTAINER_AUTHORIZATION_TOKEN.
 */
#include "config.h"

#include <arpa/inet.h>
#include "aws-internal.h"
#include "secret-file.h"
#include "url.h"

#define ECS_BASE                "http://169.254.170.2"
#define TOKEN_FILE_MAX          16384

struct container {
        char *url;
        struct curl_slist *headers;     /* of the request in flight: the token */
};

bool aws_container_configured(void) {
        const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
                   *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

        return (rel && *rel) || (full && *full);
}

/* Whether a full URI may be used: https, or http to a host that keeps the credentials on the machine. */
bool aws_container_url_allowed(const char *url) {
        static const char *const hosts[] = { "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", NULL };

        return url_keeps_secrets(url, hosts);
}

/* The token from its file, without a final newline; -EBADMSG if empty or with a line break (a header injection). */
static int token_read(const char *path, char **ret) {
        char *buf = NULL, *t = NULL;
        size_t len = 0, n;
        int r;

        r = secret_file_read(path, TOKEN_FILE_MAX, &buf, &len);
        if (r < 0)
                return r;
        n = len;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        if (n == 0 || memchr(buf, '\0', n) || memchr(buf, '\r', n) || memchr(buf, '\n', n))
                r = -EBADMSG;
        else if (!(t = strndup(buf, n)))
                r = -ENOMEM;
        secret_file_free(buf, len);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

static int container_start(struct aws *a) {
        struct container *c = a->priv;
        const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
                   *env = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        char *token = NULL, *h = NULL;
        int r = 0;

        http_secret_headers_free(c->headers);
        c->headers = NULL;
        if (file && *file) {
                r = token_read(file, &token);
                if (r < 0) {
                        if (r == -EFBIG)
                                aws_fetch_failed(a, "the token file %s is larger than %d bytes", file,
                                                 TOKEN_FILE_MAX);
                        else
                                aws_fetch_failed(a, "cannot read the token file %s: %s", file,
                                                 r == -EBADMSG ? "empty, or more than one line" : strerror(-r));
                        return 0;
                }
        } else if (env && *env) {
                if (strpbrk(env, "\r\n")) {
                        aws_fetch_failed(a, "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a line break");
                        return 0;
                }
                token = strdup(env);
                if (!token)
                        return -ENOMEM;
        }
        if (token) {
                r = asprintf(&h, "Authorization: %s", token);
                aws_secret_free(token);
                if (r < 0)
                        return -ENOMEM;
                c->headers = curl_slist_append(NULL, h);
                aws_secret_free(h);
                if (!c->headers)
                        return -ENOMEM;
        }
        return http_start(a->http, &(struct http_request) {
                                  .name = "container-credentials",
                                  .url = c->url,
                                  .headers = c->headers,
                                  .timeout_usec = AWS_FETCH_TIMEOUT,
                                  .connect_timeout_usec = AWS_CONNECT_TIMEOUT,
                                  .keep_body = AWS_ANSWER_MAX,
                          },
                          0, a);
}

static void on_container_done(void *userdata, const struct http_response *r) {
        struct aws *a = userdata;
        struct container *c = a->priv;
        struct aws_credentials cred = {};
        int q;

        http_secret_headers_free(c->headers);
        c->headers = NULL;
        if (r->curl_code != CURLE_OK)
                return aws_fetch_failed(a, "%s", curl_easy_strerror(r->curl_code));
        if (r->http_status != 200)
                return aws_fetch_failed(a, "HTTP %ld%s", r->http_status,
                                        r->http_status == 401 || r->http_status == 403 ?
                                        " (the authorization token was refused)" : "");
        q = aws_credentials_from_json(r->body ? r->body : "", r->body_len, "Token", AWS_JSON_TEMPORARY, &cred);
        if (q < 0)
                return aws_fetch_failed(a, "the credentials document is not usable");
        aws_fetched(a, &cred);
}

static void container_free(struct aws *a) {
        struct container *c = a->priv;

        if (!c)
                return;
        free(c->url);
        http_secret_headers_free(c->headers);
        free(c);
}

static const struct aws_source_ops container_ops = {
        .start = container_start,
        .free = container_free,
};

int aws_container_setup(struct aws *a) {
        const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
                   *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        struct container *c;
        int r;

        if (!(rel && *rel) && !(full && *full)) {
                aws_set_error(a, "%s: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                              "AWS_CONTAINER_CREDENTIALS_FULL_URI is set", a->what);
                return 0;
        }
        if (!(rel && *rel) && !aws_container_url_allowed(full)) {
                /* A source with no fetch: every round says why. */
                aws_set_error(a, "%s: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback "
                              "address or 169.254.170.2, 169.254.170.23 or fd00:ec2::23", a->what);
                return 0;
        }
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        a->priv = c;
        a->ops = &container_ops;
        r = rel && *rel ? asprintf(&c->url, "%s%s%s", ECS_BASE, rel[0] == '/' ? "" : "/", rel) :
                          asprintf(&c->url, "%s", full);
        if (r < 0) {
                c->url = NULL;
                return -ENOMEM;
        }
        return http_new(aws_event(a), PACKAGE_NAME "/" PACKAGE_VERSION, on_container_done, &a->http);
}
