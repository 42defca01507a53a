/*
 * gzip-level.c: buildx's gzip compression-level onto libdeflate levels.
 *
 * buildx's levels are zlib's. For each, hoist runs the fastest libdeflate
 * level whose output was at least 0.5% smaller than zlib's at that level
 * (the margin keeps the promise on other data than the measured tar), as
 * bench/levels.sh measured on 64 MiB of real files (/usr/lib/x86_64-linux-
 * gnu, one thread, hoist's 1 MiB members; CPU seconds per GB):
 *
 *   buildx  zlib size  zlib CPU   libdeflate  its size  its CPU
 *     1      41.49%     36.1         1         40.45%    17.7
 *     2      40.47%     37.3         2         38.78%    20.1
 *     3      39.62%     45.3         2         38.78%    20.1
 *     4      38.71%     40.4         3         38.39%    22.2
 *     5      37.81%     58.1         5         37.27%    27.4
 *     6      37.36%     69.1         6         37.00%    28.2
 *     7      37.24%     80.2         6         37.00%    28.2
 *     8      37.11%    137.7         7         36.80%    34.0
 *     9      36.97%    262.4         8         36.71%    53.9
 *
 * ISA-L's igzip was measured too: its levels 0-2 are bigger than zlib -1,
 * and level 3 only 0.3% smaller (within the margin) at about the CPU cost
 * of libdeflate -1, so it would serve no level and is not a dependency.
 */
#include "lib/compress.h"
#include "lib/gzip-level.h"
#include "util/banned.h"

int hoist_gzip_level(int level)
{
	static const int map[10] = {0, 1, 2, 2, 3, 5, 6, 6, 7, 8};

	if (level == HOIST_COMP_LEVEL_DEFAULT)
		level = 6; /* BuildKit: gzip.DefaultCompression */
	if (level < 0 || level > 9)
		return 6;
	return map[level];
}
