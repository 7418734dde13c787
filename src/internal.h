/* SPDX-License-Identifier: MIT */
/*
 * internal.h: what modules keep to themselves, but declare for their unit
 * tests and fuzzers (tests/test-*.c, tests/fuzz/): pure steps of a module
 * that warmd.h's interface does not need, so a test can drive each one
 * without a network, a journal or a running loop.  Nothing in src/ but the
 * module that defines a function includes this header for it.
 */
#pragma once

#include "warmd.h"

/* ----------------------------------------------- config.c, config-keys.c */

bool config_global_equal(const struct config *a, const struct config *b);
const struct endpoint_config *config_find_endpoint(const struct config *c, const char *name);

/* Where a key may be set: an endpoint may override a key of both scopes. */
enum {
        CONFIG_SCOPE_GLOBAL = 1 << 0,
        CONFIG_SCOPE_ENDPOINT = 1 << 1,
};

/* One key of the table in config-keys.c, as warmd.conf(5)'s key list shows it. */
struct config_key_info {
        const char *name;
        unsigned scope;                 /* CONFIG_SCOPE_* */
        bool required;
        bool inheritable;               /* an endpoint can take the value from [global] */
        char summary[160];              /* the value, its range and default */
};

int config_key_info(size_t i, struct config_key_info *ret);       /* -ENOENT past the last key */

/* -------------------------------------------------------------- report.c */

struct json_object;
/* The failures of an endpoint as --once --json prints them: an array of {reason, count}; NULL without memory. */
struct json_object *once_report_failures(const struct once_report *r, const char *endpoint);

/* -------------------------------------------------------------- result.c */

void body_scan_init(struct body_scan *s, const struct endpoint_config *ep);
/* Returns true once the rest of the body can tell nothing more. */
bool body_scan_feed(struct body_scan *s, const char *data, size_t len);
/* The body has ended. */
void body_scan_end(struct body_scan *s);
void body_scan_done(struct body_scan *s);

void result_from_response(const struct endpoint_config *ep, const struct response *r, struct result *ret);

/* ------------------------------------------- journal.c, journal-record.c */

const char *journal_record_get(const struct journal_record *rec, const char *field);

int journal_build_request(const struct endpoint_config *ep, uint64_t round, const struct result *r,
                          struct journal_record *ret);
/* unlogged: requests of the round whose own record was held back (see journal_budget_admit()). */
int journal_build_round(const struct endpoint_config *ep, uint64_t round, const struct summary *s, unsigned unlogged,
                        struct journal_record *ret);
/* A schedule's boundary: the endpoint woke, slept or changed N (a WINDOW event). */
int journal_build_window(const struct scheduler_event *ev, struct journal_record *ret);
int journal_build_reclaim(const struct endpoint_config *ep, uint64_t round, const struct reclaim *rc,
                          struct journal_record *ret);

/*
 * journald keeps at most RateLimitBurst= records per RateLimitIntervalSec=
 * of a unit, counted apart for each priority group, and drops the rest:
 * 10,000 per 30 s by default, with "info" and "notice" in one group.  Round
 * summaries (info) must all get through, so request records (info when
 * they succeed, notice when they fail) get only what the summaries leave:
 * the limit is the room left in 30 s, failed requests may use all of it and
 * successful ones half, so that a flood of successes never crowds out a
 * failure.
 */
#define JOURNAL_RATE_INTERVAL_USEC      (30 * USEC_PER_SEC)
#define JOURNAL_RATE_BURST              10000U
#define JOURNAL_RATE_OTHER              100U    /* start, config loaded, reload messages, ... */
#define JOURNAL_BUDGET_SLOTS            31U     /* one-second slots: any 30 s lie within 31 of them */

struct journal_budget {
        unsigned limit;                 /* request records in any 30 s */
        uint64_t second;                /* the slot of the latest record */
        unsigned slots[JOURNAL_BUDGET_SLOTS];
        unsigned used;                  /* the sum of slots */
};

/* The limit for a configuration: 30 s worth of round summaries of every endpoint, and the rest, come first. */
unsigned journal_budget_limit(const struct config *c);
/* Whether a request record fits now (CLOCK_MONOTONIC usec); counts it if it does. */
bool journal_budget_admit(struct journal_budget *b, uint64_t now, bool failed);

/* ------------------------------------------------------------- metrics.c */

int metrics_format(FILE *f, const struct endpoint_stats *st, size_t n);
int metrics_format_sources(FILE *f, const struct source_stats *src, size_t n);

/* -------------------------------------------------------------- lambda.c */

bool lambda_region_valid(const char *s, size_t n);

int lambda_parse(const char *spec, struct lambda_target *ret, const char **ret_error);
int lambda_url(const struct lambda_target *t, const char *region, char **ret);
int lambda_payload_check(const char *body);
int lambda_client_context(const char *body, char **ret);
enum reuse lambda_log_reuse(const char *log_result_b64);

/* ------------------------------------------------------------- tagging.c */

#define TAGGING_PER_PAGE        100                     /* ResourcesPerPage: the most the API gives */
#define TAGGING_PAGE_MAX        (4U * 1024U * 1024U)    /* bytes of a page: 100 functions with 50 tags each take 2.2 MB */

/* One function a page lists: its ARN and the value of the source's tag. */
struct tagging_resource {
        char *arn;
        char *value;
};

struct tagging_page {
        struct tagging_resource *items;
        size_t n;
        char *next_token;               /* NULL: the last page */
};

/* GetResources' body: Lambda functions with tag key, one page of TAGGING_PER_PAGE from token (NULL: the first). */
int tagging_request_body(const char *key, const char *token, char **ret);
/* -EBADMSG with why when the page is not GetResources' answer; -ENOMEM. */
int tagging_page_parse(const char *body, size_t len, const char *key, struct tagging_page *ret, char *why,
                       size_t size);
void tagging_page_done(struct tagging_page *p);
/* An error answer, as "HTTP 400 ThrottledException: Rate exceeded". */
void tagging_error(long status, const char *error_type, const char *body, size_t len, char *why, size_t size);
/* A tag value: "N" or "N:QUALIFIER"; -EINVAL if it is neither.  *ret_qualifier points into value, or is NULL. */
int tagging_tag_value(const char *value, unsigned *ret_containers, const char **ret_qualifier);
/* The function name of a function's ARN; -EINVAL for anything else. */
int tagging_arn_function(const char *arn, char *name, size_t size);
