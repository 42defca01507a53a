/*
 * xfer.c: the transfer pool (see xfer.h for its failure policy).
 */
#include <string.h>

#include "lib/xfer.h"
#include "util/banned.h"

void hoist_xfer_init(struct hoist_xfer *x, struct hoist_http *http,
		     int max_concurrent, size_t njobs,
		     hoist_xfer_start_fn start, void *ctx)
{
	memset(x, 0, sizeof(*x));
	x->http = http;
	x->njobs = njobs;
	x->max = max_concurrent > 0 ? (size_t)max_concurrent
				    : HOIST_XFER_DEFAULT_CONCURRENCY;
	x->start = start;
	x->ctx = ctx;
}

static void fail(struct hoist_xfer *x, int rc, const struct hoist_err *e)
{
	if (x->failed)
		return;
	x->failed = 1;
	if (e && e->code)
		x->err = *e;
	else
		hoist_err_set(&x->err, rc, "transfer failed");
	hoist_http_stop(x->http);
}

static void start_more(struct hoist_xfer *x)
{
	while (!x->failed && x->active < x->max && x->next < x->njobs) {
		struct hoist_err err;
		int rc;

		hoist_err_clear(&err);
		x->active++;
		rc = x->start(x->ctx, x->next++, &err);
		if (rc) {
			x->active--;
			fail(x, rc, &err);
		}
	}
}

void hoist_xfer_add(struct hoist_xfer *x, size_t n)
{
	x->njobs += n;
	start_more(x);
}

void hoist_xfer_fail(struct hoist_xfer *x, int rc, const struct hoist_err *e)
{
	fail(x, rc, e);
}

void hoist_xfer_end(struct hoist_xfer *x, int rc, const struct hoist_err *e)
{
	if (x->active)
		x->active--;
	if (rc)
		fail(x, rc, e);
	start_more(x);
}

int hoist_xfer_stopped(const struct hoist_xfer *x)
{
	return x->failed;
}

int hoist_xfer_run(struct hoist_xfer *x, struct hoist_err *err)
{
	int rc;

	start_more(x);
	/* a failure while starting stopped the loop: run consumes it */
	rc = x->njobs || x->open ? hoist_http_run(x->http, err) : 0;
	if (x->failed) {
		*err = x->err;
		return err->code ? err->code : HOIST_EHTTP;
	}
	return rc;
}
