/*
 * challenge.h: RFC 7235 WWW-Authenticate parsing: several challenges in
 * one header or in several joined with ", ", quoted strings with \
 * escapes, bare tokens, token68 credentials, Basic with parameters,
 * space-separated scopes, error=.
 */
#ifndef HOIST_LIB_CHALLENGE_H
#define HOIST_LIB_CHALLENGE_H

#include <stddef.h>

#include "util/err.h"

struct hoist_challenge_param {
	char *key; /* lower-cased */
	char *value;
};

struct hoist_challenge {
	char *scheme; /* lower-cased: "basic", "bearer", ... */
	struct hoist_challenge_param *params;
	size_t nparams;
};

/*
 * Parse a WWW-Authenticate value. *out is an array of *n challenges owned
 * by the caller (hoist_challenge_free). Input is capped at 8 KiB
 * (HOIST_ELIMIT), at most 16 challenges of at most 32 parameters each.
 * A token68 credential ("Negotiate abc==") is stored as the challenge's
 * only parameter, with the key "". Duplicate parameters, unterminated
 * quoted strings, control characters and missing commas are HOIST_EINVAL;
 * on failure *out is NULL and *n 0. Bare parameter values may hold any
 * visible character but ',' and '"' (servers send unquoted URLs).
 */
int hoist_challenge_parse(struct hoist_challenge **out, size_t *n,
			  const char *value, struct hoist_err *err);
/* Free the n challenges of c (NULL is fine). */
void hoist_challenge_free(struct hoist_challenge *c, size_t n);
/* A challenge's parameter (key compared case-blind), or NULL; borrowed. */
const char *hoist_challenge_get(const struct hoist_challenge *c,
				const char *key);

#endif
