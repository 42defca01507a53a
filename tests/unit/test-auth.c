/*
 * test-auth.c: lib/auth.c (being written).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/auth.h"
#include "util/banned.h"

static void test_parse_basic(void **state)
{
	struct hoist_auth_challenge *c;
	size_t n;

	(void)state;
	assert_int_equal(
		hoist_auth_parse_challenges(&c, &n, "Basic realm=x", NULL), 0);
	assert_int_equal(n, 1);
	hoist_auth_challenges_free(c, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
