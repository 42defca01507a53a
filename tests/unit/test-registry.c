/*
 * test-registry.c: hoist_registry_push (registry.h) against a real
 * docker-registry on 127.0.0.1 (plain http, loopback). What the registry holds
 * afterwards is read back with plain requests: the manifest under its tag with
 * the exact bytes of the store and the digest hoist reported, every blob with
 * its size; a push by digest leaves no tag; a second push and a push with
 * mount_from send no blob bytes; a bad reference or an image that is not
 * whole in the store fails before the tag exists. Without docker-registry
 * the tests skip, except under CI=true, where they fail.
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

#include "lib/digest.h"
#include "lib/image.h"
#include "lib/registry.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

#define LAYER (300 * 1024)

static struct {
	char *dir;
	pid_t reg;
	char addr[64];
	struct hoist_store *s;
	json_t *image;
} E;

static void reg_opts(struct hoist_registry_opts *o)
{
	memset(o, 0, sizeof(*o));
}

static int push(const json_t *root, const char *repo, int by_digest,
		const char *mount_from, struct hoist_push_stats *st,
		struct hoist_err *err)
{
	struct hoist_registry_opts o;
	char *ref = hoist_xasprintf("%s/%s", E.addr, repo);
	int rc;

	reg_opts(&o);
	o.mount_from = mount_from;
	rc = hoist_registry_push(E.s, root, ref, by_digest, &o, st, err);
	free(ref);
	return rc;
}

/* One request to the registry; the caller releases resp. */
static void get(const char *method, const char *repo, const char *what,
		struct hoist_http_response *resp)
{
	struct hoist_regconn_opts o;
	struct hoist_regconn c;
	struct hoist_err err;
	const char *hdrs[] = {hoist_reg_manifest_accept};
	char *url;

	memset(&o, 0, sizeof(o));
	if (hoist_regconn_open(&c, E.addr, repo, "pull", NULL, &o, &err))
		fail_msg("open: %s", err.msg);
	url = hoist_xasprintf("%s/v2/%s/%s", c.base, repo, what);
	if (hoist_regconn_request(&c, method, url, hdrs, 1, NULL, 0, 0, resp,
				  &err))
		fail_msg("%s '%s': %s", method, url, err.msg);
	free(url);
	hoist_regconn_close(&c);
}

/* The manifest under ref is the store's bytes, by the digest reported. */
static void check_manifest(const char *repo, const char *ref,
			   const char *digest)
{
	struct hoist_http_response r;
	struct hoist_err err;
	char *what = hoist_xasprintf("manifests/%s", ref), *data = NULL;
	size_t len;

	get("GET", repo, what, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hoist_http_header_get(&r, "Docker-Content-Digest"),
			    digest);
	assert_string_equal(hoist_http_header_get(&r, "Content-Type"),
			    HOIST_MT_OCI_MANIFEST);
	assert_int_equal(hoist_store_get(E.s, digest, HOIST_MANIFEST_MAX, &data,
					 &len, &err),
			 0);
	assert_int_equal(r.body.len, len);
	assert_memory_equal(r.body.data, data, len);
	free(data);
	hoist_http_response_release(&r);
	free(what);
}

static void check_blob(const char *repo, const char *digest, uint64_t size)
{
	struct hoist_http_response r;
	char *what = hoist_xasprintf("blobs/%s", digest), want[32];

	get("HEAD", repo, what, &r);
	assert_int_equal(r.status, 200);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)size);
	assert_string_equal(hoist_http_header_get(&r, "Content-Length"), want);
	hoist_http_response_release(&r);
	free(what);
}

/* The config and layer descriptors of the test image's manifest. */
static json_t *manifest_doc(void)
{
	struct hoist_err err;
	char *data = NULL;
	size_t len;
	json_t *doc = NULL;

	assert_int_equal(hoist_store_get(E.s, hoist_json_str(E.image, "digest"),
					 HOIST_MANIFEST_MAX, &data, &len, &err),
			 0);
	assert_int_equal(hoist_json_parse(&doc, data, len, "manifest", &err),
			 0);
	free(data);
	return doc;
}

static void test_push_tag(void **state)
{
	struct hoist_push_stats st;
	struct hoist_err err;
	const char *digest = hoist_json_str(E.image, "digest");
	json_t *doc, *layer, *cfg;

	(void)state;
	TL_NEED_LIVE(E.reg > 0);
	if (push(E.image, "push/app:v1", 0, NULL, &st, &err))
		fail_msg("push: %s", err.msg);
	assert_string_equal(st.digest, digest);
	assert_int_equal(st.blobs, 2); /* config and layer */
	assert_int_equal(st.blobs_present, 0);
	assert_true(st.bytes_sent >= LAYER);
	check_manifest("push/app", "v1", digest);
	check_manifest("push/app", digest, digest);
	doc = manifest_doc();
	cfg = json_object_get(doc, "config");
	layer = json_array_get(json_object_get(doc, "layers"), 0);
	check_blob("push/app", hoist_json_str(cfg, "digest"),
		   (uint64_t)json_integer_value(json_object_get(cfg, "size")));
	check_blob("push/app", hoist_json_str(layer, "digest"), LAYER);
	json_decref(doc);

	/* again: every blob is there already, nothing is sent */
	if (push(E.image, "push/app:v1", 0, NULL, &st, &err))
		fail_msg("push again: %s", err.msg);
	assert_int_equal(st.blobs_present, 2);
	assert_int_equal(st.bytes_sent, 0);
}

/* mount_from: the blobs come from another repository of the registry. */
static void test_push_mount(void **state)
{
	struct hoist_push_stats st;
	struct hoist_err err;

	(void)state;
	TL_NEED_LIVE(E.reg > 0);
	if (push(E.image, "mount/src:v1", 0, NULL, &st, &err))
		fail_msg("push: %s", err.msg);
	if (push(E.image, "mount/dst:v1", 0, "mount/src", &st, &err))
		fail_msg("push with mount: %s", err.msg);
	assert_int_equal(st.blobs, 2);
	assert_int_equal(st.blobs_present, 2);
	assert_int_equal(st.bytes_sent, 0);
	check_manifest("mount/dst", "v1", hoist_json_str(E.image, "digest"));
}

/* By digest: the manifest is there, and no tag names it. */
static void test_push_by_digest(void **state)
{
	struct hoist_push_stats st;
	struct hoist_http_response r;
	struct hoist_err err;
	const char *digest = hoist_json_str(E.image, "digest");
	json_t *doc = NULL, *tags;

	(void)state;
	TL_NEED_LIVE(E.reg > 0);
	if (push(E.image, "bydigest/app", 1, NULL, &st, &err))
		fail_msg("push: %s", err.msg);
	assert_string_equal(st.digest, digest);
	check_manifest("bydigest/app", digest, digest);
	get("GET", "bydigest/app", "tags/list", &r);
	if (r.status == 200) {
		assert_int_equal(hoist_json_parse(&doc, r.body.data, r.body.len,
						  "tags", &err),
				 0);
		tags = json_object_get(doc, "tags");
		assert_true(json_is_null(tags) || !tags ||
			    json_array_size(tags) == 0);
		json_decref(doc);
	} else {
		assert_int_equal(r.status, 404);
	}
	hoist_http_response_release(&r);
}

/* An image whose layer is missing from the store: the push fails and the
 * tag is never written. */
static void test_push_incomplete(void **state)
{
	struct hoist_image_layer l;
	struct hoist_push_stats st;
	struct hoist_http_response r;
	struct hoist_err err;
	json_t *desc;
	int ret;

	(void)state;
	TL_NEED_LIVE(E.reg > 0);
	memset(&l, 0, sizeof(l));
	/* sha256("") is nowhere in this store */
	l.digest = "sha256:"
		   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b785"
		   "2b855";
	l.diff_id = l.digest;
	l.compression = HOIST_COMP_GZIP;
	desc = tl_image_of(E.s, &l);
	ret = push(desc, "broken/app:v1", 0, NULL, &st, &err);
	assert_true(ret == HOIST_ENOTFOUND || ret == HOIST_EIO);
	assert_non_null(strstr(err.msg, l.digest));
	get("GET", "broken/app", "manifests/v1", &r);
	assert_int_equal(r.status, 404);
	hoist_http_response_release(&r);
	json_decref(desc);
}

static void test_push_bad_ref(void **state)
{
	struct hoist_registry_opts o;
	struct hoist_push_stats st;
	struct hoist_err err;

	(void)state;
	reg_opts(&o);
	/* no network needed: refused before any connection */
	assert_int_equal(hoist_registry_push(E.s, E.image,
					     "127.0.0.1:1/UPPER:v1", 0, &o, &st,
					     &err),
			 HOIST_EINVAL);
	assert_int_equal(err.code, HOIST_EINVAL);
	assert_null(strchr(err.msg, '\n'));
}

static int setup(void **state)
{
	const struct tl_registry ro = {0};

	(void)state;
	E.dir = tl_mkdtemp("registry");
	if (!E.dir)
		return -1;
	tl_isolate_env(E.dir);
	E.s = tl_store_open(E.dir, "store");
	E.image = tl_small_image(E.s, LAYER, 3);
	if (!tl_have_tools("docker-registry"))
		return 0;
	E.reg = tl_registry_start(E.dir, "reg", &ro, E.addr, sizeof(E.addr));
	if (E.reg <= 0)
		print_error("docker-registry did not come up (see %s)\n",
			    E.dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_stop(&E.reg);
	hoist_store_close(E.s);
	json_decref(E.image);
	if (!getenv("HOIST_TEST_KEEP"))
		tl_rm_rf(E.dir);
	free(E.dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_bad_ref),
		cmocka_unit_test(test_push_tag),
		cmocka_unit_test(test_push_mount),
		cmocka_unit_test(test_push_by_digest),
		cmocka_unit_test(test_push_incomplete),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
