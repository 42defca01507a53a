/*
 * resolve.h: resolving a path inside a root directory, security-critical.
 *
 * A path is walked one component at a time from descriptors we hold, each
 * step an O_NOFOLLOW open relative to the previous one, so no name or
 * symlink can lead outside the root: symlinks are followed as
 * openat2(RESOLVE_IN_ROOT) would (an absolute target starts again from
 * the root, ".." never climbs above it, at most 40 of them), or, with
 * HOIST_RESOLVE_NOFOLLOW, refused. Used by the layer unpacker (unpack.c)
 * and by every exporter that writes inside a destination directory.
 */
#ifndef HOIST_LIB_RESOLVE_H
#define HOIST_LIB_RESOLVE_H

#include "util/err.h"

enum {
	HOIST_RESOLVE_CREATE = 1,   /* mkdir missing directories (0700) */
	HOIST_RESOLVE_NOFOLLOW = 2, /* refuse symlinks instead of following */
};

/*
 * Called for each directory the walk enters: name in parentfd, fd its
 * O_PATH descriptor (borrowed), canon its in-root path, created 1 when
 * the walk made it. Returns 0 or a negative HOIST_E* code that stops the
 * walk (err filled).
 */
typedef int (*hoist_resolve_dir_fn)(void *ctx, int parentfd, const char *name,
				    int fd, const char *canon, int created,
				    struct hoist_err *err);

struct hoist_resolver {
	int rootfd;                  /* the root, a directory fd */
	hoist_resolve_dir_fn on_dir; /* may be NULL */
	void *ctx;
};

/*
 * Walk dir (relative; "" is the root) inside r->rootfd, creating missing
 * directories with HOIST_RESOLVE_CREATE. role names dir in errors
 * ("parent", "destination 'x'"). Returns an O_PATH directory fd the
 * caller closes, or a negative HOIST_E* code: HOIST_EINVAL when a
 * component is not a directory, is a symlink under NOFOLLOW, or symlinks
 * loop; a system error otherwise. The message names the in-root path,
 * escaped. *canon (may be NULL) receives the in-root path (caller frees).
 */
int hoist_resolve_walk(const struct hoist_resolver *r, const char *dir,
		       int flags, const char *role, char **canon,
		       struct hoist_err *err);

/*
 * The same result without bookkeeping (on_dir is not called, nothing is
 * created): the kernel does it in one openat2 call when it has it, else
 * (or when that fails, for the same words in the error) the walk does.
 */
int hoist_resolve_lookup(const struct hoist_resolver *r, const char *dir,
			 int flags, const char *role, struct hoist_err *err);

/*
 * Open dir (a directory path, absolute or relative to the working
 * directory, itself followed if a symlink) as the root of a destination,
 * then path inside it with HOIST_RESOLVE_NOFOLLOW (and CREATE when
 * create): no component below dir may be a symlink. Returns an
 * O_RDONLY|O_DIRECTORY fd the caller closes, or a negative HOIST_E* code.
 */
int hoist_resolve_open_dir(const char *dir, const char *path, int create,
			   struct hoist_err *err);

/*
 * 0 makes lookups use only the userspace walk, as on a kernel without
 * openat2; 1 restores the default. For tests; process-wide.
 */
void hoist_resolve_set_openat2(int enable);

#endif
