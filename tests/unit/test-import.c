/*
 * test-import.c: importing OCI layouts, OCI archives and docker archives.
 *
 * Real inputs come from the hoist binary (type=oci tar and directory,
 * type=docker, multi-platform) and from skopeo (docker-archive with its
 * <diffid>.tar files, oci-archive); each is imported into a fresh store and
 * compared with its source. Hostile inputs come from
 * tests/data/mk-hostile-archives.py: each differs from a valid one in one
 * way and must fail with an error naming the input and what is wrong,
 * leaving no ingest file and no name in the store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compress.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/import.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

static char *tmp;
static int nstores;
static int have_skopeo;

static char *path_of(const char *rel)
{
	return hoist_xasprintf("%s/%s", tmp, rel);
}

static int group_setup(void **state)
{
	const char *src = getenv("HOIST_SRCDIR");
	const char *bld = getenv("HOIST_BUILDDIR");
	char h[512];

	(void)state;
	tmp = tl_mkdtemp("import");
	if (!tmp)
		return -1;
	snprintf(h, sizeof(h), "'%s/hoist' --root '%s/hroot'", bld ? bld : ".",
		 tmp);
	tl_must_run("python3 '%s/tests/data/mk-hostile-archives.py' '%s/hx'",
		    src ? src : "..", tmp);
	tl_must_run("cd '%s' && mkdir -p r1/etc r2/usr && "
		    "printf 'one\\n' > r1/etc/a && printf 'two\\n' > r2/usr/b "
		    "&& ln -s ../etc/a r2/usr/l",
		    tmp);
	tl_must_run("cd '%s' && SOURCE_DATE_EPOCH=1700000000 %s build -q "
		    "--rootfs r1 --rootfs r2 -t foo:1 "
		    "-o type=oci,tar=false,dest=od -o type=oci,dest=o.tar "
		    "-o type=docker,dest=d.tar >/dev/null",
		    tmp, h);
	tl_must_run("cd '%s' && %s build -q --rootfs r1 -t z:1 "
		    "-o type=docker,compression=zstd,dest=dz.tar >/dev/null",
		    tmp, h);
	tl_must_run("cd '%s' && %s build -q --rootfs r1 --rootfs r2 "
		    "--platform linux/amd64,linux/arm64 -t multi:1 "
		    "-o type=oci,tar=false,dest=md >/dev/null",
		    tmp, h);
	have_skopeo = system("skopeo --version >/dev/null 2>&1") == 0;
	if (have_skopeo) {
		tl_must_run(
			"cd '%s' && skopeo copy -q --insecure-policy oci:od:1 "
			"docker-archive:sd.tar:foo/bar:v1",
			tmp);
		tl_must_run(
			"cd '%s' && skopeo copy -q --insecure-policy oci:od:1 "
			"oci-archive:so.tar:v1",
			tmp);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rm_rf(tmp);
	free(tmp);
	return 0;
}

static struct hoist_store *fresh_store(char **root)
{
	struct hoist_store *s = NULL;
	struct hoist_err err;

	*root = hoist_xasprintf("%s/store-%d", tmp, nstores++);
	assert_int_equal(hoist_store_open(&s, *root, &err), 0);
	return s;
}

/* The blob of a layout directory equals the store's copy. */
static void assert_same_blob(struct hoist_store *s, const char *layout,
			     const char *digest)
{
	char *a = hoist_xasprintf("%s/%s/blobs/sha256/%s", tmp, layout,
				  hoist_digest_hex(digest));
	char *b = hoist_store_blob_path(s, digest);
	size_t la, lb;
	char *da = tl_must_read(a, &la), *db = tl_must_read(b, &lb);

	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	free(da);
	free(db);
	free(a);
	free(b);
}

/* The digest of the only (or the REF) entry of a layout's index.json. */
static char *layout_root(const char *layout)
{
	char *p = hoist_xasprintf("%s/%s/index.json", tmp, layout);
	size_t len;
	char *text = tl_must_read(p, &len), *d;
	json_t *idx;
	struct hoist_err err;

	assert_int_equal(hoist_json_parse(&idx, text, len, "index", &err), 0);
	d = hoist_xstrdup(hoist_json_str(
		json_array_get(json_object_get(idx, "manifests"), 0),
		"digest"));
	json_decref(idx);
	free(text);
	free(p);
	return d;
}

/* No ingest file, no name. */
static void assert_clean(struct hoist_store *s, const char *root)
{
	char *ing = hoist_xasprintf("%s/ingest", root);
	json_t *list = NULL;
	struct hoist_err err;

	assert_int_equal(tl_count_dir(ing, 1), 0);
	assert_int_equal(hoist_store_list(s, &list, &err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	free(ing);
}

/* Every blob root reaches is in the store and equals the layout's. */
static size_t assert_whole(struct hoist_store *s, const json_t *root,
			   const char *layout)
{
	json_t *blobs = NULL, *b;
	struct hoist_err err;
	size_t i, n;

	if (hoist_imgwalk_blobs(&blobs, s, root, &err)) {
		print_message("walk: %s\n", err.msg);
		fail();
	}
	json_array_foreach(blobs, i, b)
	{
		assert_true(hoist_store_has(s, hoist_json_str(b, "digest")));
		if (layout)
			assert_same_blob(s, layout,
					 hoist_json_str(b, "digest"));
	}
	n = json_array_size(blobs);
	json_decref(blobs);
	return n;
}

typedef int (*import_fn)(json_t **, struct hoist_store *, const char *,
			 const char *, struct hoist_err *);

/* Import a file under tmp; fails the test on error. */
static json_t *import_ok(import_fn fn, struct hoist_store *s, const char *rel,
			 const char *ref)
{
	char *p = path_of(rel);
	json_t *root = NULL;
	struct hoist_err err;

	hoist_err_clear(&err);
	if (fn(&root, s, p, ref, &err)) {
		print_message("import %s: %s\n", rel, err.msg);
		fail();
	}
	assert_non_null(root);
	free(p);
	return root;
}

static void test_oci_dir(void **state)
{
	const char *refs[] = {NULL, "1", "foo:1", "docker.io/library/foo:1"};
	char *want = layout_root("od"), *root_path;
	struct hoist_store *s = fresh_store(&root_path);

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(refs); i++) {
		json_t *root =
			import_ok(hoist_import_oci_dir, s, "od", refs[i]);
		const json_t *ann = json_object_get(root, "annotations");

		assert_string_equal(hoist_json_str(root, "digest"), want);
		assert_string_equal(hoist_json_str(root, "mediaType"),
				    HOIST_MT_OCI_MANIFEST);
		/* The source's names are not carried over. */
		assert_null(hoist_json_str(ann, HOIST_ANN_IMAGE_NAME));
		assert_null(hoist_json_str(ann, HOIST_ANN_REF_NAME));
		assert_same_blob(s, "od", want);
		/* manifest, config, two layers */
		assert_int_equal(assert_whole(s, root, "od"), 4);
		json_decref(root);
	}
	assert_clean(s, root_path);
	hoist_store_close(s);
	free(root_path);
	free(want);
}

static void test_oci_dir_multi(void **state)
{
	char *mdblobs = path_of("md/blobs/sha256"), *root_path;
	struct hoist_store *s = fresh_store(&root_path);
	json_t *root = import_ok(hoist_import_oci_dir, s, "md", "multi:1");
	struct hoist_img_manifest *ms = NULL;
	struct hoist_err err;
	size_t n = 0;
	char *want = layout_root("md");

	(void)state;
	assert_string_equal(hoist_json_str(root, "digest"), want);
	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_OCI_INDEX);
	assert_int_equal(assert_whole(s, root, "md"), tl_count_dir(mdblobs, 1));
	assert_int_equal(hoist_imgwalk_manifests(&ms, &n, s, root, &err), 0);
	assert_int_equal(n, 2);
	hoist_imgwalk_manifests_free(ms, n);
	json_decref(root);
	assert_clean(s, root_path);
	hoist_store_close(s);
	free(root_path);
	free(mdblobs);
	free(want);
}

static void test_oci_archive(void **state)
{
	char *want = layout_root("od"), *root_path;
	struct hoist_store *s = fresh_store(&root_path);
	json_t *root;

	(void)state;
	root = import_ok(hoist_import_oci_archive, s, "o.tar", NULL);
	assert_string_equal(hoist_json_str(root, "digest"), want);
	assert_int_equal(assert_whole(s, root, "od"), 4);
	json_decref(root);
	/* Again, with everything present, and by name. */
	root = import_ok(hoist_import_oci_archive, s, "o.tar", "foo:1");
	assert_string_equal(hoist_json_str(root, "digest"), want);
	json_decref(root);
	if (have_skopeo) {
		struct hoist_store *s2;
		char *r2;
		s2 = fresh_store(&r2);
		root = import_ok(hoist_import_oci_archive, s2, "so.tar", "v1");
		/* skopeo keeps the manifest's bytes. */
		assert_string_equal(hoist_json_str(root, "digest"), want);
		assert_int_equal(assert_whole(s2, root, "od"), 4);
		json_decref(root);
		assert_clean(s2, r2);
		hoist_store_close(s2);
		free(r2);
	}
	assert_clean(s, root_path);
	hoist_store_close(s);
	free(root_path);
	free(want);
}

static int hash_sink(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	(void)err;
	hoist_sha256_update(ctx, data, len);
	return 0;
}

/* sha256 of a stored layer after decompression. */
static void diff_id_of(struct hoist_store *s, const char *digest,
		       enum hoist_compression c, char out[HOIST_DIGEST_MAX])
{
	struct hoist_decompressor *d = NULL;
	struct hoist_sha256 h;
	struct hoist_sink sink = {hash_sink, &h};
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_err err;
	char *data = NULL;
	size_t len;

	/* store_get verifies the compressed digest too. */
	assert_int_equal(
		hoist_store_get(s, digest, (size_t)1 << 30, &data, &len, &err),
		0);
	hoist_sha256_init(&h);
	assert_int_equal(hoist_decompressor_new(&d, c, &sink, &err), 0);
	assert_int_equal(hoist_decompressor_write(d, data, len, &err), 0);
	assert_int_equal(hoist_decompressor_finish(d, &err), 0);
	hoist_decompressor_free(d);
	hoist_sha256_final_hex(&h, hex);
	snprintf(out, HOIST_DIGEST_MAX, "sha256:%s", hex);
	free(data);
}

/*
 * A docker-archive import: a v2s2 manifest whose config is the source's
 * config byte for byte and whose layers decompress to the diff_ids.
 */
static void check_docker(struct hoist_store *s, const json_t *root,
			 const char *want_config, const char *layer_mt,
			 enum hoist_compression c, const char *arch)
{
	struct hoist_img_manifest *ms = NULL;
	const json_t *ls, *l, *plat = json_object_get(root, "platform");
	json_t *ids;
	struct hoist_err err;
	size_t n = 0, i;

	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_DOCKER_MANIFEST);
	assert_string_equal(hoist_json_str(plat, "os"), "linux");
	assert_string_equal(hoist_json_str(plat, "architecture"), arch);
	assert_int_equal(hoist_imgwalk_manifests(&ms, &n, s, root, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(
		hoist_json_str(json_object_get(ms[0].manifest, "config"),
			       "mediaType"),
		HOIST_MT_DOCKER_CONFIG);
	if (want_config)
		assert_string_equal(
			hoist_json_str(
				json_object_get(ms[0].manifest, "config"),
				"digest"),
			want_config);
	ls = json_object_get(ms[0].manifest, "layers");
	ids = json_object_get(json_object_get(ms[0].config, "rootfs"),
			      "diff_ids");
	assert_int_equal(json_array_size(ls), json_array_size(ids));
	assert_true(json_array_size(ls) > 0);
	json_array_foreach(ls, i, l)
	{
		char id[HOIST_DIGEST_MAX];
		assert_string_equal(hoist_json_str(l, "mediaType"), layer_mt);
		diff_id_of(s, hoist_json_str(l, "digest"), c, id);
		assert_string_equal(id,
				    json_string_value(json_array_get(ids, i)));
		if (c == HOIST_COMP_NONE)
			assert_string_equal(id, hoist_json_str(l, "digest"));
	}
	hoist_imgwalk_manifests_free(ms, n);
	assert_whole(s, root, NULL);
}

/* The config digest of od's manifest (the source of the archives). */
static char *od_config(void)
{
	char *m = layout_root("od");
	char *p = hoist_xasprintf("%s/od/blobs/sha256/%s", tmp,
				  hoist_digest_hex(m));
	size_t len;
	char *text = tl_must_read(p, &len), *d;
	json_t *doc;
	struct hoist_err err;

	assert_int_equal(hoist_json_parse(&doc, text, len, "m", &err), 0);
	d = hoist_xstrdup(
		hoist_json_str(json_object_get(doc, "config"), "digest"));
	json_decref(doc);
	free(text);
	free(p);
	free(m);
	return d;
}

static void test_docker_archive(void **state)
{
	const char *refs[] = {NULL, "foo:1", "docker.io/library/foo:1", "@0"};
	char *cfg = od_config(), *root_path;
	struct hoist_store *s = fresh_store(&root_path);
	json_t *root;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(refs); i++) {
		root = import_ok(hoist_import_docker_archive, s, "d.tar",
				 refs[i]);
		check_docker(s, root, cfg, HOIST_MT_DOCKER_LAYER_GZIP,
			     HOIST_COMP_GZIP, "amd64");
		json_decref(root);
	}
	root = import_ok(hoist_import_docker_archive, s, "dz.tar", NULL);
	check_docker(s, root, NULL, HOIST_MT_DOCKER_LAYER_ZSTD, HOIST_COMP_ZSTD,
		     "amd64");
	json_decref(root);
	if (have_skopeo) {
		struct hoist_store *s2;
		char *r2;
		s2 = fresh_store(&r2);
		/* <diffid>.tar layers, uncompressed, tag normalised. */
		root = import_ok(hoist_import_docker_archive, s2, "sd.tar",
				 "foo/bar:v1");
		check_docker(s2, root, cfg, HOIST_MT_DOCKER_LAYER,
			     HOIST_COMP_NONE, "amd64");
		json_decref(root);
		assert_clean(s2, r2);
		hoist_store_close(s2);
		free(r2);
	}
	assert_clean(s, root_path);
	hoist_store_close(s);
	free(root_path);
	free(cfg);
}

static char warned[1024];

static void log_cb(enum hoist_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level == HOIST_LOG_WARN)
		snprintf(warned, sizeof(warned), "%s", msg);
}

/* The generator's valid inputs import, so its hostile ones fail for the
 * reason they were made for. */
static void test_fixtures_valid(void **state)
{
	char *root_path;
	struct hoist_store *s = fresh_store(&root_path);
	json_t *a, *b, *c;

	(void)state;
	a = import_ok(hoist_import_oci_archive, s, "hx/good-oci.tar", NULL);
	b = import_ok(hoist_import_oci_dir, s, "hx/good-oci", "v1");
	assert_true(json_equal(a, b));
	c = import_ok(hoist_import_oci_archive, s, "hx/oci-two.tar", "v1");
	assert_true(json_equal(a, c));
	json_decref(c);
	/* An unknown member is skipped, with a warning. */
	hoist_log_set(log_cb, NULL);
	c = import_ok(hoist_import_oci_archive, s, "hx/oci-extra.tar", NULL);
	hoist_log_set(NULL, NULL);
	assert_true(json_equal(a, c));
	assert_non_null(strstr(warned, "skipping unexpected member 'README'"));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	/* a symlink to a layer.tar inside the archive is followed */
	a = import_ok(hoist_import_docker_archive, s, "hx/good-docker.tar",
		      "test/img:v1");
	check_docker(s, a, NULL, HOIST_MT_DOCKER_LAYER, HOIST_COMP_NONE,
		     "amd64");
	json_decref(a);
	a = import_ok(hoist_import_docker_archive, s, "hx/docker-two.tar",
		      "test/b:v2");
	check_docker(s, a, NULL, HOIST_MT_DOCKER_LAYER, HOIST_COMP_NONE,
		     "arm64");
	json_decref(a);
	assert_clean(s, root_path);
	hoist_store_close(s);
	free(root_path);
}

struct bad_case {
	import_fn fn;
	const char *rel;
	const char *ref;
	const char *want; /* in the message */
	int code;
};

static void test_hostile(void **state)
{
	const struct bad_case cases[] = {
		{hoist_import_oci_archive, "hx/oci-bad-blob.tar", NULL,
		 "digest mismatch", HOIST_EDIGEST},
		{hoist_import_oci_dir, "hx/oci-bad-blob", NULL,
		 "digest mismatch", HOIST_EDIGEST},
		{hoist_import_oci_archive, "hx/oci-dup-bad-second.tar", NULL,
		 "appears more than once", HOIST_EINVAL},
		{hoist_import_oci_archive, "hx/oci-dup-bad-first.tar", NULL,
		 "digest mismatch", HOIST_EDIGEST},
		{hoist_import_oci_archive, "hx/oci-dup-same.tar", NULL,
		 "appears more than once", HOIST_EINVAL},
		{hoist_import_oci_archive, "hx/oci-dotdot.tar", NULL,
		 "member '../x': name is absolute or has '..'", HOIST_EINVAL},
		{hoist_import_oci_archive, "hx/oci-absolute.tar", NULL,
		 "member '/tmp/hoist-import-abs'", HOIST_EINVAL},
		{hoist_import_oci_archive, "hx/oci-big-index.tar", NULL,
		 "member 'index.json': larger than", HOIST_ELIMIT},
		{hoist_import_oci_dir, "hx/oci-big-index", NULL,
		 "'index.json' is larger than", HOIST_ELIMIT},
		{hoist_import_oci_archive, "hx/oci-missing-blob.tar", NULL,
		 "' is missing", HOIST_ENOTFOUND},
		{hoist_import_oci_archive, "hx/oci-two.tar", NULL,
		 "index.json has 2 entries", HOIST_EINVAL},
		{hoist_import_oci_archive, "hx/good-oci.tar", "nope",
		 "reference 'nope' not found", HOIST_ENOTFOUND},
		{hoist_import_oci_dir, "hx/good-oci", "v2",
		 "reference 'v2' not found", HOIST_ENOTFOUND},
		{hoist_import_oci_archive, "hx/oci-truncated.tar", NULL,
		 "member 'blobs/sha256/", HOIST_EINVAL},
		{hoist_import_oci_dir, "hx/oci-bad-digest", NULL,
		 "index.json: invalid digest", HOIST_EINVAL},
		{hoist_import_oci_dir, "hx/oci-link-blob", NULL,
		 "is a symlink (refused)", HOIST_EINVAL},
		{hoist_import_docker_archive, "hx/docker-missing-layer.tar",
		 NULL, "' is missing", HOIST_ENOTFOUND},
		{hoist_import_docker_archive, "hx/docker-bad-diffid.tar", NULL,
		 "diff_id mismatch", HOIST_EDIGEST},
		{hoist_import_docker_archive, "hx/docker-two.tar", NULL,
		 "manifest.json has 2 entries", HOIST_EINVAL},
		{hoist_import_docker_archive, "hx/good-docker.tar", "nope:1",
		 "reference 'nope:1' not found", HOIST_ENOTFOUND},
		{hoist_import_docker_archive, "hx/docker-link-escape.tar", NULL,
		 "member '0123/layer.tar': symlink leaves the archive",
		 HOIST_EINVAL},
		{hoist_import_docker_archive, "hx/docker-truncated.tar", NULL,
		 "import '", HOIST_EINVAL},
		{hoist_import_docker_archive, "hx/docker-bad-config.tar", NULL,
		 "digest mismatch", HOIST_EDIGEST},
		{hoist_import_docker_archive, "hx/good-oci.tar", NULL,
		 "no member 'manifest.json'", HOIST_EINVAL},
		{hoist_import_oci_archive, "hx/no-such.tar", NULL,
		 "No such file", HOIST_ENOTFOUND},
	};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(cases); i++) {
		const struct bad_case *c = &cases[i];
		char *root_path, *p = path_of(c->rel), *prefix;
		struct hoist_store *s = fresh_store(&root_path);
		json_t *root = NULL;
		struct hoist_err err;
		int rc;

		hoist_err_clear(&err);
		rc = c->fn(&root, s, p, c->ref, &err);
		print_message("# %s: %s\n", c->rel, err.msg);
		assert_int_equal(rc, c->code);
		assert_null(root);
		/* One line, naming the input first. */
		prefix = hoist_xasprintf("import '%s': ", p);
		assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
		assert_null(strchr(err.msg, '\n'));
		assert_non_null(strstr(err.msg, c->want));
		assert_clean(s, root_path);
		hoist_store_close(s);
		free(prefix);
		free(root_path);
		free(p);
	}
	/* Nothing was written where the hostile names pointed. */
	assert_false(hoist_fs_exists("/tmp/hoist-import-abs"));
	{
		char *x = hoist_xasprintf("%s/x", tmp);
		assert_false(hoist_fs_exists(x));
		free(x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_dir),
		cmocka_unit_test(test_oci_dir_multi),
		cmocka_unit_test(test_oci_archive),
		cmocka_unit_test(test_docker_archive),
		cmocka_unit_test(test_fixtures_valid),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
