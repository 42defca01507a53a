/*
 * upload.c: the blob upload engine of upload.h, a state machine that never
 * touches the network, the clock or the blob. It describes one request at a
 * time and is fed the answer; the caller sends the bytes and supplies the
 * time and the randomness in the response. That keeps every quirk of every
 * registry (distribution 2.8 cancelling sessions, ECR's stale Range, GHCR's
 * 4 MiB cap, proxies answering 413) scriptable in unit tests.
 *
 * Locations are passed through as received: a relative Location comes back
 * in req.url unchanged (only "?digest=" or "&digest=" is appended), and the
 * caller resolves it against the registry base. URLs the engine makes up
 * itself are always relative ("/v2/<repo>/blobs/...").
 *
 * State table (st = the request outstanding; "body" = the next body request
 * chosen by hoist_upload_body_step(): PUT_CLOSE at the end of the blob,
 * PATCH_STREAM in stream mode at offset 0 or when the upload keeps to
 * stream mode (a growing blob, or chunks refused), PUT_LAST or PATCH_CHUNK
 * in chunked mode or past offset 0, else PUT_MONO):
 *
 *  state        request                        answer -> next state
 *  HEAD         HEAD blob                      2xx -> DONE (skipped)
 *                                              404 -> MOUNT or POST
 *                                              transient -> HEAD (backoff)
 *  MOUNT        POST ?mount=D&from=F           201 -> DONE (skipped)
 *                                              202 + Location -> body
 *                                              anything else -> POST
 *  POST         POST uploads/                  2xx + Location -> body
 *                                              transient -> POST (backoff)
 *  PUT_MONO     PUT loc&digest, whole blob     2xx -> DONE (digest check)
 *  PATCH_STREAM PATCH loc, the rest of the blob 2xx, Range ok -> PUT_CLOSE
 *    (growing: its body grows until sealed;     2xx before the seal
 *    it stays in stream mode after a cut)         -> STATUS
 *  PATCH_CHUNK  PATCH loc, Content-Range a-b   2xx, Range ok -> body
 *  PUT_LAST     PUT loc&digest, Content-Range  2xx -> DONE (digest check)
 *    (the four above)                          2xx, Range off -> STATUS
 *                                              413 -> chunked, halved; body
 *                                              416 -> STATUS (resync; a
 *                                                chunk refused at every
 *                                                size -> POST, stream)
 *                                              cut mid-body, 5xx, 429
 *                                                -> STATUS (backoff)
 *                                              cut before the body -> same
 *                                              404 upload code -> LOST
 *  PUT_CLOSE    PUT loc&digest, no body        2xx -> DONE (digest check)
 *                                              cut, transient -> PUT_CLOSE
 *                                              404 upload code -> LOST
 *                                              416 -> STATUS
 *  STATUS       GET loc                        2xx + Range -> body at the
 *                                                registry's offset
 *                                              transient -> STATUS (backoff)
 *                                              401, 403 -> FAILED
 *                                              anything else -> LOST
 *  LOST         HEAD blob                      2xx -> DONE
 *                                              404 -> POST (offset 0)
 *                                              transient -> LOST (backoff)
 *  any state    any other answer               -> FAILED
 *
 * Resuming starts in STATUS on the saved Location. Every failure counts
 * against two bounds: max_attempts in a row without new bytes confirmed
 * (with retry.h's backoff for transient ones) and max_retries in all.
 *
 * This file describes the requests and holds the public interface; what
 * each answer leads to is in upload-answer.c (upload-int.h is the state
 * both share).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/digest.h"
#include "lib/upload-int.h"
#include "util/mem.h"
#include "util/banned.h"

/* --- small helpers --- */

static int good_repo(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-' || *s == '/'))
			return 0;
	}
	return 1;
}

/* The digest for a query: "sha256%3A<hex>". */
static char *enc_digest(const char *d)
{
	size_t a = hoist_digest_algo_len(d);

	return hoist_xasprintf("%.*s%%3A%s", (int)a, d, d + a + 1);
}

/* loc with "digest=D" added to its query (the fragment, if any, dropped) */
static char *digest_url(const struct hoist_upload *u)
{
	const char *loc = u->loc;
	size_t n = strcspn(loc, "#");
	const char *q = memchr(loc, '?', n);
	const char *sep = !q                                         ? "?"
			  : (loc[n - 1] == '?' || loc[n - 1] == '&') ? ""
								     : "&";
	char *d = enc_digest(u->digest);
	char *url = hoist_xasprintf("%.*s%sdigest=%s", (int)n, loc, sep, d);

	free(d);
	return url;
}

/* A Location with a control byte or a space is no usable Location. */
int hoist_upload_loc_usable(const char *loc)
{
	for (; *loc; loc++)
		if ((unsigned char)*loc <= 0x20 || *loc == 0x7f)
			return 0;
	return 1;
}

void hoist_upload_why(struct hoist_upload *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
	u->have_why = 1;
}

/* --- producing requests --- */

void hoist_upload_go(struct hoist_upload *u, enum state st)
{
	struct hoist_upload_req *q = &u->req;
	char *d;

	free(u->url);
	u->url = NULL;
	memset(q, 0, sizeof(*q));
	u->st = st;
	u->s_off = u->s_len = 0;
	u->s_body = u->s_grow = 0;

	switch (st) {
	case ST_HEAD:
	case ST_LOST:
		q->method = "HEAD";
		u->url = hoist_xasprintf("/v2/%s/blobs/%s", u->repo, u->digest);
		break;
	case ST_MOUNT:
		q->method = "POST";
		d = enc_digest(u->digest);
		u->url = hoist_xasprintf(
			"/v2/%s/blobs/uploads/?mount=%s&from=%s", u->repo, d,
			u->mount_from);
		free(d);
		break;
	case ST_POST:
		q->method = "POST";
		u->url = hoist_xasprintf("/v2/%s/blobs/uploads/", u->repo);
		break;
	case ST_STATUS:
		q->method = "GET";
		u->url = hoist_xstrdup(u->loc);
		break;
	case ST_PUT_MONO:
		q->method = "PUT";
		u->url = digest_url(u);
		u->s_body = 1;
		u->s_len = u->size;
		break;
	case ST_PATCH_STREAM:
		/* from the confirmed offset: 0 unless kept to stream mode */
		q->method = "PATCH";
		u->url = hoist_xstrdup(u->loc);
		u->s_body = 1;
		u->s_off = u->off;
		u->s_grow = q->growing = u->growing;
		u->s_len = u->growing ? 0 : u->size - u->off;
		break;
	case ST_PATCH_CHUNK:
	case ST_PUT_LAST:
		q->method = st == ST_PUT_LAST ? "PUT" : "PATCH";
		u->url = st == ST_PUT_LAST ? digest_url(u)
					   : hoist_xstrdup(u->loc);
		u->s_body = 1;
		u->s_off = u->off;
		u->s_len = st == ST_PUT_LAST || u->size - u->off <= u->chunk
				   ? u->size - u->off
				   : u->chunk;
		snprintf(u->crange, sizeof(u->crange), "%llu-%llu",
			 (unsigned long long)u->s_off,
			 (unsigned long long)(u->s_off + u->s_len - 1));
		q->content_range = u->crange;
		break;
	case ST_PUT_CLOSE:
		q->method = "PUT";
		u->url = digest_url(u);
		break;
	case ST_DONE:
	case ST_FAILED:
		return;
	}
	q->kind = HOIST_UPLOAD_SEND;
	q->url = u->url;
	if (u->s_body) {
		q->has_body = 1;
		q->body_offset = u->s_off;
		q->body_len = u->s_len;
		q->content_type = OCTET;
		u->sent += u->s_len;
	}
	q->delay_ms = u->next_delay;
	q->attempt = u->attempt;
	q->wait = u->waits_row;
	q->why = u->have_why ? u->why : NULL;
	u->next_delay = 0;
	u->have_why = 0;
}

/* The next body request from the confirmed offset. */
void hoist_upload_body_step(struct hoist_upload *u)
{
	if (!u->have_why && u->attempt > 0)
		hoist_upload_why(
			u, "sending again what the registry lost (up to %llu)",
			(unsigned long long)u->best);
	if (u->off >= u->size)
		hoist_upload_go(u, ST_PUT_CLOSE);
	else if (u->mode == HOIST_UPLOAD_STREAM &&
		 (u->off == 0 || u->keep_stream))
		hoist_upload_go(u, ST_PATCH_STREAM);
	else if (u->mode == HOIST_UPLOAD_CHUNKED || u->off > 0)
		hoist_upload_go(u, u->size - u->off <= u->chunk
					   ? ST_PUT_LAST
					   : ST_PATCH_CHUNK);
	else
		hoist_upload_go(u, ST_PUT_MONO);
}

/* --- the public interface --- */

int hoist_upload_new(struct hoist_upload **out,
		     const struct hoist_upload_params *p, struct hoist_err *err)
{
	struct hoist_upload *u = NULL;
	int rc;

	*out = NULL;
	if (!good_repo(p->repo))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid repository '%s'",
				     p->repo ? p->repo : "");
	if (p->growing) {
		if (p->digest || p->resume_location || p->mount_from)
			return hoist_err_set(err, HOIST_EINVAL,
					     "a growing blob has no digest, "
					     "session or mount yet");
	} else if ((rc = hoist_digest_validate(p->digest, err)) != 0) {
		return rc;
	}
	if (p->mount_from && !good_repo(p->mount_from))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid repository '%s' to mount from",
				     p->mount_from);
	if (p->resume_location &&
	    (!*p->resume_location ||
	     !hoist_upload_loc_usable(p->resume_location) ||
	     p->resume_offset > p->size))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid upload session to resume");

	u = hoist_xcalloc(1, sizeof(*u));
	u->repo = hoist_xstrdup(p->repo);
	u->digest = p->digest ? hoist_xstrdup(p->digest) : NULL;
	u->mount_from = p->mount_from ? hoist_xstrdup(p->mount_from) : NULL;
	u->size = p->size;
	u->asked = p->mode;
	u->chunk = p->chunk_size ? p->chunk_size : DEF_CHUNK;
	hoist_retry_normalize(&u->pol, &p->retry);
	u->max_retries =
		p->max_retries > 0 ? p->max_retries : 4 * u->pol.max_attempts;
	/* stream mode is for registries that refuse chunks: for good */
	u->keep_stream = p->mode == HOIST_UPLOAD_STREAM;
	switch (p->mode) {
	case HOIST_UPLOAD_AUTO:
		u->mode = p->size <= (p->chunk_threshold ? p->chunk_threshold
							 : DEF_THRESHOLD)
				  ? HOIST_UPLOAD_MONOLITHIC
				  : HOIST_UPLOAD_CHUNKED;
		break;
	default:
		u->mode = p->mode;
		break;
	}
	if (p->growing) {
		/* chunks as the bytes come, or one streamed PATCH of them;
		 * the end is not known yet */
		u->growing = 1;
		u->size = UINT64_MAX;
		if (u->mode != HOIST_UPLOAD_STREAM)
			u->mode = HOIST_UPLOAD_CHUNKED;
		hoist_upload_go(u, ST_POST);
		*out = u;
		return 0;
	}

	if (p->resume_location) {
		u->loc = hoist_xstrdup(p->resume_location);
		u->off = u->best = p->resume_offset;
		u->resuming = 1;
		hoist_upload_why(u, "resuming a saved upload session");
		hoist_upload_go(u, ST_STATUS);
	} else if (!p->skip_head) {
		hoist_upload_go(u, ST_HEAD);
	} else {
		hoist_upload_go(u, u->mount_from ? ST_MOUNT : ST_POST);
	}
	*out = u;
	return 0;
}

void hoist_upload_free(struct hoist_upload *u)
{
	if (!u)
		return;
	free(u->repo);
	free(u->digest);
	free(u->mount_from);
	free(u->loc);
	free(u->url);
	free(u);
}

void hoist_upload_next(struct hoist_upload *u, struct hoist_upload_req *req,
		       struct hoist_err *err)
{
	*req = u->req;
	if (u->st == ST_FAILED) {
		if (err)
			*err = u->err;
	} else {
		hoist_err_clear(err);
	}
}

int hoist_upload_seal(struct hoist_upload *u, const char *digest, uint64_t size,
		      struct hoist_err *err)
{
	int rc;

	if (!u->growing)
		return hoist_err_set(err, HOIST_EINVAL,
				     "the blob's end is known already");
	rc = hoist_digest_validate(digest, err);
	if (rc)
		return rc;
	if (size < u->off)
		return hoist_err_set(err, HOIST_EINVAL,
				     "blob '%s' ends at %llu, before the %llu "
				     "bytes already sent",
				     digest, (unsigned long long)size,
				     (unsigned long long)u->off);
	u->digest = hoist_xstrdup(digest);
	u->size = size;
	u->growing = 0;
	if (u->st == ST_PATCH_CHUNK) {
		/* described with a guessed end and not sent: again */
		long delay = u->req.delay_ms;
		u->sent -= u->s_len;
		hoist_upload_body_step(u);
		u->req.delay_ms = delay;
	} else if (u->st == ST_PATCH_STREAM && u->s_grow) {
		/* the streamed body (sent or not) now has its end */
		u->s_len = size - u->s_off;
		u->sent += u->s_len;
		u->req.body_len = u->s_len;
		u->req.growing = 0;
	}
	return 0;
}

int hoist_upload_checkpoint(const struct hoist_upload *u, const char **location,
			    uint64_t *offset)
{
	if (!u->loc || u->st == ST_DONE || u->st == ST_FAILED) {
		*location = NULL;
		*offset = 0;
		return 0;
	}
	*location = u->loc;
	*offset = u->off;
	return 1;
}

void hoist_upload_learned(const struct hoist_upload *u,
			  enum hoist_upload_mode *mode, uint64_t *chunk_size)
{
	*mode = u->learned ? u->mode : u->asked;
	*chunk_size = u->chunk;
}

uint64_t hoist_upload_waits(const struct hoist_upload *u)
{
	return u->waits;
}

uint64_t hoist_upload_bytes_sent(const struct hoist_upload *u)
{
	return u->sent;
}

int hoist_upload_skipped(const struct hoist_upload *u)
{
	return u->skipped;
}

int hoist_upload_resumed(const struct hoist_upload *u)
{
	return u->resumed;
}
