/*
 * cache-scan.c: the stat walk of the build cache (see cache.h for the
 * model): the stat digest of an input tree, as git's index sees it (path,
 * mode, owner, size, times in ns, inode; xattr and link-target changes
 * show in the ctime), and the content digest
 * (what a layer takes, file bytes included), with the newest time seen
 * for the racy-entry rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cache-int.h"
#include "lib/tar.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/banned.h"

/* --- the stat walk --- */

struct scan {
	struct hoist_sha256 sha;
	struct hoist_cache_scan *out;
	struct hoist_buf rel; /* path relative to the root */
	int content;          /* hash what a layer takes, file bytes too */
	const struct hoist_cache_filter *filter; /* NULL: every entry */
};

static void put_u64(struct hoist_sha256 *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	hoist_sha256_update(h, b, sizeof(b));
}

void hoist_cache_put_bytes(struct hoist_sha256 *h, const void *p, size_t n)
{
	put_u64(h, n);
	hoist_sha256_update(h, p, n);
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct hoist_tar_xattr *)a)->name,
		      ((const struct hoist_tar_xattr *)b)->name);
}

/*
 * Hash of the xattrs (sorted by name, each with its value) into hex, or ""
 * when there are none. Read as the tar writer reads them, with no open.
 */
static int xattr_hash(char hex[HOIST_SHA256_HEXLEN + 1], int fd, int dirfd,
		      const char *name, const char *rel, struct hoist_err *err)
{
	struct hoist_tar_xattrs xs;
	struct hoist_sha256 h;
	int rc = hoist_tar_xattrs_read(&xs, fd, dirfd, name, rel, err);

	hex[0] = '\0';
	if (rc < 0 || !xs.n)
		goto out;
	qsort(xs.v, xs.n, sizeof(*xs.v), cmp_xattr);
	hoist_sha256_init(&h);
	for (size_t i = 0; i < xs.n; i++) {
		hoist_cache_put_bytes(&h, xs.v[i].name, strlen(xs.v[i].name));
		hoist_cache_put_bytes(&h, xs.v[i].value, xs.v[i].len);
	}
	hoist_sha256_final_hex(&h, hex);
out:
	hoist_tar_xattrs_release(&xs);
	return rc;
}

static void ts_max(struct timespec *m, const struct timespec *t)
{
	if (t->tv_sec > m->tv_sec ||
	    (t->tv_sec == m->tv_sec && t->tv_nsec > m->tv_nsec))
		*m = *t;
}

int hoist_cache_hash_fd(int fd, uint64_t size,
			char hex[HOIST_SHA256_HEXLEN + 1], const char *what,
			struct hoist_err *err)
{
	char buf[65536];
	struct hoist_sha256 h;
	uint64_t left = size;

	hoist_sha256_init(&h);
	while (left) {
		ssize_t got =
			read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			hoist_sha256_release(&h);
			return hoist_err_sys(
				err, got < 0 ? errno : EIO,
				"read '%s' (changed while reading?)", what);
		}
		hoist_sha256_update(&h, buf, (size_t)got);
		left -= (uint64_t)got;
	}
	hoist_sha256_final_hex(&h, hex);
	return 0;
}

/* Hash the bytes of the regular file name in dirfd (its size) into sc. */
static int scan_bytes(struct scan *sc, int dirfd, const char *name,
		      uint64_t size, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return hoist_err_sys(err, errno, "open '%s'", sc->rel.data);
	rc = hoist_cache_hash_fd(fd, size, hex, sc->rel.data, err);
	close(fd);
	if (rc)
		return rc;
	hoist_cache_put_bytes(&sc->sha, hex, strlen(hex));
	return 0;
}

/*
 * Hash one entry's record. fd is the entry itself (the root) or -1. The
 * content walk leaves out what says where a file is (inode, device, link
 * count, ctime, owner) and adds its bytes.
 */
static int scan_record(struct scan *sc, int fd, int dirfd, const char *name,
		       const struct stat *st, struct hoist_err *err)
{
	char xhex[HOIST_SHA256_HEXLEN + 1];
	char *target = NULL;
	size_t tlen = 0;
	int rc = 0;

	/*
	 * The stat walk reads neither link targets nor xattrs, as git's
	 * index does not: a symlink is never rewritten in place (a new
	 * target is a new inode), and setting or removing an xattr updates
	 * the ctime, which the record holds to the nanosecond (a change
	 * within the index's own tick is the racy rule's). That halves the
	 * system calls of an unchanged rebuild (W4/W5 in bench/RESULTS.md).
	 */
	xhex[0] = '\0';
	if (sc->content && S_ISLNK(st->st_mode) &&
	    (rc = hoist_fs_readlinkat(&target, &tlen, dirfd, name,
				      st->st_size > 0 ? (size_t)st->st_size : 0,
				      sc->rel.data, err)) < 0)
		goto out;
	if (sc->content &&
	    (rc = xattr_hash(xhex, fd, dirfd, name, sc->rel.data, err)) < 0)
		goto out;
	hoist_cache_put_bytes(&sc->sha, sc->rel.data, sc->rel.len);
	put_u64(&sc->sha, st->st_mode);
	if (sc->content) {
		put_u64(&sc->sha, (uint64_t)st->st_size);
		put_u64(&sc->sha, (uint64_t)st->st_mtim.tv_sec);
		put_u64(&sc->sha, (uint64_t)st->st_mtim.tv_nsec);
		put_u64(&sc->sha, st->st_rdev);
		hoist_cache_put_bytes(&sc->sha, xhex, strlen(xhex));
		hoist_cache_put_bytes(&sc->sha, target ? target : "", tlen);
		if (S_ISREG(st->st_mode) &&
		    (rc = scan_bytes(sc, dirfd, name, (uint64_t)st->st_size,
				     err)))
			goto out;
		goto times;
	}
	put_u64(&sc->sha, st->st_uid);
	put_u64(&sc->sha, st->st_gid);
	put_u64(&sc->sha, (uint64_t)st->st_size);
	put_u64(&sc->sha, (uint64_t)st->st_mtim.tv_sec);
	put_u64(&sc->sha, (uint64_t)st->st_mtim.tv_nsec);
	put_u64(&sc->sha, (uint64_t)st->st_ctim.tv_sec);
	put_u64(&sc->sha, (uint64_t)st->st_ctim.tv_nsec);
	put_u64(&sc->sha, st->st_ino);
	put_u64(&sc->sha, st->st_dev);
	put_u64(&sc->sha, st->st_nlink);
	put_u64(&sc->sha, st->st_rdev);
times:
	sc->out->entries++;
	ts_max(&sc->out->newest, &st->st_mtim);
	ts_max(&sc->out->newest, &st->st_ctim);
	if (!st->st_mtim.tv_nsec && !st->st_ctim.tv_nsec) {
		int64_t s = st->st_mtim.tv_sec > st->st_ctim.tv_sec
				    ? st->st_mtim.tv_sec
				    : st->st_ctim.tv_sec;
		if (s > sc->out->newest_coarse)
			sc->out->newest_coarse = s;
	}
out:
	free(target);
	return rc;
}

static void buf_cut(struct hoist_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* Record every member of the directory open at dfd; closes dfd. */
static int scan_dir(struct scan *sc, int dfd, struct hoist_err *err)
{
	char **names = NULL;
	size_t n = 0, rel_len = sc->rel.len;
	int rc = hoist_fs_dir_names(&names, &n, dfd, sc->rel.data, err);

	for (size_t i = 0; !rc && i < n; i++) {
		struct stat st;

		buf_cut(&sc->rel, rel_len);
		if ((rel_len && (rc = hoist_buf_addch(&sc->rel, '/', err))) ||
		    (rc = hoist_buf_adds(&sc->rel, names[i], err)))
			break;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = hoist_err_sys(err, errno, "stat '%s'",
					   sc->rel.data);
			break;
		}
		if (sc->filter &&
		    sc->filter->skip(sc->filter->ctx, sc->rel.data,
				     S_ISDIR(st.st_mode)))
			continue;
		if ((rc = scan_record(sc, -1, dfd, names[i], &st, err)))
			break;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dfd, names[i],
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC);
			if (fd < 0) {
				rc = hoist_err_sys(err, errno, "read '%s'",
						   sc->rel.data);
				break;
			}
			rc = scan_dir(sc, fd, err);
		}
	}
	buf_cut(&sc->rel, rel_len);
	hoist_fs_names_free(names, n);
	close(dfd);
	return rc;
}

/*
 * Walk path (a directory, or any other file: one record) into out; with
 * content, the content digest instead of the stat digest.
 */
int hoist_cache_scan_path(struct hoist_cache_scan *out, const char *path,
			  int content, const struct hoist_cache_filter *filter,
			  struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct scan sc;
	struct stat st;
	int fd = -1, rc;

	memset(out, 0, sizeof(*out));
	out->newest_coarse = INT64_MIN;
	memset(&sc, 0, sizeof(sc));
	sc.out = out;
	sc.content = content;
	sc.filter = filter;
	hoist_buf_init(&sc.rel, HOIST_BUF_UNLIMITED);
	hoist_sha256_init(&sc.sha);
	hoist_cache_put_bytes(&sc.sha,
			      content ? "hoist-content" : "hoist-stat-index",
			      content ? 13 : 16);
	if (lstat(path, &st) < 0) {
		rc = hoist_err_sys(err, errno, "stat '%s'", path);
	} else if (!S_ISDIR(st.st_mode)) {
		/* a file at the root: one record, read through its parent */
		const char *slash = strrchr(path, '/');
		char *parent =
			slash ? hoist_xstrndup(path, (size_t)(slash - path))
			      : hoist_xstrdup(".");
		int pfd = open(*parent ? parent : "/",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0) {
			rc = hoist_err_sys(err, errno, "open '%s'", parent);
		} else {
			rc = scan_record(&sc, -1, pfd, slash ? slash + 1 : path,
					 &st, err);
			close(pfd);
		}
		free(parent);
	} else if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = hoist_err_sys(err, errno, "open '%s'", path);
	} else if (fstat(fd, &st) < 0) {
		rc = hoist_err_sys(err, errno, "stat '%s'", path);
		close(fd);
	} else if (!(rc = scan_record(&sc, fd, -1, NULL, &st, err))) {
		rc = scan_dir(&sc, fd, err);
	} else {
		close(fd);
	}
	if (rc) {
		hoist_sha256_release(&sc.sha);
		memset(out, 0, sizeof(*out));
	} else {
		hoist_sha256_final_hex(&sc.sha, hex);
		hoist_digest_from_sha256_hex(&out->stat, hex);
	}
	hoist_buf_release(&sc.rel);
	return rc;
}

int hoist_cache_scan_tree(struct hoist_cache_scan *out, const char *dir,
			  struct hoist_err *err)
{
	return hoist_cache_scan_path(out, dir, 0, NULL, err);
}

int hoist_cache_scan_racy(const struct hoist_cache_scan *scan,
			  const struct timespec *start)
{
	if (scan->newest.tv_sec > start->tv_sec ||
	    (scan->newest.tv_sec == start->tv_sec &&
	     scan->newest.tv_nsec >= start->tv_nsec))
		return 1;
	return scan->newest_coarse >= (int64_t)start->tv_sec;
}
