/*
 * store-int.h: what the store's own files (store*.c) share and nobody else
 * sees: the open store, its paths, and the lock and digest helpers. The
 * on-disk layout is described in store.h; only store*.c build its paths.
 */
#ifndef HOIST_LIB_STORE_INT_H
#define HOIST_LIB_STORE_INT_H

#include <stdint.h>
#include <jansson.h>

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

/* ---- index.json (store-index.c) ---- */

/* Take index.lock exclusively: the fd to pass to unlock, or HOIST_E*. */
int hoist_store_index_lock(struct hoist_store *s, struct hoist_err *err);
void hoist_store_index_unlock(int fd);
/* Load index.json (a missing file is an empty index). *out: caller's. */
int hoist_store_index_load(struct hoist_store *s, json_t **out,
			   struct hoist_err *err);
/* Replace index.json atomically; the caller holds index.lock. */
int hoist_store_index_save(struct hoist_store *s, const json_t *idx,
			   struct hoist_err *err);
/*
 * Lock and load: *idx (caller's) and the lock fd to unlock, or HOIST_E*
 * with nothing held.
 */
int hoist_store_index_begin(struct hoist_store *s, json_t **idx,
			    struct hoist_err *err);
/* Create an empty index.json unless there is one. */
int hoist_store_index_init(struct hoist_store *s, struct hoist_err *err);

/* ---- the manifest graph and leftovers (store-gc.c) ---- */

/* What the walk found at a reachable descriptor. */
enum store_reach {
	STORE_REACH_OK,      /* present (and, for a manifest, readable) */
	STORE_REACH_MISSING, /* no blob with that digest */
	STORE_REACH_SIZE,    /* the blob's size is not the descriptor's */
	STORE_REACH_CORRUPT, /* a manifest whose bytes fail their digest */
	STORE_REACH_BAD_DOC, /* a manifest or index that is not JSON */
};

/*
 * Called for each descriptor visited, with what was found and, for a
 * problem, why (in e). A non-zero return stops the walk and is returned,
 * with e copied into the walk's err. After a problem the walk goes on as
 * if the blob had no children.
 */
typedef int (*store_reach_fn)(void *ctx, const json_t *desc,
			      enum store_reach what, const struct hoist_err *e);

/*
 * Visit every descriptor reachable from the array roots with imgwalk's
 * tolerant walk, following "subject" (see imgwalk.h for the media-type
 * policy; descriptors without a valid sha256 digest are skipped), each
 * digest once (seen: a JSON object of digests, filled as it goes;
 * pre-filled digests are not visited). Returns 0, fn's code, or
 * imgwalk's (HOIST_ELIMIT for indexes nested too deeply).
 */
int hoist_store_reach(struct hoist_store *s, const json_t *roots, json_t *seen,
		      store_reach_fn fn, void *ctx, struct hoist_err *err);

/* Kinds of leftovers a killed process leaves (see hoist_store_gc). */
enum store_stale {
	STORE_STALE_INGEST,  /* ROOT/ingest/ file nobody holds a lock on */
	STORE_STALE_TMP,     /* ROOT/.hoist-tmp-* file or directory */
	STORE_STALE_SESSION, /* ROOT/uploads/ record of an unusable upload */
};
typedef void (*store_stale_fn)(void *ctx, enum store_stale kind,
			       const char *path);

/*
 * Find the leftovers, call fn (may be NULL) for each, and remove them when
 * remove is set. alone: the caller holds gc.lock exclusively, so no live
 * process has the store open and every temporary is stale; otherwise only
 * ingest files (by their lock) and sessions are judged. Returns the number
 * found per kind in counts[3].
 */
void hoist_store_stale(struct hoist_store *s, int alone, int remove,
		       store_stale_fn fn, void *ctx, uint64_t counts[3]);

/*
 * Take gc.lock exclusively (dropping our shared hold first: flock cannot
 * upgrade atomically). nb: do not wait; 1 when taken, 0 when others hold
 * it (the shared hold is back then), or HOIST_E*.
 */
int hoist_store_lock_alone(struct hoist_store *s, int nb,
			   struct hoist_err *err);
/* Back to the shared hold every open store keeps. */
void hoist_store_unlock_alone(struct hoist_store *s);

#endif
