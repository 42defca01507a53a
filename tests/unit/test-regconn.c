/*
 * test-regconn.c: one registry connection (regconn.h). The loopback rule
 * and the wording of registry errors need no network; the rest runs
 * against real docker-registry servers on 127.0.0.1 started here: P, a
 * plain-http one, and A, TLS with htpasswd (alice:s3cret) and a CA made
 * for the test. What is checked: which base URL a connection settles on
 * (the https-first ping and its fallback to http for loopback registries,
 * never for a registry that speaks TLS it cannot verify), credentials
 * only for the registry's own origin, and the shape of a request and of
 * the error the registry answers it with. Without docker-registry,
 * openssl or htpasswd the live tests skip, except under CI=true, where
 * they fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lib/regconn.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

static struct {
	char *dir;
	char *ca;
	pid_t plain, auth;
	char p[64], a[64]; /* 127.0.0.1:PORT */
	int ok;
} E;

/* ---- no network ---- */

static void test_loopback(void **state)
{
	static const struct {
		const char *host;
		int loop;
	} t[] = {
		{"localhost", 1},
		{"LocalHost:5000", 1},
		{"127.0.0.1", 1},
		{"127.0.0.1:5000", 1},
		{"127.255.0.9:1", 1},
		{"[::1]", 1},
		{"[::1]:5000", 1},
		{"[::2]:5000", 0},
		{"[::1", 0},
		{"[::1]x", 0},
		{"127.1", 0}, /* a name, as in Docker */
		{"128.0.0.1", 0},
		{"10.0.0.1:5000", 0},
		{"registry.example", 0},
		{"localhost.example", 0},
		{"localhost:", 0},
		{"docker.io", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (hoist_regconn_is_loopback(t[i].host) != t[i].loop)
			fail_msg("'%s': want %d", t[i].host, t[i].loop);
}

static void answer(struct hoist_http_response *r, int status, const char *body)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	hoist_buf_init(&r->body, 65536);
	hoist_buf_adds(&r->body, body, NULL);
}

static void test_http_error(void **state)
{
	static const struct {
		int status, code;
		const char *body, *msg;
	} t[] = {
		{400, HOIST_EHTTP,
		 "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":"
		 "\"provided digest did not match uploaded content\"}]}",
		 "put blob: HTTP 400 DIGEST_INVALID: provided digest did not "
		 "match uploaded content"},
		{401, HOIST_EAUTH,
		 "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":"
		 "\"authentication required\"}]}",
		 "put blob: HTTP 401 UNAUTHORIZED: authentication required"},
		{403, HOIST_EAUTH, "", "put blob: HTTP 403"},
		{404, HOIST_ENOTFOUND, "not json", "put blob: HTTP 404"},
		/* a hostile code is quoted, not printed raw */
		{500, HOIST_EHTTP, "{\"errors\":[{\"code\":\"A\\nB\"}]}",
		 "put blob: HTTP 500 A\\nB"},
	};
	struct hoist_http_response r;
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		answer(&r, t[i].status, t[i].body);
		assert_int_equal(hoist_regconn_http_error(&err, "put blob", &r),
				 t[i].code);
		assert_int_equal(err.code, t[i].code);
		assert_int_equal(err.http_status, t[i].status);
		assert_string_equal(err.msg, t[i].msg);
		hoist_http_response_release(&r);
	}
}

/* ---- live ---- */

static void opts_init(struct hoist_regconn_opts *o)
{
	memset(o, 0, sizeof(*o));
}

/* A plain registry on loopback: https is tried first, then http is used
 * without --insecure (as Docker and containerd do for loopback). */
static void test_plain_loopback(void **state)
{
	struct hoist_regconn_opts o;
	struct hoist_regconn c;
	struct hoist_err err;
	char *want, *host;

	(void)state;
	TL_NEED_LIVE(E.ok);
	opts_init(&o);
	if (hoist_regconn_open(&c, E.p, "lib/app", "pull", NULL, &o, &err))
		fail_msg("open: %s", err.msg);
	want = hoist_xasprintf("http://%s", E.p);
	assert_string_equal(c.base, want);
	assert_string_equal(c.host, E.p);
	assert_string_equal(c.repo, "lib/app");
	assert_int_equal(c.nscopes, 1);
	assert_string_equal(c.scopes[0], "repository:lib/app:pull");
	hoist_regconn_close(&c);
	free(want);

	/* the same by name, with a mount source's scope added */
	host = hoist_xasprintf("localhost:%s", strchr(E.p, ':') + 1);
	if (hoist_regconn_open(&c, host, "lib/app", "pull,push",
			       "repository:lib/base:pull", &o, &err))
		fail_msg("open '%s': %s", host, err.msg);
	want = hoist_xasprintf("http://%s", host);
	assert_string_equal(c.base, want);
	assert_int_equal(c.nscopes, 2);
	assert_string_equal(c.scopes[0], "repository:lib/app:pull,push");
	assert_string_equal(c.scopes[1], "repository:lib/base:pull");
	hoist_regconn_close(&c);
	free(want);
	free(host);
}

/* A TLS registry whose certificate cannot be verified: a TLS error, and
 * no fallback to plain http (the server does speak TLS). With its CA the
 * connection stays on https. */
static void test_tls(void **state)
{
	struct hoist_regconn_opts o;
	struct hoist_regconn c;
	struct hoist_err err;
	char *want;
	int rc;

	(void)state;
	TL_NEED_LIVE(E.ok);
	opts_init(&o);
	rc = hoist_regconn_open(&c, E.a, "lib/app", "pull", NULL, &o, &err);
	if (rc != HOIST_ETLS)
		fail_msg("want a TLS error, got %d: %s", rc, err.msg);
	assert_int_equal(err.code, HOIST_ETLS);
	assert_null(strchr(err.msg, '\n'));
	want = hoist_xasprintf("https://%s", E.a);
	assert_string_equal(c.base, want);
	hoist_regconn_close(&c);

	o.ca_file = E.ca;
	rc = hoist_regconn_open(&c, E.a, "lib/app", "pull", NULL, &o, &err);
	/* no credentials in DOCKER_CONFIG yet: the ping's 401 is the error */
	assert_int_equal(rc, HOIST_EAUTH);
	assert_int_equal(err.http_status, 401);
	assert_string_equal(c.base, want);
	hoist_regconn_close(&c);
	free(want);
}

static void write_creds(void)
{
	char *path = hoist_xasprintf("%s/config.json", E.dir);
	/* base64("alice:s3cret") */
	char *text = hoist_xasprintf(
		"{\"auths\": {\"%s\": {\"auth\": \"YWxpY2U6czNjcmV0\"}}}", E.a);

	assert_int_equal(
		hoist_fs_write_atomic(path, text, strlen(text), 0600, NULL), 0);
	free(path);
	free(text);
}

/* Credentials go to the registry's origin and nowhere else. */
static void test_credentials_origin(void **state)
{
	struct hoist_regconn_opts o;
	struct hoist_regconn c;
	struct hoist_http_response resp;
	struct hoist_err err;
	char *url, *line = NULL;

	(void)state;
	TL_NEED_LIVE(E.ok);
	write_creds();
	opts_init(&o);
	o.ca_file = E.ca;
	if (hoist_regconn_open(&c, E.a, "lib/app", "pull", NULL, &o, &err))
		fail_msg("open: %s", err.msg);
	url = hoist_xasprintf("https://%s/v2/lib/app/tags/list", E.a);
	assert_int_equal(hoist_regconn_auth_line(&c, url, &line, &err), 0);
	assert_non_null(line);
	assert_string_equal(line, "Authorization: Basic YWxpY2U6czNjcmV0");
	free(line);
	free(url);
	/* another scheme, port or host: no credentials */
	url = hoist_xasprintf("http://%s/v2/", E.a);
	assert_int_equal(hoist_regconn_auth_line(&c, url, &line, &err), 0);
	assert_null(line);
	free(url);
	url = hoist_xasprintf("https://%s/v2/", E.p);
	assert_int_equal(hoist_regconn_auth_line(&c, url, &line, &err), 0);
	assert_null(line);
	free(url);
	assert_int_equal(hoist_regconn_auth_line(&c, "https://evil.example/v2/",
						 &line, &err),
			 0);
	assert_null(line);
	/* and a request with them is answered */
	url = hoist_xasprintf("%s/v2/", c.base);
	assert_int_equal(hoist_regconn_request(&c, "GET", url, NULL, 0, NULL, 0,
					       0, &resp, &err),
			 0);
	assert_int_equal(resp.status, 200);
	hoist_http_response_release(&resp);
	free(url);
	hoist_regconn_close(&c);
}

/* A manifest request as pull makes it: the registry's 404 comes back as
 * an answer (rc 0), and its error reads as the registry said it. */
static void test_request_shape(void **state)
{
	struct hoist_regconn_opts o;
	struct hoist_regconn c;
	struct hoist_http_response resp;
	struct hoist_err err;
	const char *code, *msg;
	const char *hdrs[] = {hoist_reg_manifest_accept};
	json_t *doc;
	char *url;

	(void)state;
	TL_NEED_LIVE(E.ok);
	opts_init(&o);
	if (hoist_regconn_open(&c, E.p, "lib/app", "pull", NULL, &o, &err))
		fail_msg("open: %s", err.msg);
	url = hoist_xasprintf("%s/v2/lib/app/manifests/v1", c.base);
	assert_int_equal(hoist_regconn_request(&c, "GET", url, hdrs, 1, NULL, 0,
					       0, &resp, &err),
			 0);
	assert_int_equal(resp.status, 404);
	hoist_regconn_error_body(&resp, &code, &msg, &doc);
	assert_non_null(code);
	assert_string_equal(code, "MANIFEST_UNKNOWN");
	json_decref(doc);
	assert_int_equal(hoist_regconn_http_error(&err, "get manifest", &resp),
			 HOIST_ENOTFOUND);
	assert_non_null(strstr(err.msg, "get manifest: HTTP 404 "
					"MANIFEST_UNKNOWN"));
	hoist_http_response_release(&resp);
	free(url);
	hoist_regconn_close(&c);
}

/* Nothing listens: a network error, in seconds, not a hang. */
static void test_refused(void **state)
{
	struct hoist_regconn_opts o;
	struct hoist_regconn c;
	struct hoist_err err;
	char host[32];
	uint64_t t0 = tl_mono_ms();
	int port = tl_free_port(), rc;

	(void)state;
	assert_true(port > 0);
	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	opts_init(&o);
	rc = hoist_regconn_open(&c, host, "lib/app", "pull", NULL, &o, &err);
	assert_int_equal(rc, HOIST_ENET);
	assert_int_equal(err.code, HOIST_ENET);
	assert_true(tl_mono_ms() - t0 < 15000);
	hoist_regconn_close(&c);
}

static int setup(void **state)
{
	const struct tl_registry po = {0};
	struct tl_registry ao = {.tls = 1};
	char *script, *htpasswd;

	(void)state;
	E.dir = tl_mkdtemp("regconn");
	if (!E.dir)
		return -1;
	tl_isolate_env(E.dir);
	if (!tl_have_tools("docker-registry openssl htpasswd"))
		return 0;
	script = hoist_xasprintf("htpasswd -Bbn alice s3cret > '%s/htpasswd'",
				 E.dir);
	htpasswd = hoist_xasprintf("%s/htpasswd", E.dir);
	ao.htpasswd = htpasswd;
	if (tl_make_pki(E.dir) == 0 && tl_sh(script) == 0) {
		E.ca = hoist_xasprintf("%s/pki/ca.crt", E.dir);
		E.plain = tl_registry_start(E.dir, "plain", &po, E.p,
					    sizeof(E.p));
		E.auth =
			tl_registry_start(E.dir, "auth", &ao, E.a, sizeof(E.a));
		E.ok = E.plain > 0 && E.auth > 0;
	}
	if (!E.ok)
		print_error("live servers did not come up (see %s)\n", E.dir);
	free(script);
	free(htpasswd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_stop(&E.plain);
	tl_stop(&E.auth);
	if (!getenv("HOIST_TEST_KEEP"))
		tl_rm_rf(E.dir);
	free(E.dir);
	free(E.ca);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_http_error),
		cmocka_unit_test(test_plain_loopback),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_credentials_origin),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
