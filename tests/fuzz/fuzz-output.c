/*
 * fuzz-output.c: fuzz target for the --output parser (lib/output.c).
 *
 * Checks that a parsed spec is normalised (a type, keys trimmed and
 * lower-cased, no type/dest/output among the attrs), that quoting every
 * field of it again parses back to the same thing, that errors are one
 * control-free line starting with "invalid output '", and that the bool
 * helper only ever answers 0/1 or HOIST_EINVAL.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/output.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

/* One CSV field, always quoted, quotes doubled. */
static void add_field(struct hoist_buf *b, const char *key, const char *value)
{
	if (b->len)
		hoist_buf_addch(b, ',', NULL);
	hoist_buf_addch(b, '"', NULL);
	for (const char *p = key; *p; p++) {
		if (*p == '"')
			hoist_buf_addch(b, '"', NULL);
		hoist_buf_addch(b, *p, NULL);
	}
	hoist_buf_addch(b, '=', NULL);
	for (const char *p = value; *p; p++) {
		if (*p == '"')
			hoist_buf_addch(b, '"', NULL);
		hoist_buf_addch(b, *p, NULL);
	}
	hoist_buf_addch(b, '"', NULL);
}

static int same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void check_ok(const struct hoist_output *o)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_output back;
	struct hoist_err err;
	int v;

	FUZZ_CHECK(o->type && *o->type);
	FUZZ_CHECK(o->nattrs == 0 || o->attrs);
	for (size_t i = 0; i < o->nattrs; i++) {
		const char *k = o->attrs[i].key;
		size_t n = strlen(k);

		FUZZ_CHECK(strcmp(k, "type") && strcmp(k, "dest") &&
			   strcmp(k, "output"));
		FUZZ_CHECK(!strchr(k, '='));
		for (const char *c = k; *c; c++)
			FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
		FUZZ_CHECK(n == 0 || (k[0] != ' ' && k[n - 1] != ' ' &&
				      k[0] != '\t' && k[n - 1] != '\t'));
		FUZZ_CHECK(hoist_output_get(o, k) != NULL);

		for (int et = 0; et < 2; et++) {
			int rc = hoist_output_bool(&v, o, k, et, 0, &err);

			FUZZ_CHECK(rc == 0 || rc == HOIST_EINVAL);
			FUZZ_CHECK(rc != 0 || v == 0 || v == 1);
		}
	}

	add_field(&b, "type", o->type);
	if (o->dest)
		add_field(&b, "dest", o->dest);
	for (size_t i = 0; i < o->nattrs; i++)
		add_field(&b, o->attrs[i].key, o->attrs[i].value);
	FUZZ_CHECK(hoist_output_parse(&back, b.data, &err) == 0);
	FUZZ_CHECK(same(back.type, o->type));
	FUZZ_CHECK(same(back.dest, o->dest));
	FUZZ_CHECK(back.nattrs == o->nattrs);
	for (size_t i = 0; i < o->nattrs; i++) {
		FUZZ_CHECK(same(back.attrs[i].key, o->attrs[i].key));
		FUZZ_CHECK(same(back.attrs[i].value, o->attrs[i].value));
	}
	hoist_output_release(&back);
	hoist_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The CLI hands over C strings: cut at the first NUL as argv does. */
	char *s = hoist_xstrndup((const char *)data, size);
	struct hoist_output o;
	struct hoist_err err;

	hoist_err_clear(&err);
	if (hoist_output_parse(&o, s, &err) == 0) {
		check_ok(&o);
		hoist_output_release(&o);
	} else {
		FUZZ_CHECK(err.code == HOIST_EINVAL);
		FUZZ_CHECK(strncmp(err.msg, "invalid output '", 16) == 0);
		FUZZ_CHECK(strlen(err.msg) < 800); /* never truncated */
		for (const char *c = err.msg; *c; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 &&
				   (unsigned char)*c != 0x7f);
		FUZZ_CHECK(o.type == NULL && o.dest == NULL &&
			   o.attrs == NULL && o.nattrs == 0);
	}
	free(s);
	return 0;
}
