/*
 * test-dfchmod.c: --chmod modes, octal and symbolic, against what
 * chmod(1) does with a umask of 0 (the values below were taken from
 * coreutils' chmod on files of each starting mode).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/dfchmod.h"
#include "util/banned.h"

struct tcase {
	const char *spec;
	uint32_t from;
	int dir;
	uint32_t want;
};

static void test_modes(void **state)
{
	static const struct tcase cases[] = {
		{"755", 0644, 0, 0755},       {"0640", 0777, 1, 0640},
		{"7777", 0, 0, 07777},        {"u+x", 0644, 0, 0744},
		{"u+x", 0600, 0, 0700},       {"go-w", 0666, 0, 0644},
		{"a=rX", 0644, 0, 0444},      {"a=rX", 0755, 0, 0555},
		{"a=rX", 0600, 1, 0555},      {"u=rwx,go=rx", 0600, 0, 0755},
		{"+x", 0600, 0, 0711},        {"o-rwx", 0755, 0, 0750},
		{"u+s", 0644, 0, 04644},      {"g+s", 0755, 0, 02755},
		{"+t", 0644, 0, 01644},       {"=r", 04755, 0, 0444},
		{"a-x,u+w", 0555, 0, 0644},   {"u=g", 0644, 0, 0444},
		{"u=g", 0600, 0, 0000},       {"g=u,o=", 0755, 0, 0770},
		{"ug+rw,o-r", 0755, 0, 0771}, {"a+X", 0644, 0, 0644},
		{"a+X", 0700, 0, 0711},       {"a+X", 0600, 1, 0711},
		{"u-x+w", 0500, 0, 0600},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t got = 0xffff;
		int rc = hoist_dfchmod_apply(cases[i].spec, cases[i].from,
					     cases[i].dir, &got);
		if (rc || got != cases[i].want)
			fail_msg("'%s' on %04o%s: rc %d, got %04o, want %04o",
				 cases[i].spec, cases[i].from,
				 cases[i].dir ? " (dir)" : "", rc, got,
				 cases[i].want);
	}
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"",     "10000", "8",        "75a", "u",  "u+q",   "x+r",
		"u+x,", ",u+x",  "u+x,,g+w", "rwx", "-0", "0x1ff",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t got = 0123;
		if (hoist_dfchmod_apply(bad[i], 0644, 0, &got) != -1 ||
		    got != 0123)
			fail_msg("'%s' accepted (%04o)", bad[i], got);
	}
	assert_int_equal(hoist_dfchmod_apply(NULL, 0644, 0, &(uint32_t){0}),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
