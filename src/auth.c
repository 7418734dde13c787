/* SPDX-License-Identifier: MIT */
/*
 * auth.c: what a round's requests carry to say who sends them.
 *
 * The scheduler asks here, once per round, for the headers of an endpoint's
 * requests, and knows nothing of where credentials come from.  Each source
 * of credentials lives in a file of its own (aws.c and its parts: the AWS
 * credential chain and profiles; google.c: Google ID tokens; azure.c: Azure
 * managed identities) and
 * is created here, lazily, when the first endpoint that needs it is loaded:
 * a warmd with no such endpoint never looks for credentials.  A source that
 * fetches tokens calls back when they arrive, are refreshed or are lost, and
 * the rounds that waited for them go on.  The daemon has one struct auth
 * (main.c's), so the scheduler and the tag discovery share each source: one
 * fetch and one refresh; both listen for its changes.
 *
 * Bearer tokens (token.c) are kept one per (source, audience or resource,
 * client id), shared by every endpoint that names the same.
 */
#include "config.h"

#include "token.h"
#include "warmd.h"

struct listener {
        auth_changed_fn fn;
        void *userdata;
};

struct auth {
        sd_event *event;
        struct listener *listeners;
        size_t n_listeners, listeners_cap;
        struct aws_cache *aws;          /* once some endpoint needs AWS credentials */
        struct google *google;          /* once some endpoint has auth = google */
        struct azure *azure;            /* once some endpoint has auth = azure */
        struct http *http;              /* the tokens' requests */
        struct token **tokens;
        size_t n_tokens, tokens_cap;
};

int auth_new(sd_event *e, struct auth **ret) {
        struct auth *a;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(e);
        *ret = a;
        return 0;
}

int auth_listen(struct auth *a, auth_changed_fn fn, void *userdata) {
        struct listener *v = array_grow(a->listeners, a->n_listeners, &a->listeners_cap, sizeof *v);

        if (!v)
                return -ENOMEM;
        a->listeners = v;
        v[a->n_listeners++] = (struct listener) { fn, userdata };
        return 0;
}

void auth_unlisten(struct auth *a, auth_changed_fn fn, void *userdata) {
        if (!a)
                return;
        for (size_t i = 0; i < a->n_listeners; i++)
                if (a->listeners[i].fn == fn && a->listeners[i].userdata == userdata) {
                        memmove(&a->listeners[i], &a->listeners[i + 1],
                                (a->n_listeners - i - 1) * sizeof *a->listeners);
                        a->n_listeners--;
                        return;
                }
}

struct auth *auth_free(struct auth *a) {
        if (!a)
                return NULL;
        aws_cache_free(a->aws);
        for (size_t i = 0; i < a->n_tokens; i++)
                token_free(a->tokens[i]);
        free(a->tokens);
        http_free(a->http);
        google_free(a->google);
        azure_free(a->azure);
        free(a->listeners);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}

static void on_changed(void *userdata) {
        struct auth *a = userdata;

        for (size_t i = 0; i < a->n_listeners; i++)
                a->listeners[i].fn(a->listeners[i].userdata);
}

/* What names ep's token: its source, and its audience or resource. */
static void token_key(struct auth *a, const struct endpoint_config *ep, const struct token_ops **ret_ops, void **ret_src,
                      const char **ret_audience, const char **ret_client_id) {
        if (ep->auth == AUTH_GOOGLE) {
                *ret_ops = &google_token_ops;
                *ret_src = a->google;
                *ret_audience = ep->audience;
                *ret_client_id = NULL;
        } else {
                *ret_ops = &azure_token_ops;
                *ret_src = a->azure;
                *ret_audience = ep->resource;
                *ret_client_id = ep->client_id;
        }
}

static struct token *find_token(struct auth *a, const struct endpoint_config *ep) {
        const struct token_ops *ops;
        const char *audience, *client_id;
        void *src;

        token_key(a, ep, &ops, &src, &audience, &client_id);
        for (size_t i = 0; i < a->n_tokens; i++)
                if (token_is(a->tokens[i], ops, audience, client_id))
                        return a->tokens[i];
        return NULL;
}

/* The token ep needs, started now if no endpoint needed it before. */
static int prepare_token(struct auth *a, const struct endpoint_config *ep) {
        const struct token_ops *ops;
        const char *audience, *client_id;
        struct token **v;
        void *src;
        int r = 0;

        if (ep->auth == AUTH_GOOGLE && !a->google)
                r = google_new(&a->google);
        else if (ep->auth == AUTH_AZURE && !a->azure)
                r = azure_new(&a->azure);
        if (r >= 0 && !a->http)
                r = http_new(a->event, PACKAGE_NAME "/" PACKAGE_VERSION, token_on_done, &a->http);
        if (r < 0 || find_token(a, ep))
                return r;
        v = array_grow(a->tokens, a->n_tokens, &a->tokens_cap, sizeof *v);
        if (!v)
                return -ENOMEM;
        a->tokens = v;
        token_key(a, ep, &ops, &src, &audience, &client_id);
        r = token_new(a->event, a->http, ops, src, audience, client_id, on_changed, a, &a->tokens[a->n_tokens]);
        if (r < 0)
                return r;
        a->n_tokens++;
        return 0;
}

static bool needs_aws(const struct endpoint_config *ep) {
        return ep->lambda || ep->auth == AUTH_AWS;
}

/*
 * The AWS credentials of a profile (NULL: the default chain), found once
 * and shared: the source is made, and starts fetching, on the first call.
 */
int auth_aws_source(struct auth *a, const char *profile, struct aws **ret) {
        int r;

        if (!a->aws) {
                r = aws_cache_new(a->event, on_changed, a, &a->aws);
                if (r < 0)
                        return r;
        }
        return aws_cache_get(a->aws, profile, ret);
}

/*
 * Sources are started for a configuration before it is applied, so a round
 * never waits for a source that could have been fetching already.  Sources
 * found for a configuration that is then rejected are kept: harmless, and
 * likely needed by the next one; auth_forget() lets go of them once a
 * configuration without them is applied.  The AWS files are read again at
 * each load, so a profile fixed in them is taken up by a reload.
 */
int auth_prepare(struct auth *a, const struct config *const *c, size_t n) {
        struct aws *source;
        int r;

        if (a->aws)
                aws_cache_reread(a->aws);
        for (size_t k = 0; k < n; k++) {
                for (size_t i = 0; i < c[k]->n_endpoints; i++) {
                        const struct endpoint_config *ep = c[k]->endpoints[i];

                        if (needs_aws(ep)) {
                                r = auth_aws_source(a, ep->profile, &source);
                                if (r < 0)
                                        return r;
                        }
                        if (ep->auth == AUTH_GOOGLE || ep->auth == AUTH_AZURE) {
                                r = prepare_token(a, ep);
                                if (r < 0)
                                        return r;
                        }
                }
                /* A tag source reads the tagging API with its profile's credentials. */
                for (size_t i = 0; i < c[k]->n_sources; i++) {
                        r = auth_aws_source(a, c[k]->sources[i]->profile, &source);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Whether some endpoint of c needs t. */
static bool token_used(struct auth *a, const struct config *const *c, size_t n, const struct token *t) {
        for (size_t k = 0; k < n; k++)
                for (size_t i = 0; i < c[k]->n_endpoints; i++) {
                        const struct endpoint_config *ep = c[k]->endpoints[i];
                        const struct token_ops *ops;
                        const char *audience, *client_id;
                        void *src;

                        if (ep->auth != AUTH_GOOGLE && ep->auth != AUTH_AZURE)
                                continue;
                        token_key(a, ep, &ops, &src, &audience, &client_id);
                        if (token_is(t, ops, audience, client_id))
                                return true;
                }
        return false;
}

struct configs {
        const struct config *const *c;
        size_t n;
};

/* Whether some endpoint or tag source of the configurations signs with profile's AWS credentials. */
static bool profile_used(const char *profile, void *userdata) {
        const struct configs *cs = userdata;

        for (size_t k = 0; k < cs->n; k++) {
                for (size_t i = 0; i < cs->c[k]->n_endpoints; i++)
                        if (needs_aws(cs->c[k]->endpoints[i]) && streq_ptr(cs->c[k]->endpoints[i]->profile, profile))
                                return true;
                for (size_t i = 0; i < cs->c[k]->n_sources; i++)
                        if (streq_ptr(cs->c[k]->sources[i]->profile, profile))
                                return true;
        }
        return false;
}

void auth_forget(struct auth *a, const struct config *const *c, size_t n) {
        size_t kept = 0;

        for (size_t i = 0; i < a->n_tokens; i++)
                if (token_used(a, c, n, a->tokens[i]))
                        a->tokens[kept++] = a->tokens[i];
                else
                        token_free(a->tokens[i]);
        a->n_tokens = kept;
        if (a->aws)
                aws_cache_forget(a->aws, profile_used, &(struct configs) { c, n });
}

/* The endpoint's own headers, then "Authorization: Bearer TOKEN". */
static int bearer_headers(struct auth *a, const struct endpoint_config *ep, struct curl_slist **ret, char *why,
                          size_t size) {
        struct token *t = find_token(a, ep);
        struct curl_slist *l = NULL, *n;
        char *h = NULL;
        const char *value;
        int r;

        if (!t) {
                /* auth_prepare() was not called for the configuration ep belongs to. */
                snprintf(why, size, "no token source was set up");
                return -ENOKEY;
        }
        r = token_get(t, &value, why, size);
        if (r < 0)
                return r;
        for (const struct curl_slist *i = ep->header_list; i; i = i->next) {
                n = curl_slist_append(l, i->data);
                if (!n)
                        goto oom;
                l = n;
        }
        if (asprintf(&h, "Authorization: Bearer %s", value) < 0)
                goto oom;
        n = curl_slist_append(l, h);
        explicit_bzero(h, strlen(h));
        free(h);
        if (!n)
                goto oom;
        *ret = n;
        return 0;
oom:
        http_secret_headers_free(l);
        snprintf(why, size, "out of memory");
        return -ENOMEM;
}

/* The credentials of a profile (NULL: the default chain); -EAGAIN while they are fetched; or why not. */
static int aws_credentials_of(struct auth *a, const char *profile, const struct aws_credentials **ret, char *why,
                              size_t size) {
        const char *no_cred = NULL;
        struct aws *source;
        int r;

        r = auth_aws_source(a, profile, &source);
        if (r < 0) {
                snprintf(why, size, "cannot set up AWS credentials: %s", strerror(-r));
                return r;
        }
        r = aws_get(source, ret, &no_cred);
        if (r < 0 && r != -EAGAIN)
                snprintf(why, size, "no AWS credentials: %s", no_cred ? no_cred : strerror(-r));
        return r;
}

/*
 * What both signings share: the profile's credentials, then the signature,
 * of a URL and its headers (url_req: the headers to send, in *ret_headers)
 * or of a request given in parts (req: the signature, in *ret_sig); why
 * says which step failed.
 */
static int aws_sign(struct auth *a, const char *profile, const struct sigv4_url_request *url_req,
                    const struct sigv4_request *req, time_t now, struct curl_slist **ret_headers,
                    struct sigv4_signature *ret_sig, char *why, size_t size) {
        const struct aws_credentials *cred;
        int r;

        r = aws_credentials_of(a, profile, &cred, why, size);
        if (r < 0)
                return r;
        r = url_req ? sigv4_sign_url(url_req, cred, now, ret_headers) : sigv4_sign(req, cred, now, ret_sig);
        if (r < 0)
                snprintf(why, size, "cannot sign the request: %s", strerror(-r));
        return r;
}

int auth_aws_sign_url(struct auth *a, const char *profile, const struct sigv4_url_request *req, time_t now,
                      struct curl_slist **ret, char *why, size_t size) {
        return aws_sign(a, profile, req, NULL, now, ret, NULL, why, size);
}

int auth_aws_sign(struct auth *a, const char *profile, const struct sigv4_request *req, time_t now,
                  struct sigv4_signature *ret, char *why, size_t size) {
        return aws_sign(a, profile, NULL, req, now, NULL, ret, why, size);
}

/*
 * A round of an endpoint with auth = aws, or of a Lambda endpoint, carries
 * its own headers, then the signature over them and the body; all N
 * requests of a round share it: they leave within milliseconds, well inside
 * SigV4's five minutes.  With auth = google or azure, a bearer token.
 */
int auth_round_headers(struct auth *a, const struct endpoint_config *ep, time_t now, struct curl_slist **ret,
                       char *why, size_t size) {
        if (needs_aws(ep))
                return auth_aws_sign_url(a, ep->profile, &(struct sigv4_url_request) {
                                             .method = ep->method ? ep->method : "GET",
                                             .url = ep->url,
                                             .headers = ep->header_list,
                                             .payload = ep->body,
                                             .payload_len = ep->body ? strlen(ep->body) : 0,
                                             .region = ep->region,
                                             .service = ep->lambda ? "lambda" : ep->aws_service,
                                     },
                                     now, ret, why, size);
        if (ep->auth == AUTH_GOOGLE || ep->auth == AUTH_AZURE)
                return bearer_headers(a, ep, ret, why, size);
        *ret = NULL;
        return 0;
}
