/*
 * test-cache.c: the build cache. An unchanged tree is reused with the same
 * digests; each change the issue lists rebuilds (content rewritten with
 * size and mtime restored, mode, owner, xattr, a file added or removed, a
 * hard link, a symlink retargeted); an entry as new as the index is never
 * trusted; a missing, truncated or damaged blob is rebuilt; concurrent builds
 * keep the index readable; recompression records and prune; content digests
 * through the stat index and the records of Dockerfile steps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/cache.h"
#include "lib/layer.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

struct fx {
	char *tmp, *tree, *root;
	struct hoist_store *s;
	struct hoist_cache *c;
};

static char *tp(const struct fx *f, const char *rel)
{
	return hoist_xasprintf("%s/%s", f->tree, rel);
}

static int setup(void **state)
{
	struct fx *f = hoist_xcalloc(1, sizeof(*f));
	struct hoist_err err;

	f->tmp = tl_mkdtemp("cache");
	if (!f->tmp)
		return -1;
	f->tree = hoist_xasprintf("%s/tree", f->tmp);
	f->root = hoist_xasprintf("%s/store", f->tmp);
	tl_must_run("mkdir -p '%s' && cd '%s' && mkdir -p sub/deep && echo "
		    "hello > a && "
		    "echo world > sub/b && seq 1 5000 > sub/deep/n && "
		    "ln -s a la && ln -s sub/b lb",
		    f->tree, f->tree);
	if (hoist_store_open(&f->s, f->root, &err) < 0 ||
	    hoist_cache_open(&f->c, f->s, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hoist_cache_close(f->c);
	hoist_store_close(f->s);
	tl_rm_rf(f->tmp);
	free(f->tmp);
	free(f->tree);
	free(f->root);
	free(f);
	return 0;
}

/* Wait until the file system's clock has passed t (a file's ctime). */
static void wait_past(const struct fx *f, const struct timespec *t)
{
	char *probe = hoist_xasprintf("%s/probe", f->tmp);
	uint64_t t0 = tl_mono_ms();

	for (;;) {
		struct stat st;
		int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		close(fd);
		unlink(probe);
		if (st.st_ctim.tv_sec > t->tv_sec ||
		    (st.st_ctim.tv_sec == t->tv_sec &&
		     st.st_ctim.tv_nsec > t->tv_nsec))
			break;
		assert_true(tl_mono_ms() - t0 < 5000);
		usleep(2000);
	}
	free(probe);
}

/* Wait until the next build may trust the tree (see "racy" in cache.h). */
static void settle(const struct fx *f)
{
	struct hoist_cache_scan sc;
	struct hoist_err err;

	assert_int_equal(hoist_cache_scan_tree(&sc, f->tree, &err), 0);
	wait_past(f, &sc.newest);
}

/* Build with the cache; returns whether it was a hit. */
static int build(const struct fx *f, struct hoist_layer *l,
		 enum hoist_compression comp, int level)
{
	struct hoist_layer_opts o = {comp, level, -1, NULL, NULL, 0};
	struct hoist_err err;
	int hit = -1;

	if (hoist_cache_layer_from_dir(l, &hit, f->c, f->s, f->tree, &o, &err) <
	    0)
		fail_msg("build: %s", err.msg);
	assert_true(hit == 0 || hit == 1);
	return hit;
}

static int build_gz(const struct fx *f, struct hoist_layer *l)
{
	return build(f, l, HOIST_COMP_GZIP, HOIST_COMP_LEVEL_DEFAULT);
}

/* Settle, build (a miss the first time), then a hit with the same digests. */
static void prime(const struct fx *f, struct hoist_layer *l)
{
	struct hoist_layer again;

	settle(f);
	build_gz(f, l);
	assert_int_equal(build_gz(f, &again), 1);
	assert_string_equal(again.digest.str, l->digest.str);
	assert_string_equal(again.diff_id.str, l->diff_id.str);
	assert_int_equal(again.size, l->size);
	assert_int_equal(again.tar_size, l->tar_size);
	assert_int_equal(again.compression, HOIST_COMP_GZIP);
}

/* After a change: a miss, and once settled a hit again. */
static void expect_rebuild(const struct fx *f, const struct hoist_layer *old,
			   int same_diff_id)
{
	struct hoist_layer l, l2;

	assert_int_equal(build_gz(f, &l), 0);
	if (same_diff_id)
		assert_string_equal(l.diff_id.str, old->diff_id.str);
	else
		assert_string_not_equal(l.diff_id.str, old->diff_id.str);
	/* the change may be as new as that build: it may not be recorded */
	settle(f);
	build_gz(f, &l2);
	assert_int_equal(build_gz(f, &l2), 1);
	assert_string_equal(l2.diff_id.str, l.diff_id.str);
}

static void test_unchanged(void **state)
{
	struct fx *f = *state;
	struct hoist_layer gz, zs, zs2, raw, again;

	settle(f);
	assert_int_equal(build_gz(f, &gz), 0);
	prime(f, &gz);
	/* other compressions and levels are separate blobs of one index */
	assert_int_equal(build(f, &zs, HOIST_COMP_ZSTD, 3), 0);
	assert_int_equal(build(f, &zs2, HOIST_COMP_ZSTD, 3), 1);
	assert_string_equal(zs.digest.str, zs2.digest.str);
	assert_string_equal(zs.diff_id.str, gz.diff_id.str);
	assert_int_equal(build(f, &raw, HOIST_COMP_NONE, 0), 0);
	assert_int_equal(build(f, &raw, HOIST_COMP_NONE, 0), 1);
	assert_string_equal(raw.digest.str, raw.diff_id.str);
	assert_int_equal(build(f, &again, HOIST_COMP_ZSTD, 9), 0);
	assert_int_equal(build_gz(f, &again), 1);
	assert_string_equal(again.digest.str, gz.digest.str);
	assert_int_equal(build(f, &again, HOIST_COMP_ZSTD, 3), 1);
}

static void test_content_size_mtime_restored(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	struct timespec ts[2];
	struct stat st;
	char *p = tp(f, "sub/b");

	prime(f, &l);
	assert_int_equal(stat(p, &st), 0);
	tl_write_file(p, "WORLD\n", 0644); /* same size */
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 6);
	assert_int_equal(st.st_mtim.tv_nsec, ts[1].tv_nsec);
	expect_rebuild(f, &l, 0);
	free(p);
}

static void test_mode(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *p = tp(f, "a");

	prime(f, &l);
	assert_int_equal(chmod(p, 0600), 0);
	expect_rebuild(f, &l, 0);
	free(p);
}

static void test_owner(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *p = tp(f, "sub/deep/n");

	if (geteuid() != 0) {
		if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
			fail_msg("CI must run this test as root (chown)");
		skip();
	}
	prime(f, &l);
	assert_int_equal(lchown(p, 4321, 4321), 0);
	expect_rebuild(f, &l, 0);
	free(p);
}

static void test_xattr(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *p = tp(f, "a");

	prime(f, &l);
	if (setxattr(p, "user.hoist", "1", 1, 0) < 0) {
		if (errno == ENOTSUP && !getenv("CI"))
			skip();
		fail_msg("setxattr: %s", strerror(errno));
	}
	expect_rebuild(f, &l, 0);
	/* a value change only */
	prime(f, &l);
	assert_int_equal(setxattr(p, "user.hoist", "2", 1, 0), 0);
	expect_rebuild(f, &l, 0);
	free(p);
}

static void test_add_remove(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *p = tp(f, "sub/deep/new");

	prime(f, &l);
	tl_write_file(p, "", 0644);
	expect_rebuild(f, &l, 0);
	prime(f, &l);
	assert_int_equal(unlink(p), 0);
	expect_rebuild(f, &l, 0);
	free(p);
}

static void test_hardlink(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *a = tp(f, "a"), *c = tp(f, "c");

	/* c: a copy of a, then the same name as a hard link to a */
	tl_write_file(c, "hello\n", 0644);
	prime(f, &l);
	assert_int_equal(unlink(c), 0);
	assert_int_equal(link(a, c), 0);
	expect_rebuild(f, &l, 0);
	free(a);
	free(c);
}

static void test_symlink(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *la = tp(f, "la");

	prime(f, &l);
	/* same length, so the link's size does not change */
	assert_int_equal(unlink(la), 0);
	assert_int_equal(symlink("b", la), 0);
	expect_rebuild(f, &l, 0);
	free(la);
}

/* An entry newer than the start of a build is never trusted. */
static void test_racy(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l, l2;
	struct timespec ts[2];
	struct stat st;
	char *p = tp(f, "a"), *dir = hoist_xasprintf("%s/cache", f->root);

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += 3600;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(lstat(p, &st), 0);
	wait_past(f, &st.st_ctim); /* so that only the mtime is too new */
	assert_int_equal(build_gz(f, &l), 0);
	assert_int_equal(build_gz(f, &l2), 0);
	assert_string_equal(l.digest.str, l2.digest.str);
	assert_int_equal(tl_count_dir(dir, 0), 1); /* the lock only */
	free(dir);
	free(p);
}

static void test_blob_gone(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l, l2;
	char *blob;

	prime(f, &l);
	blob = hoist_store_blob_path(f->s, l.digest.str);
	assert_int_equal(unlink(blob), 0);
	assert_int_equal(build_gz(f, &l2), 0);
	assert_string_equal(l2.digest.str, l.digest.str);
	assert_true(hoist_fs_exists(blob));
	/* A blob of another size than recorded is not trusted. */
	assert_int_equal(chmod(blob, 0644), 0);
	assert_int_equal(truncate(blob, 10), 0);
	assert_int_equal(build_gz(f, &l2), 0);
	assert_string_equal(l2.digest.str, l.digest.str);
	free(blob);
}

/* Flip one byte of a blob file in place, its size and mtime kept. */
static void damage(const char *blob)
{
	struct stat st;
	struct timespec ts[2];
	unsigned char byte;
	int fd;

	assert_int_equal(stat(blob, &st), 0);
	assert_int_equal(chmod(blob, 0644), 0);
	fd = open(blob, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, st.st_size / 2), 1);
	byte ^= 0xff;
	assert_int_equal(pwrite(fd, &byte, 1, st.st_size / 2), 1);
	close(fd);
	assert_int_equal(chmod(blob, st.st_mode & 07777), 0);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, blob, ts, 0), 0);
}

/* 1 if the blob file of d hashes to d. */
static int blob_sound(const struct fx *f, const struct hoist_digest *d)
{
	char *blob = hoist_store_blob_path(f->s, d->str), *data, hex[65];
	size_t len;
	int ok;

	data = tl_must_read(blob, &len);
	hoist_sha256_hex(data, len, hex);
	ok = strcmp(hex, d->str + strlen("sha256:")) == 0;
	free(data);
	free(blob);
	return ok;
}

/*
 * A blob that fails its digest (same size, mtime restored) is never
 * trusted: the layer is built again and its bytes replace the damaged
 * file; the same for a recompression record. A blob file replaced by the
 * same bytes (another inode) is read once, found sound and reused.
 */
static void test_blob_damaged(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l, l2, zs;
	struct hoist_digest d;
	struct hoist_err err;
	uint64_t size;
	char *blob, *copy;

	prime(f, &l);
	blob = hoist_store_blob_path(f->s, l.digest.str);
	damage(blob);
	assert_false(blob_sound(f, &l.digest));
	assert_int_equal(build_gz(f, &l2), 0);
	assert_string_equal(l2.digest.str, l.digest.str);
	assert_true(blob_sound(f, &l.digest));
	settle(f);
	build_gz(f, &l2);
	assert_int_equal(build_gz(f, &l2), 1);

	copy = hoist_xasprintf("%s.copy", blob);
	tl_must_run("cp -p '%s' '%s' && mv -f '%s' '%s'", blob, copy, copy,
		    blob);
	assert_int_equal(build_gz(f, &l2), 1);
	assert_string_equal(l2.digest.str, l.digest.str);

	assert_int_equal(build(f, &zs, HOIST_COMP_ZSTD, 3), 0);
	assert_int_equal(hoist_cache_recomp_put(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 1, &l.digest,
						l.size, NULL, &err),
			 0);
	damage(blob);
	assert_int_equal(hoist_cache_recomp_get(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 1, &d, &size,
						NULL),
			 0);
	free(copy);
	free(blob);
}

static void test_concurrent(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	pid_t pids[3];

	settle(f);
	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct hoist_layer_opts o = {i == 1 ? HOIST_COMP_ZSTD
							    : HOIST_COMP_GZIP,
						     HOIST_COMP_LEVEL_DEFAULT,
						     -1,
						     NULL,
						     NULL,
						     0};
			struct hoist_err err;
			int hit;
			_exit(hoist_cache_layer_from_dir(&l, &hit, f->c, f->s,
							 f->tree, &o,
							 &err) < 0);
		}
	}
	for (int i = 0; i < 3; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* the last writer's index is whole; a hit for what it recorded */
	/* each writer kept the others' blobs */
	assert_int_equal(build_gz(f, &l), 1);
	assert_int_equal(
		build(f, &l, HOIST_COMP_ZSTD, HOIST_COMP_LEVEL_DEFAULT), 1);
}

static void test_recomp_and_prune(void **state)
{
	struct fx *f = *state;
	struct hoist_cache_prune_stats ps;
	struct hoist_layer gz, zs;
	struct hoist_digest d;
	struct hoist_err err;
	char *dir = hoist_xasprintf("%s/cache", f->root), *blob;
	char *bad = hoist_xasprintf("%s/layer-x.json", dir);
	uint64_t size;

	prime(f, &gz);
	assert_int_equal(build(f, &zs, HOIST_COMP_ZSTD, 3), 0);
	/* recompression records: only while the blob is there */
	assert_int_equal(hoist_cache_recomp_get(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 1, &d, &size,
						NULL),
			 0);
	assert_int_equal(hoist_cache_recomp_put(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 1, &gz.digest,
						gz.size, NULL, &err),
			 0);
	assert_int_equal(hoist_cache_recomp_get(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 1, &d, &size,
						NULL),
			 1);
	assert_string_equal(d.str, gz.digest.str);
	assert_int_equal(size, gz.size);
	assert_int_equal(hoist_cache_recomp_get(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 2, &d, &size,
						NULL),
			 0);
	/* nothing is gone: prune keeps everything */
	assert_int_equal(hoist_cache_prune(f->c, 0, &ps, &err), 0);
	assert_int_equal(ps.entries_removed, 0);
	assert_int_equal(ps.blobs_dropped, 0);
	assert_int_equal(tl_count_dir(dir, 0), 3); /* lock, layer, recomp */
	/* the gzip blob goes: its record and the recompression go */
	blob = hoist_store_blob_path(f->s, gz.digest.str);
	assert_int_equal(unlink(blob), 0);
	free(blob);
	assert_int_equal(hoist_cache_recomp_get(f->c, zs.digest.str,
						HOIST_COMP_GZIP, 1, &d, &size,
						NULL),
			 0);
	assert_int_equal(hoist_cache_prune(f->c, 0, &ps, &err), 0);
	assert_int_equal(ps.entries_removed, 1);
	assert_int_equal(ps.blobs_dropped, 1);
	assert_int_equal(tl_count_dir(dir, 0), 2);
	assert_int_equal(build(f, &zs, HOIST_COMP_ZSTD, 3), 1);
	/* damaged index files go too */
	tl_write_file(bad, "{", 0644);
	assert_int_equal(hoist_cache_prune(f->c, 0, &ps, &err), 0);
	assert_int_equal(ps.entries_removed, 1);
	/* --all */
	assert_int_equal(hoist_cache_prune(f->c, 1, &ps, &err), 0);
	assert_int_equal(ps.entries_removed, 1);
	assert_int_equal(tl_count_dir(dir, 0), 1);
	assert_int_equal(build(f, &zs, HOIST_COMP_ZSTD, 3), 0);
	free(bad);
	free(dir);
}

/* A damaged index is a miss, never an error. */
static void test_damaged_index(void **state)
{
	struct fx *f = *state;
	struct hoist_layer l;
	char *cmd;

	prime(f, &l);
	cmd = hoist_xasprintf("cd '%s/cache' && for f in layer-*; do "
			      "head -c 40 $f > t && mv t $f; done",
			      f->root);
	tl_must_run("%s", cmd);
	assert_int_equal(build_gz(f, &l), 0);
	assert_int_equal(build_gz(f, &l), 1);
	free(cmd);
}

static int content(const struct fx *f, struct hoist_cache *c, const char *rel,
		   const struct hoist_cache_filter *flt, struct hoist_digest *d)
{
	struct hoist_err err;
	char *p = tp(f, rel);
	int read = -1;

	if (hoist_cache_content_digest(d, &read, c, p, flt, &err) < 0)
		fail_msg("content: %s", err.msg);
	free(p);
	assert_true(read == 0 || read == 1);
	return read;
}

static int skip_sub(void *ctx, const char *rel, int dir)
{
	(void)ctx;
	return dir && strcmp(rel, "sub") == 0;
}

/*
 * Content digests: read once, then known from the stat index; the same
 * for a copy elsewhere and without a cache; a change with size and mtime
 * restored is read again; a filter's entries are in neither digest.
 */
static void test_content_digest(void **state)
{
	struct fx *f = *state;
	struct hoist_cache_filter flt = {skip_sub, NULL, "no sub"};
	struct hoist_digest d1, d2, d3, fa, fs1, fs2;
	struct timespec ts[2];
	struct stat st;
	char *p = tp(f, "sub/b");

	settle(f);
	assert_int_equal(content(f, f->c, "", NULL, &d1), 1);
	assert_int_equal(content(f, f->c, "", NULL, &d2), 0);
	assert_string_equal(d1.str, d2.str);
	assert_int_equal(content(f, NULL, "", NULL, &d2), 1);
	assert_string_equal(d1.str, d2.str);
	tl_must_run("cp -a '%s' '%s/copy'", f->tree, f->tmp);
	settle(f);
	assert_int_equal(content(f, f->c, "../copy", NULL, &d3), 1);
	assert_int_equal(content(f, f->c, "../copy", NULL, &d3), 0);
	assert_string_equal(d3.str, d1.str); /* a copy: same content */
	tl_must_run("rm -rf '%s/copy'", f->tmp);
	/* one file */
	assert_int_equal(content(f, f->c, "a", NULL, &fa), 1);
	assert_int_equal(content(f, f->c, "a", NULL, &d3), 0);
	assert_string_equal(fa.str, d3.str);
	assert_string_not_equal(fa.str, d1.str);
	/* a filter: sub is left out */
	settle(f);
	assert_int_equal(content(f, f->c, "", &flt, &fs1), 1);
	assert_string_not_equal(fs1.str, d1.str);
	assert_int_equal(content(f, f->c, "", NULL, &d1), 0); /* the tree */
	assert_int_equal(stat(p, &st), 0);
	tl_write_file(p, "WORLD\n", 0644); /* same size, same mtime */
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	settle(f);
	assert_int_equal(content(f, f->c, "", &flt, &fs2), 0);
	assert_string_equal(fs1.str, fs2.str);
	assert_int_equal(content(f, f->c, "", NULL, &d2), 1);
	assert_string_not_equal(d1.str, d2.str);
	assert_int_equal(content(f, f->c, "", NULL, &d3), 0);
	assert_string_equal(d2.str, d3.str);
	free(p);
}

/* Step records: a layer while its blob is there, an empty step always;
 * prune drops what is gone (content digests of removed trees too). */
static void test_step_records(void **state)
{
	struct fx *f = *state;
	struct hoist_layer_opts o = {
		HOIST_COMP_GZIP, HOIST_COMP_LEVEL_DEFAULT, -1, NULL, NULL, 0};
	struct hoist_layer_opts zo = {HOIST_COMP_ZSTD, 3, -1, NULL, NULL, 0};
	struct hoist_cache_prune_stats ps;
	struct hoist_digest k1, k2, d;
	struct hoist_layer l, got;
	struct hoist_err err;
	char *dir = hoist_xasprintf("%s/cache", f->root), *blob;
	int empty = -1;

	hoist_digest_from_sha256_hex(&k1, "1111111111111111111111111111111111"
					  "111111111111111111111111111111");
	hoist_digest_from_sha256_hex(&k2, "2222222222222222222222222222222222"
					  "222222222222222222222222222222");
	prime(f, &l);
	assert_int_equal(hoist_cache_step_get(f->c, &k1, &o, &empty, &got), 0);
	assert_int_equal(hoist_cache_step_put(f->c, &k1, &o, 0, &l, &err), 0);
	assert_int_equal(hoist_cache_step_put(f->c, &k2, &o, 1, NULL, &err), 0);
	assert_int_equal(hoist_cache_step_get(f->c, &k1, &o, &empty, &got), 1);
	assert_int_equal(empty, 0);
	assert_string_equal(got.digest.str, l.digest.str);
	assert_string_equal(got.diff_id.str, l.diff_id.str);
	assert_int_equal(got.size, l.size);
	assert_int_equal(got.tar_size, l.tar_size);
	/* another compression is not what was recorded */
	assert_int_equal(hoist_cache_step_get(f->c, &k1, &zo, &empty, &got), 0);
	assert_int_equal(hoist_cache_step_get(NULL, &k1, &o, &empty, &got), 0);
	assert_int_equal(hoist_cache_step_get(f->c, &k2, &o, &empty, &got), 1);
	assert_int_equal(empty, 1);
	/* a content record of a tree that goes */
	tl_must_run("mkdir '%s/gone' && echo x > '%s/gone/x'", f->tree,
		    f->tree);
	settle(f);
	content(f, f->c, "gone", NULL, &d);
	assert_int_equal(content(f, f->c, "gone", NULL, &d), 0);
	tl_must_run("rm -rf '%s/gone'", f->tree);
	/* lock, layer, two steps, one content record */
	assert_int_equal(tl_count_dir(dir, 0), 5);
	blob = hoist_store_blob_path(f->s, l.digest.str);
	assert_int_equal(unlink(blob), 0);
	free(blob);
	assert_int_equal(hoist_cache_step_get(f->c, &k1, &o, &empty, &got), 0);
	assert_int_equal(hoist_cache_prune(f->c, 0, &ps, &err), 0);
	assert_int_equal(ps.entries_removed, 3); /* layer, step 1, content */
	assert_int_equal(tl_count_dir(dir, 0), 2);
	assert_int_equal(hoist_cache_step_get(f->c, &k2, &o, &empty, &got), 1);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_unchanged),
		T(test_content_size_mtime_restored),
		T(test_mode),
		T(test_owner),
		T(test_xattr),
		T(test_add_remove),
		T(test_hardlink),
		T(test_symlink),
		T(test_racy),
		T(test_blob_gone),
		T(test_blob_damaged),
		T(test_concurrent),
		T(test_recomp_and_prune),
		T(test_damaged_index),
		T(test_content_digest),
		T(test_step_records),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
