/*
 * compress.c: gzip (libdeflate, on worker threads: compress-gzip.c), zstd
 * (libzstd: compress-zstd.c) and pass-through compressors, and gzip
 * (zlib), zstd and pass-through decompressors, behind the sink interface.
 * Only compress*.c see zlib, libdeflate or libzstd.
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compress-int.h"
#include "util/mem.h"
#include "util/banned.h"

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
		*out = HOIST_COMP_ESTARGZ;
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
	case HOIST_COMP_ESTARGZ:
		return "estargz";
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
	max = c == HOIST_COMP_ZSTD ? 22 : 9;
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

int hoist_compressor_new(struct hoist_compressor **out,
			 enum hoist_compression kind, int level,
			 const struct hoist_sink *sink, struct hoist_err *err)
{
	struct hoist_compressor *c;
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
		if ((rc = hoist_gzpool_new(c, level, err)) < 0)
			goto fail;
		break;
	case HOIST_COMP_ZSTD:
		if ((rc = hoist_zstd_new(c, level, err)) < 0)
			goto fail;
		break;
	case HOIST_COMP_ESTARGZ:
		if ((rc = hoist_estargz_new(&c->esgz, level, 0, sink, err)) < 0)
			goto fail;
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
	if (c->kind == HOIST_COMP_ZSTD) {
		/* 0 would be libzstd's single-threaded mode, whose bytes
		 * differ: keep the workers then (so do libzstds without) */
		if (n > 0)
			(void)ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers,
						     n);
		return 0;
	}
	if (c->kind != HOIST_COMP_GZIP)
		return 0;
	if (c->started || c->queued > 0 || c->fill_len > 0 || c->finished)
		return hoist_err_set(err, HOIST_EINVAL,
				     "gzip: threads are set before the first "
				     "write");
	c->nthreads = n;
	return 0;
}

int hoist_compressor_write(struct hoist_compressor *c, const void *data,
			   size_t len, struct hoist_err *err)
{
	if (c->finished)
		return hoist_err_set(err, HOIST_EINVAL,
				     "write after the end of the stream");
	if (c->failed)
		return hoist_gzpool_fail(c, &c->fail_err, err);
	if (len == 0)
		return 0;
	switch (c->kind) {
	case HOIST_COMP_GZIP:
		return hoist_gzpool_write(c, data, len, err);
	case HOIST_COMP_ZSTD:
		return hoist_zstd_write(c, data, len, err);
	case HOIST_COMP_ESTARGZ:
		return hoist_estargz_write(c->esgz, data, len, err);
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
		return hoist_gzpool_fail(c, &c->fail_err, err);
	switch (c->kind) {
	case HOIST_COMP_GZIP:
		rc = hoist_gzpool_finish(c, err);
		break;
	case HOIST_COMP_ZSTD:
		rc = hoist_zstd_end(c, err);
		break;
	case HOIST_COMP_ESTARGZ:
		rc = hoist_estargz_finish(c->esgz, &c->esgz_res, err);
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
		hoist_gzpool_free(c);
	hoist_zstd_free(c);
	hoist_estargz_free(c->esgz);
	free(c);
}

int hoist_compressor_estargz(const struct hoist_compressor *c,
			     struct hoist_estargz_result *out)
{
	if (c->kind != HOIST_COMP_ESTARGZ || !c->finished)
		return HOIST_EINVAL;
	*out = c->esgz_res;
	return 0;
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

int hoist_decompressor_new(struct hoist_decompressor **out,
			   enum hoist_compression kind,
			   const struct hoist_sink *sink, struct hoist_err *err)
{
	struct hoist_decompressor *d = hoist_xcalloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	if (kind == HOIST_COMP_ESTARGZ)
		kind = HOIST_COMP_GZIP; /* eStargz is a gzip stream */
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
		if ((rc = hoist_unzstd_new(d, err)) < 0)
			goto fail;
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

int hoist_decompressor_write(struct hoist_decompressor *d, const void *data,
			     size_t len, struct hoist_err *err)
{
	if (len == 0)
		return 0;
	switch (d->kind) {
	case HOIST_COMP_ESTARGZ: /* never: _new made it gzip */
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
		return hoist_unzstd_write(d, data, len, err);
	case HOIST_COMP_NONE:
		break;
	}
	return hoist_sink_write(&d->sink, data, len, err);
}

int hoist_decompressor_finish(struct hoist_decompressor *d,
			      struct hoist_err *err)
{
	switch (d->kind) {
	case HOIST_COMP_ESTARGZ: /* never: _new made it gzip */
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
	hoist_unzstd_free(d);
	free(d->out);
	free(d);
}
