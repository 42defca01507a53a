/*
 * gzip-level.h: what buildx's gzip compression-level (0-9, zlib's scale)
 * means in hoist, whose gzip is libdeflate (in 1 MiB members, compress.h).
 */
#ifndef HOIST_LIB_GZIP_LEVEL_H
#define HOIST_LIB_GZIP_LEVEL_H

/*
 * The libdeflate level to run for a buildx gzip level: the fastest one
 * whose output bench/levels.sh measured at least 0.5% smaller than
 * zlib's at that level (see the table in gzip-level.c and the README).
 * HOIST_COMP_LEVEL_DEFAULT is BuildKit's default, zlib level 6. level
 * must be checked already (hoist_compression_check_level): 0-9 or the
 * default; 0 stays 0 (stored, no compression), as in zlib.
 */
int hoist_gzip_level(int level);

#endif
