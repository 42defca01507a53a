/*
 * export-dest.c: checking export destinations before any work is done,
 * for every exporter that writes files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/export-int.h"
#include "util/mem.h"
#include "util/banned.h"

/* dest checks that need no writing: a file dest needs an existing dir. */
int hoist_export_check_file_dest(const char *dest, struct hoist_err *err)
{
	struct stat st;
	char *dir;
	const char *slash;
	int rc = 0;

	if (strcmp(dest, "-") == 0) {
		if (isatty(STDOUT_FILENO))
			return hoist_err_set(err, HOIST_EINVAL,
					     "refusing to write a tarball to "
					     "the terminal: give dest=FILE or "
					     "redirect standard output");
		return 0;
	}
	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
		return hoist_err_set(err, HOIST_EEXIST,
				     "destination '%s' is a directory", dest);
	slash = strrchr(dest, '/');
	dir = slash ? hoist_xstrndup(dest, (size_t)(slash - dest))
		    : hoist_xstrdup(".");
	if (!*dir) {
		free(dir);
		dir = hoist_xstrdup("/");
	}
	if (stat(dir, &st) < 0)
		rc = hoist_err_sys(err, errno,
				   "destination '%s': directory '%s'", dest,
				   dir);
	else if (!S_ISDIR(st.st_mode))
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "destination '%s': '%s' is not a directory",
				   dest, dir);
	else if (access(dir, W_OK) < 0)
		rc = hoist_err_sys(err, errno,
				   "destination '%s': directory '%s'", dest,
				   dir);
	free(dir);
	return rc;
}

int hoist_export_check_dir_dest(const char *dest, struct hoist_err *err)
{
	struct stat st;

	if (stat(dest, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return hoist_err_set(err, HOIST_EEXIST,
					     "destination directory '%s' is a "
					     "file",
					     dest);
		if (access(dest, W_OK) < 0)
			return hoist_err_sys(err, errno, "destination '%s'",
					     dest);
		return 0;
	}
	return hoist_export_check_file_dest(dest, err);
}

/* path made absolute and free of symlinks; a missing last component is
 * kept as it is. New string. */
static char *canon(const char *path)
{
	char *r = realpath(path, NULL), *dir, *d;
	const char *slash, *base;

	if (r)
		return r;
	slash = strrchr(path, '/');
	dir = slash ? hoist_xstrndup(path, (size_t)(slash - path))
		    : hoist_xstrdup(".");
	base = slash ? slash + 1 : path;
	d = realpath(*dir ? dir : "/", NULL);
	free(dir);
	if (!d)
		return hoist_xstrdup(path);
	r = hoist_xasprintf("%s%s%s", d, strcmp(d, "/") == 0 ? "" : "/", base);
	free(d);
	return r;
}

/* 1 when a is b or lies inside it (both canonical). */
static int within(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (strcmp(b, "/") == 0)
		return 1;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* dest against one protected tree; 0 or HOIST_EINVAL. */
static int guard_one(const char *dest, const char *cdest, const char *what,
		     const char *tree, int inside_too, struct hoist_err *err)
{
	char *ct = canon(tree);
	int rc = 0;

	if (strcmp(cdest, ct) == 0)
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "destination '%s' is %s '%s': refusing to "
				   "write there",
				   dest, what, tree);
	else if (within(ct, cdest))
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "destination '%s' contains %s '%s': "
				   "refusing to write there",
				   dest, what, tree);
	else if (inside_too && within(cdest, ct))
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "destination '%s' is inside %s '%s': "
				   "refusing to write there",
				   dest, what, tree);
	free(ct);
	return rc;
}

int hoist_export_guard(const struct hoist_export_plan *p,
		       const char *store_root, const char *const *inputs,
		       size_t ninputs, struct hoist_err *err)
{
	const char *home = getenv("HOME");
	char *cdest;
	int rc = 0;

	if (!p->dest || !*p->dest || strcmp(p->dest, "-") == 0)
		return 0;
	cdest = canon(p->dest);
	if (store_root)
		rc = guard_one(p->dest, cdest, "the staging area", store_root,
			       1, err);
	for (size_t i = 0; !rc && i < ninputs; i++)
		rc = guard_one(p->dest, cdest, "the input tree", inputs[i], 1,
			       err);
	if (!rc)
		rc = guard_one(p->dest, cdest, "the root directory", "/", 0,
			       err);
	if (!rc && home && *home)
		rc = guard_one(p->dest, cdest, "the home directory", home, 0,
			       err);
	free(cdest);
	return rc;
}
