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
};

struct blob_job {
	struct reg *r;
	char digest[HOIST_DIGEST_MAX];
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
	unsigned feed_gen;           /* the version of the feed's file in fd */
	struct hoist_err cancel_err; /* why the session is being cancelled */
};

/* How often a step waiting for fed bytes looks again. */
#define FEED_POLL_MS 5

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

	if (!hoist_upload_checkpoint(j->u, &loc, &off))
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
		hoist_err_prefix(&e, "blob '%s'", j->digest);
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
	job_step(j);
}

static void job_progress(void *ctx, uint64_t sent, uint64_t received)
{
	struct blob_job *j = ctx;
	char id[24];
	(void)received;
	snprintf(id, sizeof(id), "%.19s", j->digest);
	hoist_log_progress(id, j->req.attempt ? "retrying" : "pushing",
			   j->req.body_offset + sent, j->size, 0);
}

/*
 * Whether the body of the step can go out: 1 yes, 0 not yet, or the
 * feed's failure. Chunks go as soon as their bytes are in; the closing PUT
 * names the digest, so it waits until the blob is verified.
 */
static int feed_ready(struct blob_job *j, struct hoist_err *err)
{
	const struct hoist_push_feed *f = j->r->opts->feed;
	uint64_t avail = 0;
	int fd = -1, rc;
	char *blob;

	rc = f->state(f->ctx, j->digest, &j->feed_gen, &fd, &avail, err);
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
			  j->digest, rc ? 0 : resp->status);
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
		  j->digest);
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
		hoist_err_prefix(&err, "blob '%s'", j->digest);
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
		hoist_err_prefix(&err, "blob '%s'", j->digest);
		job_fail(j, &err);
		return;
	case HOIST_UPLOAD_SEND:
		break;
	}
	if (j->req.wait > 0) {
		r->stats->waits++;
		hoist_log(HOIST_LOG_INFO, "%.19s: %s", j->digest,
			  j->req.why ? j->req.why : "rate limited");
	} else if (j->req.attempt > 0) {
		r->stats->retries++;
		hoist_log(HOIST_LOG_INFO, "retry %d of %.19s: %s, in %.1fs",
			  j->req.attempt, j->digest,
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
	char *blob = hoist_store_blob_path(r->store, j->digest);
	char *loc = NULL;
	uint64_t off = 0;
	int rc;

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

/* The pool starts job i. */
static int job_start(void *ctx, size_t i, struct hoist_err *err)
{
	struct reg *r = ctx;
	struct blob_job *j = r->jobs[i];
	int rc = job_begin(j, err);

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
	hoist_regconn_close(&r->c);
}

/* The digests of the blob jobs (pointers into them). Caller frees. */
static const char **job_digests(const struct reg *r)
{
	const char **d = hoist_xcalloc(r->njobs + 1, sizeof(*d));

	for (size_t i = 0; i < r->njobs; i++)
		d[i] = r->jobs[i]->digest;
	return d;
}

int hoist_registry_push(struct hoist_store *s, const json_t *root,
			const char *ref, int by_digest,
			const struct hoist_registry_opts *opts,
			struct hoist_push_stats *stats, struct hoist_err *err)
{
	struct reg r;
	struct hoist_ref pr;
	char *mount_scope = NULL;
	json_t *blobs = NULL, *b;
	const char *root_digest;
	const char **digests = NULL;
	size_t i;
	int rc, have = 0;

	memset(&r, 0, sizeof(r));
	memset(stats, 0, sizeof(*stats));
	memset(&pr, 0, sizeof(pr));
	r.store = s;
	r.opts = opts;
	r.stats = stats;
	rc = hoist_image_desc_get(root, NULL, &root_digest, NULL, err);
	if (rc)
		return rc;
	snprintf(stats->digest, sizeof(stats->digest), "%s", root_digest);
	rc = hoist_ref_parse(&pr, ref, HOIST_REF_NORMALIZE, err);
	if (rc)
		return rc;

	/* every blob that is not a manifest: configs and layers */
	rc = hoist_imgwalk_blobs(&blobs, s, root, err);
	if (rc)
		goto out;
	r.jobs = hoist_xcalloc(json_array_size(blobs) + 1, sizeof(*r.jobs));
	json_array_foreach(blobs, i, b)
	{
		const char *mt = hoist_json_str(b, "mediaType");
		struct blob_job *j;
		if (hoist_image_mt_is_index(mt) ||
		    hoist_image_mt_is_manifest(mt))
			continue;
		j = hoist_xcalloc(1, sizeof(*j));
		j->r = &r;
		j->fd = -1;
		snprintf(j->digest, sizeof(j->digest), "%s",
			 hoist_json_str(b, "digest"));
		j->size = (uint64_t)json_integer_value(
			json_object_get(b, "size"));
		r.jobs[r.njobs++] = j;
	}
	stats->blobs = r.njobs;
	digests = job_digests(&r);
	/* where the blobs are known to be, for mounts (blobsrc.h) */
	r.blobsrc = hoist_blobsrc_load(s, pr.domain);
	if (!opts->mount_from)
		r.mount_pick = hoist_blobsrc_pick(r.blobsrc, digests, r.njobs,
						  pr.path);
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
	for (i = 0; i < r.njobs; i++)
		r.jobs[i]->session_key = session_key(&r, r.jobs[i]->digest);

	/* the same root already there: one HEAD is the whole push */
	rc = manifest_present(&r, (!by_digest && pr.tag) ? pr.tag : root_digest,
			      root_digest, &have, err);
	if (rc)
		goto out;
	if (have) {
		stats->blobs_present = stats->blobs;
		stats->present = 1;
		hoist_log(HOIST_LOG_INFO, "%s/%s already holds %s", r.c.host,
			  r.c.repo, root_digest);
		goto remember;
	}
	if (r.mount_pick)
		hoist_log(HOIST_LOG_INFO, "%s: blobs known in %s are mounted",
			  r.c.host, r.mount_pick);
	hoist_log(HOIST_LOG_INFO, "pushing %zu blobs to %s/%s", r.njobs,
		  r.c.host, r.c.repo);
	hoist_xfer_init(&r.x, r.c.http, opts->conn.max_concurrent, r.njobs,
			job_start, &r);
	rc = hoist_xfer_run(&r.x, err);
	if (rc)
		goto out;
	rc = push_manifests(&r, root,
			    (!by_digest && pr.tag) ? pr.tag : root_digest, err);
	if (rc)
		goto out;
remember:
	hoist_blobsrc_add(s, pr.domain, pr.path, digests, r.njobs);
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
