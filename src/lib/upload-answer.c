/*
 * upload-answer.c: the upload engine's answers (upload.c has the state
 * table): each registry answer fed to an upload moves it to its next
 * request, to a retry with backoff, to recovery (asking the registry for
 * its offset, checking for a lost session's blob) or to DONE or FAILED.
 * Like upload.c it never touches the network, the clock or the blob.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/digest.h"
#include "lib/upload-int.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

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
	u->resuming = 0; /* a saved session that is gone resumes nothing */
	if (u->growing) {
		/* no digest to look for yet: a new session */
		hoist_upload_why(u,
				 "upload session lost (%s): starting a new one",
				 what(r, b, sizeof(b)));
		hoist_upload_go(u, ST_POST);
		return;
	}
	hoist_upload_why(u, "upload session lost (%s): checking for the blob",
			 what(r, b, sizeof(b)));
	hoist_upload_go(u, ST_LOST);
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
			hoist_upload_why(
				u,
				"blob absent: starting a new upload session");
			u->off = 0;
			hoist_upload_go(u, ST_POST);
		} else {
			progress(u);
			hoist_upload_go(u, u->mount_from ? ST_MOUNT : ST_POST);
		}
	} else if (hoist_retry_is_transient(r->status)) {
		if (failure(u, r, 1) == 0) {
			hoist_upload_why(u, "retry after %s",
					 what(r, b, sizeof(b)));
			hoist_upload_go(u, u->st);
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
			hoist_upload_why(u, "mount refused (%s): plain upload",
					 what(r, b, sizeof(b)));
			hoist_upload_go(u, ST_POST);
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
		hoist_upload_body_step(u);
	} else if (hoist_retry_is_transient(r->status)) {
		if (failure(u, r, 1) == 0) {
			hoist_upload_why(u, "retry after %s",
					 what(r, b, sizeof(b)));
			hoist_upload_go(u, ST_POST);
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
		if (u->s_grow && u->growing) {
			/* a streamed body ends only after the seal */
			u->mismatch = 1;
			u->mismatch_expected = UINT64_MAX;
			hoist_upload_why(u, "registry answered the streamed "
					    "PATCH before its end: asking "
					    "for the upload status");
			hoist_upload_go(u, ST_STATUS);
			return;
		}
		got = expected;
		if (r->range && *r->range &&
		    (range_offset(r->range, expected, &got, &zero) ||
		     got != expected)) {
			/* never resend blindly: 2.8 would append duplicates */
			u->mismatch = 1;
			u->mismatch_expected = expected;
			hoist_upload_why(u,
					 "registry confirmed a range other "
					 "than %s: asking "
					 "for the upload status",
					 u->st == ST_PATCH_CHUNK ? u->crange
								 : "the blob");
			hoist_upload_go(u, ST_STATUS);
			return;
		}
		confirmed(u, got);
		if (u->st == ST_PATCH_STREAM)
			hoist_upload_go(u, ST_PUT_CLOSE);
		else
			hoist_upload_body_step(u);
		return;
	}
	if (((!u->s_body || (u->s_len == 0 && !u->s_grow)) &&
	     hoist_retry_is_transient(r->status)) ||
	    (r->status == 0 && !r->body_started)) {
		/* nothing of the blob went out: the same request again */
		if (failure(u, r, 1) == 0) {
			hoist_upload_why(u, "retry after %s",
					 what(r, b, sizeof(b)));
			hoist_upload_go(u, u->st);
		}
		return;
	}
	if (r->status == 413 && u->s_grow) {
		/* too big to stream: chunks of what is written */
		u->mode = HOIST_UPLOAD_CHUNKED;
		u->keep_stream = 0;
		u->learned = 1;
		hoist_upload_why(u,
				 "HTTP 413 on a streamed body: chunks of %llu",
				 (unsigned long long)u->chunk);
		hoist_upload_body_step(u);
	} else if (r->status == 413 && u->s_len > 0) {
		if (shrink(u, u->s_len)) {
			fail_resp(u, r);
			return;
		}
		hoist_upload_why(u, "HTTP 413 on %llu bytes: chunks of %llu",
				 (unsigned long long)u->s_len,
				 (unsigned long long)u->chunk);
		hoist_upload_body_step(u);
	} else if (r->status == 416) {
		if (failure(u, r, 0))
			return;
		describe(&u->err416, r);
		u->after_416 = 1;
		u->r416_off = u->s_body ? u->s_off : u->off;
		u->r416_len = u->s_len;
		hoist_upload_why(u, "HTTP 416: asking for the upload status");
		hoist_upload_go(u, ST_STATUS);
	} else if (session_gone(r)) {
		lost(u, r, 1);
	} else if (hoist_retry_is_transient(r->status)) {
		if (r->status == 0 && u->mode != HOIST_UPLOAD_CHUNKED &&
		    !u->keep_stream) {
			/* a cut whole-blob body: smaller requests from now */
			u->mode = HOIST_UPLOAD_CHUNKED;
			u->learned = 1;
		}
		if (failure(u, r, 1) == 0) {
			hoist_upload_why(
				u, "%s during %s: asking for the upload status",
				what(r, b, sizeof(b)), u->req.method);
			hoist_upload_go(u, ST_STATUS);
		}
	} else {
		fail_resp(u, r);
	}
}

/*
 * A 416 at the right offset on a chunk of the smallest size, at offset 0
 * and at 1 alike: the registry takes no chunks at all. A new session (the
 * old one may hold a byte) with one streamed PATCH, in stream mode for
 * good.
 */
static void refuses_chunks(struct hoist_upload *u)
{
	u->mode = HOIST_UPLOAD_STREAM;
	u->keep_stream = 1;
	u->learned = 1;
	free(u->loc);
	u->loc = NULL;
	u->off = 0;
	hoist_upload_why(u,
			 "the registry refuses chunks (HTTP 416 on %llu "
			 "bytes at its offset): a new session with one "
			 "streamed PATCH",
			 (unsigned long long)u->r416_len);
	hoist_upload_go(u, ST_POST);
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
				hoist_upload_why(
					u,
					"HTTP 416 at the right offset: chunks "
					"of %llu",
					(unsigned long long)u->chunk);
			} else if (zero && got == 0 && u->r416_len > 0) {
				/* "0-0" may mean one byte after all */
				got = 1;
				hoist_upload_why(u,
						 "HTTP 416 after 'Range: 0-0': "
						 "continuing at 1");
			} else if (zero && u->r416_off <= 1 && u->best <= 1 &&
				   u->mode == HOIST_UPLOAD_CHUNKED) {
				refuses_chunks(u);
				return;
			} else {
				u->err = u->err416;
				fail(u);
				return;
			}
		} else {
			if (mism && got != u->mismatch_expected &&
			    failure(u, r, 0))
				return;
			hoist_upload_why(
				u,
				"registry holds %llu bytes: continuing there",
				(unsigned long long)got);
		}
		confirmed(u, got);
		u->resumed |= u->resuming && got > 0;
		u->resuming = 0;
		if (got > 0 && u->mode != HOIST_UPLOAD_CHUNKED &&
		    got < u->size && !u->keep_stream) {
			u->mode = HOIST_UPLOAD_CHUNKED;
			u->learned = 1;
		}
		hoist_upload_body_step(u);
	} else if (hoist_retry_is_transient(r->status)) {
		if (failure(u, r, 1) == 0) {
			hoist_upload_why(u, "retry after %s",
					 what(r, b, sizeof(b)));
			hoist_upload_go(u, ST_STATUS);
		}
	} else if (r->status == 401 || r->status == 403) {
		fail_resp(u, r);
	} else {
		lost(u, r, 0);
	}
}

/* --- the public interface --- */

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
	hoist_upload_why(u, "rate limited (HTTP 429): waiting %.1fs",
			 (double)d / 1000);
	hoist_upload_go(u, u->st);
}

void hoist_upload_feed(struct hoist_upload *u,
		       const struct hoist_upload_resp *r)
{
	struct hoist_upload_resp clean;

	if (r->location && !hoist_upload_loc_usable(r->location)) {
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
