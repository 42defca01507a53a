/*
 * output.h: buildx's --output grammar.
 *
 * The spec is one CSV record (encoding/csv rules: comma separator, fields
 * may be double-quoted, "" is a literal quote inside a quoted field, a bare
 * quote in an unquoted field is an error, one trailing newline allowed).
 * Shorthand: a spec that is a single field equal to the whole input and not
 * starting with "type=" means "-" -> type=tar,dest=- and anything else ->
 * type=local,dest=<spec>. Otherwise every field is key=value (split at the
 * first '='); keys are trimmed and lower-cased, values kept verbatim;
 * "type" is required. "registry" is kept as its own type here; the
 * exporters treat it as image with push=true.
 *
 * Errors are HOIST_EINVAL with one line "invalid output 'SPEC': ...", SPEC
 * with control bytes escaped and cut after 200 bytes. CSV errors give the
 * column as go-csvvalue (what buildx uses) does: 1-based byte offset, e.g.
 * "parse error on column 11: extraneous or missing \" in quoted-field".
 * A field "output=V" is refused as buildctl does.
 */
#ifndef HOIST_LIB_OUTPUT_H
#define HOIST_LIB_OUTPUT_H

#include <stddef.h>

#include "util/err.h"

struct hoist_output_attr {
	char *key;
	char *value;
};

struct hoist_output {
	char *type;
	char *dest; /* NULL if not given */
	struct hoist_output_attr
		*attrs; /* in spec order, excluding type/dest */
	size_t nattrs;
};

/* Parse spec. out owns its strings (hoist_output_release). */
int hoist_output_parse(struct hoist_output *out, const char *spec,
		       struct hoist_err *err);
void hoist_output_release(struct hoist_output *out);

/* The value of the last attr with this key, or NULL. */
const char *hoist_output_get(const struct hoist_output *o, const char *key);
/* Set (replace or add) an attr. */
void hoist_output_set(struct hoist_output *o, const char *key,
		      const char *value);
/*
 * Boolean attr with buildx's rules: missing -> dflt; empty -> 1 if
 * empty_true, else HOIST_EINVAL; otherwise Go ParseBool.
 */
int hoist_output_bool(int *out, const struct hoist_output *o, const char *key,
		      int empty_true, int dflt, struct hoist_err *err);

#endif
