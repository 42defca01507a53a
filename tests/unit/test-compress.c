/*
 * test-compress.c: gzip, zstd and pass-through streams. Round trips at
 * several levels and sizes, byte-identical output whatever the write sizes,
 * damaged streams refused, and the real gzip(1) and zstd(1) accepting what
 * we write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/compress.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

#define BIG (3 * 1024 * 1024)

static unsigned char *big;

static int mem_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	return hoist_buf_add(ctx, data, len, err);
}

static int setup(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i;

	(void)state;
	big = hoist_xmalloc(BIG);
	/* first half random, second half text: both code paths of deflate */
	for (i = 0; i < BIG / 2; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (unsigned char)x;
	}
	for (; i < BIG; i++)
		big[i] = (unsigned char)("the quick brown fox jumps over "
					 "the lazy dog %d\n"[i % 47]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(big);
	return 0;
}

/* Compress data written in pieces of chunk bytes. */
static void compress(struct hoist_buf *out, enum hoist_compression kind,
		     int level, const void *data, size_t len, size_t chunk)
{
	struct hoist_compressor *c;
	struct hoist_sink sink = {mem_write, out};
	struct hoist_err err;
	size_t off;

	hoist_buf_init(out, HOIST_BUF_UNLIMITED);
	assert_int_equal(hoist_compressor_new(&c, kind, level, &sink, &err), 0);
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		assert_int_equal(hoist_compressor_write(
					 c, (const char *)data + off, n, &err),
				 0);
	}
	assert_int_equal(hoist_compressor_finish(c, &err), 0);
	hoist_compressor_free(c);
}

/* Decompress, feeding chunk bytes at a time; returns the final code. */
static int decompress(struct hoist_buf *out, enum hoist_compression kind,
		      const void *data, size_t len, size_t chunk)
{
	struct hoist_decompressor *d;
	struct hoist_sink sink = {mem_write, out};
	struct hoist_err err;
	size_t off;
	int rc = 0;

	hoist_buf_init(out, HOIST_BUF_UNLIMITED);
	assert_int_equal(hoist_decompressor_new(&d, kind, &sink, &err), 0);
	for (off = 0; off < len && rc == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = hoist_decompressor_write(d, (const char *)data + off, n,
					      &err);
	}
	if (rc == 0)
		rc = hoist_decompressor_finish(d, &err);
	if (rc < 0) {
		assert_int_equal(err.code, rc);
		if (getenv("TEST_VERBOSE"))
			print_message("decompress: %s\n", err.msg);
	}
	hoist_decompressor_free(d);
	return rc;
}

static void round_trip(enum hoist_compression kind, int level, size_t len)
{
	struct hoist_buf z, back;

	compress(&z, kind, level, big, len, 100000);
	if (kind != HOIST_COMP_NONE)
		assert_int_equal(hoist_compression_detect(z.data, z.len), kind);
	assert_int_equal(decompress(&back, kind, z.data, z.len, 7777), 0);
	assert_int_equal(back.len, len);
	if (len)
		assert_memory_equal(back.data, big, len);
	if (kind == HOIST_COMP_NONE)
		assert_int_equal(z.len, len);
	else if (len == BIG && level != 0)
		assert_true(z.len < len * 3 / 4); /* the text half shrinks */
	hoist_buf_release(&z);
	hoist_buf_release(&back);
}

static void test_round_trips(void **state)
{
	static const size_t sizes[] = {0, 1, 4096, BIG};
	static const int gz[] = {HOIST_COMP_LEVEL_DEFAULT, 0, 1, 9};
	static const int zs[] = {HOIST_COMP_LEVEL_DEFAULT, 0, 1, 3};
	size_t i, j;

	(void)state;
	for (i = 0; i < HOIST_ARRAY_SIZE(sizes); i++) {
		round_trip(HOIST_COMP_NONE, HOIST_COMP_LEVEL_DEFAULT, sizes[i]);
		for (j = 0; j < HOIST_ARRAY_SIZE(gz); j++)
			round_trip(HOIST_COMP_GZIP, gz[j], sizes[i]);
		for (j = 0; j < HOIST_ARRAY_SIZE(zs); j++)
			round_trip(HOIST_COMP_ZSTD, zs[j], sizes[i]);
	}
	/* a high zstd level on a smaller input */
	round_trip(HOIST_COMP_ZSTD, 19, 200000);
}

static void test_deterministic(void **state)
{
	static const enum hoist_compression kinds[] = {HOIST_COMP_GZIP,
						       HOIST_COMP_ZSTD};
	struct hoist_buf a, b;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		compress(&a, kinds[i], HOIST_COMP_LEVEL_DEFAULT, big, BIG, BIG);
		compress(&b, kinds[i], HOIST_COMP_LEVEL_DEFAULT, big, BIG,
			 4097);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		hoist_buf_release(&b);
		compress(&b, kinds[i], HOIST_COMP_LEVEL_DEFAULT, big, BIG, 512);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		hoist_buf_release(&a);
		hoist_buf_release(&b);
	}
}

static void test_gzip_header(void **state)
{
	struct hoist_buf z;
	const unsigned char *p;

	(void)state;
	compress(&z, HOIST_COMP_GZIP, HOIST_COMP_LEVEL_DEFAULT, "x", 1, 1);
	p = (const unsigned char *)z.data;
	assert_int_equal(p[0], 0x1f);
	assert_int_equal(p[1], 0x8b);
	assert_int_equal(p[2], 8);
	assert_int_equal(p[3], 0); /* no name, no comment, no extra */
	assert_int_equal(p[4] | p[5] | p[6] | p[7], 0); /* mtime 0 */
	assert_int_equal(p[9], 255);                    /* OS unknown */
	hoist_buf_release(&z);
}

static void test_damage(void **state)
{
	static const enum hoist_compression kinds[] = {HOIST_COMP_GZIP,
						       HOIST_COMP_ZSTD};
	struct hoist_buf z, back;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		compress(&z, kinds[i], 1, big, BIG, BIG);
		/* truncated at the end, and in the middle */
		assert_int_equal(
			decompress(&back, kinds[i], z.data, z.len - 1, 65536),
			HOIST_EINVAL);
		hoist_buf_release(&back);
		assert_int_equal(
			decompress(&back, kinds[i], z.data, z.len / 2, 65536),
			HOIST_EINVAL);
		hoist_buf_release(&back);
		/* one flipped byte in the text half */
		z.data[z.len * 3 / 4] ^= 0x55;
		assert_int_equal(
			decompress(&back, kinds[i], z.data, z.len, 65536),
			HOIST_EINVAL);
		hoist_buf_release(&back);
		/* empty input is not a stream */
		assert_int_equal(decompress(&back, kinds[i], "", 0, 1),
				 HOIST_EINVAL);
		hoist_buf_release(&back);
		/* garbage */
		assert_int_equal(
			decompress(&back, kinds[i], "hello world", 11, 3),
			HOIST_EINVAL);
		hoist_buf_release(&back);
		hoist_buf_release(&z);
	}
}

/* Two members (gzip) or frames (zstd) back to back are one stream. */
static void test_concatenated(void **state)
{
	static const enum hoist_compression kinds[] = {HOIST_COMP_GZIP,
						       HOIST_COMP_ZSTD};
	struct hoist_buf a, b, back;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		compress(&a, kinds[i], 1, big, 1000000, 65536);
		compress(&b, kinds[i], 1, big + 1000000, BIG - 1000000, 65536);
		assert_int_equal(hoist_buf_add(&a, b.data, b.len, NULL), 0);
		assert_int_equal(
			decompress(&back, kinds[i], a.data, a.len, a.len), 0);
		assert_int_equal(back.len, BIG);
		assert_memory_equal(back.data, big, BIG);
		hoist_buf_release(&back);
		assert_int_equal(
			decompress(&back, kinds[i], a.data, a.len, 1000), 0);
		assert_int_equal(back.len, BIG);
		hoist_buf_release(&back);
		hoist_buf_release(&a);
		hoist_buf_release(&b);
	}
}

static void test_tools_accept(void **state)
{
	char path[] = "/tmp/hoist-test-compress-XXXXXX";
	struct hoist_buf z;
	char *cmd;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	compress(&z, HOIST_COMP_GZIP, HOIST_COMP_LEVEL_DEFAULT, big, BIG,
		 65536);
	f = fopen(path, "wb");
	assert_int_equal(fwrite(z.data, 1, z.len, f), z.len);
	fclose(f);
	cmd = hoist_xasprintf("gzip -t < '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	hoist_buf_release(&z);

	compress(&z, HOIST_COMP_ZSTD, HOIST_COMP_LEVEL_DEFAULT, big, BIG,
		 65536);
	f = fopen(path, "wb");
	assert_int_equal(fwrite(z.data, 1, z.len, f), z.len);
	fclose(f);
	cmd = hoist_xasprintf("zstd -q -t < '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	/* and a damaged one is refused by zstd too (the checksum) */
	z.data[z.len - 2] ^= 1;
	f = fopen(path, "wb");
	assert_int_equal(fwrite(z.data, 1, z.len, f), z.len);
	fclose(f);
	cmd = hoist_xasprintf("zstd -q -t < '%s' 2>/dev/null", path);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	hoist_buf_release(&z);
	unlink(path);
}

static void test_names_and_levels(void **state)
{
	enum hoist_compression c;
	struct hoist_err err;
	struct hoist_compressor *comp = NULL;
	struct hoist_buf out = HOIST_BUF_INIT;
	struct hoist_sink sink = {mem_write, &out};

	(void)state;
	assert_int_equal(hoist_compression_parse(&c, "gzip", &err), 0);
	assert_int_equal(c, HOIST_COMP_GZIP);
	assert_int_equal(hoist_compression_parse(&c, "zstd", &err), 0);
	assert_int_equal(c, HOIST_COMP_ZSTD);
	assert_int_equal(hoist_compression_parse(&c, "uncompressed", &err), 0);
	assert_int_equal(c, HOIST_COMP_NONE);
	assert_int_equal(hoist_compression_parse(&c, "estargz", &err),
			 HOIST_EUNSUPPORTED);
	assert_string_equal(err.msg,
			    "compression 'estargz' is not supported yet");
	assert_int_equal(hoist_compression_parse(&c, "lz4", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_compression_parse(&c, "Gzip", &err),
			 HOIST_EINVAL);
	assert_string_equal(hoist_compression_name(HOIST_COMP_NONE),
			    "uncompressed");
	assert_string_equal(hoist_compression_name(HOIST_COMP_ZSTD), "zstd");

	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_GZIP, 9, &err), 0);
	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_GZIP, 10, &err),
		HOIST_EINVAL);
	assert_string_equal(err.msg,
			    "compression level 10 is out of range for gzip "
			    "(0-9)");
	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_GZIP, -2, &err),
		HOIST_EINVAL);
	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_ZSTD, 22, &err), 0);
	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_ZSTD, 23, &err),
		HOIST_EINVAL);
	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_NONE, 99, &err), 0);
	assert_int_equal(
		hoist_compressor_new(&comp, HOIST_COMP_ZSTD, 23, &sink, &err),
		HOIST_EINVAL);
	assert_null(comp);

	assert_int_equal(hoist_compression_detect("\x1f\x8b\x08", 3),
			 HOIST_COMP_GZIP);
	assert_int_equal(hoist_compression_detect("\x28\xb5\x2f\xfd", 4),
			 HOIST_COMP_ZSTD);
	assert_int_equal(hoist_compression_detect("\x28\xb5\x2f", 3),
			 HOIST_COMP_NONE);
	assert_int_equal(hoist_compression_detect("ustar", 5), HOIST_COMP_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_gzip_header),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_concatenated),
		cmocka_unit_test(test_tools_accept),
		cmocka_unit_test(test_names_and_levels),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
