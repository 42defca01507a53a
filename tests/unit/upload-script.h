/*
 * upload-script.h: the interpreter of scripted registries shared by the
 * upload engine's tests (test-upload.c, test-upload-resume.c). Each
 * scenario is a table of the exact request expected (method, URL,
 * Content-Range, body range, delay, attempt) and the canned answer; play()
 * walks the table, fails on the first difference, and run() checks that the
 * engine handed out exactly the bytes the table sends, so a scenario also
 * pins how close to the blob's size the traffic stays.
 */
#ifndef HOIST_TESTS_UPLOAD_SCRIPT_H
#define HOIST_TESTS_UPLOAD_SCRIPT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/upload.h"
#include "util/err.h"

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
	int grow;          /* req.growing expected (a streamed growing body) */
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
/* The streamed PATCH of a growing blob from o to session n (its length
 * unknown yet). Designators: the answer follows. */
#define GPATCH(n, o) .m = "PATCH", .url = L(n), .body = 1, .off = (o), .grow = 1
/* A PATCH of [o, o + l) to session n whose connection is cut. */
#define CUT_PATCH(n, o, l)                                                     \
	.m = "PATCH", .url = L(n), .body = 1, .off = (o), .len = (l), .cr = 1, \
	.cut = 1
#define PUTLAST(n, o, l)                                                       \
	{                                                                      \
		.m = "PUT", .url = LD(n), .body = 1, .off = (o), .len = (l),   \
		.cr = 1, .st = 201, .dcd = D                                   \
	}
/* "0-<end>" for a registry holding n bytes (a static buffer per call) */
const char *rng(uint64_t n);

/* The params of a blob of size bytes with digest D in REPO. */
struct hoist_upload_params params(uint64_t size);

/* Walk n steps of the script, which must all be requests; returns the
 * body bytes they sent. */
uint64_t play(struct hoist_upload *u, const struct step *s, size_t n);

struct outcome {
	enum hoist_upload_kind kind;
	struct hoist_err err;
	uint64_t sent;
	int skipped;
	int resumed; /* hoist_upload_resumed */
};

/* Play a whole scenario; the engine must stop right after the script. */
void run(const struct hoist_upload_params *p, const struct step *s, size_t n,
	 struct outcome *o);

#define RUN(p, s, o) run(&(p), (s), HOIST_ARRAY_SIZE(s), &(o))

void expect_done(const struct outcome *o, uint64_t sent, int skipped);
void expect_failed(const struct outcome *o, int code, int status,
		   const char *msg);

#endif
