/*
 * fuzz-unpack.c: the layer unpacker (src/lib/unpack.c) applies a hostile
 * layer (any tar or compressed tar libarchive reads) into a scratch root,
 * and nothing may be written outside it.
 *
 * The scratch area, made once per process, is TOP/root (the destination)
 * next to TOP/outside, which holds one file, "sentinel". After every
 * input:
 *  - TOP holds exactly "root" and "outside", both still directories;
 *  - TOP/outside holds exactly "sentinel", a regular file with its
 *    original content, mode and a single link (a hard link from the root
 *    would raise the count);
 *  - a failure has a code and a one-line message naming the layer.
 * Then TOP/root is emptied for the next input (made writable first, since
 * layers set directory modes). Even-sized inputs go through openat2(2)
 * (RESOLVE_IN_ROOT) when the kernel has it, odd-sized ones through the
 * portable resolver, so both are fuzzed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "lib/unpack.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

#define SENTINEL "do not touch\n"

static char *top, *root, *outside, *sentinel;

static void empty_root(void);

static void teardown(void)
{
	empty_root();
	hoist_fs_rm_rf(top, NULL);
}

static void setup(void)
{
	char tmpl[] = "/tmp/hoist-fuzz-unpack-XXXXXX";

	if (top)
		return;
	FUZZ_CHECK(mkdtemp(tmpl) != NULL);
	top = hoist_xstrdup(tmpl);
	root = hoist_xasprintf("%s/root", top);
	outside = hoist_xasprintf("%s/outside", top);
	sentinel = hoist_xasprintf("%s/sentinel", outside);
	FUZZ_CHECK(mkdir(root, 0755) == 0 && mkdir(outside, 0755) == 0);
	FUZZ_CHECK(hoist_fs_write_atomic(sentinel, SENTINEL, strlen(SENTINEL),
					 0644, NULL) == 0);
	atexit(teardown);
}

/* The names in dir, other than "." and "..", joined by "/" in order. */
static char *names_of(const char *dir)
{
	struct dirent **e = NULL;
	char *all = hoist_xstrdup(""), *t;
	int n = scandir(dir, &e, NULL, alphasort);

	FUZZ_CHECK(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(e[i]->d_name, ".") && strcmp(e[i]->d_name, "..")) {
			t = hoist_xasprintf("%s%s/", all, e[i]->d_name);
			free(all);
			all = t;
		}
		free(e[i]);
	}
	free(e);
	return all;
}

static void check_outside(void)
{
	struct stat st;
	char buf[64];
	char *names;
	ssize_t n;
	int fd;

	names = names_of(top);
	FUZZ_CHECK(strcmp(names, "outside/root/") == 0);
	free(names);
	names = names_of(outside);
	FUZZ_CHECK(strcmp(names, "sentinel/") == 0);
	free(names);
	FUZZ_CHECK(lstat(root, &st) == 0 && S_ISDIR(st.st_mode));
	FUZZ_CHECK(lstat(outside, &st) == 0 && S_ISDIR(st.st_mode));
	FUZZ_CHECK(lstat(sentinel, &st) == 0 && S_ISREG(st.st_mode));
	FUZZ_CHECK(st.st_nlink == 1 && (st.st_mode & 07777) == 0644);
	fd = open(sentinel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FUZZ_CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	FUZZ_CHECK(n == (ssize_t)strlen(SENTINEL) &&
		   memcmp(buf, SENTINEL, (size_t)n) == 0);
}

static int make_writable(const char *path, const struct stat *st, int flag,
			 struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

static void empty_root(void)
{
	char *names;

	/* pre-order: a directory is opened after it is made writable */
	chmod(root, 0755);
	nftw(root, make_writable, 16, FTW_PHYS);
	FUZZ_CHECK(hoist_fs_rm_rf(root, NULL) == 0);
	FUZZ_CHECK(mkdir(root, 0755) == 0);
	names = names_of(root);
	FUZZ_CHECK(names[0] == '\0');
	free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_err err;
	int fd, rc;

	setup();
	fd = memfd_create("layer", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(hoist_fs_write_all(fd, data, size, "layer", NULL) == 0);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	hoist_unpack_set_openat2(!(size & 1));
	hoist_err_clear(&err);
	rc = hoist_unpack_fd(fd, root, NULL, "fuzz", &err);
	close(fd);
	if (rc) {
		FUZZ_CHECK(rc < 0 && err.code == rc);
		FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
		FUZZ_CHECK(strstr(err.msg, "fuzz") != NULL);
	}
	check_outside();
	empty_root();
	return 0;
}
