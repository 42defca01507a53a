/*
 * blobsrc.h: which repositories of a registry are known to hold a blob,
 * as containerd's distribution.source labels remember it. A push records
 * the blobs it found or put in its repository, a copy those it read from
 * its source; a later push to another repository of the same registry
 * mounts them from there (POST ?mount=&from=) instead of uploading.
 *
 * The memory is a hint, never trusted: a mount the registry refuses (202)
 * becomes a normal upload. It lives in the store's per-registry records
 * (ROOT/registries/, store.h) as {"blobs": {DIGEST: [REPO, ...]}}, at most
 * HOIST_BLOBSRC_MAX digests (the oldest go first) and
 * HOIST_BLOBSRC_REPOS repositories each. Concurrent writers may lose an
 * update (each saves atomically): that costs an upload, not a wrong blob.
 */
#ifndef HOIST_LIB_BLOBSRC_H
#define HOIST_LIB_BLOBSRC_H

#include <stddef.h>
#include <jansson.h>

#include "lib/store.h"

#define HOIST_BLOBSRC_MAX 4096
#define HOIST_BLOBSRC_REPOS 8

/* The memory of host: a new object (empty when there is none). */
json_t *hoist_blobsrc_load(struct hoist_store *s, const char *host);

/*
 * The repository other than not_repo that holds the most of digests (n
 * of them), per mem; NULL when none does. Points into mem.
 */
const char *hoist_blobsrc_pick(const json_t *mem, const char *const *digests,
			       size_t n, const char *not_repo);

/* 1 when mem says repo holds digest. */
int hoist_blobsrc_holds(const json_t *mem, const char *repo,
			const char *digest);

/*
 * Record that repo of host holds digests (n of them): the newest record is
 * read again, merged and saved. Failures are ignored (it is a hint).
 */
void hoist_blobsrc_add(struct hoist_store *s, const char *host,
		       const char *repo, const char *const *digests, size_t n);

#endif
