/* SPDX-License-Identifier: MIT */
/*
 * discover-internal.h: what the two parts of tag discovery share:
 * discover.c (the sources and their refreshes) and discover-set.c (the set
 * of endpoints made from what they found, and what rounds teach of it).
 */
#pragma once

#include "internal.h"

struct found {
        char *endpoint;                 /* SOURCE/FUNCTION[:QUALIFIER] */
        char *lambda;                   /* FUNCTION[:QUALIFIER] */
        unsigned containers;
        uint64_t gone_until;            /* CLOCK_MONOTONIC usec: answered 404, left out until then */
        bool shadowed;                  /* a static endpoint warms the same function: said once */
        bool shadowed_next;             /* so in the set built last: shadowed once that set is applied */
        bool answered_404;              /* in the round in flight: left out once that round has ended */
};

struct source {
        struct discovery *disc;
        const struct endpoint_config *cfg;      /* the section, in disc->base */
        char *url;
        char *host;                     /* the Host header as curl sends it */
        char *region;
        sd_event_source *timer;
        bool fetching, waiting_credentials;
        bool settled;                   /* a refresh has ended, well or not */
        bool listed;                    /* a refresh has succeeded: list is the API's */
        /* The refresh in flight. */
        char *token, *body;
        struct curl_slist *headers;
        unsigned pages;
        struct found *pending;
        size_t n_pending, pending_cap;
        char **invalid_now;             /* "ARN=VALUE" of this refresh's invalid tags */
        size_t n_invalid_now, invalid_cap;
        /* The last list read in full, sorted by endpoint. */
        struct found *list;
        size_t n_list;
        char **invalid;                 /* the invalid tags already warned about, sorted */
        size_t n_invalid;
        struct found *leaving;          /* gone from the list while their round was in flight: until it ends */
        size_t n_leaving, leaving_cap;
        bool over_limit;                /* the list was cut at DISCOVER_ENDPOINTS_MAX: warned */
        unsigned failures;              /* refreshes failed in a row */
        uint64_t errors;                /* refreshes failed since start */
};

/* A reload's sources, made ready: nothing of the discovery changes until discovery_commit(). */
struct discovery_plan {
        struct config *base;            /* the new file's */
        struct source **sources;        /* one per base->sources[i]: a source kept from the running ones, or new */
        size_t *from;                   /* the kept one's index in disc->sources; SIZE_MAX for a new one */
};

struct discovery {
        sd_event *event;
        struct config *base;
        struct auth *auth;
        struct http *http;
        struct source **sources;
        size_t n_sources;
        sd_event_source *defer;         /* a function turned out gone: the set changes, out of the event's call */
        discovery_changed_fn changed;
        discovery_busy_fn busy;
        void *userdata;
};

void found_done(struct found *f);
void found_array_free(struct found *a, size_t n);
int cmp_found(const void *a, const void *b);
/* In a list sorted by endpoint; NULL if absent. */
struct found *found_find(struct found *list, size_t n, const char *endpoint);
void strv_free(char **v, size_t n);
int cmp_str(const void *a, const void *b);
bool strv_has_sorted(char **v, size_t n, const char *s);
/* Tells main.c that the set to warm may have changed. */
void discover_changed(struct discovery *d);
/* discover-set.c: what left old for s's new list goes, or waits as leaving while its round is in flight. */
int discover_leaving_take(struct source *s, struct found *old, size_t n_old);
/* discover-set.c: the set built last is applied: its notices said, the leaving whose round has ended let go. */
void discover_set_commit(struct discovery *d);
