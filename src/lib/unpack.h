/*
 * unpack.h: applying image layers (untrusted tar streams, any compression)
 * to a directory, with libarchive as the reader.
 *
 * Layers are applied in order. Whiteouts are honoured: ".wh.NAME" removes
 * NAME, ".wh..wh..opq" empties its directory of what lower layers put
 * there. Hostile entries are refused with an error naming the entry:
 * ".." components, absolute paths, writes through a symlink (any path whose
 * parent resolves outside dest), hardlinks to targets outside the tree,
 * and device nodes when not running as root. Nothing is ever created
 * outside dest.
 *
 * Errors read "layer 'WHAT': entry 'PATH': reason" (PATH with control
 * bytes escaped). A layer is applied as it streams, so on any error dest
 * holds whatever the entries before the failing one did (always inside
 * dest). opts may be NULL (no epoch, owners not kept); what may be NULL.
 * Directory modes and mtimes are applied when the layer is complete.
 * Lost xattrs (e.g. security.* when not root) are logged, not fatal.
 */
#ifndef HOIST_LIB_UNPACK_H
#define HOIST_LIB_UNPACK_H

#include <stdint.h>

#include "util/err.h"
#include "lib/store.h"

struct hoist_unpack_opts {
	int64_t epoch;	/* >= 0: set every mtime to it (local exporter) */
	int keep_owner; /* restore uid/gid (only effective as root) */
};

/*
 * Apply the layer blob with this digest from the store onto dest (which
 * must exist). The compressed blob's digest is verified while reading
 * (HOIST_EDIGEST on mismatch, which wins over any other error since a
 * corrupt blob explains it; the blob is read to its end either way).
 * Only sha256 digests (HOIST_EINVAL otherwise).
 */
int hoist_unpack_layer(struct hoist_store *s, const char *digest,
		       const char *dest, const struct hoist_unpack_opts *opts,
		       struct hoist_err *err);

/* The same for a layer stream read from fd (no digest check). */
int hoist_unpack_fd(int fd, const char *dest,
		    const struct hoist_unpack_opts *opts, const char *what,
		    struct hoist_err *err);

#endif
