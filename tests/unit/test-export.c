/*
 * test-export.c: the export plan. Each --output spec is checked into a
 * plan without touching anything: the exporter chosen, its options, its
 * destination checks, and the image options every image output shares.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/export.h"
#include "lib/output.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

/* Plan spec with tags; returns the plan's rc, err filled. */
static int plan(struct hoist_export_plan *p, const char *spec,
		const char *const *tags, size_t ntags, int64_t epoch,
		struct hoist_err *err)
{
	struct hoist_output o;
	int rc;

	hoist_err_clear(err);
	rc = hoist_output_parse(&o, spec, err);
	if (rc)
		return rc;
	rc = hoist_export_plan(p, &o, tags, ntags, epoch, err);
	hoist_output_release(&o);
	return rc;
}

/* spec must fail with HOIST_EINVAL-like rc and a message holding want. */
static void must_fail(const char *spec, const char *want)
{
	struct hoist_export_plan p;
	struct hoist_err err;
	int rc = plan(&p, spec, NULL, 0, -1, &err);

	if (rc == 0 || !strstr(err.msg, want))
		fail_msg("'%s': rc %d, message '%s', want '%s'", spec, rc,
			 err.msg, want);
}

static void test_types(void **state)
{
	struct hoist_export_plan p;
	struct hoist_err err;
	char *spec;

	(void)state;
	must_fail("type=bogus", "unknown output type 'bogus'");
	must_fail("type=cacheonly,compression=gzip", "takes no options");
	/* no dest: into the docker engine; its context is checked now */
	setenv("DOCKER_CONFIG", "/nonexistent/hoist-test", 1);
	must_fail("type=docker,context=nosuch",
		  "docker context 'nosuch' not found");
	{
		/* the engine's socket is reached at plan time: a listening
		 * one passes, a missing one fails before any build */
		char *dir = tl_mkdtemp("export"), host[4200];
		struct sockaddr_un sa;
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/d.sock", dir);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
		assert_int_equal(listen(fd, 4), 0);
		snprintf(host, sizeof(host), "unix://%s", sa.sun_path);
		setenv("DOCKER_HOST", host, 1);
		assert_int_equal(plan(&p, "type=docker", NULL, 0, -1, &err), 0);
		assert_true(p.load);
		assert_null(p.dest);
		assert_int_equal(hoist_export_uses_stdout(&p), 0);
		hoist_export_plan_release(&p);
		close(fd);
		unlink(sa.sun_path);
		must_fail("type=docker",
			  "cannot connect to the Docker engine at 'unix://");
		unsetenv("DOCKER_HOST");
		tl_rm_rf(dir);
		free(dir);
	}
	unsetenv("DOCKER_CONFIG");
	must_fail("type=local", "dest is required");
	must_fail("type=local,dest=-", "cannot be stdout");
	must_fail("type=registry", "tag is needed");
	must_fail("type=image,push=true", "tag is needed");

	assert_int_equal(plan(&p, "type=cacheonly", NULL, 0, -1, &err), 0);
	assert_int_equal(p.type, HOIST_EXPORT_CACHEONLY);
	assert_null(p.dest);
	hoist_export_plan_release(&p);

	assert_int_equal(plan(&p, "type=registry,name=reg.example/a:1", NULL, 0,
			      -1, &err),
			 0);
	assert_int_equal(p.type, HOIST_EXPORT_IMAGE);
	assert_string_equal(p.type_name, "registry");
	assert_true(p.push);
	hoist_export_plan_release(&p);

	/* oci without dest: a tarball on standard output */
	assert_int_equal(plan(&p, "type=oci", NULL, 0, -1, &err), 0);
	assert_true(p.tar);
	assert_string_equal(p.dest, "-");
	assert_true(hoist_export_uses_stdout(&p));
	hoist_export_plan_release(&p);

	/* oci tar=false: a directory (a missing one in an existing dir) */
	spec = hoist_xasprintf("type=oci,tar=false,dest=%s/layout", tl_tmp);
	assert_int_equal(plan(&p, spec, NULL, 0, -1, &err), 0);
	assert_false(p.tar);
	assert_false(hoist_export_uses_stdout(&p));
	hoist_export_plan_release(&p);
	free(spec);
	must_fail("type=oci,tar=false", "needs dest=DIRECTORY");

	/* tar: raw layers inside, standard output by default */
	assert_int_equal(plan(&p, "type=tar", NULL, 0, -1, &err), 0);
	assert_int_equal(p.type, HOIST_EXPORT_TAR);
	assert_string_equal(p.dest, "-");
	assert_int_equal(p.spec.compression, HOIST_COMP_NONE);
	hoist_export_plan_release(&p);
}

static void test_destinations(void **state)
{
	struct hoist_export_plan p;
	struct hoist_err err;
	char *spec, *file = hoist_xasprintf("%s/afile", tl_tmp);

	(void)state;
	tl_write_file(file, "x", 0644);
	spec = hoist_xasprintf("type=local,dest=%s", file);
	must_fail(spec, "is a file");
	free(spec);
	spec = hoist_xasprintf("type=oci,dest=%s", tl_tmp);
	must_fail(spec, "is a directory");
	free(spec);
	spec = hoist_xasprintf("type=oci,dest=%s/missing/x.tar", tl_tmp);
	must_fail(spec, "missing");
	free(spec);

	spec = hoist_xasprintf("type=local,dest=%s/out,mode=Delete", tl_tmp);
	assert_int_equal(plan(&p, spec, NULL, 0, -1, &err), 0);
	assert_true(p.mode_delete);
	assert_int_equal(p.platform_split, -1);
	hoist_export_plan_release(&p);
	free(spec);
	spec = hoist_xasprintf("type=local,dest=%s/out,mode=move", tl_tmp);
	must_fail(spec, "want copy or delete");
	free(spec);
	spec = hoist_xasprintf("type=local,dest=%s/out,platform-split=false",
			       tl_tmp);
	assert_int_equal(plan(&p, spec, NULL, 0, -1, &err), 0);
	assert_int_equal(p.platform_split, 0);
	hoist_export_plan_release(&p);
	free(spec);
	/* nothing was created by planning */
	assert_int_equal(tl_count_dir(tl_tmp, 0), 1);
	free(file);
}

static void test_names(void **state)
{
	struct hoist_export_plan p;
	struct hoist_err err;
	const char *tags[] = {"app:2", "reg.example/x/app"};

	(void)state;
	assert_int_equal(
		plan(&p, "type=image,\"name=a:1,b\"", NULL, 0, -1, &err), 0);
	assert_int_equal(p.nnames, 2);
	assert_string_equal(p.names[0], "docker.io/library/a:1");
	assert_string_equal(p.names[1], "docker.io/library/b:latest");
	assert_string_equal(p.raw_names, "a:1,b");
	hoist_export_plan_release(&p);

	/* -t overrides name= */
	assert_int_equal(plan(&p, "type=image,name=a:1", tags, 2, -1, &err), 0);
	assert_int_equal(p.nnames, 2);
	assert_string_equal(p.names[0], "docker.io/library/app:2");
	assert_string_equal(p.names[1], "reg.example/x/app:latest");
	hoist_export_plan_release(&p);

	/* push-by-digest: bare repositories only */
	assert_int_equal(plan(&p,
			      "type=image,name=reg.example/a,push=true,"
			      "push-by-digest=true",
			      NULL, 0, -1, &err),
			 0);
	assert_string_equal(p.names[0], "reg.example/a");
	hoist_export_plan_release(&p);
	must_fail("type=image,name=reg.example/a:1,push=true,push-by-digest="
		  "true",
		  "by digest");
	must_fail("type=image,name=Upper", "lowercase");
	must_fail("type=image,name=a,dangling-name-prefix=UP",
		  "dangling-name-prefix");
}

static void test_image_options(void **state)
{
	struct hoist_export_plan p;
	struct hoist_err err;

	(void)state;
	assert_int_equal(plan(&p, "type=image", NULL, 0, 100, &err), 0);
	assert_int_equal(p.spec.compression, HOIST_COMP_GZIP);
	assert_true(p.spec.oci);
	assert_int_equal(p.epoch, 100);
	assert_int_equal(p.created, 100);
	hoist_export_plan_release(&p);

	assert_int_equal(plan(&p,
			      "type=image,compression=zstd,compression-level="
			      "19,oci-mediatypes=false,source-date-epoch=7",
			      NULL, 0, 100, &err),
			 0);
	assert_int_equal(p.spec.compression, HOIST_COMP_ZSTD);
	assert_int_equal(p.spec.level, 19);
	assert_false(p.spec.oci);
	assert_int_equal(p.epoch, 7);
	assert_int_equal(p.created, 7);
	hoist_export_plan_release(&p);
	must_fail("type=image,compression=gzip,compression-level=12",
		  "compression-level");
	must_fail("type=image,compression=lzma", "compression");
	must_fail("type=image,oci-mediatypes=maybe", "oci-mediatypes");
	must_fail("type=image,source-date-epoch=-3", "source-date-epoch");

	assert_int_equal(plan(&p,
			      "type=image,annotation.a=1,annotation-index.b=2,"
			      "annotation-manifest[linux/amd64].c=3",
			      NULL, 0, -1, &err),
			 0);
	assert_string_equal(hoist_json_str(p.spec.ann_manifest, "a"), "1");
	assert_string_equal(hoist_json_str(p.spec.ann_index, "b"), "2");
	assert_string_equal(
		hoist_json_str(json_object_get(p.spec.ann_manifest_plat,
					       "linux/amd64"),
			       "c"),
		"3");
	hoist_export_plan_release(&p);
	must_fail("type=image,annotation-bogus.a=1", "annotation type");
	must_fail("type=image,annotation.=1", "invalid annotation key");

	/* registry.insecure reaches the push options */
	assert_int_equal(plan(&p,
			      "type=image,name=r.example/a,push=true,"
			      "registry.insecure=true",
			      NULL, 0, -1, &err),
			 0);
	assert_true(p.reg.conn.insecure);
	hoist_export_plan_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_image_options),
	};
	return cmocka_run_group_tests(tests, tl_tmp_setup, tl_tmp_teardown);
}
