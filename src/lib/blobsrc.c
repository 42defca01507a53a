/*
 * blobsrc.c: the per-registry memory of which repositories hold which
 * blobs (blobsrc.h), kept in the store's per-registry records under the
 * name "blobs@HOST" next to the upload strategy of HOST.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/blobsrc.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

static char *record_name(const char *host)
{
	return hoist_xasprintf("blobs@%s", host);
}

json_t *hoist_blobsrc_load(struct hoist_store *s, const char *host)
{
	char *name = record_name(host);
	json_t *doc = NULL, *blobs;

	if (hoist_store_registry_load(s, name, &doc) != 0)
		doc = NULL;
	free(name);
	blobs = json_object_get(doc, "blobs");
	if (!json_is_object(blobs)) {
		json_decref(doc);
		return json_object();
	}
	json_incref(blobs);
	json_decref(doc);
	return blobs;
}

int hoist_blobsrc_holds(const json_t *mem, const char *repo, const char *digest)
{
	json_t *repos = json_object_get(mem, digest), *r;
	size_t i;

	json_array_foreach(repos, i, r) if (json_is_string(r) &&
					    strcmp(json_string_value(r),
						   repo) == 0) return 1;
	return 0;
}

const char *hoist_blobsrc_pick(const json_t *mem, const char *const *digests,
			       size_t n, const char *not_repo)
{
	const char *best = NULL;
	size_t best_n = 0;

	for (size_t d = 0; d < n; d++) {
		json_t *repos = json_object_get(mem, digests[d]), *r;
		size_t i;
		json_array_foreach(repos, i, r)
		{
			const char *name = json_string_value(r);
			size_t c = 0;
			if (!name || strcmp(name, not_repo) == 0 ||
			    (best && strcmp(name, best) == 0))
				continue;
			for (size_t e = 0; e < n; e++)
				c += (size_t)hoist_blobsrc_holds(mem, name,
								 digests[e]);
			if (c > best_n) {
				best = name;
				best_n = c;
			}
		}
	}
	return best;
}

void hoist_blobsrc_add(struct hoist_store *s, const char *host,
		       const char *repo, const char *const *digests, size_t n)
{
	json_t *mem = hoist_blobsrc_load(s, host), *doc;
	char *name;
	int changed = 0;

	for (size_t d = 0; d < n; d++) {
		json_t *repos = json_object_get(mem, digests[d]);
		if (hoist_blobsrc_holds(mem, repo, digests[d]))
			continue;
		if (!json_is_array(repos)) {
			repos = json_array();
			json_object_set_new(mem, digests[d], repos);
		}
		json_array_append_new(repos, json_string(repo));
		while (json_array_size(repos) > HOIST_BLOBSRC_REPOS)
			json_array_remove(repos, 0);
		changed = 1;
	}
	/* the oldest digests first (jansson keeps insertion order) */
	while (json_object_size(mem) > HOIST_BLOBSRC_MAX) {
		void *it = json_object_iter(mem);
		json_object_del(mem, json_object_iter_key(it));
	}
	if (changed) {
		doc = json_object();
		json_object_set(doc, "blobs", mem);
		name = record_name(host);
		struct hoist_err ignored;
		hoist_store_registry_save(s, name, doc, &ignored);
		free(name);
		json_decref(doc);
	}
	json_decref(mem);
}
