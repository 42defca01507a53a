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
#include "testlib.h"
#include "util/banned.h"

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

static size_t count_ingest(const struct fixture *f)
{
	char *p = hoist_xasprintf("%s/ingest", f->root);
	size_t n = tl_count_dir(p, 0);

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

	/* Past the early-writeback step (three marks for 20 MiB): the
	 * kernel is asked to write back as it goes; the bytes and digest
	 * are the same. */
	{
		size_t n = 20u << 20;
		char *huge = malloc(n), w[HOIST_DIGEST_MAX];
		assert_non_null(huge);
		for (size_t i = 0; i < n; i++)
			huge[i] = (char)(i * 13 + i / 4093);
		digest_of(w, huge, n);
		assert_int_equal(hoist_ingest_open(&in, f->s, &err), 0);
		for (size_t off = 0; off < n; off += 3u << 20) {
			size_t k = n - off < (3u << 20) ? n - off : 3u << 20;
			assert_int_equal(
				hoist_ingest_write(in, huge + off, k, &err), 0);
		}
		assert_int_equal(hoist_ingest_commit(in, w, &d, &size, &err),
				 0);
		assert_string_equal(d.str, w);
		assert_int_equal(size, n);
		free(huge);
	}

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

static const char layer_type[] = "application/vnd.oci.image.layer.v1.tar";

/* Store data and return a descriptor for it (new reference). */
static json_t *put_desc(struct fixture *f, const char *media_type,
			const void *data, size_t len)
{
	struct hoist_digest d;
	struct hoist_err err;
	json_t *desc;

	assert_int_equal(hoist_store_put(f->s, data, len, &d, &err), 0);
	desc = json_object();
	hoist_json_set_str(desc, "mediaType", media_type);
	hoist_json_set_str(desc, "digest", d.str);
	json_object_set_new(desc, "size", json_integer((json_int_t)len));
	return desc;
}

static json_t *put_str_desc(struct fixture *f, const char *media_type,
			    const char *s)
{
	return put_desc(f, media_type, s, strlen(s));
}

/* Store a JSON document (compact) and return its descriptor. */
static json_t *put_json_desc(struct fixture *f, const char *media_type,
			     json_t *doc)
{
	char *text;
	size_t len;
	json_t *desc;

	assert_int_equal(hoist_json_dump(&text, &len, doc, 0, NULL), 0);
	desc = put_desc(f, media_type, text, len);
	free(text);
	json_decref(doc);
	return desc;
}

static void assert_index_valid(struct fixture *f)
{
	char *p = hoist_xasprintf("%s/index.json", f->root), *text;
	json_t *idx;
	size_t len;

	assert_int_equal(hoist_fs_read_file(&text, &len, p, 1 << 24, NULL), 0);
	assert_int_equal(hoist_json_parse(&idx, text, len, "index", NULL), 0);
	assert_int_equal(
		json_integer_value(json_object_get(idx, "schemaVersion")), 2);
	assert_true(json_is_array(json_object_get(idx, "manifests")));
	json_decref(idx);
	free(text);
	free(p);
}

static const char *desc_digest(const json_t *desc)
{
	return hoist_json_str(desc, "digest");
}

static const char *desc_name(const json_t *desc)
{
	return hoist_json_str(json_object_get(desc, "annotations"),
			      "io.containerd.image.name");
}

static void test_names(void **state)
{
	struct fixture *f = *state;
	json_t *a = put_str_desc(f, layer_type, "blob a");
	json_t *b = put_str_desc(f, layer_type, "blob b");
	json_t *got = NULL, *list = NULL, *bad;
	struct hoist_err err;
	char missing[HOIST_DIGEST_MAX];

	/* Existing annotations survive; the name annotation is added. */
	json_object_set_new(b, "annotations", json_pack("{s:s}", "k", "v"));

	assert_int_equal(hoist_store_resolve(f->s, "x/a:1", &got, &err),
			 HOIST_ENOTFOUND);
	assert_null(got);
	assert_int_equal(hoist_store_tag(f->s, "x/a:1", a, &err), 0);
	assert_int_equal(hoist_store_tag(f->s, "x/b:1", b, &err), 0);
	assert_index_valid(f);
	assert_int_equal(hoist_store_resolve(f->s, "x/a:1", &got, &err), 0);
	assert_string_equal(desc_digest(got), desc_digest(a));
	assert_string_equal(desc_name(got), "x/a:1");
	assert_int_equal(json_integer_value(json_object_get(got, "size")), 6);
	json_decref(got);
	assert_int_equal(hoist_store_resolve(f->s, "x/b:1", &got, &err), 0);
	assert_string_equal(
		hoist_json_str(json_object_get(got, "annotations"), "k"), "v");
	assert_string_equal(desc_name(got), "x/b:1");
	json_decref(got);
	/* The caller's descriptor is not modified. */
	assert_null(json_object_get(a, "annotations"));

	/* Replacing keeps one entry per name, in its place. */
	assert_int_equal(hoist_store_tag(f->s, "x/a:1", b, &err), 0);
	assert_int_equal(hoist_store_list(f->s, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(desc_name(json_array_get(list, 0)), "x/a:1");
	assert_string_equal(desc_digest(json_array_get(list, 0)),
			    desc_digest(b));
	assert_string_equal(desc_name(json_array_get(list, 1)), "x/b:1");
	json_decref(list);
	assert_index_valid(f);

	/* Untag. */
	assert_int_equal(hoist_store_untag(f->s, "x/a:1", &err), 0);
	assert_int_equal(hoist_store_untag(f->s, "x/a:1", &err),
			 HOIST_ENOTFOUND);
	assert_int_equal(hoist_store_resolve(f->s, "x/a:1", &got, &err),
			 HOIST_ENOTFOUND);
	assert_int_equal(hoist_store_list(f->s, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(desc_name(json_array_get(list, 0)), "x/b:1");
	json_decref(list);
	assert_index_valid(f);

	/* Refusals: a missing blob, a bad descriptor, a bad name. */
	digest_of(missing, "not stored", 10);
	bad = json_pack("{s:s,s:s,s:i}", "mediaType", layer_type, "digest",
			missing, "size", 10);
	assert_int_equal(hoist_store_tag(f->s, "x/c:1", bad, &err),
			 HOIST_ENOTFOUND);
	json_object_set_new(bad, "digest", json_string("sha256:../x"));
	assert_int_equal(hoist_store_tag(f->s, "x/c:1", bad, &err),
			 HOIST_EINVAL);
	json_decref(bad);
	bad = json_pack("{s:s,s:i}", "digest", desc_digest(a), "size", 6);
	assert_int_equal(hoist_store_tag(f->s, "x/c:1", bad, &err),
			 HOIST_EINVAL);
	json_decref(bad);
	assert_int_equal(hoist_store_tag(f->s, "", a, &err), HOIST_EINVAL);
	assert_int_equal(hoist_store_tag(f->s, "a\nb", a, &err), HOIST_EINVAL);
	assert_int_equal(hoist_store_resolve(f->s, NULL, &got, &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_store_untag(f->s, "", &err), HOIST_EINVAL);
	assert_int_equal(hoist_store_list(f->s, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);

	/* Names persist across reopening. */
	hoist_store_close(f->s);
	assert_int_equal(hoist_store_open(&f->s, f->root, &err), 0);
	assert_int_equal(hoist_store_resolve(f->s, "x/b:1", &got, &err), 0);
	json_decref(got);
	json_decref(a);
	json_decref(b);
}

#define KIDS 8
#define NAMES_PER_KID 20

static void test_concurrent_tags(void **state)
{
	struct fixture *f = *state;
	json_t *desc = put_str_desc(f, layer_type, "shared blob");
	json_t *list = NULL, *got;
	struct hoist_err err;
	pid_t pids[KIDS];

	for (int k = 0; k < KIDS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct hoist_store *s;
			int bad = 0;

			if (hoist_store_open(&s, f->root, &err))
				_exit(2);
			for (int i = 0; i < NAMES_PER_KID; i++) {
				char name[64];

				snprintf(name, sizeof(name), "kid%d/img:%d", k,
					 i);
				bad |= hoist_store_tag(s, name, desc, &err);
			}
			hoist_store_close(s);
			_exit(bad ? 1 : 0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int status;

		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_index_valid(f);
	assert_int_equal(hoist_store_list(f->s, &list, &err), 0);
	assert_int_equal(json_array_size(list), KIDS * NAMES_PER_KID);
	json_decref(list);
	for (int k = 0; k < KIDS; k++)
		for (int i = 0; i < NAMES_PER_KID; i++) {
			char name[64];

			snprintf(name, sizeof(name), "kid%d/img:%d", k, i);
			assert_int_equal(
				hoist_store_resolve(f->s, name, &got, &err), 0);
			json_decref(got);
		}
	json_decref(desc);
}

/* Every blob hashes to its name; every name points at a present blob. */
static void assert_store_consistent(const char *root)
{
	char *dir = hoist_xasprintf("%s/blobs/sha256", root);
	struct hoist_store *s = NULL;
	struct hoist_err err;
	json_t *list = NULL, *e;
	struct dirent *de;
	size_t i;
	DIR *d;

	assert_int_equal(hoist_store_open(&s, root, &err), 0);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char hex[HOIST_SHA256_HEXLEN + 1];
		char *p, *data;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		p = hoist_xasprintf("%s/%s", dir, de->d_name);
		assert_int_equal(
			hoist_fs_read_file(&data, &len, p, 1 << 24, NULL), 0);
		hoist_sha256_hex(data, len, hex);
		assert_string_equal(hex, de->d_name);
		free(data);
		free(p);
	}
	closedir(d);
	assert_int_equal(hoist_store_list(s, &list, &err), 0);
	json_array_foreach(list, i, e)
	{
		json_t *got = NULL;

		assert_int_equal(hoist_store_has(s, desc_digest(e)), 1);
		assert_int_equal(
			hoist_store_resolve(s, desc_name(e), &got, &err), 0);
		assert_string_equal(desc_digest(got), desc_digest(e));
		json_decref(got);
	}
	json_decref(list);
	hoist_store_close(s);
	free(dir);
}

static void crash_child(const char *root)
{
	static char buf[200000];
	struct hoist_store *s;
	struct hoist_err err;
	unsigned seed = (unsigned)getpid();

	if (hoist_store_open(&s, root, &err))
		_exit(2);
	for (unsigned n = 0;; n++) {
		struct hoist_ingest *in;
		struct hoist_digest d;
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);
		uint64_t size;
		char name[64];
		json_t *desc;

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)rand_r(&seed);
		if (hoist_ingest_open(&in, s, &err))
			_exit(3);
		for (size_t off = 0; off < len; off += 8192)
			if (hoist_ingest_write(
				    in, buf + off,
				    len - off < 8192 ? len - off : 8192, &err))
				_exit(4);
		if (hoist_ingest_commit(in, NULL, &d, &size, &err))
			_exit(5);
		desc = json_pack("{s:s,s:s,s:I}", "mediaType", layer_type,
				 "digest", d.str, "size", (json_int_t)size);
		snprintf(name, sizeof(name), "crash/img:%u", n % 7);
		if (hoist_store_tag(s, name, desc, &err))
			_exit(6);
		json_decref(desc);
		if (n % 3 == 2)
			hoist_store_untag(s, name, &err);
	}
}

static void test_crash_safety(void **state)
{
	struct fixture *f = *state;
	unsigned seed = (unsigned)time(NULL);

	print_message("# crash seed %u\n", seed);
	for (int round = 0; round < 20; round++) {
		struct timespec ts;
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			crash_child(f->root);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(1 + rand_r(&seed) % 40) * 1000000L;
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* Killed, not exited early with an error of its own. */
		assert_true(WIFSIGNALED(status));
		assert_store_consistent(f->root);
	}
}

static void age_file(const char *path, time_t secs)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= secs;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static char *make_ingest_file(struct fixture *f, const char *name, time_t age)
{
	char *p = hoist_xasprintf("%s/ingest/%s", f->root, name);

	assert_int_equal(hoist_fs_write_atomic(p, "junk", 4, 0644, NULL), 0);
	if (age)
		age_file(p, age);
	return p;
}

static const char manifest_type[] =
	"application/vnd.oci.image.manifest.v1+json";
static const char index_type[] = "application/vnd.oci.image.index.v1+json";

static json_t *manifest_doc(json_t *config, json_t *l1, json_t *l2)
{
	json_t *m = json_object();

	json_object_set_new(m, "schemaVersion", json_integer(2));
	hoist_json_set_str(m, "mediaType", manifest_type);
	json_object_set(m, "config", config);
	json_object_set_new(m, "layers", json_pack("[O,O]", l1, l2));
	return m;
}

static void test_gc(void **state)
{
	struct fixture *f = *state;
	struct hoist_store_gc_stats st;
	struct hoist_err err;
	json_t *cfg, *l1, *l2, *man, *idx, *orphan, *orphan_layer, *lone_man;
	json_t *subj_l, *subj_cfg, *subj, *ref, *leaf_named, *ref_doc;
	char *stale, *held, *fresh, *gcp;
	int hfd, gfd;

	/* name -> index -> manifest -> config + layers */
	cfg = put_str_desc(f, "application/vnd.oci.image.config.v1+json",
			   "{\"architecture\":\"amd64\",\"os\":\"linux\"}");
	l1 = put_str_desc(f, layer_type, "layer one");
	l2 = put_str_desc(f, layer_type, "layer two");
	man = put_json_desc(f, manifest_type, manifest_doc(cfg, l1, l2));
	idx = put_json_desc(f, index_type,
			    json_pack("{s:i,s:s,s:[O]}", "schemaVersion", 2,
				      "mediaType", index_type, "manifests",
				      man));
	assert_int_equal(hoist_store_tag(f->s, "x/app:1", idx, &err), 0);

	/* An unnamed manifest and what only it references. */
	orphan_layer = put_str_desc(f, layer_type, "orphan layer");
	lone_man = put_json_desc(f, manifest_type,
				 manifest_doc(cfg, l1, orphan_layer));
	orphan = put_str_desc(f, layer_type, "nobody wants me");

	/* A named referrer keeps its subject (and the subject's blobs). */
	subj_l = put_str_desc(f, layer_type, "subject layer");
	subj_cfg = put_str_desc(f, "application/vnd.oci.image.config.v1+json",
				"{\"os\":\"linux\"}");
	subj = put_json_desc(f, manifest_type,
			     manifest_doc(subj_cfg, subj_l, subj_l));
	ref_doc = manifest_doc(cfg, l1, l1);
	json_object_set(ref_doc, "subject", subj);
	ref = put_json_desc(f, manifest_type, ref_doc);
	assert_int_equal(hoist_store_tag(f->s, "x/ref:1", ref, &err), 0);
	/* A named leaf with an unknown media type is kept, not parsed. */
	leaf_named = put_str_desc(f, "application/x-unknown", "{\"layers\":1}");
	assert_int_equal(hoist_store_tag(f->s, "x/leaf:1", leaf_named, &err),
			 0);

	stale = make_ingest_file(f, "stale", 2 * 3600);
	held = make_ingest_file(f, "held", 2 * 3600);
	fresh = make_ingest_file(f, "fresh", 0);
	hfd = open(held, O_RDONLY);
	assert_true(hfd >= 0);
	assert_int_equal(flock(hfd, LOCK_EX | LOCK_NB), 0);

	assert_int_equal(hoist_store_gc(f->s, &st, &err), 0);
	assert_int_equal(st.blobs_removed, 3);
	assert_int_equal(
		st.bytes_removed,
		json_integer_value(json_object_get(orphan, "size")) +
			json_integer_value(
				json_object_get(orphan_layer, "size")) +
			json_integer_value(json_object_get(lone_man, "size")));
	/* Stale by lock, not by age: only the held one stays. */
	assert_int_equal(st.ingest_removed, 2);

	assert_int_equal(hoist_store_has(f->s, desc_digest(orphan)), 0);
	assert_int_equal(hoist_store_has(f->s, desc_digest(orphan_layer)), 0);
	assert_int_equal(hoist_store_has(f->s, desc_digest(lone_man)), 0);
	{
		json_t *keep[] = {cfg,    l1,       l2,   man, idx,
				  subj_l, subj_cfg, subj, ref, leaf_named};
		for (size_t i = 0; i < HOIST_ARRAY_SIZE(keep); i++)
			assert_int_equal(
				hoist_store_has(f->s, desc_digest(keep[i])), 1);
	}
	assert_false(hoist_fs_exists(stale));
	assert_true(hoist_fs_exists(held));
	assert_false(hoist_fs_exists(fresh));
	close(hfd);

	/* Our shared gc lock is back: nobody can take it exclusively. */
	gcp = hoist_xasprintf("%s/gc.lock", f->root);
	gfd = open(gcp, O_RDONLY);
	assert_true(gfd >= 0);
	assert_int_equal(flock(gfd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(gfd);
	free(gcp);

	/* Untagging the referrer lets its subject go on the next run. */
	assert_int_equal(hoist_store_untag(f->s, "x/ref:1", &err), 0);
	assert_int_equal(hoist_store_gc(f->s, &st, &err), 0);
	assert_int_equal(st.blobs_removed, 4);
	assert_int_equal(st.ingest_removed, 1); /* held, now released */
	assert_int_equal(hoist_store_has(f->s, desc_digest(subj)), 0);
	assert_int_equal(hoist_store_has(f->s, desc_digest(l1)), 1);
	assert_int_equal(hoist_store_has(f->s, desc_digest(cfg)), 1);
	assert_store_consistent(f->root);

	json_t *all[] = {cfg,    l1,           l2,        man,    idx,
			 orphan, orphan_layer, lone_man,  subj_l, subj_cfg,
			 subj,   ref,          leaf_named};
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(all); i++)
		json_decref(all[i]);
	free(stale);
	free(held);
	free(fresh);
}

/* A corrupt reachable manifest must stop gc before it deletes anything. */
static void test_gc_corrupt_manifest(void **state)
{
	struct fixture *f = *state;
	struct hoist_store_gc_stats st;
	struct hoist_err err;
	json_t *cfg = put_str_desc(
		f, "application/vnd.oci.image.config.v1+json", "{}");
	json_t *l1 = put_str_desc(f, layer_type, "layer");
	json_t *man =
		put_json_desc(f, manifest_type, manifest_doc(cfg, l1, l1));
	json_t *orphan = put_str_desc(f, layer_type, "orphan");
	char *path;
	int fd;

	assert_int_equal(hoist_store_tag(f->s, "x/m:1", man, &err), 0);
	path = hoist_store_blob_path(f->s, desc_digest(man));
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, " ", 1), 1);
	close(fd);
	assert_int_equal(hoist_store_gc(f->s, &st, &err), HOIST_EDIGEST);
	assert_int_equal(st.blobs_removed, 0);
	assert_int_equal(hoist_store_has(f->s, desc_digest(orphan)), 1);
	assert_int_equal(hoist_store_has(f->s, desc_digest(l1)), 1);
	free(path);
	json_decref(cfg);
	json_decref(l1);
	json_decref(man);
	json_decref(orphan);
}

/* gc waits until another process closes its store. */
static void test_gc_waits(void **state)
{
	struct fixture *f = *state;
	struct hoist_store_gc_stats st;
	struct hoist_err err;
	struct timespec t0, t1;
	int p[2], status;
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hoist_store *s;
		struct timespec ts = {0, 300 * 1000000L};

		close(p[0]);
		if (hoist_store_open(&s, f->root, &err))
			_exit(2);
		if (write(p[1], "r", 1) != 1)
			_exit(3);
		nanosleep(&ts, NULL);
		hoist_store_close(s);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(hoist_store_gc(f->s, &st, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000000 >=
		    200);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Two processes creating the same new root at once both succeed. */
static void test_open_race(void **state)
{
	struct fixture *f = *state;
	char *root = hoist_xasprintf("%s-race/a/b", f->root);
	pid_t pids[4];

	for (int k = 0; k < 4; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct hoist_store *s;
			struct hoist_err err;

			if (hoist_store_open(&s, root, &err))
				_exit(1);
			hoist_store_close(s);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++) {
		int status;

		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* Inside the fixture's temporary directory: teardown removes it. */
	assert_store_consistent(root);
	free(root);
}

/* Upload sessions, registry memory and scratch files, by key only. */
static void test_state(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err;
	char digest[HOIST_DIGEST_MAX], *dir = NULL;
	json_t *doc, *got = NULL;
	struct stat st;
	int fd = -1;

	digest_of(digest, "x", 1);
	assert_int_equal(hoist_store_session_load(f->s, "r/a@x", &got),
			 HOIST_ENOTFOUND);
	doc = json_pack("{s:s,s:s,s:i}", "digest", digest, "location",
			"https://r/up/1", "offset", 5);
	assert_int_equal(hoist_store_session_save(f->s, "r/a@x", doc, &err), 0);
	assert_int_equal(hoist_store_session_load(f->s, "r/a@x", &got), 0);
	assert_true(json_equal(doc, got));
	json_decref(got);
	/* Another key is another session. */
	assert_int_equal(hoist_store_session_load(f->s, "r/b@x", &got),
			 HOIST_ENOTFOUND);
	hoist_store_session_drop(f->s, "r/a@x");
	assert_int_equal(hoist_store_session_load(f->s, "r/a@x", &got),
			 HOIST_ENOTFOUND);
	hoist_store_session_drop(f->s, "r/a@x");
	/* A session must name its blob, or gc could never judge it. */
	json_object_set_new(doc, "digest", json_string("sha256:nope"));
	assert_int_equal(hoist_store_session_save(f->s, "k", doc, &err),
			 HOIST_EINVAL);
	json_decref(doc);

	/* Registry memory: hosts with ports and brackets stay one file. */
	doc = json_pack("{s:s}", "mode", "chunked");
	assert_int_equal(hoist_store_registry_load(f->s, "[::1]:5000", &got),
			 HOIST_ENOTFOUND);
	assert_int_equal(
		hoist_store_registry_save(f->s, "[::1]:5000", doc, &err), 0);
	assert_int_equal(hoist_store_registry_save(f->s, "../x", doc, &err), 0);
	assert_int_equal(hoist_store_registry_load(f->s, "[::1]:5000", &got),
			 0);
	assert_true(json_equal(doc, got));
	json_decref(got);
	assert_int_equal(hoist_store_registry_load(f->s, "::1", &got),
			 HOIST_ENOTFOUND);
	json_decref(doc);
	{
		char *p = hoist_xasprintf("%s/registries/_._x.json", f->root);
		assert_true(hoist_fs_exists(p));
		free(p);
	}

	/* An anonymous file leaves no name behind. */
	assert_int_equal(hoist_store_tmpfile(f->s, &fd, &err), 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	close(fd);
	assert_int_equal(hoist_store_mkdtemp(f->s, &dir, &err), 0);
	assert_true(hoist_fs_is_dir(dir));
	assert_int_equal(strncmp(dir, f->root, strlen(f->root)), 0);
	assert_int_equal(hoist_fs_rm_rf(dir, &err), 0);
	hoist_fs_tmp_unregister(dir);
	free(dir);
}

struct findings {
	int n[HOIST_FSCK_STALE + 1];
	int named_missing; /* MISSING findings with a name */
	int named_corrupt;
};

static void count_finding(void *ctx, const struct hoist_fsck_finding *fd)
{
	struct findings *c = ctx;

	c->n[fd->kind]++;
	if (fd->kind == HOIST_FSCK_MISSING && fd->name)
		c->named_missing++;
	if (fd->kind == HOIST_FSCK_CORRUPT && fd->name)
		c->named_corrupt++;
}

static void corrupt_blob(struct fixture *f, const char *digest)
{
	char *p = hoist_store_blob_path(f->s, digest);

	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(hoist_fs_write_atomic(p, "evil", 4, 0444, NULL), 0);
	free(p);
}

/*
 * fsck finds a blob corrupted by hand, names the image that reaches it;
 * --repair removes it and leftovers; re-ingesting the blob heals it.
 */
static void test_fsck(void **state)
{
	struct fixture *f = *state;
	struct hoist_store_fsck_stats st;
	struct findings c;
	struct hoist_err err;
	struct hoist_digest d;
	json_t *cfg, *l1, *l2, *man, *orphan, *sess;
	char *stale;

	cfg = put_str_desc(f, "application/vnd.oci.image.config.v1+json",
			   "{\"os\":\"linux\"}");
	l1 = put_str_desc(f, layer_type, "layer one");
	l2 = put_str_desc(f, layer_type, "layer two");
	man = put_json_desc(f, manifest_type, manifest_doc(cfg, l1, l2));
	assert_int_equal(hoist_store_tag(f->s, "x/app:1", man, &err), 0);
	orphan = put_str_desc(f, layer_type, "nobody wants me");

	memset(&c, 0, sizeof(c));
	assert_int_equal(
		hoist_store_fsck(f->s, 0, count_finding, &c, &st, &err), 0);
	assert_int_equal(st.problems, 0);
	assert_int_equal(st.blobs, 5);
	assert_int_equal(st.names, 1);
	assert_int_equal(st.orphans, 1);
	assert_int_equal(c.n[HOIST_FSCK_ORPHAN], 1);

	/* Same size, other bytes: only hashing finds it. */
	corrupt_blob(f, desc_digest(l2));
	stale = make_ingest_file(f, "left-by-kill", 0);
	sess = json_pack("{s:s}", "digest", desc_digest(orphan));
	assert_int_equal(hoist_store_session_save(f->s, "k1", sess, &err), 0);
	json_decref(sess);
	memset(&c, 0, sizeof(c));
	assert_int_equal(
		hoist_store_fsck(f->s, 0, count_finding, &c, &st, &err), 0);
	assert_int_equal(st.problems, 1);
	assert_int_equal(c.n[HOIST_FSCK_CORRUPT], 2); /* the blob, the name */
	assert_int_equal(c.named_corrupt, 1);
	assert_int_equal(c.n[HOIST_FSCK_STALE], 1); /* the session is alive */
	assert_true(hoist_fs_exists(stale));

	memset(&c, 0, sizeof(c));
	assert_int_equal(
		hoist_store_fsck(f->s, 1, count_finding, &c, &st, &err), 0);
	assert_int_equal(st.repaired, 2); /* the blob and the ingest file */
	assert_int_equal(st.problems, 1); /* the name reaches nothing now */
	assert_int_equal(c.named_missing, 1);
	assert_int_equal(hoist_store_has(f->s, desc_digest(l2)), 0);
	assert_false(hoist_fs_exists(stale));
	assert_int_equal(hoist_store_has(f->s, desc_digest(orphan)), 1);

	/* The next ingest of the digest brings it back. */
	assert_int_equal(hoist_store_put(f->s, "layer two", 9, &d, &err), 0);
	assert_string_equal(d.str, desc_digest(l2));
	assert_int_equal(hoist_store_fsck(f->s, 0, NULL, NULL, &st, &err), 0);
	assert_int_equal(st.problems, 0);

	/* A corrupt blob is replaced by its next ingest (no skip). */
	corrupt_blob(f, desc_digest(l1));
	assert_int_equal(hoist_store_put(f->s, "layer one", 9, &d, &err), 0);
	assert_int_equal(hoist_store_fsck(f->s, 0, NULL, NULL, &st, &err), 0);
	assert_int_equal(st.problems, 0);

	/* A session outlives prune while its blob is kept, not after. */
	sess = json_pack("{s:s}", "digest", desc_digest(orphan));
	assert_int_equal(hoist_store_session_save(f->s, "k1", sess, &err), 0);
	json_decref(sess);
	{
		struct hoist_store_gc_stats gst;
		json_t *got = NULL;

		assert_int_equal(hoist_store_gc(f->s, &gst, &err), 0);
		assert_int_equal(gst.blobs_removed, 1);
		assert_int_equal(gst.sessions_removed, 1);
		assert_int_equal(hoist_store_session_load(f->s, "k1", &got),
				 HOIST_ENOTFOUND);
	}

	json_t *all[] = {cfg, l1, l2, man, orphan};
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(all); i++)
		json_decref(all[i]);
	free(stale);
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
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_tags, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_safety, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_corrupt_manifest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gc_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_race, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsck, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
