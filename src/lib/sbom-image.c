/*
 * sbom-image.c: the package databases of an image's final root
 * filesystem, read from its layer blobs in the store (see sbom.h), so
 * that the SBOM of a build lists what the image holds: base-image and
 * Dockerfile layers as well as --rootfs trees.
 *
 * Layers are read topmost first with libarchive (tar, gzip, eStargz,
 * zstd). A database is taken from the first layer that has it as a
 * regular file; a whiteout of it (or of a parent directory), an opaque
 * parent directory, or another kind of file at its path resolves it as
 * absent for the layers below, as an unpacked image would show it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mediatype.h"
#include "lib/sbom.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define READ_BLOCK (128 * 1024)
#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

struct found {
	int done[HOIST_SBOM_NDB]; /* read, or hidden by a layer above */
	char *data[HOIST_SBOM_NDB];
	size_t len[HOIST_SBOM_NDB];
};

/* path lies in directory dir (dlen bytes; 0: the root) or is dir itself
 * with self */
static int within(const char *path, const char *dir, size_t dlen, int self)
{
	if (!dlen)
		return 1;
	return strncmp(path, dir, dlen) == 0 &&
	       (path[dlen] == '/' || (self && path[dlen] == '\0'));
}

/* An entry name as a rootfs path: no "./" or "/" in front, no "/" after. */
static void norm_name(char *out, size_t cap, const char *name)
{
	size_t n;

	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	n = strlen(name);
	while (n && name[n - 1] == '/')
		n--;
	if (n >= cap)
		n = cap - 1; /* longer than any database path: no match */
	memcpy(out, name, n);
	out[n] = '\0';
}

/* Mark what a whiteout or opaque entry at path p hides (hidden[]). */
static int whiteout(const char *p, const struct found *f, int *hidden)
{
	const char *slash = strrchr(p, '/');
	const char *base = slash ? slash + 1 : p;
	size_t dlen = slash ? (size_t)(slash - p) : 0;
	char target[4096];

	if (strncmp(base, WHITEOUT, strlen(WHITEOUT)) != 0)
		return 0;
	for (int i = 0; i < HOIST_SBOM_NDB; i++) {
		if (f->done[i])
			continue;
		if (strcmp(base, OPAQUE) == 0) {
			hidden[i] |= within(hoist_sbom_db_paths[i], p, dlen, 0);
			continue;
		}
		if (!base[strlen(WHITEOUT)] ||
		    snprintf(target, sizeof(target), "%.*s%s%s", (int)dlen, p,
			     dlen ? "/" : "",
			     base + strlen(WHITEOUT)) >= (int)sizeof(target))
			continue;
		hidden[i] |= within(hoist_sbom_db_paths[i], target,
				    strlen(target), 1);
	}
	return 1;
}

static int read_entry(struct archive *a, struct archive_entry *e,
		      const char *blob, const char *path, char **out,
		      size_t *len, struct hoist_err *err)
{
	int64_t size = archive_entry_size(e);
	la_ssize_t got;
	size_t n = 0;

	if (size < 0 || (uint64_t)size > HOIST_SBOM_DB_MAX)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "'%s' in layer %s is larger than %u bytes",
				     path, blob, HOIST_SBOM_DB_MAX);
	*out = hoist_xmalloc((size_t)size + 1);
	while (n < (size_t)size &&
	       (got = archive_read_data(a, *out + n, (size_t)size - n)) > 0)
		n += (size_t)got;
	if (n < (size_t)size) {
		free(*out);
		*out = NULL;
		return hoist_err_set(err, HOIST_EIO, "layer %s: '%s': %s", blob,
				     path, archive_error_string(a));
	}
	(*out)[n] = '\0';
	*len = n;
	return 0;
}

/* Look at one layer blob for the databases not resolved yet. */
static int scan_layer(struct hoist_store *st, const char *digest,
		      struct found *f, struct hoist_err *err)
{
	char *path = hoist_store_blob_path(st, digest);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int hidden[HOIST_SBOM_NDB] = {0};
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	int r, ret = 0;

	if (fd < 0) {
		ret = hoist_err_sys(err, path ? errno : EINVAL,
				    "layer %s of the image", digest);
		goto out;
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	if (archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK) {
		ret = hoist_err_set(err, HOIST_EIO, "layer %s: %s", digest,
				    archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		char p[4096];

		if (!name)
			continue;
		norm_name(p, sizeof(p), name);
		if (whiteout(p, f, hidden))
			continue;
		for (int i = 0; i < HOIST_SBOM_NDB; i++) {
			if (f->done[i] || strcmp(p, hoist_sbom_db_paths[i]))
				continue;
			if (archive_entry_filetype(e) != AE_IFREG ||
			    archive_entry_hardlink(e)) {
				hidden[i] = 1;
				continue;
			}
			ret = read_entry(a, e, digest, p, &f->data[i],
					 &f->len[i], err);
			if (ret)
				goto out;
			f->done[i] = 1;
		}
	}
	if (r != ARCHIVE_EOF)
		ret = hoist_err_set(err, HOIST_EIO, "layer %s: %s", digest,
				    archive_error_string(a));
	for (int i = 0; !ret && i < HOIST_SBOM_NDB; i++)
		f->done[i] |= hidden[i];
out:
	archive_read_free(a);
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

static int read_found(void *ctx, const char *path, char **data, size_t *len,
		      struct hoist_err *err)
{
	struct found *f = ctx;

	(void)err;
	for (int i = 0; i < HOIST_SBOM_NDB; i++)
		if (strcmp(path, hoist_sbom_db_paths[i]) == 0 && f->data[i]) {
			*data = f->data[i];
			*len = f->len[i];
			f->data[i] = NULL; /* the scan frees it */
			return 0;
		}
	return HOIST_ENOTFOUND;
}

int hoist_sbom_scan_image(struct hoist_sbom *s, struct hoist_store *st,
			  const char *manifest_digest, struct hoist_err *err)
{
	struct found f;
	json_t *m = NULL;
	const json_t *layers;
	char *data = NULL;
	size_t len, n;
	int ret;

	memset(&f, 0, sizeof(f));
	ret = hoist_store_get(st, manifest_digest, HOIST_MANIFEST_MAX, &data,
			      &len, err);
	if (!ret)
		ret = hoist_json_parse(&m, data, len, "manifest", err);
	if (ret)
		goto out;
	layers = json_object_get(m, "layers");
	n = json_array_size(layers);
	for (size_t i = n; i-- > 0 && !ret;) {
		const char *d =
			hoist_json_str(json_array_get(layers, i), "digest");
		int all = 1;
		for (int k = 0; k < HOIST_SBOM_NDB; k++)
			all &= f.done[k];
		if (all)
			break;
		if (!d) {
			ret = hoist_err_set(err, HOIST_EINVAL,
					    "manifest %s: layer %zu has no "
					    "digest",
					    manifest_digest, i);
			break;
		}
		ret = scan_layer(st, d, &f, err);
	}
	if (!ret)
		ret = hoist_sbom_scan_fn(s, read_found, &f, err);
out:
	for (int k = 0; k < HOIST_SBOM_NDB; k++)
		free(f.data[k]);
	json_decref(m);
	free(data);
	return ret;
}
