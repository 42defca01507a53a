/*
 * cache.c: the build cache (see cache.h for the model): the JSON index
 * files that map stat digests of input trees (cache-scan.c) to layers,
 * the recompression records, and pruning.
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

#include "lib/cache-int.h"
#include "lib/image.h"
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
	int write_only; /* --no-cache: every lookup misses, records are kept */
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

void hoist_cache_write_only(struct hoist_cache *c)
{
	c->write_only = 1;
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

/* --- index files --- */

/* ROOT/cache/<kind>-<sha256 of the NUL-separated parts>.json */
static char *entry_path(const struct hoist_cache *c, const char *kind,
			const char *const *parts, size_t nparts)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_sha256 h;

	hoist_sha256_init(&h);
	hoist_cache_put_bytes(&h, kind, strlen(kind));
	hoist_cache_put_bytes(&h, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	for (size_t i = 0; i < nparts; i++)
		hoist_cache_put_bytes(&h, parts[i], strlen(parts[i]));
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

/* Save j when do_it: a record whose blob files blob_ok stamped anew. */
static void restamp_save(const struct hoist_cache *c, const char *path,
			 const json_t *j, int do_it)
{
	struct hoist_err err;

	if (do_it && save_locked(c, path, j, &err))
		hoist_log(HOIST_LOG_WARN, "build cache: %s",
			  hoist_err_msg(&err));
}

static uint64_t u64_of(const json_t *j, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(j, key));

	return v > 0 ? (uint64_t)v : 0;
}

/*
 * 1 if the blob record b is in the store with its size (prune's test: it
 * reads no blob); its digest goes to dg.
 */
static int blob_present(const struct hoist_cache *c, const json_t *b,
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

#define STAMP_MAX 96

/*
 * The stamp of a blob file (st, from lstat or fstat) into out: its device,
 * inode, mtime and ctime, which any write to it, chmod or replacement
 * changes. -1 (no stamp) when it is not a regular file, or its ctime is
 * not older than the clock's current tick: a write later in that tick
 * would leave the stamp as it is (racy-git).
 */
static int blob_stamp(const struct hoist_cache *c, const struct stat *st,
		      char *out)
{
	struct timespec now;

	if (!S_ISREG(st->st_mode) || fs_clock(c, &now, NULL) ||
	    st->st_ctim.tv_sec > now.tv_sec ||
	    (st->st_ctim.tv_sec == now.tv_sec &&
	     st->st_ctim.tv_nsec >= now.tv_nsec))
		return -1;
	snprintf(out, STAMP_MAX, "%ju:%ju:%lld.%09ld:%lld.%09ld",
		 (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
		 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		 (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	return 0;
}

/* lstat the blob file of d into st: 0, or -1. */
static int blob_lstat(const struct hoist_cache *c, const char *d,
		      struct stat *st)
{
	char *path = hoist_store_blob_path(c->store, d);
	int rc = path ? lstat(path, st) : -1;

	free(path);
	return rc;
}

/* The blob file of d hashes to d: 1 (st: its fstat before), else 0. */
static int blob_sound(const struct hoist_cache *c, const char *d, uint64_t size,
		      struct stat *st)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *path = hoist_store_blob_path(c->store, d);
	int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	int ok = fd >= 0 && fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
		 (uint64_t)st->st_size == size &&
		 !hoist_cache_hash_fd(fd, size, hex, d, NULL) &&
		 strcmp(hex, hoist_digest_hex(d)) == 0;

	if (fd >= 0)
		close(fd);
	free(path);
	return ok;
}

/*
 * 1 if the blob record b is in the store with its size and its digest;
 * its digest goes to dg. The file is trusted without opening it while it
 * keeps the stamp recorded with it ("file"); otherwise it is hashed, and
 * one that fails its digest is never used (the layer is built again and
 * its verified bytes replace the damaged file). A file that passes, and
 * did not change while it was read, gets its new stamp in b and *restamp
 * set, for the caller to save.
 */
static int blob_ok(const struct hoist_cache *c, json_t *b,
		   struct hoist_digest *dg, uint64_t *size, int *restamp)
{
	char before[STAMP_MAX], after[STAMP_MAX];
	const char *rec = hoist_json_str(b, "file");
	struct stat st, st2;

	if (!blob_present(c, b, dg, size) || blob_lstat(c, dg->str, &st) < 0)
		return 0;
	if (rec && blob_stamp(c, &st, before) == 0 && strcmp(rec, before) == 0)
		return 1;
	if (!blob_sound(c, dg->str, *size, &st)) {
		hoist_log(HOIST_LOG_WARN,
			  "build cache: blob '%s' in the store does not match "
			  "its digest; building it again",
			  dg->str);
		return 0;
	}
	if (blob_stamp(c, &st, before) == 0 &&
	    blob_lstat(c, dg->str, &st2) == 0 &&
	    blob_stamp(c, &st2, after) == 0 && strcmp(before, after) == 0) {
		json_object_set_new(b, "file", json_string(after));
		*restamp = 1;
	}
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
 * and level, present in the store with its digest: blob_ok) into out: 1,
 * else 0.
 */
static int layer_of_record(const struct hoist_cache *c, json_t *j,
			   const struct hoist_layer_opts *opts,
			   struct hoist_layer *out, int *restamp)
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
		if (!blob_ok(c, b, &out->digest, &out->size, restamp))
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
	int hit = 0, restamp = 0;

	memset(out, 0, sizeof(*out));
	if (!j)
		return 0;
	s = hoist_json_str(j, "stat");
	if (s && strcmp(s, scan->stat.str) == 0 && !start_of(j, &start) &&
	    !hoist_cache_scan_racy(scan, &start))
		hit = layer_of_record(c, j, opts, out, &restamp);
	restamp_save(c, path, j, hit && restamp);
	json_decref(j);
	if (!hit)
		memset(out, 0, sizeof(*out));
	return hit;
}

/*
 * The record of a blob just written to the store (its bytes verified as
 * they went in), with the stamp of its file when it has one (blob_ok).
 */
static json_t *blob_record(const struct hoist_cache *c, const char *mt,
			   int level, const struct hoist_digest *d,
			   uint64_t size)
{
	json_t *j =
		json_pack("{s:s, s:i, s:s, s:I}", "mediaType", mt, "level",
			  level, "digest", d->str, "size", (json_int_t)size);
	char stamp[STAMP_MAX];
	struct stat st;

	/*
	 * The file was just written: wait out the clock's tick (a few ms
	 * at most) for a stamp, unless the file system keeps whole seconds.
	 */
	for (int i = 0; i < 20 && blob_lstat(c, d->str, &st) == 0; i++) {
		if (blob_stamp(c, &st, stamp) == 0) {
			json_object_set_new(j, "file", json_string(stamp));
			break;
		}
		if (st.st_ctim.tv_nsec == 0)
			break;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return j;
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
		blobs, blob_record(c, mt, opts->level, &l->digest, l->size));
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
	if (!c->write_only && layer_lookup(c, path, &scan, opts, out)) {
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
	    hoist_cache_scan_path(&scan, real, 0, filter, &cerr))
		goto walk;
	parts[0] = real;
	parts[1] = filter ? filter->id : "";
	file = entry_path(c, "content", parts, 2);
	j = load(file);
	s = j && !c->write_only ? hoist_json_str(j, "stat") : NULL;
	if (s && strcmp(s, scan.stat.str) == 0 && !start_of(j, &start) &&
	    !hoist_cache_scan_racy(&scan, &start) &&
	    (s = hoist_json_str(j, "content")) &&
	    hoist_digest_parse(out, s, NULL) == 0) {
		rc = 0;
		goto out;
	}
walk:
	*read = 1;
	rc = hoist_cache_scan_path(&content, real ? real : path, 1, filter,
				   err);
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
	int hit = 0, restamp = 0;

	*empty = 0;
	memset(out, 0, sizeof(*out));
	if (!c || c->write_only)
		return 0;
	path = step_path(c, key);
	j = load(path);
	k = j ? hoist_json_str(j, "key") : NULL;
	if (k && strcmp(k, key->str) == 0) {
		if (json_is_true(json_object_get(j, "empty")))
			hit = *empty = 1;
		else
			hit = layer_of_record(c, j, opts, out, &restamp);
	}
	restamp_save(c, path, j, hit && restamp);
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
				  blob_record(c,
					      hoist_image_layer_mt(
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
	int hit = 0, restamp = 0;

	if (!c || c->write_only)
		return 0;
	path = recomp_path(c, from, compression, level);
	j = load(path);
	f = j ? hoist_json_str(j, "from") : NULL;
	if (f && strcmp(f, from) == 0 &&
	    blob_matches(j, hoist_image_layer_mt(compression, 1), level) &&
	    (compression != HOIST_COMP_ESTARGZ || esgz_of(j, esgz) == 0))
		hit = blob_ok(c, j, digest, size, &restamp);
	restamp_save(c, path, j, hit && restamp);
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
	j = blob_record(c, hoist_image_layer_mt(compression, 1), level, digest,
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

	if (j && has_prefix(name, "recomp-") && blob_present(c, j, &d, &size))
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
			if (blob_present(c, b, &d, &size))
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
