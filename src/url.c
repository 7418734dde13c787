/* SPDX-License-Identifier: MIT */
/* url.c: a URL as it may be shown, without its secrets, and whether its host needs resolving. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "url.h"
#include "util.h"

/* An IP address (IPv6 comes bracketed) needs no name resolution before a round. */
bool host_is_address(CURLU *u) {
        unsigned char buf[sizeof(struct in6_addr)];
        char *host = NULL, *h;
        bool r = false;

        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return false;
        h = host;
        if (h[0] == '[') {
                h++;
                h[strcspn(h, "]%")] = '\0';
                r = inet_pton(AF_INET6, h, buf) == 1;
        } else
                r = inet_pton(AF_INET, h, buf) == 1;
        curl_free(host);
        return r;
}

/*
 * The URL as it may be shown, in the journal and in errors: with "***" for
 * the user and password, "name=***" for each part of the query (Azure
 * Functions keys travel as ?code=KEY), and no fragment.  curl takes the URL
 * apart; only the query's '&'-separated parts are split here, as curl has no
 * call for them.
 */
int url_display(CURLU *u, char **ret) {
        char *query = NULL, *user = NULL, *pass = NULL, *frag = NULL, *out = NULL, *shown = NULL;
        bool secrets;
        size_t len = 0;
        CURLU *d = NULL;
        FILE *f = NULL;
        int r = -ENOMEM;

        /* Nothing to hide, as for most URLs: no copy to change (that halves the time of 100,000 endpoints). */
        secrets = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
                  curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK ||
                  curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
                  curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK;
        curl_free(user);
        curl_free(pass);
        curl_free(query);
        curl_free(frag);
        user = pass = query = NULL;
        if (!secrets) {
                if (curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK)
                        return -ENOMEM;
                *ret = strdup(shown);
                curl_free(shown);
                return *ret ? 0 : -ENOMEM;
        }
        d = curl_url_dup(u);
        if (!d)
                return -ENOMEM;
        if (curl_url_get(d, CURLUPART_USER, &user, 0) == CURLUE_OK ||
            curl_url_get(d, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
                if (curl_url_set(d, CURLUPART_USER, "***", 0) != CURLUE_OK ||
                    curl_url_set(d, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK)
                        goto out;
        }
        if (curl_url_get(d, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
                f = open_memstream(&out, &len);
                if (!f)
                        goto out;
                for (const char *q = query;;) {
                        size_t n = strcspn(q, "&"), name = strcspn(q, "=&");

                        if (name < n)
                                fprintf(f, "%.*s=***", (int) name, q);
                        else if (n > 0)
                                fputs("***", f);
                        if (q[n] == '\0')
                                break;
                        fputc('&', f);
                        q += n + 1;
                }
                if (fclose(f) != 0 || curl_url_set(d, CURLUPART_QUERY, out, 0) != CURLUE_OK)
                        goto out;
        }
        if (curl_url_set(d, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
            curl_url_get(d, CURLUPART_URL, &shown, 0) != CURLUE_OK)
                goto out;
        *ret = strdup(shown);
        r = *ret ? 0 : -ENOMEM;
out:
        curl_free(shown);
        curl_free(query);
        curl_free(user);
        curl_free(pass);
        free(out);
        curl_url_cleanup(d);
        return r;
}

bool url_keeps_secrets(const char *url, const char *const *hosts) {
        char *scheme = NULL, *host = NULL;
        unsigned char addr[16];
        bool ok = false;
        CURLU *u = curl_url();

        if (!u)
                return false;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
                if (streq(scheme, "https"))
                        ok = true;
                else if (streq(scheme, "http")) {
                        ok = strcasecmp(host, "localhost") == 0;
                        for (size_t i = 0; hosts && hosts[i]; i++)
                                ok = ok || strcasecmp(host, hosts[i]) == 0;
                        if (inet_pton(AF_INET, host, addr) == 1)
                                ok = ok || addr[0] == 127;
                        else if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                                host[strlen(host) - 1] = '\0';
                                ok = ok || (inet_pton(AF_INET6, host + 1, addr) == 1 &&
                                            memcmp(addr, (const unsigned char[16]) { [15] = 1 }, 16) == 0);
                        }
                }
        }
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return ok;
}
