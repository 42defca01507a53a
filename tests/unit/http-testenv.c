/*
 * http-testenv.c: the servers and helpers of the HTTP client's tests
 * (http-testenv.h).
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

#ifndef HOIST_TEST_SRCDIR
#define HOIST_TEST_SRCDIR "."
#endif

struct env E;

/* ---- helpers ---- */

struct hoist_http *client(const char *ua, int max_per_host)
{
	struct hoist_http_opts o = {0};
	struct hoist_http *h = NULL;
	struct hoist_err err;

	o.user_agent = ua;
	o.max_per_host = max_per_host;
	o.low_speed_s = 20; /* a hung test fails instead of hanging */
	if (hoist_http_new(&h, &o, &err) != 0)
		fail_msg("hoist_http_new: %s", err.msg);
	return h;
}

int do_simple(struct hoist_http *h, const char *method, const char *url,
	      const struct hoist_http_tls *tls, enum hoist_http_version v,
	      struct hoist_http_response *resp, struct hoist_err *err)
{
	struct hoist_http_request req = {0};

	req.method = method;
	req.url = url;
	req.tls = tls;
	req.version = v;
	return hoist_http_do(h, &req, resp, err);
}

/* /v2/ answers 200 within 20 s. */
static int reg_up(const char *base)
{
	char *u = hoist_xasprintf("%s/v2/", base);
	int up = tl_wait_http(u, 1, 20000);

	free(u);
	return up;
}

int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	const char *src = getenv("HOIST_SRCDIR");
	const struct tl_registry plain = {0}, tls = {.tls = 1};
	char *sink_py, *sink_log;
	int reg_port, tls_port, fd;
	char portbuf[16] = {0};
	ssize_t n = 0;
	size_t i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	E.dir = hoist_xasprintf("%s/hoist-http-XXXXXX",
				tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(E.dir))
		return -1;
	if (tl_sh("command -v docker-registry >/dev/null && "
		  "command -v openssl >/dev/null && "
		  "command -v python3 >/dev/null") != 0) {
		/* CI installs them all: a missing tool there is a failure */
		if (tl_in_ci()) {
			print_error("docker-registry, openssl or python3 "
				    "missing under CI=true\n");
			return -1;
		}
		print_message("docker-registry, openssl or python3 missing: "
			      "live tests skipped\n");
		return 0;
	}
	if (tl_make_pki(E.dir) != 0)
		return -1;
	E.ca_file = hoist_xasprintf("%s/pki/ca.crt", E.dir);

	reg_port = tl_free_port();
	tls_port = tl_free_port();
	E.reg_url = hoist_xasprintf("http://127.0.0.1:%d", reg_port);
	E.tls_url = hoist_xasprintf("https://127.0.0.1:%d", tls_port);
	E.reg_log = hoist_xasprintf("%s/plain.log", E.dir);
	E.tls_log = hoist_xasprintf("%s/tls.log", E.dir);

	/* both start at once; logs: plain.log and tls.log */
	E.reg_pid = tl_registry_spawn(E.dir, "plain", reg_port, &plain);
	E.tls_pid = tl_registry_spawn(E.dir, "tls", tls_port, &tls);

	sink_py = hoist_xasprintf("%s/tests/integration/http-sink.py",
				  src && *src ? src : HOIST_TEST_SRCDIR);
	sink_log = hoist_xasprintf("%s/sink.log", E.dir);
	{
		char *argv[] = {"python3", sink_py, NULL};
		E.sink_pid = tl_spawn(argv, sink_log, &fd);
	}
	free(sink_py);
	free(sink_log);
	/* up to the newline: the port may come in more than one write */
	for (i = 0; i < sizeof(portbuf) - 1 && !strchr(portbuf, '\n');
	     i += (size_t)n) {
		n = read(fd, portbuf + i, sizeof(portbuf) - 1 - i);
		if (n <= 0)
			break;
	}
	close(fd);
	if (!strchr(portbuf, '\n') || strtol(portbuf, NULL, 10) <= 0) {
		print_error("http-sink.py did not start\n");
		return -1;
	}
	E.sink_url = hoist_xasprintf("http://127.0.0.1:%ld",
				     strtol(portbuf, NULL, 10));

	if (!reg_up(E.reg_url) || !reg_up(E.tls_url)) {
		print_error("docker-registry did not come up (see %s)\n",
			    E.dir);
		return -1;
	}
	E.ok = 1;
	return 0;
}

int group_teardown(void **state)
{
	(void)state;
	tl_stop(&E.reg_pid);
	tl_stop(&E.tls_pid);
	tl_stop(&E.sink_pid);
	/* HOIST_TEST_KEEP=1 keeps the logs and configs for a post-mortem */
	if (E.dir && !getenv("HOIST_TEST_KEEP"))
		hoist_fs_rm_rf(E.dir, NULL);
	free(E.dir);
	free(E.ca_file);
	free(E.reg_url);
	free(E.tls_url);
	free(E.sink_url);
	free(E.reg_log);
	free(E.tls_log);
	return 0;
}

void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* A file holding junk, then n payload bytes at *off, then more junk. */
int payload_file(size_t n, uint64_t seed, uint64_t *off,
		 char hex[HOIST_SHA256_HEXLEN + 1])
{
	char *path = hoist_xasprintf("%s/body-XXXXXX", E.dir);
	unsigned char *buf = hoist_xmalloc(n + 1500);
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	free(path);
	memset(buf, 'J', 1000);
	fill_random(buf + 1000, n, seed);
	memset(buf + 1000 + n, 'K', 500);
	assert_int_equal(write(fd, buf, n + 1500), (ssize_t)(n + 1500));
	hoist_sha256_hex(buf + 1000, n, hex);
	*off = 1000;
	free(buf);
	return fd;
}

void one_done(void *ctx, int rc, struct hoist_http_response *r,
	      const struct hoist_err *err)
{
	struct one *o = ctx;

	o->called++;
	o->rc = rc;
	o->err = *err;
	o->resp = *r;
	/* the loop releases what is left: nothing */
	memset(r, 0, sizeof(*r));
	hoist_buf_init(&r->body, 0);
}

void run_one(struct hoist_http *h, const struct hoist_http_request *req,
	     struct one *o)
{
	struct hoist_err err;

	memset(o, 0, sizeof(*o));
	assert_int_equal(hoist_http_submit(h, req, one_done, o, &err), 0);
	assert_int_equal(hoist_http_run(h, &err), 0);
	assert_int_equal(o->called, 1);
}

char *add_query(const char *url, const char *kv)
{
	return hoist_xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', kv);
}

/* POST an upload to repo on base; returns the absolute Location. */
char *start_upload(struct hoist_http *h, const char *base, const char *repo,
		   const struct hoist_http_tls *tls, enum hoist_http_version v)
{
	struct hoist_http_response r;
	struct hoist_err err;
	char *url = hoist_xasprintf("%s/v2/%s/blobs/uploads/", base, repo);
	char *loc = NULL;
	const char *l;

	assert_int_equal(do_simple(h, "POST", url, tls, v, &r, &err), 0);
	assert_int_equal(r.status, 202);
	l = hoist_http_header_get(&r, "location");
	assert_non_null(l);
	assert_int_equal(hoist_http_resolve_url(&loc, url, l, &err), 0);
	hoist_http_response_release(&r);
	free(url);
	return loc;
}

/* The Location of an upload step's answer r, resolved against loc. */
char *answered_location(const char *loc, const struct hoist_http_response *r)
{
	struct hoist_err err;
	char *out = NULL;

	assert_int_equal(
		hoist_http_resolve_url(
			&out, loc, hoist_http_header_get(r, "Location"), &err),
		0);
	return out;
}
