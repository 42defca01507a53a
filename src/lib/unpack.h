/*
 * unpack.h: applying image layers (untrusted tar streams, any compression)
 * to a directory, with libarchive as the reader.
 *
 * Layers are applied in order, with the OCI layer semantics containerd's
 * archive.Apply implements: dest is treated as the root directory of the
 * image, and nothing is ever created, changed or removed outside it.
 *  - Entry names are cleaned first, lexically: a leading "/", "./" and
 *    empty components are dropped and ".." removes the component before
 *    it with the root as its floor, so "/etc/x" is "etc/x", "a/../b" is
 *    "b" and "../x" is "x" (containerd does the same; Docker refuses such
 *    names instead).
 *  - An entry's parent directory is then resolved inside dest, as
 *    openat2(2) with RESOLVE_IN_ROOT does: symlinks are followed (an
 *    absolute target starts again from dest, a relative one from the
 *    symlink's directory, ".." never climbs above dest), at most 40 of
 *    them per lookup (more, or a loop: HOIST_EINVAL with sys_errno
 *    ELOOP). So with lib -> usr/lib in the image, "lib/x/y" lands in
 *    dest/usr/lib/x/y, and with etc -> /etc, "etc/shadow" in
 *    dest/etc/shadow. Missing parents are made (mode 0755), also where a
 *    dangling symlink points.
 *  - The entry's last component is never followed: an entry replaces
 *    whatever is at that name (a symlink included; it is not written
 *    through), except that a directory entry over a directory merges.
 *  - Whiteouts: ".wh.NAME" removes NAME (not followed) from its parent
 *    resolved as above, and does nothing if that parent is missing;
 *    ".wh..wh..opq" empties its directory of what lower layers put there.
 *  - A hardlink's target is resolved the same way (its parent in dest,
 *    its last component as it is), must exist and must not be a
 *    directory; a target that is a symlink links the symlink.
 *  - Device nodes are refused when not running as root
 *    (HOIST_EUNSUPPORTED).
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
	int64_t epoch;  /* >= 0: set every mtime to it (local exporter) */
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

/*
 * Lookups use openat2(2) when the kernel has it, and a userspace walk with
 * the same rules when it has not. enable = 0 forces the walk, as on a
 * kernel without openat2; 1 restores the default. For tests; process-wide.
 */
void hoist_unpack_set_openat2(int enable);

#endif
