/*
 * import.c: reading images from OCI layout directories, OCI archives and
 * docker archives into the staging area.
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
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/compress.h"
#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/import.h"
#include "lib/ref.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define BLOB_PREFIX "blobs/sha256/"
#define BLOB_PREFIX_LEN 13
#define READ_BLOCK (128 * 1024)
/* JSON documents read from the input: index.json, manifest.json, configs. */
#define DOC_MAX ((size_t)HOIST_MANIFEST_MAX)
/* Members remembered while reading a docker archive's first pass. */
#define MEMBERS_MAX 200000
/* Layers of one docker-archive image (each holds an ingest open). */
#define LAYERS_MAX 512
/* Symlinks followed from one name inside a docker archive. */
#define LINKS_MAX 16

/* Quoted text for error messages; names come from hostile input. */
struct quoted {
	char s[HOIST_QUOTE_BUF];
};

static const char *quote(struct quoted *q, const char *s)
{
	return hoist_err_quote(q->s, sizeof(q->s), s, HOIST_QUOTE_ALL,
			       HOIST_QUOTE_UTF8);
}

/*
 * Normalise an archive member name: drop "." components, empty components
 * (so "./x", "a//b" and "dir/" all read plainly). Absolute names and ".."
 * are refused (HOIST_EINVAL, *out NULL). The root reads as "".
 */
static int norm_member(const char *raw, char **out)
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
static const char *entry_name(struct archive_entry *e)
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

static int reader_open(struct archive **out, int fd, struct hoist_err *err)
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
static int reader_next(struct archive *a, struct archive_entry **e,
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

/*
 * Read the current member's data into a buffer of at most max bytes.
 * The declared size is checked first so an oversized member is refused
 * before anything is read.
 */
static int read_member(struct archive *a, struct archive_entry *e, size_t max,
		       struct hoist_buf *out, struct hoist_err *err)
{
	char *block = NULL;
	la_ssize_t n;
	int rc = 0;

	hoist_buf_init(out, max);
	if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0 &&
	    (uint64_t)archive_entry_size(e) > max)
		return hoist_err_set(err, HOIST_ELIMIT, "larger than %zu bytes",
				     max);
	block = hoist_xmalloc(READ_BLOCK);
	while ((n = archive_read_data(a, block, READ_BLOCK)) > 0) {
		rc = hoist_buf_add(out, block, (size_t)n, NULL);
		if (rc) {
			rc = hoist_err_set(err, HOIST_ELIMIT,
					   "larger than %zu bytes", max);
			goto out;
		}
	}
	if (n < 0)
		rc = hoist_err_set(err, HOIST_EINVAL, "read: %s",
				   archive_error_string(a));
out:
	free(block);
	if (rc)
		hoist_buf_release(out);
	return rc;
}

/* Reword a failed commit so the reader sees what went wrong first. */
static int commit_blob(struct hoist_ingest *in, const char *expected,
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
	if (cn && strcmp(cn, ref) == 0)
		return 1;
	return cn && ref_norm && strcmp(cn, ref_norm) == 0;
}

/* "foo:1" -> "docker.io/library/foo:1"; NULL if ref is no reference. */
static char *normalize_ref(const char *ref)
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
		ref_norm = normalize_ref(ref);
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
					   quote(&q, ref));
			goto out;
		}
		if (n > 1) {
			rc = hoist_err_set(
				err, HOIST_EINVAL,
				"reference '%s' matches %zu different "
				"images in index.json",
				quote(&q, ref), n);
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

/* Make sure the blob is in the store (copying it from the source). */
typedef int (*ensure_fn)(void *ctx, const char *digest, uint64_t size,
			 struct hoist_err *err);

static int check_store_size(struct hoist_store *s, const char *digest,
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
				     quote(&q, shown));
	if (errno == ENOENT)
		return hoist_err_set(err, HOIST_ENOTFOUND, "'%s' is missing",
				     quote(&q, shown));
	return hoist_err_sys(err, errno, "open '%s'", quote(&q, shown));
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
				       quote(&q, shown));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return hoist_err_set(err, HOIST_EINVAL,
				     "'%s' is not a regular file",
				     quote(&q, shown));
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
		return check_store_size(d->s, digest, size, err);
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
	rc = commit_blob(in, digest, NULL, NULL, err);
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
	json_t *index = NULL, *desc = NULL;
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
	rc = hoist_json_parse(&index, text, got, "index.json", err);
	if (rc)
		goto out;
	rc = select_entry(&desc, index, ref, err);
	if (rc)
		goto out;
	rc = walk_image(s, desc, dir_ensure, &d, err);
	if (rc)
		goto out;
	*root = desc;
	desc = NULL;
out:
	if (rc)
		hoist_err_prefix(err, "import '%s'", quote(&q, dir));
	json_decref(desc);
	json_decref(index);
	free(text);
	if (fd >= 0)
		close(fd);
	if (d.shafd >= 0)
		close(d.shafd);
	if (d.dirfd >= 0)
		close(d.dirfd);
	return rc;
}

/* ---------------------------------------------------------------------
 * oci-archive:FILE
 */

/* Stream the current member into the store, verified against digest. */
static int ingest_member(struct hoist_store *s, struct archive *a,
			 const char *digest, struct hoist_err *err)
{
	struct hoist_ingest *in = NULL;
	char *block = hoist_xmalloc(READ_BLOCK);
	la_ssize_t n;
	int rc = hoist_ingest_open(&in, s, err);

	if (rc)
		goto out;
	while ((n = archive_read_data(a, block, READ_BLOCK)) > 0) {
		rc = hoist_ingest_write(in, block, (size_t)n, err);
		if (rc)
			goto out;
	}
	if (n < 0) {
		rc = hoist_err_set(err, HOIST_EINVAL, "read: %s",
				   archive_error_string(a));
		goto out;
	}
	rc = commit_blob(in, digest, NULL, NULL, err);
	in = NULL;
out:
	hoist_ingest_abort(in);
	free(block);
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
	return check_store_size(s, digest, size, err);
}

/* One member of an oci-archive. */
static int oci_archive_member(struct hoist_store *s, struct archive *a,
			      struct archive_entry *e, const char *file,
			      struct hoist_buf *index, int *have_index,
			      struct hoist_err *err)
{
	const char *raw = entry_name(e);
	struct hoist_digest dg;
	char *name = NULL;
	struct quoted q, qf;
	mode_t type = archive_entry_filetype(e);
	int rc = 0;

	if (norm_member(raw, &name))
		return hoist_err_set(err, HOIST_EINVAL,
				     "member '%s': name is absolute or has "
				     "'..'",
				     quote(&q, raw ? raw : "?"));
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
		rc = read_member(a, e, DOC_MAX, index, err);
		*have_index = !rc;
		break;
	case OM_BLOB:
		if (type != AE_IFREG) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "not a regular file");
			break;
		}
		hoist_digest_from_sha256_hex(&dg, name + BLOB_PREFIX_LEN);
		/* A duplicate, or a blob we have: libarchive skips the data. */
		if (hoist_store_has(s, dg.str))
			break;
		rc = ingest_member(s, a, dg.str, err);
		break;
	case OM_OTHER:
		hoist_log(HOIST_LOG_WARN,
			  "import '%s': skipping unexpected member '%s'",
			  quote(&qf, file), quote(&q, name));
		break;
	}
	if (rc)
		hoist_err_prefix(err, "member '%s'", quote(&q, name));
	free(name);
	return rc;
}

int hoist_import_oci_archive(json_t **root, struct hoist_store *s,
			     const char *file, const char *ref,
			     struct hoist_err *err)
{
	struct hoist_buf index = HOIST_BUF_INIT(DOC_MAX);
	struct archive *a = NULL;
	struct archive_entry *e;
	json_t *idx = NULL, *desc = NULL;
	struct quoted q;
	int fd, rc, have_index = 0;

	*root = NULL;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "open");
		goto out;
	}
	rc = reader_open(&a, fd, err);
	while (!rc && (rc = reader_next(a, &e, err)) == 0)
		rc = oci_archive_member(s, a, e, file, &index, &have_index,
					err);
	if (rc < 0)
		goto out;
	if (!have_index) {
		rc = hoist_err_set(err, HOIST_EINVAL, "no member 'index.json'");
		goto out;
	}
	rc = hoist_json_parse(&idx, index.data, index.len, "index.json", err);
	if (!rc)
		rc = select_entry(&desc, idx, ref, err);
	if (!rc)
		rc = walk_image(s, desc, archive_ensure, s, err);
	if (rc)
		goto out;
	*root = desc;
	desc = NULL;
out:
	if (rc)
		hoist_err_prefix(err, "import '%s'", quote(&q, file));
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	json_decref(desc);
	json_decref(idx);
	hoist_buf_release(&index);
	return rc;
}

/* ---------------------------------------------------------------------
 * docker-archive:FILE
 */

/*
 * Where a symlink member points: its target read relative to the link's
 * directory, with ".." resolved but never above the archive's root.
 * HOIST_EINVAL for absolute or escaping targets.
 */
static int link_target(const char *link, const char *target, char **out)
{
	const char *slash = strrchr(link, '/');
	char *path, *p, *q, **parts;
	struct hoist_buf o;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (!target || !*target || target[0] == '/')
		return HOIST_EINVAL;
	path = hoist_xasprintf("%.*s%s%s", slash ? (int)(slash - link) : 0,
			       link, slash ? "/" : "", target);
	parts = hoist_xcalloc(strlen(path) / 2 + 2, sizeof(*parts));
	for (p = path; p && *p; p = q) {
		q = strchr(p, '/');
		if (q)
			*q++ = '\0';
		if (strcmp(p, "..") == 0) {
			if (!n) {
				rc = HOIST_EINVAL;
				break;
			}
			n--;
		} else if (*p && strcmp(p, ".") != 0) {
			parts[n++] = p;
		}
	}
	hoist_buf_init(&o, HOIST_BUF_UNLIMITED);
	for (size_t i = 0; !rc && i < n; i++) {
		if (i)
			hoist_buf_addch(&o, '/', NULL);
		hoist_buf_adds(&o, parts[i], NULL);
	}
	if (!rc)
		*out = hoist_buf_detach(&o, NULL);
	hoist_buf_release(&o);
	free(parts);
	free(path);
	return rc;
}

/*
 * The first pass remembers every member: name -> "" for a regular file,
 * the normalised target for a link, null for anything else, and false for
 * a name that appears twice (refused if the image needs it).
 */
static int member_record(json_t *members, const char *name,
			 struct archive_entry *e, struct hoist_err *err)
{
	const char *target;
	json_t *v;
	char *t = NULL;

	if (json_object_get(members, name)) {
		json_object_set_new(members, name, json_false());
		return 0;
	}
	if (json_object_size(members) >= MEMBERS_MAX)
		return hoist_err_set(err, HOIST_ELIMIT, "more than %d members",
				     MEMBERS_MAX);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		target = archive_entry_hardlink(e);
		if (!target) {
			v = json_string("");
			break;
		}
		/* Hard link targets are named from the archive's root. */
		if (norm_member(target, &t))
			return hoist_err_set(err, HOIST_EINVAL,
					     "hard link leaves the archive");
		v = json_string(t);
		break;
	case AE_IFLNK:
		target = archive_entry_symlink(e);
		if (link_target(name, target, &t))
			return hoist_err_set(err, HOIST_EINVAL,
					     "symlink leaves the archive");
		v = json_string(t);
		break;
	default:
		v = json_null();
		break;
	}
	free(t);
	/* Non-UTF-8 names cannot be keys; manifest.json cannot name them. */
	json_object_set_new(members, name, v ? v : json_null());
	return 0;
}

/*
 * Follow links from name to a regular member. *out borrows from members
 * (or is name itself).
 */
static int resolve_member(const char **out, json_t *members, const char *name,
			  struct hoist_err *err)
{
	struct quoted q;
	const char *cur = name;

	for (int i = 0; i <= LINKS_MAX; i++) {
		json_t *v = json_object_get(members, cur);

		if (!v)
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "member '%s' is missing",
					     quote(&q, cur));
		if (json_is_false(v))
			return hoist_err_set(err, HOIST_EINVAL,
					     "member '%s' appears more than "
					     "once",
					     quote(&q, cur));
		if (!json_is_string(v))
			return hoist_err_set(
				err, HOIST_EINVAL,
				"member '%s' is not a regular file",
				quote(&q, cur));
		if (!*json_string_value(v)) {
			/* The key lives as long as members does. */
			*out = json_object_iter_key(
				json_object_iter_at(members, cur));
			return 0;
		}
		cur = json_string_value(v);
	}
	return hoist_err_set(err, HOIST_ELIMIT,
			     "member '%s': too many levels of links",
			     quote(&q, name));
}

/* A layer being read in the second pass. */
struct dlayer {
	const char *member; /* resolved name (borrowed from members) */
	int expect_name;    /* blobs/sha256/<hex>: digest must match */
	struct hoist_ingest *in;
	struct hoist_decompressor *dec;
	struct hoist_sha256 h;
	int hashing;
	unsigned char head[4];
	size_t nhead;
	enum hoist_compression comp;
	char diff_id[HOIST_DIGEST_MAX];
	int done;
	struct hoist_digest digest;
	uint64_t size;
};

static int hash_sink(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	(void)err;
	hoist_sha256_update(ctx, data, len);
	return 0;
}

/* Start decompressing once the first bytes say how. */
static int dlayer_start(struct dlayer *l, struct hoist_err *err)
{
	struct hoist_sink sink = {hash_sink, &l->h};
	int rc;

	l->comp = hoist_compression_detect(l->head, l->nhead);
	rc = hoist_decompressor_new(&l->dec, l->comp, &sink, err);
	if (!rc)
		rc = hoist_decompressor_write(l->dec, l->head, l->nhead, err);
	return rc;
}

static int dlayer_write(struct dlayer *l, const unsigned char *p, size_t n,
			struct hoist_err *err)
{
	int rc = hoist_ingest_write(l->in, p, n, err);

	if (rc)
		return rc;
	if (!l->dec) {
		size_t take = sizeof(l->head) - l->nhead;
		if (take > n)
			take = n;
		memcpy(l->head + l->nhead, p, take);
		l->nhead += take;
		p += take;
		n -= take;
		if (l->nhead < sizeof(l->head))
			return 0;
		rc = dlayer_start(l, err);
		if (rc)
			return rc;
	}
	return n ? hoist_decompressor_write(l->dec, p, n, err) : 0;
}

static int dlayer_read(struct dlayer *l, struct hoist_store *s,
		       struct archive *a, struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	char *block = hoist_xmalloc(READ_BLOCK);
	la_ssize_t n;
	int rc = hoist_ingest_open(&l->in, s, err);

	if (rc)
		goto out;
	hoist_sha256_init(&l->h);
	l->hashing = 1;
	while ((n = archive_read_data(a, block, READ_BLOCK)) > 0) {
		rc = dlayer_write(l, (unsigned char *)block, (size_t)n, err);
		if (rc)
			goto out;
	}
	if (n < 0) {
		rc = hoist_err_set(err, HOIST_EINVAL, "read: %s",
				   archive_error_string(a));
		goto out;
	}
	if (!l->dec) {
		rc = dlayer_start(l, err);
		if (rc)
			goto out;
	}
	rc = hoist_decompressor_finish(l->dec, err);
	if (rc)
		goto out;
	hoist_sha256_final_hex(&l->h, hex);
	l->hashing = 0;
	snprintf(l->diff_id, sizeof(l->diff_id), HOIST_SHA256_PREFIX "%s", hex);
	l->done = 1;
out:
	free(block);
	return rc;
}

static void dlayer_release(struct dlayer *l)
{
	hoist_ingest_abort(l->in);
	l->in = NULL;
	hoist_decompressor_free(l->dec);
	l->dec = NULL;
	if (l->hashing)
		hoist_sha256_release(&l->h);
	l->hashing = 0;
}

/* The digest a config or layer name promises, or "" if none. */
static void name_digest(const char *name, const char *suffix,
			struct hoist_digest *out)
{
	const char *base = strrchr(name, '/');
	size_t sl = strlen(suffix), n;

	out->str[0] = '\0';
	if (strncmp(name, BLOB_PREFIX, BLOB_PREFIX_LEN) == 0 &&
	    hoist_digest_is_sha256_hex(name + BLOB_PREFIX_LEN,
				       strlen(name + BLOB_PREFIX_LEN))) {
		hoist_digest_from_sha256_hex(out, name + BLOB_PREFIX_LEN);
		return;
	}
	if (base)
		return;
	n = strlen(name);
	if (n > sl && strcmp(name + n - sl, suffix) == 0 &&
	    hoist_digest_is_sha256_hex(name, n - sl)) {
		char hex[HOIST_SHA256_HEXLEN + 1];
		memcpy(hex, name, HOIST_SHA256_HEXLEN);
		hex[HOIST_SHA256_HEXLEN] = '\0';
		hoist_digest_from_sha256_hex(out, hex);
	}
}

/* Pick the manifest.json entry for ref: a RepoTag, or "@N". */
static int select_docker(const json_t **out, const json_t *list,
			 const char *ref, struct hoist_err *err)
{
	const json_t *d, *t;
	char *want = NULL;
	struct quoted q;
	size_t i, j;
	int rc = 0;

	*out = NULL;
	if (!json_is_array(list))
		return hoist_err_set(err, HOIST_EINVAL,
				     "manifest.json is not an array");
	if (!ref) {
		if (json_array_size(list) != 1)
			return hoist_err_set(err, HOIST_EINVAL,
					     "manifest.json has %zu entries; "
					     "name one with :REF",
					     json_array_size(list));
		*out = json_array_get(list, 0);
		return 0;
	}
	if (ref[0] == '@' && ref[1] >= '0' && ref[1] <= '9') {
		/* skopeo's docker-archive:FILE:@N */
		char *end;
		unsigned long n = strtoul(ref + 1, &end, 10);
		if (*end || n >= json_array_size(list))
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "manifest.json has no entry '%s'",
					     quote(&q, ref));
		*out = json_array_get(list, n);
		return 0;
	}
	want = normalize_ref(ref);
	if (!want)
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid reference '%s'", quote(&q, ref));
	json_array_foreach(list, i, d)
	{
		json_array_foreach(json_object_get(d, "RepoTags"), j, t)
		{
			char *have;
			if (!json_is_string(t))
				continue;
			have = normalize_ref(json_string_value(t));
			if (have && strcmp(have, want) == 0 && !*out)
				*out = d;
			free(have);
		}
	}
	if (!*out)
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "reference '%s' not found in manifest.json",
				   quote(&q, ref));
	free(want);
	return rc;
}

struct docker_import {
	struct hoist_store *s;
	json_t *members;
	const char *config_member;
	struct hoist_buf config;
	int have_config;
	struct dlayer *layers; /* distinct members */
	size_t nlayers;
	size_t *order; /* manifest.json's Layers -> index in layers */
	size_t norder;
};

/* Pass 1: manifest.json and the member table. */
static int docker_pass1(struct docker_import *di, struct archive *a,
			struct hoist_buf *mj, struct hoist_err *err)
{
	struct archive_entry *e;
	struct quoted q;
	int rc, have = 0;

	while ((rc = reader_next(a, &e, err)) == 0) {
		const char *raw = entry_name(e);
		char *name = NULL;

		if (norm_member(raw, &name))
			return hoist_err_set(err, HOIST_EINVAL,
					     "member '%s': name is absolute "
					     "or has '..'",
					     quote(&q, raw ? raw : "?"));
		if (strcmp(name, "manifest.json") == 0) {
			if (have)
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "appears more than once");
			else if (archive_entry_filetype(e) != AE_IFREG ||
				 archive_entry_hardlink(e))
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "not a regular file");
			else
				rc = read_member(a, e, DOC_MAX, mj, err);
			have = !rc;
		}
		if (!rc && *name)
			rc = member_record(di->members, name, e, err);
		if (rc)
			hoist_err_prefix(err, "member '%s'", quote(&q, name));
		free(name);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!have)
		return hoist_err_set(err, HOIST_EINVAL,
				     "no member 'manifest.json'");
	return 0;
}

/* Work out which members pass 2 must read. */
static int docker_plan(struct docker_import *di, const json_t *entry,
		       struct hoist_err *err)
{
	const json_t *cfg = json_object_get(entry, "Config");
	const json_t *ls = json_object_get(entry, "Layers"), *v;
	char *name = NULL;
	const char *res;
	struct quoted q;
	size_t i, k;
	int rc;

	if (!json_is_object(entry) || !json_is_string(cfg) ||
	    !json_is_array(ls))
		return hoist_err_set(err, HOIST_EINVAL,
				     "manifest.json entry needs Config and "
				     "Layers");
	if (json_array_size(ls) > LAYERS_MAX)
		return hoist_err_set(err, HOIST_ELIMIT, "more than %d layers",
				     LAYERS_MAX);
	if (norm_member(json_string_value(cfg), &name))
		return hoist_err_set(err, HOIST_EINVAL,
				     "config '%s' is absolute or has '..'",
				     quote(&q, json_string_value(cfg)));
	rc = resolve_member(&di->config_member, di->members, name, err);
	free(name);
	if (rc)
		return rc;
	di->order = hoist_xcalloc(json_array_size(ls) + 1, sizeof(size_t));
	di->layers =
		hoist_xcalloc(json_array_size(ls) + 1, sizeof(*di->layers));
	json_array_foreach(ls, i, v)
	{
		if (!json_is_string(v))
			return hoist_err_set(err, HOIST_EINVAL,
					     "manifest.json: a layer is not "
					     "a string");
		if (norm_member(json_string_value(v), &name))
			return hoist_err_set(err, HOIST_EINVAL,
					     "layer '%s' is absolute or has "
					     "'..'",
					     quote(&q, json_string_value(v)));
		rc = resolve_member(&res, di->members, name, err);
		free(name);
		if (rc)
			return rc;
		if (strcmp(res, di->config_member) == 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "member '%s' is both config and "
					     "layer",
					     quote(&q, res));
		for (k = 0; k < di->nlayers; k++)
			if (strcmp(di->layers[k].member, res) == 0)
				break;
		if (k == di->nlayers) {
			struct hoist_digest d;
			di->layers[k].member = res;
			name_digest(res, ".tar", &d);
			/* Only blobs/sha256/<hex> names promise the bytes;
			 * skopeo's <diffid>.tar names the uncompressed
			 * content, checked as the diff_id. */
			di->layers[k].expect_name =
				strncmp(res, BLOB_PREFIX, BLOB_PREFIX_LEN) ==
					0 &&
				d.str[0];
			di->nlayers++;
		}
		di->order[di->norder++] = k;
	}
	return 0;
}

/* Pass 2: the config and the layers. */
static int docker_pass2(struct docker_import *di, struct archive *a,
			struct hoist_err *err)
{
	struct archive_entry *e;
	struct quoted q;
	int rc;

	while ((rc = reader_next(a, &e, err)) == 0) {
		char *name = NULL;
		size_t k;

		if (norm_member(entry_name(e), &name))
			return hoist_err_set(err, HOIST_EINVAL,
					     "archive changed while read");
		if (archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e)) {
			free(name);
			continue;
		}
		/* Pass 1 refused duplicates; a second copy now means the
		 * file changed under us. */
		if (strcmp(name, di->config_member) == 0) {
			if (di->have_config)
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "appears more than once");
			else
				rc = read_member(a, e, DOC_MAX, &di->config,
						 err);
			di->have_config = 1;
		} else {
			for (k = 0; k < di->nlayers; k++)
				if (strcmp(di->layers[k].member, name) == 0)
					break;
			if (k < di->nlayers && di->layers[k].in)
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "appears more than once");
			else if (k < di->nlayers)
				rc = dlayer_read(&di->layers[k], di->s, a, err);
		}
		if (rc)
			hoist_err_prefix(err, "member '%s'", quote(&q, name));
		free(name);
		if (rc)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

/* Check the config, store everything and make the v2s2 manifest. */
static int docker_finish(struct docker_import *di, json_t **root,
			 struct hoist_err *err)
{
	char hex[HOIST_SHA256_HEXLEN + 1];
	struct hoist_image_layer *il = NULL;
	struct hoist_digest want, cfgd, md;
	struct hoist_platform plat;
	json_t *cfg = NULL, *cdesc = NULL, *ids, *desc;
	char *mtext = NULL;
	size_t mlen, i;
	struct quoted q;
	int rc;

	if (!di->have_config)
		return hoist_err_set(err, HOIST_ENOTFOUND,
				     "member '%s' is missing",
				     quote(&q, di->config_member));
	for (i = 0; i < di->nlayers; i++)
		if (!di->layers[i].done)
			return hoist_err_set(err, HOIST_ENOTFOUND,
					     "member '%s' is missing",
					     quote(&q, di->layers[i].member));
	hoist_sha256_hex(di->config.data, di->config.len, hex);
	name_digest(di->config_member, ".json", &want);
	if (want.str[0] && strcmp(want.str + 7, hex) != 0)
		return hoist_err_set(err, HOIST_EDIGEST,
				     "member '%s': digest mismatch: config "
				     "is 'sha256:%s'",
				     quote(&q, di->config_member), hex);
	rc = hoist_json_parse(&cfg, di->config.data, di->config.len,
			      di->config_member, err);
	if (rc)
		goto out;
	ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != di->norder) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "member '%s': config lists %zu diff_ids "
				   "for %zu layers",
				   quote(&q, di->config_member),
				   json_array_size(ids), di->norder);
		goto out;
	}
	for (i = 0; i < di->norder; i++) {
		struct dlayer *l = &di->layers[di->order[i]];
		const char *id = json_string_value(json_array_get(ids, i));
		if (!id || strcmp(id, l->diff_id) != 0) {
			struct quoted q2;
			rc = hoist_err_set(err, HOIST_EDIGEST,
					   "member '%s': diff_id mismatch: "
					   "layer %zu is '%s', the config says "
					   "'%s'",
					   quote(&q, l->member), i, l->diff_id,
					   quote(&q2, id ? id : "?"));
			goto out;
		}
	}
	/* Everything checked: now the blobs may land. */
	for (i = 0; i < di->nlayers; i++) {
		struct dlayer *l = &di->layers[i];
		struct hoist_digest nd;
		name_digest(l->member, ".tar", &nd);
		rc = commit_blob(l->in, l->expect_name ? nd.str : NULL,
				 &l->digest, &l->size, err);
		l->in = NULL;
		if (rc) {
			hoist_err_prefix(err, "member '%s'",
					 quote(&q, l->member));
			goto out;
		}
	}
	rc = hoist_store_put(di->s, di->config.data, di->config.len, &cfgd,
			     err);
	if (rc)
		goto out;
	il = hoist_xcalloc(di->norder + 1, sizeof(*il));
	for (i = 0; i < di->norder; i++) {
		struct dlayer *l = &di->layers[di->order[i]];
		il[i].digest = l->digest.str;
		il[i].diff_id = l->diff_id;
		il[i].size = l->size;
		il[i].compression = l->comp;
	}
	cdesc = hoist_image_desc(HOIST_MT_DOCKER_CONFIG, cfgd.str,
				 di->config.len);
	rc = hoist_image_manifest(&mtext, &mlen, cdesc, il, di->norder, NULL, 0,
				  err);
	if (!rc)
		rc = hoist_store_put(di->s, mtext, mlen, &md, err);
	if (rc)
		goto out;
	desc = hoist_image_desc(HOIST_MT_DOCKER_MANIFEST, md.str, mlen);
	hoist_image_platform_from_json(&plat, cfg);
	if (plat.os[0] && plat.arch[0])
		hoist_image_desc_set_platform(desc, &plat);
	*root = desc;
out:
	free(mtext);
	free(il);
	json_decref(cdesc);
	json_decref(cfg);
	return rc;
}

int hoist_import_docker_archive(json_t **root, struct hoist_store *s,
				const char *file, const char *ref,
				struct hoist_err *err)
{
	struct docker_import di;
	struct hoist_buf mj = HOIST_BUF_INIT(DOC_MAX);
	struct archive *a = NULL;
	json_t *list = NULL;
	const json_t *entry;
	struct quoted q;
	int fd, rc;

	*root = NULL;
	memset(&di, 0, sizeof(di));
	di.s = s;
	di.members = json_object();
	hoist_buf_init(&di.config, DOC_MAX);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = hoist_err_sys(err, errno, "open");
		goto out;
	}
	rc = reader_open(&a, fd, err);
	if (!rc)
		rc = docker_pass1(&di, a, &mj, err);
	if (rc)
		goto out;
	rc = hoist_json_parse(&list, mj.data, mj.len, "manifest.json", err);
	if (!rc)
		rc = select_docker(&entry, list, ref, err);
	if (!rc)
		rc = docker_plan(&di, entry, err);
	if (rc)
		goto out;
	archive_read_free(a);
	a = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = hoist_err_sys(err, errno,
				   "rewind (a docker archive is "
				   "read twice)");
		goto out;
	}
	rc = reader_open(&a, fd, err);
	if (!rc)
		rc = docker_pass2(&di, a, err);
	if (!rc)
		rc = docker_finish(&di, root, err);
out:
	if (rc)
		hoist_err_prefix(err, "import '%s'", quote(&q, file));
	for (size_t i = 0; i < di.nlayers; i++)
		dlayer_release(&di.layers[i]);
	free(di.layers);
	free(di.order);
	hoist_buf_release(&di.config);
	json_decref(di.members);
	json_decref(list);
	hoist_buf_release(&mj);
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	return rc;
}
