/*
 * test-ref.c: image reference parsing, normalisation and formatting.
 *
 * Table driven: each row is an input, the flags and either the expected
 * parts or a fragment of the expected error. The rows cover the grammar of
 * distribution/reference edge by edge (domains, ports, IPv6, separators,
 * limits) and Docker's normalisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/ref.h"
#include "util/mem.h"
#include "util/banned.h"

#define N HOIST_REF_NORMALIZE
#define T HOIST_REF_DEFAULT_TAG
#define NT (HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG)

#define H64 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define D64 "sha256:" H64

struct ok_case {
	const char *in;
	int flags;
	const char *domain, *path, *tag, *digest;
};

static const struct ok_case ok_cases[] = {
	/* raw parsing: no default domain */
	{"alpine", 0, NULL, "alpine", NULL, NULL},
	{"alpine:3.19", 0, NULL, "alpine", "3.19", NULL},
	{"foo/bar", 0, NULL, "foo/bar", NULL, NULL},
	{"a/b/c/d", 0, NULL, "a/b/c/d", NULL, NULL},
	{"localhost", 0, NULL, "localhost", NULL, NULL},
	{"localhost:5000", 0, NULL, "localhost", "5000", NULL},
	{"localhost/a", 0, "localhost", "a", NULL, NULL},
	{"localhost:5000/a", 0, "localhost:5000", "a", NULL, NULL},
	{"localhost:5000/a/b:c", 0, "localhost:5000", "a/b", "c", NULL},
	{"example.com/a", 0, "example.com", "a", NULL, NULL},
	{"Example.COM/a", 0, "Example.COM", "a", NULL, NULL},
	{"MyHost:5000/a", 0, "MyHost:5000", "a", NULL, NULL},
	{"a-b.c-d.example/x", 0, "a-b.c-d.example", "x", NULL, NULL},
	{"registry:5000/x", 0, "registry:5000", "x", NULL, NULL},
	{"127.0.0.1/a", 0, "127.0.0.1", "a", NULL, NULL},
	{"127.0.0.1:65535/a", 0, "127.0.0.1:65535", "a", NULL, NULL},
	{"[::1]/a", 0, "[::1]", "a", NULL, NULL},
	{"[::1]:5000/a:b", 0, "[::1]:5000", "a", "b", NULL},
	{"[::]/a", 0, "[::]", "a", NULL, NULL},
	{"[fe80::1:2]:443/a", 0, "[fe80::1:2]:443", "a", NULL, NULL},
	{"[2001:db8:0:0:0:0:2:1]/a", 0, "[2001:db8:0:0:0:0:2:1]", "a", NULL,
	 NULL},
	{"[2001:DB8::1]/a", 0, "[2001:DB8::1]", "a", NULL, NULL},
	{"[1::2:3:4:5:6:7]/a", 0, "[1::2:3:4:5:6:7]", "a", NULL, NULL},
	/* separators */
	{"a.b", 0, NULL, "a.b", NULL, NULL},
	{"a_b", 0, NULL, "a_b", NULL, NULL},
	{"a__b", 0, NULL, "a__b", NULL, NULL},
	{"a-b", 0, NULL, "a-b", NULL, NULL},
	{"a--b", 0, NULL, "a--b", NULL, NULL},
	{"a-----b", 0, NULL, "a-----b", NULL, NULL},
	{"a_b__c-d--e/f.g_h1.2", 0, NULL, "a_b__c-d--e/f.g_h1.2", NULL, NULL},
	{"a.b/c", 0, "a.b", "c", NULL, NULL},
	{"a.b/c", N, "a.b", "c", NULL, NULL},
	{"0/1", 0, NULL, "0/1", NULL, NULL},
	/* tags */
	{"a:_", 0, NULL, "a", "_", NULL},
	{"a:Latest", 0, NULL, "a", "Latest", NULL},
	{"a:v1.0-rc_2", 0, NULL, "a", "v1.0-rc_2", NULL},
	{"a:" H64, 0, NULL, "a", H64, NULL},
	{"sha256:" H64, 0, NULL, "sha256", H64, NULL},
	{"lowercase:Uppercase", N, "docker.io", "library/lowercase",
	 "Uppercase", NULL},
	/* digests */
	{"a@" D64, 0, NULL, "a", NULL, D64},
	{"a/b:tag@" D64, 0, NULL, "a/b", "tag", D64},
	{"localhost:5000/a@" D64, 0, "localhost:5000", "a", NULL, D64},
	{"a@" D64, T, NULL, "a", NULL, D64},
	{"alpine@" D64, NT, "docker.io", "library/alpine", NULL, D64},
	/* normalisation */
	{"alpine", N, "docker.io", "library/alpine", NULL, NULL},
	{"alpine", NT, "docker.io", "library/alpine", "latest", NULL},
	{"alpine", T, NULL, "alpine", "latest", NULL},
	{"alpine:3", NT, "docker.io", "library/alpine", "3", NULL},
	{"me/app", N, "docker.io", "me/app", NULL, NULL},
	{"me/app/sub", N, "docker.io", "me/app/sub", NULL, NULL},
	{"docker.io/ubuntu", N, "docker.io", "library/ubuntu", NULL, NULL},
	{"docker.io/ubuntu", 0, "docker.io", "ubuntu", NULL, NULL},
	{"index.docker.io/ubuntu", N, "docker.io", "library/ubuntu", NULL,
	 NULL},
	{"index.docker.io/me/app", N, "docker.io", "me/app", NULL, NULL},
	{"index.docker.io/me/app", 0, "index.docker.io", "me/app", NULL, NULL},
	{"docker.io/library/ubuntu:22.04", N, "docker.io", "library/ubuntu",
	 "22.04", NULL},
	{"localhost", N, "docker.io", "library/localhost", NULL, NULL},
	{"localhost:5000", N, "docker.io", "library/localhost", "5000", NULL},
	{"localhost/a", N, "localhost", "a", NULL, NULL},
	{"quay.io/a", NT, "quay.io", "a", "latest", NULL},
	{"example.com", N, "docker.io", "library/example.com", NULL, NULL},
};

struct bad_case {
	const char *in;
	int flags;
	const char *msg; /* expected fragment of the message */
};

static const struct bad_case bad_cases[] = {
	{"", 0, "reference is empty"},
	{"Foo/bar", N,
	 "invalid reference 'Foo/bar': repository name must be "
	 "lowercase"},
	{"Foo/bar", 0, "repository name must be lowercase"},
	{"foo/Bar", N, "repository name must be lowercase"},
	{"Uppercase:tag", N, "repository name must be lowercase"},
	{"example.com/Foo", 0, "repository name must be lowercase"},
	{"a//b", 0, "invalid reference 'a//b': empty path component"},
	{"/a", 0, "empty path component"},
	{"a/", 0, "empty path component"},
	{"localhost/", 0, "empty path component"},
	{"localhost:5000/", 0, "empty path component"},
	{"a.", 0, "path component 'a.' must end with a letter or digit"},
	{"a-", 0, "must end with a letter or digit"},
	{"a_", 0, "must end with a letter or digit"},
	{"a__", 0, "must end with a letter or digit"},
	{"a/b-", 0, "must end with a letter or digit"},
	{".a", 0, "path component '.a' must start with a letter or digit"},
	{"-a", 0, "must start with a letter or digit"},
	{"_a", 0, "must start with a letter or digit"},
	{"a/-b", 0, "must start with a letter or digit"},
	{"a___b", 0, "invalid separator '___' in path component 'a___b'"},
	{"a..b", 0, "invalid separator '..'"},
	{"a._b", 0, "invalid separator '._'"},
	{"a-_b", 0, "invalid separator '-_'"},
	{"a_-b", 0, "invalid separator '_-'"},
	{"a.-b", 0, "invalid separator '.-'"},
	{"a!b", 0, "invalid character '!' in path component 'a!b'"},
	{"a b", 0, "invalid character ' '"},
	{"a\tb", 0, "invalid character byte 0x09"},
	{"a\x80", 0, "invalid character byte 0x80"},
	{"a:", 0, "empty tag after ':'"},
	{"a:.x", 0, "tag '.x' must start with a letter, digit or '_'"},
	{"a:-x", 0, "must start with a letter, digit or '_'"},
	{"a:x!", 0, "invalid character '!' in tag 'x!'"},
	{"a:b:c", 0, "invalid character ':' in path component 'a:b'"},
	{"a@", 0, "empty digest after '@'"},
	{"a@sha256:abc", 0, "sha256 needs 64 hex digits, not 3"},
	{"a@md5:" H64, 0, "unsupported algorithm 'md5'"},
	{"a@sha256:" H64 "@x", 0, "is not a hex digit"},
	{"a@SHA256:" H64, 0, "unsupported algorithm"},
	{"a@sha256:CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AF"
	 "EE48BB",
	 0, "upper-case hex digit"},
	{"@" D64, 0, "missing repository name"},
	{":tag", 0, "missing repository name"},
	{H64, 0, "is an image id, not a repository name"},
	{H64, N, "is an image id"},
	{"localhost:/a", 0, "empty port in domain 'localhost:'"},
	{"localhost:0/a", 0, "port '0' is out of range"},
	{"localhost:65536/a", 0, "port '65536' is out of range"},
	{"localhost:99999999999999999999999/a", 0, "is out of range"},
	{"localhost:50a/a", 0, "invalid character 'a' in port '50a'"},
	{"a:b/c", 0, "invalid character 'b' in port 'b'"},
	{":5000/a", 0, "empty host name in domain ':5000'"},
	{"a..b.com/c", 0, "empty component in domain 'a..b.com'"},
	{".com/c", 0, "empty component in domain"},
	{"com./c", 0, "empty component in domain"},
	{"-a.com/c", 0, "must not start or end with '-'"},
	{"a-.com/c", 0, "must not start or end with '-'"},
	{"a_b.com/c", 0, "invalid character '_' in domain 'a_b.com'"},
	{"[::1/a", 0, "missing ']' in domain '[::1'"},
	{"[::1]x/a", 0, "unexpected 'x' after ']'"},
	{"[::1]:/a", 0, "empty port"},
	{"[]/a", 0, "invalid IPv6 address in domain '[]'"},
	{"[:::1]/a", 0, "invalid IPv6 address"},
	{"[1::2::3]/a", 0, "invalid IPv6 address"},
	{"[fe80::1%eth0]/a", 0, "invalid IPv6 address"},
	{"[::ffff:1.2.3.4]/a", 0, "invalid IPv6 address"},
	{"[12345::1]/a", 0, "invalid IPv6 address"},
	{"[1:2:3:4:5:6:7]/a", 0, "invalid IPv6 address"},
	{"[1:2:3:4:5:6:7:8:9]/a", 0, "invalid IPv6 address"},
	{"[1:2:3:4::5:6:7:8]/a", 0, "invalid IPv6 address"},
	{"[g::1]/a", 0, "invalid IPv6 address"},
	{"a[b/c", 0, "invalid character '[' in domain"},
};

static void check_ok(const struct ok_case *c)
{
	struct hoist_ref r;
	struct hoist_err err;
	int rc;

	hoist_err_clear(&err);
	rc = hoist_ref_parse(&r, c->in, c->flags, &err);
	if (rc)
		fail_msg("'%s' (flags %d): unexpected error: %s", c->in,
			 c->flags, err.msg);
#define SAME(field)                                                            \
	do {                                                                   \
		if ((c->field == NULL) != (r.field == NULL) ||                 \
		    (c->field && strcmp(c->field, r.field) != 0))              \
			fail_msg("'%s' (flags %d): " #field " is '%s', "       \
				 "expected '%s'",                              \
				 c->in, c->flags,                              \
				 r.field ? r.field : "(null)",                 \
				 c->field ? c->field : "(null)");              \
	} while (0)
	SAME(domain);
	SAME(path);
	SAME(tag);
	SAME(digest);
#undef SAME
	/* the full form parses back to the same parts */
	char *s = hoist_ref_string(&r);
	struct hoist_ref again;
	rc = hoist_ref_parse(&again, s, 0, &err);
	if (rc)
		fail_msg("'%s': string form '%s' does not parse: %s", c->in, s,
			 err.msg);
	char *s2 = hoist_ref_string(&again);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	hoist_ref_release(&again);
	hoist_ref_release(&r);
	assert_null(r.path);
}

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(ok_cases); i++)
		check_ok(&ok_cases[i]);
}

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct hoist_ref r;
		struct hoist_err err;

		hoist_err_clear(&err);
		int rc = hoist_ref_parse(&r, c->in, c->flags, &err);
		if (rc == 0)
			fail_msg("'%s' (flags %d) parsed, expected '%s'", c->in,
				 c->flags, c->msg);
		assert_int_equal(rc, HOIST_EINVAL);
		assert_int_equal(err.code, HOIST_EINVAL);
		if (!strstr(err.msg, c->msg))
			fail_msg("'%s': message '%s' lacks '%s'", c->in,
				 err.msg, c->msg);
		if (strncmp(err.msg, "invalid reference '", 19) != 0)
			fail_msg("'%s': message '%s' lacks the prefix", c->in,
				 err.msg);
		/* one line, nothing hostile copied through */
		for (const char *p = err.msg; *p; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p >= 0x7f)
				fail_msg("'%s': unprintable byte in message",
					 c->in);
		assert_null(r.domain);
		assert_null(r.path);
		assert_null(r.tag);
		assert_null(r.digest);
	}
}

/* Build a string of n copies of c. */
static char *rep(char c, size_t n)
{
	char *s = hoist_xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_limits(void **state)
{
	struct hoist_ref r;
	struct hoist_err err;
	char *p255 = rep('a', 255), *p256 = rep('a', 256);
	char *t128 = rep('t', 128), *t129 = rep('t', 129);
	char *dom = rep('d', 300);
	char *s;

	(void)state;
	/* path of exactly 255 is fine, 256 is not */
	assert_int_equal(hoist_ref_parse(&r, p255, 0, &err), 0);
	assert_int_equal(strlen(r.path), 255);
	hoist_ref_release(&r);
	assert_int_equal(hoist_ref_parse(&r, p256, 0, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "longer than 255 characters"));
	/* the message quotes a bounded prefix of the input */
	assert_true(strlen(err.msg) < 300);

	/* 255 = "library/" + 247: normalisation counts the prefix */
	s = hoist_xasprintf("%.247s", p255);
	assert_int_equal(hoist_ref_parse(&r, s, N, &err), 0);
	hoist_ref_release(&r);
	free(s);
	s = hoist_xasprintf("%.248s", p255);
	assert_int_equal(hoist_ref_parse(&r, s, 0, &err), 0);
	hoist_ref_release(&r);
	assert_int_equal(hoist_ref_parse(&r, s, N, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "longer than 255"));
	free(s);

	/* path of 255 made of components, domain excluded from the count */
	s = hoist_xasprintf("%s.example:5000/%.127s/%.127s", dom, p255, p255);
	assert_int_equal(hoist_ref_parse(&r, s, N, &err), 0);
	assert_int_equal(strlen(r.path), 255);
	hoist_ref_release(&r);
	free(s);
	s = hoist_xasprintf("example.com/%.127s/%.128s", p255, p255);
	assert_int_equal(hoist_ref_parse(&r, s, N, &err), HOIST_EINVAL);
	free(s);

	s = hoist_xasprintf("a:%s", t128);
	assert_int_equal(hoist_ref_parse(&r, s, 0, &err), 0);
	assert_string_equal(r.tag, t128);
	hoist_ref_release(&r);
	free(s);
	s = hoist_xasprintf("a:%s", t129);
	assert_int_equal(hoist_ref_parse(&r, s, 0, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "tag is longer than 128 characters"));
	free(s);

	free(p255);
	free(p256);
	free(t128);
	free(t129);
	free(dom);
}

static void test_null_err(void **state)
{
	struct hoist_ref r;

	(void)state;
	assert_int_equal(hoist_ref_parse(&r, "A/b", 0, NULL), HOIST_EINVAL);
	assert_int_equal(hoist_ref_parse(&r, "a@sha256:0", 0, NULL),
			 HOIST_EINVAL);
	assert_int_equal(hoist_ref_parse(&r, NULL, 0, NULL), HOIST_EINVAL);
	hoist_ref_release(&r);
	hoist_ref_release(NULL);
}

struct fmt_case {
	const char *in;
	int flags;
	const char *name, *string, *familiar;
};

static const struct fmt_case fmt_cases[] = {
	{"alpine", NT, "docker.io/library/alpine",
	 "docker.io/library/alpine:latest", "alpine:latest"},
	{"docker.io/library/foo:latest", N, "docker.io/library/foo",
	 "docker.io/library/foo:latest", "foo:latest"},
	{"docker.io/me/app:1", N, "docker.io/me/app", "docker.io/me/app:1",
	 "me/app:1"},
	{"me/app", N, "docker.io/me/app", "docker.io/me/app", "me/app"},
	{"library/a/b", N, "docker.io/library/a/b", "docker.io/library/a/b",
	 "library/a/b"},
	{"index.docker.io/library/foo@" D64, N, "docker.io/library/foo",
	 "docker.io/library/foo@" D64, "foo@" D64},
	{"quay.io/a/b:1@" D64, N, "quay.io/a/b", "quay.io/a/b:1@" D64,
	 "quay.io/a/b:1@" D64},
	{"localhost:5000/a", NT, "localhost:5000/a", "localhost:5000/a:latest",
	 "localhost:5000/a:latest"},
	{"[::1]:5000/a:b", 0, "[::1]:5000/a", "[::1]:5000/a:b",
	 "[::1]:5000/a:b"},
	{"a/b:c", 0, "a/b", "a/b:c", "a/b:c"},
	/* a first path component that would read as a domain keeps docker.io */
	{"docker.io/foo.bar/baz", N, "docker.io/foo.bar/baz",
	 "docker.io/foo.bar/baz", "docker.io/foo.bar/baz"},
	{"docker.io/localhost/baz", N, "docker.io/localhost/baz",
	 "docker.io/localhost/baz", "docker.io/localhost/baz"},
	/* an official image named like an image id keeps library/ */
	{H64 ":1", N, "docker.io/library/" H64, "docker.io/library/" H64 ":1",
	 "library/" H64 ":1"},
};

static void test_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(fmt_cases); i++) {
		const struct fmt_case *c = &fmt_cases[i];
		struct hoist_ref r, back;
		struct hoist_err err;
		char *name, *str, *fam, *fam_back;

		if (hoist_ref_parse(&r, c->in, c->flags, &err))
			fail_msg("'%s': %s", c->in, err.msg);
		name = hoist_ref_name(&r);
		str = hoist_ref_string(&r);
		fam = hoist_ref_familiar(&r);
		assert_string_equal(name, c->name);
		assert_string_equal(str, c->string);
		assert_string_equal(fam, c->familiar);
		/* the familiar form normalises back to the same reference */
		if (c->flags & N) {
			if (hoist_ref_parse(&back, fam, c->flags, &err))
				fail_msg("familiar '%s': %s", fam, err.msg);
			fam_back = hoist_ref_string(&back);
			assert_string_equal(fam_back, str);
			free(fam_back);
			hoist_ref_release(&back);
		}
		free(name);
		free(str);
		free(fam);
		hoist_ref_release(&r);
	}
}

/* Registry names for login/logout: the domain rules of a reference. */
static void test_check_domain(void **state)
{
	static const char *const good[] = {
		"docker.io",
		"localhost",
		"localhost:5000",
		"127.0.0.1:5000",
		"[::1]:5000",
		"[::1]",
		"Reg-1.Example.COM:443",
		"a",
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
		{"", "registry name is empty"},
		{"..", "empty component"},
		{"a..b", "empty component"},
		{"-a.example", "must not start or end with '-'"},
		{"a-.example", "must not start or end with '-'"},
		{"a.example:0", "out of range"},
		{"a.example:65536", "out of range"},
		{"a.example:", "empty port"},
		{"a b", "invalid character ' '"},
		{"a/b", "invalid character '/'"},
		{"[::1", "missing ']'"},
		{"[zz]:5000", "invalid IPv6"},
	};
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(good); i++)
		if (hoist_ref_check_domain(good[i], &err))
			fail_msg("'%s': %s", good[i], err.msg);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		assert_int_equal(hoist_ref_check_domain(bad[i].in, &err),
				 HOIST_EINVAL);
		if (!strstr(err.msg, bad[i].why) ||
		    strncmp(err.msg, "invalid registry '", 18) != 0)
			fail_msg("'%s': got '%s'", bad[i].in, err.msg);
	}
	assert_int_equal(hoist_ref_check_domain(NULL, NULL), HOIST_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_null_err),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_check_domain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
