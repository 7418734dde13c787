/* SPDX-License-Identifier: MIT */
/*
 * aws-sts.c: a role's credentials, from STS AssumeRole signed (SigV4,
 * service sts) with the credentials of the role's source, which may be a
 * role itself.  The endpoint is $AWS_ENDPOINT_URL_STS, else
 * $AWS_ENDPOINT_URL, else the region's (AWS_REGION, AWS_DEFAULT_REGION),
 * else the global one, as the SDKs choose it.
 */
#include "config.h"

#include "aws-internal.h"

#define STS_VERSION             "2011-06-15"
#define STS_MESSAGE_MAX         120     /* characters of STS's error message shown */

struct sts {
        char *url;
        char region[SIGV4_NAME_MAX];
        char *body;                     /* the request's form, without secrets */
        struct curl_slist *headers;     /* of the request in flight: signed */
};

/* "name=value" with value form-encoded, after '&' unless first. */
static int form_add(char **form, const char *name, const char *value) {
        char *e = curl_easy_escape(NULL, value, 0), *n = NULL;
        int r;

        if (!e)
                return -ENOMEM;
        r = asprintf(&n, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "", name, e);
        curl_free(e);
        if (r < 0)
                return -ENOMEM;
        free(*form);
        *form = n;
        return 0;
}

/* The text of the first <tag>...</tag> in xml, which STS never escapes in the fields read here. */
static char *xml_text(const char *xml, const char *tag) {
        _cleanup_(freep) char *open = NULL, *close = NULL;
        const char *b, *e;

        if (asprintf(&open, "<%s>", tag) < 0 || asprintf(&close, "</%s>", tag) < 0)
                return NULL;
        b = strstr(xml, open);
        if (!b)
                return NULL;
        b += strlen(open);
        e = strstr(b, close);
        return e ? strndup(b, (size_t) (e - b)) : NULL;
}

static int sts_start(struct aws *a) {
        struct sts *s = a->priv;
        const struct aws_credentials *cred;
        const char *why = NULL;
        struct curl_slist *fixed = NULL, *l = NULL;
        int r;

        r = aws_get(a->parent, &cred, &why);
        if (r == -EAGAIN)
                return r;
        if (r < 0) {
                aws_fetch_failed(a, "no credentials to assume it with: %s", why ? why : "none");
                return 0;
        }
        fixed = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
        if (!fixed)
                return -ENOMEM;
        r = sigv4_sign_url(&(struct sigv4_url_request) {
                                   .method = "POST",
                                   .url = s->url,
                                   .headers = fixed,
                                   .payload = s->body,
                                   .payload_len = strlen(s->body),
                                   .region = s->region,
                                   .service = "sts",
                           },
                           cred, time(NULL), &l);
        curl_slist_free_all(fixed);
        if (r < 0)
                return r;
        http_secret_headers_free(s->headers);
        s->headers = l;
        return http_start(a->http, &(struct http_request) {
                                  .name = "sts",
                                  .url = s->url,
                                  .method = "POST",
                                  .headers = s->headers,
                                  .body = s->body,
                                  .timeout_usec = AWS_FETCH_TIMEOUT,
                                  .connect_timeout_usec = AWS_CONNECT_TIMEOUT,
                                  .keep_body = AWS_ANSWER_MAX,
                          },
                          0, a);
}

static void on_sts_done(void *userdata, const struct http_response *r) {
        struct aws *a = userdata;
        struct sts *s = a->priv;
        struct aws_credentials cred = {};
        char *akid = NULL, *secret = NULL, *token = NULL, *exp = NULL, *code = NULL, *msg = NULL;
        uint64_t expiration = 0;
        int q = 0;

        http_secret_headers_free(s->headers);
        s->headers = NULL;
        if (r->curl_code != CURLE_OK)
                return aws_fetch_failed(a, "AssumeRole: %s", curl_easy_strerror(r->curl_code));
        if (r->http_status != 200) {
                code = r->body ? xml_text(r->body, "Code") : NULL;
                msg = r->body ? xml_text(r->body, "Message") : NULL;
                /* The service's words go into a log line: one line, whatever they hold. */
                for (char *p = code; p && *p; p++)
                        if (is_control_char((unsigned char) *p))
                                *p = ' ';
                for (char *p = msg; p && *p; p++)
                        if (is_control_char((unsigned char) *p))
                                *p = ' ';
                aws_fetch_failed(a, "AssumeRole: HTTP %ld %s%s%.*s", r->http_status, code ? code : "",
                                 msg ? ": " : "", STS_MESSAGE_MAX, msg ? msg : "");
                free(code);
                free(msg);
                return;
        }
        if (r->body) {
                akid = xml_text(r->body, "AccessKeyId");
                secret = xml_text(r->body, "SecretAccessKey");
                token = xml_text(r->body, "SessionToken");
                exp = xml_text(r->body, "Expiration");
        }
        if (!akid || !secret || !token || !exp || aws_parse_time(exp, &expiration) < 0)
                q = -EBADMSG;
        else
                q = aws_credentials_set(&cred, akid, secret, token, expiration);
        free(akid);
        aws_secret_free(secret);
        aws_secret_free(token);
        free(exp);
        if (q < 0)
                return aws_fetch_failed(a, "AssumeRole: the answer holds no usable credentials");
        aws_fetched(a, &cred);
}

static void sts_free(struct aws *a) {
        struct sts *s = a->priv;

        if (!s)
                return;
        free(s->url);
        free(s->body);
        http_secret_headers_free(s->headers);
        free(s);
}

static const struct aws_source_ops sts_ops = {
        .start = sts_start,
        .free = sts_free,
};

int aws_sts_setup(struct aws *a, const struct aws_profile *p) {
        const char *base = getenv("AWS_ENDPOINT_URL_STS"), *region = getenv("AWS_REGION");
        char session[64], duration[16];
        struct sts *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        a->priv = s;
        a->ops = &sts_ops;
        if (!region || !*region)
                region = getenv("AWS_DEFAULT_REGION");
        if (region && *region && strlen(region) < sizeof s->region)
                strcpy(s->region, region);
        else
                strcpy(s->region, "us-east-1");        /* the global endpoint's */
        if (!base || !*base)
                base = getenv("AWS_ENDPOINT_URL");
        if (base && *base)
                r = asprintf(&s->url, "%s", base);
        else if (region && *region)
                r = asprintf(&s->url, "https://sts.%s.amazonaws.com/", s->region);
        else
                r = asprintf(&s->url, "https://sts.amazonaws.com/");
        if (r < 0) {
                s->url = NULL;
                return -ENOMEM;
        }
        /* botocore names a session after itself and the time; so does warmd. */
        snprintf(session, sizeof session, "warmd-%lld", (long long) time(NULL));
        snprintf(duration, sizeof duration, "%u", p->duration_seconds);
        r = form_add(&s->body, "Action", "AssumeRole");
        if (r >= 0)
                r = form_add(&s->body, "Version", STS_VERSION);
        if (r >= 0)
                r = form_add(&s->body, "RoleArn", p->role_arn);
        if (r >= 0)
                r = form_add(&s->body, "RoleSessionName", p->role_session_name ? p->role_session_name : session);
        if (r >= 0 && p->external_id)
                r = form_add(&s->body, "ExternalId", p->external_id);
        if (r >= 0 && p->duration_seconds)
                r = form_add(&s->body, "DurationSeconds", duration);
        if (r < 0)
                return r;
        return http_new(aws_event(a), PACKAGE_NAME "/" PACKAGE_VERSION, on_sts_done, &a->http);
}
