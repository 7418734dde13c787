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
 * back (see transfer_put_back()).  When all is quiet, the pool and curl's
 * idle connections are released (see drop_idle()).
 *
 * Making a round's requests leave together is http-round.c's; the CA stores
 * and TLS session caches are http-tls.c's.
 *
 * Failures in the event loop's callbacks: none returns an error to
 * sd-event, which would turn its source off without a word and leave warmd
 * looking alive while no request is ever answered again.  A transfer's own
 * trouble fails that transfer, and the loop goes on.  What means http can no
 * longer work (epoll_wait() on curl's set failing with other than EINTR,
 * curl_multi_socket_action() failing, the curl timer that cannot be armed)
 * is logged once and ends the loop with its -errno (see http_fail()), which
 * main.c turns into exit status 3 for systemd to restart warmd.
 * http_alive() tells the watchdog whether the sources are as they should be.
 */
#include "config.h"

#include <malloc.h>
#include <strings.h>
#include <unistd.h>

#include "http-internal.h"

static void transfer_free(struct transfer *t);

/* http cannot work any more: says why, once, and ends the loop.  Returns 0, for sd-event. */
static int http_fail(struct http *h, int err, const char *what) {
        if (!h->failed) {
                h->failed = true;
                log_error_errno(err, "%s; stopping, as no request could be sent or answered any more", what);
        }
        (void) sd_event_exit(h->event, -abs(err));
        return 0;
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
                        return http_fail(h, errno, "epoll_wait() on the curl sockets failed");
                }
                for (int i = 0; i < n; i++) {
                        uint32_t ev = h->events[i].events;
                        int action = 0;
                        CURLMcode mc;

                        if (ev & (EPOLLIN | EPOLLPRI | EPOLLHUP))
                                action |= CURL_CSELECT_IN;
                        if (ev & EPOLLOUT)
                                action |= CURL_CSELECT_OUT;
                        if (ev & EPOLLERR)
                                action |= CURL_CSELECT_ERR;
                        /* A socket closed earlier in this batch is unknown to curl by now, which ignores it. */
                        mc = curl_multi_socket_action(h->multi, h->events[i].data.fd, action, &running);
                        if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET) {
                                log_error("curl_multi_socket_action() failed on fd %d: %s", h->events[i].data.fd,
                                          curl_multi_strerror(mc));
                                return http_fail(h, EIO, "curl cannot go on with the transfers in flight");
                        }
                }
        } while (n == (int) ELEMENTSOF(h->events));

        after_curl(h);
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
        CURLMcode mc;
        int running;

        h->timer_wanted = false;        /* a one-shot: curl arms it again if it has more to time */
        if (!h->multi)
                return 0;
        mc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        if (mc != CURLM_OK) {
                log_error("curl_multi_socket_action() failed on timeout: %s", curl_multi_strerror(mc));
                return http_fail(h, EIO, "curl cannot go on with the transfers in flight");
        }
        after_curl(h);
        return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        struct http *h = userp;
        int r;

        /* Transfers aborted after the loop has finished (at exit) need no timer. */
        if (sd_event_get_state(h->event) == SD_EVENT_FINISHED)
                return 0;
        if (timeout_ms < 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        else {
                /* curl's timeouts are exact: no coalescing slack (sd-event's default accuracy is 250 ms). */
                r = sd_event_source_set_time_relative(h->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0) {
                /* Without its timer, curl would never time out, retry or even start a transfer. */
                (void) http_fail(h, r, "Failed to arm the curl timer");
                return -1;
        }
        h->timer_wanted = timeout_ms >= 0;
        return 0;
}

/* req.keep_body: the body's start, for requests whose answer is the body itself.  True when it has all it keeps. */
static bool keep_piece(struct transfer *t, const char *data, size_t len) {
        size_t max = t->req.keep_body;

        if (!t->kept && !(t->kept = malloc(max + 1)))
                return true;
        if (len > max - t->kept_len)
                len = max - t->kept_len;
        memcpy(t->kept + t->kept_len, data, len);
        t->kept_len += len;
        t->kept[t->kept_len] = '\0';
        return t->kept_len >= max;
}

/*
 * A body is read only as far as it tells something: as long as the
 * request's on_body wants more (its JSON fields still unknown, say), and
 * not at all without one.  The answer shows the request reached its
 * server, so stopping is a success, not a failure; a 100 MB body is not
 * downloaded every round.  A body that ends in this very piece is taken
 * whole, which leaves the connection fit for reuse.
 */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct transfer *t = userdata;
        size_t n = size * nmemb;
        curl_off_t length = -1;
        bool enough = true;

        t->body_bytes += n;
        if (t->req.keep_body > 0)
                enough = keep_piece(t, data, n);
        if (t->req.on_body && !t->body_enough)
                t->body_enough = t->req.on_body(t->req.body_userdata, &t->body_state, data, n);
        if (!enough || !t->body_enough)
                return n;
        if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length >= 0 &&
            t->body_bytes >= (uint64_t) length)
                return n;
        t->stopped = true;
        return CURL_WRITEFUNC_ERROR;
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
        tls_retired_free(h);
        /* A round's buffers were freed just now; give the pages back for the quiet minutes ahead. */
        (void) malloc_trim(0);
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

bool http_alive(const struct http *h) {
        int enabled = SD_EVENT_OFF;

        if (h->failed)
                return false;
        if (sd_event_source_get_enabled(h->epoll_source, &enabled) < 0 || enabled != SD_EVENT_ON)
                return false;
        if (h->timer_wanted && (sd_event_source_get_enabled(h->timer, &enabled) < 0 || enabled == SD_EVENT_OFF))
                return false;
        return true;
}

void http_secret_headers_free(struct curl_slist *l) {
        for (struct curl_slist *i = l; i; i = i->next)
                explicit_bzero(i->data, strlen(i->data));
        curl_slist_free_all(l);
}

void http_set_user_agent(struct http *h, const char *user_agent) {
        char *s = strdup(user_agent);

        if (!s)
                return;         /* keep the old one: a user agent is not worth failing a reload for */
        free(h->user_agent);
        h->user_agent = s;
}

/* What the request's answer left in the transfer: on_body's state and the body kept. */
static void transfer_answer_free(struct transfer *t) {
        if (t->body_state && t->req.body_free)
                t->req.body_free(t->body_state);
        t->body_state = NULL;
        /* A kept body is a small API answer, such as a token: wiped, like every secret. */
        if (t->kept)
                explicit_bzero(t->kept, t->kept_len);
        free(t->kept);
        t->kept = NULL;
        t->kept_len = 0;
}

static void transfer_free(struct transfer *t) {
        if (!t)
                return;
        transfer_answer_free(t);
        curl_easy_cleanup(t->easy);
        X509_STORE_free(t->store);
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
 * curl_easy_reset(): libcurl 7.88.1 keeps a receive buffer after a failed
 * name lookup, or after an HTTP/2 stream whose connection others still use,
 * and then refuses CURLOPT_BUFFERSIZE on that handle for good, so the next
 * request on it fails to start.  Only a clean end over HTTP/1.x is trusted;
 * the rest costs one curl_easy_init() per request.
 */
void transfer_put_back(struct http *h, struct transfer *t, bool reuse) {
        group_leave(t);
        if (!reuse) {
                transfer_free(t);
                return;
        }
        transfer_answer_free(t);
        t->req = (struct http_request) {};
        t->userdata = NULL;
        t->prev = NULL;
        t->next = h->free_list;
        h->free_list = t;
}

/* Takes t off the multi handle, with no callback. */
static void transfer_abort(struct http *h, struct transfer *t) {
        (void) curl_multi_remove_handle(h->multi, t->easy);
        unlink_active(h, t);
        transfer_put_back(h, t, false);
}

struct http *http_free(struct http *h) {
        struct transfer *t;

        if (!h)
                return NULL;
        h->freeing = true;
        while ((t = h->active))
                transfer_abort(h, t);
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
        tls_free(h);
        origins_free(h);
        free(h);
        return NULL;
}

int transfer_setup(struct http *h, struct transfer *t) {
        const struct http_request *req = &t->req;
        CURL *c = t->easy;
        CURLcode cc = CURLE_OK;

        curl_easy_reset(c);
        tls_drop_store(t);
        t->body_enough = !req->on_body;       /* without one, no more of the body is wanted */
        t->body_bytes = 0;
        t->stopped = false;
        t->socket_errno = 0;
        t->error[0] = '\0';

#define SET(opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val); } while (0)
        SET(CURLOPT_URL, req->url);
        SET(CURLOPT_PRIVATE, t);
        SET(CURLOPT_NOSIGNAL, 1L);
        /* Do not wait for a slow name lookup when a transfer is aborted (stop, reload). */
        SET(CURLOPT_QUICK_EXIT, 1L);
        /* Warm the HTTP path users hit, and nothing else, even through a redirect. */
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_TIMEOUT_MS, (long) (req->timeout_usec / USEC_PER_MSEC));
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long) (req->connect_timeout_usec / USEC_PER_MSEC));
        SET(CURLOPT_USERAGENT, h->user_agent);
        SET(CURLOPT_HTTPHEADER, req->headers);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, t);
        SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
        SET(CURLOPT_OPENSOCKETDATA, t);
        SET(CURLOPT_ERRORBUFFER, t->error);
        /* A warm-up answer is small; a smaller receive buffer is ~12 KiB less per request in flight. */
        SET(CURLOPT_BUFFERSIZE, 4096L);
        t->body_sent = 0;
        if (t->held) {
                if (cc == CURLE_OK)
                        cc = held_body_setup(t);
        } else if (req->body) {
                SET(CURLOPT_POSTFIELDS, req->body);
                SET(CURLOPT_POSTFIELDSIZE, (long) strlen(req->body));
        } else if (req->method && (streq(req->method, "POST") || streq(req->method, "PUT") || streq(req->method, "PATCH"))) {
                /* An empty body, so the request says "Content-Length: 0": some gateways answer 411 without. */
                SET(CURLOPT_POSTFIELDS, "");
                SET(CURLOPT_POSTFIELDSIZE, 0L);
        }
        if (req->method && streq(req->method, "HEAD"))
                SET(CURLOPT_NOBODY, 1L);
        else if (req->method && !streq(req->method, "POST") && !streq(req->method, "GET"))
                SET(CURLOPT_CUSTOMREQUEST, req->method);
        if (t->probe)
                SET(CURLOPT_CONNECT_ONLY, 1L);
        SET(CURLOPT_SHARE, NULL);
        if (is_https(req->url) && cc == CURLE_OK)
                cc = tls_setup(h, t);
        /*
         * With HTTP/2, a round's requests leave together as streams on a few
         * connections, one handshake per STREAMS_PER_CONNECTION requests
         * instead of one each (see group_close()).  Each stream is a request
         * of its own to the platform: the bench saw N containers for N streams.
         */
        switch (req->http_version) {
        case HTTP_VERSION_AUTO:
                SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
                break;
        case HTTP_VERSION_1_1:
                SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
                break;
        case HTTP_VERSION_2:
                /* Over TLS, ALPN offers h2; over plain http, h2 from the first byte (no upgrade). */
                SET(CURLOPT_HTTP_VERSION,
                    (long) (is_https(req->url) ? CURL_HTTP_VERSION_2_0 : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
                /*
                 * libcurl 7.88 breaks a prior-knowledge connection that a
                 * second request reuses ("Error in the HTTP2 framing layer",
                 * curl issue 10634, fixed in 8.0.0): 297 of 300 failed.
                 */
                if (!is_https(req->url)) {
                        SET(CURLOPT_FRESH_CONNECT, 1L);
                        SET(CURLOPT_FORBID_REUSE, 1L);
                }
                break;
        }
        if (t->waiting && cc == CURLE_OK)
                cc = follower_setup(t);
        if (t->scout && cc == CURLE_OK)
                cc = scout_setup(t);
        if (t->tls12 && cc == CURLE_OK)
                tls12_set(t);
#undef SET
        if (cc != CURLE_OK)
                return log_full(LOG_ERR, EINVAL, "Failed to set up a request for %s: %s", req->name,
                                curl_easy_strerror(cc));
        return 0;
}

/* A transfer from the pool, or a new one. */
int transfer_get(struct http *h, struct transfer **ret) {
        struct transfer *t = h->free_list;

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
        t->next = NULL;
        t->waited_usec = 0;
        t->scout = t->tls12 = false;
        *ret = t;
        return 0;
}

/* On the active list: started, and to be aborted or finished. */
void transfer_activate(struct http *h, struct transfer *t) {
        t->next = h->active;
        if (h->active)
                h->active->prev = t;
        h->active = t;
        h->n_active++;
}

int http_start(struct http *h, const struct http_request *req, unsigned flags, void *userdata) {
        struct transfer *t;
        int r;

        if ((flags & HTTP_PROBE) && req->host_is_address)
                return -EINVAL;
        r = transfer_get(h, &t);
        if (r < 0)
                return r;
        t->req = *req;
        t->userdata = userdata;
        t->probe = flags & HTTP_PROBE;

        r = h->multi ? 0 : multi_new(h);
        if (r >= 0 && !t->probe) {
                bool body = request_holds_body(req);
                bool streams = round_wants_streams(h, req);
                bool ask = tls12_unknown(h, req);

                if (body || streams || ask)
                        r = group_join(h, t, body, streams || ask);
                t->tls12 = !streams && tls12_wanted(h, req);
        }
        if (r >= 0)
                r = transfer_setup(h, t);
        /* A request that may go as an HTTP/2 stream waits for the end of this pass (group_close()). */
        if (r >= 0 && !t->waiting && curl_multi_add_handle(h->multi, t->easy) != CURLM_OK)
                r = -EIO;
        if (r < 0) {
                transfer_put_back(h, t, false);      /* a handle that failed setup is in no known state */
                return r;
        }
        transfer_activate(h, t);
        return 0;
}

unsigned http_abort(struct http *h, void *userdata) {
        struct transfer *t, *next;
        unsigned n = 0;

        for (t = h->active; t; t = next) {
                next = t->next;
                if (t->userdata == userdata) {
                        transfer_abort(h, t);
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

void transfer_finish(struct http *h, struct transfer *t, CURLcode code) {
        char captured[HTTP_CAPTURE_BYTES];
        size_t used = 0;
        curl_off_t total = 0, connect = 0, ttfb = 0, pretransfer = 0;
        long request_bytes = 0, http_version = CURL_HTTP_VERSION_NONE;
        void *userdata = t->userdata;
        struct http_response r;

        if (t->stopped && code == CURLE_WRITE_ERROR)
                code = CURLE_OK;        /* on_write() stopped reading: all there was to know is known */
        r = (struct http_response) {
                .curl_code = code,
                .curl_error = t->error,
                .probe = t->probe,
        };

        (void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.http_status);
        (void) curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
        (void) curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect);
        (void) curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
        (void) curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        /* Times count from the start of the request, a wait for its group's connections included. */
        r.total_usec = t->waited_usec + (uint64_t) total;
        r.connect_usec = t->waited_usec + (uint64_t) connect;
        r.ttfb_usec = t->waited_usec + (uint64_t) ttfb;
        r.pretransfer_usec = t->waited_usec + (uint64_t) pretransfer;
        /* Sent means the request itself was written, whatever came of it. */
        (void) curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
        (void) curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &http_version);
        r.sent = request_bytes > 0;
        if (code != CURLE_OK && !r.sent && t->socket_errno != 0)
                snprintf(t->error, sizeof t->error, "not sent: no socket: %s", socket_error(t->socket_errno));
        if (t->group)
                leader_failed(t, code);         /* with the reason as told */
        /*
         * A handshake under TLS 1.2 that failed may be a server that no
         * longer takes it, or one reset under load: which, the next round's
         * scout asks (tls12_unknown()), rather than one failure deciding
         * for every round after.
         */
        if (t->tls12 && !t->scout && code == CURLE_SSL_CONNECT_ERROR)
                origin_learn_tls12(h, &t->req, TLS12_UNKNOWN);
        /* Under "auto", what the origin speaks now decides how its next round goes (round_wants_streams()). */
        if (code == CURLE_OK && !t->probe && t->req.http_version == HTTP_VERSION_AUTO && is_https(t->req.url))
                origin_learn(h, &t->req, http_version >= CURL_HTTP_VERSION_2_0 ? ALPN_H2 : ALPN_H1);
        if (code == CURLE_OK && !t->probe) {
                for (size_t i = 0; i < HTTP_CAPTURE_MAX && used < sizeof captured; i++)
                        if ((r.headers[i] = header_value(t->easy, t->req.capture[i], captured + used,
                                                         sizeof captured - used)))
                                used += strlen(r.headers[i]) + 1;
                r.body = t->kept;
                r.body_len = t->kept_len;
                r.body_state = t->body_state;
        }

        /* Off the multi handle before the callback, which may start new requests; back into the
         * pool only after it, because the response still points into this transfer's answer. */
        (void) curl_multi_remove_handle(h->multi, t->easy);
        unlink_active(h, t);
        if (!t->scout)          /* http's own, for its group (scout_start()) */
                h->done(userdata, &r);
        transfer_put_back(h, t, code == CURLE_OK && http_version < CURL_HTTP_VERSION_2_0);
}

/*
 * After every call into curl: reports every finished transfer, not just one
 * (a round finishes many at once), then lets held bodies and waiting
 * followers go, and drops what is idle.
 */
void after_curl(struct http *h) {
        CURLMsg *msg;
        int left;

        while (!h->freeing && h->multi && (msg = curl_multi_info_read(h->multi, &left))) {
                struct transfer *t = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t) != CURLE_OK || !t)
                        continue;
                transfer_finish(h, t, msg->data.result);
        }
        if (!h->freeing && h->release_pending)
                send_held_bodies(h);
        if (!h->freeing && h->ready)
                start_followers(h);
        if (!h->freeing && h->n_active == 0 && h->multi)
                drop_idle(h);
}
