/*
 * xfer.h: the transfer pool shared by push (registry.c, upload engines)
 * and pull (pull.c, download engines): it starts blob jobs on one HTTP
 * event loop, at most max_concurrent at a time, and applies the one
 * failure policy of both directions.
 *
 * Failure policy: the first job that fails stops the pool. No further job
 * starts, the event loop is stopped at once (hoist_http_stop: transfers
 * in flight are dropped, not finished), and hoist_xfer_run returns that
 * first failure. What a dropped job leaves is safe to retry: a push keeps
 * the upload sessions saved after each acknowledged chunk (the next push
 * resumes them), a pull removes its ingest files and keeps the blobs it
 * already verified. Stopping rather than letting the others finish keeps
 * a failed transfer from holding the user for minutes of work whose
 * result is discarded anyway.
 *
 * Jobs are numbered 0..njobs-1 and owned by the caller. A job is started
 * with start(); when it ends (from a completion callback or a timer, or
 * inside start() itself) it calls hoist_xfer_end() exactly once. A job
 * that has work left checks hoist_xfer_stopped() first and ends instead.
 *
 * Jobs may also come while the pool runs (a push fed by a build that is
 * still making its blobs): set open before the run and keep a timer of
 * the loop armed until no job will come; hoist_xfer_add() starts them.
 */
#ifndef HOIST_LIB_XFER_H
#define HOIST_LIB_XFER_H

#include <stddef.h>

#include "util/err.h"
#include "lib/http.h"

/* Concurrency when the options say 0. */
#define HOIST_XFER_DEFAULT_CONCURRENCY 4

/*
 * Start job i: 0 when it is under way (or already ended through
 * hoist_xfer_end), or a negative HOIST_E* with err when it could not
 * start; that counts as the job's failure (do not call hoist_xfer_end).
 */
typedef int (*hoist_xfer_start_fn)(void *ctx, size_t i, struct hoist_err *err);

struct hoist_xfer {
	struct hoist_http *http;
	hoist_xfer_start_fn start;
	void *ctx;
	size_t njobs, next, active, max;
	int failed;
	int open; /* jobs may still be added: run the loop even with none */
	struct hoist_err err; /* the first failure */
};

/* Set x up for njobs jobs; max_concurrent <= 0 means the default. */
void hoist_xfer_init(struct hoist_xfer *x, struct hoist_http *http,
		     int max_concurrent, size_t njobs,
		     hoist_xfer_start_fn start, void *ctx);

/*
 * Start jobs and run the event loop until every job ended or one failed.
 * 0 when all succeeded; the first failure's code and message (err) when
 * one failed; HOIST_EINTR (or another loop error) when the loop was
 * stopped from outside (a signal).
 */
int hoist_xfer_run(struct hoist_xfer *x, struct hoist_err *err);

/*
 * Job ended: rc 0 for success, else a negative HOIST_E* with e (the first
 * failure wins, the others are dropped). Starts the next jobs unless the
 * pool stopped.
 */
void hoist_xfer_end(struct hoist_xfer *x, int rc, const struct hoist_err *e);

/* n more jobs (numbered on from njobs): started as the bound allows. */
void hoist_xfer_add(struct hoist_xfer *x, size_t n);

/*
 * A failure that is no job's (the blobs' producer failed): the pool stops
 * as for a job's (the first failure wins).
 */
void hoist_xfer_fail(struct hoist_xfer *x, int rc, const struct hoist_err *e);

/* 1 once a job failed: jobs end instead of sending more. */
int hoist_xfer_stopped(const struct hoist_xfer *x);

#endif
