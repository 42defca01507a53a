/*
 * test-upload.c: the upload engine against scripted registries. Each
 * scenario is a table of the exact request expected (method, URL,
 * Content-Range, body range, delay, attempt) and the canned answer; a small
 * interpreter walks the table, fails on the first difference, and checks
 * that the engine handed out exactly the bytes the table sends, so a
 * scenario also pins how close to the blob's size the traffic stays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/upload.h"
#include "util/mem.h"
#include "util/banned.h"

#define H64 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define H64B "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define D "sha256:" H64
#define DENC "sha256%3A" H64
#define REPO "test/app"
#define BLOB "/v2/test/app/blobs/" D
#define UPLOADS "/v2/test/app/blobs/uploads/"
#define BASE "http://127.0.0.1:5000" UPLOADS
#define L(n) BASE "u1?_state=s" #n
#define LD(n) L(n) "&digest=" DENC
#define MiB (UINT64_C(1) << 20)

/* One expected request and its answer. */
struct step {
	/* the request */
	const char *m, *url;
	int body;          /* has_body expected */
	uint64_t off, len; /* body range */
	int cr;            /* Content-Range "off-(off+len-1)" expected */
	long delay;
	int attempt;
	int wait;        /* req.wait: resent after that many 429s */
	const char *why; /* a part of req.why, when given */
	/* the answer */
	int st, cut;
	const char *loc, *range, *dcd, *min, *ra, *code, *msg;
	int64_t now;
	uint32_t rnd;
	long el;
};

#define HEAD404                                                                \
	{                                                                      \
		.m = "HEAD", .url = BLOB, .st = 404, .code = "BLOB_UNKNOWN"    \
	}
#define POST(n)                                                                \
	{                                                                      \
		.m = "POST", .url = UPLOADS, .st = 202, .loc = L(n),           \
		.range = "0-0"                                                 \
	}
#define PATCH(n, o, l, next)                                                   \
	{                                                                      \
		.m = "PATCH", .url = L(n), .body = 1, .off = (o), .len = (l),  \
		.cr = 1, .st = 202, .loc = L(next), .range = rng((o) + (l))    \
	}
/* The status GET of session n: the registry holds held ("0-<end>"), and
 * the session goes on at L(next). Designators: more may follow. */
#define STATUS(n, next, held)                                                  \
	.m = "GET", .url = L(n), .st = 204, .loc = L(next), .range = (held)
/* A PATCH of [o, o + l) to session n whose connection is cut. */
#define CUT_PATCH(n, o, l)                                                     \
	.m = "PATCH", .url = L(n), .body = 1, .off = (o), .len = (l), .cr = 1, \
	.cut = 1
#define PUTLAST(n, o, l)                                                       \
	{                                                                      \
		.m = "PUT", .url = LD(n), .body = 1, .off = (o), .len = (l),   \
		.cr = 1, .st = 201, .dcd = D                                   \
	}

static char range_bufs[64][32];
static int range_next;

/* "0-<end>" for a registry holding n bytes (a static buffer per call) */
static const char *rng(uint64_t n)
{
	char *b = range_bufs[range_next++ % 64];

	snprintf(b, 32, "0-%llu", (unsigned long long)(n ? n - 1 : 0));
	return b;
}

static struct hoist_upload_params params(uint64_t size)
{
	struct hoist_upload_params p;

	memset(&p, 0, sizeof(p));
	p.repo = REPO;
	p.digest = D;
	p.size = size;
	return p;
}

/* Walk n steps of the script, which must all be requests. */
static uint64_t play(struct hoist_upload *u, const struct step *s, size_t n)
{
	struct hoist_upload_req q;
	struct hoist_err err;
	uint64_t total = 0;
	char cr[48];

	for (size_t i = 0; i < n; i++) {
		const struct step *t = &s[i];
		hoist_upload_next(u, &q, &err);
		if (q.kind != HOIST_UPLOAD_SEND)
			fail_msg("step %zu (%s %s): the engine stopped with "
				 "kind %d: %s",
				 i, t->m, t->url, q.kind, err.msg);
		if (strcmp(q.method, t->m) != 0 || strcmp(q.url, t->url) != 0)
			fail_msg("step %zu: got %s %s, expected %s %s", i,
				 q.method, q.url, t->m, t->url);
		if (q.has_body != t->body || q.body_offset != t->off ||
		    q.body_len != t->len)
			fail_msg("step %zu (%s): body %d [%llu,+%llu), "
				 "expected %d [%llu,+%llu)",
				 i, t->m, q.has_body,
				 (unsigned long long)q.body_offset,
				 (unsigned long long)q.body_len, t->body,
				 (unsigned long long)t->off,
				 (unsigned long long)t->len);
		if (t->cr) {
			snprintf(cr, sizeof(cr), "%llu-%llu",
				 (unsigned long long)t->off,
				 (unsigned long long)(t->off + t->len - 1));
			if (!q.content_range || strcmp(q.content_range, cr))
				fail_msg("step %zu: Content-Range '%s', "
					 "expected '%s'",
					 i,
					 q.content_range ? q.content_range
							 : "(none)",
					 cr);
		} else if (q.content_range) {
			fail_msg("step %zu: unexpected Content-Range '%s'", i,
				 q.content_range);
		}
		if (t->body)
			assert_string_equal(q.content_type,
					    "application/octet-stream");
		else
			assert_null(q.content_type);
		if (q.delay_ms != t->delay || q.attempt != t->attempt)
			fail_msg("step %zu (%s %s): delay %ld attempt %d, "
				 "expected %ld and %d (%s)",
				 i, t->m, t->url, q.delay_ms, q.attempt,
				 t->delay, t->attempt, q.why ? q.why : "");
		if (q.wait != t->wait)
			fail_msg("step %zu (%s %s): wait %d, expected %d", i,
				 t->m, t->url, q.wait, t->wait);
		if (t->why && (!q.why || !strstr(q.why, t->why)))
			fail_msg("step %zu: why '%s', expected '%s'", i,
				 q.why ? q.why : "(none)", t->why);
		if ((q.attempt > 0 || q.delay_ms > 0) && !q.why)
			fail_msg("step %zu: a retry without a reason", i);
		if (q.has_body)
			total += q.body_len;

		struct hoist_upload_resp r = {
			.status = t->st,
			.body_started = t->cut,
			.location = t->loc,
			.range = t->range,
			.docker_content_digest = t->dcd,
			.chunk_min_length = t->min,
			.retry_after = t->ra,
			.error_code = t->code,
			.error_message = t->msg,
			.now = t->now,
			.rnd = t->rnd,
			.elapsed_ms = t->el,
		};
		hoist_upload_feed(u, &r);
	}
	return total;
}

struct outcome {
	enum hoist_upload_kind kind;
	struct hoist_err err;
	uint64_t sent;
	int skipped;
};

/* Play a whole scenario; the engine must stop right after the script. */
static void run(const struct hoist_upload_params *p, const struct step *s,
		size_t n, struct outcome *o)
{
	struct hoist_upload *u;
	struct hoist_upload_req q;
	struct hoist_err err;
	const char *loc;
	uint64_t off, total;

	assert_int_equal(hoist_upload_new(&u, p, &err), 0);
	total = play(u, s, n);
	hoist_upload_next(u, &q, &o->err);
	if (q.kind == HOIST_UPLOAD_SEND)
		fail_msg("after %zu steps: another request %s %s (%s)", n,
			 q.method, q.url, q.why ? q.why : "");
	o->kind = q.kind;
	o->sent = hoist_upload_bytes_sent(u);
	o->skipped = hoist_upload_skipped(u);
	assert_int_equal(o->sent, total);
	/* nothing to save once it is over */
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 0);
	if (q.kind == HOIST_UPLOAD_DONE)
		assert_int_equal(o->err.code, 0);
	else
		assert_true(o->err.code < 0);
	hoist_upload_free(u);
}

#define RUN(p, s, o) run(&(p), (s), HOIST_ARRAY_SIZE(s), &(o))

static void expect_done(const struct outcome *o, uint64_t sent, int skipped)
{
	if (o->kind != HOIST_UPLOAD_DONE)
		fail_msg("not done: %s", o->err.msg);
	assert_int_equal(o->sent, sent);
	assert_int_equal(o->skipped, skipped);
}

static void expect_failed(const struct outcome *o, int code, int status,
			  const char *msg)
{
	assert_int_equal(o->kind, HOIST_UPLOAD_FAILED);
	assert_int_equal(o->err.code, code);
	assert_int_equal(o->err.http_status, status);
	assert_string_equal(o->err.msg, msg);
}

/* --- distribution 2.8 happy paths --- */

static void test_monolithic(void **state)
{
	struct hoist_upload_params p = params(10 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = 10 * MiB,
		 .st = 201,
		 .dcd = D,
		 .loc = "/v2/test/app/blobs/" D},
	};
	struct outcome o;
	struct hoist_upload *u;
	struct hoist_upload_req q;
	enum hoist_upload_mode mode;
	uint64_t chunk;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 10 * MiB, 0);

	/* learned() keeps the asked mode when the registry taught nothing */
	assert_int_equal(hoist_upload_new(&u, &p, NULL), 0);
	play(u, s, 3);
	hoist_upload_next(u, &q, NULL);
	assert_int_equal(q.kind, HOIST_UPLOAD_DONE);
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_AUTO);
	assert_int_equal(chunk, 16 * MiB);
	hoist_upload_free(u);
}

static void test_empty_blob(void **state)
{
	struct hoist_upload_params p = params(0);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PUT", .url = LD(1), .st = 201, .dcd = D},
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 0, 0);
}

static void test_stream(void **state)
{
	struct hoist_upload_params p = params(10 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 10 * MiB,
		 .st = 202,
		 .loc = L(2),
		 .range = "0-10485759"},
		{.m = "PUT", .url = LD(2), .st = 201, .dcd = D},
	};
	struct outcome o;

	(void)state;
	p.mode = HOIST_UPLOAD_STREAM;
	RUN(p, s, o);
	expect_done(&o, 10 * MiB, 0);
}

static void test_chunked(void **state)
{
	/* AUTO above 32 MiB: 16 MiB chunks, the last one in the PUT */
	struct hoist_upload_params p = params(40 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		PATCH(1, 0, 16 * MiB, 2),
		PATCH(2, 16 * MiB, 16 * MiB, 3),
		PUTLAST(3, 32 * MiB, 8 * MiB),
	};
	struct outcome o;
	struct hoist_upload *u;
	struct hoist_upload_req q;
	const char *loc;
	uint64_t off;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 40 * MiB, 0);

	/* the checkpoint follows every acknowledged chunk */
	assert_int_equal(hoist_upload_new(&u, &p, NULL), 0);
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 0);
	play(u, s, 2);
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 1);
	assert_string_equal(loc, L(1));
	assert_int_equal(off, 0);
	play(u, s + 2, 1);
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 1);
	assert_string_equal(loc, L(2));
	assert_int_equal(off, 16 * MiB);
	play(u, s + 3, 1);
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 1);
	assert_string_equal(loc, L(3));
	assert_int_equal(off, 32 * MiB);
	/* the request strings are the engine's and stable until feed() */
	hoist_upload_next(u, &q, NULL);
	assert_string_equal(q.url, LD(3));
	assert_string_equal(q.content_range, "33554432-41943039");
	hoist_upload_next(u, &q, NULL);
	assert_string_equal(q.content_range, "33554432-41943039");
	play(u, s + 4, 1);
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 0);
	hoist_upload_free(u);
}

/* --- existing blobs and mounts --- */

static void test_head_200(void **state)
{
	struct hoist_upload_params p = params(50 * MiB);
	const struct step s[] = {
		{.m = "HEAD", .url = BLOB, .st = 200, .dcd = D},
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 0, 1);
}

static void test_skip_head(void **state)
{
	struct hoist_upload_params p = params(MiB);
	const struct step s[] = {
		POST(1),
		{.m = "PUT", .url = LD(1), .body = 1, .len = MiB, .st = 201},
	};
	struct outcome o;

	(void)state;
	p.skip_head = 1;
	RUN(p, s, o);
	expect_done(&o, MiB, 0);
}

#define MOUNT UPLOADS "?mount=" DENC "&from=base/img"

static void test_mount(void **state)
{
	struct hoist_upload_params p = params(MiB);
	const struct step s201[] = {
		HEAD404,
		{.m = "POST", .url = MOUNT, .st = 201, .loc = BLOB},
	};
	/* 202: the mount did not happen, but the session is ours to use */
	const struct step s202[] = {
		HEAD404,
		{.m = "POST", .url = MOUNT, .st = 202, .loc = L(7)},
		{.m = "PUT",
		 .url = LD(7),
		 .body = 1,
		 .len = MiB,
		 .st = 201,
		 .dcd = D},
	};
	/* Harbor answers 401 for a source it will not show: plain POST */
	const struct step s401[] = {
		{.m = "POST", .url = MOUNT, .st = 401, .code = "UNAUTHORIZED"},
		{.m = "POST",
		 .url = UPLOADS,
		 .why = "mount refused (HTTP 401 UNAUTHORIZED): plain upload",
		 .st = 202,
		 .loc = L(1)},
		{.m = "PUT", .url = LD(1), .body = 1, .len = MiB, .st = 201},
	};
	/* a 202 without Location is no session either */
	const struct step snoloc[] = {
		HEAD404,
		{.m = "POST", .url = MOUNT, .st = 202},
		POST(1),
		{.m = "PUT", .url = LD(1), .body = 1, .len = MiB, .st = 201},
	};
	struct outcome o;

	(void)state;
	p.mount_from = "base/img";
	RUN(p, s201, o);
	expect_done(&o, 0, 1);
	RUN(p, s202, o);
	expect_done(&o, MiB, 0);
	RUN(p, snoloc, o);
	expect_done(&o, MiB, 0);
	p.skip_head = 1;
	RUN(p, s401, o);
	expect_done(&o, MiB, 0);
}

/* --- Locations --- */

static void test_locations(void **state)
{
	struct hoist_upload_params p = params(MiB);
	const struct step rel_q[] = {
		HEAD404,
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 202,
		 .loc = UPLOADS "u9?_state=abc"},
		{.m = "PUT",
		 .url = UPLOADS "u9?_state=abc&digest=" DENC,
		 .body = 1,
		 .len = MiB,
		 .st = 201},
	};
	const struct step rel[] = {
		HEAD404,
		{.m = "POST", .url = UPLOADS, .st = 202, .loc = UPLOADS "u9"},
		{.m = "PUT",
		 .url = UPLOADS "u9?digest=" DENC,
		 .body = 1,
		 .len = MiB,
		 .st = 201},
	};
	const struct step abs[] = {
		HEAD404,
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 202,
		 .loc = "https://blob.example/upload/u9"},
		{.m = "PUT",
		 .url = "https://blob.example/upload/u9?digest=" DENC,
		 .body = 1,
		 .len = MiB,
		 .st = 201},
	};
	const struct step trailing[] = {
		HEAD404,
		{.m = "POST",
		 .url = UPLOADS,
		 .st = 202,
		 .loc = "https://r.example/u?x=1&"},
		{.m = "PUT",
		 .url = "https://r.example/u?x=1&digest=" DENC,
		 .body = 1,
		 .len = MiB,
		 .st = 201},
	};
	/* chunked: always the newest Location, relative or absolute */
	const struct step mixed[] = {
		HEAD404,
		{.m = "POST", .url = UPLOADS, .st = 202, .loc = UPLOADS "a"},
		{.m = "PATCH",
		 .url = UPLOADS "a",
		 .body = 1,
		 .len = 256,
		 .cr = 1,
		 .st = 202,
		 .loc = "http://h:5000/b?s=1",
		 .range = "0-255"},
		{.m = "PATCH",
		 .url = "http://h:5000/b?s=1",
		 .body = 1,
		 .off = 256,
		 .len = 256,
		 .cr = 1,
		 .st = 202,
		 .range = "bytes=0-511"}, /* no Location: keep the last one */
		{.m = "PATCH",
		 .url = "http://h:5000/b?s=1",
		 .body = 1,
		 .off = 512,
		 .len = 256,
		 .cr = 1,
		 .st = 202,
		 .loc = UPLOADS "c?s=3"},
		{.m = "PUT",
		 .url = UPLOADS "c?s=3&digest=" DENC,
		 .body = 1,
		 .off = 768,
		 .len = 232,
		 .cr = 1,
		 .st = 201,
		 .dcd = D},
	};
	struct outcome o;

	(void)state;
	RUN(p, rel_q, o);
	expect_done(&o, MiB, 0);
	RUN(p, rel, o);
	expect_done(&o, MiB, 0);
	RUN(p, abs, o);
	expect_done(&o, MiB, 0);
	RUN(p, trailing, o);
	expect_done(&o, MiB, 0);
	p = params(1000);
	p.mode = HOIST_UPLOAD_CHUNKED;
	p.chunk_size = 256;
	RUN(p, mixed, o);
	expect_done(&o, 1000, 0);
}

/* --- registry quirks --- */

static void test_ecr(void **state)
{
	/*
	 * ECR: PATCH answers 201, and its Range stops advancing after the
	 * first chunk although the data is stored. The engine must ask for
	 * the status instead of sending the chunk again.
	 */
	struct hoist_upload_params p = params(17 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 5 * MiB,
		 .cr = 1,
		 .st = 201,
		 .loc = L(2),
		 .range = rng(5 * MiB)},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 5 * MiB,
		 .len = 5 * MiB,
		 .cr = 1,
		 .st = 201,
		 .loc = L(3),
		 .range = rng(5 * MiB)},
		{STATUS(3, 4, rng(10 * MiB))},
		{.m = "PATCH",
		 .url = L(4),
		 .body = 1,
		 .off = 10 * MiB,
		 .len = 5 * MiB,
		 .cr = 1,
		 .st = 201,
		 .loc = L(5),
		 .range = rng(5 * MiB)},
		{STATUS(5, 6, rng(15 * MiB))},
		PUTLAST(6, 15 * MiB, 2 * MiB),
	};
	struct outcome o;

	(void)state;
	p.mode = HOIST_UPLOAD_CHUNKED;
	p.chunk_size = 5 * MiB;
	RUN(p, s, o);
	/* no byte twice */
	expect_done(&o, 17 * MiB, 0);
}

static void test_ghcr(void **state)
{
	/* GHCR refuses chunks over 4 MiB with 416 */
	const char *msg = "exceeds the maximum permissible limit of 4.00MiB";
	struct hoist_upload_params p = params(20 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 16 * MiB,
		 .cr = 1,
		 .st = 416,
		 .code = "RANGE_INVALID",
		 .msg = msg},
		{STATUS(1, 2, "0-0"), .attempt = 1},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .len = 8 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 416,
		 .code = "RANGE_INVALID",
		 .msg = msg},
		{STATUS(2, 3, "0-0"), .attempt = 2},
		{.m = "PATCH",
		 .url = L(3),
		 .body = 1,
		 .len = 4 * MiB,
		 .cr = 1,
		 .attempt = 2,
		 .st = 202,
		 .loc = L(4),
		 .range = rng(4 * MiB)},
		PATCH(4, 4 * MiB, 4 * MiB, 5),
		PATCH(5, 8 * MiB, 4 * MiB, 6),
		PATCH(6, 12 * MiB, 4 * MiB, 7),
		PUTLAST(7, 16 * MiB, 4 * MiB),
	};
	struct outcome o;
	struct hoist_upload *u;
	enum hoist_upload_mode mode;
	uint64_t chunk;

	(void)state;
	p.mode = HOIST_UPLOAD_CHUNKED;
	RUN(p, s, o);
	expect_done(&o, 44 * MiB, 0);

	assert_int_equal(hoist_upload_new(&u, &p, NULL), 0);
	play(u, s, HOIST_ARRAY_SIZE(s));
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_CHUNKED);
	assert_int_equal(chunk, 4 * MiB);
	hoist_upload_free(u);
}

static void test_range_zero(void **state)
{
	/* 1-byte chunks: "0-0" after sending byte 0 means one byte */
	struct hoist_upload_params p = params(3);
	const struct step ones[] = {
		HEAD404,
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 1,
		 .cr = 1,
		 .st = 202,
		 .loc = L(2),
		 .range = "0-0"},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 1,
		 .len = 1,
		 .cr = 1,
		 .st = 202,
		 .loc = L(3),
		 .range = "bytes=0-1"},
		PUTLAST(3, 2, 1),
	};
	/* a cut first chunk, then "0-0": start again at 0, not at 1 */
	struct hoist_upload_params p2 = params(2 * MiB);
	const struct step cut[] = {
		POST(1),
		{CUT_PATCH(1, 0, MiB), .msg = "Connection reset by peer"},
		{STATUS(1, 2, "0-0"), .delay = 250, .attempt = 1},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(3),
		 .range = rng(MiB)},
		PUTLAST(3, MiB, MiB),
	};
	/* a chunk of 1 MiB confirmed as "0-0" is a mismatch: ask */
	const struct step short_ack[] = {
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 202,
		 .loc = L(2),
		 .range = "0-0"},
		{STATUS(2, 3, rng(MiB))},
		PUTLAST(3, MiB, MiB),
	};
	/*
	 * 416 at offset 0 with the chunk already at the 1 MiB floor, and
	 * the status says "0-0": the registry may hold one byte, so try 1.
	 */
	const struct step at1[] = {
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 416},
		{STATUS(1, 2, "0-0"), .attempt = 1},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 202,
		 .loc = L(3),
		 .range = rng(MiB + 1)},
		PUTLAST(3, MiB + 1, MiB - 1),
	};
	struct outcome o;

	(void)state;
	p.mode = HOIST_UPLOAD_CHUNKED;
	p.chunk_size = 1;
	RUN(p, ones, o);
	expect_done(&o, 3, 0);

	p2.mode = HOIST_UPLOAD_CHUNKED;
	p2.chunk_size = MiB;
	p2.skip_head = 1;
	RUN(p2, cut, o);
	expect_done(&o, 3 * MiB, 0);
	RUN(p2, short_ack, o);
	expect_done(&o, 2 * MiB, 0);
	RUN(p2, at1, o);
	expect_done(&o, 3 * MiB - 1, 0);
}

static void test_416_resync(void **state)
{
	/* out of order per the registry: continue where it says */
	struct hoist_upload_params p = params(40 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		PATCH(1, 0, 16 * MiB, 2),
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 16 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .st = 416,
		 .code = "RANGE_INVALID",
		 .msg = "invalid content range"},
		{STATUS(2, 3, rng(8 * MiB)), .attempt = 1},
		{.m = "PATCH",
		 .url = L(3),
		 .body = 1,
		 .off = 8 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(4),
		 .range = rng(24 * MiB)},
		PUTLAST(4, 24 * MiB, 16 * MiB),
	};
	/* 416 and a status that cannot be used: start over */
	const struct step dead[] = {
		HEAD404,
		POST(1),
		PATCH(1, 0, 16 * MiB, 2),
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 16 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .st = 416},
		{.m = "GET",
		 .url = L(2),
		 .attempt = 1,
		 .st = 404,
		 .code = "BLOB_UPLOAD_UNKNOWN"},
		{.m = "HEAD", .url = BLOB, .attempt = 1, .st = 404},
		{.m = "POST",
		 .url = UPLOADS,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(5)},
		{.m = "PATCH",
		 .url = L(5),
		 .body = 1,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(6),
		 .range = rng(16 * MiB)},
		{.m = "PATCH",
		 .url = L(6),
		 .body = 1,
		 .off = 16 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(7),
		 .range = rng(32 * MiB)},
		PUTLAST(7, 32 * MiB, 8 * MiB),
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 64 * MiB, 0);
	RUN(p, dead, o);
	expect_done(&o, 72 * MiB, 0);
}

static void test_413(void **state)
{
	/* a proxy with a body limit: monolithic, chunked, halved */
	struct hoist_upload_params p = params(20 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = 20 * MiB,
		 .st = 413,
		 .msg = "<html>nginx</html>"},
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 16 * MiB,
		 .cr = 1,
		 .st = 413},
		PATCH(1, 0, 8 * MiB, 2),
		PATCH(2, 8 * MiB, 8 * MiB, 3),
		PUTLAST(3, 16 * MiB, 4 * MiB),
	};
	/* 413 on the last chunk carried in the PUT halves it too */
	struct hoist_upload_params p2 = params(6 * MiB);
	const struct step last[] = {
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = 6 * MiB,
		 .cr = 1,
		 .st = 413},
		PATCH(1, 0, 3 * MiB, 2),
		PUTLAST(2, 3 * MiB, 3 * MiB),
	};
	/* at the 1 MiB floor a 413 is final */
	struct hoist_upload_params p3 = params(2 * MiB);
	const struct step floor[] = {
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = MiB,
		 .cr = 1,
		 .st = 413},
	};
	struct outcome o;
	struct hoist_upload *u;
	enum hoist_upload_mode mode;
	uint64_t chunk;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 56 * MiB, 0);
	assert_int_equal(hoist_upload_new(&u, &p, NULL), 0);
	play(u, s, HOIST_ARRAY_SIZE(s));
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_CHUNKED);
	assert_int_equal(chunk, 8 * MiB);
	hoist_upload_free(u);

	p2.mode = HOIST_UPLOAD_CHUNKED;
	p2.skip_head = 1;
	RUN(p2, last, o);
	expect_done(&o, 12 * MiB, 0);

	p3.mode = HOIST_UPLOAD_CHUNKED;
	p3.chunk_size = MiB;
	p3.skip_head = 1;
	RUN(p3, floor, o);
	expect_failed(&o, HOIST_EHTTP, 413,
		      "HTTP 413: request entity too large");
}

static void test_cut_28(void **state)
{
	/*
	 * distribution 2.8: a PATCH cut mid-body leaves the session dead
	 * (404 BLOB_UPLOAD_INVALID on the status GET); the blob is not
	 * there, so a new session starts from offset 0.
	 */
	struct hoist_upload_params p = params(40 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		PATCH(1, 0, 16 * MiB, 2),
		{CUT_PATCH(2, 16 * MiB, 16 * MiB),
		 .msg = "Connection reset by peer", .el = 4000},
		{.m = "GET",
		 .url = L(2),
		 .delay = 250,
		 .attempt = 1,
		 .why = "connection failure during PATCH: asking for the "
			"upload status",
		 .st = 404,
		 .code = "BLOB_UPLOAD_INVALID",
		 .msg = "blob upload invalid"},
		{.m = "HEAD",
		 .url = BLOB,
		 .attempt = 1,
		 .why = "upload session lost (HTTP 404 BLOB_UPLOAD_INVALID)",
		 .st = 404},
		{.m = "POST",
		 .url = UPLOADS,
		 .attempt = 1,
		 .why = "starting a new upload session",
		 .st = 202,
		 .loc = L(5)},
		{.m = "PATCH",
		 .url = L(5),
		 .body = 1,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(6),
		 .range = rng(16 * MiB)},
		{.m = "PATCH",
		 .url = L(6),
		 .body = 1,
		 .off = 16 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(7),
		 .range = rng(32 * MiB)},
		PUTLAST(7, 32 * MiB, 8 * MiB),
	};
	/* a monolithic PUT cut mid-body: a new session, in chunks */
	struct hoist_upload_params p2 = params(20 * MiB);
	const struct step mono[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = 20 * MiB,
		 .st = 0,
		 .cut = 1,
		 .msg = "broken pipe"},
		{.m = "GET",
		 .url = L(1),
		 .delay = 250,
		 .attempt = 1,
		 .st = 404,
		 .code = "BLOB_UPLOAD_INVALID"},
		{.m = "HEAD", .url = BLOB, .attempt = 1, .st = 404},
		{.m = "POST",
		 .url = UPLOADS,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(2)},
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .len = 16 * MiB,
		 .cr = 1,
		 .attempt = 1,
		 .st = 202,
		 .loc = L(3),
		 .range = rng(16 * MiB)},
		PUTLAST(3, 16 * MiB, 4 * MiB),
	};
	/* cut before the body went out: the same request again */
	const struct step early[] = {
		HEAD404,
		POST(1),
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = 20 * MiB,
		 .st = 0,
		 .msg = "connection refused"},
		{.m = "PUT",
		 .url = LD(1),
		 .body = 1,
		 .len = 20 * MiB,
		 .delay = 250,
		 .attempt = 1,
		 .st = 201},
	};
	struct outcome o;
	struct hoist_upload *u;
	enum hoist_upload_mode mode;
	uint64_t chunk;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 72 * MiB, 0);
	RUN(p2, mono, o);
	expect_done(&o, 40 * MiB, 0);
	assert_int_equal(hoist_upload_new(&u, &p2, NULL), 0);
	play(u, mono, HOIST_ARRAY_SIZE(mono));
	hoist_upload_learned(u, &mode, &chunk);
	assert_int_equal(mode, HOIST_UPLOAD_CHUNKED);
	assert_int_equal(chunk, 16 * MiB);
	hoist_upload_free(u);
	RUN(p2, early, o);
	expect_done(&o, 40 * MiB, 0);
}

static void test_cut_resumable(void **state)
{
	/* a registry that keeps the session: continue at its offset */
	struct hoist_upload_params p = params(40 * MiB);
	const struct step s[] = {
		HEAD404,
		POST(1),
		PATCH(1, 0, 16 * MiB, 2),
		{CUT_PATCH(2, 16 * MiB, 16 * MiB), .msg = "timeout"},
		{STATUS(2, 3, rng(20 * MiB)), .delay = 250, .attempt = 1},
		/* new bytes confirmed: no longer a retry */
		{.m = "PATCH",
		 .url = L(3),
		 .body = 1,
		 .off = 20 * MiB,
		 .len = 16 * MiB,
		 .cr = 1,
		 .st = 202,
		 .loc = L(4),
		 .range = rng(36 * MiB)},
		PUTLAST(4, 36 * MiB, 4 * MiB),
	};
	/* a stream PATCH cut: the rest goes in chunks */
	struct hoist_upload_params p2 = params(10 * MiB);
	const struct step stream[] = {
		HEAD404,
		POST(1),
		{.m = "PATCH",
		 .url = L(1),
		 .body = 1,
		 .len = 10 * MiB,
		 .st = 0,
		 .cut = 1},
		{STATUS(1, 2, rng(3 * MiB)), .delay = 250, .attempt = 1},
		PUTLAST(2, 3 * MiB, 7 * MiB),
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 52 * MiB, 0);
	p2.mode = HOIST_UPLOAD_STREAM;
	RUN(p2, stream, o);
	expect_done(&o, 17 * MiB, 0);
}

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
	RUN(p, alive, o);
	expect_done(&o, 24 * MiB, 0);
	RUN(p, dead, o);
	expect_done(&o, 40 * MiB, 0);
	RUN(p, finished, o);
	expect_done(&o, 0, 1);
	RUN(p, full, o);
	expect_done(&o, 0, 0);

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monolithic),
		cmocka_unit_test(test_empty_blob),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_head_200),
		cmocka_unit_test(test_skip_head),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_ecr),
		cmocka_unit_test(test_ghcr),
		cmocka_unit_test(test_range_zero),
		cmocka_unit_test(test_416_resync),
		cmocka_unit_test(test_413),
		cmocka_unit_test(test_cut_28),
		cmocka_unit_test(test_cut_resumable),
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
