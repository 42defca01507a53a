/*
 * registry.c: the push orchestration. It owns no protocol logic of its
 * own: the upload state machines decide what each blob needs, auth.c
 * decides what credentials go where, http.c moves the bytes, the
 * transfer pool (xfer.h) bounds concurrency and stops everything at the
 * first failure. This file wires them together on one event loop, persists
 * upload sessions for resume, remembers what worked per registry, and PUTs the
 * manifests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/auth.h"
#include "lib/blobsrc.h"
#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/ref.h"
#include "lib/regconn.h"
#include "lib/registry.h"
#include "lib/retry.h"
#include "lib/xfer.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

struct reg {
	struct hoist_regconn c;
	struct hoist_store *store;
	const struct hoist_registry_opts *opts;
	struct hoist_push_stats *stats;
	struct blob_job **jobs; /* configs and layers to upload */
	size_t njobs;
	struct hoist_xfer x;
	enum hoist_upload_mode mode;
	uint64_t chunk_size;
	json_t *blobsrc;        /* which repositories hold which blobs */
	const char *mount_pick; /* in blobsrc: the repository to mount from */
	/* pipelined: blobs and the root come from opts->feed */
	size_t cap;    /* of jobs */
	size_t seen;   /* blobs of the feed with a job */
	json_t *root;  /* once the feed gave it */
	json_t *blobs; /* its blobs (imgwalk) */
	int have;      /* the registry holds the root already */
	int whole;     /* upload blobs only once they are whole */
};

struct blob_job {
	struct reg *r;
	char key[HOIST_FEED_KEY_MAX];  /* the feed's name for it */
	char digest[HOIST_DIGEST_MAX]; /* empty until known */
	uint64_t size;
	int fd;
	struct hoist_upload *u;
	struct hoist_upload_req req;
	char *url;
	char *hdr_auth;
	char *hdr_range;
	const char *hdrs[4];
	size_t nhdrs;
	int auth_retries;
	int64_t started_ms;
	char *session_key;
	int resumed;
	uint64_t last_logged;
	int fed;                     /* the bytes come from opts->feed */
	int growing;                 /* uploading before its end is known */
	int early;                   /* said its first bytes went early */
	unsigned feed_gen;           /* the version of the feed's file in fd */
	struct hoist_err cancel_err; /* why the session is being cancelled */
};

/* How often a step waiting for fed bytes looks again. */
#define FEED_POLL_MS 5

/* The job's name in messages: its digest, or the feed's key. */
static const char *jname(const struct blob_job *j)
{
	return j->digest[0] ? j->digest : j->key;
}

/* ---- upload sessions on disk ---- */

static char *session_key(struct reg *r, const char *digest)
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

static void save_session(struct blob_job *j)
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

static void load_strategy(struct reg *r)
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
		ur.body_started = j->req.has_body && j->req.body_len > 0 &&
				  (!resp || resp->sent > 0 || 1);
		ur.error_message = hoist_err_msg(herr);
	}
	ur.now = (int64_t)time(NULL);
	ur.rnd = hoist_regconn_rnd32();
	ur.elapsed_ms = (long)(hoist_clock_ms() - j->started_ms);
	hoist_upload_feed(j->u, &ur);
	json_decref(doc);
	save_session(j);
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
static void job_known(struct blob_job *j, const char *digest, uint64_t size)
{
	snprintf(j->digest, sizeof(j->digest), "%s", digest);
	j->size = size;
	free(j->session_key);
	j->session_key = session_key(j->r, j->digest);
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
	if (rc == 0)
		return j->fd >= 0 && strcmp(j->req.method, "PUT") != 0 &&
		       j->req.body_offset + j->req.body_len <= avail;
	if (j->growing) {
		job_known(j, digest, size);
		rc = hoist_upload_seal(j->u, digest, size, err);
		if (rc)
			return rc;
		j->growing = 0;
		hoist_upload_next(j->u, &j->req, NULL);
		save_session(j);
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
	    j->req.body_len)
		req.version = HOIST_HTTP_V1;
	if (j->req.has_body) {
		req.body_kind = HOIST_HTTP_BODY_FD;
		req.body_fd = j->fd;
		req.body_offset = j->req.body_offset;
		req.body_len = j->req.body_len;
		req.progress = job_progress;
		req.progress_ctx = j;
	}
	rc = hoist_http_submit(r->c.http, &req, job_done, j, &err);
	if (rc) {
		job_fail(j, &err);
	}
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
			hoist_log(HOIST_LOG_INFO, "pushed %.19s", j->digest);
		}
		r->stats->bytes_sent += hoist_upload_bytes_sent(j->u);
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
		/* still being written: chunks as its bytes come */
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
		r->stats->blobs_resumed++;
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
 * takes no chunks): look again until it is, then upload it as usual.
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
		job_known(j, digest, size);
		rc = job_begin(j, &err);
	}
	if (rc) {
		job_fail(j, &err);
		return;
	}
	job_step(j);
}

/* The pool starts job i. */
static int job_start(void *ctx, size_t i, struct hoist_err *err)
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

static void job_free(struct blob_job *j)
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
	hoist_log(HOIST_LOG_INFO, "pushing manifest for %s/%s%s%s", r->c.host,
		  r->c.repo, ref[0] == 's' && strchr(ref, ':') ? "@" : ":",
		  ref);
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
		job_free(r->jobs[i]);
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
		j->session_key = session_key(r, j->digest);
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
		job_known(j, digest, size);
		if (j->u)
			save_session(j);
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
	int rc, pipe = !root;

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
	load_strategy(&r);
	put_ref = (!by_digest && pr.tag) ? pr.tag : NULL;

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
		/* a registry that takes only whole blobs gets them whole */
		r.whole = r.mode == HOIST_UPLOAD_MONOLITHIC ||
			  r.mode == HOIST_UPLOAD_STREAM;
		hoist_log(HOIST_LOG_INFO,
			  "pushing to %s/%s while the image is built%s",
			  r.c.host, r.c.repo,
			  r.whole ? " (each blob once it is whole)" : "");
	}
	hoist_xfer_init(&r.x, r.c.http, opts->conn.max_concurrent, r.njobs,
			job_start, &r);
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
	rc = push_manifests(&r, pipe ? r.root : root,
			    put_ref ? put_ref : stats->digest, err);
	if (rc)
		goto out;
remember:
	digests = job_digests(&r, &ndigests);
	hoist_blobsrc_add(s, pr.domain, pr.path, digests, ndigests);
out:
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
	int step; /* the starter's progress step (util/log.h) */
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
	/* beside the build's steps, as BuildKit shows parallel vertexes */
	hoist_step_begin("pushing %s while building", bg->ref);
	bg->rc = hoist_registry_push(bg->s, NULL, bg->ref, bg->by_digest,
				     bg->opts, &bg->stats, &bg->err);
	if (bg->rc && bg->opts->feed) /* stop the build feeding it */
		hoist_feed_abort(bg->opts->feed, bg->rc, &bg->err);
	hoist_step_end(0, bg->rc ? hoist_err_msg(&bg->err) : NULL);
	return NULL;
}

int hoist_registry_push_start(struct hoist_registry_bg **out,
			      struct hoist_store *s, const char *ref,
			      int by_digest,
			      const struct hoist_registry_opts *opts,
			      struct hoist_err *err)
{
	struct hoist_registry_bg *bg = hoist_xcalloc(1, sizeof(*bg));
	int e;

	bg->s = s;
	bg->ref = ref;
	bg->by_digest = by_digest;
	bg->opts = opts;
	bg->step = hoist_step_current();
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
