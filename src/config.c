/* SPDX-License-Identifier: MIT */
/*
 * config.c: reads warmd.conf (through ini.c) into a fresh struct config, and
 * validates all of it.  Every mistake is collected as "FILE:LINE: message";
 * any mistake fails the load, because a daemon that guesses (say, one
 * container for a mistyped "contaners") warms the wrong thing silently.
 *
 * Every key is one line of the table config_keys[] in config-keys.c: its
 * name, the sections it may appear in, its type (how it is parsed, compared,
 * inherited and freed) and the field it fills.  This file applies the table:
 * each key line to its section, inheritance from [global], the checks
 * between keys of an endpoint, endpoint_config_equal(); did-you-mean and
 * the key list in warmd.conf(5) follow from it too.
 */
#include "config.h"

#include <ctype.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "config-internal.h"
#include "url.h"

#define SECTION_NAME_MAX        50      /* 49 characters, as when libinih read the file */
/*
 * Limits on what comes from outside, listed in warmd.conf(5)'s LIMITS.  The
 * file is read in bytes actually read, so a pipe or a device is bounded too.
 * At these limits "warmd -n" takes at most about 0.3 s here (see
 * bench/config-limits), so a reload does not hold up a stop for long.
 */
#define CONFIG_FILE_MAX         (16U * 1024U * 1024U)   /* bytes read, plus bytes credentials add */
#define LINE_MAX_CHARS          199     /* without the line's leading and trailing blanks */
#define ENDPOINTS_MAX           100000U /* the rest of the file is not read */

/* ---------------------------------------------------------------- handler */

static void endpoint_config_done(struct endpoint_config *ep);

static void handle_key(struct parser *p, const char *name, const char *value) {
        struct section *s = p->cur;
        const struct key *k;
        bool global;
        size_t id;

        id = config_key_id(name);
        /* Nothing of a line with a control character is shown, unless it is a key that may hold them. */
        if (p->control && id == config_n_keys) {
                add_error(p, "control character 0x%02x", p->control);
                return;
        }
        if (!s) {
                add_error(p, "'%s' is outside any section; put it under [global] or an endpoint section", name);
                return;
        }
        global = streq(s->name, "global");

        if (id == config_n_keys) {
                const char *hint = config_did_you_mean(name);

                if (hint)
                        add_error(p, "unknown key '%s' in [%s]; did you mean '%s'?", name, s->name, hint);
                else
                        add_error(p, "unknown key '%s' in [%s]", name, s->name);
                return;
        }
        k = &config_keys[id];
        if (global && !(k->scope & CONFIG_SCOPE_GLOBAL)) {
                add_error(p, "'%s' belongs in an endpoint section, not in [global]", name);
                return;
        }
        if (!global && !(k->scope & CONFIG_SCOPE_ENDPOINT)) {
                add_error(p, "'%s' is only allowed in [global]", name);
                return;
        }
        if (!(k->flags & KEY_REPEATABLE) && s->key_line[id] > 0) {
                add_error(p, "duplicate key '%s' (first set at line %u)", name, s->key_line[id]);
                return;
        }
        s->key_line[id] = p->line;
        if (global) {
                p->global_file[id] = p->file;
                p->global_line[id] = p->line;
                set_string(p, value, &p->global_value[id]);
        }
        if (*value == '\0') {
                add_error(p, "%s: empty value", name);
                return;
        }
        /* A control character (a bare CR above all) would reach the wire as it is; body is sent whole. */
        if (p->control && !(k->flags & KEY_CONTROL_CHARS)) {
                add_error(p, "%s: control character 0x%02x in the value", name, p->control);
                return;
        }

        if (global)
                /* A key an endpoint may override is a default for all of them. */
                k->type->parse(p, k, value, k->scope & CONFIG_SCOPE_ENDPOINT ? (void *) &p->defaults : (void *) p->config);
        else if (s->ep)
                k->type->parse(p, k, value, s->ep);
        else {
                /* A rejected section: check the value against a scratch endpoint. */
                struct endpoint_config scratch = {};

                s->headers_cap = 0;
                k->type->parse(p, k, value, &scratch);
                endpoint_config_done(&scratch);
        }
}

/* --------------------------------------------------------------- sections */

static bool valid_section_name(const char *s) {
        if (!*s || strlen(s) >= SECTION_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.:@-", *s))
                        return false;
        return true;
}

static int cmp_section_name(const void *a, const void *b) {
        return strcmp(((const struct section *) a)->name, ((const struct section *) b)->name);
}

static void begin_section(struct parser *p, const char *name) {
        struct section *s, **found, **v;
        bool global;

        p->cur = NULL;
        v = array_grow(p->sections, p->n_sections, &p->sections_cap, sizeof(struct section *));
        if (!v) {
                p->failed_oom = true;
                return;
        }
        p->sections = v;
        s = calloc(1, sizeof *s);
        if (!s || !(s->name = strdup(name))) {
                free(s);
                p->failed_oom = true;
                return;
        }
        s->file = p->file;
        s->line = p->line;
        p->sections[p->n_sections++] = s;
        p->cur = s;

        found = tsearch(s, &p->section_names, cmp_section_name);
        if (!found) {
                p->failed_oom = true;
                return;
        }
        global = streq(name, "global");
        if (*found != s && global && (*found)->file != s->file)
                /* Each file may have its [global]; duplicate keys are then told apart in this file's. */
                *found = s;
        else if (*found != s) {
                if ((*found)->file == s->file)
                        add_error(p, "duplicate section [%s] (first defined at line %u)", name, (*found)->line);
                else
                        add_error(p, "duplicate section [%s] (first defined at %s:%u)", name,
                                  p->config->files[(*found)->file], (*found)->line);
                return;         /* its keys are still read, for their own errors, but not applied */
        }
        if (!global && valid_section_name(name)) {
                if (p->config->n_endpoints == ENDPOINTS_MAX) {
                        add_error(p, "too many endpoints: warmd reads at most %u, and not the rest of the file",
                                  ENDPOINTS_MAX);
                        p->stop = true;
                        return;
                }
                /* Endpoint configs are allocated one by one, so they never move as the array grows. */
                struct endpoint_config *ep = calloc(1, sizeof *ep), **a;

                a = ep ? array_grow(p->config->endpoints, p->config->n_endpoints, &p->endpoints_cap, sizeof(*a)) : NULL;
                if (!a) {
                        free(ep);
                        p->failed_oom = true;
                        return;
                }
                p->config->endpoints = a;
                a[p->config->n_endpoints++] = ep;
                ep->name = strdup(name);
                ep->file = strdup(p->path);
                ep->line = p->line;
                if (!ep->name || !ep->file)
                        p->failed_oom = true;
                s->ep = ep;
        }
}

/* A section header: errors in its name are reported, and its keys are still read, for their own errors. */
static void handle_section(struct parser *p, const char *header) {
        _cleanup_(freep) char *name = strdup(header);

        if (!name) {
                p->failed_oom = true;
                return;
        }
        /* Never echo a control character: the name is shown with '?' instead. */
        if (p->control) {
                add_error(p, "control character 0x%02x in a section header", p->control);
                for (char *c = name; *c; c++)
                        if (is_control_char((unsigned char) *c))
                                *c = '?';
        }
        if (strlen(name) >= SECTION_NAME_MAX)
                add_error(p, "section name too long (%zu characters; the limit is %d)", strlen(name), SECTION_NAME_MAX - 1);
        else if (!valid_section_name(name) && !p->control)
                add_error(p, "invalid section name [%s] (use letters, digits, '_', '.', ':', '@' and '-')", name);
        begin_section(p, name);
}

/* ------------------------------------------------------------- validation */

struct lambda_problems {
        struct parser *p;
        const struct section *s;
};

static void lambda_problem(void *userdata, const char *key, const char *message) {
        struct lambda_problems *lp = userdata;

        add_error_in(lp->p, lp->s->file, set_at(lp->s, key), "%s", message);
}

/* Sets ep up as lambda.c says, and its URL as it may be shown.  1: done; 0: a problem was reported; -ENOMEM. */
static int lambda_setup(struct endpoint_config *ep, unsigned set, config_problem_fn problem, void *userdata) {
        CURLU *u;
        int r;

        r = lambda_endpoint_setup(ep, &(struct lambda_setup) {
                                          .set = set,
                                          .problem = problem,
                                          .userdata = userdata,
                                  });
        if (r > 0) {
                free(ep->url_display);
                ep->url_display = NULL;
                u = curl_url();
                /* lambda.c has parsed the URL: only memory can fail. */
                if (!u || curl_url_set(u, CURLUPART_URL, ep->url, 0) != CURLUE_OK)
                        r = -ENOMEM;
                else {
                        ep->host_is_address = host_is_address(u);
                        r = url_display(u, &ep->url_display) < 0 ? -ENOMEM : 1;
                }
                curl_url_cleanup(u);
        }
        return r;
}

/* A Lambda endpoint, set up by lambda.c; the URL it makes is shown as any.  Returns false if it is not one. */
static bool finish_lambda(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        struct lambda_problems lp = { p, s };

        if (!ep->lambda)
                return false;
        if (lambda_setup(ep, (set_at(s, "url") ? LAMBDA_SET_URL : 0) | (set_at(s, "method") ? LAMBDA_SET_METHOD : 0) |
                                     (set_at(s, "header") ? LAMBDA_SET_HEADER : 0),
                         lambda_problem, &lp) == -ENOMEM)
                p->failed_oom = true;
        return true;
}

/* A Cloud Run service's audience by default: the URL's scheme, host and port (only when not the scheme's own). */
static int url_origin(const char *url, char **ret) {
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
                (void) curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
                r = asprintf(ret, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "") < 0 ? -ENOMEM : 0;
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

/* auth and the keys that go with it. */
static void finish_auth(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        const char *name = ep->auth == AUTH_GOOGLE ? "google" : "azure";
        unsigned file, line;

        /* resource and client_id may come from [global] for the endpoints that use them, like region. */
        if (set_at(s, "audience") && ep->auth != AUTH_GOOGLE)
                add_error_in(p, s->file, set_at(s, "audience"), "[%s]: 'audience' needs auth = google", s->name);
        if (ep->auth != AUTH_GOOGLE && ep->auth != AUTH_AZURE)
                return;
        if (ep->lambda) {
                /* An invoke is signed with AWS credentials whatever [global] says; only its own section can be wrong. */
                if (set_at(s, "auth"))
                        return add_error_in(p, s->file, set_at(s, "auth"), "[%s]: auth = %s cannot be used with "
                                            "'lambda': an invoke is signed with AWS credentials", s->name, name);
                ep->auth = AUTH_NONE;
                return;
        }
        config_where_set(p, s, "auth", &file, &line);
        for (size_t i = 0; i < ep->n_headers; i++)
                if (strncasecmp(ep->headers[i], "Authorization:", 14) == 0)
                        add_error_in(p, s->file, set_at(s, "header"), "[%s]: 'header = Authorization: ...' cannot be set "
                                     "with auth = %s: warmd sends the token in it", s->name, name);
        if (ep->auth == AUTH_AZURE && !ep->resource)
                add_error_in(p, file, line, "[%s]: auth = azure needs 'resource' (the application ID "
                             "URI or client id of the app the token is for)", s->name);
        if (ep->auth == AUTH_GOOGLE && !ep->audience && ep->url) {
                int r = url_origin(ep->url, &ep->audience);

                if (r == -ENOMEM)
                        p->failed_oom = true;
        }
}

/* auth = aws on a URL: the signature's service and region, from the host when it names them. */
static void finish_aws_auth(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        char service[SIGV4_NAME_MAX], region[SIGV4_NAME_MAX];
        const char *env = NULL;
        unsigned file, line;
        char *host = NULL;
        CURLU *u;
        int r = 0;

        /* An invoke is signed anyway; a bad URL was reported. */
        if (ep->auth != AUTH_AWS || ep->lambda || !ep->url)
                return;
        config_where_set(p, s, "auth", &file, &line);
        for (size_t i = 0; i < ep->n_headers; i++)
                if (strncasecmp(ep->headers[i], "Authorization:", 14) == 0)
                        add_error_in(p, s->file, set_at(s, "header"), "[%s]: 'header = Authorization: ...' cannot be set "
                                     "with auth = aws: warmd sends the signature in it", s->name);
        u = curl_url();
        if (!u || curl_url_set(u, CURLUPART_URL, ep->url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                r = -ENOMEM;
        else
                r = sigv4_scope_from_host(host, service, region);
        curl_free(host);
        curl_url_cleanup(u);
        if (r > 0) {
                /* The host is the truth: a region of [global] must not sign a Function URL of another. */
                free(ep->region);
                ep->region = strdup(region);
                if (!ep->aws_service)
                        ep->aws_service = strdup(service);
                if (!ep->region || !ep->aws_service)
                        p->failed_oom = true;
                return;
        }
        if (r < 0) {
                p->failed_oom = true;
                return;
        }
        if (!ep->aws_service)
                return add_error_in(p, file, line, "[%s]: auth = aws needs aws_service: the host is "
                                    "neither a Function URL nor an API Gateway endpoint", s->name);
        if (!ep->region && !((env = getenv("AWS_REGION")) && *env) && !((env = getenv("AWS_DEFAULT_REGION")) && *env))
                return add_error_in(p, file, line, "[%s]: auth = aws needs a region (set region = in "
                                    "[global] or here, or AWS_REGION)", s->name);
        if (env && !lambda_region_valid(env, strlen(env)))
                return add_error_in(p, file, line, "[%s]: auth = aws: the region of the environment "
                                    "is not valid", s->name);
        if (!ep->region && !(ep->region = strdup(env)))
                p->failed_oom = true;
}

/* Keys an endpoint leaves unset take [global]'s value, or the key's default. */
static void take_defaults(struct parser *p, struct section *s, bool source) {
        for (size_t i = 0; i < config_n_keys; i++) {
                const struct key *k = &config_keys[i];

                if (!(k->scope & CONFIG_SCOPE_ENDPOINT) || s->key_line[i] > 0)
                        continue;
                /* A key set to a bad value, or on a line too long, was reported already. */
                if (k->flags & KEY_REQUIRED) {
                        if (!source && !s->bad_line && !(k->instead && set_at(s, k->instead)))
                                add_error_in(p, s->file, s->line, "[%s]: missing required key '%s'", s->name, k->name);
                } else if (((k->scope & CONFIG_SCOPE_GLOBAL) || k->def) &&
                           k->type->copy(field_of(k, s->ep), const_field_of(k, &p->defaults)) < 0) {
                        p->failed_oom = true;
                        return;
                }
        }
}

static void check_jitter(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        unsigned file, line;
        char a[32], b[32];

        if (ep->jitter_usec <= ep->interval_usec)
                return;
        config_where_set(p, s, "jitter", &file, &line);
        (void) format_duration(ep->jitter_usec, DURATION_CONFIG, a, sizeof a);
        (void) format_duration(ep->interval_usec, DURATION_CONFIG, b, sizeof b);
        add_error_in(p, file, line, "[%s]: jitter (%s) must not be longer than interval (%s)", s->name, a, b);
}

#define TAG_KEY_MAX 128         /* AWS's limit on a tag key */

/*
 * A discovery source: a section with lambda_tag.  Its other keys are
 * defaults for the endpoints it finds, so they are checked now, on an
 * endpoint made from them, rather than when a refresh finds one.
 */
static void finish_source(struct parser *p, struct section *s) {
        static const char *const not_in_source[] = { "containers", "url", "lambda", "method", "header", "audience" };
        struct endpoint_config *ep = s->ep, *trial = NULL;
        struct lambda_problems lp = { p, s };
        const char *region;
        unsigned file, line;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(not_in_source); i++)
                if (set_at(s, not_in_source[i]))
                        add_error_in(p, s->file, set_at(s, not_in_source[i]),
                                     "[%s]: '%s' cannot be set in a source (a section with lambda_tag): %s", s->name,
                                     not_in_source[i],
                                     streq(not_in_source[i], "containers") ? "each function's tag value says how many" :
                                     "the functions it finds are invoked through the Lambda API");
        if (strlen(ep->lambda_tag) > TAG_KEY_MAX)
                add_error_in(p, s->file, set_at(s, "lambda_tag"), "lambda_tag: longer than %d characters, AWS's limit on a tag key",
                             TAG_KEY_MAX);
        take_defaults(p, s, true);
        check_jitter(p, s);
        config_where_set(p, s, "auth", &file, &line);
        if (ep->auth == AUTH_GOOGLE || ep->auth == AUTH_AZURE)
                add_error_in(p, file, line, "[%s]: auth = %s cannot be used in a source: the functions it "
                             "finds are invoked with AWS credentials", s->name, ep->auth == AUTH_GOOGLE ? "google" : "azure");
        region = ep->region ? ep->region : getenv("AWS_REGION");
        if (!region || !*region)
                region = getenv("AWS_DEFAULT_REGION");
        if (!region || !*region) {
                add_error_in(p, s->file, s->line, "[%s]: no region for the source (set region = in [global] or here, or AWS_REGION)",
                             s->name);
                return;
        }
        /* The keys as an endpoint it finds will have them: body must be JSON, and so on. */
        r = config_endpoint_derive(ep, s->name, "warmd-check", 1, lambda_problem, &lp, &trial);
        if (r == -ENOMEM)
                p->failed_oom = true;
        config_endpoint_free(trial);
}

static void finish_endpoint(struct parser *p, struct section *s) {
        struct endpoint_config *ep = s->ep;
        bool lambda = false;
        struct curl_slist *tail = NULL;
        unsigned file, line, unused;

        take_defaults(p, s, false);
        if (set_at(s, "refresh"))
                add_error_in(p, s->file, set_at(s, "refresh"), "[%s]: 'refresh' is only for a source (a section with lambda_tag)",
                             s->name);

        /* A Lambda endpoint's method, body and headers are set there, before the checks below. */
        if (finish_lambda(p, s) && ep->header_list)
                lambda = true;
        finish_auth(p, s);
        finish_aws_auth(p, s);
        /* By the lines, not the fields: a credential left unread by "warmd -n" leaves its field unset. */
        if (config_key_set_at(p, s, "client_key", &file, &line) && !config_key_set_at(p, s, "client_cert", &unused, &unused))
                add_error_in(p, file, line, "[%s]: 'client_key' needs 'client_cert'", s->name);

        line = set_at(s, "body");
        if (ep->body && (!ep->method || streq(ep->method, "GET") || streq(ep->method, "HEAD")))
                add_error_in(p, s->file, line, "[%s]: 'body' needs a method that sends one, such as method = POST", s->name);
        check_jitter(p, s);

        /* Appended at the tail, which curl_slist_append() would otherwise walk to for every header. */
        for (size_t i = 0; !lambda && i < ep->n_headers; i++) {
                struct curl_slist *l = curl_slist_append(tail, ep->headers[i]);

                if (!l) {
                        p->failed_oom = true;
                        return;
                }
                if (!tail)
                        ep->header_list = l;
                tail = tail ? tail->next : l;
        }
}

static void endpoint_config_done(struct endpoint_config *ep) {
        for (size_t i = 0; i < config_n_keys; i++)
                if ((config_keys[i].scope & CONFIG_SCOPE_ENDPOINT) && config_keys[i].type->done)
                        config_keys[i].type->done(field_of(&config_keys[i], ep));
        free(ep->name);
        free(ep->file);
        free(ep->url_display);
        curl_slist_free_all(ep->header_list);
}

struct endpoint_config *config_endpoint_free(struct endpoint_config *ep) {
        if (!ep)
                return NULL;
        endpoint_config_done(ep);
        free(ep);
        return NULL;
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_endpoints; i++)
                config_endpoint_free(c->endpoints[i]);
        free(c->endpoints);
        for (size_t i = 0; i < c->n_sources; i++)
                config_endpoint_free(c->sources[i]);
        free(c->sources);
        for (size_t i = 0; i < config_n_keys; i++)
                if (config_keys[i].scope == CONFIG_SCOPE_GLOBAL && config_keys[i].type->done)
                        config_keys[i].type->done(field_of(&config_keys[i], c));
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        for (size_t i = 0; i < c->n_globals; i++)
                free(c->globals[i].value);
        free(c->globals);
        free(c->path);
        free(c);
        return NULL;
}

/* The tree only points at sections; parser_done() frees them through p->sections. */
static void noop_free(void *p _unused_) {
}

static void parser_done(struct parser *p) {
        tdestroy(p->section_names, noop_free);
        for (size_t i = 0; i < p->n_sections; i++) {
                free(p->sections[i]->name);
                free(p->sections[i]);
        }
        free(p->sections);
        endpoint_config_done(&p->defaults);
        for (size_t i = 0; i < config_n_keys; i++)
                free(p->global_value[i]);
        credentials_done(&p->credentials);
        for (size_t i = 0; i < p->n_errors; i++)
                free(p->errors[i].text);
        ini_close(p->ini);
}

/* Reads one file of the set into p.  Returns 0, or a read error of the file (which is reported). */
static int read_file(struct parser *p) {
        struct ini_item it;
        int r;

        p->cur = NULL;
        p->line = 0;
        r = ini_open(p->path, &(struct ini_limits) { .file_max = p->read_left, .line_max = LINE_MAX_CHARS }, &p->ini);
        if (r < 0) {
                add_error_at(p, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        while (!p->stop && (r = ini_next(p->ini, &it)) > 0) {
                p->line = it.line;
                p->control = it.control;
                switch (it.type) {
                case INI_SECTION:
                        handle_section(p, it.name);
                        break;
                case INI_KEY:
                        handle_key(p, it.name, it.value);
                        break;
                case INI_BAD_LINE:
                case INI_SYNTAX_ERROR:
                        /* A line not read may have held any key: the section's missing keys are no news. */
                        if (it.type == INI_BAD_LINE && p->cur)
                                p->cur->bad_line = true;
                        add_error(p, "%s", it.error);
                        break;
                }
        }
        p->read_left -= MIN(p->read_left, ini_used(p->ini));
        p->ini = ini_close(p->ini);
        if (r == -EFBIG) {
                if (p->file == 0)
                        add_error_at(p, 0, "too large: warmd reads at most %u bytes (16 MiB), credentials included",
                                     CONFIG_FILE_MAX);
                else
                        add_error_at(p, 0, "too large: warmd reads at most %u bytes (16 MiB) in all its files, "
                                     "credentials included", CONFIG_FILE_MAX);
                if (p->cur)
                        p->cur->bad_line = true;        /* cut short: its missing keys are no news */
                p->stop = true;
        } else if (r < 0) {
                add_error_at(p, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        return 0;
}

/* Sources leave the endpoints: the scheduler only ever sees what they find. */
static int split_sources(struct config *c) {
        size_t n = 0, m = 0;

        for (size_t i = 0; i < c->n_endpoints; i++)
                m += c->endpoints[i]->lambda_tag != NULL;
        if (m == 0)
                return 0;
        c->sources = calloc(m, sizeof(struct endpoint_config *));
        if (!c->sources)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (c->endpoints[i]->lambda_tag)
                        c->sources[c->n_sources++] = c->endpoints[i];
                else
                        c->endpoints[n++] = c->endpoints[i];
        c->n_endpoints = n;
        return 0;
}

int config_load(const char *path, unsigned flags, struct config **ret, struct config_errors *errors) {
        struct parser p = {
                .path = path,
                .read_left = CONFIG_FILE_MAX,
                .credentials.optional = flags & CONFIG_CREDENTIALS_OPTIONAL,
        };
        struct config *c = NULL;
        int r = 0, read_error = 0;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        p.config = c;
        c->path = strdup(path);
        c->files = calloc(1, sizeof(char *));
        if (!c->path || !c->files || !(c->files[0] = strdup(path))) {
                r = -ENOMEM;
                goto fail;
        }
        c->n_files = 1;
        for (size_t i = 0; i < config_n_keys; i++)
                if (config_keys[i].def)
                        config_keys[i].type->parse(&p, &config_keys[i], config_keys[i].def,
                                            config_keys[i].scope == CONFIG_SCOPE_GLOBAL ? (void *) c : (void *) &p.defaults);

        r = read_file(&p);
        if (r < 0 && config_n_errors(&p) == 1)
                goto fail;      /* the main file cannot be read: nothing else to say */
        read_error = r;
        r = config_list_dropins(&p, path);
        if (r < 0)
                goto fail;
        /* The main file is read in full first, so its errors come first, as the files are listed. */
        for (size_t i = 1; i < c->n_files && !p.stop; i++) {
                p.file = (unsigned) i;
                p.path = c->files[i];
                r = read_file(&p);
                if (r < 0 && read_error == 0)
                        read_error = r;
        }

        for (size_t i = 0; i < p.n_sections; i++)
                if (p.sections[i]->ep && p.sections[i]->ep->lambda_tag)
                        finish_source(&p, p.sections[i]);
                else if (p.sections[i]->ep)
                        finish_endpoint(&p, p.sections[i]);
        if (!p.failed_oom && split_sources(c) < 0)
                p.failed_oom = true;

        if (p.failed_oom || config_keep_globals(&p) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        if (config_n_errors(&p) > 0) {
                r = read_error < 0 ? read_error : -EINVAL;
                goto fail;
        }
        parser_done(&p);
        *ret = c;
        return 0;

fail:
        config_move_errors(&p, errors);
        parser_done(&p);
        config_free(c);
        return r < 0 ? r : -EINVAL;
}

const struct endpoint_config *config_find_endpoint(const struct config *c, const char *name) {
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (streq(c->endpoints[i]->name, name))
                        return c->endpoints[i];
        return NULL;
}

size_t config_total_containers(const struct config *c) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_endpoints; i++)
                n += c->endpoints[i]->containers;
        return n;
}

/* Equal endpoints keep their schedule and history across a reload: every key an endpoint has, from the table. */
bool endpoint_config_equal(const struct endpoint_config *a, const struct endpoint_config *b) {
        if (!streq(a->name, b->name))
                return false;
        for (size_t i = 0; i < config_n_keys; i++)
                if ((config_keys[i].scope & CONFIG_SCOPE_ENDPOINT) &&
                    !config_keys[i].type->equal(const_field_of(&config_keys[i], a), const_field_of(&config_keys[i], b)))
                        return false;
        return true;
}

/* The keys only allowed in [global]: the others reach every endpoint, and endpoint_config_equal() sees them. */
bool config_global_equal(const struct config *a, const struct config *b) {
        for (size_t i = 0; i < config_n_keys; i++)
                if (config_keys[i].scope == CONFIG_SCOPE_GLOBAL &&
                    !config_keys[i].type->equal(const_field_of(&config_keys[i], a), const_field_of(&config_keys[i], b)))
                        return false;
        return true;
}

/* ---------------------------------------------------------------- derived */

int config_endpoint_derive(const struct endpoint_config *source, const char *name, const char *lambda,
                           unsigned containers, config_problem_fn problem, void *userdata,
                           struct endpoint_config **ret) {
        struct endpoint_config *ep;
        int r = 0;

        ep = calloc(1, sizeof *ep);
        if (!ep)
                return -ENOMEM;
        for (size_t i = 0; i < config_n_keys && r >= 0; i++) {
                const struct key *k = &config_keys[i];

                /* A source has none of the keys that cannot be inherited (url, lambda, header). */
                if ((k->scope & CONFIG_SCOPE_ENDPOINT) && k->type->copy)
                        r = k->type->copy(field_of(k, ep), const_field_of(k, source));
        }
        if (r < 0)
                goto fail;
        /* What makes the source a source is not the endpoint's: a new refresh interval restarts nothing. */
        string_done(&ep->lambda_tag);
        ep->refresh_usec = 0;
        ep->discovered = true;
        ep->line = source->line;
        if (source->file && !(ep->file = strdup(source->file))) {
                r = -ENOMEM;
                goto fail;
        }
        ep->containers = containers;
        ep->name = strdup(name);
        ep->lambda = strdup(lambda);
        if (!ep->name || !ep->lambda) {
                r = -ENOMEM;
                goto fail;
        }
        r = lambda_setup(ep, 0, problem, userdata);
        if (r == 0)
                r = -EINVAL;
        if (r < 0)
                goto fail;
        *ret = ep;
        return 0;
fail:
        config_endpoint_free(ep);
        return r;
}

/* A copy of a loaded endpoint, derived fields and all: the struct, then every string and list anew. */
static int endpoint_dup(const struct endpoint_config *src, struct endpoint_config **ret) {
        struct endpoint_config *ep;
        int r = 0;

        ep = malloc(sizeof *ep);
        if (!ep)
                return -ENOMEM;
        *ep = *src;
        ep->name = ep->file = ep->url_display = NULL;
        ep->header_list = NULL;
        for (size_t i = 0; i < config_n_keys; i++)
                if ((config_keys[i].scope & CONFIG_SCOPE_ENDPOINT) && config_keys[i].type->done)
                        *(void **) field_of(&config_keys[i], ep) = NULL;
        for (size_t i = 0; i < config_n_keys && r >= 0; i++) {
                const struct key *k = &config_keys[i];

                if (!(k->scope & CONFIG_SCOPE_ENDPOINT) || !k->type->done)
                        continue;
                if (k->type->copy)
                        r = k->type->copy(field_of(k, ep), const_field_of(k, src));
                else if (k->offset == offsetof(struct endpoint_config, headers)) {
                        if (!src->headers)
                                continue;
                        ep->headers = calloc(src->n_headers + 1, sizeof(char *));
                        if (!ep->headers)
                                r = -ENOMEM;
                        for (size_t j = 0; r >= 0 && j < src->n_headers; j++)
                                if (!(ep->headers[j] = strdup(src->headers[j])))
                                        r = -ENOMEM;
                } else
                        /* url and lambda: strings, whose derived fields came with the struct. */
                        r = string_copy(field_of(k, ep), const_field_of(k, src));
        }
        if (r >= 0 && (!(ep->name = strdup(src->name)) || (src->file && !(ep->file = strdup(src->file))) ||
                       (src->url_display && !(ep->url_display = strdup(src->url_display)))))
                r = -ENOMEM;
        for (const struct curl_slist *h = src->header_list; h && r >= 0; h = h->next) {
                struct curl_slist *l = curl_slist_append(ep->header_list, h->data);

                if (!l)
                        r = -ENOMEM;
                else
                        ep->header_list = l;
        }
        if (r < 0) {
                config_endpoint_free(ep);
                return r;
        }
        *ret = ep;
        return 0;
}

int config_combine(const struct config *base, struct endpoint_config **extra, size_t n_extra, struct config **ret) {
        struct config *c;
        int r = 0;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->path = strdup(base->path);
        c->endpoints = calloc(base->n_endpoints + n_extra + 1, sizeof(struct endpoint_config *));
        if (!c->path || !c->endpoints || config_copy_files(base, c) < 0)
                r = -ENOMEM;
        for (size_t i = 0; i < config_n_keys && r >= 0; i++)
                if (config_keys[i].scope == CONFIG_SCOPE_GLOBAL)
                        r = config_keys[i].type->copy(field_of(&config_keys[i], c),
                                                      const_field_of(&config_keys[i], base));
        for (size_t i = 0; i < base->n_endpoints && r >= 0; i++) {
                r = endpoint_dup(base->endpoints[i], &c->endpoints[i]);
                if (r >= 0)
                        c->n_endpoints++;
        }
        if (r < 0) {
                config_free(c);
                return r;
        }
        for (size_t i = 0; i < n_extra; i++)
                c->endpoints[c->n_endpoints++] = extra[i];
        *ret = c;
        return 0;
}
