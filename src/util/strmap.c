/*
 * strmap.c: a string-keyed open-addressing hash map (FNV-1a, linear
 * probing, at most half full).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/strmap.h"
#include "util/banned.h"

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

size_t *hoist_strmap_get(const struct hoist_strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (strcmp(m->keys[i], key) == 0)
			return &m->vals[i];
	}
}

static void insert_slot(struct hoist_strmap *m, char *key, size_t val)
{
	size_t i = hash(key) & (m->cap - 1);

	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

int hoist_strmap_put(struct hoist_strmap *m, const char *key, size_t val)
{
	if (hoist_strmap_get(m, key))
		return 0;
	if ((m->n + 1) * 2 > m->cap) {
		struct hoist_strmap old = *m;

		m->cap = old.cap ? old.cap * 2 : 64;
		m->keys = hoist_xcalloc(m->cap, sizeof(*m->keys));
		m->vals = hoist_xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++) {
			if (old.keys[i])
				insert_slot(m, old.keys[i], old.vals[i]);
		}
		free(old.keys);
		free(old.vals);
	}
	insert_slot(m, hoist_xstrdup(key), val);
	return 1;
}

void hoist_strmap_release(struct hoist_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
