/*
 * test-output.c: the --output parser against buildx's rules (go-csvvalue
 * splitting, shorthand, key normalisation, buildctl's output= check) and
 * buildx's boolean quirks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/output.h"
#include "util/banned.h"

#define MAXA 4

struct ok_case {
	const char *spec;
	const char *type;
	const char *dest;                /* NULL: no dest */
	const char *attrs[MAXA * 2 + 1]; /* key, value, ..., NULL */
};

static const struct ok_case ok_cases[] = {
	{"type=local,dest=out", "local", "out", {NULL}},
	{"type=image,\"name=a,b\",push=true",
	 "image",
	 NULL,
	 {"name", "a,b", "push", "true", NULL}},
	{"type=image,\"name=reg/a:1,reg/b:1\"",
	 "image",
	 NULL,
	 {"name", "reg/a:1,reg/b:1", NULL}},
	/* "" inside a quoted field is one literal quote */
	{"type=image,\"name=\"\"q\"\"\"",
	 "image",
	 NULL,
	 {"name", "\"q\"", NULL}},
	{"type=image,\"a=\"\"\"\"\"", "image", NULL, {"a", "\"\"", NULL}},
	{"type=image,\"\"\"x=1\"", "image", NULL, {"\"x", "1", NULL}},
	/* an embedded newline inside quotes belongs to the value */
	{"type=image,\"label=a\nb\"", "image", NULL, {"label", "a\nb", NULL}},
	{"type=image,\"label=a\r\nb\"",
	 "image",
	 NULL,
	 {"label", "a\r\nb", NULL}},
	/* a quoted first field, and an empty quoted value */
	{"\"type=oci\",dest=x.tar", "oci", "x.tar", {NULL}},
	{"type=oci,\"dest=\"", "oci", "", {NULL}},
	{"\"type=oci\"", "oci", NULL, {NULL}},
	/* shorthands */
	{"-", "tar", "-", {NULL}},
	{"./out", "local", "./out", {NULL}},
	{".", "local", ".", {NULL}},
	{"/abs/dir", "local", "/abs/dir", {NULL}},
	{"out dir", "local", "out dir", {NULL}},
	{"a=b", "local", "a=b", {NULL}},
	{"dest=x", "local", "dest=x", {NULL}},
	{"type=local", "local", NULL, {NULL}},
	{"type=tar", "tar", NULL, {NULL}},
	/* keys: lower-cased and trimmed; values verbatim */
	{"TYPE=oci,Dest=x.tar,PUSH=True",
	 "oci",
	 "x.tar",
	 {"push", "True", NULL}},
	{" type =docker, dest= x ,\tcompression\t=zstd",
	 "docker",
	 " x ",
	 {"compression", "zstd", NULL}},
	{"type=image,\xc2\xa0push\xe3\x80\x80=1",
	 "image",
	 NULL,
	 {"push", "1", NULL}},
	{"type=image,annotation.a=b=c,x==",
	 "image",
	 NULL,
	 {"annotation.a", "b=c", "x", "=", NULL}},
	{"type=image,name=", "image", NULL, {"name", "", NULL}},
	{"type=image,=v", "image", NULL, {"", "v", NULL}},
	/* the last type/dest wins; attrs keep spec order */
	{"type=a,type=b,dest=1,dest=2,k=1,k=2",
	 "b",
	 "2",
	 {"k", "1", "k", "2", NULL}},
	/* one trailing newline is allowed, only one */
	{"type=tar,dest=x\n", "tar", "x", {NULL}},
	{"type=tar,dest=x\r\n", "tar", "x", {NULL}},
	{"type=tar,dest=x\n\n", "tar", "x\n", {NULL}},
	{"type=tar,dest=x\r", "tar", "x\r", {NULL}},
	{"type=tar,\"dest=x\"\n", "tar", "x", {NULL}},
	/* registry stays its own type */
	{"type=registry,name=r/a", "registry", NULL, {"name", "r/a", NULL}},
};

struct bad_case {
	const char *spec;
	const char *msg; /* the whole message */
};

static const struct bad_case bad_cases[] = {
	{"", "invalid output '': empty spec"},
	{"\n", "invalid output '': empty spec"},
	{"\r\n", "invalid output '': empty spec"},
	/* go-csvvalue's columns: 1-based bytes */
	{"type=oci,\"dest=a",
	 "invalid output 'type=oci,\"dest=a': parse error on column 11: "
	 "extraneous or missing \" in quoted-field"},
	{"type=oci,\"dest\"x",
	 "invalid output 'type=oci,\"dest\"x': parse error on column 15: "
	 "extraneous or missing \" in quoted-field"},
	{"type=oci,\"dest=\"\"",
	 "invalid output 'type=oci,\"dest=\"\"': parse error on column 18: "
	 "extraneous or missing \" in quoted-field"},
	{"\"type=oci\" ,dest=x",
	 "invalid output '\"type=oci\" ,dest=x': parse error on column 10: "
	 "extraneous or missing \" in quoted-field"},
	{"type=oci,de\"st=a",
	 "invalid output 'type=oci,de\"st=a': parse error on column 12: "
	 "bare \" in non-quoted-field"},
	{"a\"b", "invalid output 'a\"b': parse error on column 2: "
		 "bare \" in non-quoted-field"},
	{" \"type=oci\"", "invalid output ' \"type=oci\"': parse error on "
			  "column 2: bare \" in non-quoted-field"},
	{"\"", "invalid output '\"': parse error on column 2: "
	       "extraneous or missing \" in quoted-field"},
	/* fields without '=' */
	{"type=local,out",
	 "invalid output 'type=local,out': invalid value out"},
	{"a,b", "invalid output 'a,b': invalid value a"},
	{"type=image,name=a,,push=true",
	 "invalid output 'type=image,name=a,,push=true': invalid value "},
	{"type=image,", "invalid output 'type=image,': invalid value "},
	/* quoting or a trailing newline defeats the shorthand */
	{"\"./out\"", "invalid output '\"./out\"': invalid value ./out"},
	{"./out\n", "invalid output './out\\n': invalid value ./out"},
	{"-\n", "invalid output '-\\n': invalid value -"},
	{"type=image,\"a\nb\"",
	 "invalid output 'type=image,\"a\\nb\"': invalid value a\\nb"},
	/* type */
	{"dest=x,push=true",
	 "invalid output 'dest=x,push=true': type is required for output"},
	{"type=,dest=x", "invalid output 'type=,dest=x': type is required "
			 "for output"},
	{"type=local,type=", "invalid output 'type=local,type=': type is "
			     "required for output"},
	{"type=local,output=out",
	 "invalid output 'type=local,output=out': output=out not supported "
	 "for --output, you meant dest=out?"},
	{"type=local, Output =",
	 "invalid output 'type=local, Output =': output= not supported "
	 "for --output, you meant dest=?"},
};

static void dump_output(const struct hoist_output *o)
{
	print_message("type=%s dest=%s\n", o->type,
		      o->dest ? o->dest : "(null)");
	for (size_t i = 0; i < o->nattrs; i++)
		print_message("  [%s]=[%s]\n", o->attrs[i].key,
			      o->attrs[i].value);
}

static void test_parse_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct hoist_output o;
		struct hoist_err err;
		size_t n = 0;
		int rc;

		hoist_err_clear(&err);
		rc = hoist_output_parse(&o, c->spec, &err);
		if (rc != 0)
			print_message("case %zu: %s\n", i, err.msg);
		assert_int_equal(rc, 0);
		if (strcmp(o.type, c->type) != 0 ||
		    (c->dest == NULL) != (o.dest == NULL) ||
		    (c->dest && strcmp(c->dest, o.dest) != 0)) {
			print_message("case %zu:\n", i);
			dump_output(&o);
			fail();
		}
		while (c->attrs[n * 2])
			n++;
		if (o.nattrs != n)
			dump_output(&o);
		assert_int_equal(o.nattrs, n);
		for (size_t k = 0; k < n; k++) {
			assert_string_equal(o.attrs[k].key, c->attrs[k * 2]);
			assert_string_equal(o.attrs[k].value,
					    c->attrs[k * 2 + 1]);
		}
		hoist_output_release(&o);
		assert_null(o.type);
		assert_int_equal(o.nattrs, 0);
	}
}

static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct hoist_output o;
		struct hoist_err err;
		int rc;

		hoist_err_clear(&err);
		rc = hoist_output_parse(&o, c->spec, &err);
		if (rc == 0) {
			print_message("case %zu accepted:\n", i);
			dump_output(&o);
		}
		assert_int_equal(rc, HOIST_EINVAL);
		assert_int_equal(err.code, HOIST_EINVAL);
		assert_string_equal(err.msg, c->msg);
		/* a failed parse leaves nothing to release */
		assert_null(o.type);
		assert_null(o.attrs);
		hoist_output_release(&o);
	}
}

/* Hostile specs still give one bounded line. */
static void test_error_one_line(void **state)
{
	char big[4096];
	struct hoist_output o;
	struct hoist_err err;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '\n';
	big[200] = '"';
	assert_int_equal(hoist_output_parse(&o, big, &err), HOIST_EINVAL);
	assert_null(strchr(err.msg, '\n'));
	assert_non_null(strstr(err.msg, "...': parse error on column 201: "
					"bare \" in non-quoted-field"));
	assert_true(strlen(err.msg) < 400);

	assert_int_equal(hoist_output_parse(&o, "type=x,\"a\x01\tb\\\"", &err),
			 HOIST_EINVAL);
	assert_string_equal(err.msg,
			    "invalid output 'type=x,\"a\\x01\\tb\\\\\"':"
			    " invalid value a\\x01\\tb\\\\");
}

static void test_get_set(void **state)
{
	struct hoist_output o;

	(void)state;
	assert_int_equal(hoist_output_parse(&o, "type=image,k=1,j=x,k=2", NULL),
			 0);
	assert_string_equal(hoist_output_get(&o, "k"), "2");
	assert_string_equal(hoist_output_get(&o, "j"), "x");
	assert_null(hoist_output_get(&o, "type"));
	assert_null(hoist_output_get(&o, "K"));

	hoist_output_set(&o, "k", "3");
	assert_string_equal(hoist_output_get(&o, "k"), "3");
	assert_int_equal(o.nattrs, 3);
	hoist_output_set(&o, "push", "true");
	assert_int_equal(o.nattrs, 4);
	assert_string_equal(o.attrs[3].key, "push");
	assert_string_equal(hoist_output_get(&o, "push"), "true");
	hoist_output_set(&o, "type", "registry");
	hoist_output_set(&o, "dest", "d");
	assert_string_equal(o.type, "registry");
	assert_string_equal(o.dest, "d");
	assert_int_equal(o.nattrs, 4);
	hoist_output_release(&o);
	hoist_output_release(&o); /* twice is harmless */
	hoist_output_release(NULL);
}

static void test_bool(void **state)
{
	static const char *const yes[] = {"1",    "t",    "T",
					  "TRUE", "true", "True"};
	static const char *const no[] = {"0",     "f",     "F",
					 "FALSE", "false", "False"};
	static const char *const junk[] = {"yes",   "on", "tRuE", " true",
					   "true ", "2",  "-1",   "y"};
	struct hoist_output o;
	struct hoist_err err;
	int v;

	(void)state;
	assert_int_equal(hoist_output_parse(&o,
					    "type=image,push=,oci-mediatypes=,"
					    "unpack=false,store=maybe,tar=1",
					    &err),
			 0);
	/* empty means true only for the lenient keys */
	v = -1;
	assert_int_equal(hoist_output_bool(&v, &o, "push", 1, 0, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(
		hoist_output_bool(&v, &o, "oci-mediatypes", 0, 1, &err),
		HOIST_EINVAL);
	assert_non_null(
		strstr(err.msg, "non-bool value specified for oci-mediatypes"));
	assert_int_equal(hoist_output_bool(&v, &o, "unpack", 1, 1, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hoist_output_bool(&v, &o, "store", 1, 1, &err),
			 HOIST_EINVAL);
	assert_non_null(strstr(err.msg, "non-bool value specified for store"));
	assert_int_equal(hoist_output_bool(&v, &o, "tar", 0, 0, &err), 0);
	assert_int_equal(v, 1);
	/* missing: the default, whatever empty_true says */
	v = -1;
	assert_int_equal(hoist_output_bool(&v, &o, "missing", 1, 0, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hoist_output_bool(&v, &o, "missing", 0, 1, &err), 0);
	assert_int_equal(v, 1);

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		hoist_output_set(&o, "b", yes[i]);
		v = 0;
		assert_int_equal(hoist_output_bool(&v, &o, "b", 0, 0, &err), 0);
		assert_int_equal(v, 1);
		hoist_output_set(&o, "b", no[i]);
		v = 1;
		assert_int_equal(hoist_output_bool(&v, &o, "b", 0, 1, &err), 0);
		assert_int_equal(v, 0);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		hoist_output_set(&o, "b", junk[i]);
		assert_int_equal(hoist_output_bool(&v, &o, "b", 1, 0, &err),
				 HOIST_EINVAL);
	}
	hoist_output_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_error_one_line),
		cmocka_unit_test(test_get_set),
		cmocka_unit_test(test_bool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
