/*
 * test-download.c: the download engine against scripted registries, with
 * no network. Each scenario is a table of what the engine must say next
 * (kind, what to do with the bytes held, URL, whether the registry's
 * credentials go, Range start, delay, attempt, a part of the reason) and
 * the canned answer (status, a cut, body bytes, Location, Content-Range,
 * Retry-After) or the digest check's outcome; a small interpreter walks the
 * table and fails on the first difference. Also: the strict Content-Range
 * parser and the URL origins that decide where credentials go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/download.h"
#include "util/url.h"
#include "util/banned.h"

#define REG "https://reg.example:5000"
#define BLOB REG "/v2/app/blobs/sha256:ab"
#define STORE "https://storage.example/bucket/ab?sig=1"
#define SIZE 1000

enum { SEND, VERIFY, DONE, FAILED };  /* as enum hoist_download_kind */
enum { KEEP, APPEND, REPLACE, DROP }; /* as enum hoist_download_place */
#define ANY_DELAY (-1L)

struct step {
	/* what next() must say */
	int kind, place;
	const char *url;
	int foreign; /* 1: not the registry's origin (no credentials) */
	uint64_t from;
	long delay; /* ANY_DELAY: > 0 */
	int attempt;
	const char *msg; /* part of err (FAILED), why or note */
	/* the answer (SEND) or the digest check (VERIFY) */
	int st;
	int cut;   /* the connection broke (HOIST_ENET) */
	int local; /* a final local error code */
	uint64_t rx;
	const char *loc, *cr, *ra, *emsg;
	int64_t ms;
	int bad_digest;
};

static void check_msg(size_t i, const char *what, const char *got,
		      const char *want)
{
	if (want && (!got || !strstr(got, want)))
		fail_msg("step %zu: %s '%s' lacks '%s'", i, what,
			 got ? got : "(none)", want);
}

static struct hoist_download *start(uint64_t size, int max_attempts)
{
	struct hoist_download_params p;
	struct hoist_download *d;
	struct hoist_err err;

	memset(&p, 0, sizeof(p));
	p.url = BLOB;
	p.size = size;
	p.retry.max_attempts = max_attempts;
	assert_int_equal(hoist_download_new(&d, &p, &err), 0);
	return d;
}

static void play_with(struct hoist_download *d, const struct step *s, size_t n)
{
	struct hoist_download_req q;
	struct hoist_download_resp r;
	struct hoist_err err, e;

	for (size_t i = 0; i < n; i++) {
		const struct step *t = &s[i];
		hoist_err_clear(&err);
		hoist_download_next(d, &q, &err);
		if ((int)q.kind != t->kind)
			fail_msg("step %zu: kind %d, expected %d (%s)", i,
				 q.kind, t->kind, err.msg);
		if ((int)q.place != t->place)
			fail_msg("step %zu: place %d, expected %d", i, q.place,
				 t->place);
		if (t->kind == FAILED) {
			check_msg(i, "error", err.msg, t->msg);
			assert_int_equal(i, n - 1);
			return;
		}
		if (t->kind == SEND) {
			assert_string_equal(q.url, t->url ? t->url : BLOB);
			if (q.registry_origin != !t->foreign)
				fail_msg("step %zu: registry_origin %d for %s",
					 i, q.registry_origin, q.url);
			if (q.range_from != t->from)
				fail_msg("step %zu: Range from %llu, expected "
					 "%llu",
					 i, (unsigned long long)q.range_from,
					 (unsigned long long)t->from);
			if (t->delay == ANY_DELAY ? q.delay_ms <= 0
						  : q.delay_ms != t->delay)
				fail_msg("step %zu: delay %ld, expected %ld", i,
					 q.delay_ms, t->delay);
			assert_int_equal(q.attempt, t->attempt);
			if (t->attempt && !q.why)
				fail_msg("step %zu: a retry without a why", i);
		}
		if (t->msg) {
			char both[2200];
			snprintf(both, sizeof(both), "%s|%s",
				 q.why ? q.why : "", q.note ? q.note : "");
			check_msg(i, "why|note", both, t->msg);
		}
		if (t->kind == DONE) {
			assert_int_equal(i, n - 1);
			return;
		}
		if (t->kind == VERIFY) {
			assert_int_equal(hoist_download_held(d), SIZE);
			hoist_err_set(&e, HOIST_EDIGEST, "wrong digest");
			hoist_download_verified(
				d, t->bad_digest ? HOIST_EDIGEST : 0, &e);
			continue;
		}
		memset(&r, 0, sizeof(r));
		hoist_err_clear(&e);
		r.status = t->st;
		r.transport = t->local ? t->local : t->cut ? HOIST_ENET : 0;
		if (t->cut)
			hoist_err_set(&e, HOIST_ENET, "connection reset");
		else if (t->local)
			hoist_err_set(&e, t->local, "certificate refused");
		else if (t->emsg)
			hoist_err_set(&e, HOIST_EHTTP, "%s", t->emsg);
		r.error = e.code ? &e : NULL;
		r.received = t->rx;
		r.location = t->loc;
		r.content_range = t->cr;
		r.retry_after = t->ra;
		r.now = 1700000000;
		r.now_ms = t->ms;
		r.rnd = 12345;
		hoist_download_feed(d, &r);
	}
	fail_msg("the script ended before the engine did");
}

static void play(const struct step *s, size_t n)
{
	struct hoist_download *d = start(SIZE, 0);

	play_with(d, s, n);
	hoist_download_free(d);
}

#define PLAY(s) play(s, sizeof(s) / sizeof(s[0]))

static void test_plain(void **state)
{
	static const struct step s[] = {
		{.st = 200, .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	(void)state;
	PLAY(s);
}

/* A cut: Range from the bytes held, 206 continues them. */
static void test_range_resume(void **state)
{
	static const struct step s[] = {
		{.st = 200, .cut = 1, .rx = 400},
		{.from = 400,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .msg = "connection reset",
		 .st = 206,
		 .rx = 600,
		 .cr = "bytes 400-999/1000"},
		{.kind = VERIFY, .place = APPEND},
		{.kind = DONE},
	};
	(void)state;
	PLAY(s);
}

/* A body that ends early without an error; the resumed blob then has
 * the wrong digest: once more from 0, which fixes it. */
static void test_truncated_body(void **state)
{
	static const struct step s[] = {
		{.st = 200, .rx = 300},
		{.from = 300,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .msg = "response ended after 300 of 1000 bytes",
		 .st = 206,
		 .rx = 700,
		 .cr = "bytes 300-999/*"},
		{.kind = VERIFY, .place = APPEND, .bad_digest = 1},
		{.place = DROP,
		 .msg = "wrong digest after a resumed download",
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	static const struct step twice[] = {
		{.st = 200, .rx = 300},
		{.from = 300,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 206,
		 .rx = 700,
		 .cr = "bytes 300-999/1000"},
		{.kind = VERIFY, .place = APPEND, .bad_digest = 1},
		{.place = DROP, .st = 200, .rx = SIZE},
		{.kind = VERIFY, .bad_digest = 1},
		{.kind = FAILED, .msg = "wrong digest"},
	};
	/* every byte arrived, then the connection broke: verify, do not
	 * ask for a Range past the end (that earns a 416 and a restart) */
	static const struct step reset_at_end[] = {
		{.st = 200, .rx = SIZE, .cut = 1},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	(void)state;
	PLAY(s);
	PLAY(twice);
	PLAY(reset_at_end);
}

/* 416 to a Range: the bytes held are dropped, from 0 again. */
static void test_416(void **state)
{
	static const struct step s[] = {
		{.st = 200, .cut = 1, .rx = 500},
		{.from = 500,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 416,
		 .emsg = "get blob: HTTP 416"},
		{.place = DROP,
		 .delay = ANY_DELAY,
		 .attempt = 2,
		 .msg = "HTTP 416",
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	/* with nothing held, a 416 is an answer like any other 4xx */
	static const struct step none[] = {
		{.st = 416, .emsg = "get blob: HTTP 416"},
		{.kind = FAILED, .msg = "HTTP 416"},
	};
	(void)state;
	PLAY(s);
	PLAY(none);
}

/* A redirect to storage on another origin: no credentials there; a cut
 * goes back to the registry (signed URLs expire), with credentials. */
static void test_redirect_storage(void **state)
{
	static const struct step s[] = {
		{.st = 307, .loc = STORE},
		{.url = STORE, .foreign = 1, .st = 200, .cut = 1, .rx = 100},
		{.from = 100,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 307,
		 .loc = STORE},
		{.url = STORE,
		 .foreign = 1,
		 .from = 100,
		 .st = 206,
		 .rx = 900,
		 .cr = "bytes 100-999/1000"},
		{.kind = VERIFY, .place = APPEND},
		{.kind = DONE},
	};
	/* the same origin spelled otherwise keeps the credentials */
	static const struct step same[] = {
		{.st = 302, .loc = "HTTPS://REG.example:5000/v2/x"},
		{.url = "HTTPS://REG.example:5000/v2/x", .st = 200, .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	/* another port is another origin */
	static const struct step port[] = {
		{.st = 301, .loc = "https://reg.example/v2/x"},
		{.url = "https://reg.example/v2/x",
		 .foreign = 1,
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	(void)state;
	PLAY(s);
	PLAY(same);
	PLAY(port);
}

static void test_redirect_refused(void **state)
{
	static const struct step down[] = {
		{.st = 302, .loc = "http://storage.example/x"},
		{.kind = FAILED, .msg = "refusing a redirect from https"},
	};
	static const struct step noloc[] = {
		{.st = 303},
		{.kind = FAILED, .msg = "HTTP 303 without a Location"},
	};
	static const struct step loop[] = {
		{.st = 302, .loc = STORE},
		{.url = STORE, .foreign = 1, .st = 302, .loc = STORE},
		{.url = STORE, .foreign = 1, .st = 302, .loc = STORE},
		{.url = STORE, .foreign = 1, .st = 302, .loc = STORE},
		{.url = STORE, .foreign = 1, .st = 302, .loc = STORE},
		{.url = STORE, .foreign = 1, .st = 302, .loc = STORE},
		{.kind = FAILED, .msg = "more than 5 redirects"},
	};
	(void)state;
	PLAY(down);
	PLAY(noloc);
	PLAY(loop);
}

/* Answers to a Range that do not continue the bytes held. */
static void test_range_answers(void **state)
{
	static const struct step other[] = {
		{.st = 200, .cut = 1, .rx = 400},
		{.from = 400,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 206,
		 .rx = 1000,
		 .cr = "bytes 0-999/1000"},
		{.place = DROP,
		 .delay = ANY_DELAY,
		 .attempt = 2,
		 .msg = "with Content-Range 'bytes 0-999/1000'",
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	static const struct step ignored[] = {
		{.st = 200, .cut = 1, .rx = 400},
		{.from = 400,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY, .place = REPLACE, .msg = "ignored Range"},
		{.kind = DONE},
	};
	/* sloppy Content-Range: not trusted */
	static const struct step sloppy[] = {
		{.st = 200, .cut = 1, .rx = 400},
		{.from = 400,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 206,
		 .rx = 600,
		 .cr = "bytes 400-999/1001"},
		{.place = DROP,
		 .delay = ANY_DELAY,
		 .attempt = 2,
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	(void)state;
	PLAY(other);
	PLAY(ignored);
	PLAY(sloppy);
}

static void test_retry_after_and_limits(void **state)
{
	static const struct step ra[] = {
		{.st = 503, .ra = "7", .emsg = "get blob: HTTP 503"},
		{.delay = 7000,
		 .attempt = 1,
		 .msg = "HTTP 503",
		 .st = 200,
		 .rx = SIZE},
		{.kind = VERIFY},
		{.kind = DONE},
	};
	static const struct step perm[] = {
		{.st = 404, .emsg = "get blob: HTTP 404 BLOB_UNKNOWN"},
		{.kind = FAILED, .msg = "BLOB_UNKNOWN"},
	};
	static const struct step local[] = {
		{.local = HOIST_ETLS},
		{.kind = FAILED, .msg = "certificate refused"},
	};
	static const struct step more[] = {
		{.st = 200, .rx = SIZE + 1},
		{.kind = FAILED, .msg = "more than the 1000 bytes"},
	};
	/* max_attempts 3: a third failure in a row without progress ends */
	static const struct step giveup[] = {
		{.st = 503, .emsg = "get blob: HTTP 503"},
		{.delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 502,
		 .emsg = "get blob: HTTP 502"},
		{.delay = ANY_DELAY, .attempt = 2, .cut = 1},
		{.kind = FAILED, .msg = "connection reset"},
	};
	/* ... but progress resets the budget */
	static const struct step progress[] = {
		{.st = 200, .cut = 1, .rx = 100},
		{.from = 100,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 206,
		 .cut = 1,
		 .rx = 100,
		 .cr = "bytes 100-999/1000"},
		{.place = APPEND,
		 .from = 200,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 206,
		 .cut = 1,
		 .rx = 100,
		 .cr = "bytes 200-999/1000"},
		{.place = APPEND,
		 .from = 300,
		 .delay = ANY_DELAY,
		 .attempt = 1,
		 .st = 206,
		 .rx = 700,
		 .cr = "bytes 300-999/1000"},
		{.kind = VERIFY, .place = APPEND},
		{.kind = DONE},
	};
	struct hoist_download *d;
	(void)state;
	PLAY(ra);
	PLAY(perm);
	PLAY(local);
	PLAY(more);
	d = start(SIZE, 3);
	play_with(d, giveup, sizeof(giveup) / sizeof(giveup[0]));
	hoist_download_free(d);
	d = start(SIZE, 3);
	play_with(d, progress, sizeof(progress) / sizeof(progress[0]));
	assert_true(hoist_download_resumed(d));
	hoist_download_free(d);
}

static void test_content_range(void **state)
{
	(void)state;
	assert_true(hoist_download_range_ok("bytes 5-9/10", 5, 10));
	assert_true(hoist_download_range_ok("bytes 5-9/*", 5, 10));
	assert_true(hoist_download_range_ok("bytes 5-7/10", 5, 10));
	assert_false(hoist_download_range_ok(NULL, 5, 10));
	assert_false(hoist_download_range_ok("bytes 4-9/10", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-9/11", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-10/10", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-4/10", 5, 10));
	assert_false(hoist_download_range_ok("bytes  5-9/10", 5, 10));
	assert_false(hoist_download_range_ok("bytes +5-9/10", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-9/10x", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-9/ 10", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-9", 5, 10));
	assert_false(hoist_download_range_ok("bytes 5-9/x", 5, 10));
	assert_false(hoist_download_range_ok("Bytes 5-9/10", 5, 10));
	assert_false(hoist_download_range_ok("bytes 18446744073709551621-9/10",
					     5, 10));
}

static void test_url_origin(void **state)
{
	struct hoist_url_origin o;
	struct hoist_err err;

	(void)state;
	assert_int_equal(
		hoist_url_origin(&o, "HTTPS://user:pw@Reg.Example/v2/", &err),
		0);
	assert_string_equal(o.scheme, "https");
	assert_string_equal(o.host, "reg.example");
	assert_int_equal(o.port, 443);
	assert_int_equal(hoist_url_origin(&o, "http://[::1]:5000?x", &err), 0);
	assert_string_equal(o.host, "[::1]");
	assert_int_equal(o.port, 5000);
	assert_int_equal(
		hoist_url_origin(&o, "HTTP://h.example:8080/v2/x?y=1", &err),
		0);
	assert_string_equal(o.scheme, "http");
	assert_string_equal(o.host, "h.example");
	assert_int_equal(o.port, 8080);
	assert_int_equal(hoist_url_origin(&o, "https://[::1]", &err), 0);
	assert_int_equal(o.port, 443);
	/* a registry URL always has its scheme: no guessing */
	assert_int_equal(
		hoist_url_origin(&o, "registry.example:5000/v2/", &err),
		HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "", &err), HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "http://", &err), HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "ftp://h/", &err), HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "http://h:0/", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "http://h:65536/", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "http://h:-1/", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "http:///x", &err), HOIST_EINVAL);
	assert_int_equal(hoist_url_origin(&o, "http://[::1/", &err),
			 HOIST_EINVAL);
	assert_true(hoist_url_same_origin("https://a:443/x", "https://A/y"));
	assert_true(hoist_url_same_origin("http://a/x", "http://a:80"));
	assert_false(hoist_url_same_origin("http://a/x", "https://a/x"));
	assert_false(hoist_url_same_origin("https://a/x", "https://a:444/x"));
	assert_false(hoist_url_same_origin("https://a.b/", "https://a/"));
	/* user info never makes another host look like the registry */
	assert_false(hoist_url_same_origin("https://a@evil/", "https://a/"));
	assert_false(hoist_url_same_origin("garbage", "garbage"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_range_resume),
		cmocka_unit_test(test_truncated_body),
		cmocka_unit_test(test_416),
		cmocka_unit_test(test_redirect_storage),
		cmocka_unit_test(test_redirect_refused),
		cmocka_unit_test(test_range_answers),
		cmocka_unit_test(test_retry_after_and_limits),
		cmocka_unit_test(test_content_range),
		cmocka_unit_test(test_url_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
