/*
 * test-transport.c: skopeo's transport names (hoist_transport_parse and
 * _string, no network), and reading and writing images through them:
 * an OCI layout round trip, and docker:// against a real docker-registry
 * on 127.0.0.1 (plain http, loopback) for write, read and the tag list.
 * Without docker-registry the live tests skip, except under CI=true,
 * where they fail.
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

#include "lib/store.h"
#include "lib/transport.h"
#include "util/json.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

static struct {
	char *dir;
	pid_t reg;
	char addr[64];
	struct hoist_store *src;
	json_t *image; /* its manifest descriptor, in src as "app:1" */
	int store_n;
} E;

static struct hoist_store *fresh_store(void)
{
	char name[32];

	snprintf(name, sizeof(name), "store-%d", E.store_n++);
	return tl_store_open(E.dir, name);
}

static void copy_opts(struct hoist_copy_opts *o)
{
	memset(o, 0, sizeof(*o));
}

/* ---- names ---- */

static void test_parse(void **state)
{
	static const struct {
		const char *in;
		enum hoist_transport_kind kind;
		const char *path, *ref, *back;
	} ok[] = {
		{"docker://alpine", HOIST_TR_DOCKER, NULL,
		 "docker.io/library/alpine:latest",
		 "docker://docker.io/library/alpine:latest"},
		{"docker://127.0.0.1:5000/a/b:v1", HOIST_TR_DOCKER, NULL,
		 "127.0.0.1:5000/a/b:v1", "docker://127.0.0.1:5000/a/b:v1"},
		{"oci:/tmp/lay", HOIST_TR_OCI, "/tmp/lay", NULL,
		 "oci:/tmp/lay"},
		/* like skopeo: the path ends at the first ':' */
		{"oci:/tmp/lay:v2", HOIST_TR_OCI, "/tmp/lay", "v2",
		 "oci:/tmp/lay:v2"},
		{"oci-archive:x.tar:a/b:1", HOIST_TR_OCI_ARCHIVE, "x.tar",
		 "a/b:1", "oci-archive:x.tar:a/b:1"},
		{"docker-archive:s.tar:app:1", HOIST_TR_DOCKER_ARCHIVE, "s.tar",
		 "docker.io/library/app:1",
		 "docker-archive:s.tar:docker.io/library/app:1"},
		/* skopeo's @N picks the Nth image and is not a reference */
		{"docker-archive:s.tar:@1", HOIST_TR_DOCKER_ARCHIVE, "s.tar",
		 "@1", "docker-archive:s.tar:@1"},
		{"app", HOIST_TR_STORE, NULL, "docker.io/library/app:latest",
		 "docker.io/library/app:latest"},
	};
	static const struct {
		const char *in;
		int code;
	} bad[] = {
		{"containers-storage:x", HOIST_EUNSUPPORTED},
		{"dir:/tmp/x", HOIST_EUNSUPPORTED},
		{"docker-daemon:app:1", HOIST_EUNSUPPORTED},
		{"oci:", HOIST_EINVAL},
		{"oci-archive::ref", HOIST_EINVAL},
		{"docker://", HOIST_EINVAL},
		{"docker://UPPER/case", HOIST_EINVAL},
		{"docker-archive:s.tar:Bad Ref", HOIST_EINVAL},
		{"no spaces", HOIST_EINVAL},
	};
	struct hoist_transport t;
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *s;

		if (hoist_transport_parse(&t, ok[i].in, &err))
			fail_msg("'%s': %s", ok[i].in, err.msg);
		assert_int_equal(t.kind, ok[i].kind);
		if (ok[i].path)
			assert_string_equal(t.path, ok[i].path);
		else
			assert_null(t.path);
		if (ok[i].ref)
			assert_string_equal(t.ref, ok[i].ref);
		else
			assert_null(t.ref);
		s = hoist_transport_string(&t);
		assert_string_equal(s, ok[i].back);
		free(s);
		hoist_transport_release(&t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = hoist_transport_parse(&t, bad[i].in, &err);

		if (rc != bad[i].code)
			fail_msg("'%s': %d, want %d", bad[i].in, rc,
				 bad[i].code);
		assert_int_equal(err.code, bad[i].code);
		assert_null(strchr(err.msg, '\n'));
		assert_null(t.path);
		assert_null(t.ref);
	}
	/* the unsupported ones say what to use instead */
	hoist_transport_parse(&t, "ostree:/repo", &err);
	assert_non_null(strstr(err.msg, "'ostree' is not supported"));
	assert_non_null(strstr(err.msg, "docker://"));
}

/* ---- layouts ---- */

/* Write to an OCI layout and read it back into another store: the same
 * manifest, and a name that is missing there is HOIST_ENOTFOUND. */
static void test_oci_round_trip(void **state)
{
	struct hoist_copy_opts o;
	struct hoist_transport t, src;
	struct hoist_store *dst = fresh_store();
	struct hoist_err err;
	char *spec = hoist_xasprintf("oci:%s/layout:v1", E.dir);
	char *none = hoist_xasprintf("oci:%s/layout:v2", E.dir);
	json_t *root = NULL;

	(void)state;
	copy_opts(&o);
	assert_int_equal(hoist_transport_parse(&src, "app:1", &err), 0);
	assert_int_equal(hoist_transport_parse(&t, spec, &err), 0);
	if (hoist_transport_write(E.src, E.image, &t, &src, &o, &err))
		fail_msg("write: %s", err.msg);
	if (hoist_transport_read(&root, dst, &t, &o, &err))
		fail_msg("read: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.image, "digest"));
	assert_true(hoist_store_has(dst, hoist_json_str(root, "digest")));
	json_decref(root);
	hoist_transport_release(&t);
	assert_int_equal(hoist_transport_parse(&t, none, &err), 0);
	assert_int_equal(hoist_transport_read(&root, dst, &t, &o, &err),
			 HOIST_ENOTFOUND);
	assert_null(root);
	hoist_transport_release(&t);
	hoist_transport_release(&src);
	hoist_store_close(dst);
	free(spec);
	free(none);
}

/* ---- docker:// against the registry ---- */

static void push(const char *name)
{
	struct hoist_copy_opts o;
	struct hoist_transport t, src;
	struct hoist_err err;
	char *spec = hoist_xasprintf("docker://%s/%s", E.addr, name);

	copy_opts(&o);
	assert_int_equal(hoist_transport_parse(&src, "app:1", &err), 0);
	assert_int_equal(hoist_transport_parse(&t, spec, &err), 0);
	if (hoist_transport_write(E.src, E.image, &t, &src, &o, &err))
		fail_msg("write '%s': %s", spec, err.msg);
	hoist_transport_release(&t);
	hoist_transport_release(&src);
	free(spec);
}

/* A registry round trip keeps the manifest's digest: bytes are never
 * rewritten on the way. */
static void test_docker_round_trip(void **state)
{
	struct hoist_copy_opts o;
	struct hoist_transport t;
	struct hoist_store *dst;
	struct hoist_err err;
	char *spec;
	json_t *root = NULL;

	(void)state;
	TL_NEED_LIVE(E.reg > 0);
	push("rt/app:v1");
	dst = fresh_store();
	copy_opts(&o);
	spec = hoist_xasprintf("docker://%s/rt/app:v1", E.addr);
	assert_int_equal(hoist_transport_parse(&t, spec, &err), 0);
	if (hoist_transport_read(&root, dst, &t, &o, &err))
		fail_msg("read: %s", err.msg);
	assert_string_equal(hoist_json_str(root, "digest"),
			    hoist_json_str(E.image, "digest"));
	json_decref(root);
	hoist_transport_release(&t);
	free(spec);
	/* a tag that is not there */
	spec = hoist_xasprintf("docker://%s/rt/app:nope", E.addr);
	assert_int_equal(hoist_transport_parse(&t, spec, &err), 0);
	assert_int_equal(hoist_transport_read(&root, dst, &t, &o, &err),
			 HOIST_ENOTFOUND);
	assert_null(root);
	hoist_transport_release(&t);
	free(spec);
	hoist_store_close(dst);
}

static int has_tag(const json_t *tags, const char *tag)
{
	size_t i;
	json_t *v;

	json_array_foreach(tags, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), tag) == 0)
			return 1;
	}
	return 0;
}

static void test_list_tags(void **state)
{
	struct hoist_registry_opts o;
	struct hoist_err err;
	json_t *tags = NULL;
	char *ref;

	(void)state;
	TL_NEED_LIVE(E.reg > 0);
	push("tags/app:a");
	push("tags/app:b");
	push("tags/app:c");
	memset(&o, 0, sizeof(o));
	ref = hoist_xasprintf("%s/tags/app", E.addr);
	if (hoist_transport_list_tags(&tags, ref, &o, &err))
		fail_msg("tags: %s", err.msg);
	assert_true(json_is_array(tags));
	assert_int_equal(json_array_size(tags), 3);
	assert_true(has_tag(tags, "a") && has_tag(tags, "b") &&
		    has_tag(tags, "c"));
	json_decref(tags);
	free(ref);
	/* a repository the registry does not know */
	ref = hoist_xasprintf("%s/tags/none", E.addr);
	tags = NULL;
	assert_int_not_equal(hoist_transport_list_tags(&tags, ref, &o, &err),
			     0);
	assert_null(tags);
	free(ref);
}

static int setup(void **state)
{
	const struct tl_registry ro = {0};
	struct hoist_err err;

	(void)state;
	E.dir = tl_mkdtemp("transport");
	if (!E.dir)
		return -1;
	tl_isolate_env(E.dir);
	E.src = tl_store_open(E.dir, "src");
	E.image = tl_small_image(E.src, 30000, 1);
	if (hoist_store_tag(E.src, "docker.io/library/app:1", E.image, &err)) {
		print_error("tag: %s\n", err.msg);
		return -1;
	}
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
	hoist_store_close(E.src);
	json_decref(E.image);
	if (!getenv("HOIST_TEST_KEEP"))
		tl_rm_rf(E.dir);
	free(E.dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_oci_round_trip),
		cmocka_unit_test(test_docker_round_trip),
		cmocka_unit_test(test_list_tags),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
