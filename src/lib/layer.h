/*
 * layer.h: one pass from a directory tree to a stored layer blob.
 *
 *   walk (sorted) -> tar writer -+-> sha256 (diff_id)
 *                                +-> compressor -> ingest (sha256 digest)
 *
 * Nothing is read twice and no temporary uncompressed tar is written.
 */
#ifndef HOIST_LIB_LAYER_H
#define HOIST_LIB_LAYER_H

#include <stdint.h>

#include "util/err.h"
#include "lib/compress.h"
#include "lib/digest.h"
#include "lib/store.h"

/*
 * Watching the compressed blob as it is written (a pipelined push reads
 * it while it grows). Called on the building thread: ingest() once with
 * the ingest file (the caller's: dup it to keep it), progress() after
 * every write with the bytes written so far. Not called for a layer the
 * build cache supplies.
 */
struct hoist_layer_hooks {
	void *ctx;
	void (*ingest)(void *ctx, int fd);
	/* have bytes are written; non-zero (err set) stops the layer */
	int (*progress)(void *ctx, uint64_t have, struct hoist_err *err);
};

struct hoist_layer_opts {
	enum hoist_compression compression;
	int level;          /* HOIST_COMP_LEVEL_DEFAULT or a checked level */
	int64_t epoch;      /* SOURCE_DATE_EPOCH, or -1 */
	const char *prefix; /* place the tree under this path, or NULL */
	const struct hoist_layer_hooks *hooks; /* NULL: none */
	int threads; /* compressor threads (compress.h); 0: its default */
};

struct hoist_layer {
	struct hoist_digest digest;  /* of the compressed blob */
	struct hoist_digest diff_id; /* of the uncompressed tar */
	uint64_t size;               /* compressed size */
	uint64_t tar_size;           /* uncompressed size */
	enum hoist_compression compression;
	/*
	 * estargz only (else empty): the digest of the TOC. diff_id and
	 * tar_size then describe the blob's own uncompressed stream (the
	 * landmark and the TOC entry included), not the tree's plain tar.
	 */
	struct hoist_digest toc_digest;
};

/*
 * Build one layer from dir into the store. 0 with *out filled, or a
 * negative code with *out zeroed, no blob added and the message prefixed
 * "layer 'DIR'": HOIST_ENOTFOUND or HOIST_EIO (reading the tree or writing
 * the store; sys_errno says why), HOIST_EINVAL (an entry the tar format
 * cannot hold, a bad compression level), HOIST_ELIMIT (a tar field limit),
 * HOIST_EUNSUPPORTED (a compression this build lacks). opts and dir stay
 * the caller's.
 */
int hoist_layer_from_dir(struct hoist_layer *out, struct hoist_store *s,
			 const char *dir, const struct hoist_layer_opts *opts,
			 struct hoist_err *err);

struct hoist_tar_writer;

/*
 * The same pipeline for entries written by fill (with hoist_tar_write_*;
 * fill must not finish the archive): fill(ctx, w, err) returns 0 or a
 * negative code that aborts the ingest. opts->prefix is not used. Errors
 * as hoist_layer_from_dir, prefixed "layer 'WHAT'".
 */
int hoist_layer_from_fn(struct hoist_layer *out, struct hoist_store *s,
			int (*fill)(void *ctx, struct hoist_tar_writer *w,
				    struct hoist_err *err),
			void *ctx, const char *what,
			const struct hoist_layer_opts *opts,
			struct hoist_err *err);

#endif
