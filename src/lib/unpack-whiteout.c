/*
 * unpack-whiteout.c: what a layer removes. A whiteout ".wh.NAME" deletes
 * NAME from the lower layers; an opaque marker ".wh..wh..opq" empties its
 * directory of everything this layer has not written (the "seen" map of
 * unpack.c). Removal is rm -rf relative to directory descriptors, never
 * following a symlink, so nothing outside the root can be reached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/unpack-int.h"
#include "util/mem.h"
#include "util/strmap.h"
#include "util/banned.h"

static int collect_names(int dirfd, char ***names, size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t alloc = 0;
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return -e;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			*names = hoist_xreallocarray(*names, alloc,
						     sizeof(**names));
		}
		(*names)[(*n)++] = hoist_xstrdup(de->d_name);
	}
	closedir(d);
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * rm -rf of name in dirfd without following symlinks. A missing name is
 * fine. Returns 0 or a negative errno.
 */
int hoist_unpack_rm_at(struct unpacker *u, int dirfd, const char *name)
{
	struct stat st;
	char **names = NULL;
	size_t n = 0;
	int fd = -1, ret;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		u->cache_stale = 1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (!u->is_root && (st.st_mode & 0700) != 0700 &&
	    fchmodat(dirfd, name, 0700, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = collect_names(fd, &names, &n);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = hoist_unpack_rm_at(u, fd, names[i]);
	free_names(names, n);
	close(fd);
	if (ret == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		ret = -errno;
	return ret;
}

/*
 * Opaque directory: remove every child of dir (an O_PATH fd for the
 * relative path dpath) that this layer has not written, descending into
 * directories it has.
 */
static int opaque_clean(struct unpacker *u, int dirfd, const char *dpath)
{
	char **names = NULL;
	size_t n = 0;
	int ret;

	ret = collect_names(dirfd, &names, &n);
	if (ret < 0) {
		ret = hoist_unpack_fail_sys(u, -ret, "list '%s'", dpath);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *child = *dpath ? hoist_xasprintf("%s/%s", dpath, names[i])
				     : hoist_xstrdup(names[i]);
		struct stat st;

		if (!hoist_strmap_get(&u->seen, child)) {
			ret = hoist_unpack_rm_at(u, dirfd, names[i]);
			if (ret < 0)
				ret = hoist_unpack_fail_sys(
					u, -ret, "remove '%s'", child);
		} else if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) ==
				   0 &&
			   S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, names[i],
					O_PATH | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC);

			if (fd < 0) {
				ret = hoist_unpack_fail_sys(u, errno,
							    "open '%s'", child);
			} else {
				ret = opaque_clean(u, fd, child);
				close(fd);
			}
		}
		free(child);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	free_names(names, n);
	return ret;
}

/* A whiteout in the directory pfd, whose in-root path is dir. */
int hoist_unpack_whiteout(struct unpacker *u, int pfd, const char *dir,
			  const char *base)
{
	const char *name = base + WH_PREFIX_LEN;
	int r;

	if (strcmp(base, WH_OPAQUE) == 0)
		return opaque_clean(u, pfd, dir);
	r = hoist_unpack_rm_at(u, pfd, name);
	if (r < 0)
		return hoist_unpack_fail_sys(u, -r, "remove '%s'", name);
	return 0;
}
