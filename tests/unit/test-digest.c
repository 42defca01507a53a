/*
 * test-digest.c: strict digest validation and the small accessors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/digest.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/banned.h"

#define H64 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define H128 H64 H64

static void test_valid(void **state)
{
	static const char *const ok[] = {
		"sha256:" H64,
		"sha512:" H128,
		"sha256:"
		"00000000000000000000000000000000000000000000000000000000000000"
		"00",
	};
	struct hoist_digest d;
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(ok); i++) {
		hoist_err_clear(&err);
		if (hoist_digest_validate(ok[i], &err))
			fail_msg("'%s': %s", ok[i], err.msg);
		assert_int_equal(hoist_digest_parse(&d, ok[i], &err), 0);
		assert_string_equal(d.str, ok[i]);
		assert_int_equal(err.code, 0);
	}
	/* the largest digest fills the struct exactly */
	assert_int_equal(strlen("sha512:" H128) + 1, HOIST_DIGEST_MAX);
}

struct bad {
	const char *in;
	const char *msg;
};

static void test_invalid(void **state)
{
	static const struct bad bad[] = {
		{"", "invalid digest '': missing ':' after the algorithm"},
		{H64, "missing ':'"},
		{":" H64, "empty algorithm"},
		{"md5:d41d8cd98f00b204e9800998ecf8427e",
		 "unsupported algorithm 'md5' (sha256 or sha512 expected)"},
		{"sha384:" H64, "unsupported algorithm 'sha384'"},
		{"SHA256:" H64, "unsupported algorithm 'SHA256'"},
		{"sha256+b64:" H64, "unsupported algorithm 'sha256+b64'"},
		{"sha256:", "sha256 needs 64 hex digits, not 0"},
		{"sha256:abc", "sha256 needs 64 hex digits, not 3"},
		{"sha256:" H64 "0", "sha256 needs 64 hex digits, not 65"},
		{"sha512:" H64, "sha512 needs 128 hex digits, not 64"},
		{"sha256:"
		 "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785A"
		 "FEE48BB",
		 "upper-case hex digit 'C' at offset 0"},
		{"sha256:"
		 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785a"
		 "fee48bg",
		 "'g' at offset 63 is not a hex digit"},
		{"sha256:../../../../etc/passwd", "'.' at offset 0"},
		{"sha256:ab\ncd", "byte 0x0a at offset 2"},
		{"sha256:" H64 "\n", "byte 0x0a at offset 64"},
		{"sha256:" H64 " ", "' ' at offset 64"},
		{"sha256:" H64 "/", "'/' at offset 64"},
		{" sha256:" H64, "unsupported algorithm ' sha256'"},
		{"\x1b[31m:" H64, "unsupported algorithm '\\x1b[31m'"},
	};
	struct hoist_digest d;
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(bad); i++) {
		hoist_err_clear(&err);
		int rc = hoist_digest_parse(&d, bad[i].in, &err);
		if (rc != HOIST_EINVAL)
			fail_msg("'%s' accepted", bad[i].in);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].in, err.msg,
				 bad[i].msg);
		assert_string_equal(d.str, "");
		for (const char *p = err.msg; *p; p++)
			assert_true((unsigned char)*p >= 0x20 &&
				    (unsigned char)*p < 0x7f);
		assert_int_equal(hoist_digest_validate(bad[i].in, NULL),
				 HOIST_EINVAL);
	}
}

static void test_long_input_bounded(void **state)
{
	struct hoist_err err;
	char *s = hoist_xmalloc(10001);

	(void)state;
	memset(s, 'x', 10000);
	s[10000] = '\0';
	assert_int_equal(hoist_digest_validate(s, &err), HOIST_EINVAL);
	assert_true(strlen(err.msg) < 400);
	assert_non_null(strstr(err.msg, "...'"));
	s[5000] = ':';
	assert_int_equal(hoist_digest_validate(s, &err), HOIST_EINVAL);
	assert_true(strlen(err.msg) < 600);
	free(s);
}

static void test_accessors(void **state)
{
	struct hoist_digest d;
	char hex[HOIST_SHA256_HEXLEN + 1];

	(void)state;
	hoist_sha256_hex("a", 1, hex);
	assert_string_equal(hex, H64);
	hoist_digest_from_sha256_hex(&d, hex);
	assert_string_equal(d.str, "sha256:" H64);
	assert_int_equal(hoist_digest_validate(d.str, NULL), 0);
	assert_string_equal(hoist_digest_hex(d.str), H64);
	assert_int_equal(hoist_digest_algo_len(d.str), 6);
	assert_string_equal(hoist_digest_hex("sha512:" H128), H128);
	/* defensive on malformed input */
	assert_string_equal(hoist_digest_hex("nocolon"), "");
	assert_int_equal(hoist_digest_algo_len("nocolon"), 0);
}

static void test_sha256_helpers(void **state)
{
	const char *hex = "e3b0c44298fc1c149afbf4c8996fb924"
			  "27ae41e4649b934ca495991b7852b855";
	char upper[65];

	(void)state;
	assert_true(hoist_digest_is_sha256_hex(hex, 64));
	assert_false(hoist_digest_is_sha256_hex(hex, 63));
	assert_false(hoist_digest_is_sha256_hex(hex, 0));
	snprintf(upper, sizeof(upper), "%s", hex);
	upper[3] = 'B';
	assert_false(hoist_digest_is_sha256_hex(upper, 64));
	upper[3] = 'g';
	assert_false(hoist_digest_is_sha256_hex(upper, 64));
	assert_true(hoist_digest_is_sha256("sha256:abc"));
	assert_false(hoist_digest_is_sha256("sha512:abc"));
	assert_false(hoist_digest_is_sha256("sha256"));
	assert_false(hoist_digest_is_sha256(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_long_input_bounded),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_sha256_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
