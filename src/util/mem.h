/*
 * mem.h: allocation helpers. Like git and tmux, hoist treats running out of
 * memory for small bookkeeping allocations as fatal: these helpers abort
 * with a message instead of returning NULL, which keeps every caller free of
 * unreachable error paths. Buffers that hold remote or file input are capped
 * (see buf.h), so an attacker cannot drive these into exhaustion.
 *
 * None of them returns NULL or an error code; every pointer returned is
 * owned by the caller, who frees it with free().
 */
#ifndef HOIST_UTIL_MEM_H
#define HOIST_UTIL_MEM_H

#include <stddef.h>

void *hoist_xmalloc(size_t n);
void *hoist_xcalloc(size_t nmemb, size_t size);
void *hoist_xrealloc(void *p, size_t n);
/* realloc for arrays; aborts on nmemb * size overflow */
void *hoist_xreallocarray(void *p, size_t nmemb, size_t size);
char *hoist_xstrdup(const char *s);
char *hoist_xstrndup(const char *s, size_t n);
/* A newly allocated formatted string. */
char *hoist_xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Overwrite a secret string with zeros and free it; NULL is ignored. */
void hoist_free_secret(char *s);

#define HOIST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
