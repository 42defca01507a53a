/*
 * upload-int.h: the upload engine's state, shared by upload.c (the state
 * table, the requests the engine describes, the public interface) and
 * upload-answer.c (what each registry answer leads to). Internal to
 * src/lib/upload*.c; like them, it does no I/O.
 */
#ifndef HOIST_LIB_UPLOAD_INT_H
#define HOIST_LIB_UPLOAD_INT_H

#include <stdint.h>

#include "lib/retry.h"
#include "lib/upload.h"
#include "util/err.h"

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
	/* STREAM for good (asked, or chunks refused): after a cut, another
	 * streamed PATCH from the registry's offset, never chunks */
	int keep_stream;
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
	int s_grow; /* a streamed PATCH of a growing blob */

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
	int resuming; /* the saved session's first status is awaited */
	int resumed;  /* that status confirmed a non-zero offset */
	struct hoist_err err;
};

/* Describe the request for state st (its URL, body range and retry data)
 * in u->req; DONE and FAILED describe nothing. */
void hoist_upload_go(struct hoist_upload *u, enum state st);

/* The next body request from the confirmed offset (upload.c's state
 * table: "body"). */
void hoist_upload_body_step(struct hoist_upload *u);

/* Why the next request is made, for its req.why (printf format). */
void hoist_upload_why(struct hoist_upload *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A Location with a control byte or a space is no usable Location. */
int hoist_upload_loc_usable(const char *loc);

#endif
