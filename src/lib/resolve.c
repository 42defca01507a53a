/*
 * resolve.c: resolving paths inside a root directory (see resolve.h). The
 * walk is ours, one O_NOFOLLOW open at a time from descriptors we hold,
 * with ".." done by going back to one of them; the kernel's openat2 does
 * the lookups that need no bookkeeping when it has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif

#include "lib/resolve.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

/* The kernel's MAXSYMLINKS, so that openat2 and our walk agree. */
#define MAX_HOPS 40

/* "%s '%s'" with the in-root location canon/name, escaped. */
static void quote_at(char *dst, size_t len, const char *canon, const char *name)
{
	char *at = *canon ? hoist_xasprintf("%s/%s", canon, name)
			  : hoist_xstrdup(name);

	hoist_err_quote(dst, len, at, HOIST_QUOTE_ALL, HOIST_QUOTE_UTF8);
	free(at);
}

/*
 * The directories a walk is in, root first: fds[i] is the directory whose
 * in-root path is the first lens[i] bytes of canon. ".." pops, an absolute
 * symlink target pops back to the root, and since every step is an
 * O_NOFOLLOW open relative to a descriptor we hold, the walk cannot leave
 * the root whatever the names and symlinks say.
 */
struct wstack {
	int *fds;
	size_t *lens;
	size_t n, alloc;
	struct hoist_buf canon;
};

static void ws_push(struct wstack *w, int fd)
{
	if (w->n == w->alloc) {
		w->alloc = w->alloc ? w->alloc * 2 : 16;
		w->fds = hoist_xreallocarray(w->fds, w->alloc, sizeof(*w->fds));
		w->lens = hoist_xreallocarray(w->lens, w->alloc,
					      sizeof(*w->lens));
	}
	w->fds[w->n] = fd;
	w->lens[w->n] = w->canon.len;
	w->n++;
}

/* Back to depth keep (1: the root). */
static void ws_pop_to(struct wstack *w, size_t keep)
{
	while (w->n > keep) {
		w->n--;
		close(w->fds[w->n]);
	}
	if (w->n && w->lens[w->n - 1] < w->canon.len) {
		w->canon.len = w->lens[w->n - 1];
		w->canon.data[w->canon.len] = '\0';
	}
}

static void ws_release(struct wstack *w)
{
	ws_pop_to(w, 0);
	free(w->fds);
	free(w->lens);
	hoist_buf_release(&w->canon);
}

/*
 * The engine of the write path: openat2 can neither create the missing
 * directories, nor open up the ones a non-root user cannot write, nor say
 * which directories it went through (on_dir), and an unpacker needs all
 * three.
 */
int hoist_resolve_walk(const struct hoist_resolver *r, const char *dir,
		       int flags, const char *role, char **canon,
		       struct hoist_err *err)
{
	struct wstack w;
	char *rest = hoist_xstrdup(dir), *p = rest;
	char at[HOIST_QUOTE_BUF];
	unsigned hops = 0;
	int fd, ret;

	memset(&w, 0, sizeof(w));
	hoist_buf_init(&w.canon, HOIST_BUF_UNLIMITED);
	if (canon)
		*canon = NULL;
	fd = openat(r->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = hoist_err_sys(err, errno, "open destination");
		goto out;
	}
	ws_push(&w, fd);
	while (*p) {
		char *name = p, *slash = strchr(p, '/');
		int top = w.fds[w.n - 1], created = 0;
		const char *cur;
		struct stat st;

		if (slash) {
			*slash = '\0';
			p = slash + 1;
		} else {
			p += strlen(p);
		}
		if (!*name || strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			ws_pop_to(&w, w.n > 1 ? w.n - 1 : 1);
			continue;
		}
		cur = w.canon.data ? w.canon.data : "";
		fd = openat(top, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT &&
		    (flags & HOIST_RESOLVE_CREATE)) {
			if (mkdirat(top, name, 0700) < 0 && errno != EEXIST) {
				quote_at(at, sizeof(at), cur, name);
				ret = hoist_err_sys(err, errno, "mkdir '%s'",
						    at);
				goto out;
			}
			created = 1;
			fd = openat(top, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 || fstat(fd, &st) < 0) {
			int e = errno;

			quote_at(at, sizeof(at), cur, name);
			ret = hoist_err_sys(err, e, "%s '%s'", role, at);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;
			char *next;

			if (flags & HOIST_RESOLVE_NOFOLLOW) {
				close(fd);
				quote_at(at, sizeof(at), cur, name);
				ret = hoist_err_set(err, HOIST_EINVAL,
						    "%s '%s' is a symlink",
						    role, at);
				goto out;
			}
			if (++hops > MAX_HOPS) {
				close(fd);
				hoist_err_quote(at, sizeof(at), dir,
						HOIST_QUOTE_ALL,
						HOIST_QUOTE_UTF8);
				ret = hoist_err_sys(err, ELOOP, "%s '%s'", role,
						    at);
				/* the input's doing, not the system's */
				if (err)
					err->code = HOIST_EINVAL;
				ret = HOIST_EINVAL;
				goto out;
			}
			n = readlinkat(fd, "", target, sizeof(target));
			close(fd);
			if (n <= 0 || (size_t)n >= sizeof(target)) {
				int e = n < 0 ? errno
					: n   ? ENAMETOOLONG
					      : ENOENT;

				quote_at(at, sizeof(at), cur, name);
				ret = hoist_err_sys(err, e, "%s '%s'", role,
						    at);
				goto out;
			}
			next = hoist_xasprintf("%.*s/%s", (int)n, target, p);
			free(rest);
			rest = p = next;
			if (target[0] == '/')
				ws_pop_to(&w, 1);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			quote_at(at, sizeof(at), cur, name);
			ret = hoist_err_set(err, HOIST_EINVAL,
					    "%s '%s' is not a directory", role,
					    at);
			goto out;
		}
		if (w.canon.len)
			hoist_buf_addch(&w.canon, '/', NULL);
		hoist_buf_adds(&w.canon, name, NULL);
		ws_push(&w, fd);
		cur = w.canon.data;
		if (r->on_dir) {
			ret = r->on_dir(r->ctx, top, name, fd, cur, created,
					err);
			if (ret < 0)
				goto out;
		}
	}
	if (canon)
		*canon = hoist_xstrdup(w.canon.data ? w.canon.data : "");
	ret = w.fds[--w.n];
out:
	ws_release(&w);
	free(rest);
	return ret;
}

#if defined(SYS_openat2) && defined(RESOLVE_IN_ROOT)
/* Set once openat2 turned out to be missing, or by tests. */
static int openat2_off;

void hoist_resolve_set_openat2(int enable)
{
	__atomic_store_n(&openat2_off, !enable, __ATOMIC_RELAXED);
}

/* An fd, or a negative errno (-ENOSYS: use the fallback). */
static int try_openat2(int dirfd, const char *path, uint64_t flags,
		       uint64_t resolve_flags)
{
	struct open_how how;

	if (__atomic_load_n(&openat2_off, __ATOMIC_RELAXED))
		return -ENOSYS;
	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.resolve = resolve_flags;
	/* EAGAIN: a rename raced with ".." resolution; the kernel asks
	 * for a retry. */
	for (int i = 0; i < 8; i++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno == EAGAIN || errno == EINTR)
			continue;
		if (errno == ENOSYS)
			__atomic_store_n(&openat2_off, 1, __ATOMIC_RELAXED);
		/* EPERM: a seccomp filter that does not know openat2 */
		if (errno == ENOSYS || errno == EPERM)
			return -ENOSYS;
		return -errno;
	}
	return -EAGAIN;
}
#else
void hoist_resolve_set_openat2(int enable)
{
	(void)enable;
}

static int try_openat2(int dirfd, const char *path, uint64_t flags,
		       uint64_t resolve_flags)
{
	(void)dirfd;
	(void)path;
	(void)flags;
	(void)resolve_flags;
	return -ENOSYS;
}
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0
#define RESOLVE_BENEATH 0
#define RESOLVE_NO_SYMLINKS 0
#define RESOLVE_NO_MAGICLINKS 0
#endif
#endif

int hoist_resolve_lookup(const struct hoist_resolver *r, const char *dir,
			 int flags, const char *role, struct hoist_err *err)
{
	uint64_t how = (flags & HOIST_RESOLVE_NOFOLLOW)
			       ? RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					 RESOLVE_NO_MAGICLINKS
			       : RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	int fd = try_openat2(r->rootfd, *dir ? dir : ".",
			     O_PATH | O_DIRECTORY | O_CLOEXEC, how);

	if (fd >= 0)
		return fd;
	return hoist_resolve_walk(r, dir, flags & ~HOIST_RESOLVE_CREATE, role,
				  NULL, err);
}

/* Destinations: a directory the walk made gets 0755, not 0700. */
static int dest_dir(void *ctx, int parentfd, const char *name, int fd,
		    const char *canon, int created, struct hoist_err *err)
{
	(void)ctx;
	(void)fd;
	if (created && fchmodat(parentfd, name, 0755, 0) < 0)
		return hoist_err_sys(err, errno, "chmod '%s'", canon);
	return 0;
}

int hoist_resolve_open_dir(const char *dir, const char *path, int create,
			   struct hoist_err *err)
{
	struct hoist_resolver r;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), pfd, fd;

	if (dfd < 0)
		return hoist_err_sys(err, errno, "open '%s'", dir);
	if (!*path)
		return dfd;
	memset(&r, 0, sizeof(r));
	r.rootfd = dfd;
	r.on_dir = dest_dir;
	pfd = hoist_resolve_walk(&r, path,
				 HOIST_RESOLVE_NOFOLLOW |
					 (create ? HOIST_RESOLVE_CREATE : 0),
				 "directory", NULL, err);
	close(dfd);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = hoist_err_sys(err, errno, "open '%s/%s'", dir, path);
	close(pfd);
	return fd;
}
