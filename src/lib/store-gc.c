/*
 * store-gc.c: garbage collection of the staging area. It walks the
 * manifest graph from the names (hoist_store_reach: imgwalk's one walker
 * in its tolerant mode, following subjects; shared with fsck),
 * removes the blobs nothing reaches, and removes what killed processes
 * left behind, by the rule stated in store.h and hoist(1):
 *   - gc holds gc.lock exclusively, which it only gets when no other
 *     process has the store open; every writer keeps the store open while
 *     it writes, so every ingest file and temporary left then is stale;
 *   - each ingest file is also locked by its writer, so a checker that does
 *     not wait (fsck) tells a live one from a stale one;
 *   - an upload session is stale when its record is unreadable, when its
 *     blob is no longer in the store, or when it is older than
 *     SESSION_MAX_AGE (registries drop unfinished uploads: docker-registry
 *     purges them after a week by default).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/store-int.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define SESSION_MAX_AGE (7 * 24 * 3600)

int hoist_store_lock_alone(struct hoist_store *s, int nb, struct hoist_err *err)
{
	hoist_store_lock_fd(s->gc_fd, LOCK_UN);
	if (hoist_store_lock_fd(s->gc_fd, LOCK_EX | (nb ? LOCK_NB : 0)) == 0)
		return 1;
	if (nb && errno == EWOULDBLOCK) {
		hoist_store_lock_fd(s->gc_fd, LOCK_SH);
		return 0;
	}
	hoist_store_lock_fd(s->gc_fd, LOCK_SH);
	return hoist_err_sys(err, errno, "lock '%s/gc.lock'", s->root);
}

void hoist_store_unlock_alone(struct hoist_store *s)
{
	/* Converting an exclusive flock to shared never blocks. */
	hoist_store_lock_fd(s->gc_fd, LOCK_SH);
}

struct reach {
	struct hoist_store *s;
	json_t *seen;
	store_reach_fn fn;
	void *ctx;
};

/* Tell the caller; a non-zero answer stops the walk with e. */
static int found(struct reach *r, const json_t *desc, enum store_reach what,
		 const struct hoist_err *e, struct hoist_err *err)
{
	int rc = r->fn(r->ctx, desc, what, e);

	if (rc && err)
		*err = *e;
	return rc;
}

/* Each digest once over all roots; a present blob has its stated size. */
static int reach_pre(void *ctx, const struct hoist_imgwalk_node *n,
		     struct hoist_err *err)
{
	struct reach *r = ctx;
	enum store_reach what = STORE_REACH_OK;
	struct hoist_err e;
	uint64_t size;
	int rc;

	if (json_object_get(r->seen, n->digest))
		return HOIST_IMGWALK_PRUNE;
	json_object_set_new(r->seen, n->digest, json_true());
	hoist_err_clear(&e);
	if (hoist_store_blob_size(r->s, n->digest, &size, NULL)) {
		hoist_err_set(&e, HOIST_ENOTFOUND, "blob '%s' is missing",
			      n->digest);
		what = STORE_REACH_MISSING;
	} else if (json_is_integer(json_object_get(n->desc, "size")) &&
		   n->size != size) {
		hoist_err_set(&e, HOIST_EINVAL,
			      "blob '%s' has %llu bytes, its descriptor says "
			      "%llu",
			      n->digest, (unsigned long long)size,
			      (unsigned long long)n->size);
		what = STORE_REACH_SIZE;
	}
	rc = found(r, n->desc, what, &e, err);
	if (rc)
		return rc;
	return what == STORE_REACH_MISSING ? HOIST_IMGWALK_PRUNE : 0;
}

/*
 * Read an index or manifest. One that cannot be read is reported; when
 * the caller lets the walk go on, it is walked as an empty document.
 */
static int reach_load(void *ctx, const struct hoist_imgwalk_node *n,
		      json_t **doc, struct hoist_err *err)
{
	struct reach *r = ctx;
	enum store_reach what = STORE_REACH_CORRUPT;
	struct hoist_err e;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*doc = NULL;
	hoist_err_clear(&e);
	rc = hoist_store_get(r->s, n->digest, HOIST_MANIFEST_MAX, &data, &len,
			     &e);
	if (!rc) {
		what = STORE_REACH_BAD_DOC;
		rc = hoist_json_parse(doc, data, len, n->digest, &e);
		if (!rc && !json_is_object(*doc))
			rc = hoist_err_set(&e, HOIST_EINVAL,
					   "manifest '%s' is not a JSON object",
					   n->digest);
	}
	free(data);
	if (!rc)
		return 0;
	json_decref(*doc);
	*doc = NULL;
	rc = found(r, n->desc, what, &e, err);
	if (rc)
		return rc;
	*doc = json_object();
	return 0;
}

int hoist_store_reach(struct hoist_store *s, const json_t *roots, json_t *seen,
		      store_reach_fn fn, void *ctx, struct hoist_err *err)
{
	static const struct hoist_imgwalk_ops ops = {reach_pre, reach_load,
						     NULL};
	struct reach r = {s, seen, fn, ctx};
	size_t i;
	json_t *root;
	int rc;

	json_array_foreach(roots, i, root)
	{
		rc = hoist_imgwalk(
			s, root, HOIST_IMGWALK_TOLERANT | HOIST_IMGWALK_SUBJECT,
			&ops, &r, err);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * gc's view: a missing blob has nothing to follow, but a present manifest
 * that cannot be read stops the collection, because guessing would delete
 * what it references.
 */
static int gc_reach(void *ctx, const json_t *desc, enum store_reach what,
		    const struct hoist_err *e)
{
	(void)ctx;
	(void)desc;
	if (what == STORE_REACH_CORRUPT || what == STORE_REACH_BAD_DOC)
		return e->code ? e->code : HOIST_EINVAL;
	return 0;
}

static int sweep_blobs(struct hoist_store *s, const json_t *seen,
		       struct hoist_store_gc_stats *st, struct hoist_err *err)
{
	char key[HOIST_DIGEST_MAX];
	struct dirent *e;
	int rc = 0, removed = 0;
	DIR *d = opendir(s->blobs);

	if (!d)
		return hoist_err_sys(err, errno, "open '%s'", s->blobs);
	while ((errno = 0, e = readdir(d))) {
		struct stat sb;

		/* Only names that are digests; leave anything else alone. */
		if (strlen(e->d_name) != HOIST_SHA256_HEXLEN)
			continue;
		snprintf(key, sizeof(key), STORE_SHA256_PREFIX "%s", e->d_name);
		if (hoist_store_check_digest(key, NULL) ||
		    json_object_get(seen, key))
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			if (errno == ENOENT)
				continue;
			rc = hoist_err_sys(err, errno, "remove blob '%s'", key);
			goto out;
		}
		removed = 1;
		st->blobs_removed++;
		st->bytes_removed += (uint64_t)sb.st_size;
	}
	if (errno)
		rc = hoist_err_sys(err, errno, "read '%s'", s->blobs);
out:
	closedir(d);
	if (removed && !rc)
		rc = hoist_fs_fsync_dir(s->blobs, err);
	return rc;
}

static int is_dot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

/* 1 if nobody holds an flock on the file (a live writer would). */
static int unlocked(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return 0;
	r = hoist_store_lock_fd(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return r;
}

/* An upload session record that can no longer be used. */
static int session_stale(struct hoist_store *s, const char *path, time_t mtime)
{
	char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	const char *digest;
	int stale = 1;

	if (time(NULL) - mtime > SESSION_MAX_AGE)
		return 1;
	if (hoist_fs_read_file(&data, &len, path, 64 * 1024, NULL) == 0 &&
	    hoist_json_parse(&doc, data, len, path, NULL) == 0) {
		digest = hoist_json_str(doc, "digest");
		stale = !hoist_store_has(s, digest);
	}
	json_decref(doc);
	free(data);
	return stale;
}

static int tmp_name(const char *name)
{
	return strncmp(name, HOIST_TMP_PREFIX, strlen(HOIST_TMP_PREFIX)) == 0;
}

/* One directory's leftovers of one kind. */
static uint64_t stale_in(struct hoist_store *s, const char *dir,
			 enum store_stale kind, int alone, int remove,
			 store_stale_fn fn, void *ctx)
{
	struct dirent *e;
	uint64_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat sb;
		char *path;
		int stale = 0;

		if (is_dot(e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		path = hoist_xasprintf("%s/%s", dir, e->d_name);
		switch (kind) {
		case STORE_STALE_INGEST:
			stale = S_ISREG(sb.st_mode) &&
				unlocked(dirfd(d), e->d_name);
			break;
		case STORE_STALE_TMP:
			stale = alone && tmp_name(e->d_name);
			break;
		case STORE_STALE_SESSION:
			/* The store's own temporaries there are TMP's. */
			if (tmp_name(e->d_name))
				stale = alone;
			else
				stale = S_ISREG(sb.st_mode) &&
					session_stale(s, path, sb.st_mtime);
			break;
		}
		if (stale) {
			n++;
			if (fn)
				fn(ctx, kind, path);
			if (remove)
				hoist_fs_rm_rf(path, NULL);
		}
		free(path);
	}
	closedir(d);
	return n;
}

void hoist_store_stale(struct hoist_store *s, int alone, int remove,
		       store_stale_fn fn, void *ctx, uint64_t counts[3])
{
	counts[STORE_STALE_INGEST] = stale_in(s, s->ingest, STORE_STALE_INGEST,
					      alone, remove, fn, ctx);
	/* index.json, oci-layout and scratch directories cut short. */
	counts[STORE_STALE_TMP] =
		stale_in(s, s->root, STORE_STALE_TMP, alone, remove, fn, ctx) +
		stale_in(s, s->registries, STORE_STALE_TMP, alone, remove, fn,
			 ctx);
	counts[STORE_STALE_SESSION] = stale_in(
		s, s->uploads, STORE_STALE_SESSION, alone, remove, fn, ctx);
}

int hoist_store_gc(struct hoist_store *s, struct hoist_store_gc_stats *stats,
		   struct hoist_err *err)
{
	struct hoist_store_gc_stats st;
	json_t *idx = NULL, *seen = json_object();
	uint64_t counts[3];
	int lock = -1, alone = 0, rc;

	memset(&st, 0, sizeof(st));
	rc = hoist_store_lock_alone(s, 0, err);
	if (rc < 0)
		goto out;
	alone = 1;
	rc = 0;
	/* Every writer is out now; the index lock is for outside tools. */
	lock = hoist_store_index_begin(s, &idx, err);
	if (lock < 0) {
		rc = lock;
		goto out;
	}
	rc = hoist_store_reach(s, json_object_get(idx, "manifests"), seen,
			       gc_reach, NULL, err);
	if (rc)
		goto out;
	rc = sweep_blobs(s, seen, &st, err);
	if (rc)
		goto out;
	/* After the sweep: sessions of blobs just removed go too. */
	hoist_store_stale(s, 1, 1, NULL, NULL, counts);
	st.ingest_removed =
		counts[STORE_STALE_INGEST] + counts[STORE_STALE_TMP];
	st.sessions_removed = counts[STORE_STALE_SESSION];
out:
	if (lock >= 0)
		hoist_store_index_unlock(lock);
	if (alone)
		hoist_store_unlock_alone(s);
	if (rc)
		hoist_err_prefix(err, "gc '%s'", s->root);
	if (stats)
		*stats = st;
	json_decref(idx);
	json_decref(seen);
	return rc;
}
