/* SPDX-License-Identifier: MIT */
/*
 * tagging.c: the Resource Groups Tagging API's GetResources, as pure
 * functions: the request of a page, and a page (or an error answer) turned
 * into the functions it lists.  The shapes follow the service model
 * (resourcegroupstaggingapi 2017-01-26): JSON 1.1, the operation in
 * X-Amz-Target, PaginationToken until it comes back empty.
 */
#include "config.h"

#include <ctype.h>
#include <json-c/json.h>
#include <limits.h>

#include "internal.h"

/* The service model's limits. */
#define TOKEN_MAX       2048    /* PaginationToken */
#define ARN_MAX         1011    /* ResourceARN */
#define TAG_VALUE_MAX   256

int tagging_request_body(const char *key, const char *token, char **ret) {
        json_object *o, *filters, *filter, *types;
        char *s;

        o = json_object_new_object();
        types = json_object_new_array();
        filters = json_object_new_array();
        filter = json_object_new_object();
        if (!o || !types || !filters || !filter) {
                json_object_put(o);
                json_object_put(types);
                json_object_put(filters);
                json_object_put(filter);
                return -ENOMEM;
        }
        /* Each add takes the reference, even when it fails: nothing to put after it. */
        if (json_object_array_add(types, json_object_new_string("lambda:function")) < 0 ||
            json_object_object_add(o, "ResourceTypeFilters", types) < 0 ||
            json_object_object_add(filter, "Key", json_object_new_string(key)) < 0 ||
            json_object_array_add(filters, filter) < 0 ||
            json_object_object_add(o, "TagFilters", filters) < 0 ||
            json_object_object_add(o, "ResourcesPerPage", json_object_new_int(TAGGING_PER_PAGE)) < 0 ||
            (token && json_object_object_add(o, "PaginationToken", json_object_new_string(token)) < 0)) {
                json_object_put(o);
                return -ENOMEM;
        }
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void tagging_page_done(struct tagging_page *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].arn);
                free(p->items[i].value);
        }
        free(p->items);
        free(p->next_token);
        *p = (struct tagging_page) {};
}

static const char *string_of(json_object *o, const char *field) {
        json_object *v;

        if (!json_object_object_get_ex(o, field, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* The value of tag key among tags; "" for a tag with no value; NULL when the function lacks it. */
static const char *tag_value(json_object *tags, const char *key) {
        size_t n = json_object_is_type(tags, json_type_array) ? json_object_array_length(tags) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *t = json_object_array_get_idx(tags, i);
                const char *k = string_of(t, "Key"), *v = string_of(t, "Value");

                if (k && streq(k, key))
                        return v ? v : "";
        }
        return NULL;
}

static json_object *parse_json(const char *body, size_t len) {
        struct json_tokener *tok;
        json_object *o;

        if (len >= INT_MAX)
                return NULL;
        tok = json_tokener_new();
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, body, (int) len);
        if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        return o;
}

int tagging_page_parse(const char *body, size_t len, const char *key, struct tagging_page *ret, char *why,
                       size_t size) {
        struct tagging_page p = {};
        json_object *o, *list = NULL;
        const char *token;
        size_t n;
        int r = -EBADMSG;

        o = parse_json(body, len);
        if (!o || !json_object_is_type(o, json_type_object)) {
                snprintf(why, size, "the answer is not a JSON object");
                goto out;
        }
        if (json_object_object_get_ex(o, "ResourceTagMappingList", &list) && !json_object_is_type(list, json_type_array) &&
            !json_object_is_type(list, json_type_null)) {
                snprintf(why, size, "ResourceTagMappingList is not a list");
                goto out;
        }
        token = string_of(o, "PaginationToken");
        if (token && strlen(token) > TOKEN_MAX) {
                snprintf(why, size, "PaginationToken longer than %d characters", TOKEN_MAX);
                goto out;
        }
        n = list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        if (n > 0 && !(p.items = calloc(n, sizeof *p.items))) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(list, i), *tags = NULL;
                const char *arn = string_of(m, "ResourceARN"), *v;

                if (!arn || strlen(arn) > ARN_MAX) {
                        snprintf(why, size, "a resource without a valid ResourceARN");
                        goto out;
                }
                (void) json_object_object_get_ex(m, "Tags", &tags);
                v = tag_value(tags, key);
                /* The filter asks for the key: a resource listed without it is not one to warm. */
                if (!v)
                        continue;
                p.items[p.n].arn = strndup(arn, ARN_MAX);
                p.items[p.n].value = strndup(v, TAG_VALUE_MAX);
                p.n++;
                if (!p.items[p.n - 1].arn || !p.items[p.n - 1].value) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        if (token && *token && !(p.next_token = strdup(token))) {
                r = -ENOMEM;
                goto out;
        }
        *ret = p;
        p = (struct tagging_page) {};
        r = 0;
out:
        tagging_page_done(&p);
        json_object_put(o);
        return r;
}

/*
 * An error answer of a JSON 1.1 service: the type from x-amzn-ErrorType,
 * else the body's "__type" (either may carry a "prefix#" or a ":detail"),
 * and the body's message.
 */
void tagging_error(long status, const char *error_type, const char *body, size_t len, char *why, size_t size) {
        json_object *o = body && len > 0 ? parse_json(body, len) : NULL;
        const char *type = error_type, *msg = NULL;
        char t[64];
        size_t n;

        if (o && json_object_is_type(o, json_type_object)) {
                if (!type || !*type)
                        type = string_of(o, "__type");
                msg = string_of(o, "message");
                if (!msg)
                        msg = string_of(o, "Message");
        }
        if (type && strchr(type, '#'))
                type = strchr(type, '#') + 1;
        n = type ? strcspn(type, ":") : 0;
        snprintf(t, sizeof t, "%.*s", (int) MIN(n, sizeof t - 1), type ? type : "");
        snprintf(why, size, "HTTP %ld%s%s%s%.200s", status, t[0] ? " " : "", t, msg ? ": " : "", msg ? msg : "");
        /* The service's words go into a log line: one line, whatever they hold. */
        for (char *c = why; *c; c++)
                if (is_control_char((unsigned char) *c))
                        *c = ' ';
        json_object_put(o);
}

int tagging_tag_value(const char *value, unsigned *ret_containers, const char **ret_qualifier) {
        unsigned long v;
        char *end;

        if (!isdigit((unsigned char) value[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno != 0 || v < 1 || v > CONTAINERS_MAX || (*end != '\0' && *end != ':'))
                return -EINVAL;
        if (*end == ':') {
                struct lambda_target t;
                const char *err;
                char spec[160];

                /* The qualifier as lambda = NAME:QUALIFIER would take it. */
                if (snprintf(spec, sizeof spec, "f:%s", end + 1) >= (int) sizeof spec ||
                    lambda_parse(spec, &t, &err) < 0 || !t.qualifier)
                        return -EINVAL;
                *ret_qualifier = end + 1;
        } else
                *ret_qualifier = NULL;
        *ret_containers = (unsigned) v;
        return 0;
}

int tagging_arn_function(const char *arn, char *name, size_t size) {
        struct lambda_target t;
        const char *err;

        /* A function's own ARN; the tags of a version or an alias are the function's. */
        if (strncmp(arn, "arn:", 4) != 0 || lambda_parse(arn, &t, &err) < 0 || t.qualifier || t.name_len >= size)
                return -EINVAL;
        memcpy(name, t.function + t.function_len - t.name_len, t.name_len);
        name[t.name_len] = '\0';
        return 0;
}
