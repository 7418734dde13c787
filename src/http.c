/* SPDX-License-Identifier: MIT */
/*
 * http.c: libcurl's multi socket interface on sd-event.  curl tells us which
 * sockets to watch (kept in one epoll set, see on_epoll()) and when to call
 * it back (one timer); we hand every event back to curl and then drain all
 * finished transfers.
 *
 * Transfers come from a pool: while there is work, an easy handle serves
 * request after request, across endpoints and rounds, with no allocation of
 * ours per request.  Only a handle whose HTTP/1.x transfer ended cleanly goes
 * back (see release()).  When all is quiet, the pool and curl's
 * idle connections are released (see drop_idle()).
 *
 * What TLS needs to outlive that lives here for the whole process: each CA
 * file parsed once (see ca_store_get()), and a TLS session cache per CA
 * file, so the next round resumes sessions instead of full handshakes.
 */
#include "config.h"

#include <malloc.h>
#include <sys/epoll.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "warmd.h"

/*
 * One CA file, parsed, with the TLS sessions of the connections it verified.
 * Sessions are kept apart per CA file: a session resumed skips verification,
 * so it must come from a connection verified against the same trust.
 */
struct ca_store {
        char *path;
        X509_STORE *store;
        CURLSH *share;                  /* CURL_LOCK_DATA_SSL_SESSION */
        struct stat st;                 /* the file as parsed: a changed file is parsed again */
        char *tag;                      /* keeps connections apart by trust (see transfer_setup()) */
};

/*
 * Requests started one after another in one pass of the event loop (a round,
 * or the rounds of several endpoints due at once) that libcurl could send
 * over the same connections, with the same timeouts.  Two things make them
 * leave together: their bodies wait until all of them are connected (see
 * on_read()), and over HTTP/2 the connections they need are made before any
 * but the first request on each goes out (see group_close()).
 */
struct group {
        unsigned refs;                  /* transfers pointing here */
        unsigned pending;               /* members with a body neither asking for it yet nor finished */
        unsigned connecting;            /* leaders whose connection is neither ready nor failed */
        unsigned connected;             /* leaders whose connection was ready */
        CURLcode failure;               /* how the first leader that could not connect failed */
        char failure_text[CURL_ERROR_SIZE - 64];
        bool listed;                    /* on http's opening or ready list, which then owns it too */
        struct transfer *waiting;       /* followers: set up, not yet on the multi handle */
        struct group *next;             /* in that list */
        /* What decides which connections libcurl may share (ConnectionExists(), Curl_ssl_config_matches()). */
        char *origin;                   /* scheme://authority of the URL */
        char *ca_file, *client_cert;
        int http_version;
        /* A follower waits no longer than its leader may take to connect (release_followers()). */
        uint64_t timeout_usec, connect_timeout_usec;
};

struct transfer {
        CURL *easy;
        struct http *http;
        X509_STORE *store;              /* for on_ssl_ctx(); NULL: libcurl's own CA handling */
        struct group *group;            /* NULL: leaves as soon as it can */
        bool held;                      /* its body waits for the rest of the group */
        bool waiting;                   /* a follower not yet on the multi handle (in group->waiting) */
        bool leader;                    /* opens a connection for the group's followers, not ready yet */
        struct transfer *wait_prev, *wait_next;
        uint64_t started_usec;          /* CLOCK_MONOTONIC, when a follower was taken; see follower_timeout() */
        uint64_t waited_usec;           /* kept back for its group's connections */
        bool asked;                     /* libcurl has asked for its body */
        size_t body_sent;               /* of ep->body, when it goes through on_read() */
        const struct endpoint_config *ep;
        const struct curl_slist *headers;       /* the round's own (a signed invoke), or the endpoint's */
        void *userdata;
        bool probe;
        bool stopped;                   /* reading stopped on purpose: everything to know was known */
        struct transfer *prev, *next;   /* in the active list, or next in the free list */
        struct body_scan scan;
        uint64_t body_bytes;            /* body bytes received */
        int socket_errno;               /* why socket() failed for it; 0: it did not */
        char error[CURL_ERROR_SIZE];
};

struct http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        int epoll_fd;
        sd_event_source *epoll_source;
        struct epoll_event events[1024];        /* a batch the size of a big round: no pause every 256 */
        char *user_agent;
        http_done_fn done;
        struct transfer *active;
        struct transfer *free_list;
        unsigned n_active;
        bool freeing;
        struct group *opening;          /* groups started in this pass of the event loop */
        struct group *ready;            /* groups whose followers may go on the multi handle */
        sd_event_source *pass_end;      /* closes the opening groups, releases the ready ones */
        bool release_pending;           /* some group has no member with a body pending any more */
        char *system_ca;                /* libcurl's built-in CA bundle; NULL: none */
        struct ca_store *cas;
        size_t n_cas, cap_cas;
        unsigned ca_parses;             /* of any CA file: each parse's connections are its own */
        CURLSH **retired;               /* session caches of CA files since changed, until no handle uses them */
        size_t n_retired, cap_retired;
};

static void check_done(struct http *h);
static void transfer_free(struct transfer *t);
static void retired_free(struct http *h);

static bool is_https(const char *url) {
        return strncasecmp(url, "https://", 8) == 0;
}

/*
 * HTTP/2 over TLS, where ALPN may pick it.  Plain http with "auto" stays
 * HTTP/1.1, and with "2" each request has a connection of its own (see
 * transfer_setup()).
 */
static bool wants_streams(const struct endpoint_config *ep) {
        return ep->http_version != HTTP_VERSION_1_1 && is_https(ep->url);
}

/*
 * All curl sockets sit in one epoll set of our own, which sd-event watches as
 * a single IO source.  sd-event dispatches one source per loop iteration, and
 * each iteration re-polls every ready fd: with one source per socket, a round
 * of 1000 requests costs ~N^2/2 readiness checks before the last request is
 * written, and the round's arrival spread grows with it.  One source lets one
 * dispatch hand every ready socket to curl.
 */
static int on_epoll(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct http *h = userdata;
        int n, running;

        if (!h->multi)
                return 0;
        do {
                n = epoll_wait(h->epoll_fd, h->events, (int) ELEMENTSOF(h->events), 0);
                if (n < 0) {
                        if (errno == EINTR)
                                break;  /* level-triggered: sd-event calls again for what is left */
                        return log_error_errno(errno, "epoll_wait() on the curl sockets failed");
                }
                for (int i = 0; i < n; i++) {
                        uint32_t ev = h->events[i].events;
                        int action = 0;

                        if (ev & (EPOLLIN | EPOLLPRI | EPOLLHUP))
                                action |= CURL_CSELECT_IN;
                        if (ev & EPOLLOUT)
                                action |= CURL_CSELECT_OUT;
                        if (ev & EPOLLERR)
                                action |= CURL_CSELECT_ERR;
                        /* A socket closed earlier in this batch is unknown to curl by now, which ignores it. */
                        if (curl_multi_socket_action(h->multi, h->events[i].data.fd, action, &running) != CURLM_OK)
                                log_error("curl_multi_socket_action() failed on fd %d", h->events[i].data.fd);
                }
        } while (n == (int) ELEMENTSOF(h->events));

        check_done(h);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct http *h = userp;
        struct epoll_event ev = { .data.fd = fd };

        if (what == CURL_POLL_REMOVE) {
                /* curl says so before it closes the socket, so the fd is still ours to remove. */
                (void) epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                (void) curl_multi_assign(h->multi, fd, NULL);
                return 0;
        }

        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                ev.events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                ev.events |= EPOLLOUT;

        /* socketp marks a socket already in the set. */
        if (epoll_ctl(h->epoll_fd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        {
                log_error_errno(errno, "Failed to watch fd %d", fd);
                return -1;      /* curl's convention for a failed socket callback */
        }
        if (!socketp && curl_multi_assign(h->multi, fd, h) != CURLM_OK) {
                (void) epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                log_error("curl_multi_assign() failed for fd %d", fd);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct http *h = userdata;
        int running;

        if (!h->multi)
                return 0;
        if (curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                return log_full(LOG_ERR, EIO, "curl_multi_socket_action() failed on timeout");
        check_done(h);
        return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        struct http *h = userp;
        int r;

        /* Transfers aborted after the loop has finished (at exit) need no timer. */
        if (sd_event_get_state(h->event) == SD_EVENT_FINISHED)
                return 0;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;

        /* curl's timeouts are exact: no coalescing slack (sd-event's default accuracy is 250 ms). */
        r = sd_event_source_set_time_relative(h->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the curl timer");
                return -1;
        }
        return 0;
}

/*
 * A body is read only as far as it tells something: until its JSON fields
 * are known when reuse_json or instance_json is set (BODY_READ_MAX at most),
 * not at all otherwise.  The answer shows the request reached its container,
 * so stopping is a success, not a failure; a 100 MB body is not downloaded
 * every round.  A body that ends in this very piece is taken whole, which
 * leaves the connection fit for reuse.
 */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct transfer *t = userdata;
        size_t n = size * nmemb;
        curl_off_t length = -1;

        t->body_bytes += n;
        if (!body_scan_feed(&t->scan, data, n))
                return n;
        if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length >= 0 &&
            t->body_bytes >= (uint64_t) length)
                return n;
        t->stopped = true;
        return CURL_WRITEFUNC_ERROR;
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
static void body_settle(struct transfer *t) {
        if (--t->group->pending == 0)
                t->http->release_pending = true;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
        struct transfer *t = userdata;
        size_t n;

        if (t->held) {
                if (!t->asked) {
                        t->asked = true;
                        body_settle(t);
                }
                return CURL_READFUNC_PAUSE;
        }
        n = strlen(t->ep->body) - t->body_sent;
        if (n > size * nitems)
                n = size * nitems;
        memcpy(buf, t->ep->body + t->body_sent, n);
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

        if (origin != SEEK_SET || offset < 0 || (size_t) offset > strlen(t->ep->body))
                return CURL_SEEKFUNC_CANTSEEK;
        t->body_sent = (size_t) offset;
        return CURL_SEEKFUNC_OK;
}

/* Unpauses every member of each group that has no body pending; called outside curl's callbacks. */
static void release_bodies(struct http *h) {
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
 * the rest.  The limit is libcurl's default, set here for certain, and the
 * least RFC 9113 asks a server to allow: nginx allows 128.
 */
#define STREAMS_PER_CONNECTION 100

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

/* The group's followers may go, as soon as curl's callbacks are over (check_done()). */
static void group_list_ready(struct http *h, struct group *g) {
        if (g->listed || !g->waiting)
                return;
        g->listed = true;
        g->next = h->ready;
        h->ready = g;
        (void) sd_event_source_set_enabled(h->pass_end, SD_EVENT_ONESHOT);
}

static void leader_settle(struct transfer *t, bool connected) {
        struct group *g = t->group;

        t->leader = false;
        if (connected)
                g->connected++;
        if (--g->connecting == 0)
                group_list_ready(t->http, g);
}

/* A leader that ended before its connection was ready: the followers learn why (release_followers()). */
static void leader_failed(struct transfer *t, CURLcode code) {
        struct group *g = t->group;

        if (!t->leader || code == CURLE_OK || g->failure != CURLE_OK)
                return;
        g->failure = code;
        /* Cut short to leave room for what release_followers() adds. */
        snprintf(g->failure_text, sizeof g->failure_text, "%.*s", (int) sizeof g->failure_text - 1,
                 t->error[0] ? t->error : curl_easy_strerror(code));
}

static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port) {
        struct transfer *t = userdata;

        if (t->leader)
                leader_settle(t, true);
        return CURL_PREREQFUNC_OK;
}

/* The length of "scheme://authority" in an absolute URL (config.c has checked it is one). */
static size_t origin_length(const char *url) {
        const char *p = strstr(url, "://");

        return p ? (size_t) (p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
}

static bool group_fits(const struct group *g, const struct endpoint_config *ep) {
        size_t n = origin_length(ep->url);

        return strlen(g->origin) == n && strncasecmp(g->origin, ep->url, n) == 0 &&
               g->http_version == (int) ep->http_version && streq_ptr(g->ca_file, ep->ca_file) &&
               streq_ptr(g->client_cert, ep->client_cert) && g->timeout_usec == ep->timeout_usec &&
               g->connect_timeout_usec == ep->connect_timeout_usec;
}

static void group_free(struct group *g) {
        free(g->origin);
        free(g->ca_file);
        free(g->client_cert);
        free(g);
}

static int group_new(const struct endpoint_config *ep, struct group **ret) {
        struct group *g = calloc(1, sizeof *g);

        if (!g)
                return -ENOMEM;
        g->origin = strndup(ep->url, origin_length(ep->url));
        g->ca_file = ep->ca_file ? strdup(ep->ca_file) : NULL;
        g->client_cert = ep->client_cert ? strdup(ep->client_cert) : NULL;
        g->http_version = (int) ep->http_version;
        g->timeout_usec = ep->timeout_usec;
        g->connect_timeout_usec = ep->connect_timeout_usec;
        if (!g->origin || (ep->ca_file && !g->ca_file) || (ep->client_cert && !g->client_cert)) {
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

static struct group *group_find(struct http *h, const struct endpoint_config *ep) {
        unsigned n = 0;

        /* Newest first; a group leaves this list when it closes, and takes no more members then. */
        for (struct group *g = h->opening; g && n < GROUP_LOOKBACK; g = g->next, n++)
                if (group_fits(g, ep))
                        return g;
        return NULL;
}

static int group_join(struct http *h, struct transfer *t, bool body, bool follow) {
        struct group *g = group_find(h, t->ep);

        if (!g) {
                int r = sd_event_source_set_enabled(h->pass_end, SD_EVENT_ONESHOT);

                if (r >= 0)
                        r = group_new(t->ep, &g);
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

static void group_unref(struct group *g) {
        if (g->refs > 0 || g->listed)
                return;
        group_free(g);
}

static void group_leave(struct transfer *t) {
        struct group *g = t->group;

        if (!g)
                return;
        if (t->held && !t->asked)
                body_settle(t);
        if (t->waiting)
                wait_unlink(g, t);
        if (t->leader)
                leader_settle(t, false);
        t->group = NULL;
        t->held = t->asked = false;
        g->refs--;
        group_unref(g);
}

static void finish(struct http *h, struct transfer *t, CURLcode code);

static bool transfer_add(struct http *h, struct transfer *t) {
        if (curl_multi_add_handle(h->multi, t->easy) == CURLM_OK)
                return true;
        snprintf(t->error, sizeof t->error, "not sent: could not be added to the transfers in flight");
        finish(h, t, CURLE_OUT_OF_MEMORY);
        return false;
}

/* The round has all its members: its leaders go, on connections of their own if it needs more than one. */
static void group_close(struct http *h, struct group *g) {
        unsigned members = 0, leaders;
        struct transfer *t;

        for (t = g->waiting; t; t = t->wait_next)
                members++;
        leaders = (members + STREAMS_PER_CONNECTION - 1) / STREAMS_PER_CONNECTION;
        g->connecting += leaders;
        /* finish() of a leader that could not be added may abort the round: g->waiting can empty. */
        while (leaders-- > 0 && (t = g->waiting)) {
                wait_unlink(g, t);
                t->leader = true;
                /* Its own connection, or one that is ready: libcurl enforces no timeout while it waits. */
                (void) curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT, 0L);
                if (members > STREAMS_PER_CONNECTION)
                        (void) curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
                (void) transfer_add(h, t);
        }
}

/* The pass of the event loop that started these rounds is over: close them, then what check_done() does. */
static int on_pass_end(sd_event_source *s, void *userdata) {
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
        check_done(h);
        return 0;
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

        if (t->ep->timeout_usec > t->waited_usec)
                left = t->ep->timeout_usec - t->waited_usec;
        /* 0 would mean no limit: 1 ms is as good as spent. */
        (void) curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long) MAX(left / USEC_PER_MSEC, 1));
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
static void release_followers(struct http *h) {
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
                                finish(h, t, g->failure);
                                continue;
                        }
                        follower_timeout(t);
                        (void) transfer_add(h, t);
                }
                g->refs--;
                group_unref(g);
        }
}

/*
 * curl's own socket(), but keeping its errno: curl reports a socket() that
 * failed as "Couldn't connect to server", so running out of descriptors
 * would look like an unreachable endpoint.
 */
static curl_socket_t on_open_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *a) {
        struct transfer *t = userdata;
        int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

        if (fd < 0) {
                t->socket_errno = errno;
                return CURL_SOCKET_BAD;
        }
        return fd;
}

/*
 * Descriptors that this many requests in flight take at the busiest moment,
 * lookups of them resolving a host name: a socket each, two more for each
 * lookup (the threaded resolver's socketpair), and the multi handle's own
 * wakeup socketpair.  Measured with 3000 requests to 127.0.0.1 and 10 to a
 * host name: 3021 descriptors, 8 of them warmd's own at idle.  (A request to
 * a host with IPv4 and IPv6 addresses can hold a second socket for a moment,
 * while both are tried.)
 */
unsigned long http_fds_needed(unsigned long requests, unsigned long lookups) {
        return 2 + requests + 2 * lookups;
}

static int multi_new(struct http *h) {
        h->multi = curl_multi_init();
        if (!h->multi)
                return -ENOMEM;
        if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long) STREAMS_PER_CONNECTION) != CURLM_OK) {
                curl_multi_cleanup(h->multi);
                h->multi = NULL;
                return -EIO;
        }
        return 0;
}

/*
 * Once nothing is in flight, what a round left behind is only a cost until
 * the next one, minutes away: the servers will have closed the cached
 * connections by then, and each idle easy handle keeps ~17 KiB of buffers.
 * Measured with 1000 endpoints after their first round: 18.5 MiB of private
 * memory and 777 sockets kept, against 3.2 MiB and none when released here.
 * libcurl has no call to empty its connection cache, so the multi handle
 * goes too; the next request makes a new one.
 */
static void drop_idle(struct http *h) {
        curl_multi_cleanup(h->multi);
        h->multi = NULL;
        while (h->free_list) {
                struct transfer *t = h->free_list;
                h->free_list = t->next;
                transfer_free(t);
        }
        retired_free(h);
        /* A round's buffers were freed just now; give the pages back for the quiet minutes ahead. */
        (void) malloc_trim(0);
}

/* libcurl's built-in CA bundle (from its build), or NULL when it was built without one. */
static int system_ca_find(char **ret) {
        CURL *c = curl_easy_init();
        char *path = NULL, *copy = NULL;

        if (!c)
                return -ENOMEM;
        if (curl_easy_getinfo(c, CURLINFO_CAINFO, &path) == CURLE_OK && path) {
                copy = strdup(path);
                if (!copy) {
                        curl_easy_cleanup(c);
                        return -ENOMEM;
                }
        }
        curl_easy_cleanup(c);
        *ret = copy;
        return 0;
}

int http_new(sd_event *e, const char *user_agent, http_done_fn done, struct http **ret) {
        struct http *h;
        int r;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->epoll_fd = -1;
        h->event = sd_event_ref(e);
        h->done = done;
        h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (h->epoll_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &h->epoll_source, h->epoll_fd, EPOLLIN, on_epoll, h);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(h->epoll_source, "curl-sockets");
        h->user_agent = strdup(user_agent);
        if (!h->user_agent) {
                r = -ENOMEM;
                goto fail;
        }
        r = system_ca_find(&h->system_ca);
        if (r < 0)
                goto fail;

        r = sd_event_add_defer(e, &h->pass_end, on_pass_end, h);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(h->pass_end, "curl-pass-end");
        r = sd_event_source_set_enabled(h->pass_end, SD_EVENT_OFF);
        if (r < 0)
                goto fail;

        r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, h);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(h->timer, "curl-timer");
        r = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;

        *ret = h;
        return 0;
fail:
        http_free(h);
        return r;
}

void http_set_user_agent(struct http *h, const char *user_agent) {
        char *s = strdup(user_agent);

        if (!s)
                return;         /* keep the old one: a user agent is not worth failing a reload for */
        free(h->user_agent);
        h->user_agent = s;
}

static void transfer_free(struct transfer *t) {
        if (!t)
                return;
        curl_easy_cleanup(t->easy);
        X509_STORE_free(t->store);
        body_scan_done(&t->scan);
        free(t);
}

static void unlink_active(struct http *h, struct transfer *t) {
        if (t->prev)
                t->prev->next = t->next;
        else
                h->active = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->prev = t->next = NULL;
        h->n_active--;
}

/*
 * A transfer that is off the multi handle: back into the pool if it ended
 * cleanly, freed otherwise.  An easy handle is not as good as new after
 * curl_easy_reset(): libcurl 7.88.1 (Debian 12) leaves a transfer's receive
 * buffer allocated when its name lookup fails (multi_done() never runs), and
 * then refuses CURLOPT_BUFFERSIZE on that handle for good.  Reused, it made
 * the next request of whichever endpoint got it fail to start: one endpoint
 * with a host that does not resolve broke the healthy ones.  Of success,
 * connection refused, timeout, abort, and a failed lookup, with and without
 * CONNECT_ONLY, only the failed lookup left the buffer behind; an aborted
 * transfer may have failed already with its message unread.  An HTTP/2
 * stream that ends while others still use its connection keeps its buffer
 * too (multi_done() returns early "when still used"): with several
 * endpoints' rounds in flight over HTTP/2, pooled handles failed to start
 * one request in two.  So only a clean end over HTTP/1.x is trusted, and the
 * rest costs one curl_easy_init() per request.
 */
static void release(struct http *h, struct transfer *t, bool reuse) {
        group_leave(t);
        if (!reuse) {
                transfer_free(t);
                return;
        }
        t->ep = NULL;
        t->userdata = NULL;
        t->prev = NULL;
        t->next = h->free_list;
        h->free_list = t;
}

/* Takes t off the multi handle, with no callback. */
static void discard(struct http *h, struct transfer *t) {
        (void) curl_multi_remove_handle(h->multi, t->easy);
        unlink_active(h, t);
        release(h, t, false);
}

struct http *http_free(struct http *h) {
        struct transfer *t;

        if (!h)
                return NULL;
        h->freeing = true;
        while ((t = h->active))
                discard(h, t);
        /* The multi handle goes first: closing its sockets calls on_socket() to drop their IO sources. */
        if (h->multi)
                curl_multi_cleanup(h->multi);
        while ((t = h->free_list)) {
                h->free_list = t->next;
                transfer_free(t);
        }
        /* Every member has left its group by now; what is still listed is only the lists' to free. */
        for (struct group *g, **list = &h->opening; list; list = list == &h->opening ? &h->ready : NULL)
                while ((g = *list)) {
                        *list = g->next;
                        g->listed = false;
                        group_unref(g);
                }
        sd_event_source_disable_unref(h->pass_end);
        sd_event_source_disable_unref(h->timer);
        sd_event_source_disable_unref(h->epoll_source);
        if (h->epoll_fd >= 0)
                close(h->epoll_fd);
        sd_event_unref(h->event);
        free(h->user_agent);
        free(h->system_ca);
        for (size_t i = 0; i < h->n_cas; i++) {
                curl_share_cleanup(h->cas[i].share);
                X509_STORE_free(h->cas[i].store);
                free(h->cas[i].path);
                free(h->cas[i].tag);
        }
        free(h->cas);
        retired_free(h);
        free(h->retired);
        free(h);
        return NULL;
}

/*
 * libcurl 7.88 keeps a parsed CA store in the multi handle, for one CA file
 * at a time, and not at all when a CA path is set, as Debian's build sets by
 * default (/etc/ssl/certs, next to the bundle): each TLS connection then
 * opened and parsed the whole system bundle again (strace: 21 opens of it
 * for 20 requests; 23 ms of CPU per request).  The multi handle also goes
 * away between rounds (drop_idle()).  So each CA file is parsed here, once,
 * by OpenSSL's own loader, handed to every connection by on_ssl_ctx(), and
 * libcurl is told to load nothing itself.  A file that changes (same path,
 * new inode, size or mtime: a CA bundle update) is parsed again.
 */
static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int session_cache_new(CURLSH **ret) {
        CURLSH *share = curl_share_init();

        if (!share || curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
                curl_share_cleanup(share);
                return -ENOMEM;
        }
        *ret = share;
        return 0;
}

/* What no easy handle refers to any more (none is active or pooled) is freed; the rest waits. */
static void retired_free(struct http *h) {
        size_t kept = 0;

        for (size_t i = 0; i < h->n_retired; i++)
                if (curl_share_cleanup(h->retired[i]) != CURLSHE_OK)
                        h->retired[kept++] = h->retired[i];
        h->n_retired = kept;
}

static int ca_store_get(struct http *h, const char *path, struct ca_store **ret) {
        struct ca_store *c = NULL;
        CURLSH *share = NULL;
        X509_STORE *store;
        struct stat st;
        char *tag;
        int r;

        if (stat(path, &st) < 0)
                return -errno;
        for (size_t i = 0; i < h->n_cas; i++)
                if (streq(h->cas[i].path, path)) {
                        c = &h->cas[i];
                        break;
                }
        if (c && same_file(&c->st, &st)) {
                *ret = c;
                return 0;
        }

        store = X509_STORE_new();
        if (!store)
                return -ENOMEM;
        if (X509_STORE_load_file(store, path) != 1) {
                ERR_clear_error();
                X509_STORE_free(store);
                return -EBADMSG;
        }
        /*
         * Sessions verified against the old contents are not offered again:
         * a resumed session skips verification, and the change may have
         * removed the CA that verified them.
         */
        r = session_cache_new(&share);
        if (r < 0) {
                X509_STORE_free(store);
                return r;
        }
        /* Under a file, not a directory: OpenSSL looks there (see transfer_setup()), and finds nothing. */
        if (asprintf(&tag, "/dev/null/warmd-ca-%u", ++h->ca_parses) < 0) {
                curl_share_cleanup(share);
                X509_STORE_free(store);
                return -ENOMEM;
        }
        if (!c) {
                struct ca_store *v = array_grow(h->cas, h->n_cas, &h->cap_cas, sizeof *v);
                char *p = strdup(path);

                if (v)
                        h->cas = v;
                if (!v || !p) {
                        curl_share_cleanup(share);
                        free(p);
                        free(tag);
                        X509_STORE_free(store);
                        return -ENOMEM;
                }
                c = &h->cas[h->n_cas++];
                *c = (struct ca_store) { .path = p };
        } else {
                CURLSH **v = array_grow(h->retired, h->n_retired, &h->cap_retired, sizeof *v);

                if (!v) {
                        curl_share_cleanup(share);
                        free(tag);
                        X509_STORE_free(store);
                        return -ENOMEM;
                }
                h->retired = v;
                h->retired[h->n_retired++] = c->share;
        }
        free(c->tag);
        c->tag = tag;
        c->share = share;
        /* Connections still holding the old store keep their own reference to it. */
        X509_STORE_free(c->store);
        c->store = store;
        c->st = st;
        log_debug("Parsed the CA file %s", path);
        *ret = c;
        return 0;
}

static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *userdata) {
        struct transfer *t = userdata;

        if (!t->store || X509_STORE_up_ref(t->store) != 1)
                return CURLE_OUT_OF_MEMORY;
        SSL_CTX_set_cert_store(ssl_ctx, t->store);
        return CURLE_OK;
}

static void transfer_drop_store(struct transfer *t) {
        X509_STORE_free(t->store);
        t->store = NULL;
}

static int transfer_setup(struct http *h, struct transfer *t) {
        const struct endpoint_config *ep = t->ep;
        CURL *c = t->easy;
        CURLcode cc = CURLE_OK;

        curl_easy_reset(c);
        transfer_drop_store(t);
        body_scan_init(&t->scan, ep);
        t->body_bytes = 0;
        t->stopped = false;
        t->socket_errno = 0;
        t->error[0] = '\0';

#define SET(opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val); } while (0)
        SET(CURLOPT_URL, ep->url);
        SET(CURLOPT_PRIVATE, t);
        SET(CURLOPT_NOSIGNAL, 1L);
        /* Do not wait for a slow name lookup when a transfer is aborted (stop, reload). */
        SET(CURLOPT_QUICK_EXIT, 1L);
        /* Warm the HTTP path users hit, and nothing else, even through a redirect. */
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_TIMEOUT_MS, (long) (ep->timeout_usec / USEC_PER_MSEC));
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long) (ep->connect_timeout_usec / USEC_PER_MSEC));
        SET(CURLOPT_USERAGENT, h->user_agent);
        SET(CURLOPT_HTTPHEADER, t->headers);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, t);
        SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
        SET(CURLOPT_OPENSOCKETDATA, t);
        SET(CURLOPT_ERRORBUFFER, t->error);
        /* A warm-up answer is small; a smaller receive buffer is ~12 KiB less per request in flight. */
        SET(CURLOPT_BUFFERSIZE, 4096L);
        t->body_sent = 0;
        if (t->held) {
                SET(CURLOPT_POST, 1L);
                SET(CURLOPT_POSTFIELDSIZE, (long) strlen(ep->body));
                SET(CURLOPT_READFUNCTION, on_read);
                SET(CURLOPT_READDATA, t);
                SET(CURLOPT_SEEKFUNCTION, on_seek);
                SET(CURLOPT_SEEKDATA, t);
        } else if (ep->body) {
                SET(CURLOPT_POSTFIELDS, ep->body);
                SET(CURLOPT_POSTFIELDSIZE, (long) strlen(ep->body));
        } else if (ep->method && (streq(ep->method, "POST") || streq(ep->method, "PUT") || streq(ep->method, "PATCH"))) {
                /* An empty body, so the request says "Content-Length: 0": some gateways answer 411 without. */
                SET(CURLOPT_POSTFIELDS, "");
                SET(CURLOPT_POSTFIELDSIZE, 0L);
        }
        if (ep->method && streq(ep->method, "HEAD"))
                SET(CURLOPT_NOBODY, 1L);
        else if (ep->method && !streq(ep->method, "POST") && !streq(ep->method, "GET"))
                SET(CURLOPT_CUSTOMREQUEST, ep->method);
        if (t->probe)
                SET(CURLOPT_CONNECT_ONLY, 1L);
        SET(CURLOPT_SHARE, NULL);
        if (is_https(ep->url)) {
                const char *ca = ep->ca_file ? ep->ca_file : h->system_ca;
                struct ca_store *cs = NULL;

                /* Verification is libcurl's default, and nothing here turns it off. */
                if (ca && ca_store_get(h, ca, &cs) >= 0 && X509_STORE_up_ref(cs->store) == 1) {
                        t->store = cs->store;
                        SET(CURLOPT_CAINFO, NULL);
                        /*
                         * libcurl reuses a connection for a request whose TLS
                         * settings match (Curl_ssl_config_matches()), and the
                         * store given in on_ssl_ctx() is not one of them: an
                         * endpoint whose CA does not sign the server's
                         * certificate had its requests go over a connection
                         * another endpoint's ca_file had verified.  A CA path
                         * is: one for each parse of each file keeps the
                         * connections apart.  libcurl adds it to the store
                         * on_ssl_ctx() gave, after the callback, as a
                         * directory to look certificates up in; so it names
                         * none: a path under /dev/null, with no ':' (OpenSSL
                         * splits on it), where every lookup fails (ENOTDIR).
                         * Built from the file's own path, a ca_file named
                         * "DIR:x.pem" made DIR a trusted directory.
                         */
                        SET(CURLOPT_CAPATH, cs->tag);
                        SET(CURLOPT_CA_CACHE_TIMEOUT, 0L);
                        SET(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
                        SET(CURLOPT_SSL_CTX_DATA, t);
                        SET(CURLOPT_SHARE, cs->share);
                } else if (ep->ca_file) {
                        /* Unreadable or not PEM: libcurl tries it itself, and its error names the file. */
                        SET(CURLOPT_CAINFO, ep->ca_file);
                        SET(CURLOPT_CAPATH, NULL);
                }
                if (ep->client_cert)
                        SET(CURLOPT_SSLCERT, ep->client_cert);
                if (ep->client_key)
                        SET(CURLOPT_SSLKEY, ep->client_key);
        }
        /*
         * With HTTP/2, a round's requests leave together as streams on a few
         * connections, one handshake per STREAMS_PER_CONNECTION requests
         * instead of one each (see group_close()).  Each stream is a request
         * of its own to the platform: the bench saw N containers for N streams.
         */
        switch (ep->http_version) {
        case HTTP_VERSION_AUTO:
                SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
                break;
        case HTTP_VERSION_1_1:
                SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
                break;
        case HTTP_VERSION_2:
                /* Over TLS, ALPN offers h2; over plain http, h2 from the first byte (no upgrade). */
                SET(CURLOPT_HTTP_VERSION,
                    (long) (is_https(ep->url) ? CURL_HTTP_VERSION_2_0 : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
                /*
                 * libcurl 7.88 breaks a prior-knowledge connection that a
                 * second request reuses ("Error in the HTTP2 framing layer",
                 * curl issue 10634, fixed in 8.0.0): 297 of 300 failed.
                 */
                if (!is_https(ep->url)) {
                        SET(CURLOPT_FRESH_CONNECT, 1L);
                        SET(CURLOPT_FORBID_REUSE, 1L);
                }
                break;
        }
        if (t->waiting) {
                /* A follower (see group_close()) waits for a connection in its handshake that may carry it. */
                SET(CURLOPT_PIPEWAIT, 1L);
                SET(CURLOPT_PREREQFUNCTION, on_prereq);
                SET(CURLOPT_PREREQDATA, t);
        }
#undef SET
        if (cc != CURLE_OK)
                return log_full(LOG_ERR, EINVAL, "Failed to set up a request for %s: %s", ep->name,
                                curl_easy_strerror(cc));
        return 0;
}

int http_start(struct http *h, const struct endpoint_config *ep, const struct curl_slist *headers, unsigned flags,
               void *userdata) {
        struct transfer *t = h->free_list;
        int r;

        if (t)
                h->free_list = t->next;
        else {
                t = calloc(1, sizeof *t);
                if (!t)
                        return -ENOMEM;
                t->easy = curl_easy_init();
                if (!t->easy) {
                        free(t);
                        return -ENOMEM;
                }
        }
        t->http = h;
        t->ep = ep;
        t->userdata = userdata;
        t->headers = headers ? headers : ep->header_list;
        t->probe = flags & HTTP_PROBE;
        t->next = NULL;
        t->waited_usec = 0;

        r = h->multi ? 0 : multi_new(h);
        if (r >= 0 && !t->probe) {
                bool body = ep->body && ep->body[0] && !streq_ptr(ep->method, "HEAD");
                bool streams = wants_streams(ep);

                if (body || streams)
                        r = group_join(h, t, body, streams);
        }
        if (r >= 0)
                r = transfer_setup(h, t);
        /* A request that may go as an HTTP/2 stream waits for the end of this pass (group_close()). */
        if (r >= 0 && !t->waiting && curl_multi_add_handle(h->multi, t->easy) != CURLM_OK)
                r = -EIO;
        if (r < 0) {
                release(h, t, false);   /* a handle that failed setup is in no known state */
                return r;
        }

        t->next = h->active;
        if (h->active)
                h->active->prev = t;
        h->active = t;
        h->n_active++;
        return 0;
}

unsigned http_abort(struct http *h, void *userdata) {
        struct transfer *t, *next;
        unsigned n = 0;

        for (t = h->active; t; t = next) {
                next = t->next;
                if (t->userdata == userdata) {
                        discard(h, t);
                        n++;
                }
        }
        return n;
}

/* curl_easy_header()'s result lives only until its next call, so it is copied out. */
static const char *header_value(CURL *c, const char *name, char *buf, size_t size) {
        struct curl_header *hdr;

        if (!name || curl_easy_header(c, name, 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK)
                return NULL;
        snprintf(buf, size, "%s", hdr->value);
        return buf;
}

/* Out of descriptors is a local limit to raise, not the endpoint's fault: say which one. */
static const char *socket_error(int e) {
        switch (e) {
        case EMFILE:
                return "out of file descriptors (EMFILE, warmd's limit: raise LimitNOFILE=)";
        case ENFILE:
                return "out of file descriptors (ENFILE, the system's limit: fs.file-max)";
        default:
                return strerror(e);
        }
}

static void finish(struct http *h, struct transfer *t, CURLcode code) {
        char reuse[64], instance[INSTANCE_MAX], fn_error[64], error_type[128], log_tail[LAMBDA_LOG_TAIL_MAX + 1];
        curl_off_t total = 0, connect = 0, ttfb = 0;
        long request_bytes = 0, http_version = CURL_HTTP_VERSION_NONE;
        const struct endpoint_config *ep = t->ep;
        void *userdata = t->userdata;
        struct response r;

        if (t->stopped && code == CURLE_WRITE_ERROR)
                code = CURLE_OK;        /* on_write() stopped reading: all there was to know is known */
        r = (struct response) {
                .curl_code = code,
                .curl_error = t->error,
                .probe = t->probe,
        };

        (void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.http_status);
        (void) curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
        (void) curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect);
        (void) curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
        /* Times count from the start of the request, a wait for its group's connections included. */
        r.total_usec = t->waited_usec + (uint64_t) total;
        r.connect_usec = t->waited_usec + (uint64_t) connect;
        r.ttfb_usec = t->waited_usec + (uint64_t) ttfb;
        /* Sent means the request itself was written, whatever came of it. */
        (void) curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
        (void) curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &http_version);
        r.sent = request_bytes > 0;
        if (code != CURLE_OK && !r.sent && t->socket_errno != 0)
                snprintf(t->error, sizeof t->error, "not sent: no socket: %s", socket_error(t->socket_errno));
        if (t->group)
                leader_failed(t, code);         /* with the reason as told */
        if (code == CURLE_OK && !t->probe) {
                r.reuse_header = header_value(t->easy, ep->reuse_header, reuse, sizeof reuse);
                r.instance_header = header_value(t->easy, ep->instance_header, instance, sizeof instance);
                body_scan_end(&t->scan);
                r.scan = &t->scan;
        }
        if (code == CURLE_OK && !t->probe && ep->lambda) {
                r.aws_function_error = header_value(t->easy, "X-Amz-Function-Error", fn_error, sizeof fn_error);
                r.aws_error_type = header_value(t->easy, "x-amzn-ErrorType", error_type, sizeof error_type);
                r.aws_log_result = header_value(t->easy, "X-Amz-Log-Result", log_tail, sizeof log_tail);
        }

        /* Off the multi handle before the callback, which may start new requests; back into the
         * pool only after it, because the response still points into this transfer's scan. */
        (void) curl_multi_remove_handle(h->multi, t->easy);
        unlink_active(h, t);
        h->done(userdata, ep, &r);
        body_scan_done(&t->scan);
        release(h, t, code == CURLE_OK && http_version < CURL_HTTP_VERSION_2_0);
}

/* Drains every finished transfer, not just one: a round finishes many at once. */
static void check_done(struct http *h) {
        CURLMsg *msg;
        int left;

        while (!h->freeing && h->multi && (msg = curl_multi_info_read(h->multi, &left))) {
                struct transfer *t = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t) != CURLE_OK || !t)
                        continue;
                finish(h, t, msg->data.result);
        }
        if (!h->freeing && h->release_pending)
                release_bodies(h);
        if (!h->freeing && h->ready)
                release_followers(h);
        if (!h->freeing && h->n_active == 0 && h->multi)
                drop_idle(h);
}

bool http_alive(const struct http *h) {
        int enabled = SD_EVENT_OFF;

        return h->timer && h->epoll_source && sd_event_source_get_enabled(h->epoll_source, &enabled) >= 0 &&
               enabled != SD_EVENT_OFF;
}
