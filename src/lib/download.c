/*
 * download.c: the blob download engine (see download.h for the state
 * table). No I/O, no clock, no randomness of its own: everything comes in
 * through feed() and verified(), so each decision can be scripted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/download.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/url.h"
#include "util/banned.h"

enum state { S_SEND, S_VERIFY, S_DONE, S_FAILED };

struct hoist_download {
	char *reg_url; /* the registry's URL of the blob */
	uint64_t size;
	struct hoist_retry_policy pol;
	enum state state;
	/* the request next() describes */
	char *url;
	int registry_origin;
	uint64_t range_from;
	long delay_ms;
	int req_attempt;
	enum hoist_download_place place;
	char why[HOIST_ERR_MSG_MAX];
	char note[HOIST_ERR_MSG_MAX];
	/* progress */
	uint64_t held; /* bytes the caller holds once place is done */
	uint64_t best; /* the most bytes ever held */
	int hops;
	int attempt; /* failures since the budget was last reset */
	int64_t started_ms;
	int resumed;   /* some held bytes came from a ranged answer */
	int restarted; /* a bad digest after a resume was retried once */
	struct hoist_err last; /* why the last attempt failed */
	struct hoist_err fail; /* why the download failed */
};

static int is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

int hoist_download_range_ok(const char *cr, uint64_t offset, uint64_t size)
{
	struct hoist_content_range r;

	/* the unit as registries send it; the shared parser does the rest */
	if (!cr || strncmp(cr, "bytes ", 6) != 0 ||
	    hoist_scan_content_range(&r, cr, NULL))
		return 0;
	return !r.unsatisfied && r.first == offset && r.last < size &&
	       (r.complete == HOIST_RANGE_UNKNOWN || r.complete == size);
}

static void set_fail(struct hoist_download *d, const struct hoist_err *e)
{
	d->state = S_FAILED;
	if (e && e->code)
		d->fail = *e;
	else
		hoist_err_set(&d->fail, HOIST_EHTTP, "download failed");
}

/* The error an answer carries, or one made from its status. */
static void answer_error(struct hoist_err *out,
			 const struct hoist_download_resp *r)
{
	if (r->error && r->error->code)
		*out = *r->error;
	else if (r->transport)
		hoist_err_set(out, HOIST_ENET, "connection failed");
	else
		hoist_err_set(out, HOIST_EHTTP, "get blob: HTTP %d", r->status);
}

/* Back to the registry URL (storage URLs are signed and expire). */
static void from_registry(struct hoist_download *d)
{
	free(d->url);
	d->url = hoist_xstrdup(d->reg_url);
	d->registry_origin = 1;
	d->hops = 0;
	d->range_from = d->held;
}

static void retry(struct hoist_download *d, const struct hoist_download_resp *r,
		  const char *retry_after)
{
	long delay;

	if (d->held > d->best) {
		d->best = d->held;
		d->attempt = 0;
		d->started_ms = r->now_ms;
	}
	d->attempt++;
	delay = hoist_retry_delay(&d->pol, d->attempt,
				  (long)(r->now_ms - d->started_ms),
				  retry_after, r->now, r->rnd);
	if (delay < 0) {
		set_fail(d, &d->last);
		return;
	}
	from_registry(d);
	d->delay_ms = delay;
	d->req_attempt = d->attempt;
	snprintf(d->why, sizeof(d->why), "%s", hoist_err_msg(&d->last));
}

static void follow(struct hoist_download *d,
		   const struct hoist_download_resp *r)
{
	struct hoist_url_origin from, to;
	struct hoist_err e;

	if (!r->location) {
		hoist_err_set(&e, HOIST_EHTTP, "HTTP %d without a Location",
			      r->status);
		set_fail(d, &e);
		return;
	}
	if (++d->hops > HOIST_DOWNLOAD_MAX_REDIRECTS) {
		hoist_err_set(&e, HOIST_ELIMIT, "more than %d redirects",
			      HOIST_DOWNLOAD_MAX_REDIRECTS);
		set_fail(d, &e);
		return;
	}
	if (hoist_url_origin(&from, d->url, &e) ||
	    hoist_url_origin(&to, r->location, &e)) {
		set_fail(d, &e);
		return;
	}
	if (strcmp(from.scheme, "https") == 0 && strcmp(to.scheme, "https")) {
		char q[HOIST_QUOTE_BUF];
		hoist_err_quote(q, sizeof(q), r->location, HOIST_QUOTE_ALL, 0);
		hoist_err_set(&e, HOIST_EAUTH,
			      "refusing a redirect from https to '%s'", q);
		set_fail(d, &e);
		return;
	}
	free(d->url);
	d->url = hoist_xstrdup(r->location);
	d->registry_origin = hoist_url_same_origin(d->url, d->reg_url);
}

int hoist_download_new(struct hoist_download **out,
		       const struct hoist_download_params *p,
		       struct hoist_err *err)
{
	struct hoist_url_origin o;
	struct hoist_download *d;
	int rc;

	*out = NULL;
	rc = hoist_url_origin(&o, p->url, err);
	if (rc)
		return rc;
	d = hoist_xcalloc(1, sizeof(*d));
	d->reg_url = hoist_xstrdup(p->url);
	d->size = p->size;
	hoist_retry_normalize(&d->pol, &p->retry);
	d->started_ms = p->now_ms;
	d->state = S_SEND;
	from_registry(d);
	*out = d;
	return 0;
}

void hoist_download_free(struct hoist_download *d)
{
	if (!d)
		return;
	free(d->reg_url);
	free(d->url);
	free(d);
}

void hoist_download_next(struct hoist_download *d,
			 struct hoist_download_req *req, struct hoist_err *err)
{
	static const enum hoist_download_kind kinds[] = {
		HOIST_DOWNLOAD_SEND, HOIST_DOWNLOAD_VERIFY, HOIST_DOWNLOAD_DONE,
		HOIST_DOWNLOAD_FAILED};

	memset(req, 0, sizeof(*req));
	req->kind = kinds[d->state];
	req->place = d->place;
	req->why = d->why[0] ? d->why : NULL;
	req->note = d->note[0] ? d->note : NULL;
	if (d->state == S_FAILED && err)
		*err = d->fail;
	if (d->state != S_SEND)
		return;
	req->url = d->url;
	req->registry_origin = d->registry_origin;
	req->range_from = d->range_from;
	req->delay_ms = d->delay_ms;
	req->attempt = d->req_attempt;
}

/* A new step: nothing to place, no delay, no reason yet. */
static void step(struct hoist_download *d)
{
	d->place = HOIST_DOWNLOAD_KEEP;
	d->why[0] = '\0';
	d->note[0] = '\0';
	d->delay_ms = 0;
	d->req_attempt = 0;
}

/* A ranged attempt's 2xx: where its pending body goes. 1 if the range
 * was another than the one asked for. */
static int place_pending(struct hoist_download *d,
			 const struct hoist_download_resp *r)
{
	int cont = r->status == 206 &&
		   hoist_download_range_ok(r->content_range, d->range_from,
					   d->size);

	if (cont) {
		d->place = HOIST_DOWNLOAD_APPEND;
		d->held += r->received;
		if (r->received)
			d->resumed = 1;
		return 0;
	}
	if (r->status == 206) {
		char q[HOIST_QUOTE_BUF];
		hoist_err_quote(q, sizeof(q), r->content_range, HOIST_QUOTE_ALL,
				0);
		snprintf(d->note, sizeof(d->note),
			 "registry answered Range %llu- with Content-Range "
			 "'%.60s'; starting again",
			 (unsigned long long)d->range_from, q);
		hoist_err_set(&d->last, HOIST_EHTTP,
			      "registry answered Range %llu- with another "
			      "range",
			      (unsigned long long)d->range_from);
		d->place = HOIST_DOWNLOAD_DROP;
		d->held = 0;
		d->resumed = 0;
		return 1;
	}
	snprintf(d->note, sizeof(d->note),
		 "registry ignored Range; starting again");
	d->place = HOIST_DOWNLOAD_REPLACE;
	d->held = r->received;
	d->resumed = 0;
	return 0;
}

void hoist_download_feed(struct hoist_download *d,
			 const struct hoist_download_resp *r)
{
	int ok2xx = r->status >= 200 && r->status < 300;
	int bad_range = 0;
	struct hoist_err e;

	if (d->state != S_SEND)
		return;
	step(d);
	if (r->transport && r->transport != HOIST_ENET) {
		answer_error(&e, r);
		set_fail(d, &e);
		return;
	}
	if (!r->transport && is_redirect(r->status)) {
		follow(d, r);
		return;
	}
	if (ok2xx && d->range_from > 0)
		bad_range = place_pending(d, r);
	else if (ok2xx)
		d->held += r->received;
	if (d->held > d->size) {
		hoist_err_set(&e, HOIST_EDIGEST,
			      "registry sent more than the %llu bytes of the "
			      "blob",
			      (unsigned long long)d->size);
		set_fail(d, &e);
		return;
	}
	/* All bytes are here, even if the connection broke after them (a
	 * reset before the end of a chunked body): the digest decides. A
	 * Range from the end would only earn a 416 and a restart from 0. */
	if (ok2xx && d->held == d->size) {
		d->state = S_VERIFY;
		return;
	}
	if (!r->transport && ok2xx) {
		if (!bad_range)
			hoist_err_set(&d->last, HOIST_ENET,
				      "response ended after %llu of %llu "
				      "bytes",
				      (unsigned long long)d->held,
				      (unsigned long long)d->size);
		retry(d, r, r->retry_after);
		return;
	}
	if (!r->transport && r->status == 416 && d->held > 0) {
		/* the range asked for does not exist there: from 0 */
		d->place = HOIST_DOWNLOAD_DROP;
		d->held = 0;
		d->resumed = 0;
		answer_error(&d->last, r);
		retry(d, r, r->retry_after);
		return;
	}
	answer_error(&e, r);
	if (!r->transport && !hoist_retry_is_transient(r->status)) {
		set_fail(d, &e);
		return;
	}
	d->last = e;
	retry(d, r, r->transport ? NULL : r->retry_after);
}

void hoist_download_verified(struct hoist_download *d, int rc,
			     const struct hoist_err *err)
{
	if (d->state != S_VERIFY)
		return;
	step(d);
	if (rc == 0) {
		d->state = S_DONE;
		return;
	}
	if (rc == HOIST_EDIGEST && d->resumed && !d->restarted) {
		/* the registry's copy may have changed between the pieces */
		d->restarted = 1;
		d->resumed = 0;
		d->held = 0;
		d->place = HOIST_DOWNLOAD_DROP;
		snprintf(d->note, sizeof(d->note),
			 "wrong digest after a resumed download; downloading "
			 "it again from the start");
		d->state = S_SEND;
		from_registry(d);
		return;
	}
	set_fail(d, err);
}

uint64_t hoist_download_held(const struct hoist_download *d)
{
	return d->held;
}

int hoist_download_resumed(const struct hoist_download *d)
{
	return d->resumed;
}
