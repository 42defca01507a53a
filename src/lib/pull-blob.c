/*
 * pull-blob.c: the blob downloads of a pull, in parallel on the HTTP event
 * loop (one xfer pool), each straight into a store ingest that hashes it
 * on the way, so a blob is named only once its digest and size are proven.
 *
 * Each blob download is driven by the download engine (download.h, where
 * its state table is): it says which GET to send, to which origin and
 * from which byte, and what to do with the bytes held; this file sends
 * it, answers 401s with fresh credentials, and keeps the bytes.
 *
 * The sink of a ranged attempt cannot see the response headers, so its
 * body goes to an unnamed temporary file (the "tail") and is moved into
 * the ingest once the answer says where it belongs. That costs one more
 * copy of the resumed part only. Retries go back to the registry URL, not
 * to a storage URL it redirected to (such URLs are signed and expire).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/download.h"
#include "lib/pull-int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define PULL_COPY_BUF (256u * 1024)

struct job {
	struct pull *p;
	char digest[HOIST_DIGEST_MAX];
	char id[24]; /* short digest for progress and logs */
	uint64_t size;
	struct hoist_ingest *in; /* the bytes held */
	char *blob_url;          /* the registry's URL for the blob */
	struct hoist_download *dl;
	struct hoist_download_req req; /* the engine's current step */
	char *hdr_auth;
	char *hdr_range;
	const char *hdrs[2];
	struct hoist_sink sink;
	int tail_fd; /* body of a ranged attempt until it is placed */
	uint64_t tail_len;
	int auth_retries;
	int verified; /* in the store */
};

static void job_send(struct job *j);
static void job_step(struct job *j);
/* The job ended: drop what it holds and tell the pool. */
static void job_end(struct job *j, int rc, const struct hoist_err *e)
{
	const struct hoist_pull_hooks *h = j->p->opts->hooks;

	if (h && h->done && (rc || j->verified)) {
		h->done(h->ctx, j->digest, rc, e);
	} else if (h && h->done) {
		/* the pool stopped it: another blob failed */
		struct hoist_err stop;
		hoist_err_set(&stop, HOIST_EINTR, "blob '%s': stopped",
			      j->digest);
		h->done(h->ctx, j->digest, HOIST_EINTR, &stop);
	}
	hoist_ingest_abort(j->in);
	j->in = NULL;
	if (j->tail_fd >= 0) {
		close(j->tail_fd);
		j->tail_fd = -1;
	}
	hoist_xfer_end(&j->p->x, rc, e);
}

static void job_finish(struct job *j)
{
	job_end(j, 0, NULL);
}

static void job_fail(struct job *j, struct hoist_err *e)
{
	hoist_err_prefix(e, "blob '%s'", j->digest);
	job_end(j, e->code ? e->code : HOIST_EHTTP, e);
}

static int too_much(struct job *j, uint64_t have, size_t len,
		    struct hoist_err *err)
{
	if (have <= j->size && len <= j->size - have)
		return 0;
	return hoist_err_set(err, HOIST_EDIGEST,
			     "registry sent more than the %llu bytes of the "
			     "blob",
			     (unsigned long long)j->size);
}

static void hook_progress(struct job *j)
{
	const struct hoist_pull_hooks *h = j->p->opts->hooks;

	if (h && h->progress && j->in)
		h->progress(h->ctx, j->digest, hoist_ingest_size(j->in));
}

static void hook_ingest(struct job *j)
{
	const struct hoist_pull_hooks *h = j->p->opts->hooks;

	if (h && h->ingest && j->in)
		h->ingest(h->ctx, j->digest, hoist_ingest_fd(j->in));
}

static int sink_ingest(void *ctx, const void *data, size_t len,
		       struct hoist_err *err)
{
	struct job *j = ctx;
	int rc = too_much(j, hoist_ingest_size(j->in), len, err);

	if (rc)
		return rc;
	j->p->stats->bytes += len;
	rc = hoist_ingest_write(j->in, data, len, err);
	if (!rc)
		hook_progress(j);
	return rc;
}

static int sink_tail(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	struct job *j = ctx;
	const char *b = data;
	int rc = too_much(j, j->tail_len, len, err);

	if (rc)
		return rc;
	j->p->stats->bytes += len;
	while (len) {
		ssize_t n = pwrite(j->tail_fd, b, len, (off_t)j->tail_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hoist_err_sys(err, n < 0 ? errno : EIO,
					     "write resumed download");
		b += n;
		len -= (size_t)n;
		j->tail_len += (uint64_t)n;
	}
	return 0;
}

/* An unnamed file on the store's file system. */
static int tail_open(struct job *j, struct hoist_err *err)
{
	if (j->tail_fd >= 0)
		return ftruncate(j->tail_fd, 0) < 0
			       ? hoist_err_sys(err, errno, "truncate tail")
			       : 0;
	return hoist_store_tmpfile(j->p->s, &j->tail_fd, err);
}

/* Move the tail into the ingest. */
static int tail_merge(struct job *j, struct hoist_err *err)
{
	char *buf;
	uint64_t at = 0;
	int rc = 0;

	buf = hoist_xmalloc(PULL_COPY_BUF);
	while (at < j->tail_len) {
		size_t want = j->tail_len - at < PULL_COPY_BUF
				      ? (size_t)(j->tail_len - at)
				      : PULL_COPY_BUF;
		ssize_t n = pread(j->tail_fd, buf, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = hoist_err_sys(err, n < 0 ? errno : EIO,
					   "read resumed download");
			break;
		}
		rc = hoist_ingest_write(j->in, buf, (size_t)n, err);
		if (rc)
			break;
		at += (uint64_t)n;
	}
	free(buf);
	return rc;
}

/* A new, empty ingest in place of the bytes held. */
static int ingest_restart(struct job *j, struct hoist_err *err)
{
	int rc;

	hoist_ingest_abort(j->in);
	j->in = NULL;
	rc = hoist_ingest_open(&j->in, j->p->s, err);
	if (!rc)
		hook_ingest(j);
	return rc;
}

/* Do what the engine says with the bytes held and the pending tail. */
static int place(struct job *j, struct hoist_err *err)
{
	int rc = 0;

	if (j->req.note)
		hoist_log(HOIST_LOG_WARN, "%s: %s", j->id, j->req.note);
	switch (j->req.place) {
	case HOIST_DOWNLOAD_KEEP:
		break;
	case HOIST_DOWNLOAD_APPEND:
		if (j->tail_len > 0)
			j->p->stats->resumed++;
		rc = tail_merge(j, err);
		break;
	case HOIST_DOWNLOAD_REPLACE:
		rc = ingest_restart(j, err);
		if (!rc)
			rc = tail_merge(j, err);
		break;
	case HOIST_DOWNLOAD_DROP:
		rc = ingest_restart(j, err);
		break;
	}
	j->tail_len = 0;
	if (!rc)
		hook_progress(j);
	return rc;
}

static void job_progress(void *ctx, uint64_t sent, uint64_t received)
{
	struct job *j = ctx;

	(void)sent;
	hoist_log_progress(j->id, "pulling", j->req.range_from + received,
			   j->size, 0);
}

static void job_send_cb(void *ctx)
{
	job_send(ctx);
}

/* Ask the engine what next, and do it. */
static void job_step(struct job *j)
{
	struct pull *p = j->p;
	struct hoist_err err;
	int rc;

	hoist_err_clear(&err);
	hoist_download_next(j->dl, &j->req, &err);
	if (j->req.kind != HOIST_DOWNLOAD_FAILED && place(j, &err)) {
		job_fail(j, &err);
		return;
	}
	switch (j->req.kind) {
	case HOIST_DOWNLOAD_VERIFY:
		rc = hoist_ingest_commit(j->in, j->digest, NULL, NULL, &err);
		j->in = NULL;
		hoist_download_verified(j->dl, rc, &err);
		job_step(j);
		return;
	case HOIST_DOWNLOAD_DONE:
		j->verified = 1;
		hoist_log_progress(j->id, "pulled", j->size, j->size, 1);
		hoist_log(HOIST_LOG_INFO, "pulled %s", j->id);
		job_finish(j);
		return;
	case HOIST_DOWNLOAD_FAILED:
		job_fail(j, &err);
		return;
	case HOIST_DOWNLOAD_SEND:
		break;
	}
	if (j->req.attempt > 0) {
		p->stats->retries++;
		hoist_log(HOIST_LOG_INFO,
			  "retry %d of %s at byte %llu: %s, in %.1fs",
			  j->req.attempt, j->id,
			  (unsigned long long)j->req.range_from,
			  j->req.why ? j->req.why : "transient error",
			  (double)j->req.delay_ms / 1000);
		hoist_log_progress(j->id, "retrying", j->req.range_from,
				   j->size, 0);
	}
	if (j->req.delay_ms > 0) {
		if (hoist_http_timer(p->c.http, j->req.delay_ms, job_send_cb, j,
				     &err))
			job_fail(j, &err);
		return;
	}
	job_send(j);
}

static void job_done(void *ctx, int rc, struct hoist_http_response *resp,
		     const struct hoist_err *herr)
{
	struct job *j = ctx;
	struct pull *p = j->p;
	struct hoist_download_resp dr;
	struct hoist_err err;
	char *loc = NULL;
	/* also after a transport error: headers may have arrived */
	int status = resp ? resp->status : 0;

	hoist_err_clear(&err);
	if (hoist_xfer_stopped(&p->x)) {
		job_finish(j);
		return;
	}
	if (rc == 0 && status == 401 &&
	    j->auth_retries < HOIST_REG_AUTH_RETRIES &&
	    hoist_regconn_on_401(&p->c, resp, j->hdr_auth)) {
		j->auth_retries++;
		job_send(j);
		return;
	}
	if (rc == 0 && status != 401)
		j->auth_retries = 0;
	memset(&dr, 0, sizeof(dr));
	dr.transport = rc;
	dr.status = status;
	if (rc)
		dr.error = herr;
	else if (status >= 400) {
		hoist_regconn_http_error(&err, "get blob", resp);
		dr.error = &err;
	}
	if (status) {
		const char *l = hoist_http_header_get(resp, "Location");
		if (l && hoist_http_resolve_url(&loc, j->req.url, l, &err)) {
			dr.transport = err.code;
			dr.error = &err;
		}
		dr.location = loc;
		dr.content_range = hoist_http_header_get(resp, "Content-Range");
		dr.retry_after = hoist_http_header_get(resp, "Retry-After");
	}
	if (status >= 200 && status < 300)
		dr.received = j->req.range_from > 0 ? j->tail_len
						    : hoist_ingest_size(j->in) -
							      j->req.range_from;
	dr.now = (int64_t)time(NULL);
	dr.now_ms = hoist_clock_ms();
	dr.rnd = hoist_regconn_rnd32();
	hoist_download_feed(j->dl, &dr);
	free(loc);
	job_step(j);
}

static void job_send(struct job *j)
{
	struct pull *p = j->p;
	struct hoist_http_request req;
	struct hoist_err err;
	size_t n = 0;

	if (hoist_xfer_stopped(&p->x)) {
		job_finish(j);
		return;
	}
	free(j->hdr_auth);
	j->hdr_auth = NULL;
	free(j->hdr_range);
	j->hdr_range = NULL;
	/* credentials only for the registry's own origin (auth.c checks
	 * again): a storage host gets none */
	if (j->req.registry_origin &&
	    hoist_regconn_auth_line(&p->c, j->req.url, &j->hdr_auth, &err)) {
		job_fail(j, &err);
		return;
	}
	if (j->hdr_auth)
		j->hdrs[n++] = j->hdr_auth;
	j->tail_len = 0;
	j->sink.ctx = j;
	j->sink.write = sink_ingest;
	if (j->req.range_from > 0) {
		if (tail_open(j, &err)) {
			job_fail(j, &err);
			return;
		}
		j->hdr_range =
			hoist_xasprintf("Range: bytes=%llu-",
					(unsigned long long)j->req.range_from);
		j->hdrs[n++] = j->hdr_range;
		j->sink.write = sink_tail;
	}
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = j->req.url;
	req.headers = j->hdrs;
	req.nheaders = n;
	req.tls = j->req.registry_origin ? &p->c.tls : &p->foreign_tls;
	req.max_body = HOIST_REG_ERROR_BODY_MAX;
	req.sink = &j->sink;
	/* blob bodies on their own HTTP/1.1 connections, as push does
	 * (bench/http2-notes.md); metadata shares h2 */
	req.version = p->opts->reg.conn.http_version;
	if (req.version == HOIST_HTTP_AUTO)
		req.version = HOIST_HTTP_V1;
	req.progress = job_progress;
	req.progress_ctx = j;
	if (hoist_http_submit(p->c.http, &req, job_done, j, &err))
		job_fail(j, &err);
}

/* The pool starts job i. */
static int job_start(void *ctx, size_t i, struct hoist_err *err)
{
	struct pull *p = ctx;
	struct job *j = p->jobs[i];
	struct hoist_download_params dp;
	int rc;

	memset(&dp, 0, sizeof(dp));
	dp.url = j->blob_url;
	dp.size = j->size;
	dp.retry = p->pol;
	dp.now_ms = hoist_clock_ms();
	rc = hoist_ingest_open(&j->in, p->s, err);
	if (!rc)
		rc = hoist_download_new(&j->dl, &dp, err);
	if (rc) {
		hoist_err_prefix(err, "blob '%s'", j->digest);
		return rc;
	}
	hook_ingest(j);
	hoist_log_progress(j->id, "pulling", 0, j->size, 0);
	job_step(j);
	return 0;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	hoist_ingest_abort(j->in);
	if (j->tail_fd >= 0)
		close(j->tail_fd);
	hoist_download_free(j->dl);
	free(j->blob_url);
	free(j->hdr_auth);
	free(j->hdr_range);
	free(j);
}

int hoist_pull_fetch_blobs(struct pull *p, struct hoist_err *err)
{
	const char *digest;
	json_t *v;
	int rc;

	p->jobs =
		hoist_xcalloc(json_object_size(p->blobs) + 1, sizeof(*p->jobs));
	json_object_foreach(p->blobs, digest, v)
	{
		uint64_t size = (uint64_t)json_integer_value(v), have;
		struct job *j;

		if (hoist_store_has(p->s, digest)) {
			rc = hoist_store_blob_size(p->s, digest, &have, err);
			if (rc)
				return rc;
			if (have != size)
				return hoist_err_set(
					err, HOIST_EINVAL,
					"blob '%s' has %llu bytes, the "
					"manifest says %llu",
					digest, (unsigned long long)have,
					(unsigned long long)size);
			p->stats->blobs_present++;
			continue;
		}
		j = hoist_xcalloc(1, sizeof(*j));
		j->p = p;
		j->tail_fd = -1;
		j->size = size;
		snprintf(j->digest, sizeof(j->digest), "%s", digest);
		snprintf(j->id, sizeof(j->id), "%.19s", digest);
		j->blob_url = hoist_xasprintf("%s/v2/%s/blobs/%s", p->c.base,
					      p->c.repo, digest);
		p->jobs[p->njobs++] = j;
	}
	if (!p->njobs)
		return 0;
	hoist_log(HOIST_LOG_INFO, "pulling %zu blobs from %s/%s", p->njobs,
		  p->c.host, p->c.repo);
	hoist_xfer_init(&p->x, p->c.http, p->opts->reg.conn.max_concurrent,
			p->njobs, job_start, p);
	return hoist_xfer_run(&p->x, err);
}

void hoist_pull_jobs_free(struct pull *p)
{
	for (size_t i = 0; i < p->njobs; i++)
		job_free(p->jobs[i]);
	free(p->jobs);
	p->jobs = NULL;
	p->njobs = 0;
}
