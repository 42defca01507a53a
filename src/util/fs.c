/* fs.c: crash-safe file writing, directory helpers and tree removal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

#define TMP_SLOTS 64

/*
 * Paths are copied into fixed slots so the handler never touches malloc.
 * A slot is claimed (FREE -> WRITING) with a compare-and-swap, so two
 * threads never share one, and published (-> LIVE) with a release store
 * only after its path and kind are complete: the handler, which acquires
 * the state, never sees a torn or half-copied path. The state is a
 * lock-free atomic int, safe to read in a signal handler. The handler
 * takes each live slot (LIVE -> DYING) before it reads the path, so no
 * other thread can free and rewrite it meanwhile.
 */
enum { SLOT_FREE, SLOT_WRITING, SLOT_LIVE, SLOT_DYING };

static struct {
	atomic_int state;
	int is_dir;
	char path[4096];
} tmp_slots[TMP_SLOTS];

void hoist_fs_tmp_register(const char *path, int is_dir)
{
	size_t n = strlen(path);

	if (n >= sizeof(tmp_slots[0].path))
		return;
	for (int i = 0; i < TMP_SLOTS; i++) {
		int expect = SLOT_FREE;

		if (!atomic_compare_exchange_strong(&tmp_slots[i].state,
						    &expect, SLOT_WRITING))
			continue;
		memcpy(tmp_slots[i].path, path, n + 1);
		tmp_slots[i].is_dir = is_dir;
		atomic_store_explicit(&tmp_slots[i].state, SLOT_LIVE,
				      memory_order_release);
		return;
	}
}

void hoist_fs_tmp_unregister(const char *path)
{
	for (int i = 0; i < TMP_SLOTS; i++) {
		int expect = SLOT_LIVE;

		if (atomic_load_explicit(&tmp_slots[i].state,
					 memory_order_acquire) != SLOT_LIVE ||
		    strcmp(tmp_slots[i].path, path) != 0)
			continue;
		/* fails only when the handler has taken the slot */
		atomic_compare_exchange_strong(&tmp_slots[i].state, &expect,
					       SLOT_FREE);
	}
}

/* Only async-signal-safe calls below: unlink, fork, execve, waitpid. */
static void tmp_cleanup_handler(int sig)
{
	for (int i = 0; i < TMP_SLOTS; i++) {
		int expect = SLOT_LIVE;

		if (!atomic_compare_exchange_strong(&tmp_slots[i].state,
						    &expect, SLOT_DYING))
			continue;
		if (!tmp_slots[i].is_dir) {
			unlink(tmp_slots[i].path);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			char *argv[] = {"rm", "-rf", "--", tmp_slots[i].path,
					NULL};
			char *envp[] = {NULL};
			execve("/bin/rm", argv, envp);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void hoist_fs_install_signal_cleanup(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tmp_cleanup_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int hoist_fs_write_all(int fd, const void *data, size_t len, const char *what,
		       struct hoist_err *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hoist_err_sys(err, errno, "write '%s'", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void hoist_fs_writeback(int fd, uint64_t *started, uint64_t size)
{
	if (size < *started || size - *started < HOIST_FS_WRITEBACK_STEP)
		return;
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(fd, (off_t)*started, (off_t)(size - *started),
			      SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
#endif
	*started = size;
}

int hoist_fs_read_full(int fd, void *data, size_t len, size_t *got,
		       const char *what, struct hoist_err *err)
{
	char *p = data;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hoist_err_sys(err, errno, "read '%s'", what);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}

int hoist_fs_mkdirs(const char *path, mode_t mode, struct hoist_err *err)
{
	char *tmp;
	struct stat st;
	int rc = 0;

	if (!*path)
		return hoist_err_set(err, HOIST_EINVAL,
				     "create directory '': empty path");
	tmp = hoist_xstrdup(path);
	for (char *p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
			rc = hoist_err_sys(err, errno, "create directory '%s'",
					   tmp);
			goto out;
		}
		if (stat(tmp, &st) < 0) {
			rc = hoist_err_sys(err, errno, "stat '%s'", tmp);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = hoist_err_set(err, HOIST_EEXIST,
					   "'%s' exists and is not a directory",
					   tmp);
			goto out;
		}
		*p = c;
		if (!c)
			break;
	}
out:
	free(tmp);
	return rc;
}

int hoist_fs_fsync_dir(const char *dir, struct hoist_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_sys(err, errno, "open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		return hoist_err_sys(err, e, "fsync '%s'", dir);
	}
	close(fd);
	return 0;
}

int hoist_fs_read_file(char **out, size_t *len, const char *path, size_t max,
		       struct hoist_err *err)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return hoist_err_sys(err, errno, "open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = hoist_err_sys(err, errno, "stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "'%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = hoist_err_set(err, HOIST_ELIMIT,
				   "'%s' is larger than %zu bytes", path, max);
		goto out;
	}
	data = hoist_xmalloc((size_t)st.st_size + 1);
	rc = hoist_fs_read_full(fd, data, (size_t)st.st_size, &got, path, err);
	if (rc)
		goto out;
	data[got] = '\0';
	*out = data;
	data = NULL;
	if (len)
		*len = got;
out:
	free(data);
	close(fd);
	return rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return hoist_xstrdup(".");
	if (slash == path)
		return hoist_xstrdup("/");
	return hoist_xstrndup(path, (size_t)(slash - path));
}

int hoist_fs_atomic_open(struct hoist_fs_atomic *a, const char *dest,
			 mode_t mode, struct hoist_err *err)
{
	char *dir;
	const char *base;

	a->fd = -1;
	a->tmp = NULL;
	a->dest = hoist_xstrdup(dest);
	{
		mode_t um = umask(0);
		umask(um);
		a->mode = mode & ~um;
	}
	if (strcmp(dest, "-") == 0) {
		a->fd = STDOUT_FILENO;
		return 0;
	}
	dir = dir_of(dest);
	base = strrchr(dest, '/');
	base = base ? base + 1 : dest;
	a->tmp = hoist_xasprintf("%s/" HOIST_TMP_PREFIX "%s.XXXXXX", dir, base);
	free(dir);
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		int rc = hoist_err_sys(err, errno, "create '%s'", dest);
		free(a->tmp);
		free(a->dest);
		a->tmp = a->dest = NULL;
		return rc;
	}
	hoist_fs_tmp_register(a->tmp, 0);
	return 0;
}

int hoist_fs_atomic_commit(struct hoist_fs_atomic *a, struct hoist_err *err)
{
	int rc = 0;
	char *dir = NULL;

	if (!a->tmp) {
		a->fd = -1;
		goto out;
	}
	if (fchmod(a->fd, a->mode) < 0 || fsync(a->fd) < 0) {
		rc = hoist_err_sys(err, errno, "write '%s'", a->dest);
		goto fail;
	}
	if (close(a->fd) < 0) {
		a->fd = -1;
		rc = hoist_err_sys(err, errno, "write '%s'", a->dest);
		goto fail;
	}
	a->fd = -1;
	hoist_fs_tmp_unregister(a->tmp);
	if (rename(a->tmp, a->dest) < 0) {
		rc = hoist_err_sys(err, errno, "rename onto '%s'", a->dest);
		goto fail;
	}
	dir = dir_of(a->dest);
	rc = hoist_fs_fsync_dir(dir, err);
	free(dir);
	goto out;
fail:
	hoist_fs_atomic_abort(a);
	return rc;
out:
	free(a->tmp);
	free(a->dest);
	a->tmp = a->dest = NULL;
	return rc;
}

void hoist_fs_atomic_abort(struct hoist_fs_atomic *a)
{
	if (a->tmp) {
		if (a->fd >= 0)
			close(a->fd);
		unlink(a->tmp);
		hoist_fs_tmp_unregister(a->tmp);
	}
	a->fd = -1;
	free(a->tmp);
	free(a->dest);
	a->tmp = a->dest = NULL;
}

int hoist_fs_write_atomic(const char *path, const void *data, size_t len,
			  mode_t mode, struct hoist_err *err)
{
	struct hoist_fs_atomic a;
	int rc = hoist_fs_atomic_open(&a, path, mode, err);
	if (rc)
		return rc;
	rc = hoist_fs_write_all(a.fd, data, len, path, err);
	if (rc) {
		hoist_fs_atomic_abort(&a);
		return rc;
	}
	return hoist_fs_atomic_commit(&a, err);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int hoist_fs_rm_rf(const char *path, struct hoist_err *err)
{
	struct stat st;

	hoist_fs_tmp_unregister(path);
	if (lstat(path, &st) < 0)
		return errno == ENOENT
			       ? 0
			       : hoist_err_sys(err, errno, "stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return hoist_err_sys(err, errno, "remove '%s'", path);
		return 0;
	}
	/* Make directories writable first so unprivileged removal works. */
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return hoist_err_sys(err, errno, "remove '%s'", path);
	return 0;
}

int hoist_fs_mkdtemp_near(char **out, const char *dest, struct hoist_err *err)
{
	char *dir = dir_of(dest);
	const char *base = strrchr(dest, '/');
	char *tmp;

	base = base ? base + 1 : dest;
	tmp = hoist_xasprintf("%s/" HOIST_TMP_PREFIX "%s.XXXXXX", dir, base);
	free(dir);
	if (!mkdtemp(tmp)) {
		int rc = hoist_err_sys(err, errno, "create directory near '%s'",
				       dest);
		free(tmp);
		return rc;
	}
	hoist_fs_tmp_register(tmp, 1);
	*out = tmp;
	return 0;
}

int hoist_fs_link_or_copy(const char *src, const char *dst, mode_t mode,
			  struct hoist_err *err)
{
	char buf[1 << 16];
	int in = -1, outfd = -1, rc = 0;

	if (link(src, dst) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK &&
	    errno != EACCES)
		return hoist_err_sys(err, errno, "link '%s'", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return hoist_err_sys(err, errno, "open '%s'", src);
	outfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (outfd < 0) {
		rc = hoist_err_sys(err, errno, "create '%s'", dst);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hoist_err_sys(err, errno, "read '%s'", src);
			goto out;
		}
		if (n == 0)
			break;
		rc = hoist_fs_write_all(outfd, buf, (size_t)n, dst, err);
		if (rc)
			goto out;
	}
	if (fsync(outfd) < 0)
		rc = hoist_err_sys(err, errno, "fsync '%s'", dst);
out:
	if (in >= 0)
		close(in);
	if (outfd >= 0)
		close(outfd);
	if (rc)
		unlink(dst);
	return rc;
}

int hoist_fs_readlinkat(char **out, size_t *len, int dirfd, const char *name,
			size_t hint, const char *what, struct hoist_err *err)
{
	size_t cap = hint ? hint + 1 : 256;
	char *target = NULL;
	ssize_t n;

	for (;;) {
		target = hoist_xrealloc(target, cap);
		n = readlinkat(dirfd, name, target, cap);
		if (n < 0) {
			int rc = hoist_err_sys(err, errno, "readlink '%s'",
					       what);
			free(target);
			return rc;
		}
		if ((size_t)n < cap)
			break;
		cap *= 2;
	}
	target[n] = '\0';
	*out = target;
	if (len)
		*len = (size_t)n;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hoist_fs_dir_names(char ***out, size_t *n, int dfd, const char *what,
		       struct hoist_err *err)
{
	char **names = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0), rc = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		rc = hoist_err_sys(err, errno, "read '%s'", what);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = hoist_err_sys(err, errno, "read '%s'",
						   what);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			names = hoist_xreallocarray(names, cap, sizeof(*names));
		}
		names[cnt++] = hoist_xstrdup(de->d_name);
	}
	closedir(d);
	if (rc) {
		hoist_fs_names_free(names, cnt);
		return rc;
	}
	if (cnt)
		qsort(names, cnt, sizeof(*names), cmp_name);
	*out = names;
	*n = cnt;
	return 0;
}

void hoist_fs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int hoist_fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int hoist_fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hoist_fs_openat_nofollow(int dirfd, const char *name, int flags)
{
	int fd =
		openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}
