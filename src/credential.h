/* SPDX-License-Identifier: MIT */
/*
 * credential.h: systemd credentials (LoadCredential=, in $CREDENTIALS_DIRECTORY),
 * named in a config value as ${credential:NAME}.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CREDENTIAL_MAX          8192    /* bytes of a credential, without one trailing newline */
#define CREDENTIAL_ERROR_MAX    512     /* room for a message: it names the credential, never its content */

/* The credentials of one config load: each file is read once, however many values name it. */
struct credentials {
        bool optional;                  /* without $CREDENTIALS_DIRECTORY, check only how they are named */
        void *by_name;                  /* tsearch() tree of struct credential */
};

void credentials_done(struct credentials *c);

/*
 * Replaces every ${credential:NAME} in value with the credential.  Returns 1
 * if value named a credential, 0 if not, -ENOMEM, or another -errno with the
 * reason in error.  Without a directory and with c->optional, a reference is
 * dropped from *ret.
 */
int credentials_expand(struct credentials *c, const char *value, char **ret, char *error, size_t error_size);

/* Whether value starts as a reference: then credentials_path() tells whether it is one. */
bool credential_is_reference(const char *value);

/*
 * A value that is one ${credential:NAME} and nothing else: the path of its
 * file, not read here.  Returns 1 with *ret_path, 0 without a directory and
 * with c->optional, -ENOMEM, or another -errno with the reason in error.
 */
int credentials_path(struct credentials *c, const char *value, char **ret_path, char *error, size_t error_size);
