/*
 * path.c: lexical path normalisation (see path.h).
 */
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/path.h"
#include "util/banned.h"

char *hoist_path_norm(const char *in)
{
	char *out = hoist_xmalloc(strlen(in) + 1);
	size_t len = 0;
	const char *p = in;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the '/' before the dropped name */
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	out[len] = '\0';
	return out;
}
