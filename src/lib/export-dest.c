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
