/*
 * test-compress.c: gzip, zstd and pass-through streams. Round trips at
 * several levels and sizes, byte-identical output whatever the write sizes
 * and (gzip) the number of worker threads, the gzip member layout (one
 * member per 1 MiB of input), damaged streams refused, errors from the sink
 * kept, and gzip(1), pigz, Python's gzip module, GNU tar, bsdtar and
 * zstd(1) accepting what we write.
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

#define MIB (1024 * 1024)
#define BIG (9 * MIB / 2)
#define CHUNK MIB /* the gzip member size, fixed in compress.c */

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
	/*
	 * random and text in turns of 384 KiB: both code paths of deflate,
	 * and each gzip chunk holds some of both; half of it is random
	 */
	for (i = 0; i < BIG; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if ((i / (384 * 1024)) % 2 == 0)
			big[i] = (unsigned char)x;
		else
			big[i] = (unsigned char)("the quick brown fox jumps "
						 "over the lazy dog %d\n"[i %
									  47]);
	}
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
	struct hoist_buf out = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_sink sink = {mem_write, &out};

	(void)state;
	assert_int_equal(hoist_compression_parse(&c, "gzip", &err), 0);
	assert_int_equal(c, HOIST_COMP_GZIP);
	assert_int_equal(hoist_compression_parse(&c, "zstd", &err), 0);
	assert_int_equal(c, HOIST_COMP_ZSTD);
	assert_int_equal(hoist_compression_parse(&c, "uncompressed", &err), 0);
	assert_int_equal(c, HOIST_COMP_NONE);
	assert_int_equal(hoist_compression_parse(&c, "estargz", &err), 0);
	assert_int_equal(c, HOIST_COMP_ESTARGZ);
	assert_string_equal(hoist_compression_name(HOIST_COMP_ESTARGZ),
			    "estargz");
	assert_int_equal(
		hoist_compression_check_level(HOIST_COMP_ESTARGZ, 10, &err),
		HOIST_EINVAL);
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

/*
 * gzip with a given thread count (-1: the default), written in pieces: the
 * sizes in pat, cycled; with npat 0, pseudo-random sizes from 1 byte to
 * 3 MiB seeded by seed.
 */
static void gz_compress(struct hoist_buf *out, int level, int threads,
			const void *data, size_t len, const size_t *pat,
			size_t npat, uint32_t seed)
{
	struct hoist_compressor *c;
	struct hoist_sink sink = {mem_write, out};
	struct hoist_err err;
	size_t off = 0, i = 0;

	hoist_buf_init(out, HOIST_BUF_UNLIMITED);
	assert_int_equal(
		hoist_compressor_new(&c, HOIST_COMP_GZIP, level, &sink, &err),
		0);
	if (threads >= 0)
		assert_int_equal(hoist_compressor_set_threads(c, threads, &err),
				 0);
	while (off < len) {
		size_t n;

		if (npat) {
			n = pat[i++ % npat];
		} else {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			/* mostly small writes, now and then a huge one */
			n = seed % 8 == 0 ? 1 + seed % (3 * MIB)
					  : 1 + seed % 70000;
		}
		if (n > len - off)
			n = len - off;
		assert_int_equal(hoist_compressor_write(
					 c, (const char *)data + off, n, &err),
				 0);
		off += n;
	}
	assert_int_equal(hoist_compressor_finish(c, &err), 0);
	/* finish twice is harmless, and writes after it are refused */
	assert_int_equal(hoist_compressor_finish(c, &err), 0);
	assert_int_equal(hoist_compressor_write(c, "x", 1, &err), HOIST_EINVAL);
	hoist_compressor_free(c);
}

/*
 * The same bytes whatever the write sizes and the number of workers (0:
 * all in the caller's thread), at the member edges too.
 */
static void test_gzip_parallel_deterministic(void **state)
{
	static const size_t lens[] = {0,     1,         CHUNK - 1,
				      CHUNK, CHUNK + 1, 7 * CHUNK / 2};
	static const size_t pats[][3] = {
		{1, 0, 0},         {7, 0, 0},          {4096, 0, 0},
		{CHUNK, 0, 0},     {CHUNK - 1, 0, 0},  {CHUNK + 1, 0, 0},
		{3 * CHUNK, 0, 0}, {100, 2 * MIB, 13}, {CHUNK - 5, 10, 0},
	};
	static const int threads[] = {1, 2, 3, -1};
	struct hoist_buf ref, b;
	size_t i, j, k, np;

	(void)state;
	for (i = 0; i < HOIST_ARRAY_SIZE(lens); i++) {
		gz_compress(&ref, 1, 0, big, lens[i], &lens[i], 1, 0);
		assert_true(ref.len > 0);
		for (j = 0; j < HOIST_ARRAY_SIZE(pats); j++) {
			for (np = 0; np < 3 && pats[j][np]; np++)
				;
			/* byte-by-byte writes only where they are cheap */
			if (pats[j][0] == 1 && lens[i] > CHUNK + 1)
				continue;
			for (k = 0; k < HOIST_ARRAY_SIZE(threads); k++) {
				gz_compress(&b, 1, threads[k], big, lens[i],
					    pats[j], np, 0);
				assert_int_equal(b.len, ref.len);
				assert_memory_equal(b.data, ref.data, ref.len);
				hoist_buf_release(&b);
			}
		}
		/* random write sizes, several seeds */
		for (k = 0; k < 4; k++) {
			gz_compress(&b, 1, k % 3, big, lens[i], NULL, 0,
				    (uint32_t)(k * 7919 + 1));
			assert_int_equal(b.len, ref.len);
			assert_memory_equal(b.data, ref.data, ref.len);
			hoist_buf_release(&b);
		}
		hoist_buf_release(&ref);
	}
	/* the default level and the whole buffer, 0 against 2 workers */
	gz_compress(&ref, HOIST_COMP_LEVEL_DEFAULT, 0, big, BIG, NULL, 0, 5);
	gz_compress(&b, HOIST_COMP_LEVEL_DEFAULT, 2, big, BIG, NULL, 0, 77);
	assert_int_equal(b.len, ref.len);
	assert_memory_equal(b.data, ref.data, ref.len);
	hoist_buf_release(&b);
	hoist_buf_release(&ref);
}

/*
 * Members are independent: the output for n whole chunks followed by more
 * is the output for those n chunks followed by the output for the rest.
 */
static void test_gzip_members_concatenate(void **state)
{
	struct hoist_buf whole, head, tail;
	size_t pat = 65536;

	(void)state;
	gz_compress(&whole, 6, 2, big, BIG, &pat, 1, 0);
	gz_compress(&head, 6, 2, big, 2 * CHUNK, &pat, 1, 0);
	gz_compress(&tail, 6, 2, big + 2 * CHUNK, BIG - 2 * CHUNK, &pat, 1, 0);
	assert_int_equal(whole.len, head.len + tail.len);
	assert_memory_equal(whole.data, head.data, head.len);
	assert_memory_equal(whole.data + head.len, tail.data, tail.len);
	hoist_buf_release(&whole);
	hoist_buf_release(&head);
	hoist_buf_release(&tail);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Run cmd and return the first line it prints, without the newline. */
static char *run_line(const char *cmd)
{
	char line[4096] = "";
	FILE *p = popen(cmd, "r");
	size_t n;

	assert_non_null(p);
	if (!fgets(line, sizeof(line), p))
		line[0] = 0;
	assert_int_equal(pclose(p), 0);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	return hoist_xstrdup(line);
}

/*
 * Python walks the members one by one with its own zlib (each header byte
 * for byte, each CRC and length checked) and prints their sizes; its gzip
 * module must also read the whole stream back to the input.
 */
static const char py_members[] =
	"import gzip, sys, zlib\n"
	"z = open(sys.argv[1], 'rb').read()\n"
	"raw = open(sys.argv[2], 'rb').read()\n"
	"assert gzip.decompress(z) == raw\n"
	"hdr = bytes([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, int(sys.argv[3]), 255])\n"
	"sizes = []\n"
	"while z:\n"
	"    assert z[:10] == hdr, z[:10]\n"
	"    d = zlib.decompressobj(31)\n"
	"    sizes.append(len(d.decompress(z)))\n"
	"    assert d.eof\n"
	"    z = d.unused_data\n"
	"print(','.join(map(str, sizes)))\n";

static void check_members(int level, int xfl, size_t len, const char *expect)
{
	char zpath[] = "/tmp/hoist-test-compress-XXXXXX";
	char rpath[] = "/tmp/hoist-test-compress-XXXXXX";
	char spath[] = "/tmp/hoist-test-compress-XXXXXX";
	struct hoist_buf z;
	size_t pat = 100000;
	char *cmd, *got;

	assert_true(close(mkstemp(zpath)) == 0);
	assert_true(close(mkstemp(rpath)) == 0);
	assert_true(close(mkstemp(spath)) == 0);
	gz_compress(&z, level, 2, big, len, &pat, 1, 0);
	write_file(zpath, z.data, z.len);
	write_file(rpath, big, len);
	write_file(spath, py_members, strlen(py_members));
	cmd = hoist_xasprintf("python3 '%s' '%s' '%s' %d", spath, zpath, rpath,
			      xfl);
	got = run_line(cmd);
	assert_string_equal(got, expect);
	free(got);
	free(cmd);
	/* gzip(1) and pigz accept every layout, the empty stream included */
	cmd = hoist_xasprintf("gzip -t < '%s' && gzip -dc < '%s' | cmp -s - "
			      "'%s'",
			      zpath, zpath, rpath);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = hoist_xasprintf("! command -v pigz >/dev/null || "
			      "(pigz -t < '%s' && pigz -dc < '%s' | cmp -s - "
			      "'%s')",
			      zpath, zpath, rpath);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	hoist_buf_release(&z);
	unlink(zpath);
	unlink(rpath);
	unlink(spath);
}

static void test_gzip_members(void **state)
{
	(void)state;
	check_members(HOIST_COMP_LEVEL_DEFAULT, 0, 0, "0");
	check_members(6, 0, 1, "1");
	check_members(1, 4, CHUNK - 1, "1048575");
	check_members(9, 2, CHUNK, "1048576");
	check_members(0, 4, CHUNK + 1, "1048576,1");
	check_members(HOIST_COMP_LEVEL_DEFAULT, 0, 7 * CHUNK / 2,
		      "1048576,1048576,1048576,524288");
}

/* Level 0 stores: the output is the input plus framing. */
static void test_gzip_store(void **state)
{
	struct hoist_buf z, back;
	size_t pat = 65536;

	(void)state;
	gz_compress(&z, 0, 2, big, BIG, &pat, 1, 0);
	assert_true(z.len > BIG);
	assert_true(z.len < BIG + BIG / 100);
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, z.len, z.len), 0);
	assert_int_equal(back.len, BIG);
	assert_memory_equal(back.data, big, BIG);
	hoist_buf_release(&back);
	hoist_buf_release(&z);
}

/* Every kind of damage to a multi-member stream is caught. */
static void test_gzip_member_damage(void **state)
{
	struct hoist_buf z, m1, m2, back;
	size_t pat = 65536, e1, e2;

	(void)state;
	gz_compress(&z, 6, 2, big, 7 * CHUNK / 2, &pat, 1, 0);
	/* the members, found as the output of their own chunks */
	gz_compress(&m1, 6, 2, big, CHUNK, &pat, 1, 0);
	gz_compress(&m2, 6, 2, big + CHUNK, CHUNK, &pat, 1, 0);
	e1 = m1.len;
	e2 = m1.len + m2.len;
	assert_memory_equal(z.data, m1.data, e1);
	assert_memory_equal(z.data + e1, m2.data, m2.len);

	/* truncated in the second member's header, data, and trailer */
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, e1 + 5, 4096),
		HOIST_EINVAL);
	hoist_buf_release(&back);
	assert_int_equal(decompress(&back, HOIST_COMP_GZIP, z.data,
				    e1 + m2.len / 2, 4096),
			 HOIST_EINVAL);
	hoist_buf_release(&back);
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, e2 - 3, 4096),
		HOIST_EINVAL);
	hoist_buf_release(&back);
	/*
	 * cut exactly between members it is a valid, shorter gzip stream
	 * (RFC 1952): only the layer digest can catch that
	 */
	assert_int_equal(decompress(&back, HOIST_COMP_GZIP, z.data, e2, 4096),
			 0);
	assert_int_equal(back.len, 2 * CHUNK);
	hoist_buf_release(&back);

	/* the first member's CRC, the second's ISIZE, the third's header */
	z.data[e1 - 8] ^= 0x01;
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, z.len, 65536),
		HOIST_EINVAL);
	hoist_buf_release(&back);
	z.data[e1 - 8] ^= 0x01;
	z.data[e2 - 1] ^= 0x10;
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, z.len, 65536),
		HOIST_EINVAL);
	hoist_buf_release(&back);
	z.data[e2 - 1] ^= 0x10;
	z.data[e2 + 2] = 7; /* compression method 7 is not deflate */
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, z.len, 65536),
		HOIST_EINVAL);
	hoist_buf_release(&back);
	z.data[e2 + 2] = 8;
	/* undamaged again; then garbage after the last member */
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, z.len, 65536), 0);
	assert_int_equal(back.len, 7 * CHUNK / 2);
	assert_memory_equal(back.data, big, back.len);
	hoist_buf_release(&back);
	assert_int_equal(hoist_buf_add(&z, "junk", 4, NULL), 0);
	assert_int_equal(
		decompress(&back, HOIST_COMP_GZIP, z.data, z.len, 65536),
		HOIST_EINVAL);
	hoist_buf_release(&back);
	hoist_buf_release(&z);
	hoist_buf_release(&m1);
	hoist_buf_release(&m2);
}

struct failing_sink {
	size_t left; /* bytes accepted before the failure */
	int calls;
};

static int failing_write(void *ctx, const void *data, size_t len,
			 struct hoist_err *err)
{
	struct failing_sink *f = ctx;

	(void)data;
	f->calls++;
	if (len > f->left)
		return hoist_err_set(err, HOIST_EIO, "disk '%s' is full", "x");
	f->left -= len;
	return 0;
}

/*
 * A sink error comes back from a write or from finish, keeps coming back,
 * and the sink is not called again; free() stops the workers with chunks
 * still queued.
 */
static void test_gzip_errors(void **state)
{
	static const size_t fails_after[] = {0, 300000, 1000000};
	struct hoist_compressor *c;
	struct hoist_err err;
	size_t i, off;
	int rc, calls, threads;

	(void)state;
	for (threads = 0; threads <= 2; threads++) {
		for (i = 0; i < HOIST_ARRAY_SIZE(fails_after); i++) {
			struct failing_sink f = {fails_after[i], 0};
			struct hoist_sink sink = {failing_write, &f};

			assert_int_equal(hoist_compressor_new(&c,
							      HOIST_COMP_GZIP,
							      1, &sink, &err),
					 0);
			assert_int_equal(
				hoist_compressor_set_threads(c, threads, &err),
				0);
			rc = 0;
			for (off = 0; off < BIG && rc == 0; off += 65536)
				rc = hoist_compressor_write(c, big + off, 65536,
							    &err);
			if (rc == 0)
				rc = hoist_compressor_finish(c, &err);
			assert_int_equal(rc, HOIST_EIO);
			assert_string_equal(err.msg, "disk 'x' is full");
			calls = f.calls;
			hoist_err_clear(&err);
			assert_int_equal(
				hoist_compressor_write(c, big, 10, &err),
				HOIST_EIO);
			assert_string_equal(err.msg, "disk 'x' is full");
			assert_int_equal(hoist_compressor_finish(c, NULL),
					 HOIST_EIO);
			assert_int_equal(f.calls, calls);
			hoist_compressor_free(c);
		}
	}

	/* freed in the middle, with work queued */
	{
		struct hoist_buf out = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		struct hoist_sink sink = {mem_write, &out};

		assert_int_equal(hoist_compressor_new(&c, HOIST_COMP_GZIP, 9,
						      &sink, &err),
				 0);
		assert_int_equal(hoist_compressor_write(c, big, BIG, &err), 0);
		hoist_compressor_free(c);
		hoist_buf_release(&out);
	}
	/* the thread count is set before the first write, and bounded */
	{
		struct hoist_buf out = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		struct hoist_sink sink = {mem_write, &out};

		assert_int_equal(hoist_compressor_new(&c, HOIST_COMP_GZIP, 6,
						      &sink, &err),
				 0);
		assert_int_equal(hoist_compressor_set_threads(c, 9, &err),
				 HOIST_EINVAL);
		assert_int_equal(hoist_compressor_set_threads(c, -1, &err),
				 HOIST_EINVAL);
		assert_int_equal(hoist_compressor_write(c, big, 10, &err), 0);
		assert_int_equal(hoist_compressor_set_threads(c, 1, &err),
				 HOIST_EINVAL);
		hoist_compressor_free(c);
		hoist_buf_release(&out);
	}
}

/* GNU tar -z and bsdtar list a tarball we compressed like their own. */
static void test_gzip_tar_tools(void **state)
{
	const char *src = getenv("HOIST_SRCDIR");
	char tpath[] = "/tmp/hoist-test-compress-XXXXXX";
	char zpath[] = "/tmp/hoist-test-compress-XXXXXX";
	struct hoist_buf t = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED), z;
	char buf[65536];
	char *cmd, *want, *got;
	size_t n, pat = 10000;
	FILE *f;

	(void)state;
	if (!src)
		skip();
	assert_true(close(mkstemp(tpath)) == 0);
	assert_true(close(mkstemp(zpath)) == 0);
	/* a few MiB of sources: several members */
	cmd = hoist_xasprintf("tar -C '%s' -cf '%s' src tests/unit", src,
			      tpath);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	f = fopen(tpath, "rb");
	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(hoist_buf_add(&t, buf, n, NULL), 0);
	fclose(f);
	assert_true(t.len > CHUNK);
	gz_compress(&z, HOIST_COMP_LEVEL_DEFAULT, -1, t.data, t.len, &pat, 1,
		    0);
	write_file(zpath, z.data, z.len);

	cmd = hoist_xasprintf("tar -tf '%s' | md5sum", tpath);
	want = run_line(cmd);
	free(cmd);
	cmd = hoist_xasprintf("tar -tzf '%s' | md5sum", zpath);
	got = run_line(cmd);
	assert_string_equal(got, want);
	free(got);
	free(cmd);
	cmd = hoist_xasprintf("! command -v bsdtar >/dev/null || "
			      "bsdtar -tzf '%s' | md5sum",
			      zpath);
	got = run_line(cmd);
	if (got[0])
		assert_string_equal(got, want);
	free(got);
	free(cmd);
	free(want);
	hoist_buf_release(&t);
	hoist_buf_release(&z);
	unlink(tpath);
	unlink(zpath);
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
		cmocka_unit_test(test_gzip_parallel_deterministic),
		cmocka_unit_test(test_gzip_members_concatenate),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_gzip_store),
		cmocka_unit_test(test_gzip_member_damage),
		cmocka_unit_test(test_gzip_errors),
		cmocka_unit_test(test_gzip_tar_tools),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
