/*
 * cache.c: the build cache (see cache.h for the model): stat digests of
 * input trees, the JSON index files that map them to layers, the
 * recompression records, and pruning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cache.h"
#include "lib/image.h"
#include "lib/tar.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define CACHE_VERSION 1
#define INDEX_MAX (1u << 20)
#define TMP_STALE_SECS 3600

struct hoist_cache {
	struct hoist_store *store;
	char *dir;
	char *lock;
};

int hoist_cache_open(struct hoist_cache **out, struct hoist_store *s,
		     struct hoist_err *err)
{
	struct hoist_cache *c;
	char *dir = NULL;
	int rc = hoist_store_cache_dir(&dir, s, err);

	if (rc)
		return hoist_err_prefix(err, "build cache");
	c = hoist_xcalloc(1, sizeof(*c));
	c->store = s;
	c->dir = dir;
	c->lock = hoist_xasprintf("%s/lock", dir);
	*out = c;
	return 0;
}

void hoist_cache_close(struct hoist_cache *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c->lock);
	free(c);
}

static int cache_lock(const struct hoist_cache *c, struct hoist_err *err)
{
	int fd = open(c->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644), r;

	if (fd < 0)
		return hoist_err_sys(err, errno, "open '%s'", c->lock);
	do
		r = flock(fd, LOCK_EX);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = hoist_err_sys(err, errno, "lock '%s'", c->lock);
		close(fd);
		return r;
	}
	return fd;
}

/*
 * The file system's clock: the ctime of a new file in the cache directory,
 * so it has the same granularity as the stamps it is compared with.
 */
static int fs_clock(const struct hoist_cache *c, struct timespec *now,
		    struct hoist_err *err)
{
	struct stat st;
	char *tmp = NULL;
	int fd = open(c->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0) { /* a file system without O_TMPFILE */
		tmp = hoist_xasprintf("%s/" HOIST_TMP_PREFIX "clock-XXXXXX",
				      c->dir);
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			rc = hoist_err_sys(err, errno, "create '%s'", tmp);
			goto out;
		}
		unlink(tmp);
	}
	if (fstat(fd, &st) < 0) {
		rc = hoist_err_sys(err, errno, "stat a file in '%s'", c->dir);
		goto out;
	}
	*now = st.st_ctim;
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rc;
}

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

static void put_bytes(struct hoist_sha256 *h, const void *p, size_t n)
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
		put_bytes(&h, xs.v[i].name, strlen(xs.v[i].name));
		put_bytes(&h, xs.v[i].value, xs.v[i].len);
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

/* Hash the bytes of the regular file name in dirfd (its size) into sc. */
static int scan_bytes(struct scan *sc, int dirfd, const char *name,
		      uint64_t size, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1], buf[65536];
	struct hoist_sha256 h;
	uint64_t left = size;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return hoist_err_sys(err, errno, "open '%s'", sc->rel.data);
	hoist_sha256_init(&h);
	while (left) {
		ssize_t got =
			read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (got <= 0) {
			rc = hoist_err_sys(err, got < 0 ? errno : EIO,
					   "read '%s' (changed while reading?)",
					   sc->rel.data);
			break;
		}
		hoist_sha256_update(&h, buf, (size_t)got);
		left -= (uint64_t)got;
	}
	close(fd);
	if (rc) {
		hoist_sha256_release(&h);
		return rc;
	}
	hoist_sha256_final_hex(&h, hex);
	put_bytes(&sc->sha, hex, strlen(hex));
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
	int rc;

	if (S_ISLNK(st->st_mode) &&
	    (rc = hoist_fs_readlinkat(&target, &tlen, dirfd, name,
				      st->st_size > 0 ? (size_t)st->st_size : 0,
				      sc->rel.data, err)) < 0)
		goto out;
	if ((rc = xattr_hash(xhex, fd, dirfd, name, sc->rel.data, err)) < 0)
		goto out;
	put_bytes(&sc->sha, sc->rel.data, sc->rel.len);
	put_u64(&sc->sha, st->st_mode);
	if (sc->content) {
		put_u64(&sc->sha, (uint64_t)st->st_size);
		put_u64(&sc->sha, (uint64_t)st->st_mtim.tv_sec);
		put_u64(&sc->sha, (uint64_t)st->st_mtim.tv_nsec);
		put_u64(&sc->sha, st->st_rdev);
		put_bytes(&sc->sha, xhex, strlen(xhex));
		put_bytes(&sc->sha, target ? target : "", tlen);
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
	put_bytes(&sc->sha, xhex, strlen(xhex));
	put_bytes(&sc->sha, target ? target : "", tlen);
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
static int scan_path(struct hoist_cache_scan *out, const char *path,
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
	put_bytes(&sc.sha, content ? "hoist-content" : "hoist-stat-index",
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
	return scan_path(out, dir, 0, NULL, err);
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

/* --- index files --- */

/* ROOT/cache/<kind>-<sha256 of the NUL-separated parts>.json */
static char *entry_path(const struct hoist_cache *c, const char *kind,
			const char *const *parts, size_t nparts)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_sha256 h;

	hoist_sha256_init(&h);
	put_bytes(&h, kind, strlen(kind));
	put_bytes(&h, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	for (size_t i = 0; i < nparts; i++)
		put_bytes(&h, parts[i], strlen(parts[i]));
	hoist_sha256_final_hex(&h, hex);
	return hoist_xasprintf("%s/%s-%s.json", c->dir, kind, hex);
}

/* A parsed index file of the current version, or NULL. */
static json_t *load(const char *path)
{
	struct hoist_err err;
	json_t *j = NULL;
	char *data = NULL;
	size_t len;

	if (hoist_fs_read_file(&data, &len, path, INDEX_MAX, &err) < 0)
		return NULL;
	if (hoist_json_parse(&j, data, len, path, &err) < 0 ||
	    !json_is_object(j) ||
	    json_integer_value(json_object_get(j, "version")) !=
		    CACHE_VERSION) {
		hoist_log(HOIST_LOG_DEBUG, "build cache: ignoring '%s'", path);
		json_decref(j);
		j = NULL;
	}
	free(data);
	return j;
}

static int save(const char *path, const json_t *j, struct hoist_err *err)
{
	char *text = NULL;
	size_t len;
	int rc = hoist_json_dump(&text, &len, j, 0, err);

	if (!rc)
		rc = hoist_fs_write_atomic(path, text, len, 0644, err);
	free(text);
	return rc;
}

/* save under the cache lock (a whole record replaced). */
static int save_locked(const struct hoist_cache *c, const char *path,
		       const json_t *j, struct hoist_err *err)
{
	int lock = cache_lock(c, err), rc;

	if (lock < 0)
		return lock;
	rc = save(path, j, err);
	close(lock);
	return rc;
}

static uint64_t u64_of(const json_t *j, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(j, key));

	return v > 0 ? (uint64_t)v : 0;
}

/*
 * 1 if the blob record b is in the store with its size; its digest goes
 * to dg.
 */
static int blob_ok(const struct hoist_cache *c, const json_t *b,
		   struct hoist_digest *dg, uint64_t *size)
{
	const char *d = hoist_json_str(b, "digest");
	uint64_t want = u64_of(b, "size"), have;

	if (!d || hoist_digest_parse(dg, d, NULL) < 0 ||
	    hoist_store_blob_size(c->store, d, &have, NULL) < 0 || have != want)
		return 0;
	*size = have;
	return 1;
}

static int blob_matches(const json_t *b, const char *mt, int level)
{
	const char *m = hoist_json_str(b, "mediaType");

	return m && strcmp(m, mt) == 0 &&
	       json_integer_value(json_object_get(b, "level")) == level;
}

static int start_of(const json_t *j, struct timespec *ts)
{
	const json_t *a = json_object_get(j, "start");

	if (!json_is_array(a) || json_array_size(a) != 2)
		return -1;
	ts->tv_sec = (time_t)json_integer_value(json_array_get(a, 0));
	ts->tv_nsec = (long)json_integer_value(json_array_get(a, 1));
	return 0;
}

/*
 * The layer j records (diffID, tarSize and the blob for opts' compression
 * and level, present in the store with its size) into out: 1, else 0.
 */
static int layer_of_record(const struct hoist_cache *c, const json_t *j,
			   const struct hoist_layer_opts *opts,
			   struct hoist_layer *out)
{
	const char *mt = hoist_image_layer_mt(opts->compression, 1), *s;
	json_t *b;
	size_t i;

	memset(out, 0, sizeof(*out));
	s = hoist_json_str(j, "diffID");
	if (!s || hoist_digest_parse(&out->diff_id, s, NULL) < 0)
		return 0;
	/* gzip and estargz share a media type: tocDigest tells them apart */
	s = hoist_json_str(j, "tocDigest");
	if ((opts->compression == HOIST_COMP_ESTARGZ) != (s != NULL) ||
	    (s && hoist_digest_parse(&out->toc_digest, s, NULL) < 0))
		return 0;
	json_array_foreach(json_object_get(j, "blobs"), i, b)
	{
		if (!blob_matches(b, mt, opts->level))
			continue;
		if (!blob_ok(c, b, &out->digest, &out->size))
			return 0;
		/* Uncompressed, the blob is the tar. */
		if (opts->compression == HOIST_COMP_NONE &&
		    strcmp(out->digest.str, out->diff_id.str) != 0)
			return 0;
		out->tar_size = u64_of(j, "tarSize");
		out->compression = opts->compression;
		return 1;
	}
	return 0;
}

/* The cached layer for scan, or 0. */
static int layer_lookup(const struct hoist_cache *c, const char *path,
			const struct hoist_cache_scan *scan,
			const struct hoist_layer_opts *opts,
			struct hoist_layer *out)
{
	struct timespec start;
	json_t *j = load(path);
	const char *s;
	int hit = 0;

	memset(out, 0, sizeof(*out));
	if (!j)
		return 0;
	s = hoist_json_str(j, "stat");
	if (s && strcmp(s, scan->stat.str) == 0 && !start_of(j, &start) &&
	    !hoist_cache_scan_racy(scan, &start))
		hit = layer_of_record(c, j, opts, out);
	json_decref(j);
	if (!hit)
		memset(out, 0, sizeof(*out));
	return hit;
}

static json_t *blob_record(const char *mt, int level,
			   const struct hoist_digest *d, uint64_t size)
{
	return json_pack("{s:s, s:i, s:s, s:I}", "mediaType", mt, "level",
			 level, "digest", d->str, "size", (json_int_t)size);
}

/* Record the layer built for scan, keeping blobs of other levels. */
static int layer_record(const struct hoist_cache *c, const char *path,
			const char *tree, const struct hoist_cache_scan *scan,
			const struct timespec *start,
			const struct hoist_layer_opts *opts,
			const struct hoist_layer *l, struct hoist_err *err)
{
	const char *mt = hoist_image_layer_mt(opts->compression, 1);
	json_t *old = NULL, *j = NULL, *blobs, *b;
	size_t i;
	int lock, rc;

	if ((lock = cache_lock(c, err)) < 0)
		return lock;
	if (hoist_cache_scan_racy(scan, start)) {
		/* Too fresh to trust: drop what the next build cannot use. */
		unlink(path);
		rc = 0;
		goto out;
	}
	blobs = json_array();
	old = load(path);
	if (old && hoist_json_str(old, "stat") &&
	    strcmp(hoist_json_str(old, "stat"), scan->stat.str) == 0 &&
	    hoist_json_str(old, "diffID") &&
	    strcmp(hoist_json_str(old, "diffID"), l->diff_id.str) == 0)
		json_array_foreach(json_object_get(old, "blobs"), i, b)
		{
			if (json_is_object(b) &&
			    !blob_matches(b, mt, opts->level))
				json_array_append(blobs, b);
		}
	json_array_append_new(
		blobs, blob_record(mt, opts->level, &l->digest, l->size));
	j = json_pack("{s:i, s:s, s:s, s:I, s:[I,I], s:s, s:I, s:s, s:I, "
		      "s:o}",
		      "version", CACHE_VERSION, "tree", tree, "prefix",
		      opts->prefix ? opts->prefix : "", "epoch",
		      (json_int_t)opts->epoch, "start",
		      (json_int_t)start->tv_sec, (json_int_t)start->tv_nsec,
		      "stat", scan->stat.str, "entries",
		      (json_int_t)scan->entries, "diffID", l->diff_id.str,
		      "tarSize", (json_int_t)l->tar_size, "blobs", blobs);
	if (opts->compression == HOIST_COMP_ESTARGZ)
		json_object_set_new(j, "tocDigest",
				    json_string(l->toc_digest.str));
	rc = save(path, j, err);
out:
	close(lock);
	json_decref(old);
	json_decref(j);
	return rc;
}

int hoist_cache_layer_from_dir(struct hoist_layer *out, int *hit,
			       struct hoist_cache *c, struct hoist_store *s,
			       const char *dir,
			       const struct hoist_layer_opts *opts,
			       struct hoist_err *err)
{
	struct hoist_cache_scan scan;
	struct hoist_err cerr;
	struct timespec start = {0, 0};
	char epoch[24], *tree = NULL, *path = NULL;
	const char *parts[4];
	int rc;

	*hit = 0;
	if (!c)
		return hoist_layer_from_dir(out, s, dir, opts, err);
	hoist_err_clear(&cerr);
	if (!(tree = realpath(dir, NULL)) || fs_clock(c, &start, &cerr) ||
	    hoist_cache_scan_tree(&scan, tree, &cerr)) {
		/* The layer engine reports a bad tree properly. */
		free(tree);
		return hoist_layer_from_dir(out, s, dir, opts, err);
	}
	snprintf(epoch, sizeof(epoch), "%lld", (long long)opts->epoch);
	parts[0] = tree;
	parts[1] = opts->prefix ? opts->prefix : "";
	parts[2] = epoch;
	parts[3] = "estargz";
	path = entry_path(c, "layer", parts,
			  opts->compression == HOIST_COMP_ESTARGZ ? 4 : 3);
	if (layer_lookup(c, path, &scan, opts, out)) {
		*hit = 1;
		rc = 0;
		goto out;
	}
	rc = hoist_layer_from_dir(out, s, dir, opts, err);
	if (rc)
		goto out;
	if (layer_record(c, path, tree, &scan, &start, opts, out, &cerr))
		hoist_log(HOIST_LOG_WARN, "build cache: %s",
			  hoist_err_msg(&cerr));
out:
	free(tree);
	free(path);
	return rc;
}

/* --- content digests --- */

int hoist_cache_content_digest(struct hoist_digest *out, int *read,
			       struct hoist_cache *c, const char *path,
			       const struct hoist_cache_filter *filter,
			       struct hoist_err *err)
{
	struct hoist_cache_scan scan, content;
	struct timespec start = {0, 0};
	struct hoist_err cerr;
	char *real = NULL, *file = NULL;
	const char *s, *parts[2];
	json_t *j = NULL;
	int lock = -1, rc;

	*read = 0;
	hoist_err_clear(&cerr);
	if (!c || !(real = realpath(path, NULL)) ||
	    fs_clock(c, &start, &cerr) ||
	    scan_path(&scan, real, 0, filter, &cerr))
		goto walk;
	parts[0] = real;
	parts[1] = filter ? filter->id : "";
	file = entry_path(c, "content", parts, 2);
	j = load(file);
	s = j ? hoist_json_str(j, "stat") : NULL;
	if (s && strcmp(s, scan.stat.str) == 0 && !start_of(j, &start) &&
	    !hoist_cache_scan_racy(&scan, &start) &&
	    (s = hoist_json_str(j, "content")) &&
	    hoist_digest_parse(out, s, NULL) == 0) {
		rc = 0;
		goto out;
	}
walk:
	*read = 1;
	rc = scan_path(&content, real ? real : path, 1, filter, err);
	if (rc || !file)
		goto out;
	json_decref(j);
	j = json_pack("{s:i, s:s, s:[I,I], s:s, s:s}", "version", CACHE_VERSION,
		      "tree", real, "start", (json_int_t)start.tv_sec,
		      (json_int_t)start.tv_nsec, "stat", scan.stat.str,
		      "content", content.stat.str);
	if ((lock = cache_lock(c, &cerr)) < 0 ||
	    (hoist_cache_scan_racy(&scan, &start) ? (unlink(file), 0)
						  : save(file, j, &cerr)))
		hoist_log(HOIST_LOG_WARN, "build cache: %s",
			  hoist_err_msg(&cerr));
	*out = content.stat;
out:
	if (lock >= 0)
		close(lock);
	json_decref(j);
	free(real);
	free(file);
	return rc;
}

/* --- build steps --- */

static char *step_path(const struct hoist_cache *c,
		       const struct hoist_digest *key)
{
	const char *part = key->str;

	return entry_path(c, "step", &part, 1);
}

int hoist_cache_step_get(struct hoist_cache *c, const struct hoist_digest *key,
			 const struct hoist_layer_opts *opts, int *empty,
			 struct hoist_layer *out)
{
	char *path;
	json_t *j;
	const char *k;
	int hit = 0;

	*empty = 0;
	memset(out, 0, sizeof(*out));
	if (!c)
		return 0;
	path = step_path(c, key);
	j = load(path);
	k = j ? hoist_json_str(j, "key") : NULL;
	if (k && strcmp(k, key->str) == 0) {
		if (json_is_true(json_object_get(j, "empty")))
			hit = *empty = 1;
		else
			hit = layer_of_record(c, j, opts, out);
	}
	json_decref(j);
	free(path);
	return hit;
}

int hoist_cache_step_put(struct hoist_cache *c, const struct hoist_digest *key,
			 const struct hoist_layer_opts *opts, int empty,
			 const struct hoist_layer *l, struct hoist_err *err)
{
	char *path;
	json_t *j;
	int rc;

	if (!c)
		return 0;
	path = step_path(c, key);
	j = json_pack("{s:i, s:s, s:b}", "version", CACHE_VERSION, "key",
		      key->str, "empty", empty);
	if (!empty) {
		json_object_set_new(j, "diffID", json_string(l->diff_id.str));
		if (opts->compression == HOIST_COMP_ESTARGZ)
			json_object_set_new(j, "tocDigest",
					    json_string(l->toc_digest.str));
		json_object_set_new(j, "tarSize",
				    json_integer((json_int_t)l->tar_size));
		json_object_set_new(
			j, "blobs",
			json_pack("[o]",
				  blob_record(hoist_image_layer_mt(
						      opts->compression, 1),
					      opts->level, &l->digest,
					      l->size)));
	}
	rc = save_locked(c, path, j, err);
	json_decref(j);
	free(path);
	return rc;
}

/* --- recompressed base layers --- */

static char *recomp_path(const struct hoist_cache *c, const char *from,
			 enum hoist_compression compression, int level)
{
	char lv[16];
	const char *parts[3];

	snprintf(lv, sizeof(lv), "%d", level);
	parts[0] = from;
	parts[1] = compression == HOIST_COMP_ESTARGZ
			   ? "estargz"
			   : hoist_image_layer_mt(compression, 1);
	parts[2] = lv;
	return entry_path(c, "recomp", parts, 3);
}

/* The eStargz facts of a recompression record: 0, or -1 if missing. */
static int esgz_of(const json_t *j, struct hoist_estargz_result *r)
{
	const char *toc = hoist_json_str(j, "tocDigest");
	const char *id = hoist_json_str(j, "diffID");

	memset(r, 0, sizeof(*r));
	if (!toc || !id || hoist_digest_parse(&r->toc_digest, toc, NULL) < 0 ||
	    hoist_digest_parse(&r->diff_id, id, NULL) < 0)
		return -1;
	r->uncompressed_size = u64_of(j, "tarSize");
	return 0;
}

int hoist_cache_recomp_get(struct hoist_cache *c, const char *from,
			   enum hoist_compression compression, int level,
			   struct hoist_digest *digest, uint64_t *size,
			   struct hoist_estargz_result *esgz)
{
	char *path;
	json_t *j;
	const char *f;
	int hit = 0;

	if (!c)
		return 0;
	path = recomp_path(c, from, compression, level);
	j = load(path);
	f = j ? hoist_json_str(j, "from") : NULL;
	if (f && strcmp(f, from) == 0 &&
	    blob_matches(j, hoist_image_layer_mt(compression, 1), level) &&
	    (compression != HOIST_COMP_ESTARGZ || esgz_of(j, esgz) == 0))
		hit = blob_ok(c, j, digest, size);
	json_decref(j);
	free(path);
	return hit;
}

int hoist_cache_recomp_put(struct hoist_cache *c, const char *from,
			   enum hoist_compression compression, int level,
			   const struct hoist_digest *digest, uint64_t size,
			   const struct hoist_estargz_result *esgz,
			   struct hoist_err *err)
{
	char *path;
	json_t *j;
	int rc;

	if (!c)
		return 0;
	path = recomp_path(c, from, compression, level);
	j = blob_record(hoist_image_layer_mt(compression, 1), level, digest,
			size);
	json_object_set_new(j, "version", json_integer(CACHE_VERSION));
	json_object_set_new(j, "from", json_string(from));
	if (compression == HOIST_COMP_ESTARGZ && esgz) {
		json_object_set_new(j, "tocDigest",
				    json_string(esgz->toc_digest.str));
		json_object_set_new(j, "diffID",
				    json_string(esgz->diff_id.str));
		json_object_set_new(
			j, "tarSize",
			json_integer((json_int_t)esgz->uncompressed_size));
	}
	rc = save_locked(c, path, j, err);
	json_decref(j);
	free(path);
	return rc;
}

/* --- prune --- */

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Prune one index file: 1 if it was removed. */
static int prune_one(struct hoist_cache *c, int dfd, const char *name,
		     const char *path, struct hoist_cache_prune_stats *st,
		     struct hoist_err *err)
{
	struct hoist_digest d;
	json_t *j = load(path), *kept, *b;
	uint64_t size;
	size_t i, n;
	int rc = 0;

	if (j && has_prefix(name, "recomp-") && blob_ok(c, j, &d, &size))
		goto out;
	/* a content digest lives as long as its tree, an empty step always */
	if (j && has_prefix(name, "content-") && hoist_json_str(j, "tree") &&
	    hoist_fs_exists(hoist_json_str(j, "tree")))
		goto out;
	if (j && has_prefix(name, "step-") &&
	    json_is_true(json_object_get(j, "empty")))
		goto out;
	if (j && (has_prefix(name, "layer-") || has_prefix(name, "step-"))) {
		kept = json_array();
		n = json_array_size(json_object_get(j, "blobs"));
		json_array_foreach(json_object_get(j, "blobs"), i, b)
		{
			if (blob_ok(c, b, &d, &size))
				json_array_append(kept, b);
		}
		st->blobs_dropped += n - json_array_size(kept);
		if (json_array_size(kept) && json_array_size(kept) < n) {
			json_object_set_new(j, "blobs", kept);
			rc = save(path, j, err);
			goto out;
		}
		i = json_array_size(kept);
		json_decref(kept);
		if (i)
			goto out;
	}
	if (unlinkat(dfd, name, 0) == 0)
		st->entries_removed++;
	rc = 1;
out:
	json_decref(j);
	return rc;
}

int hoist_cache_prune(struct hoist_cache *c, int all,
		      struct hoist_cache_prune_stats *stats,
		      struct hoist_err *err)
{
	struct hoist_cache_prune_stats st = {0, 0};
	time_t now = time(NULL);
	struct dirent *e;
	DIR *d = NULL;
	int lock, rc = 0;

	if ((lock = cache_lock(c, err)) < 0)
		goto out;
	if (!(d = opendir(c->dir))) {
		rc = hoist_err_sys(err, errno, "open '%s'", c->dir);
		goto out;
	}
	while ((e = readdir(d))) {
		struct stat sb;
		char *path;

		if (has_prefix(e->d_name, HOIST_TMP_PREFIX)) {
			if (fstatat(dirfd(d), e->d_name, &sb,
				    AT_SYMLINK_NOFOLLOW) == 0 &&
			    now - sb.st_mtime >= TMP_STALE_SECS)
				unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (!has_prefix(e->d_name, "layer-") &&
		    !has_prefix(e->d_name, "recomp-") &&
		    !has_prefix(e->d_name, "content-") &&
		    !has_prefix(e->d_name, "step-"))
			continue;
		if (all) {
			if (unlinkat(dirfd(d), e->d_name, 0) == 0)
				st.entries_removed++;
			continue;
		}
		path = hoist_xasprintf("%s/%s", c->dir, e->d_name);
		rc = prune_one(c, dirfd(d), e->d_name, path, &st, err);
		free(path);
		if (rc < 0)
			goto out;
		rc = 0;
	}
out:
	if (d)
		closedir(d);
	if (lock >= 0)
		close(lock);
	else
		rc = lock;
	if (rc)
		hoist_err_prefix(err, "prune build cache");
	if (stats)
		*stats = st;
	return rc;
}
