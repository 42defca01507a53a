/* json.c: deterministic serialisation and hardened parsing via jansson. */
#include <string.h>
#include <stdlib.h>

#include "util/json.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct hoist_buf *b = data;
	/* Go's encoder escapes HTML-significant characters; match it. */
	for (size_t i = 0; i < size; i++) {
		const char *rep = NULL;
		switch (buffer[i]) {
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
			: hoist_buf_addch(b, buffer[i], NULL))
			return -1;
	}
	return 0;
}

int hoist_json_dump(char **out, size_t *len, const json_t *v, int indent,
		    struct hoist_err *err)
{
	struct hoist_buf b;
	size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;

	flags |= indent ? JSON_INDENT(2) : JSON_COMPACT;
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	if (json_dump_callback(v, dump_cb, &b, flags) != 0) {
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
	if (!v)
		return hoist_err_set(err, HOIST_EINVAL,
				     "parse %s: line %d column %d: %s", what,
				     jerr.line, jerr.column, jerr.text);
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
