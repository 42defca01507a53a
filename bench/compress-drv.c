/*
 * compress-drv.c: hoist's compressor as a filter, for bench/compress.sh.
 * Reads stdin in 256 KiB pieces (the size hoist's tar writer hands over is
 * smaller; the compressor does not care) and writes the compressed stream
 * to stdout.
 *
 * usage: compress-drv gzip|zstd|uncompressed [LEVEL [THREADS]]
 * LEVEL -1 is the default; THREADS sets the gzip workers (0: the caller's
 * thread only), else the default (2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/compress.h"
#include "util/banned.h"

static int out_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	const char *p = data;

	(void)ctx;
	while (len > 0) {
		ssize_t n = write(1, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hoist_err_sys(err, errno, "write 'stdout'");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end != 0 || v < -1 || v > 22) {
		fprintf(stderr, "compress-drv: bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static char buf[256 * 1024];
	struct hoist_sink sink = {out_write, NULL};
	struct hoist_compressor *c = NULL;
	enum hoist_compression kind;
	struct hoist_err err;
	int level = HOIST_COMP_LEVEL_DEFAULT;
	ssize_t n;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: compress-drv gzip|zstd|uncompressed "
				"[LEVEL [THREADS]]\n");
		return 2;
	}
	if (hoist_compression_parse(&kind, argv[1], &err) < 0)
		goto fail;
	if (argc > 2)
		level = num(argv[2]);
	if (hoist_compressor_new(&c, kind, level, &sink, &err) < 0)
		goto fail;
	if (argc > 3 && hoist_compressor_set_threads(c, num(argv[3]), &err) < 0)
		goto fail;
	for (;;) {
		n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hoist_err_sys(&err, errno, "read 'stdin'");
			goto fail;
		}
		if (n == 0)
			break;
		if (hoist_compressor_write(c, buf, (size_t)n, &err) < 0)
			goto fail;
	}
	if (hoist_compressor_finish(c, &err) < 0)
		goto fail;
	hoist_compressor_free(c);
	return 0;
fail:
	fprintf(stderr, "compress-drv: %s\n", hoist_err_msg(&err));
	hoist_compressor_free(c);
	return 1;
}
