/*
 * digest.h: content digests ("sha256:<64 lower-case hex>").
 *
 * Validation is strict, as image-spec requires for registered algorithms:
 * sha256 with exactly 64 and sha512 with exactly 128 lower-case hex digits.
 * Anything else is refused before it can reach a path or a URL.
 */
#ifndef HOIST_LIB_DIGEST_H
#define HOIST_LIB_DIGEST_H

#include <stddef.h>

#include "util/err.h"

/* "sha512:" + 128 hex + NUL */
#define HOIST_DIGEST_MAX 136
/* The prefix of sha256 digests, the only ones the store holds. */
#define HOIST_SHA256_PREFIX "sha256:"
#define HOIST_SHA256_PREFIX_LEN 7

struct hoist_digest {
	char str[HOIST_DIGEST_MAX]; /* the whole "algo:hex" text */
};

/*
 * Parse and validate s into out. HOIST_EINVAL with a message naming s and
 * the reason (unknown algorithm, wrong length, bad character).
 */
int hoist_digest_parse(struct hoist_digest *out, const char *s,
		       struct hoist_err *err);
/* 0 if s is a valid digest, HOIST_EINVAL (and a message) if not. */
int hoist_digest_validate(const char *s, struct hoist_err *err);
/* 1 if s[0..len) is exactly 64 lower-case hex digits, else 0. */
int hoist_digest_is_sha256_hex(const char *s, size_t len);
/* 1 if s starts with "sha256:", else 0 (NULL included). */
int hoist_digest_is_sha256(const char *s);
/* Build "sha256:<hex>" from a 64-char hex string (no validation). */
void hoist_digest_from_sha256_hex(struct hoist_digest *out, const char *hex);
/* Pointer to the hex part of a valid digest string (after the ':'). */
const char *hoist_digest_hex(const char *digest);
/* The algorithm name length of a valid digest ("sha256" -> 6). */
size_t hoist_digest_algo_len(const char *digest);

#endif
