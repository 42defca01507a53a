/*
 * test-estargz.c: the eStargz writer (lib/estargz.c): the footer's bytes,
 * chunk members where the TOC says they are, the TOC's Go conventions
 * (escaping, userName only when it changes, chunkSize 0 on the last chunk),
 * input landmarks dropped, an input TOC refused, bad tars refused with one
 * sticky error, and output independent of write sizes. The integration
 * test (estargz.sh) checks whole layers with an independent reader and
 * against ctr-remote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/estargz.h"
#include "lib/tar.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

static int buf_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	return hoist_buf_add(ctx, data, len, err);
}

/* A tar of entries: NULL-terminated names; content of "f" files given. */
struct ent {
	const char *name;
	enum hoist_tar_type type;
	const char *data;
	size_t len;
	const char *uname;
};

static void make_tar(struct hoist_buf *out, const struct ent *e, size_t n)
{
	struct hoist_sink sink = {buf_write, out};
	struct hoist_tar_writer *w = NULL;
	struct hoist_err err;

	hoist_tar_writer_new(&w, &sink);
	for (size_t i = 0; i < n; i++) {
		struct hoist_tar_entry te;
		memset(&te, 0, sizeof(te));
		te.name = e[i].name;
		te.type = e[i].type;
		te.mode = 0644;
		te.mtime = 1700000000;
		te.size = e[i].len;
		te.uname = e[i].uname;
		assert_int_equal(hoist_tar_write_header(w, &te, &err), 0);
		if (e[i].len)
			assert_int_equal(hoist_tar_write_data(w, e[i].data,
							      e[i].len, &err),
					 0);
	}
	assert_int_equal(hoist_tar_writer_finish(w, &err), 0);
	hoist_tar_writer_free(w);
}

/* Convert in pieces of step bytes (0: one write). */
static int convert(const struct hoist_buf *tar, size_t chunk, size_t step,
		   struct hoist_buf *out, struct hoist_estargz_result *res,
		   struct hoist_err *err)
{
	struct hoist_sink sink = {buf_write, out};
	struct hoist_estargz *e = NULL;
	int rc = 0;

	assert_int_equal(hoist_estargz_new(&e, -1, chunk, &sink, err), 0);
	for (size_t off = 0; off < tar->len && !rc;) {
		size_t n =
			step && step < tar->len - off ? step : tar->len - off;
		rc = hoist_estargz_write(e, tar->data + off, n, err);
		off += n;
	}
	if (!rc)
		rc = hoist_estargz_finish(e, res, err);
	hoist_estargz_free(e);
	return rc;
}

/* Inflate the one gzip member at off; its length in *used. */
static void member(const struct hoist_buf *b, size_t off, struct hoist_buf *out,
		   size_t *used)
{
	z_stream z;
	unsigned char tmp[4096];
	int zr;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	z.next_in = (unsigned char *)b->data + off;
	z.avail_in = (uInt)(b->len - off);
	do {
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		zr = inflate(&z, Z_NO_FLUSH);
		assert_true(zr == Z_OK || zr == Z_STREAM_END);
		assert_int_equal(hoist_buf_add(out, tmp,
					       sizeof(tmp) - z.avail_out, NULL),
				 0);
	} while (zr != Z_STREAM_END);
	*used = b->len - off - z.avail_in;
	inflateEnd(&z);
}

/* The TOC, parsed, through the footer. */
static json_t *toc_of(const struct hoist_buf *b, struct hoist_buf *text)
{
	struct hoist_buf m = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	unsigned char footer[HOIST_ESTARGZ_FOOTER_SIZE];
	char hex[17];
	unsigned long long off;
	size_t used;
	json_t *j = NULL;
	long size;

	memcpy(hex, b->data + b->len - HOIST_ESTARGZ_FOOTER_SIZE + 16, 16);
	hex[16] = 0;
	off = strtoull(hex, NULL, 16);
	hoist_estargz_footer(footer, off);
	assert_memory_equal(b->data + b->len - sizeof(footer), footer,
			    sizeof(footer));
	member(b, (size_t)off, &m, &used);
	assert_int_equal(off + used, b->len - HOIST_ESTARGZ_FOOTER_SIZE);
	assert_string_equal(m.data, HOIST_ESTARGZ_TOC_NAME);
	size = strtol(m.data + 124, NULL, 8);
	assert_int_equal(hoist_buf_add(text, m.data + 512, (size_t)size, NULL),
			 0);
	assert_int_equal(
		hoist_json_parse(&j, text->data, text->len, "toc", NULL), 0);
	hoist_buf_release(&m);
	return j;
}

static void test_footer(void **state)
{
	unsigned char f[HOIST_ESTARGZ_FOOTER_SIZE];
	static const unsigned char want[HOIST_ESTARGZ_FOOTER_SIZE] =
		"\x1f\x8b\x08\x04\0\0\0\0\0\xff"
		"\x1a\0SG\x16\0"
		"0000000000001234STARGZ"
		"\x01\0\0\xff\xff\0\0\0\0\0\0\0\0";

	(void)state;
	hoist_estargz_footer(f, 0x1234);
	assert_memory_equal(f, want, sizeof(f));
}

static void test_chunks(void **state)
{
	struct hoist_buf tar = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_buf out = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_buf text = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_estargz_result res;
	struct hoist_err err;
	char data[3000];
	struct ent e[] = {
		{"d/", HOIST_TAR_DIR, NULL, 0, "root"},
		{"d/f", HOIST_TAR_REG, data, sizeof(data), "root"},
		{"d/g", HOIST_TAR_REG, data, 2048, NULL},
	};
	json_t *toc, *ents, *x;
	size_t i, used, pos = 0;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 100);
	make_tar(&tar, e, 3);
	assert_int_equal(convert(&tar, 1024, 0, &out, &res, &err), 0);
	toc = toc_of(&out, &text);
	ents = json_object_get(toc, "entries");
	/* landmark, d/, d/f + 2 chunks, d/g + 1 chunk */
	assert_int_equal(json_array_size(ents), 7);
	assert_int_equal(res.entries, 7);
	x = json_array_get(ents, 0);
	assert_string_equal(hoist_json_str(x, "name"), ".no.prefetch.landmark");
	assert_string_equal(hoist_json_str(json_array_get(ents, 1), "userName"),
			    "root");
	/* same uid, same name: not repeated */
	assert_null(json_object_get(json_array_get(ents, 2), "userName"));
	for (i = 2; i < 5; i++) {
		struct hoist_buf m = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		json_t *c = json_array_get(ents, i);
		json_int_t cs =
			json_integer_value(json_object_get(c, "chunkSize"));
		size_t off = (size_t)json_integer_value(
			json_object_get(c, "offset"));
		size_t want = i < 4 ? 1024 : sizeof(data) - 2048;

		assert_string_equal(hoist_json_str(c, "type"),
				    i == 2 ? "reg" : "chunk");
		assert_int_equal(cs, i < 4 ? 1024 : 0);
		assert_int_equal(
			json_integer_value(json_object_get(c, "chunkOffset")),
			pos);
		member(&out, off, &m, &used);
		assert_true(m.len >= want);
		assert_memory_equal(m.data, data + pos, want);
		if (i < 4)
			assert_int_equal(m.len, 1024);
		pos += want;
		hoist_buf_release(&m);
	}
	/* exactly two chunks: the last one has chunkSize 0 too */
	x = json_array_get(ents, 5);
	assert_int_equal(json_integer_value(json_object_get(x, "chunkSize")),
			 1024);
	x = json_array_get(ents, 6);
	assert_string_equal(hoist_json_str(x, "type"), "chunk");
	assert_null(json_object_get(x, "chunkSize"));
	/* the same bytes whatever the write sizes */
	{
		struct hoist_buf again = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		struct hoist_estargz_result r2;
		assert_int_equal(convert(&tar, 1024, 1, &again, &r2, &err), 0);
		assert_int_equal(again.len, out.len);
		assert_memory_equal(again.data, out.data, out.len);
		assert_string_equal(r2.diff_id.str, res.diff_id.str);
		hoist_buf_release(&again);
	}
	json_decref(toc);
	hoist_buf_release(&tar);
	hoist_buf_release(&out);
	hoist_buf_release(&text);
}

static void test_escaping_and_landmarks(void **state)
{
	struct hoist_buf tar = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_buf out = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_buf text = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_estargz_result res;
	struct hoist_err err;
	struct ent e[] = {
		{".no.prefetch.landmark", HOIST_TAR_REG, "\x0f", 1, NULL},
		{"./.prefetch.landmark", HOIST_TAR_REG, "\x0f", 1, NULL},
		{"a<b>&\"\\\x01\xc3\xa9", HOIST_TAR_REG, NULL, 0, NULL},
	};
	json_t *toc;

	(void)state;
	make_tar(&tar, e, 3);
	assert_int_equal(convert(&tar, 0, 0, &out, &res, &err), 0);
	toc = toc_of(&out, &text);
	/* only the writer's own landmark; the input's are dropped */
	assert_int_equal(json_array_size(json_object_get(toc, "entries")), 2);
	assert_non_null(
		strstr(text.data,
		       "\t\t\t\"name\": "
		       "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\u0001\xc3\xa9\""));
	/* an empty file: a digest but no offset */
	assert_non_null(strstr(text.data,
			       "\"digest\": \"sha256:e3b0c44298fc1c149afbf4c8"
			       "996fb92427ae41e4649b934ca495991b7852b855\"\n"));
	assert_memory_equal(text.data,
			    "{\n\t\"version\": 1,\n\t\"entries\": [\n", 31);
	json_decref(toc);
	hoist_buf_release(&tar);
	hoist_buf_release(&out);
	hoist_buf_release(&text);
}

static void test_refused(void **state)
{
	struct hoist_buf tar = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_buf out = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_estargz_result res;
	struct hoist_err err;
	struct ent toc[] = {{"stargz.index.json", HOIST_TAR_REG, "{}", 2, 0}};
	struct ent one[] = {{"f", HOIST_TAR_REG, "abc", 3, NULL}};

	(void)state;
	make_tar(&tar, toc, 1);
	assert_int_equal(convert(&tar, 0, 0, &out, &res, &err),
			 HOIST_EUNSUPPORTED);
	assert_string_equal(err.msg, "estargz: the tar already holds "
				     "'stargz.index.json'");
	hoist_buf_reset(&tar);
	hoist_buf_reset(&out);
	make_tar(&tar, one, 1);
	tar.data[150]++; /* in the checksum */
	assert_int_equal(convert(&tar, 0, 0, &out, &res, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "bad tar header checksum"));
	tar.data[150]--;
	/* cut inside the content: truncated */
	tar.len = 515;
	hoist_buf_reset(&out);
	assert_int_equal(convert(&tar, 0, 0, &out, &res, &err), HOIST_EINVAL);
	assert_string_equal(err.msg, "estargz: the tar stream is truncated");
	/* an error sticks */
	{
		struct hoist_sink sink = {buf_write, &out};
		struct hoist_estargz *e = NULL;
		struct hoist_err e2;
		tar.data[150]++;
		assert_int_equal(hoist_estargz_new(&e, 9, 0, &sink, &err), 0);
		assert_int_equal(hoist_estargz_write(e, tar.data, 512, &err),
				 HOIST_EINVAL);
		assert_int_equal(hoist_estargz_write(e, "x", 1, &e2),
				 HOIST_EINVAL);
		assert_string_equal(e2.msg, err.msg);
		assert_int_equal(hoist_estargz_finish(e, &res, &e2),
				 HOIST_EINVAL);
		hoist_estargz_free(e);
	}
	assert_int_equal(hoist_estargz_new(&(struct hoist_estargz *){NULL}, 10,
					   0, &(struct hoist_sink){0}, &err),
			 HOIST_EINVAL);
	hoist_buf_release(&tar);
	hoist_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_footer),
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_escaping_and_landmarks),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
