/* SPDX-License-Identifier: MIT */
/*
 * http.h: http's own request API.  A request says what to send and what of
 * the answer to keep; http knows nothing of endpoints, configuration or
 * results.  Many requests go at once, on one sd-event loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

enum http_version {
        HTTP_VERSION_AUTO,              /* HTTP/2 where TLS negotiates it, else HTTP/1.1 */
        HTTP_VERSION_1_1,
        HTTP_VERSION_2,                 /* HTTP/2, requests of a round multiplexed */
};

#define HTTP_CAPTURE_MAX        5               /* response headers a request may capture */
#define HTTP_CAPTURE_BYTES      (16U * 1024U)   /* room for their values, in all: a longer one is cut short */

/*
 * Receives the response body as it streams in.  *state is NULL when a
 * request starts; the callback may keep there what it needs from one piece
 * to the next, and the request's body_free frees it once the request is
 * over (after the done callback, or when it is aborted).  Returns true once
 * it has read enough: the rest is not read, and the request still succeeds.
 */
typedef bool (*http_body_fn)(void *body_userdata, void **state, const char *data, size_t len);

/*
 * One request.  http_start() copies the struct; the strings and the header
 * list it points to must outlive the request.
 */
struct http_request {
        const char *name;               /* for log messages: never the URL, which may hold a secret */
        const char *url;                /* absolute, http or https */
        const char *method;             /* NULL: GET, or POST with a body */
        const struct curl_slist *headers;       /* "Name: value"; NULL: none */
        const char *body;               /* NUL-terminated; NULL: none */
        uint64_t timeout_usec;          /* the whole request, a wait for its group's connections included */
        uint64_t connect_timeout_usec;
        /* TLS: paths, read when a connection is made. */
        const char *ca_file;            /* NULL: libcurl's built-in CA bundle */
        const char *client_cert;        /* NULL: none */
        const char *client_key;         /* NULL: the key is in client_cert's file */
        enum http_version http_version;
        bool host_is_address;           /* the URL names an IP address: a probe has nothing to resolve */
        /* What to keep of the answer. */
        const char *capture[HTTP_CAPTURE_MAX];  /* response headers, by name; NULL entries are none */
        size_t keep_body;               /* keep the body's first this many bytes (small API answers); 0: none */
        http_body_fn on_body;           /* NULL: the body is not read, beyond what keep_body keeps */
        void *body_userdata;
        void (*body_free)(void *state);
};

/* What became of one request: a plain view, valid during the done callback. */
struct http_response {
        CURLcode curl_code;             /* CURLE_OK when a response arrived */
        const char *curl_error;         /* why not, as curl (or http) says; or NULL */
        long http_status;
        uint64_t total_usec;            /* times from the start of the request */
        uint64_t connect_usec;
        uint64_t ttfb_usec;
        uint64_t pretransfer_usec;      /* until the request was about to be written */
        bool sent;                      /* the request was written to a connection */
        bool probe;                     /* a connect-only probe (HTTP_PROBE), not a request */
        const char *headers[HTTP_CAPTURE_MAX];  /* values of the request's capture[]; NULL: absent */
        const char *body;               /* keep_body: the body's start, NUL-terminated; NULL: none */
        size_t body_len;
        void *body_state;               /* what on_body kept in *state; NULL: nothing */
};

struct http;

typedef void (*http_done_fn)(void *userdata, const struct http_response *r);

int http_new(sd_event *e, const char *user_agent, http_done_fn done, struct http **ret);
struct http *http_free(struct http *h);

enum {
        /* Resolve and connect only, send nothing: warms curl's DNS cache before a round. */
        HTTP_PROBE = 1 << 0,
};

/*
 * Starts one request (or probe) now; done is called when it ends, unless
 * it is aborted.  The caller enforces max_parallel.  A probe of a request
 * whose host is an address is refused (-EINVAL): there is nothing to
 * resolve.
 */
int http_start(struct http *h, const struct http_request *req, unsigned flags, void *userdata);
/* Aborts every request started with this userdata; no callback is made for them. */
unsigned http_abort(struct http *h, void *userdata);
void http_set_user_agent(struct http *h, const char *user_agent);
/*
 * Whether http still works: its sources are on (the curl sockets' always,
 * the curl timer whenever curl has asked for a timeout) and nothing fatal
 * has happened.  For the watchdog.
 */
bool http_alive(const struct http *h);
/* Frees a header list that holds a secret (a signature, a session token): each header is wiped first. */
void http_secret_headers_free(struct curl_slist *l);
/* Descriptors that many requests in flight take at their busiest, lookups of them resolving a name. */
unsigned long http_fds_needed(unsigned long requests, unsigned long lookups);
