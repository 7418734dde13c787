/* SPDX-License-Identifier: MIT */
/*
 * http-tls.c: what TLS needs to outlive a round, kept for the whole
 * process: each CA file parsed once (see ca_store_get()), and a TLS session
 * cache per CA file, so the next round resumes sessions instead of full
 * handshakes.
 */
#include "config.h"

#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http-internal.h"

/* libcurl's built-in CA bundle (from its build), or NULL when it was built without one. */
int system_ca_find(char **ret) {
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
void tls_retired_free(struct http *h) {
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
        /* Under a file, not a directory: OpenSSL looks there (see tls_setup()), and finds nothing. */
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

void tls_drop_store(struct transfer *t) {
        X509_STORE_free(t->store);
        t->store = NULL;
}

/* The TLS settings of an https request: its CA file's store and session cache, its client certificate. */
CURLcode tls_setup(struct http *h, struct transfer *t) {
        const struct http_request *req = &t->req;
        const char *ca = req->ca_file ? req->ca_file : h->system_ca;
        struct ca_store *cs = NULL;
        CURL *c = t->easy;
        CURLcode cc = CURLE_OK;

#define SET(opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val); } while (0)
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
        } else if (req->ca_file) {
                /* Unreadable or not PEM: libcurl tries it itself, and its error names the file. */
                SET(CURLOPT_CAINFO, req->ca_file);
                SET(CURLOPT_CAPATH, NULL);
        }
        if (req->client_cert)
                SET(CURLOPT_SSLCERT, req->client_cert);
        if (req->client_key)
                SET(CURLOPT_SSLKEY, req->client_key);
#undef SET
        return cc;
}

void tls_free(struct http *h) {
        free(h->system_ca);
        for (size_t i = 0; i < h->n_cas; i++) {
                curl_share_cleanup(h->cas[i].share);
                X509_STORE_free(h->cas[i].store);
                free(h->cas[i].path);
                free(h->cas[i].tag);
        }
        free(h->cas);
        tls_retired_free(h);
        free(h->retired);
}
