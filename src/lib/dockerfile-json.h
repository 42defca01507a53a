/*
 * dockerfile-json.h: the JSON (exec) form of Dockerfile instructions
 * ("CMD [\"a\", \"b\"]"), as BuildKit's parser tells it from the shell
 * form. Internal to the Dockerfile parser.
 */
#ifndef HOIST_LIB_DOCKERFILE_JSON_H
#define HOIST_LIB_DOCKERFILE_JSON_H

#include <stddef.h>

enum {
	HOIST_DFJSON_OK = 0,          /* an array of strings: *out holds them */
	HOIST_DFJSON_NOT = 1,         /* not JSON: the shell form */
	HOIST_DFJSON_NOT_STRINGS = 2, /* JSON, but not only strings: error */
};

/*
 * Read s (n bytes; leading white space skipped) as a JSON array of
 * strings. Returns one of the values above. *out is a NULL-terminated
 * heap array of *nout heap strings (the strings of the array, also when
 * some elements were not strings), owned by the caller; NULL when none.
 */
int hoist_dockerfile_json(char ***out, size_t *nout, const char *s, size_t n);

/* The value of hex digit c (either case), or -1. */
int hoist_dockerfile_hexval(int c);

#endif
