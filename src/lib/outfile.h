/*
 * outfile.h: the one buffered, atomic output-file sink. Bytes are
 * gathered in a 256 KiB buffer and written to a temporary next to dest
 * (hoist_fs_atomic); commit renames it onto dest, abort removes it. dest
 * "-" is standard output. Used by every exporter that writes a tarball.
 */
#ifndef HOIST_LIB_OUTFILE_H
#define HOIST_LIB_OUTFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/sink.h"
#include "util/err.h"
#include "util/fs.h"

struct hoist_outfile {
	struct hoist_fs_atomic f;
	char *buf;
	size_t len;
};

/* Open dest for writing. 0, or a system error (nothing is created). */
int hoist_outfile_open(struct hoist_outfile *o, const char *dest, mode_t mode,
		       struct hoist_err *err);
/* A hoist_sink_fn: ctx is the struct hoist_outfile. 0 or a system error. */
int hoist_outfile_write(void *ctx, const void *data, size_t len,
			struct hoist_err *err);
/* The sink that writes into o. */
struct hoist_sink hoist_outfile_sink(struct hoist_outfile *o);
/*
 * Flush and publish at dest; on failure nothing is left at dest. Frees o's
 * memory either way. 0 or a system error.
 */
int hoist_outfile_commit(struct hoist_outfile *o, struct hoist_err *err);
/* Drop everything written; frees o's memory. */
void hoist_outfile_abort(struct hoist_outfile *o);

#endif
