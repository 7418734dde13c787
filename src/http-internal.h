/* SPDX-License-Identifier: MIT */
/*
 * http-internal.h: what the three parts of http share, and nothing else may
 * see.  http.c runs libcurl on sd-event and keeps the pool of transfers;
 * http-round.c makes the requests of a round leave together; http-tls.c
 * keeps the CA stores and the TLS session caches.
 */
#pragma once

#include <sys/epoll.h>
#include <sys/stat.h>

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
        char *tag;                      /* keeps connections apart by trust (see tls_setup()) */
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
        /* A follower waits no longer than its leader may take to connect (start_followers()). */
        uint64_t timeout_usec, connect_timeout_usec;
        bool scouted;                   /* its origin's ALPN was asked for (scout_start()) */
        bool rescout;                   /* the scout under TLS 1.2 was refused: ask again without the cap */
        bool serial;                    /* the origin speaks HTTP/1.1: every member goes at once */
        struct group_conn {             /* the leaders' connections, by local port (note_stream()) */
                int port;
                unsigned streams;
        } *conns;
        unsigned n_conns, max_conns;
        unsigned per_connection;        /* streams a leader's connection was to carry */
};

struct transfer {
        CURL *easy;
        struct http *http;
        X509_STORE *store;              /* for on_ssl_ctx(); NULL: libcurl's own CA handling */
        struct group *group;            /* NULL: leaves as soon as it can */
        bool held;                      /* its body waits for the rest of the group */
        bool waiting;                   /* a follower not yet on the multi handle (in group->waiting) */
        bool leader;                    /* opens a connection for the group's followers, not ready yet */
        bool scout;                     /* connect-only, asks the group's origin for its ALPN (scout_start()) */
        bool tls12;                     /* at most TLS 1.2: a request that leaves as its handshake ends (tls12_wanted()) */
        struct transfer *wait_prev, *wait_next;
        uint64_t started_usec;          /* CLOCK_MONOTONIC, when a follower was taken; see follower_timeout() */
        uint64_t waited_usec;           /* kept back for its group's connections */
        bool asked;                     /* libcurl has asked for its body */
        size_t body_sent;               /* of req.body, when it goes through on_read() */
        struct http_request req;        /* the caller's, copied */
        void *userdata;
        bool probe;
        bool stopped;                   /* reading stopped on purpose: everything to know was known */
        struct transfer *prev, *next;   /* in the active list, or next in the free list */
        void *body_state;               /* req.on_body's, for req.body_free */
        bool body_enough;               /* req.on_body has read enough */
        char *kept;                     /* req.keep_body: the body's start, NUL-terminated */
        size_t kept_len;
        uint64_t body_bytes;            /* body bytes received */
        int socket_errno;               /* why socket() failed for it; 0: it did not */
        char error[CURL_ERROR_SIZE];
};

struct http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        bool timer_wanted;              /* curl has asked for a timeout: the timer must be armed */
        bool failed;                    /* http_fail(): the loop is ending */
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
        sd_event_source *pass_end;      /* closes the opening groups, starts the ready ones' followers */
        bool release_pending;           /* some group has no member with a body pending any more */
        char *system_ca;                /* libcurl's built-in CA bundle; NULL: none */
        struct ca_store *cas;
        size_t n_cas, cap_cas;
        unsigned ca_parses;             /* of any CA file: each parse's connections are its own */
        CURLSH **retired;               /* session caches of CA files since changed, until no handle uses them */
        size_t n_retired, cap_retired;
        struct origin *origins;         /* what ALPN gave, most recently used first (http-origin.c) */
        size_t n_origins;
};

/* What TLS negotiated with an origin (ALPN), as far as http knows. */
enum alpn {
        ALPN_UNKNOWN,
        ALPN_H1,                        /* http/1.1, or no ALPN at all: one request per connection at a time */
        ALPN_H2,
};

/* Whether an origin accepts a handshake with TLS at most 1.2, as far as http knows (see tls12_wanted()). */
enum tls12 {
        TLS12_UNKNOWN,
        TLS12_YES,
        TLS12_REFUSED,
};

/*
 * libcurl's default limit of streams on one HTTP/2 connection, set for
 * certain, and the least RFC 9113 asks a server to allow: nginx allows 128.
 */
#define STREAMS_PER_CONNECTION 100

static inline bool is_https(const char *url) {
        return strncasecmp(url, "https://", 8) == 0;
}

/* http.c */
int transfer_get(struct http *h, struct transfer **ret);
int transfer_setup(struct http *h, struct transfer *t);
void transfer_activate(struct http *h, struct transfer *t);
void transfer_put_back(struct http *h, struct transfer *t, bool reuse);
void transfer_finish(struct http *h, struct transfer *t, CURLcode code);
void after_curl(struct http *h);

/* http-origin.c */
enum alpn origin_alpn(struct http *h, const struct http_request *req);
void origin_learn(struct http *h, const struct http_request *req, enum alpn alpn);
unsigned origin_streams(struct http *h, const struct http_request *req);
void origin_learn_streams(struct http *h, const struct http_request *req, unsigned streams);
enum tls12 origin_tls12(struct http *h, const struct http_request *req);
void origin_learn_tls12(struct http *h, const struct http_request *req, enum tls12 tls12);
enum alpn alpn_of_connection(CURL *easy);
void origins_free(struct http *h);

/* http-round.c */
size_t origin_length(const char *url);
bool round_wants_streams(struct http *h, const struct http_request *req);
bool request_holds_body(const struct http_request *req);
bool tls12_wanted(struct http *h, const struct http_request *req);
bool tls12_unknown(struct http *h, const struct http_request *req);
void tls12_set(struct transfer *t);
int group_join(struct http *h, struct transfer *t, bool body, bool follow);
void group_leave(struct transfer *t);
void group_unref(struct group *g);
void leader_failed(struct transfer *t, CURLcode code);
CURLcode held_body_setup(struct transfer *t);
CURLcode follower_setup(struct transfer *t);
CURLcode scout_setup(struct transfer *t);
void send_held_bodies(struct http *h);
void start_followers(struct http *h);
int on_pass_end(sd_event_source *s, void *userdata);

/* http-tls.c */
int system_ca_find(char **ret);
CURLcode tls_setup(struct http *h, struct transfer *t);
void tls_drop_store(struct transfer *t);
void tls_retired_free(struct http *h);
void tls_free(struct http *h);
