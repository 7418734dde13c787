/* SPDX-License-Identifier: MIT */
/*
 * aws.c: AWS credentials, found the way the AWS SDKs find them, in order:
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      AWS_SESSION_TOKEN;
 *   2. a shared-credentials file: $AWS_SHARED_CREDENTIALS_FILE, else the
 *      systemd credential "aws-credentials" ($CREDENTIALS_DIRECTORY), with
 *      the profile $AWS_PROFILE or "default";
 *   3. the EC2 instance role through IMDSv2, unless
 *      AWS_EC2_METADATA_DISABLED=true: a session token (PUT), the role name,
 *      then the role's temporary credentials, refreshed well before they
 *      expire.  The requests go through an http.c instance of their own on
 *      the same event loop, so a slow metadata service never blocks a round.
 *
 * No key, secret or token is ever written to a log: errors name the source
 * and the step, never the values.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>
#include <json-c/json.h>

#include "ini.h"
#include "warmd.h"

#define IMDS_DEFAULT_ENDPOINT   "http://169.254.169.254"
#define IMDS_TOKEN_TTL          "21600"
#define IMDS_TIMEOUT            (2 * USEC_PER_SEC)
#define IMDS_CONNECT_TIMEOUT    USEC_PER_SEC
#define IMDS_RETRY_MIN          USEC_PER_SEC
#define IMDS_RETRY_MAX          (5 * USEC_PER_MINUTE)
/* Refresh this long before expiry, or at half the lifetime if that is shorter. */
#define REFRESH_AHEAD           (15 * USEC_PER_MINUTE)
#define SHARED_FILE_MAX         (64 * 1024)
#define IMDS_ANSWER_MAX         4096    /* bytes of an answer kept: a token, a role name, a credentials document */

enum imds_step {
        IMDS_IDLE,
        IMDS_TOKEN,
        IMDS_ROLE,
        IMDS_CREDENTIALS,
};

/* Where the credentials in use came from. */
enum aws_source {
        AWS_SOURCE_NONE,
        AWS_SOURCE_ENVIRONMENT,
        AWS_SOURCE_SHARED_FILE,
        AWS_SOURCE_INSTANCE_ROLE,
};

struct aws {
        sd_event *event;
        enum aws_source source;
        struct aws_credentials cred;
        bool have;                      /* cred is valid */
        char error[256];                /* why there are none, for the round's records; no secrets */
        aws_changed_fn changed;
        void *userdata;

        /* IMDSv2 */
        struct http *http;
        char *url;                      /* of the request in flight */
        struct curl_slist *headers;     /* likewise: the session token, after the first request */
        enum imds_step step;
        char *base;                     /* e.g. http://169.254.169.254 */
        char *token;
        char *role;
        sd_event_source *timer;         /* the next refresh or retry */
        uint64_t retry_usec;
};

/* What a step of IMDSv2 fetches, as a user reads it. */
static const char *imds_step_to_string(enum imds_step step) {
        switch (step) {
        case IMDS_TOKEN:
                return "the session token";
        case IMDS_ROLE:
                return "the role name";
        case IMDS_CREDENTIALS:
                return "the role's credentials";
        default:
                return "nothing";
        }
}

/* A secret string, wiped before it is freed. */
static void secret_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

static void credentials_done(struct aws_credentials *c) {
        free(c->access_key_id);
        secret_free(c->secret_access_key);
        secret_free(c->session_token);
        *c = (struct aws_credentials) {};
}

static int credentials_set(struct aws_credentials *c, const char *akid, const char *secret, const char *token,
                           uint64_t expiration) {
        struct aws_credentials n = { .expiration = expiration };

        n.access_key_id = strdup(akid);
        n.secret_access_key = strdup(secret);
        n.session_token = token && *token ? strdup(token) : NULL;
        if (!n.access_key_id || !n.secret_access_key || (token && *token && !n.session_token)) {
                credentials_done(&n);
                return -ENOMEM;
        }
        credentials_done(c);
        *c = n;
        return 0;
}

static void set_error(struct aws *a, const char *fmt, ...) _printf_(2, 3);
static void set_error(struct aws *a, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(a->error, sizeof a->error, fmt, ap);
        va_end(ap);
}

/* ------------------------------------------------------------ environment */

static int from_environment(struct aws *a) {
        const char *akid = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
        int r;

        if (!akid || !*akid || !secret || !*secret)
                return 0;
        r = credentials_set(&a->cred, akid, secret, getenv("AWS_SESSION_TOKEN"), 0);
        if (r < 0)
                return r;
        a->source = AWS_SOURCE_ENVIRONMENT;
        a->have = true;
        return 1;
}

/* ------------------------------------------------------------ shared file */

struct shared_file {
        const char *profile;
        char *akid, *secret, *token;
        bool found_profile, oom;
        unsigned error_line;            /* the first line that is not INI; 0: none */
};

static int shared_file_handler(struct shared_file *f, const struct ini_item *it) {
        const char *section = it->section;
        char **dst = NULL;

        if (it->type == INI_SYNTAX_ERROR || it->type == INI_BAD_LINE) {
                if (f->error_line == 0)
                        f->error_line = it->line;
                return 0;
        }
        /* The credentials file names a profile [NAME]; the config file's form [profile NAME] is accepted too. */
        if (it->type != INI_KEY || !section ||
            !(streq(section, f->profile) || (strncmp(section, "profile ", 8) == 0 && streq(section + 8, f->profile))))
                return 0;
        f->found_profile = true;
        if (streq(it->name, "aws_access_key_id"))
                dst = &f->akid;
        else if (streq(it->name, "aws_secret_access_key"))
                dst = &f->secret;
        else if (streq(it->name, "aws_session_token"))
                dst = &f->token;
        if (!dst)
                return 0;
        if (*dst) {
                explicit_bzero(*dst, strlen(*dst));
                free(*dst);
        }
        *dst = strdup(it->value);
        if (!*dst) {
                f->oom = true;
                return -ENOMEM;
        }
        return 0;
}

static void shared_file_done(struct shared_file *f) {
        char **v[] = { &f->akid, &f->secret, &f->token };

        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                if (*v[i]) {
                        explicit_bzero(*v[i], strlen(*v[i]));
                        free(*v[i]);
                }
}

/* 1 if credentials were found, 0 if there is no file, -errno (reason in a->error) if the file is unusable. */
static int from_shared_file(struct aws *a) {
        /* Small by nature; a larger file is not a credentials file.  A session token makes long lines. */
        static const struct ini_limits limits = { .file_max = SHARED_FILE_MAX, .line_max = SHARED_FILE_MAX };
        const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE"), *dir = getenv("CREDENTIALS_DIRECTORY");
        const char *profile = getenv("AWS_PROFILE");
        _cleanup_(freep) char *buf = NULL;
        struct shared_file f = { .profile = profile && *profile ? profile : "default" };
        struct ini_file *ini;
        struct ini_item it;
        int r;

        if (!path || !*path) {
                if (!dir)
                        return 0;
                if (asprintf(&buf, "%s/aws-credentials", dir) < 0)
                        return -ENOMEM;
                if (access(buf, F_OK) < 0)
                        return 0;
                path = buf;
        }
        r = ini_open(path, &limits, &ini);
        if (r < 0) {
                set_error(a, "cannot read the AWS credentials file %s: %s", path, strerror(-r));
                return r;
        }
        while ((r = ini_next(ini, &it)) > 0 && shared_file_handler(&f, &it) >= 0)
                ;
        ini_close(ini);
        if (f.oom)
                r = -ENOMEM;
        else if (r == -EFBIG)
                set_error(a, "the AWS credentials file %s is larger than %d bytes", path, SHARED_FILE_MAX);
        else if (r < 0)
                set_error(a, "cannot read the AWS credentials file %s: %s", path, strerror(-r));
        else if (f.error_line > 0) {
                /* The line number, never the line: it may hold a secret. */
                set_error(a, "the AWS credentials file %s: syntax error at line %u", path, f.error_line);
                r = -EINVAL;
        } else if (!f.found_profile) {
                set_error(a, "the AWS credentials file %s has no profile [%s]", path, f.profile);
                r = -ENOKEY;
        } else if (!f.akid || !f.secret) {
                set_error(a, "profile [%s] of the AWS credentials file %s lacks aws_access_key_id or "
                          "aws_secret_access_key", f.profile, path);
                r = -ENOKEY;
        } else {
                r = credentials_set(&a->cred, f.akid, f.secret, f.token, 0);
                if (r >= 0) {
                        a->source = AWS_SOURCE_SHARED_FILE;
                        a->have = true;
                        r = 1;
                }
        }
        shared_file_done(&f);
        return r;
}

/* ------------------------------------------------------------------ IMDSv2 */

static void imds_next(struct aws *a);

static int imds_timer_arm(struct aws *a, uint64_t when_mono) {
        int r = sd_event_source_set_time(a->timer, when_mono);

        if (r >= 0)
                r = sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
        return r;
}

static void imds_retry(struct aws *a) {
        a->step = IMDS_IDLE;
        a->retry_usec = a->retry_usec ? a->retry_usec * 2 : IMDS_RETRY_MIN;
        if (a->retry_usec > IMDS_RETRY_MAX)
                a->retry_usec = IMDS_RETRY_MAX;
        /* Credentials still valid keep being used until they expire; the caller checks expiry. */
        if (imds_timer_arm(a, now_usec(CLOCK_MONOTONIC) + a->retry_usec) < 0)
                log_error("Failed to arm the AWS credentials retry timer");
}

static void imds_failed(struct aws *a, const char *fmt, ...) _printf_(2, 3);
static void imds_failed(struct aws *a, const char *fmt, ...) {
        char msg[200];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (a->have && a->cred.expiration && a->cred.expiration <= now_usec(CLOCK_REALTIME))
                a->have = false;
        set_error(a, "instance role credentials from %s: %s", a->base, msg);
        imds_retry(a);
        log_warning("AWS %s; retrying in %" PRIu64 " s", a->error, a->retry_usec / USEC_PER_SEC);
        /* Rounds waiting for credentials fail now, with this reason, rather than wait for a retry. */
        if (a->changed)
                a->changed(a->userdata);
}

static int parse_time_utc(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        time_t t;

        if (!end || (*end != 'Z' && !streq(end, "+00:00")))
                return -EINVAL;
        t = timegm(&tm);
        if (t < 0)
                return -EINVAL;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return 0;
}

/* The role's credentials document: {"Code": "Success", "AccessKeyId": ..., "Expiration": "...Z"}. */
static int imds_take_credentials(struct aws *a, const char *body, size_t len) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = NULL, *v;
        const char *akid = NULL, *secret = NULL, *token = NULL, *code = NULL, *exp = NULL;
        uint64_t expiration = 0;
        int r = -EBADMSG;

        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, body, (int) len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object))
                goto out;
#define GET(name, dst) if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string)) \
                dst = json_object_get_string(v)
        GET("Code", code);
        GET("AccessKeyId", akid);
        GET("SecretAccessKey", secret);
        GET("Token", token);
        GET("Expiration", exp);
#undef GET
        if (!code || !streq(code, "Success") || !akid || !secret || !token || !exp ||
            parse_time_utc(exp, &expiration) < 0)
                goto out;
        r = credentials_set(&a->cred, akid, secret, token, expiration);
out:
        json_object_put(o);
        return r;
}

/* The next refresh: REFRESH_AHEAD before expiry, or half-way through a shorter lifetime. */
static void imds_schedule_refresh(struct aws *a) {
        uint64_t now_rt = now_usec(CLOCK_REALTIME), now_mono = now_usec(CLOCK_MONOTONIC);
        uint64_t left = a->cred.expiration > now_rt ? a->cred.expiration - now_rt : 0;
        uint64_t ahead = left / 2 < REFRESH_AHEAD ? left / 2 : REFRESH_AHEAD;

        if (imds_timer_arm(a, now_mono + (left - ahead)) < 0)
                log_error("Failed to arm the AWS credentials refresh timer");
}

static int imds_request(struct aws *a, const char *method, const char *path, const char *header) {
        struct curl_slist *l = NULL;
        char *url = NULL;

        if (asprintf(&url, "%s%s", a->base, path) < 0)
                return -ENOMEM;
        if (header && !(l = curl_slist_append(NULL, header))) {
                free(url);
                return -ENOMEM;
        }
        free(a->url);
        http_secret_headers_free(a->headers);   /* the session token */
        a->url = url;
        a->headers = l;
        return http_start(a->http, &(struct http_request) {
                                  .name = "instance-metadata",
                                  .url = a->url,
                                  .method = method,
                                  .headers = a->headers,
                                  .timeout_usec = IMDS_TIMEOUT,
                                  .connect_timeout_usec = IMDS_CONNECT_TIMEOUT,
                                  .host_is_address = true,
                                  .keep_body = IMDS_ANSWER_MAX,
                          },
                          0, a);
}

static void imds_next(struct aws *a) {
        _cleanup_(freep) char *h = NULL, *path = NULL;
        int r = 0;

        switch (a->step) {
        case IMDS_IDLE:
                a->step = IMDS_TOKEN;
                r = imds_request(a, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
                break;
        case IMDS_TOKEN:
                a->step = IMDS_ROLE;
                if (asprintf(&h, "X-aws-ec2-metadata-token: %s", a->token) < 0)
                        r = -ENOMEM;
                else
                        r = imds_request(a, "GET", "/latest/meta-data/iam/security-credentials/", h);
                break;
        case IMDS_ROLE:
                a->step = IMDS_CREDENTIALS;
                if (asprintf(&h, "X-aws-ec2-metadata-token: %s", a->token) < 0 ||
                    asprintf(&path, "/latest/meta-data/iam/security-credentials/%s", a->role) < 0)
                        r = -ENOMEM;
                else
                        r = imds_request(a, "GET", path, h);
                break;
        case IMDS_CREDENTIALS:
                break;
        }
        if (h)
                explicit_bzero(h, strlen(h));
        if (r < 0)
                imds_failed(a, "cannot start a request: %s", strerror(-r));
}

static void on_imds_done(void *userdata, const struct http_response *r) {
        struct aws *a = userdata;
        enum imds_step step = a->step;
        _cleanup_(freep) char *text = NULL;
        if (r->curl_code != CURLE_OK)
                return imds_failed(a, "fetching %s: %s", imds_step_to_string(step), curl_easy_strerror(r->curl_code));
        if (r->http_status != 200)
                return imds_failed(a, "HTTP %ld fetching %s (is an instance role attached, and IMDSv2 reachable?)",
                                   r->http_status, imds_step_to_string(step));
        text = strndup(r->body ? r->body : "", r->body_len);
        if (!text)
                return imds_failed(a, "out of memory");

        switch (step) {
        case IMDS_TOKEN:
                secret_free(a->token);
                a->token = text;
                text = NULL;
                break;
        case IMDS_ROLE:
                /* One role per instance profile: the first line. */
                text[strcspn(text, "\r\n")] = '\0';
                if (!*text || strchr(text, '/'))
                        return imds_failed(a, "no instance role");
                free(a->role);
                a->role = text;
                text = NULL;
                break;
        case IMDS_CREDENTIALS: {
                int q = imds_take_credentials(a, text, strlen(text));

                explicit_bzero(text, strlen(text));
                if (q < 0)
                        return imds_failed(a, "the role's credentials document is not usable");
                a->step = IMDS_IDLE;
                a->retry_usec = 0;
                a->have = true;
                a->error[0] = '\0';
                imds_schedule_refresh(a);
                log_info("AWS credentials of the instance role refreshed; they expire in %" PRIu64 " s",
                         (a->cred.expiration - now_usec(CLOCK_REALTIME)) / USEC_PER_SEC);
                if (a->changed)
                        a->changed(a->userdata);
                return;
        }
        case IMDS_IDLE:
                return;
        }
        imds_next(a);
}

static int on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        struct aws *a = userdata;

        if (a->step == IMDS_IDLE)
                imds_next(a);
        return 0;
}

static int imds_setup(struct aws *a) {
        const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        size_t n;
        int r;

        a->base = strdup(base && *base ? base : IMDS_DEFAULT_ENDPOINT);
        if (!a->base)
                return -ENOMEM;
        n = strlen(a->base);
        while (n > 0 && a->base[n - 1] == '/')
                a->base[--n] = '\0';
        r = http_new(a->event, PACKAGE_NAME "/" PACKAGE_VERSION, on_imds_done, &a->http);
        if (r < 0)
                return r;
        r = sd_event_add_time(a->event, &a->timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_timer, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(a->timer, "aws-credentials");
        a->source = AWS_SOURCE_INSTANCE_ROLE;
        set_error(a, "instance role credentials from %s: not fetched yet", a->base);
        imds_next(a);
        return 0;
}

/* --------------------------------------------------------------- lifetime */

int aws_new(sd_event *e, aws_changed_fn changed, void *userdata, struct aws **ret) {
        struct aws *a;
        const char *off = getenv("AWS_EC2_METADATA_DISABLED");
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(e);
        a->changed = changed;
        a->userdata = userdata;

        r = from_environment(a);
        if (r == 0)
                r = from_shared_file(a);
        if (r == 0) {
                if (off && strcasecmp(off, "true") == 0) {
                        a->source = AWS_SOURCE_NONE;
                        set_error(a, "no AWS credentials: none in the environment, no credentials file, "
                                  "and the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED)");
                } else
                        r = imds_setup(a);
        }
        if (r == -ENOMEM) {
                aws_free(a);
                return r;
        }
        /* A broken credentials file is reported per round, by aws_get(), like a missing key. */
        *ret = a;
        return 0;
}

struct aws *aws_free(struct aws *a) {
        if (!a)
                return NULL;
        http_free(a->http);
        sd_event_source_disable_unref(a->timer);
        free(a->url);
        http_secret_headers_free(a->headers);   /* the session token */
        secret_free(a->token);
        free(a->role);
        free(a->base);
        credentials_done(&a->cred);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}

int aws_get(struct aws *a, const struct aws_credentials **ret, const char **ret_error) {
        if (a->have && a->cred.expiration && a->cred.expiration <= now_usec(CLOCK_REALTIME)) {
                a->have = false;
                set_error(a, "the instance role credentials expired before they could be refreshed");
        }
        if (a->have) {
                *ret = &a->cred;
                return 0;
        }
        if (ret_error)
                *ret_error = a->error;
        /* Still being fetched: the caller waits for the changed callback. */
        return a->source == AWS_SOURCE_INSTANCE_ROLE && a->step != IMDS_IDLE ? -EAGAIN : -ENOKEY;
}
