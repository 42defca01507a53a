/*
 * tar.c: the deterministic tar writer behind every layer hoist builds.
 *
 * Layer digests are only reproducible if the archive bytes depend on nothing
 * but the tree's content and metadata, so the writer fixes every degree of
 * freedom tar leaves open: ustar headers with zero-padded octal fields and a
 * NUL-terminated "%06o\0 " checksum (as GNU tar and Go's archive/tar write
 * it), no atime/ctime, no user/group names, PAX records in byte-wise key
 * order, PAX headers with a fixed name, mode and mtime, and a directory walk
 * sorted byte-wise at every level.
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

#define BLOCK 512
#define NAME_LEN 100
#define PREFIX_LEN 155
#define OCTAL7_MAX 07777777ULL      /* 8-byte fields: 7 digits + NUL */
#define OCTAL11_MAX 077777777777ULL /* 12-byte fields: 11 digits + NUL */
#define READ_BUF (256 * 1024)

struct hoist_tar_writer {
	struct hoist_sink sink;
	uint64_t remaining; /* data bytes the current file still needs */
	size_t pad;         /* zero bytes after them */
	int finished;
};

static const char zero_block[BLOCK];

void hoist_tar_writer_new(struct hoist_tar_writer **out,
			  const struct hoist_sink *sink)
{
	struct hoist_tar_writer *w = hoist_xcalloc(1, sizeof(*w));

	w->sink = *sink;
	*out = w;
}

void hoist_tar_writer_free(struct hoist_tar_writer *w)
{
	free(w);
}

/* Zero-padded octal filling all but the last byte, which stays NUL. */
static void put_octal(char *field, size_t size, uint64_t v)
{
	size_t i = size - 1;

	field[i] = '\0';
	while (i > 0) {
		field[--i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

/* Copy up to size bytes; ustar strings need no NUL when they fill it. */
static void put_str(char *field, size_t size, const char *s, size_t len)
{
	memcpy(field, s, len < size ? len : size);
}

static size_t dec_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/*
 * One "LEN key=value\n" record. LEN counts the whole record including its
 * own digits, so adding the digits may add one more digit.
 */
static int pax_add(struct hoist_buf *pax, const char *key, const void *val,
		   size_t vlen, struct hoist_err *err)
{
	size_t base = strlen(key) + vlen + 3; /* ' ', '=', '\n' */
	size_t len = base + dec_len(base);

	if (dec_len(len) != dec_len(base))
		len = base + dec_len(len);
	if (hoist_buf_printf(pax, err, "%zu %s=", len, key) < 0 ||
	    hoist_buf_add(pax, val, vlen, err) < 0 ||
	    hoist_buf_addch(pax, '\n', err) < 0)
		return HOIST_ELIMIT;
	return 0;
}

static int pax_add_u64(struct hoist_buf *pax, const char *key, uint64_t v,
		       struct hoist_err *err)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	return pax_add(pax, key, num, (size_t)n, err);
}

static void header_checksum(char *h)
{
	unsigned sum = 0;
	size_t i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	put_octal(h + 148, 7, sum); /* "%06o\0", then the space stays */
}

/*
 * Fill a ustar header. Fields that do not fit are left for PAX records the
 * caller has already collected.
 */
static void header_fill(char *h, const char *name, size_t name_len,
			const char *prefix, size_t prefix_len, uint32_t mode,
			uint64_t uid, uint64_t gid, uint64_t size,
			uint64_t mtime, char type, const char *linkname,
			size_t link_len)
{
	memset(h, 0, BLOCK);
	put_str(h, NAME_LEN, name, name_len);
	put_octal(h + 100, 8, mode & 07777);
	put_octal(h + 108, 8, uid <= OCTAL7_MAX ? uid : 0);
	put_octal(h + 116, 8, gid <= OCTAL7_MAX ? gid : 0);
	put_octal(h + 124, 12, size <= OCTAL11_MAX ? size : 0);
	put_octal(h + 136, 12, mtime <= OCTAL11_MAX ? mtime : 0);
	h[156] = type;
	if (linkname)
		put_str(h + 157, 100, linkname, link_len);
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	put_octal(h + 329, 8, 0);
	put_octal(h + 337, 8, 0);
	if (prefix)
		put_str(h + 345, PREFIX_LEN, prefix, prefix_len);
}

/*
 * Split a long name at a '/' into prefix (<= 155) and name (<= 100), taking
 * the longest prefix, as Go's archive/tar does. 0 if impossible.
 */
static int split_ustar(const char *name, size_t len, size_t *cut)
{
	size_t n = len, i;

	if (len <= NAME_LEN)
		return 0;
	if (n > PREFIX_LEN + 1)
		n = PREFIX_LEN + 1;
	else if (name[n - 1] == '/')
		n--;
	for (i = n; i > 0; i--)
		if (name[i - 1] == '/')
			break;
	if (i <= 1)
		return 0;
	i--; /* index of the '/' */
	if (len - i - 1 > NAME_LEN || len - i - 1 == 0 || i > PREFIX_LEN)
		return 0;
	*cut = i;
	return 1;
}

static int cmp_xattr(const void *a, const void *b)
{
	const struct hoist_tar_xattr *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int sink_put(struct hoist_tar_writer *w, const void *p, size_t n,
		    struct hoist_err *err)
{
	return hoist_sink_write(&w->sink, p, n, err);
}

/* The PAX header's own name: "PaxHeaders/<basename>", at most 100 bytes. */
static void pax_name(char *out, const char *name, size_t len)
{
	size_t end = len, start;
	int n;

	while (end > 0 && name[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && name[start - 1] != '/')
		start--;
	n = snprintf(out, NAME_LEN + 1, "PaxHeaders/%.*s", (int)(end - start),
		     name + start);
	(void)n;
}

int hoist_tar_write_header(struct hoist_tar_writer *w,
			   const struct hoist_tar_entry *e,
			   struct hoist_err *err)
{
	struct hoist_buf pax =
		HOIST_BUF_INIT(HOIST_BUF_UNLIMITED); /* one entry */
	const struct hoist_tar_xattr **xs = NULL;
	char h[BLOCK];
	char *dirname = NULL;
	const char *name = e->name, *prefix = NULL, *link = e->linkname;
	size_t name_len, prefix_len = 0, link_len = 0, cut, i;
	uint64_t size = e->type == HOIST_TAR_REG ? e->size : 0;
	uint64_t mtime = e->mtime < 0 ? 0 : (uint64_t)e->mtime;
	int rc = HOIST_EINVAL;

	if (w->finished)
		return hoist_err_set(err, HOIST_EINVAL, "tar archive finished");
	if (w->remaining)
		return hoist_err_set(err, HOIST_EINVAL,
				     "tar entry before '%s' is incomplete",
				     e->name);
	if (!name || !*name)
		return hoist_err_set(err, HOIST_EINVAL, "empty tar entry name");
	name_len = strlen(name);
	if (e->type == HOIST_TAR_DIR && name[name_len - 1] != '/') {
		dirname = hoist_xasprintf("%s/", name);
		name = dirname;
		name_len++;
	}
	if ((e->type == HOIST_TAR_SYMLINK || e->type == HOIST_TAR_HARDLINK) &&
	    !link) {
		hoist_err_set(err, HOIST_EINVAL, "link '%s' has no target",
			      name);
		goto out;
	}
	if (e->devmajor > OCTAL7_MAX || e->devminor > OCTAL7_MAX) {
		hoist_err_set(err, HOIST_EINVAL,
			      "device numbers of '%s' are too large", name);
		goto out;
	}

	/* PAX records in byte-wise key order: "SCHILY.*" sorts first. */
	if (e->nxattrs) {
		xs = hoist_xreallocarray(NULL, e->nxattrs, sizeof(*xs));
		for (i = 0; i < e->nxattrs; i++)
			xs[i] = &e->xattrs[i];
		qsort(xs, e->nxattrs, sizeof(*xs), cmp_xattr);
		for (i = 0; i < e->nxattrs; i++) {
			char *key;

			if (strchr(xs[i]->name, '=') || !*xs[i]->name) {
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"xattr name '%s' of '%s' cannot "
					"be stored",
					xs[i]->name, name);
				goto out;
			}
			key = hoist_xasprintf("SCHILY.xattr.%s", xs[i]->name);
			rc = pax_add(&pax, key, xs[i]->value, xs[i]->len, err);
			free(key);
			if (rc < 0)
				goto out;
		}
	}
	if (e->gid > OCTAL7_MAX &&
	    (rc = pax_add_u64(&pax, "gid", e->gid, err)) < 0)
		goto out;
	if (e->gname && strlen(e->gname) > 32 &&
	    (rc = pax_add(&pax, "gname", e->gname, strlen(e->gname), err)) < 0)
		goto out;
	if (link) {
		link_len = strlen(link);
		if (link_len > 100 &&
		    (rc = pax_add(&pax, "linkpath", link, link_len, err)) < 0)
			goto out;
	}
	if (e->mtime < 0 || (uint64_t)e->mtime > OCTAL11_MAX) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%lld", (long long)e->mtime);

		if ((rc = pax_add(&pax, "mtime", num, (size_t)n, err)) < 0)
			goto out;
	}
	if (name_len > NAME_LEN) {
		if (split_ustar(name, name_len, &cut)) {
			prefix = name;
			prefix_len = cut;
			name += cut + 1;
			name_len -= cut + 1;
		} else if ((rc = pax_add(&pax, "path", name, name_len, err)) <
			   0) {
			goto out;
		}
	}
	if (size > OCTAL11_MAX &&
	    (rc = pax_add_u64(&pax, "size", size, err)) < 0)
		goto out;
	if (e->uid > OCTAL7_MAX &&
	    (rc = pax_add_u64(&pax, "uid", e->uid, err)) < 0)
		goto out;
	if (e->uname && strlen(e->uname) > 32 &&
	    (rc = pax_add(&pax, "uname", e->uname, strlen(e->uname), err)) < 0)
		goto out;

	if (pax.len) {
		char pname[NAME_LEN + 1];
		size_t pad = (BLOCK - pax.len % BLOCK) % BLOCK;

		pax_name(pname, prefix ? prefix : name,
			 prefix ? prefix_len + 1 + name_len : name_len);
		header_fill(h, pname, strlen(pname), NULL, 0, 0644, 0, 0,
			    pax.len, 0, 'x', NULL, 0);
		header_checksum(h);
		if ((rc = sink_put(w, h, BLOCK, err)) < 0 ||
		    (rc = sink_put(w, pax.data, pax.len, err)) < 0 ||
		    (pad && (rc = sink_put(w, zero_block, pad, err)) < 0))
			goto out;
	}

	header_fill(h, name, name_len, prefix, prefix_len, e->mode, e->uid,
		    e->gid, size, mtime, (char)e->type, link, link_len);
	if (e->type == HOIST_TAR_CHR || e->type == HOIST_TAR_BLK) {
		put_octal(h + 329, 8, e->devmajor);
		put_octal(h + 337, 8, e->devminor);
	}
	if (e->uname && strlen(e->uname) <= 32)
		put_str(h + 265, 32, e->uname, strlen(e->uname));
	if (e->gname && strlen(e->gname) <= 32)
		put_str(h + 297, 32, e->gname, strlen(e->gname));
	header_checksum(h);
	if ((rc = sink_put(w, h, BLOCK, err)) < 0)
		goto out;
	w->remaining = size;
	w->pad = (size_t)((BLOCK - size % BLOCK) % BLOCK);
	rc = 0;
out:
	free(xs);
	free(dirname);
	hoist_buf_release(&pax);
	return rc;
}

int hoist_tar_write_data(struct hoist_tar_writer *w, const void *data,
			 size_t len, struct hoist_err *err)
{
	int rc;

	if (len > w->remaining)
		return hoist_err_set(err, HOIST_EINVAL,
				     "tar data exceeds the entry size");
	if (len == 0)
		return 0;
	if ((rc = sink_put(w, data, len, err)) < 0)
		return rc;
	w->remaining -= len;
	if (w->remaining == 0 && w->pad) {
		rc = sink_put(w, zero_block, w->pad, err);
		w->pad = 0;
	}
	return rc;
}

int hoist_tar_writer_finish(struct hoist_tar_writer *w, struct hoist_err *err)
{
	int rc;

	if (w->remaining)
		return hoist_err_set(err, HOIST_EINVAL,
				     "last tar entry is incomplete");
	if (w->finished)
		return 0;
	if ((rc = sink_put(w, zero_block, BLOCK, err)) < 0 ||
	    (rc = sink_put(w, zero_block, BLOCK, err)) < 0)
		return rc;
	w->finished = 1;
	return 0;
}

/* --- the tree walk --- */

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

static int open_nofollow(int dirfd, const char *name, int flags)
{
	int fd =
		openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	/* O_NOATIME needs ownership or CAP_FOWNER; it is only a speedup. */
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

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
		fd = open_nofollow(dirfd, name, O_RDONLY | O_NONBLOCK);
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
		fd = open_nofollow(dirfd, name,
				   O_RDONLY | O_DIRECTORY | O_NONBLOCK);
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
