/*
 * upload-script.c: the interpreter of scripted registries for the upload
 * engine's tests (upload-script.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload-script.h"
#include "util/mem.h"
#include "util/banned.h"

static char range_bufs[64][32];
static int range_next;

/* "0-<end>" for a registry holding n bytes (a static buffer per call) */
const char *rng(uint64_t n)
{
	char *b = range_bufs[range_next++ % 64];

	snprintf(b, 32, "0-%llu", (unsigned long long)(n ? n - 1 : 0));
	return b;
}

struct hoist_upload_params params(uint64_t size)
{
	struct hoist_upload_params p;

	memset(&p, 0, sizeof(p));
	p.repo = REPO;
	p.digest = D;
	p.size = size;
	return p;
}

/* Walk n steps of the script, which must all be requests. */
uint64_t play(struct hoist_upload *u, const struct step *s, size_t n)
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
		if (q.growing != t->grow)
			fail_msg("step %zu (%s): growing %d, expected %d", i,
				 t->m, q.growing, t->grow);
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

/* Play a whole scenario; the engine must stop right after the script. */
void run(const struct hoist_upload_params *p, const struct step *s, size_t n,
	 struct outcome *o)
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
	o->resumed = hoist_upload_resumed(u);
	assert_int_equal(o->sent, total);
	/* nothing to save once it is over */
	assert_int_equal(hoist_upload_checkpoint(u, &loc, &off), 0);
	if (q.kind == HOIST_UPLOAD_DONE)
		assert_int_equal(o->err.code, 0);
	else
		assert_true(o->err.code < 0);
	hoist_upload_free(u);
}

void expect_done(const struct outcome *o, uint64_t sent, int skipped)
{
	if (o->kind != HOIST_UPLOAD_DONE)
		fail_msg("not done: %s", o->err.msg);
	assert_int_equal(o->sent, sent);
	assert_int_equal(o->skipped, skipped);
}

void expect_failed(const struct outcome *o, int code, int status,
		   const char *msg)
{
	assert_int_equal(o->kind, HOIST_UPLOAD_FAILED);
	assert_int_equal(o->err.code, code);
	assert_int_equal(o->err.http_status, status);
	assert_string_equal(o->err.msg, msg);
}
