/*
 * json.h: jansson helpers that give stable bytes.
 *
 * Object keys keep insertion order (JSON_PRESERVE_ORDER), so the model
 * files build objects in the image-spec Go struct field order and the same
 * input always serialises to the same digest. Two forms match BuildKit:
 * indented (Go json.MarshalIndent with two spaces, used for manifests and
 * indexes) and compact (json.Marshal, used for configs).
 */
#ifndef HOIST_UTIL_JSON_H
#define HOIST_UTIL_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "util/err.h"

/*
 * Serialise; *out is a heap string owned by the caller, without a trailing
 * newline. Go escapes <, > and & as \u003c etc., and U+2028 and U+2029 as
 * \u2028 and \u2029; so does this. 0, or HOIST_EINVAL when jansson cannot
 * serialise v (*out is then untouched).
 */
int hoist_json_dump(char **out, size_t *len, const json_t *v, int indent,
		    struct hoist_err *err);
/*
 * Parse the len bytes at data as untrusted JSON (the caller bounds len).
 * Duplicate keys are rejected. what names the document in errors. 0 with
 * *out a new reference owned by the caller (json_decref it), or
 * HOIST_EINVAL ("parse WHAT: line L column C: reason", the reason quoted
 * so input bytes cannot reach a terminal) with *out NULL.
 */
int hoist_json_parse(json_t **out, const char *data, size_t len,
		     const char *what, struct hoist_err *err);

/*
 * Typed getter: the string at key, or NULL when the key is missing or of
 * another type. The string belongs to obj.
 */
const char *hoist_json_str(const json_t *obj, const char *key);
/* Set key to a new string value (steals nothing, copies s). Cannot fail. */
void hoist_json_set_str(json_t *obj, const char *key, const char *s);
/*
 * A new object with obj's members (shared, not copied) in byte order of
 * their keys, as Go marshals a map (annotations). NULL stays NULL.
 */
json_t *hoist_json_sorted(const json_t *obj);

#endif
