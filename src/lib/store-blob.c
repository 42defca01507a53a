/*
 * store-blob.c: the blobs of the staging area. A blob is hashed while it
 * is written to a locked ingest file, fsynced, checked against the digest
 * it should have, and renamed into blobs/sha256/ (then the directory is
 * fsynced), so a blob file always has the content its name says unless
 * something outside hoist changes it. A blob that is already there is
 * replaced by the new, verified copy rather than trusted (link-and-check,
 * as git does): a corrupt blob heals on the next ingest of its digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/store-int.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/banned.h"

struct hoist_ingest {
	struct hoist_store *s;
	int fd;
	char *path;
	struct hoist_sha256 h;
	uint64_t size;
	uint64_t written_back; /* hoist_fs_writeback's mark */
};

char *hoist_store_blob_path(const struct hoist_store *s, const char *digest)
{
	if (hoist_store_check_digest(digest, NULL))
		return NULL;
	return hoist_store_blob_path_of(s, digest);
}

int hoist_store_has(const struct hoist_store *s, const char *digest)
{
	struct stat st;
	char *path;
	int r;

	if (hoist_store_check_digest(digest, NULL))
		return 0;
	path = hoist_store_blob_path_of(s, digest);
	r = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return r;
}

int hoist_store_blob_size(const struct hoist_store *s, const char *digest,
			  uint64_t *size, struct hoist_err *err)
{
	struct stat st;
	char *path = NULL;
	int rc = hoist_store_check_digest(digest, err);

	if (rc)
		return rc;
	path = hoist_store_blob_path_of(s, digest);
	if (stat(path, &st) < 0) {
		rc = hoist_err_sys(err, errno, "blob '%s'", digest);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "blob '%s' is not a regular file", digest);
		goto out;
	}
	*size = (uint64_t)st.st_size;
out:
	free(path);
	return rc;
}

int hoist_ingest_open(struct hoist_ingest **out, struct hoist_store *s,
		      struct hoist_err *err)
{
	struct hoist_ingest *in = hoist_xcalloc(1, sizeof(*in));
	int rc = 0;

	*out = NULL;
	in->s = s;
	in->path = hoist_xasprintf("%s/%ld-XXXXXX", s->ingest, (long)getpid());
	in->fd = mkostemp(in->path, O_CLOEXEC);
	if (in->fd < 0) {
		rc = hoist_err_sys(err, errno, "create ingest file in '%s'",
				   s->ingest);
		goto out;
	}
	/* Nobody else knows the name yet, so this cannot block. */
	if (hoist_store_lock_fd(in->fd, LOCK_EX | LOCK_NB) < 0) {
		rc = hoist_err_sys(err, errno, "lock '%s'", in->path);
		goto out;
	}
	/* SIGINT/SIGTERM remove it; a SIGKILL leaves it to prune/fsck */
	hoist_fs_tmp_register(in->path, 0);
	hoist_sha256_init(&in->h);
	*out = in;
	in = NULL;
out:
	if (in) {
		if (in->fd >= 0) {
			close(in->fd);
			unlink(in->path);
		}
		free(in->path);
		free(in);
	}
	return rc;
}

int hoist_ingest_write(struct hoist_ingest *in, const void *data, size_t len,
		       struct hoist_err *err)
{
	int rc;

	if (UINT64_MAX - in->size < len)
		return hoist_err_set(err, HOIST_ELIMIT, "blob too large");
	rc = hoist_fs_write_all(in->fd, data, len, in->path, err);
	if (rc)
		return rc;
	hoist_sha256_update(&in->h, data, len);
	in->size += len;
	hoist_fs_writeback(in->fd, &in->written_back, in->size);
	return 0;
}

uint64_t hoist_ingest_size(const struct hoist_ingest *in)
{
	return in->size;
}

int hoist_ingest_fd(const struct hoist_ingest *in)
{
	return in->fd;
}

static void ingest_free(struct hoist_ingest *in, int remove)
{
	if (in->path[0])
		hoist_fs_tmp_unregister(in->path);
	if (in->fd >= 0) {
		if (remove)
			unlink(in->path);
		close(in->fd);
	}
	free(in->path);
	free(in);
}

int hoist_ingest_commit(struct hoist_ingest *in, const char *expected,
			struct hoist_digest *out, uint64_t *size,
			struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_digest d;
	struct stat st;
	char *dest = NULL;
	int rc = 0;

	hoist_sha256_final_hex(&in->h, hex);
	/* Built by hand so the store needs only digest validation. */
	snprintf(d.str, sizeof(d.str), STORE_SHA256_PREFIX "%s", hex);
	if (expected) {
		rc = hoist_store_check_digest(expected, err);
		if (rc)
			goto out;
		if (strcmp(expected, d.str) != 0) {
			rc = hoist_err_set(err, HOIST_EDIGEST,
					   "blob digest is '%s', expected '%s'",
					   d.str, expected);
			goto out;
		}
	}
	if (fsync(in->fd) < 0 || fstat(in->fd, &st) < 0) {
		rc = hoist_err_sys(err, errno, "write '%s'", in->path);
		goto out;
	}
	/* What reached the file must be what we hashed. */
	if ((uint64_t)st.st_size != in->size) {
		rc = hoist_err_set(
			err, HOIST_EIO,
			"ingest file '%s' has %llu bytes, wrote %llu", in->path,
			(unsigned long long)st.st_size,
			(unsigned long long)in->size);
		goto out;
	}
	if (fchmod(in->fd, 0444) < 0) {
		rc = hoist_err_sys(err, errno, "chmod '%s'", in->path);
		goto out;
	}
	dest = hoist_store_blob_path_of(in->s, d.str);
	/*
	 * Replace, never skip: a blob file already there may have been damaged
	 * since, and these bytes were just verified. rename(2) is atomic, so
	 * a reader sees the old file or the new one, never a mix.
	 */
	if (rename(in->path, dest) < 0) {
		rc = hoist_err_sys(err, errno, "rename into '%s'", dest);
		goto out;
	}
	rc = hoist_fs_fsync_dir(in->s->blobs, err);
	if (rc)
		goto out;
	/* Renamed: nothing left to remove. */
	hoist_fs_tmp_unregister(in->path);
	in->path[0] = '\0';
out:
	if (!rc) {
		if (out)
			*out = d;
		if (size)
			*size = in->size;
	}
	ingest_free(in, in->path[0] != '\0');
	free(dest);
	return rc;
}

void hoist_ingest_abort(struct hoist_ingest *in)
{
	if (!in)
		return;
	hoist_sha256_release(&in->h);
	ingest_free(in, 1);
}

int hoist_store_put(struct hoist_store *s, const void *data, size_t len,
		    struct hoist_digest *out, struct hoist_err *err)
{
	struct hoist_ingest *in = NULL;
	int rc = hoist_ingest_open(&in, s, err);

	if (rc)
		return rc;
	rc = hoist_ingest_write(in, data, len, err);
	if (rc) {
		hoist_ingest_abort(in);
		return rc;
	}
	return hoist_ingest_commit(in, NULL, out, NULL, err);
}

int hoist_store_get(struct hoist_store *s, const char *digest, size_t max,
		    char **data, size_t *len, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *path = NULL, *buf = NULL;
	size_t n = 0;
	int rc = hoist_store_check_digest(digest, err);

	*data = NULL;
	if (rc)
		return rc;
	path = hoist_store_blob_path_of(s, digest);
	rc = hoist_fs_read_file(&buf, &n, path, max, err);
	if (rc) {
		hoist_err_prefix(err, "blob '%s'", digest);
		goto out;
	}
	hoist_sha256_hex(buf, n, hex);
	if (strcmp(hex, digest + STORE_SHA256_PREFIX_LEN) != 0) {
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "blob '%s' is corrupt: content hashes to "
				   "'sha256:%s'",
				   digest, hex);
		goto out;
	}
	*data = buf;
	buf = NULL;
	if (len)
		*len = n;
out:
	free(buf);
	free(path);
	return rc;
}
