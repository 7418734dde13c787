/* SPDX-License-Identifier: MIT */
/*
 * aws-imds.c: the EC2 instance role's credentials through IMDSv2: a session
 * token (PUT), the role name, then the role's temporary credentials.  The
 * requests go through an http.c instance of their own on the event loop, so
 * a slow metadata service never blocks a round.
 */
#include "config.h"

#include "aws-internal.h"

#define IMDS_DEFAULT_ENDPOINT   "http://169.254.169.254"
#define IMDS_TOKEN_TTL          "21600"
#define IMDS_TIMEOUT            (2 * USEC_PER_SEC)
#define IMDS_ANSWER_MAX         4096    /* bytes of an answer kept: a token, a role name, a credentials document */

enum imds_step {
        IMDS_TOKEN,
        IMDS_ROLE,
        IMDS_CREDENTIALS,
};

struct imds {
        char *base;                     /* e.g. http://169.254.169.254 */
        enum imds_step step;
        char *url;                      /* of the request in flight */
        struct curl_slist *headers;     /* likewise: the session token, after the first request */
        char *token;
        char *role;
};

/* What a step of IMDSv2 fetches, as a user reads it. */
static const char *step_to_string(enum imds_step step) {
        switch (step) {
        case IMDS_TOKEN:
                return "the session token";
        case IMDS_ROLE:
                return "the role name";
        default:
                return "the role's credentials";
        }
}

static int imds_request(struct aws *a, const char *method, const char *path, const char *header) {
        struct imds *m = a->priv;
        struct curl_slist *l = NULL;
        char *url = NULL;

        if (asprintf(&url, "%s%s", m->base, path) < 0)
                return -ENOMEM;
        if (header && !(l = curl_slist_append(NULL, header))) {
                free(url);
                return -ENOMEM;
        }
        free(m->url);
        http_secret_headers_free(m->headers);   /* the session token */
        m->url = url;
        m->headers = l;
        return http_start(a->http, &(struct http_request) {
                                  .name = "instance-metadata",
                                  .url = m->url,
                                  .method = method,
                                  .headers = m->headers,
                                  .timeout_usec = IMDS_TIMEOUT,
                                  .connect_timeout_usec = AWS_CONNECT_TIMEOUT,
                                  .host_is_address = true,
                                  .keep_body = IMDS_ANSWER_MAX,
                          },
                          0, a);
}

/* The step after m->step, with the session token. */
static int imds_next(struct aws *a) {
        struct imds *m = a->priv;
        _cleanup_(freep) char *h = NULL, *path = NULL;
        int r;

        if (asprintf(&h, "X-aws-ec2-metadata-token: %s", m->token) < 0)
                return -ENOMEM;
        if (m->step == IMDS_TOKEN) {
                m->step = IMDS_ROLE;
                r = imds_request(a, "GET", "/latest/meta-data/iam/security-credentials/", h);
        } else {
                m->step = IMDS_CREDENTIALS;
                r = asprintf(&path, "/latest/meta-data/iam/security-credentials/%s", m->role) < 0 ? -ENOMEM :
                    imds_request(a, "GET", path, h);
        }
        explicit_bzero(h, strlen(h));
        return r;
}

static int imds_start(struct aws *a) {
        struct imds *m = a->priv;

        m->step = IMDS_TOKEN;
        return imds_request(a, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
}

static void on_imds_done(void *userdata, const struct http_response *r) {
        struct aws *a = userdata;
        struct imds *m = a->priv;
        struct aws_credentials cred = {};
        _cleanup_(freep) char *text = NULL;
        int q;

        if (r->curl_code != CURLE_OK)
                return aws_fetch_failed(a, "fetching %s: %s", step_to_string(m->step), curl_easy_strerror(r->curl_code));
        if (r->http_status != 200)
                return aws_fetch_failed(a, "HTTP %ld fetching %s (is an instance role attached, and IMDSv2 "
                                        "reachable?)", r->http_status, step_to_string(m->step));
        text = strndup(r->body ? r->body : "", r->body_len);
        if (!text)
                return aws_fetch_failed(a, "out of memory");

        switch (m->step) {
        case IMDS_TOKEN:
                aws_secret_free(m->token);
                m->token = text;
                text = NULL;
                break;
        case IMDS_ROLE:
                /* One role per instance profile: the first line. */
                text[strcspn(text, "\r\n")] = '\0';
                if (!*text || strchr(text, '/'))
                        return aws_fetch_failed(a, "no instance role");
                free(m->role);
                m->role = text;
                text = NULL;
                break;
        case IMDS_CREDENTIALS:
                q = aws_credentials_from_json(text, strlen(text), "Token", AWS_JSON_TEMPORARY, &cred);
                explicit_bzero(text, strlen(text));
                if (q < 0)
                        return aws_fetch_failed(a, "the role's credentials document is not usable");
                return aws_fetched(a, &cred);
        }
        q = imds_next(a);
        if (q < 0)
                aws_fetch_failed(a, "cannot start a request: %s", strerror(-q));
}

static void imds_free(struct aws *a) {
        struct imds *m = a->priv;

        if (!m)
                return;
        free(m->url);
        http_secret_headers_free(m->headers);
        aws_secret_free(m->token);
        free(m->role);
        free(m->base);
        free(m);
}

static const struct aws_source_ops imds_ops = {
        .start = imds_start,
        .free = imds_free,
};

int aws_imds_setup(struct aws *a) {
        const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        struct imds *m;
        char *what;
        size_t n;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        a->priv = m;
        a->ops = &imds_ops;
        m->base = strdup(base && *base ? base : IMDS_DEFAULT_ENDPOINT);
        if (!m->base)
                return -ENOMEM;
        n = strlen(m->base);
        while (n > 0 && m->base[n - 1] == '/')
                m->base[--n] = '\0';
        if (asprintf(&what, "instance role credentials from %s", m->base) < 0)
                return -ENOMEM;
        free(a->what);
        a->what = what;
        return http_new(aws_event(a), PACKAGE_NAME "/" PACKAGE_VERSION, on_imds_done, &a->http);
}
