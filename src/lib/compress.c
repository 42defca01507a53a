/*
 * compress.c: gzip (libdeflate, on worker threads), zstd (libzstd) and
 * pass-through compressors, and gzip (zlib), zstd and pass-through
 * decompressors, behind the sink interface. This is the only file that
 * sees zlib, libdeflate or libzstd.
 *
 * Layer digests must be reproducible, so every output byte is fixed by the
 * input, the algorithm, the level and the library version. gzip output is
 * a row of members, one per fixed 1 MiB of input (the last one shorter; an
 * empty input gives one empty member), each with mtime 0, no name and OS
 * 255 ("unknown", as Go's compress/gzip writes), whatever the thread count
 * or the write sizes. Independent members are what lets both cores
 * compress, as pigz does, and libdeflate compresses a whole buffer 1.8 to
 * 2.4 times as fast as zlib at the same level (bench/compress.sh). No
 * match crosses a chunk edge, which costs about 0.2 % of output against
 * libdeflate on the whole input; on real files the result is still a
 * little smaller than zlib's at the same level.
 * zstd always runs in its multi-threaded mode, whose output does not
 * depend on the number of workers or on how the input is cut into writes.
 * zlib stays for decompression: it streams, and reads any member layout.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/compress.h"
#include "lib/gzip-level.h"
#include "util/mem.h"
#include "util/banned.h"

#define OUT_BUF (256 * 1024)
#define ZSTD_WORKERS 2

int hoist_compression_parse(enum hoist_compression *out, const char *s,
			    struct hoist_err *err)
{
	if (strcmp(s, "uncompressed") == 0)
		*out = HOIST_COMP_NONE;
	else if (strcmp(s, "gzip") == 0)
		*out = HOIST_COMP_GZIP;
	else if (strcmp(s, "zstd") == 0)
		*out = HOIST_COMP_ZSTD;
	else if (strcmp(s, "estargz") == 0)
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "compression '%s' is not supported yet",
				     s);
	else
		return hoist_err_set(err, HOIST_EINVAL,
				     "unknown compression '%s'", s);
	return 0;
}

const char *hoist_compression_name(enum hoist_compression c)
{
	switch (c) {
	case HOIST_COMP_GZIP:
		return "gzip";
	case HOIST_COMP_ZSTD:
		return "zstd";
	case HOIST_COMP_NONE:
		break;
	}
	return "uncompressed";
}

int hoist_compression_check_level(enum hoist_compression c, int level,
				  struct hoist_err *err)
{
	int max;

	if (level == HOIST_COMP_LEVEL_DEFAULT || c == HOIST_COMP_NONE)
		return 0;
	max = c == HOIST_COMP_GZIP ? 9 : 22;
	if (level < 0 || level > max)
		return hoist_err_set(err, HOIST_EINVAL,
				     "compression level %d is out of range "
				     "for %s (0-%d)",
				     level, hoist_compression_name(c), max);
	return 0;
}

enum hoist_compression hoist_compression_detect(const void *head, size_t len)
{
	const unsigned char *p = head;

	if (len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08)
		return HOIST_COMP_GZIP;
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	    p[3] == 0xfd)
		return HOIST_COMP_ZSTD;
	return HOIST_COMP_NONE;
}

/* --- compression --- */

/*
 * Parallel gzip. The caller's thread copies input into 1 MiB chunk slots of
 * a small ring and queues each full slot; worker threads take queued slots
 * in order and turn each into a complete gzip member; the caller writes the
 * finished members to the sink in order. Each slot moves through
 *
 *   state    who           how it leaves
 *   filling  caller        full (or finish): queued, seq < queued
 *   queued   -             a worker takes it, seq < taken
 *   busy     one worker    done = 1 under the lock
 *   done     -             the caller writes it out, seq < out_seq
 *
 * A slot is reused for chunk seq + GZ_SLOTS only once seq is written out.
 * queued, taken, stop and every done flag are guarded by the lock; out_seq
 * and fill_len belong to the caller alone. The chunk size is a constant,
 * not a function of the thread count, so the members (and the digest) are
 * the same with any number of workers.
 */
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

	/* zstd */
	ZSTD_CCtx *zc;
	unsigned char *out;
};

static int zstd_fail(struct hoist_err *err, const char *what, size_t ret)
{
	return hoist_err_set(err, HOIST_EIO, "zstd %s: %s", what,
			     ZSTD_getErrorName(ret));
}

static int gz_alloc(struct libdeflate_compressor **out, int level,
		    struct hoist_err *err)
{
	*out = libdeflate_alloc_compressor(level);
	if (!*out)
		return hoist_err_set(err, HOIST_ENOMEM,
				     "gzip: cannot create a level %d "
				     "compressor",
				     level);
	return 0;
}

static int gz_new(struct hoist_compressor *c, int level, struct hoist_err *err)
{
	int zl = level == HOIST_COMP_LEVEL_DEFAULT ? 6 : level;

	c->level = hoist_gzip_level(level);
	/* the extra flags zlib writes at that level */
	c->xfl = zl >= 9 ? 2 : zl < 2 ? 4 : 0;
	c->out_cap = GZ_HEADER +
		     libdeflate_deflate_compress_bound(NULL, GZ_CHUNK) +
		     GZ_TRAILER;
	c->nthreads = GZ_THREADS;
	/* fail here, not in a worker, if the level is refused */
	return gz_alloc(&c->inline_ld, c->level, err);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Turn one slot's input into a gzip member; runs in any thread. */
static void gz_member(struct libdeflate_compressor *ld, unsigned char xfl,
		      size_t out_cap, struct gz_slot *s)
{
	unsigned char *p = s->out;
	size_t n;

	/* ID1 ID2 CM=deflate FLG=0, MTIME=0, XFL, OS=255 (unknown) */
	memset(p, 0, GZ_HEADER);
	p[0] = 0x1f;
	p[1] = 0x8b;
	p[2] = 8;
	p[8] = xfl;
	p[9] = 255;
	n = libdeflate_deflate_compress(ld, s->in, s->in_len, p + GZ_HEADER,
					out_cap - GZ_HEADER - GZ_TRAILER);
	if (n == 0) {
		s->rc = hoist_err_set(&s->err, HOIST_EIO,
				      "gzip: a compressed chunk outgrew its "
				      "bound");
		return;
	}
	p += GZ_HEADER + n;
	put_le32(p, libdeflate_crc32(0, s->in, s->in_len));
	put_le32(p + 4, (uint32_t)s->in_len);
	s->out_len = GZ_HEADER + n + GZ_TRAILER;
	s->rc = 0;
}

static void *gz_worker_main(void *arg)
{
	struct gz_worker *w = arg;
	struct hoist_compressor *c = w->c;
	struct gz_slot *s;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stop && c->taken == c->queued)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->stop)
			break;
		s = &c->slots[c->taken++ % GZ_SLOTS];
		pthread_mutex_unlock(&c->lock);
		gz_member(w->ld, c->xfl, c->out_cap, s);
		pthread_mutex_lock(&c->lock);
		s->done = 1;
		pthread_cond_signal(&c->done);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * Start the workers on the first full chunk, so a layer smaller than one
 * chunk never starts a thread. Workers block every signal: signals stay
 * with the caller's thread. Whatever cannot be started (a thread, a
 * compressor) leaves fewer workers; with none, compression goes on in the
 * caller's thread, with the same output.
 */
static void gz_start(struct hoist_compressor *c)
{
	sigset_t all, old;
	int i;

	c->started = 1;
	if (c->nthreads == 0)
		return;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto inline_only;
	if (pthread_cond_init(&c->work, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		goto inline_only;
	}
	if (pthread_cond_init(&c->done, NULL) != 0) {
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->lock);
		goto inline_only;
	}
	c->lock_live = 1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < c->nthreads; i++) {
		struct gz_worker *w = &c->workers[i];

		if (gz_alloc(&w->ld, c->level, NULL) < 0)
			break;
		w->c = c;
		if (pthread_create(&w->tid, NULL, gz_worker_main, w) != 0) {
			libdeflate_free_compressor(w->ld);
			w->ld = NULL;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->nthreads = i;
	return;
inline_only:
	c->nthreads = 0;
}

static int gz_fail(struct hoist_compressor *c, const struct hoist_err *e,
		   struct hoist_err *err)
{
	c->fail_err = *e;
	c->failed = e->code < 0 ? e->code : HOIST_EIO;
	c->fail_err.code = c->failed;
	if (err)
		*err = c->fail_err;
	return c->failed;
}

/*
 * Write finished members to the sink in order: wait until out_seq reaches
 * upto, then write whatever else is already done without waiting.
 */
static int gz_drain(struct hoist_compressor *c, uint64_t upto,
		    struct hoist_err *err)
{
	struct hoist_err e;

	while (c->out_seq < c->queued) {
		struct gz_slot *s = &c->slots[c->out_seq % GZ_SLOTS];

		if (c->started && c->nthreads > 0) {
			pthread_mutex_lock(&c->lock);
			while (!s->done && c->out_seq < upto)
				pthread_cond_wait(&c->done, &c->lock);
			if (!s->done) {
				pthread_mutex_unlock(&c->lock);
				return 0;
			}
			pthread_mutex_unlock(&c->lock);
		}
		if (s->rc < 0)
			return gz_fail(c, &s->err, err);
		hoist_err_clear(&e);
		if (hoist_sink_write(&c->sink, s->out, s->out_len, &e) < 0)
			return gz_fail(c, &e, err);
		c->out_seq++;
	}
	return 0;
}

/*
 * Queue the chunk being filled (final: the last one, from finish). queued
 * is read by the caller alone until the workers start, so it needs the
 * lock only after that.
 */
static void gz_submit(struct hoist_compressor *c, int final)
{
	struct gz_slot *s = &c->slots[c->queued % GZ_SLOTS];

	if (!s->in)
		s->in = hoist_xmalloc(GZ_CHUNK);
	if (!s->out)
		s->out = hoist_xmalloc(c->out_cap);
	s->in_len = c->fill_len;
	c->fill_len = 0;
	if (!c->started && !final)
		gz_start(c);
	if (!c->started || c->nthreads == 0) {
		gz_member(c->inline_ld, c->xfl, c->out_cap, s);
		s->done = 1;
		c->queued++;
		return;
	}
	pthread_mutex_lock(&c->lock);
	s->done = 0;
	c->queued++;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
}

static int gz_write(struct hoist_compressor *c, const void *data, size_t len,
		    struct hoist_err *err)
{
	const unsigned char *p = data;
	int rc;

	while (len > 0) {
		struct gz_slot *s;
		size_t n;

		/* the ring is full: wait for the oldest chunk */
		if (c->fill_len == 0 && c->queued - c->out_seq == GZ_SLOTS &&
		    (rc = gz_drain(c, c->out_seq + 1, err)) < 0)
			return rc;
		s = &c->slots[c->queued % GZ_SLOTS];
		if (!s->in)
			s->in = hoist_xmalloc(GZ_CHUNK);
		n = GZ_CHUNK - c->fill_len;
		if (n > len)
			n = len;
		memcpy(s->in + c->fill_len, p, n);
		c->fill_len += n;
		p += n;
		len -= n;
		if (c->fill_len == GZ_CHUNK) {
			gz_submit(c, 0);
			if ((rc = gz_drain(c, c->out_seq, err)) < 0)
				return rc;
		}
	}
	return 0;
}

static int gz_finish(struct hoist_compressor *c, struct hoist_err *err)
{
	/* an empty input still makes one (empty) member: a valid gzip file */
	if (c->fill_len > 0 || c->queued == 0)
		gz_submit(c, 1);
	return gz_drain(c, c->queued, err);
}

static void gz_free(struct hoist_compressor *c)
{
	int i;

	if (c->lock_live) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_broadcast(&c->work);
		pthread_mutex_unlock(&c->lock);
		for (i = 0; i < c->nthreads; i++)
			pthread_join(c->workers[i].tid, NULL);
		pthread_cond_destroy(&c->done);
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->lock);
	}
	for (i = 0; i < GZ_MAX_THREADS; i++)
		libdeflate_free_compressor(c->workers[i].ld);
	libdeflate_free_compressor(c->inline_ld);
	for (i = 0; i < GZ_SLOTS; i++) {
		free(c->slots[i].in);
		free(c->slots[i].out);
	}
}

int hoist_compressor_new(struct hoist_compressor **out,
			 enum hoist_compression kind, int level,
			 const struct hoist_sink *sink, struct hoist_err *err)
{
	struct hoist_compressor *c;
	size_t ret;
	int rc;

	*out = NULL;
	if ((rc = hoist_compression_check_level(kind, level, err)) < 0)
		return rc;
	c = hoist_xcalloc(1, sizeof(*c));
	c->kind = kind;
	c->sink = *sink;
	switch (kind) {
	case HOIST_COMP_NONE:
		break;
	case HOIST_COMP_GZIP:
		if ((rc = gz_new(c, level, err)) < 0)
			goto fail;
		break;
	case HOIST_COMP_ZSTD:
		c->out = hoist_xmalloc(OUT_BUF);
		c->zc = ZSTD_createCCtx();
		if (!c->zc) {
			rc = hoist_err_set(err, HOIST_ENOMEM,
					   "zstd: cannot create a context");
			goto fail;
		}
		ret = ZSTD_CCtx_setParameter(
			c->zc, ZSTD_c_compressionLevel,
			level == HOIST_COMP_LEVEL_DEFAULT ? 3 : level);
		if (ZSTD_isError(ret)) {
			rc = zstd_fail(err, "level", ret);
			goto fail;
		}
		ret = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
		if (ZSTD_isError(ret)) {
			rc = zstd_fail(err, "checksum", ret);
			goto fail;
		}
		/*
		 * A libzstd built without threads refuses nbWorkers; its
		 * single-threaded output differs from the multi-threaded
		 * one, but is still deterministic on that build.
		 */
		ret = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers,
					     ZSTD_WORKERS);
		if (ZSTD_isError(ret))
			(void)ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers,
						     0);
		break;
	default:
		rc = hoist_err_set(err, HOIST_EINVAL, "unknown compression %d",
				   (int)kind);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	hoist_compressor_free(c);
	return rc;
}

int hoist_compressor_set_threads(struct hoist_compressor *c, int n,
				 struct hoist_err *err)
{
	if (n < 0 || n > GZ_MAX_THREADS)
		return hoist_err_set(err, HOIST_EINVAL,
				     "thread count %d is out of range (0-%d)",
				     n, GZ_MAX_THREADS);
	if (c->kind != HOIST_COMP_GZIP)
		return 0;
	if (c->started || c->queued > 0 || c->fill_len > 0 || c->finished)
		return hoist_err_set(err, HOIST_EINVAL,
				     "gzip: threads are set before the first "
				     "write");
	c->nthreads = n;
	return 0;
}

static int zstd_run(struct hoist_compressor *c, const void *data, size_t len,
		    ZSTD_EndDirective mode, struct hoist_err *err)
{
	ZSTD_inBuffer in = {data, len, 0};
	size_t ret;
	int rc;

	for (;;) {
		ZSTD_outBuffer o = {c->out, OUT_BUF, 0};

		ret = ZSTD_compressStream2(c->zc, &o, &in, mode);
		if (ZSTD_isError(ret))
			return zstd_fail(err, "compress", ret);
		if (o.pos &&
		    (rc = hoist_sink_write(&c->sink, c->out, o.pos, err)) < 0)
			return rc;
		if (mode == ZSTD_e_end ? ret == 0 : in.pos == in.size)
			return 0;
	}
}

int hoist_compressor_write(struct hoist_compressor *c, const void *data,
			   size_t len, struct hoist_err *err)
{
	if (c->finished)
		return hoist_err_set(err, HOIST_EINVAL,
				     "write after the end of the stream");
	if (c->failed)
		return gz_fail(c, &c->fail_err, err);
	if (len == 0)
		return 0;
	switch (c->kind) {
	case HOIST_COMP_GZIP:
		return gz_write(c, data, len, err);
	case HOIST_COMP_ZSTD:
		return zstd_run(c, data, len, ZSTD_e_continue, err);
	case HOIST_COMP_NONE:
		break;
	}
	return hoist_sink_write(&c->sink, data, len, err);
}

int hoist_compressor_finish(struct hoist_compressor *c, struct hoist_err *err)
{
	int rc = 0;

	if (c->finished)
		return 0;
	if (c->failed)
		return gz_fail(c, &c->fail_err, err);
	switch (c->kind) {
	case HOIST_COMP_GZIP:
		rc = gz_finish(c, err);
		break;
	case HOIST_COMP_ZSTD:
		rc = zstd_run(c, NULL, 0, ZSTD_e_end, err);
		break;
	case HOIST_COMP_NONE:
		break;
	}
	if (rc == 0)
		c->finished = 1;
	return rc;
}

void hoist_compressor_free(struct hoist_compressor *c)
{
	if (!c)
		return;
	if (c->kind == HOIST_COMP_GZIP)
		gz_free(c);
	ZSTD_freeCCtx(c->zc);
	free(c->out);
	free(c);
}

static int compressor_sink_write(void *ctx, const void *data, size_t len,
				 struct hoist_err *err)
{
	return hoist_compressor_write(ctx, data, len, err);
}

void hoist_compressor_sink(struct hoist_compressor *c, struct hoist_sink *out)
{
	out->write = compressor_sink_write;
	out->ctx = c;
}

/* --- decompression --- */

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

int hoist_decompressor_new(struct hoist_decompressor **out,
			   enum hoist_compression kind,
			   const struct hoist_sink *sink, struct hoist_err *err)
{
	struct hoist_decompressor *d = hoist_xcalloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	d->kind = kind;
	d->sink = *sink;
	switch (kind) {
	case HOIST_COMP_NONE:
		break;
	case HOIST_COMP_GZIP:
		d->out = hoist_xmalloc(OUT_BUF);
		if (inflateInit2(&d->z, 15 + 16) != Z_OK) {
			rc = hoist_err_set(err, HOIST_ENOMEM,
					   "gzip: cannot start a decoder");
			goto fail;
		}
		d->z_live = 1;
		break;
	case HOIST_COMP_ZSTD:
		d->out = hoist_xmalloc(OUT_BUF);
		d->zd = ZSTD_createDCtx();
		if (!d->zd) {
			rc = hoist_err_set(err, HOIST_ENOMEM,
					   "zstd: cannot create a decoder");
			goto fail;
		}
		break;
	default:
		rc = hoist_err_set(err, HOIST_EINVAL, "unknown compression %d",
				   (int)kind);
		goto fail;
	}
	*out = d;
	return 0;
fail:
	hoist_decompressor_free(d);
	return rc;
}

/*
 * Several gzip members in a row are one stream (gzip(1) and parallel gzip
 * writers produce them), so a member's end resets the decoder for the next.
 */
static int gunzip_write(struct hoist_decompressor *d, const void *data,
			size_t len, struct hoist_err *err)
{
	int zr, rc;

	d->z.next_in = (Bytef *)(uintptr_t)data;
	d->z.avail_in = (uInt)len;
	while (d->z.avail_in > 0) {
		if (!d->in_member) {
			if (inflateReset(&d->z) != Z_OK)
				return hoist_err_set(err, HOIST_EIO,
						     "gzip: cannot reset");
			d->in_member = 1;
		}
		d->z.next_out = d->out;
		d->z.avail_out = OUT_BUF;
		zr = inflate(&d->z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return hoist_err_set(
				err, HOIST_EINVAL, "gzip: corrupt data: %s",
				d->z.msg ? d->z.msg : "zlib error");
		if (OUT_BUF - d->z.avail_out > 0 &&
		    (rc = hoist_sink_write(&d->sink, d->out,
					   OUT_BUF - d->z.avail_out, err)) < 0)
			return rc;
		if (zr == Z_STREAM_END) {
			d->in_member = 0;
			d->members++;
		}
	}
	/* inflate may still hold output for input it has consumed. */
	while (d->in_member) {
		d->z.next_out = d->out;
		d->z.avail_out = OUT_BUF;
		zr = inflate(&d->z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return hoist_err_set(
				err, HOIST_EINVAL, "gzip: corrupt data: %s",
				d->z.msg ? d->z.msg : "zlib error");
		if (OUT_BUF - d->z.avail_out == 0)
			break;
		if ((rc = hoist_sink_write(&d->sink, d->out,
					   OUT_BUF - d->z.avail_out, err)) < 0)
			return rc;
		if (zr == Z_STREAM_END) {
			d->in_member = 0;
			d->members++;
		}
	}
	return 0;
}

static int unzstd_run(struct hoist_decompressor *d, const void *data,
		      size_t len, struct hoist_err *err)
{
	ZSTD_inBuffer in = {data, len, 0};
	int rc;

	for (;;) {
		ZSTD_outBuffer o = {d->out, OUT_BUF, 0};

		d->zret = ZSTD_decompressStream(d->zd, &o, &in);
		if (ZSTD_isError(d->zret))
			return hoist_err_set(err, HOIST_EINVAL,
					     "zstd: corrupt data: %s",
					     ZSTD_getErrorName(d->zret));
		if (o.pos &&
		    (rc = hoist_sink_write(&d->sink, d->out, o.pos, err)) < 0)
			return rc;
		/* A full output buffer may mean more is waiting inside. */
		if (in.pos == in.size && o.pos < o.size)
			return 0;
	}
}

int hoist_decompressor_write(struct hoist_decompressor *d, const void *data,
			     size_t len, struct hoist_err *err)
{
	if (len == 0)
		return 0;
	switch (d->kind) {
	case HOIST_COMP_GZIP:
		while (len > 0) {
			size_t chunk = len > (1U << 30) ? (1U << 30) : len;
			int rc = gunzip_write(d, data, chunk, err);

			if (rc < 0)
				return rc;
			data = (const char *)data + chunk;
			len -= chunk;
		}
		return 0;
	case HOIST_COMP_ZSTD:
		d->zseen = 1;
		return unzstd_run(d, data, len, err);
	case HOIST_COMP_NONE:
		break;
	}
	return hoist_sink_write(&d->sink, data, len, err);
}

int hoist_decompressor_finish(struct hoist_decompressor *d,
			      struct hoist_err *err)
{
	switch (d->kind) {
	case HOIST_COMP_GZIP:
		if (d->in_member || d->members == 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "gzip: stream is truncated");
		return 0;
	case HOIST_COMP_ZSTD:
		if (!d->zseen)
			return hoist_err_set(err, HOIST_EINVAL,
					     "zstd: stream is truncated");
		/* unzstd_run drained all output; 0 means at a frame end */
		if (d->zret != 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "zstd: stream is truncated");
		return 0;
	case HOIST_COMP_NONE:
		break;
	}
	return 0;
}

void hoist_decompressor_free(struct hoist_decompressor *d)
{
	if (!d)
		return;
	if (d->z_live)
		inflateEnd(&d->z);
	ZSTD_freeDCtx(d->zd);
	free(d->out);
	free(d);
}
