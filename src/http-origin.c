/* SPDX-License-Identifier: MIT */
/*
 * http-origin.c: what http remembers of each origin across rounds: whether
 * TLS (ALPN) gave it HTTP/2 or HTTP/1.1, and how many streams one of its
 * HTTP/2 connections carried (see note_stream()), and whether it accepts
 * TLS 1.2 (see tls12_wanted()).  An origin is what
 * libcurl shares connections by, as groups key them (see group_fits()):
 * scheme, host and port, the CA file and the client certificate.
 */
#include "config.h"

#include <strings.h>

#include <openssl/ssl.h>

#include "http-internal.h"

/*
 * Bounded: a warmd that warms more origins than this forgets the least
 * recently used, whose next round asks again (one connect-only handshake,
 * see scout_start()).  256 entries of a few short strings each: some KiB.
 * The list is kept most recently used first, so a round's requests, all to
 * one origin, find it at the head.
 */
#define ORIGINS_MAX 256

struct origin {
        char *origin;                   /* scheme://authority */
        char *ca_file, *client_cert;
        enum alpn alpn;
        unsigned streams;               /* an HTTP/2 connection carried this many at most; 0: not known */
        enum tls12 tls12;
};

static bool origin_fits(const struct origin *o, const struct http_request *req) {
        size_t n = origin_length(req->url);

        return strlen(o->origin) == n && strncasecmp(o->origin, req->url, n) == 0 &&
               streq_ptr(o->ca_file, req->ca_file) && streq_ptr(o->client_cert, req->client_cert);
}

static void origin_done(struct origin *o) {
        free(o->origin);
        free(o->ca_file);
        free(o->client_cert);
}

/* The index of req's origin, moved to the head; -1: not known. */
static ssize_t origin_find(struct http *h, const struct http_request *req) {
        for (size_t i = 0; i < h->n_origins; i++)
                if (origin_fits(&h->origins[i], req)) {
                        struct origin o = h->origins[i];

                        memmove(h->origins + 1, h->origins, i * sizeof *h->origins);
                        h->origins[0] = o;
                        return 0;
                }
        return -1;
}

/* req's origin, at the head of the list; created when it is not known yet and create is set. */
static struct origin *origin_entry(struct http *h, const struct http_request *req, bool create) {
        struct origin o = {};

        if (origin_find(h, req) >= 0)
                return &h->origins[0];
        if (!create)
                return NULL;
        if (!h->origins) {
                h->origins = calloc(ORIGINS_MAX, sizeof *h->origins);
                if (!h->origins)
                        return NULL;
        }
        o.origin = strndup(req->url, origin_length(req->url));
        o.ca_file = req->ca_file ? strdup(req->ca_file) : NULL;
        o.client_cert = req->client_cert ? strdup(req->client_cert) : NULL;
        if (!o.origin || (req->ca_file && !o.ca_file) || (req->client_cert && !o.client_cert)) {
                origin_done(&o);
                return NULL;
        }
        if (h->n_origins == ORIGINS_MAX)
                origin_done(&h->origins[--h->n_origins]);
        memmove(h->origins + 1, h->origins, h->n_origins * sizeof *h->origins);
        h->origins[0] = o;
        h->n_origins++;
        return &h->origins[0];
}

enum alpn origin_alpn(struct http *h, const struct http_request *req) {
        struct origin *o = origin_entry(h, req, false);

        return o ? o->alpn : ALPN_UNKNOWN;
}

/* Remembers what req's origin gave; out of memory, http only forgets it (the next round asks again). */
void origin_learn(struct http *h, const struct http_request *req, enum alpn alpn) {
        struct origin *o;

        if (alpn != ALPN_UNKNOWN && (o = origin_entry(h, req, true)))
                o->alpn = alpn;
}

/* How many requests one HTTP/2 connection to req's origin carries: what was seen, or libcurl's own limit. */
unsigned origin_streams(struct http *h, const struct http_request *req) {
        struct origin *o = origin_entry(h, req, false);

        return o && o->streams > 0 ? o->streams : STREAMS_PER_CONNECTION;
}

void origin_learn_streams(struct http *h, const struct http_request *req, unsigned streams) {
        struct origin *o;

        if (streams > 0 && streams <= STREAMS_PER_CONNECTION && (o = origin_entry(h, req, true)))
                o->streams = streams;
}

enum tls12 origin_tls12(struct http *h, const struct http_request *req) {
        struct origin *o = origin_entry(h, req, false);

        return o ? o->tls12 : TLS12_UNKNOWN;
}

/* TLS12_UNKNOWN forgets what was known: the origin's next round without bodies asks again (scout_start()). */
void origin_learn_tls12(struct http *h, const struct http_request *req, enum tls12 tls12) {
        struct origin *o = origin_entry(h, req, tls12 != TLS12_UNKNOWN);

        if (o)
                o->tls12 = tls12;
}

/*
 * What ALPN gave the connection the transfer is on; only while one is
 * attached (libcurl 7.88.1 answers CURLINFO_TLS_SSL_PTR from data->conn,
 * which CURLOPT_PREREQFUNCTION sees, and the done message no longer does).
 * A TLS connection without ALPN's answer speaks HTTP/1.1.
 */
enum alpn alpn_of_connection(CURL *easy) {
        struct curl_tlssessioninfo *tsi = NULL;
        const unsigned char *proto = NULL;
        unsigned len = 0;

        if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &tsi) != CURLE_OK || !tsi ||
            tsi->backend != CURLSSLBACKEND_OPENSSL || !tsi->internals)
                return ALPN_UNKNOWN;
        SSL_get0_alpn_selected(tsi->internals, &proto, &len);
        return len == 2 && memcmp(proto, "h2", 2) == 0 ? ALPN_H2 : ALPN_H1;
}

void origins_free(struct http *h) {
        for (size_t i = 0; i < h->n_origins; i++)
                origin_done(&h->origins[i]);
        free(h->origins);
        h->origins = NULL;
        h->n_origins = 0;
}
