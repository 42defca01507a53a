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
 * chosen by body_step(): PUT_CLOSE at the end of the blob, PUT_LAST or
 * PATCH_CHUNK in chunked mode or past offset 0, else PUT_MONO or
 * PATCH_STREAM):
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
 *  PATCH_STREAM PATCH loc, whole blob          2xx, Range ok -> PUT_CLOSE
 *  PATCH_CHUNK  PATCH loc, Content-Range a-b   2xx, Range ok -> body
 *  PUT_LAST     PUT loc&digest, Content-Range  2xx -> DONE (digest check)
 *    (the four above)                          2xx, Range off -> STATUS
 *                                              413 -> chunked, halved; body
 *                                              416 -> STATUS (resync)
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
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/digest.h"
#include "lib/upload.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

#define MIB (UINT64_C(1) << 20)
#define DEF_CHUNK (16 * MIB)
#define DEF_THRESHOLD (32 * MIB)
#define MIN_FLOOR MIB
#define CHUNK_MIN_CAP (1024 * MIB)
#define OCTET "application/octet-stream"

enum state {
	ST_HEAD,
	ST_MOUNT,
	ST_POST,
	ST_PUT_MONO,
	ST_PATCH_STREAM,
	ST_PATCH_CHUNK,
	ST_PUT_LAST,
	ST_PUT_CLOSE,
	ST_STATUS,
	ST_LOST,
	ST_DONE,
	ST_FAILED,
};

struct hoist_upload {
	char *repo, *digest, *mount_from;
	uint64_t size;
	enum hoist_upload_mode asked; /* the mode of the params */
	enum hoist_upload_mode mode;  /* MONOLITHIC, STREAM or CHUNKED */
	int growing; /* size and digest still unknown (size UINT64_MAX) */
	int learned; /* mode or chunk changed by the registry */
	uint64_t chunk, min_len;
	struct hoist_retry_policy pol;
	int max_retries;

	enum state st;
	char *loc;     /* newest Location, or NULL */
	uint64_t off;  /* confirmed offset */
	uint64_t best; /* highest offset ever confirmed */
	int recovering;

	/* the request handed out */
	struct hoist_upload_req req;
	char *url;
	char crange[48];
	char why[256];
	uint64_t s_off, s_len;
	int s_body;

	/* the next request's retry data */
	long next_delay;
	int attempt;    /* failures in a row without progress */
	long streak_ms; /* elapsed_ms at the first of them */
	int retries;    /* failures in all */
	int have_why;
	int waits_row;  /* 429s in a row */
	uint64_t waits; /* 429s in all */

	/* why STATUS was asked */
	int after_416;
	uint64_t r416_off, r416_len;
	struct hoist_err err416;
	int mismatch;
	uint64_t mismatch_expected;

	uint64_t sent;
	int skipped;
	struct hoist_err err;
};

/* --- small helpers --- */

static int is2xx(int s)
{
	return s >= 200 && s <= 299;
}

static const char *reason(int status)
{
	switch (status) {
	case 400:
		return "bad request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not found";
	case 405:
		return "method not allowed";
	case 408:
		return "request timeout";
	case 411:
		return "length required";
	case 413:
		return "request entity too large";
	case 416:
		return "range not satisfiable";
	case 429:
		return "too many requests";
	case 500:
		return "internal server error";
	case 502:
		return "bad gateway";
	case 503:
		return "service unavailable";
	case 504:
		return "gateway timeout";
	default:
		return "unexpected status";
	}
}

/* Describe a failed answer in e: "HTTP 400 DIGEST_INVALID: provided ...". */
static void describe(struct hoist_err *e, const struct hoist_upload_resp *r)
{
	char code[64 + 4], msg[HOIST_QUOTE_BUF];
	const char *m =
		r->error_message && *r->error_message ? r->error_message : NULL;

	if (r->status == 0) {
		hoist_err_quote(msg, sizeof(msg), m ? m : "transport error",
				HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
		hoist_err_set(e, HOIST_ENET, "connection failed: %s", msg);
		return;
	}
	code[0] = '\0';
	if (r->error_code && *r->error_code)
		hoist_err_quote(code, sizeof(code), r->error_code,
				HOIST_QUOTE_ALL, 0);
	hoist_err_quote(msg, sizeof(msg), m ? m : reason(r->status),
			HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	hoist_err_set(e,
		      r->status == 401 || r->status == 403 ? HOIST_EAUTH
							   : HOIST_EHTTP,
		      "HTTP %d%s%s: %s", r->status, code[0] ? " " : "", code,
		      msg);
	e->http_status = r->status;
}

static int eq(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* distribution answers 404 with one of these when it drops a session */
static int session_gone(const struct hoist_upload_resp *r)
{
	if (r->status != 404)
		return 0;
	return !r->error_code || !*r->error_code ||
	       eq(r->error_code, "BLOB_UPLOAD_INVALID") ||
	       eq(r->error_code, "BLOB_UPLOAD_UNKNOWN");
}

/*
 * A Range answer ("0-N" or "bytes=0-N") into the offset the registry
 * holds. "0-0" means both 0 and 1 bytes (distribution only subtracts one
 * from a non-zero size), so it is read as 1 only when 1 is what the
 * caller expects (hint). Returns -1 if unusable.
 */
static int range_offset(const char *range, uint64_t hint, uint64_t *out,
			int *zero)
{
	char buf[64];
	const char *p = buf;
	uint64_t end;

	if (hoist_scan_trim(buf, sizeof(buf), range))
		return -1;
	if (strncmp(p, "bytes=", 6) == 0)
		p += 6;
	if (strncmp(p, "0-", 2) != 0)
		return -1;
	if (hoist_scan_u64(&end, p + 2, UINT64_MAX - 1, "range", NULL))
		return -1;
	*zero = end == 0;
	*out = end == 0 ? (hint == 1 ? 1 : 0) : end + 1;
	return 0;
}

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
static int loc_usable(const char *loc)
{
	for (; *loc; loc++)
		if ((unsigned char)*loc <= 0x20 || *loc == 0x7f)
			return 0;
	return 1;
}

static void set_loc(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	if (r->location && *r->location) {
		free(u->loc);
		u->loc = hoist_xstrdup(r->location);
	}
}

static void apply_min(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	char buf[32];
	uint64_t v;

	if (hoist_scan_trim(buf, sizeof(buf), r->chunk_min_length) ||
	    hoist_scan_u64(&v, buf, UINT64_MAX, "chunk minimum", NULL))
		return;
	if (v > CHUNK_MIN_CAP)
		v = CHUNK_MIN_CAP;
	u->min_len = v;
	if (u->chunk < v) {
		u->chunk = v;
		u->learned = 1;
	}
}

static void why(struct hoist_upload *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void why(struct hoist_upload *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
	u->have_why = 1;
}

/* --- producing requests --- */

static void fail(struct hoist_upload *u)
{
	u->st = ST_FAILED;
	memset(&u->req, 0, sizeof(u->req));
	u->req.kind = HOIST_UPLOAD_FAILED;
}

static void fail_resp(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	describe(&u->err, r);
	fail(u);
}

static void done(struct hoist_upload *u)
{
	u->st = ST_DONE;
	u->off = u->size;
	free(u->loc);
	u->loc = NULL;
	memset(&u->req, 0, sizeof(u->req));
	u->req.kind = HOIST_UPLOAD_DONE;
}

static void go(struct hoist_upload *u, enum state st)
{
	struct hoist_upload_req *q = &u->req;
	char *d;

	free(u->url);
	u->url = NULL;
	memset(q, 0, sizeof(*q));
	u->st = st;
	u->s_off = u->s_len = 0;
	u->s_body = 0;

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
	case ST_PATCH_STREAM:
		q->method = st == ST_PUT_MONO ? "PUT" : "PATCH";
		u->url = st == ST_PUT_MONO ? digest_url(u)
					   : hoist_xstrdup(u->loc);
		u->s_body = 1;
		u->s_off = 0;
		u->s_len = u->size;
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
static void body_step(struct hoist_upload *u)
{
	if (!u->have_why && u->attempt > 0)
		why(u, "sending again what the registry lost (up to %llu)",
		    (unsigned long long)u->best);
	if (u->off >= u->size)
		go(u, ST_PUT_CLOSE);
	else if (u->mode == HOIST_UPLOAD_CHUNKED || u->off > 0)
		go(u,
		   u->size - u->off <= u->chunk ? ST_PUT_LAST : ST_PATCH_CHUNK);
	else if (u->mode == HOIST_UPLOAD_STREAM)
		go(u, ST_PATCH_STREAM);
	else
		go(u, ST_PUT_MONO);
}

/* New bytes confirmed: the failure streak is over. */
static void confirmed(struct hoist_upload *u, uint64_t off)
{
	u->off = off;
	if (off > u->best) {
		u->best = off;
		u->attempt = 0;
		u->recovering = 0;
	}
}

static void progress(struct hoist_upload *u)
{
	if (!u->recovering)
		u->attempt = 0;
}

/*
 * Count a failure. transient: wait as retry.h says before the next
 * request. Returns -1 (and FAILED) when a bound is reached.
 */
static void describe_failure(struct hoist_upload *u,
			     const struct hoist_upload_resp *r)
{
	if (is2xx(r->status)) {
		/* a success whose Range we could not follow */
		hoist_err_set(&u->err, HOIST_EHTTP,
			      "HTTP %d: the upload offset does not advance as "
			      "the registry confirms",
			      r->status);
		u->err.http_status = r->status;
	} else {
		describe(&u->err, r);
	}
}

static int failure(struct hoist_upload *u, const struct hoist_upload_resp *r,
		   int transient)
{
	long d = 0;

	u->attempt++;
	u->retries++;
	if (u->attempt == 1)
		u->streak_ms = r->elapsed_ms;
	if (u->retries > u->max_retries) {
		describe_failure(u, r);
		hoist_err_prefix(&u->err, "gave up after %d retries",
				 u->retries - 1);
		fail(u);
		return -1;
	}
	if (transient)
		d = hoist_retry_delay(&u->pol, u->attempt,
				      r->elapsed_ms - u->streak_ms,
				      r->retry_after, r->now, r->rnd);
	else if (u->attempt >= u->pol.max_attempts)
		d = -1;
	if (d < 0) {
		describe_failure(u, r);
		hoist_err_prefix(&u->err, "gave up after %d attempt%s",
				 u->attempt, u->attempt == 1 ? "" : "s");
		fail(u);
		return -1;
	}
	u->next_delay = d;
	return 0;
}

static const char *what(const struct hoist_upload_resp *r, char *buf,
			size_t len)
{
	char code[44];

	if (r->status == 0) {
		snprintf(buf, len, "connection failure");
	} else if (r->error_code && *r->error_code) {
		hoist_err_quote(code, sizeof(code), r->error_code,
				HOIST_QUOTE_ALL, 0);
		snprintf(buf, len, "HTTP %d %s", r->status, code);
	} else {
		snprintf(buf, len, "HTTP %d", r->status);
	}
	return buf;
}

/*
 * Shrink the chunk after a body of len bytes was refused as too large.
 * The first refusal of a whole-blob body only switches to chunked mode
 * when the chunk is already smaller than the body. -1 if it cannot shrink.
 */
static int shrink(struct hoist_upload *u, uint64_t len)
{
	uint64_t floor = u->min_len > MIN_FLOOR ? u->min_len : MIN_FLOOR;
	uint64_t n;

	if (u->mode != HOIST_UPLOAD_CHUNKED) {
		u->mode = HOIST_UPLOAD_CHUNKED;
		u->learned = 1;
		if (u->chunk < len)
			return 0;
	}
	n = len / 2;
	if (n < floor)
		n = floor;
	if (n >= len)
		return -1;
	u->chunk = n;
	u->learned = 1;
	return 0;
}

static void lost(struct hoist_upload *u, const struct hoist_upload_resp *r,
		 int count)
{
	char b[64];

	if (count && failure(u, r, 0))
		return;
	free(u->loc);
	u->loc = NULL;
	u->off = 0;
	u->after_416 = u->mismatch = 0;
	u->recovering = 1;
	if (u->growing) {
		/* no digest to look for yet: a new session */
		why(u, "upload session lost (%s): starting a new one",
		    what(r, b, sizeof(b)));
		go(u, ST_POST);
		return;
	}
	why(u, "upload session lost (%s): checking for the blob",
	    what(r, b, sizeof(b)));
	go(u, ST_LOST);
}

static void finish(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	char got[HOIST_DIGEST_MAX + 8], q[HOIST_QUOTE_BUF];
	const char *dcd = r->docker_content_digest;

	if (dcd && dcd[strspn(dcd, " \t")] &&
	    (hoist_scan_trim(got, sizeof(got), dcd) ||
	     strcmp(got, u->digest) != 0)) {
		hoist_err_quote(q, sizeof(q), dcd, HOIST_QUOTE_ALL, 0);
		hoist_err_set(&u->err, HOIST_EDIGEST,
			      "registry stored '%s' instead of '%s'", q,
			      u->digest);
		u->err.http_status = r->status;
		fail(u);
		return;
	}
	done(u);
}

/* --- answers --- */

static void feed_head(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	char b[64];

	if (is2xx(r->status)) {
		u->skipped = u->sent == 0;
		done(u);
	} else if (r->status == 404) {
		if (u->st == ST_LOST) {
			why(u, "blob absent: starting a new upload session");
			u->off = 0;
			go(u, ST_POST);
		} else {
			progress(u);
			go(u, u->mount_from ? ST_MOUNT : ST_POST);
		}
	} else if (hoist_retry_is_transient(r->status)) {
		if (failure(u, r, 1) == 0) {
			why(u, "retry after %s", what(r, b, sizeof(b)));
			go(u, u->st);
		}
	} else {
		fail_resp(u, r);
	}
}

static void feed_post(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	char b[64];

	if (u->st == ST_MOUNT) {
		if (r->status == 201) {
			u->skipped = 1;
			done(u);
			return;
		}
		if (r->status != 202 || !r->location || !*r->location) {
			why(u, "mount refused (%s): plain upload",
			    what(r, b, sizeof(b)));
			go(u, ST_POST);
			return;
		}
	}
	if (is2xx(r->status)) {
		if (!r->location || !*r->location) {
			hoist_err_set(&u->err, HOIST_EHTTP,
				      "HTTP %d without a Location header",
				      r->status);
			u->err.http_status = r->status;
			fail(u);
			return;
		}
		set_loc(u, r);
		apply_min(u, r);
		progress(u);
		u->off = 0;
		body_step(u);
	} else if (hoist_retry_is_transient(r->status)) {
		if (failure(u, r, 1) == 0) {
			why(u, "retry after %s", what(r, b, sizeof(b)));
			go(u, ST_POST);
		}
	} else {
		fail_resp(u, r);
	}
}

static void feed_body(struct hoist_upload *u, const struct hoist_upload_resp *r)
{
	uint64_t expected = u->s_off + u->s_len, got;
	int zero;
	char b[64];

	if (is2xx(r->status)) {
		set_loc(u, r);
		if (u->st == ST_PUT_MONO || u->st == ST_PUT_LAST ||
		    u->st == ST_PUT_CLOSE) {
			finish(u, r);
			return;
		}
		got = expected;
		if (r->range && *r->range &&
		    (range_offset(r->range, expected, &got, &zero) ||
		     got != expected)) {
			/* never resend blindly: 2.8 would append duplicates */
			u->mismatch = 1;
			u->mismatch_expected = expected;
			why(u,
			    "registry confirmed a range other than %s: asking "
			    "for the upload status",
			    u->st == ST_PATCH_CHUNK ? u->crange : "the blob");
			go(u, ST_STATUS);
			return;
		}
		confirmed(u, got);
		if (u->st == ST_PATCH_STREAM)
			go(u, ST_PUT_CLOSE);
		else
			body_step(u);
		return;
	}
	if (((!u->s_body || u->s_len == 0) &&
	     hoist_retry_is_transient(r->status)) ||
	    (r->status == 0 && !r->body_started)) {
		/* nothing of the blob went out: the same request again */
		if (failure(u, r, 1) == 0) {
			why(u, "retry after %s", what(r, b, sizeof(b)));
			go(u, u->st);
		}
		return;
	}
	if (r->status == 413 && u->s_len > 0) {
		if (shrink(u, u->s_len)) {
			fail_resp(u, r);
			return;
		}
		why(u, "HTTP 413 on %llu bytes: chunks of %llu",
		    (unsigned long long)u->s_len, (unsigned long long)u->chunk);
		body_step(u);
	} else if (r->status == 416) {
		if (failure(u, r, 0))
			return;
		describe(&u->err416, r);
		u->after_416 = 1;
		u->r416_off = u->s_body ? u->s_off : u->off;
		u->r416_len = u->s_len;
		why(u, "HTTP 416: asking for the upload status");
		go(u, ST_STATUS);
	} else if (session_gone(r)) {
		lost(u, r, 1);
	} else if (hoist_retry_is_transient(r->status)) {
		if (r->status == 0 && u->mode != HOIST_UPLOAD_CHUNKED) {
			/* a cut whole-blob body: smaller requests from now */
			u->mode = HOIST_UPLOAD_CHUNKED;
			u->learned = 1;
		}
		if (failure(u, r, 1) == 0) {
			why(u, "%s during %s: asking for the upload status",
			    what(r, b, sizeof(b)), u->req.method);
			go(u, ST_STATUS);
		}
	} else {
		fail_resp(u, r);
	}
}

static void feed_status(struct hoist_upload *u,
			const struct hoist_upload_resp *r)
{
	uint64_t got;
	int zero, mism = u->mismatch, a416 = u->after_416;
	char b[64];

	u->mismatch = u->after_416 = 0;
	if (is2xx(r->status)) {
		if (!r->range || range_offset(r->range, u->off, &got, &zero) ||
		    got > u->size) {
			lost(u, r, 1);
			return;
		}
		set_loc(u, r);
		if (a416 && got == u->r416_off) {
			/*
			 * The range we sent was right, so the size was not
			 * (GHCR refuses chunks over 4 MiB with 416).
			 */
			if (u->r416_len > 0 && shrink(u, u->r416_len) == 0) {
				why(u,
				    "HTTP 416 at the right offset: chunks "
				    "of %llu",
				    (unsigned long long)u->chunk);
			} else if (zero && got == 0 && u->r416_len > 0) {
				/* "0-0" may mean one byte after all */
				got = 1;
				why(u, "HTTP 416 after 'Range: 0-0': "
				       "continuing at 1");
			} else {
				u->err = u->err416;
				fail(u);
				return;
			}
		} else {
			if (mism && got != u->mismatch_expected &&
			    failure(u, r, 0))
				return;
			why(u, "registry holds %llu bytes: continuing there",
			    (unsigned long long)got);
		}
		confirmed(u, got);
		if (got > 0 && u->mode != HOIST_UPLOAD_CHUNKED &&
		    got < u->size) {
			u->mode = HOIST_UPLOAD_CHUNKED;
			u->learned = 1;
		}
		body_step(u);
	} else if (hoist_retry_is_transient(r->status)) {
		if (failure(u, r, 1) == 0) {
			why(u, "retry after %s", what(r, b, sizeof(b)));
			go(u, ST_STATUS);
		}
	} else if (r->status == 401 || r->status == 403) {
		fail_resp(u, r);
	} else {
		lost(u, r, 0);
	}
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
	    (!*p->resume_location || !loc_usable(p->resume_location) ||
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
		/* chunks as the bytes come; the end is not known yet */
		u->growing = 1;
		u->size = UINT64_MAX;
		u->mode = HOIST_UPLOAD_CHUNKED;
		go(u, ST_POST);
		*out = u;
		return 0;
	}

	if (p->resume_location) {
		u->loc = hoist_xstrdup(p->resume_location);
		u->off = u->best = p->resume_offset;
		why(u, "resuming a saved upload session");
		go(u, ST_STATUS);
	} else if (!p->skip_head) {
		go(u, ST_HEAD);
	} else {
		go(u, u->mount_from ? ST_MOUNT : ST_POST);
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

/* A 429: the request was not processed; the same one after a wait. */
static void rate_limited(struct hoist_upload *u,
			 const struct hoist_upload_resp *r)
{
	long d;

	u->waits++;
	u->waits_row++;
	d = hoist_retry_wait_ms(&u->pol, u->waits_row, r->retry_after, r->now,
				r->rnd);
	if (d < 0) {
		describe(&u->err, r);
		hoist_err_prefix(&u->err, "rate limited %d times in a row",
				 u->waits_row);
		fail(u);
		return;
	}
	u->next_delay = d;
	why(u, "rate limited (HTTP 429): waiting %.1fs", (double)d / 1000);
	go(u, u->st);
}

void hoist_upload_feed(struct hoist_upload *u,
		       const struct hoist_upload_resp *r)
{
	struct hoist_upload_resp clean;

	if (r->location && !loc_usable(r->location)) {
		clean = *r;
		clean.location = NULL;
		r = &clean;
	}
	if (r->status == 429 && u->st != ST_DONE && u->st != ST_FAILED) {
		rate_limited(u, r);
		return;
	}
	u->waits_row = 0;
	switch (u->st) {
	case ST_HEAD:
	case ST_LOST:
		feed_head(u, r);
		break;
	case ST_MOUNT:
	case ST_POST:
		feed_post(u, r);
		break;
	case ST_PUT_MONO:
	case ST_PATCH_STREAM:
	case ST_PATCH_CHUNK:
	case ST_PUT_LAST:
	case ST_PUT_CLOSE:
		feed_body(u, r);
		break;
	case ST_STATUS:
		feed_status(u, r);
		break;
	case ST_DONE:
	case ST_FAILED:
		break;
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
		body_step(u);
		u->req.delay_ms = delay;
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
