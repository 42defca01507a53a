/*
 * test-http.c: the HTTP client against real servers on 127.0.0.1
 * (http-testenv.h starts them): URL helpers (table tests with no network),
 * the registry (uploads, downloads, caps), TLS and HTTP/2, concurrency,
 * timers, and what only the sink shows (request shapes, header caps,
 * rewinds). Everything a registry does is asserted against the registry
 * itself. test-http-body.c has transport errors, stopping and growing
 * bodies.
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
/* ---- URL helpers ---- */

static void test_resolve_url(void **state)
{
	static const struct {
		const char *base, *loc, *want;
	} ok[] = {
		{"http://127.0.0.1:5000/v2/a/blobs/uploads/",
		 "/v2/a/blobs/uploads/u1?_state=ab%2Bc%3D",
		 "http://127.0.0.1:5000/v2/a/blobs/uploads/"
		 "u1?_state=ab%2Bc%3D"},
		{"http://127.0.0.1:5000/v2/a/blobs/uploads/",
		 "https://other.example/v2/a/x?_state=s&x=1",
		 "https://other.example/v2/a/x?_state=s&x=1"},
		{"http://127.0.0.1:5000/v2/a/blobs/uploads/", "u2?_state=s",
		 "http://127.0.0.1:5000/v2/a/blobs/uploads/u2?_state=s"},
		{"http://h/v2/a/c?old=1", "../b?x=1", "http://h/v2/b?x=1"},
		{"http://h/v2/a/c?old=1", "?_state=q",
		 "http://h/v2/a/c?_state=q"},
		{"https://[::1]:5443/v2/", "/v2/x/blobs/uploads/u?s=1",
		 "https://[::1]:5443/v2/x/blobs/uploads/u?s=1"},
		{"http://h:5000/v2/", "//mirror.example:8080/p?q=1",
		 "http://mirror.example:8080/p?q=1"},
		{"http://h/v2/", "/p?a=1#frag", "http://h/p?a=1"},
		{"http://h/v2/", "HTTPS://Other.Example/v2/", NULL},
	};
	static const struct {
		const char *base, *loc;
	} bad[] = {
		{"http://h/v2/", ""},
		{"http://h/v2/", "ftp://h/x"},
		{"http://h/v2/", "file:///etc/passwd"},
		{"http://h/v2/", "http://exa mple/"},
		{"http://h/v2/", "http://h:99999/x"},
		{"http://h/v2/", "/a\nb"},
	};
	struct hoist_err err;
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < HOIST_ARRAY_SIZE(ok); i++) {
		out = NULL;
		if (hoist_http_resolve_url(&out, ok[i].base, ok[i].loc, &err) !=
		    0)
			fail_msg("resolve '%s' on '%s': %s", ok[i].loc,
				 ok[i].base, err.msg);
		if (ok[i].want)
			assert_string_equal(out, ok[i].want);
		else
			assert_true(!strncmp(out, "https://", 8));
		free(out);
	}
	for (i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		out = (char *)"x";
		if (hoist_http_resolve_url(&out, bad[i].base, bad[i].loc,
					   &err) != HOIST_EINVAL)
			fail_msg("'%s' resolved to '%s'", bad[i].loc,
				 out ? out : "(null)");
		assert_null(out);
		assert_int_equal(err.code, HOIST_EINVAL);
	}
}

static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{"repository:a/b:pull,push",
		 "repository%3Aa%2Fb%3Apull%2Cpush"},
		{"a b~._-Z9", "a%20b~._-Z9"},
		{"\xc3\xa9&=+?#%", "%C3%A9%26%3D%2B%3F%23%25"},
		{"", ""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HOIST_ARRAY_SIZE(t); i++) {
		char *s = hoist_http_escape(t[i].in);

		assert_string_equal(s, t[i].out);
		free(s);
	}
}

static void test_header_helpers(void **state)
{
	struct hoist_http_header hs[] = {
		{(char *)"WWW-Authenticate", (char *)"Basic realm=\"r\""},
		{(char *)"Content-Length", (char *)"0"},
		{(char *)"www-authenticate", (char *)"Bearer realm=\"t\""},
	};
	struct hoist_http_response r = {0};
	char *j;

	(void)state;
	r.headers = hs;
	r.nheaders = HOIST_ARRAY_SIZE(hs);
	assert_string_equal(hoist_http_header_get(&r, "content-length"), "0");
	assert_string_equal(hoist_http_header_get(&r, "Www-Authenticate"),
			    "Basic realm=\"r\"");
	assert_null(hoist_http_header_get(&r, "Location"));
	j = hoist_http_header_join(&r, "WWW-AUTHENTICATE");
	assert_string_equal(j, "Basic realm=\"r\", Bearer realm=\"t\"");
	free(j);
	assert_null(hoist_http_header_join(&r, "Location"));
}

/* ---- against the registry ---- */

static void test_registry_v2(void **state)
{
	struct hoist_http *h;
	struct hoist_http_response r;
	struct hoist_err err;
	char *url;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);
	url = hoist_xasprintf("%s/v2/", E.reg_url);
	assert_int_equal(
		do_simple(h, "GET", url, NULL, HOIST_HTTP_AUTO, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.version, 1);
	assert_string_equal(
		hoist_http_header_get(&r, "docker-distribution-api-version"),
		"registry/2.0");
	assert_string_equal(r.body.data, "{}");
	assert_int_equal(r.received, 2);
	assert_string_equal(r.url, url);
	hoist_http_response_release(&r);
	free(url);
	hoist_http_free(h);
}

struct hashsink {
	struct hoist_sha256 sha;
	uint64_t n;
	int calls;
};

static int hash_write(void *ctx, const void *data, size_t len,
		      struct hoist_err *err)
{
	struct hashsink *s = ctx;

	(void)err;
	hoist_sha256_update(&s->sha, data, len);
	s->n += len;
	s->calls++;
	return 0;
}

struct prog {
	uint64_t sent, calls;
};

static void on_prog(void *ctx, uint64_t sent, uint64_t received)
{
	struct prog *p = ctx;

	(void)received;
	assert_true(sent >= p->sent || sent == 0);
	p->sent = sent;
	p->calls++;
}

/*
 * Monolithic push of a body from the middle of a file: POST, PUT with
 * ?digest= (over 1 MiB, so libcurl sends Expect: 100-continue on HTTP/1.1),
 * HEAD, then GET streamed into a sink.
 */
static void push_and_fetch(const char *base, const struct hoist_http_tls *tls,
			   enum hoist_http_version v, int want_version,
			   size_t n)
{
	struct hoist_http *h = client(NULL, 0);
	struct hoist_http_request req = {0};
	struct hashsink hs = {0};
	struct hoist_sink sink = {hash_write, &hs};
	struct prog pr = {0};
	struct one o;
	char hex[HOIST_SHA256_HEXLEN + 1], got[HOIST_SHA256_HEXLEN + 1];
	char *loc, *put, *blob, *dq, *len;
	uint64_t off;
	int fd;

	fd = payload_file(n, n, &off, hex);
	loc = start_upload(h, base, "test/push", tls, v);
	dq = hoist_xasprintf("digest=sha256:%s", hex);
	put = add_query(loc, dq);

	req.method = "PUT";
	req.url = put;
	req.tls = tls;
	req.version = v;
	req.body_kind = HOIST_HTTP_BODY_FD;
	req.body_fd = fd;
	req.body_offset = off;
	req.body_len = n;
	req.progress = on_prog;
	req.progress_ctx = &pr;
	run_one(h, &req, &o);
	if (o.rc)
		fail_msg("PUT: %s", o.err.msg);
	assert_int_equal(o.resp.status, 201);
	assert_int_equal(o.resp.version, want_version);
	assert_int_equal(o.resp.sent, n);
	assert_int_equal(pr.sent, n);
	assert_true(pr.calls > 0);
	assert_string_equal(
		hoist_http_header_get(&o.resp, "Docker-Content-Digest"),
		dq + strlen("digest="));
	hoist_http_response_release(&o.resp);

	blob = hoist_xasprintf("%s/v2/test/push/blobs/sha256:%s", base, hex);
	memset(&req, 0, sizeof(req));
	req.method = "HEAD";
	req.url = blob;
	req.tls = tls;
	req.version = v;
	run_one(h, &req, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.resp.status, 200);
	len = hoist_xasprintf("%zu", n);
	assert_string_equal(hoist_http_header_get(&o.resp, "content-length"),
			    len);
	assert_int_equal(o.resp.body.len, 0);
	hoist_http_response_release(&o.resp);

	/* a 2xx body goes to the sink, past a tiny max_body */
	req.method = "GET";
	req.sink = &sink;
	req.max_body = 16;
	hoist_sha256_init(&hs.sha);
	run_one(h, &req, &o);
	if (o.rc)
		fail_msg("GET: %s", o.err.msg);
	assert_int_equal(o.resp.status, 200);
	assert_int_equal(o.resp.body.len, 0);
	assert_int_equal(o.resp.received, n);
	assert_int_equal(hs.n, n);
	hoist_sha256_final_hex(&hs.sha, got);
	assert_string_equal(got, hex);
	hoist_http_response_release(&o.resp);

	free(len);
	free(blob);
	free(dq);
	free(put);
	free(loc);
	close(fd);
	hoist_http_free(h);
}

static void test_registry_push_plain(void **state)
{
	(void)state;
	NEED_SERVERS();
	push_and_fetch(E.reg_url, NULL, HOIST_HTTP_AUTO, 1, (size_t)3 << 19);
}

/* PATCH a buffer, then PUT with no body (Content-Length: 0). */
static void test_registry_patch_put(void **state)
{
	struct hoist_http *h;
	struct hoist_http_request req = {0};
	const char *ctype = "Content-Type: application/octet-stream";
	unsigned char body[70000];
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *loc, *loc2 = NULL, *dq, *put;
	struct one o;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);
	fill_random(body, sizeof(body), 7);
	hoist_sha256_hex(body, sizeof(body), hex);
	loc = start_upload(h, E.reg_url, "test/patch", NULL, HOIST_HTTP_AUTO);
	req.method = "PATCH";
	req.url = loc;
	req.headers = &ctype;
	req.nheaders = 1;
	req.body_kind = HOIST_HTTP_BODY_BUF;
	req.body = body;
	req.body_len = sizeof(body);
	run_one(h, &req, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.resp.status, 202);
	assert_string_equal(hoist_http_header_get(&o.resp, "Range"), "0-69999");
	loc2 = answered_location(loc, &o.resp);
	hoist_http_response_release(&o.resp);

	dq = hoist_xasprintf("digest=sha256:%s", hex);
	put = add_query(loc2, dq);
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = put;
	run_one(h, &req, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.resp.status, 201);
	assert_int_equal(o.resp.sent, 0);
	assert_string_equal(
		hoist_http_header_get(&o.resp, "Docker-Content-Digest"),
		dq + strlen("digest="));
	hoist_http_response_release(&o.resp);
	free(put);
	free(dq);
	free(loc2);
	free(loc);
	hoist_http_free(h);
}

/* Error bodies are collected under the cap even when a sink is set; a 2xx
 * body over the cap without a sink fails with HOIST_ELIMIT. */
static void test_registry_body_cap(void **state)
{
	struct hoist_http *h;
	struct hoist_http_request req = {0};
	struct hashsink hs = {0};
	struct hoist_sink sink = {hash_write, &hs};
	struct hoist_http_response r;
	struct hoist_err err;
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *loc, *put, *blob, *missing;
	uint64_t off;
	int fd;
	struct one o;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);
	fd = payload_file(100000, 11, &off, hex);
	loc = start_upload(h, E.reg_url, "test/cap", NULL, HOIST_HTTP_AUTO);
	blob = hoist_xasprintf("digest=sha256:%s", hex);
	put = add_query(loc, blob);
	free(blob);
	req.method = "PUT";
	req.url = put;
	req.body_kind = HOIST_HTTP_BODY_FD;
	req.body_fd = fd;
	req.body_offset = off;
	req.body_len = 100000;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_int_equal(r.status, 201);
	hoist_http_response_release(&r);

	blob = hoist_xasprintf("%s/v2/test/cap/blobs/sha256:%s", E.reg_url,
			       hex);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = blob;
	req.max_body = 1024;
	run_one(h, &req, &o);
	assert_int_equal(o.rc, HOIST_ELIMIT);
	assert_int_equal(o.err.code, HOIST_ELIMIT);
	assert_int_equal(o.err.http_status, 200);
	assert_non_null(strstr(o.err.msg, "larger than 1024 bytes"));
	assert_true(!strncmp(o.err.msg, "GET 'http://127.0.0.1:", 22));
	hoist_http_response_release(&o.resp);

	missing = hoist_xasprintf("%s/v2/test/cap/blobs/sha256:%064d",
				  E.reg_url, 0);
	req.url = missing;
	req.sink = &sink;
	req.max_body = 0; /* the 64 KiB default */
	run_one(h, &req, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.resp.status, 404);
	assert_non_null(strstr(o.resp.body.data, "BLOB_UNKNOWN"));
	assert_int_equal(hs.calls, 0);
	hoist_http_response_release(&o.resp);

	free(missing);
	free(blob);
	free(put);
	free(loc);
	close(fd);
	hoist_http_free(h);
}

/* ---- TLS and HTTP/2 ---- */

static void test_tls(void **state)
{
	struct hoist_http *h;
	struct hoist_http_tls insecure = {0}, ca = {0}, none = {0};
	struct hoist_http_response r;
	struct hoist_err err;
	char *url, *prefix;

	(void)state;
	NEED_SERVERS();
	insecure.insecure = 1;
	ca.ca_file = E.ca_file;
	h = client(NULL, 0);
	url = hoist_xasprintf("%s/v2/", E.tls_url);

	/* insecure first: its connection must not serve a verified request */
	assert_int_equal(
		do_simple(h, "GET", url, &insecure, HOIST_HTTP_AUTO, &r, &err),
		0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.version, 2);
	hoist_http_response_release(&r);

	assert_int_equal(
		do_simple(h, "GET", url, &none, HOIST_HTTP_AUTO, &r, &err),
		HOIST_ETLS);
	assert_int_equal(err.code, HOIST_ETLS);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.version, 0);
	prefix = hoist_xasprintf("GET '%s': ", url);
	if (strncmp(err.msg, prefix, strlen(prefix)) ||
	    !strstr(err.msg, "certificate"))
		fail_msg("unexpected message: %s", err.msg);
	hoist_http_response_release(&r);
	/* NULL tls is the same as no CA */
	assert_int_equal(
		do_simple(h, "GET", url, NULL, HOIST_HTTP_V2, &r, &err),
		HOIST_ETLS);
	hoist_http_response_release(&r);

	assert_int_equal(
		do_simple(h, "GET", url, &ca, HOIST_HTTP_AUTO, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.version, 2);
	hoist_http_response_release(&r);

	assert_int_equal(do_simple(h, "GET", url, &ca, HOIST_HTTP_V1, &r, &err),
			 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.version, 1);
	hoist_http_response_release(&r);

	/* a CA directory also verifies (it needs the hash links) */
	{
		char *sh = hoist_xasprintf("openssl rehash '%s/pki' "
					   ">/dev/null 2>&1",
					   E.dir);
		struct hoist_http_tls dir = {0};

		if (tl_sh(sh) == 0) {
			dir.ca_dir = hoist_xasprintf("%s/pki", E.dir);
			assert_int_equal(do_simple(h, "GET", url, &dir,
						   HOIST_HTTP_AUTO, &r, &err),
					 0);
			assert_int_equal(r.status, 200);
			hoist_http_response_release(&r);
			free((char *)dir.ca_dir);
		}
		free(sh);
	}
	free(prefix);
	free(url);
	hoist_http_free(h);
}

static void test_tls_push_h2(void **state)
{
	struct hoist_http_tls ca = {0};

	(void)state;
	NEED_SERVERS();
	ca.ca_file = E.ca_file;
	push_and_fetch(E.tls_url, &ca, HOIST_HTTP_AUTO, 2, (size_t)3 << 20);
}

static void test_tls_push_h1(void **state)
{
	struct hoist_http_tls ca = {0};

	(void)state;
	NEED_SERVERS();
	ca.ca_file = E.ca_file;
	push_and_fetch(E.tls_url, &ca, HOIST_HTTP_V1, 1, (size_t)3 << 20);
}

/* ---- concurrency ---- */

struct counter {
	int done, ok, status, version;
};

static void count_done(void *ctx, int rc, struct hoist_http_response *r,
		       const struct hoist_err *err)
{
	struct counter *c = ctx;

	c->done++;
	if (rc) {
		print_error("request failed: %s\n", err->msg);
		return;
	}
	if (r->status == c->status && r->version == c->version)
		c->ok++;
}

/* Distinct client addresses in the registry log for requests with ua. */
static int log_conns(const char *log, const char *ua, int want_lines)
{
	char *needle = hoist_xasprintf("http.request.useragent=%s ", ua);
	char addrs[64][64];
	int naddr = 0, lines = 0, tries;

	for (tries = 0; tries < 40 && lines < want_lines; tries++) {
		FILE *f = fopen(log, "r");
		char line[8192];

		naddr = lines = 0;
		while (f && fgets(line, sizeof(line), f)) {
			const char *a;
			size_t n;
			int i;

			if (!strstr(line, needle))
				continue;
			lines++;
			a = strstr(line, "http.request.remoteaddr=\"");
			if (!a)
				continue;
			a += strlen("http.request.remoteaddr=\"");
			n = strcspn(a, "\"");
			if (n >= sizeof(addrs[0]))
				continue;
			for (i = 0; i < naddr; i++)
				if (!strncmp(addrs[i], a, n) && !addrs[i][n])
					break;
			if (i == naddr && naddr < 64) {
				memcpy(addrs[naddr], a, n);
				addrs[naddr++][n] = '\0';
			}
		}
		if (f)
			fclose(f);
		if (lines < want_lines)
			usleep(25 * 1000);
	}
	free(needle);
	assert_int_equal(lines, want_lines);
	return naddr;
}

static void concurrent_heads(const char *base, const char *log,
			     const struct hoist_http_tls *tls, const char *ua,
			     int max_per_host, int version)
{
	struct hoist_http *h = client(ua, max_per_host);
	struct counter c = {0, 0, 404, version};
	struct hoist_err err;
	char *urls[20];
	int i;

	for (i = 0; i < 20; i++) {
		struct hoist_http_request req = {0};

		urls[i] = hoist_xasprintf("%s/v2/test/conc/blobs/sha256:%064x",
					  base, i);
		req.method = "HEAD";
		req.url = urls[i];
		req.tls = tls;
		assert_int_equal(
			hoist_http_submit(h, &req, count_done, &c, &err), 0);
	}
	assert_int_equal(hoist_http_run(h, &err), 0);
	assert_int_equal(c.done, 20);
	assert_int_equal(c.ok, 20);
	for (i = 0; i < 20; i++)
		free(urls[i]);
	hoist_http_free(h);
	i = log_conns(log, ua, 20);
	if (i < 1 || i > (version == 2 ? 1 : max_per_host))
		fail_msg("%d connections for %s", i, ua);
}

static void test_concurrent_h1(void **state)
{
	(void)state;
	NEED_SERVERS();
	concurrent_heads(E.reg_url, E.reg_log, NULL, "hoist-test-conc-h1", 2,
			 1);
}

static void test_concurrent_h2(void **state)
{
	struct hoist_http_tls ca = {0};

	(void)state;
	NEED_SERVERS();
	ca.ca_file = E.ca_file;
	/* all 20 streams multiplexed on one connection */
	concurrent_heads(E.tls_url, E.tls_log, &ca, "hoist-test-conc-h2", 4, 2);
}

/* ---- timers ---- */

struct tstate {
	struct hoist_http *h;
	int order[16];
	uint64_t at[16];
	int n;
	uint64_t start;
	struct one o;
	char *url;
};

struct tcall {
	struct tstate *t;
	int id;
};

static void timer_fn(void *ctx)
{
	struct tcall *c = ctx;
	struct tstate *t = c->t;
	struct hoist_err err;

	t->order[t->n] = c->id;
	t->at[t->n++] = tl_mono_ms() - t->start;
	if (c->id == 20) {
		/* from a timer: a later timer and a request */
		static struct tcall later;
		struct hoist_http_request req = {0};

		later.t = t;
		later.id = 99;
		assert_int_equal(
			hoist_http_timer(t->h, 25, timer_fn, &later, &err), 0);
		req.method = "GET";
		req.url = t->url;
		assert_int_equal(
			hoist_http_submit(t->h, &req, one_done, &t->o, &err),
			0);
	}
}

static void test_timers(void **state)
{
	struct tstate t = {0};
	struct tcall c[] = {{&t, 40}, {&t, 10}, {&t, 20}, {&t, 11}, {&t, 0}};
	long delay[] = {40, 10, 20, 10, 0};
	struct hoist_err err;
	size_t i;

	(void)state;
	NEED_SERVERS();
	t.h = client(NULL, 0);
	t.url = hoist_xasprintf("%s/v2/", E.reg_url);
	t.start = tl_mono_ms();
	for (i = 0; i < HOIST_ARRAY_SIZE(c); i++)
		assert_int_equal(
			hoist_http_timer(t.h, delay[i], timer_fn, &c[i], &err),
			0);
	assert_int_equal(hoist_http_run(t.h, &err), 0);
	assert_int_equal(t.n, 6);
	assert_int_equal(t.order[0], 0);
	assert_int_equal(t.order[1], 10);
	assert_int_equal(t.order[2], 11); /* same due time: FIFO */
	assert_int_equal(t.order[3], 20);
	assert_int_equal(t.order[4], 40);
	assert_int_equal(t.order[5], 99);
	assert_true(t.at[1] >= 10);
	assert_true(t.at[3] >= 20);
	assert_true(t.at[4] >= 40);
	assert_true(t.at[5] >= 45);
	assert_true(t.at[4] < 1000); /* the poll waited for the timer */
	assert_int_equal(t.o.called, 1);
	assert_int_equal(t.o.resp.status, 200);
	hoist_http_response_release(&t.o.resp);
	free(t.url);
	hoist_http_free(t.h);
}

/* ---- the sink: what a registry cannot show ---- */

static void test_request_shape(void **state)
{
	struct hoist_http *h;
	struct hoist_http_request req = {0};
	struct hoist_http_response r;
	struct hoist_err err;
	const char *hdrs[] = {"X-Test: yes", "Accept: application/json"};
	const char *bad[] = {"X-Test: a\r\nX-Evil: 1"};
	const char *ctype[] = {
		"Content-Type: application/x-www-form-urlencoded"};
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *url;
	uint64_t off;
	int fd;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);
	url = hoist_xasprintf("%s/echo", E.sink_url);
	req.url = url;
	req.headers = hdrs;
	req.nheaders = 2;

	/* POST without a body: Content-Length 0, no form Content-Type */
	req.method = "POST";
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(hoist_http_header_get(&r, "X-Method"), "POST");
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"), "0");
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Type"),
			    "none");
	assert_string_equal(hoist_http_header_get(&r, "X-Test"), "yes");
	hoist_http_response_release(&r);

	/* POST with a buffer, and the caller's Content-Type kept */
	req.headers = ctype;
	req.nheaders = 1;
	req.body_kind = HOIST_HTTP_BODY_BUF;
	req.body = "grant_type=password";
	req.body_len = strlen("grant_type=password");
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"),
			    "19");
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Type"),
			    "application/x-www-form-urlencoded");
	hoist_sha256_hex("grant_type=password", 19, hex);
	assert_string_equal(hoist_http_header_get(&r, "X-Body-Sha256"), hex);
	hoist_http_response_release(&r);

	/* POST from a file range */
	fd = payload_file(5000, 3, &off, hex);
	req.headers = NULL;
	req.nheaders = 0;
	req.body_kind = HOIST_HTTP_BODY_FD;
	req.body_fd = fd;
	req.body_offset = off;
	req.body_len = 5000;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"),
			    "5000");
	assert_string_equal(hoist_http_header_get(&r, "X-Body-Sha256"), hex);
	assert_string_equal(hoist_http_header_get(&r, "X-Transfer-Encoding"),
			    "none");
	hoist_http_response_release(&r);

	/* PATCH from the same range */
	req.method = "PATCH";
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Method"), "PATCH");
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"),
			    "5000");
	assert_string_equal(hoist_http_header_get(&r, "X-Body-Sha256"), hex);
	hoist_http_response_release(&r);

	/* PUT and PATCH with no body still say Content-Length: 0 */
	req.body_kind = HOIST_HTTP_BODY_NONE;
	req.method = "PUT";
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Method"), "PUT");
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"), "0");
	hoist_http_response_release(&r);
	req.method = "PATCH";
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"), "0");
	hoist_http_response_release(&r);

	/* other methods go out as they are */
	req.method = "DELETE";
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Method"), "DELETE");
	assert_string_equal(hoist_http_header_get(&r, "X-Content-Length"),
			    "none");
	hoist_http_response_release(&r);
	req.method = "HEAD";
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_string_equal(hoist_http_header_get(&r, "X-Method"), "HEAD");
	hoist_http_response_release(&r);

	/* header injection and nonsense are refused before anything goes out */
	req.method = "GET";
	req.headers = bad;
	req.nheaders = 1;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), HOIST_EINVAL);
	hoist_http_response_release(&r);
	req.headers = NULL;
	req.nheaders = 0;
	req.method = "HEAD";
	req.body_kind = HOIST_HTTP_BODY_BUF;
	req.body = "x";
	req.body_len = 1;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), HOIST_EINVAL);
	hoist_http_response_release(&r);
	req.method = "PUT";
	req.body_kind = HOIST_HTTP_BODY_FD;
	req.body_fd = -1;
	assert_int_equal(hoist_http_submit(h, &req, one_done, NULL, &err),
			 HOIST_EINVAL);

	close(fd);
	free(url);
	hoist_http_free(h);
}

static void test_header_caps(void **state)
{
	struct hoist_http *h;
	struct hoist_http_response r;
	struct hoist_err err;
	char *url;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);
	url = hoist_xasprintf("%s/big-header", E.sink_url);
	assert_int_equal(
		do_simple(h, "GET", url, NULL, HOIST_HTTP_AUTO, &r, &err),
		HOIST_ELIMIT);
	assert_non_null(strstr(err.msg, "header line longer than 8192"));
	hoist_http_response_release(&r);
	free(url);
	url = hoist_xasprintf("%s/many-headers", E.sink_url);
	assert_int_equal(
		do_simple(h, "GET", url, NULL, HOIST_HTTP_AUTO, &r, &err),
		HOIST_ELIMIT);
	assert_non_null(strstr(err.msg, "more than 100 response headers"));
	hoist_http_response_release(&r);
	free(url);
	/* a NUL byte in a header is a broken server, not a broken link:
	   HOIST_EHTTP (which nobody retries), not HOIST_ENET */
	url = hoist_xasprintf("%s/nul-header", E.sink_url);
	assert_int_equal(
		do_simple(h, "GET", url, NULL, HOIST_HTTP_AUTO, &r, &err),
		HOIST_EHTTP);
	for (const char *p = err.msg; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	hoist_http_response_release(&r);
	free(url);
	/* and the client is still fine afterwards */
	url = hoist_xasprintf("%s/status/418", E.sink_url);
	assert_int_equal(
		do_simple(h, "GET", url, NULL, HOIST_HTTP_AUTO, &r, &err), 0);
	assert_int_equal(r.status, 418);
	assert_string_equal(r.body.data, "status");
	hoist_http_response_release(&r);
	free(url);
	hoist_http_free(h);
}

/*
 * The sink reads the second request on a keep-alive connection and closes
 * without answering. libcurl then retries on a new connection, which needs
 * the body rewound through the seek callback: the server must see the right
 * bytes the second time.
 */
static void test_rewind(void **state)
{
	struct hoist_http *h;
	struct hoist_http_request req = {0};
	struct hoist_http_response r;
	struct hoist_err err;
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *url;
	uint64_t off;
	const char *noexpect = "Expect:";
	long first, second;
	int fd;

	(void)state;
	NEED_SERVERS();
	h = client(NULL, 0);
	url = hoist_xasprintf("%s/drop-second", E.sink_url);
	fd = payload_file(200000, 5, &off, hex);
	req.method = "PUT";
	req.url = url;
	/* no 100 Continue: any byte of an answer would rule out a retry */
	req.headers = &noexpect;
	req.nheaders = 1;
	req.body_kind = HOIST_HTTP_BODY_FD;
	req.body_fd = fd;
	req.body_offset = off;
	req.body_len = 200000;
	assert_int_equal(hoist_http_do(h, &req, &r, &err), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(hoist_http_header_get(&r, "X-Body-Sha256"), hex);
	first = strtol(hoist_http_header_get(&r, "X-Total-Requests"), NULL, 10);
	hoist_http_response_release(&r);

	if (hoist_http_do(h, &req, &r, &err) != 0)
		fail_msg("retried PUT: %s", err.msg);
	assert_int_equal(r.status, 201);
	/* answered on a fresh connection, after the dropped attempt */
	assert_string_equal(
		hoist_http_header_get(&r, "X-Request-On-Connection"), "1");
	second =
		strtol(hoist_http_header_get(&r, "X-Total-Requests"), NULL, 10);
	assert_int_equal(second, first + 2);
	assert_string_equal(hoist_http_header_get(&r, "X-Body-Length"),
			    "200000");
	assert_string_equal(hoist_http_header_get(&r, "X-Body-Sha256"), hex);
	assert_int_equal(r.sent, 200000);
	hoist_http_response_release(&r);
	close(fd);
	free(url);
	hoist_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_url),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_header_helpers),
		cmocka_unit_test(test_registry_v2),
		cmocka_unit_test(test_registry_push_plain),
		cmocka_unit_test(test_registry_patch_put),
		cmocka_unit_test(test_registry_body_cap),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_push_h2),
		cmocka_unit_test(test_tls_push_h1),
		cmocka_unit_test(test_concurrent_h1),
		cmocka_unit_test(test_concurrent_h2),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_header_caps),
		cmocka_unit_test(test_rewind),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
