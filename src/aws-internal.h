/* SPDX-License-Identifier: MIT */
/*
 * aws-internal.h: the parts of the AWS credentials module.  aws.c owns the
 * chain, the cache and the refresh timers; each source that fetches
 * credentials (aws-imds.c, aws-container.c, aws-sts.c, aws-process.c) is a
 * struct aws_source_ops, and aws-config.c reads the profiles.
 */
#pragma once

#include <stdarg.h>

#include "warmd.h"

#define AWS_ERROR_MAX           256

struct aws_profile;
#define AWS_ANSWER_MAX          8192    /* bytes of a credentials answer kept: STS's XML with a long token */
#define AWS_FETCH_TIMEOUT       (5 * USEC_PER_SEC)
#define AWS_CONNECT_TIMEOUT     USEC_PER_SEC

struct aws_source_ops {
        /*
         * Begins one fetch, which ends later with aws_fetched() or
         * aws_fetch_failed(); 0, or -errno (the caller then fails the fetch
         * with it).  A source whose parent has no credentials yet returns
         * -EAGAIN: the fetch starts again when the parent changes.
         */
        int (*start)(struct aws *a);
        void (*free)(struct aws *a);            /* priv */
};

struct aws {
        struct aws_cache *cache;
        char *key;                      /* what makes two sources the same one: kind, profile, role, parent */
        char *what;                     /* as messages name the source, such as "role R (profile P)"; no secrets */
        const struct aws_source_ops *ops;       /* NULL: fixed keys, or none at all */
        void *priv;
        struct aws *parent;             /* the credentials a role is assumed with */
        struct aws_credentials cred;
        bool have;                      /* cred is valid */
        bool fetching;                  /* a fetch is under way, or waits for the parent */
        bool waiting;                   /* ... for the parent */
        bool in_flight;                 /* a request or process of a fetch is under way: no second one */
        bool reached;                   /* aws_cache_forget(): some kept profile leads here */
        char error[AWS_ERROR_MAX];      /* why there are none, for the rounds' records; no secrets */
        sd_event_source *timer;         /* the next fetch: first, refresh or retry */
        uint64_t retry_usec;
        struct http *http;              /* for the sources that fetch over HTTP; made by them, freed here */
};

/* A secret string, wiped before it is freed. */
void aws_secret_free(char *s);
void aws_credentials_done(struct aws_credentials *c);
int aws_credentials_set(struct aws_credentials *c, const char *akid, const char *secret, const char *token,
                        uint64_t expiration);
/* "2026-12-05T10:00:00Z" (fractions of a second and "+00:00" too) into CLOCK_REALTIME usec. */
int aws_parse_time(const char *s, uint64_t *ret);

enum {
        AWS_JSON_TEMPORARY = 1 << 0,            /* a token and an Expiration are required */
        AWS_JSON_VERSION_1 = 1 << 1,            /* "Version": 1 is required (credential_process) */
};

/* The JSON document of IMDS, the container endpoint or credential_process; token_field names the token. */
int aws_credentials_from_json(const char *body, size_t len, const char *token_field, unsigned flags,
                              struct aws_credentials *ret);

/* The end of a fetch: new credentials (taken from *c), or why there are none. */
void aws_fetched(struct aws *a, struct aws_credentials *c);
void aws_fetch_failed(struct aws *a, const char *fmt, ...) _printf_(2, 3);
void aws_set_error(struct aws *a, const char *fmt, ...) _printf_(2, 3);

sd_event *aws_event(struct aws *a);

/* The sources. */
int aws_imds_setup(struct aws *a);
int aws_container_setup(struct aws *a);
int aws_sts_setup(struct aws *a, const struct aws_profile *p);
int aws_process_setup(struct aws *a, const char *command);
bool aws_container_configured(void);
/* For the unit tests: the SDKs' rule for a full URI; a credential_process command line into words. */
bool aws_container_url_allowed(const char *url);
int aws_process_split(const char *cmd, char ***ret);

/* ------------------------------------------------------------- profiles */

struct aws_profile {
        char *name;
        bool found;                     /* in either file */
        char *access_key_id, *secret_access_key, *session_token;
        char *role_arn, *source_profile, *credential_source, *external_id, *role_session_name;
        unsigned duration_seconds;      /* 0: STS's default */
        char *credential_process;
        char files[AWS_ERROR_MAX];      /* where it was looked for, for messages */
};

/*
 * The profile as the config file ($AWS_CONFIG_FILE, else the credential
 * aws-config) and the credentials file ($AWS_SHARED_CREDENTIALS_FILE, else
 * the credential aws-credentials) say, the latter's keys winning, as in the
 * SDKs.  0, or -errno with why (file and line, never a value).
 */
int aws_profile_load(const char *name, struct aws_profile *ret, char *why, size_t size);
void aws_profile_done(struct aws_profile *p);

/* The source of a profile's credentials, found in the cache or made: for a role's source_profile. */
int aws_cache_profile(struct aws_cache *c, const char *name, bool explicit_profile, unsigned depth,
                      struct aws **ret);
/* The source for credential_source = Environment, Ec2InstanceMetadata or EcsContainer. */
int aws_cache_named_source(struct aws_cache *c, const char *name, struct aws **ret);
