/* SPDX-License-Identifier: MIT */
/*
 * auth.c: what a round's requests carry to say who sends them.
 *
 * The scheduler asks here, once per round, for the headers of an endpoint's
 * requests, and knows nothing of where credentials come from.  Each source
 * of credentials lives in a file of its own (aws.c: the AWS credential
 * chain) and is created here, lazily, when the first endpoint that needs it
 * is loaded: a warmd with no such endpoint never looks for credentials.  A
 * source that fetches tokens calls back when they arrive, are refreshed or
 * are lost, and the rounds that waited for them go on.
 */
#include "config.h"

#include "warmd.h"

struct auth {
        sd_event *event;
        auth_changed_fn changed;
        void *userdata;
        struct aws *aws;                /* once some endpoint invokes a Lambda function */
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
        aws_free(a->aws);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}

static void on_aws_changed(void *userdata) {
        struct auth *a = userdata;

        if (a->changed)
                a->changed(a->userdata);
}

/*
 * Sources are started for a configuration before it is applied, so a round
 * never waits for a source that could have been fetching already.  Sources
 * found for a configuration that is then rejected are kept: harmless, and
 * likely needed by the next one.
 */
int auth_prepare(struct auth *a, const struct config *c) {
        for (size_t i = 0; i < c->n_endpoints && !a->aws; i++)
                if (c->endpoints[i]->lambda) {
                        int r = aws_new(a->event, on_aws_changed, a, &a->aws);

                        if (r < 0)
                                return r;
                }
        return 0;
}

int auth_round_headers(struct auth *a, const struct endpoint_config *ep, time_t now, struct curl_slist **ret,
                       char *why, size_t size) {
        if (ep->lambda) {
                if (!a->aws) {
                        /* auth_prepare() was not called for the configuration ep belongs to. */
                        snprintf(why, size, "no AWS credential source was set up");
                        return -ENOKEY;
                }
                return lambda_round_headers(a->aws, ep, now, ret, why, size);
        }
        *ret = NULL;
        return 0;
}

/* The AWS credential chain, started on first use. */
static int aws_source(struct auth *a) {
        if (a->aws)
                return 0;
        return aws_new(a->event, on_aws_changed, a, &a->aws);
}

int auth_aws_sign(struct auth *a, const char *profile, const struct sigv4_request *req, time_t now,
                  struct sigv4_signature *ret, char *why, size_t size) {
        const struct aws_credentials *cred;
        const char *no_cred = NULL;
        int r;

        if (profile) {
                snprintf(why, size, "no credentials of a named profile here");
                return -EOPNOTSUPP;
        }
        r = aws_source(a);
        if (r >= 0)
                r = aws_get(a->aws, &cred, &no_cred);
        if (r == -EAGAIN)
                return r;
        if (r >= 0)
                r = sigv4_sign(req, cred, now, ret);
        if (r >= 0)
                return 0;
        if (no_cred)
                snprintf(why, size, "no AWS credentials: %s", no_cred);
        else
                snprintf(why, size, "cannot sign the request: %s", strerror(-r));
        return r;
}
