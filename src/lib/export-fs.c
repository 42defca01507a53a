/*
 * export-fs.c: the local and tar exporters. Both apply the image's layers
 * (whiteouts included, hostile entries refused, see unpack.h) into a
 * private temporary directory first; only a complete tree is then moved
 * to dest (local) or streamed into a tarball that is renamed onto dest
 * (tar). A failure therefore never leaves a half-written destination.
 *
 * Multi-platform images get one <os>_<arch>[_<variant>] directory per
 * platform. local honours platform-split; tar, like BuildKit, always
 * splits a multi-platform result.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/export.h"
#include "lib/imgwalk.h"
#include "lib/tar.h"
#include "lib/unpack.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define OUT_BUF (256 * 1024)

/*
 * Move the tree src into dst, entry by entry: directories present on both
 * sides are merged, anything else in dst is replaced. lstat keeps us from
 * ever following a symlink that dst already holds.
 */
static int merge_tree(const char *src, const char *dst, struct hoist_err *err)
{
	DIR *dir = opendir(src);
	struct dirent *de;
	int rc = 0;

	if (!dir)
		return hoist_err_sys(err, errno, "open '%s'", src);
	while (!rc && (de = readdir(dir))) {
		struct stat ss, ds;
		char *s, *d;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		s = hoist_xasprintf("%s/%s", src, de->d_name);
		d = hoist_xasprintf("%s/%s", dst, de->d_name);
		if (lstat(s, &ss) < 0) {
			rc = hoist_err_sys(err, errno, "stat '%s'", s);
		} else if (lstat(d, &ds) == 0 && S_ISDIR(ss.st_mode) &&
			   S_ISDIR(ds.st_mode)) {
			rc = merge_tree(s, d, err);
			if (!rc && chmod(d, ss.st_mode & 07777) < 0)
				rc = hoist_err_sys(err, errno, "chmod '%s'", d);
		} else {
			if (lstat(d, &ds) == 0 && S_ISDIR(ds.st_mode))
				rc = hoist_fs_rm_rf(d, err);
			if (!rc && rename(s, d) < 0)
				rc = hoist_err_sys(err, errno, "move into '%s'",
						   d);
		}
		free(s);
		free(d);
	}
	closedir(dir);
	return rc;
}

static int unpack_image(const struct hoist_img_manifest *m,
			struct hoist_store *s, const char *dir,
			const struct hoist_unpack_opts *uo,
			struct hoist_err *err)
{
	json_t *l;
	size_t i;

	json_array_foreach(json_object_get(m->manifest, "layers"), i, l)
	{
		const char *digest = hoist_json_str(l, "digest");
		int rc;
		if (!digest)
			return hoist_err_set(err, HOIST_EINVAL,
					     "layer %zu has no digest", i);
		rc = hoist_unpack_layer(s, digest, dir, uo, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Unpack every manifest under root, each in its platform directory. */
static int unpack_all(const struct hoist_img_manifest *ms, size_t n, int split,
		      struct hoist_store *s, const char *top,
		      const struct hoist_unpack_opts *uo, struct hoist_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char id[128];
		char *dir;
		int rc;

		hoist_platform_id(&ms[i].platform, id, sizeof(id));
		dir = split ? hoist_xasprintf("%s/%s", top, id)
			    : hoist_xstrdup(top);
		rc = hoist_fs_mkdirs(dir, 0755, err);
		if (!rc)
			rc = unpack_image(&ms[i], s, dir, uo, err);
		free(dir);
		if (rc)
			return rc;
	}
	return 0;
}

static int publish_local(const struct hoist_export_plan *p, const char *tmp,
			 struct hoist_err *err)
{
	char *trash = NULL;
	int rc = 0;

	if (!hoist_fs_exists(p->dest)) {
		/* BuildKit creates a missing dest with mode 0700 */
		if (chmod(tmp, 0700) < 0 || rename(tmp, p->dest) < 0)
			return hoist_err_sys(err, errno, "rename onto '%s'",
					     p->dest);
		hoist_fs_tmp_unregister(tmp);
		return 0;
	}
	if (!p->mode_delete)
		return merge_tree(tmp, p->dest, err);
	rc = hoist_fs_mkdtemp_near(&trash, p->dest, err);
	if (rc)
		return rc;
	rmdir(trash);
	if (rename(p->dest, trash) < 0) {
		rc = hoist_err_sys(err, errno, "move '%s' aside", p->dest);
		goto out;
	}
	if (rename(tmp, p->dest) < 0) {
		rc = hoist_err_sys(err, errno, "rename onto '%s'", p->dest);
		rename(trash, p->dest);
		goto out;
	}
	hoist_fs_tmp_unregister(tmp);
	hoist_fs_rm_rf(trash, NULL);
out:
	free(trash);
	return rc;
}

struct out_file {
	struct hoist_fs_atomic f;
	char *buf;
	size_t len;
};

static int of_flush(struct out_file *o, struct hoist_err *err)
{
	int rc = 0;
	if (o->len)
		rc = hoist_fs_write_all(o->f.fd, o->buf, o->len, o->f.dest,
					err);
	o->len = 0;
	return rc;
}

static int of_write(void *ctx, const void *data, size_t len,
		    struct hoist_err *err)
{
	struct out_file *o = ctx;
	if (o->len + len > OUT_BUF) {
		int rc = of_flush(o, err);
		if (rc)
			return rc;
		if (len >= OUT_BUF)
			return hoist_fs_write_all(o->f.fd, data, len, o->f.dest,
						  err);
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

static int write_tarball(const struct hoist_export_plan *p,
			 const struct hoist_img_manifest *ms, size_t n,
			 int split, const char *tmp, struct hoist_err *err)
{
	struct out_file of;
	struct hoist_sink sink = {of_write, &of};
	struct hoist_tar_writer *tw = NULL;
	int rc;

	memset(&of, 0, sizeof(of));
	rc = hoist_fs_atomic_open(&of.f, p->dest, 0644, err);
	if (rc)
		return rc;
	of.buf = hoist_xmalloc(OUT_BUF);
	hoist_tar_writer_new(&tw, &sink);
	for (size_t i = 0; i < n && !rc; i++) {
		struct hoist_tar_tree_opts to;
		char id[128];
		char *dir;

		memset(&to, 0, sizeof(to));
		to.epoch = p->epoch;
		to.force_mtime = p->epoch >= 0;
		hoist_platform_id(&ms[i].platform, id, sizeof(id));
		if (split) {
			to.prefix = id;
			to.root_entry = 1;
			dir = hoist_xasprintf("%s/%s", tmp, id);
		} else {
			to.prefix = "";
			dir = hoist_xstrdup(tmp);
		}
		rc = hoist_tar_write_tree(tw, dir, &to, err);
		free(dir);
	}
	if (!rc)
		rc = hoist_tar_writer_finish(tw, err);
	if (!rc)
		rc = of_flush(&of, err);
	if (!rc)
		rc = hoist_fs_atomic_commit(&of.f, err);
	else
		hoist_fs_atomic_abort(&of.f);
	hoist_tar_writer_free(tw);
	free(of.buf);
	return rc;
}

int hoist_export_fs(const struct hoist_export_plan *p, struct hoist_store *s,
		    const json_t *root, struct hoist_err *err)
{
	struct hoist_img_manifest *ms = NULL;
	struct hoist_unpack_opts uo;
	size_t n = 0;
	char *tmp = NULL;
	int split, rc;

	rc = hoist_imgwalk_manifests(&ms, &n, s, root, err);
	if (rc)
		goto out;
	split = n > 1;
	if (p->type == HOIST_EXPORT_LOCAL && p->platform_split >= 0)
		split = p->platform_split;
	memset(&uo, 0, sizeof(uo));
	uo.epoch = p->type == HOIST_EXPORT_LOCAL ? p->epoch : -1;
	/* local: files belong to the caller (BuildKit chowns to the client) */
	uo.keep_owner = p->type == HOIST_EXPORT_TAR;
	if (p->type == HOIST_EXPORT_LOCAL) {
		rc = hoist_fs_mkdtemp_near(&tmp, p->dest, err);
	} else {
		rc = hoist_store_mkdtemp(s, &tmp, err);
	}
	if (rc)
		goto out;
	rc = unpack_all(ms, n, split, s, tmp, &uo, err);
	if (rc)
		goto out;
	if (p->type == HOIST_EXPORT_LOCAL)
		rc = publish_local(p, tmp, err);
	else
		rc = write_tarball(p, ms, n, split, tmp, err);
out:
	if (tmp)
		hoist_fs_rm_rf(tmp, NULL);
	free(tmp);
	hoist_imgwalk_manifests_free(ms, n);
	if (rc)
		return hoist_err_prefix(err, "export %s to '%s'", p->type_name,
					p->dest);
	return 0;
}
