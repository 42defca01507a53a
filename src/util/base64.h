/*
 * base64.h: base64 (RFC 4648 section 4, standard alphabet) for Basic
 * credentials and config.json "auth" fields.
 */
#ifndef HOIST_UTIL_BASE64_H
#define HOIST_UTIL_BASE64_H

#include <stddef.h>

/* Encode len bytes with padding. Returns a NUL-terminated string the
 * caller frees (never NULL: allocation failure aborts). */
char *hoist_base64_encode(const void *in, size_t len);

/*
 * Decode s strictly, as Go's StdEncoding does, except that the padding
 * may be left out. On success *out (caller frees; NUL-terminated after
 * the *outlen decoded bytes) and 0; HOIST_EINVAL for a byte outside the
 * alphabet, more than two '=' or an impossible length, with *out
 * untouched. Partially decoded bytes are wiped before they are freed.
 */
int hoist_base64_decode(char **out, size_t *outlen, const char *s);

#endif
