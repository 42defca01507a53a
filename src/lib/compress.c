/*
 * compress.c: gzip (zlib), zstd (libzstd) and pass-through compressors and
 * decompressors behind the sink interface. This is the only file that sees
 * zlib or libzstd.
 *
 * Layer digests must be reproducible, so every output byte is fixed by the
 * input, the algorithm and the level: the gzip header carries mtime 0, no
 * name and OS 255 ("unknown", as Go's compress/gzip writes), and zstd always
 * runs in its multi-threaded mode, whose output does not depend on the
 * number of workers or on how the input is cut into writes. Output is
 * gathered in a large buffer so the sink (hash + file write) sees few,
 * large writes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "lib/compress.h"
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

struct hoist_compressor {
	enum hoist_compression kind;
	struct hoist_sink sink;
	z_stream z;
	gz_header gz;
	int z_live;
	ZSTD_CCtx *zc;
	unsigned char *out;
	int finished;
};

static int zstd_fail(struct hoist_err *err, const char *what, size_t ret)
{
	return hoist_err_set(err, HOIST_EIO, "zstd %s: %s", what,
			     ZSTD_getErrorName(ret));
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
		c->out = hoist_xmalloc(OUT_BUF);
		rc = deflateInit2(&c->z,
				  level == HOIST_COMP_LEVEL_DEFAULT
					  ? Z_DEFAULT_COMPRESSION
					  : level,
				  Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (rc != Z_OK) {
			rc = hoist_err_set(err,
					   rc == Z_MEM_ERROR ? HOIST_ENOMEM
							     : HOIST_EIO,
					   "gzip: cannot start: %s",
					   c->z.msg ? c->z.msg : "zlib error");
			goto fail;
		}
		c->z_live = 1;
		c->gz.os = 255;
		if (deflateSetHeader(&c->z, &c->gz) != Z_OK) {
			rc = hoist_err_set(err, HOIST_EIO,
					   "gzip: cannot set the header");
			goto fail;
		}
		c->z.next_out = c->out;
		c->z.avail_out = OUT_BUF;
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

static int gz_flush_out(struct hoist_compressor *c, struct hoist_err *err)
{
	size_t n = OUT_BUF - c->z.avail_out;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = hoist_sink_write(&c->sink, c->out, n, err)) < 0)
		return rc;
	c->z.next_out = c->out;
	c->z.avail_out = OUT_BUF;
	return 0;
}

/* Run deflate over the pending input with flush; Z_FINISH ends the stream. */
static int gz_run(struct hoist_compressor *c, int flush, struct hoist_err *err)
{
	int zr, rc;

	for (;;) {
		zr = deflate(&c->z, flush);
		if (zr == Z_STREAM_ERROR)
			return hoist_err_set(err, HOIST_EIO,
					     "gzip: stream error");
		if (c->z.avail_out == 0 ||
		    (flush == Z_FINISH && zr == Z_STREAM_END)) {
			if ((rc = gz_flush_out(c, err)) < 0)
				return rc;
		}
		if (flush == Z_FINISH) {
			if (zr == Z_STREAM_END)
				return 0;
		} else if (c->z.avail_in == 0 && c->z.avail_out != 0) {
			return 0;
		}
	}
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
	if (len == 0)
		return 0;
	switch (c->kind) {
	case HOIST_COMP_GZIP:
		while (len > 0) {
			/* avail_in is 32 bits wide */
			uInt chunk = len > (1U << 30) ? (1U << 30) : (uInt)len;
			int rc;

			c->z.next_in = (Bytef *)(uintptr_t)data;
			c->z.avail_in = chunk;
			if ((rc = gz_run(c, Z_NO_FLUSH, err)) < 0)
				return rc;
			data = (const char *)data + chunk;
			len -= chunk;
		}
		return 0;
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
	switch (c->kind) {
	case HOIST_COMP_GZIP:
		c->z.next_in = NULL;
		c->z.avail_in = 0;
		rc = gz_run(c, Z_FINISH, err);
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
	if (c->z_live)
		deflateEnd(&c->z);
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
