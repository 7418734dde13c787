/* SPDX-License-Identifier: MIT */
/*
 * auth.c: what a round's requests carry to say who sends them.
 *
 * The scheduler asks here, once per round, for the headers of an endpoint's
 * requests, and knows nothing of where credentials come from.  Each source
 * of credentials lives in a file of its own (aws.c and its parts: the AWS
 * credential chain and profiles) and is created here, lazily, when the
 * first endpoint that needs it is loaded: a warmd with no such endpoint
 * never looks for credentials.  A source that fetches tokens calls back
 * when they arrive, are refreshed or are lost, and the rounds that waited
 * for them go on.
 */
#include "config.h"

#include "warmd.h"

struct auth {
        sd_event *event;
        auth_changed_fn changed;
        void *userdata;
        struct aws_cache *aws;          /* once some endpoint needs AWS credentials */
};

int auth_new(sd_event *e, auth_changed_fn changed, void *userdata, struct auth **ret) {
        struct auth *a;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(e);
        a->changed = changed;
        a->userdata = userdata;
        *ret = a;
        return 0;
}

struct auth *auth_free(struct auth *a) {
        if (!a)
                return NULL;
        aws_cache_free(a->aws);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}

static void on_aws_changed(void *userdata) {
        struct auth *a = userdata;

        if (a->changed)
                a->changed(a->userdata);
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
                r = aws_cache_new(a->event, on_aws_changed, a, &a->aws);
                if (r < 0)
                        return r;
        }
        return aws_cache_get(a->aws, profile, ret);
}

/*
 * Sources are started for a configuration before it is applied, so a round
 * never waits for a source that could have been fetching already.  Sources
 * found for a configuration that is then rejected are kept: harmless, and
 * likely needed by the next one.  The AWS files are read again at each
 * load, so a profile fixed in them is taken up by a reload.
 */
int auth_prepare(struct auth *a, const struct config *c) {
        struct aws *source;

        if (a->aws)
                aws_cache_reread(a->aws);
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (needs_aws(c->endpoints[i])) {
                        int r = auth_aws_source(a, c->endpoints[i]->profile, &source);

                        if (r < 0)
                                return r;
                }
        return 0;
}

int auth_aws_sign(struct auth *a, const char *profile, const struct sigv4_url_request *req, time_t now,
                  struct curl_slist **ret, char *why, size_t size) {
        const struct aws_credentials *cred;
        const char *no_cred = NULL;
        struct aws *source;
        int r;

        r = auth_aws_source(a, profile, &source);
        if (r < 0) {
                snprintf(why, size, "cannot set up AWS credentials: %s", strerror(-r));
                return r;
        }
        r = aws_get(source, &cred, &no_cred);
        if (r == -EAGAIN)
                return r;
        if (r >= 0)
                r = sigv4_sign_url(req, cred, now, ret);
        if (r >= 0)
                return 0;
        if (no_cred)
                snprintf(why, size, "no AWS credentials: %s", no_cred);
        else
                snprintf(why, size, "cannot sign the request: %s", strerror(-r));
        return r;
}

/*
 * A round of an endpoint with auth = aws, or of a Lambda endpoint: its own
 * headers, then the signature over them and the body.  All N requests of a
 * round share it: they leave within milliseconds, well inside SigV4's five
 * minutes.
 */
int auth_round_headers(struct auth *a, const struct endpoint_config *ep, time_t now, struct curl_slist **ret,
                       char *why, size_t size) {
        if (!needs_aws(ep)) {
                *ret = NULL;
                return 0;
        }
        return auth_aws_sign(a, ep->profile, &(struct sigv4_url_request) {
                                     .method = ep->method ? ep->method : "GET",
                                     .url = ep->url,
                                     .headers = ep->header_list,
                                     .payload = ep->body,
                                     .payload_len = ep->body ? strlen(ep->body) : 0,
                                     .region = ep->region,
                                     .service = ep->lambda ? "lambda" : ep->aws_service,
                             },
                             now, ret, why, size);
}
