/*
 * tar.h: a deterministic tar writer.
 *
 * Headers are ustar; whatever ustar cannot hold (names or link targets over
 * its limits, sizes >= 8 GiB, ids >= 2^21, xattrs) goes into a PAX extended
 * header ("x" typeflag) before the entry, with records in sorted key order.
 * No atime/ctime, no uname/gname unless given. The same entries always give
 * the same bytes. hoist_tar_write_tree() walks a directory in sorted
 * (byte-wise) order and writes every entry type the layer format has.
 */
#ifndef HOIST_LIB_TAR_H
#define HOIST_LIB_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "lib/sink.h"

enum hoist_tar_type {
	HOIST_TAR_REG = '0',
	HOIST_TAR_HARDLINK = '1',
	HOIST_TAR_SYMLINK = '2',
	HOIST_TAR_CHR = '3',
	HOIST_TAR_BLK = '4',
	HOIST_TAR_DIR = '5',
	HOIST_TAR_FIFO = '6',
};

struct hoist_tar_xattr {
	const char *name; /* e.g. "security.capability" */
	const void *value;
	size_t len;
};

/* The xattrs of one file, as hoist_tar_xattrs_read found them. */
struct hoist_tar_xattrs {
	struct hoist_tar_xattr *v; /* in listxattr order */
	size_t n;
	char *names;
	char **values;
};

/*
 * Read every xattr of a file except security.selinux (the build host's
 * label, not content): through fd when fd >= 0, else name in the
 * directory dirfd without following a final symlink (no file is opened).
 * A file system without xattrs gives none. Errors name rel. Release xs
 * with hoist_tar_xattrs_release, also after an error (a no-op then).
 */
int hoist_tar_xattrs_read(struct hoist_tar_xattrs *xs, int fd, int dirfd,
			  const char *name, const char *rel,
			  struct hoist_err *err);
void hoist_tar_xattrs_release(struct hoist_tar_xattrs *xs);

struct hoist_tar_entry {
	const char *name; /* relative, no leading "./"; dirs end in '/' */
	enum hoist_tar_type type;
	uint32_t mode; /* permission bits incl. setuid/setgid/sticky */
	uint64_t uid, gid;
	int64_t mtime;        /* seconds; sub-second parts are never written */
	uint64_t size;        /* regular files only */
	const char *linkname; /* symlink target or hardlink source */
	uint32_t devmajor, devminor;
	const char *uname, *gname;            /* NULL: left empty */
	const struct hoist_tar_xattr *xattrs; /* sorted by the writer */
	size_t nxattrs;
};

struct hoist_tar_writer;

/* A writer pushing its bytes into sink. *out owned by the caller. */
void hoist_tar_writer_new(struct hoist_tar_writer **out,
			  const struct hoist_sink *sink);
void hoist_tar_writer_free(struct hoist_tar_writer *w);
/*
 * Write one entry's header(s). For a regular file, exactly e->size bytes
 * of data must follow through hoist_tar_write_data; the writer pads the
 * last block itself. HOIST_EINVAL if the previous file is not complete.
 */
int hoist_tar_write_header(struct hoist_tar_writer *w,
			   const struct hoist_tar_entry *e,
			   struct hoist_err *err);
int hoist_tar_write_data(struct hoist_tar_writer *w, const void *data,
			 size_t len, struct hoist_err *err);
/* Write the end-of-archive marker (two zero blocks) and flush. */
int hoist_tar_writer_finish(struct hoist_tar_writer *w, struct hoist_err *err);

struct hoist_tar_tree_opts {
	const char *prefix; /* put entries under this directory ("" = root) */
	/*
	 * >= 0: SOURCE_DATE_EPOCH. mtimes later than it are clamped to it
	 * (BuildKit's rewrite-timestamp). < 0: keep the real mtimes.
	 */
	int64_t epoch;
	int force_mtime; /* with epoch >= 0: set every mtime to epoch */
	int root_entry;  /* also write an entry for the top directory */
};

/*
 * Walk dir in sorted order and write every entry: regular files,
 * directories, symlinks, hardlinks (a second path to an inode already
 * written becomes a link to the first), fifos, char and block devices,
 * with uid, gid, mode, mtime and xattrs (including security.capability).
 * Sockets are skipped with a warning through hoist_log. Errors name the
 * path ("read 'etc/shadow': Permission denied"). Does not finish the
 * archive, so several trees can go into one stream.
 */
int hoist_tar_write_tree(struct hoist_tar_writer *w, const char *dir,
			 const struct hoist_tar_tree_opts *opts,
			 struct hoist_err *err);

#endif
