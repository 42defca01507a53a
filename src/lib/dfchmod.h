/*
 * dfchmod.h: COPY/ADD --chmod modes as BuildKit reads them: an octal
 * mode up to 07777, or (BuildKit >= 0.14, through a port of BSD's
 * setmode(3) with a umask of 0) a symbolic one as chmod(1) takes it:
 * comma-separated clauses [ugoa]*[+-=][rwxXst|ugo]*..., "who" omitted
 * meaning all, X meaning x for directories and for files that already
 * have an x bit, u/g/o after the operator copying that class's bits.
 */
#ifndef HOIST_LIB_DFCHMOD_H
#define HOIST_LIB_DFCHMOD_H

#include <stdint.h>

/*
 * Apply spec to mode (the permission bits of a file, or a directory
 * when is_dir): *out is the new 07777 bits. Returns 0, or -1 when spec
 * is neither an octal mode up to 07777 nor a symbolic mode (*out then
 * untouched). Octal modes replace the bits whatever the file.
 */
int hoist_dfchmod_apply(const char *spec, uint32_t mode, int is_dir,
			uint32_t *out);

#endif
