/*
 * copy.c: streaming registry -> registry copies (copy.h). The push runs
 * on the calling thread; the first upload that needs bytes the store
 * lacks starts a pull of every missing layer on a second thread. The two
 * meet in a small table guarded by a mutex: the pull's hooks record each
 * layer's ingest file (a duplicated descriptor, which stays valid when the
 * ingest is renamed into the store or dropped) and how many bytes are in
 * it; the push's feed reads that table (registry.h, struct
 * hoist_push_feed).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/blobsrc.h"
#include "lib/copy.h"
#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/ref.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

struct fblob {
	char digest[HOIST_DIGEST_MAX];
	int fd;       /* a duplicate of its current ingest file, or -1 */
	unsigned gen; /* bumped for every new ingest file */
	uint64_t have;
	int state; /* 0 coming, 1 verified in the store, < 0 failed */
	struct hoist_err err;
};

struct feed {
	pthread_mutex_t lock;
	struct hoist_store *s;
	const char *src_ref;
	json_t *missing; /* digest -> size: what the pull fetches */
	struct fblob *b;
	size_t nb;
	int started, finished;
	pthread_t th;
	struct hoist_pull_opts po;
	struct hoist_pull_hooks hooks;
	struct hoist_push_feed pf;
	struct hoist_pull_stats ps;
	int rc; /* the pull's result, once finished */
	struct hoist_err err;
	int step; /* the progress step of the copy (util/log.h) */
};

static struct fblob *find(struct feed *f, const char *digest)
{
	for (size_t i = 0; i < f->nb; i++)
		if (strcmp(f->b[i].digest, digest) == 0)
			return &f->b[i];
	return NULL;
}

/* ---- the pull's side (its thread) ---- */

static void on_ingest(void *ctx, const char *digest, int fd)
{
	struct feed *f = ctx;
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	b = find(f, digest);
	if (b) {
		if (b->fd >= 0)
			close(b->fd);
		b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		b->gen++;
		b->have = 0;
	}
	pthread_mutex_unlock(&f->lock);
}

static void on_progress(void *ctx, const char *digest, uint64_t have)
{
	struct feed *f = ctx;
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	b = find(f, digest);
	if (b)
		b->have = have;
	pthread_mutex_unlock(&f->lock);
}

static void on_done(void *ctx, const char *digest, int rc,
		    const struct hoist_err *err)
{
	struct feed *f = ctx;
	struct fblob *b;

	pthread_mutex_lock(&f->lock);
	b = find(f, digest);
	if (b && b->state == 0) {
		b->state = rc ? rc : 1;
		if (rc && err)
			b->err = *err;
		else if (rc)
			hoist_err_set(&b->err, rc, "blob '%s': download failed",
				      digest);
	}
	pthread_mutex_unlock(&f->lock);
}

static void *pull_thread(void *ctx)
{
	struct feed *f = ctx;
	struct hoist_err err;
	int rc;

	hoist_err_clear(&err);
	hoist_step_adopt(f->step);
	rc = hoist_pull_blobs(f->s, f->src_ref, f->missing, &f->po, &f->ps,
			      &err);
	pthread_mutex_lock(&f->lock);
	f->rc = rc;
	f->err = err;
	f->finished = 1;
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* ---- the push's side (the calling thread) ---- */

static int feed_state(void *ctx, const char *digest, unsigned *gen, int *fd,
		      uint64_t *avail, struct hoist_err *err)
{
	struct feed *f = ctx;
	struct fblob *b;
	int rc = 0;

	*fd = -1;
	*avail = 0;
	pthread_mutex_lock(&f->lock);
	if (!f->started) {
		if (pthread_create(&f->th, NULL, pull_thread, f) != 0) {
			rc = hoist_err_sys(err, errno, "start the download");
			goto out;
		}
		f->started = 1;
	}
	b = find(f, digest);
	if (!b) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "blob '%s' is not one of the source's",
				   digest);
	} else if (b->state < 0) {
		*err = b->err;
		rc = b->state;
	} else if (b->state == 1 || hoist_store_has(f->s, digest)) {
		/* verified here, or by another copy (a sync copies several
		 * images at once; the pull skips what the store has) */
		rc = 1;
	} else if (f->finished) {
		*err = f->err;
		rc = f->rc ? f->rc
			   : hoist_err_set(err, HOIST_EIO,
					   "blob '%s' was not downloaded",
					   digest);
	} else {
		if (b->fd >= 0 && b->gen != *gen) {
			*fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
			if (*fd < 0)
				rc = hoist_err_sys(err, errno, "blob '%s'",
						   digest);
			else
				*gen = b->gen;
		}
		*avail = b->have;
	}
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/*
 * The layers (and any other blob) of root that the store lacks; and the
 * source repository is remembered as holding all of them (blobsrc.h).
 */
static int missing_blobs(json_t **out, struct hoist_store *s,
			 const json_t *root, const char *src_ref,
			 struct hoist_err *err)
{
	json_t *blobs = NULL, *b;
	const char **all;
	struct hoist_ref r;
	size_t i, n = 0;
	int rc = hoist_imgwalk_blobs(&blobs, s, root, err);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_object();
	all = hoist_xcalloc(json_array_size(blobs) + 1, sizeof(*all));
	json_array_foreach(blobs, i, b)
	{
		const char *mt = hoist_json_str(b, "mediaType");
		const char *d = hoist_json_str(b, "digest");
		if (hoist_image_mt_is_index(mt) ||
		    hoist_image_mt_is_manifest(mt) || !d)
			continue;
		all[n++] = d;
		if (!hoist_store_has(s, d))
			json_object_set(*out, d, json_object_get(b, "size"));
	}
	if (hoist_ref_parse(&r, src_ref, HOIST_REF_NORMALIZE, NULL) == 0) {
		hoist_blobsrc_add(s, r.domain, r.path, all, n);
		hoist_ref_release(&r);
	}
	free(all);
	json_decref(blobs);
	return 0;
}

int hoist_copy_registry(json_t **root, struct hoist_store *s,
			const char *src_ref, const char *dst_ref, int by_digest,
			const struct hoist_pull_opts *po,
			const struct hoist_registry_opts *ro,
			struct hoist_push_stats *stats, struct hoist_err *err)
{
	struct hoist_pull_opts mo = *po;
	struct hoist_registry_opts fo = *ro;
	struct hoist_pull_stats ms;
	struct feed f;
	const char *d;
	json_t *v;
	int rc, started;

	memset(stats, 0, sizeof(*stats));
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.lock, NULL);
	/* manifests and configs first: they say what else is needed */
	mo.manifests_only = 1;
	rc = hoist_pull_image(root, s, src_ref, &mo, &ms, err);
	if (rc)
		goto out;
	rc = missing_blobs(&f.missing, s, *root, src_ref, err);
	if (rc)
		goto out;
	if (json_object_size(f.missing) == 0) {
		rc = hoist_registry_push(s, *root, dst_ref, by_digest, ro,
					 stats, err);
		goto out;
	}
	f.s = s;
	f.src_ref = src_ref;
	f.step = hoist_step_current();
	f.b = hoist_xcalloc(json_object_size(f.missing), sizeof(*f.b));
	json_object_foreach(f.missing, d, v)
	{
		snprintf(f.b[f.nb].digest, sizeof(f.b[f.nb].digest), "%s", d);
		f.b[f.nb++].fd = -1;
	}
	f.hooks.ctx = &f;
	f.hooks.ingest = on_ingest;
	f.hooks.progress = on_progress;
	f.hooks.done = on_done;
	f.po = *po;
	f.po.platforms = NULL;
	f.po.nplatforms = 0;
	f.po.hooks = &f.hooks;
	f.pf.ctx = &f;
	f.pf.state = feed_state;
	fo.feed = &f.pf;
	rc = hoist_registry_push(s, *root, dst_ref, by_digest, &fo, stats, err);
	/*
	 * The pull goes on to its end (a failed push does not stop it): what
	 * it verified stays in the store for the next attempt.
	 */
	pthread_mutex_lock(&f.lock);
	started = f.started;
	pthread_mutex_unlock(&f.lock);
	if (started) {
		pthread_join(f.th, NULL);
		if (f.rc && !rc)
			hoist_log(HOIST_LOG_WARN, "%s", hoist_err_msg(&f.err));
		else if (!f.rc)
			hoist_log(HOIST_LOG_INFO,
				  "streamed %llu of %zu blobs from %s, "
				  "%.1f MiB",
				  (unsigned long long)f.ps.blobs, f.nb, src_ref,
				  (double)f.ps.bytes / (1 << 20));
	}
out:
	for (size_t i = 0; i < f.nb; i++)
		if (f.b[i].fd >= 0)
			close(f.b[i].fd);
	free(f.b);
	json_decref(f.missing);
	pthread_mutex_destroy(&f.lock);
	if (rc) {
		json_decref(*root);
		*root = NULL;
	}
	return rc;
}
