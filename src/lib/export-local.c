/*
 * export-local.c: the local exporter: the image's root file system into a
 * directory. The tree is unpacked next to dest first; a missing dest is
 * then created by a rename, an existing one is merged into (mode=copy)
 * or swapped for the new tree (mode=delete; emptied and filled when it
 * cannot be renamed, as ".").
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/export-int.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

static int local_plan(struct hoist_export_plan *p, const struct hoist_output *o,
		      struct hoist_err *err)
{
	int rc = hoist_export_fs_plan(p, o, err);

	if (rc)
		return rc;
	if (!p->dest || !*p->dest)
		return hoist_err_set(err, HOIST_EINVAL,
				     "dest is required for local exporter");
	if (strcmp(p->dest, "-") == 0)
		return hoist_err_set(err, HOIST_EINVAL,
				     "dest cannot be stdout for local "
				     "exporter");
	return hoist_export_check_dir_dest(p->dest, err);
}

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
			/* a directory in dst goes; so does a symlink (or any
			 * non-directory) where a directory comes, since
			 * rename(2) cannot put a directory over it */
			if (lstat(d, &ds) == 0 &&
			    (S_ISDIR(ds.st_mode) || S_ISDIR(ss.st_mode)))
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

/*
 * mode=delete where dest cannot be renamed (".", a mount point: EBUSY or
 * EINVAL): empty dest, sparing tmp if it lies inside, then move tmp's
 * entries in. Not atomic, as BuildKit's own removal is not.
 */
static int replace_contents(const char *tmp, const char *dest,
			    struct hoist_err *err)
{
	struct stat ts;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (lstat(tmp, &ts) < 0)
		return hoist_err_sys(err, errno, "stat '%s'", tmp);
	dir = opendir(dest);
	if (!dir)
		return hoist_err_sys(err, errno, "open '%s'", dest);
	while (!rc && (de = readdir(dir))) {
		struct stat ds;
		char *d;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		d = hoist_xasprintf("%s/%s", dest, de->d_name);
		if (lstat(d, &ds) == 0 &&
		    !(ds.st_dev == ts.st_dev && ds.st_ino == ts.st_ino))
			rc = hoist_fs_rm_rf(d, err);
		free(d);
	}
	closedir(dir);
	if (!rc)
		rc = merge_tree(tmp, dest, err);
	return rc;
}

static int publish_local(const struct hoist_export_plan *p, const char *tmp,
			 const struct hoist_img_manifest *ms, size_t n,
			 int split, struct hoist_err *err)
{
	char *trash = NULL;
	int rc = 0;

	(void)ms;
	(void)n;
	(void)split;
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
		if (errno == EBUSY || errno == EINVAL)
			rc = replace_contents(tmp, p->dest, err);
		else
			rc = hoist_err_sys(err, errno, "move '%s' aside",
					   p->dest);
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

static int local_write(const struct hoist_export_plan *p, struct hoist_store *s,
		       const json_t *root, json_t **desc, struct hoist_err *err)
{
	(void)desc;
	return hoist_export_fs_write(p, s, root, p->dest, publish_local, err);
}

const struct hoist_exporter hoist_exporter_local = {
	"local", HOIST_EXPORT_LOCAL, hoist_export_fs_keys,
	0,       local_plan,         local_write,
};
