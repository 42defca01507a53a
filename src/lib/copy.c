/*
 * copy.c: streaming registry -> registry copies (copy.h). The push runs
 * on the calling thread; the first upload that needs bytes the store
 * lacks starts a pull of every missing layer on a second thread. The two
 * meet in a feed (feed.h): the pull's hooks record each layer's ingest
 * file and how many bytes are in it; the push reads them from there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/blobsrc.h"
#include "lib/copy.h"
#include "lib/digest.h"
#include "lib/feed.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/ref.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

struct copy {
	struct hoist_store *s;
	const char *src_ref;
	json_t *missing; /* digest -> size: what the pull fetches */
	struct hoist_feed *feed;
	int started; /* only read after the push ended */
	pthread_t th;
	struct hoist_pull_opts po;
	struct hoist_pull_hooks hooks;
	struct hoist_pull_stats ps;
	int rc; /* the pull's result, once joined */
	struct hoist_err err;
	int step; /* the progress step of the copy (util/log.h) */
};

/* ---- the pull's side (its thread): the feed's producer ---- */

static void on_ingest(void *ctx, const char *digest, int fd)
{
	hoist_feed_ingest(((struct copy *)ctx)->feed, digest, fd);
}

static void on_progress(void *ctx, const char *digest, uint64_t have)
{
	hoist_feed_progress(((struct copy *)ctx)->feed, digest, have);
}

static void on_done(void *ctx, const char *digest, int rc,
		    const struct hoist_err *err)
{
	struct copy *c = ctx;
	json_t *size = json_object_get(c->missing, digest);

	hoist_feed_done(c->feed, digest, rc, err, NULL,
			(uint64_t)json_integer_value(size));
}

static void *pull_thread(void *ctx)
{
	struct copy *c = ctx;

	hoist_err_clear(&c->err);
	hoist_step_adopt(c->step);
	c->rc = hoist_pull_blobs(c->s, c->src_ref, c->missing, &c->po, &c->ps,
				 &c->err);
	hoist_feed_finish(c->feed, c->rc, &c->err);
	return NULL;
}

/* The push first asks for bytes: start the download (under the feed's
 * lock, so only once). */
static int start_pull(void *ctx, struct hoist_err *err)
{
	struct copy *c = ctx;

	if (pthread_create(&c->th, NULL, pull_thread, c) != 0)
		return hoist_err_sys(err, errno, "start the download");
	c->started = 1;
	return 0;
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
	struct copy c;
	const char *d;
	json_t *v;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&c, 0, sizeof(c));
	/* manifests and configs first: they say what else is needed */
	mo.manifests_only = 1;
	rc = hoist_pull_image(root, s, src_ref, &mo, &ms, err);
	if (rc)
		goto out;
	rc = missing_blobs(&c.missing, s, *root, src_ref, err);
	if (rc)
		goto out;
	if (json_object_size(c.missing) == 0) {
		rc = hoist_registry_push(s, *root, dst_ref, by_digest, ro,
					 stats, err);
		goto out;
	}
	c.s = s;
	c.src_ref = src_ref;
	c.step = hoist_step_current();
	c.feed = hoist_feed_new(s, start_pull, &c);
	json_object_foreach(c.missing, d, v)
	{
		hoist_feed_add(c.feed, d);
	}
	c.hooks.ctx = &c;
	c.hooks.ingest = on_ingest;
	c.hooks.progress = on_progress;
	c.hooks.done = on_done;
	c.po = *po;
	c.po.platforms = NULL;
	c.po.nplatforms = 0;
	c.po.hooks = &c.hooks;
	fo.feed = c.feed;
	rc = hoist_registry_push(s, *root, dst_ref, by_digest, &fo, stats, err);
	/*
	 * The pull goes on to its end (a failed push does not stop it): what
	 * it verified stays in the store for the next attempt.
	 */
	if (c.started) {
		pthread_join(c.th, NULL);
		if (c.rc && !rc)
			hoist_log(HOIST_LOG_WARN, "%s", hoist_err_msg(&c.err));
		else if (!c.rc)
			hoist_log(HOIST_LOG_INFO,
				  "streamed %llu of %zu blobs from %s, "
				  "%.1f MiB",
				  (unsigned long long)c.ps.blobs,
				  json_object_size(c.missing), src_ref,
				  (double)c.ps.bytes / (1 << 20));
	}
out:
	hoist_feed_free(c.feed);
	json_decref(c.missing);
	if (rc) {
		json_decref(*root);
		*root = NULL;
	}
	return rc;
}
