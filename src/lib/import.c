/*
 * import.c: what the import readers share (see import-int.h), and the
 * reasoning that holds for all three.
 *
 * Everything read here is untrusted. Digests are validated before they
 * become a path; every blob goes through a store ingest with the digest it
 * must have, so the store only ever holds verified bytes; JSON documents
 * are capped; archive member names are normalised and checked before they
 * are compared with anything. Inside a layout directory nothing is opened
 * through a symlink: each component is opened with O_NOFOLLOW relative to
 * its parent, so a blob that links outside the directory is refused rather
 * than read.
 *
 * Blobs that passed verification stay in the store even when a later
 * check fails: they hold exactly the content their name says, nothing
 * names them, and gc collects them. Ingest files are always removed.
 *
 * An oci-archive is read once: blobs are ingested as they pass and
 * index.json is kept in memory, so members may come in any order. A
 * docker-archive needs manifest.json before it can tell the config and
 * the layers apart (and symlinks resolved), so it is read twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/import-int.h"
#include "lib/ref.h"
#include "lib/sink.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

const char *hoist_import_quote(struct quoted *q, const char *s)
{
	return hoist_err_quote(q->s, sizeof(q->s), s, HOIST_QUOTE_ALL,
			       HOIST_QUOTE_UTF8);
}

/*
 * Normalise an archive member name: drop "." components, empty components
 * (so "./x", "a//b" and "dir/" all read plainly). Absolute names and ".."
 * are refused (HOIST_EINVAL, *out NULL). The root reads as "".
 */
int hoist_import_norm_member(const char *raw, char **out)
{
	struct hoist_buf b;
	const char *p = raw;

	*out = NULL;
	if (!raw || raw[0] == '/')
		return HOIST_EINVAL;
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			hoist_buf_release(&b);
			return HOIST_EINVAL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if (b.len)
				hoist_buf_addch(&b, '/', NULL);
			hoist_buf_add(&b, p, n, NULL);
		}
		p += n;
		if (*p == '/')
			p++;
	}
	*out = hoist_buf_detach(&b, NULL);
	return 0;
}

/* The name of an archive entry, as libarchive decoded it. */
const char *hoist_import_entry_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);

	return n ? n : archive_entry_pathname_utf8(e);
}

static struct archive *reader_new(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_format_tar(a);
	/* docker save | gzip is common; docker load takes it, so do we. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	return a;
}

int hoist_import_reader_open(struct archive **out, int fd,
			     struct hoist_err *err)
{
	struct archive *a = reader_new();

	*out = NULL;
	if (!a)
		return hoist_err_set(err, HOIST_ENOMEM,
				     "cannot create an archive reader");
	if (archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK) {
		int rc = hoist_err_set(err, HOIST_EINVAL, "read: %s",
				       archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* Next header; 1 at the end, 0 with *e set, or an error. */
int hoist_import_reader_next(struct archive *a, struct archive_entry **e,
			     struct hoist_err *err)
{
	int r = archive_read_next_header(a, e);

	if (r == ARCHIVE_EOF)
		return 1;
	if (r < ARCHIVE_WARN)
		return hoist_err_set(err, HOIST_EINVAL, "read: %s",
				     archive_error_string(a));
	return 0;
}

int hoist_import_copy_member(struct archive *a, const struct hoist_sink *sink,
			     struct hoist_err *err)
{
	char *block = hoist_xmalloc(READ_BLOCK);
	la_ssize_t n;
	int rc = 0;

	while ((n = archive_read_data(a, block, READ_BLOCK)) > 0) {
		rc = hoist_sink_write(sink, block, (size_t)n, err);
		if (rc)
			goto out;
	}
	if (n < 0)
		rc = hoist_err_set(err, HOIST_EINVAL, "read: %s",
				   archive_error_string(a));
out:
	free(block);
	return rc;
}

static int buf_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	struct hoist_buf *b = ctx;

	if (hoist_buf_add(b, data, len, NULL))
		return hoist_err_set(err, HOIST_ELIMIT, "larger than %zu bytes",
				     b->max);
	return 0;
}

int hoist_import_read_member(struct archive *a, struct archive_entry *e,
			     size_t max, struct hoist_buf *out,
			     struct hoist_err *err)
{
	struct hoist_sink sink = {buf_write, out};
	int rc;

	hoist_buf_init(out, max);
	if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0 &&
	    (uint64_t)archive_entry_size(e) > max)
		return hoist_err_set(err, HOIST_ELIMIT, "larger than %zu bytes",
				     max);
	rc = hoist_import_copy_member(a, &sink, err);
	if (rc)
		hoist_buf_release(out);
	return rc;
}

/* Reword a failed commit so the reader sees what went wrong first. */
int hoist_import_commit_blob(struct hoist_ingest *in, const char *expected,
			     struct hoist_digest *out, uint64_t *size,
			     struct hoist_err *err)
{
	struct hoist_err e2;
	int rc;

	hoist_err_clear(&e2);
	rc = hoist_ingest_commit(in, expected, out, size, &e2);
	if (rc == HOIST_EDIGEST)
		return hoist_err_set(err, rc, "digest mismatch: %s",
				     hoist_err_msg(&e2));
	if (rc && err)
		*err = e2;
	return rc;
}

/* ---------------------------------------------------------------------
 * Index entries and the walk over everything an image reaches
 */

/* A copy of desc for the caller: the source's names are not ours. */
static json_t *root_copy(const json_t *desc)
{
	json_t *d = json_deep_copy(desc);
	json_t *ann = json_object_get(d, "annotations");

	if (json_is_object(ann)) {
		json_object_del(ann, HOIST_ANN_REF_NAME);
		json_object_del(ann, HOIST_ANN_IMAGE_NAME);
		if (!json_object_size(ann))
			json_object_del(d, "annotations");
	}
	return d;
}

/* 1 if the entry's names match ref. */
static int entry_matches(const json_t *desc, const char *ref,
			 const char *ref_norm)
{
	const json_t *ann = json_object_get(desc, "annotations");
	const char *rn = hoist_json_str(ann, HOIST_ANN_REF_NAME);
	const char *cn = hoist_json_str(ann, HOIST_ANN_IMAGE_NAME);

	if (rn && strcmp(rn, ref) == 0)
		return 1;
	/* oci:DIR:sha256:HEX, as buildx's oci-layout://DIR@DIGEST */
	if (!strncmp(ref, "sha256:", 7) && hoist_json_str(desc, "digest") &&
	    !strcmp(ref, hoist_json_str(desc, "digest")))
		return 1;
	if (cn && strcmp(cn, ref) == 0)
		return 1;
	return cn && ref_norm && strcmp(cn, ref_norm) == 0;
}

/* "foo:1" -> "docker.io/library/foo:1"; NULL if ref is no reference. */
char *hoist_import_normalize_ref(const char *ref)
{
	struct hoist_ref r;
	char *s;

	if (hoist_ref_parse(&r, ref,
			    HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG, NULL))
		return NULL;
	s = hoist_ref_string(&r);
	hoist_ref_release(&r);
	return s;
}

/*
 * Pick the index.json entry for ref (NULL: the only one). *out is a new
 * descriptor without the source's name annotations.
 */
static int select_entry(json_t **out, const json_t *index, const char *ref,
			struct hoist_err *err)
{
	const json_t *ms = json_object_get(index, "manifests"), *d,
		     *pick = NULL;
	char *ref_norm = NULL;
	struct quoted q;
	size_t i, n = 0;
	int rc = 0;

	*out = NULL;
	if (!json_is_object(index) || !json_is_array(ms))
		return hoist_err_set(err, HOIST_EINVAL,
				     "index.json has no manifests array");
	if (!ref) {
		if (json_array_size(ms) != 1)
			return hoist_err_set(err, HOIST_EINVAL,
					     "index.json has %zu entries; "
					     "name one with :REF",
					     json_array_size(ms));
		pick = json_array_get(ms, 0);
	} else {
		ref_norm = hoist_import_normalize_ref(ref);
		json_array_foreach(ms, i, d)
		{
			if (!entry_matches(d, ref, ref_norm))
				continue;
			/* The same image under two names is no ambiguity. */
			if (pick && !json_equal(json_object_get(pick, "digest"),
						json_object_get(d, "digest")))
				n++;
			if (!pick) {
				pick = d;
				n = 1;
			}
		}
		if (!pick) {
			rc = hoist_err_set(err, HOIST_ENOTFOUND,
					   "reference '%s' not found in "
					   "index.json",
					   hoist_import_quote(&q, ref));
			goto out;
		}
		if (n > 1) {
			rc = hoist_err_set(
				err, HOIST_EINVAL,
				"reference '%s' matches %zu different "
				"images in index.json",
				hoist_import_quote(&q, ref), n);
			goto out;
		}
	}
	if (!json_is_object(pick)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "index.json entry is not an object");
		goto out;
	}
	rc = hoist_image_desc_get(pick, NULL, NULL, NULL, err);
	if (rc) {
		hoist_err_prefix(err, "index.json");
		goto out;
	}
	*out = root_copy(pick);
out:
	free(ref_norm);
	return rc;
}

int hoist_import_check_store_size(struct hoist_store *s, const char *digest,
				  uint64_t size, struct hoist_err *err)
{
	uint64_t have;
	int rc = hoist_store_blob_size(s, digest, &have, err);

	if (rc)
		return rc;
	if (have != size)
		return hoist_err_set(err, HOIST_EDIGEST,
				     "blob '%s' has %llu bytes, its descriptor "
				     "says %llu",
				     digest, (unsigned long long)have,
				     (unsigned long long)size);
	return 0;
}

struct walk {
	ensure_fn ensure;
	void *ctx;
};

static int walk_pre(void *ctx, const struct hoist_imgwalk_node *n,
		    struct hoist_err *err)
{
	struct walk *w = ctx;

	return w->ensure(w->ctx, n->digest, n->size, err);
}

/* Walk root and everything it reaches, ensuring each blob before it is
 * read back from the store (which verified it on the way in). */
static int walk_image(struct hoist_store *s, const json_t *root,
		      ensure_fn ensure, void *ctx, struct hoist_err *err)
{
	static const struct hoist_imgwalk_ops ops = {walk_pre, NULL, NULL};
	struct walk w = {ensure, ctx};

	return hoist_imgwalk(s, root, HOIST_IMGWALK_ONCE, &ops, &w, err);
}

int hoist_import_index_image(json_t **root, struct hoist_store *s,
			     const char *text, size_t len, const char *ref,
			     ensure_fn ensure, void *ctx, struct hoist_err *err)
{
	json_t *index = NULL, *desc = NULL;
	int rc;

	*root = NULL;
	rc = hoist_json_parse(&index, text, len, "index.json", err);
	if (!rc)
		rc = select_entry(&desc, index, ref, err);
	if (!rc)
		rc = walk_image(s, desc, ensure, ctx, err);
	if (!rc) {
		*root = desc;
		desc = NULL;
	}
	json_decref(desc);
	json_decref(index);
	return rc;
}
