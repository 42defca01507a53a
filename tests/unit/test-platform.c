/*
 * test-platform.c: platform parsing with containerd's normalisation, the
 * two printed forms and platform lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/platform.h"
#include "util/mem.h"
#include "util/banned.h"

struct ok_case {
	const char *in, *want, *id;
};

static const struct ok_case ok_cases[] = {
	{"linux/amd64", "linux/amd64", "linux_amd64"},
	{"amd64", "linux/amd64", "linux_amd64"},
	{"x86_64", "linux/amd64", "linux_amd64"},
	{"x86-64", "linux/amd64", "linux_amd64"},
	{"linux/x86_64", "linux/amd64", "linux_amd64"},
	{"linux/amd64/v1", "linux/amd64", "linux_amd64"},
	{"linux/amd64/v3", "linux/amd64/v3", "linux_amd64_v3"},
	{"LINUX/AMD64", "linux/amd64", "linux_amd64"},
	{"arm64", "linux/arm64", "linux_arm64"},
	{"arm64/v8", "linux/arm64", "linux_arm64"},
	{"aarch64/v8", "linux/arm64", "linux_arm64"},
	{"arm/v6", "linux/arm/v6", "linux_arm_v6"},
	{"amd64/v3", "linux/amd64/v3", "linux_amd64_v3"},
	{"aarch64", "linux/arm64", "linux_arm64"},
	{"linux/aarch64", "linux/arm64", "linux_arm64"},
	{"linux/arm64/v8", "linux/arm64", "linux_arm64"},
	{"linux/arm64/8", "linux/arm64", "linux_arm64"},
	{"linux/aarch64/v8.0", "linux/arm64", "linux_arm64"},
	{"linux/arm64/v9.0", "linux/arm64/v9", "linux_arm64_v9"},
	{"linux/arm64/8.2", "linux/arm64/v8.2", "linux_arm64_v8.2"},
	{"linux/arm", "linux/arm/v7", "linux_arm_v7"},
	{"arm", "linux/arm/v7", "linux_arm_v7"},
	{"linux/arm/7", "linux/arm/v7", "linux_arm_v7"},
	{"linux/arm/v7", "linux/arm/v7", "linux_arm_v7"},
	{"linux/arm/v6", "linux/arm/v6", "linux_arm_v6"},
	{"linux/arm/6", "linux/arm/v6", "linux_arm_v6"},
	{"linux/arm/5", "linux/arm/v5", "linux_arm_v5"},
	{"armhf", "linux/arm/v7", "linux_arm_v7"},
	{"linux/armhf", "linux/arm/v7", "linux_arm_v7"},
	{"armel", "linux/arm/v6", "linux_arm_v6"},
	{"i386", "linux/386", "linux_386"},
	{"linux/i386", "linux/386", "linux_386"},
	{"386", "linux/386", "linux_386"},
	{"ppc64le", "linux/ppc64le", "linux_ppc64le"},
	{"s390x", "linux/s390x", "linux_s390x"},
	{"riscv64", "linux/riscv64", "linux_riscv64"},
	{"windows/amd64", "windows/amd64", "windows_amd64"},
	{"macos/arm64", "darwin/arm64", "darwin_arm64"},
	{"darwin/amd64", "darwin/amd64", "darwin_amd64"},
	/* two or three parts are taken as given, as containerd does */
	{"plan9/foo", "plan9/foo", "plan9_foo"},
	/* arch/variant shorthand only when the second part is a variant */
	{"mips64p32/arm64", "mips64p32/arm64", "mips64p32_arm64"},
	{"mips64p32/arm64/v8.0", "mips64p32/arm64", "mips64p32_arm64"},
	{"arm64/foo", "arm64/foo", "arm64_foo"},
	{"386/v8", "linux/386/v8", "linux_386_v8"},
	{"arm/7", "arm/7", "arm_7"},
	{"i386/i386/8", "i386/386", "i386_386"},
	{"linux/amd64/v2", "linux/amd64/v2", "linux_amd64_v2"},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct hoist_platform p, back;
		struct hoist_err err;
		char buf[100], id[100];

		hoist_err_clear(&err);
		if (hoist_platform_parse(&p, c->in, &err))
			fail_msg("'%s': %s", c->in, err.msg);
		hoist_platform_format(&p, buf, sizeof(buf));
		if (strcmp(buf, c->want) != 0)
			fail_msg("'%s' is '%s', expected '%s'", c->in, buf,
				 c->want);
		assert_string_equal(hoist_platform_id(&p, id, sizeof(id)),
				    c->id);
		/* the formatted form is a fixed point */
		assert_int_equal(hoist_platform_parse(&back, buf, &err), 0);
		assert_true(hoist_platform_equal(&p, &back));
		assert_string_equal(back.os, p.os);
		assert_string_equal(back.arch, p.arch);
		assert_string_equal(back.variant, p.variant);
	}
}

static void test_single_os(void **state)
{
	struct hoist_platform host, p;
	struct hoist_err err;
	char buf[100];

	(void)state;
	hoist_platform_host(&host);
	assert_string_equal(host.os, "linux");
	assert_true(host.arch[0] != '\0');
	/* a known OS alone takes the host's architecture */
	assert_int_equal(hoist_platform_parse(&p, "linux", &err), 0);
	assert_true(hoist_platform_equal(&p, &host));
	assert_int_equal(hoist_platform_parse(&p, "windows", &err), 0);
	assert_string_equal(p.os, "windows");
	assert_string_equal(p.arch, host.arch);
	assert_int_equal(hoist_platform_parse(&p, "macOS", &err), 0);
	assert_string_equal(p.os, "darwin");
	/* the host is already normalised */
	hoist_platform_format(&host, buf, sizeof(buf));
	assert_int_equal(hoist_platform_parse(&p, buf, &err), 0);
	assert_true(hoist_platform_equal(&p, &host));
}

static void test_invalid(void **state)
{
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"", "platform is empty"},
		{"/", "empty component"},
		{"linux/", "empty component"},
		{"/amd64", "empty component"},
		{"linux//amd64", "empty component"},
		{"linux/arm/v7/", "empty component"},
		{"linux/arm/v7/x", "more than os/arch/variant"},
		{"linux/*", "invalid character '*'"},
		{"linux/amd64 ", "invalid character ' '"},
		{"linux/am\x01", "invalid byte 0x01"},
		{"foo", "unknown operating system or architecture"},
		{"sparc99", "unknown operating system or architecture"},
		{"linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "component longer than 31 characters"},
	};
	struct hoist_platform p;
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		hoist_err_clear(&err);
		if (hoist_platform_parse(&p, bad[i].in, &err) != HOIST_EINVAL)
			fail_msg("'%s' accepted", bad[i].in);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].in, err.msg,
				 bad[i].msg);
		assert_int_equal(strncmp(err.msg, "invalid platform '", 18), 0);
		assert_string_equal(p.os, "");
		assert_string_equal(p.arch, "");
	}
	/* exactly 31 characters still fit */
	assert_int_equal(
		hoist_platform_parse(
			&p, "linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &err),
		0);
	assert_int_equal(strlen(p.arch), 31);
}

static void test_equal(void **state)
{
	struct hoist_platform a, b;

	(void)state;
	assert_int_equal(hoist_platform_parse(&a, "linux/arm", NULL), 0);
	assert_int_equal(hoist_platform_parse(&b, "linux/arm/v6", NULL), 0);
	assert_false(hoist_platform_equal(&a, &b));
	assert_int_equal(hoist_platform_parse(&b, "armhf", NULL), 0);
	assert_true(hoist_platform_equal(&a, &b));
	/* structs filled by hand are normalised before comparing */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memcpy(a.os, "Linux", 6);
	memcpy(a.arch, "aarch64", 8);
	memcpy(b.os, "linux", 6);
	memcpy(b.arch, "arm64", 6);
	memcpy(b.variant, "v8", 3);
	assert_true(hoist_platform_equal(&a, &b));
	memcpy(b.arch, "amd64", 6);
	assert_false(hoist_platform_equal(&a, &b));
}

static void test_format_truncates(void **state)
{
	struct hoist_platform p;
	char buf[8];

	(void)state;
	assert_int_equal(hoist_platform_parse(&p, "linux/arm/v7", NULL), 0);
	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(hoist_platform_format(&p, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "linux/a");
	assert_string_equal(hoist_platform_id(&p, buf, sizeof(buf)), "linux_a");
	buf[0] = 'Z';
	hoist_platform_format(&p, buf, 0);
	assert_int_equal(buf[0], 'Z');
}

static void test_list(void **state)
{
	struct hoist_platform *list;
	struct hoist_err err;
	size_t n;
	char buf[100];

	(void)state;
	assert_int_equal(hoist_platform_parse_list(&list, &n,
						   "linux/amd64,linux/arm64,"
						   "linux/arm/v7",
						   &err),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(hoist_platform_format(&list[0], buf, sizeof(buf)),
			    "linux/amd64");
	assert_string_equal(hoist_platform_format(&list[1], buf, sizeof(buf)),
			    "linux/arm64");
	assert_string_equal(hoist_platform_format(&list[2], buf, sizeof(buf)),
			    "linux/arm/v7");
	free(list);

	assert_int_equal(
		hoist_platform_parse_list(&list, &n, " amd64 ,\tarm64", &err),
		0);
	assert_int_equal(n, 2);
	free(list);

	assert_int_equal(hoist_platform_parse_list(&list, &n, "arm64", &err),
			 0);
	assert_int_equal(n, 1);
	free(list);

	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"linux/amd64,linux/amd64", "duplicate platform 'linux/amd64'"},
		{"amd64,linux/x86_64", "duplicate platform 'linux/amd64'"},
		{"linux/arm,armhf", "duplicate platform 'linux/arm/v7'"},
		{"arm64/v8,aarch64", "duplicate platform 'linux/arm64'"},
		{"", "empty entry"},
		{",", "empty entry"},
		{"linux/amd64,", "empty entry"},
		{"linux/amd64,,linux/arm64", "empty entry"},
		{" ,amd64", "empty entry"},
		{"linux/amd64,bogus", "invalid platform 'bogus'"},
	};
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		list = (void *)1;
		n = 7;
		hoist_err_clear(&err);
		if (hoist_platform_parse_list(&list, &n, bad[i].in, &err) == 0)
			fail_msg("'%s' accepted", bad[i].in);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].in, err.msg,
				 bad[i].msg);
		assert_null(list);
		assert_int_equal(n, 0);
	}
}

static void test_list_limit(void **state)
{
	struct hoist_platform *list;
	struct hoist_err err;
	size_t n;
	char *s = hoist_xmalloc(300 * 20);
	size_t len = 0;

	(void)state;
	/* 300 distinct platforms: linux/amd64/x0 ... */
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(s + len, 300 * 20 - len,
					"%slinux/a/x%d", i ? "," : "", i);
	assert_int_equal(hoist_platform_parse_list(&list, &n, s, &err),
			 HOIST_ELIMIT);
	assert_null(list);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_single_os),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
