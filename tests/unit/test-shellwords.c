/*
 * test-shellwords.c: Dockerfile variable substitution and word splitting.
 * Most single-word cases are BuildKit's own (frontend/dockerfile/shell
 * envVarTest), with PWD=/home, SHELL=bash and NULL set but empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/shellwords.h"
#include "util/mem.h"
#include "util/banned.h"

static const char *const vars[] = {
	"PWD=/home", "SHELL=bash", "NULL=",
	"V=abcabc",  "SP=a  b c",  "P=/usr/local/bin/app.tar.gz",
	"NL=a\nb",
};
static const struct hoist_shellwords_env env = {vars, HOIST_ARRAY_SIZE(vars)};

struct word_case {
	const char *in, *want; /* want NULL: an error */
};

static const struct word_case word_cases[] = {
	{"hello", "hello"},
	{"he'll'o", "hello"},
	{"he'llo", NULL},
	{"he\\'llo", "he'llo"},
	{"he\\\\'llo", NULL},
	{"abc\\tdef", "abctdef"},
	{"\"abc\\tdef\"", "abc\\tdef"},
	{"\"abc\\\\tdef\"", "abc\\tdef"},
	{"'abc\\tdef'", "abc\\tdef"},
	{"hello\\", "hello"},
	{"hello\\\\", "hello\\"},
	{"\"hello", NULL},
	{"\"hello\\\"", NULL},
	{"\"hel'lo\"", "hel'lo"},
	{"'hello", NULL},
	{"'hello\\'", "hello\\"},
	{"'hello\\there'", "hello\\there"},
	{"'hello\\\\there'", "hello\\\\there"},
	{"\"''\"", "''"},
	{"$.", "$."},
	{"he$1x", "hex"},
	{"he$.x", "he$.x"},
	{"he$pwd.", "he."},
	{"he$PWD", "he/home"},
	{"he\\$PWD", "he$PWD"},
	{"he\\\\$PWD", "he\\/home"},
	{"\"he\\$PWD\"", "he$PWD"},
	{"\"he\\\\$PWD\"", "he\\/home"},
	{"\\${}", "${}"},
	{"\\${}aaa", "${}aaa"},
	{"he\\${}", "he${}"},
	{"he\\${}xx", "he${}xx"},
	{"${}", NULL},
	{"${}aaa", NULL},
	{"he${}", NULL},
	{"he${}xx", NULL},
	{"he${hi}", "he"},
	{"he${hi}xx", "hexx"},
	{"he${PWD}", "he/home"},
	{"he${.}", NULL},
	{"he${XXX:-000}xx", "he000xx"},
	{"he${PWD:-000}xx", "he/homexx"},
	{"he${XXX:-$PWD}xx", "he/homexx"},
	{"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
	{"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
	{"he${XXX:YYY}", NULL},
	{"he${XXX?}", NULL},
	{"he${XXX:?}", NULL},
	{"he${PWD?}", "he/home"},
	{"he${PWD:?}", "he/home"},
	{"he${NULL?}", "he"},
	{"he${NULL:?}", NULL},
	{"he${XXX:+${PWD}}xx", "hexx"},
	{"he${PWD:+${XXX}}xx", "hexx"},
	{"he${PWD:+${SHELL}}xx", "hebashxx"},
	{"he${XXX:+000}xx", "hexx"},
	{"he${PWD:+000}xx", "he000xx"},
	{"'he${XX}'", "he${XX}"},
	{"\"he${PWD}\"", "he/home"},
	{"\"he'$PWD'\"", "he'/home'"},
	{"\"$PWD\"", "/home"},
	{"'$PWD'", "$PWD"},
	{"'\\$PWD'", "\\$PWD"},
	{"'\"hello\"'", "\"hello\""},
	{"he${PWD", NULL},
	{"he${PWD:=000}xx", NULL},
	{"he${PWD:+${PWD}:}xx", "he/home:xx"},
	{"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
	{"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
	{"\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95"},
	/* the forms without a colon: only unset counts */
	{"${NULL-x}", ""},
	{"${NULL:-x}", "x"},
	{"${XXX-x}", "x"},
	{"${NULL+x}", "x"},
	{"${NULL:+x}", ""},
	{"${XXX+x}", ""},
	{"${XXX?gone}", NULL},
	/* special parameters expand to nothing */
	{"a$$b", "ab"},
	{"a$@b", "ab"},
	{"${#}", ""},
	/* prefixes and suffixes */
	{"${V#*b}", "cabc"},
	{"${V##*b}", "c"},
	{"${V%b*}", "abca"},
	{"${V%%b*}", "a"},
	{"${V#x}", "abcabc"},
	{"${V#a?c}", "abc"},
	{"${P##*/}", "app.tar.gz"},
	{"${P%/*}", "/usr/local/bin"},
	{"${P%.*}", "/usr/local/bin/app.tar"},
	{"${P%%.*}", "/usr/local/bin/app"},
	{"${P#/usr/}", "local/bin/app.tar.gz"},
	{"${XXX#a}", ""},
	{"${V#\\*}", "abcabc"},
	{"${V#\\a}", NULL},
	{"${V:#a}", NULL},
	{"${V:%a}", NULL},
	{"${NL#*}", "a\nb"},
	{"${NL##*}", "\nb"},
	/* replacement */
	{"${V/b/X}", "aXcabc"},
	{"${V//b/X}", "aXcaXc"},
	{"${V//b/}", "acac"},
	{"${V/x/y}", "abcabc"},
	{"${V/b*/X}", "aX"},
	{"${V//b/[$0]}", "a[]ca[]c"},
	{"${V//b/\\$0}", "a\\bca\\bc"},
	{"${V//b/$$}", "acac"},
	{"${V/b/\\$0}", "a\\$0cabc"},
	{"${XXX/a/b}", ""},
	{"${V/b", NULL},
	{"${V/b/c", NULL},
	/* unsupported modifiers */
	{"${V=x}", NULL},
	{"${V:x}", NULL},
	{"${V a}", NULL},
};

static void test_words(void **state)
{
	struct hoist_shellwords lex = {'\\', 0, &env};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(word_cases); i++) {
		const struct word_case *c = &word_cases[i];
		struct hoist_err err;
		char *out = NULL;
		int rc = hoist_shellwords_word(&out, &lex, c->in, &err);

		if (!c->want) {
			if (rc == 0)
				fail_msg("'%s' gave '%s', want an error", c->in,
					 out);
			assert_null(out);
			assert_int_equal(rc, HOIST_EINVAL);
			assert_non_null(strstr(err.msg, "failed to process"));
			continue;
		}
		if (rc)
			fail_msg("'%s': %s", c->in, err.msg);
		if (strcmp(out, c->want) != 0)
			fail_msg("'%s' gave '%s', want '%s'", c->in, out,
				 c->want);
		free(out);
	}
}

static void want_error(const char *in, const char *msg)
{
	struct hoist_shellwords lex = {'\\', 0, &env};
	struct hoist_err err;
	char *out;

	assert_int_equal(hoist_shellwords_word(&out, &lex, in, &err),
			 HOIST_EINVAL);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("'%s': got '%s', want '%s'", in, err.msg, msg);
}

static void test_messages(void **state)
{
	(void)state;
	want_error("he${PWD", "failed to process 'he${PWD': syntax error: "
			      "missing '}'");
	want_error("${}", "failed to process '${}': syntax error: bad "
			  "substitution");
	want_error("${XXX:?}", "failed to process '${XXX:?}': XXX: is not "
			       "allowed to be unset");
	want_error("${NULL:?}", "failed to process '${NULL:?}': NULL: is "
				"not allowed to be empty");
	want_error("${XXX?no way}", "failed to process '${XXX?no way}': "
				    "XXX: no way");
	want_error("${V:x}", "failed to process '${V:x}': unsupported "
			     "modifier (:x) in substitution");
	want_error("${V:#a}", "failed to process '${V:#a}': unsupported "
			      "modifier (:#) in substitution");
	want_error("'abc", "failed to process ''abc': unexpected end of "
			   "statement while looking for matching single-quote");
	want_error("\"abc", "failed to process '\"abc': unexpected end "
			    "of statement while looking for matching "
			    "double-quote");
	want_error("${V/b", "failed to process '${V/b': syntax error: "
			    "missing '/' in ${}");
	want_error("${V#\\a}",
		   "failed to process '${V#\\\\a}': invalid "
		   "pattern (\\\\a) in substitution: invalid escape "
		   "'\\a'");
}

struct split_case {
	const char *in;
	const char *want[5];
};

static const struct split_case split_cases[] = {
	{"hello", {"hello"}},
	{"hello world", {"hello", "world"}},
	{"  hello   world  ", {"hello", "world"}},
	{"\"hello world\"", {"hello world"}},
	{"'hello world'", {"hello world"}},
	{"hello\\ world", {"hello world"}},
	{"$SP", {"a", "b", "c"}},
	{"\"$SP\"", {"a  b c"}},
	{"x$SP", {"xa", "b", "c"}},
	{"${XXX:-a b}", {"a", "b"}},
	{"${XXX:-\"a b\"}", {"a", "b"}},
	{"\"\"", {NULL}},
	{"a \"\" b", {"a", "b"}},
	{"$XXX", {NULL}},
	{"", {NULL}},
	{"8080/tcp $PWD", {"8080/tcp", "/home"}},
	{"a\xc2\xa0"
	 "b",
	 {"a", "b"}},
};

static void test_split(void **state)
{
	struct hoist_shellwords lex = {'\\', 0, &env};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		struct hoist_err err;
		char **w;
		size_t n, want = 0;

		while (want < 5 && c->want[want])
			want++;
		if (hoist_shellwords_split(&w, &n, &lex, c->in, &err))
			fail_msg("'%s': %s", c->in, err.msg);
		if (n != want)
			fail_msg("'%s': %zu words, want %zu", c->in, n, want);
		for (size_t k = 0; k < n; k++)
			assert_string_equal(w[k], c->want[k]);
		assert_null(w[n]);
		hoist_shellwords_free(w);
	}
}

static void test_options(void **state)
{
	struct hoist_shellwords lex = {'`', 0, &env};
	struct hoist_err err;
	char *out;

	(void)state;
	/* the escape directive changes the escape character */
	assert_int_equal(hoist_shellwords_word(&out, &lex, "a`$PWD\\x", &err),
			 0);
	assert_string_equal(out, "a$PWD\\x");
	free(out);
	assert_int_equal(hoist_shellwords_word(&out, &lex, "\"`\"`$`x\"", &err),
			 0);
	assert_string_equal(out, "\"$`x");
	free(out);

	/* heredoc parsing: unset names kept, quotes kept */
	lex.escape = '\\';
	lex.flags = HOIST_SHELLWORDS_SKIP_UNSET | HOIST_SHELLWORDS_RAW_QUOTES;
	assert_int_equal(
		hoist_shellwords_word(&out, &lex, "'a'$X${Y}${Z:-q}$PWD", &err),
		0);
	assert_string_equal(out, "'a'$X${Y}${Z:-q}/home");
	free(out);

	/* heredoc bodies: quotes are plain text */
	lex.flags = HOIST_SHELLWORDS_NO_QUOTES;
	assert_int_equal(
		hoist_shellwords_word(&out, &lex, "say 'it' \"$SHELL\"", &err),
		0);
	assert_string_equal(out, "say 'it' \"bash\"");
	free(out);

	lex.flags = HOIST_SHELLWORDS_RAW_ESCAPES;
	assert_int_equal(hoist_shellwords_word(&out, &lex, "a\\$b\\c", &err),
			 0);
	assert_string_equal(out, "a\\$b\\c");
	free(out);

	/* no environment at all */
	lex.flags = 0;
	lex.env = NULL;
	assert_int_equal(hoist_shellwords_word(&out, &lex, "x${PWD:-d}", &err),
			 0);
	assert_string_equal(out, "xd");
	free(out);

	/* NULL err is allowed */
	assert_int_equal(hoist_shellwords_word(&out, &lex, "${", NULL),
			 HOIST_EINVAL);
}

static void test_limits(void **state)
{
	struct hoist_shellwords lex = {'\\', 0, &env};
	struct hoist_err err;
	char *deep = hoist_xmalloc(5 * 200 + 200 + 1), *p = deep, *out;

	(void)state;
	for (int i = 0; i < 200; i++) {
		memcpy(p, "${A:-", 5);
		p += 5;
	}
	for (int i = 0; i < 200; i++)
		*p++ = '}';
	*p = 0;
	assert_int_equal(hoist_shellwords_word(&out, &lex, deep, &err),
			 HOIST_ELIMIT);
	free(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),  cmocka_unit_test(test_messages),
		cmocka_unit_test(test_split),  cmocka_unit_test(test_options),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
