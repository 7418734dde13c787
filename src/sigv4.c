/* SPDX-License-Identifier: MIT */
/*
 * sigv4.c: AWS Signature Version 4 for a request, as a pure function of the
 * request, the credentials and the time, so it is tested against AWS's
 * published example with no network.
 *
 * libcurl has CURLOPT_AWS_SIGV4, but Debian 12's 7.88.1 signs the path and
 * query exactly as sent (lib/http_aws_sigv4.c uses state.up.path as is):
 * a Lambda ARN in the path goes out as "arn%3Aaws%3A...", and SigV4 wants
 * every path segment encoded once more in the canonical request
 * ("arn%253Aaws%253A..."), so every cross-account invoke would be refused.
 * The few lines of the algorithm are here instead, on OpenSSL's HMAC.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>

#include "warmd.h"

static void hex(const unsigned char *d, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[d[i] >> 4];
                out[2 * i + 1] = digits[d[i] & 15];
        }
        out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t n, char out[SIGV4_SHA256_HEX]) {
        unsigned char md[SHA256_DIGEST_LENGTH];

        SHA256(data, n, md);
        hex(md, sizeof md, out);
}

static int hmac(const void *key, size_t key_len, const char *msg, unsigned char out[SHA256_DIGEST_LENGTH]) {
        unsigned len = 0;

        if (!HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) msg, strlen(msg), out, &len) ||
            len != SHA256_DIGEST_LENGTH)
                return -EIO;
        return 0;
}

/* RFC 3986 encoding of one path segment or query component: libcurl's, which keeps exactly A-Za-z0-9-._~. */
static int encode(FILE *f, const char *s, size_t n) {
        char *e = curl_easy_escape(NULL, s, (int) n);

        if (!e)
                return -ENOMEM;
        fputs(e, f);
        curl_free(e);
        return 0;
}

/*
 * The canonical URI of every service but S3: each segment of the path as
 * sent (already encoded once) is encoded again.
 */
static int canonical_path(FILE *f, const char *path) {
        const char *s = path, *slash;
        int r;

        if (*s != '/')
                return -EINVAL;
        for (;;) {
                fputc('/', f);
                s++;
                slash = strchr(s, '/');
                r = encode(f, s, slash ? (size_t) (slash - s) : strlen(s));
                if (r < 0 || !slash)
                        return r;
                s = slash;
        }
}

struct query_param {
        char *key, *value;
};

static int cmp_param(const void *a, const void *b) {
        const struct query_param *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        return c ? c : strcmp(x->value, y->value);
}

/* Parameters decoded, encoded again the canonical way, and sorted by key, then value. */
static int canonical_query(FILE *f, const char *query) {
        struct query_param *v = NULL;
        size_t n = 0, cap = 0;
        char *copy, *save = NULL;
        int r = 0;

        if (!query || !*query)
                return 0;
        copy = strdup(query);
        if (!copy)
                return -ENOMEM;
        for (char *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
                char *eq = strchr(p, '='), *k, *val;
                struct query_param *w;

                if (eq)
                        *eq = '\0';
                k = curl_easy_unescape(NULL, p, 0, NULL);
                val = curl_easy_unescape(NULL, eq ? eq + 1 : "", 0, NULL);
                w = k && val ? array_grow(v, n, &cap, sizeof *v) : NULL;
                if (!w) {
                        curl_free(k);
                        curl_free(val);
                        r = -ENOMEM;
                        goto out;
                }
                v = w;
                v[n++] = (struct query_param) { k, val };
        }
        qsort(v, n, sizeof *v, cmp_param);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (i > 0)
                        fputc('&', f);
                r = encode(f, v[i].key, strlen(v[i].key));
                fputc('=', f);
                if (r >= 0)
                        r = encode(f, v[i].value, strlen(v[i].value));
        }
out:
        for (size_t i = 0; i < n; i++) {
                curl_free(v[i].key);
                curl_free(v[i].value);
        }
        free(v);
        free(copy);
        return r;
}

struct signed_header {
        char name[64];
        const char *value;
        size_t value_len;
};

static int cmp_header(const void *a, const void *b) {
        return strcmp(((const struct signed_header *) a)->name, ((const struct signed_header *) b)->name);
}

/* "Name: value" into a lower-case name and a value without surrounding blanks. */
static int split_header(const char *h, struct signed_header *ret) {
        const char *colon = strchr(h, ':'), *v, *end;
        size_t n;

        if (!colon || colon == h || (size_t) (colon - h) >= sizeof ret->name)
                return -EINVAL;
        n = (size_t) (colon - h);
        for (size_t i = 0; i < n; i++)
                ret->name[i] = (char) tolower((unsigned char) h[i]);
        ret->name[n] = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
                ;
        for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
                ;
        ret->value = v;
        ret->value_len = (size_t) (end - v);
        return 0;
}

#define SIGNED_HEADERS_MAX 16

int sigv4_sign(const struct sigv4_request *req, const struct aws_credentials *cred, time_t now,
               struct sigv4_signature *ret) {
        struct signed_header h[SIGNED_HEADERS_MAX];
        char amz_date[17], date[9], payload_hash[SIGV4_SHA256_HEX], request_hash[SIGV4_SHA256_HEX];
        _cleanup_(freep) char *canonical = NULL, *signed_names = NULL, *to_sign = NULL, *secret = NULL,
                              *token_line = NULL;
        unsigned char key[SHA256_DIGEST_LENGTH], sig[SHA256_DIGEST_LENGTH];
        char sig_hex[SIGV4_SHA256_HEX], date_line[sizeof "X-Amz-Date: " + 16];
        size_t n = 0, canonical_len = 0, names_len = 0;
        struct sigv4_signature s = {};
        FILE *f = NULL, *names = NULL;
        struct tm tm;
        int r;

        if (!gmtime_r(&now, &tm) || strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm) != 16)
                return -EINVAL;
        memcpy(date, amz_date, 8);
        date[8] = '\0';

        /* host and x-amz-date are always signed; the session token too, when there is one. */
        snprintf(date_line, sizeof date_line, "X-Amz-Date: %s", amz_date);
        if (cred->session_token && asprintf(&token_line, "X-Amz-Security-Token: %s", cred->session_token) < 0)
                return -ENOMEM;
        strcpy(h[n].name, "host");
        h[n].value = req->host;
        h[n++].value_len = strlen(req->host);
        if ((r = split_header(date_line, &h[n++])) < 0)
                return r;
        if (token_line && (r = split_header(token_line, &h[n++])) < 0)
                return r;
        for (size_t i = 0; req->headers && req->headers[i]; i++) {
                if (n >= SIGNED_HEADERS_MAX)
                        return -E2BIG;
                r = split_header(req->headers[i], &h[n++]);
                if (r < 0)
                        return r;
        }
        qsort(h, n, sizeof *h, cmp_header);

        sigv4_sha256_hex(req->payload ? req->payload : "", req->payload ? req->payload_len : 0, payload_hash);

        f = open_memstream(&canonical, &canonical_len);
        names = f ? open_memstream(&signed_names, &names_len) : NULL;
        if (!names) {
                if (f)
                        fclose(f);
                return -ENOMEM;
        }
        fprintf(f, "%s\n", req->method);
        r = canonical_path(f, req->path);
        fputc('\n', f);
        if (r >= 0)
                r = canonical_query(f, req->query);
        fputc('\n', f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s:%.*s\n", h[i].name, (int) h[i].value_len, h[i].value);
                fprintf(names, "%s%s", i ? ";" : "", h[i].name);
        }
        if (fclose(names) != 0 && r >= 0)
                r = -ENOMEM;
        fprintf(f, "\n%s\n%s", signed_names ? signed_names : "", payload_hash);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;

        sigv4_sha256_hex(canonical, canonical_len, request_hash);
        if (asprintf(&to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date, req->region,
                     req->service, request_hash) < 0)
                return -ENOMEM;

        /* The signing key: HMAC chain over date, region, service, "aws4_request". */
        if (asprintf(&secret, "AWS4%s", cred->secret_access_key) < 0)
                return -ENOMEM;
        r = hmac(secret, strlen(secret), date, key);
        explicit_bzero(secret, strlen(secret));
        if (r >= 0)
                r = hmac(key, sizeof key, req->region, key);
        if (r >= 0)
                r = hmac(key, sizeof key, req->service, key);
        if (r >= 0)
                r = hmac(key, sizeof key, "aws4_request", key);
        if (r >= 0)
                r = hmac(key, sizeof key, to_sign, sig);
        explicit_bzero(key, sizeof key);
        if (r < 0)
                return r;
        hex(sig, sizeof sig, sig_hex);

        memcpy(s.amz_date, amz_date, sizeof amz_date);
        memcpy(s.signature, sig_hex, sizeof sig_hex);
        if (asprintf(&s.authorization,
                     "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                     cred->access_key_id, date, req->region, req->service, signed_names, sig_hex) < 0)
                return -ENOMEM;
        s.date_header = strdup(date_line);
        s.token_header = token_line;
        if (!s.date_header) {
                sigv4_signature_done(&s);
                return -ENOMEM;
        }
        token_line = NULL;
        *ret = s;
        return 0;
}

void sigv4_signature_done(struct sigv4_signature *s) {
        if (!s)
                return;
        free(s->authorization);
        free(s->date_header);
        if (s->token_header)
                explicit_bzero(s->token_header, strlen(s->token_header));
        free(s->token_header);
        *s = (struct sigv4_signature) {};
}

/*
 * The service and region a host name gives: a Lambda Function URL
 * (ID.lambda-url.REGION.on.aws) is service lambda, an API Gateway endpoint
 * (ID.execute-api.REGION.amazonaws.com, or .amazonaws.com.cn) execute-api.
 * 1 when the host is one of them, 0 when it is not.
 */
int sigv4_scope_from_host(const char *host, char service[SIGV4_NAME_MAX], char region[SIGV4_NAME_MAX]) {
        static const struct {
                const char *label, *suffix, *service;
        } kinds[] = {
                { ".lambda-url.",  ".on.aws",            "lambda" },
                { ".execute-api.", ".amazonaws.com",     "execute-api" },
                { ".execute-api.", ".amazonaws.com.cn",  "execute-api" },
        };
        size_t n = strlen(host);

        if (n > 0 && host[n - 1] == '.')        /* a fully qualified name */
                n--;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                const char *l = strstr(host, kinds[i].label), *r;
                size_t sn = strlen(kinds[i].suffix), rn;

                if (!l || l == host || strchr(host, '.') != l || n < sn ||
                    strncmp(host + n - sn, kinds[i].suffix, sn) != 0)
                        continue;
                r = l + strlen(kinds[i].label);
                if (r > host + n - sn)
                        continue;
                rn = (size_t) (host + n - sn - r);
                if (rn == 0 || rn >= SIGV4_NAME_MAX || memchr(r, '.', rn))
                        continue;
                memcpy(region, r, rn);
                region[rn] = '\0';
                strcpy(service, kinds[i].service);
                return 1;
        }
        return 0;
}

/* curl_slist_append() returns NULL when out of memory, and the list is then still the caller's to free. */
static bool append(struct curl_slist **l, const char *header) {
        struct curl_slist *n = curl_slist_append(*l, header);

        if (n)
                *l = n;
        return n;
}

/*
 * A request to a URL, signed: its headers (of which the x-amz- ones are
 * signed too) followed by X-Amz-Date, Authorization and, with a session
 * token, X-Amz-Security-Token.  The Host is signed as curl sends it, with
 * the port only when the URL names one other than its scheme's; the
 * payload as sent.
 */
int sigv4_sign_url(const struct sigv4_url_request *req, const struct aws_credentials *cred, time_t now,
                   struct curl_slist **ret) {
        const char *to_sign[SIGNED_HEADERS_MAX];
        size_t n = 0;
        CURLU *u = NULL;
        char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *hostport = NULL;
        struct sigv4_signature sig = {};
        struct curl_slist *l = NULL;
        int r = -ENOMEM;

        for (const struct curl_slist *h = req->headers; h; h = h->next)
                if (strncasecmp(h->data, "x-amz-", 6) == 0) {
                        if (n >= ELEMENTSOF(to_sign) - 4)
                                return -E2BIG;
                        to_sign[n++] = h->data;
                }
        to_sign[n] = NULL;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
                r = -EINVAL;
                goto out;
        }
        (void) curl_url_get(u, CURLUPART_QUERY, &query, 0);
        /* curl's Host leaves out a port the scheme has by default, :443 spelt out or not. */
        if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) == CURLUE_OK)
                r = asprintf(&hostport, "%s:%s", host, port);
        else
                r = asprintf(&hostport, "%s", host);
        if (r < 0) {
                r = -ENOMEM;
                goto out;
        }

        r = sigv4_sign(&(struct sigv4_request) {
                               .method = req->method,
                               .host = hostport,
                               .path = path,
                               .query = query,
                               .headers = to_sign,
                               .payload = req->payload,
                               .payload_len = req->payload_len,
                               .region = req->region,
                               .service = req->service,
                       },
                       cred, now, &sig);
        if (r < 0)
                goto out;

        r = -ENOMEM;
        for (const struct curl_slist *h = req->headers; h; h = h->next)
                if (!append(&l, h->data))
                        goto out;
        if (!append(&l, sig.date_header) || !append(&l, sig.authorization) ||
            (sig.token_header && !append(&l, sig.token_header)))
                goto out;
        *ret = l;
        l = NULL;
        r = 0;
out:
        http_secret_headers_free(l);
        sigv4_signature_done(&sig);
        free(hostport);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_free(query);
        curl_url_cleanup(u);
        return r;
}
