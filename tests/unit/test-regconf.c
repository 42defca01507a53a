/*
 * test-regconf.c: the registries.conf reader (lib/regconf.c) against the
 * rules of containers-registries.conf(5) as containers/image applies them:
 * what a file gives, which entry a reference finds (prefix boundaries,
 * wildcards, longest first), where a pull or a push goes (mirrors in
 * order, location rewriting, digest-only and tag-only mirrors, blocked),
 * what is refused with which file:line message, what is warned about, and
 * the search order of the files (environment, user file, drop-ins).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/regconf.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define D64                                                                    \
	"sha256:"                                                              \
	"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"

static char warned[4096];

static void log_cb(enum hoist_log_level lvl, const char *msg, void *ctx)
{
	size_t n = strlen(warned);

	(void)ctx;
	if (lvl == HOIST_LOG_WARN)
		snprintf(warned + n, sizeof(warned) - n, "%s\n", msg);
}

static int parse(struct hoist_regconf *c, const char *text,
		 struct hoist_err *err)
{
	memset(c, 0, sizeof(*c));
	warned[0] = '\0';
	hoist_err_clear(err);
	return hoist_regconf_parse(c, text, strlen(text), "t.conf", err);
}

static const char full[] =
	"# comment\n"
	"unqualified-search-registries = ['docker.io', \"quay.io\"]\n"
	"short-name-mode = \"enforcing\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"docker.io\"\n"
	"location = \"docker.io/\"\n"
	"\n"
	"[[registry.mirror]]\n"
	"location = \"mirror.example:5000/hub\"\n"
	"insecure = true\n"
	"[[registry.mirror]]\n"
	"location = \"tags.example\"\n"
	"pull-from-mirror = \"tag-only\"\n"
	"[[registry.mirror]]\n"
	"location = \"digests.example\"\n"
	"pull-from-mirror = \"digest-only\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"example.com/foo\"\n"
	"location = \"internal.example/bar\"   # rewritten\n"
	"insecure = true\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"*.wild.example\"\n"
	"blocked = true\n"
	"\n"
	"[[registry]]\n"
	"location = \"plain.example\"\n"
	"mirror-by-digest-only = true\n"
	"[[registry.mirror]]\n"
	"location = \"m.example\"\n"
	"\n"
	"[aliases]\n"
	"\"app\" = \"docker.io/library/app\"\n";

static void sources(const struct hoist_regconf *c, const char *ref, int pull,
		    const char *want)
{
	struct hoist_regconf_source *s = NULL;
	struct hoist_err err;
	char got[1024] = "";
	size_t n = 0, len = 0;

	hoist_err_clear(&err);
	assert_int_equal(hoist_regconf_sources(c, ref, pull, &s, &n, &err), 0);
	for (size_t i = 0; i < n && len < sizeof(got); i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len,
					"%s%s%s%s", i ? " " : "",
					s[i].mirror ? "m:" : "",
					s[i].insecure ? "i:" : "", s[i].ref);
	assert_string_equal(got, want);
	hoist_regconf_sources_free(s, n);
}

static void test_full(void **state)
{
	struct hoist_regconf c;
	struct hoist_err err;
	const struct hoist_regconf_registry *g;

	(void)state;
	assert_int_equal(parse(&c, full, &err), 0);
	assert_int_equal(c.nregs, 4);
	assert_string_equal(warned, ""); /* keys of other tools: quiet */
	g = &c.regs[0];
	assert_string_equal(g->prefix, "docker.io");
	assert_string_equal(g->location, "docker.io"); /* '/' dropped */
	assert_int_equal(g->nmirrors, 3);
	assert_true(g->mirrors[0].insecure);
	assert_int_equal(g->mirrors[1].pull_from, HOIST_REGCONF_PULL_TAG_ONLY);
	assert_int_equal(g->line, 5);
	assert_string_equal(g->file, "t.conf");
	assert_null(c.regs[2].location);
	assert_string_equal(c.regs[3].prefix, "plain.example");

	/* a tag pull: mirrors that take tags, then the origin */
	sources(&c, "docker.io/library/app:1", 1,
		"m:i:mirror.example:5000/hub/library/app:1 "
		"m:tags.example/library/app:1 docker.io/library/app:1");
	sources(&c, "docker.io/library/app@" D64, 1,
		"m:i:mirror.example:5000/hub/library/app@" D64
		" m:digests.example/library/app@" D64
		" docker.io/library/app@" D64);
	/* a push: the name itself, never a mirror, never rewritten */
	sources(&c, "docker.io/library/app:1", 0, "docker.io/library/app:1");
	sources(&c, "example.com/foo/x:1", 0, "i:example.com/foo/x:1");
	/* location rewriting on a component boundary only */
	sources(&c, "example.com/foo/x:1", 1, "i:internal.example/bar/x:1");
	sources(&c, "example.com/foo:2", 1, "i:internal.example/bar:2");
	sources(&c, "example.com/foobar:2", 1, "example.com/foobar:2");
	/* mirror-by-digest-only */
	sources(&c, "plain.example/a:1", 1, "plain.example/a:1");
	sources(&c, "plain.example/a@" D64, 1,
		"m:m.example/a@" D64 " plain.example/a@" D64);
	/* nothing configured */
	sources(&c, "other.example/a:1", 1, "other.example/a:1");

	/* wildcards match subdomains' hosts, and block them */
	assert_non_null(hoist_regconf_find(&c, "a.wild.example/x:1"));
	assert_non_null(hoist_regconf_find(&c, "a.b.wild.example:5000/x"));
	assert_null(hoist_regconf_find(&c, "wild.example/x"));
	assert_null(hoist_regconf_find(&c, "other.example/a.wild.example"));
	{
		struct hoist_regconf_source *s = NULL;
		size_t n = 0;
		assert_int_equal(hoist_regconf_sources(&c, "a.wild.example/x:1",
						       1, &s, &n, &err),
				 HOIST_EUNSUPPORTED);
		assert_non_null(strstr(err.msg, "registry '*.wild.example' is "
						"blocked in 't.conf' line 24"));
		assert_int_equal(n, 0);
	}
	hoist_regconf_release(&c);
}

static void test_longest_prefix(void **state)
{
	struct hoist_regconf c;
	struct hoist_err err;

	(void)state;
	assert_int_equal(parse(&c,
			       "[[registry]]\nlocation = \"r.example\"\n"
			       "[[registry]]\nprefix = \"r.example/team/app\"\n"
			       "location = \"x.example/app\"\n"
			       "[[registry]]\nprefix = \"r.example/team\"\n"
			       "location = \"y.example\"\n"
			       "[[registry]]\nprefix = \"r.example/team\"\n"
			       "location = \"second.example\"\n",
			       &err),
			 0);
	sources(&c, "r.example/team/app:1", 1, "x.example/app:1");
	sources(&c, "r.example/team/app/sub:1", 1, "x.example/app/sub:1");
	sources(&c, "r.example/team/other:1", 1, "y.example/other:1");
	sources(&c, "r.example/solo:1", 1, "r.example/solo:1");
	/* a tag in the prefix: rewritten as text, as containers/image does */
	hoist_regconf_release(&c);
	assert_int_equal(parse(&c,
			       "[[registry]]\nprefix = \"r.example/app:old\"\n"
			       "location = \"r.example/app:new\"\n",
			       &err),
			 0);
	sources(&c, "r.example/app:old", 1, "r.example/app:new");
	sources(&c, "r.example/app:older", 1, "r.example/app:older");
	hoist_regconf_release(&c);
}

struct bad_case {
	const char *text, *msg;
	int rc;
};

static const struct bad_case bad_cases[] = {
	{"[[registry]]\nprefix = \"x\n", "'t.conf' line 2: unterminated string",
	 HOIST_EINVAL},
	{"[[registry]]\ninsecure = \"yes\"\n",
	 "line 2: 'insecure' wants a "
	 "boolean",
	 HOIST_EINVAL},
	{"\n[[registry]]\nblocked = true\n",
	 "line 2: [[registry]] without "
	 "prefix or location",
	 HOIST_EINVAL},
	{"[[registry]]\nprefix = \"a.example\"\n",
	 "line 1: [[registry]] without location needs a wildcard prefix",
	 HOIST_EINVAL},
	{"[[registry]]\nlocation = \"https://a.example\"\n",
	 "line 1: 'location' is \"host[:port][/path]\", without http://",
	 HOIST_EINVAL},
	{"[[registry]]\nprefix = \"*.a.example/x\"\n",
	 "line 1: a wildcard prefix is \"*.example.com\"", HOIST_EINVAL},
	{"[[registry.mirror]]\nlocation = \"m\"\n",
	 "line 1: [[registry.mirror]] outside a [[registry]]", HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\ninsecure = "
	 "true\n",
	 "line 1: [[registry.mirror]] without location", HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\nlocation = "
	 "\"m\"\npull-from-mirror = \"sometimes\"\n",
	 "line 5: 'pull-from-mirror' wants \"all\"", HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\"\npull-from-mirror = \"all\"\n",
	 "line 3: 'pull-from-mirror' belongs in a [[registry.mirror]]",
	 HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\"\nmirror-by-digest-only = true\n"
	 "[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = "
	 "\"tag-only\"\n",
	 "line 1: 'pull-from-mirror' and 'mirror-by-digest-only' together",
	 HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\"\n[[registry]]\nprefix = "
	 "\"b\"\nlocation = \"a\"\ninsecure = true\n",
	 "line 3: a location defined again with another 'insecure'",
	 HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\"\nlocation = \"b\"\n",
	 "line 3: key given twice", HOIST_EINVAL},
	{"[[registry]]\nlocation = \"a\" junk\n",
	 "line 2: unexpected text after the value", HOIST_EINVAL},
	{"[[registry]]\nlocation = \"\x1b[2J\"\n",
	 "line 2: control character or newline in a string", HOIST_EINVAL},
	{"[registry\n", "line 1: malformed table header", HOIST_EINVAL},
	{"a = [[1]]\n", "line 1: nested arrays are not supported",
	 HOIST_EINVAL},
	{"a = 1.5\n", "line 1: unexpected text after the value", HOIST_EINVAL},
	{"a = {x = 1}\n", "line 1: unsupported value", HOIST_EINVAL},
	{"a = \"\\u0000\"\n", "line 1: bad \\u escape", HOIST_EINVAL},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct hoist_regconf c;
		struct hoist_err err;
		int rc = parse(&c, b->text, &err);
		if (rc != b->rc || !strstr(err.msg, b->msg))
			fail_msg("case %zu: rc %d, message '%s', want '%s'", i,
				 rc, err.msg, b->msg);
		/* one line, nothing raw */
		for (const char *p = err.msg; *p; p++)
			assert_true((unsigned char)*p >= 0x20 &&
				    (unsigned char)*p != 0x7f);
		assert_non_null(strstr(err.msg, "'t.conf' line "));
		hoist_regconf_release(&c);
	}
}

static void test_limits(void **state)
{
	struct hoist_regconf c;
	struct hoist_err err;
	struct hoist_buf b = HOIST_BUF_INIT(1 << 20);
	char *text;

	(void)state;
	hoist_buf_adds(&b, "[[registry]]\nlocation = \"a\"\n", NULL);
	for (int i = 0; i < 101; i++)
		hoist_buf_adds(&b, "[[registry.mirror]]\nlocation = \"m\"\n",
			       NULL);
	text = hoist_buf_detach(&b, NULL);
	assert_int_equal(parse(&c, text, &err), HOIST_ELIMIT);
	assert_non_null(strstr(err.msg, "line 203: more than 100 mirrors"));
	hoist_regconf_release(&c);
	free(text);
}

static void test_warnings(void **state)
{
	struct hoist_regconf c;
	struct hoist_err err;

	(void)state;
	assert_int_equal(parse(&c,
			       "[[registry]]\nlocation = \"a\"\n"
			       "odd-key = 1\n"
			       "[registries.search]\n"
			       "registries = ['docker.io']\n",
			       &err),
			 0);
	assert_non_null(
		strstr(warned, "'t.conf' line 3: key 'odd-key' is ignored"));
	assert_non_null(strstr(
		warned, "'t.conf' line 4: key 'registries.search' is ignored"));
	hoist_regconf_release(&c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The search order, in a scratch HOME. */
static void test_load(void **state)
{
	char dir[] = "/tmp/test-regconf.XXXXXX", *p;
	struct hoist_regconf c;
	struct hoist_err err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("HOME", dir, 1);
	p = hoist_xasprintf("%s/.config/containers/registries.conf.d", dir);
	assert_int_equal(hoist_fs_mkdirs(p, 0755, NULL), 0);
	free(p);

	/* the environment's file, then the user's drop-ins by name */
	p = hoist_xasprintf("%s/env.conf", dir);
	write_file(p, "[[registry]]\nlocation = \"a.example\"\nblocked = "
		      "true\n[[registry]]\nlocation = \"b.example\"\n");
	setenv("CONTAINERS_REGISTRIES_CONF", p, 1);
	free(p);
	p = hoist_xasprintf("%s/.config/containers/registries.conf.d/"
			    "20-b.conf",
			    dir);
	write_file(p, "[[registry]]\nlocation = \"a.example\"\n");
	free(p);
	p = hoist_xasprintf("%s/.config/containers/registries.conf.d/"
			    "10-a.conf",
			    dir);
	write_file(p, "[[registry]]\nlocation = \"c.example\"\n");
	free(p);
	hoist_err_clear(&err);
	assert_int_equal(hoist_regconf_load(&c, &err), 0);
	assert_int_equal(c.nregs, 3);
	/* 20-b.conf's a.example replaced env.conf's: not blocked */
	assert_false(hoist_regconf_find(&c, "a.example/x")->blocked);
	assert_non_null(strstr(hoist_regconf_find(&c, "a.example/x")->file,
			       "20-b.conf"));
	assert_non_null(hoist_regconf_find(&c, "c.example/x"));
	hoist_regconf_release(&c);

	/* a missing $CONTAINERS_REGISTRIES_CONF is an error */
	setenv("CONTAINERS_REGISTRIES_CONF", "/nonexistent/r.conf", 1);
	assert_int_equal(hoist_regconf_load(&c, &err), HOIST_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/r.conf"));
	hoist_regconf_release(&c);

	/* without it: the user's file (so not /etc's drop-ins) */
	unsetenv("CONTAINERS_REGISTRIES_CONF");
	p = hoist_xasprintf("%s/.config/containers/registries.conf", dir);
	write_file(p, "[[registry]]\nlocation = \"u.example\"\n");
	free(p);
	assert_int_equal(hoist_regconf_load(&c, &err), 0);
	assert_non_null(hoist_regconf_find(&c, "u.example/x"));
	assert_non_null(hoist_regconf_find(&c, "c.example/x"));
	assert_int_equal(c.nregs, 3);
	hoist_regconf_release(&c);

	/* a broken drop-in fails the whole load, naming itself */
	p = hoist_xasprintf("%s/.config/containers/registries.conf.d/"
			    "30-bad.conf",
			    dir);
	write_file(p, "[[registry]]\nlocation = 'x\n");
	assert_int_equal(hoist_regconf_load(&c, &err), HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "30-bad.conf' line 2"));
	hoist_regconf_release(&c);
	free(p);

	p = hoist_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_longest_prefix),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_load),
	};
	hoist_log_set(log_cb, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
