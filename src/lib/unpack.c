/*
 * unpack.c: applying untrusted layer tars to a directory.
 *
 * libarchive only reads (tar, gzip/zstd/none); every filesystem change is
 * made here with *at() calls relative to directory descriptors. dest is
 * the image's root directory: an entry's parent is resolved inside it as
 * openat2(RESOLVE_IN_ROOT) would (symlinks followed, absolute ones from
 * dest, ".." floored at dest), which is what merged-/usr images need
 * (lib -> usr/lib, then lib/x), and its last component is never followed.
 * The resolution is our own walk, one O_NOFOLLOW open at a time from
 * descriptors we hold, with ".." done by going back to one of them, so no
 * name or symlink can lead outside dest, even one an earlier entry of the
 * same layer planted. The kernel's openat2 does the lookups that need no
 * bookkeeping (hardlink targets, the end-of-layer pass); the walk lives in
 * resolve.c, with its own tests; removals (whiteouts, opaque directories)
 * live in unpack-whiteout.c. We do not use archive_write_disk: whiteouts,
 * opaque directories and hardlink targets need checks it cannot express, and
 * its path-based writes would have to be re-checked anyway.
 *
 * Per layer we keep two maps keyed by the in-root path (where a path lands
 * once symlinks are resolved, so "lib/x" and "usr/lib/x" are one key):
 *  - "seen": every entry of this layer and every directory walked through
 *    to reach one. An opaque marker removes what is not in it, which keeps
 *    the entries this layer wrote before the marker (containerd does the
 *    same with its unpackedPaths).
 *  - "deferred": directory metadata applied once the layer is done,
 *    deepest first, so that writing children does not clobber a
 *    directory's mtime and a read-only directory can still be filled
 *    (when not root we open directories up to u+rwx while working).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/resolve.h"
#include "lib/unpack.h"
#include "lib/unpack-int.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/strmap.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define READ_BLOCK (128 * 1024)

/* "layer 'W': entry 'E': <message>" */
int hoist_unpack_fail(struct unpacker *u, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = hoist_err_setv(u->err, code, fmt, ap);
	va_end(ap);
	if (u->err)
		hoist_err_prefix(u->err, "layer '%s': entry '%s'", u->what,
				 u->entry);
	return code;
}

int hoist_unpack_fail_sys(struct unpacker *u, int errnum, const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = hoist_err_sysv(u->err, errnum, fmt, ap);
	va_end(ap);
	if (u->err)
		hoist_err_prefix(u->err, "layer '%s': entry '%s'", u->what,
				 u->entry);
	return code;
}

static struct deferred *defer_get(struct unpacker *u, const char *path)
{
	size_t *idx = hoist_strmap_get(&u->dmap, path);

	if (idx)
		return &u->dirs[*idx];
	if (u->ndirs == u->adirs) {
		u->adirs = u->adirs ? u->adirs * 2 : 32;
		u->dirs = hoist_xreallocarray(u->dirs, u->adirs,
					      sizeof(*u->dirs));
	}
	memset(&u->dirs[u->ndirs], 0, sizeof(u->dirs[0]));
	u->dirs[u->ndirs].path = hoist_xstrdup(path);
	hoist_strmap_put(&u->dmap, path, u->ndirs);
	return &u->dirs[u->ndirs++];
}

static void defer_epoch(struct unpacker *u, const char *path)
{
	struct deferred *d;

	if (u->epoch < 0)
		return;
	d = defer_get(u, path);
	d->set_time = 1;
	d->ts[0].tv_sec = d->ts[1].tv_sec = u->epoch;
	d->ts[0].tv_nsec = d->ts[1].tv_nsec = 0;
}

enum {
	W_CREATE = 1,   /* mkdir missing directories */
	W_FIXUP = 2,    /* not root: make each directory u+rwx for now */
	W_RECORD = 4,   /* add each directory reached to "seen" */
	W_NOFOLLOW = 8, /* refuse symlinks instead of following them */
};

/* Not root: give the directory name in dirfd u+rwx until the layer ends. */
static int fixup_dir(struct unpacker *u, int dirfd, const char *name, int fd,
		     const char *canon)
{
	struct stat st;
	struct deferred *d;
	int fresh;

	if (fstat(fd, &st) < 0)
		return hoist_unpack_fail_sys(u, errno, "stat '%s'", canon);
	if ((st.st_mode & 0700) == 0700)
		return 0;
	fresh = !hoist_strmap_get(&u->dmap, canon);
	if (fchmodat(dirfd, name, (st.st_mode & 07777) | 0700,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return hoist_unpack_fail_sys(u, errno, "chmod '%s'", canon);
	d = defer_get(u, canon);
	if (fresh || !d->set_mode) {
		d->set_mode = 1;
		d->mode = st.st_mode & 07777;
	}
	return 0;
}

/* The resolver's callback: the unpacker's bookkeeping of a directory. */
static int walked_dir(void *ctx, int parentfd, const char *name, int fd,
		      const char *canon, int created, struct hoist_err *err)
{
	struct unpacker *u = ctx;
	int rc = 0;

	(void)err;
	if (created) {
		/* Missing parents get what docker gives them. */
		struct deferred *d = defer_get(u, canon);

		d->set_mode = 1;
		d->mode = 0755;
	} else if ((u->walk_flags & W_FIXUP) && !u->is_root) {
		rc = fixup_dir(u, parentfd, name, fd, canon);
		if (rc < 0) {
			u->walk_failed = 1;
			return rc;
		}
	}
	if (u->walk_flags & W_RECORD) {
		hoist_strmap_put(&u->seen, canon, 0);
		defer_epoch(u, canon);
	}
	return 0;
}

/*
 * Resolve the normalised relative path dir inside the root (resolve.h):
 * the walk does the layer's bookkeeping through walked_dir. role says
 * what dir is for in errors ("parent", "hardlink target 'x': parent").
 * With lookup, openat2 may do it in one call (no bookkeeping needed
 * unless it fails). Returns an O_PATH fd or < 0; *canon (may be NULL)
 * receives the in-root path, which the caller frees.
 */
static int resolve(struct unpacker *u, const char *dir, int flags,
		   const char *role, char **canon, int lookup)
{
	struct hoist_resolver r = {u->rootfd, walked_dir, u};
	int rf = ((flags & W_CREATE) ? HOIST_RESOLVE_CREATE : 0) |
		 ((flags & W_NOFOLLOW) ? HOIST_RESOLVE_NOFOLLOW : 0);
	int fd;

	u->walk_flags = flags;
	u->walk_failed = 0;
	if (flags & W_RECORD)
		defer_epoch(u, "");
	fd = lookup ? hoist_resolve_lookup(&r, dir, rf, role, u->err)
		    : hoist_resolve_walk(&r, dir, rf, role, canon, u->err);
	if (fd < 0 && !u->walk_failed)
		hoist_err_prefix(u->err, "layer '%s': entry '%s'", u->what,
				 u->entry);
	return fd;
}

/* A lookup that needs no bookkeeping beyond W_FIXUP. */
static int lookup_dir(struct unpacker *u, const char *dir, int flags,
		      const char *role)
{
	return resolve(u, dir, flags, role, NULL, 1);
}

void hoist_unpack_set_openat2(int enable)
{
	hoist_resolve_set_openat2(enable);
}

/*
 * The parent of the normalised entry path, resolved in the root and made
 * (with create), as a borrowed O_PATH fd; *canon is its in-root path
 * (borrowed too). Cached by the parent as written in the layer: entries
 * come grouped by directory.
 */
static int open_parent(struct unpacker *u, const char *path, int create,
		       const char **canon)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? hoist_xstrndup(path, (size_t)(slash - path))
			  : hoist_xstrdup("");
	char *c;
	int fd;

	if (u->cache_stale || (u->cache_path && strcmp(u->cache_path, dir))) {
		if (u->cache_fd >= 0)
			close(u->cache_fd);
		free(u->cache_path);
		free(u->cache_canon);
		u->cache_path = u->cache_canon = NULL;
		u->cache_fd = -1;
		u->cache_stale = 0;
	}
	if (u->cache_path) {
		free(dir);
		*canon = u->cache_canon;
		return u->cache_fd;
	}
	fd = resolve(u, dir, (create ? W_CREATE : 0) | W_FIXUP | W_RECORD,
		     "parent", &c, 0);
	if (fd < 0) {
		free(dir);
		return fd;
	}
	u->cache_path = dir;
	u->cache_canon = c;
	u->cache_fd = fd;
	*canon = c;
	return fd;
}

static void entry_times(struct unpacker *u, struct archive_entry *e,
			struct timespec ts[2])
{
	if (u->epoch >= 0) {
		ts[0].tv_sec = ts[1].tv_sec = u->epoch;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		return;
	}
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static void set_xattrs(struct unpacker *u, int fd, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	while (archive_entry_xattr_next(e, &name, &value, &size) ==
	       ARCHIVE_OK) {
		if (!name)
			continue;
		/* Losing an xattr is a warning, as with bsdtar: non-root
		 * cannot set security.* or trusted.* at all. */
		if (fsetxattr(fd, name, value, size, 0) < 0)
			hoist_log(HOIST_LOG_WARN,
				  "layer '%s': entry '%s': xattr '%s': %s",
				  u->what, u->entry, name, strerror(errno));
	}
}

/* Remove what is at base unless it is a directory and keep_dir is set. */
static int clear_path(struct unpacker *u, int pfd, const char *base,
		      int keep_dir, int *is_dir)
{
	struct stat st;
	int r;

	*is_dir = 0;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return hoist_unpack_fail_sys(u, errno, "stat");
	}
	if (keep_dir && S_ISDIR(st.st_mode)) {
		*is_dir = 1;
		return 0;
	}
	r = hoist_unpack_rm_at(u, pfd, base);
	if (r < 0)
		return hoist_unpack_fail_sys(u, -r, "remove the old entry");
	return 0;
}

static int write_file(struct unpacker *u, struct archive_entry *e, int pfd,
		      const char *base, const struct timespec ts[2])
{
	const void *block;
	size_t size;
	la_int64_t offset;
	int fd = -1, ret, dummy, r;

	ret = clear_path(u, pfd, base, 0, &dummy);
	if (ret < 0)
		return ret;
	fd = openat(pfd, base,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hoist_unpack_fail_sys(u, errno, "create");
	while ((r = archive_read_data_block(u->a, &block, &size, &offset)) ==
	       ARCHIVE_OK) {
		const char *p = block;

		while (size > 0) {
			ssize_t w = pwrite(fd, p, size, (off_t)offset);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = hoist_unpack_fail_sys(u, errno, "write");
				goto out;
			}
			p += w;
			size -= (size_t)w;
			offset += w;
		}
	}
	if (r != ARCHIVE_EOF) {
		ret = hoist_unpack_fail(u, HOIST_EINVAL, "read: %s",
					archive_error_string(u->a));
		goto out;
	}
	/* Sparse files may end in a hole. */
	if (archive_entry_size_is_set(e) &&
	    ftruncate(fd, (off_t)archive_entry_size(e)) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "truncate");
		goto out;
	}
	if (u->keep_owner && u->is_root &&
	    fchown(fd, (uid_t)archive_entry_uid(e),
		   (gid_t)archive_entry_gid(e)) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "chown");
		goto out;
	}
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "chmod");
		goto out;
	}
	set_xattrs(u, fd, e);
	if (futimens(fd, ts) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "set times");
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int make_dir(struct unpacker *u, struct archive_entry *e, int pfd,
		    const char *path, const char *base,
		    const struct timespec ts[2])
{
	struct deferred *d;
	int fd, is_dir, ret;

	ret = clear_path(u, pfd, base, 1, &is_dir);
	if (ret < 0)
		return ret;
	if (!is_dir && mkdirat(pfd, base, 0700) < 0)
		return hoist_unpack_fail_sys(u, errno, "mkdir");
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && !u->is_root &&
	    fchmodat(pfd, base, 0700, AT_SYMLINK_NOFOLLOW) == 0)
		fd = openat(pfd, base,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hoist_unpack_fail_sys(u, errno, "open");
	/* Keep it usable while the layer fills it; the real mode is set at
	 * the end of the layer. */
	if (!u->is_root && fchmod(fd, 0700) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "chmod");
		close(fd);
		return ret;
	}
	set_xattrs(u, fd, e);
	close(fd);

	d = defer_get(u, path);
	d->set_mode = 1;
	d->mode = archive_entry_perm(e) & 07777;
	d->set_time = 1;
	d->ts[0] = ts[0];
	d->ts[1] = ts[1];
	if (u->keep_owner && u->is_root) {
		d->set_owner = 1;
		d->uid = (uid_t)archive_entry_uid(e);
		d->gid = (gid_t)archive_entry_gid(e);
	}
	return 0;
}

/* Metadata of a symlink, fifo or device node we just created. */
static int finish_node(struct unpacker *u, struct archive_entry *e, int pfd,
		       const char *base, const struct timespec ts[2],
		       int is_link)
{
	if (u->keep_owner && u->is_root &&
	    fchownat(pfd, base, (uid_t)archive_entry_uid(e),
		     (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return hoist_unpack_fail_sys(u, errno, "chown");
	if (!is_link && fchmodat(pfd, base, archive_entry_perm(e) & 07777,
				 AT_SYMLINK_NOFOLLOW) < 0)
		return hoist_unpack_fail_sys(u, errno, "chmod");
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return hoist_unpack_fail_sys(u, errno, "set times");
	return 0;
}

static int make_hardlink(struct unpacker *u, const char *target_raw, int pfd,
			 const char *base)
{
	char echo[NAME_ECHO_MAX + 4];
	char *target = NULL, *role = NULL;
	const char *tbase;
	struct stat tst, dst;
	int tfd = -1, ret, dummy;

	hoist_err_quote(echo, sizeof(echo), target_raw, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	/* Resolved like an entry's own path: in the root, all but the last
	 * component, which is linked as it is. */
	target = hoist_path_norm(target_raw);
	if (!*target) {
		ret = hoist_unpack_fail(u, HOIST_EINVAL,
					"hardlink target '%s' is a directory",
					echo);
		goto out;
	}
	tbase = strrchr(target, '/');
	role = hoist_xasprintf("hardlink target '%s': parent", echo);
	if (tbase) {
		char *tdir = hoist_xstrndup(target, (size_t)(tbase - target));

		tbase++;
		tfd = lookup_dir(u, tdir, W_FIXUP, role);
		free(tdir);
	} else {
		tbase = target;
		tfd = lookup_dir(u, "", W_FIXUP, role);
	}
	if (tfd < 0) {
		ret = tfd;
		goto out;
	}
	if (fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "hardlink target '%s'",
					    echo);
		goto out;
	}
	if (S_ISDIR(tst.st_mode)) {
		ret = hoist_unpack_fail(u, HOIST_EINVAL,
					"hardlink target '%s' is a directory",
					echo);
		goto out;
	}
	if (fstatat(pfd, base, &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    dst.st_dev == tst.st_dev && dst.st_ino == tst.st_ino) {
		ret = 0; /* already that file */
		goto out;
	}
	ret = clear_path(u, pfd, base, 0, &dummy);
	if (ret < 0)
		goto out;
	/* No AT_SYMLINK_FOLLOW: a symlink target is linked, not followed. */
	if (linkat(tfd, tbase, pfd, base, 0) < 0) {
		ret = hoist_unpack_fail_sys(u, errno, "link to '%s'", echo);
		goto out;
	}
	ret = 0;
out:
	if (tfd >= 0)
		close(tfd);
	free(role);
	free(target);
	return ret;
}

static int apply_entry(struct unpacker *u, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	const char *hardlink = archive_entry_hardlink(e);
	struct timespec ts[2];
	char *path = NULL, *cpath = NULL;
	const char *base, *pdir;
	int pfd, ret, dummy;
	mode_t type;

	if (!raw)
		raw = archive_entry_pathname_utf8(e);
	if (!raw) {
		snprintf(u->entry, sizeof(u->entry), "?");
		return hoist_unpack_fail(u, HOIST_EINVAL, "unreadable path");
	}
	hoist_err_quote(u->entry, sizeof(u->entry), raw, HOIST_QUOTE_ALL,
			HOIST_QUOTE_UTF8);
	path = hoist_path_norm(raw);
	if (!*path) {
		ret = 0; /* the root itself: dest is the caller's */
		goto out;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	type = archive_entry_filetype(e);
	if (strncmp(base, WH_PREFIX, WH_PREFIX_LEN) == 0 &&
	    strcmp(base, WH_OPAQUE) != 0) {
		const char *name = base + WH_PREFIX_LEN;

		if (!*name || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0) {
			ret = hoist_unpack_fail(u, HOIST_EINVAL,
						"invalid whiteout");
			goto out;
		}
		/* Nothing to remove under a missing parent; do not make it. */
		pfd = open_parent(u, path, 0, &pdir);
		if (pfd == HOIST_ENOTFOUND) {
			hoist_err_clear(u->err);
			ret = 0;
		} else {
			ret = pfd < 0 ? pfd
				      : hoist_unpack_whiteout(u, pfd, pdir,
							      base);
		}
		goto out;
	}
	if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK) &&
	    !u->is_root) {
		ret = hoist_unpack_fail(
			u, HOIST_EUNSUPPORTED,
			"device node refused when not running as root");
		goto out;
	}
	pfd = open_parent(u, path, 1, &pdir);
	if (pfd < 0) {
		ret = pfd;
		goto out;
	}
	if (strcmp(base, WH_OPAQUE) == 0) {
		ret = hoist_unpack_whiteout(u, pfd, pdir, base);
		goto out;
	}
	/* Where the entry lands, for the layer's bookkeeping. */
	cpath = *pdir ? hoist_xasprintf("%s/%s", pdir, base)
		      : hoist_xstrdup(base);
	entry_times(u, e, ts);

	if (hardlink) {
		ret = make_hardlink(u, hardlink, pfd, base);
	} else if (type == AE_IFREG) {
		ret = write_file(u, e, pfd, base, ts);
	} else if (type == AE_IFDIR) {
		ret = make_dir(u, e, pfd, cpath, base, ts);
	} else if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);

		ret = clear_path(u, pfd, base, 0, &dummy);
		if (ret == 0 && (!target || !*target))
			ret = hoist_unpack_fail(u, HOIST_EINVAL,
						"empty symlink target");
		else if (ret == 0 && symlinkat(target, pfd, base) < 0)
			ret = hoist_unpack_fail_sys(u, errno, "symlink");
		if (ret == 0)
			ret = finish_node(u, e, pfd, base, ts, 1);
	} else if (type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK) {
		dev_t dev = type == AE_IFIFO
				    ? 0
				    : makedev(archive_entry_rdevmajor(e),
					      archive_entry_rdevminor(e));

		ret = clear_path(u, pfd, base, 0, &dummy);
		if (ret == 0 && mknodat(pfd, base, type | 0600, dev) < 0)
			ret = hoist_unpack_fail_sys(u, errno, "mknod");
		if (ret == 0)
			ret = finish_node(u, e, pfd, base, ts, 0);
	} else {
		ret = hoist_unpack_fail(u, HOIST_EUNSUPPORTED,
					"unsupported entry type 0%o",
					(unsigned)type);
	}
	if (ret == 0)
		hoist_strmap_put(&u->seen, cpath, 0);
out:
	free(cpath);
	free(path);
	return ret;
}

static size_t path_depth(const char *p)
{
	size_t d = *p ? 1 : 0;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

static int deferred_cmp(const void *a, const void *b)
{
	const struct deferred *x = a, *y = b;
	size_t dx = path_depth(x->path), dy = path_depth(y->path);

	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->path, y->path);
}

/*
 * Deepest first, so a parent made read-only or given its mtime is not
 * touched again. A directory removed or replaced since it was recorded is
 * skipped.
 */
static int apply_deferred(struct unpacker *u)
{
	/* The map's indices go stale here; nothing looks them up after. */
	if (u->ndirs)
		qsort(u->dirs, u->ndirs, sizeof(*u->dirs), deferred_cmp);
	for (size_t i = 0; i < u->ndirs; i++) {
		struct deferred *d = &u->dirs[i];
		const char *slash = strrchr(d->path, '/');
		const char *base = slash ? slash + 1 : d->path;
		char *dir = slash ? hoist_xstrndup(d->path,
						   (size_t)(slash - d->path))
				  : hoist_xstrdup("");
		int pfd, fd;

		snprintf(u->entry, sizeof(u->entry), "%s", "");
		hoist_err_quote(u->entry, sizeof(u->entry), d->path,
				HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
		if (!*d->path) {
			fd = openat(u->rootfd, ".",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else {
			pfd = lookup_dir(u, dir, W_NOFOLLOW, "parent");
			if (pfd < 0) {
				/* Gone or replaced: nothing to do. */
				hoist_err_clear(u->err);
				free(dir);
				continue;
			}
			fd = openat(pfd, base,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			close(pfd);
		}
		free(dir);
		if (fd < 0)
			continue;
		if (d->set_owner && fchown(fd, d->uid, d->gid) < 0) {
			int e = errno;

			close(fd);
			return hoist_unpack_fail_sys(u, e, "chown");
		}
		if (d->set_mode && fchmod(fd, d->mode) < 0) {
			int e = errno;

			close(fd);
			return hoist_unpack_fail_sys(u, e, "chmod");
		}
		if (d->set_time && futimens(fd, d->ts) < 0) {
			int e = errno;

			close(fd);
			return hoist_unpack_fail_sys(u, e, "set times");
		}
		close(fd);
	}
	return 0;
}

static void unpacker_release(struct unpacker *u)
{
	if (u->a)
		archive_read_free(u->a);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	free(u->cache_path);
	free(u->cache_canon);
	hoist_strmap_release(&u->seen);
	hoist_strmap_release(&u->dmap);
	for (size_t i = 0; i < u->ndirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
}

static int unpacker_init(struct unpacker *u, const char *dest,
			 const struct hoist_unpack_opts *opts, const char *what,
			 struct hoist_err *err)
{
	memset(u, 0, sizeof(*u));
	u->rootfd = -1;
	u->cache_fd = -1;
	u->what = what ? what : "stream";
	u->err = err;
	u->epoch = opts ? opts->epoch : -1;
	u->keep_owner = opts ? opts->keep_owner : 0;
	u->is_root = geteuid() == 0;
	u->rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->rootfd < 0)
		return hoist_err_sys(err, errno, "layer '%s': open '%s'",
				     u->what, dest);
	u->a = archive_read_new();
	if (!u->a)
		return hoist_err_set(err, HOIST_ENOMEM,
				     "layer '%s': cannot create a reader",
				     u->what);
	archive_read_support_format_tar(u->a);
	archive_read_support_format_empty(u->a);
	archive_read_support_filter_gzip(u->a);
	archive_read_support_filter_zstd(u->a);
	archive_read_support_filter_none(u->a);
	return 0;
}

/* Read every entry of an opened archive and apply it. */
static int unpacker_run(struct unpacker *u)
{
	struct archive_entry *e;
	int r, ret;

	for (;;) {
		r = archive_read_next_header(u->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return hoist_err_set(u->err, HOIST_EINVAL,
					     "layer '%s': read: %s", u->what,
					     archive_error_string(u->a));
		ret = apply_entry(u, e);
		if (ret < 0)
			return ret;
	}
	return apply_deferred(u);
}

int hoist_unpack_fd(int fd, const char *dest,
		    const struct hoist_unpack_opts *opts, const char *what,
		    struct hoist_err *err)
{
	struct unpacker u;
	int ret;

	ret = unpacker_init(&u, dest, opts, what, err);
	if (ret < 0)
		goto out;
	if (archive_read_open_fd(u.a, fd, READ_BLOCK) != ARCHIVE_OK) {
		ret = hoist_err_set(err, HOIST_EINVAL, "layer '%s': read: %s",
				    u.what, archive_error_string(u.a));
		goto out;
	}
	ret = unpacker_run(&u);
out:
	unpacker_release(&u);
	return ret;
}

/* The blob as libarchive reads it, hashed on the way. */
struct hashed_src {
	int fd;
	struct hoist_sha256 h;
	char buf[READ_BLOCK];
};

static la_ssize_t hashed_read(struct archive *a, void *data, const void **out)
{
	struct hashed_src *src = data;
	ssize_t n;

	do {
		n = read(src->fd, src->buf, sizeof(src->buf));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return -1;
	}
	hoist_sha256_update(&src->h, src->buf, (size_t)n);
	*out = src->buf;
	return n;
}

/* Hash what libarchive left unread (tar padding, trailing bytes). */
static int hashed_drain(struct hashed_src *src)
{
	for (;;) {
		ssize_t n = read(src->fd, src->buf, sizeof(src->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		hoist_sha256_update(&src->h, src->buf, (size_t)n);
	}
}

int hoist_unpack_layer(struct hoist_store *s, const char *digest,
		       const char *dest, const struct hoist_unpack_opts *opts,
		       struct hoist_err *err)
{
	struct hashed_src *src = hoist_xmalloc(sizeof(*src));
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *path = hoist_store_blob_path(s, digest);
	struct unpacker u;
	int ret, r;

	memset(&u, 0, sizeof(u));
	u.rootfd = u.cache_fd = -1;
	src->fd = -1;
	hoist_sha256_init(&src->h);
	if (!path || strncmp(digest, "sha256:", 7) != 0) {
		ret = hoist_err_set(err, HOIST_EINVAL,
				    "layer '%s': not a sha256 digest", digest);
		goto out;
	}
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0) {
		ret = hoist_err_sys(err, errno, "layer '%s': open blob",
				    digest);
		goto out;
	}
	ret = unpacker_init(&u, dest, opts, digest, err);
	if (ret < 0)
		goto out;
	if (archive_read_open(u.a, src, NULL, hashed_read, NULL) !=
	    ARCHIVE_OK) {
		ret = hoist_err_set(err, HOIST_EINVAL, "layer '%s': read: %s",
				    digest, archive_error_string(u.a));
	} else {
		ret = unpacker_run(&u);
	}
	/* Whatever went wrong, a blob that is not what its name says is the
	 * error worth reporting, so the rest is hashed even after a failure.
	 * If the blob cannot be read to its end, that I/O error stands. */
	r = hashed_drain(src);
	if (r < 0) {
		if (ret == 0)
			ret = hoist_err_sys(err, -r, "layer '%s': read blob",
					    digest);
		goto out;
	}
	hoist_sha256_final_hex(&src->h, hex);
	if (strcmp(hex, digest + 7) != 0)
		ret = hoist_err_set(err, HOIST_EDIGEST,
				    "layer '%s': content has digest "
				    "'sha256:%s'",
				    digest, hex);
out:
	hoist_sha256_release(&src->h);
	if (src->fd >= 0)
		close(src->fd);
	free(src);
	free(path);
	unpacker_release(&u);
	return ret;
}
