/*
 * feed.c: the table of blobs coming into the store that a push sends as
 * they are written (feed.h). Producer and push meet only here, under one
 * mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/feed.h"
#include "util/mem.h"
#include "util/banned.h"

struct fblob {
	char key[HOIST_FEED_KEY_MAX];
	char digest[HOIST_DIGEST_MAX]; /* once done */
	uint64_t size;
	int fd;       /* a duplicate of its current ingest file, or -1 */
	unsigned gen; /* bumped for every new ingest file */
	uint64_t have;
	int state; /* 0 coming, 1 verified in the store, < 0 failed */
	struct hoist_err err;
};

struct hoist_feed {
	pthread_mutex_t lock;
	struct hoist_store *s;
	int (*start)(void *ctx, struct hoist_err *err);
	void *start_ctx;
	int started;
	struct fblob *b;
	size_t nb, cap;
	json_t *root;
	int finished, rc; /* the producer's end and result */
	struct hoist_err err;
	int abort_rc; /* the push's failure, or 0 */
	struct hoist_err abort_err;
};

struct hoist_feed *
hoist_feed_new(struct hoist_store *s,
	       int (*start)(void *ctx, struct hoist_err *err), void *start_ctx)
{
	struct hoist_feed *f = hoist_xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->s = s;
	f->start = start;
	f->start_ctx = start_ctx;
	return f;
}

void hoist_feed_free(struct hoist_feed *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nb; i++)
		if (f->b[i].fd >= 0)
			close(f->b[i].fd);
	free(f->b);
	json_decref(f->root);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct fblob *find(struct hoist_feed *f, const char *key)
{
	for (size_t i = 0; i < f->nb; i++)
		if (strcmp(f->b[i].key, key) == 0)
			return &f->b[i];
	return NULL;
}

/* ---- the producer's side ---- */

void hoist_feed_add(struct hoist_feed *f, const char *key)
{
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	if (!find(f, key)) {
		if (f->nb == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 8;
			f->b = hoist_xreallocarray(f->b, f->cap, sizeof(*f->b));
		}
		b = &f->b[f->nb++];
		memset(b, 0, sizeof(*b));
		snprintf(b->key, sizeof(b->key), "%s", key);
		b->fd = -1;
	}
	pthread_mutex_unlock(&f->lock);
}

void hoist_feed_ingest(struct hoist_feed *f, const char *key, int fd)
{
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	b = find(f, key);
	if (b) {
		if (b->fd >= 0)
			close(b->fd);
		b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		b->gen++;
		b->have = 0;
	}
	pthread_mutex_unlock(&f->lock);
}

void hoist_feed_progress(struct hoist_feed *f, const char *key, uint64_t have)
{
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	b = find(f, key);
	if (b)
		b->have = have;
	pthread_mutex_unlock(&f->lock);
}

void hoist_feed_done(struct hoist_feed *f, const char *key, int rc,
		     const struct hoist_err *err, const char *digest,
		     uint64_t size)
{
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	b = find(f, key);
	if (b && b->state == 0) {
		b->state = rc ? rc : 1;
		if (rc && err && err->code)
			b->err = *err;
		else if (rc)
			hoist_err_set(&b->err, rc, "blob '%s': not written",
				      key);
		snprintf(b->digest, sizeof(b->digest), "%s",
			 digest ? digest : key);
		b->size = size;
		if (b->fd >= 0) {
			close(b->fd);
			b->fd = -1;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

void hoist_feed_set_root(struct hoist_feed *f, const json_t *root)
{
	pthread_mutex_lock(&f->lock);
	if (!f->root)
		f->root = json_deep_copy(root);
	pthread_mutex_unlock(&f->lock);
}

void hoist_feed_finish(struct hoist_feed *f, int rc,
		       const struct hoist_err *err)
{
	pthread_mutex_lock(&f->lock);
	if (!f->finished) {
		f->finished = 1;
		f->rc = rc;
		if (rc && err && err->code)
			f->err = *err;
		else if (rc)
			hoist_err_set(&f->err, rc,
				      "the blobs' producer failed");
	}
	pthread_mutex_unlock(&f->lock);
}

int hoist_feed_aborted(struct hoist_feed *f, struct hoist_err *err)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = f->abort_rc;
	if (rc)
		*err = f->abort_err;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* ---- the push's side ---- */

void hoist_feed_abort(struct hoist_feed *f, int rc, const struct hoist_err *err)
{
	if (!rc)
		return;
	pthread_mutex_lock(&f->lock);
	if (!f->abort_rc) {
		f->abort_rc = rc;
		if (err && err->code)
			f->abort_err = *err;
		else
			hoist_err_set(&f->abort_err, rc, "the push failed");
	}
	pthread_mutex_unlock(&f->lock);
}

/* The producer's failure (under the lock). */
static int ended(const struct hoist_feed *f, struct hoist_err *err)
{
	*err = f->err;
	return f->rc;
}

int hoist_feed_key(struct hoist_feed *f, size_t i, char *key, size_t len)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if (i < f->nb) {
		snprintf(key, len, "%s", f->b[i].key);
		rc = 1;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int hoist_feed_root(struct hoist_feed *f, json_t **root, struct hoist_err *err)
{
	int rc = 0;

	*root = NULL;
	pthread_mutex_lock(&f->lock);
	if (f->root) {
		*root = json_incref(f->root);
		rc = 1;
	} else if (f->finished) {
		rc = f->rc ? ended(f, err)
			   : hoist_err_set(err, HOIST_EINVAL,
					   "the build ended without an image");
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int hoist_feed_result(struct hoist_feed *f, const char *key, char *digest,
		      uint64_t *size)
{
	struct fblob *b;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	b = find(f, key);
	if (b && b->state == 1) {
		snprintf(digest, HOIST_DIGEST_MAX, "%s", b->digest);
		*size = b->size;
		rc = 1;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int hoist_feed_state(struct hoist_feed *f, const char *key, unsigned *gen,
		     int *fd, uint64_t *avail, char *digest, uint64_t *size,
		     struct hoist_err *err)
{
	struct fblob *b;
	int rc = 0;

	*fd = -1;
	*avail = 0;
	pthread_mutex_lock(&f->lock);
	if (!f->started) {
		if (f->start && (rc = f->start(f->start_ctx, err)) < 0)
			goto out;
		f->started = 1;
	}
	b = find(f, key);
	if (!b) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "blob '%s' is not one of the source's", key);
	} else if (b->state < 0) {
		*err = b->err;
		rc = b->state;
	} else if (b->state == 1) {
		snprintf(digest, HOIST_DIGEST_MAX, "%s", b->digest);
		*size = b->size;
		rc = 1;
	} else if (hoist_store_has(f->s, key) &&
		   hoist_store_blob_size(f->s, key, size, NULL) == 0) {
		/* the key is a digest, verified by another producer (a sync
		 * copies several images at once; a pull skips what the store
		 * has) */
		snprintf(digest, HOIST_DIGEST_MAX, "%s", key);
		rc = 1;
	} else if (f->finished) {
		rc = f->rc ? ended(f, err)
			   : hoist_err_set(err, HOIST_EIO,
					   "blob '%s' was not written", key);
	} else {
		if (b->fd >= 0 && b->gen != *gen) {
			*fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
			if (*fd < 0)
				rc = hoist_err_sys(err, errno, "blob '%s'",
						   key);
			else
				*gen = b->gen;
		}
		*avail = b->have;
	}
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}
