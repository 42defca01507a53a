/*
 * compress-int.h: what compress.c (the interface, pass-through and zlib
 * decompression), compress-gzip.c (the parallel gzip pool) and
 * compress-zstd.c share: the compressor and decompressor structures and
 * each engine's entry points. Only these three files see zlib, libdeflate
 * or libzstd.
 */
#ifndef HOIST_LIB_COMPRESS_INT_H
#define HOIST_LIB_COMPRESS_INT_H

#include <pthread.h>
#include <stdint.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/compress.h"
#include "lib/estargz.h"

#define OUT_BUF (256 * 1024)
#define ZSTD_WORKERS 2
#define ZSTD_JOB_SIZE (4 * 1024 * 1024)

#define GZ_CHUNK (1024 * 1024)
#define GZ_SLOTS 4
#define GZ_THREADS 2
#define GZ_MAX_THREADS 8
#define GZ_HEADER 10
#define GZ_TRAILER 8

struct gz_slot {
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len;
	int done;
	int rc;
	struct hoist_err err;
};

struct gz_worker {
	struct hoist_compressor *c;
	struct libdeflate_compressor *ld;
	pthread_t tid;
};

struct hoist_compressor {
	enum hoist_compression kind;
	struct hoist_sink sink;
	int finished;
	int failed; /* a HOIST_E* code, kept in fail_err */
	struct hoist_err fail_err;

	/* gzip */
	int level;
	unsigned char xfl;
	size_t out_cap;
	struct libdeflate_compressor *inline_ld;
	struct gz_slot slots[GZ_SLOTS];
	size_t fill_len;
	uint64_t out_seq;
	int nthreads; /* wanted; after the start, how many run */
	int started;
	int lock_live;
	pthread_mutex_t lock;
	pthread_cond_t work; /* workers: a chunk was queued, or stop */
	pthread_cond_t done; /* caller: a chunk is done */
	uint64_t queued;
	uint64_t taken;
	int stop;
	struct gz_worker workers[GZ_MAX_THREADS];

	/* estargz */
	struct hoist_estargz *esgz;
	struct hoist_estargz_result esgz_res;

	/* zstd */
	ZSTD_CCtx *zc;
	unsigned char *out;
};

struct hoist_decompressor {
	enum hoist_compression kind;
	struct hoist_sink sink;
	z_stream z;
	int z_live;
	int in_member; /* a gzip member has started and not ended */
	int members;   /* gzip members completed */
	ZSTD_DCtx *zd;
	size_t zret; /* last ZSTD_decompressStream result; 0 = frame end */
	int zseen;   /* any zstd input at all */
	unsigned char *out;
};

/* compress-gzip.c: the gzip pool (see there for its states). */
int hoist_gzpool_new(struct hoist_compressor *c, int level,
		     struct hoist_err *err);
int hoist_gzpool_write(struct hoist_compressor *c, const void *data, size_t len,
		       struct hoist_err *err);
int hoist_gzpool_finish(struct hoist_compressor *c, struct hoist_err *err);
/* The pool's first failure, again (the pool is unusable after one). */
int hoist_gzpool_fail(struct hoist_compressor *c, const struct hoist_err *e,
		      struct hoist_err *err);
void hoist_gzpool_free(struct hoist_compressor *c);

/* compress-zstd.c */
int hoist_zstd_new(struct hoist_compressor *c, int level,
		   struct hoist_err *err);
int hoist_zstd_write(struct hoist_compressor *c, const void *data, size_t len,
		     struct hoist_err *err);
int hoist_zstd_end(struct hoist_compressor *c, struct hoist_err *err);
void hoist_zstd_free(struct hoist_compressor *c);
int hoist_unzstd_new(struct hoist_decompressor *d, struct hoist_err *err);
int hoist_unzstd_write(struct hoist_decompressor *d, const void *data,
		       size_t len, struct hoist_err *err);
void hoist_unzstd_free(struct hoist_decompressor *d);

#endif
