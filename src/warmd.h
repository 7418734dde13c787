/* SPDX-License-Identifier: MIT */
/*
 * warmd.h: the interfaces between warmd's modules.
 *
 * Data flows one way: config -> scheduler -> http -> result, and the
 * scheduler's events -> main.c -> the sinks (journal, notify).  No module
 * below main.c writes to a sink itself.
 * Every function that can fail returns 0 (or a count) on success and -errno
 * on failure.  Output parameters are named ret_* and written only on success.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "http.h"
#include "schedule.h"
#include "util.h"

/* ------------------------------------------------------------------ config */

#define CONTAINERS_MAX          10000U
#define MAX_PARALLEL_MAX        100000U
#define BODY_READ_MAX           (64U * 1024U)   /* response body bytes read at most, to find the JSON fields */
#define INSTANCE_MAX            128U            /* instance ids are truncated to this */
#define TOPUP_FACTOR_MAX        100U            /* requests per round at most, times containers */

/* What a round's requests carry to say who sends them (auth.c). */
enum endpoint_auth {
        AUTH_NONE,
        AUTH_AWS,                       /* SigV4, with the credentials of the endpoint's profile */
        AUTH_GOOGLE,                    /* a Google-signed ID token for audience */
        AUTH_AZURE,                     /* an Entra access token for resource */
};

struct endpoint_config {
        char *name;                     /* the [section] name */
        char *file;                     /* the file of the [section] header: warmd.conf or a drop-in */
        unsigned line;                  /* line of the [section] header */
        char *url;
        unsigned containers;
        char *method;                   /* NULL: GET */
        char **headers;                 /* "Name: value", credentials resolved; NULL-terminated */
        size_t n_headers;
        struct curl_slist *header_list; /* the same, as curl wants it, built at load; for lambda, the
                                           invoke's own headers instead (headers is empty) */
        char *body;                     /* NULL: none */
        uint64_t interval_usec;
        uint64_t jitter_usec;
        uint64_t timeout_usec;
        uint64_t connect_timeout_usec;
        unsigned expect_status;         /* 0: any 2xx */
        char *reuse_header;
        char *reuse_json;
        char *instance_header;
        char *instance_json;
        uint64_t cold_threshold_usec;   /* 0: not set */
        char *lambda;                   /* "lambda = ...": the Invoke API, signed; url is derived from it */
        char *region;                   /* a Lambda endpoint's region; auth = aws: the signature's */
        char *aws_service;              /* auth = aws: the signature's service (from the host, or the key) */
        char *profile;                  /* AWS: the profile whose credentials sign; NULL: $AWS_PROFILE's chain */
        char *url_display;              /* url as it may be shown: no password, no query values */
        bool has_credentials;           /* some header came from a credential */
        /* TLS: paths, read by http.c at connection time; client_key may be a credential's file. */
        char *ca_file;                  /* NULL: the system store */
        char *client_cert;              /* NULL: none */
        char *client_key;               /* NULL: the key is in client_cert's file */
        enum http_version http_version;
        bool host_is_address;           /* the URL names an IP address: nothing to resolve */
        unsigned topup_factor;          /* a round sends at most topup_factor x containers requests; 1: no top-up */
        enum endpoint_auth auth;
        char *audience;                 /* google: the ID token's audience; the URL's origin unless set */
        char *resource;                 /* azure: the access token's resource */
        char *client_id;                /* azure: a user-assigned identity; NULL: the system-assigned one */
        /* A discovery source (a section with lambda_tag): its other keys are defaults for what it finds. */
        char *lambda_tag;               /* the tag key; NULL: a plain endpoint */
        uint64_t refresh_usec;          /* how often the source's list is read again */
        bool discovered;                /* made by a source (discover.c), not written in the file */
        struct schedule schedule;       /* no windows: around the clock */
};

/* A [global] key set in a file, as "warmd -n" shows it. */
struct config_setting {
        const char *key;
        const char *file;               /* the last file that set it: it overrides the earlier ones */
        unsigned line;
        char *value;                    /* as written there: credentials are not expanded */
};

struct config {
        char *path;
        char **files;                   /* the files read: path, then path.d/'s drop-ins in order */
        size_t n_files;
        struct config_setting *globals; /* the [global] keys set, in the key table's order */
        size_t n_globals;
        unsigned max_parallel;
        char *user_agent;
        char *metrics_file;             /* NULL: none */
        char *timezone;                 /* the schedules' zone; NULL: $TZ or the system's */
        size_t n_endpoints;
        /* Pointers, so an unchanged endpoint can keep its config (which curl points into) across a reload. */
        struct endpoint_config **endpoints;
        /* Discovery sources (sections with lambda_tag), in file order; discover.c turns them into endpoints. */
        size_t n_sources;
        struct endpoint_config **sources;
};

/*
 * "FILE:LINE: message" strings in file order, collected so all are reported at once: the first
 * 100, then one line "FILE: and N more errors" for the n_more that were only counted.
 */
struct config_errors {
        char **lines;
        size_t n;
        size_t n_more;
};

enum {
        /* Check syntax only when $CREDENTIALS_DIRECTORY is unset, as for "warmd -n" from a shell. */
        CONFIG_CREDENTIALS_OPTIONAL = 1 << 0,
};

int config_load(const char *path, unsigned flags, struct config **ret, struct config_errors *errors);
struct config *config_free(struct config *c);
void config_errors_clear(struct config_errors *e);
bool endpoint_config_equal(const struct endpoint_config *a, const struct endpoint_config *b);
size_t config_total_containers(const struct config *c);

/* A problem with an endpoint made from a source, "[NAME]: ...", about the source's key. */
typedef void (*config_problem_fn)(void *userdata, const char *key, const char *message);

/*
 * A Lambda endpoint made from a source's keys (discover.c): named name, invoking lambda (NAME or
 * NAME:QUALIFIER) with containers.  Returns 0, -EINVAL when a problem was reported, or -ENOMEM.
 */
int config_endpoint_derive(const struct endpoint_config *source, const char *name, const char *lambda,
                           unsigned containers, config_problem_fn problem, void *userdata,
                           struct endpoint_config **ret);
struct endpoint_config *config_endpoint_free(struct endpoint_config *ep);
/*
 * A configuration to hand to the scheduler: base's global keys and copies of its endpoints, then
 * extra, whose n_extra endpoints it takes on success; without base's sources.
 */
int config_combine(const struct config *base, struct endpoint_config **extra, size_t n_extra, struct config **ret);

/* ------------------------------------------------------------------ result */

enum reuse {
        REUSE_UNKNOWN,
        REUSE_WARM,
        REUSE_COLD,
};

/* How far the JSON of a body got: what a configured field that stayed unknown is explained by. */
enum body_json {
        BODY_JSON_UNUSED,               /* neither reuse_json nor instance_json is set */
        BODY_JSON_READING,              /* more of the body may tell more */
        BODY_JSON_COMPLETE,             /* the JSON value was parsed whole */
        BODY_JSON_FOUND,                /* every configured field was found before the value ended */
        BODY_JSON_EMPTY,
        BODY_JSON_ENDED,                /* the body ended inside its JSON value */
        BODY_JSON_LIMIT,                /* BODY_READ_MAX bytes parsed, and the value goes on */
        BODY_JSON_NOT_OBJECT,           /* JSON, but not an object: it has no fields */
        BODY_JSON_INVALID,              /* not JSON: json_error, at byte error_offset */
        BODY_JSON_NO_MEMORY,
};

#define BODY_FIELDS_MAX 2

/*
 * The configured JSON fields of one response body, found while the body
 * streams in, so that reading can stop as soon as they are known.  Holds a
 * json-c tokener only while it parses.
 */
struct body_scan {
        const struct endpoint_config *ep;
        struct json_tokener *tok;
        size_t bytes;                   /* body bytes parsed */
        enum body_json state;
        int json_error;                 /* enum json_tokener_error */
        size_t error_offset;
        int reuse;                      /* 1 warm, 0 cold; -ENOENT absent, -EINVAL not a reuse value */
        int instance;                   /* 0 found; -ENOENT absent, -EINVAL not a string or an integer */
        char instance_id[INSTANCE_MAX];
        /*
         * A platform's own string fields (lambda.c's lambda_answer_fields): paths, "a|b" for the first of
         * either, NULL-terminated; NULL: none.  With any, the body is read to its end (BODY_READ_MAX at most).
         */
        const char *const *fields;
        char field[BODY_FIELDS_MAX][160];       /* their values, in that order; empty: not found */
};

/* What http.c saw of one response: a plain view, no curl types needed. */
struct response {
        CURLcode curl_code;             /* CURLE_OK when a response arrived */
        const char *curl_error;         /* curl's error buffer, or NULL */
        long http_status;
        uint64_t total_usec;
        uint64_t connect_usec;
        uint64_t ttfb_usec;
        uint64_t pretransfer_usec;      /* until the request was about to be written */
        const char *reuse_header;       /* value of the configured header, or NULL */
        const char *instance_header;
        const struct body_scan *scan;   /* the body, as scanned while it streamed in */
        const char *body;               /* or a whole body at hand (tests, fuzzing), scanned in one piece */
        size_t body_len;
        bool sent;                      /* the request was written to a connection */
        bool probe;                     /* a connect-only probe (HTTP_PROBE), not a request */
        /* The values of the headers the endpoint's platform asked for (lambda.c's), in its order; or NULL. */
        const char *const *platform_headers;
};

struct result {
        bool ok;                        /* status as expected */
        bool sent;                      /* it left warmd: counted in a round's sent */
        long http_status;               /* 0 when no response */
        char error[CURL_ERROR_SIZE];    /* empty when ok */
        uint64_t total_usec;
        uint64_t connect_usec;
        uint64_t ttfb_usec;
        uint64_t pretransfer_usec;
        uint64_t answered_usec;         /* CLOCK_MONOTONIC usec when the answer was complete; 0: not timed */
        enum reuse reuse;
        bool reuse_guessed;             /* decided by cold_threshold */
        char instance[INSTANCE_MAX];    /* empty when unknown */
        char note[256];                 /* why a configured JSON field stayed unknown; empty when none did */
};

/*
 * The request of an endpoint's round (headers: a Lambda round's signed ones; NULL: the endpoint's), with
 * what its results need of the answer: the headers to capture, and the body scanned as it streams in.
 */
void endpoint_request(const struct endpoint_config *ep, const struct curl_slist *headers, struct http_request *ret);
/* One answer to a request from endpoint_request(). */
void result_from_http(const struct endpoint_config *ep, const struct http_response *hr, struct result *ret);
const char *reuse_to_string(enum reuse r);
int parse_bool_word(const char *s);

enum shortfall {
        SHORTFALL_NONE,
        SHORTFALL_FAILED,               /* a request failed: topping up would only add load */
        SHORTFALL_NO_INSTANCES,         /* no instance ids: containers cannot be told apart */
        SHORTFALL_TOPUP_OFF,            /* topup = no */
        SHORTFALL_LIMIT,                /* the round's request limit is spent */
        SHORTFALL_MAX_PARALLEL,         /* more requests at once than max_parallel would be needed */
        SHORTFALL_NO_PROGRESS,          /* an attempt of N woke no new container: more would not either */
};

/* Why an attempt reached fewer containers than requests, from when each container served each request. */
enum overlap {
        OVERLAP_NONE,                   /* no container answered twice */
        OVERLAP_PACKING,                /* containers served several requests at once */
        OVERLAP_SPREAD,                 /* warmd sent them apart: a container was free again for the next */
        OVERLAP_SERIAL,                 /* sent together, but the platform served them one after another */
};

/* When one request was served, as warmd saw it: sent and first byte bound the container's work. */
struct service_window {
        uint64_t hash;                  /* the container's instance id */
        uint64_t sent_usec, first_byte_usec;    /* CLOCK_MONOTONIC */
};

/* What an attempt's windows say. */
struct overlap_report {
        enum overlap cause;
        uint64_t spread_usec;           /* from the first request sent to the last */
        uint64_t service_usec;          /* SPREAD: the quickest answer (sent to first byte), about what a
                                         * container takes to serve one; SERIAL: the closest answers of one */
        unsigned packed, spread, serial; /* pairs of one container's requests, by what they show */
};

/* Per round, per endpoint. */
struct summary {
        unsigned containers;
        unsigned sent, ok, failed;
        unsigned warm, cold, unknown;
        unsigned guessed;
        unsigned instances;             /* distinct instance ids seen */
        bool instances_known;           /* at least one request reported an id */
        unsigned reached;
        uint64_t p50_usec, max_usec;
        unsigned attempts;              /* 1, plus one per top-up */
        enum shortfall shortfall;       /* why a round short of N was not topped up (further) */
        struct overlap_report first;    /* why the first attempt fell short; cause NONE when it did not */
        unsigned overshoot;             /* distinct containers past N */
};

/* Accumulates a round without allocating per request: the arrays are sized for N, and grow only for top-ups. */
struct round_acc {
        unsigned capacity;
        unsigned limit;                 /* the most requests a round may send */
        unsigned n;
        uint64_t *durations;
        uint64_t *instance_hashes;
        struct service_window *windows; /* parallel to instance_hashes as added (those get sorted) */
        unsigned n_hashes;
        struct summary s;
};

int round_acc_init(struct round_acc *a, unsigned containers, unsigned limit);
void round_acc_done(struct round_acc *a);
void round_acc_reset(struct round_acc *a, unsigned containers);
void round_acc_add(struct round_acc *a, const struct result *r);
void round_acc_finish(struct round_acc *a, struct summary *ret);
/* Distinct instance ids among the successful requests from index from on. */
unsigned round_acc_instances(struct round_acc *a, unsigned from);
struct topup_state;
/* Fills t's counts of the attempt whose requests start at from, and keeps the first attempt's overlap. */
void round_acc_attempt(struct round_acc *a, unsigned from, bool first, struct topup_state *t);
uint64_t instance_hash(const char *instance);

/* ------------------------------------------------------------------- learn */

const char *shortfall_to_string(enum shortfall s);
/* Requests per round in all, top-ups included. */
unsigned endpoint_request_limit(const struct endpoint_config *ep);
/* The same for a round of containers, as a schedule's window asks. */
unsigned endpoint_request_limit_for(const struct endpoint_config *ep, unsigned containers);

/* A round at the end of an attempt. */
struct topup_state {
        unsigned containers;            /* N */
        unsigned limit;                 /* endpoint_request_limit() */
        unsigned max_parallel;          /* 0: no cap */
        unsigned sent;                  /* requests of the round so far */
        unsigned reached;               /* distinct containers of the round so far */
        unsigned failed;
        bool instances_known;
        unsigned batch;                 /* requests of the last attempt */
        unsigned batch_reached;         /* distinct containers of the last attempt */
        unsigned gained;                /* containers the last attempt reached that none before it had */
        enum overlap cause;             /* what the last attempt's windows say */
};

/* Requests of the round's next attempt; 0 when the round is over, and *ret_why says why it is short, if it is. */
unsigned topup_next(const struct topup_state *t, enum shortfall *ret_why);
/* Requests of the next round's first attempt, learned from the last attempt of this one. */
unsigned topup_learn(unsigned containers, unsigned limit, unsigned batch, unsigned batch_reached);
const char *overlap_to_string(enum overlap o);
/* What n windows of one attempt show; sorts w.  Pure, for the unit tests. */
void overlap_classify(struct service_window *w, size_t n, struct overlap_report *ret);

/* What a round found about idle containers being reclaimed between rounds. */
struct reclaim {
        unsigned new_containers;
        bool precise;                   /* from instance ids; otherwise from cold starts */
        uint64_t gap_usec;              /* the idle time they did not survive */
        uint64_t lifetime_min_usec;     /* the longest idle time containers survived; 0: none seen */
        uint64_t lifetime_max_usec;     /* the shortest idle time after which containers were gone */
        uint64_t suggested_interval_usec;
};

/* Per endpoint: every instance id seen lately, and the idle lifetime bounds learned from them. */
struct lifetime {
        void *root;                     /* tsearch() tree of sightings */
        size_t n;
        uint64_t round, round_start;    /* the round being observed; CLOCK_BOOTTIME usec */
        uint64_t prev_end;              /* when the previous round ended; 0: none yet */
        unsigned prev_count;            /* containers that answered the previous round */
        unsigned new_count, seen_again; /* in this round */
        uint64_t longest_survived;      /* 0: unknown */
        uint64_t reclaimed_within;      /* 0: unknown */
        uint64_t reclaims;              /* rounds that found containers reclaimed */
};

void lifetime_init(struct lifetime *l);
void lifetime_done(struct lifetime *l);
void lifetime_round_begin(struct lifetime *l, uint64_t round, uint64_t now);
int lifetime_seen(struct lifetime *l, uint64_t hash, enum reuse reuse, uint64_t now);
int lifetime_round_end(struct lifetime *l, const struct summary *s, uint64_t jitter, uint64_t now,
                       struct reclaim *ret);

/* ----------------------------------------------------------------- journal */

/* The message ids; catalog/warmd.catalog explains each. */
#define WARMD_MESSAGE_REQUEST        "c7b0bcd3252f4b3dba81fe8cf8739cec"
#define WARMD_MESSAGE_ROUND          "36000c07cf604447999d555c60a2e889"
#define WARMD_MESSAGE_SHORT          "eea9db3034b444939b3b46d0e41e4458"
#define WARMD_MESSAGE_CONFIG_LOADED  "fd7ead82897b4c198b6bf8d084bbcf1b"
#define WARMD_MESSAGE_RELOAD_FAILED  "d882634e51414c3e9742fbb32cf59f7a"
#define WARMD_MESSAGE_START          "c570a60c867c4b5cbd907321de78e307"
#define WARMD_MESSAGE_STOP           "29fc3ff0616a4525847f7e361773f66b"
#define WARMD_MESSAGE_ROUND_SKIPPED  "53ccfd41088645a7b528f815865bf77c"
#define WARMD_MESSAGE_RECLAIM        "a690be87b0a742019ad5e082b5eecfc0"
#define WARMD_MESSAGE_IDLE           "1d785760f4a5486db4020d7d41f834a3"
#define WARMD_MESSAGE_FD_LIMIT       "bda9a326ca4d482ebd134d69ecd11966"
#define WARMD_MESSAGE_JOURNAL_DROPPED "d4a0fc9c63f3443f97511d3f87900577"
#define WARMD_MESSAGE_WATCHDOG       "61773b8630af47419e90e47ae4ac158b"
#define WARMD_MESSAGE_DISCOVERY      "109a2f2a1d88444da988666d5d7b42cd"
#define WARMD_MESSAGE_SCHEDULE       "8f8858085c464b879560af2283b0f6f3"

/*
 * A record as "FIELD=value" strings; built by pure functions, sent by
 * journal_send().  It grows as fields are added; the first add that fails
 * is kept in error, later adds do nothing, and journal_record_end() says so.
 */
struct journal_record {
        int priority;
        char **fields;
        size_t n, allocated;
        char *message;                  /* the readable line, also the MESSAGE= field */
        int error;                      /* the first add that failed, or 0 */
};

/* Starts a record with MESSAGE_ID (unless NULL), PRIORITY and SYSLOG_IDENTIFIER. */
int journal_record_begin(struct journal_record *rec, int priority, const char *message_id);
int journal_record_add(struct journal_record *rec, const char *format, ...) _printf_(2, 3);
/* Moves a complete record (no failed add, a MESSAGE=) to ret; otherwise frees it and returns the error. */
int journal_record_end(struct journal_record *rec, struct journal_record *ret);
void journal_record_done(struct journal_record *rec);

int journal_build_event(int priority, const char *message_id, const char *endpoint,
                        struct journal_record *ret, const char *format, ...)
        _printf_(5, 6);
int journal_build_eventv(int priority, const char *message_id, const char *endpoint,
                         struct journal_record *ret, const char *format, va_list ap)
        _printf_(5, 0);

/* The journal sink (journal.c): one record per event of the scheduler, request records within the budget. */
struct journal_sink;
struct scheduler_event;

int journal_sink_new(struct journal_sink **ret);
struct journal_sink *journal_sink_free(struct journal_sink *sink);
/* Sizes the budget for the configuration just loaded. */
void journal_sink_set_config(struct journal_sink *sink, const struct config *c);
void journal_sink_event(struct journal_sink *sink, const struct scheduler_event *ev);

/*
 * The daemon's log (log.c): where every record goes, journald and stderr.
 * Process-wide, because every module logs; see log.c.
 */
void log_setup(void);
void log_set_verbose(bool v);
/* Sends a complete record: one with a failed add is not sent. */
void journal_send(const struct journal_record *rec);
/* Lets the writer send waiting records as soon as journald takes records again; NULL detaches. */
void journal_set_event(sd_event *e);
/* At exit: waits a little for journald to take what still waits, then drops it. */
void journal_flush(void);

struct journal_stats {
        uint64_t dropped;               /* records journald did not take, since start */
};

void journal_stats(struct journal_stats *ret);

/* Plain daemon messages; priority is LOG_*. Returns -abs(err) whatever happens, even when nothing could be logged. */
int log_full(int priority, int err, const char *format, ...) _printf_(3, 4);
#define log_error(...)   log_full(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)   log_full(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_ERR, (e), __VA_ARGS__)
void log_event(int priority, const char *message_id, const char *endpoint, const char *format, ...)
        _printf_(4, 5);

/* -------------------------------------------------------------------- http */

/* http's request API is in http.h. */

/* --------------------------------------------------------------- scheduler */

struct scheduler;

/*
 * The clock of the round timers.  CLOCK_MONOTONIC stops during a suspend, so
 * a round due 10 minutes after a 2-hour suspend would come 2 hours late;
 * CLOCK_BOOTTIME counts the suspend, and an overdue round runs at resume.
 */
#define ROUND_CLOCK CLOCK_BOOTTIME

struct status_totals {
        unsigned endpoints;
        unsigned containers;
        bool have_round;
        uint64_t last_round_realtime;   /* CLOCK_REALTIME usec of the latest finished round */
        unsigned reached, warm, cold, failed, sent;
        unsigned round_containers;      /* the N the last rounds had, summed: what reached is out of */
        uint64_t next_usec;             /* ROUND_CLOCK usec of the next round; 0: none */
        unsigned short_endpoints;
        unsigned reclaim_endpoints;     /* endpoints whose containers were reclaimed between rounds */
        const char *reclaim_name;       /* the one that saw it last, with what it knows */
        uint64_t reclaim_min_usec, reclaim_max_usec, reclaim_suggest_usec;
        unsigned sleeping;              /* endpoints outside their schedule's windows */
        uint64_t wake_realtime;         /* CLOCK_REALTIME usec when the first of them wakes; 0: none */
};

/*
 * What the scheduler reports.  It writes to no sink itself: main.c receives
 * every event through one callback and hands it to the journal, the status
 * line and the metrics file.  Pointers in an event are valid during the call.
 */
enum scheduler_event_type {
        SCHEDULER_EVENT_REQUEST,        /* one request of a round finished, or could not start */
        SCHEDULER_EVENT_ROUND,          /* a round finished */
        SCHEDULER_EVENT_ROUND_SKIPPED,  /* a round fell due while the previous one was still in flight */
        SCHEDULER_EVENT_RECLAIM,        /* a round found that containers had been reclaimed since the last */
        SCHEDULER_EVENT_WINDOW,         /* a schedule's boundary: the endpoint woke, slept or changed N */
};

struct scheduler_event {
        enum scheduler_event_type type;
        const struct endpoint_config *endpoint;
        uint64_t round;
        const struct result *result;    /* REQUEST */
        const struct summary *summary;  /* ROUND */
        unsigned pending;               /* ROUND_SKIPPED: requests of the running attempt not answered yet */
        unsigned requests;              /* ROUND_SKIPPED: requests of the running attempt */
        const struct reclaim *reclaim;  /* RECLAIM */
        unsigned previous, containers;  /* WINDOW: N before and from now on; 0: sleeping */
        uint64_t next_realtime;         /* WINDOW: CLOCK_REALTIME usec of the next boundary; 0: none */
        const char *next_local;         /* WINDOW: the same in the schedule's zone, such as "Mon 2026-12-07 07:30 CET" */
};

/* An endpoint as the metrics see it: its last round and counters since warmd started. */
enum request_outcome {
        OUTCOME_WARM,
        OUTCOME_COLD,
        OUTCOME_UNKNOWN,
        OUTCOME_FAILED,
        _OUTCOME_MAX,
};

struct endpoint_stats {
        const char *name;
        unsigned containers;
        uint64_t interval_usec;
        bool have_round;
        struct summary last;
        uint64_t last_round_realtime;   /* usec */
        uint64_t requests[_OUTCOME_MAX];
        uint64_t rounds, short_rounds, topups;
        uint64_t overshoot;             /* containers woken past N, over all rounds */
        unsigned next_requests;         /* what the next round starts with (learned top-up) */
        uint64_t reclaims;
        uint64_t lifetime_min_usec, lifetime_max_usec;  /* 0: unknown */
        unsigned wanted;                /* containers its schedule wants now; 0: sleeping */
        bool in_window;                 /* inside a window, or without a schedule */
};

typedef void (*scheduler_event_fn)(void *userdata, const struct scheduler_event *ev);

enum {
        /* Each endpoint runs one round and is not rearmed (--once).  Ending the loop is the caller's. */
        SCHEDULER_ONE_ROUND = 1 << 0,
};

struct auth;
/* auth is the caller's, and outlives the scheduler; the caller prepares it for each configuration. */
int scheduler_new(sd_event *e, struct auth *auth, struct config *c, unsigned flags, scheduler_event_fn fn,
                  void *userdata, struct scheduler **ret);
struct scheduler *scheduler_free(struct scheduler *s);
int scheduler_start(struct scheduler *s);
/* Takes ownership of c on success; on failure c stays the caller's and nothing changed. */
int scheduler_apply_config(struct scheduler *s, struct config *c);
/* An endpoint's start, change and stop: a source's refresh logs one record for all its own (discover.c). */
#define ENDPOINT_LOG_LEVEL(cfg) ((cfg)->discovered ? LOG_DEBUG : LOG_INFO)
const struct config *scheduler_config(const struct scheduler *s);
void scheduler_totals(const struct scheduler *s, struct status_totals *ret);
/* For --once: the last summary of endpoint i; -ENOENT before its first round ends. */
int scheduler_endpoint_summary(const struct scheduler *s, size_t i, struct summary *ret);
void scheduler_endpoint_stats(const struct scheduler *s, size_t i, struct endpoint_stats *ret);
size_t scheduler_endpoints(const struct scheduler *s);
/* Whether the endpoint of that name has a round in flight. */
bool scheduler_endpoint_busy(const struct scheduler *s, const char *name);
/*
 * For the watchdog, at now (ROUND_CLOCK usec): 0 while rounds are on time;
 * -ETIME when some endpoint is late, -ENOTCONN when curl's sockets are no
 * longer watched; why then says which endpoint is how late, or what is gone.
 */
int scheduler_check(const struct scheduler *s, uint64_t now, char *why, size_t size);

/* ------------------------------------------------------------------ report */

/* "warmd -n": the files read, the endpoints each defines and the [global] keys set; or all of it as JSON. */
int report_config(FILE *f, const struct config *c, bool json, time_t now);

/* "warmd --once": the failure reasons of the round, gathered from the scheduler's events, and its table. */
struct once_report;
int once_report_new(struct once_report **ret);
struct once_report *once_report_free(struct once_report *r);
void once_report_event(struct once_report *r, const struct scheduler_event *ev);
/* The table, or JSON; *ret_short: some endpoint reached fewer than N. */
int once_report_print(FILE *f, const struct once_report *r, const struct scheduler *s, bool json, bool *ret_short);

/* "warmd --discover --json": the endpoints the sources found, and each source. */
struct discovery;
int report_discovery_json(FILE *f, const struct discovery *d);

/* ---------------------------------------------------------------- discover */

#define DISCOVER_ENDPOINTS_MAX 10000U   /* endpoints of one source at most; past it, the first by name */

struct discovery;

/* A refresh ended (well or not), or a function turned out gone: the set to warm may have changed. */
typedef void (*discovery_changed_fn)(void *userdata);
/* Whether the endpoint has a round in flight: one that leaves the list stays until that round ends. */
typedef bool (*discovery_busy_fn)(void *userdata, const char *endpoint);

/* auth is the caller's, shared with the scheduler, and outlives the discovery. */
int discovery_new(sd_event *e, struct auth *auth, discovery_changed_fn fn, discovery_busy_fn busy, void *userdata,
                  struct discovery **ret);
struct discovery *discovery_free(struct discovery *d);
/* Takes c on success: its sources are read from now on, its endpoints are the static ones. */
int discovery_set_config(struct discovery *d, struct config *c);
const struct config *discovery_base(const struct discovery *d);
/*
 * A reload in two phases, as the scheduler's: discovery_plan_new() makes c's
 * sources ready (taking c on success) and changes nothing; discovery_config()
 * with the plan builds the set it would warm; discovery_commit() makes it the
 * running one and cannot fail, so it comes once everything else has
 * succeeded.  A plan not committed is freed, and the discovery is as before.
 */
struct discovery_plan;
int discovery_plan_new(struct discovery *d, struct config *c, struct discovery_plan **ret);
struct discovery_plan *discovery_plan_free(struct discovery_plan *p);
const struct config *discovery_plan_base(const struct discovery_plan *p);
/* Takes p.  Without one: the set discovery_config() built last is the one applied (a refresh's). */
void discovery_commit(struct discovery *d, struct discovery_plan *p);
/* Reads every source now. */
void discovery_start(struct discovery *d);
/* Whether every source has ended its first refresh, well or not (--once, --discover). */
bool discovery_settled(const struct discovery *d);
/* The set to warm: the file's endpoints, and those the sources found (a static one wins); p's, or the running one's. */
int discovery_config(struct discovery *d, const struct discovery_plan *p, struct config **ret);
/* Every scheduler event: a function that answers 404 is left out for a while. */
void discovery_event(struct discovery *d, const struct scheduler_event *ev);

struct source_stats {
        const char *name, *lambda_tag, *region;
        size_t endpoints;               /* what it warms: as the last refresh found them, less those left to static ones */
        size_t left_to_static;          /* found, but a static endpoint warms the same function */
        uint64_t refresh_errors;        /* since start */
        bool listed;                    /* a refresh has succeeded */
        bool failing;                   /* the last refresh failed */
};

/* A function a source found at its last refresh. */
struct discovered {
        const char *endpoint;           /* SOURCE/FUNCTION[:QUALIFIER] */
        const char *lambda;             /* FUNCTION[:QUALIFIER] */
        unsigned containers;
        bool left_to_static;            /* a static endpoint warms the same function: not warmed as endpoint */
};

size_t discovery_sources(const struct discovery *d);
void discovery_source_stats(const struct discovery *d, size_t i, struct source_stats *ret);
/* Whether every source has been read, once at least. */
bool discovery_listed(const struct discovery *d);
/* The j-th function (by name) source i found; false past the last. */
bool discovery_found(const struct discovery *d, size_t i, size_t j, struct discovered *ret);
/* What the sources found, as a table or JSON; -EIO when some source could not be read. */
int discovery_print(struct discovery *d, FILE *f, bool json);

/* ----------------------------------------------------------------- metrics */

#define METRICS_MIN_GAP_USEC USEC_PER_SEC       /* the file is rewritten at most this often */
#define METRICS_MAX_AGE_USEC (5 * USEC_PER_MINUTE) /* and at least this often */

struct source_stats;
/* Replaces path atomically: a temporary file in the same directory, then rename(). */
int metrics_write(const char *path, const struct endpoint_stats *st, size_t n, const struct source_stats *src,
                  size_t n_src);

/* ------------------------------------------------------------------ notify */

int notify_status_format(const struct status_totals *t, uint64_t now_mono, const char *extra,
                         char *buf, size_t size);
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *status);
void notify_watchdog(void);

/*
 * An endpoint as the watchdog sees it: the deadlines (ROUND_CLOCK usec) of
 * what its rounds wait for.  Its timer fires every interval, also while a
 * round is in flight (the round that falls due then is skipped, not late);
 * a running attempt has every request answered or timed out after timeout.
 */
struct round_clock {
        const struct endpoint_config *cfg;
        uint64_t round;                 /* the latest round started */
        uint64_t timer_usec;            /* when its timer fires; 0: no deadline */
        uint64_t answers_usec;          /* when the running attempt is over at the latest; 0: none running */
};

/*
 * How late the endpoint is: now minus its deadline that passed first, but
 * only once that is over interval + jitter + timeout (a loop busy with other
 * rounds, or a queue under max_parallel, may delay a round by less); 0 while
 * on time.  When late, why says which endpoint waits for what, for how long.
 */
uint64_t watchdog_late(const struct round_clock *c, uint64_t now, char *why, size_t size);

/* -------------------------------------------------------------------- auth */

struct auth;

/* Called when credentials arrive, are refreshed or are lost: rounds that waited for them go on. */
typedef void (*auth_changed_fn)(void *userdata);

int auth_new(sd_event *e, struct auth **ret);
struct auth *auth_free(struct auth *a);
/* fn(userdata) is called on every change, until auth_unlisten() with the same pair (a may be NULL there). */
int auth_listen(struct auth *a, auth_changed_fn fn, void *userdata);
void auth_unlisten(struct auth *a, auth_changed_fn fn, void *userdata);
/* Starts the credential sources that the endpoints and tag sources of c[0..n) need and that are not running yet. */
int auth_prepare(struct auth *a, const struct config *const *c, size_t n);
/*
 * Once c[0..n) are applied (the scheduler's and the discovery's): stops refreshing the tokens and
 * the AWS credentials that none of their endpoints and tag sources needs any more.
 */
void auth_forget(struct auth *a, const struct config *const *c, size_t n);
/*
 * The headers that prove who sends a round of ep, in *ret (NULL when it
 * needs none; to be freed with http_secret_headers_free()).  Returns 0,
 * -EAGAIN while credentials are being fetched, or another -errno with why
 * the round cannot be sent (no secret in it).
 */
int auth_round_headers(struct auth *a, const struct endpoint_config *ep, time_t now, struct curl_slist **ret,
                       char *why, size_t size);
struct aws;
struct sigv4_url_request;
/*
 * The AWS credentials of a profile (NULL: $AWS_PROFILE's chain), shared by
 * every caller; aws_get() then gives them, or -EAGAIN while they are fetched.
 */
int auth_aws_source(struct auth *a, const char *profile, struct aws **ret);
/*
 * A request signed with a profile's credentials (NULL: $AWS_PROFILE's chain): its headers and the
 * signature's in *ret (free with http_secret_headers_free()).  0; -EAGAIN while the credentials are
 * fetched (the changed callback says when to try again); or another -errno with why (no secrets).
 */
int auth_aws_sign_url(struct auth *a, const char *profile, const struct sigv4_url_request *req, time_t now,
                      struct curl_slist **ret, char *why, size_t size);
struct sigv4_request;
struct sigv4_signature;
/*
 * A signature of req (another AWS API than Invoke, such as discover.c's tagging API) with the
 * credentials of a profile, as Lambda endpoints use them; profile: NULL for the default chain.  0, -EAGAIN while they are
 * fetched (the changed callback follows), or another -errno with why (no secret in it).
 */
int auth_aws_sign(struct auth *a, const char *profile, const struct sigv4_request *req, time_t now,
                  struct sigv4_signature *ret, char *why, size_t size);

/* --------------------------------------------------------------------- aws */

#define SIGV4_SHA256_HEX 65     /* a SHA-256 in hex, with its NUL */

struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;            /* NULL: long-term keys */
        uint64_t expiration;            /* CLOCK_REALTIME usec; 0: does not expire */
};

struct sigv4_request {
        const char *method;
        const char *host;               /* as in the Host header, with ":port" when not the default */
        const char *path;               /* as sent: already percent-encoded */
        const char *query;              /* as sent, without '?'; NULL: none */
        const char *const *headers;     /* more "Name: value" headers to sign; NULL-terminated, or NULL */
        const char *payload;
        size_t payload_len;
        const char *region;
        const char *service;
};

/* The headers to send with the request; the token header is NULL without a session token. */
struct sigv4_signature {
        char *authorization;            /* "Authorization: AWS4-HMAC-SHA256 Credential=..." */
        char *date_header;              /* "X-Amz-Date: 20150830T123600Z" */
        char *token_header;             /* "X-Amz-Security-Token: ..." */
        char amz_date[17];
        char signature[SIGV4_SHA256_HEX];
};

int sigv4_sign(const struct sigv4_request *req, const struct aws_credentials *cred, time_t now,
               struct sigv4_signature *ret);
void sigv4_signature_done(struct sigv4_signature *s);
void sigv4_sha256_hex(const void *data, size_t n, char out[SIGV4_SHA256_HEX]);

#define SIGV4_NAME_MAX 32       /* a service or region name, with its NUL */

/* 1 with the service and region a Function URL or API Gateway host names; 0 for any other host. */
int sigv4_scope_from_host(const char *host, char service[SIGV4_NAME_MAX], char region[SIGV4_NAME_MAX]);

struct sigv4_url_request {
        const char *method;
        const char *url;
        const struct curl_slist *headers;       /* sent before the signature's; the x-amz- ones are signed */
        const char *payload;
        size_t payload_len;
        const char *region;
        const char *service;
};

/* The request's headers followed by its signature's, in *ret (free with http_secret_headers_free()). */
int sigv4_sign_url(const struct sigv4_url_request *req, const struct aws_credentials *cred, time_t now,
                   struct curl_slist **ret);

struct aws_cache;

/* Called when credentials become available, are refreshed, or are lost. */
typedef void (*aws_changed_fn)(void *userdata);

int aws_cache_new(sd_event *e, aws_changed_fn changed, void *userdata, struct aws_cache **ret);
struct aws_cache *aws_cache_free(struct aws_cache *c);
/*
 * The source of a profile's credentials (NULL: $AWS_PROFILE, else default, the environment first),
 * shared by every endpoint that names it; made, and fetching, on the first call.  0, or -ENOMEM: a
 * source that has no credentials says why through aws_get().
 */
int aws_cache_get(struct aws_cache *c, const char *profile, struct aws **ret);
/*
 * The AWS files are read again by the next aws_cache_get() of each profile; the sources keep
 * running, and one that the files still lead to is used on, with its credentials.
 */
void aws_cache_reread(struct aws_cache *c);
/* Drops the profiles used() says no one needs, and the sources no kept profile reaches (itself or through roles). */
void aws_cache_forget(struct aws_cache *c, bool (*used)(const char *profile, void *userdata), void *userdata);
/* 0 and the current credentials; -EAGAIN while they are being fetched; -ENOKEY with the reason (no secrets). */
int aws_get(struct aws *a, const struct aws_credentials **ret, const char **ret_error);

#define LAMBDA_DEFAULT_PAYLOAD "{\"source\":\"serverless-plugin-warmup\"}"   /* as that plugin sends */
#define LAMBDA_LOG_TAIL_MAX 8192     /* X-Amz-Log-Result: 4 KB of log as base64, with room to spare */

/* A Lambda function as "lambda = ..." names it; pointers into the spec. */
struct lambda_target {
        const char *function;           /* the name, or the ARN without its qualifier */
        size_t function_len;
        size_t name_len;
        const char *qualifier;          /* NULL: none ($LATEST) */
        size_t qualifier_len;
        char region[32];                /* from an ARN; empty otherwise */
};

/* Setup, for config.c: the "lambda" and "region" keys, then the endpoint they make. */
/* 0, or -EINVAL with the error (to follow "KEY: ") in *ret_error, for the caller to free. */
int lambda_key_check(const char *key, const char *value, char **ret_error);

enum {
        LAMBDA_SET_URL = 1 << 0,        /* keys the endpoint sets that a Lambda endpoint may not */
        LAMBDA_SET_METHOD = 1 << 1,
        LAMBDA_SET_HEADER = 1 << 2,
};

struct lambda_setup {
        unsigned set;                   /* LAMBDA_SET_* */
        /* A problem with the endpoint, "[NAME]: ...", to be reported at the line of key. */
        void (*problem)(void *userdata, const char *key, const char *message);
        void *userdata;
};

/*
 * The invoke's method, payload, region, URL and fixed headers, into ep.  Returns 1 when ep->url is the
 * invoke's, 0 when a problem was reported, -ENOMEM.
 */
int lambda_endpoint_setup(struct endpoint_config *ep, const struct lambda_setup *setup);

/* The answer, for result.c: what to keep of it, and what it means. */
enum lambda_answer_header {
        LAMBDA_FUNCTION_ERROR,          /* X-Amz-Function-Error */
        LAMBDA_ERROR_TYPE,              /* x-amzn-ErrorType */
        LAMBDA_LOG_RESULT,              /* X-Amz-Log-Result: the base64 log tail */
        LAMBDA_ANSWER_HEADERS,
};

enum lambda_answer_field {
        LAMBDA_FIELD_ERROR_TYPE,        /* "errorType", from the function */
        LAMBDA_FIELD_MESSAGE,           /* "message" or "Message", from the service */
};

extern const char *const lambda_answer_headers[LAMBDA_ANSWER_HEADERS];
extern const char *const lambda_answer_fields[];
void lambda_apply(const struct endpoint_config *ep, const struct response *r, const struct body_scan *scan,
                  struct result *res);
