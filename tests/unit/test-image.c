/* test-image.c: stable bytes of configs, manifests and indexes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/image.h"
#include "util/json.h"

#define D1                                                                     \
	"sha256:"                                                              \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
	"sha256:"                                                              \
	"2222222222222222222222222222222222222222222222222222222222222222"

static void config_golden(void **state)
{
	struct hoist_platform p = {"linux", "arm", "v7"};
	const char *env[] = {"FOO=bar", "FOO=baz"};
	const char *ep[] = {"/bin/app", "--flag"};
	const char *labels[] = {"z=last", "a=first"};
	const char *ports[] = {"80/tcp"};
	struct hoist_image_runconfig rc;
	struct hoist_image_layer l = {D1,  D2,   10,  HOIST_COMP_GZIP,
				      "x", NULL, NULL};
	char *out;
	size_t len;
	(void)state;

	memset(&rc, 0, sizeof(rc));
	rc.env = env;
	rc.nenv = 2;
	rc.entrypoint = ep;
	rc.nentrypoint = 2;
	rc.entrypoint_set = 1;
	rc.labels = labels;
	rc.nlabels = 2;
	rc.exposed = ports;
	rc.nexposed = 1;
	rc.user = "1000:1000";
	assert_int_equal(
		hoist_image_config(&out, &len, &p, &rc, &l, 1, 0, NULL), 0);
	/* top-level keys sorted (BuildKit re-marshals through a map) */
	assert_string_equal(
		out,
		"{\"architecture\":\"arm\",\"config\":{\"User\":\"1000:1000\","
		"\"ExposedPorts\":{\"80/tcp\":{}},\"Env\":[\"PATH=/usr/local/"
		"sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"FOO="
		"baz\"],\"Entrypoint\":[\"/bin/app\",\"--flag\"],"
		"\"WorkingDir\":\"/\",\"Labels\":{\"a\":\"first\",\"z\":"
		"\"last\"}},\"created\":\"1970-01-01T00:00:00Z\",\"history\":[{"
		"\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"x\","
		"\"comment\":\"hoist.build.v0\"}],\"os\":\"linux\",\"rootfs\":{"
		"\"type\":\"layers\",\"diff_ids\":[\"" D2 "\"]},\"variant\":"
		"\"v7\"}");
	assert_int_equal(len, strlen(out));
	free(out);
}

static void manifest_golden(void **state)
{
	struct hoist_image_layer l = {D1,   D2,   10,  HOIST_COMP_ZSTD,
				      NULL, NULL, NULL};
	json_t *cfg = hoist_image_desc(HOIST_MT_OCI_CONFIG, D2, 5);
	json_t *ann = json_object();
	char *out;
	size_t len;
	(void)state;

	hoist_json_set_str(ann, "k", "<v>");
	assert_int_equal(
		hoist_image_manifest(&out, &len, cfg, &l, 1, ann, 1, NULL), 0);
	assert_string_equal(
		out, "{\n"
		     "  \"schemaVersion\": 2,\n"
		     "  \"mediaType\": \"" HOIST_MT_OCI_MANIFEST "\",\n"
		     "  \"config\": {\n"
		     "    \"mediaType\": \"" HOIST_MT_OCI_CONFIG "\",\n"
		     "    \"digest\": \"" D2 "\",\n"
		     "    \"size\": 5\n"
		     "  },\n"
		     "  \"layers\": [\n"
		     "    {\n"
		     "      \"mediaType\": \"" HOIST_MT_OCI_LAYER_ZSTD "\",\n"
		     "      \"digest\": \"" D1 "\",\n"
		     "      \"size\": 10\n"
		     "    }\n"
		     "  ],\n"
		     "  \"annotations\": {\n"
		     "    \"k\": \"\\u003cv\\u003e\"\n"
		     "  }\n"
		     "}");
	free(out);
	/* Docker media types carry no annotations */
	assert_int_equal(
		hoist_image_manifest(&out, &len, cfg, &l, 1, ann, 0, NULL),
		HOIST_EINVAL);
	assert_int_equal(
		hoist_image_manifest(&out, &len, cfg, &l, 1, NULL, 0, NULL), 0);
	assert_non_null(strstr(out, HOIST_MT_DOCKER_MANIFEST));
	assert_non_null(strstr(out, HOIST_MT_DOCKER_LAYER_ZSTD));
	free(out);
	json_decref(ann);
	json_decref(cfg);
}

static void index_and_types(void **state)
{
	json_t *descs = json_array();
	json_t *d = hoist_image_desc(HOIST_MT_OCI_MANIFEST, D1, 3);
	struct hoist_platform p = {"linux", "arm64", ""};
	char *out;
	size_t len;
	(void)state;

	hoist_image_desc_set_platform(d, &p);
	json_array_append_new(descs, d);
	assert_int_equal(hoist_image_index(&out, &len, descs, NULL, 0, NULL),
			 0);
	assert_non_null(strstr(out, HOIST_MT_DOCKER_LIST));
	assert_non_null(strstr(out, "\"architecture\": \"arm64\",\n"
				    "        \"os\": \"linux\""));
	free(out);
	json_decref(descs);

	assert_string_equal(hoist_image_layer_mt(HOIST_COMP_NONE, 1),
			    HOIST_MT_OCI_LAYER);
	assert_string_equal(hoist_image_layer_mt(HOIST_COMP_GZIP, 0),
			    HOIST_MT_DOCKER_LAYER_GZIP);
	assert_true(hoist_image_mt_is_index(HOIST_MT_DOCKER_LIST));
	assert_false(hoist_image_mt_is_index(HOIST_MT_OCI_MANIFEST));
	assert_true(hoist_image_mt_is_layer(HOIST_MT_DOCKER_LAYER));
	assert_false(hoist_image_mt_is_layer(HOIST_MT_OCI_CONFIG));
}

static void desc_validation(void **state)
{
	const char *mt, *dg;
	uint64_t size;
	json_t *d;
	(void)state;

	d = hoist_image_desc(HOIST_MT_OCI_MANIFEST, D1, 7);
	assert_int_equal(hoist_image_desc_get(d, &mt, &dg, &size, NULL), 0);
	assert_int_equal(size, 7);
	json_object_set_new(d, "size", json_integer(-1));
	assert_int_equal(hoist_image_desc_get(d, &mt, &dg, &size, NULL),
			 HOIST_EINVAL);
	json_object_set_new(d, "size", json_integer(1));
	hoist_json_set_str(d, "digest", "sha256:../../etc/passwd");
	assert_int_equal(hoist_image_desc_get(d, &mt, &dg, &size, NULL),
			 HOIST_EINVAL);
	json_decref(d);
	assert_int_equal(hoist_image_desc_get(NULL, &mt, &dg, &size, NULL),
			 HOIST_EINVAL);
}

static void time_format(void **state)
{
	char buf[32];
	(void)state;
	hoist_image_time(1600000000, buf);
	assert_string_equal(buf, "2020-09-13T12:26:40Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_golden),
		cmocka_unit_test(manifest_golden),
		cmocka_unit_test(index_and_types),
		cmocka_unit_test(desc_validation),
		cmocka_unit_test(time_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
