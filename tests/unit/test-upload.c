/*
 * test-upload.c: the upload engine against scripted registries
 * (upload-script.h): the happy paths, existing blobs and mounts, Locations,
 * registry quirks (ECR, GHCR, "0-0", 416, 413) and cut bodies.
 * test-upload-resume.c has the retries, resume and growing blobs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload-script.h"
#include "util/mem.h"
#include "util/banned.h"

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
	/* a stream PATCH cut: the rest in another streamed PATCH (stream
	 * mode is for registries that refuse chunks) */
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
		{.m = "PATCH",
		 .url = L(2),
		 .body = 1,
		 .off = 3 * MiB,
		 .len = 7 * MiB,
		 .st = 202,
		 .loc = L(3),
		 .range = rng(10 * MiB)},
		{.m = "PUT", .url = LD(3), .st = 201, .dcd = D},
	};
	struct outcome o;

	(void)state;
	RUN(p, s, o);
	expect_done(&o, 52 * MiB, 0);
	p2.mode = HOIST_UPLOAD_STREAM;
	RUN(p2, stream, o);
	expect_done(&o, 17 * MiB, 0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
