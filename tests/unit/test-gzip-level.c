/*
 * test-gzip-level.c: buildx's gzip levels in hoist. The default is
 * BuildKit's (zlib level 6), level 0 stores, and at every level 1-9
 * hoist's gzip (libdeflate at the mapped level, 1 MiB members) is no
 * bigger than zlib's at that level on real data (the C library's
 * file), and decompresses to the input (checked by zlib).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/compress.h"
#include "lib/gzip-level.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

#define IN_MAX (4u << 20)

/*
 * Real data: the C library (ELF code, as in an image's /usr/lib), else
 * this test program.
 */
static unsigned char *input(size_t *len)
{
	static const char *paths[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6",
				      "/lib64/libc.so.6", "/proc/self/exe"};
	unsigned char *p = hoist_xmalloc(IN_MAX);
	FILE *f = NULL;

	for (size_t i = 0; !f && i < HOIST_ARRAY_SIZE(paths); i++)
		f = fopen(paths[i], "rb");
	assert_non_null(f);
	*len = fread(p, 1, IN_MAX, f);
	fclose(f);
	assert_true(*len > 64 * 1024);
	return p;
}

static int buf_sink(void *ctx, const void *data, size_t len,
		    struct hoist_err *err)
{
	return hoist_buf_add(ctx, data, len, err);
}

static size_t zlib_size(const unsigned char *in, size_t len, int level)
{
	z_stream z;
	size_t cap = deflateBound(NULL, (uLong)len) + 64, got;
	unsigned char *out = hoist_xmalloc(cap);

	memset(&z, 0, sizeof(z));
	assert_int_equal(
		deflateInit2(&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY),
		Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	got = z.total_out;
	deflateEnd(&z);
	free(out);
	return got;
}

static void hoist_gz(struct hoist_buf *out, const unsigned char *in, size_t len,
		     int level)
{
	struct hoist_compressor *c;
	struct hoist_sink sink = {buf_sink, out};
	struct hoist_err err;

	assert_int_equal(
		hoist_compressor_new(&c, HOIST_COMP_GZIP, level, &sink, &err),
		0);
	assert_int_equal(hoist_compressor_write(c, in, len, &err), 0);
	assert_int_equal(hoist_compressor_finish(c, &err), 0);
	hoist_compressor_free(c);
}

/* zlib inflates hoist's members back to the input */
static void check_roundtrip(const struct hoist_buf *gz, const unsigned char *in,
			    size_t len)
{
	unsigned char *back = hoist_xmalloc(len + 1);
	size_t done = 0, off = 0;

	while (off < gz->len) {
		z_stream z;
		int rc;

		memset(&z, 0, sizeof(z));
		assert_int_equal(inflateInit2(&z, 31), Z_OK);
		z.next_in = (unsigned char *)gz->data + off;
		z.avail_in = (uInt)(gz->len - off);
		z.next_out = back + done;
		z.avail_out = (uInt)(len + 1 - done);
		rc = inflate(&z, Z_FINISH);
		assert_int_equal(rc, Z_STREAM_END);
		off += z.total_in;
		done += z.total_out;
		inflateEnd(&z);
	}
	assert_int_equal(done, len);
	assert_memory_equal(back, in, len);
	free(back);
}

static void test_map(void **state)
{
	(void)state;
	assert_int_equal(hoist_gzip_level(HOIST_COMP_LEVEL_DEFAULT),
			 hoist_gzip_level(6));
	assert_int_equal(hoist_gzip_level(0), 0);
	for (int l = 1; l < 9; l++)
		assert_true(hoist_gzip_level(l) <= hoist_gzip_level(l + 1));
}

static void test_no_bigger_than_zlib(void **state)
{
	size_t len;
	unsigned char *in = input(&len);

	(void)state;
	for (int l = 1; l <= 9; l++) {
		struct hoist_buf gz = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		size_t z = zlib_size(in, len, l);

		hoist_gz(&gz, in, len, l);
		if (gz.len > z)
			fail_msg("level %d: hoist %zu bytes, zlib %zu", l,
				 gz.len, z);
		check_roundtrip(&gz, in, len);
		hoist_buf_release(&gz);
	}
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_no_bigger_than_zlib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
