/*
 * url.h: the origin (scheme, host, port) of absolute http(s) URLs, parsed
 * without a URL library, for the code that decides where credentials may
 * go (the download engine has no I/O and never links curl).
 */
#ifndef HOIST_UTIL_URL_H
#define HOIST_UTIL_URL_H

#include "util/err.h"

struct hoist_url_origin {
	char scheme[8]; /* "http" or "https", lower case */
	char host[256]; /* lower case; IPv6 keeps its brackets */
	int port;       /* explicit, else 80 / 443 */
};

/*
 * Parse the origin of url, an absolute "http://" or "https://" URL
 * (scheme case-insensitive; user info skipped). HOIST_EINVAL with a
 * message naming the URL for anything else: another scheme, an empty or
 * over-long host, a port that is not 1-65535.
 */
int hoist_url_origin(struct hoist_url_origin *o, const char *url,
		     struct hoist_err *err);

/*
 * 1 if a and b have the same origin (scheme, host case-insensitively,
 * port with defaults filled in), 0 if not or if either does not parse.
 */
int hoist_url_same_origin(const char *a, const char *b);

#endif
