/*
 * test-layer.c: a tree to a stored layer in one pass. The digests are
 * checked against the blob file and its decompressed content, the epoch is
 * shown to make a copied tree with other mtimes hash the same, and a failed
 * build is shown to name the file and leave nothing in the store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/layer.h"
#include "lib/store.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/banned.h"

static char tmpdir[] = "/tmp/hoist-test-layer-XXXXXX";

static char *tpath(const char *rel)
{
	return hoist_xasprintf("%s/%s", tmpdir, rel);
}

static int setup(void **state)
{
	char *cmd;
	int rc;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	/* a small tree with some bulk so both compressors work for it */
	cmd = hoist_xasprintf(
		"cd '%s' && mkdir -p src/etc src/usr/bin src/empty && "
		"echo hello > src/etc/hostname && "
		"seq 1 200000 > src/usr/bin/numbers && "
		"head -c 300000 /dev/urandom > src/usr/bin/random && "
		"chmod 0751 src/usr/bin/random && "
		"ln -s ../etc/hostname src/usr/hn && "
		"ln src/etc/hostname src/etc/hostname2",
		tmpdir);
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	hoist_fs_rm_rf(tmpdir, NULL);
	return 0;
}

static int mem_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	return hoist_buf_add(ctx, data, len, err);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Build a layer and check both digests against the stored blob. */
static void build_and_check(struct hoist_layer *l, struct hoist_store *s,
			    const char *src, enum hoist_compression c,
			    int64_t epoch)
{
	struct hoist_layer_opts o = {
		c, HOIST_COMP_LEVEL_DEFAULT, epoch, NULL, NULL, 0};
	struct hoist_decompressor *d;
	struct hoist_buf tar = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_sink sink = {mem_write, &tar};
	struct hoist_err err;
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *blob, *path;
	size_t len;

	if (hoist_layer_from_dir(l, s, src, &o, &err) < 0)
		fail_msg("layer: %s", err.msg);
	assert_int_equal(l->compression, c);
	path = hoist_store_blob_path(s, l->digest.str);
	assert_int_equal(hoist_fs_read_file(&blob, &len, path, 1 << 30, &err),
			 0);
	assert_int_equal(len, l->size);
	hoist_sha256_hex(blob, len, hex);
	assert_string_equal(l->digest.str + 7, hex);

	assert_int_equal(hoist_decompressor_new(&d, c, &sink, &err), 0);
	assert_int_equal(hoist_decompressor_write(d, blob, len, &err), 0);
	assert_int_equal(hoist_decompressor_finish(d, &err), 0);
	hoist_decompressor_free(d);
	assert_int_equal(tar.len, l->tar_size);
	assert_true(tar.len > 1300000 && tar.len % 512 == 0);
	hoist_sha256_hex(tar.data, tar.len, hex);
	assert_string_equal(l->diff_id.str + 7, hex);
	assert_memory_equal(l->diff_id.str, "sha256:", 7);
	if (c == HOIST_COMP_NONE)
		assert_string_equal(l->digest.str, l->diff_id.str);
	else
		assert_true(l->size < l->tar_size);
	hoist_buf_release(&tar);
	free(blob);
	free(path);
}

static void test_digests(void **state)
{
	static const enum hoist_compression kinds[] = {
		HOIST_COMP_NONE, HOIST_COMP_GZIP, HOIST_COMP_ZSTD};
	struct hoist_layer l[3];
	struct hoist_store *s;
	struct hoist_err err;
	char *root = tpath("store"), *src = tpath("src"),
	     *ingest = tpath("store/ingest");
	size_t i;

	(void)state;
	assert_int_equal(hoist_store_open(&s, root, &err), 0);
	for (i = 0; i < 3; i++)
		build_and_check(&l[i], s, src, kinds[i], -1);
	/* same tar under every compression */
	assert_string_equal(l[0].diff_id.str, l[1].diff_id.str);
	assert_string_equal(l[0].diff_id.str, l[2].diff_id.str);
	assert_string_not_equal(l[1].digest.str, l[2].digest.str);
	assert_int_equal(count_dir(ingest), 0);
	hoist_store_close(s);
	free(root);
	free(src);
	free(ingest);
}

static void test_epoch_copy(void **state)
{
	static const enum hoist_compression kinds[] = {HOIST_COMP_GZIP,
						       HOIST_COMP_ZSTD};
	struct hoist_layer a, b, c;
	struct hoist_store *s;
	struct hoist_err err;
	char *root = tpath("store"), *src = tpath("src"), *copy = tpath("copy");
	char *cmd;
	size_t i;

	(void)state;
	/* a copy whose mtimes differ but are all after the epoch */
	cmd = hoist_xasprintf("cp -a '%s' '%s' && find '%s' -exec touch -h -d "
			      "@2000000000 {} +",
			      src, copy, copy);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(hoist_store_open(&s, root, &err), 0);
	for (i = 0; i < 2; i++) {
		build_and_check(&a, s, src, kinds[i], 1000);
		build_and_check(&b, s, copy, kinds[i], 1000);
		assert_string_equal(a.digest.str, b.digest.str);
		assert_string_equal(a.diff_id.str, b.diff_id.str);
		/* without the epoch the mtimes show */
		build_and_check(&c, s, copy, kinds[i], -1);
		assert_string_not_equal(c.diff_id.str, a.diff_id.str);
	}
	hoist_store_close(s);
	free(root);
	free(src);
	free(copy);
}

/*
 * Runs in a child (which may have dropped root): 0 on success, else the
 * number of the failed check.
 */
static int unreadable_child(const char *base)
{
	struct hoist_layer_opts o = {HOIST_COMP_GZIP, 1, -1, NULL, NULL, 0};
	struct hoist_layer l;
	struct hoist_store *s;
	struct hoist_err err;
	char *root = hoist_xasprintf("%s/store", base);
	char *src = hoist_xasprintf("%s/tree", base);
	char *cmd = hoist_xasprintf(
		"mkdir -p '%s/sub' && echo a > '%s/a' && "
		"head -c 500000 /dev/urandom > '%s/big' && "
		"echo s > '%s/sub/secret' && chmod 000 '%s/sub/secret'",
		src, src, src, src, src);
	char *ingest = hoist_xasprintf("%s/ingest", root);
	int rc;

	if (system(cmd) != 0)
		return 1;
	if (hoist_store_open(&s, root, &err) < 0)
		return 2;
	rc = hoist_layer_from_dir(&l, s, src, &o, &err);
	if (rc != HOIST_EIO)
		return 3;
	if (!strstr(err.msg, "read 'sub/secret': Permission denied"))
		return 4;
	if (count_dir(ingest) != 0)
		return 5;
	hoist_store_close(s);
	/* nothing but the empty store skeleton: no blob was published */
	free(cmd);
	cmd = hoist_xasprintf("test -z \"$(find '%s/blobs' -type f)\"", root);
	if (system(cmd) != 0)
		return 6;
	free(cmd);
	free(root);
	free(src);
	free(ingest);
	return 0;
}

static void test_unreadable(void **state)
{
	char *base = tpath("unreadable");
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(mkdir(base, 0777), 0);
	assert_int_equal(chmod(base, 0777), 0);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* root reads everything: drop to nobody to get EACCES */
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(77);
		_exit(unreadable_child(base));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_epoch_copy),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
