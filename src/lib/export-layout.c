/*
 * export-layout.c: writing an image as an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...), for the oci and docker exporters and for
 * `hoist copy` to oci:, oci-archive: and docker-archive:. The layout goes
 * either into a tarball (a dest file or standard output) or into a
 * directory, through one small writer interface, so the layout logic
 * exists once.
 *
 * Tarballs follow BuildKit: entries sorted by name, directories 0755,
 * blobs and oci-layout 0444, index.json and manifest.json 0644, uid/gid 0,
 * mtime 0. Every blob is re-hashed while it is copied out of the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "lib/export-int.h"
#include "lib/image.h"
#include "lib/outfile.h"
#include "lib/ref.h"
#include "lib/resolve.h"
#include "lib/tar.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

#define COPY_BUF (256 * 1024)
#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

const char *const hoist_export_layout_keys[] = {"name",
						"tar",
						"compression",
						"compression-level",
						"force-compression",
						"oci-mediatypes",
						"oci-artifact",
						"rewrite-timestamp",
						"source-date-epoch",
						"attestation-inline",
						"prefer-nondist-layers",
						"context",
						"prefer-image-digest",
						"buildinfo",
						"buildinfo-attrs",
						NULL};

int hoist_export_layout_plan(struct hoist_export_plan *p,
			     const struct hoist_output *o,
			     struct hoist_err *err)
{
	/* buildx: an invalid or missing tar= means true */
	const char *v = hoist_output_get(o, "tar");

	p->tar = 1;
	if (v && hoist_scan_bool(&p->tar, v, "tar", NULL) != 0)
		p->tar = 1;
	if (!p->dest)
		p->dest = hoist_xstrdup("-");
	if (!p->tar && strcmp(p->dest, "-") == 0)
		return hoist_err_set(err, HOIST_EINVAL,
				     "output type '%s' with tar=false needs "
				     "dest=DIRECTORY",
				     p->type_name);
	return p->tar ? hoist_export_check_file_dest(p->dest, err)
		      : hoist_export_check_dir_dest(p->dest, err);
}

struct layout_writer {
	/* add a blob, copying it from the store and checking its digest */
	int (*put_blob)(struct layout_writer *w, struct hoist_store *s,
			const char *digest, uint64_t size,
			struct hoist_err *err);
	/* add a small file at the top of the layout */
	int (*put_file)(struct layout_writer *w, const char *name,
			const void *data, size_t len, mode_t mode,
			struct hoist_err *err);
	/* merge index entries (directories keep other images' entries) */
	int (*put_index)(struct layout_writer *w, json_t *entries,
			 const char *const *names, size_t nnames,
			 struct hoist_err *err);
	int (*commit)(struct layout_writer *w, struct hoist_err *err);
	void (*abort)(struct layout_writer *w);
};

typedef int (*put_fn)(void *ctx, const void *d, size_t n,
		      struct hoist_err *err);

/*
 * Read fd (the blob digest of size bytes; what names it in errors) from
 * its start to put (NULL: only check), hashing it on the way.
 * HOIST_EDIGEST when the size or the digest is not the blob's.
 */
static int hash_copy(int fd, const char *what, const char *digest,
		     uint64_t size, put_fn put, void *ctx,
		     struct hoist_err *err)
{
	char *buf = hoist_xmalloc(COPY_BUF);
	struct hoist_sha256 h;
	char hex[HOIST_SHA256_HEXLEN + 1];
	uint64_t total = 0;
	int rc = 0;

	hoist_sha256_init(&h);
	for (;;) {
		ssize_t got = pread(fd, buf, COPY_BUF, (off_t)total);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = hoist_err_sys(err, errno, "read '%s'", what);
			goto out;
		}
		if (!got)
			break;
		total += (uint64_t)got;
		if (total > size)
			break;
		hoist_sha256_update(&h, buf, (size_t)got);
		if (put && (rc = put(ctx, buf, (size_t)got, err)) < 0)
			goto out;
	}
	if (total != size) {
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "blob '%s': size %llu, expected %llu",
				   digest, (unsigned long long)total,
				   (unsigned long long)size);
		goto out;
	}
	hoist_sha256_final_hex(&h, hex);
	if (strcmp(hex, hoist_digest_hex(digest)) != 0)
		rc = hoist_err_set(err, HOIST_EDIGEST,
				   "blob '%s': content has digest sha256:%s",
				   digest, hex);
out:
	if (h.ctx)
		hoist_sha256_release(&h);
	free(buf);
	return rc;
}

/* Open a store blob. An fd, or a negative HOIST_E* code. */
static int open_store_blob(struct hoist_store *s, const char *digest,
			   struct hoist_err *err)
{
	char *path = hoist_store_blob_path(s, digest);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return hoist_err_sys(err, errno, "blob '%s'", digest);
	return fd;
}

/* Copy a store blob to a sink, hashing it on the way. */
static int copy_blob(struct hoist_store *s, const char *digest, uint64_t size,
		     put_fn put, void *ctx, struct hoist_err *err)
{
	int fd = open_store_blob(s, digest, err), rc;

	if (fd < 0)
		return fd;
	rc = hash_copy(fd, digest, digest, size, put, ctx, err);
	close(fd);
	return rc;
}

/* ---- tarball writer ---- */

struct tar_layout {
	struct layout_writer w;
	int file; /* out is open; else the tar goes to a caller's sink */
	struct hoist_outfile out;
	struct hoist_tar_writer *tw;
	int dirs_done;
	json_t *index;
};

static int tl_entry(struct tar_layout *t, const char *name,
		    enum hoist_tar_type type, mode_t mode, uint64_t size,
		    struct hoist_err *err)
{
	struct hoist_tar_entry e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.type = type;
	e.mode = mode;
	e.size = size;
	return hoist_tar_write_header(t->tw, &e, err);
}

static int tl_dirs(struct tar_layout *t, struct hoist_err *err)
{
	int rc;
	if (t->dirs_done)
		return 0;
	t->dirs_done = 1;
	rc = tl_entry(t, "blobs/", HOIST_TAR_DIR, 0755, 0, err);
	if (!rc)
		rc = tl_entry(t, "blobs/sha256/", HOIST_TAR_DIR, 0755, 0, err);
	return rc;
}

static int tl_data(void *ctx, const void *d, size_t n, struct hoist_err *err)
{
	struct tar_layout *t = ctx;
	return hoist_tar_write_data(t->tw, d, n, err);
}

static int tl_put_blob(struct layout_writer *w, struct hoist_store *s,
		       const char *digest, uint64_t size, struct hoist_err *err)
{
	struct tar_layout *t = (struct tar_layout *)w;
	char name[128];
	int rc = tl_dirs(t, err);

	if (rc)
		return rc;
	snprintf(name, sizeof(name), "blobs/sha256/%s",
		 hoist_digest_hex(digest));
	rc = tl_entry(t, name, HOIST_TAR_REG, 0444, size, err);
	if (rc)
		return rc;
	return copy_blob(s, digest, size, tl_data, t, err);
}

static int tl_put_file(struct layout_writer *w, const char *name,
		       const void *data, size_t len, mode_t mode,
		       struct hoist_err *err)
{
	struct tar_layout *t = (struct tar_layout *)w;
	int rc = tl_dirs(t, err);

	if (!rc)
		rc = tl_entry(t, name, HOIST_TAR_REG, mode, len, err);
	if (!rc)
		rc = hoist_tar_write_data(t->tw, data, len, err);
	return rc;
}

static int tl_put_index(struct layout_writer *w, json_t *entries,
			const char *const *names, size_t nnames,
			struct hoist_err *err)
{
	struct tar_layout *t = (struct tar_layout *)w;
	(void)names;
	(void)nnames;
	t->index = json_incref(entries);
	(void)err;
	return 0;
}

static void tl_free(struct tar_layout *t)
{
	hoist_tar_writer_free(t->tw);
	json_decref(t->index);
	free(t);
}

static int tl_commit(struct layout_writer *w, struct hoist_err *err)
{
	struct tar_layout *t = (struct tar_layout *)w;
	int rc = hoist_tar_writer_finish(t->tw, err);

	if (t->file && !rc)
		rc = hoist_outfile_commit(&t->out, err);
	else if (t->file)
		hoist_outfile_abort(&t->out);
	tl_free(t);
	return rc;
}

static void tl_abort(struct layout_writer *w)
{
	struct tar_layout *t = (struct tar_layout *)w;
	if (t->file)
		hoist_outfile_abort(&t->out);
	tl_free(t);
}

/* A tarball into sink, or (sink NULL) into the atomic file dest. */
static int tar_layout_open(struct layout_writer **out, const char *dest,
			   const struct hoist_sink *sink, struct hoist_err *err)
{
	struct tar_layout *t = hoist_xcalloc(1, sizeof(*t));
	struct hoist_sink fsink;

	if (!sink) {
		int rc = hoist_outfile_open(&t->out, dest, 0644, err);
		if (rc) {
			free(t);
			return rc;
		}
		t->file = 1;
		fsink = hoist_outfile_sink(&t->out);
		sink = &fsink;
	}
	hoist_tar_writer_new(&t->tw, sink);
	t->w.put_blob = tl_put_blob;
	t->w.put_file = tl_put_file;
	t->w.put_index = tl_put_index;
	t->w.commit = tl_commit;
	t->w.abort = tl_abort;
	*out = &t->w;
	return 0;
}

/* ---- directory writer ---- */

/*
 * Inside the directory nothing is reached through a symlink: blobs/sha256
 * is opened component by component with O_NOFOLLOW (resolve.h) and every
 * blob, the lock file too, is made relative to those descriptors. Blobs
 * never share an inode with the store: each is a reflink (FICLONE, a
 * copy-on-write clone) where the file system has them, else a real copy,
 * and is checked against its digest either way. A blob already at the
 * destination is reused only when its content has the digest; otherwise
 * it is replaced.
 */
struct dir_layout {
	struct layout_writer w;
	char *dest; /* final directory */
	char *root; /* where we write: dest, or a temp dir to rename */
	int fresh;  /* root is a temp dir renamed onto dest at commit */
	int lockfd;
	int blobfd; /* root/blobs/sha256 */
};

static int dl_write_fd(void *ctx, const void *d, size_t n,
		       struct hoist_err *err)
{
	int fd = *(int *)ctx;
	return hoist_fs_write_all(fd, d, n, "blob", err);
}

/* 1 when blobs/sha256/hex is a regular file holding the blob. */
static int dl_have_blob(struct dir_layout *d, const char *hex,
			const char *digest, uint64_t size)
{
	struct stat st;
	int fd = openat(d->blobfd, hex,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     (uint64_t)st.st_size == size &&
	     hash_copy(fd, hex, digest, size, NULL, NULL, NULL) == 0;
	close(fd);
	if (!ok)
		hoist_log(HOIST_LOG_WARN,
			  "'%s/blobs/sha256/%s' does not hold blob '%s': "
			  "replaced",
			  d->dest, hex, digest);
	return ok;
}

static int dl_put_blob(struct layout_writer *w, struct hoist_store *s,
		       const char *digest, uint64_t size, struct hoist_err *err)
{
	struct dir_layout *d = (struct dir_layout *)w;
	const char *hex = hoist_digest_hex(digest);
	char tmp[128];
	int fd, src, rc = 0;

	if (dl_have_blob(d, hex, digest, size))
		return 0;
	snprintf(tmp, sizeof(tmp), HOIST_TMP_PREFIX "%s", hex);
	unlinkat(d->blobfd, tmp, 0);
	fd = openat(d->blobfd, tmp,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return hoist_err_sys(err, errno, "create blob '%s'", digest);
	src = open_store_blob(s, digest, err);
	if (src < 0)
		rc = src;
	else if (ioctl(fd, FICLONE, src) == 0)
		rc = hash_copy(fd, digest, digest, size, NULL, NULL, err);
	else
		rc = hash_copy(src, digest, digest, size, dl_write_fd, &fd,
			       err);
	if (!rc && fsync(fd) < 0)
		rc = hoist_err_sys(err, errno, "fsync blob '%s'", digest);
	close(fd);
	if (src >= 0)
		close(src);
	if (!rc && renameat(d->blobfd, tmp, d->blobfd, hex) < 0)
		rc = hoist_err_sys(err, errno, "rename blob '%s'", digest);
	if (rc)
		unlinkat(d->blobfd, tmp, 0);
	return rc;
}

static int dl_put_file(struct layout_writer *w, const char *name,
		       const void *data, size_t len, mode_t mode,
		       struct hoist_err *err)
{
	struct dir_layout *d = (struct dir_layout *)w;
	char *path = hoist_xasprintf("%s/%s", d->root, name);
	int rc = hoist_fs_write_atomic(path, data, len, mode, err);
	free(path);
	return rc;
}

/* 1 when index entry e stands for name (its image name or its ref). */
static int entry_is(const json_t *e, const char *name)
{
	json_t *ann = json_object_get(e, "annotations");
	const char *n = hoist_json_str(ann, HOIST_ANN_IMAGE_NAME);
	const char *r = hoist_json_str(ann, HOIST_ANN_REF_NAME);

	return (n && strcmp(n, name) == 0) || (r && strcmp(r, name) == 0);
}

static int dl_put_index(struct layout_writer *w, json_t *entries,
			const char *const *names, size_t nnames,
			struct hoist_err *err)
{
	struct dir_layout *d = (struct dir_layout *)w;
	char *path = hoist_xasprintf("%s/index.json", d->root);
	char *data = NULL, *text = NULL;
	json_t *ix = NULL, *ms, *keep, *e;
	size_t len, i;
	int rc;

	rc = hoist_fs_read_file(&data, &len, path, HOIST_MANIFEST_MAX, err);
	if (rc == HOIST_ENOTFOUND) {
		ix = json_object();
		json_object_set_new(ix, "schemaVersion", json_integer(2));
		hoist_json_set_str(ix, "mediaType", HOIST_MT_OCI_INDEX);
		rc = 0;
	} else if (!rc) {
		rc = hoist_json_parse(&ix, data, len, path, err);
		if (!rc && !json_is_object(ix))
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "'%s' is not a JSON object", path);
	}
	if (rc)
		goto out;
	ms = json_object_get(ix, "manifests");
	keep = json_array();
	json_array_foreach(ms, i, e)
	{
		int drop = 0;
		for (size_t j = 0; j < nnames; j++)
			if (entry_is(e, names[j]))
				drop = 1;
		if (!nnames && entry_is(e, "latest") &&
		    !hoist_json_str(json_object_get(e, "annotations"),
				    HOIST_ANN_IMAGE_NAME))
			drop = 1;
		if (!drop)
			json_array_append(keep, e);
	}
	json_array_extend(keep, entries);
	json_object_set_new(ix, "manifests", keep);
	rc = hoist_json_dump(&text, &len, ix, 0, err);
	if (!rc)
		rc = hoist_fs_write_atomic(path, text, len, 0644, err);
out:
	json_decref(ix);
	free(text);
	free(data);
	free(path);
	return rc;
}

static void dl_free(struct dir_layout *d)
{
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->blobfd >= 0)
		close(d->blobfd);
	free(d->dest);
	free(d->root);
	free(d);
}

static int dl_commit(struct layout_writer *w, struct hoist_err *err)
{
	struct dir_layout *d = (struct dir_layout *)w;
	int rc = 0;

	if (d->fresh) {
		if (rename(d->root, d->dest) < 0) {
			rc = hoist_err_sys(err, errno, "rename onto '%s'",
					   d->dest);
			hoist_fs_rm_rf(d->root, NULL);
		} else {
			hoist_fs_tmp_unregister(d->root);
		}
	}
	dl_free(d);
	return rc;
}

static void dl_abort(struct layout_writer *w)
{
	struct dir_layout *d = (struct dir_layout *)w;
	if (d->fresh)
		hoist_fs_rm_rf(d->root, NULL);
	dl_free(d);
}

static int dir_layout_open(struct layout_writer **out, const char *dest,
			   struct hoist_err *err)
{
	struct dir_layout *d = hoist_xcalloc(1, sizeof(*d));
	int rc = 0, dfd;

	d->lockfd = d->blobfd = -1;
	d->dest = hoist_xstrdup(dest);
	if (!hoist_fs_exists(dest)) {
		d->fresh = 1;
		rc = hoist_fs_mkdtemp_near(&d->root, dest, err);
		if (rc)
			goto fail;
		chmod(d->root, 0755);
	} else {
		d->root = hoist_xstrdup(dest);
		dfd = hoist_resolve_open_dir(dest, "", 0, err);
		if (dfd < 0) {
			rc = dfd;
			goto fail;
		}
		d->lockfd =
			openat(dfd, "index.json.lock",
			       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (d->lockfd < 0 || flock(d->lockfd, LOCK_EX) < 0)
			rc = hoist_err_sys(err, errno,
					   "lock '%s/index.json.lock'", dest);
		close(dfd);
		if (rc)
			goto fail;
	}
	d->blobfd = hoist_resolve_open_dir(d->root, "blobs/sha256", 1, err);
	if (d->blobfd < 0) {
		rc = d->blobfd;
		goto fail;
	}
	d->w.put_blob = dl_put_blob;
	d->w.put_file = dl_put_file;
	d->w.put_index = dl_put_index;
	d->w.commit = dl_commit;
	d->w.abort = dl_abort;
	*out = &d->w;
	return 0;
fail:
	if (d->fresh && d->root)
		hoist_fs_rm_rf(d->root, NULL);
	dl_free(d);
	return rc;
}

/* The descriptor an OCI layout's index.json and the metadata file carry. */
static json_t *layout_desc(const json_t *root, int64_t created)
{
	json_t *d = json_deep_copy(root), *ann;
	char when[32];

	ann = json_object_get(d, "annotations");
	if (!ann) {
		ann = json_object();
		json_object_set_new(d, "annotations", ann);
	}
	hoist_image_time(created, when);
	hoist_json_set_str(ann, HOIST_ANN_CREATED, when);
	return d;
}

/* index.json entries: one per name, or one unnamed entry. */
static json_t *index_entries(const struct hoist_export_plan *p,
			     const json_t *root)
{
	json_t *list = json_array();
	size_t n = p->nnames && !p->layout_ref ? p->nnames : 1;

	for (size_t i = 0; i < n; i++) {
		json_t *d = layout_desc(root, p->created);
		json_t *ann = json_object_get(d, "annotations");
		if (p->layout_ref) {
			hoist_json_set_str(ann, HOIST_ANN_REF_NAME,
					   p->layout_ref);
		} else if (p->nnames) {
			struct hoist_ref r;
			hoist_json_set_str(ann, HOIST_ANN_IMAGE_NAME,
					   p->names[i]);
			if (hoist_ref_parse(&r, p->names[i], 0, NULL) == 0) {
				hoist_json_set_str(ann, HOIST_ANN_REF_NAME,
						   r.tag ? r.tag : p->names[i]);
				hoist_ref_release(&r);
			}
		} else if (!p->tar) {
			hoist_json_set_str(ann, HOIST_ANN_REF_NAME, "latest");
		}
		/* Go marshals maps with sorted keys; platform stays last */
		json_t *sorted = hoist_json_sorted(ann), *plat;
		plat = json_incref(json_object_get(d, "platform"));
		json_object_del(d, "platform");
		json_object_set_new(d, "annotations", sorted);
		if (plat)
			json_object_set_new(d, "platform", plat);
		json_array_append_new(list, d);
	}
	return list;
}

/* Write the layout to sink (a tarball), else to p->dest. */
static int layout_write(const struct hoist_export_plan *p,
			struct hoist_store *s, const json_t *root,
			hoist_layout_extra_fn extra,
			const struct hoist_sink *sink, json_t **desc,
			struct hoist_err *err)
{
	struct layout_writer *w = NULL;
	struct hoist_img_manifest *ms = NULL;
	size_t nms = 0, i, len;
	json_t *blobs = NULL, *entries = NULL, *b;
	char *text = NULL;
	int rc;

	rc = hoist_imgwalk_manifests(&ms, &nms, s, root, err);
	if (rc)
		goto out;
	if (extra && nms != 1) {
		rc = hoist_err_set(err, HOIST_EUNSUPPORTED,
				   "docker exporter does not currently support "
				   "exporting manifest lists");
		goto out;
	}
	rc = hoist_imgwalk_blobs(&blobs, s, root, err);
	if (rc)
		goto out;
	entries = index_entries(p, root);
	rc = sink || p->tar ? tar_layout_open(&w, p->dest, sink, err)
			    : dir_layout_open(&w, p->dest, err);
	if (rc)
		goto out;
	json_array_foreach(blobs, i, b)
	{
		const char *digest;
		uint64_t size;
		rc = hoist_image_desc_get(b, NULL, &digest, &size, err);
		if (!rc)
			rc = w->put_blob(w, s, digest, size, err);
		if (rc)
			goto fail;
	}
	if (p->layout_ref)
		rc = w->put_index(w, entries,
				  (const char *const *)&p->layout_ref, 1, err);
	else
		rc = w->put_index(w, entries, (const char *const *)p->names,
				  p->nnames, err);
	if (rc)
		goto fail;
	if (sink || p->tar) {
		json_t *ix = json_object();
		json_object_set_new(ix, "schemaVersion", json_integer(2));
		hoist_json_set_str(ix, "mediaType", HOIST_MT_OCI_INDEX);
		json_object_set(ix, "manifests", entries);
		rc = hoist_json_dump(&text, &len, ix, 0, err);
		json_decref(ix);
		if (!rc)
			rc = w->put_file(w, "index.json", text, len, 0644, err);
		free(text);
		text = NULL;
		if (rc)
			goto fail;
		if (extra) {
			rc = extra(&text, &len, p, &ms[0], err);
			if (!rc)
				rc = w->put_file(w, "manifest.json", text, len,
						 0644, err);
			if (rc)
				goto fail;
		}
	}
	rc = w->put_file(w, "oci-layout", OCI_LAYOUT, strlen(OCI_LAYOUT), 0444,
			 err);
	if (rc)
		goto fail;
	rc = w->commit(w, err);
	w = NULL;
	if (!rc && desc)
		*desc = layout_desc(root, p->created);
	goto out;
fail:
	w->abort(w);
	w = NULL;
out:
	free(text);
	json_decref(entries);
	json_decref(blobs);
	hoist_imgwalk_manifests_free(ms, nms);
	if (rc && sink)
		return hoist_err_prefix(err, "export %s", p->type_name);
	if (rc)
		return hoist_err_prefix(err, "export %s to '%s'", p->type_name,
					p->dest);
	return 0;
}

int hoist_export_layout_write(const struct hoist_export_plan *p,
			      struct hoist_store *s, const json_t *root,
			      hoist_layout_extra_fn extra, json_t **desc,
			      struct hoist_err *err)
{
	return layout_write(p, s, root, extra, NULL, desc, err);
}

int hoist_export_layout_stream(const struct hoist_export_plan *p,
			       struct hoist_store *s, const json_t *root,
			       hoist_layout_extra_fn extra,
			       const struct hoist_sink *sink,
			       struct hoist_err *err)
{
	return layout_write(p, s, root, extra, sink, NULL, err);
}
