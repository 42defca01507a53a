/*
 * compress-zstd.c: zstd compression (always libzstd's multi-threaded mode,
 * whose output does not depend on the number of workers or on how the
 * input is cut into writes) and decompression.
 */
#include <stdlib.h>

#include "lib/compress-int.h"
#include "util/mem.h"
#include "util/banned.h"

static int zstd_fail(struct hoist_err *err, const char *what, size_t ret)
{
	return hoist_err_set(err, HOIST_EIO, "zstd %s: %s", what,
			     ZSTD_getErrorName(ret));
}

int hoist_zstd_new(struct hoist_compressor *c, int level, struct hoist_err *err)
{
	size_t ret;

	c->out = hoist_xmalloc(OUT_BUF);
	c->zc = ZSTD_createCCtx();
	if (!c->zc)
		return hoist_err_set(err, HOIST_ENOMEM,
				     "zstd: cannot create a context");
	ret = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
				     level == HOIST_COMP_LEVEL_DEFAULT ? 3
								       : level);
	if (ZSTD_isError(ret))
		return zstd_fail(err, "level", ret);
	ret = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(ret))
		return zstd_fail(err, "checksum", ret);
	/*
	 * A libzstd built without threads refuses nbWorkers; its
	 * single-threaded output differs from the multi-threaded
	 * one, but is still deterministic on that build.
	 */
	ret = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, ZSTD_WORKERS);
	if (ZSTD_isError(ret)) {
		(void)ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, 0);
		return 0;
	}
	/*
	 * libzstd's own job size is 4 windows (8 MiB at level 3), and it
	 * keeps about three jobs of input and output per worker: a 1 GiB
	 * layer peaked at 67 MiB RSS. Fixed 4 MiB jobs peaked at 44 MiB for
	 * output 0.3% larger (2 MiB: 31 MiB, +0.8%); the output stays
	 * deterministic (the job size, not the worker count, shapes it).
	 */
	ret = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_jobSize, ZSTD_JOB_SIZE);
	if (ZSTD_isError(ret))
		return zstd_fail(err, "job size", ret);
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

int hoist_zstd_write(struct hoist_compressor *c, const void *data, size_t len,
		     struct hoist_err *err)
{
	return zstd_run(c, data, len, ZSTD_e_continue, err);
}

int hoist_zstd_end(struct hoist_compressor *c, struct hoist_err *err)
{
	return zstd_run(c, NULL, 0, ZSTD_e_end, err);
}

void hoist_zstd_free(struct hoist_compressor *c)
{
	ZSTD_freeCCtx(c->zc);
	free(c->out);
}

int hoist_unzstd_new(struct hoist_decompressor *d, struct hoist_err *err)
{
	d->out = hoist_xmalloc(OUT_BUF);
	d->zd = ZSTD_createDCtx();
	if (!d->zd)
		return hoist_err_set(err, HOIST_ENOMEM,
				     "zstd: cannot create a decoder");
	return 0;
}

int hoist_unzstd_write(struct hoist_decompressor *d, const void *data,
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

void hoist_unzstd_free(struct hoist_decompressor *d)
{
	ZSTD_freeDCtx(d->zd);
}
