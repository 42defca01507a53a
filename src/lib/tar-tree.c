/*
 * tar-tree.c: a directory tree into the tar writer (hoist_tar_write_tree),
 * sorted byte-wise at every level, hard links found by (dev, ino), times
 * clamped to the epoch, xattrs in key order.
 *
 * The walk only ever reaches files through *at() calls on directory fds it
 * opened itself with O_NOFOLLOW, and regular files are re-checked with fstat
 * after opening, so a tree that changes while we read it can make the build
 * fail but cannot redirect it to a file outside the tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/tar.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define READ_BUF (256 * 1024)

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *name; /* archive name of the first occurrence */
};

struct walk {
	struct hoist_tar_writer *w;
	const struct hoist_tar_tree_opts *opts;
	char *prefix;           /* "" or "dir/" */
	struct hoist_buf rel;   /* path relative to the root, for messages */
	struct hoist_buf aname; /* archive name being built */
	char *buf;              /* READ_BUF bytes for file data */
	struct hardlink *links; /* open-addressing table */
	size_t nlinks, caplinks;
};

static size_t link_slot(const struct walk *wk, dev_t dev, ino_t ino)
{
	uint64_t hsh = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^
		       ((uint64_t)ino * 0xff51afd7ed558ccdULL);

	return (size_t)(hsh ^ (hsh >> 29)) & (wk->caplinks - 1);
}

/* The first name recorded for (dev, ino), or NULL after recording name. */
static const char *link_check(struct walk *wk, dev_t dev, ino_t ino,
			      const char *name)
{
	size_t i;

	if (2 * (wk->nlinks + 1) > wk->caplinks) {
		struct hardlink *old = wk->links;
		size_t oldcap = wk->caplinks;

		wk->caplinks = oldcap ? oldcap * 2 : 64;
		wk->links = hoist_xcalloc(wk->caplinks, sizeof(*wk->links));
		for (i = 0; i < oldcap; i++) {
			size_t j;

			if (!old[i].name)
				continue;
			j = link_slot(wk, old[i].dev, old[i].ino);
			while (wk->links[j].name)
				j = (j + 1) & (wk->caplinks - 1);
			wk->links[j] = old[i];
		}
		free(old);
	}
	for (i = link_slot(wk, dev, ino); wk->links[i].name;
	     i = (i + 1) & (wk->caplinks - 1))
		if (wk->links[i].dev == dev && wk->links[i].ino == ino)
			return wk->links[i].name;
	wk->links[i].dev = dev;
	wk->links[i].ino = ino;
	wk->links[i].name = hoist_xstrdup(name);
	wk->nlinks++;
	return NULL;
}

void hoist_tar_xattrs_release(struct hoist_tar_xattrs *xs)
{
	size_t i;

	for (i = 0; i < xs->n; i++)
		free(xs->values[i]);
	free(xs->values);
	free(xs->v);
	free(xs->names);
	memset(xs, 0, sizeof(*xs));
}

/*
 * security.selinux is the host's label for the file, not part of the
 * image: copying it would stamp the build host's policy onto every
 * container. Everything else (capabilities, ACLs, user.*) is content.
 */
static int xattr_skip(const char *name)
{
	return strcmp(name, "security.selinux") == 0;
}

/*
 * Read all xattrs, through fd when we have one, else through the
 * /proc/self/fd/<dirfd>/<name> alias with the l*() calls, which resolve
 * name inside the directory we hold without following a final symlink.
 */
int hoist_tar_xattrs_read(struct hoist_tar_xattrs *xs, int fd, int dirfd,
			  const char *name, const char *rel,
			  struct hoist_err *err)
{
	char path[64 + 256];
	ssize_t len, vlen;
	size_t off;
	int rc = 0;

	memset(xs, 0, sizeof(*xs));
	if (fd < 0)
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd,
			 name);
	for (;;) {
		len = fd >= 0 ? flistxattr(fd, NULL, 0)
			      : llistxattr(path, NULL, 0);
		if (len < 0) {
			if (errno == ENOTSUP || errno == ENOENT)
				return 0;
			return hoist_err_sys(err, errno, "list xattrs of '%s'",
					     rel);
		}
		if (len == 0)
			return 0;
		free(xs->names);
		xs->names = hoist_xmalloc((size_t)len + 1);
		len = fd >= 0 ? flistxattr(fd, xs->names, (size_t)len)
			      : llistxattr(path, xs->names, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE) {
			rc = hoist_err_sys(err, errno, "list xattrs of '%s'",
					   rel);
			goto out;
		}
	}
	xs->names[len] = '\0';
	for (off = 0; off < (size_t)len; off += strlen(xs->names + off) + 1) {
		const char *xn = xs->names + off;
		char *val = NULL;

		if (!*xn || xattr_skip(xn))
			continue;
		for (;;) {
			vlen = fd >= 0 ? fgetxattr(fd, xn, NULL, 0)
				       : lgetxattr(path, xn, NULL, 0);
			if (vlen < 0)
				break;
			free(val);
			val = hoist_xmalloc((size_t)vlen + 1);
			vlen = fd >= 0 ? fgetxattr(fd, xn, val, (size_t)vlen)
				       : lgetxattr(path, xn, val, (size_t)vlen);
			if (vlen >= 0 || errno != ERANGE)
				break;
		}
		if (vlen < 0) {
			free(val);
			if (errno == ENODATA) /* removed meanwhile */
				continue;
			rc = hoist_err_sys(err, errno,
					   "read xattr '%s' of '%s'", xn, rel);
			goto out;
		}
		xs->v = hoist_xreallocarray(xs->v, xs->n + 1, sizeof(*xs->v));
		xs->values = hoist_xreallocarray(xs->values, xs->n + 1,
						 sizeof(*xs->values));
		xs->values[xs->n] = val;
		xs->v[xs->n].name = xn;
		xs->v[xs->n].value = val;
		xs->v[xs->n].len = (size_t)vlen;
		xs->n++;
	}
out:
	if (rc < 0)
		hoist_tar_xattrs_release(xs);
	return rc;
}

static int64_t clamp_mtime(const struct walk *wk, int64_t mtime)
{
	if (wk->opts->epoch >= 0 &&
	    (wk->opts->force_mtime || mtime > wk->opts->epoch))
		return wk->opts->epoch;
	return mtime;
}

static void entry_from_stat(struct hoist_tar_entry *e, const struct walk *wk,
			    const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->name = wk->aname.data;
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mtime = clamp_mtime(wk, (int64_t)st->st_mtim.tv_sec);
}

/* Copy exactly size bytes of fd into the archive. */
static int copy_data(struct walk *wk, int fd, uint64_t size,
		     struct hoist_err *err)
{
	int rc;

	while (size > 0) {
		size_t want = size < READ_BUF ? (size_t)size : READ_BUF;
		ssize_t n = read(fd, wk->buf, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hoist_err_sys(err, errno, "read '%s'",
					     wk->rel.data);
		}
		if (n == 0)
			return hoist_err_set(err, HOIST_EIO,
					     "read '%s': file shrank while "
					     "being read",
					     wk->rel.data);
		if ((rc = hoist_tar_write_data(wk->w, wk->buf, (size_t)n,
					       err)) < 0)
			return rc;
		size -= (uint64_t)n;
	}
	return 0;
}

static int walk_dir(struct walk *wk, int dirfd, struct hoist_err *err);

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

/* Write one directory member; rel and aname already name it. */
static int walk_one(struct walk *wk, int dirfd, const char *name,
		    struct hoist_err *err)
{
	struct hoist_tar_entry e;
	struct hoist_tar_xattrs xs = {0};
	struct stat st, st2;
	char *target = NULL;
	int fd = -1, rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hoist_err_sys(err, errno, "stat '%s'", wk->rel.data);

	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		fd = hoist_fs_openat_nofollow(dirfd, name,
					      O_RDONLY | O_NONBLOCK);
		if (fd < 0) {
			rc = hoist_err_sys(err, errno, "read '%s'",
					   wk->rel.data);
			goto out;
		}
		if (fstat(fd, &st2) < 0) {
			rc = hoist_err_sys(err, errno, "stat '%s'",
					   wk->rel.data);
			goto out;
		}
		if (!same_file(&st, &st2)) {
			rc = hoist_err_set(err, HOIST_EIO,
					   "read '%s': file was replaced "
					   "while being read",
					   wk->rel.data);
			goto out;
		}
		st = st2;
		entry_from_stat(&e, wk, &st);
		if (st.st_nlink > 1) {
			const char *first =
				link_check(wk, st.st_dev, st.st_ino, e.name);
			if (first) {
				e.type = HOIST_TAR_HARDLINK;
				e.linkname = first;
				rc = hoist_tar_write_header(wk->w, &e, err);
				goto out;
			}
		}
		if ((rc = hoist_tar_xattrs_read(&xs, fd, dirfd, name,
						wk->rel.data, err)) < 0)
			goto out;
		e.type = HOIST_TAR_REG;
		e.size = (uint64_t)st.st_size;
		e.xattrs = xs.v;
		e.nxattrs = xs.n;
#ifdef POSIX_FADV_SEQUENTIAL
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
		if ((rc = hoist_tar_write_header(wk->w, &e, err)) < 0)
			goto out;
		rc = copy_data(wk, fd, e.size, err);
		goto out;
	case S_IFDIR:
		fd = hoist_fs_openat_nofollow(
			dirfd, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
		if (fd < 0) {
			rc = hoist_err_sys(err, errno, "read '%s'",
					   wk->rel.data);
			goto out;
		}
		if (fstat(fd, &st2) < 0 || !same_file(&st, &st2)) {
			rc = hoist_err_set(err, HOIST_EIO,
					   "read '%s': directory was replaced "
					   "while being read",
					   wk->rel.data);
			goto out;
		}
		st = st2;
		if ((rc = hoist_buf_addch(&wk->aname, '/', err)) < 0)
			goto out;
		entry_from_stat(&e, wk, &st);
		e.type = HOIST_TAR_DIR;
		if ((rc = hoist_tar_xattrs_read(&xs, fd, dirfd, name,
						wk->rel.data, err)) < 0)
			goto out;
		e.xattrs = xs.v;
		e.nxattrs = xs.n;
		if ((rc = hoist_tar_write_header(wk->w, &e, err)) < 0)
			goto out;
		rc = walk_dir(wk, fd, err);
		fd = -1; /* walk_dir closed it */
		goto out;
	case S_IFLNK: {
		if ((rc = hoist_fs_readlinkat(
			     &target, NULL, dirfd, name,
			     st.st_size > 0 ? (size_t)st.st_size : 0,
			     wk->rel.data, err)) < 0)
			goto out;
		entry_from_stat(&e, wk, &st);
		e.type = HOIST_TAR_SYMLINK;
		e.linkname = target;
		break;
	}
	case S_IFIFO:
		entry_from_stat(&e, wk, &st);
		e.type = HOIST_TAR_FIFO;
		break;
	case S_IFCHR:
	case S_IFBLK:
		entry_from_stat(&e, wk, &st);
		e.type = S_ISCHR(st.st_mode) ? HOIST_TAR_CHR : HOIST_TAR_BLK;
		e.devmajor = major(st.st_rdev);
		e.devminor = minor(st.st_rdev);
		break;
	case S_IFSOCK:
		hoist_log(HOIST_LOG_WARN, "skipping socket '%s'", wk->rel.data);
		return 0;
	default:
		hoist_log(HOIST_LOG_WARN, "skipping '%s' of unknown type",
			  wk->rel.data);
		return 0;
	}
	if ((rc = hoist_tar_xattrs_read(&xs, -1, dirfd, name, wk->rel.data,
					err)) < 0)
		goto out;
	e.xattrs = xs.v;
	e.nxattrs = xs.n;
	rc = hoist_tar_write_header(wk->w, &e, err);
out:
	if (fd >= 0)
		close(fd);
	free(target);
	hoist_tar_xattrs_release(&xs);
	return rc;
}

/* Cut a path buffer back to a shorter length it had before. */
static void buf_truncate(struct hoist_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* Write every member of the directory open at dirfd; closes dirfd. */
static int walk_dir(struct walk *wk, int dirfd, struct hoist_err *err)
{
	char **names = NULL;
	size_t n = 0, i, rel_len = wk->rel.len, aname_len = wk->aname.len;
	int rc;

	if ((rc = hoist_fs_dir_names(&names, &n, dirfd, wk->rel.data, err)))
		goto out;
	for (i = 0; i < n; i++) {
		buf_truncate(&wk->rel, rel_len);
		buf_truncate(&wk->aname, aname_len);
		if ((rel_len &&
		     (rc = hoist_buf_addch(&wk->rel, '/', err)) < 0) ||
		    (rc = hoist_buf_adds(&wk->rel, names[i], err)) < 0 ||
		    (rc = hoist_buf_adds(&wk->aname, names[i], err)) < 0)
			goto out;
		if ((rc = walk_one(wk, dirfd, names[i], err)) < 0)
			goto out;
	}
out:
	buf_truncate(&wk->rel, rel_len);
	buf_truncate(&wk->aname, aname_len);
	hoist_fs_names_free(names, n);
	close(dirfd);
	return rc;
}

/* "", "/", "./a/b/" -> "" and "a/b/": no leading "/" or "./", one '/'. */
static char *norm_prefix(const char *p)
{
	size_t len;

	if (!p)
		return hoist_xstrdup("");
	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && p[1] == '/')
			p += 2;
		else
			break;
	}
	if (strcmp(p, ".") == 0)
		p = "";
	len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0)
		return hoist_xstrdup("");
	return hoist_xasprintf("%.*s/", (int)len, p);
}

int hoist_tar_write_tree(struct hoist_tar_writer *w, const char *dir,
			 const struct hoist_tar_tree_opts *opts,
			 struct hoist_err *err)
{
	static const struct hoist_tar_tree_opts defaults = {NULL, -1, 0, 0};
	struct walk wk;
	struct stat st;
	size_t i;
	int fd, rc = 0;

	memset(&wk, 0, sizeof(wk));
	wk.w = w;
	wk.opts = opts ? opts : &defaults;
	hoist_buf_init(&wk.rel, HOIST_BUF_UNLIMITED);
	hoist_buf_init(&wk.aname, HOIST_BUF_UNLIMITED);
	wk.prefix = norm_prefix(wk.opts->prefix);

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "open '%s'", dir);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = hoist_err_sys(err, errno, "stat '%s'", dir);
		close(fd);
		goto out;
	}
	wk.buf = hoist_xmalloc(READ_BUF);
	if (wk.opts->root_entry) {
		struct hoist_tar_entry e;
		struct hoist_tar_xattrs xs;

		if ((rc = hoist_buf_adds(&wk.aname,
					 *wk.prefix ? wk.prefix : "./", err)) <
		    0) {
			close(fd);
			goto out;
		}
		entry_from_stat(&e, &wk, &st);
		e.type = HOIST_TAR_DIR;
		if ((rc = hoist_tar_xattrs_read(&xs, fd, -1, NULL, ".", err)) <
		    0) {
			close(fd);
			goto out;
		}
		e.xattrs = xs.v;
		e.nxattrs = xs.n;
		rc = hoist_tar_write_header(w, &e, err);
		hoist_tar_xattrs_release(&xs);
		if (rc < 0) {
			close(fd);
			goto out;
		}
		hoist_buf_reset(&wk.aname);
	}
	if ((rc = hoist_buf_adds(&wk.aname, wk.prefix, err)) < 0) {
		close(fd);
		goto out;
	}
	rc = walk_dir(&wk, fd, err);
out:
	for (i = 0; i < wk.caplinks; i++)
		free(wk.links[i].name);
	free(wk.links);
	free(wk.buf);
	free(wk.prefix);
	hoist_buf_release(&wk.rel);
	hoist_buf_release(&wk.aname);
	return rc;
}
