/*
 * registry-blob.c: the blob uploads of a push, in parallel on the HTTP
 * event loop (registry.c's transfer pool). Each blob job is driven by an
 * upload engine (upload.h, where its state table is): it says which
 * request to send; this file sends it, answers 401s with fresh
 * credentials, feeds the engine the answer, persists the upload session
 * for resume and remembers per registry which upload mode worked. Blobs
 * of a pipelined push come from the feed while they are being written: in
 * chunks as their bytes come, or, in stream mode, as the body of one PATCH
 * that a timer feeds (stream_poll: the bytes written so far go to
 * hoist_http_body_more, the end once the feed has verified the blob).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/blobsrc.h"
#include "lib/registry-int.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

/* The job's name in messages: its digest, or the feed's key. */
static const char *jname(const struct blob_job *j)
{
	return j->digest[0] ? j->digest : j->key;
}

/* ---- upload sessions on disk ---- */

char *hoist_registry_session_key(struct reg *r, const char *digest)
{
	return hoist_xasprintf("%s/%s@%s", r->c.host, r->c.repo, digest);
}

/*
 * 1 when the session belongs to an upload still running (this process,
 * another image of the same sync, or another hoist): two uploads must not
 * feed one session. A process that is gone (killed) left it to resume.
 */
static int session_live(const json_t *doc)
{
	json_t *pid = json_object_get(doc, "pid");
	pid_t p;

	if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
	    json_integer_value(pid) > INT32_MAX)
		return 0;
	p = (pid_t)json_integer_value(pid);
	return p == getpid() || kill(p, 0) == 0 || errno == EPERM;
}

static int load_session(struct blob_job *j, char **location, uint64_t *offset)
{
	json_t *doc = NULL, *off;
	const char *loc;
	int found = 0;

	if (hoist_store_session_load(j->r->store, j->session_key, &doc))
		return 0;
	if (session_live(doc)) {
		json_decref(doc);
		return 0;
	}
	loc = hoist_json_str(doc, "location");
	off = json_object_get(doc, "offset");
	if (loc && json_is_integer(off) && json_integer_value(off) >= 0 &&
	    (uint64_t)json_integer_value(off) <= j->size &&
	    hoist_json_str(doc, "digest") &&
	    strcmp(hoist_json_str(doc, "digest"), j->digest) == 0) {
		*location = hoist_xstrdup(loc);
		*offset = (uint64_t)json_integer_value(off);
		found = 1;
	}
	json_decref(doc);
	return found;
}

void hoist_registry_save_session(struct blob_job *j)
{
	const char *loc;
	uint64_t off;
	json_t *doc;

	if (!j->session_key || !hoist_upload_checkpoint(j->u, &loc, &off))
		return;
	doc = json_object();
	hoist_json_set_str(doc, "registry", j->r->c.host);
	hoist_json_set_str(doc, "repository", j->r->c.repo);
	hoist_json_set_str(doc, "digest", j->digest);
	json_object_set_new(doc, "size", json_integer((json_int_t)j->size));
	hoist_json_set_str(doc, "location", loc);
	json_object_set_new(doc, "offset", json_integer((json_int_t)off));
	json_object_set_new(doc, "pid", json_integer((json_int_t)getpid()));
	hoist_store_session_save(j->r->store, j->session_key, doc, NULL);
	json_decref(doc);
}

/* ---- per-registry memory ---- */

static const char *const mode_names[] = {"auto", "monolithic", "stream",
					 "chunked"};

void hoist_registry_load_strategy(struct reg *r)
{
	json_t *doc = NULL;

	r->mode = r->opts->mode;
	r->chunk_size = r->opts->chunk_size;
	if (r->chunk_size)
		r->mode = HOIST_UPLOAD_CHUNKED;
	if (r->mode != HOIST_UPLOAD_AUTO)
		return;
	if (hoist_store_registry_load(r->store, r->c.host, &doc) == 0) {
		const char *m = hoist_json_str(doc, "mode");
		json_t *cs = json_object_get(doc, "chunk_size");
		for (int i = 0; m && i < 4; i++)
			if (strcmp(m, mode_names[i]) == 0)
				r->mode = (enum hoist_upload_mode)i;
		if (json_is_integer(cs) && json_integer_value(cs) > 0)
			r->chunk_size = (uint64_t)json_integer_value(cs);
		if (r->mode != HOIST_UPLOAD_AUTO)
			hoist_log(HOIST_LOG_INFO,
				  "%s: using %s uploads as learned earlier",
				  r->c.host, mode_names[r->mode]);
	}
	json_decref(doc);
}

static void save_strategy(struct reg *r, enum hoist_upload_mode mode,
			  uint64_t chunk)
{
	json_t *doc;

	if (r->opts->mode != HOIST_UPLOAD_AUTO || r->opts->chunk_size)
		return; /* forced by the user: nothing learned */
	if (mode == r->mode &&
	    (mode != HOIST_UPLOAD_CHUNKED || chunk == r->chunk_size))
		return;
	if (mode == HOIST_UPLOAD_AUTO || mode == HOIST_UPLOAD_MONOLITHIC)
		return; /* the default worked: nothing to remember */
	doc = json_object();
	hoist_json_set_str(doc, "mode", mode_names[mode]);
	json_object_set_new(doc, "chunk_size", json_integer((json_int_t)chunk));
	hoist_store_registry_save(r->store, r->c.host, doc, NULL);
	json_decref(doc);
	r->mode = mode;
	r->chunk_size = chunk;
	hoist_log(HOIST_LOG_INFO, "%s: will start with %s uploads next time",
		  r->c.host, mode_names[mode]);
}

/* ---- blob jobs on the event loop ---- */

static void job_step(struct blob_job *j);
static void job_send(void *ctx);
static void job_cancel(struct blob_job *j, const struct hoist_err *e);

/* The job ended (rc 0) or failed (rc and e): tell the pool. */
static void job_end(struct blob_job *j, int rc, const struct hoist_err *e)
{
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	hoist_xfer_end(&j->r->x, rc, e);
}

static void job_fail(struct blob_job *j, const struct hoist_err *e)
{
	job_end(j, e->code ? e->code : HOIST_EHTTP, e);
}

static void job_done(void *ctx, int rc, struct hoist_http_response *resp,
		     const struct hoist_err *herr)
{
	struct blob_job *j = ctx;
	struct reg *r = j->r;
	struct hoist_upload_resp ur;
	const char *code = NULL, *msg = NULL;
	json_t *doc = NULL;

	j->streaming = 0;
	if (j->stream_abort) {
		/* the build failed: the PATCH ended, the session goes */
		j->stream_abort = 0;
		job_cancel(j, &j->cancel_err);
		return;
	}
	if (rc == 0 && resp->status == 401 &&
	    j->auth_retries < HOIST_REG_AUTH_RETRIES &&
	    hoist_regconn_on_401(&r->c, resp, j->hdr_auth)) {
		/*
		 * The registry refused the credentials before acting on the
		 * request: send the same step again with a fresh token; the
		 * upload engine never sees this answer.
		 */
		j->auth_retries++;
		job_send(j);
		return;
	}
	if (rc && rc != HOIST_ENET) {
		/* TLS, a cap, a broken answer, the deadline: not transient */
		struct hoist_err e;
		if (herr)
			e = *herr;
		else
			hoist_err_set(&e, rc, "request failed");
		r->stats->bytes_sent += hoist_upload_bytes_sent(j->u);
		hoist_err_prefix(&e, "blob '%s'", jname(j));
		job_fail(j, &e);
		return;
	}
	memset(&ur, 0, sizeof(ur));
	if (rc == 0) {
		hoist_regconn_observe(&r->c, resp);
		ur.status = resp->status;
		ur.location = hoist_http_header_get(resp, "Location");
		ur.range = hoist_http_header_get(resp, "Range");
		ur.docker_content_digest =
			hoist_http_header_get(resp, "Docker-Content-Digest");
		ur.chunk_min_length =
			hoist_http_header_get(resp, "OCI-Chunk-Min-Length");
		ur.retry_after = hoist_http_header_get(resp, "Retry-After");
		if (resp->status >= 400) {
			hoist_regconn_error_body(resp, &code, &msg, &doc);
			ur.error_code = code;
			ur.error_message = msg;
		}
		if (resp->status != 401)
			j->auth_retries = 0;
	} else {
		ur.status = 0;
		/*
		 * Whether the registry may hold some of this body, so that the
		 * engine must ask it for its offset instead of sending the
		 * same request again: assumed for every failure of a request
		 * with a body. libcurl's count of body bytes sent cannot prove
		 * that none arrived (it may resend on a reused connection it
		 * found dead), and asking costs one GET.
		 */
		ur.body_started = j->req.has_body &&
				  (j->req.body_len > 0 || j->req.growing);
		ur.error_message = hoist_err_msg(herr);
	}
	ur.now = (int64_t)time(NULL);
	ur.rnd = hoist_regconn_rnd32();
	ur.elapsed_ms = (long)(hoist_clock_ms() - j->started_ms);
	hoist_upload_feed(j->u, &ur);
	json_decref(doc);
	hoist_registry_save_session(j);
	if (j->growing && !j->early) {
		const char *loc;
		uint64_t off;
		if (hoist_upload_checkpoint(j->u, &loc, &off) && off > 0) {
			j->early = 1;
			hoist_log(HOIST_LOG_INFO,
				  "%s: the registry holds its first %llu bytes "
				  "while it is being written",
				  j->key, (unsigned long long)off);
		}
	}
	job_step(j);
}

static void job_progress(void *ctx, uint64_t sent, uint64_t received)
{
	struct blob_job *j = ctx;
	char id[24];
	(void)received;
	snprintf(id, sizeof(id), "%.19s", jname(j));
	hoist_log_progress(id, j->req.attempt ? "retrying" : "pushing",
			   j->req.body_offset + sent, j->size, 0);
}

/* The digest of a growing blob is known: the session can be saved. */
void hoist_registry_job_known(struct blob_job *j, const char *digest,
			      uint64_t size)
{
	snprintf(j->digest, sizeof(j->digest), "%s", digest);
	j->size = size;
	free(j->session_key);
	j->session_key = hoist_registry_session_key(j->r, j->digest);
}

/*
 * Whether the body of the step can go out: 1 yes, 0 not yet, or the
 * feed's failure. Chunks go as soon as their bytes are in; the closing PUT
 * names the digest, so it waits until the blob is verified. A growing
 * upload learns its end then (the step may change).
 */
static int feed_ready(struct blob_job *j, struct hoist_err *err)
{
	char digest[HOIST_DIGEST_MAX];
	uint64_t avail = 0, size = 0;
	int fd = -1, rc;
	char *blob;

	rc = hoist_feed_state(j->r->opts->feed, j->key, &j->feed_gen, &fd,
			      &avail, digest, &size, err);
	if (rc < 0)
		return rc;
	if (fd >= 0) {
		if (j->fd >= 0)
			close(j->fd);
		j->fd = fd;
	}
	j->avail = avail;
	if (rc == 0 && j->req.growing) /* streamed: some bytes to start */
		return j->fd >= 0 && avail > j->req.body_offset;
	if (rc == 0)
		return j->fd >= 0 && strcmp(j->req.method, "PUT") != 0 &&
		       j->req.body_offset + j->req.body_len <= avail;
	if (j->growing) {
		hoist_registry_job_known(j, digest, size);
		rc = hoist_upload_seal(j->u, digest, size, err);
		if (rc)
			return rc;
		j->growing = 0;
		hoist_upload_next(j->u, &j->req, NULL);
		hoist_registry_save_session(j);
	}
	/* verified: from the store from now on */
	if (j->fd >= 0)
		close(j->fd);
	blob = hoist_store_blob_path(j->r->store, j->digest);
	j->fd = blob ? open(blob, O_RDONLY | O_CLOEXEC) : -1;
	free(blob);
	if (j->fd < 0)
		return hoist_err_sys(err, errno, "blob '%s'", j->digest);
	j->fed = 0;
	return 1;
}

static void cancel_done(void *ctx, int rc, struct hoist_http_response *resp,
			const struct hoist_err *herr)
{
	struct blob_job *j = ctx;

	(void)herr;
	if (rc || resp->status < 200 || resp->status > 299)
		hoist_log(HOIST_LOG_WARN,
			  "%.19s: could not cancel the upload session "
			  "(HTTP %d); the registry drops it when it expires",
			  jname(j), rc ? 0 : resp->status);
	job_fail(j, &j->cancel_err);
}

/*
 * The bytes will not come: cancel the upload session (DELETE its
 * Location), so the registry keeps nothing of it, then fail with e.
 */
static void job_cancel(struct blob_job *j, const struct hoist_err *e)
{
	struct reg *r = j->r;
	struct hoist_http_request req;
	struct hoist_err err;
	const char *loc;
	char *url = NULL;
	uint64_t off;

	j->cancel_err = *e; /* the feed's message names the blob */
	if (j->session_key)
		hoist_store_session_drop(r->store, j->session_key);
	if (!hoist_upload_checkpoint(j->u, &loc, &off) ||
	    hoist_http_resolve_url(&url, r->c.base, loc, &err)) {
		job_fail(j, &j->cancel_err);
		return;
	}
	free(j->url);
	j->url = url;
	free(j->hdr_auth);
	j->hdr_auth = NULL;
	j->nhdrs = 0;
	if (hoist_regconn_auth_line(&r->c, j->url, &j->hdr_auth, &err) == 0 &&
	    j->hdr_auth)
		j->hdrs[j->nhdrs++] = j->hdr_auth;
	hoist_log(HOIST_LOG_INFO, "%.19s: cancelling the upload session",
		  jname(j));
	memset(&req, 0, sizeof(req));
	req.method = "DELETE";
	req.url = j->url;
	req.headers = j->hdrs;
	req.nheaders = j->nhdrs;
	req.tls = &r->c.tls;
	req.max_body = HOIST_REG_ERROR_BODY_MAX;
	if (hoist_http_submit(r->c.http, &req, cancel_done, j, &err))
		job_fail(j, &j->cancel_err);
}

/* The streamed PATCH ends because its bytes will not come (e). */
static void stream_abort(struct blob_job *j, const struct hoist_err *e)
{
	j->stream_abort = 1;
	j->cancel_err = *e;
	hoist_http_body_abort(j->r->c.http, &j->grow, e);
}

/*
 * While a growing blob's streamed PATCH is under way: hand the bytes the
 * build has written to the request, and once the feed has verified the
 * blob, seal the upload (its digest and size) and end the body; the
 * closing PUT comes with the PATCH's answer. A failed build ends the
 * PATCH (then the session is cancelled).
 */
static void stream_poll(void *ctx)
{
	struct blob_job *j = ctx;
	struct reg *r = j->r;
	char digest[HOIST_DIGEST_MAX];
	uint64_t avail = 0, size = 0;
	struct hoist_err err;
	int fd = -1, rc;

	j->polling = 0;
	if (!j->streaming || !j->growing || j->stream_abort ||
	    hoist_xfer_stopped(&r->x))
		return;
	hoist_err_clear(&err);
	rc = hoist_feed_state(r->opts->feed, j->key, &j->feed_gen, &fd, &avail,
			      digest, &size, &err);
	if (fd >= 0) {
		/* a new file: the bytes streamed so far were the old one's */
		close(fd);
		if (rc == 0)
			rc = hoist_err_set(&err, HOIST_EIO,
					   "blob '%s': written again while it "
					   "was streamed",
					   j->key);
	}
	if (rc == 1) {
		hoist_registry_job_known(j, digest, size);
		if (hoist_upload_seal(j->u, digest, size, &err))
			rc = err.code;
	}
	if (rc < 0) {
		stream_abort(j, &err);
		return;
	}
	if (rc == 0) {
		hoist_http_body_more(r->c.http, &j->grow, avail, 0);
		if (hoist_http_timer(r->c.http, FEED_POLL_MS, stream_poll, j,
				     &err) == 0)
			j->polling = 1;
		else
			stream_abort(j, &err);
		return;
	}
	/* the same PATCH, now with its end */
	j->growing = 0;
	hoist_upload_next(j->u, &j->req, NULL);
	hoist_registry_save_session(j);
	hoist_http_body_more(r->c.http, &j->grow,
			     j->req.body_offset + j->req.body_len, 1);
}

/* The streamed PATCH of a growing blob went out: feed it. */
static void stream_started(struct blob_job *j)
{
	struct hoist_err err;

	j->streaming = 1;
	if (!j->said_stream) {
		j->said_stream = 1;
		hoist_log(HOIST_LOG_INFO,
			  "%s: streaming it to the registry in one PATCH while "
			  "it is being written",
			  j->key);
	}
	if (j->polling)
		return;
	if (hoist_http_timer(j->r->c.http, FEED_POLL_MS, stream_poll, j,
			     &err) == 0)
		j->polling = 1;
	else
		stream_abort(j, &err);
}

static void job_send(void *ctx)
{
	struct blob_job *j = ctx;
	struct reg *r = j->r;
	struct hoist_http_request req;
	struct hoist_err err;
	int rc;

	if (hoist_xfer_stopped(&r->x)) {
		job_end(j, 0, NULL);
		return;
	}
	if (j->req.has_body && j->fed) {
		rc = feed_ready(j, &err);
		if (rc < 0) {
			job_cancel(j, &err);
			return;
		}
		if (rc == 0) {
			if (hoist_http_timer(r->c.http, FEED_POLL_MS, job_send,
					     j, &err))
				job_fail(j, &err);
			return;
		}
	}
	free(j->url);
	j->url = NULL;
	if (j->req.url[0] == '/') {
		j->url = hoist_xasprintf("%s%s", r->c.base, j->req.url);
	} else if (hoist_http_resolve_url(&j->url, r->c.base, j->req.url,
					  &err)) {
		hoist_err_prefix(&err, "blob '%s'", jname(j));
		job_fail(j, &err);
		return;
	}
	free(j->hdr_auth);
	j->hdr_auth = NULL;
	free(j->hdr_range);
	j->hdr_range = NULL;
	rc = hoist_regconn_auth_line(&r->c, j->url, &j->hdr_auth, &err);
	if (rc) {
		job_fail(j, &err);
		return;
	}
	j->nhdrs = 0;
	if (j->hdr_auth)
		j->hdrs[j->nhdrs++] = j->hdr_auth;
	if (j->req.content_range) {
		j->hdr_range = hoist_xasprintf("Content-Range: %s",
					       j->req.content_range);
		j->hdrs[j->nhdrs++] = j->hdr_range;
	}
	if (j->req.content_type)
		j->hdrs[j->nhdrs++] = "Content-Type: application/octet-stream";
	memset(&req, 0, sizeof(req));
	req.method = j->req.method;
	req.url = j->url;
	req.headers = j->hdrs;
	req.nheaders = j->nhdrs;
	req.tls = &r->c.tls;
	req.max_body = HOIST_REG_ERROR_BODY_MAX;
	/*
	 * Blob bodies go over HTTP/1.1 unless asked otherwise: on loopback
	 * h2 was 1.2-1.8x slower and cost 4-5x the client CPU for big
	 * bodies (bench/http2-notes.md); everything else shares h2.
	 */
	req.version = r->opts->conn.http_version;
	if (req.version == HOIST_HTTP_AUTO && j->req.has_body &&
	    (j->req.body_len || j->req.growing))
		req.version = HOIST_HTTP_V1;
	if (j->req.has_body) {
		req.body_kind = HOIST_HTTP_BODY_FD;
		req.body_fd = j->fd;
		req.body_offset = j->req.body_offset;
		req.body_len = j->req.body_len;
		req.progress = job_progress;
		req.progress_ctx = j;
	}
	if (j->req.growing) {
		memset(&j->grow, 0, sizeof(j->grow));
		j->grow.end = j->avail;
		req.body_kind = HOIST_HTTP_BODY_GROWING;
		req.growing = &j->grow;
	}
	rc = hoist_http_submit(r->c.http, &req, job_done, j, &err);
	if (rc)
		job_fail(j, &err);
	else if (j->req.growing)
		stream_started(j);
}

static void job_step(struct blob_job *j)
{
	struct reg *r = j->r;
	struct hoist_err err;

	hoist_err_clear(&err);
	hoist_upload_next(j->u, &j->req, &err);
	switch (j->req.kind) {
	case HOIST_UPLOAD_DONE: {
		enum hoist_upload_mode mode;
		uint64_t chunk;
		if (hoist_upload_skipped(j->u)) {
			r->stats->blobs_present++;
			hoist_log(HOIST_LOG_INFO, "%.19s already exists",
				  j->digest);
		} else {
			r->stats->bytes_total += j->size;
			/* with statuses, the transfer's "done" says it */
			hoist_log(r->opts->statuses ? HOIST_LOG_DEBUG
						    : HOIST_LOG_INFO,
				  "pushed %.19s", j->digest);
		}
		r->stats->bytes_sent += hoist_upload_bytes_sent(j->u);
		/* resumed: the registry still held part of the saved session */
		if (hoist_upload_resumed(j->u))
			r->stats->blobs_resumed++;
		{
			char id[24];
			snprintf(id, sizeof(id), "%.19s", j->digest);
			hoist_log_progress(id, "pushed", j->size, j->size, 1);
		}
		hoist_upload_learned(j->u, &mode, &chunk);
		save_strategy(r, mode, chunk);
		hoist_store_session_drop(r->store, j->session_key);
		job_end(j, 0, NULL);
		return;
	}
	case HOIST_UPLOAD_FAILED:
		r->stats->bytes_sent += hoist_upload_bytes_sent(j->u);
		hoist_err_prefix(&err, "blob '%s'", jname(j));
		job_fail(j, &err);
		return;
	case HOIST_UPLOAD_SEND:
		break;
	}
	if (j->req.wait > 0) {
		r->stats->waits++;
		hoist_log(HOIST_LOG_INFO, "%.19s: %s", jname(j),
			  j->req.why ? j->req.why : "rate limited");
	} else if (j->req.attempt > 0) {
		r->stats->retries++;
		hoist_log(HOIST_LOG_INFO, "retry %d of %.19s: %s, in %.1fs",
			  j->req.attempt, jname(j),
			  j->req.why ? j->req.why : "transient error",
			  (double)j->req.delay_ms / 1000);
	}
	if (j->req.delay_ms > 0) {
		if (hoist_http_timer(r->c.http, j->req.delay_ms, job_send, j,
				     &err)) {
			job_fail(j, &err);
		}
		return;
	}
	job_send(j);
}

static int job_begin(struct blob_job *j, struct hoist_err *err)
{
	struct reg *r = j->r;
	struct hoist_upload_params p;
	char *blob, *loc = NULL;
	uint64_t off = 0;
	int rc;

	if (!j->digest[0]) {
		/* still being written: chunks as its bytes come, or one
		 * streamed PATCH of them (stream mode) */
		memset(&p, 0, sizeof(p));
		p.repo = r->c.repo;
		p.mode = r->mode;
		p.chunk_size = r->chunk_size;
		p.growing = 1;
		j->fed = 1;
		j->growing = 1;
		j->started_ms = hoist_clock_ms();
		return hoist_upload_new(&j->u, &p, err);
	}
	blob = hoist_store_blob_path(r->store, j->digest);
	if (r->opts->feed && !hoist_store_has(r->store, j->digest))
		j->fed = 1; /* opened when its bytes come */
	else
		j->fd = blob ? open(blob, O_RDONLY | O_CLOEXEC) : -1;
	free(blob);
	if (j->fd < 0 && !j->fed)
		return hoist_err_sys(err, errno, "blob '%s'", j->digest);
	memset(&p, 0, sizeof(p));
	p.repo = r->c.repo;
	p.digest = j->digest;
	p.size = j->size;
	p.mode = r->mode;
	p.chunk_size = r->chunk_size;
	if (r->opts->mount_from && strcmp(r->opts->mount_from, r->c.repo))
		p.mount_from = r->opts->mount_from;
	else if (r->mount_pick &&
		 hoist_blobsrc_holds(r->blobsrc, r->mount_pick, j->digest))
		p.mount_from = r->mount_pick;
	if (!r->opts->no_resume && load_session(j, &loc, &off)) {
		p.resume_location = loc;
		p.resume_offset = off;
		j->resumed = 1;
		hoist_log(HOIST_LOG_INFO, "resume %.19s at %llu", j->digest,
			  (unsigned long long)off);
	}
	rc = hoist_upload_new(&j->u, &p, err);
	free(loc);
	j->started_ms = hoist_clock_ms();
	return rc;
}

/*
 * A blob of the feed whose upload waits until it is whole (the registry
 * takes whole bodies only: monolithic mode): look again until it is, then
 * upload it as usual.
 */
static void job_wait_whole(void *ctx)
{
	struct blob_job *j = ctx;
	struct reg *r = j->r;
	char digest[HOIST_DIGEST_MAX];
	uint64_t avail, size = 0;
	struct hoist_err err;
	int fd = -1, rc;

	if (hoist_xfer_stopped(&r->x)) {
		job_end(j, 0, NULL);
		return;
	}
	hoist_err_clear(&err);
	rc = hoist_feed_state(r->opts->feed, j->key, &j->feed_gen, &fd, &avail,
			      digest, &size, &err);
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		if (hoist_http_timer(r->c.http, FEED_POLL_MS, job_wait_whole, j,
				     &err))
			job_fail(j, &err);
		return;
	}
	if (rc > 0) {
		hoist_registry_job_known(j, digest, size);
		rc = job_begin(j, &err);
	}
	if (rc) {
		job_fail(j, &err);
		return;
	}
	job_step(j);
}

/* The pool starts job i. */
int hoist_registry_job_start(void *ctx, size_t i, struct hoist_err *err)
{
	struct reg *r = ctx;
	struct blob_job *j = r->jobs[i];
	int rc;

	if (!j->digest[0] && r->whole) {
		job_wait_whole(j);
		return 0;
	}
	rc = job_begin(j, err);
	if (rc)
		return rc;
	job_step(j);
	return 0;
}

void hoist_registry_job_free(struct blob_job *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	hoist_upload_free(j->u);
	free(j->url);
	free(j->hdr_auth);
	free(j->hdr_range);
	free(j->session_key);
	free(j);
}
