/*
 * import-int.h: what the three import readers share (import.c): quoting
 * hostile names, archive member names and reading, verified blob commits,
 * and the image an index.json names, with every blob it reaches ensured.
 * Internal to src/lib/import*.c.
 */
#ifndef HOIST_LIB_IMPORT_INT_H
#define HOIST_LIB_IMPORT_INT_H

#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"
#include "lib/digest.h"
#include "lib/image.h"
#include "lib/sink.h"
#include "lib/store.h"

#define BLOB_PREFIX "blobs/sha256/"
#define BLOB_PREFIX_LEN 13
#define READ_BLOCK (128 * 1024)
/* JSON documents read from the input: index.json, manifest.json, configs. */
#define DOC_MAX ((size_t)HOIST_MANIFEST_MAX)

/* Quoted text for error messages; names come from hostile input. */
struct quoted {
	char s[HOIST_QUOTE_BUF];
};

/* Make sure the blob is in the store (copying it from the source). */
typedef int (*ensure_fn)(void *ctx, const char *digest, uint64_t size,
			 struct hoist_err *err);

/* s quoted for an error message, in q. Returns q->s. */
const char *hoist_import_quote(struct quoted *q, const char *s);

/*
 * Normalise an archive member name: drop "." components, empty components
 * (so "./x", "a//b" and "dir/" all read plainly). Absolute names and ".."
 * are refused (HOIST_EINVAL, *out NULL). The root reads as "".
 */
int hoist_import_norm_member(const char *raw, char **out);

/* The name of an archive entry, as libarchive decoded it. */
const char *hoist_import_entry_name(struct archive_entry *e);

/* A libarchive reader (tar, any compression) on fd, which stays the
 * caller's. HOIST_EINVAL when it cannot be opened. */
int hoist_import_reader_open(struct archive **out, int fd,
			     struct hoist_err *err);

/* Next header; 1 at the end, 0 with *e set, or an error. */
int hoist_import_reader_next(struct archive *a, struct archive_entry **e,
			     struct hoist_err *err);

/*
 * Feed the current member's data to sink, block by block. 0, the sink's
 * error, or HOIST_EINVAL when the archive cannot be read.
 */
int hoist_import_copy_member(struct archive *a, const struct hoist_sink *sink,
			     struct hoist_err *err);

/*
 * Read the current member's data into a buffer of at most max bytes.
 * The declared size is checked first so an oversized member is refused
 * before anything is read.
 */
int hoist_import_read_member(struct archive *a, struct archive_entry *e,
			     size_t max, struct hoist_buf *out,
			     struct hoist_err *err);

/* Reword a failed commit so the reader sees what went wrong first. */
int hoist_import_commit_blob(struct hoist_ingest *in, const char *expected,
			     struct hoist_digest *out, uint64_t *size,
			     struct hoist_err *err);

/* "foo:1" -> "docker.io/library/foo:1"; NULL if ref is no reference. */
char *hoist_import_normalize_ref(const char *ref);

/* HOIST_EDIGEST when the stored blob's size is not size. */
int hoist_import_check_store_size(struct hoist_store *s, const char *digest,
				  uint64_t size, struct hoist_err *err);

/*
 * The image an OCI index.json (text, len bytes) names for ref (NULL: its
 * only entry): the entry, without the source's name annotations, after
 * ensure ran for every blob it reaches (each read back from the store,
 * which verified it on the way in). *root is the caller's, NULL on error.
 */
int hoist_import_index_image(json_t **root, struct hoist_store *s,
			     const char *text, size_t len, const char *ref,
			     ensure_fn ensure, void *ctx,
			     struct hoist_err *err);

#endif
