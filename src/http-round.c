/* SPDX-License-Identifier: MIT */
/*
 * http-round.c: making the requests of a round leave together.  Requests
 * with a body hold it until the whole group has asked for its own (see
 * on_read()); over HTTP/2, a group's leaders open the connections first and
 * its followers then go as streams on them (see group_close()).
 */
#include "config.h"

#include <strings.h>

#include "http-internal.h"

/*
 * HTTP/2 over TLS, where ALPN may pick it.  Plain http with "auto" stays
 * HTTP/1.1, and with "2" each request has a connection of its own (see
 * transfer_setup()).  Under "auto", an origin whose ALPN gave HTTP/1.1 the
 * last time has nothing to share: each request needs a connection of its
 * own anyway, and waiting behind leaders would only send the round in two
 * waves (N = 1000 through nginx without http2: the 10 leaders at once, the
 * other 990 0.8 to 1.1 s later, 980 containers reached; without the wait,
 * all within 175 ms and 1000 reached, as with http_version = 1.1).
 */
bool round_wants_streams(struct http *h, const struct http_request *req) {
        if (req->http_version == HTTP_VERSION_1_1 || !is_https(req->url))
                return false;
        return req->http_version != HTTP_VERSION_AUTO || origin_alpn(h, req) != ALPN_H1;
}

bool request_holds_body(const struct http_request *req) {
        return req->body && req->body[0] && !streq_ptr(req->method, "HEAD");
}

/*
 * Over HTTP/1.1 and TLS, a request with nothing to hold leaves the moment
 * its own handshake ends, and with TLS 1.3 that is the client's costly step
 * of the handshake: checking the server's certificate and signature, 0.76 ms
 * of CPU here, against 0.03 ms for the last step of a TLS 1.2 handshake,
 * which waits one round trip more for the server's Finished (OpenSSL 3.0,
 * measured per step).  libcurl has no way to hold a request's head once its
 * connection is up (a connect-only connection is never lent to a request,
 * and one whose request a callback aborts is closed), and it sends that
 * head in the same call that ends the handshake.  So a round of 1000 GETs
 * left over the 1000 costly steps, 0.6 to 1.4 s here, for libcurl's own
 * multi interface as for warmd; with TLS 1.2 each request waits instead for
 * the server's Finished, which comes when the costly steps are done, and
 * the round leaves in the cheap last steps (the same benchmark, both
 * clients: 621 to 988 of 1000 reached, against 95 to 481 with TLS 1.3).
 * So under "auto", a round without bodies to an origin that speaks only
 * HTTP/1.1 over TLS, and that accepted TLS 1.2 from the scout, is sent with
 * TLS 1.2 (ECDHE, as OpenSSL offers it; libcurl sends no session tickets,
 * so each handshake is a full one).  Rounds with bodies hold them and need
 * none of this; "1.1" and "2" leave TLS as libcurl has it.
 */
static bool tls12_candidate(struct http *h, const struct http_request *req) {
        return req->http_version == HTTP_VERSION_AUTO && is_https(req->url) && !request_holds_body(req) &&
               origin_alpn(h, req) == ALPN_H1;
}

bool tls12_wanted(struct http *h, const struct http_request *req) {
        return tls12_candidate(h, req) && origin_tls12(h, req) == TLS12_YES;
}

/*
 * An origin known to speak only HTTP/1.1 whose answer to TLS 1.2 is not
 * known: learnt from a round that had no scout (one request, or bodies), or
 * forgotten after a round's handshake under TLS 1.2 failed.  Its next round
 * without bodies waits for a scout that asks (scout_start()), as a round to
 * an origin not known at all does.
 */
bool tls12_unknown(struct http *h, const struct http_request *req) {
        return tls12_candidate(h, req) && origin_tls12(h, req) == TLS12_UNKNOWN;
}

/*
 * Over TLS each request needs its own handshake first, and libcurl sends a
 * request the moment its handshake ends, so a round's requests leave over as
 * long as the handshakes take (hundreds of ms for a round of 1000).  A body,
 * though, can wait: each request of a round sends its head and then holds
 * its body until every request of the round has asked for its own (or has
 * failed), and then all bodies go at once.  A gateway that reads a whole
 * request before it picks a container (nginx, API gateways, Lambda function
 * URLs) then sees all N requests complete within a few ms.  Measured at
 * N = 200 over TLS through nginx: arrival spread 25 ms held, 871 ms not.
 * A request without a body has nothing to hold and leaves as it is ready.
 */
static void held_body_settled(struct transfer *t) {
        if (--t->group->pending == 0)
                t->http->release_pending = true;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
        struct transfer *t = userdata;
        size_t n;

        if (t->held) {
                if (!t->asked) {
                        t->asked = true;
                        held_body_settled(t);
                }
                return CURL_READFUNC_PAUSE;
        }
        n = strlen(t->req.body) - t->body_sent;
        if (n > size * nitems)
                n = size * nitems;
        memcpy(buf, t->req.body + t->body_sent, n);
        t->body_sent += n;
        return n;
}

/*
 * A request that must go again (an HTTP/2 server that closed the connection
 * before taking it: GOAWAY, as nginx does after keepalive_requests) needs
 * its body from the start: without this, libcurl fails it with "necessary
 * data rewind wasn't possible" (14 of 20,000 POSTs at 2000 endpoints x 10).
 */
static int on_seek(void *userdata, curl_off_t offset, int origin) {
        struct transfer *t = userdata;

        if (origin != SEEK_SET || offset < 0 || (size_t) offset > strlen(t->req.body))
                return CURL_SEEKFUNC_CANTSEEK;
        t->body_sent = (size_t) offset;
        return CURL_SEEKFUNC_OK;
}

/* Unpauses every member of each group that has no body pending; called outside curl's callbacks. */
void send_held_bodies(struct http *h) {
        h->release_pending = false;
        for (struct transfer *t = h->active; t; t = t->next)
                if (t->held && t->group->pending == 0) {
                        t->held = false;
                        (void) curl_easy_pause(t->easy, CURLPAUSE_CONT);
                }
}

/*
 * Over HTTP/2 a round needs a connection per STREAMS_PER_CONNECTION of its
 * requests, and each request must go on a connection that is ready, or it
 * waits for a handshake of its own.  libcurl 7.88.1 does not get there by
 * itself: with CURLOPT_PIPEWAIT the first 100 requests wait for one
 * connection, and past that each request got a connection of its own (a
 * round of 1000 GETs through nginx: 902 connections, 460 containers
 * reached).  Its choice of connection (ConnectionExists() in lib/url.c)
 * takes one that is ready up to its stream limit, so the capacity has to be
 * there before the requests that fill it go.  So the round's requests are
 * set up but kept back until the pass of the event loop that started them
 * is over (group_close()); then one of every STREAMS_PER_CONNECTION, a
 * leader, goes on the multi handle, each on a fresh connection when the
 * round needs more than one; the rest follow once every leader's connection
 * is ready (CURLOPT_PREREQFUNCTION) or has failed, and libcurl fills those
 * connections up to their limit.  Only each leader's request leaves before
 * the rest.
 */

static void wait_unlink(struct group *g, struct transfer *t) {
        if (t->wait_prev)
                t->wait_prev->wait_next = t->wait_next;
        else
                g->waiting = t->wait_next;
        if (t->wait_next)
                t->wait_next->wait_prev = t->wait_prev;
        t->wait_prev = t->wait_next = NULL;
        t->waiting = false;
}

/* Onto http's opening or ready list, for on_pass_end() or after_curl() to take on. */
static void group_list(struct http *h, struct group *g, struct group **list) {
        if (g->listed || !g->waiting)
                return;
        g->listed = true;
        g->next = *list;
        *list = g;
        (void) sd_event_source_set_enabled(h->pass_end, SD_EVENT_ONESHOT);
}

/* The group's followers may go, as soon as curl's callbacks are over (after_curl()). */
static void group_list_ready(struct http *h, struct group *g) {
        group_list(h, g, &h->ready);
}

static void leader_settle(struct transfer *t, bool connected) {
        struct group *g = t->group;

        t->leader = false;
        if (connected)
                g->connected++;
        if (--g->connecting == 0)
                group_list_ready(t->http, g);
}

/* A leader that ended before its connection was ready: the followers learn why (start_followers()). */
void leader_failed(struct transfer *t, CURLcode code) {
        struct group *g = t->group;

        /* A server that will not speak TLS 1.2 is asked again, with any version (scout_ended()). */
        if (t->scout && t->tls12 && code == CURLE_SSL_CONNECT_ERROR) {
                origin_learn_tls12(t->http, &t->req, TLS12_REFUSED);
                g->rescout = true;
                return;
        }
        /* Refused without the cap too: TLS 1.2 was not what the server refused, so that is not known. */
        if (t->scout && !t->tls12 && code != CURLE_OK && origin_tls12(t->http, &t->req) == TLS12_REFUSED)
                origin_learn_tls12(t->http, &t->req, TLS12_UNKNOWN);
        if ((!t->leader && !t->scout) || code == CURLE_OK || g->failure != CURLE_OK)
                return;
        g->failure = code;
        /* Cut short to leave room for what start_followers() adds. */
        snprintf(g->failure_text, sizeof g->failure_text, "%.*s", (int) sizeof g->failure_text - 1,
                 t->error[0] ? t->error : curl_easy_strerror(code));
}

static void scout_ended(struct http *h, struct group *g);

/*
 * A server may allow fewer streams on a connection than libcurl's 100
 * (nginx's http2_max_concurrent_streams), and libcurl 7.88.1 does not say
 * what the server's SETTINGS allowed.  A follower that finds every leader's
 * connection full opens one of its own (N = 200 against a server allowing
 * 50: 102 connections, one per request past the first 100).  Which
 * connection each request went on shows in its local port, which libcurl
 * sets for a reused connection too (CF_CTRL_DATA_SETUP): once a follower is
 * on a connection of its own, the busiest leader's connection carried what
 * the server allows, and the origin's next rounds open one connection per
 * that many requests.  One that carried more than was planned for raises
 * it again.
 */
static void note_stream(struct transfer *t, int port, bool leader) {
        struct group *g = t->group;
        unsigned most = 0;
        bool own = true;

        if (leader && g->n_conns < g->max_conns)
                g->conns[g->n_conns++] = (struct group_conn) { .port = port };
        for (unsigned i = 0; i < g->n_conns; i++) {
                if (g->conns[i].port == port) {
                        g->conns[i].streams++;
                        own = false;
                }
                most = MAX(most, g->conns[i].streams);
        }
        if ((own && most < g->per_connection) || most > g->per_connection)
                origin_learn_streams(t->http, &t->req, most);
}

/*
 * A leader's connection that ALPN gave HTTP/1.1 (an origin that dropped
 * HTTP/2 since it was learnt) carries none of the followers: they go at
 * once, each on a connection of its own, instead of after every leader.
 */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port) {
        struct transfer *t = userdata;
        struct group *g = t->group;
        enum alpn alpn;

        if (!g || g->serial)
                return CURL_PREREQFUNC_OK;
        if (!t->leader && !t->scout) {
                note_stream(t, local_port, false);
                return CURL_PREREQFUNC_OK;
        }
        alpn = alpn_of_connection(t->easy);
        if (g->http_version == HTTP_VERSION_AUTO)
                origin_learn(t->http, &t->req, alpn);
        if (t->scout) {
                g->serial = alpn == ALPN_H1 && g->http_version == HTTP_VERSION_AUTO;
                if (t->tls12)
                        origin_learn_tls12(t->http, &t->req, TLS12_YES);
                return CURL_PREREQFUNC_OK;
        }
        leader_settle(t, true);
        if (alpn == ALPN_H1 && g->http_version == HTTP_VERSION_AUTO) {
                g->serial = true;
                group_list_ready(t->http, g);
        } else
                note_stream(t, local_port, true);
        return CURL_PREREQFUNC_OK;
}

/* The length of "scheme://authority" in an absolute URL (config.c has checked it is one). */
size_t origin_length(const char *url) {
        const char *p = strstr(url, "://");

        return p ? (size_t) (p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
}

static bool group_fits(const struct group *g, const struct http_request *req) {
        size_t n = origin_length(req->url);

        return strlen(g->origin) == n && strncasecmp(g->origin, req->url, n) == 0 &&
               g->http_version == (int) req->http_version && streq_ptr(g->ca_file, req->ca_file) &&
               streq_ptr(g->client_cert, req->client_cert) && g->timeout_usec == req->timeout_usec &&
               g->connect_timeout_usec == req->connect_timeout_usec;
}

static void group_free(struct group *g) {
        free(g->conns);
        free(g->origin);
        free(g->ca_file);
        free(g->client_cert);
        free(g);
}

static int group_new(const struct http_request *req, struct group **ret) {
        struct group *g = calloc(1, sizeof *g);

        if (!g)
                return -ENOMEM;
        g->origin = strndup(req->url, origin_length(req->url));
        g->ca_file = req->ca_file ? strdup(req->ca_file) : NULL;
        g->client_cert = req->client_cert ? strdup(req->client_cert) : NULL;
        g->http_version = (int) req->http_version;
        g->timeout_usec = req->timeout_usec;
        g->connect_timeout_usec = req->connect_timeout_usec;
        if (!g->origin || (req->ca_file && !g->ca_file) || (req->client_cert && !g->client_cert)) {
                group_free(g);
                return -ENOMEM;
        }
        *ret = g;
        return 0;
}

/*
 * Endpoints on one server need not follow one another in the file: the last
 * few groups of this pass are looked through, so that rounds for two or
 * three servers started in turn still make one group per server.
 */
#define GROUP_LOOKBACK 16

static struct group *group_find(struct http *h, const struct http_request *req) {
        unsigned n = 0;

        /* Newest first; a group leaves this list when it closes, and takes no more members then. */
        for (struct group *g = h->opening; g && n < GROUP_LOOKBACK; g = g->next, n++)
                if (group_fits(g, req))
                        return g;
        return NULL;
}

int group_join(struct http *h, struct transfer *t, bool body, bool follow) {
        struct group *g = group_find(h, &t->req);

        if (!g) {
                int r = sd_event_source_set_enabled(h->pass_end, SD_EVENT_ONESHOT);

                if (r >= 0)
                        r = group_new(&t->req, &g);
                if (r < 0)
                        return r;
                g->listed = true;
                g->next = h->opening;
                h->opening = g;
        }
        g->refs++;
        t->group = g;
        if (body) {
                g->pending++;
                t->held = true;
        }
        if (follow) {
                t->started_usec = now_usec(CLOCK_MONOTONIC);
                t->waiting = true;
                t->wait_next = g->waiting;
                if (g->waiting)
                        g->waiting->wait_prev = t;
                g->waiting = t;
        }
        return 0;
}

void group_unref(struct group *g) {
        if (g->refs > 0 || g->listed)
                return;
        group_free(g);
}

void group_leave(struct transfer *t) {
        struct group *g = t->group;

        if (!g)
                return;
        if (t->held && !t->asked)
                held_body_settled(t);
        if (t->waiting)
                wait_unlink(g, t);
        if (t->leader)
                leader_settle(t, false);
        if (t->scout) {
                t->scout = false;
                scout_ended(t->http, g);
        }
        t->group = NULL;
        t->held = t->asked = false;
        g->refs--;
        group_unref(g);
}

static bool transfer_add(struct http *h, struct transfer *t) {
        if (curl_multi_add_handle(h->multi, t->easy) == CURLM_OK)
                return true;
        snprintf(t->error, sizeof t->error, "not sent: could not be added to the transfers in flight");
        transfer_finish(h, t, CURLE_OUT_OF_MEMORY);
        return false;
}

/*
 * The wait for the group's connections counts against the request's
 * timeout, which bounds the whole request.  Not against connect_timeout: a
 * follower that finds no room on those connections makes one of its own,
 * and deserves the whole time for it (with a third of the connections
 * silent, charging the wait failed 48 of 250 requests that never tried).
 */
static void follower_timeout(struct transfer *t) {
        uint64_t left = 0;

        if (t->req.timeout_usec > t->waited_usec)
                left = t->req.timeout_usec - t->waited_usec;
        /* 0 would mean no limit: 1 ms is as good as spent. */
        (void) curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long) MAX(left / USEC_PER_MSEC, 1));
}

/*
 * Under "auto", a round to an origin not known yet would not know whether
 * its leaders' connections will carry the rest (HTTP/2) or not (HTTP/1.1),
 * and the wrong guess costs HTTP/1.1 a round in two waves.  So one
 * connect-only handshake asks first: ALPN's answer is read from its
 * connection (on_prereq()) and remembered, and the round goes the way that
 * fits.  It sends no request, so it warms no container; it costs one
 * handshake once per origin (see http-origin.c).  Measured at N = 1000
 * through nginx without http2: all 1000 arrive within the spread of
 * http_version = 1.1, where releasing the followers once the first leader
 * was found on HTTP/1.1 still sent the 10 leaders ahead of the rest.
 */
static bool scout_start(struct http *h, struct group *g) {
        const struct http_request *m = &g->waiting->req;
        struct transfer *t;

        g->scouted = true;
        if (transfer_get(h, &t) < 0)
                return false;
        t->req = (struct http_request) {
                .name = m->name,
                .url = g->origin,
                .timeout_usec = g->timeout_usec,
                .connect_timeout_usec = g->connect_timeout_usec,
                .ca_file = g->ca_file,
                .client_cert = g->client_cert,
                .client_key = m->client_key,
                .http_version = HTTP_VERSION_AUTO,
        };
        t->userdata = NULL;
        t->probe = t->scout = true;
        /* Asks with TLS 1.2 as well, for what a round without bodies may use (tls12_wanted()). */
        t->tls12 = origin_tls12(h, &t->req) != TLS12_REFUSED;
        if (transfer_setup(h, t) < 0 || curl_multi_add_handle(h->multi, t->easy) != CURLM_OK) {
                t->scout = false;
                transfer_put_back(h, t, false);
                return false;
        }
        transfer_activate(h, t);
        t->group = g;
        g->refs++;
        g->connecting++;
        return true;
}

/* The scout is over: the group's members go, fail with its reason, or the leaders go first. */
static void scout_ended(struct http *h, struct group *g) {
        g->connecting--;
        if (g->rescout) {
                g->rescout = g->scouted = false;
                group_list(h, g, &h->opening);
                return;
        }
        if (g->serial || g->failure != CURLE_OK) {
                group_list_ready(h, g);
                return;
        }
        /* Open again, for on_pass_end() to close it with its leaders. */
        group_list(h, g, &h->opening);
}

/* The round has all its members: its leaders go, on connections of their own if it needs more than one. */
static void group_close(struct http *h, struct group *g) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        unsigned members = 0, leaders, per;
        struct transfer *t;

        if (g->serial || !g->waiting)
                return;         /* on_pass_end() lets every member go at once */
        for (t = g->waiting; t; t = t->wait_next)
                members++;
        if (members > 1 && !g->scouted && g->http_version == HTTP_VERSION_AUTO &&
            (origin_alpn(h, &g->waiting->req) == ALPN_UNKNOWN || tls12_unknown(h, &g->waiting->req)) &&
            scout_start(h, g))
                return;
        per = g->per_connection = origin_streams(h, &g->waiting->req);
        leaders = (members + per - 1) / per;
        /* Without room to note the leaders' connections, only nothing is learnt. */
        free(g->conns);
        g->n_conns = 0;
        g->conns = calloc(leaders, sizeof *g->conns);
        g->max_conns = g->conns ? leaders : 0;
        g->connecting += leaders;
        /* finish() of a leader that could not be added may abort the round: g->waiting can empty. */
        while (leaders-- > 0 && (t = g->waiting)) {
                wait_unlink(g, t);
                t->leader = true;
                t->waited_usec = now - t->started_usec;
                follower_timeout(t);
                /* Its own connection, or one that is ready: libcurl enforces no timeout while it waits. */
                (void) curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT, 0L);
                if (members > per)
                        (void) curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
                (void) transfer_add(h, t);
        }
}

/* The pass of the event loop that started these rounds is over: close them, then what after_curl() does. */
int on_pass_end(sd_event_source *s, void *userdata) {
        struct http *h = userdata;
        struct group *g;

        while (!h->freeing && (g = h->opening)) {
                h->opening = g->next;
                group_close(h, g);
                g->listed = false;
                if (g->connecting == 0)
                        group_list_ready(h, g);   /* every leader failed at once */
                group_unref(g);
        }
        after_curl(h);
        return 0;
}

/*
 * Followers whose leaders are all connected (or failed) go on the multi
 * handle; outside curl's callbacks.  When no leader got a connection and one
 * failed to (no answer to the handshake, refused, an untrusted certificate),
 * the followers fail with its reason rather than each try again: at once
 * instead of after connect_timeout once more, and with the reason instead of
 * "timeout after 0 ms".  Leaders that were only aborted leave the followers
 * to go on their own.
 */
void start_followers(struct http *h) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        struct group *g;

        while ((g = h->ready)) {
                struct transfer *t;

                h->ready = g->next;
                g->listed = false;
                g->refs++;      /* finish() of the last follower must not free it under us */
                while ((t = g->waiting)) {
                        wait_unlink(g, t);
                        t->waited_usec = now - t->started_usec;
                        if (g->connected == 0 && g->failure != CURLE_OK) {
                                snprintf(t->error, sizeof t->error, "%s (the connection it was to share)",
                                         g->failure_text);
                                transfer_finish(h, t, g->failure);
                                continue;
                        }
                        follower_timeout(t);
                        /* Over HTTP/1.1 nothing is shared: not waiting for a connection that might be. */
                        if (g->serial) {
                                (void) curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT, 0L);
                                if (tls12_wanted(h, &t->req))
                                        tls12_set(t);
                        }
                        (void) transfer_add(h, t);
                }
                g->refs--;
                group_unref(g);
        }
}

/* At most TLS 1.2, for a request that leaves as its handshake ends (tls12_wanted()). */
void tls12_set(struct transfer *t) {
        t->tls12 = true;
        (void) curl_easy_setopt(t->easy, CURLOPT_SSLVERSION, (long) (CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
}

/* A member whose body waits for its group: it sends it through on_read(), when all may go. */
CURLcode held_body_setup(struct transfer *t) {
        CURLcode cc = CURLE_OK;

#define SET(opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(t->easy, opt, val); } while (0)
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE, (long) strlen(t->req.body));
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, t);
        SET(CURLOPT_SEEKFUNCTION, on_seek);
        SET(CURLOPT_SEEKDATA, t);
        return cc;
}

/* A follower (see group_close()) waits for a connection in its handshake that may carry it. */
CURLcode follower_setup(struct transfer *t) {
        CURLcode cc = CURLE_OK;

        SET(CURLOPT_PIPEWAIT, 1L);
        SET(CURLOPT_PREREQFUNCTION, on_prereq);
        SET(CURLOPT_PREREQDATA, t);
        return cc;
}

/* The scout (see scout_start()) reads ALPN's answer off its connection, once there is one. */
CURLcode scout_setup(struct transfer *t) {
        CURLcode cc = CURLE_OK;

        SET(CURLOPT_PREREQFUNCTION, on_prereq);
        SET(CURLOPT_PREREQDATA, t);
#undef SET
        return cc;
}
