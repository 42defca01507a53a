/*
 * fs.h: file system helpers with crash-safe writes.
 *
 * Every file hoist produces is written to a temporary name in the same
 * directory, fsynced, and renamed into place; the directory is then fsynced.
 * A crash leaves either the old file or the new one, never a torn one, and
 * the temporaries (named ".hoist-tmp-*") are easy to recognise and sweep.
 */
#ifndef HOIST_UTIL_FS_H
#define HOIST_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define HOIST_TMP_PREFIX ".hoist-tmp-"

/* Write all len bytes to fd, retrying on EINTR and short writes. */
int hoist_fs_write_all(int fd, const void *data, size_t len, const char *what,
		       struct hoist_err *err);
/*
 * A file being written sequentially that will be fsynced at its end: once
 * size passes *started by HOIST_FS_WRITEBACK_STEP, start the kernel writing
 * the bytes up to size back to disk now (sync_file_range, asynchronous),
 * so the final fsync finds little left to do. Advisory: failures are
 * ignored (the fsync still decides).
 */
#define HOIST_FS_WRITEBACK_STEP (8u << 20)
void hoist_fs_writeback(int fd, uint64_t *started, uint64_t size);
/* Read up to len bytes; *got < len only at end of file. */
int hoist_fs_read_full(int fd, void *data, size_t len, size_t *got,
		       const char *what, struct hoist_err *err);

/*
 * mkdir -p; existing directories are fine. HOIST_EEXIST when a file is in
 * the way, HOIST_EINVAL for an empty path, hoist_err_sys codes otherwise.
 */
int hoist_fs_mkdirs(const char *path, mode_t mode, struct hoist_err *err);

/* fsync a directory so that renames and creations in it are durable. */
int hoist_fs_fsync_dir(const char *dir, struct hoist_err *err);

/*
 * Read a whole regular file of at most max bytes into a NUL-terminated heap
 * buffer owned by the caller. HOIST_ELIMIT if larger, HOIST_ENOTFOUND if
 * missing.
 */
int hoist_fs_read_file(char **out, size_t *len, const char *path, size_t max,
		       struct hoist_err *err);

/* Atomically replace path with data (temp + fsync + rename + dir fsync). */
int hoist_fs_write_atomic(const char *path, const void *data, size_t len,
			  mode_t mode, struct hoist_err *err);

/* Remove a file or a whole tree. A missing path is not an error. */
int hoist_fs_rm_rf(const char *path, struct hoist_err *err);

/*
 * An output file being written: created as a temporary next to dest and
 * renamed onto dest only by _commit. _abort (or a crash) leaves nothing at
 * dest. With dest "-" the data goes to standard output and commit/abort
 * only flush.
 */
struct hoist_fs_atomic {
	int fd;
	char *tmp;  /* temporary path, NULL for stdout */
	char *dest; /* final path */
	mode_t mode;
};
int hoist_fs_atomic_open(struct hoist_fs_atomic *a, const char *dest,
			 mode_t mode, struct hoist_err *err);
int hoist_fs_atomic_commit(struct hoist_fs_atomic *a, struct hoist_err *err);
void hoist_fs_atomic_abort(struct hoist_fs_atomic *a);

/*
 * Make a fresh temporary directory next to dest (same file system, so a
 * rename can publish it). *out is owned by the caller.
 */
int hoist_fs_mkdtemp_near(char **out, const char *dest, struct hoist_err *err);

/*
 * Hard-link src to dst, or copy it when linking is impossible (another file
 * system, or no permission). dst must not exist. The copy is fsynced.
 */
int hoist_fs_link_or_copy(const char *src, const char *dst, mode_t mode,
			  struct hoist_err *err);

/*
 * Temporaries to remove if the process is killed by SIGINT, SIGTERM,
 * SIGHUP or SIGPIPE (SIGKILL cannot be caught: stale ".hoist-tmp-*" names
 * are then left for the next run or prune). hoist_fs_atomic_open and
 * hoist_fs_mkdtemp_near register theirs; commit/abort unregister. At most
 * 64 at a time; registration beyond that (or of a path of 4096 bytes or
 * more) is silently skipped. Thread-safe; a path is published to the
 * handler only once fully copied. Unregister from the thread that
 * registered.
 */
void hoist_fs_tmp_register(const char *path, int is_dir);
void hoist_fs_tmp_unregister(const char *path);
/* Install the signal handlers that do the removal (the CLI calls this). */
void hoist_fs_install_signal_cleanup(void);

/*
 * The target of the symlink name in dirfd, as a new NUL-terminated string
 * owned by the caller (*len its length). hint is a size guess (lstat's
 * st_size), 0 if unknown. Errors read "readlink 'WHAT': ...".
 */
int hoist_fs_readlinkat(char **out, size_t *len, int dirfd, const char *name,
			size_t hint, const char *what, struct hoist_err *err);

/*
 * The names in the directory open at dfd other than "." and "..", sorted
 * byte-wise (strcmp: locale-free), in a new array *out of *n strings owned
 * by the caller (hoist_fs_names_free). dfd stays open; it is read through
 * a duplicate, so it must not be read elsewhere meanwhile. Errors read
 * "read 'WHAT': ...".
 */
int hoist_fs_dir_names(char ***out, size_t *n, int dfd, const char *what,
		       struct hoist_err *err);
void hoist_fs_names_free(char **names, size_t n);

/*
 * openat(dirfd, name, flags) that never follows a symlink in the last
 * component (O_NOFOLLOW) and closes on exec; O_NOATIME is tried first (a
 * speedup that needs ownership). The fd, or -1 with errno (ELOOP for a
 * symlink).
 */
int hoist_fs_openat_nofollow(int dirfd, const char *name, int flags);

/* 1 if path exists (lstat), 0 if not. */
int hoist_fs_exists(const char *path);
/* 1 if path is a directory (stat, following links). */
int hoist_fs_is_dir(const char *path);

#endif
