/*
 * strmap.h: a string-keyed open-addressing hash map with size_t values.
 * Keys are copied; the map grows geometrically. Domain-free.
 */
#ifndef HOIST_UTIL_STRMAP_H
#define HOIST_UTIL_STRMAP_H

#include <stddef.h>

struct hoist_strmap {
	char **keys;
	size_t *vals;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

#define HOIST_STRMAP_INIT                                                      \
	{                                                                      \
		NULL, NULL, 0, 0                                               \
	}

/* The value slot of key (writable), or NULL when absent. */
size_t *hoist_strmap_get(const struct hoist_strmap *m, const char *key);
/* Insert key (copied) with val if absent: 1 if added, 0 if it was there. */
int hoist_strmap_put(struct hoist_strmap *m, const char *key, size_t val);
/* Free every key and the tables; m is empty (and reusable) afterwards. */
void hoist_strmap_release(struct hoist_strmap *m);

#endif
