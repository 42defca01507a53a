/*
 * test-pull.c: hoist_pull_image against real servers on 127.0.0.1.
 *
 * The group setup starts, from scratch configs in a temporary directory:
 *  - R: a plain docker-registry with filesystem storage (so a test can
 *    corrupt a blob file under it);
 *  - A: a TLS docker-registry with htpasswd (alice:s3cret);
 *  - F: faultproxy.py in front of R (cuts responses on demand);
 *  - P: a TLS faultproxy in front of A that answers blob GETs with 307 to
 *    Q; Q: a TLS faultproxy in front of R that logs what it is sent;
 *  - S: tests/integration/pull-stub.sh, a scripted registry: schema1
 *    manifests (distribution 2.8 refuses to store an unsigned one: PUT
 *    answers 400 MANIFEST_INVALID, and signing needs libtrust) and blob
 *    GETs that misbehave on purpose (Range ignored or answered wrongly,
 *    503, too many bytes, a redirect loop).
 * A three-platform image is built in a source store with the image model
 * and pushed with hoist_registry_push; every pull goes into a fresh store.
 * Without docker-registry (or openssl, htpasswd, python3) the tests skip,
 * except under CI=true, where they fail. The blob-download decisions
 * themselves are tested without any network in test-download.c.
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
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/digest.h"
#include "lib/http.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/pull.h"
#include "lib/registry.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

#define BIG_LAYER (600 * 1024) /* amd64's own layer: the one cut */
#define SMALL_LAYER (40 * 1024)
#define SHARED_LAYER (50 * 1024)
#define CUT_AT 200000

struct env {
	char *dir;
	char *ca;
	pid_t pids[8];
	int npids;
	char reg[64];   /* R  127.0.0.1:PORT */
	char auth[64];  /* A */
	char fault[64]; /* F */
	char redir[64]; /* P */
	char store[64]; /* Q */
	char old[64];   /* S */
	char *q_log;
	struct hoist_store *src;
	json_t *root; /* the multi-platform index in src */
	json_t *plat[3];
	uint64_t total; /* sum of the sizes of configs and layers */
	int ok;
	int dst_n;
};

static struct env E;

static const char *const PLATS[3] = {"linux/amd64", "linux/arm64",
				     "linux/arm/v7"};

/* ---- processes ---- */

/* Started children are remembered for the group teardown. */
static void spawn(char *const argv[], const char *log)
{
	pid_t pid = tl_spawn(argv, log, NULL);

	if (pid > 0 && E.npids < 8)
		E.pids[E.npids++] = pid;
}

/* Wait for a --port-file and fill addr with 127.0.0.1:PORT. */
static int port_from_file(const char *path, char *addr, size_t len)
{
	int port = tl_port_file(path, 20000);

	if (port <= 0)
		return -1;
	snprintf(addr, len, "127.0.0.1:%d", port);
	return 0;
}

static int start_registry(const char *name, char *addr, size_t alen, int tls,
			  const char *htpasswd)
{
	const struct tl_registry o = {
		.tls = tls, .htpasswd = htpasswd, .accesslog = 1};
	int port = tl_free_port(), up;
	pid_t pid = tl_registry_spawn(E.dir, name, port, &o);
	char *url;

	if (pid <= 0)
		return -1;
	if (E.npids < 8)
		E.pids[E.npids++] = pid;
	snprintf(addr, alen, "127.0.0.1:%d", port);
	/* any HTTP answer: the one with htpasswd says 401 */
	url = hoist_xasprintf("%s://%s/v2/", tls ? "https" : "http", addr);
	up = tl_wait_http(url, 0, 20000);
	free(url);
	return up ? 0 : -1;
}

/* faultproxy.py NAME UPSTREAM [args...], NULL-terminated */
static int start_proxy(const char *name, char *addr, size_t alen,
		       const char *upstream, ...)
{
	const char *src = getenv("HOIST_SRCDIR");
	char *py = hoist_xasprintf("%s/tests/integration/faultproxy.py",
				   src && *src ? src : ".");
	char *pf = hoist_xasprintf("%s/%s.port", E.dir, name);
	char *log = hoist_xasprintf("%s/%s.out", E.dir, name);
	char *argv[24];
	int n = 0, rc;
	va_list ap;

	argv[n++] = "python3";
	argv[n++] = py;
	argv[n++] = "--port-file";
	argv[n++] = pf;
	argv[n++] = "--upstream";
	argv[n++] = (char *)upstream;
	argv[n++] = "--max-seconds";
	argv[n++] = "300";
	va_start(ap, upstream);
	for (char *a; n < 23 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	spawn(argv, log);
	rc = port_from_file(pf, addr, alen);
	free(py);
	free(pf);
	free(log);
	return rc;
}

/* ---- building and pushing the image ---- */

/* One platform's manifest (a shared layer and its own), its descriptor. */
static json_t *make_manifest(struct hoist_store *s, const char *platform,
			     size_t own, uint32_t seed, uint64_t *total)
{
	struct hoist_image_layer l[2];
	struct hoist_digest shared, mine;
	size_t clen;
	json_t *desc;

	tl_put_random(s, SHARED_LAYER, 7, &shared);
	tl_put_random(s, own, seed, &mine);
	memset(l, 0, sizeof(l));
	l[0].digest = shared.str;
	l[0].diff_id = shared.str;
	l[0].size = SHARED_LAYER;
	l[0].compression = HOIST_COMP_GZIP;
	l[1].digest = mine.str;
	l[1].diff_id = mine.str;
	l[1].size = own;
	l[1].compression = HOIST_COMP_GZIP;
	desc = tl_image_of_layers(s, platform, l, 2, &clen);
	*total += clen + own;
	return desc;
}

static void build_image(void)
{
	static const size_t own[3] = {BIG_LAYER, SMALL_LAYER, SMALL_LAYER + 1};
	struct hoist_digest d;
	struct hoist_err err;
	json_t *descs = json_array();
	char *ix;
	size_t len;

	E.total = SHARED_LAYER;
	for (int i = 0; i < 3; i++) {
		E.plat[i] = make_manifest(E.src, PLATS[i], own[i],
					  (uint32_t)(100 + i), &E.total);
		json_array_append(descs, E.plat[i]);
	}
	assert_int_equal(hoist_image_index(&ix, &len, descs, NULL, 1, &err), 0);
	assert_int_equal(hoist_store_put(E.src, ix, len, &d, &err), 0);
	E.root = hoist_image_desc(HOIST_MT_OCI_INDEX, d.str, len);
	free(ix);
	json_decref(descs);
}

static void reg_opts(struct hoist_registry_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conn.insecure = 1;
	o->conn.ca_file = E.ca;
}

static int push_to(const char *addr, const char *repo, const json_t *root,
		   struct hoist_err *err)
{
	struct hoist_registry_opts o;
	struct hoist_push_stats st;
	char *ref = hoist_xasprintf("%s/%s", addr, repo);
	int rc;

	reg_opts(&o);
	rc = hoist_registry_push(E.src, root, ref, 0, &o, &st, err);
	free(ref);
	return rc;
}

static int write_docker_config(void)
{
	char *dir = hoist_xasprintf("%s/docker", E.dir);
	char *path = hoist_xasprintf("%s/config.json", dir);
	/* base64("alice:s3cret") */
	char *text = hoist_xasprintf(
		"{\"auths\": {\"%s\": {\"auth\": \"YWxpY2U6czNjcmV0\"}, "
		"\"%s\": {\"auth\": \"YWxpY2U6czNjcmV0\"}}}",
		E.auth, E.redir);
	int rc = hoist_fs_mkdirs(dir, 0700, NULL) ||
		 hoist_fs_write_atomic(path, text, strlen(text), 0600, NULL);

	setenv("DOCKER_CONFIG", dir, 1);
	free(dir);
	free(path);
	free(text);
	return rc;
}

/* CI=true: a missing tool is a failure, never a silent skip. */
static int in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && strcmp(ci, "true") == 0;
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char *script, *htpasswd, *cert, *key, *pyfile, *pf, *log, *up;
	struct hoist_err err;
	char *root;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	E.dir = hoist_xasprintf("%s/hoist-pull-XXXXXX",
				tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(E.dir))
		return -1;
	if (tl_sh("command -v docker-registry >/dev/null && "
		  "command -v openssl >/dev/null && "
		  "command -v htpasswd >/dev/null && "
		  "command -v python3 >/dev/null") != 0) {
		print_message("docker-registry, openssl, htpasswd or python3 "
			      "missing: live tests %s\n",
			      in_ci() ? "FAIL under CI=true" : "skipped");
		return in_ci() ? -1 : 0;
	}
	/* credentials and certificates come only from this test */
	unsetenv("REGISTRY_AUTH_FILE");
	setenv("XDG_RUNTIME_DIR", E.dir, 1);
	setenv("XDG_CONFIG_HOME", E.dir, 1);
	setenv("HOIST_CERTS_D", E.dir, 1);
	script = hoist_xasprintf("htpasswd -Bbn alice s3cret > '%s/htpasswd'",
				 E.dir);
	if (tl_make_pki(E.dir) != 0 || tl_sh(script) != 0)
		return -1;
	free(script);
	E.ca = hoist_xasprintf("%s/pki/ca.crt", E.dir);
	cert = hoist_xasprintf("%s/pki/server.crt", E.dir);
	key = hoist_xasprintf("%s/pki/server.key", E.dir);
	htpasswd = hoist_xasprintf("%s/htpasswd", E.dir);

	if (start_registry("reg", E.reg, sizeof(E.reg), 0, NULL) ||
	    start_registry("auth", E.auth, sizeof(E.auth), 1, htpasswd)) {
		print_error("docker-registry did not come up (see %s)\n",
			    E.dir);
		return -1;
	}
	E.q_log = hoist_xasprintf("%s/q.jsonl", E.dir);
	if (start_proxy("fault", E.fault, sizeof(E.fault), E.reg, NULL) ||
	    start_proxy("store", E.store, sizeof(E.store), E.reg, "--tls-cert",
			cert, "--tls-key", key, "--log", E.q_log, NULL))
		return -1;
	up = hoist_xasprintf("https://%s", E.store);
	if (start_proxy("redir", E.redir, sizeof(E.redir), E.auth,
			"--upstream-tls", "--upstream-ca", E.ca, "--tls-cert",
			cert, "--tls-key", key, "--redirect-blobs-to", up,
			NULL))
		return -1;
	free(up);
	{
		const char *srcdir = getenv("HOIST_SRCDIR");
		pyfile = hoist_xasprintf("%s/tests/integration/pull-stub.sh",
					 srcdir && *srcdir ? srcdir : ".");
	}
	pf = hoist_xasprintf("%s/stub.port", E.dir);
	log = hoist_xasprintf("%s/stub.log", E.dir);
	{
		char *argv[] = {"sh", pyfile, pf, NULL};
		spawn(argv, log);
	}
	if (port_from_file(pf, E.old, sizeof(E.old)))
		return -1;
	free(pyfile);
	free(pf);
	free(log);
	free(cert);
	free(key);
	free(htpasswd);
	if (write_docker_config())
		return -1;

	root = hoist_xasprintf("%s/src", E.dir);
	if (hoist_store_open(&E.src, root, &err)) {
		print_error("store: %s\n", err.msg);
		return -1;
	}
	free(root);
	build_image();
	if (push_to(E.reg, "test/multi:v1", E.root, &err) ||
	    push_to(E.reg, "test/redir:v1", E.root, &err) ||
	    push_to(E.auth, "test/redir:v1", E.root, &err)) {
		print_error("push: %s\n", err.msg);
		return -1;
	}
	E.ok = 1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < E.npids; i++) {
		kill(E.pids[i], SIGTERM);
		waitpid(E.pids[i], NULL, 0);
	}
	hoist_store_close(E.src);
	json_decref(E.root);
	for (int i = 0; i < 3; i++)
		json_decref(E.plat[i]);
	/* HOIST_TEST_KEEP=1 keeps the logs and configs for a post-mortem */
	if (E.dir && !getenv("HOIST_TEST_KEEP"))
		hoist_fs_rm_rf(E.dir, NULL);
	free(E.dir);
	free(E.ca);
	free(E.q_log);
	return 0;
}

/* Without the servers a test skips, except under CI=true: there it fails. */
#define NEED_SERVERS()                                                         \
	do {                                                                   \
		if (!E.ok && in_ci())                                          \
			fail_msg("live servers missing under CI=true");        \
		if (!E.ok)                                                     \
			skip();                                                \
	} while (0)

/* ---- helpers for the tests ---- */

static struct hoist_store *fresh_store(void)
{
	char *root = hoist_xasprintf("%s/dst-%d", E.dir, E.dst_n++);
	struct hoist_store *s = NULL;
	struct hoist_err err;

	if (hoist_store_open(&s, root, &err))
		fail_msg("store: %s", err.msg);
	free(root);
	return s;
}

/* Retries fast enough for tests, still bounded. */
static const struct hoist_retry_policy FAST = {.max_attempts = 4,
					       .base_ms = 10,
					       .max_ms = 50,
					       .max_after_ms = 100,
					       .max_total_ms = 20000};

static void pull_opts(struct hoist_pull_opts *o)
{
	memset(o, 0, sizeof(*o));
	reg_opts(&o->reg);
	o->retry = &FAST;
}

static int do_pull(json_t **root, struct hoist_store *s, const char *addr,
		   const char *repo, const struct hoist_pull_opts *o,
		   struct hoist_pull_stats *st, struct hoist_err *err)
{
	char *ref = hoist_xasprintf("%s/%s", addr, repo);
	int rc = hoist_pull_image(root, s, ref, o, st, err);

	free(ref);
	return rc;
}

/* Every blob under root is in dst, with the same bytes as in src. */
static void assert_same_image(struct hoist_store *dst, const json_t *root)
{
	struct hoist_err err;
	json_t *blobs, *b;
	size_t i;

	assert_int_equal(hoist_imgwalk_blobs(&blobs, dst, root, &err), 0);
	json_array_foreach(blobs, i, b)
	{
		const char *d = hoist_json_str(b, "digest");
		char *x, *y;
		size_t xl, yl;

		/* hoist_store_get verifies the digest of what it reads */
		assert_int_equal(
			hoist_store_get(dst, d, 1u << 30, &x, &xl, &err), 0);
		if (!hoist_store_has(E.src, d)) {
			/* an index made by the pull: only its own root */
			assert_string_equal(d, hoist_json_str(root, "digest"));
			free(x);
			continue;
		}
		assert_int_equal(
			hoist_store_get(E.src, d, 1u << 30, &y, &yl, &err), 0);
		assert_int_equal(xl, yl);
		assert_memory_equal(x, y, xl);
		free(x);
		free(y);
	}
	json_decref(blobs);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* POST JSON to a faultproxy's control endpoint; GET its stats. */
static json_t *proxy_ctl(const char *addr, int tls, const char *path,
			 const char *body)
{
	struct hoist_http_opts o = {0};
	struct hoist_http_tls t = {0};
	struct hoist_http_request req = {0};
	struct hoist_http_response r;
	struct hoist_http *h = NULL;
	struct hoist_err err;
	char *url = hoist_xasprintf("%s://%s%s", tls ? "https" : "http", addr,
				    path);
	const char *hdrs[1] = {"Content-Type: application/json"};
	json_t *doc = NULL;

	t.ca_file = E.ca;
	assert_int_equal(hoist_http_new(&h, &o, &err), 0);
	req.method = body ? "POST" : "GET";
	req.url = url;
	req.tls = &t;
	req.max_body = 1 << 20;
	if (body) {
		req.body_kind = HOIST_HTTP_BODY_BUF;
		req.body = body;
		req.body_len = strlen(body);
		req.headers = hdrs;
		req.nheaders = 1;
	}
	if (hoist_http_do(h, &req, &r, &err) != 0)
		fail_msg("faultproxy %s: %s", url, err.msg);
	assert_int_equal(r.status, 200);
	assert_int_equal(
		hoist_json_parse(&doc, r.body.data, r.body.len, "stats", &err),
		0);
	hoist_http_response_release(&r);
	hoist_http_free(h);
	free(url);
	return doc;
}

static long long stat_of(json_t *stats, const char *group, const char *key)
{
	return json_integer_value(
		json_object_get(json_object_get(stats, group), key));
}

/* ---- tests ---- */

static void test_pull_all(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_err err;
	json_t *root = NULL, *list = NULL;
	char *p;
	(void)state;
	NEED_SERVERS();

	dst = fresh_store();
	pull_opts(&o);
	if (do_pull(&root, dst, E.reg, "test/multi:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.root, "digest"));
	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_OCI_INDEX);
	assert_int_equal(json_integer_value(json_object_get(root, "size")),
			 json_integer_value(json_object_get(E.root, "size")));
	assert_null(json_object_get(root, "platform"));
	assert_same_image(dst, root);
	/* 3 configs, 3 own layers, 1 shared layer */
	assert_int_equal(st.blobs, 7);
	assert_int_equal(st.blobs_present, 0);
	assert_int_equal(st.bytes, E.total);
	assert_int_equal(st.resumed, 0);
	/* pulling does not name anything, and leaves no ingest behind */
	assert_int_equal(hoist_store_list(dst, &list, &err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	p = hoist_xasprintf("%s/ingest", hoist_store_root(dst));
	assert_int_equal(count_files(p), 0);
	free(p);
	json_decref(root);

	/* again: everything is there already */
	if (do_pull(&root, dst, E.reg, "test/multi:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_int_equal(st.blobs, 7);
	assert_int_equal(st.blobs_present, 7);
	assert_int_equal(st.bytes, 0);
	json_decref(root);

	/* manifests only: configs but no layers */
	hoist_store_close(dst);
	dst = fresh_store();
	o.manifests_only = 1;
	if (do_pull(&root, dst, E.reg, "test/multi:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_int_equal(st.blobs, 3);
	for (int i = 0; i < 3; i++)
		assert_true(hoist_store_has(
			dst, hoist_json_str(E.plat[i], "digest")));
	{
		struct hoist_img_manifest *m;
		size_t n;
		assert_int_equal(
			hoist_imgwalk_manifests(&m, &n, dst, root, &err), 0);
		assert_int_equal(n, 3);
		for (size_t i = 0; i < n; i++) {
			const char *l = hoist_json_str(
				json_array_get(json_object_get(m[i].manifest,
							       "layers"),
					       1),
				"digest");
			assert_false(hoist_store_has(dst, l));
		}
		hoist_imgwalk_manifests_free(m, n);
	}
	json_decref(root);
	hoist_store_close(dst);
}

static void test_pull_platform(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_platform pl[2];
	struct hoist_err err;
	json_t *root = NULL, *amd_layers;
	char *data;
	size_t len;
	(void)state;
	NEED_SERVERS();

	/* one match: that manifest is the root, with its platform */
	dst = fresh_store();
	pull_opts(&o);
	assert_int_equal(hoist_platform_parse(&pl[0], "arm64", &err), 0);
	o.platforms = pl;
	o.nplatforms = 1;
	if (do_pull(&root, dst, E.reg, "test/multi:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_OCI_MANIFEST);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.plat[1], "digest"));
	assert_string_equal(hoist_json_str(json_object_get(root, "platform"),
					   "architecture"),
			    "arm64");
	assert_int_equal(st.blobs, 3);
	assert_same_image(dst, root);
	/* the index was read (and kept, unnamed); amd64's manifest not */
	assert_true(hoist_store_has(dst, hoist_json_str(E.root, "digest")));
	assert_false(hoist_store_has(dst, hoist_json_str(E.plat[0], "digest")));
	json_decref(root);
	hoist_store_close(dst);

	/* two of three: a new index holding just those two */
	dst = fresh_store();
	assert_int_equal(hoist_platform_parse(&pl[1], "linux/arm/v7", &err), 0);
	o.nplatforms = 2;
	if (do_pull(&root, dst, E.reg, "test/multi:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_OCI_INDEX);
	assert_string_not_equal(hoist_json_str(root, "digest"),
				hoist_json_str(E.root, "digest"));
	assert_int_equal(hoist_store_get(dst, hoist_json_str(root, "digest"),
					 HOIST_MANIFEST_MAX, &data, &len, &err),
			 0);
	{
		json_t *ix, *ms;
		assert_int_equal(hoist_json_parse(&ix, data, len, "ix", &err),
				 0);
		ms = json_object_get(ix, "manifests");
		assert_int_equal(json_array_size(ms), 2);
		assert_true(json_equal(json_array_get(ms, 0), E.plat[1]));
		assert_true(json_equal(json_array_get(ms, 1), E.plat[2]));
		json_decref(ix);
	}
	free(data);
	assert_int_equal(st.blobs, 5); /* 2 configs, 2 own, 1 shared */
	assert_same_image(dst, root);
	/* amd64's big layer was not fetched */
	assert_int_equal(hoist_store_get(E.src,
					 hoist_json_str(E.plat[0], "digest"),
					 HOIST_MANIFEST_MAX, &data, &len, &err),
			 0);
	assert_int_equal(hoist_json_parse(&amd_layers, data, len, "m", &err),
			 0);
	free(data);
	assert_false(hoist_store_has(
		dst, hoist_json_str(
			     json_array_get(
				     json_object_get(amd_layers, "layers"), 1),
			     "digest")));
	json_decref(amd_layers);
	json_decref(root);

	/* no match */
	assert_int_equal(hoist_platform_parse(&pl[0], "linux/s390x", &err), 0);
	o.nplatforms = 1;
	assert_int_equal(
		do_pull(&root, dst, E.reg, "test/multi:v1", &o, &st, &err),
		HOIST_ENOTFOUND);
	assert_null(root);
	assert_non_null(strstr(err.msg, "linux/s390x"));
	hoist_store_close(dst);
}

static void test_pull_by_digest(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_err err;
	json_t *root = NULL;
	char *repo;
	(void)state;
	NEED_SERVERS();

	dst = fresh_store();
	pull_opts(&o);
	repo = hoist_xasprintf("test/multi@%s",
			       hoist_json_str(E.root, "digest"));
	if (do_pull(&root, dst, E.reg, repo, &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	free(repo);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.root, "digest"));
	assert_same_image(dst, root);
	json_decref(root);

	/* a platform manifest by digest */
	repo = hoist_xasprintf("test/multi@%s",
			       hoist_json_str(E.plat[2], "digest"));
	if (do_pull(&root, dst, E.reg, repo, &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	free(repo);
	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_OCI_MANIFEST);
	assert_int_equal(st.blobs_present, st.blobs);
	json_decref(root);

	/* a digest the registry does not have */
	assert_int_equal(
		do_pull(&root, dst, E.reg,
			"test/multi@sha256:"
			"0000000000000000000000000000000000000000000000000000"
			"000000000000",
			&o, &st, &err),
		HOIST_ENOTFOUND);
	assert_int_equal(err.http_status, 404);
	hoist_store_close(dst);
}

static void test_pull_corrupt(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_platform pl;
	struct hoist_err err;
	json_t *root = NULL, *desc, *list;
	uint64_t total = 0;
	unsigned char *junk;
	char *path, *m;
	const char *layer;
	size_t len;
	json_t *man;
	(void)state;
	NEED_SERVERS();

	/* an image of its own, whose layer is then overwritten */
	desc = make_manifest(E.src, "linux/riscv64", 30000, 999, &total);
	assert_int_equal(push_to(E.reg, "test/corrupt:v1", desc, &err), 0);
	assert_int_equal(hoist_store_get(E.src, hoist_json_str(desc, "digest"),
					 HOIST_MANIFEST_MAX, &m, &len, &err),
			 0);
	assert_int_equal(hoist_json_parse(&man, m, len, "m", &err), 0);
	free(m);
	layer = hoist_json_str(
		json_array_get(json_object_get(man, "layers"), 1), "digest");
	path = hoist_xasprintf("%s/reg-data/docker/registry/v2/blobs/sha256/"
			       "%.2s/%s/data",
			       E.dir, hoist_digest_hex(layer),
			       hoist_digest_hex(layer));
	junk = hoist_xmalloc(30000);
	tl_fill_random(junk, 30000, 4242); /* same size, other bytes */
	assert_int_equal(hoist_fs_write_atomic(path, junk, 30000, 0644, &err),
			 0);
	free(junk);
	free(path);

	dst = fresh_store();
	pull_opts(&o);
	assert_int_equal(
		do_pull(&root, dst, E.reg, "test/corrupt:v1", &o, &st, &err),
		HOIST_EDIGEST);
	assert_null(root);
	assert_non_null(strstr(err.msg, layer));
	/* nothing under the layer's name, nothing named, no ingest left */
	assert_false(hoist_store_has(dst, layer));
	assert_int_equal(hoist_store_list(dst, &list, &err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	path = hoist_xasprintf("%s/ingest", hoist_store_root(dst));
	assert_int_equal(count_files(path), 0);
	free(path);

	/* with a filter, a single image that does not match is kept */
	assert_int_equal(hoist_platform_parse(&pl, "linux/amd64", &err), 0);
	o.platforms = &pl;
	o.nplatforms = 1;
	o.manifests_only = 1;
	assert_int_equal(
		do_pull(&root, dst, E.reg, "test/corrupt:v1", &o, &st, &err),
		0);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(desc, "digest"));
	json_decref(root);
	json_decref(man);
	json_decref(desc);
	hoist_store_close(dst);
}

static void test_pull_schema1(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_err err;
	json_t *root = NULL;
	(void)state;
	NEED_SERVERS();

	dst = fresh_store();
	pull_opts(&o);
	/* by Content-Type */
	assert_int_equal(
		do_pull(&root, dst, E.old, "test/old:v1", &o, &st, &err),
		HOIST_EUNSUPPORTED);
	assert_null(root);
	assert_non_null(
		strstr(err.msg, "schema1 manifests are not supported: "));
	assert_non_null(strstr(err.msg, "v1+prettyjws"));
	/* served as application/json: found by schemaVersion */
	assert_int_equal(
		do_pull(&root, dst, E.old, "test/plain:v1", &o, &st, &err),
		HOIST_EUNSUPPORTED);
	assert_non_null(
		strstr(err.msg, "schema1 manifests are not supported: "));
	assert_non_null(strstr(err.msg, "schemaVersion 1"));
	/* and nothing was stored */
	assert_int_equal(count_files(hoist_store_root(dst)) > 0, 1);
	{
		char *b = hoist_xasprintf("%s/blobs/sha256",
					  hoist_store_root(dst));
		assert_int_equal(count_files(b), 0);
		free(b);
	}
	hoist_store_close(dst);
}

static void test_pull_resume(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_err err;
	json_t *root = NULL, *stats;
	char cfg[160];
	(void)state;
	NEED_SERVERS();

	snprintf(cfg, sizeof(cfg),
		 "{\"cut_response_after\": %d, \"cut_response_times\": 1, "
		 "\"reset_stats\": true}",
		 CUT_AT);
	json_decref(proxy_ctl(E.fault, 0, "/_faultproxy/config", cfg));
	dst = fresh_store();
	pull_opts(&o);
	if (do_pull(&root, dst, E.fault, "test/multi:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.root, "digest"));
	assert_same_image(dst, root);
	stats = proxy_ctl(E.fault, 0, "/_faultproxy/stats", NULL);
	assert_int_equal(stat_of(stats, "faults", "cut_response"), 1);
	json_decref(stats);
	assert_true(st.resumed >= 1);
	assert_true(st.retries >= 1);
	/* continued, not started again: little more than the blobs */
	assert_true(st.bytes >= E.total);
	assert_true(st.bytes <= E.total + E.total / 10);
	json_decref(root);
	hoist_store_close(dst);
	json_decref(proxy_ctl(E.fault, 0, "/_faultproxy/config",
			      "{\"cut_response_after\": null}"));
}

static void test_pull_redirect(void **state)
{
	struct hoist_store *dst;
	struct hoist_pull_opts o;
	struct hoist_pull_stats st;
	struct hoist_err err;
	json_t *root = NULL, *stats;
	char *log, *line, *save = NULL, *cfg;
	size_t len, gets = 0;
	(void)state;
	NEED_SERVERS();

	json_decref(proxy_ctl(E.redir, 1, "/_faultproxy/reset", "{}"));
	dst = fresh_store();
	pull_opts(&o);
	o.reg.conn.insecure = 0;
	if (do_pull(&root, dst, E.redir, "test/redir:v1", &o, &st, &err))
		fail_msg("pull: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.root, "digest"));
	assert_same_image(dst, root);
	json_decref(root);

	/* the registry's side saw credentials and sent every blob away */
	stats = proxy_ctl(E.redir, 1, "/_faultproxy/stats", NULL);
	assert_int_equal(stat_of(stats, "faults", "redirect"), 7);
	assert_true(stat_of(stats, "auth", "GET") >= 1);
	json_decref(stats);
	/* the other origin served them and never saw an Authorization */
	assert_int_equal(hoist_fs_read_file(&log, &len, E.q_log, 1 << 20, &err),
			 0);
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *e;
		assert_int_equal(
			hoist_json_parse(&e, line, strlen(line), "log", &err),
			0);
		assert_true(json_is_null(json_object_get(e, "auth")));
		if (strcmp(hoist_json_str(e, "method"), "GET") == 0 &&
		    strstr(hoist_json_str(e, "path"), "/blobs/sha256:"))
			gets++;
		json_decref(e);
	}
	free(log);
	assert_int_equal(gets, 7);
	hoist_store_close(dst);

	/* https -> http is refused */
	cfg = hoist_xasprintf("{\"redirect_blobs_to\": \"http://%s\"}",
			      E.fault);
	json_decref(proxy_ctl(E.redir, 1, "/_faultproxy/config", cfg));
	free(cfg);
	dst = fresh_store();
	assert_int_equal(
		do_pull(&root, dst, E.redir, "test/redir:v1", &o, &st, &err),
		HOIST_EAUTH);
	assert_non_null(strstr(err.msg, "refusing a redirect from https"));
	hoist_store_close(dst);
	cfg = hoist_xasprintf("{\"redirect_blobs_to\": \"https://%s\"}",
			      E.store);
	json_decref(proxy_ctl(E.redir, 1, "/_faultproxy/config", cfg));
	free(cfg);

	/* "insecure" is for the registry: the other origin is verified */
	dst = fresh_store();
	o.reg.conn.insecure = 1;
	o.reg.conn.ca_file = NULL;
	assert_int_equal(
		do_pull(&root, dst, E.redir, "test/redir:v1", &o, &st, &err),
		HOIST_ETLS);
	assert_non_null(strstr(err.msg, E.store));
	hoist_store_close(dst);
}

/* pull S's q-QUIRK/img:v1; returns rc, fills st */
static int pull_quirk(const char *quirk, struct hoist_pull_stats *st,
		      struct hoist_err *err)
{
	struct hoist_store *dst = fresh_store();
	struct hoist_pull_opts o;
	json_t *root = NULL;
	char *repo = hoist_xasprintf("q-%s/img:v1", quirk);
	int rc;

	pull_opts(&o);
	rc = do_pull(&root, dst, E.old, repo, &o, st, err);
	if (rc == 0) {
		/* config + layer, verified by the store on the way out */
		json_t *blobs;
		assert_int_equal(hoist_imgwalk_blobs(&blobs, dst, root, err),
				 0);
		assert_int_equal(json_array_size(blobs), 3);
		json_decref(blobs);
	}
	json_decref(root);
	hoist_store_close(dst);
	free(repo);
	return rc;
}

#define STUB_LAYER 300000
#define STUB_CUT 100000

static void test_pull_quirks(void **state)
{
	struct hoist_pull_stats st;
	struct hoist_err err;
	(void)state;
	NEED_SERVERS();

	/* cut, then a correct 206: continued */
	assert_int_equal(pull_quirk("r206", &st, &err), 0);
	assert_int_equal(st.resumed, 1);
	assert_int_equal(st.retries, 1);
	assert_true(st.bytes > STUB_LAYER && st.bytes < STUB_LAYER + 1000);

	/* cut, then Range ignored: the 200 body is the blob from 0 */
	assert_int_equal(pull_quirk("norange", &st, &err), 0);
	assert_int_equal(st.resumed, 0);
	assert_int_equal(st.retries, 1);
	assert_true(st.bytes > STUB_CUT + STUB_LAYER &&
		    st.bytes < STUB_CUT + STUB_LAYER + 1000);

	/* cut, then a 206 from the wrong place: dropped, from 0 again */
	assert_int_equal(pull_quirk("badrange", &st, &err), 0);
	assert_int_equal(st.resumed, 0);
	assert_int_equal(st.retries, 2);
	assert_true(st.bytes > 2 * STUB_LAYER + STUB_CUT - 5 &&
		    st.bytes < 2 * STUB_LAYER + STUB_CUT + 1000);

	/* 503 once */
	assert_int_equal(pull_quirk("e503", &st, &err), 0);
	assert_int_equal(st.retries, 1);

	/* more bytes than the descriptor says: refused as other content */
	assert_int_equal(pull_quirk("long", &st, &err), HOIST_EDIGEST);
	assert_non_null(strstr(err.msg, "more than the 300000 bytes"));

	/* a redirect loop ends */
	assert_int_equal(pull_quirk("loop", &st, &err), HOIST_ELIMIT);
	assert_non_null(strstr(err.msg, "more than 5 redirects"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pull_all),
		cmocka_unit_test(test_pull_platform),
		cmocka_unit_test(test_pull_by_digest),
		cmocka_unit_test(test_pull_corrupt),
		cmocka_unit_test(test_pull_schema1),
		cmocka_unit_test(test_pull_resume),
		cmocka_unit_test(test_pull_redirect),
		cmocka_unit_test(test_pull_quirks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
