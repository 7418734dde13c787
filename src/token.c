/* SPDX-License-Identifier: MIT */
/*
 * token.c: one bearer token that expires, for one (source, audience): fetched
 * over HTTP on the event loop, kept, refreshed ahead of its expiry, and
 * fetched again with backoff when that fails.  A source (google.c, azure.c)
 * only says how to ask and how to read the answer.
 *
 * The token, and every request that fetches it, may be a secret: they are
 * wiped when freed, and no message holds them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include <json-c/json.h>

#include "token.h"
#include "warmd.h"

#define TOKEN_TIMEOUT           (10 * USEC_PER_SEC)
#define TOKEN_CONNECT_TIMEOUT   (2 * USEC_PER_SEC)
#define TOKEN_RETRY_MIN         USEC_PER_SEC
#define TOKEN_RETRY_MAX         (5 * USEC_PER_MINUTE)
/*
 * Refresh this long before expiry, or half-way through a shorter lifetime:
 * a token lasts an hour, so the new one comes with time to retry, and a
 * round never holds a token about to expire on its way.
 */
#define TOKEN_REFRESH_AHEAD     (5 * USEC_PER_MINUTE)
/* A token said to last longer is refreshed as if it lasted this long: an expiry from outside has a bound. */
#define TOKEN_LIFETIME_MAX      (24 * 3600)     /* seconds */

struct token {
        sd_event *event;
        struct http *http;
        const struct token_ops *ops;
        void *src;
        char *audience;
        char *client_id;                /* NULL: none */
        char *label;                    /* for messages: the audience, and the client id if any */
        token_changed_fn changed;
        void *userdata;

        char *value;                    /* the token; NULL: none */
        uint64_t expiry;                /* CLOCK_REALTIME usec */
        bool fetching;                  /* a request is in flight */
        bool due;                       /* the first fetch waits for the event loop */
        struct token_fetch fetch;       /* that request */
        char error[TOKEN_WHY_MAX];      /* why the last fetch failed; empty: it did not */
        sd_event_source *timer;         /* the next refresh or retry */
        uint64_t retry_usec;
};

static void secret_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

void token_fetch_done(struct token_fetch *f) {
        secret_free(f->url);
        http_secret_headers_free(f->headers);
        secret_free(f->body);
        *f = (struct token_fetch) {};
}

int token_url(const char *base, const char *const *params, char **ret) {
        CURLU *u = curl_url();
        char *url = NULL;
        int r = 0;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
                r = -EINVAL;
        for (size_t i = 0; r == 0 && params && params[i]; i += 2) {
                _cleanup_(freep) char *pair = NULL;

                if (asprintf(&pair, "%s=%s", params[i], params[i + 1]) < 0)
                        r = -ENOMEM;
                /* libcurl encodes what follows the first '=' of what it appends. */
                else if (curl_url_set(u, CURLUPART_QUERY, pair, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
                        r = -EINVAL;
        }
        if (r == 0 && curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
                r = -EINVAL;
        curl_url_cleanup(u);
        if (r < 0)
                return r;
        *ret = strdup(url);
        curl_free(url);
        return *ret ? 0 : -ENOMEM;
}

static void token_drop(struct token *t) {
        secret_free(t->value);
        t->value = NULL;
        t->expiry = 0;
}

static bool token_valid(const struct token *t) {
        return t->value && t->expiry > now_usec(CLOCK_REALTIME);
}

static void timer_arm(struct token *t, uint64_t when_mono) {
        if (sd_event_source_set_time(t->timer, when_mono) < 0 ||
            sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT) < 0)
                log_error("Failed to arm the %s timer", t->ops->what);
}

static void failed(struct token *t, const char *fmt, ...) _printf_(2, 3);
static void failed(struct token *t, const char *fmt, ...) {
        char msg[TOKEN_WHY_MAX - 64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        t->fetching = false;
        token_fetch_done(&t->fetch);
        snprintf(t->error, sizeof t->error, "%s: %s", t->ops->where(t->src), msg);
        t->retry_usec = t->retry_usec ? MIN(2 * t->retry_usec, TOKEN_RETRY_MAX) : TOKEN_RETRY_MIN;
        /* A token still valid keeps being used until it expires. */
        if (!token_valid(t))
                token_drop(t);
        timer_arm(t, now_usec(CLOCK_MONOTONIC) + t->retry_usec);
        log_warning("%s for %s: %s; retrying in %" PRIu64 " s", t->ops->what, t->label, t->error,
                    t->retry_usec / USEC_PER_SEC);
        /* Rounds waiting for the token fail now, with this reason, rather than wait for a retry. */
        if (t->changed)
                t->changed(t->userdata);
}

static void start_fetch(struct token *t) {
        char why[TOKEN_WHY_MAX - 64] = "";
        int r;

        token_fetch_done(&t->fetch);
        r = t->ops->request(t->src, t->audience, t->client_id, &t->fetch, why, sizeof why);
        if (r < 0)
                return failed(t, "%s", why[0] ? why : strerror(-r));
        r = http_start(t->http, &(struct http_request) {
                                .name = t->ops->what,
                                .url = t->fetch.url,
                                .method = t->fetch.method,
                                .headers = t->fetch.headers,
                                .body = t->fetch.body,
                                .timeout_usec = TOKEN_TIMEOUT,
                                .connect_timeout_usec = TOKEN_CONNECT_TIMEOUT,
                                .keep_body = TOKEN_ANSWER_MAX,
                        },
                        0, t);
        if (r < 0)
                return failed(t, "cannot start a request: %s", strerror(-r));
        t->fetching = true;
}

/*
 * What an OAuth 2.0 error answer says (RFC 6749 5.2: "error" and "error_description"), as Google's and
 * Microsoft's token endpoints send it, in printable characters and cut short; empty when it says nothing.
 */
static void error_answer(const char *body, size_t len, char *buf, size_t size) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = NULL, *v;
        const char *error = NULL, *description = NULL;

        buf[0] = '\0';
        if (tok && body)
                o = json_tokener_parse_ex(tok, body, (int) MIN(len, (size_t) 4096));
        json_tokener_free(tok);
        if (o && json_object_is_type(o, json_type_object)) {
                if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))
                        error = json_object_get_string(v);
                if (json_object_object_get_ex(o, "error_description", &v) && json_object_is_type(v, json_type_string))
                        description = json_object_get_string(v);
        }
        if (error || description)
                snprintf(buf, size, "%s%s%s", error ? error : "", error && description ? ": " : "",
                         description ? description : "");
        for (char *c = buf; *c; c++)
                if (is_control_char((unsigned char) *c))
                        *c = ' ';
        json_object_put(o);
}

int token_lifetime(uint64_t now, uint64_t exp_sec, uint64_t *ret_expiry, uint64_t *ret_refresh_in) {
        uint64_t expiry = MIN(exp_sec, now / USEC_PER_SEC + TOKEN_LIFETIME_MAX) * USEC_PER_SEC, left;

        if (expiry <= now)
                return -ESTALE;
        left = expiry - now;
        *ret_expiry = expiry;
        *ret_refresh_in = left - MIN(left / 2, TOKEN_REFRESH_AHEAD);
        return 0;
}

void token_on_done(void *userdata, const struct http_response *r) {
        struct token *t = userdata;
        char why[TOKEN_WHY_MAX - 64] = "";
        uint64_t expiry = 0, now = now_usec(CLOCK_REALTIME), refresh_in;
        char *value = NULL;
        int q;

        t->fetching = false;
        token_fetch_done(&t->fetch);
        if (r->curl_code != CURLE_OK)
                return failed(t, "%s", r->curl_error ? r->curl_error : curl_easy_strerror(r->curl_code));
        if (r->http_status != 200) {
                char said[120];

                /* Its error fields only, never the whole answer, which may quote what was sent. */
                error_answer(r->body, r->body_len, said, sizeof said);
                return failed(t, "HTTP %ld%s%s", r->http_status, said[0] ? " " : "", said);
        }
        if (r->body_len >= TOKEN_ANSWER_MAX)
                return failed(t, "the answer is larger than %u bytes", TOKEN_ANSWER_MAX - 1);
        q = t->ops->answer(t->src, r->body ? r->body : "", r->body_len, &value, &expiry, why, sizeof why);
        if (q < 0)
                return failed(t, "%s", why[0] ? why : strerror(-q));
        if (token_lifetime(now, expiry, &expiry, &refresh_in) < 0) {
                secret_free(value);
                return failed(t, "the token has expired already (is the clock right?)");
        }
        token_drop(t);
        t->value = value;
        t->expiry = expiry;
        t->error[0] = '\0';
        t->retry_usec = 0;
        timer_arm(t, now_usec(CLOCK_MONOTONIC) + refresh_in);
        log_info("%s for %s refreshed; it expires in %" PRIu64 " s", t->ops->what, t->label,
                 (expiry - now) / USEC_PER_SEC);
        if (t->changed)
                t->changed(t->userdata);
}

static int on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        struct token *t = userdata;

        t->due = false;
        if (!t->fetching)
                start_fetch(t);
        return 0;
}

int token_new(sd_event *e, struct http *h, const struct token_ops *ops, void *src, const char *audience,
              const char *client_id, token_changed_fn changed, void *userdata, struct token **ret) {
        struct token *t;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->event = sd_event_ref(e);
        t->http = h;
        t->ops = ops;
        t->src = src;
        t->changed = changed;
        t->userdata = userdata;
        t->audience = strdup(audience);
        t->client_id = client_id ? strdup(client_id) : NULL;
        if (client_id ? asprintf(&t->label, "%s (client id %s)", audience, client_id) < 0 :
                        !(t->label = strdup(audience)))
                t->label = NULL;
        if (!t->audience || (client_id && !t->client_id) || !t->label) {
                token_free(t);
                return -ENOMEM;
        }
        r = sd_event_add_time(e, &t->timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_timer, t);
        if (r < 0) {
                token_free(t);
                return r;
        }
        (void) sd_event_source_set_description(t->timer, "token-refresh");
        snprintf(t->error, sizeof t->error, "%s: not fetched yet", ops->where(src));
        /*
         * The first fetch starts from the event loop, as every later one: a source that fails at once
         * then tells the rounds through the changed callback, never from inside a configuration load.
         */
        t->due = true;
        timer_arm(t, 1);
        *ret = t;
        return 0;
}

struct token *token_free(struct token *t) {
        if (!t)
                return NULL;
        if (t->fetching)
                http_abort(t->http, t);
        token_fetch_done(&t->fetch);
        token_drop(t);
        sd_event_source_disable_unref(t->timer);
        free(t->audience);
        free(t->client_id);
        free(t->label);
        sd_event_unref(t->event);
        free(t);
        return NULL;
}

bool token_is(const struct token *t, const struct token_ops *ops, const char *audience, const char *client_id) {
        return t->ops == ops && streq(t->audience, audience) && streq_ptr(t->client_id, client_id);
}

int token_get(struct token *t, const char **ret, char *why, size_t size) {
        if (token_valid(t)) {
                *ret = t->value;
                return 0;
        }
        if (t->fetching || t->due)
                return -EAGAIN;
        if (t->value)
                snprintf(why, size, "no %s for %s: it expired before it could be refreshed; %s", t->ops->what,
                         t->label, t->error[0] ? t->error : "no fetch failed");
        else
                snprintf(why, size, "no %s for %s: %s", t->ops->what, t->label, t->error);
        return -ENOKEY;
}
