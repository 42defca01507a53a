/*
 * test-imgwalk.c: the manifest-graph walker on graphs built in a scratch
 * store: visit order (children before post()), pruning, the depth limit,
 * subject only with its flag, each digest once, foreign layers, the strict
 * and tolerant shapes, and the two store walks (manifests with their
 * platforms, attestations skipped; every blob sorted), including a
 * manifest with 15,000 layers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

static char *tmp;
static struct hoist_store *st;

static int setup(void **state)
{
	struct hoist_err err;
	char *root;

	(void)state;
	tmp = tl_mkdtemp("imgwalk");
	if (!tmp)
		return -1;
	root = hoist_xasprintf("%s/store", tmp);
	if (hoist_store_open(&st, root, &err)) {
		free(root);
		return -1;
	}
	free(root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hoist_store_close(st);
	tl_rm_rf(tmp);
	free(tmp);
	return 0;
}

/* Store doc (stolen) as a blob of media type mt: its new descriptor. */
static json_t *put(const char *mt, json_t *doc)
{
	struct hoist_digest d;
	struct hoist_err err;
	char *text;
	size_t len;

	assert_int_equal(hoist_json_dump(&text, &len, doc, 0, &err), 0);
	assert_int_equal(hoist_store_put(st, text, len, &d, &err), 0);
	free(text);
	json_decref(doc);
	return hoist_image_desc(mt, d.str, len);
}

static json_t *put_text(const char *mt, const char *text)
{
	struct hoist_digest d;
	struct hoist_err err;

	assert_int_equal(hoist_store_put(st, text, strlen(text), &d, &err), 0);
	return hoist_image_desc(mt, d.str, strlen(text));
}

static json_t *config(const char *os, const char *arch)
{
	json_t *c = json_object();

	hoist_json_set_str(c, "os", os);
	hoist_json_set_str(c, "architecture", arch);
	return put(HOIST_MT_OCI_CONFIG, c);
}

/* A manifest with cfg and the layers given (descriptors, stolen). */
static json_t *manifest(json_t *cfg, json_t *subject, int nlayers, ...)
{
	json_t *m = json_object(), *layers = json_array();
	va_list ap;

	va_start(ap, nlayers);
	for (int i = 0; i < nlayers; i++)
		json_array_append_new(layers, va_arg(ap, json_t *));
	va_end(ap);
	json_object_set_new(m, "schemaVersion", json_integer(2));
	hoist_json_set_str(m, "mediaType", HOIST_MT_OCI_MANIFEST);
	json_object_set_new(m, "config", cfg);
	json_object_set_new(m, "layers", layers);
	if (subject)
		json_object_set_new(m, "subject", subject);
	return put(HOIST_MT_OCI_MANIFEST, m);
}

static json_t *with_platform(json_t *desc, const char *os, const char *arch)
{
	json_t *p = json_object();

	hoist_json_set_str(p, "architecture", arch);
	hoist_json_set_str(p, "os", os);
	json_object_set_new(desc, "platform", p);
	return desc;
}

/* An index of the entries given (stolen). */
static json_t *index_of(int n, ...)
{
	json_t *x = json_object(), *ms = json_array();
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		json_array_append_new(ms, va_arg(ap, json_t *));
	va_end(ap);
	json_object_set_new(x, "schemaVersion", json_integer(2));
	hoist_json_set_str(x, "mediaType", HOIST_MT_OCI_INDEX);
	json_object_set_new(x, "manifests", ms);
	return put(HOIST_MT_OCI_INDEX, x);
}

static json_t *layer(const char *content)
{
	return put_text(HOIST_MT_OCI_LAYER_GZIP, content);
}

/* A visitor that logs "pre:ROLE:KIND" and "post:KIND" lines. */
struct trace {
	char log[4096];
	size_t at;
	int prune_role; /* pre() prunes nodes with this role; -1 none */
	int fail_kind;  /* pre() fails on this kind; -1 none */
	int foreign;
};

static const char *const role_names[] = {"root", "entry", "config", "layer",
					 "subject"};
static const char *const kind_names[] = {"index", "manifest", "blob"};

static int trace_pre(void *ctx, const struct hoist_imgwalk_node *n,
		     struct hoist_err *err)
{
	struct trace *t = ctx;

	t->at += (size_t)snprintf(t->log + t->at, sizeof(t->log) - t->at,
				  "pre:%s:%s ", role_names[n->role],
				  kind_names[n->kind]);
	t->foreign += n->foreign;
	if ((int)n->kind == t->fail_kind)
		return hoist_err_set(err, HOIST_EEXIST, "refused by visitor");
	return (int)n->role == t->prune_role ? HOIST_IMGWALK_PRUNE : 0;
}

static int trace_post(void *ctx, const struct hoist_imgwalk_node *n,
		      struct hoist_err *err)
{
	struct trace *t = ctx;

	(void)err;
	assert_non_null(n->doc);
	t->at += (size_t)snprintf(t->log + t->at, sizeof(t->log) - t->at,
				  "post:%s ", kind_names[n->kind]);
	return 0;
}

static const struct hoist_imgwalk_ops trace_ops = {trace_pre, NULL, trace_post};

static void trace_init(struct trace *t)
{
	memset(t, 0, sizeof(*t));
	t->prune_role = -1;
	t->fail_kind = -1;
}

static void test_order(void **state)
{
	struct hoist_err err;
	struct trace t;
	json_t *m, *root;

	(void)state;
	m = manifest(config("linux", "amd64"), NULL, 2, layer("a"), layer("b"));
	root = index_of(1, m);
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, root, 0, &trace_ops, &t, &err), 0);
	assert_string_equal(t.log, "pre:root:index pre:entry:manifest "
				   "pre:config:blob pre:layer:blob "
				   "pre:layer:blob post:manifest post:index ");
	/* pruning the entries: neither loaded nor posted */
	trace_init(&t);
	t.prune_role = HOIST_IMGWALK_ENTRY;
	assert_int_equal(hoist_imgwalk(st, root, 0, &trace_ops, &t, &err), 0);
	assert_string_equal(t.log, "pre:root:index pre:entry:manifest "
				   "post:index ");
	/* a visitor's error stops the walk with its code */
	trace_init(&t);
	t.fail_kind = HOIST_IMGWALK_BLOB;
	assert_int_equal(hoist_imgwalk(st, root, 0, &trace_ops, &t, &err),
			 HOIST_EEXIST);
	assert_string_equal(err.msg, "refused by visitor");
	assert_string_equal(t.log, "pre:root:index pre:entry:manifest "
				   "pre:config:blob ");
	json_decref(root);
}

static void test_once(void **state)
{
	struct hoist_err err;
	struct trace t;
	json_t *m, *root;

	(void)state;
	/* the same layer twice and the same manifest in two entries */
	m = manifest(config("linux", "arm64"), NULL, 2, layer("same"),
		     layer("same"));
	root = index_of(2, json_incref(m), m);
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, root, 0, &trace_ops, &t, &err), 0);
	assert_int_equal(strlen(t.log), strlen("pre:root:index ") +
						2 * strlen("pre:entry:manifest "
							   "pre:config:blob "
							   "pre:layer:blob "
							   "pre:layer:blob "
							   "post:manifest ") +
						strlen("post:index "));
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, root, HOIST_IMGWALK_ONCE, &trace_ops,
				       &t, &err),
			 0);
	assert_string_equal(t.log, "pre:root:index pre:entry:manifest "
				   "pre:config:blob pre:layer:blob "
				   "post:manifest post:index ");
	json_decref(root);
}

static void test_depth(void **state)
{
	struct hoist_err err;
	json_t *d = manifest(config("linux", "amd64"), NULL, 1, layer("d"));

	(void)state;
	/* the manifest sits HOIST_IMGWALK_MAX_DEPTH below the root: fine */
	for (int i = 0; i < HOIST_IMGWALK_MAX_DEPTH; i++)
		d = index_of(1, d);
	assert_int_equal(hoist_imgwalk(st, d, 0, NULL, NULL, &err), 0);
	/* one more level is refused */
	d = index_of(1, d);
	assert_int_equal(hoist_imgwalk(st, d, 0, NULL, NULL, &err),
			 HOIST_ELIMIT);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	json_decref(d);
}

static void test_subject(void **state)
{
	struct hoist_err err;
	struct trace t;
	json_t *subj, *ref;

	(void)state;
	subj = manifest(config("linux", "amd64"), NULL, 1, layer("subject"));
	ref = manifest(config("unknown", "unknown"), subj, 0);
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, ref, 0, &trace_ops, &t, &err), 0);
	assert_null(strstr(t.log, "subject"));
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, ref, HOIST_IMGWALK_SUBJECT,
				       &trace_ops, &t, &err),
			 0);
	assert_string_equal(t.log, "pre:root:manifest pre:config:blob "
				   "pre:subject:manifest pre:config:blob "
				   "pre:layer:blob post:manifest "
				   "post:manifest ");
	json_decref(ref);
}

static void test_foreign(void **state)
{
	struct hoist_err err;
	struct trace t;
	json_t *m;

	(void)state;
	m = manifest(config("windows", "amd64"), NULL, 2,
		     put_text("application/vnd.docker.image.rootfs.foreign."
			      "diff.tar.gzip",
			      "foreign"),
		     put_text("application/vnd.oci.image.layer."
			      "nondistributable.v1.tar+gzip",
			      "nondist"));
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, m, 0, &trace_ops, &t, &err), 0);
	/* visited as ordinary layers, flagged */
	assert_int_equal(t.foreign, 2);
	assert_non_null(strstr(t.log, "pre:layer:blob pre:layer:blob"));
	json_decref(m);
}

static void test_strict_shapes(void **state)
{
	struct hoist_err err;
	json_t *doc, *d;

	(void)state;
	doc = json_pack("{s:i, s:s}", "schemaVersion", 2, "mediaType",
			HOIST_MT_OCI_INDEX);
	d = put(HOIST_MT_OCI_INDEX, doc);
	assert_int_equal(hoist_imgwalk(st, d, 0, NULL, NULL, &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "has no manifests"));
	json_decref(d);

	doc = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
			HOIST_MT_OCI_MANIFEST, "config",
			config("linux", "amd64"));
	d = put(HOIST_MT_OCI_MANIFEST, doc);
	assert_int_equal(hoist_imgwalk(st, d, 0, NULL, NULL, &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "has no config or layers"));
	/* tolerant: a missing array is empty */
	assert_int_equal(
		hoist_imgwalk(st, d, HOIST_IMGWALK_TOLERANT, NULL, NULL, &err),
		0);
	json_decref(d);

	/* a descriptor without a digest */
	d = json_pack("{s:s, s:i}", "mediaType", HOIST_MT_OCI_MANIFEST, "size",
		      2);
	assert_int_equal(hoist_imgwalk(st, d, 0, NULL, NULL, &err),
			 HOIST_EINVAL);
	assert_int_equal(
		hoist_imgwalk(st, d, HOIST_IMGWALK_TOLERANT, NULL, NULL, &err),
		0);
	json_decref(d);
}

static void test_tolerant(void **state)
{
	struct hoist_err err;
	struct trace t;
	json_t *m, *missing, *root, *bare;

	(void)state;
	/* a manifest the store does not have */
	missing = hoist_image_desc(HOIST_MT_OCI_MANIFEST,
				   "sha256:00000000000000000000000000000000"
				   "00000000000000000000000000000000",
				   10);
	m = manifest(config("linux", "amd64"), NULL, 1, layer("t"));
	/* an entry without mediaType: the blob's own says manifest */
	bare = json_deep_copy(m);
	json_object_del(bare, "mediaType");
	root = index_of(3, missing, m, bare);
	assert_int_equal(hoist_imgwalk(st, root, 0, NULL, NULL, &err),
			 HOIST_ENOTFOUND);
	trace_init(&t);
	assert_int_equal(hoist_imgwalk(st, root, HOIST_IMGWALK_TOLERANT,
				       &trace_ops, &t, &err),
			 0);
	assert_string_equal(t.log, "pre:root:index pre:entry:manifest "
				   "pre:entry:manifest pre:config:blob "
				   "pre:layer:blob post:manifest "
				   "pre:entry:manifest pre:config:blob "
				   "pre:layer:blob post:manifest "
				   "post:index ");
	json_decref(root);
}

static void test_manifests(void **state)
{
	struct hoist_img_manifest *ms = NULL;
	struct hoist_err err;
	json_t *amd, *arm, *att, *root, *blob;
	size_t n = 0;

	(void)state;
	amd = with_platform(
		manifest(config("linux", "amd64"), NULL, 1, layer("amd")),
		"linux", "amd64");
	/* no platform on the entry: the config's */
	arm = manifest(config("linux", "arm64"), NULL, 1, layer("arm"));
	att = with_platform(manifest(config("x", "y"), NULL, 0), "unknown",
			    "unknown");
	root = index_of(1, index_of(3, amd, att, arm));
	assert_int_equal(hoist_imgwalk_manifests(&ms, &n, st, root, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ms[0].platform.arch, "amd64");
	assert_string_equal(ms[1].platform.arch, "arm64");
	assert_string_equal(ms[1].platform.os, "linux");
	assert_non_null(json_object_get(ms[1].manifest, "layers"));
	assert_string_equal(hoist_json_str(ms[1].config, "architecture"),
			    "arm64");
	hoist_imgwalk_manifests_free(ms, n);
	json_decref(root);

	/* a root that is neither */
	blob = layer("not a manifest");
	assert_int_equal(hoist_imgwalk_manifests(&ms, &n, st, blob, &err),
			 HOIST_EUNSUPPORTED);
	json_decref(blob);
}

static void test_blobs_large(void **state)
{
	struct hoist_err err;
	json_t *m = json_object(), *layers = json_array(), *d, *out = NULL;
	const char *prev = "";
	uint64_t t0;
	size_t i;

	(void)state;
	/* 15,000 layers, never loaded (leaves need not be present) */
	for (i = 0; i < 15000; i++) {
		char dg[80];
		snprintf(dg, sizeof(dg), "sha256:%064zx", i * 7919 % 15000);
		json_array_append_new(
			layers,
			hoist_image_desc(HOIST_MT_OCI_LAYER_GZIP, dg, i));
	}
	json_object_set_new(m, "schemaVersion", json_integer(2));
	hoist_json_set_str(m, "mediaType", HOIST_MT_OCI_MANIFEST);
	json_object_set_new(m, "config", config("linux", "amd64"));
	json_object_set_new(m, "layers", layers);
	d = put(HOIST_MT_OCI_MANIFEST, m);
	t0 = tl_mono_ms();
	assert_int_equal(hoist_imgwalk_blobs(&out, st, d, &err), 0);
	assert_true(tl_mono_ms() - t0 < 20000);
	assert_int_equal(json_array_size(out), 15002);
	json_array_foreach(out, i, m)
	{
		assert_true(strcmp(prev, hoist_json_str(m, "digest")) < 0);
		prev = hoist_json_str(m, "digest");
	}
	json_decref(out);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_strict_shapes),
		cmocka_unit_test(test_tolerant),
		cmocka_unit_test(test_manifests),
		cmocka_unit_test(test_blobs_large),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
