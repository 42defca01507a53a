/*
 * test-unpack.c: applying layers. Hostile tars from tests/data/mk-hostile.py
 * aim at a sentinel directory next to dest (and at /etc): dest is the
 * image's root, so each must either land inside dest at its re-rooted
 * place or fail with an error naming the layer and entry, and the
 * sentinel must stay untouched either way. Merged-/usr images (lib ->
 * usr/lib, then lib/x) and whiteouts and hardlinks through symlinked
 * directories must give the expected tree, with openat2 and with the
 * userspace walk alike. Benign layers with whiteouts, opaque directories
 * and type changes must give the expected tree, also when compressed,
 * when read from the store with digest verification, and as nobody.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/store.h"
#include "lib/unpack.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/mem.h"
#include "testlib.h"
#include "util/banned.h"

#define MTIME 1700000000

static char tmp[64];
static char fx[128], sentinel[128], dest[128];

static int setup(void **state)
{
	const char *src = getenv("HOIST_SRCDIR");
	const char *layers[] = {"layer1", "layer2", "layer3", "dotdot"};

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/hoist-unpack-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(fx, sizeof(fx), "%s/fx", tmp);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", tmp);
	snprintf(dest, sizeof(dest), "%s/dest", tmp);
	tl_must_run("mkdir '%s' && printf orig > '%s/target'", sentinel,
		    sentinel);
	tl_must_run("python3 '%s/tests/data/mk-hostile.py' '%s' '%s'",
		    src ? src : "..", fx, sentinel);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(layers); i++)
		tl_must_run("cd '%s' && gzip -n -k %s.tar && zstd -q %s.tar",
			    fx, layers[i], layers[i]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_rm_rf(tmp);
	return 0;
}

static void fresh_dest(void)
{
	tl_must_run(
		"if [ -e '%s' ]; then chmod -R u+rwx '%s'; fi; rm -rf '%s' && "
		"mkdir '%s'",
		dest, dest, dest, dest);
}

static int unpack_file(const char *name, const struct hoist_unpack_opts *o,
		       struct hoist_err *err)
{
	char path[256];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", fx, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	hoist_err_clear(err);
	rc = hoist_unpack_fd(fd, dest, o, name, err);
	close(fd);
	return rc;
}

/* The tree under dest, one sorted line per entry. */
static struct hoist_buf dump_buf;
static size_t dump_prefix;
static int dump_times;
static char **dump_lines;
static size_t dump_n;

static int dump_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	const char *rel = path + dump_prefix;

	(void)flag;
	if (ftw->level == 0)
		return 0;
	if (*rel == '/')
		rel++;
	if (S_ISDIR(st->st_mode)) {
		hoist_buf_printf(&b, NULL, "d %04o %s",
				 (unsigned)(st->st_mode & 07777), rel);
	} else if (S_ISREG(st->st_mode)) {
		char data[64] = "";
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, data, sizeof(data) - 1) : -1;

		if (fd >= 0)
			close(fd);
		data[n > 0 ? n : 0] = '\0';
		hoist_buf_printf(&b, NULL, "f %04o %s %s",
				 (unsigned)(st->st_mode & 07777), rel, data);
	} else if (S_ISLNK(st->st_mode)) {
		char target[256];
		ssize_t n = readlink(path, target, sizeof(target) - 1);

		target[n > 0 ? n : 0] = '\0';
		hoist_buf_printf(&b, NULL, "l %s -> %s", rel, target);
	} else if (S_ISFIFO(st->st_mode)) {
		hoist_buf_printf(&b, NULL, "p %04o %s",
				 (unsigned)(st->st_mode & 07777), rel);
	} else {
		hoist_buf_printf(&b, NULL, "? %s", rel);
	}
	if (dump_times)
		hoist_buf_printf(&b, NULL, " @%lld",
				 (long long)st->st_mtim.tv_sec);
	dump_lines = hoist_xreallocarray(dump_lines, dump_n + 1,
					 sizeof(*dump_lines));
	dump_lines[dump_n++] = hoist_buf_detach(&b, NULL);
	return 0;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns a string the caller frees. */
static char *dump_tree(const char *dir, int times)
{
	hoist_buf_init(&dump_buf, HOIST_BUF_UNLIMITED);
	dump_prefix = strlen(dir);
	dump_times = times;
	dump_lines = NULL;
	dump_n = 0;
	assert_int_equal(nftw(dir, dump_one, 16, FTW_PHYS), 0);
	qsort(dump_lines, dump_n, sizeof(*dump_lines), cmp_lines);
	for (size_t i = 0; i < dump_n; i++) {
		hoist_buf_adds(&dump_buf, dump_lines[i], NULL);
		hoist_buf_addch(&dump_buf, '\n', NULL);
		free(dump_lines[i]);
	}
	free(dump_lines);
	return hoist_buf_detach(&dump_buf, NULL);
}

static void assert_tree(const char *expected)
{
	char *got = dump_tree(dest, 0);

	if (strcmp(got, expected) != 0)
		print_message("got:\n%s\nexpected:\n%s\n", got, expected);
	assert_string_equal(got, expected);
	free(got);
}

/* Nothing was created next to dest or in the sentinel. */
static void assert_nothing_outside(void)
{
	char *s = dump_tree(sentinel, 0);
	DIR *d;
	struct dirent *de;

	assert_string_equal(s, "f 0644 target orig\n");
	free(s);
	d = opendir(tmp);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "fx") == 0 ||
		    strcmp(de->d_name, "sentinel") == 0 ||
		    strcmp(de->d_name, "dest") == 0 ||
		    strcmp(de->d_name, "store") == 0)
			continue;
		print_message("unexpected '%s' in %s\n", de->d_name, tmp);
		fail();
	}
	closedir(d);
	assert_int_equal(access("/pwned", F_OK), -1);
}

static void same_inode(const char *a, const char *b, int want)
{
	char pa[256], pb[256];
	struct stat sa, sb;

	snprintf(pa, sizeof(pa), "%s/%s", dest, a);
	snprintf(pb, sizeof(pb), "%s/%s", dest, b);
	assert_int_equal(lstat(pa, &sa), 0);
	assert_int_equal(lstat(pb, &sb), 0);
	assert_int_equal(sa.st_ino == sb.st_ino, want);
}

/*
 * Copy s to out with "@T" replaced by the temp dir and "@R" by the temp dir
 * without its leading '/' (where an absolute path aimed at it lands once
 * re-rooted in dest).
 */
static void expand_tmp(char *out, size_t outlen, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < outlen; s++) {
		if (s[0] == '@' && (s[1] == 'T' || s[1] == 'R')) {
			const char *t = s[1] == 'T' ? tmp : tmp + 1;

			n += (size_t)snprintf(out + n, outlen - n, "%s", t);
			if (n >= outlen)
				n = outlen - 1;
			s++;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
}

/* Run body once with openat2 and once with the userspace walk. */
#define BOTH_RESOLVERS(body)                                                   \
	for (int openat2_on = 1; openat2_on >= 0; openat2_on--) {              \
		hoist_unpack_set_openat2(openat2_on);                          \
		body;                                                          \
	}                                                                      \
	hoist_unpack_set_openat2(1)

struct hostile {
	const char *file;
	int code;
	const char *msg; /* after "layer '<file>': " */
	int sys_errno;
};

static const struct hostile refused[] = {
	{"hardlink-outside.tar", HOIST_ENOTFOUND,
	 "entry 'h': hardlink target '../sentinel/target': parent "
	 "'sentinel': No such file or directory",
	 ENOENT},
	{"hardlink-passwd.tar", HOIST_ENOTFOUND,
	 "entry 'passwd': hardlink target '/etc/passwd': parent 'etc': No "
	 "such file or directory",
	 ENOENT},
	{"hardlink-symlink.tar", HOIST_ENOTFOUND,
	 "entry 'x': hardlink target 's/target': parent 'tmp': No such file "
	 "or directory",
	 ENOENT},
	{"hardlink-loop.tar", HOIST_EINVAL,
	 "entry 'x': hardlink target 'a/y': parent 'a': Too many levels of "
	 "symbolic links",
	 ELOOP},
	{"hardlink-hops41.tar", HOIST_EINVAL,
	 "entry 'x': hardlink target 'l0/t': parent 'l0': Too many levels "
	 "of symbolic links",
	 ELOOP},
	{"hardlink-dir.tar", HOIST_EINVAL,
	 "entry 'x': hardlink target 's/real' is a directory", 0},
	{"loop.tar", HOIST_EINVAL,
	 "entry 'a/x': parent 'a': Too many levels of symbolic links", ELOOP},
	{"self-loop.tar", HOIST_EINVAL,
	 "entry 'etc/shadow': parent 'etc': Too many levels of symbolic "
	 "links",
	 ELOOP},
	{"hops41.tar", HOIST_EINVAL,
	 "entry 'l0/x': parent 'l0': Too many levels of symbolic links", ELOOP},
	{"device.tar", HOIST_EUNSUPPORTED,
	 "entry 'null': device node refused when not running as root", 0},
	{"whiteout-dot.tar", HOIST_EINVAL, "entry '.wh..': invalid whiteout",
	 0},
	{"whiteout-dotdot.tar", HOIST_EINVAL,
	 "entry 'a/.wh...': invalid whiteout", 0},
};

struct contained {
	const char *file;
	const char *tree; /* what dest holds after it */
};

/* The sentinel, seen from inside dest: "@R/sentinel". */
#define RS "d 0755 tmp\nd 0755 @R\nd 0755 @R/sentinel\n"

static const struct contained contained[] = {
	{"dotdot.tar", "d 0755 sentinel\n"
		       "f 0644 ok x\n"
		       "f 0644 sentinel/pwned x\n"},
	{"dotdot-inner.tar", "d 0755 a\n"
			     "d 0755 sentinel\n"
			     "f 0644 sentinel/pwned x\n"},
	{"absolute.tar", RS "f 0644 @R/sentinel/pwned x\n"},
	{"symlink-root.tar", RS "f 0644 @R/sentinel/pwned x\n"
				"l escape -> /\n"},
	{"symlink-abs.tar", RS "f 0644 @R/sentinel/pwned x\n"
			       "l s -> @T/sentinel\n"},
	{"symlink-chain.tar", "d 0755 sentinel\n"
			      "f 0644 sentinel/pwned x\n"
			      "l l1 -> l2\n"
			      "l l2 -> ../sentinel\n"},
	/* d/up is the root, and "up" in the root is a new directory */
	{"symlink-dotdot.tar", "d 0755 d\n"
			       "d 0755 up\n"
			       "d 0755 up/sentinel\n"
			       "f 0644 up/sentinel/pwned x\n"
			       "l d/up -> ..\n"},
	/* w/first went with the directory w */
	{"symlink-swap.tar", RS "f 0644 @R/sentinel/pwned x\n"
				"l w -> @T/sentinel\n"},
	{"chain-escape.tar", "d 0755 etc\n"
			     "f 0644 etc/passwd pwned\n"
			     "l a -> ../../..\n"},
	{"abs-etc.tar", "d 0755 etc\n"
			"f 0644 etc/shadow pwned\n"
			"l conf -> /etc\n"},
	/* not a hostile one: a symlink's meaning changes mid-layer */
	{"stale-cache.tar", "d 0755 d\n"
			    "d 0755 elsewhere\n"
			    "f 0644 d/one 1\n"
			    "f 0644 two 2\n"
			    "l d/c -> /elsewhere\n"
			    "l l -> d/c/..\n"},
	/* the parent is missing in dest: nothing to remove */
	{"whiteout-symlink.tar", "l s -> @T/sentinel\n"},
	{"opaque-symlink.tar", RS "l s -> @T/sentinel\n"},
};

static void check_refused(const struct hostile *c)
{
	struct hoist_err err;
	char msg[512], want[600];
	int rc;

	fresh_dest();
	rc = unpack_file(c->file, NULL, &err);
	expand_tmp(msg, sizeof(msg), c->msg);
	snprintf(want, sizeof(want), "layer '%s': %s", c->file, msg);
	if (rc != c->code || strcmp(err.msg, want) != 0)
		print_message("%s: rc %d: %s\n", c->file, rc, err.msg);
	assert_int_equal(rc, c->code);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.sys_errno, c->sys_errno);
	assert_nothing_outside();
}

static void check_contained(const struct contained *c)
{
	struct hoist_err err;
	char want[1024];
	int rc;

	fresh_dest();
	rc = unpack_file(c->file, NULL, &err);
	if (rc != 0)
		print_message("%s: rc %d: %s\n", c->file, rc, err.msg);
	assert_int_equal(rc, 0);
	expand_tmp(want, sizeof(want), c->tree);
	assert_tree(want);
	assert_nothing_outside();
}

/* Open descriptors of this process, to catch leaks on error paths. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_hostile(void **state)
{
	int fds = count_fds();

	(void)state;
	BOTH_RESOLVERS({
		for (size_t i = 0; i < HOIST_ARRAY_SIZE(refused); i++) {
			/* see test_root and test_unprivileged */
			if (strcmp(refused[i].file, "device.tar") == 0 &&
			    geteuid() == 0)
				continue;
			check_refused(&refused[i]);
		}
		for (size_t i = 0; i < HOIST_ARRAY_SIZE(contained); i++)
			check_contained(&contained[i]);
	});
	assert_int_equal(count_fds(), fds);
}

static const char usrmerge1[] = "d 0555 usr/lib\n"
				"d 0755 usr\n"
				"d 0755 usr/bin\n"
				"d 0755 usr/sbin\n"
				"f 0644 usr/bin/sh sh\n"
				"f 0644 usr/sbin/gone gone\n"
				"l bin -> usr/bin\n"
				"l lib -> usr/lib\n"
				"l lib64 -> /usr/lib64\n"
				"l sbin -> usr/sbin\n";

static const char usrmerge2[] =
	"d 0555 usr/lib\n"
	"d 0755 usr\n"
	"d 0755 usr/bin\n"
	"d 0755 usr/lib/x\n"
	"d 0755 usr/lib/x86_64-linux-gnu\n"
	"d 0755 usr/lib64\n"
	"d 0755 usr/sbin\n"
	"f 0644 usr/bin/sh sh\n"
	"f 0644 usr/bin/sh2 sh\n"
	"f 0644 usr/bin/tool tool\n"
	"f 0644 usr/lib/x/y y\n"
	"f 0644 usr/lib/x86_64-linux-gnu/libfoo.so.1 foo\n"
	"f 0644 usr/lib64/ld.so ld\n"
	"l bin -> usr/bin\n"
	"l lib -> usr/lib\n"
	"l lib64 -> /usr/lib64\n"
	"l sbin -> usr/sbin\n"
	"l usr/lib/x86_64-linux-gnu/libfoo.so -> "
	"libfoo.so.1\n";

/* A merged-/usr base, then a layer writing lib/..., bin/... */
static void test_usrmerge(void **state)
{
	struct hoist_err err;

	(void)state;
	BOTH_RESOLVERS({
		fresh_dest();
		assert_int_equal(unpack_file("usrmerge-base.tar", NULL, &err),
				 0);
		assert_tree(usrmerge1);
		assert_int_equal(unpack_file("usrmerge-top.tar", NULL, &err),
				 0);
		assert_tree(usrmerge2);
		same_inode("usr/bin/sh", "usr/bin/sh2", 1);
		assert_nothing_outside();
	});
}

static const char via_base[] = "d 0755 real\n"
			       "d 0755 real/sub\n"
			       "f 0644 real/keep k\n"
			       "f 0644 real/sub/old o\n"
			       "f 0644 real/target t\n"
			       "l s -> /real\n";

/* Whiteouts, opaque markers and hardlinks through a symlinked directory. */
static void test_through_symlinks(void **state)
{
	struct hoist_err err;

	(void)state;
	BOTH_RESOLVERS({
		fresh_dest();
		assert_int_equal(unpack_file("via-base.tar", NULL, &err), 0);
		assert_tree(via_base);
		assert_int_equal(unpack_file("via-whiteout.tar", NULL, &err),
				 0);
		assert_tree("d 0755 real\n"
			    "d 0755 real/sub\n"
			    "f 0644 real/keep k\n"
			    "f 0644 real/sub/old o\n"
			    "l s -> /real\n");

		/* What this layer wrote through s is kept by the marker
		 * s/.wh..wh..opq, which clears real. */
		fresh_dest();
		assert_int_equal(unpack_file("via-base.tar", NULL, &err), 0);
		assert_int_equal(unpack_file("via-opaque.tar", NULL, &err), 0);
		assert_tree("d 0755 real\n"
			    "d 0755 real/sub\n"
			    "f 0644 real/new new\n"
			    "f 0644 real/sub/n2 n2\n"
			    "l s -> /real\n");

		fresh_dest();
		assert_int_equal(unpack_file("via-base.tar", NULL, &err), 0);
		assert_int_equal(unpack_file("via-hardlink.tar", NULL, &err),
				 0);
		assert_tree("d 0755 real\n"
			    "d 0755 real/sub\n"
			    "f 0644 real/keep k\n"
			    "f 0644 real/sub/old o\n"
			    "f 0644 real/target t\n"
			    "f 0644 x k\n"
			    "f 0644 y k\n"
			    "l etc -> /real\n"
			    "l s -> /real\n"
			    "l z -> /real\n");
		same_inode("x", "real/keep", 1);
		same_inode("y", "real/keep", 1);
		same_inode("z", "etc", 1);

		/* An entry replaces a symlink at its name, file or dir. */
		fresh_dest();
		assert_int_equal(unpack_file("replace-link.tar", NULL, &err),
				 0);
		assert_tree("d 0755 m\n"
			    "d 0755 real\n"
			    "f 0644 l new\n"
			    "f 0644 real/f orig\n");
		assert_nothing_outside();
	});
}

/* 40 symlinks in one lookup are fine, 41 are not (see refused[]). */
static void test_hops(void **state)
{
	struct hoist_err err;
	char path[256];
	struct stat st;

	(void)state;
	BOTH_RESOLVERS({
		fresh_dest();
		assert_int_equal(unpack_file("hops40.tar", NULL, &err), 0);
		snprintf(path, sizeof(path), "%s/dir/x", dest);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));

		fresh_dest();
		assert_int_equal(unpack_file("hardlink-hops40.tar", NULL, &err),
				 0);
		same_inode("x", "dir/t", 1);
		assert_nothing_outside();
	});
}

static const char tree1[] = "d 0755 a\n"
			    "d 0755 a/b\n"
			    "d 0755 c\n"
			    "d 0755 c/sub\n"
			    "d 0755 ro\n"
			    "f 0644 a/b/deep deep\n"
			    "f 0644 a/gone gone\n"
			    "f 0644 a/keep keep\n"
			    "f 0644 c/old old\n"
			    "f 0644 c/sub/x x\n"
			    "f 0644 hard twin\n"
			    "f 0644 ro/file ro\n"
			    "f 0644 top top\n"
			    "f 0644 twin twin\n"
			    "f 4755 exec #!/bin/sh\n"
			    "l link -> a/keep\n"
			    "p 0600 p\n";

static const char tree2[] = "d 0555 ro\n"
			    "d 0755 a\n"
			    "d 0755 c\n"
			    "d 0755 c/sub\n"
			    "d 0755 link\n"
			    "f 0644 a/b now a file\n"
			    "f 0644 c/after after\n"
			    "f 0644 c/new new\n"
			    "f 0644 c/sub/y y\n"
			    "f 0644 hard replaced\n"
			    "f 0644 ro/file ro\n"
			    "f 0644 twin twin\n"
			    "f 4755 exec #!/bin/sh\n"
			    "l a/keep -> ../top\n"
			    "p 0600 p\n";

static const char tree3[] = "d 0555 e\n"
			    "d 0555 ro\n"
			    "d 0755 a\n"
			    "d 0755 link\n"
			    "f 0644 e/f f\n"
			    "f 0644 hard replaced\n"
			    "f 0644 ro/file ro\n"
			    "f 0644 ro/more more\n"
			    "f 0644 twin twin\n"
			    "f 4755 exec #!/bin/sh\n"
			    "l a/keep -> ../top\n"
			    "p 0600 p\n";

static void test_layers_in_order(void **state)
{
	struct hoist_err err;

	(void)state;
	fresh_dest();
	assert_int_equal(unpack_file("layer1.tar", NULL, &err), 0);
	assert_tree(tree1);
	same_inode("hard", "twin", 1);
	assert_int_equal(unpack_file("layer2.tar", NULL, &err), 0);
	assert_tree(tree2);
	/* rewriting one name of a hardlinked pair leaves the other alone */
	same_inode("hard", "twin", 0);
	assert_int_equal(unpack_file("layer3.tar", NULL, &err), 0);
	assert_tree(tree3);
	assert_nothing_outside();
}

static void test_compressed(void **state)
{
	static const char *const names[] = {"layer1.tar.gz", "layer1.tar.zst"};
	struct hoist_err err;

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(names); i++) {
		fresh_dest();
		assert_int_equal(unpack_file(names[i], NULL, &err), 0);
		assert_tree(tree1);
	}
	fresh_dest();
	assert_int_equal(unpack_file("layer1.tar.zst", NULL, &err), 0);
	assert_int_equal(unpack_file("layer2.tar.gz", NULL, &err), 0);
	assert_int_equal(unpack_file("layer3.tar.zst", NULL, &err), 0);
	assert_tree(tree3);
}

static void test_parents_and_dots(void **state)
{
	struct hoist_err err;

	(void)state;
	fresh_dest();
	assert_int_equal(unpack_file("sparse-order.tar", NULL, &err), 0);
	assert_tree("d 0700 x\n"
		    "d 0755 x/y\n"
		    "f 0644 x/w w\n"
		    "f 0644 x/y/z z\n");
}

static void test_times(void **state)
{
	struct hoist_unpack_opts o = {.epoch = 1234, .keep_owner = 0};
	struct hoist_err err;
	struct stat st;
	char *got;

	(void)state;
	/* Directory mtimes survive the children written after them. */
	fresh_dest();
	assert_int_equal(unpack_file("layer1.tar", NULL, &err), 0);
	got = dump_tree(dest, 1);
	assert_non_null(strstr(got, "d 0755 a @1700000000\n"));
	assert_non_null(strstr(got, "d 0755 c/sub @1700000000\n"));
	assert_non_null(strstr(got, "l link -> a/keep @1700000000\n"));
	assert_non_null(strstr(got, "f 0644 a/keep keep @1700000000\n"));
	free(got);

	/* With an epoch, everything, implicit parents and dest included. */
	fresh_dest();
	assert_int_equal(unpack_file("layer1.tar", &o, &err), 0);
	assert_int_equal(unpack_file("layer2.tar", &o, &err), 0);
	got = dump_tree(dest, 1);
	for (char *line = got, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (!strstr(line, " @1234"))
			print_message("not at epoch: %s\n", line);
		assert_non_null(strstr(line, " @1234"));
	}
	free(got);
	assert_int_equal(lstat(dest, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1234);
}

/* Read the blob from the store, with the digest checked. */
static void read_fixture(const char *name, char **data, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fx, name);
	*data = tl_must_read(path, len);
}

static void overwrite_blob(struct hoist_store *s, const char *digest,
			   const char *data, size_t len)
{
	char *path = hoist_store_blob_path(s, digest);
	int fd;

	assert_non_null(path);
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(hoist_fs_write_all(fd, data, len, "blob", NULL), 0);
	close(fd);
	free(path);
}

static void test_store(void **state)
{
	struct hoist_store *s = NULL;
	struct hoist_digest d1, d3;
	struct hoist_err err;
	char root[160], *l1, *l3, *bad;
	size_t n1, n3;

	(void)state;
	snprintf(root, sizeof(root), "%s/store", tmp);
	assert_int_equal(hoist_store_open(&s, root, &err), 0);
	read_fixture("layer1.tar.gz", &l1, &n1);
	read_fixture("layer3.tar", &l3, &n3);
	assert_int_equal(hoist_store_put(s, l1, n1, &d1, &err), 0);
	assert_int_equal(hoist_store_put(s, l3, n3, &d3, &err), 0);

	fresh_dest();
	assert_int_equal(hoist_unpack_layer(s, d1.str, dest, NULL, &err), 0);
	assert_tree(tree1);

	/* Another valid tar under d3's name: applied, then refused. */
	overwrite_blob(s, d3.str, l1, n1);
	fresh_dest();
	assert_int_equal(hoist_unpack_layer(s, d3.str, dest, NULL, &err),
			 HOIST_EDIGEST);
	assert_non_null(strstr(err.msg, d3.str));
	assert_non_null(strstr(err.msg, "content has digest 'sha256:"));

	/* Trailing bytes libarchive never asks for still count. */
	bad = hoist_xmalloc(n1 + 4);
	memcpy(bad, l1, n1);
	memcpy(bad + n1, "junk", 4);
	overwrite_blob(s, d1.str, bad, n1 + 4);
	fresh_dest();
	assert_int_equal(hoist_unpack_layer(s, d1.str, dest, NULL, &err),
			 HOIST_EDIGEST);
	/* So do missing ones: the stream breaks, the digest is the news. */
	overwrite_blob(s, d1.str, l1, n1 / 2);
	fresh_dest();
	assert_int_equal(hoist_unpack_layer(s, d1.str, dest, NULL, &err),
			 HOIST_EDIGEST);
	overwrite_blob(s, d1.str, l1, n1);
	fresh_dest();
	assert_int_equal(hoist_unpack_layer(s, d1.str, dest, NULL, &err), 0);
	assert_tree(tree1);

	assert_int_equal(
		hoist_unpack_layer(s,
				   "sha256:00000000000000000000000000000000"
				   "00000000000000000000000000000000",
				   dest, NULL, &err),
		HOIST_ENOTFOUND);
	assert_int_equal(hoist_unpack_layer(s, "sha256:abc", dest, NULL, &err),
			 HOIST_EINVAL);
	assert_int_equal(
		hoist_unpack_layer(s, d1.str, "/nonexistent/dest", NULL, &err),
		HOIST_ENOTFOUND);
	free(bad);
	free(l1);
	free(l3);
	hoist_store_close(s);
	assert_nothing_outside();
}

/* As root: device nodes are made, owners kept only when asked. */
static void test_root(void **state)
{
	struct hoist_unpack_opts keep = {.epoch = -1, .keep_owner = 1};
	struct hoist_err err;
	struct stat st;
	char path[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	fresh_dest();
	assert_int_equal(unpack_file("device.tar", NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/null", dest);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);

	fresh_dest();
	assert_int_equal(unpack_file("owners.tar", NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/o/f", dest);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);

	fresh_dest();
	assert_int_equal(unpack_file("owners.tar", &keep, &err), 0);
	assert_tree("d 0750 o\n"
		    "f 2755 o/f x\n"
		    "l o/l -> f\n");
	for (size_t i = 0; i < 3; i++) {
		static const char *const names[] = {"o", "o/f", "o/l"};

		snprintf(path, sizeof(path), "%s/%s", dest, names[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
	}
}

/*
 * The non-root paths (read-only directories opened up while a layer fills
 * them and closed again, also when reached through a symlink; device nodes
 * refused) in a child that drops to nobody. The child reports by exit
 * status; the parent checks the trees: dest gets layer1..3, dest2 the
 * merged-/usr pair with openat2, dest3 the same with the userspace walk and
 * then a symlink loop.
 */
static const char *const child_layers[] = {
	"layer1.tar",        "layer2.tar",       "layer3.tar", "device.tar",
	"usrmerge-base.tar", "usrmerge-top.tar", "loop.tar",
};

static int child_apply(int fd, const char *dir, const char *name)
{
	struct hoist_err err;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	if (hoist_unpack_fd(fd, dir, NULL, name, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int unprivileged_child(const char *dest2, const char *dest3)
{
	int fds[HOIST_ARRAY_SIZE(child_layers)];
	struct hoist_err err;
	char path[256];

	for (size_t i = 0; i < HOIST_ARRAY_SIZE(child_layers); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx, child_layers[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return 10;
	}
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 11;
	for (size_t i = 0; i < 3; i++) {
		if (child_apply(fds[i], dest, child_layers[i]) < 0)
			return 20 + (int)i;
	}
	if (hoist_unpack_fd(fds[3], dest, NULL, "device.tar", &err) !=
		    HOIST_EUNSUPPORTED ||
	    strcmp(err.msg, "layer 'device.tar': entry 'null': device node "
			    "refused when not running as root") != 0)
		return 30;
	if (child_apply(fds[4], dest2, child_layers[4]) < 0 ||
	    child_apply(fds[5], dest2, child_layers[5]) < 0)
		return 40;
	hoist_unpack_set_openat2(0);
	if (child_apply(fds[4], dest3, child_layers[4]) < 0 ||
	    child_apply(fds[5], dest3, child_layers[5]) < 0)
		return 41;
	if (hoist_unpack_fd(fds[6], dest3, NULL, "loop.tar", &err) !=
		    HOIST_EINVAL ||
	    err.sys_errno != ELOOP)
		return 50;
	return 0;
}

static void assert_tree_at(const char *dir, const char *expected)
{
	char *got = dump_tree(dir, 0);

	if (strcmp(got, expected) != 0)
		print_message("%s: got:\n%s\nexpected:\n%s\n", dir, got,
			      expected);
	assert_string_equal(got, expected);
	free(got);
}

static void test_unprivileged(void **state)
{
	char dest2[160], dest3[160];
	struct hoist_buf want = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	const char *bin;
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the other tests already ran unprivileged */
	snprintf(dest2, sizeof(dest2), "%s/dest2", tmp);
	snprintf(dest3, sizeof(dest3), "%s/dest3", tmp);
	fresh_dest();
	tl_must_run("rm -rf '%s' '%s' && mkdir '%s' '%s'", dest2, dest3, dest2,
		    dest3);
	tl_must_run("chmod 0755 '%s' && chown 65534:65534 '%s' '%s' '%s'", tmp,
		    dest, dest2, dest3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unprivileged_child(dest2, dest3));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	tl_must_run("chmod 0700 '%s'", tmp);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_tree(tree3);
	assert_tree_at(dest2, usrmerge2);
	/* the loop's symlinks were made before the entry through them */
	bin = strstr(usrmerge2, "l bin ->");
	assert_non_null(bin);
	hoist_buf_add(&want, usrmerge2, (size_t)(bin - usrmerge2), NULL);
	hoist_buf_adds(&want, "l a -> b\nl b -> a\n", NULL);
	hoist_buf_adds(&want, bin, NULL);
	assert_tree_at(dest3, want.data);
	hoist_buf_release(&want);
	tl_must_run("chmod -R u+rwx '%s' '%s' && rm -rf '%s' '%s'", dest2,
		    dest3, dest2, dest3);
	assert_nothing_outside();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_usrmerge),
		cmocka_unit_test(test_through_symlinks),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_layers_in_order),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_parents_and_dots),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_unprivileged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
