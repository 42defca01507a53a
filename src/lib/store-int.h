/*
 * store-int.h: what the store's own files (store*.c) share and nobody else
 * sees: the open store, its paths, and the lock and digest helpers. The
 * on-disk layout is described in store.h; only store*.c build its paths.
 */
#ifndef HOIST_LIB_STORE_INT_H
#define HOIST_LIB_STORE_INT_H

#include "lib/store.h"

#define STORE_SHA256_PREFIX "sha256:"
#define STORE_SHA256_PREFIX_LEN 7

struct hoist_store {
	char *root;
	char *blobs;      /* ROOT/blobs/sha256 */
	char *ingest;     /* ROOT/ingest */
	char *uploads;    /* ROOT/uploads */
	char *registries; /* ROOT/registries */
	char *index;      /* ROOT/index.json */
	char *index_lock;
	int gc_fd; /* ROOT/gc.lock, held shared (exclusive during gc) */
};

/* flock(2) that survives signals; blocking unless op has LOCK_NB. */
int hoist_store_lock_fd(int fd, int op);
/* Open (creating) a lock file. Returns the fd or a negative HOIST_E*. */
int hoist_store_open_lock(const char *path, struct hoist_err *err);
/*
 * 0 for a valid sha256 digest, the only kind of text that may become a
 * file name here; HOIST_EINVAL / HOIST_EUNSUPPORTED otherwise (err may be
 * NULL).
 */
int hoist_store_check_digest(const char *digest, struct hoist_err *err);
/* ROOT/blobs/sha256/<hex> for a digest already checked. Caller frees. */
char *hoist_store_blob_path_of(const struct hoist_store *s, const char *digest);

#endif
