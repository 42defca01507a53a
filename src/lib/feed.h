/*
 * feed.h: blobs on their way into the store that a push sends while they
 * are being written. A producer (a copy's pull, a build's compressor)
 * writes each blob into a store ingest file on its own thread and reports
 * it here; the push, on another thread, reads the bytes already written
 * through a duplicate of that file's descriptor (it stays valid when the
 * ingest is renamed into the store or dropped), PATCHes them as they come,
 * and sends the closing PUT, which names the digest, once the blob is
 * verified in the store. One table guarded by a mutex is all the two
 * threads share.
 *
 * Blobs are named by a key: their digest when it is known beforehand (a
 * copy), else a name the producer chooses ("layer 2" of a build), the
 * digest then coming with hoist_feed_done. A pipelined build also hands
 * the image's root descriptor over once it exists (hoist_feed_set_root);
 * the push then sends what else the image needs (configs, cached layers,
 * manifests).
 */
#ifndef HOIST_LIB_FEED_H
#define HOIST_LIB_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/digest.h"
#include "lib/store.h"

#define HOIST_FEED_KEY_MAX HOIST_DIGEST_MAX

struct hoist_feed;

/*
 * A new, empty table for blobs going into s. start (may be NULL) is called
 * once, on the push's thread, the first time the push asks for bytes (a
 * copy starts its download then); its failure fails that ask.
 */
struct hoist_feed *
hoist_feed_new(struct hoist_store *s,
	       int (*start)(void *ctx, struct hoist_err *err), void *start_ctx);
/* NULL is a no-op. Closes the descriptors it holds. */
void hoist_feed_free(struct hoist_feed *f);

/* ---- the producer's side (any thread) ---- */

/*
 * Announce a blob by key (at most HOIST_FEED_KEY_MAX - 1 bytes; a longer
 * key is cut). Announcing a key twice is a no-op. Blobs are numbered in
 * the order they are announced (hoist_feed_key).
 */
void hoist_feed_add(struct hoist_feed *f, const char *key);
/* A new ingest file for key (fd stays the caller's; it is duplicated). */
void hoist_feed_ingest(struct hoist_feed *f, const char *key, int fd);
/* The first have bytes of key's current ingest file are written. */
void hoist_feed_progress(struct hoist_feed *f, const char *key, uint64_t have);
/*
 * key ended: rc 0 when it is verified in the store as digest (NULL: the
 * key is the digest) of size bytes, else its failure (err may be NULL).
 * The first report of a key wins.
 */
void hoist_feed_done(struct hoist_feed *f, const char *key, int rc,
		     const struct hoist_err *err, const char *digest,
		     uint64_t size);
/* The image's root descriptor (a pipelined build); it is copied. */
void hoist_feed_set_root(struct hoist_feed *f, const json_t *root);
/*
 * The producer ended: rc 0, or its failure (err). A blob not done by then
 * will not come.
 */
void hoist_feed_finish(struct hoist_feed *f, int rc,
		       const struct hoist_err *err);

/*
 * 0 while the push goes on; once it has failed (hoist_feed_abort), its
 * code with err set: a producer stops rather than write blobs nobody
 * will send.
 */
int hoist_feed_aborted(struct hoist_feed *f, struct hoist_err *err);

/* ---- the push's side ---- */

/* The push failed (rc, err): producers learn it from hoist_feed_aborted. */
void hoist_feed_abort(struct hoist_feed *f, int rc,
		      const struct hoist_err *err);

/* 1 and the key of blob i (in announcement order), 0 if none yet. */
int hoist_feed_key(struct hoist_feed *f, size_t i, char *key, size_t len);
/*
 * The root: 1 and *root (a new reference) once set; 0 while it may still
 * come; a negative HOIST_E* with err when the producer finished without
 * one (its failure, or HOIST_EINVAL).
 */
int hoist_feed_root(struct hoist_feed *f, json_t **root, struct hoist_err *err);
/*
 * 1 when key is verified in the store (its digest, HOIST_DIGEST_MAX
 * bytes, and size are set), else 0.
 */
int hoist_feed_result(struct hoist_feed *f, const char *key, char *digest,
		      uint64_t *size);
/*
 * Where key stands. *gen is the version of the file the caller holds (0 at
 * first). Returns 1 when it is whole and verified in the store: digest
 * (HOIST_DIGEST_MAX bytes) and *size are set. 0 while it is coming: *avail
 * bytes can be read from the file, and when the file changed (a download
 * that started again) *gen is updated and *fd is a new descriptor the
 * caller owns, else *fd is -1. A negative HOIST_E* with err when it will
 * not come (its digest did not match, the producer failed).
 */
int hoist_feed_state(struct hoist_feed *f, const char *key, unsigned *gen,
		     int *fd, uint64_t *avail, char *digest, uint64_t *size,
		     struct hoist_err *err);

#endif
