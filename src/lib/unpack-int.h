/*
 * unpack-int.h: the state of one layer being applied, shared by unpack.c
 * (entries, directories, the end-of-layer pass) and unpack-whiteout.c
 * (whiteouts and opaque directories). Internal to src/lib/unpack*.c.
 */
#ifndef HOIST_LIB_UNPACK_INT_H
#define HOIST_LIB_UNPACK_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <archive.h>

#include "util/err.h"
#include "util/strmap.h"

#define WH_PREFIX ".wh."
#define WH_PREFIX_LEN 4
#define WH_OPAQUE ".wh..wh..opq"
#define NAME_ECHO_MAX 300

/* Directory metadata to apply when the layer is complete. */
struct deferred {
	char *path;
	int set_mode, set_time, set_owner;
	mode_t mode;
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;
};

struct unpacker {
	struct archive *a;
	int rootfd; /* O_RDONLY directory */
	const char *what;
	int64_t epoch;
	int keep_owner;
	int is_root;
	struct hoist_err *err;

	char entry[NAME_ECHO_MAX + 4]; /* current entry, escaped for errors */

	struct hoist_strmap seen;
	struct hoist_strmap dmap; /* path -> index into dirs */
	struct deferred *dirs;
	size_t ndirs, adirs;

	/* The last parent directory resolved, by its path in the layer;
	 * entries mostly come grouped by directory. Removing a directory or
	 * a symlink may change what a path resolves to (a symlink target
	 * can hold ".."), so hoist_unpack_rm_at marks the cache stale; it is
	 * dropped at the next lookup, never under a caller still using the fd.
	 */
	char *cache_path;
	char *cache_canon; /* its in-root path */
	int cache_fd;
	int cache_stale;

	int walk_flags;  /* W_* of the walk in progress */
	int walk_failed; /* walked_dir failed (its error is prefixed) */
};

/*
 * Fail the current entry: "layer 'W': entry 'E': <message>" in u->err.
 * Returns code (a negative HOIST_E*).
 */
int hoist_unpack_fail(struct unpacker *u, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for a failed system call with errno errnum. */
int hoist_unpack_fail_sys(struct unpacker *u, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * rm -rf of name in dirfd without following symlinks. A missing name is
 * fine. Marks u's parent cache stale when a directory or symlink goes.
 * Returns 0 or a negative errno (the caller words the error).
 */
int hoist_unpack_rm_at(struct unpacker *u, int dirfd, const char *name);

/*
 * Apply the whiteout entry base (".wh.NAME" or the opaque marker) found in
 * the directory pfd, whose in-root path is dir. 0 or a negative HOIST_E*
 * with u->err set.
 */
int hoist_unpack_whiteout(struct unpacker *u, int pfd, const char *dir,
			  const char *base);

#endif
