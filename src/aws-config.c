/* SPDX-License-Identifier: MIT */
/*
 * aws-config.c: a profile of the AWS config and shared credentials files,
 * read with ini.c.  The config file names its sections [profile NAME] (and
 * [default]), the credentials file [NAME]; either form is taken in either
 * file.  As in the SDKs, a key of the credentials file wins over the same
 * key of the config file.  Errors name the file and the line, never a
 * value: a line may hold a secret.
 */
#include "config.h"

#include <unistd.h>

#include "aws-internal.h"
#include "ini.h"

#define AWS_FILE_MAX            (64 * 1024)     /* small by nature; a session token makes long lines */
#define DURATION_SECONDS_MAX    43200           /* STS's limit: 12 hours */

struct reader {
        struct aws_profile *p;
        unsigned error_line;            /* the first line that is not INI; 0: none */
};

static bool section_is(const char *section, const char *name) {
        if (strncmp(section, "profile ", 8) == 0) {
                section += 8;
                section += strspn(section, " \t");
        }
        return streq(section, name);
}

static int take(struct reader *rd, const struct ini_item *it) {
        struct aws_profile *p = rd->p;
        static const struct {
                const char *name;
                size_t offset;
        } keys[] = {
                { "aws_access_key_id",     offsetof(struct aws_profile, access_key_id) },
                { "aws_secret_access_key", offsetof(struct aws_profile, secret_access_key) },
                { "aws_session_token",     offsetof(struct aws_profile, session_token) },
                { "role_arn",              offsetof(struct aws_profile, role_arn) },
                { "source_profile",        offsetof(struct aws_profile, source_profile) },
                { "credential_source",     offsetof(struct aws_profile, credential_source) },
                { "external_id",           offsetof(struct aws_profile, external_id) },
                { "role_session_name",     offsetof(struct aws_profile, role_session_name) },
                { "credential_process",    offsetof(struct aws_profile, credential_process) },
        };
        char **dst;

        if (it->type == INI_SYNTAX_ERROR || it->type == INI_BAD_LINE) {
                if (rd->error_line == 0)
                        rd->error_line = it->line;
                return 0;
        }
        if (!it->section || !section_is(it->section, p->name))
                return 0;
        p->found = true;
        if (it->type != INI_KEY)
                return 0;
        if (streq(it->name, "duration_seconds")) {
                char *end;
                unsigned long v = strtoul(it->value, &end, 10);

                /* STS refuses a duration out of its range with a clear error; warmd need not guess. */
                p->duration_seconds = *end || v > DURATION_SECONDS_MAX ? DURATION_SECONDS_MAX + 1 : (unsigned) v;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(it->name, keys[i].name)) {
                        dst = (char **) ((char *) p + keys[i].offset);
                        aws_secret_free(*dst);
                        *dst = strdup(it->value);
                        return *dst ? 0 : -ENOMEM;
                }
        return 0;
}

/* One file into p; 0 when absent, 1 when read, -errno with why. */
static int read_file(const char *env, const char *credential, const char *kind, struct aws_profile *p, char *why,
                     size_t size, char *where, size_t where_size) {
        static const struct ini_limits limits = { .file_max = AWS_FILE_MAX, .line_max = AWS_FILE_MAX };
        const char *path = getenv(env), *dir = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_(freep) char *buf = NULL;
        struct reader rd = { .p = p };
        struct ini_file *ini;
        struct ini_item it;
        int r;

        if (!path || !*path) {
                if (!dir)
                        return 0;
                if (asprintf(&buf, "%s/%s", dir, credential) < 0)
                        return -ENOMEM;
                if (access(buf, F_OK) < 0)
                        return 0;
                path = buf;
        }
        snprintf(where, where_size, "the AWS %s file %s", kind, path);
        r = ini_open(path, &limits, &ini);
        if (r < 0) {
                snprintf(why, size, "cannot read the AWS %s file %s: %s", kind, path, strerror(-r));
                return r;
        }
        while ((r = ini_next(ini, &it)) > 0 && (r = take(&rd, &it)) >= 0)
                ;
        ini_close(ini);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                snprintf(why, size, "the AWS %s file %s is larger than %d bytes", kind, path, AWS_FILE_MAX);
        else if (r < 0)
                snprintf(why, size, "cannot read the AWS %s file %s: %s", kind, path, strerror(-r));
        else if (rd.error_line > 0) {
                snprintf(why, size, "the AWS %s file %s: syntax error at line %u", kind, path, rd.error_line);
                r = -EINVAL;
        }
        return r < 0 ? r : 1;
}

int aws_profile_load(const char *name, struct aws_profile *ret, char *why, size_t size) {
        struct aws_profile p = {};
        char config[AWS_ERROR_MAX / 2] = "", credentials[AWS_ERROR_MAX / 2] = "";
        int r;

        p.name = strdup(name);
        if (!p.name)
                return -ENOMEM;
        r = read_file("AWS_CONFIG_FILE", "aws-config", "config", &p, why, size, config, sizeof config);
        if (r >= 0)
                r = read_file("AWS_SHARED_CREDENTIALS_FILE", "aws-credentials", "credentials", &p, why, size,
                              credentials, sizeof credentials);
        if (r < 0) {
                aws_profile_done(&p);
                return r;
        }
        if (config[0] && credentials[0])
                snprintf(p.files, sizeof p.files, "%s or %s", config, credentials);
        else if (config[0] || credentials[0])
                snprintf(p.files, sizeof p.files, "%s", config[0] ? config : credentials);
        else
                snprintf(p.files, sizeof p.files, "no AWS config or credentials file");
        if (p.duration_seconds > DURATION_SECONDS_MAX) {
                snprintf(why, size, "profile [%s]: duration_seconds must be a number of seconds up to %d", name,
                         DURATION_SECONDS_MAX);
                aws_profile_done(&p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

void aws_profile_done(struct aws_profile *p) {
        char **v[] = { &p->name, &p->access_key_id, &p->secret_access_key, &p->session_token, &p->role_arn,
                       &p->source_profile, &p->credential_source, &p->external_id, &p->role_session_name,
                       &p->credential_process };

        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                aws_secret_free(*v[i]);
        *p = (struct aws_profile) {};
}
