/*
 * test-build.c: the build (a tree to images in the store) and the export
 * of a built image through the exporter interface. Digests must be
 * reproducible under an epoch, layers shared between outputs that want
 * the same compression, several platforms must make an index, and a
 * layout export must hold every blob with its digest.
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

#include "lib/build.h"
#include "lib/export.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/output.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

struct fixture {
	struct hoist_store *s;
	struct hoist_platform plats[2];
	struct hoist_build_layer layer;
	struct hoist_build_opts bo;
};

static void fixture_open(struct fixture *f, size_t nplats, int64_t epoch)
{
	struct hoist_err err;
	char *root = hoist_xasprintf("%s/store", tl_tmp);

	memset(f, 0, sizeof(*f));
	assert_int_equal(hoist_store_open(&f->s, root, &err), 0);
	free(root);
	assert_int_equal(
		hoist_platform_parse(&f->plats[0], "linux/amd64", &err), 0);
	assert_int_equal(
		hoist_platform_parse(&f->plats[1], "linux/arm64", &err), 0);
	f->layer.dir = hoist_xasprintf("%s/tree", tl_tmp);
	f->bo.platforms = f->plats;
	f->bo.nplatforms = nplats;
	f->bo.layers = &f->layer;
	f->bo.nlayers = 1;
	f->bo.epoch = epoch;
}

static void fixture_close(struct fixture *f)
{
	free((char *)f->layer.dir);
	hoist_store_close(f->s);
}

static json_t *build_one(struct fixture *f, enum hoist_compression c,
			 struct hoist_digest *cfg)
{
	struct hoist_build *b = NULL;
	struct hoist_image_spec spec;
	struct hoist_err err;
	json_t *root = NULL;

	memset(&spec, 0, sizeof(spec));
	spec.compression = c;
	spec.level = HOIST_COMP_LEVEL_DEFAULT;
	spec.oci = 1;
	assert_int_equal(hoist_build_new(&b, f->s, &f->bo, &err), 0);
	if (hoist_build_image(b, &spec, &root, cfg, &err))
		fail_msg("build: %s", err.msg);
	hoist_build_free(b);
	return root;
}

static void test_reproducible(void **state)
{
	struct fixture f;
	struct hoist_digest c1, c2;
	json_t *a, *b, *raw;

	(void)state;
	fixture_open(&f, 1, 1700000000);
	a = build_one(&f, HOIST_COMP_GZIP, &c1);
	b = build_one(&f, HOIST_COMP_GZIP, &c2);
	assert_string_equal(hoist_json_str(a, "mediaType"),
			    HOIST_MT_OCI_MANIFEST);
	assert_string_equal(hoist_json_str(a, "digest"),
			    hoist_json_str(b, "digest"));
	assert_string_equal(c1.str, c2.str);
	assert_true(strncmp(c1.str, "sha256:", 7) == 0);
	/* another compression: another manifest, the same config */
	raw = build_one(&f, HOIST_COMP_NONE, &c2);
	assert_string_not_equal(hoist_json_str(a, "digest"),
				hoist_json_str(raw, "digest"));
	json_decref(a);
	json_decref(b);
	json_decref(raw);
	fixture_close(&f);

	/* another epoch: another config */
	fixture_open(&f, 1, 1800000000);
	a = build_one(&f, HOIST_COMP_GZIP, &c2);
	assert_string_not_equal(c1.str, c2.str);
	json_decref(a);
	fixture_close(&f);
}

static void test_multi_platform(void **state)
{
	struct fixture f;
	struct hoist_digest cfg;
	struct hoist_img_manifest *ms = NULL;
	struct hoist_err err;
	size_t n = 0;
	json_t *root;

	(void)state;
	fixture_open(&f, 2, 0);
	root = build_one(&f, HOIST_COMP_GZIP, &cfg);
	assert_string_equal(hoist_json_str(root, "mediaType"),
			    HOIST_MT_OCI_INDEX);
	assert_string_equal(cfg.str, "");
	assert_int_equal(hoist_imgwalk_manifests(&ms, &n, f.s, root, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ms[0].platform.arch, "amd64");
	assert_string_equal(ms[1].platform.arch, "arm64");
	hoist_imgwalk_manifests_free(ms, n);
	json_decref(root);
	fixture_close(&f);
}

/* Plan spec and write root through it. */
static int export_to(struct hoist_store *s, const json_t *root,
		     const char *spec, struct hoist_err *err)
{
	struct hoist_export_plan p;
	struct hoist_output o;
	int rc = hoist_output_parse(&o, spec, err);

	if (rc)
		return rc;
	rc = hoist_export_plan(&p, &o, NULL, 0, 0, err);
	hoist_output_release(&o);
	if (rc)
		return rc;
	rc = hoist_export_write(&p, s, root, err);
	hoist_export_plan_release(&p);
	return rc;
}

static void test_export_layout(void **state)
{
	struct fixture f;
	struct hoist_digest cfg;
	struct hoist_err err;
	json_t *root, *blobs = NULL, *b;
	char *spec, *path;
	size_t i;

	(void)state;
	fixture_open(&f, 1, 0);
	root = build_one(&f, HOIST_COMP_GZIP, &cfg);
	spec = hoist_xasprintf("type=oci,tar=false,dest=%s/layout", tl_tmp);
	if (export_to(f.s, root, spec, &err))
		fail_msg("export: %s", err.msg);
	free(spec);
	assert_int_equal(hoist_imgwalk_blobs(&blobs, f.s, root, &err), 0);
	json_array_foreach(blobs, i, b)
	{
		const char *d = hoist_json_str(b, "digest");
		path = hoist_xasprintf("%s/layout/blobs/sha256/%s", tl_tmp,
				       d + 7);
		tl_must_run("test \"sha256:$(sha256sum < '%s' | cut -c1-64)\" "
			    "= '%s'",
			    path, d);
		free(path);
	}
	path = hoist_xasprintf("%s/layout/index.json", tl_tmp);
	free(tl_must_read(path, NULL));
	free(path);

	/* a tarball, and a docker tarball with manifest.json */
	spec = hoist_xasprintf("type=docker,dest=%s/d.tar,name=app:1", tl_tmp);
	if (export_to(f.s, root, spec, &err))
		fail_msg("export: %s", err.msg);
	free(spec);
	tl_must_run("tar -tf '%s/d.tar' | grep -qx manifest.json", tl_tmp);
	tl_must_run("tar -tf '%s/d.tar' | grep -c '^blobs/sha256/.' | "
		    "grep -qx %zu",
		    tl_tmp, json_array_size(blobs));

	/* the local exporter: the tree comes back */
	spec = hoist_xasprintf("type=local,dest=%s/rootfs", tl_tmp);
	if (export_to(f.s, root, spec, &err))
		fail_msg("export: %s", err.msg);
	free(spec);
	tl_must_run("cmp '%s/tree/etc/hostname' '%s/rootfs/etc/hostname'",
		    tl_tmp, tl_tmp);
	json_decref(blobs);
	json_decref(root);
	fixture_close(&f);
}

static int setup(void **state)
{
	char *sh;
	int rc;

	if (tl_tmp_setup(state))
		return -1;
	sh = hoist_xasprintf("cd '%s' && mkdir -p tree/etc tree/usr/bin && "
			     "echo hello > tree/etc/hostname && "
			     "seq 1 20000 > tree/usr/bin/numbers && "
			     "ln -s ../etc/hostname tree/usr/hn",
			     tl_tmp);
	rc = tl_sh(sh);
	free(sh);
	return rc == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_multi_platform),
		cmocka_unit_test(test_export_layout),
	};
	return cmocka_run_group_tests(tests, setup, tl_tmp_teardown);
}
