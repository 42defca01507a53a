/*
 * registry.c: the push orchestration. It owns no protocol logic of its
 * own: the upload state machines decide what each blob needs, auth.c
 * decides what credentials go where, http.c moves the bytes, the
 * transfer pool (xfer.h) bounds concurrency and stops everything at the
 * first failure. This file wires them together on one event loop and PUTs
 * the manifests; the blob jobs it starts (registry-blob.c) persist upload
 * sessions for resume and remember what worked per registry.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/blobsrc.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/ref.h"
#include "lib/registry-int.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

/* ---- manifests ---- */

/*
 * *have = 1 when the registry answers a HEAD of manifests/ref with 200 and
 * digest (Docker-Content-Digest; by digest the URL says it). A registry
 * accepts a manifest only when every blob and child it names is in the
 * repository, so a root already there means nothing else has to go up.
 */
static int manifest_present(struct reg *r, const char *ref, const char *digest,
			    int *have, struct hoist_err *err)
{
	struct hoist_http_response resp;
	const char *hdrs[1] = {hoist_reg_manifest_accept};
	char *url = hoist_xasprintf("%s/v2/%s/manifests/%s", r->c.base,
				    r->c.repo, ref);
	int rc = hoist_regconn_request(&r->c, "HEAD", url, hdrs, 1, NULL, 0, 0,
				       &resp, err);

	*have = 0;
	free(url);
	if (rc)
		return rc;
	if (resp.status == 200) {
		const char *got =
			hoist_http_header_get(&resp, "Docker-Content-Digest");
		*have = strcmp(ref, digest) == 0 ||
			(got && strcmp(got, digest) == 0);
	}
	hoist_http_response_release(&resp);
	return 0;
}

static int put_manifest(struct reg *r, const json_t *desc, const char *ref,
			struct hoist_err *err)
{
	struct hoist_http_response resp;
	const char *mt, *digest;
	char *data = NULL, *url = NULL, *ctype = NULL;
	const char *hdrs[2];
	uint64_t size;
	size_t len;
	int rc;

	rc = hoist_image_desc_get(desc, &mt, &digest, &size, err);
	if (rc)
		return rc;
	rc = hoist_store_get(r->store, digest, HOIST_MANIFEST_MAX, &data, &len,
			     err);
	if (rc)
		return rc;
	url = hoist_xasprintf("%s/v2/%s/manifests/%s", r->c.base, r->c.repo,
			      ref);
	if (strcmp(ref, digest) == 0) {
		/* by digest: skip what the registry already has */
		int have = 0;
		rc = manifest_present(r, ref, digest, &have, err);
		if (rc || have)
			goto out;
	}
	ctype = hoist_xasprintf("Content-Type: %s", mt);
	hdrs[0] = ctype;
	/* with statuses, "pushing manifest for" covers them all */
	hoist_log(r->opts->statuses ? HOIST_LOG_DEBUG : HOIST_LOG_INFO,
		  "pushing manifest for %s/%s%s%s", r->c.host, r->c.repo,
		  ref[0] == 's' && strchr(ref, ':') ? "@" : ":", ref);
	rc = hoist_regconn_request(&r->c, "PUT", url, hdrs, 1, data, len, 0,
				   &resp, err);
	if (rc)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		rc = hoist_regconn_http_error(err, "put manifest", &resp);
	} else {
		const char *got =
			hoist_http_header_get(&resp, "Docker-Content-Digest");
		if (got && strcmp(got, digest) != 0)
			rc = hoist_err_set(err, HOIST_EDIGEST,
					   "put manifest: registry says "
					   "'%s', expected '%s'",
					   got, digest);
	}
	hoist_http_response_release(&resp);
out:
	if (rc)
		hoist_err_prefix(err, "manifest '%s'", digest);
	free(ctype);
	free(url);
	free(data);
	return rc;
}

struct put_walk {
	struct reg *r;
	const char *root_ref;
};

static int put_post(void *ctx, const struct hoist_imgwalk_node *n,
		    struct hoist_err *err)
{
	struct put_walk *w = ctx;

	return put_manifest(
		w->r, n->desc,
		n->role == HOIST_IMGWALK_ROOT ? w->root_ref : n->digest, err);
}

static int put_pre(void *ctx, const struct hoist_imgwalk_node *n,
		   struct hoist_err *err)
{
	(void)ctx;
	(void)err;
	/* configs and layers went up with the blobs */
	return n->kind == HOIST_IMGWALK_BLOB ? HOIST_IMGWALK_PRUNE : 0;
}

/* Every manifest, children first (by digest), the root last to ref. */
static int push_manifests(struct reg *r, const json_t *root, const char *ref,
			  struct hoist_err *err)
{
	static const struct hoist_imgwalk_ops ops = {put_pre, NULL, put_post};
	struct put_walk w = {r, ref};

	return hoist_imgwalk(r->store, root, HOIST_IMGWALK_ONCE, &ops, &w, err);
}

/* ---- the push ---- */

static void reg_release(struct reg *r)
{
	for (size_t i = 0; i < r->njobs; i++)
		hoist_registry_job_free(r->jobs[i]);
	free(r->jobs);
	json_decref(r->blobsrc);
	json_decref(r->root);
	json_decref(r->blobs);
	hoist_regconn_close(&r->c);
}

/* The digests of the blob jobs (pointers into them). Caller frees. */
static const char **job_digests(const struct reg *r, size_t *n)
{
	const char **d = hoist_xcalloc(r->njobs + 1, sizeof(*d));

	*n = 0;
	for (size_t i = 0; i < r->njobs; i++)
		if (r->jobs[i]->digest[0])
			d[(*n)++] = r->jobs[i]->digest;
	return d;
}

/*
 * A new job (not started): for digest of size bytes, or (digest NULL) for
 * a blob of the feed named key whose digest is not known yet.
 */
static void job_add(struct reg *r, const char *key, const char *digest,
		    uint64_t size)
{
	struct blob_job *j = hoist_xcalloc(1, sizeof(*j));

	if (r->njobs == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->jobs =
			hoist_xreallocarray(r->jobs, r->cap, sizeof(*r->jobs));
	}
	j->r = r;
	j->fd = -1;
	snprintf(j->key, sizeof(j->key), "%s", key);
	if (digest) {
		snprintf(j->digest, sizeof(j->digest), "%s", digest);
		j->size = size;
		j->session_key = hoist_registry_session_key(r, j->digest);
	}
	r->jobs[r->njobs++] = j;
}

/*
 * Blobs of the feed whose upload is under way and that are whole now:
 * their digest is known, so their sessions are saved under it at once
 * (a push killed before it sends the rest resumes them).
 */
static void learn_digests(struct reg *r)
{
	char digest[HOIST_DIGEST_MAX];
	uint64_t size;

	for (size_t i = 0; i < r->njobs; i++) {
		struct blob_job *j = r->jobs[i];
		if (j->digest[0] ||
		    !hoist_feed_result(r->opts->feed, j->key, digest, &size))
			continue;
		hoist_registry_job_known(j, digest, size);
		if (j->u)
			hoist_registry_save_session(j);
	}
}

/* 1 if some job is for digest. */
static int job_covers(struct reg *r, const char *digest)
{
	for (size_t i = 0; i < r->njobs; i++)
		if (strcmp(r->jobs[i]->digest, digest) == 0)
			return 1;
	return 0;
}

/*
 * The configs and layers of the image the blob array (imgwalk) lists that
 * no job covers get one. Returns how many were added.
 */
static size_t add_blob_jobs(struct reg *r, const json_t *blobs)
{
	size_t i, n = 0;
	json_t *b;

	json_array_foreach(blobs, i, b)
	{
		const char *mt = hoist_json_str(b, "mediaType");
		const char *d = hoist_json_str(b, "digest");
		if (hoist_image_mt_is_index(mt) ||
		    hoist_image_mt_is_manifest(mt) || !d || job_covers(r, d))
			continue;
		job_add(r, d, d,
			(uint64_t)json_integer_value(
				json_object_get(b, "size")));
		n++;
	}
	return n;
}

/*
 * Pipelined: the build handed over its root. What else it needs gets a
 * job; with no blob announced earlier (every layer came from the build
 * cache), one HEAD of the root may show that the push has nothing to do.
 */
static int root_ready(struct reg *r, const char *ref, size_t *added,
		      struct hoist_err *err)
{
	const char *d;
	int rc;

	*added = 0;
	rc = hoist_image_desc_get(r->root, NULL, &d, NULL, err);
	if (!rc)
		rc = hoist_imgwalk_blobs(&r->blobs, r->store, r->root, err);
	if (rc)
		return rc;
	snprintf(r->stats->digest, sizeof(r->stats->digest), "%s", d);
	if (!r->seen) {
		rc = manifest_present(r, ref ? ref : d, d, &r->have, err);
		if (rc || r->have)
			return rc;
	}
	*added = add_blob_jobs(r, r->blobs);
	return 0;
}

struct pipe_watch {
	struct reg *r;
	const char *ref; /* the tag, or NULL: by digest */
	int rc;
	struct hoist_err err;
};

/*
 * Pipelined: the loop's look at the feed, every FEED_POLL_MS until the
 * root came. Each blob announced gets a job at once.
 */
static void watch(void *ctx)
{
	struct pipe_watch *w = ctx;
	struct reg *r = w->r;
	struct hoist_feed *f = r->opts->feed;
	char key[HOIST_FEED_KEY_MAX];
	struct hoist_err err;
	size_t n = 0, added = 0;
	int rc;

	hoist_err_clear(&err);
	if (hoist_xfer_stopped(&r->x)) {
		r->x.open = 0;
		return;
	}
	while (hoist_feed_key(f, r->seen, key, sizeof(key))) {
		job_add(r, key, NULL, 0);
		r->seen++;
		n++;
	}
	learn_digests(r);
	rc = hoist_feed_root(f, &r->root, &err);
	if (rc == 0) {
		hoist_xfer_add(&r->x, n);
		if (hoist_http_timer(r->c.http, FEED_POLL_MS, watch, w, &err)) {
			r->x.open = 0;
			hoist_xfer_fail(&r->x, err.code, &err);
		}
		return;
	}
	r->x.open = 0;
	if (rc < 0) {
		/*
		 * The build failed: the blobs it announced fail (and cancel
		 * their sessions) on their own; its error is the push's.
		 */
		w->rc = rc;
		w->err = err;
		hoist_xfer_add(&r->x, n);
		return;
	}
	rc = root_ready(r, w->ref, &added, &err);
	if (rc) {
		w->rc = rc;
		w->err = err;
		hoist_xfer_fail(&r->x, rc, &err);
		return;
	}
	hoist_xfer_add(&r->x, n + added);
}

int hoist_registry_push(struct hoist_store *s, const json_t *root,
			const char *ref, int by_digest,
			const struct hoist_registry_opts *opts,
			struct hoist_push_stats *stats, struct hoist_err *err)
{
	struct reg r;
	struct pipe_watch w;
	struct hoist_ref pr;
	char *mount_scope = NULL;
	json_t *blobs = NULL, *b;
	const char *root_digest = NULL, *put_ref;
	const char **digests = NULL;
	size_t i, ndigests = 0;
	int rc, pipe = !root, status = 0;

	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	memset(stats, 0, sizeof(*stats));
	memset(&pr, 0, sizeof(pr));
	r.store = s;
	r.opts = opts;
	r.stats = stats;
	if (pipe && !opts->feed)
		return hoist_err_set(err, HOIST_EINVAL, "push '%s': no image",
				     ref);
	if (!pipe) {
		rc = hoist_image_desc_get(root, NULL, &root_digest, NULL, err);
		if (rc)
			return rc;
		snprintf(stats->digest, sizeof(stats->digest), "%s",
			 root_digest);
	}
	rc = hoist_ref_parse(&pr, ref, HOIST_REF_NORMALIZE, err);
	if (rc)
		return rc;

	if (!pipe) {
		/* every blob that is not a manifest: configs and layers */
		rc = hoist_imgwalk_blobs(&blobs, s, root, err);
		if (rc)
			goto out;
		digests = hoist_xcalloc(json_array_size(blobs) + 1,
					sizeof(*digests));
		json_array_foreach(blobs, i, b)
		{
			const char *mt = hoist_json_str(b, "mediaType");
			if (!hoist_image_mt_is_index(mt) &&
			    !hoist_image_mt_is_manifest(mt))
				digests[ndigests++] =
					hoist_json_str(b, "digest");
		}
	}
	/* where the blobs are known to be, for mounts (blobsrc.h) */
	r.blobsrc = hoist_blobsrc_load(s, pr.domain);
	if (!opts->mount_from && ndigests)
		r.mount_pick = hoist_blobsrc_pick(r.blobsrc, digests, ndigests,
						  pr.path);
	free(digests);
	digests = NULL;
	if (opts->mount_from && strcmp(opts->mount_from, pr.path))
		mount_scope =
			hoist_xasprintf("repository:%s:pull", opts->mount_from);
	else if (r.mount_pick)
		mount_scope =
			hoist_xasprintf("repository:%s:pull", r.mount_pick);
	rc = hoist_regconn_open(&r.c, pr.domain, pr.path, "pull,push",
				mount_scope, &opts->conn, err);
	if (rc)
		goto out;
	hoist_registry_load_strategy(&r);
	put_ref = (!by_digest && pr.tag) ? pr.tag : NULL;
	if (opts->statuses) {
		hoist_status_begin("pushing layers");
		status = 1;
	}

	if (!pipe) {
		int have = 0;
		add_blob_jobs(&r, blobs);
		stats->blobs = r.njobs;
		/* the same root already there: one HEAD is the whole push */
		rc = manifest_present(&r, put_ref ? put_ref : root_digest,
				      root_digest, &have, err);
		if (rc)
			goto out;
		if (have) {
			stats->blobs_present = stats->blobs;
			stats->present = 1;
			hoist_log(HOIST_LOG_INFO, "%s/%s already holds %s",
				  r.c.host, r.c.repo, root_digest);
			goto remember;
		}
		if (r.mount_pick)
			hoist_log(HOIST_LOG_INFO,
				  "%s: blobs known in %s are mounted", r.c.host,
				  r.mount_pick);
		hoist_log(HOIST_LOG_INFO, "pushing %zu blobs to %s/%s", r.njobs,
			  r.c.host, r.c.repo);
	} else {
		/* a registry that takes only whole blobs gets them whole; in
		 * stream mode one PATCH streams each blob as it is written */
		r.whole = r.mode == HOIST_UPLOAD_MONOLITHIC;
		hoist_log(HOIST_LOG_INFO,
			  "pushing to %s/%s while the image is built%s",
			  r.c.host, r.c.repo,
			  r.whole ? " (each blob once it is whole)" : "");
	}
	hoist_xfer_init(&r.x, r.c.http, opts->conn.max_concurrent, r.njobs,
			hoist_registry_job_start, &r);
	if (pipe) {
		w.r = &r;
		w.ref = put_ref;
		r.x.open = 1;
		watch(&w);
	}
	rc = hoist_xfer_run(&r.x, err);
	if (!rc && w.rc) {
		*err = w.err;
		rc = w.rc;
	}
	if (rc)
		goto out;
	stats->blobs = r.njobs;
	if (pipe && r.have) {
		stats->blobs_present = json_array_size(r.blobs);
		stats->present = 1;
		hoist_log(HOIST_LOG_INFO, "%s/%s already holds %s", r.c.host,
			  r.c.repo, stats->digest);
		goto remember;
	}
	if (status) {
		/* BuildKit's ref: the name as given, at the root's digest */
		hoist_status_end();
		hoist_status_begin("pushing manifest for %s%s%s", ref,
				   strchr(ref, '@') ? "" : "@",
				   strchr(ref, '@') ? "" : stats->digest);
	}
	rc = push_manifests(&r, pipe ? r.root : root,
			    put_ref ? put_ref : stats->digest, err);
	if (rc)
		goto out;
remember:
	digests = job_digests(&r, &ndigests);
	hoist_blobsrc_add(s, pr.domain, pr.path, digests, ndigests);
out:
	if (status)
		hoist_status_end();
	stats->retries += r.c.retries;
	stats->waits += r.c.waits;
	json_decref(blobs);
	if (rc)
		hoist_err_prefix(err, "push '%s'", ref);
	hoist_ref_release(&pr);
	reg_release(&r);
	free(digests);
	free(mount_scope);
	return rc;
}

/* ---- the same push on a thread ---- */

struct hoist_registry_bg {
	pthread_t th;
	int step; /* its progress step (util/log.h) */
	struct hoist_store *s;
	const char *ref;
	int by_digest;
	const struct hoist_registry_opts *opts;
	struct hoist_push_stats stats;
	int rc;
	struct hoist_err err;
};

static void *push_thread(void *ctx)
{
	struct hoist_registry_bg *bg = ctx;

	hoist_err_clear(&bg->err);
	hoist_step_adopt(bg->step);
	bg->rc = hoist_registry_push(bg->s, NULL, bg->ref, bg->by_digest,
				     bg->opts, &bg->stats, &bg->err);
	if (bg->rc && bg->opts->feed) /* stop the build feeding it */
		hoist_feed_abort(bg->opts->feed, bg->rc, &bg->err);
	return NULL;
}

int hoist_registry_push_start(struct hoist_registry_bg **out,
			      struct hoist_store *s, const char *ref,
			      int by_digest,
			      const struct hoist_registry_opts *opts, int step,
			      struct hoist_err *err)
{
	struct hoist_registry_bg *bg = hoist_xcalloc(1, sizeof(*bg));
	int e;

	bg->s = s;
	bg->ref = ref;
	bg->by_digest = by_digest;
	bg->opts = opts;
	bg->step = step;
	e = pthread_create(&bg->th, NULL, push_thread, bg);
	if (e) {
		free(bg);
		*out = NULL;
		return hoist_err_sys(err, e, "start the push");
	}
	*out = bg;
	return 0;
}

int hoist_registry_push_wait(struct hoist_registry_bg *bg,
			     struct hoist_push_stats *stats,
			     struct hoist_err *err)
{
	int rc;

	pthread_join(bg->th, NULL);
	*stats = bg->stats;
	rc = bg->rc;
	if (rc)
		*err = bg->err;
	free(bg);
	return rc;
}
