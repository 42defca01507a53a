/*
 * test-dockerignore.c: .dockerignore reading and matching. The single
 * pattern cases are moby/patternmatcher's own tests; the file examples are
 * those of Docker's documentation of .dockerignore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/dockerignore.h"
#include "util/mem.h"
#include "util/banned.h"

struct case1 {
	const char *pattern, *path;
	int want;
};

static const struct case1 single[] = {
	{"**", "file", 1},
	{"**", "file/", 1},
	{"**/", "file", 1},
	{"**/", "file/", 1},
	{"**", "/", 1},
	{"**/", "/", 1},
	{"**", "dir/file", 1},
	{"**/", "dir/file", 1},
	{"**", "dir/file/", 1},
	{"**/", "dir/file/", 1},
	{"**/**", "dir/file", 1},
	{"**/**", "dir/file/", 1},
	{"dir/**", "dir/file", 1},
	{"dir/**", "dir/file/", 1},
	{"dir/**", "dir/dir2/file", 1},
	{"dir/**", "dir/dir2/file/", 1},
	{"**/dir", "dir", 1},
	{"**/dir", "dir/file", 1},
	{"**/dir2/*", "dir/dir2/file", 1},
	{"**/dir2/*", "dir/dir2/file/", 1},
	{"**/dir2/**", "dir/dir2/dir3/file", 1},
	{"**/dir2/**", "dir/dir2/dir3/file/", 1},
	{"**file", "file", 1},
	{"**file", "dir/file", 1},
	{"**/file", "dir/file", 1},
	{"**file", "dir/dir/file", 1},
	{"**/file", "dir/dir/file", 1},
	{"**/file*", "dir/dir/file", 1},
	{"**/file*", "dir/dir/file.txt", 1},
	{"**/file*txt", "dir/dir/file.txt", 1},
	{"**/file*.txt", "dir/dir/file.txt", 1},
	{"**/file*.txt*", "dir/dir/file.txt", 1},
	{"**/**/*.txt", "dir/dir/file.txt", 1},
	{"**/**/*.txt2", "dir/dir/file.txt", 0},
	{"**/*.txt", "file.txt", 1},
	{"**/**/*.txt", "file.txt", 1},
	{"a**/*.txt", "a/file.txt", 1},
	{"a**/*.txt", "a/dir/file.txt", 1},
	{"a**/*.txt", "a/dir/dir/file.txt", 1},
	{"a/*.txt", "a/dir/file.txt", 0},
	{"a/*.txt", "a/file.txt", 1},
	{"a/*.txt**", "a/file.txt", 1},
	{"a[b-d]e", "ae", 0},
	{"a[b-d]e", "ace", 1},
	{"a[b-d]e", "aae", 0},
	{"a[^b-d]e", "aze", 1},
	{".*", ".foo", 1},
	{".*", "foo", 0},
	{"abc.def", "abcdef", 0},
	{"abc.def", "abc.def", 1},
	{"abc.def", "abcZdef", 0},
	{"abc?def", "abcZdef", 1},
	{"abc?def", "abcdef", 0},
	{"a\\\\", "a\\", 1},
	{"**/foo/bar", "foo/bar", 1},
	{"**/foo/bar", "dir/foo/bar", 1},
	{"**/foo/bar", "dir/dir2/foo/bar", 1},
	{"abc/**", "abc", 0},
	{"abc/**", "abc/def", 1},
	{"abc/**", "abc/def/ghi", 1},
	{"**/.foo", ".foo", 1},
	{"**/.foo", "bar.foo", 0},
	{"a(b)c/def", "a(b)c/def", 1},
	{"a(b)c/def", "a(b)c/xyz", 0},
	{"a.|)$(}+{bc", "a.|)$(}+{bc", 1},
	{"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
	 "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1},
	{"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
	 1},
	/* a pattern matches what is under a matching directory */
	{"node_modules", "node_modules/a/b.js", 1},
	{"*/temp*", "somedir/temporary.txt", 1},
	{"*/temp*", "somedir/temp", 1},
	{"*/temp*", "temp", 0},
	{"*/*/temp*", "somedir/subdir/temporary.txt", 1},
	{"temp?", "tempa", 1},
	{"temp?", "temp", 0},
	{"temp?", "temp/", 0},
	{"**/*.go", "main.go", 1},
	{"**/*.go", "a/b/c.go", 1},
	{"*.go", "a/b/c.go", 0},
	/* "/" and "./" are cleaned away */
	{"/secret", "secret", 1},
	{"./a/../b", "b", 1},
	{"a/", "a/x", 1},
	/* "^" outside brackets is a regexp anchor in Docker's matcher */
	{"^a*", "ab", 1},
	{"x^a*", "xab", 0},
	{"x^a", "x^a", 1},
	/* "." and "*" do not cross a newline, [^/] does */
	{"a**", "a\nb", 1},
	{"**/b", "x\n/b", 1},
	{"a*b", "a\nb", 1},
	{"a/**/b", "a/x\ny/b", 0},
};

static void test_single(void **state)
{
	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(single); i++) {
		const struct case1 *c = &single[i];
		struct hoist_dockerignore *di;
		struct hoist_err err;
		char *text = hoist_xasprintf("%s\n", c->pattern);
		int got;

		if (hoist_dockerignore_parse(&di, ".dockerignore", text,
					     strlen(text), &err))
			fail_msg("'%s': %s", c->pattern, err.msg);
		got = hoist_dockerignore_excluded(di, c->path);
		if (got != c->want)
			fail_msg("'%s' on '%s': %d, want %d", c->pattern,
				 c->path, got, c->want);
		hoist_dockerignore_free(di);
		free(text);
	}
}

struct file_case {
	const char *file;
	const char *excluded[6];
	const char *kept[6];
};

static const struct file_case files[] = {
	{"# comment\n*/temp*\n*/*/temp*\ntemp?\n",
	 {"somedir/temporary.txt", "somedir/temp", "a/b/temp.x", "tempa"},
	 {"temp", "temporary", "a/b/c/temp", "tempab"}},
	{"*.md\n!README.md\n", {"a.md", "CHANGES.md"}, {"README.md", "x.txt"}},
	{"*.md\n!README*.md\nREADME-secret.md\n",
	 {"a.md", "README-secret.md"},
	 {"README.md", "README-1.md"}},
	{"*.md\nREADME-secret.md\n!README*.md\n",
	 {"a.md"},
	 {"README.md", "README-secret.md"}},
	/* exceptions re-include under an excluded directory */
	{"docs\n!docs/keep\n",
	 {"docs", "docs/a", "docs/sub/b"},
	 {"docs/keep", "docs/keep/x", "other"}},
	/* Docker's walk: "!a" is not re-checked against "a/x" once it did
	 * not apply to "a" */
	{"a/x\n!a\n", {"a/x", "a/x/y"}, {"a", "a/y"}},
	/* comments only at the start of a line; CRLF and BOM */
	{"\xef\xbb\xbf"
	 "foo\r\n #bar\r\n",
	 {"foo", "#bar"},
	 {"bar"}},
	{"!foo\n", {NULL}, {"foo", "bar"}},
	{"*\n!keep\n", {"a", "b/c"}, {"keep"}},
};

static void test_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(files); i++) {
		const struct file_case *c = &files[i];
		struct hoist_dockerignore *di;
		struct hoist_err err;

		if (hoist_dockerignore_parse(&di, ".dockerignore", c->file,
					     strlen(c->file), &err))
			fail_msg("file %zu: %s", i, err.msg);
		for (size_t k = 0; k < 6 && c->excluded[k]; k++)
			if (!hoist_dockerignore_excluded(di, c->excluded[k]))
				fail_msg("file %zu: '%s' kept", i,
					 c->excluded[k]);
		for (size_t k = 0; k < 6 && c->kept[k]; k++)
			if (hoist_dockerignore_excluded(di, c->kept[k]))
				fail_msg("file %zu: '%s' excluded", i,
					 c->kept[k]);
		hoist_dockerignore_free(di);
	}
}

static void test_read(void **state)
{
	static const char text[] = "# c\n"
				   "\n"
				   "  /abs/path/  \n"
				   "./x/../y//z\n"
				   "! ./keep \n"
				   " # not a comment\n"
				   "/\n";
	static const char *const want[] = {"abs/path", "y/z", "keep",
					   "# not a comment", "/"};
	struct hoist_dockerignore *di;
	struct hoist_err err;
	int exc;

	(void)state;
	assert_int_equal(hoist_dockerignore_parse(&di, ".dockerignore", text,
						  strlen(text), &err),
			 0);
	assert_int_equal(hoist_dockerignore_count(di), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(hoist_dockerignore_pattern(di, i, &exc),
				    want[i]);
		assert_int_equal(exc, i == 2);
	}
	assert_null(hoist_dockerignore_pattern(di, 5, NULL));
	hoist_dockerignore_free(di);
}

static void parse_fails(const char *text, const char *msg)
{
	struct hoist_dockerignore *di = (void *)1;
	struct hoist_err err;

	assert_int_equal(hoist_dockerignore_parse(&di, ".dockerignore", text,
						  strlen(text), &err),
			 HOIST_EINVAL);
	assert_null(di);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void test_errors(void **state)
{
	struct hoist_dockerignore *di;
	struct hoist_err err;
	const char *bad[] = {"a", "[z"};

	(void)state;
	parse_fails("a\n!\n", "'.dockerignore' line 2: illegal exclusion "
			      "pattern: \"!\"");
	parse_fails("ok\nx[\n", "'.dockerignore' line 2: syntax error in "
				"pattern 'x['");
	parse_fails("a[]b]\n", "'.dockerignore' line 1: syntax error in "
			       "pattern 'a[]b]'");
	parse_fails("a[b-]\n", "'.dockerignore' line 1: syntax error in "
			       "pattern 'a[b-]'");
	parse_fails("a\\\n", "'.dockerignore' line 1: syntax error in "
			     "pattern 'a\\\\'");
	assert_int_equal(hoist_dockerignore_new(&di, bad, 2, &err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg, "syntax error in pattern '[z'");
}

static void test_skip_dir(void **state)
{
	static const struct {
		const char *file, *dir;
		int skip;
	} cases[] = {
		{"build\n", "build", 1},
		{"node_modules\n!node_modules/keep.js\n", "node_modules", 0},
		{"node_modules\n!node_modules/keep.js\n", "node_modules/x", 1},
		{"node_modules\n!node_modules\n", "node_modules", 0},
		{"a\n!ab\n", "a", 1},
		{"build\n!*.keep\n", "build", 0},
		{"build\n!b\\*\n", "build", 1},
		{"a\n!b/c\n", "a", 1},
	};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(cases); i++) {
		struct hoist_dockerignore *di;
		struct hoist_err err;

		assert_int_equal(hoist_dockerignore_parse(
					 &di, ".dockerignore", cases[i].file,
					 strlen(cases[i].file), &err),
				 0);
		if (hoist_dockerignore_may_skip_dir(di, cases[i].dir) !=
		    cases[i].skip)
			fail_msg("case %zu: want %d", i, cases[i].skip);
		hoist_dockerignore_free(di);
	}
}

static void test_walk(void **state)
{
	static const char text[] = "*.log\n!important.log\nbuild\n";
	struct hoist_dockerignore *di;
	struct hoist_err err;
	unsigned char *root_info, *info;

	(void)state;
	assert_int_equal(hoist_dockerignore_parse(&di, ".dockerignore", text,
						  strlen(text), &err),
			 0);
	root_info = hoist_xcalloc(hoist_dockerignore_count(di), 1);
	info = hoist_xcalloc(hoist_dockerignore_count(di), 1);
	assert_int_equal(hoist_dockerignore_match(di, "src", NULL, root_info),
			 0);
	/* "*" stops at "/": only a.log at the root is excluded */
	assert_int_equal(
		hoist_dockerignore_match(di, "src/a.log", root_info, info), 0);
	assert_int_equal(hoist_dockerignore_match(di, "a.log", NULL, NULL), 1);
	assert_int_equal(
		hoist_dockerignore_match(di, "important.log", NULL, NULL), 0);
	assert_int_equal(hoist_dockerignore_match(di, "build", NULL, root_info),
			 1);
	assert_int_equal(
		hoist_dockerignore_match(di, "build/x.c", root_info, info), 1);
	/* no parent info: the parents are checked directly */
	assert_int_equal(hoist_dockerignore_match(di, "build/x.c", NULL, info),
			 1);
	free(root_info);
	free(info);
	hoist_dockerignore_free(di);
}

static void test_clean(void **state)
{
	static const char *const cases[][2] = {
		{"", "."},
		{".", "."},
		{"a/b", "a/b"},
		{"a//b/", "a/b"},
		{"./a", "a"},
		{"a/./b", "a/b"},
		{"a/../b", "b"},
		{"../a", "../a"},
		{"a/../..", ".."},
		{"/../a", "/a"},
		{"/", "/"},
		{"//a//", "/a"},
		{"a/b/../../c", "c"},
		{"!./x", "!./x"},
	};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(cases); i++) {
		char *c = hoist_dockerignore_clean(cases[i][0]);

		if (strcmp(c, cases[i][1]) != 0)
			fail_msg("'%s': '%s', want '%s'", cases[i][0], c,
				 cases[i][1]);
		free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),   cmocka_unit_test(test_files),
		cmocka_unit_test(test_read),     cmocka_unit_test(test_errors),
		cmocka_unit_test(test_skip_dir), cmocka_unit_test(test_walk),
		cmocka_unit_test(test_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
