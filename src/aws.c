/* SPDX-License-Identifier: MIT */
/*
 * aws.c: AWS credentials: the chain that finds them, the cache that shares
 * them between endpoints, and the timers that refresh them.
 *
 * The chain is botocore's (credentials.py, create_credential_resolver), in
 * order, for a profile P ($AWS_PROFILE, else "default"; or an endpoint's
 * "profile", which skips step 1 as an explicit profile does in the SDKs):
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      AWS_SESSION_TOKEN;
 *   2. P's role_arn, assumed through STS with the credentials of its
 *      source_profile (itself resolved by steps 2, 3, 4 and 5, so roles
 *      chain) or of its credential_source (aws-sts.c);
 *   3. P's keys in the shared credentials file;
 *   4. P's credential_process (aws-process.c);
 *   5. P's keys in the config file (aws-config.c merges 3 and 5);
 *   6. the container credentials endpoint (aws-container.c);
 *   7. the EC2 instance role through IMDSv2 (aws-imds.c), unless
 *      AWS_EC2_METADATA_DISABLED=true (which holds for a role's
 *      credential_source too).
 *
 * botocore's web identity and SSO steps (between 2 and 3) are not taken.
 *
 * Each source is one struct aws, kept in the cache under a key that says
 * what it is (a role's key holds its source's), so endpoints, and roles
 * chained from the same source, share one fetch and one refresh.  Sources
 * that fetch do it on the event loop, through their own http.c instance or
 * child process, refresh ahead of expiry and retry with a backoff; the
 * rounds that wait are told through the cache's changed callback.
 *
 * No key, secret or token is ever written to a log: errors name the source
 * and the step, never the values.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <json-c/json.h>

#include "aws-internal.h"

#define RETRY_MIN               USEC_PER_SEC
#define RETRY_MAX               (5 * USEC_PER_MINUTE)
/* Refresh this long before expiry, or at half the lifetime if that is shorter: botocore's advisory 15 min. */
#define REFRESH_AHEAD           (15 * USEC_PER_MINUTE)
#define CHAIN_DEPTH_MAX         8       /* roles chained through source_profile */
#define LIFETIME_MIN            (2 * USEC_PER_SEC)      /* credentials that expire sooner are not taken */

struct aws_cache {
        sd_event *event;
        aws_changed_fn changed;
        void *userdata;
        struct aws **sources;
        size_t n_sources, cap_sources;
        /* Profile names (NULL: the default chain) to their source, so a round finds it without reading files. */
        struct {
                char *name;
                struct aws *source;
        } *profiles;
        size_t n_profiles, cap_profiles;
};

/* ------------------------------------------------------------ credentials */

void aws_secret_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

void aws_credentials_done(struct aws_credentials *c) {
        free(c->access_key_id);
        aws_secret_free(c->secret_access_key);
        aws_secret_free(c->session_token);
        *c = (struct aws_credentials) {};
}

int aws_credentials_set(struct aws_credentials *c, const char *akid, const char *secret, const char *token,
                        uint64_t expiration) {
        struct aws_credentials n = { .expiration = expiration };

        n.access_key_id = strdup(akid);
        n.secret_access_key = strdup(secret);
        n.session_token = token && *token ? strdup(token) : NULL;
        if (!n.access_key_id || !n.secret_access_key || (token && *token && !n.session_token)) {
                aws_credentials_done(&n);
                return -ENOMEM;
        }
        aws_credentials_done(c);
        *c = n;
        return 0;
}

int aws_parse_time(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        time_t t;

        if (end && *end == '.')
                for (end++; *end >= '0' && *end <= '9'; end++)
                        ;
        if (!end || !(streq(end, "Z") || streq(end, "+00:00") || streq(end, "UTC")))
                return -EINVAL;
        t = timegm(&tm);
        if (t < 0)
                return -EINVAL;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return 0;
}

static const char *json_string(struct json_object *o, const char *name) {
        struct json_object *v;

        if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        return NULL;
}

/*
 * IMDS's {"Code": "Success", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}, the container
 * endpoint's (no Code), or credential_process's {"Version": 1, ..., "SessionToken", "Expiration"}.
 */
int aws_credentials_from_json(const char *body, size_t len, const char *token_field, unsigned flags,
                              struct aws_credentials *ret) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = NULL, *v;
        const char *akid, *secret, *token, *code, *exp;
        uint64_t expiration = 0;
        int r = -EBADMSG;

        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, body, (int) len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object))
                goto out;
        akid = json_string(o, "AccessKeyId");
        secret = json_string(o, "SecretAccessKey");
        token = json_string(o, token_field);
        code = json_string(o, "Code");
        exp = json_string(o, "Expiration");
        if ((code && !streq(code, "Success")) || !akid || !*akid || !secret || !*secret)
                goto out;
        if ((flags & AWS_JSON_VERSION_1) && !(json_object_object_get_ex(o, "Version", &v) &&
                                               json_object_is_type(v, json_type_int) && json_object_get_int(v) == 1))
                goto out;
        if ((exp && aws_parse_time(exp, &expiration) < 0) || ((flags & AWS_JSON_TEMPORARY) && (!exp || !token)))
                goto out;
        r = aws_credentials_set(ret, akid, secret, token, expiration);
out:
        json_object_put(o);
        return r;
}

/* ---------------------------------------------------------------- fetches */

sd_event *aws_event(struct aws *a) {
        return a->cache->event;
}

void aws_set_error(struct aws *a, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(a->error, sizeof a->error, fmt, ap);
        va_end(ap);
}

static int timer_arm(struct aws *a, uint64_t when_mono) {
        int r = sd_event_source_set_time(a->timer, when_mono);

        if (r >= 0)
                r = sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
        return r;
}

/* A fetch, unless one is under way: a retry timer and a parent's news may both ask for one. */
static void fetch_start(struct aws *a) {
        int r;

        if (a->in_flight)
                return;
        a->fetching = a->in_flight = true;
        a->waiting = false;
        r = a->ops->start(a);
        if (r == -EAGAIN) {
                a->waiting = true;
                a->in_flight = false;
        } else if (r < 0)
                aws_fetch_failed(a, "cannot start a request: %s", strerror(-r));
}

/*
 * Tells the roles assumed with a's credentials (those that wait for them,
 * or that failed without them: they need not wait for their own retry),
 * then the rounds.
 */
static void notify(struct aws *a) {
        struct aws_cache *c = a->cache;

        for (size_t i = 0; i < c->n_sources; i++) {
                struct aws *s = c->sources[i];

                if (s->parent == a && (s->waiting || (a->have && !s->have && !s->fetching)))
                        fetch_start(s);
        }
        if (c->changed)
                c->changed(c->userdata);
}

void aws_fetched(struct aws *a, struct aws_credentials *cred) {
        uint64_t now_rt = now_usec(CLOCK_REALTIME), left, ahead;

        /* Credentials that expire at once would be fetched again at once, and again: a retry waits. */
        if (cred->expiration && cred->expiration < now_rt + LIFETIME_MIN) {
                aws_credentials_done(cred);
                return aws_fetch_failed(a, "the credentials fetched expire in less than %" PRIu64 " s "
                                        "(is the clock right?)", LIFETIME_MIN / USEC_PER_SEC);
        }

        aws_credentials_done(&a->cred);
        a->cred = *cred;
        *cred = (struct aws_credentials) {};
        a->have = true;
        a->fetching = a->waiting = a->in_flight = false;
        a->retry_usec = 0;
        a->error[0] = '\0';
        if (a->cred.expiration) {
                left = a->cred.expiration > now_rt ? a->cred.expiration - now_rt : 0;
                ahead = left / 2 < REFRESH_AHEAD ? left / 2 : REFRESH_AHEAD;
                if (timer_arm(a, now_usec(CLOCK_MONOTONIC) + (left - ahead)) < 0)
                        log_error("Failed to arm the AWS credentials refresh timer");
                log_info("AWS credentials (%s) refreshed; they expire in %" PRIu64 " s", a->what,
                         left / USEC_PER_SEC);
        } else
                log_info("AWS credentials (%s) fetched; they do not expire", a->what);
        notify(a);
}

void aws_fetch_failed(struct aws *a, const char *fmt, ...) {
        char msg[200];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (a->have && a->cred.expiration && a->cred.expiration <= now_usec(CLOCK_REALTIME))
                a->have = false;
        aws_set_error(a, "%s: %s", a->what, msg);
        a->fetching = a->waiting = a->in_flight = false;
        a->retry_usec = a->retry_usec ? a->retry_usec * 2 : RETRY_MIN;
        if (a->retry_usec > RETRY_MAX)
                a->retry_usec = RETRY_MAX;
        /* Credentials still valid keep being used until they expire; aws_get() checks expiry. */
        if (timer_arm(a, now_usec(CLOCK_MONOTONIC) + a->retry_usec) < 0)
                log_error("Failed to arm the AWS credentials retry timer");
        log_warning("AWS %s; retrying in %" PRIu64 " s", a->error, a->retry_usec / USEC_PER_SEC);
        /* Rounds waiting for credentials fail now, with this reason, rather than wait for a retry. */
        notify(a);
}

static int on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        fetch_start(userdata);
        return 0;
}

/* --------------------------------------------------------------- sources */

static struct aws *source_free(struct aws *a) {
        if (!a)
                return NULL;
        if (a->ops && a->ops->free)
                a->ops->free(a);
        http_free(a->http);
        sd_event_source_disable_unref(a->timer);
        aws_credentials_done(&a->cred);
        free(a->key);
        free(a->what);
        free(a);
        return NULL;
}

/* The source under key, or a new one that the caller sets up and then hands to source_add(). */
static struct aws *source_find(struct aws_cache *c, const char *key) {
        for (size_t i = 0; i < c->n_sources; i++)
                if (streq(c->sources[i]->key, key))
                        return c->sources[i];
        return NULL;
}

static int source_new(struct aws_cache *c, const char *key, const char *what, struct aws **ret) {
        struct aws *a = calloc(1, sizeof *a);

        if (!a)
                return -ENOMEM;
        a->cache = c;
        a->key = strdup(key);
        a->what = strdup(what);
        if (!a->key || !a->what) {
                source_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

/* Into the cache; a source that fetches makes its first fetch on the next turn of the loop. */
static int source_add(struct aws_cache *c, struct aws *a) {
        struct aws **v = array_grow(c->sources, c->n_sources, &c->cap_sources, sizeof *v);
        int r;

        if (!v)
                return -ENOMEM;
        c->sources = v;
        if (a->ops) {
                r = sd_event_add_time(c->event, &a->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, a);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(a->timer, "aws-credentials");
                a->fetching = true;
                if (!a->error[0])
                        aws_set_error(a, "%s: not fetched yet", a->what);
        }
        c->sources[c->n_sources++] = a;
        return 0;
}

/* A source with fixed keys, or none (keys NULL) and why. */
static int fixed_source(struct aws_cache *c, const char *key, const char *what, const char *akid, const char *secret,
                        const char *token, const char *error, struct aws **ret) {
        struct aws *a = source_find(c, key);
        int r;

        if (a) {
                *ret = a;
                return 0;
        }
        r = source_new(c, key, what, &a);
        if (r >= 0 && akid) {
                r = aws_credentials_set(&a->cred, akid, secret, token, 0);
                a->have = r >= 0;
        } else if (r >= 0)
                aws_set_error(a, "%s", error);
        if (r >= 0)
                r = source_add(c, a);
        if (r < 0) {
                source_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

/* A source that fetches: made by setup(), unless the cache has it. */
static int fetching_source(struct aws_cache *c, const char *key, const char *what, int (*setup)(struct aws *a,
                           const void *arg), const void *arg, struct aws *parent, struct aws **ret) {
        struct aws *a = source_find(c, key);
        int r;

        if (a) {
                *ret = a;
                return 0;
        }
        r = source_new(c, key, what, &a);
        if (r >= 0) {
                a->parent = parent;
                r = setup(a, arg);
        }
        if (r >= 0)
                r = source_add(c, a);
        if (r < 0) {
                source_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

static int setup_imds(struct aws *a, const void *arg _unused_) {
        return aws_imds_setup(a);
}

static int setup_container(struct aws *a, const void *arg _unused_) {
        return aws_container_setup(a);
}

static int setup_process(struct aws *a, const void *arg) {
        return aws_process_setup(a, arg);
}

static int setup_role(struct aws *a, const void *arg) {
        return aws_sts_setup(a, arg);
}

static int environment_source(struct aws_cache *c, struct aws **ret) {
        const char *akid = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");

        if (!akid || !*akid || !secret || !*secret)
                return fixed_source(c, "environment", "environment", NULL, NULL, NULL,
                                    "no AWS credentials in the environment (AWS_ACCESS_KEY_ID, "
                                    "AWS_SECRET_ACCESS_KEY)", ret);
        return fixed_source(c, "environment", "environment", akid, secret, getenv("AWS_SESSION_TOKEN"), NULL, ret);
}

static bool imds_disabled(void) {
        const char *off = getenv("AWS_EC2_METADATA_DISABLED");

        return off && strcasecmp(off, "true") == 0;
}

int aws_cache_named_source(struct aws_cache *c, const char *name, struct aws **ret) {
        if (streq(name, "Environment"))
                return environment_source(c, ret);
        if (streq(name, "EcsContainer"))
                return fetching_source(c, "container", "container credentials endpoint", setup_container, NULL, NULL, ret);
        /* As botocore has it: disabled, the service gives a role's credential_source nothing either. */
        if (streq(name, "Ec2InstanceMetadata") && imds_disabled())
                return fixed_source(c, "error:imds-disabled", "instance role credentials", NULL, NULL, NULL,
                                    "instance role credentials: the instance metadata service is disabled "
                                    "(AWS_EC2_METADATA_DISABLED=true)", ret);
        if (streq(name, "Ec2InstanceMetadata"))
                return fetching_source(c, "imds", "instance role credentials", setup_imds, NULL, NULL, ret);
        return -EINVAL;
}

/* A role: its source first, then the role itself, keyed by both. */
static int role_source(struct aws_cache *c, const struct aws_profile *p, unsigned depth, struct aws **ret) {
        _cleanup_(freep) char *key = NULL, *what = NULL, *error = NULL;
        struct aws *parent = NULL;
        int r;

        if (p->source_profile && p->credential_source)
                r = asprintf(&error, "profile [%s] sets both source_profile and credential_source", p->name);
        else if (p->credential_source) {
                r = aws_cache_named_source(c, p->credential_source, &parent);
                if (r == -EINVAL)
                        r = asprintf(&error, "profile [%s]: credential_source must be Environment, "
                                     "Ec2InstanceMetadata or EcsContainer", p->name);
        } else if (p->source_profile) {
                if (depth >= CHAIN_DEPTH_MAX)
                        r = asprintf(&error, "profile [%s]: more than %d roles chained through source_profile "
                                     "(a loop?)", p->name, CHAIN_DEPTH_MAX);
                else
                        r = aws_cache_profile(c, p->source_profile, true, depth + 1, &parent);
        } else
                r = asprintf(&error, "profile [%s] has role_arn but neither source_profile nor credential_source",
                             p->name);
        if (r < 0)
                return -ENOMEM;
        if (error) {
                if (asprintf(&key, "error:%s", error) < 0)
                        return -ENOMEM;
                return fixed_source(c, key, "profile", NULL, NULL, NULL, error, ret);
        }
        if (asprintf(&key, "role:%s|%s|%s|%u|%s", p->role_arn, p->external_id ? p->external_id : "",
                     p->role_session_name ? p->role_session_name : "", p->duration_seconds, parent->key) < 0 ||
            asprintf(&what, "role %s (profile %s)", p->role_arn, p->name) < 0)
                return -ENOMEM;
        return fetching_source(c, key, what, setup_role, p, parent, ret);
}

/*
 * Steps 2 to 7 for profile name (1, the environment, is the caller's).  The
 * files are read now, once: a round never waits for them.
 */
int aws_cache_profile(struct aws_cache *c, const char *name, bool explicit_profile, unsigned depth,
                      struct aws **ret) {
        _cleanup_(freep) char *key = NULL, *what = NULL, *error = NULL;
        struct aws_profile p = {};
        char why[AWS_ERROR_MAX];
        int r;

        r = aws_profile_load(name, &p, why, sizeof why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (asprintf(&key, "error:%s", why) < 0)
                        r = -ENOMEM;
                else
                        r = fixed_source(c, key, "profile", NULL, NULL, NULL, why, ret);
        } else if (p.role_arn)
                r = role_source(c, &p, depth, ret);
        else if (p.access_key_id && p.secret_access_key) {
                /* By the key id too: keys rotated in the file make a new source when the files are read again. */
                if (asprintf(&key, "profile:%s:%s", name, p.access_key_id) < 0 ||
                    asprintf(&what, "profile %s", name) < 0)
                        r = -ENOMEM;
                else
                        r = fixed_source(c, key, what, p.access_key_id, p.secret_access_key, p.session_token, NULL,
                                         ret);
        } else if (p.access_key_id || p.secret_access_key) {
                if (asprintf(&error, "profile [%s] in %s lacks aws_access_key_id or aws_secret_access_key",
                             name, p.files) < 0 || asprintf(&key, "error:%s", error) < 0)
                        r = -ENOMEM;
                else
                        r = fixed_source(c, key, "profile", NULL, NULL, NULL, error, ret);
        } else if (p.credential_process) {
                if (asprintf(&key, "process:%s", p.credential_process) < 0 ||
                    asprintf(&what, "credential_process of profile %s", name) < 0)
                        r = -ENOMEM;
                else
                        r = fetching_source(c, key, what, setup_process, p.credential_process, NULL, ret);
        } else if (depth > 0 || (explicit_profile && !p.found)) {
                /* A source profile, or a profile named in warmd.conf, must exist, and hold credentials. */
                if (!p.found)
                        r = asprintf(&error, "no profile [%s] in %s", name, p.files);
                else
                        r = asprintf(&error, "profile [%s] in %s has no credentials, role or process", name, p.files);
                if (r < 0 || asprintf(&key, "error:%s", error) < 0)
                        r = -ENOMEM;
                else
                        r = fixed_source(c, key, "profile", NULL, NULL, NULL, error, ret);
        } else if (aws_container_configured())
                r = aws_cache_named_source(c, "EcsContainer", ret);
        else if (!imds_disabled())
                r = aws_cache_named_source(c, "Ec2InstanceMetadata", ret);
        else {
                if (asprintf(&error, "none in the environment, no profile [%s] with keys, a role or a process in "
                             "%s, no container credentials endpoint, and the instance metadata service is "
                             "disabled (AWS_EC2_METADATA_DISABLED)", name, p.files) < 0 ||
                    asprintf(&key, "error:%s", error) < 0)
                        r = -ENOMEM;
                else
                        r = fixed_source(c, key, "chain", NULL, NULL, NULL, error, ret);
        }
        aws_profile_done(&p);
        return r;
}

/* ---------------------------------------------------------------- cache */

int aws_cache_new(sd_event *e, aws_changed_fn changed, void *userdata, struct aws_cache **ret) {
        struct aws_cache *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(e);
        c->changed = changed;
        c->userdata = userdata;
        *ret = c;
        return 0;
}

struct aws_cache *aws_cache_free(struct aws_cache *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_sources; i++)
                source_free(c->sources[i]);
        for (size_t i = 0; i < c->n_profiles; i++)
                free(c->profiles[i].name);
        free(c->sources);
        free(c->profiles);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

void aws_cache_reread(struct aws_cache *c) {
        for (size_t i = 0; i < c->n_profiles; i++)
                free(c->profiles[i].name);
        c->n_profiles = 0;
}

/* A source only a removed endpoint used must not be fetched again, and again, for no one. */
void aws_cache_forget(struct aws_cache *c, bool (*used)(const char *profile, void *userdata), void *userdata) {
        size_t kept = 0;

        for (size_t i = 0; i < c->n_sources; i++)
                c->sources[i]->reached = false;
        for (size_t i = 0; i < c->n_profiles; i++)
                if (used(c->profiles[i].name, userdata)) {
                        for (struct aws *a = c->profiles[i].source; a && !a->reached; a = a->parent)
                                a->reached = true;
                        c->profiles[kept++] = c->profiles[i];
                } else
                        free(c->profiles[i].name);
        c->n_profiles = kept;
        kept = 0;
        for (size_t i = 0; i < c->n_sources; i++)
                if (c->sources[i]->reached)
                        c->sources[kept++] = c->sources[i];
                else
                        source_free(c->sources[i]);
        c->n_sources = kept;
}

int aws_cache_get(struct aws_cache *c, const char *profile, struct aws **ret) {
        const char *env = getenv("AWS_PROFILE");
        const char *name = profile ? profile : env && *env ? env : "default";
        struct aws *a = NULL;
        char *copy = NULL;
        void *v;
        int r;

        for (size_t i = 0; i < c->n_profiles; i++)
                if (profile ? c->profiles[i].name && streq(c->profiles[i].name, profile) : !c->profiles[i].name) {
                        *ret = c->profiles[i].source;
                        return 0;
                }
        /* The environment's keys win over the default profile's, not over one named in warmd.conf. */
        r = 0;
        if (!profile) {
                r = environment_source(c, &a);
                if (r >= 0 && !a->have)
                        a = NULL;
        }
        if (r >= 0 && !a)
                r = aws_cache_profile(c, name, profile || (env && *env), 0, &a);
        if (r < 0)
                return r;
        v = array_grow(c->profiles, c->n_profiles, &c->cap_profiles, sizeof *c->profiles);
        if (!v || (profile && !(copy = strdup(profile)))) {
                free(copy);
                return -ENOMEM;
        }
        c->profiles = v;
        c->profiles[c->n_profiles].name = copy;
        c->profiles[c->n_profiles++].source = a;
        *ret = a;
        return 0;
}

int aws_get(struct aws *a, const struct aws_credentials **ret, const char **ret_error) {
        if (a->have && a->cred.expiration && a->cred.expiration <= now_usec(CLOCK_REALTIME)) {
                a->have = false;
                aws_set_error(a, "%s: the credentials expired before they could be refreshed", a->what);
        }
        if (a->have) {
                *ret = &a->cred;
                return 0;
        }
        if (ret_error)
                *ret_error = a->error;
        /* Being fetched: the caller waits for the changed callback. */
        return a->fetching ? -EAGAIN : -ENOKEY;
}
