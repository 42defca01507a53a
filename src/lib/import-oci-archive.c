/*
 * import-oci-archive.c: importing an OCI layout inside a tar
 * (oci-archive:FILE[:REF]), read once as a stream: blobs are ingested as
 * they pass and index.json is kept, so members may come in any order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/digest.h"
#include "lib/import.h"
#include "lib/import-int.h"
#include "lib/store.h"
#include "util/buf.h"
#include "util/strmap.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

/* ---------------------------------------------------------------------
 * oci-archive:FILE
 */

static int ingest_write(void *ctx, const void *data, size_t len,
			struct hoist_err *err)
{
	return hoist_ingest_write(ctx, data, len, err);
}

/* Stream the current member into the store, verified against digest. */
static int ingest_member(struct hoist_store *s, struct archive *a,
			 const char *digest, struct hoist_err *err)
{
	struct hoist_ingest *in = NULL;
	struct hoist_sink sink = {ingest_write, NULL};
	int rc = hoist_ingest_open(&in, s, err);

	if (rc)
		goto out;
	sink.ctx = in;
	rc = hoist_import_copy_member(a, &sink, err);
	if (rc)
		goto out;
	rc = hoist_import_commit_blob(in, digest, NULL, NULL, err);
	in = NULL;
out:
	hoist_ingest_abort(in);
	return rc;
}

/* What an oci-archive member is, by its normalised name. */
enum oci_member {
	OM_SKIP,  /* the root, or a layout file we do not need */
	OM_DIR,   /* blobs/, blobs/sha256/ */
	OM_INDEX, /* index.json */
	OM_BLOB,  /* blobs/sha256/<64hex> */
	OM_OTHER, /* anything else: skipped with a warning */
};

static enum oci_member classify_oci(const char *name)
{
	if (!*name || strcmp(name, "oci-layout") == 0 ||
	    strcmp(name, "manifest.json") == 0)
		return OM_SKIP;
	if (strcmp(name, "index.json") == 0)
		return OM_INDEX;
	if (strcmp(name, "blobs") == 0 || strcmp(name, "blobs/sha256") == 0)
		return OM_DIR;
	if (strncmp(name, BLOB_PREFIX, BLOB_PREFIX_LEN) == 0 &&
	    hoist_digest_is_sha256_hex(name + BLOB_PREFIX_LEN,
				       strlen(name + BLOB_PREFIX_LEN)))
		return OM_BLOB;
	return OM_OTHER;
}

static int archive_ensure(void *ctx, const char *digest, uint64_t size,
			  struct hoist_err *err)
{
	struct hoist_store *s = ctx;

	if (!hoist_digest_is_sha256(digest))
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "digest '%s': only sha256 blobs are "
				     "supported",
				     digest);
	if (!hoist_store_has(s, digest))
		return hoist_err_set(err, HOIST_ENOTFOUND,
				     "member '" BLOB_PREFIX "%s' is missing",
				     hoist_digest_hex(digest));
	return hoist_import_check_store_size(s, digest, size, err);
}

/*
 * One member of an oci-archive. seen holds the blob members read so far: a
 * blob that appears twice is refused, as index.json and docker-archive
 * members are, whichever copy is the bad one (tar readers differ on
 * which copy wins).
 */
static int oci_archive_member(struct hoist_store *s, struct archive *a,
			      struct archive_entry *e, const char *file,
			      struct hoist_buf *index, int *have_index,
			      struct hoist_strmap *seen, struct hoist_err *err)
{
	const char *raw = hoist_import_entry_name(e);
	struct hoist_digest dg;
	char *name = NULL;
	struct quoted q, qf;
	mode_t type = archive_entry_filetype(e);
	int rc = 0;

	if (hoist_import_norm_member(raw, &name))
		return hoist_err_set(err, HOIST_EINVAL,
				     "member '%s': name is absolute or has "
				     "'..'",
				     hoist_import_quote(&q, raw ? raw : "?"));
	switch (classify_oci(name)) {
	case OM_SKIP:
		break;
	case OM_DIR:
		if (type != AE_IFDIR)
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "not a directory");
		break;
	case OM_INDEX:
		if (type != AE_IFREG) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "not a regular file");
			break;
		}
		if (*have_index) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "appears more than once");
			break;
		}
		rc = hoist_import_read_member(a, e, DOC_MAX, index, err);
		*have_index = !rc;
		break;
	case OM_BLOB:
		if (type != AE_IFREG) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "not a regular file");
			break;
		}
		hoist_digest_from_sha256_hex(&dg, name + BLOB_PREFIX_LEN);
		if (!hoist_strmap_put(seen, dg.str, 0)) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "appears more than once");
			break;
		}
		/* A blob we have: libarchive skips the data. */
		if (hoist_store_has(s, dg.str))
			break;
		rc = ingest_member(s, a, dg.str, err);
		break;
	case OM_OTHER:
		hoist_log(HOIST_LOG_WARN,
			  "import '%s': skipping unexpected member '%s'",
			  hoist_import_quote(&qf, file),
			  hoist_import_quote(&q, name));
		break;
	}
	if (rc)
		hoist_err_prefix(err, "member '%s'",
				 hoist_import_quote(&q, name));
	free(name);
	return rc;
}

int hoist_import_oci_archive(json_t **root, struct hoist_store *s,
			     const char *file, const char *ref,
			     struct hoist_err *err)
{
	struct hoist_buf index = HOIST_BUF_INIT(DOC_MAX);
	struct hoist_strmap seen = HOIST_STRMAP_INIT;
	struct archive *a = NULL;
	struct archive_entry *e;
	struct quoted q;
	int fd, rc, have_index = 0;

	*root = NULL;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "open");
		goto out;
	}
	rc = hoist_import_reader_open(&a, fd, err);
	while (!rc && (rc = hoist_import_reader_next(a, &e, err)) == 0)
		rc = oci_archive_member(s, a, e, file, &index, &have_index,
					&seen, err);
	if (rc < 0)
		goto out;
	if (!have_index) {
		rc = hoist_err_set(err, HOIST_EINVAL, "no member 'index.json'");
		goto out;
	}
	rc = hoist_import_index_image(root, s, index.data, index.len, ref,
				      archive_ensure, s, err);
out:
	if (rc)
		hoist_err_prefix(err, "import '%s'",
				 hoist_import_quote(&q, file));
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	hoist_buf_release(&index);
	hoist_strmap_release(&seen);
	return rc;
}
