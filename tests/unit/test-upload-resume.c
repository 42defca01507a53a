/*
 * test-upload-resume.c: the upload engine against scripted registries
 * (upload-script.h): transient failures and their bounds, rate limits,
 * permanent errors, digest mismatches, resume, the chunk minimum, and
 * blobs still being written (chunks, or one streamed PATCH, before the
 * end), including a registry that refuses chunks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload-script.h"
#include "util/mem.h"
#include "util/banned.h"

/* --- transient failures and their bounds --- */

#define T1994 INT64_C(784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */

static void test_transient(void **state)
{
	struct hoist_upload_params p = params(40 * MiB);
	const struct step s[] = {
		/* 429 with an HTTP-date 7 s ahead */
		{.m = "HEAD",
		 .url = BLOB,
		 .st = 429,
		 .now = T1994 - 7,
		 .ra = "Sun, 06 Nov 1994 08:49:37 GMT"},
		{.m = "HEAD",
		 .url = BLOB,
		 .delay = 7000,
		 .wait = 1,
		 .why = "rate limited (HTTP 429): waiting 7.0s",
		 .st = 404},
		/* 503 with Retry-After seconds */
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 503,
		 .ra = "3",
		 .code = "UNAVAILABLE"},
		{.m = "POST",
		 .url = UPLOADS,
		 .delay = 3000,
		 .attempt = 1,
		 .st = 503,
		 .el = 3000},
		/* second retry: backoff 1000 ms, jitter down to 500 */
		{.m = "POST",
		 .url = UPLOADS,
		 .delay = 500,
		 .attempt = 2,
		 .st = 202,
		 .loc = L(1)},
		PATCH(1, 0, 16 * MiB, 2),
		/* 503 on a body: ask for the status, then go on */
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 16 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .st = 503,
		 .ra = "2"},
		{.m = "GET",
		 .url = L(2),
		 .delay = 2000,
		 .attempt = 1,
		 .st = 502,
		 .rnd = 500}, /* 500 + 500 % 501: the top */
		{STATUS(2, 3, rng(16 * MiB)), .delay = 1000, .attempt = 2},
		{.m = "PATCH",
		 .url = L(3),
		 .body = 1,
		 .off = 16 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 2,
		 .st = 202,
		 .loc = L(4),
		 .range = rng(32 * MiB)},
		PUTLAST(4, 32 * MiB, 8 * MiB),
	};
	/* the closing PUT lost its answer: the session is gone, the blob
	   is there */
	struct hoist_upload_params p2 = params(10 * MiB);
	const struct step close[] = {
		HEAD404,
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 10 * MiB,
		 .st = 202,
		 .loc = L(2)},
		{.m = "PUT", .url = LD(2), .st = 0, .msg = "timeout"},
		{.m = "PUT",
		 .url = LD(2),
		 .delay = 250,
		 .attempt = 1,
		 .st = 404,
		 .code = "BLOB_UPLOAD_UNKNOWN"},
		{.m = "HEAD", .url = BLOB, .attempt = 2, .st = 200},
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 56 * MiB, 0);
	p2.mode = HOIST_UPLOAD_STREAM;
	RUN(p2, close, o);
	/* it was our upload that put it there: not "skipped" */
	expect_done(&o, 10 * MiB, 0);
}

static void test_bounds(void **state)
{
	struct hoist_upload_params p = params(MiB);
	const struct step s[] = {
		{.m = "HEAD", .url = BLOB, .st = 503},
		{.m = "HEAD",
		 .url = BLOB,
		 .delay = 250,
		 .attempt = 1,
		 .st = 503},
		{.m = "HEAD",
		 .url = BLOB,
		 .delay = 500,
		 .attempt = 2,
		 .st = 503,
		 .code = "UNAVAILABLE",
		 .msg = "service unavailable"},
	};
	/* a 429 is a wait: Retry-After capped at max_after_ms, +jitter */
	const struct step late[] = {
		{.m = "HEAD", .url = BLOB, .st = 429, .ra = "300", .rnd = 7},
		{.m = "HEAD",
		 .url = BLOB,
		 .delay = 60007,
		 .wait = 1,
		 .st = 200},
	};
	/* cut after cut with progress in between: the total bound */
	struct hoist_upload_params p2 = params(3 * MiB);
	const struct step total[] = {
		POST(1),
		PATCH(1, 0, MiB, 2),
		{CUT_PATCH(2, MiB, MiB)},
		{STATUS(2, 3, rng(MiB + 5)), .delay = 250, .attempt = 1},
		/* 5 more bytes arrived: progress, the streak starts over */
		{CUT_PATCH(3, MiB + 5, MiB)},
		{STATUS(3, 4, rng(MiB + 9)), .delay = 250, .attempt = 1},
		{CUT_PATCH(4, MiB + 9, MiB), .msg = "reset"},
	};
	/* a registry that confirms chunks but never holds them */
	struct hoist_upload_params p3 = params(3 * MiB);
	const struct step stuck[] = {
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 202,
		 .loc = L(2),
		 .range = "0-0"},
		{STATUS(2, 3, "0-0")},
		{.m = "PATCH",
		 .url = L(3),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(4),
		 .range = "0-0"},
		{STATUS(4, 5, "0-0"), .attempt = 1},
	};
	struct outcome o;

	(void)state;
	p3.mode = HOIST_UPLOAD_CHUNKED;
	p3.chunk_size = MiB;
	p3.skip_head = 1;
	p3.retry.max_attempts = 2;
	RUN(p3, stuck, o);
	expect_failed(&o, HOIST_EHTTP, 204,
		      "gave up after 2 attempts: HTTP 204: the upload offset "
		      "does not advance as the registry confirms");

	p.retry.max_attempts = 3;
	RUN(p, s, o);
	expect_failed(&o, HOIST_EHTTP, 503,
		      "gave up after 3 attempts: HTTP 503 UNAVAILABLE: "
		      "service unavailable");

	p.retry.max_attempts = 0;
	p.retry.max_after_ms = 60000;
	RUN(p, late, o);
	expect_done(&o, 0, 1);

	p2.mode = HOIST_UPLOAD_CHUNKED;
	p2.chunk_size = MiB;
	p2.skip_head = 1;
	p2.max_retries = 2;
	RUN(p2, total, o);
	expect_failed(&o, HOIST_ENET, 0,
		      "gave up after 2 retries: connection failed: reset");
}

/* --- rate limits --- */

static void test_rate_limit(void **state)
{
	/*
	 * A limiter that refuses every second request: each 429 resends the
	 * same request after Retry-After, never a status GET (it would count
	 * against the same limit), and none of it is a failure: with
	 * max_attempts 2 the upload still completes.
	 */
	struct hoist_upload_params p = params(3 * MiB);
	const struct step s[] = {
		{.m = "POST", .url = UPLOADS, .st = 429, .ra = "1"},
		{.m = "POST",
		 .url = UPLOADS,
		 .delay = 1000,
		 .wait = 1,
		 .st = 202,
		 .loc = L(1)},
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 429,
		 .ra = "2",
		 .code = "TOOMANYREQUESTS"},
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .delay = 2000,
		 .wait = 1,
		 .why = "rate limited (HTTP 429)",
		 .st = 202,
		 .loc = L(2),
		 .range = rng(MiB)},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = MiB,
		 .len = MiB,
		 .cr = 1,
		 .st = 429},
		/* no Retry-After: the backoff, 500 ms at first */
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = MiB,
		 .len = MiB,
		 .cr = 1,
		 .delay = 500,
		 .wait = 1,
		 .st = 429,
		 .ra = "1"},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = MiB,
		 .len = MiB,
		 .cr = 1,
		 .delay = 1000,
		 .wait = 2,
		 .st = 202,
		 .loc = L(3),
		 .range = rng(2 * MiB)},
		{.m = "PUT",
		 .url = LD(3),
		 .body = 1,
		 .off = 2 * MiB,
		 .len = MiB,
		 .cr = 1,
		 .st = 429,
		 .ra = "1"},
		{.m = "PUT",
		 .url = LD(3),
		 .body = 1,
		 .off = 2 * MiB,
		 .len = MiB,
		 .cr = 1,
		 .delay = 1000,
		 .wait = 1,
		 .st = 201,
		 .dcd = D},
	};
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_upload_resp r;
	struct hoist_err err;
	struct outcome o;
	int n;

	(void)state;
	p.mode = HOIST_UPLOAD_CHUNKED;
	p.chunk_size = MiB;
	p.skip_head = 1;
	p.retry.max_attempts = 2;
	RUN(p, s, o);
	/* every 429'd body counts as handed out: 2+3+2 MiB */
	expect_done(&o, 7 * MiB, 0);

	/* one that refuses forever ends after 32 waits in a row */
	p = params(MiB);
	p.retry.max_attempts = 8;
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	memset(&r, 0, sizeof(r));
	r.status = 429;
	r.retry_after = "1";
	for (n = 0; n < 40; n++) {
		hoist_upload_next(u, &q, &err);
		if (q.kind != HOIST_UPLOAD_SEND)
			break;
		assert_string_equal(q.method, "HEAD");
		assert_int_equal(q.wait, n);
		hoist_upload_feed(u, &r);
	}
	assert_int_equal(n, 33);
	assert_int_equal(q.kind, HOIST_UPLOAD_FAILED);
	assert_int_equal(err.http_status, 429);
	assert_string_equal(err.msg, "rate limited 33 times in a row: HTTP "
				     "429: too many requests");
	assert_int_equal(hoist_upload_waits(u), 33);
	hoist_upload_free(u);
}

/* --- permanent errors --- */

static void test_permanent(void **state)
{
	struct hoist_upload_params p = params(MiB);
	const struct step denied[] = {
		HEAD404,
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 403,
		 .code = "DENIED",
		 .msg = "requested access to the resource is denied"},
	};
	const struct step digest[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = MiB,
		 .st = 400,
		 .code = "DIGEST_INVALID",
		 .msg = "provided digest did not match uploaded content"},
	};
	const struct step name[] = {
		HEAD404,
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 404,
		 .code = "NAME_UNKNOWN",
		 .msg = "repository name not known to registry"},
	};
	const struct step patch_name[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 404,
		 .code = "NAME_UNKNOWN"},
	};
	const struct step hostile[] = {
		{.m = "HEAD",
		 .url = BLOB,
		 .st = 400,
		 .code = "X\x1b[31m",
		 .msg = "bad\nline"},
	};
	const struct step noloc[] = {
		HEAD404,
		{.m = "POST", .url = UPLOADS, .st = 202},
	};
	struct outcome o;

	(void)state;
	RUN(p, denied, o);
	expect_failed(&o, HOIST_EAUTH, 403,
		      "HTTP 403 DENIED: requested access to the resource is "
		      "denied");
	RUN(p, digest, o);
	expect_failed(&o, HOIST_EHTTP, 400,
		      "HTTP 400 DIGEST_INVALID: provided digest did not match "
		      "uploaded content");
	RUN(p, name, o);
	expect_failed(&o, HOIST_EHTTP, 404,
		      "HTTP 404 NAME_UNKNOWN: repository name not known to "
		      "registry");
	p.mode = HOIST_UPLOAD_CHUNKED;
	RUN(p, patch_name, o);
	expect_failed(&o, HOIST_EHTTP, 404, "HTTP 404 NAME_UNKNOWN: not found");
	RUN(p, hostile, o);
	expect_failed(&o, HOIST_EHTTP, 400, "HTTP 400 X\\x1b[31m: bad\\nline");
	RUN(p, noloc, o);
	expect_failed(&o, HOIST_EHTTP, 202,
		      "HTTP 202 without a Location header");
}

static void test_digest_mismatch(void **state)
{
	struct hoist_upload_params p = params(MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = MiB,
		 .st = 201,
		 .dcd = "sha256:" H64B},
	};
	const struct step spaced[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = MiB,
		 .st = 201,
		 .dcd = " " D " "},
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_failed(&o, HOIST_EDIGEST, 201,
		      "registry stored 'sha256:" H64B "' instead of '" D "'");
	RUN(p, spaced, o);
	expect_done(&o, MiB, 0);
}

/* --- resume --- */

static void test_resume(void **state)
{
	struct hoist_upload_params p = params(40 * MiB);
	const struct step alive[] = {
		{STATUS(5, 6, rng(16 * MiB))},
		PATCH(6, 16 * MiB, 16 * MiB, 7),
		PUTLAST(7, 32 * MiB, 8 * MiB),
	};
	const struct step dead[] = {
		{.m = "GET",
		 .url = L(5),
		 .st = 404,
		 .code = "BLOB_UPLOAD_UNKNOWN"},
		HEAD404,
		POST(1),
		PATCH(1, 0, 16 * MiB, 2),
		PATCH(2, 16 * MiB, 16 * MiB, 3),
		PUTLAST(3, 32 * MiB, 8 * MiB),
	};
	const struct step finished[] = {
		{.m = "GET",
		 .url = L(5),
		 .st = 404,
		 .code = "BLOB_UPLOAD_INVALID"},
		{.m = "HEAD", .url = BLOB, .st = 200},
	};
	/* the registry holds everything: only the closing PUT is left */
	const struct step full[] = {
		{STATUS(5, 6, rng(40 * MiB))},
		{.m = "PUT", .url = LD(6), .st = 201, .dcd = D},
	};
	struct outcome o;
	struct hoist_upload *u;
	struct hoist_upload_req q;
	const char *loc;
	uint64_t off;

	(void)state;
	p.resume_location = L(5);
	p.resume_offset = 16 * MiB;
	/* resumed: only where the status confirmed the saved bytes */
	RUN(p, alive, o);
	expect_done(&o, 24 * MiB, 0);
	assert_true(o.resumed);
	RUN(p, dead, o);
	expect_done(&o, 40 * MiB, 0);
	assert_false(o.resumed);
	RUN(p, finished, o);
	expect_done(&o, 0, 1);
	assert_false(o.resumed);
	RUN(p, full, o);
	expect_done(&o, 0, 0);
	assert_true(o.resumed);

	/* the saved session is a checkpoint before anything is sent */
	assert_int_equal(hoist_upload_new(&u, &p, NULL), 0);
	hoist_upload_next(u, &q, NULL);
	assert_non_null(q.why);
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 1);
	assert_string_equal(loc, L(5));
	assert_int_equal(off, 16 * MiB);
	hoist_upload_free(u);
}

static void test_chunk_min(void **state)
{
	struct hoist_upload_params p = params(12 * MiB);
	const struct step s[] = {
		HEAD404,
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 202,
		 .loc = L(1),
		 .min = "5242880"},
		PATCH(1, 0, 5 * MiB, 2),
		PATCH(2, 5 * MiB, 5 * MiB, 3),
		PUTLAST(3, 10 * MiB, 2 * MiB),
	};
	/* a silly minimum is capped at 1 GiB */
	struct hoist_upload_params p2 = params(3ULL << 30);
	const struct step big[] = {
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 202,
		 .loc = L(1),
		 .min = "99999999999999"},
		PATCH(1, 0, 1ULL << 30, 2),
		PATCH(2, 1ULL << 30, 1ULL << 30, 3),
		PUTLAST(3, 2ULL << 30, 1ULL << 30),
	};
	struct outcome o;
	struct hoist_upload *u;
	enum hoist_upload_mode mode;
	uint64_t chunk;

	(void)state;
	p.mode = HOIST_UPLOAD_CHUNKED;
	p.chunk_size = MiB;
	RUN(p, s, o);
	expect_done(&o, 12 * MiB, 0);
	assert_int_equal(hoist_upload_new(&u, &p, NULL), 0);
	play(u, s, 2);
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_CHUNKED);
	assert_int_equal(chunk, 5 * MiB);
	hoist_upload_free(u);

	p2.mode = HOIST_UPLOAD_CHUNKED;
	p2.skip_head = 1;
	RUN(p2, big, o);
	expect_done(&o, 3ULL << 30, 0);
}

/* --- a growing blob (a pipelined build): chunks before the end --- */

static struct hoist_upload_params growing(void)
{
	struct hoist_upload_params p;

	memset(&p, 0, sizeof(p));
	p.repo = REPO;
	p.growing = 1;
	p.chunk_size = 4 * MiB;
	return p;
}

/* Play s, then seal at size: the steps after it are t. */
static void grow_and_seal(const struct step *s, size_t n, uint64_t size,
			  const struct step *t, size_t nt, uint64_t sent)
{
	struct hoist_upload_params p = growing();
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_err err;
	uint64_t total;

	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	total = play(u, s, n);
	/* the next chunk is described in full, then the end comes */
	hoist_upload_next(u, &q, &err);
	assert_string_equal(q.method, "PATCH");
	assert_int_equal(q.body_len, 4 * MiB);
	assert_int_equal(hoist_upload_seal(u, D, size, &err), 0);
	total += play(u, t, nt);
	hoist_upload_next(u, &q, &err);
	assert_int_equal(q.kind, HOIST_UPLOAD_DONE);
	/* the chunk described before the end was never sent */
	assert_int_equal(hoist_upload_bytes_sent(u), sent);
	assert_int_equal(total, sent);
	hoist_upload_free(u);
}

static void test_growing(void **state)
{
	const struct step s[] = {
		POST(1),
		PATCH(1, 0, 4 * MiB, 2),
		PATCH(2, 4 * MiB, 4 * MiB, 3),
	};
	/* the rest goes in the closing PUT */
	const struct step t[] = {PUTLAST(3, 8 * MiB, 2 * MiB)};
	/* ended on a chunk boundary: a closing PUT without body */
	const struct step t0[] = {
		{.m = "PUT", .url = LD(3), .st = 201, .dcd = D},
	};
	/* more than a chunk left: a chunk, then the closing PUT */
	const struct step t2[] = {
		PATCH(3, 8 * MiB, 4 * MiB, 4),
		PUTLAST(4, 12 * MiB, 1 * MiB),
	};
	(void)state;
	grow_and_seal(s, HOIST_ARRAY_SIZE(s), 10 * MiB, t, HOIST_ARRAY_SIZE(t),
		      10 * MiB);
	grow_and_seal(s, HOIST_ARRAY_SIZE(s), 8 * MiB, t0, HOIST_ARRAY_SIZE(t0),
		      8 * MiB);
	grow_and_seal(s, HOIST_ARRAY_SIZE(s), 13 * MiB, t2,
		      HOIST_ARRAY_SIZE(t2), 13 * MiB);
}

static void test_growing_lost(void **state)
{
	/* no digest to HEAD yet: a lost session starts a new one */
	const struct step s[] = {
		POST(1),
		PATCH(1, 0, 4 * MiB, 2),
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 4 * MiB,
		 .len = 4 * MiB,
		 .cr = 1,
		 .st = 404,
		 .code = "BLOB_UPLOAD_UNKNOWN"},
		{.m = "POST",
		 .url = UPLOADS,
		 .attempt = 1,
		 .why = "starting a new one",
		 .st = 202,
		 .loc = L(5),
		 .range = "0-0"},
	};
	/* still attempt 1: no new byte was confirmed since the loss */
	const struct step t[] = {
		{.m = "PUT",
		 .url = LD(5),
		 .body = 1,
		 .len = 3 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 201,
		 .dcd = D},
	};
	struct hoist_upload_params p = growing();
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_err err;

	(void)state;
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	play(u, s, HOIST_ARRAY_SIZE(s));
	assert_int_equal(hoist_upload_seal(u, D, 3 * MiB, &err), 0);
	play(u, t, HOIST_ARRAY_SIZE(t));
	hoist_upload_next(u, &q, &err);
	assert_int_equal(q.kind, HOIST_UPLOAD_DONE);
	hoist_upload_free(u);
}

static void test_growing_bad(void **state)
{
	struct hoist_upload_params p = growing();
	struct hoist_upload *u;
	struct hoist_err err;
	const struct step s[] = {POST(1), PATCH(1, 0, 4 * MiB, 2)};

	(void)state;
	/* a growing blob has no digest yet */
	p.digest = D;
	assert_int_equal(hoist_upload_new(&u, &p, &err), HOIST_EINVAL);
	/* a blob with a digest cannot be sealed */
	p = params(MiB);
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	assert_int_equal(hoist_upload_seal(u, D, MiB, &err), HOIST_EINVAL);
	hoist_upload_free(u);
	/* nor end before the bytes the registry already holds */
	p = growing();
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	play(u, s, HOIST_ARRAY_SIZE(s));
	assert_int_equal(hoist_upload_seal(u, D, MiB, &err), HOIST_EINVAL);
	assert_int_equal(hoist_upload_seal(u, "sha256:x", 5 * MiB, &err),
			 HOIST_EINVAL);
	hoist_upload_free(u);
}

static void test_bad_params(void **state)
{
	struct hoist_upload_params p = params(10);
	struct hoist_upload *u = (void *)1;
	struct hoist_err err;

	(void)state;
	p.repo = "Bad Repo";
	assert_int_equal(hoist_upload_new(&u, &p, &err), HOIST_EINVAL);
	assert_null(u);
	p.repo = REPO;
	p.digest = "sha256:abc";
	assert_int_equal(hoist_upload_new(&u, &p, &err), HOIST_EINVAL);
	p.digest = D;
	p.mount_from = "x?y";
	assert_int_equal(hoist_upload_new(&u, &p, &err), HOIST_EINVAL);
	p.mount_from = NULL;
	p.resume_location = L(1);
	p.resume_offset = 11;
	assert_int_equal(hoist_upload_new(&u, &p, &err), HOIST_EINVAL);
	hoist_upload_free(NULL);
}

/* --- a growing blob streamed: one PATCH without Content-Range --- */

/* A growing blob in stream mode; s up to a streamed PATCH, then the seal
 * at size, then t. Returns the engine's bytes sent. */
static uint64_t stream_and_seal(const struct step *s, size_t n, uint64_t size,
				const struct step *t, size_t nt)
{
	struct hoist_upload_params p = growing();
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_err err;
	enum hoist_upload_mode mode;
	uint64_t total, chunk;

	p.mode = HOIST_UPLOAD_STREAM;
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	total = play(u, s, n);
	/* the streamed PATCH goes out before the end is known */
	hoist_upload_next(u, &q, &err);
	assert_int_equal(q.kind, HOIST_UPLOAD_SEND);
	assert_string_equal(q.method, "PATCH");
	assert_true(q.growing);
	assert_int_equal(q.body_len, 0);
	assert_null(q.content_range);
	/* sealed while it is under way: the same request, now with its end */
	assert_int_equal(hoist_upload_seal(u, D, size, &err), 0);
	hoist_upload_next(u, &q, &err);
	assert_string_equal(q.method, "PATCH");
	assert_false(q.growing);
	assert_int_equal(q.body_offset + q.body_len, size);
	total += play(u, t, nt);
	hoist_upload_next(u, &q, &err);
	if (q.kind != HOIST_UPLOAD_DONE)
		fail_msg("not done: %s", err.msg);
	assert_int_equal(hoist_upload_bytes_sent(u), total);
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_STREAM);
	hoist_upload_free(u);
	return total;
}

static void test_growing_stream(void **state)
{
	const struct step s[] = {POST(1)};
	/* the PATCH's answer comes after the seal, then the closing PUT */
	const struct step t[] = {
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 10 * MiB,
		 .st = 202,
		 .loc = L(2),
		 .range = rng(10 * MiB)},
		{.m = "PUT", .url = LD(2), .st = 201, .dcd = D},
	};
	/* cut mid-body: the registry's offset, and a streamed PATCH from
	 * there (never chunks: the registry's mode is stream) */
	const struct step cut[] = {
		POST(1),
		{GPATCH(1, 0), .cut = 1},
		{STATUS(1, 2, rng(2 * MiB)), .delay = 250, .attempt = 1},
	};
	const struct step cut_t[] = {
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 2 * MiB,
		 .len = 4 * MiB,
		 .why = "registry holds 2097152 bytes",
		 .st = 202,
		 .loc = L(3),
		 .range = rng(6 * MiB)},
		{.m = "PUT", .url = LD(3), .st = 201, .dcd = D},
	};
	/* a 2xx before the end cannot be right: ask, go on from there */
	const struct step early[] = {
		POST(1),
		{GPATCH(1, 0), .st = 202, .loc = L(2), .range = rng(MiB)},
		{STATUS(2, 3, rng(MiB)), .why = "before its end"},
	};
	const struct step early_t[] = {
		{.m = "PATCH",
		 .url = L(3),
		 .body = 1,
		 .off = MiB,
		 .len = MiB,
		 .why = "registry holds 1048576 bytes",
		 .st = 202,
		 .loc = L(4),
		 .range = rng(2 * MiB)},
		{.m = "PUT", .url = LD(4), .st = 201, .dcd = D},
	};

	(void)state;
	assert_int_equal(stream_and_seal(s, HOIST_ARRAY_SIZE(s), 10 * MiB, t,
					 HOIST_ARRAY_SIZE(t)),
			 10 * MiB);
	/* the cut body's bytes were never counted: its end was unknown */
	assert_int_equal(stream_and_seal(cut, HOIST_ARRAY_SIZE(cut), 6 * MiB,
					 cut_t, HOIST_ARRAY_SIZE(cut_t)),
			 4 * MiB);
	assert_int_equal(stream_and_seal(early, HOIST_ARRAY_SIZE(early),
					 2 * MiB, early_t,
					 HOIST_ARRAY_SIZE(early_t)),
			 MiB);
}

/* Sealed before the streamed PATCH went out: it goes as a plain body. */
static void test_growing_stream_413(void **state)
{
	struct hoist_upload_params p = growing();
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_err err;
	/* too big to stream (a proxy's cap): chunks of what is written */
	const struct step s[] = {
		POST(1),
		{GPATCH(1, 0), .st = 413, .code = "SIZE_INVALID"},
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 4 * MiB,
		 .cr = 1,
		 .why = "HTTP 413 on a streamed body",
		 .st = 202,
		 .loc = L(2),
		 .range = rng(4 * MiB)},
	};

	(void)state;
	p.mode = HOIST_UPLOAD_STREAM;
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	play(u, s, HOIST_ARRAY_SIZE(s));
	hoist_upload_free(u);

	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	play(u, s, 1);
	assert_int_equal(hoist_upload_seal(u, D, 3 * MiB, &err), 0);
	hoist_upload_next(u, &q, &err);
	assert_false(q.growing);
	assert_int_equal(q.body_len, 3 * MiB);
	assert_int_equal(hoist_upload_bytes_sent(u), 3 * MiB);
	hoist_upload_free(u);
}

/*
 * A registry that refuses every chunk with 416 (at offset 0, and at 1 in
 * case "0-0" meant a byte) takes no chunks at all: a new session with one
 * streamed PATCH, and stream mode is what it taught.
 */
static void test_refuses_chunks(void **state)
{
	struct hoist_upload_params p = params(3 * MiB);
#define REFUSED(n, o)                                                          \
	{                                                                      \
		.m = "PATCH", .url = L(n), .body = 1, .off = (o), .len = MiB,  \
		.cr = 1, .st = 416, .code = "RANGE_INVALID"                    \
	}
	const struct step s[] = {
		POST(1),
		REFUSED(1, 0),
		{STATUS(1, 2, "0-0"), .attempt = 1},
		REFUSED(2, 1),
		{STATUS(2, 3, "0-0"), .attempt = 1},
		{.m = "POST",
		 .url = UPLOADS,
		 .attempt = 1,
		 .why = "refuses chunks",
		 .st = 202,
		 .loc = L(5),
		 .range = "0-0"},
		{.m = "PATCH",
		 .url = L(5),
		 .body = 1,
		 .len = 3 * MiB,
		 .st = 202,
		 .loc = L(6),
		 .range = rng(3 * MiB)},
		{.m = "PUT", .url = LD(6), .st = 201, .dcd = D},
	};
	/* a growing blob learns it too, and streams what is being written */
	const struct step g[] = {
		POST(1),
		REFUSED(1, 0),
		{STATUS(1, 2, "0-0"), .attempt = 1},
		REFUSED(2, 1),
		{STATUS(2, 3, "0-0"), .attempt = 1},
		{.m = "POST",
		 .url = UPLOADS,
		 .attempt = 1,
		 .why = "refuses chunks",
		 .st = 202,
		 .loc = L(5),
		 .range = "0-0"},
	};
#undef REFUSED
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_err err;
	enum hoist_upload_mode mode;
	uint64_t chunk;
	struct outcome o;

	(void)state;
	p.mode = HOIST_UPLOAD_CHUNKED;
	p.chunk_size = MiB;
	p.skip_head = 1;
	RUN(p, s, o);
	expect_done(&o, 5 * MiB, 0);
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	play(u, s, HOIST_ARRAY_SIZE(s) - 2);
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_STREAM);
	hoist_upload_free(u);

	p = growing();
	p.chunk_size = MiB;
	assert_int_equal(hoist_upload_new(&u, &p, &err), 0);
	play(u, g, HOIST_ARRAY_SIZE(g));
	hoist_upload_next(u, &q, &err);
	assert_string_equal(q.method, "PATCH");
	assert_string_equal(q.url, L(5));
	assert_true(q.growing);
	assert_null(q.content_range);
	hoist_upload_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_digest_mismatch),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_chunk_min),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_growing),
		cmocka_unit_test(test_growing_lost),
		cmocka_unit_test(test_growing_bad),
		cmocka_unit_test(test_growing_stream),
		cmocka_unit_test(test_growing_stream_413),
		cmocka_unit_test(test_refuses_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
