/*
 * test-util.c: the util layer (src/util): capped buffers, strict scanners,
 * stable JSON bytes, crash-safe file writes, the signal cleanup slots,
 * error records and the monotonic clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/scan.h"
#include "util/banned.h"

/* buf */

static void test_buf_cap(void **state)
{
	struct hoist_buf b;
	struct hoist_err err;

	(void)state;
	hoist_buf_init(&b, 10);
	assert_string_equal(b.data, "");
	assert_int_equal(hoist_buf_adds(&b, "12345678", &err), 0);
	assert_int_equal(b.len, 8);
	/* over the cap: refused, the buffer is left exactly as it was */
	assert_int_equal(hoist_buf_adds(&b, "abc", &err), HOIST_ELIMIT);
	assert_int_equal(err.code, HOIST_ELIMIT);
	assert_non_null(strstr(err.msg, "10 bytes"));
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(hoist_buf_printf(&b, &err, "%d", 123), HOIST_ELIMIT);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(hoist_buf_add(&b, "x", (size_t)-1, &err),
			 HOIST_ELIMIT);
	assert_int_equal(b.len, 8);
	/* filling up to the cap exactly works */
	assert_int_equal(hoist_buf_addch(&b, '9', &err), 0);
	assert_int_equal(hoist_buf_printf(&b, &err, "%d", 0), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "1234567890");
	assert_int_equal(hoist_buf_addch(&b, 'x', NULL), HOIST_ELIMIT);
	assert_int_equal(hoist_buf_add(&b, "", 0, &err), 0);
	assert_string_equal(b.data, "1234567890");
	/* reset keeps the cap and storage */
	hoist_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(hoist_buf_adds(&b, "01234567890", &err), HOIST_ELIMIT);
	hoist_buf_release(&b);
}

static void test_buf_grow_detach(void **state)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	size_t len = 99;
	char *s;

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(hoist_buf_printf(&b, NULL, "%03d,", i), 0);
	assert_int_equal(b.len, 4000);
	assert_int_equal(memcmp(b.data + 3996, "999,", 4), 0);
	assert_int_equal(b.data[4000], '\0');
	s = hoist_buf_detach(&b, &len);
	assert_int_equal(len, 4000);
	assert_int_equal(strlen(s), 4000);
	free(s);
	/* detached: b is empty, and an empty buffer detaches to "" */
	assert_int_equal(b.len, 0);
	s = hoist_buf_detach(&b, &len);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
	/* binary data keeps embedded NULs */
	assert_int_equal(hoist_buf_add(&b, "a\0b", 3, NULL), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(memcmp(b.data, "a\0b", 4), 0);
	hoist_buf_release(&b);
	hoist_buf_release(&b);
}

/* The header's promises: data is "" while empty, and every buffer has a cap. */
static void test_buf_init_contract(void **state)
{
	struct hoist_buf b = HOIST_BUF_INIT(4), z;
	char line[32];

	(void)state;
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.max, 4);
	/* what `hoist sync` printed as "(null)" after a clean run */
	snprintf(line, sizeof(line), "[%s]", b.data);
	assert_string_equal(line, "[]");
	assert_int_equal(hoist_buf_adds(&b, "abcde", NULL), HOIST_ELIMIT);
	assert_string_equal(b.data, "");
	assert_int_equal(hoist_buf_adds(&b, "abcd", NULL), 0);
	assert_string_equal(b.data, "abcd");
	hoist_buf_release(&b);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.max, 4); /* release keeps the cap */
	hoist_buf_reset(&b);
	assert_string_equal(b.data, "");

	/* a zero-filled buffer has a cap of 0, not "unlimited" */
	memset(&z, 0, sizeof(z));
	assert_int_equal(hoist_buf_addch(&z, 'x', NULL), HOIST_ELIMIT);
	assert_non_null(z.data);
	assert_string_equal(z.data, "");
	memset(&z, 0, sizeof(z));
	hoist_buf_reset(&z);
	assert_string_equal(z.data, "");
	hoist_buf_release(&z);

	/* the byte-size helpers */
	assert_int_equal(HOIST_KiB(64), 65536);
	assert_int_equal(HOIST_MiB(4), 4194304);
}

/* scan */

static void test_scan_u64(void **state)
{
	struct hoist_err err;
	uint64_t v;

	(void)state;
	assert_int_equal(hoist_scan_u64(&v, "0", 10, "n", &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hoist_scan_u64(&v, "10", 10, "n", &err), 0);
	assert_int_equal(v, 10);
	assert_int_equal(hoist_scan_u64(&v, "11", 10, "n", &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "too large"));
	assert_int_equal(hoist_scan_u64(&v, "18446744073709551615", UINT64_MAX,
					"n", &err),
			 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(hoist_scan_u64(&v, "18446744073709551616", UINT64_MAX,
					"n", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_scan_u64(&v, "99999999999999999999999",
					UINT64_MAX, "n", &err),
			 HOIST_EINVAL);
	v = 42;
	static const char *const bad[] = {"",     "+1",  "-1",  " 1", "1 ",
					  "0x10", "1e3", "1.0", "１", "1\n"};
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		if (hoist_scan_u64(&v, bad[i], UINT64_MAX, "count", &err) !=
		    HOIST_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err.msg, "count"));
	}
	assert_int_equal(v, 42);
	assert_int_equal(hoist_scan_u64(&v, NULL, 1, "n", NULL), HOIST_EINVAL);
}

static void test_scan_i64(void **state)
{
	struct hoist_err err;
	int64_t v;

	(void)state;
	assert_int_equal(hoist_scan_i64(&v, "-9223372036854775808", INT64_MIN,
					INT64_MAX, "n", &err),
			 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(hoist_scan_i64(&v, "9223372036854775807", INT64_MIN,
					INT64_MAX, "n", &err),
			 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(hoist_scan_i64(&v, "-9223372036854775809", INT64_MIN,
					INT64_MAX, "n", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_scan_i64(&v, "9223372036854775808", INT64_MIN,
					INT64_MAX, "n", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_scan_i64(&v, "-5", -5, 5, "level", &err), 0);
	assert_int_equal(v, -5);
	assert_int_equal(hoist_scan_i64(&v, "-6", -5, 5, "level", &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "level must be between -5 and 5"));
	assert_int_equal(hoist_scan_i64(&v, "6", -5, 5, "level", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_scan_i64(&v, "-0", -5, 5, "level", &err), 0);
	assert_int_equal(v, 0);
	static const char *const bad[] = {"", "-", "--1", "+1", " -1", "1-"};
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++)
		if (hoist_scan_i64(&v, bad[i], INT64_MIN, INT64_MAX, "n",
				   &err) != HOIST_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static void test_scan_content_range(void **state)
{
	static const char *const bad[] = {
		"bytes 1-0/5",
		"bytes 0-100/100",
		"bytes 0-1/18446744073709551615",
		"bytes 0-99999999999999999999/*",
		"bytes 0-18446744073709551616/*",
		"bytes -1-2/3",
		"bytes 0-1",
		"bytes 0-1/",
		"bytes  0-1/2",
		"bytes 0-1/2 ",
		" bytes 0-1/2",
		"bytes +1-2/3",
		"bytes 1 -2/3",
		"bits 0-1/2",
		"bytes0-1/2",
		"bytes 0-1/2x",
		"bytes 0-1/*/",
		"bytes */*",
		"bytes *",
		"bytes */",
		"bytes */-1",
		"bytes */18446744073709551615",
		"bytes 1-2/3\n",
		"",
		NULL,
	};
	struct hoist_content_range r;
	struct hoist_err err;

	(void)state;
	assert_int_equal(hoist_scan_content_range(&r, "bytes 0-99/100", &err),
			 0);
	assert_true(r.first == 0 && r.last == 99 && r.complete == 100 &&
		    !r.unsatisfied);
	assert_int_equal(hoist_scan_content_range(&r, "BYTES 5-5/*", &err), 0);
	assert_true(r.first == 5 && r.last == 5 &&
		    r.complete == HOIST_RANGE_UNKNOWN);
	assert_int_equal(hoist_scan_content_range(&r, "bytes */100", &err), 0);
	assert_true(r.unsatisfied && r.complete == 100 && r.first == 0 &&
		    r.last == 0);
	assert_int_equal(hoist_scan_content_range(
				 &r, "bytes 00-018446744073709551614/*", &err),
			 0);
	assert_true(r.last == UINT64_MAX - 1);
	assert_int_equal(
		hoist_scan_content_range(
			&r, "bytes 1-18446744073709551613/18446744073709551614",
			&err),
		0);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		r.first = 42;
		if (hoist_scan_content_range(&r, bad[i], &err) != HOIST_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(r.first, 42); /* untouched */
		assert_non_null(strstr(err.msg, "invalid Content-Range '"));
		assert_null(strchr(err.msg, '\n'));
	}
	assert_int_equal(hoist_scan_content_range(&r, "x", NULL), HOIST_EINVAL);
	/* the value is quoted in the message */
	assert_int_equal(hoist_scan_content_range(&r, "bytes \x1b[2J", &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "'bytes \\x1b[2J'"));
	/* so are the numbers the plain scanners refuse */
	uint64_t v;
	assert_int_equal(hoist_scan_u64(&v, "1\x1b", 10, "n", &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "'1\\x1b'"));
}

static void test_scan_bool(void **state)
{
	static const char *const yes[] = {"1",    "t",    "T",
					  "TRUE", "true", "True"};
	static const char *const no[] = {"0",     "f",     "F",
					 "FALSE", "false", "False"};
	static const char *const bad[] = {"",      "yes",   "no",    "on",
					  "off",   "tRUE",  "TrUe",  "2",
					  "true ", " true", "falsE", "y"};
	struct hoist_err err;
	int v;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(yes); i++) {
		v = 0;
		assert_int_equal(hoist_scan_bool(&v, yes[i], "push", &err), 0);
		assert_int_equal(v, 1);
	}
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(no); i++) {
		v = 1;
		assert_int_equal(hoist_scan_bool(&v, no[i], "push", &err), 0);
		assert_int_equal(v, 0);
	}
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		v = 7;
		if (hoist_scan_bool(&v, bad[i], "push", &err) != HOIST_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(v, 7);
		assert_non_null(
			strstr(err.msg, "non-bool value specified for push"));
	}
}

/* json */

static json_t *sample(void)
{
	json_t *o = json_object();
	json_t *a = json_array();

	/* insertion order, not alphabetical */
	json_object_set_new(o, "schemaVersion", json_integer(2));
	json_array_append_new(a, json_integer(1));
	json_array_append_new(a, json_string("two"));
	json_object_set_new(o, "list", a);
	json_object_set_new(o, "empty", json_object());
	json_object_set_new(o, "none", json_array());
	hoist_json_set_str(o, "html", "<a href=\"x\">&</a>");
	json_object_set_new(o, "nested", json_pack("{s:b,s:n}", "t", 1, "z"));
	hoist_json_set_str(o, "ctl", "a\nb\t\x01");
	return o;
}

static void test_json_dump(void **state)
{
	json_t *o = sample();
	char *s;
	size_t len;

	(void)state;
	/* Go json.MarshalIndent(v, "", "  ") bytes, no trailing newline */
	assert_int_equal(hoist_json_dump(&s, &len, o, 1, NULL), 0);
	assert_string_equal(s, "{\n"
			       "  \"schemaVersion\": 2,\n"
			       "  \"list\": [\n"
			       "    1,\n"
			       "    \"two\"\n"
			       "  ],\n"
			       "  \"empty\": {},\n"
			       "  \"none\": [],\n"
			       "  \"html\": \"\\u003ca href=\\\"x\\\"\\u003e"
			       "\\u0026\\u003c/a\\u003e\",\n"
			       "  \"nested\": {\n"
			       "    \"t\": true,\n"
			       "    \"z\": null\n"
			       "  },\n"
			       "  \"ctl\": \"a\\nb\\t\\u0001\"\n"
			       "}");
	assert_int_equal(len, strlen(s));
	free(s);
	/* Go json.Marshal bytes */
	assert_int_equal(hoist_json_dump(&s, &len, o, 0, NULL), 0);
	assert_string_equal(s, "{\"schemaVersion\":2,\"list\":[1,\"two\"],"
			       "\"empty\":{},\"none\":[],"
			       "\"html\":\"\\u003ca href=\\\"x\\\"\\u003e"
			       "\\u0026\\u003c/a\\u003e\","
			       "\"nested\":{\"t\":true,\"z\":null},"
			       "\"ctl\":\"a\\nb\\t\\u0001\"}");
	free(s);
	/* the same value always gives the same bytes */
	char *s2;
	assert_int_equal(hoist_json_dump(&s, NULL, o, 1, NULL), 0);
	assert_int_equal(hoist_json_dump(&s2, NULL, o, 1, NULL), 0);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	/* a bare scalar serialises too */
	json_t *str = json_string("a>b");
	assert_int_equal(hoist_json_dump(&s, NULL, str, 0, NULL), 0);
	assert_string_equal(s, "\"a\\u003eb\"");
	free(s);
	json_decref(str);
	json_decref(o);
}

/*
 * jansson hands a string to the dump callback in whole runs, so the
 * callback's handling of a character split between two pieces would never
 * run. This definition takes the place of jansson's for hoist_json_dump
 * (the linker resolves json.o's call here) and, while split_dumps is set,
 * feeds the real output to the callback one byte at a time.
 */
static int split_dumps;
static size_t split_pieces;

struct split {
	json_dump_callback_t cb;
	void *data;
};

static int split_cb(const char *buffer, size_t size, void *data)
{
	struct split *sp = data;

	for (size_t i = 0; i < size; i++) {
		split_pieces++;
		if (sp->cb(buffer + i, 1, sp->data))
			return -1;
	}
	return 0;
}

int json_dump_callback(const json_t *json, json_dump_callback_t callback,
		       void *data, size_t flags)
{
	typedef int (*dump_fn)(const json_t *, json_dump_callback_t, void *,
			       size_t);
	static dump_fn real;
	struct split sp = {callback, data};

	if (!real)
		real = (dump_fn)dlsym(RTLD_NEXT, "json_dump_callback");
	assert_non_null(real);
	if (!split_dumps)
		return real(json, callback, data, flags);
	return real(json, split_cb, &sp, flags);
}

static void test_json_go_escapes(void **state)
{
	/* U+2027 and U+202A, E2 80 A7 / AA, are not separators; nor are
	 * U+2068 (E2 81 A8) and the em dash (E2 80 94) */
	static const char raw[] = "a\xe2\x80\xa8"
				  "b\xe2\x80\xa9"
				  "c\xe2\x80\xa7\xe2\x80\xaa\xe2\x81\xa8"
				  "\xe2\x80\x94<\xe2\x80\xa8\xe2\x80\xa8";
	static const char want[] = "{\"k\\u2029\":\"a\\u2028b\\u2029c"
				   "\xe2\x80\xa7\xe2\x80\xaa\xe2\x81\xa8"
				   "\xe2\x80\x94\\u003c\\u2028\\u2028\"}";
	json_t *o = json_object();
	json_t *big = sample();
	char *s, *whole;
	size_t len;

	(void)state;
	json_object_set_new(o, "k\xe2\x80\xa9", json_string(raw));
	for (split_dumps = 0; split_dumps < 2; split_dumps++) {
		split_pieces = 0;
		/* Go: json.Marshal(map[string]string{"k\u2029": raw}) */
		assert_int_equal(hoist_json_dump(&s, &len, o, 0, NULL), 0);
		assert_string_equal(s, want);
		assert_int_equal(len, strlen(want));
		free(s);
		/* a separator last in the document, and alone */
		json_t *str = json_string("\xe2\x80\xa9");
		assert_int_equal(hoist_json_dump(&s, NULL, str, 1, NULL), 0);
		assert_string_equal(s, "\"\\u2029\"");
		free(s);
		json_decref(str);
		if (split_dumps)
			assert_true(split_pieces > strlen(raw));
	}
	split_dumps = 0;

	/* one byte at a time or not, the bytes are the same */
	assert_int_equal(hoist_json_dump(&whole, NULL, big, 1, NULL), 0);
	split_dumps = 1;
	assert_int_equal(hoist_json_dump(&s, NULL, big, 1, NULL), 0);
	split_dumps = 0;
	assert_string_equal(s, whole);
	free(s);
	free(whole);
	json_decref(big);
	json_decref(o);
}

static void test_json_parse(void **state)
{
	struct hoist_err err;
	json_t *v;
	const char *doc = "{\"a\":\"x\",\"b\":1}";

	(void)state;
	assert_int_equal(
		hoist_json_parse(&v, doc, strlen(doc), "manifest", &err), 0);
	assert_string_equal(hoist_json_str(v, "a"), "x");
	assert_null(hoist_json_str(v, "b"));
	assert_null(hoist_json_str(v, "missing"));
	json_decref(v);
	/* duplicate keys are refused */
	doc = "{\"a\":1,\"a\":2}";
	v = (json_t *)1;
	assert_int_equal(
		hoist_json_parse(&v, doc, strlen(doc), "manifest", &err),
		HOIST_EINVAL);
	assert_null(v);
	assert_non_null(strstr(err.msg, "parse manifest: line 1"));
	/* only len bytes are read */
	doc = "{}garbage";
	assert_int_equal(hoist_json_parse(&v, doc, 2, "x", &err), 0);
	json_decref(v);
	assert_int_equal(hoist_json_parse(&v, doc, strlen(doc), "x", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_json_parse(&v, "", 0, "x", &err), HOIST_EINVAL);
	/* jansson echoes input in its reason: it reaches the message quoted */
	doc = "[1,\x1b[2J]";
	assert_int_equal(hoist_json_parse(&v, doc, strlen(doc), "x", &err),
			 HOIST_EINVAL);
	for (const char *p = err.msg; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* fs */

static void test_fs_write_atomic(void **state)
{
	char *dir = tl_mkdtemp("test-util");
	char *path = hoist_xasprintf("%s/out.json", dir);
	struct hoist_err err;
	struct stat st;
	char *data;
	size_t len;
	mode_t um = umask(022);

	(void)state;
	assert_int_equal(hoist_fs_write_atomic(path, "first", 5, 0640, &err),
			 0);
	assert_int_equal(hoist_fs_read_file(&data, &len, path, 100, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "first");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* replacing leaves only the new content and no temporaries */
	assert_int_equal(hoist_fs_write_atomic(path, "second!", 7, 0644, &err),
			 0);
	assert_int_equal(hoist_fs_read_file(&data, &len, path, 100, &err), 0);
	assert_string_equal(data, "second!");
	free(data);
	assert_int_equal(tl_count_dir(dir, 0), 1);
	/* read_file honours its cap */
	data = (char *)1;
	assert_int_equal(hoist_fs_read_file(&data, &len, path, 6, &err),
			 HOIST_ELIMIT);
	assert_null(data);
	/* a missing file and a missing directory */
	char *missing = hoist_xasprintf("%s/nope", dir);
	assert_int_equal(hoist_fs_read_file(&data, &len, missing, 6, &err),
			 HOIST_ENOTFOUND);
	assert_int_equal(err.sys_errno, ENOENT);
	char *deep = hoist_xasprintf("%s/no/such/file", dir);
	assert_int_equal(hoist_fs_write_atomic(deep, "x", 1, 0644, &err),
			 HOIST_ENOTFOUND);
	assert_non_null(strstr(err.msg, deep));
	assert_int_equal(tl_count_dir(dir, 0), 1);

	umask(um);
	assert_int_equal(hoist_fs_rm_rf(dir, &err), 0);
	assert_false(hoist_fs_exists(dir));
	free(deep);
	free(missing);
	free(path);
	free(dir);
}

static void test_fs_atomic_abort(void **state)
{
	char *dir = tl_mkdtemp("test-util");
	char *path = hoist_xasprintf("%s/image.tar", dir);
	struct hoist_fs_atomic a;
	struct hoist_err err;
	char *data;

	(void)state;
	/* abort leaves nothing behind */
	assert_int_equal(hoist_fs_atomic_open(&a, path, 0644, &err), 0);
	assert_true(a.fd >= 0);
	assert_non_null(a.tmp);
	assert_non_null(strstr(a.tmp, HOIST_TMP_PREFIX));
	assert_int_equal(hoist_fs_write_all(a.fd, "partial", 7, path, &err), 0);
	assert_false(hoist_fs_exists(path));
	assert_int_equal(tl_count_dir(dir, 0), 1);
	hoist_fs_atomic_abort(&a);
	assert_int_equal(a.fd, -1);
	assert_null(a.tmp);
	assert_false(hoist_fs_exists(path));
	assert_int_equal(tl_count_dir(dir, 0), 0);

	/* abort does not touch an existing destination */
	assert_int_equal(hoist_fs_write_atomic(path, "old", 3, 0644, &err), 0);
	assert_int_equal(hoist_fs_atomic_open(&a, path, 0644, &err), 0);
	assert_int_equal(hoist_fs_write_all(a.fd, "new", 3, path, &err), 0);
	hoist_fs_atomic_abort(&a);
	assert_int_equal(hoist_fs_read_file(&data, NULL, path, 100, &err), 0);
	assert_string_equal(data, "old");
	free(data);
	assert_int_equal(tl_count_dir(dir, 0), 1);

	/* commit publishes */
	assert_int_equal(hoist_fs_atomic_open(&a, path, 0644, &err), 0);
	assert_int_equal(hoist_fs_write_all(a.fd, "new", 3, path, &err), 0);
	assert_int_equal(hoist_fs_atomic_commit(&a, &err), 0);
	assert_int_equal(hoist_fs_read_file(&data, NULL, path, 100, &err), 0);
	assert_string_equal(data, "new");
	free(data);
	assert_int_equal(tl_count_dir(dir, 0), 1);

	/* opening in a missing directory fails cleanly */
	char *bad = hoist_xasprintf("%s/missing/x", dir);
	assert_int_equal(hoist_fs_atomic_open(&a, bad, 0644, &err),
			 HOIST_ENOTFOUND);
	assert_null(a.tmp);
	assert_null(a.dest);
	free(bad);

	assert_int_equal(hoist_fs_rm_rf(dir, &err), 0);
	assert_int_equal(hoist_fs_rm_rf(dir, &err), 0);
	free(path);
	free(dir);
}

/* mkdir -p, and the empty path that used to read past its copy */
static void test_fs_mkdirs(void **state)
{
	char *dir = tl_mkdtemp("test-util");
	char *deep = hoist_xasprintf("%s/a//b/c/", dir);
	char *file = hoist_xasprintf("%s/f", dir);
	char *under = hoist_xasprintf("%s/f/x", dir);
	struct hoist_err err;

	(void)state;
	assert_int_equal(hoist_fs_mkdirs("", 0755, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(hoist_fs_mkdirs("", 0755, NULL), HOIST_EINVAL);
	assert_int_equal(hoist_fs_mkdirs(deep, 0755, &err), 0);
	assert_true(hoist_fs_is_dir(deep));
	assert_int_equal(hoist_fs_mkdirs(deep, 0755, &err), 0);
	assert_int_equal(hoist_fs_mkdirs("/", 0755, &err), 0);
	tl_write_file(file, "x", 0644);
	assert_int_equal(hoist_fs_mkdirs(file, 0755, &err), HOIST_EEXIST);
	assert_int_equal(hoist_fs_mkdirs(under, 0755, &err), HOIST_EEXIST);
	tl_rm_rf(dir);
	free(under);
	free(file);
	free(deep);
	free(dir);
}

/*
 * The signal cleanup slots. Four threads register one pinned temporary
 * each at the same moment, then churn their slots, registering a long and
 * a short path in turn, until SIGTERM. Afterwards every pinned file must
 * be gone (no two threads claimed one slot), and the canary, named as the
 * short path written over the long one without its final NUL would read,
 * must survive (no half-copied path was visible to the handler).
 */
#define SLOT_THREADS 4

struct slot_churn {
	pthread_barrier_t *start;
	char *pinned, *lng, *shrt;
	int ready; /* write end: one byte once pinned is registered */
};

static void *slot_thread(void *arg)
{
	struct slot_churn *c = arg;

	pthread_barrier_wait(c->start);
	hoist_fs_tmp_register(c->pinned, 0);
	if (write(c->ready, "r", 1) != 1)
		_exit(4);
	for (;;) {
		hoist_fs_tmp_register(c->lng, 0);
		hoist_fs_tmp_unregister(c->lng);
		hoist_fs_tmp_register(c->shrt, 0);
		hoist_fs_tmp_unregister(c->shrt);
	}
	return NULL;
}

static void slot_child(const char *dir, int round, int ready)
{
	pthread_barrier_t start;
	struct slot_churn c[SLOT_THREADS];
	pthread_t t;

	hoist_fs_install_signal_cleanup();
	pthread_barrier_init(&start, NULL, SLOT_THREADS);
	for (int i = 0; i < SLOT_THREADS; i++) {
		c[i].start = &start;
		c[i].ready = ready;
		c[i].pinned = hoist_xasprintf("%s/pin-%d-%d", dir, round, i);
		c[i].lng = hoist_xasprintf("%s/s%d%0200d", dir, i, 0);
		c[i].shrt = hoist_xasprintf("%s/s%d", dir, i);
		if (pthread_create(&t, NULL, slot_thread, &c[i]))
			_exit(3);
	}
	for (;;)
		pause();
}

static void test_fs_tmp_slots(void **state)
{
	char *dir = tl_mkdtemp("test-util");

	(void)state;
	for (int i = 0; i < SLOT_THREADS; i++) {
		char *canary = hoist_xasprintf("%s/s%d%0199d", dir, i, 0);
		tl_write_file(canary, "", 0644);
		free(canary);
	}
	for (int round = 0; round < 10; round++) {
		int status, pfd[2];
		char got[SLOT_THREADS];
		size_t n = 0;
		pid_t pid;

		for (int i = 0; i < SLOT_THREADS; i++) {
			char *pin =
				hoist_xasprintf("%s/pin-%d-%d", dir, round, i);
			tl_write_file(pin, "", 0644);
			free(pin);
		}
		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			slot_child(dir, round, pfd[1]);
		}
		close(pfd[1]);
		while (n < SLOT_THREADS) {
			ssize_t r = read(pfd[0], got, SLOT_THREADS - n);
			assert_true(r > 0);
			n += (size_t)r;
		}
		close(pfd[0]);
		usleep(2000 + 3000 * (useconds_t)round);
		assert_int_equal(kill(pid, SIGTERM), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGTERM);
		for (int i = 0; i < SLOT_THREADS; i++) {
			char *pin =
				hoist_xasprintf("%s/pin-%d-%d", dir, round, i);
			char *canary =
				hoist_xasprintf("%s/s%d%0199d", dir, i, 0);
			assert_false(hoist_fs_exists(pin));
			assert_true(hoist_fs_exists(canary));
			free(canary);
			free(pin);
		}
	}
	tl_rm_rf(dir);
	free(dir);
}

/* err */

/* A helper of the kind hoist_err_setv exists for: context after the text. */
__attribute__((format(printf, 3, 4))) static int
ctx_fail(struct hoist_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = hoist_err_setv(err, code, fmt, ap);
	va_end(ap);
	if (err)
		hoist_err_prefix(err, "layer '%s'", "l1");
	return code;
}

__attribute__((format(printf, 3, 4))) static int
ctx_sys(struct hoist_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = hoist_err_sysv(err, errnum, fmt, ap);
	va_end(ap);
	return code;
}

static void test_err_setv(void **state)
{
	struct hoist_err err;
	char want[256];

	(void)state;
	err.sys_errno = 5;
	assert_int_equal(ctx_fail(&err, HOIST_ELIMIT, "%d > %s", 7, "6"),
			 HOIST_ELIMIT);
	assert_int_equal(err.code, HOIST_ELIMIT);
	assert_int_equal(err.sys_errno, 0);
	assert_string_equal(err.msg, "layer 'l1': 7 > 6");
	assert_int_equal(ctx_fail(NULL, HOIST_EDIGEST, "x"), HOIST_EDIGEST);
	assert_int_equal(ctx_sys(&err, EACCES, "open '%s'", "f"), HOIST_EIO);
	assert_int_equal(err.sys_errno, EACCES);
	snprintf(want, sizeof(want), "open 'f': %s", strerror(EACCES));
	assert_string_equal(err.msg, want);
	assert_int_equal(ctx_sys(NULL, ENOENT, "x"), HOIST_ENOTFOUND);
}

/* The monotonic clock moves forward with time. */
static void test_clock(void **state)
{
	int64_t t0 = hoist_clock_ms(), t1;

	(void)state;
	assert_true(t0 >= 0);
	usleep(30000);
	t1 = hoist_clock_ms();
	assert_true(t1 - t0 >= 29);
	assert_true(t1 - t0 < 60000);
}

static void test_err(void **state)
{
	struct hoist_err err;

	(void)state;
	hoist_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(hoist_err_msg(&err), "success");
	assert_int_equal(hoist_err_set(&err, HOIST_EDIGEST,
				       "content of '%s' does not match", "x"),
			 HOIST_EDIGEST);
	assert_int_equal(hoist_err_prefix(&err, "upload '%s'", "sha256:ab"),
			 HOIST_EDIGEST);
	assert_int_equal(hoist_err_prefix(&err, "push '%s'", "reg/app:1"),
			 HOIST_EDIGEST);
	assert_string_equal(hoist_err_msg(&err),
			    "push 'reg/app:1': upload 'sha256:ab': content of "
			    "'x' does not match");

	assert_int_equal(hoist_err_sys(&err, ENOENT, "open '%s'", "f"),
			 HOIST_ENOTFOUND);
	assert_int_equal(err.sys_errno, ENOENT);
	char want[256];
	snprintf(want, sizeof(want), "open 'f': %s", strerror(ENOENT));
	assert_string_equal(err.msg, want);
	assert_int_equal(hoist_err_sys(&err, EEXIST, "x"), HOIST_EEXIST);
	assert_int_equal(hoist_err_sys(&err, EINTR, "x"), HOIST_EINTR);
	assert_int_equal(hoist_err_sys(&err, EACCES, "x"), HOIST_EIO);
	assert_int_equal(err.sys_errno, EACCES);
	/* set clears the old errno and status */
	err.http_status = 500;
	hoist_err_set(&err, HOIST_EINVAL, "bad");
	assert_int_equal(err.sys_errno, 0);
	assert_int_equal(err.http_status, 0);

	/* a NULL record still gives the code back */
	assert_int_equal(hoist_err_set(NULL, HOIST_ELIMIT, "x"), HOIST_ELIMIT);
	assert_int_equal(hoist_err_sys(NULL, ENOENT, "x"), HOIST_ENOTFOUND);
	assert_int_equal(hoist_err_prefix(NULL, "x"), HOIST_EIO);
	assert_string_equal(hoist_err_msg(NULL), "unknown error");

	/* prefixing an unset record makes it an error */
	hoist_err_clear(&err);
	assert_int_equal(hoist_err_prefix(&err, "ctx"), HOIST_EIO);
	assert_string_equal(err.msg, "ctx: ");

	/* messages are truncated, never overflowed */
	char big[3000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hoist_err_set(&err, HOIST_EINVAL, "%s", big);
	assert_int_equal(strlen(err.msg), HOIST_ERR_MSG_MAX - 1);
	hoist_err_prefix(&err, "more");
	assert_int_equal(strlen(err.msg), HOIST_ERR_MSG_MAX - 1);
	assert_int_equal(strncmp(err.msg, "more: zzz", 9), 0);

	/* generic text for a code without message */
	hoist_err_clear(&err);
	err.code = HOIST_ENOTFOUND;
	assert_string_equal(hoist_err_msg(&err), "not found");
}

/* Every byte of a quoted text a terminal shows as it is, on one line. */
static void assert_inert(const char *q, unsigned flags)
{
	for (const unsigned char *p = (const unsigned char *)q; *p; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		if (!(flags & HOIST_QUOTE_UTF8))
			assert_true(*p < 0x7f);
	}
}

static void test_err_quote(void **state)
{
	static const struct {
		const char *in;
		const char *ascii; /* flags 0 */
		const char *utf8;  /* HOIST_QUOTE_UTF8 */
	} cases[] = {
		{"linux/amd64 'x'", "linux/amd64 'x'", "linux/amd64 'x'"},
		{"a\\b\n\r\t\x01\x1b[31m\x7f",
		 "a\\\\b\\n\\r\\t\\x01\\x1b[31m\\x7f",
		 "a\\\\b\\n\\r\\t\\x01\\x1b[31m\\x7f"},
		{"caf\xc3\xa9", "caf\\xc3\\xa9", "caf\xc3\xa9"},
		{"\xe6\x97\xa5\xf0\x9f\x90\xb3",
		 "\\xe6\\x97\\xa5\\xf0\\x9f\\x90\\xb3",
		 "\xe6\x97\xa5\xf0\x9f\x90\xb3"},
		/* no-break space: readable, but not in ASCII grammars */
		{"a\xc2\xa0"
		 "b",
		 "a\\xc2\\xa0b",
		 "a\xc2\xa0"
		 "b"},
		/* malformed: lone continuation, overlongs, surrogate, too
		 * high, cut short by the NUL */
		{"\x80", "\\x80", "\\x80"},
		{"\xc0\xaf", "\\xc0\\xaf", "\\xc0\\xaf"},
		{"\xe0\x80\xaf", "\\xe0\\x80\\xaf", "\\xe0\\x80\\xaf"},
		{"\xed\xa0\x80", "\\xed\\xa0\\x80", "\\xed\\xa0\\x80"},
		{"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80",
		 "\\xf4\\x90\\x80\\x80"},
		{"\xe2\x82", "\\xe2\\x82", "\\xe2\\x82"},
		{"\xc3\xa9\xa9", "\\xc3\\xa9\\xa9", "\xc3\xa9\\xa9"},
		/* well-formed but unsafe to show: C1 NEL and CSI, line
		 * separator, right-to-left override, left-to-right mark */
		{"\xc2\x85\xc2\x9b", "\\xc2\\x85\\xc2\\x9b",
		 "\\xc2\\x85\\xc2\\x9b"},
		{"\xe2\x80\xa8", "\\xe2\\x80\\xa8", "\\xe2\\x80\\xa8"},
		{"a\xe2\x80\xaeZ", "a\\xe2\\x80\\xaeZ", "a\\xe2\\x80\\xaeZ"},
		{"\xe2\x80\x8e", "\\xe2\\x80\\x8e", "\\xe2\\x80\\x8e"},
		{"\xe2\x81\xa9", "\\xe2\\x81\\xa9", "\\xe2\\x81\\xa9"},
		/* neighbours of the refused ranges stay readable */
		{"\xc2\xa1\xe2\x80\x94", "\\xc2\\xa1\\xe2\\x80\\x94",
		 "\xc2\xa1\xe2\x80\x94"},
	};
	char q[HOIST_QUOTE_BUF], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(hoist_err_quote(q, sizeof(q), cases[i].in,
						 HOIST_QUOTE_ALL, 0),
				 q);
		assert_string_equal(q, cases[i].ascii);
		hoist_err_quote(q, sizeof(q), cases[i].in, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		assert_string_equal(q, cases[i].utf8);
	}

	/* n bounds the input, and a sequence cut by it is malformed */
	assert_string_equal(hoist_err_quote(q, sizeof(q), "abcdef", 3, 0),
			    "abc");
	assert_string_equal(hoist_err_quote(q, sizeof(q), "ab", 10, 0), "ab");
	assert_string_equal(
		hoist_err_quote(q, sizeof(q), "\xc3\xa9", 1, HOIST_QUOTE_UTF8),
		"\\xc3");
	assert_string_equal(hoist_err_quote(q, sizeof(q), NULL, 5, 0), "");

	/* cut to fit, with "...", never inside an escape or a character */
	assert_string_equal(
		hoist_err_quote(small, sizeof(small), "abcdefg", 99, 0),
		"abcdefg");
	assert_string_equal(
		hoist_err_quote(small, sizeof(small), "abcdefgh", 99, 0),
		"abcd...");
	assert_string_equal(hoist_err_quote(small, sizeof(small),
					    "abc\x01"
					    "defg",
					    99, 0),
			    "abc...");
	assert_string_equal(hoist_err_quote(small, sizeof(small),
					    "ab\xf0\x9f\x90\xb3"
					    "cd",
					    99, HOIST_QUOTE_UTF8),
			    "ab...");
	assert_string_equal(hoist_err_quote(small, sizeof(small),
					    "ab\xf0\x9f\x90\xb3"
					    "c",
					    99, HOIST_QUOTE_UTF8),
			    "ab\xf0\x9f\x90\xb3"
			    "c");
	assert_string_equal(hoist_err_quote(small, 4, "abcd", 99, 0), "...");
	assert_string_equal(hoist_err_quote(small, 4, "abc", 99, 0), "abc");
	assert_string_equal(hoist_err_quote(small, 1, "abc", 99, 0), "");
	small[0] = 'X';
	hoist_err_quote(small, 0, "abc", 99, 0);
	assert_int_equal(small[0], 'X');

	/* a long hostile input stays within the buffer */
	char big[1000];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)(i % 2 ? 0x1b : 0xe2);
	big[sizeof(big) - 1] = '\0';
	hoist_err_quote(q, sizeof(q), big, HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	assert_true(strlen(q) < sizeof(q));
	assert_string_equal(q + strlen(q) - 3, "...");
	assert_inert(q, HOIST_QUOTE_UTF8);

	/* every pair and every E2 xx yy triple comes out inert */
	for (unsigned a = 1; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			char in[4] = {(char)a, (char)b, 0, 0};
			for (unsigned f = 0; f <= HOIST_QUOTE_UTF8; f++) {
				hoist_err_quote(q, sizeof(q), in,
						HOIST_QUOTE_ALL, f);
				assert_inert(q, f);
			}
			in[0] = (char)0xe2;
			in[1] = (char)a;
			in[2] = (char)b;
			hoist_err_quote(q, sizeof(q), in, HOIST_QUOTE_ALL,
					HOIST_QUOTE_UTF8);
			assert_inert(q, HOIST_QUOTE_UTF8);
			/* raw means one of the allowed three-byte forms */
			if ((unsigned char)q[0] == 0xe2) {
				unsigned cp =
					0x2000 | ((a & 0x3f) << 6) | (b & 0x3f);
				assert_true(a >= 0x80 && a <= 0xbf &&
					    b >= 0x80 && b <= 0xbf);
				assert_false(cp == 0x200e || cp == 0x200f ||
					     (cp >= 0x2028 && cp <= 0x202e) ||
					     (cp >= 0x2066 && cp <= 0x2069));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_grow_detach),
		cmocka_unit_test(test_buf_init_contract),
		cmocka_unit_test(test_scan_u64),
		cmocka_unit_test(test_scan_i64),
		cmocka_unit_test(test_scan_content_range),
		cmocka_unit_test(test_scan_bool),
		cmocka_unit_test(test_json_dump),
		cmocka_unit_test(test_json_go_escapes),
		cmocka_unit_test(test_json_parse),
		cmocka_unit_test(test_fs_write_atomic),
		cmocka_unit_test(test_fs_atomic_abort),
		cmocka_unit_test(test_fs_mkdirs),
		cmocka_unit_test(test_fs_tmp_slots),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_err_setv),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_err_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
