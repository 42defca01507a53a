/*
 * test-resolve.c: the in-root resolver, security-critical. A scratch root
 * holds hostile symlinks (absolute, "..", loops, to outside); every walk
 * must stay inside the root, with and without openat2, and say exactly
 * what is wrong when it refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/resolve.h"
#include "util/mem.h"
#include "util/path.h"
#include "util/strmap.h"
#include "testlib.h"
#include "util/banned.h"

static int rootfd = -1;

/* The (st_dev, st_ino) of fd equals the one of path. */
static void assert_same(int fd, const char *rel)
{
	struct stat a, b;
	char *p = hoist_xasprintf("%s/%s", tl_tmp, rel);

	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(p, &b), 0);
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail_msg("resolved to another directory than '%s'", rel);
	free(p);
}

static int walk(const char *dir, int flags, char **canon, struct hoist_err *err)
{
	struct hoist_resolver r = {rootfd, NULL, NULL};
	hoist_err_clear(err);
	return hoist_resolve_walk(&r, dir, flags, "parent", canon, err);
}

static int lookup(const char *dir, int flags, struct hoist_err *err)
{
	struct hoist_resolver r = {rootfd, NULL, NULL};
	hoist_err_clear(err);
	return hoist_resolve_lookup(&r, dir, flags, "parent", err);
}

static void check_in_root(int use_openat2)
{
	static const struct {
		const char *path, *lands, *canon;
	} cases[] = {
		{"", "root", ""},
		{"usr/lib", "root/usr/lib", "usr/lib"},
		{"lib", "root/usr/lib", "usr/lib"},      /* lib -> usr/lib */
		{"abs", "root/usr/lib", "usr/lib"},      /* abs -> /usr/lib */
		{"up", "root", ""},                      /* up -> ../../.. */
		{"etc", "root/etc", "etc"},              /* not the host's */
		{"hostetc", "root/etc", "etc"},          /* -> /etc */
		{"usr/../../../usr", "root/usr", "usr"}, /* ".." floored */
		{"chain", "root/usr/lib", "usr/lib"},    /* chain -> lib */
	};
	struct hoist_err err;

	hoist_resolve_set_openat2(use_openat2);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *canon = NULL;
		int fd = walk(cases[i].path, 0, &canon, &err);
		if (fd < 0)
			fail_msg("walk '%s': %s", cases[i].path, err.msg);
		assert_same(fd, cases[i].lands);
		assert_string_equal(canon, cases[i].canon);
		close(fd);
		free(canon);
		fd = lookup(cases[i].path, 0, &err);
		if (fd < 0)
			fail_msg("lookup '%s': %s", cases[i].path, err.msg);
		assert_same(fd, cases[i].lands);
		close(fd);
	}
	hoist_resolve_set_openat2(1);
}

static void test_in_root(void **state)
{
	(void)state;
	check_in_root(1);
	check_in_root(0);
}

static void test_refusals(void **state)
{
	struct hoist_err err;

	(void)state;
	for (int o2 = 1; o2 >= 0; o2--) {
		hoist_resolve_set_openat2(o2);
		/* a loop: EINVAL, the input's doing */
		assert_int_equal(walk("loop/x", 0, NULL, &err), HOIST_EINVAL);
		assert_non_null(strstr(err.msg, "parent 'loop/x'"));
		assert_true(lookup("loop", 0, &err) < 0);
		/* a file is not a directory */
		assert_int_equal(walk("usr/file/x", 0, NULL, &err),
				 HOIST_EINVAL);
		assert_non_null(
			strstr(err.msg, "'usr/file' is not a directory"));
		/* NOFOLLOW: a symlink anywhere is refused, by name */
		assert_int_equal(
			walk("lib", HOIST_RESOLVE_NOFOLLOW, NULL, &err),
			HOIST_EINVAL);
		assert_non_null(strstr(err.msg, "parent 'lib' is a symlink"));
		assert_true(lookup("abs", HOIST_RESOLVE_NOFOLLOW, &err) < 0);
		/* missing, without CREATE */
		assert_true(walk("usr/nope/x", 0, NULL, &err) < 0);
		assert_non_null(strstr(err.msg, "'usr/nope'"));
	}
	hoist_resolve_set_openat2(1);
}

static void test_create(void **state)
{
	struct hoist_err err;
	char *canon = NULL, *p;
	struct stat st;
	int fd;

	(void)state;
	/* created through a symlink: inside the root, never outside */
	fd = walk("hostetc/new/deeper", HOIST_RESOLVE_CREATE, &canon, &err);
	if (fd < 0)
		fail_msg("create: %s", err.msg);
	assert_string_equal(canon, "etc/new/deeper");
	assert_same(fd, "root/etc/new/deeper");
	close(fd);
	free(canon);
	p = hoist_xasprintf("%s/outside/new", tl_tmp);
	assert_int_equal(stat(p, &st), -1);
	free(p);

	/* hoist_resolve_open_dir: a destination whose inner component is a
	 * symlink to outside is refused, nothing is made outside */
	p = hoist_xasprintf("%s/root", tl_tmp);
	fd = hoist_resolve_open_dir(p, "out/blobs/sha256", 1, &err);
	assert_true(fd < 0);
	assert_non_null(strstr(err.msg, "is a symlink"));
	fd = hoist_resolve_open_dir(p, "fresh/blobs/sha256", 1, &err);
	assert_true(fd >= 0);
	close(fd);
	free(p);
	p = hoist_xasprintf("%s/root/fresh/blobs", tl_tmp);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	free(p);
	assert_int_equal(tl_count_dir(tl_tmp, 0), 2); /* root, outside */
	p = hoist_xasprintf("%s/outside", tl_tmp);
	assert_int_equal(tl_count_dir(p, 0), 1); /* only "etc" */
	free(p);
}

static void test_util(void **state)
{
	struct hoist_strmap m = HOIST_STRMAP_INIT;
	char key[32];
	char *n;

	(void)state;
	n = hoist_path_norm("/./a//b/../c/");
	assert_string_equal(n, "a/c");
	free(n);
	n = hoist_path_norm("../../x");
	assert_string_equal(n, "x");
	free(n);
	n = hoist_path_norm("..");
	assert_string_equal(n, "");
	free(n);
	for (size_t i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_int_equal(hoist_strmap_put(&m, key, i), 1);
	}
	assert_int_equal(hoist_strmap_put(&m, "k7", 0), 0);
	for (size_t i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_int_equal(*hoist_strmap_get(&m, key), i);
	}
	assert_null(hoist_strmap_get(&m, "nope"));
	hoist_strmap_release(&m);
	assert_null(hoist_strmap_get(&m, "k1"));
}

static int setup(void **state)
{
	char *sh, *root;
	int rc;

	if (tl_tmp_setup(state))
		return -1;
	sh = hoist_xasprintf(
		"cd '%s' && mkdir -p root/usr/lib root/etc outside/etc && "
		"touch root/usr/file && cd root && "
		"ln -s usr/lib lib && ln -s /usr/lib abs && "
		"ln -s ../../.. up && ln -s /etc hostetc && "
		"ln -s loop loop && ln -s lib chain && "
		"ln -s '%s/outside' out",
		tl_tmp, tl_tmp);
	rc = tl_sh(sh);
	free(sh);
	root = hoist_xasprintf("%s/root", tl_tmp);
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(root);
	return rc == 0 && rootfd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	close(rootfd);
	return tl_tmp_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_root),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_util),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
