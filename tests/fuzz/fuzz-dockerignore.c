/*
 * fuzz-dockerignore.c: fuzz target for .dockerignore reading and matching
 * (lib/dockerignore.c).
 *
 * The input up to the first "\x01" is the file; each later "\x01"-separated
 * part is a path matched against it. Checks: errors are one printable
 * line; patterns are clean (no "//"; a leading "/" can survive, as in
 * Docker, when white space before it is trimmed only after cleaning); the
 * walk
 * from the root and the one-step match with no parent info agree on
 * paths of one component; with no exception, everything under an
 * excluded directory is excluded and the directory may be skipped.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/dockerignore.h"
#include "util/mem.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sep = memchr(data, '\x01', size);
	size_t flen = sep ? (size_t)(sep - (const char *)data) : size;
	struct hoist_dockerignore *di;
	struct hoist_err err;
	char *paths, *p, *next;
	int exceptions = 0;

	if (hoist_dockerignore_parse(&di, ".dockerignore", (const char *)data,
				     flen, &err)) {
		FUZZ_CHECK(err.code == HOIST_EINVAL);
		for (const char *c = err.msg; *c; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
		return 0;
	}
	for (size_t i = 0; i < hoist_dockerignore_count(di); i++) {
		int exc;
		const char *t = hoist_dockerignore_pattern(di, i, &exc);

		exceptions |= exc;
		FUZZ_CHECK(t && t[0]);
		FUZZ_CHECK(!strstr(t, "//"));
	}
	paths = sep ? hoist_xstrndup(sep + 1, size - flen - 1)
		    : hoist_xstrdup("");
	for (p = paths; p; p = next) {
		int ex;

		next = strchr(p, '\x01');
		if (next)
			*next++ = 0;
		if (!*p)
			continue;
		ex = hoist_dockerignore_excluded(di, p);
		FUZZ_CHECK(ex == 0 || ex == 1);
		if (!strchr(p, '/'))
			FUZZ_CHECK(ex ==
				   hoist_dockerignore_match(di, p, NULL, NULL));
		if (ex && !exceptions) {
			char *child = hoist_xasprintf("%s/x", p);

			FUZZ_CHECK(hoist_dockerignore_may_skip_dir(di, p));
			FUZZ_CHECK(hoist_dockerignore_excluded(di, child));
			free(child);
		}
	}
	free(paths);
	hoist_dockerignore_free(di);
	return 0;
}
