/*
 * test-auth.c: lib/auth.c. Challenge parsing (a table with hostile
 * inputs), credential lookup from temporary auth.json / config.json files
 * and a credential helper written as a shell script, `docker login`
 * storage, realm and origin rules, hoist_auth_on_401, secrets kept out of
 * error messages, and live runs against docker-registry 2.8 with token
 * auth (tests/integration/tokenserver.py) and with htpasswd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/auth.h"
#include "lib/challenge.h"
#include "lib/realm.h"
#include "lib/http.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

static char *tmpdir;

static char *path_in(const char *name)
{
	return hoist_xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *content, mode_t mode)
{
	char *p = path_in(name);

	tl_write_file(p, content, mode);
	free(p);
}

/* The file's content, or NULL if it cannot be read. */
static char *read_file(const char *name)
{
	char *p = path_in(name), *data = tl_read_file(p, NULL);

	free(p);
	return data;
}

/* A clean credential environment rooted in a fresh temporary directory. */
static int env_setup(void **state)
{
	char tmpl[] = "/tmp/hoist-test-auth-XXXXXX", *home, *bin, *path;

	(void)state;
	tmpdir = hoist_xstrdup(mkdtemp(tmpl));
	home = path_in("home");
	bin = path_in("bin");
	hoist_fs_mkdirs(home, 0755, NULL);
	hoist_fs_mkdirs(bin, 0755, NULL);
	setenv("HOME", home, 1);
	unsetenv("DOCKER_CONFIG");
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_CONFIG_HOME");
	path = hoist_xasprintf("%s:/usr/bin:/bin", bin);
	setenv("PATH", path, 1);
	free(path);
	free(home);
	free(bin);
	hoist_creds_set_helper_timeout(0);
	return 0;
}

static int env_teardown(void **state)
{
	(void)state;
	hoist_fs_rm_rf(tmpdir, NULL);
	free(tmpdir);
	tmpdir = NULL;
	return 0;
}

/* ---- challenges ---- */

/* Challenges as "scheme[k=v;k=v] scheme[...]" for table comparisons. */
static char *show(const struct hoist_challenge *c, size_t n)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);

	for (size_t i = 0; i < n; i++) {
		hoist_buf_printf(&b, NULL, "%s%s[", i ? " " : "", c[i].scheme);
		for (size_t j = 0; j < c[i].nparams; j++)
			hoist_buf_printf(&b, NULL, "%s%s=%s", j ? ";" : "",
					 c[i].params[j].key,
					 c[i].params[j].value);
		hoist_buf_addch(&b, ']', NULL);
	}
	return hoist_buf_detach(&b, NULL);
}

static void test_parse_table(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *want;
	} t[] = {
		{"Bearer realm=\"https://auth.docker.io/token\",service="
		 "\"registry.docker.io\",scope=\"repository:samalba/my-app:"
		 "pull,push\"",
		 0,
		 "bearer[realm=https://auth.docker.io/token;service=registry."
		 "docker.io;scope=repository:samalba/my-app:pull,push]"},
		{"Basic realm=\"testbed-realm\"", 0,
		 "basic[realm=testbed-realm]"},
		/* ECR: Basic with parameters */
		{"Basic realm=\"https://1.dkr.ecr.us-east-1.amazonaws.com/\","
		 "service=\"ecr.amazonaws.com\"",
		 0,
		 "basic[realm=https://1.dkr.ecr.us-east-1.amazonaws.com/;"
		 "service=ecr.amazonaws.com]"},
		/* case folding of scheme and keys, not values */
		{"BEARER Realm=\"X\", SERVICE=Y", 0,
		 "bearer[realm=X;service=Y]"},
		/* several challenges, RFC 7235 section 4.1's example */
		{"Newauth realm=\"apps\", type=1, title=\"Login to "
		 "\\\"apps\\\"\""
		 ", Basic realm=\"simple\"",
		 0,
		 "newauth[realm=apps;type=1;title=Login to \"apps\"] "
		 "basic[realm=simple]"},
		/* headers joined with ", " */
		{"Negotiate, Basic realm=\"x\"", 0,
		 "negotiate[] basic[realm=x]"},
		{"Negotiate abc+/=, Basic realm=x", 0,
		 "negotiate[=abc+/=] basic[realm=x]"},
		{"Negotiate YIIGhg==", 0, "negotiate[=YIIGhg==]"},
		{"Basic abc=, Bearer realm=\"r\"", 0,
		 "basic[=abc=] bearer[realm=r]"},
		/* bare URL values, spaces around '=' and commas, empties */
		{"Bearer realm=https://a.example/t?x=1, service=reg", 0,
		 "bearer[realm=https://a.example/t?x=1;service=reg]"},
		{"Bearer realm = \"sp\" ,, service = reg ,", 0,
		 "bearer[realm=sp;service=reg]"},
		{" , Bearer realm=x", 0, "bearer[realm=x]"},
		{"Bearer realm=\"a\\\\b\\\"c\\d\"", 0,
		 "bearer[realm=a\\b\"cd]"},
		{"Bearer realm=\"tab\there\"", 0, "bearer[realm=tab\there]"},
		{"Bearer scope=\"repository:a/b:pull repository:c:pull,push\","
		 "error=\"insufficient_scope\"",
		 0,
		 "bearer[scope=repository:a/b:pull repository:c:pull,push;"
		 "error=insufficient_scope]"},
		{"Bearer", 0, "bearer[]"},
		/* hostile or broken */
		{"", HOIST_EINVAL, NULL},
		{" ,, ", HOIST_EINVAL, NULL},
		{"=x", HOIST_EINVAL, NULL},
		{"Bearer realm=\"unterminated", HOIST_EINVAL, NULL},
		{"Bearer realm=\"esc at end\\", HOIST_EINVAL, NULL},
		{"Bearer realm=\"x\" service=\"y\"", HOIST_EINVAL, NULL},
		{"Bearer realm=\"x\",realm=\"y\"", HOIST_EINVAL, NULL},
		{"Bearer realm=\"a\x01\"", HOIST_EINVAL, NULL},
		{"Bearer realm=\"a\r\nX-Evil: 1\"", HOIST_EINVAL, NULL},
		/* by the grammar, a token68 */
		{"Bearer realm=", 0, "bearer[=realm=]"},
		{"Bearer realm=,", 0, "bearer[=realm=]"},
		{"Bearer realm=\"x\", service=", HOIST_EINVAL, NULL},
		{"Bearer realm=\"x\", service=,", HOIST_EINVAL, NULL},
		{"Bearer \"quoted\"", HOIST_EINVAL, NULL},
		/* RFC 7235 wants 1*SP after the scheme; a tab is let by */
		{"Bearer\trealm=x", 0, "bearer[realm=x]"},
		{"Bearer realm=x\x7f", HOIST_EINVAL, NULL},
		{"B@d realm=x", HOIST_EINVAL, NULL},
		/* found by fuzzing: a token68 takes no parameters */
		{"Negotiate YII,Ghg==", HOIST_EINVAL, NULL},
		{"Negotiate YII, k=v", HOIST_EINVAL, NULL},
	};
	struct hoist_challenge *c;
	struct hoist_err err;
	size_t n;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(t); i++) {
		int rc = hoist_challenge_parse(&c, &n, t[i].in, &err);
		if (rc != t[i].rc)
			fail_msg("'%s': rc %d, want %d (%s)", t[i].in, rc,
				 t[i].rc, rc ? err.msg : "");
		if (rc) {
			assert_null(c);
			assert_int_equal(n, 0);
			assert_non_null(strstr(err.msg, "WWW-Authenticate"));
			for (const char *p = err.msg; *p; p++)
				assert_true(*p >= 0x20 && *p < 0x7f);
			continue;
		}
		char *got = show(c, n);
		if (strcmp(got, t[i].want))
			fail_msg("'%s': got '%s', want '%s'", t[i].in, got,
				 t[i].want);
		free(got);
		hoist_challenge_free(c, n);
	}
}

static void test_parse_caps(void **state)
{
	struct hoist_challenge *c;
	struct hoist_err err;
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	size_t n;

	(void)state;
	/* 8 KiB passes, one byte more does not */
	hoist_buf_adds(&b, "Bearer realm=\"", NULL);
	while (b.len < 8191)
		hoist_buf_addch(&b, 'a', NULL);
	hoist_buf_addch(&b, '"', NULL);
	assert_int_equal(hoist_challenge_parse(&c, &n, b.data, &err), 0);
	assert_int_equal(strlen(hoist_challenge_get(c, "realm")), 8192 - 15);
	hoist_challenge_free(c, n);
	hoist_buf_addch(&b, ' ', NULL);
	assert_int_equal(hoist_challenge_parse(&c, &n, b.data, &err),
			 HOIST_ELIMIT);
	assert_null(c);
	assert_true(strlen(err.msg) < 300);

	/* 16 challenges, not 17 */
	hoist_buf_reset(&b);
	for (int i = 0; i < 16; i++)
		hoist_buf_printf(&b, NULL, "%sS%d", i ? ", " : "", i);
	assert_int_equal(hoist_challenge_parse(&c, &n, b.data, &err), 0);
	assert_int_equal(n, 16);
	assert_string_equal(c[15].scheme, "s15");
	hoist_challenge_free(c, n);
	hoist_buf_adds(&b, ", S16", NULL);
	assert_int_equal(hoist_challenge_parse(&c, &n, b.data, &err),
			 HOIST_ELIMIT);

	/* 32 parameters, not 33 */
	hoist_buf_reset(&b);
	hoist_buf_adds(&b, "Bearer ", NULL);
	for (int i = 0; i < 32; i++)
		hoist_buf_printf(&b, NULL, "%sk%d=v", i ? "," : "", i);
	assert_int_equal(hoist_challenge_parse(&c, &n, b.data, &err), 0);
	assert_string_equal(hoist_challenge_get(c, "K31"), "v");
	assert_null(hoist_challenge_get(c, "k32"));
	hoist_challenge_free(c, n);
	hoist_buf_adds(&b, ",k32=v", NULL);
	assert_int_equal(hoist_challenge_parse(&c, &n, b.data, &err),
			 HOIST_ELIMIT);
	hoist_buf_release(&b);
	assert_int_equal(hoist_challenge_parse(&c, &n, NULL, &err),
			 HOIST_EINVAL);
}

/* ---- credentials ---- */

static void expect_creds(const char *host, const char *repo, const char *user,
			 const char *pass, const char *idt, const char *rt)
{
	struct hoist_creds c;
	struct hoist_err err;
	int rc = hoist_creds_lookup(&c, host, repo, &err);

	if (rc)
		fail_msg("lookup '%s': %d %s", host, rc, err.msg);
#define CHECK_FIELD(f, want)                                                   \
	do {                                                                   \
		if (want)                                                      \
			assert_string_equal(c.f, want);                        \
		else                                                           \
			assert_null(c.f);                                      \
	} while (0)
	CHECK_FIELD(username, user);
	CHECK_FIELD(password, pass);
	CHECK_FIELD(identity_token, idt);
	CHECK_FIELD(registry_token, rt);
	hoist_creds_release(&c);
}

static void expect_lookup_rc(const char *host, int want, const char *needle)
{
	struct hoist_creds c;
	struct hoist_err err;

	hoist_err_clear(&err);
	assert_int_equal(hoist_creds_lookup(&c, host, NULL, &err), want);
	assert_null(c.username);
	assert_null(c.password);
	if (needle && !strstr(err.msg, needle))
		fail_msg("'%s' not in '%s'", needle, err.msg);
}

static void test_creds_docker_config(void **state)
{
	(void)state;
	/* alice:s3cret, hub:pw, "u:pa:ss" (split at the first ':') */
	write_file("home/.docker/config.json",
		   "{\"auths\":{"
		   "\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6czNjcmV0\"},"
		   "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3\"},"
		   "\"https://legacy.example:8443/v1/\":"
		   "{\"auth\":\"dTpwYTpzcw==\"},"
		   "\"idt.example\":{\"identitytoken\":\"refresh-1\"},"
		   "\"rt.example\":{\"registrytoken\":\"ready-1\"},"
		   "\"empty.example\":{},"
		   "\"nopad.example\":{\"auth\":\"dTpw\"},"
		   "\"bad64.example\":{\"auth\":\"!!!\"},"
		   "\"nocolon.example\":{\"auth\":\"bm9jb2xvbg==\"},"
		   "\"nouser.example\":{\"auth\":\"OnB3\"}"
		   "},\"somethingElse\":true}",
		   0600);
	expect_creds("127.0.0.1:5000", "a/b", "alice", "s3cret", NULL, NULL);
	expect_creds("docker.io", "library/x", "hub", "pw", NULL, NULL);
	expect_creds("registry-1.docker.io", NULL, "hub", "pw", NULL, NULL);
	expect_creds("index.docker.io", NULL, "hub", "pw", NULL, NULL);
	expect_creds("legacy.example:8443", NULL, "u", "pa:ss", NULL, NULL);
	expect_creds("idt.example", NULL, NULL, NULL, "refresh-1", NULL);
	expect_creds("rt.example", NULL, NULL, NULL, NULL, "ready-1");
	expect_creds("nopad.example", NULL, "u", "p", NULL, NULL);
	expect_lookup_rc("empty.example", HOIST_ENOTFOUND, "empty.example");
	expect_lookup_rc("127.0.0.1:5001", HOIST_ENOTFOUND, NULL);
	expect_lookup_rc("legacy.example", HOIST_ENOTFOUND, NULL);
	expect_lookup_rc("bad64.example", HOIST_EINVAL, "base64");
	expect_lookup_rc("nocolon.example", HOIST_EINVAL, "user:password");
	expect_lookup_rc("nouser.example", HOIST_EINVAL, "user:password");

	/* DOCKER_CONFIG wins over HOME */
	write_file("dc/config.json",
		   "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"Yjpj\"}}}",
		   0600);
	char *dc = path_in("dc");
	setenv("DOCKER_CONFIG", dc, 1);
	free(dc);
	expect_creds("127.0.0.1:5000", NULL, "b", "c", NULL, NULL);
	expect_lookup_rc("docker.io", HOIST_ENOTFOUND, NULL);

	/* broken files are errors, not "no credentials" */
	write_file("dc/config.json", "{\"auths\": [", 0600);
	expect_lookup_rc("127.0.0.1:5000", HOIST_EINVAL, "config.json");
	write_file("dc/config.json", "[]", 0600);
	expect_lookup_rc("127.0.0.1:5000", HOIST_EINVAL, "not a JSON object");
}

static void test_creds_auth_json(void **state)
{
	char *p;

	(void)state;
	write_file("home/.docker/config.json",
		   "{\"auths\":{\"quay.io\":{\"auth\":\"ZG9ja2VyOnB3\"},"
		   "\"only.docker\":{\"auth\":\"ZG9ja2VyOnB3\"}}}",
		   0600);
	/* XDG_CONFIG_HOME unset: ~/.config/containers/auth.json */
	write_file("home/.config/containers/auth.json",
		   "{\"auths\":{"
		   "\"quay.io\":{\"auth\":\"aG9zdDpwdw==\"},"
		   "\"quay.io/org\":{\"auth\":\"b3JnOnB3\"},"
		   "\"quay.io/org/repo\":{\"auth\":\"cmVwbzpwdw==\"},"
		   "\"https://docker.io/v1/\":{\"auth\":\"aHViOnB3\"}}}",
		   0600);
	expect_creds("quay.io", "org/repo", "repo", "pw", NULL, NULL);
	expect_creds("quay.io", "org/repo/sub", "repo", "pw", NULL, NULL);
	expect_creds("quay.io", "org/other", "org", "pw", NULL, NULL);
	expect_creds("quay.io", "orga/x", "host", "pw", NULL, NULL);
	expect_creds("quay.io", NULL, "host", "pw", NULL, NULL);
	expect_creds("docker.io", "library/x", "hub", "pw", NULL, NULL);
	expect_creds("only.docker", NULL, "docker", "pw", NULL, NULL);

	/* XDG_RUNTIME_DIR comes before the config directory */
	write_file("run/containers/auth.json",
		   "{\"auths\":{\"quay.io\":{\"auth\":\"cnVuOnB3\"}}}", 0600);
	p = path_in("run");
	setenv("XDG_RUNTIME_DIR", p, 1);
	free(p);
	expect_creds("quay.io", "org/repo", "run", "pw", NULL, NULL);

	/* XDG_CONFIG_HOME moves the second file */
	p = path_in("cfg");
	setenv("XDG_CONFIG_HOME", p, 1);
	free(p);
	unsetenv("XDG_RUNTIME_DIR");
	expect_creds("quay.io", "org/repo", "docker", "pw", NULL, NULL);

	/* REGISTRY_AUTH_FILE comes first of all */
	write_file("raf.json",
		   "{\"auths\":{\"quay.io/org\":{\"auth\":\"cmFmOnB3\"}}}",
		   0600);
	p = path_in("raf.json");
	setenv("REGISTRY_AUTH_FILE", p, 1);
	free(p);
	expect_creds("quay.io", "org/repo", "raf", "pw", NULL, NULL);
	expect_creds("quay.io", "other/repo", "docker", "pw", NULL, NULL);
	/* a missing REGISTRY_AUTH_FILE is skipped */
	setenv("REGISTRY_AUTH_FILE", "/nonexistent/auth.json", 1);
	expect_creds("quay.io", "org/repo", "docker", "pw", NULL, NULL);
}

/*
 * A credential helper as a shell script. It logs "action input" lines
 * and answers by server.
 */
static const char helper_script[] =
	"#!/bin/sh\n"
	"input=$(cat)\n"
	"printf '%s %s\\n' \"$1\" \"$input\" >> \"$HELPER_LOG\"\n"
	"case \"$1\" in\n"
	"get)\n"
	"  case \"$input\" in\n"
	"  reg.example) echo '{\"ServerURL\":\"reg.example\",\"Username\":"
	"\"hu\",\"Secret\":\"hs\"}' ;;\n"
	"  tok.example) echo '{\"ServerURL\":\"tok.example\",\"Username\":"
	"\"<token>\",\"Secret\":\"idt\"}' ;;\n"
	"  https://index.docker.io/v1/) echo '{\"Username\":\"hub\","
	"\"Secret\":\"hubpw\"}' ;;\n"
	"  slow.example) exec sleep 10 ;;\n"
	"  big.example) head -c 100000 /dev/zero | tr '\\0' a ;;\n"
	"  fail.example) echo 'keychain locked'; exit 3 ;;\n"
	"  garbage.example) echo 'not json' ;;\n"
	"  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
	"  esac ;;\n"
	"store) printf '%s' \"$input\" > \"$HELPER_STORE\" ;;\n"
	"erase) [ -f \"$HELPER_STORE\" ] || { echo 'credentials not found "
	"in native keychain'; exit 1; }; rm -f \"$HELPER_STORE\" ;;\n"
	"esac\n";

static void install_helper(void)
{
	char *p;

	write_file("bin/docker-credential-test", helper_script, 0755);
	p = path_in("helper.log");
	setenv("HELPER_LOG", p, 1);
	free(p);
	p = path_in("helper.store");
	setenv("HELPER_STORE", p, 1);
	free(p);
}

static void test_creds_helper(void **state)
{
	struct hoist_creds c;
	struct hoist_err err;
	struct timespec t0, t1;
	char *log;

	(void)state;
	install_helper();
	write_file("home/.docker/config.json",
		   "{\"credHelpers\":{\"reg.example\":\"test\","
		   "\"fail.example\":\"test\",\"slow.example\":\"test\","
		   "\"big.example\":\"test\",\"garbage.example\":\"test\","
		   "\"missing.example\":\"absent\"},"
		   "\"credsStore\":\"test\","
		   "\"auths\":{\"reg.example\":{\"auth\":\"ZmlsZTpwdw==\"},"
		   "\"file.example\":{\"auth\":\"ZmlsZTpwdw==\"}}}",
		   0600);
	/* credHelpers beats the file */
	expect_creds("reg.example", NULL, "hu", "hs", NULL, NULL);
	/* credsStore; "<token>" means an identity token */
	expect_creds("tok.example", NULL, NULL, NULL, "idt", NULL);
	/* Docker Hub is asked for by its legacy URL */
	expect_creds("docker.io", NULL, "hub", "hubpw", NULL, NULL);
	/* "credentials not found": the file entry, then nothing */
	expect_creds("file.example", NULL, "file", "pw", NULL, NULL);
	expect_lookup_rc("nothing.example", HOIST_ENOTFOUND, NULL);
	log = read_file("helper.log");
	assert_non_null(strstr(log, "get reg.example\n"));
	assert_non_null(strstr(log, "get https://index.docker.io/v1/\n"));
	assert_non_null(strstr(log, "get nothing.example\n"));
	free(log);

	expect_lookup_rc("fail.example", HOIST_EAUTH, "exit status 3");
	expect_lookup_rc("fail.example", HOIST_EAUTH, "keychain locked");
	expect_lookup_rc("garbage.example", HOIST_EAUTH, "not a JSON object");
	expect_lookup_rc("big.example", HOIST_ELIMIT, "longer than");
	expect_lookup_rc("missing.example", HOIST_EAUTH,
			 "'docker-credential-absent' not found in PATH");

	/* a helper over its time is killed */
	hoist_creds_set_helper_timeout(300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(hoist_creds_lookup(&c, "slow.example", NULL, &err),
			 HOIST_ELIMIT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	hoist_creds_set_helper_timeout(0);
}

static mode_t file_mode(const char *name)
{
	char *p = path_in(name);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

static void test_store_erase(void **state)
{
	struct hoist_err err;
	char *doc, *dc = path_in("dc");

	(void)state;
	setenv("DOCKER_CONFIG", dc, 1);
	free(dc);
	/* a fresh file and directory */
	assert_int_equal(
		hoist_creds_store("127.0.0.1:5000", "alice", "s3:cret", &err),
		0);
	assert_int_equal(file_mode("dc/config.json"), 0600);
	expect_creds("127.0.0.1:5000", NULL, "alice", "s3:cret", NULL, NULL);

	/* other keys survive, the old token goes, the mode is fixed */
	write_file("dc/config.json",
		   "{\"auths\":{\"other.example\":{\"auth\":\"bzpw\"},"
		   "\"127.0.0.1:5000\":{\"auth\":\"eDp5\",\"identitytoken\":"
		   "\"old\",\"email\":\"a@b\"}},"
		   "\"psFormat\":\"table {{.ID}}\",\"proxies\":{\"x\":1}}",
		   0644);
	assert_int_equal(
		hoist_creds_store("127.0.0.1:5000", "bob", "b0b", &err), 0);
	assert_int_equal(hoist_creds_store("docker.io", "hub", "pw", &err), 0);
	assert_int_equal(file_mode("dc/config.json"), 0600);
	doc = read_file("dc/config.json");
	assert_non_null(strstr(doc, "\"psFormat\": \"table {{.ID}}\""));
	assert_non_null(strstr(doc, "\"proxies\""));
	assert_non_null(strstr(doc, "\"other.example\""));
	assert_non_null(strstr(doc, "\"email\": \"a@b\""));
	assert_non_null(strstr(doc, "\"https://index.docker.io/v1/\""));
	assert_non_null(strstr(doc, "\"auth\": \"Ym9iOmIwYg==\""));
	assert_null(strstr(doc, "\"old\""));
	free(doc);
	expect_creds("127.0.0.1:5000", NULL, "bob", "b0b", NULL, NULL);
	expect_creds("docker.io", NULL, "hub", "pw", NULL, NULL);
	/* no stray temporaries */
	char *p = path_in("dc");
	char *cmd = hoist_xasprintf("ls -a '%s' | grep -q hoist-tmp", p);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	free(p);

	/* logout */
	assert_int_equal(hoist_creds_erase("127.0.0.1:5000", &err), 0);
	expect_lookup_rc("127.0.0.1:5000", HOIST_ENOTFOUND, NULL);
	expect_creds("other.example", NULL, "o", "p", NULL, NULL);
	assert_int_equal(hoist_creds_erase("127.0.0.1:5000", &err),
			 HOIST_ENOTFOUND);
	assert_int_equal(hoist_creds_erase("index.docker.io", &err), 0);
	doc = read_file("dc/config.json");
	assert_null(strstr(doc, "index.docker.io"));
	assert_non_null(strstr(doc, "psFormat"));
	free(doc);

	/* bad user names */
	assert_int_equal(hoist_creds_store("h", "a:b", "pw", &err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_creds_store("h", "", "pw", &err), HOIST_EINVAL);

	/* with a credsStore the helper gets them, not the file */
	install_helper();
	write_file("dc/config.json", "{\"credsStore\":\"test\",\"x\":1}", 0600);
	assert_int_equal(
		hoist_creds_store("reg2.example", "carol", "c4rol", &err), 0);
	doc = read_file("helper.store");
	assert_string_equal(doc, "{\"ServerURL\":\"reg2.example\",\"Username\":"
				 "\"carol\",\"Secret\":\"c4rol\"}");
	free(doc);
	doc = read_file("dc/config.json");
	assert_null(strstr(doc, "carol"));
	free(doc);
	assert_int_equal(hoist_creds_erase("reg2.example", &err), 0);
	assert_null(read_file("helper.store"));
	assert_int_equal(hoist_creds_erase("reg2.example", &err),
			 HOIST_ENOTFOUND);
}

/* Secrets must never reach an error message. */
static void test_no_secrets_in_errors(void **state)
{
	struct hoist_creds c;
	struct hoist_err err;
	char *dc = path_in("dc");

	(void)state;
	setenv("DOCKER_CONFIG", dc, 1);
	free(dc);
	/* a syntax error right after a secret: jansson would quote it */
	write_file("dc/config.json",
		   "{\"auths\":{\"h\":{\"auth\":\"U0VDUkVUMQ==\","
		   "\"identitytoken\":\"TOPSECRET2\" TOPSECRET3}}}",
		   0600);
	assert_int_equal(hoist_creds_lookup(&c, "h", NULL, &err), HOIST_EINVAL);
	assert_null(strstr(err.msg, "TOPSECRET"));
	assert_non_null(strstr(err.msg, "line 1"));
	/* undecodable or colon-less "auth" */
	write_file("dc/config.json",
		   "{\"auths\":{\"h\":{\"auth\":\"VE9QU0VDUkVUNA==\"}}}", 0600);
	assert_int_equal(hoist_creds_lookup(&c, "h", NULL, &err), HOIST_EINVAL);
	assert_null(strstr(err.msg, "TOPSECRET"));
	assert_null(strstr(err.msg, "VE9QU0VDUkVUNA"));
	/* a helper's failed store does not echo its input */
	write_file("bin/docker-credential-echo", "#!/bin/sh\ncat; exit 1\n",
		   0755);
	write_file("dc/config.json", "{\"credsStore\":\"echo\"}", 0600);
	assert_int_equal(hoist_creds_store("h", "u", "TOPSECRET5", &err),
			 HOIST_EAUTH);
	assert_null(strstr(err.msg, "TOPSECRET"));
	assert_non_null(strstr(err.msg, "exit status 1"));
}

/* ---- realm and origin rules ---- */

static void test_realm_table(void **state)
{
	static const struct {
		const char *base, *realm;
		int rc;
	} t[] = {
		{"https://reg.example", "https://reg.example/token", 0},
		{"https://reg.example", "https://reg.example:8443/token", 0},
		/* another host, as GitLab's, Harbor's, Docker Hub's */
		{"https://registry.gitlab.com", "https://gitlab.com/jwt/auth",
		 0},
		{"https://REG.example", "https://reg.EXAMPLE/t?x=1", 0},
		{"https://registry-1.docker.io", "https://auth.docker.io/token",
		 0},
		/* no downgrade to http for an https registry */
		{"https://reg.example", "http://reg.example/token",
		 HOIST_EAUTH},
		{"https://127.0.0.1:5000", "http://127.0.0.1:5001/token",
		 HOIST_EAUTH},
		{"https://localhost:5000", "http://localhost:5001/token",
		 HOIST_EAUTH},
		{"http://reg.example", "http://reg.example/token", 0},
		{"http://reg.example", "https://auth.example/token", 0},
		/* only http(s), written out */
		{"https://reg.example", "ftp://reg.example/token", HOIST_EAUTH},
		{"https://reg.example", "reg.example/token", HOIST_EAUTH},
		{"https://reg.example", "/token", HOIST_EAUTH},
		{"https://reg.example", "", HOIST_EAUTH},
		{"https://reg.example", "https://u:p@reg.example/token",
		 HOIST_EAUTH},
		{"https://reg.example", "https://a.example/t#frag",
		 HOIST_EAUTH},
		/* the same rule for IP literals and names, private or not */
		{"https://reg.example", "https://127.0.0.1/token", 0},
		{"https://reg.example", "https://localhost/token", 0},
		{"https://reg.example", "https://10.1.2.3/token", 0},
		{"https://reg.example", "https://[::1]:5001/token", 0},
		{"https://127.0.0.1:5000", "https://127.0.0.1:5001/token", 0},
		{"https://127.0.0.1:5000", "https://localhost:5001/token", 0},
		{"http://127.0.0.1:5000", "http://localhost:5001/token", 0},
		{"https://[::1]:5000", "https://[::1]:5000/token", 0},
	};
	struct hoist_err err;
	char q[HOIST_QUOTE_BUF];

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(t); i++) {
		int rc = hoist_realm_check(t[i].base, t[i].realm, &err);
		if (rc != t[i].rc)
			fail_msg("%s with realm '%s': rc %d, want %d (%s)",
				 t[i].base, t[i].realm, rc, t[i].rc,
				 rc ? err.msg : "");
		if (rc)
			assert_non_null(strstr(err.msg, "realm"));
	}
	/* user info never reaches a message */
	assert_int_equal(hoist_realm_check("https://r.example",
					   "https://u:SECRET@a.example/t?x=y",
					   &err),
			 HOIST_EAUTH);
	assert_null(strstr(err.msg, "SECRET"));
	assert_non_null(strstr(err.msg, "https://a.example/t"));
	hoist_realm_quote(q, sizeof(q), "https://u:SECRET@a.example/t?tok=z");
	assert_string_equal(q, "https://a.example/t");
}

static struct hoist_http *new_http(void)
{
	struct hoist_http *h;
	struct hoist_err err;

	if (hoist_http_new(&h, NULL, &err))
		fail_msg("http: %s", err.msg);
	return h;
}

static void expect_line(struct hoist_auth *a, const char *url, const char *want)
{
	struct hoist_err err;
	const char *scope = "repository:a/b:pull";
	char *line;

	assert_int_equal(
		hoist_auth_header_for(a, url, &scope, 1, 30, &line, &err), 0);
	if (want)
		assert_string_equal(line, want);
	else if (line)
		fail_msg("credentials for '%s': '%s'", url, line);
	free(line);
}

static void test_origin_basic(void **state)
{
	struct hoist_http *h = new_http();
	struct hoist_creds creds = {"alice", "s3cret", NULL, NULL};
	struct hoist_auth *a;
	struct hoist_err err;
	const char *basic = "Authorization: Basic YWxpY2U6czNjcmV0";

	(void)state;
	assert_int_equal(hoist_auth_new(&a, h, "https://reg.example:5000",
					&creds, NULL, &err),
			 0);
	/* no challenge yet: nothing is sent */
	expect_line(a, "https://reg.example:5000/v2/", NULL);
	assert_int_equal(
		hoist_auth_on_401(a, "Basic realm=\"r\"", NULL, 0, &err), 1);
	expect_line(a, "https://reg.example:5000/v2/a/b/blobs/x", basic);
	expect_line(a, "https://REG.example:5000/v2/", basic);
	/* another scheme, host or port gets nothing */
	expect_line(a, "http://reg.example:5000/v2/", NULL);
	expect_line(a, "https://reg.example/v2/", NULL);
	expect_line(a, "https://reg.example:5001/v2/", NULL);
	expect_line(a, "https://s3.example/bucket?sig=1", NULL);
	expect_line(a, "https://reg.example.evil:5000/v2/", NULL);
	expect_line(a, "https://evil@reg.example.evil:5000/", NULL);
	/* a 401 on a request sent before the credentials were known (a
	   concurrent one) is retried with them, without a new challenge */
	assert_int_equal(hoist_auth_superseded(a, NULL, NULL, 0), 1);
	assert_int_equal(
		hoist_auth_superseded(a, "Authorization: Basic old", NULL, 0),
		1);
	assert_int_equal(hoist_auth_superseded(a, basic, NULL, 0), 0);
	/* the same Basic challenge again: those credentials were refused */
	assert_int_equal(
		hoist_auth_on_401(a, "Basic realm=\"r\"", NULL, 0, &err), 0);
	/* unknown schemes and no header */
	assert_int_equal(hoist_auth_on_401(a, "Negotiate abc", NULL, 0, &err),
			 HOIST_EUNSUPPORTED);
	assert_int_equal(hoist_auth_on_401(a, "", NULL, 0, &err), 0);
	assert_int_equal(hoist_auth_on_401(a, "Bearer realm=\"", NULL, 0, &err),
			 HOIST_EINVAL);
	hoist_auth_free(a);

	/* anonymous with a Basic challenge: retrying cannot help */
	assert_int_equal(
		hoist_auth_new(&a, h, "https://reg.example", NULL, NULL, &err),
		0);
	/* nothing held: nothing newer to send */
	assert_int_equal(hoist_auth_superseded(a, NULL, NULL, 0), 0);
	assert_int_equal(hoist_auth_on_401(a, "Basic realm=x", NULL, 0, &err),
			 0);
	expect_line(a, "https://reg.example/v2/", NULL);
	hoist_auth_free(a);
	hoist_http_free(h);
}

static void test_registry_token(void **state)
{
	struct hoist_http *h = new_http();
	struct hoist_creds creds = {NULL, NULL, NULL, "ready.tok"};
	struct hoist_auth *a;
	struct hoist_err err;
	char *line;

	(void)state;
	assert_int_equal(hoist_auth_new(&a, h, "https://reg.example", &creds,
					NULL, &err),
			 0);
	assert_int_equal(hoist_auth_on_401(a,
					   "Bearer realm=\"https://auth.example"
					   "/t\",service=\"s\"",
					   NULL, 0, &err),
			 1);
	expect_line(a, "https://reg.example/v2/",
		    "Authorization: Bearer ready.tok");
	expect_line(a, "https://auth.example/v2/", NULL);
	assert_int_equal(hoist_auth_superseded(a, NULL, NULL, 0), 1);
	assert_int_equal(hoist_auth_superseded(
				 a, "Authorization: Bearer ready.tok", NULL, 0),
			 0);
	assert_int_equal(hoist_auth_on_401(a,
					   "Bearer realm=\"https://auth.example"
					   "/t\",service=\"s\"",
					   NULL, 0, &err),
			 0);
	/* a changed challenge is worth a retry */
	assert_int_equal(hoist_auth_on_401(a,
					   "Bearer realm=\"https://auth.example"
					   "/t2\",service=\"s\"",
					   NULL, 0, &err),
			 1);
	hoist_auth_free(a);

	/* a realm that may not be used fails the header, quietly */
	creds.registry_token = NULL;
	creds.username = "alice";
	creds.password = "TOPSECRET";
	assert_int_equal(hoist_auth_new(&a, h, "https://reg.example", &creds,
					NULL, &err),
			 0);
	assert_int_equal(hoist_auth_on_401(a,
					   "Bearer realm=\"http://reg.example"
					   "/t\"",
					   NULL, 0, &err),
			 1);
	assert_int_equal(hoist_auth_header_for(a, "https://reg.example/v2/",
					       NULL, 0, 10, &line, &err),
			 HOIST_EAUTH);
	assert_null(line);
	assert_non_null(strstr(err.msg, "http://reg.example/t"));
	assert_null(strstr(err.msg, "TOPSECRET"));
	/* a Bearer challenge needs a realm */
	assert_int_equal(
		hoist_auth_on_401(a, "Bearer service=x", NULL, 0, &err),
		HOIST_EAUTH);
	hoist_auth_free(a);
	assert_int_equal(
		hoist_auth_new(&a, h, "ftp://reg.example", NULL, NULL, &err),
		HOIST_EINVAL);
	assert_null(a);
	hoist_http_free(h);
}

/* ---- live: docker-registry 2.8 with token and htpasswd auth ---- */

struct live {
	char *dir;
	pid_t ts_pid, reg_pid, htp_pid;
	int ts_port, reg_port, htp_port;
	char *ts_log;
	char *reg_url;    /* http://localhost:P: the realm's host name */
	char *reg_ip_url; /* http://127.0.0.1:P: another name */
	char *htp_url;
	int skip;
};

static struct live L;

static int live_setup(void **state)
{
	char *cmd, *p, *tsport, *regcfg, *htpcfg, *tspy;
	char *argv[32];
	size_t n = 0;

	(void)state;
	memset(&L, 0, sizeof(L));
	L.ts_pid = L.reg_pid = L.htp_pid = -1;
	if (tl_sh("command -v docker-registry >/dev/null && "
		  "command -v htpasswd >/dev/null && "
		  "command -v openssl >/dev/null") != 0) {
		/* CI installs them all: a missing tool there is a failure */
		if (tl_in_ci()) {
			print_error("docker-registry, htpasswd or openssl "
				    "missing under CI=true\n");
			return -1;
		}
		L.skip = 1;
		return 0;
	}
	char tmpl[] = "/tmp/hoist-test-auth-live-XXXXXX";
	L.dir = hoist_xstrdup(mkdtemp(tmpl));
	cmd = hoist_xasprintf(
		"cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes "
		"-keyout token.key -out token.crt -days 2 -subj '/CN=signer' "
		">/dev/null 2>&1 && htpasswd -Bbn alice s3cret > htpasswd "
		"2>/dev/null",
		L.dir);
	assert_int_equal(tl_sh(cmd), 0);
	free(cmd);

	/* the token server, on a port of its own choosing */
	L.ts_log = hoist_xasprintf("%s/requests.log", L.dir);
	tsport = hoist_xasprintf("%s/ts.port", L.dir);
	tspy = hoist_xasprintf("%s/tests/integration/tokenserver.py",
			       getenv("HOIST_SRCDIR") ? getenv("HOIST_SRCDIR")
						      : "..");
	char *key = hoist_xasprintf("%s/token.key", L.dir);
	char *crt = hoist_xasprintf("%s/token.crt", L.dir);
	argv[n++] = "python3";
	argv[n++] = tspy;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = tsport;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--cert";
	argv[n++] = crt;
	argv[n++] = "--user";
	argv[n++] = "alice:s3cret";
	argv[n++] = "--user";
	argv[n++] = "bob:b0b";
	argv[n++] = "--readonly";
	argv[n++] = "bob";
	argv[n++] = "--anonymous";
	argv[n++] = "--refresh-token";
	argv[n++] = "idt-alice=alice";
	argv[n++] = "--expires";
	argv[n++] = "61";
	argv[n++] = "--max-seconds";
	argv[n++] = "120";
	argv[n++] = "--log";
	argv[n++] = L.ts_log;
	argv[n] = NULL;
	p = hoist_xasprintf("%s/ts.out", L.dir);
	L.ts_pid = tl_spawn(argv, p, NULL);
	free(p);
	L.ts_port = tl_port_file(tsport, 10000);
	assert_true(L.ts_port > 0);
	free(tsport);
	free(tspy);

	/* registry with token auth; realm on "localhost" (not an IP) */
	L.reg_port = tl_free_port();
	regcfg = hoist_xasprintf(
		"version: 0.1\nlog: {level: error}\nstorage: {inmemory: {}}\n"
		"http: {addr: 127.0.0.1:%d}\nauth:\n  token:\n"
		"    realm: http://localhost:%d/token\n"
		"    service: hoist-testbed\n"
		"    issuer: hoist-testbed-issuer\n"
		"    rootcertbundle: %s\n",
		L.reg_port, L.ts_port, crt);
	p = hoist_xasprintf("%s/reg.yml", L.dir);
	hoist_fs_write_atomic(p, regcfg, strlen(regcfg), 0644, NULL);
	char *rargv[] = {"docker-registry", "serve", p, NULL};
	char *rlog = hoist_xasprintf("%s/reg.log", L.dir);
	L.reg_pid = tl_spawn(rargv, rlog, NULL);
	free(rlog);
	free(p);
	free(regcfg);

	/* registry with htpasswd */
	L.htp_port = tl_free_port();
	htpcfg = hoist_xasprintf(
		"version: 0.1\nlog: {level: error}\nstorage: {inmemory: {}}\n"
		"http: {addr: 127.0.0.1:%d}\nauth:\n  htpasswd:\n"
		"    realm: hoist-test\n    path: %s/htpasswd\n",
		L.htp_port, L.dir);
	p = hoist_xasprintf("%s/htp.yml", L.dir);
	hoist_fs_write_atomic(p, htpcfg, strlen(htpcfg), 0644, NULL);
	char *hargv[] = {"docker-registry", "serve", p, NULL};
	rlog = hoist_xasprintf("%s/htp.log", L.dir);
	L.htp_pid = tl_spawn(hargv, rlog, NULL);
	free(rlog);
	free(p);
	free(htpcfg);
	free(key);
	free(crt);

	L.reg_url = hoist_xasprintf("http://localhost:%d", L.reg_port);
	L.reg_ip_url = hoist_xasprintf("http://127.0.0.1:%d", L.reg_port);
	L.htp_url = hoist_xasprintf("http://127.0.0.1:%d", L.htp_port);
	/* any HTTP answer: both say 401 */
	p = hoist_xasprintf("%s/v2/", L.reg_ip_url);
	assert_true(tl_wait_http(p, 0, 10000));
	free(p);
	p = hoist_xasprintf("%s/v2/", L.htp_url);
	assert_true(tl_wait_http(p, 0, 10000));
	free(p);
	return 0;
}

static int live_teardown(void **state)
{
	(void)state;
	tl_stop(&L.ts_pid);
	tl_stop(&L.reg_pid);
	tl_stop(&L.htp_pid);
	if (L.dir)
		hoist_fs_rm_rf(L.dir, NULL);
	free(L.dir);
	free(L.ts_log);
	free(L.reg_url);
	free(L.reg_ip_url);
	free(L.htp_url);
	return 0;
}

/* One request with an optional Authorization line; returns the status. */
static int req(struct hoist_http *h, const char *method, const char *url,
	       const char *auth, char **www)
{
	struct hoist_http_request r;
	struct hoist_http_response resp;
	struct hoist_err err;
	int status;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.url = url;
	r.headers = &auth;
	r.nheaders = auth ? 1 : 0;
	r.max_body = 65536;
	if (hoist_http_do(h, &r, &resp, &err))
		fail_msg("%s %s: %s", method, url, err.msg);
	status = resp.status;
	if (www)
		*www = hoist_http_header_join(&resp, "WWW-Authenticate");
	hoist_http_response_release(&resp);
	return status;
}

/* Lines of the token server's log (one per token request). */
static int log_lines(const char *needle)
{
	char *s = NULL;
	size_t len;
	int n = 0;

	if (hoist_fs_read_file(&s, &len, L.ts_log, 1 << 20, NULL))
		return 0;
	for (char *line = s; *line;) {
		char *end = strchr(line, '\n');
		if (!end)
			break;
		*end = '\0';
		if (!needle || strstr(line, needle))
			n++;
		line = end + 1;
	}
	free(s);
	return n;
}

/*
 * The push dance: request, 401, on_401, header, request again. Returns
 * the final status; *retry gets on_401's answer to the last 401.
 */
static int authed(struct hoist_http *h, struct hoist_auth *a,
		  const char *method, const char *url, const char *scope,
		  long margin, int *retry)
{
	struct hoist_err err;
	char *line = NULL, *www = NULL;
	int status = 0;

	*retry = -1;
	for (int i = 0; i < 3; i++) {
		int rc = hoist_auth_header_for(a, url, &scope, scope ? 1 : 0,
					       margin, &line, &err);
		if (rc)
			fail_msg("header for %s: %s", url, err.msg);
		status = req(h, method, url, line, &www);
		free(line);
		if (status != 401) {
			free(www);
			break;
		}
		*retry = hoist_auth_on_401(a, www, &scope, scope ? 1 : 0, &err);
		free(www);
		if (*retry != 1)
			break;
	}
	return status;
}

#define LIVE_SKIP()                                                            \
	do {                                                                   \
		if (L.skip)                                                    \
			skip();                                                \
	} while (0)

static void test_live_token(void **state)
{
	struct hoist_http *h;
	struct hoist_auth *a;
	struct hoist_creds creds = {"alice", "s3cret", NULL, NULL};
	struct hoist_err err;
	const char *scope = "repository:foo/bar:pull,push";
	const char *scopes2[] = {"repository:foo/bar:pull,push",
				 "repository:foo/bar:pull,push"};
	char *url, *line, *line2;
	int retry, before;

	(void)state;
	LIVE_SKIP();
	h = new_http();
	assert_int_equal(hoist_auth_new(&a, h, L.reg_url, &creds, NULL, &err),
			 0);
	before = log_lines(NULL);
	url = hoist_xasprintf("%s/v2/foo/bar/blobs/uploads/", L.reg_url);
	assert_int_equal(authed(h, a, "POST", url, scope, 10, &retry), 202);
	assert_int_equal(retry, 1);
	free(url);
	/* one token request, with Basic and account=alice */
	assert_int_equal(log_lines(NULL) - before, 1);
	assert_int_equal(log_lines("\"basic\": true, \"user\": \"alice\""), 1);
	assert_int_equal(log_lines("\"account\": \"alice\""), 1);
	assert_int_equal(log_lines("\"scopes\": [\"repository:foo/bar:pull,"
				   "push\"]"),
			 1);

	/* HEAD /v2/ with it: 200; the same scope set comes from the cache */
	url = hoist_xasprintf("%s/v2/", L.reg_url);
	assert_int_equal(
		hoist_auth_header_for(a, url, scopes2, 2, 10, &line, &err), 0);
	assert_int_equal(req(h, "HEAD", url, line, NULL), 200);
	assert_int_equal(log_lines(NULL) - before, 1);
	/* another origin: nothing */
	assert_int_equal(hoist_auth_header_for(a, "http://127.0.0.1:1/v2/",
					       &scope, 1, 10, &line2, &err),
			 0);
	assert_null(line2);

	/* --expires 61 and a margin of 120 s: every call fetches anew */
	assert_int_equal(
		hoist_auth_header_for(a, url, &scope, 1, 120, &line2, &err), 0);
	assert_int_equal(log_lines(NULL) - before, 2);
	assert_string_not_equal(line, line2);
	assert_int_equal(req(h, "HEAD", url, line2, NULL), 200);
	free(line2);
	assert_int_equal(
		hoist_auth_header_for(a, url, &scope, 1, 120, &line2, &err), 0);
	assert_int_equal(log_lines(NULL) - before, 3);
	free(line2);
	/* and a margin of 30 s keeps the token */
	assert_int_equal(
		hoist_auth_header_for(a, url, &scope, 1, 30, &line2, &err), 0);
	assert_int_equal(log_lines(NULL) - before, 3);
	free(line2);
	free(line);
	free(url);
	hoist_auth_free(a);
	hoist_http_free(h);
}

static void test_live_readonly(void **state)
{
	struct hoist_http *h;
	struct hoist_auth *a;
	struct hoist_creds creds = {"bob", "b0b", NULL, NULL};
	struct hoist_err err;
	char *url;
	int retry, before;

	(void)state;
	LIVE_SKIP();
	h = new_http();
	assert_int_equal(hoist_auth_new(&a, h, L.reg_url, &creds, NULL, &err),
			 0);
	before = log_lines(NULL);
	/* pull works */
	url = hoist_xasprintf("%s/v2/foo/bar/tags/list", L.reg_url);
	int st =
		authed(h, a, "GET", url, "repository:foo/bar:pull", 10, &retry);
	assert_true(st == 200 || st == 404);
	free(url);
	/* push: insufficient_scope, a fresh token is refused: give up */
	url = hoist_xasprintf("%s/v2/foo/bar/blobs/uploads/", L.reg_url);
	assert_int_equal(authed(h, a, "POST", url,
				"repository:foo/bar:pull,push", 10, &retry),
			 401);
	assert_int_equal(retry, 0);
	free(url);
	/* two token requests at most per scope set: no loop */
	assert_true(log_lines(NULL) - before <= 3);
	hoist_auth_free(a);
	hoist_http_free(h);
}

static void test_live_anonymous_and_hosts(void **state)
{
	struct hoist_http *h;
	struct hoist_auth *a;
	struct hoist_creds creds = {"alice", "TOPSECRET", NULL, NULL};
	struct hoist_err err;
	char *url;
	int retry, before;

	(void)state;
	LIVE_SKIP();
	h = new_http();
	/* anonymous: a pull token without Basic */
	assert_int_equal(hoist_auth_new(&a, h, L.reg_url, NULL, NULL, &err), 0);
	before = log_lines("\"basic\": false");
	url = hoist_xasprintf("%s/v2/", L.reg_url);
	assert_int_equal(
		authed(h, a, "GET", url, "repository:foo/bar:pull", 10, &retry),
		200);
	free(url);
	assert_int_equal(log_lines("\"basic\": false") - before, 1);
	hoist_auth_free(a);

	/*
	 * The registry by IP, the realm on "localhost" and another port:
	 * another host, named by the registry, so it gets the credentials
	 * as Docker and containerd send them, and the push token works.
	 */
	struct hoist_creds good = {"alice", "s3cret", NULL, NULL};
	assert_int_equal(hoist_auth_new(&a, h, L.reg_ip_url, &good, NULL, &err),
			 0);
	int b0 = log_lines("\"basic\": true");
	url = hoist_xasprintf("%s/v2/foo/bar/blobs/uploads/", L.reg_ip_url);
	assert_int_equal(authed(h, a, "POST", url,
				"repository:foo/bar:pull,push", 10, &retry),
			 202);
	free(url);
	assert_int_equal(log_lines("\"basic\": true") - b0, 1);
	hoist_auth_free(a);

	/* a wrong password: EAUTH that does not carry the password */
	creds.password = "TOPSECRET-WRONG";
	assert_int_equal(hoist_auth_new(&a, h, L.reg_url, &creds, NULL, &err),
			 0);
	url = hoist_xasprintf("%s/v2/", L.reg_url);
	char *www, *line;
	assert_int_equal(req(h, "GET", url, NULL, &www), 401);
	assert_int_equal(hoist_auth_on_401(a, www, NULL, 0, &err), 1);
	free(www);
	const char *scope = "repository:foo/bar:pull";
	assert_int_equal(
		hoist_auth_header_for(a, url, &scope, 1, 10, &line, &err),
		HOIST_EAUTH);
	assert_int_equal(err.http_status, 401);
	assert_non_null(strstr(err.msg, "HTTP 401"));
	assert_null(strstr(err.msg, "TOPSECRET"));
	assert_null(strstr(err.msg, "alice"));
	free(url);
	hoist_auth_free(a);
	hoist_http_free(h);
}

/*
 * Two hoist_auth with the same registry and credentials (two images of a
 * sync) share a scope set's token: one token request. Other credentials
 * do not get it.
 */
static void test_live_shared(void **state)
{
	struct hoist_http *h;
	struct hoist_auth *a[3];
	struct hoist_creds alice = {"alice", "s3cret", NULL, NULL};
	struct hoist_creds bob = {"bob", "b0b", NULL, NULL};
	const struct hoist_creds *who[3] = {&alice, &alice, &bob};
	const int fetches[3] = {1, 1, 2};
	struct hoist_err err;
	char *url;
	int retry, before, nbob;

	(void)state;
	LIVE_SKIP();
	h = new_http();
	url = hoist_xasprintf("%s/v2/shared/one/tags/list", L.reg_url);
	before = log_lines(NULL);
	nbob = log_lines("\"user\": \"bob\"");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			hoist_auth_new(&a[i], h, L.reg_url, who[i], NULL, &err),
			0);
		int st = authed(h, a[i], "GET", url,
				"repository:shared/one:pull", 10, &retry);
		assert_true(st == 200 || st == 404);
		assert_int_equal(log_lines(NULL) - before, fetches[i]);
	}
	assert_int_equal(log_lines("\"user\": \"bob\"") - nbob, 1);
	for (int i = 0; i < 3; i++)
		hoist_auth_free(a[i]);
	free(url);
	hoist_http_free(h);
}

static void test_live_identity_token(void **state)
{
	struct hoist_http *h;
	struct hoist_auth *a;
	struct hoist_creds creds = {NULL, NULL, "idt-alice", NULL};
	struct hoist_err err;
	char *url;
	int retry, before;

	(void)state;
	LIVE_SKIP();
	h = new_http();
	assert_int_equal(hoist_auth_new(&a, h, L.reg_url, &creds, NULL, &err),
			 0);
	before = log_lines("\"grant_type\": \"refresh_token\"");
	url = hoist_xasprintf("%s/v2/foo/idt/blobs/uploads/", L.reg_url);
	assert_int_equal(authed(h, a, "POST", url,
				"repository:foo/idt:pull,push", 10, &retry),
			 202);
	free(url);
	assert_int_equal(
		log_lines("\"grant_type\": \"refresh_token\"") - before, 1);
	assert_true(log_lines("\"method\": \"POST\"") >= 1);
	hoist_auth_free(a);

	/* an unknown identity token: POST 401, then GET, anonymous */
	creds.identity_token = "idt-unknown";
	assert_int_equal(hoist_auth_new(&a, h, L.reg_url, &creds, NULL, &err),
			 0);
	before = log_lines(NULL);
	url = hoist_xasprintf("%s/v2/", L.reg_url);
	assert_int_equal(
		authed(h, a, "GET", url, "repository:foo/idt:pull", 10, &retry),
		200);
	free(url);
	assert_int_equal(log_lines(NULL) - before, 2);
	hoist_auth_free(a);
	hoist_http_free(h);
}

static void test_live_basic(void **state)
{
	struct hoist_http *h;
	struct hoist_auth *a;
	struct hoist_creds creds = {"alice", "s3cret", NULL, NULL};
	struct hoist_err err;
	char *url;
	int retry;

	(void)state;
	LIVE_SKIP();
	h = new_http();
	url = hoist_xasprintf("%s/v2/", L.htp_url);
	assert_int_equal(hoist_auth_new(&a, h, L.htp_url, &creds, NULL, &err),
			 0);
	assert_int_equal(authed(h, a, "GET", url, NULL, 10, &retry), 200);
	assert_int_equal(retry, 1);
	hoist_auth_free(a);
	creds.password = "wrong";
	assert_int_equal(hoist_auth_new(&a, h, L.htp_url, &creds, NULL, &err),
			 0);
	assert_int_equal(authed(h, a, "GET", url, NULL, 10, &retry), 401);
	assert_int_equal(retry, 0);
	hoist_auth_free(a);
	free(url);
	hoist_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_caps),
		cmocka_unit_test_setup_teardown(test_creds_docker_config,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_creds_auth_json, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_creds_helper, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_store_erase, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_no_secrets_in_errors,
						env_setup, env_teardown),
		cmocka_unit_test(test_realm_table),
		cmocka_unit_test(test_origin_basic),
		cmocka_unit_test(test_registry_token),
		cmocka_unit_test(test_live_token),
		cmocka_unit_test(test_live_readonly),
		cmocka_unit_test(test_live_anonymous_and_hosts),
		cmocka_unit_test(test_live_shared),
		cmocka_unit_test(test_live_identity_token),
		cmocka_unit_test(test_live_basic),
	};
	return cmocka_run_group_tests(tests, live_setup, live_teardown);
}
