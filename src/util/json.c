/* json.c: deterministic serialisation and hardened parsing via jansson. */
#include <string.h>
#include <stdlib.h>

#include "util/json.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

/*
 * Go's encoder escapes what jansson writes raw: the HTML-significant
 * characters <, > and &, and U+2028 and U+2029 (line and paragraph
 * separator, which JavaScript treats as line breaks). BuildKit's digests
 * depend on those bytes, so the dump callback rewrites them. U+2028 and
 * U+2029 arrive as E2 80 A8 and E2 80 A9; jansson hands over a string in
 * runs that do not split a character, but nothing promises that, so a
 * prefix E2 or E2 80 at the end of one piece is held for the next one.
 * Outside strings jansson writes only ASCII, so a byte-level rewrite
 * cannot touch the structure.
 */
struct dump_state {
	struct hoist_buf *b;
	size_t held; /* bytes of E2 80 held from the previous pieces */
};

static const char sep_prefix[] = {'\xe2', '\x80'};

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct dump_state *st = data;
	struct hoist_buf *b = st->b;

	for (size_t i = 0; i < size; i++) {
		const char *rep = NULL;
		char c = buffer[i];

		if (st->held == 2 && (c == '\xa8' || c == '\xa9')) {
			st->held = 0;
			if (hoist_buf_adds(b,
					   c == '\xa8' ? "\\u2028" : "\\u2029",
					   NULL))
				return -1;
			continue;
		}
		if (st->held < sizeof(sep_prefix) &&
		    c == sep_prefix[st->held]) {
			st->held++;
			continue;
		}
		/* not a separator after all: give back what was held */
		if (st->held && hoist_buf_add(b, sep_prefix, st->held, NULL))
			return -1;
		st->held = 0;
		if (c == sep_prefix[0]) {
			st->held = 1;
			continue;
		}
		switch (c) {
		case '<':
			rep = "\\u003c";
			break;
		case '>':
			rep = "\\u003e";
			break;
		case '&':
			rep = "\\u0026";
			break;
		}
		if (rep ? hoist_buf_adds(b, rep, NULL)
			: hoist_buf_addch(b, c, NULL))
			return -1;
	}
	return 0;
}

int hoist_json_dump(char **out, size_t *len, const json_t *v, int indent,
		    struct hoist_err *err)
{
	struct hoist_buf b;
	struct dump_state st = {&b, 0};
	size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;

	flags |= indent ? JSON_INDENT(2) : JSON_COMPACT;
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	if (json_dump_callback(v, dump_cb, &st, flags) != 0 ||
	    (st.held && hoist_buf_add(&b, sep_prefix, st.held, NULL))) {
		hoist_buf_release(&b);
		return hoist_err_set(err, HOIST_EINVAL,
				     "cannot serialise JSON");
	}
	*out = hoist_buf_detach(&b, len);
	return 0;
}

int hoist_json_parse(json_t **out, const char *data, size_t len,
		     const char *what, struct hoist_err *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);

	*out = NULL;
	if (!v) {
		char why[HOIST_QUOTE_BUF];

		hoist_err_quote(why, sizeof(why), jerr.text, HOIST_QUOTE_ALL,
				HOIST_QUOTE_UTF8);
		return hoist_err_set(err, HOIST_EINVAL,
				     "parse %s: line %d column %d: %s", what,
				     jerr.line, jerr.column, why);
	}
	*out = v;
	return 0;
}

const char *hoist_json_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

void hoist_json_set_str(json_t *obj, const char *key, const char *s)
{
	json_object_set_new(obj, key, json_string(s));
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *hoist_json_sorted(const json_t *obj)
{
	const char **keys, *k;
	json_t *out, *v;
	size_t n = 0;

	if (!obj)
		return NULL;
	out = json_object();
	keys = hoist_xcalloc(json_object_size(obj) + 1, sizeof(*keys));
	json_object_foreach((json_t *)obj, k, v) keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < n; i++)
		json_object_set(out, keys[i], json_object_get(obj, keys[i]));
	free(keys);
	return out;
}
