/*
 * compress.h: the compressor interface. Nothing outside compress.c sees
 * zlib, libdeflate or libzstd, so callers need not know that gzip is
 * compressed in parallel (independent deflate chunks written as gzip
 * members).
 */
#ifndef HOIST_LIB_COMPRESS_H
#define HOIST_LIB_COMPRESS_H

#include <stddef.h>

#include "util/err.h"
#include "lib/estargz.h"
#include "lib/mediatype.h"
#include "lib/sink.h"

#define HOIST_COMP_LEVEL_DEFAULT (-1)

/* "uncompressed" | "gzip" | "zstd" | "estargz" -> enum. */
int hoist_compression_parse(enum hoist_compression *out, const char *s,
			    struct hoist_err *err);
const char *hoist_compression_name(enum hoist_compression c);
/* Check a level: gzip and estargz 0-9, zstd 0-22 (buildx ranges); none
 * ignores it. */
int hoist_compression_check_level(enum hoist_compression c, int level,
				  struct hoist_err *err);

struct hoist_compressor;

/*
 * A compressor writing its output into sink. level may be
 * HOIST_COMP_LEVEL_DEFAULT. zstd uses libzstd's own worker threads (both
 * cores). gzip cuts the input into fixed 1 MiB chunks, compresses each with
 * libdeflate as a complete gzip member (RFC 1952 2.2: members in a row are
 * one stream) on two worker threads, and writes the members in order. The
 * sink is only ever called from the caller's thread, inside
 * hoist_compressor_write() and hoist_compressor_finish(). A worker's error
 * is returned by the next write or finish; after any error the compressor
 * keeps returning it. Output is deterministic for the same input, level,
 * algorithm and library version, whatever the thread count or write sizes.
 * estargz reads the input as a tar and writes an eStargz blob (estargz.h)
 * in the caller's thread.
 */
int hoist_compressor_new(struct hoist_compressor **out,
			 enum hoist_compression c, int level,
			 const struct hoist_sink *sink, struct hoist_err *err);
int hoist_compressor_write(struct hoist_compressor *c, const void *data,
			   size_t len, struct hoist_err *err);
/*
 * Compress with n worker threads, 0 to 8. gzip: 0 compresses in the
 * caller's thread; zstd: n libzstd workers (0 keeps the default); other
 * kinds ignore it. The output is the same for every n; builds use it to
 * share the cores among layers compressed at once, tests and benchmarks
 * to compare. Call it before the first write: later it is HOIST_EINVAL
 * for gzip, as is an n out of range.
 */
int hoist_compressor_set_threads(struct hoist_compressor *c, int n,
				 struct hoist_err *err);
/*
 * Flush everything and write the trailer. Worker threads are not joined
 * here but in hoist_compressor_free().
 */
int hoist_compressor_finish(struct hoist_compressor *c, struct hoist_err *err);
void hoist_compressor_free(struct hoist_compressor *c);

/*
 * estargz only: after a successful finish, what the eStargz writer
 * reports (TOC digest, the diff_id of its uncompressed stream, which
 * differs from the input tar's). HOIST_EINVAL for another kind or before
 * the finish.
 */
int hoist_compressor_estargz(const struct hoist_compressor *c,
			     struct hoist_estargz_result *out);

/* A sink view of a compressor, to chain it after a tar writer. */
void hoist_compressor_sink(struct hoist_compressor *c, struct hoist_sink *out);

/*
 * Detect the compression of a stream from its first bytes: gzip 1f 8b 08,
 * zstd 28 b5 2f fd, else none.
 */
enum hoist_compression hoist_compression_detect(const void *head, size_t len);

struct hoist_decompressor;
/* Decompress a stream of kind c into sink (NONE passes bytes through). */
int hoist_decompressor_new(struct hoist_decompressor **out,
			   enum hoist_compression c,
			   const struct hoist_sink *sink,
			   struct hoist_err *err);
int hoist_decompressor_write(struct hoist_decompressor *d, const void *data,
			     size_t len, struct hoist_err *err);
/* HOIST_EINVAL if the stream was truncated or corrupt. */
int hoist_decompressor_finish(struct hoist_decompressor *d,
			      struct hoist_err *err);
void hoist_decompressor_free(struct hoist_decompressor *d);

#endif
