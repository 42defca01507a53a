/*
 * test-store.c: the staging area. Each test gets a fresh store in a
 * mkdtemp directory; the concurrency and crash tests fork real processes,
 * because the properties under test (flock, atomic rename) only show up
 * across processes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/store.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#ifdef HOIST_TEST_DIGEST_STUB
/* Stand-in until lib/digest.c lands: strict sha256/sha512 lower-case hex. */
int hoist_digest_validate(const char *s, struct hoist_err *err)
{
	size_t n;
	const char *hex;

	if (strncmp(s, "sha256:", 7) == 0)
		n = 64;
	else if (strncmp(s, "sha512:", 7) == 0)
		n = 128;
	else
		return hoist_err_set(err, HOIST_EINVAL, "bad digest '%s'", s);
	hex = s + 7;
	if (strlen(hex) != n)
		return hoist_err_set(err, HOIST_EINVAL, "bad digest '%s'", s);
	for (size_t i = 0; i < n; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		      (hex[i] >= 'a' && hex[i] <= 'f')))
			return hoist_err_set(err, HOIST_EINVAL,
					     "bad digest '%s'", s);
	return 0;
}
#endif

struct fixture {
	char *root;
	struct hoist_store *s;
};

static int setup(void **state)
{
	struct fixture *f = hoist_xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct hoist_err err;
	char *dir;

	dir = hoist_xasprintf("%s/hoist-store-XXXXXX",
			      tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	/* A subdirectory, so open has to create ROOT itself. */
	f->root = hoist_xasprintf("%s/root", dir);
	free(dir);
	if (hoist_store_open(&f->s, f->root, &err) != 0) {
		print_error("open: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *parent = hoist_xstrdup(f->root);

	hoist_store_close(f->s);
	*strrchr(parent, '/') = '\0';
	hoist_fs_rm_rf(parent, NULL);
	free(parent);
	free(f->root);
	free(f);
	return 0;
}

static void digest_of(char out[HOIST_DIGEST_MAX], const void *data, size_t len)
{
	char hex[HOIST_SHA256_HEXLEN + 1];

	hoist_sha256_hex(data, len, hex);
	snprintf(out, HOIST_DIGEST_MAX, "sha256:%s", hex);
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static size_t count_ingest(const struct fixture *f)
{
	char *p = hoist_xasprintf("%s/ingest", f->root);
	size_t n = count_dir(p);

	free(p);
	return n;
}

static void test_layout(void **state)
{
	struct fixture *f = *state;
	char *p, *text;
	struct stat st;
	json_t *idx;

	mode_t um = umask(0);

	umask(um);
	assert_int_equal(stat(f->root, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755 & ~um);
	p = hoist_xasprintf("%s/oci-layout", f->root);
	assert_int_equal(hoist_fs_read_file(&text, NULL, p, 4096, NULL), 0);
	assert_string_equal(text, "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(text);
	free(p);
	p = hoist_xasprintf("%s/index.json", f->root);
	assert_int_equal(hoist_fs_read_file(&text, NULL, p, 4096, NULL), 0);
	idx = json_loads(text, 0, NULL);
	assert_non_null(idx);
	assert_int_equal(
		json_integer_value(json_object_get(idx, "schemaVersion")), 2);
	assert_string_equal(hoist_json_str(idx, "mediaType"),
			    "application/vnd.oci.image.index.v1+json");
	assert_int_equal(json_array_size(json_object_get(idx, "manifests")), 0);
	/* Two-space indentation, as Go's MarshalIndent writes it. */
	assert_non_null(strstr(text, "\n  \"schemaVersion\": 2"));
	json_decref(idx);
	free(text);
	free(p);
	assert_string_equal(hoist_store_root(f->s), f->root);
	assert_true(hoist_fs_is_dir(f->root));
}

static void test_default_root(void **state)
{
	char *r;

	(void)state;
	setenv("HOIST_ROOT", "/x/root", 1);
	r = hoist_store_default_root();
	assert_string_equal(r, "/x/root");
	free(r);
	unsetenv("HOIST_ROOT");
	setenv("XDG_DATA_HOME", "/x/data", 1);
	r = hoist_store_default_root();
	assert_string_equal(r, "/x/data/hoist");
	free(r);
	setenv("XDG_DATA_HOME", "relative", 1);
	setenv("HOME", "/x/home", 1);
	r = hoist_store_default_root();
	assert_string_equal(r, "/x/home/.local/share/hoist");
	free(r);
	unsetenv("XDG_DATA_HOME");
}

static void test_put_get(void **state)
{
	struct fixture *f = *state;
	static const char data[] = "hello, staging area";
	char want[HOIST_DIGEST_MAX];
	struct hoist_digest d;
	struct hoist_err err;
	struct stat st;
	char *got = NULL, *path;
	size_t len = 0;
	uint64_t size = 0;

	digest_of(want, data, sizeof(data) - 1);
	assert_int_equal(hoist_store_has(f->s, want), 0);
	assert_int_equal(hoist_store_blob_size(f->s, want, &size, &err),
			 HOIST_ENOTFOUND);
	assert_int_equal(hoist_store_get(f->s, want, 1024, &got, &len, &err),
			 HOIST_ENOTFOUND);
	assert_int_equal(
		hoist_store_put(f->s, data, sizeof(data) - 1, &d, &err), 0);
	assert_string_equal(d.str, want);
	assert_int_equal(hoist_store_has(f->s, want), 1);
	assert_int_equal(hoist_store_blob_size(f->s, want, &size, &err), 0);
	assert_int_equal(size, sizeof(data) - 1);

	path = hoist_store_blob_path(f->s, want);
	assert_non_null(path);
	assert_non_null(strstr(path, "/blobs/sha256/"));
	assert_string_equal(strrchr(path, '/') + 1, want + 7);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	free(path);

	assert_int_equal(hoist_store_get(f->s, want, 1024, &got, &len, &err),
			 0);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(got, data, len);
	assert_int_equal(got[len], '\0');
	free(got);
	/* The size cap is honoured. */
	assert_int_equal(hoist_store_get(f->s, want, 4, &got, &len, &err),
			 HOIST_ELIMIT);
	assert_null(got);
	/* Empty blob. */
	assert_int_equal(hoist_store_put(f->s, "", 0, &d, &err), 0);
	assert_string_equal(d.str, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
				   "27ae41e4649b934ca495991b7852b855");
	assert_int_equal(count_ingest(f), 0);
}

static void test_get_tampered(void **state)
{
	struct fixture *f = *state;
	static const char data[] = "do not touch";
	struct hoist_digest d;
	struct hoist_err err;
	char *path, *got = NULL;
	size_t len;
	int fd;
	char c;

	assert_int_equal(
		hoist_store_put(f->s, data, sizeof(data) - 1, &d, &err), 0);
	path = hoist_store_blob_path(f->s, d.str);
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 3), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, 3), 1);
	close(fd);
	assert_int_equal(hoist_store_get(f->s, d.str, 1024, &got, &len, &err),
			 HOIST_EDIGEST);
	assert_null(got);
	assert_non_null(strstr(err.msg, d.str));
	free(path);
}

static void test_ingest(void **state)
{
	struct fixture *f = *state;
	struct hoist_ingest *in = NULL;
	struct hoist_digest d;
	struct hoist_err err;
	char want[HOIST_DIGEST_MAX], other[HOIST_DIGEST_MAX];
	char big[100000];
	uint64_t size = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 251);
	digest_of(want, big, sizeof(big));
	digest_of(other, "something else", 14);

	/* Written in pieces, hashed as it goes. */
	assert_int_equal(hoist_ingest_open(&in, f->s, &err), 0);
	assert_int_equal(count_ingest(f), 1);
	for (size_t off = 0; off < sizeof(big); off += 4096) {
		size_t n = sizeof(big) - off < 4096 ? sizeof(big) - off : 4096;
		assert_int_equal(hoist_ingest_write(in, big + off, n, &err), 0);
	}
	assert_int_equal(hoist_ingest_size(in), sizeof(big));
	assert_int_equal(hoist_ingest_commit(in, want, &d, &size, &err), 0);
	assert_string_equal(d.str, want);
	assert_int_equal(size, sizeof(big));
	assert_int_equal(count_ingest(f), 0);

	/* Committing an existing blob again is fine. */
	assert_int_equal(hoist_ingest_open(&in, f->s, &err), 0);
	assert_int_equal(hoist_ingest_write(in, big, sizeof(big), &err), 0);
	assert_int_equal(hoist_ingest_commit(in, want, NULL, NULL, &err), 0);
	assert_int_equal(count_ingest(f), 0);
	assert_int_equal(hoist_store_has(f->s, want), 1);

	/* A wrong expected digest stores nothing and leaves nothing. */
	assert_int_equal(hoist_ingest_open(&in, f->s, &err), 0);
	assert_int_equal(hoist_ingest_write(in, "something", 9, &err), 0);
	digest_of(want, "something", 9);
	assert_int_equal(hoist_ingest_commit(in, other, &d, NULL, &err),
			 HOIST_EDIGEST);
	assert_non_null(strstr(err.msg, other));
	assert_int_equal(count_ingest(f), 0);
	assert_int_equal(hoist_store_has(f->s, want), 0);
	assert_int_equal(hoist_store_has(f->s, other), 0);

	/* An invalid or sha512 expected digest: refused, nothing stored. */
	assert_int_equal(hoist_ingest_open(&in, f->s, &err), 0);
	assert_int_equal(hoist_ingest_write(in, "something", 9, &err), 0);
	assert_int_equal(
		hoist_ingest_commit(in, "sha256:abc", NULL, NULL, &err),
		HOIST_EINVAL);
	assert_int_equal(count_ingest(f), 0);
	assert_int_equal(hoist_store_has(f->s, want), 0);

	/* Abort removes the temp file. */
	assert_int_equal(hoist_ingest_open(&in, f->s, &err), 0);
	assert_int_equal(hoist_ingest_write(in, "x", 1, &err), 0);
	hoist_ingest_abort(in);
	hoist_ingest_abort(NULL);
	assert_int_equal(count_ingest(f), 0);
}

static void test_invalid_digests(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"sha256:",
		"sha256:../../../../etc/passwd",
		"sha256:/etc/passwd",
		"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA49599"
		"1B7852B855",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49599"
		"1b7852b85",
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"../index.json",
	};
	char sha512[7 + 128 + 1] = "sha512:";
	struct hoist_err err;
	char *got = NULL;
	size_t len;
	uint64_t size;

	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		assert_null(hoist_store_blob_path(f->s, bad[i]));
		assert_int_equal(hoist_store_has(f->s, bad[i]), 0);
		assert_int_equal(
			hoist_store_get(f->s, bad[i], 1024, &got, &len, &err),
			HOIST_EINVAL);
		assert_null(got);
		assert_int_equal(
			hoist_store_blob_size(f->s, bad[i], &size, &err),
			HOIST_EINVAL);
	}
	/* A valid sha512 digest is valid but not stored here. */
	memset(sha512 + 7, 'a', 128);
	sha512[7 + 128] = '\0';
	assert_null(hoist_store_blob_path(f->s, sha512));
	assert_int_equal(hoist_store_has(f->s, sha512), 0);
	assert_int_equal(hoist_store_get(f->s, sha512, 1024, &got, &len, &err),
			 HOIST_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test(test_default_root),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_tampered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ingest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_digests, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
