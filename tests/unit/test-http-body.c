/*
 * test-http-body.c: the HTTP client against real servers on 127.0.0.1
 * (http-testenv.h starts them): transport errors and stall limits,
 * stopping the loop (from a callback, from a signal), and growing request
 * bodies (a file written while it is sent).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http-testenv.h"
#include "lib/http.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"
static void test_transport_errors(void **state)
{
	struct hoist_http_opts o = {0};
	struct hoist_http *h;
	struct hoist_http_request req = {0};
	struct hoist_http_response r;
	struct hoist_err err;
	char *url, *prefix;
	uint64_t t0;
	int port;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);

	/* refused: the query stays out of the message */
	port = tl_free_port();
	url = hoist_xasprintf("http://127.0.0.1:%d/v2/x/blobs/uploads/"
			      "u?_state=secret",
			      port);
	prefix = hoist_xasprintf("PUT 'http://127.0.0.1:%d/v2/x/blobs/"
				 "uploads/u': ",
				 port);
	req.method = "PUT";
	req.url = url;
	req.body_kind = HOIST_HTTP_BODY_BUF;
	req.body = "abc";
	req.body_len = 3;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), HOIST_ENET);
	if (strncmp(err.msg, prefix, strlen(prefix)) ||
	    !strstr(err.msg, "couldn't connect") || strstr(err.msg, "secret"))
		fail_msg("unexpected message: %s", err.msg);
	hoist_http_response_release(&r);
	free(url);
	free(prefix);

	/* reset by peer */
	url = hoist_xasprintf("%s/reset", E.sink_url);
	req.method = "GET";
	req.url = url;
	req.body_kind = HOIST_HTTP_BODY_NONE;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), HOIST_ENET);
	if (!strstr(err.msg, "connection reset by peer") &&
	    !strstr(err.msg, "empty reply"))
		fail_msg("unexpected message: %s", err.msg);
	hoist_http_response_release(&r);
	free(url);
	hoist_http_free(h);

	/* too slow: the low-speed limit ends a stalled body */
	o.low_speed_s = 1;
	o.low_speed_bytes = 1000;
	assert_int_equal(hoist_http_new(&h, &o, &err), 0);
	url = hoist_xasprintf("%s/slow-body", E.sink_url);
	req.url = url;
	t0 = tl_mono_ms();
	assert_int_equal(hoist_http_do(h, &req, &r, &err), HOIST_ENET);
	assert_true(tl_mono_ms() - t0 < 5000);
	assert_non_null(strstr(err.msg, "too slow"));
	assert_int_equal(r.status, 200);
	hoist_http_response_release(&r);
	free(url);
	hoist_http_free(h);
}

/* ---- stopping ---- */

struct stopper {
	struct hoist_http *h;
	int stall_called;
	int quick_called;
};

static void stall_done(void *ctx, int rc, struct hoist_http_response *r,
		       const struct hoist_err *err)
{
	struct stopper *s = ctx;

	(void)rc;
	(void)r;
	(void)err;
	s->stall_called++;
}

static void quick_done(void *ctx, int rc, struct hoist_http_response *r,
		       const struct hoist_err *err)
{
	struct stopper *s = ctx;

	(void)err;
	assert_int_equal(rc, 0);
	assert_int_equal(r->status, 200);
	s->quick_called++;
	hoist_http_stop(s->h);
}

static void never(void *ctx)
{
	int *called = ctx;

	(*called)++;
}

static void test_stop_from_callback(void **state)
{
	struct stopper s = {0};
	struct hoist_http_request req = {0};
	struct hoist_err err;
	char *stall, *v2;
	int timer_called = 0;
	uint64_t t0;

	(void)state;
	NEED_SERVERS();
	s.h = client(NULL, 0);
	stall = hoist_xasprintf("%s/stall", E.sink_url);
	v2 = hoist_xasprintf("%s/v2/", E.reg_url);
	req.method = "GET";
	req.url = stall;
	assert_int_equal(hoist_http_submit(s.h, &req, stall_done, &s, &err), 0);
	req.url = v2;
	assert_int_equal(hoist_http_submit(s.h, &req, quick_done, &s, &err), 0);
	assert_int_equal(
		hoist_http_timer(s.h, 5000, never, &timer_called, &err), 0);
	t0 = tl_mono_ms();
	assert_int_equal(hoist_http_run(s.h, &err), HOIST_EINTR);
	assert_int_equal(err.code, HOIST_EINTR);
	assert_true(tl_mono_ms() - t0 < 2000);
	assert_int_equal(s.quick_called, 1);
	assert_int_equal(s.stall_called, 0);
	/* pending work is dropped without callbacks */
	hoist_http_free(s.h);
	assert_int_equal(s.stall_called, 0);
	assert_int_equal(timer_called, 0);
	free(stall);
	free(v2);
}

static struct hoist_http *alarm_target;

static void on_alarm(int sig)
{
	(void)sig;
	hoist_http_stop(alarm_target);
}

static void arm_alarm(long ms)
{
	struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void test_stop_from_signal(void **state)
{
	struct stopper s = {0};
	struct hoist_http_request req = {0};
	struct hoist_http_response r;
	struct sigaction sa, old;
	struct hoist_err err;
	char *stall;
	uint64_t t0;

	(void)state;
	NEED_SERVERS();
	s.h = alarm_target = client(NULL, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &old);
	stall = hoist_xasprintf("%s/stall", E.sink_url);
	req.method = "GET";
	req.url = stall;

	/* the loop wakes up from its poll */
	assert_int_equal(hoist_http_submit(s.h, &req, stall_done, &s, &err), 0);
	t0 = tl_mono_ms();
	arm_alarm(150);
	assert_int_equal(hoist_http_run(s.h, &err), HOIST_EINTR);
	assert_true(tl_mono_ms() - t0 >= 100);
	assert_true(tl_mono_ms() - t0 < 1000);
	assert_int_equal(s.stall_called, 0);

	/* a synchronous request ends, and leaves the stop for the loop */
	t0 = tl_mono_ms();
	arm_alarm(150);
	assert_int_equal(hoist_http_do(s.h, &req, &r, &err), HOIST_EINTR);
	assert_true(tl_mono_ms() - t0 < 1000);
	hoist_http_response_release(&r);
	assert_int_equal(hoist_http_run(s.h, &err), HOIST_EINTR);

	sigaction(SIGALRM, &old, NULL);
	hoist_http_free(s.h);
	assert_int_equal(s.stall_called, 0);
	free(stall);
}

/*
 * A growing body: a file written 64 KiB at a time by a timer while the
 * PATCH is under way. The transfer pauses whenever it has sent what is
 * written and goes on when hoist_http_body_more says more is there; it
 * goes chunked (no Content-Length), the registry gets every byte once
 * (Range, then the digest at the closing PUT), and an abandoned body
 * fails its request with the owner's error.
 */
struct grower {
	struct hoist_http *h;
	struct hoist_http_growing g;
	int fd;
	const unsigned char *data;
	size_t len, written, step;
	int more_calls;
	int abort_at;  /* abort after this many writes (0: never) */
	long delay_ms; /* between writes; 0: 5 ms */
	const struct hoist_http_tls *tls;
	enum hoist_http_version v; /* AUTO: HTTP/1.1 */
};

static void grow_tick(void *ctx)
{
	struct grower *w = ctx;
	struct hoist_err err;
	size_t n =
		w->len - w->written < w->step ? w->len - w->written : w->step;

	assert_int_equal(write(w->fd, w->data + w->written, n), (ssize_t)n);
	w->written += n;
	w->more_calls++;
	if (w->abort_at && w->more_calls == w->abort_at) {
		hoist_err_set(&err, HOIST_EIO, "the producer failed");
		hoist_http_body_abort(w->h, &w->g, &err);
		return;
	}
	hoist_http_body_more(w->h, &w->g, w->written, w->written == w->len);
	if (w->written < w->len)
		assert_int_equal(hoist_http_timer(w->h,
						  w->delay_ms ? w->delay_ms : 5,
						  grow_tick, w, &err),
				 0);
}

static void grow_patch(struct grower *w, const char *url, struct one *o)
{
	struct hoist_http_request req = {0};
	const char *ctype = "Content-Type: application/octet-stream";
	struct hoist_err err;
	char *path = hoist_xasprintf("%s/grow-XXXXXX", E.dir);

	w->fd = mkstemp(path);
	assert_true(w->fd >= 0);
	unlink(path);
	free(path);
	w->written = 0;
	w->more_calls = 0;
	memset(&w->g, 0, sizeof(w->g));
	req.method = "PATCH";
	req.url = url;
	req.headers = &ctype;
	req.nheaders = 1;
	req.version = w->v ? w->v : HOIST_HTTP_V1;
	req.tls = w->tls;
	req.body_kind = HOIST_HTTP_BODY_GROWING;
	req.body_fd = w->fd;
	req.growing = &w->g;
	memset(o, 0, sizeof(*o));
	assert_int_equal(hoist_http_submit(w->h, &req, one_done, o, &err), 0);
	assert_int_equal(hoist_http_timer(w->h, 5, grow_tick, w, &err), 0);
	assert_int_equal(hoist_http_run(w->h, &err), 0);
	assert_int_equal(o->called, 1);
	assert_null(w->g.x); /* the transfer let go of the handle */
	close(w->fd);
}

static void test_growing_body(void **state)
{
	size_t len = 40 * 65536 + 123;
	unsigned char *data = hoist_xmalloc(len);
	char hex[HOIST_SHA256_HEXLEN + 1], want[32];
	char *loc, *loc2 = NULL, *dq, *put, *echo;
	struct hoist_http_request req = {0};
	struct grower w = {0};
	struct hoist_err err;
	struct one o;

	(void)state;
	NEED_SERVERS();
	w.h = client(NULL, 0);
	w.data = data;
	w.len = len;
	w.step = 65536;
	fill_random(data, len, 11);
	hoist_sha256_hex(data, len, hex);

	/* the sink sees one chunked PATCH with every byte */
	echo = hoist_xasprintf("%s/echo", E.sink_url);
	grow_patch(&w, echo, &o);
	assert_int_equal(o.rc, 0);
	assert_string_equal(hoist_http_header_get(&o.resp, "X-Method"),
			    "PATCH");
	assert_string_equal(
		hoist_http_header_get(&o.resp, "X-Transfer-Encoding"),
		"chunked");
	assert_string_equal(hoist_http_header_get(&o.resp, "X-Body-Sha256"),
			    hex);
	/* libcurl counts the chunk framing too */
	assert_true(o.resp.sent >= len);
	assert_int_equal(w.more_calls, 41);
	hoist_http_response_release(&o.resp);

	/* the registry takes it as a stream upload */
	loc = start_upload(w.h, E.reg_url, "test/growing", NULL,
			   HOIST_HTTP_AUTO);
	grow_patch(&w, loc, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.resp.status, 202);
	snprintf(want, sizeof(want), "0-%zu", len - 1);
	assert_string_equal(hoist_http_header_get(&o.resp, "Range"), want);
	loc2 = answered_location(loc, &o.resp);
	hoist_http_response_release(&o.resp);
	dq = hoist_xasprintf("digest=sha256:%s", hex);
	put = add_query(loc2, dq);
	req.method = "PUT";
	req.url = put;
	run_one(w.h, &req, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.resp.status, 201);
	hoist_http_response_release(&o.resp);

	/* over HTTP/2 (TLS, ALPN) it goes without a length, paused alike */
	{
		struct hoist_http_tls ca = {0};
		char *tloc;

		ca.ca_file = E.ca_file;
		tloc = start_upload(w.h, E.tls_url, "test/growing-h2", &ca,
				    HOIST_HTTP_V2);
		w.tls = &ca;
		w.v = HOIST_HTTP_V2;
		grow_patch(&w, tloc, &o);
		w.tls = NULL;
		w.v = HOIST_HTTP_AUTO;
		assert_int_equal(o.rc, 0);
		assert_int_equal(o.resp.version, 2);
		assert_int_equal(o.resp.status, 202);
		assert_string_equal(hoist_http_header_get(&o.resp, "Range"),
				    want);
		hoist_http_response_release(&o.resp);
		free(tloc);
	}

	/* the stall limit leaves out the time the body waits for its
	 * file (4 s between writes with a 1 s limit: libcurl's own limit
	 * would end it), not the wait for an answer that never comes */
	hoist_http_free(w.h);
	{
		struct hoist_http_opts so = {0};
		uint64_t t0;

		so.low_speed_s = 1;
		so.low_speed_bytes = 1000;
		assert_int_equal(hoist_http_new(&w.h, &so, &err), 0);
		w.len = 200; /* a trickle: 100 bytes, 4 s, 100 bytes */
		w.step = 100;
		w.delay_ms = 4000;
		hoist_sha256_hex(data, w.len, hex);
		grow_patch(&w, echo, &o);
		assert_int_equal(o.rc, 0);
		assert_string_equal(
			hoist_http_header_get(&o.resp, "X-Body-Sha256"), hex);
		hoist_http_response_release(&o.resp);
		w.delay_ms = 5;
		w.step = 65536;
		free(put);
		put = hoist_xasprintf("%s/stall", E.sink_url);
		t0 = tl_mono_ms();
		grow_patch(&w, put, &o);
		assert_int_equal(o.rc, HOIST_ENET);
		assert_non_null(strstr(o.err.msg, "too slow"));
		assert_true(tl_mono_ms() - t0 < 5000);
		hoist_http_response_release(&o.resp);
	}

	/* abandoned after 3 writes: the request fails with the reason */
	w.len = len;
	w.abort_at = 3;
	grow_patch(&w, echo, &o);
	assert_int_equal(o.rc, HOIST_EIO);
	assert_non_null(strstr(o.err.msg, "the producer failed"));
	assert_non_null(strstr(o.err.msg, "PATCH '"));
	hoist_http_response_release(&o.resp);

	free(put);
	free(dq);
	free(loc2);
	free(loc);
	free(echo);
	free(data);
	hoist_http_free(w.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growing_body),
		cmocka_unit_test(test_transport_errors),
		cmocka_unit_test(test_stop_from_callback),
		cmocka_unit_test(test_stop_from_signal),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
