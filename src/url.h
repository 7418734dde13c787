/* SPDX-License-Identifier: MIT */
/* url.h: what warmd tells from a URL, taken apart by libcurl. */
#pragma once

#include <stdbool.h>
#include <curl/curl.h>

/* Whether the host is an IP address (an IPv6 one bracketed): then a round resolves nothing first. */
bool host_is_address(CURLU *u);

/*
 * The URL as the journal (WARMD_URL) and error messages show it: "***" for
 * the user and password and for each query value, no fragment.  Returns 0 or
 * -ENOMEM.
 */
int url_display(CURLU *u, char **ret);

/*
 * Whether a secret may be sent to url: https, or http to a host that keeps it
 * on the machine (localhost, 127.0.0.0/8, ::1) or to one of hosts (NULL-
 * terminated, or NULL), as the cloud SDKs allow for their local endpoints.
 */
bool url_keeps_secrets(const char *url, const char *const *hosts);
