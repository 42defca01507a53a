/*
 * dfchmod.c: --chmod modes, octal or symbolic, as BuildKit applies them
 * (BSD setmode(3) semantics with a umask of 0). See dfchmod.h.
 */
#include <string.h>

#include "lib/dfchmod.h"
#include "util/banned.h"

#define U_BITS 04700u
#define G_BITS 02070u
#define O_BITS 01007u

/* The rwx bits of class c ('u', 'g', 'o') of m, copied to every class. */
static uint32_t copy_class(char c, uint32_t m)
{
	uint32_t v = c == 'u' ? (m >> 6) & 7 : c == 'g' ? (m >> 3) & 7 : m & 7;
	return v << 6 | v << 3 | v;
}

static int symbolic(const char *p, uint32_t mode, int is_dir, uint32_t *out)
{
	uint32_t m = mode & 07777;

	for (;;) {
		uint32_t who = 0;

		for (; *p && strchr("ugoa", *p); p++)
			who |= *p == 'u'   ? U_BITS
			       : *p == 'g' ? G_BITS
			       : *p == 'o' ? O_BITS
					   : U_BITS | G_BITS | O_BITS;
		if (!*p || !strchr("+-=", *p))
			return -1;
		while (*p && strchr("+-=", *p)) {
			char op = *p++;
			uint32_t perm = 0, w = who ? who : 07777;
			const uint32_t orig = m;

			for (; *p && strchr("rwxXstugo", *p); p++) {
				switch (*p) {
				case 'r':
					perm |= 0444;
					break;
				case 'w':
					perm |= 0222;
					break;
				case 'x':
					perm |= 0111;
					break;
				case 'X':
					if (is_dir || (orig & 0111))
						perm |= 0111;
					break;
				case 's':
					perm |= 06000;
					break;
				case 't':
					perm |= 01000;
					break;
				default:
					perm |= copy_class(*p, orig);
					break;
				}
			}
			/* without who, the sticky bit and set-ids go to all;
			 * with who, s applies to u and g, t only with a */
			perm &= w;
			if (op == '=')
				m &= ~(who ? who : 07777u);
			if (op == '-')
				m &= ~perm;
			else
				m |= perm;
		}
		if (!*p)
			break;
		if (*p++ != ',' || !*p)
			return -1;
	}
	*out = m;
	return 0;
}

int hoist_dfchmod_apply(const char *spec, uint32_t mode, int is_dir,
			uint32_t *out)
{
	uint32_t v = 0;
	const char *p;

	if (!spec || !*spec)
		return -1;
	for (p = spec; *p >= '0' && *p <= '7'; p++) {
		v = v * 8 + (uint32_t)(*p - '0');
		if (v > 07777)
			return -1;
	}
	if (!*p) {
		*out = v;
		return 0;
	}
	if (p != spec)
		return -1;
	return symbolic(spec, mode, is_dir, out);
}
