/*
 * import-dir.c: importing an OCI image layout directory (oci:DIR[:REF]):
 * every component opened without following symlinks, every blob
 * verified on its way into the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/digest.h"
#include "lib/import.h"
#include "lib/import-int.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

/* ---------------------------------------------------------------------
 * oci:DIR
 */

struct oci_dir {
	struct hoist_store *s;
	int dirfd;
	int shafd; /* DIR/blobs/sha256, opened on first use; -1 */
};

/* openat that never follows a symlink and never blocks on a FIFO. */
static int open_nofollow(int dirfd, const char *name, int dir,
			 const char *shown, struct hoist_err *err)
{
	int flags = O_RDONLY | O_NONBLOCK;
	struct quoted q;
	int fd;

	if (dir)
		flags |= O_DIRECTORY;
	fd = hoist_fs_openat_nofollow(dirfd, name, flags);
	if (fd >= 0)
		return fd;
	if (errno == ELOOP)
		return hoist_err_set(err, HOIST_EINVAL,
				     "'%s' is a symlink (refused)",
				     hoist_import_quote(&q, shown));
	if (errno == ENOENT)
		return hoist_err_set(err, HOIST_ENOTFOUND, "'%s' is missing",
				     hoist_import_quote(&q, shown));
	return hoist_err_sys(err, errno, "open '%s'",
			     hoist_import_quote(&q, shown));
}

/* Open a regular file of the layout; *size its length. */
static int open_regular(int dirfd, const char *name, const char *shown,
			uint64_t *size, struct hoist_err *err)
{
	struct quoted q;
	struct stat st;
	int fd = open_nofollow(dirfd, name, 0, shown, err);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int rc = hoist_err_sys(err, errno, "stat '%s'",
				       hoist_import_quote(&q, shown));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return hoist_err_set(err, HOIST_EINVAL,
				     "'%s' is not a regular file",
				     hoist_import_quote(&q, shown));
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int dir_open_blobs(struct oci_dir *d, struct hoist_err *err)
{
	int bfd;

	if (d->shafd >= 0)
		return 0;
	bfd = open_nofollow(d->dirfd, "blobs", 1, "blobs", err);
	if (bfd < 0)
		return bfd;
	d->shafd = open_nofollow(bfd, "sha256", 1, "blobs/sha256", err);
	close(bfd);
	return d->shafd < 0 ? d->shafd : 0;
}

static int dir_ensure(void *ctx, const char *digest, uint64_t size,
		      struct hoist_err *err)
{
	struct oci_dir *d = ctx;
	struct hoist_ingest *in = NULL;
	char shown[BLOB_PREFIX_LEN + HOIST_DIGEST_MAX];
	char *block = NULL;
	uint64_t fsize = 0;
	size_t got;
	int fd = -1, rc;

	/* Validated by the walk; only sha256 can be stored. */
	if (!hoist_digest_is_sha256(digest))
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "digest '%s': only sha256 blobs are "
				     "supported",
				     digest);
	if (hoist_store_has(d->s, digest))
		return hoist_import_check_store_size(d->s, digest, size, err);
	snprintf(shown, sizeof(shown), BLOB_PREFIX "%s",
		 hoist_digest_hex(digest));
	rc = dir_open_blobs(d, err);
	if (rc)
		return rc;
	fd = open_regular(d->shafd, hoist_digest_hex(digest), shown, &fsize,
			  err);
	if (fd < 0)
		return fd;
	if (fsize != size) {
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "'%s' has %llu bytes, its descriptor says "
				   "%llu",
				   shown, (unsigned long long)fsize,
				   (unsigned long long)size);
		goto out;
	}
	rc = hoist_ingest_open(&in, d->s, err);
	if (rc)
		goto out;
	block = hoist_xmalloc(READ_BLOCK);
	do {
		rc = hoist_fs_read_full(fd, block, READ_BLOCK, &got, shown,
					err);
		if (!rc && got)
			rc = hoist_ingest_write(in, block, got, err);
	} while (!rc && got == READ_BLOCK);
	if (rc)
		goto out;
	rc = hoist_import_commit_blob(in, digest, NULL, NULL, err);
	in = NULL;
	if (rc)
		hoist_err_prefix(err, "'%s'", shown);
out:
	hoist_ingest_abort(in);
	free(block);
	close(fd);
	return rc;
}

int hoist_import_oci_dir(json_t **root, struct hoist_store *s, const char *dir,
			 const char *ref, struct hoist_err *err)
{
	struct oci_dir d = {s, -1, -1};
	char *text = NULL;
	struct quoted q;
	uint64_t size = 0;
	size_t got;
	int fd = -1, rc;

	*root = NULL;
	d.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.dirfd < 0) {
		rc = hoist_err_sys(err, errno, "open");
		goto out;
	}
	fd = open_regular(d.dirfd, "index.json", "index.json", &size, err);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (size > DOC_MAX) {
		rc = hoist_err_set(err, HOIST_ELIMIT,
				   "'index.json' is larger than %zu bytes",
				   (size_t)DOC_MAX);
		goto out;
	}
	/* One byte more than allowed tells a file that grew meanwhile. */
	text = hoist_xmalloc(DOC_MAX + 1);
	rc = hoist_fs_read_full(fd, text, DOC_MAX + 1, &got, "index.json", err);
	if (rc)
		goto out;
	if (got > DOC_MAX) {
		rc = hoist_err_set(err, HOIST_ELIMIT,
				   "'index.json' is larger than %zu bytes",
				   (size_t)DOC_MAX);
		goto out;
	}
	rc = hoist_import_index_image(root, s, text, got, ref, dir_ensure, &d,
				      err);
out:
	if (rc)
		hoist_err_prefix(err, "import '%s'",
				 hoist_import_quote(&q, dir));
	free(text);
	if (fd >= 0)
		close(fd);
	if (d.shafd >= 0)
		close(d.shafd);
	if (d.dirfd >= 0)
		close(d.dirfd);
	return rc;
}
