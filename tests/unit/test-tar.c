/*
 * test-tar.c: the deterministic tar writer, byte for byte. Golden header
 * bytes (checksums cross-checked against Python's tarfile, which writes the
 * same ustar layout), PAX record texts, and a real tree walked, written to
 * a file and listed by GNU tar and bsdtar.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/tar.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

static int mem_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	return hoist_buf_add(ctx, data, len, err);
}

struct arch {
	struct hoist_buf out;
	struct hoist_sink sink;
	struct hoist_tar_writer *w;
	struct hoist_err err;
};

static void arch_init(struct arch *a)
{
	memset(a, 0, sizeof(*a));
	hoist_buf_init(&a->out, HOIST_BUF_UNLIMITED);
	a->sink.write = mem_write;
	a->sink.ctx = &a->out;
	hoist_tar_writer_new(&a->w, &a->sink);
}

static void arch_release(struct arch *a)
{
	hoist_tar_writer_free(a->w);
	hoist_buf_release(&a->out);
}

static const unsigned char *at(const struct arch *a, size_t off)
{
	assert_true(off < a->out.len);
	return (const unsigned char *)a->out.data + off;
}

#define assert_field(a, off, lit)                                              \
	assert_memory_equal(at(a, off), lit, sizeof(lit) - 1)

static uint64_t octal(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

/* Recompute a header's checksum and compare with its field. */
static void assert_checksum(const struct arch *a, size_t off)
{
	const unsigned char *h = at(a, off);
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	assert_int_equal(octal(h + 148, 6), sum);
	assert_int_equal(h[154], '\0');
	assert_int_equal(h[155], ' ');
}

static void put(struct arch *a, const struct hoist_tar_entry *e,
		const char *data)
{
	assert_int_equal(hoist_tar_write_header(a->w, e, &a->err), 0);
	if (data)
		assert_int_equal(
			hoist_tar_write_data(a->w, data, strlen(data), &a->err),
			0);
}

static void test_regular_golden(void **state)
{
	struct hoist_tar_entry e = {0};
	struct arch a;
	FILE *f;
	char py[512];
	size_t i;

	(void)state;
	arch_init(&a);
	e.name = "hello.txt";
	e.type = HOIST_TAR_REG;
	e.mode = 0644;
	e.uid = e.gid = 1000;
	e.mtime = 1700000000;
	e.size = 5;
	put(&a, &e, "hello");
	assert_int_equal(hoist_tar_writer_finish(a.w, &a.err), 0);

	/* header + one data block + two zero blocks */
	assert_int_equal(a.out.len, 4 * 512);
	assert_field(&a, 0, "hello.txt\0");
	assert_field(&a, 100, "0000644\0");
	assert_field(&a, 108, "0001750\0");
	assert_field(&a, 116, "0001750\0");
	assert_field(&a, 124, "00000000005\0");
	assert_field(&a, 136, "14524770400\0");
	assert_field(&a, 148, "011140\0 ");
	assert_int_equal(*at(&a, 156), '0');
	assert_field(&a, 257,
		     "ustar\0"
		     "00");
	assert_field(&a, 329,
		     "0000000\0"
		     "0000000\0");
	assert_checksum(&a, 0);
	/* uname, gname, prefix empty */
	for (i = 265; i < 329; i++)
		assert_int_equal(*at(&a, i), 0);
	assert_field(&a, 512, "hello");
	for (i = 512 + 5; i < a.out.len; i++)
		assert_int_equal(*at(&a, i), 0);

	/* Byte-identical with Python's ustar header when it is around. */
	if (system("python3 -c 'import tarfile' 2>/dev/null") == 0 &&
	    system("python3 -c \"import tarfile,sys\n"
		   "t=tarfile.TarInfo('hello.txt');t.mode=0o644;"
		   "t.uid=t.gid=1000;t.size=5;t.mtime=1700000000;"
		   "t.uname=t.gname='';"
		   "sys.stdout.buffer.write(t.tobuf(format=tarfile.USTAR_"
		   "FORMAT))"
		   "\" > test-tar-py.hdr") == 0) {
		f = fopen("test-tar-py.hdr", "rb");
		assert_non_null(f);
		assert_int_equal(fread(py, 1, sizeof(py), f), 512);
		fclose(f);
		unlink("test-tar-py.hdr");
		/*
		 * Python leaves the device fields of non-devices NUL; we
		 * write zeros there as Go's archive/tar does (BuildKit's
		 * writer), which moves the checksum by 14 * '0'.
		 */
		assert_memory_equal(py, at(&a, 0), 148);
		assert_memory_equal(py + 156, at(&a, 156), 329 - 156);
		assert_memory_equal(py + 345, at(&a, 345), 512 - 345);
		assert_int_equal(octal((unsigned char *)py + 148, 6) + 14 * '0',
				 octal(at(&a, 148), 6));
	}
	arch_release(&a);
}

static void test_exact_block_no_padding(void **state)
{
	struct hoist_tar_entry e = {0};
	char data[512];
	struct arch a;

	(void)state;
	memset(data, 'z', sizeof(data));
	arch_init(&a);
	e.name = "block";
	e.type = HOIST_TAR_REG;
	e.mode = 0600;
	e.size = 512;
	assert_int_equal(hoist_tar_write_header(a.w, &e, &a.err), 0);
	/* a header before the data is complete is refused */
	assert_int_equal(hoist_tar_write_header(a.w, &e, &a.err), HOIST_EINVAL);
	assert_int_equal(hoist_tar_writer_finish(a.w, &a.err), HOIST_EINVAL);
	assert_int_equal(hoist_tar_write_data(a.w, data, 200, &a.err), 0);
	assert_int_equal(hoist_tar_write_data(a.w, data, 313, &a.err),
			 HOIST_EINVAL);
	assert_int_equal(hoist_tar_write_data(a.w, data, 312, &a.err), 0);
	assert_int_equal(a.out.len, 1024);
	assert_int_equal(hoist_tar_writer_finish(a.w, &a.err), 0);
	assert_int_equal(a.out.len, 2048);
	arch_release(&a);
}

static void test_split_prefix(void **state)
{
	struct hoist_tar_entry e = {0};
	char name[200];
	struct arch a;

	(void)state;
	/* 120 + '/' + 50 = 171 bytes: fits as prefix/name, no PAX */
	memset(name, 'd', 120);
	name[120] = '/';
	memset(name + 121, 'f', 50);
	name[171] = '\0';
	arch_init(&a);
	e.name = name;
	e.type = HOIST_TAR_REG;
	e.mode = 0644;
	put(&a, &e, NULL);
	assert_int_equal(a.out.len, 512);
	assert_memory_equal(at(&a, 0), name + 121, 50);
	assert_int_equal(*at(&a, 50), 0);
	assert_memory_equal(at(&a, 345), name, 120);
	assert_int_equal(*at(&a, 345 + 120), 0);
	assert_int_equal(*at(&a, 156), '0');
	assert_checksum(&a, 0);
	arch_release(&a);
}

static void test_long_name_pax(void **state)
{
	struct hoist_tar_entry e = {0};
	char name[301], rec[400];
	struct arch a;
	int n;

	(void)state;
	/* 300 bytes, one '/' too early to split: needs PAX "path" */
	memset(name, 'n', 300);
	name[4] = '/';
	name[300] = '\0';
	arch_init(&a);
	e.name = name;
	e.type = HOIST_TAR_REG;
	e.mode = 0644;
	e.mtime = 7;
	e.size = 1;
	put(&a, &e, "x");
	/* pax header, pax data (1 block), header, data */
	assert_int_equal(a.out.len, 4 * 512);
	assert_field(&a, 0, "PaxHeaders/");
	assert_memory_equal(at(&a, 11), name + 5, 89);
	assert_int_equal(*at(&a, 156), 'x');
	assert_field(&a, 100,
		     "0000644\0"
		     "0000000\0"
		     "0000000\0");
	assert_field(&a, 136, "00000000000\0");
	assert_field(&a, 257,
		     "ustar\0"
		     "00");
	assert_checksum(&a, 0);
	/* 4 + 300 + 3 = 307 plus three digits: 310 */
	n = snprintf(rec, sizeof(rec), "310 path=%s\n", name);
	assert_int_equal(n, 310);
	assert_int_equal(octal(at(&a, 124), 11), 310);
	assert_memory_equal(at(&a, 512), rec, 310);
	assert_int_equal(*at(&a, 512 + 310), 0);
	/* the real header carries a truncated name */
	assert_memory_equal(at(&a, 1024), name, 100);
	assert_int_equal(*at(&a, 1024 + 156), '0');
	assert_field(&a, 1024 + 124, "00000000001\0");
	assert_checksum(&a, 1024);
	assert_int_equal(*at(&a, 1536), 'x');
	arch_release(&a);
}

static void test_long_link_and_xattr(void **state)
{
	static const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0, 0x04};
	struct hoist_tar_xattr xs[2];
	struct hoist_tar_entry e = {0};
	char target[151], val[77], rec[512];
	struct arch a;
	const char *p;
	int n;

	(void)state;
	memset(target, 't', 150);
	target[150] = '\0';
	memset(val, 'v', 76);
	val[76] = '\0';
	arch_init(&a);
	e.name = "sym";
	e.type = HOIST_TAR_SYMLINK;
	e.mode = 0777;
	e.linkname = target;
	/* given unsorted; the writer sorts them */
	xs[0].name = "user.x";
	xs[0].value = val;
	xs[0].len = 76;
	xs[1].name = "security.capability";
	xs[1].value = cap;
	xs[1].len = sizeof(cap);
	e.xattrs = xs;
	e.nxattrs = 2;
	put(&a, &e, NULL);

	p = (const char *)at(&a, 512);
	/* key 32 + value 20 + 3 = 55, plus 2 digits */
	assert_memory_equal(p, "57 SCHILY.xattr.security.capability=", 36);
	assert_memory_equal(p + 36, cap, 20);
	assert_int_equal(p[56], '\n');
	p += 57;
	/* 19 + 76 + 3 = 98; two digits make 100, which has three: 101 */
	n = snprintf(rec, sizeof(rec), "101 SCHILY.xattr.user.x=%s\n", val);
	assert_int_equal(n, 101);
	assert_memory_equal(p, rec, 101);
	p += 101;
	/* 8 + 150 + 3 = 161, plus three digits */
	n = snprintf(rec, sizeof(rec), "164 linkpath=%s\n", target);
	assert_int_equal(n, 164);
	assert_memory_equal(p, rec, 164);
	assert_int_equal(octal(at(&a, 124), 11), 57 + 101 + 164);
	assert_field(&a, 0, "PaxHeaders/sym\0");
	/* the entry: symlink, truncated target */
	assert_field(&a, 1024, "sym\0");
	assert_int_equal(*at(&a, 1024 + 156), '2');
	assert_memory_equal(at(&a, 1024 + 157), target, 100);
	assert_field(&a, 1024 + 124, "00000000000\0");
	assert_checksum(&a, 1024);
	arch_release(&a);
}

static void test_link_device_big(void **state)
{
	struct hoist_tar_entry e = {0};
	struct arch a;

	(void)state;
	arch_init(&a);
	e.name = "hard2";
	e.type = HOIST_TAR_HARDLINK;
	e.mode = 0644;
	e.linkname = "hard1";
	e.size = 99; /* ignored: links carry no data */
	put(&a, &e, NULL);
	assert_int_equal(a.out.len, 512);
	assert_int_equal(*at(&a, 156), '1');
	assert_field(&a, 157, "hard1\0");
	assert_field(&a, 124, "00000000000\0");
	assert_field(&a, 148, "011037\0 ");

	memset(&e, 0, sizeof(e));
	e.name = "dev/null";
	e.type = HOIST_TAR_CHR;
	e.mode = 0666;
	e.devmajor = 1;
	e.devminor = 3;
	put(&a, &e, NULL);
	assert_int_equal(*at(&a, 512 + 156), '3');
	assert_field(&a, 512 + 329,
		     "0000001\0"
		     "0000003\0");
	assert_field(&a, 512 + 148, "010661\0 ");

	/* a directory gets its '/' */
	memset(&e, 0, sizeof(e));
	e.name = "dir";
	e.type = HOIST_TAR_DIR;
	e.mode = 0755;
	put(&a, &e, NULL);
	assert_field(&a, 1024, "dir/\0");
	assert_int_equal(*at(&a, 1024 + 156), '5');

	/* ids >= 2^21 and sizes >= 8 GiB go to PAX */
	memset(&e, 0, sizeof(e));
	e.name = "big";
	e.type = HOIST_TAR_REG;
	e.mode = 0644;
	e.uid = 1U << 21;
	e.gid = 5;
	e.size = 8ULL << 30;
	put(&a, &e, NULL);
	assert_int_equal(*at(&a, 1536 + 156), 'x');
	assert_memory_equal(at(&a, 2048),
			    "19 size=8589934592\n"
			    "15 uid=2097152\n",
			    34);
	assert_field(&a, 2560 + 108,
		     "0000000\0"
		     "0000005\0"
		     "00000000000\0");

	/* a name PAX cannot hold is refused, not written half */
	{
		struct hoist_tar_xattr bad[2] = {{"user.a", "1", 1},
						 {"user.b=c", "2", 1}};
		size_t before;

		/* the big file above is still open: start afresh */
		arch_release(&a);
		arch_init(&a);
		before = a.out.len;
		memset(&e, 0, sizeof(e));
		e.name = "x";
		e.type = HOIST_TAR_FIFO;
		e.xattrs = bad;
		e.nxattrs = 2;
		assert_int_equal(hoist_tar_write_header(a.w, &e, &a.err),
				 HOIST_EINVAL);
		assert_non_null(strstr(a.err.msg, "'user.b=c'"));
		assert_int_equal(a.out.len, before);
	}
	arch_release(&a);
}

static void write_sample(struct arch *a)
{
	struct hoist_tar_entry e = {0};
	struct hoist_tar_xattr x = {"user.k", "v\0w", 3};
	char longname[400];

	memset(longname, 'q', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	arch_init(a);
	e.name = "a/";
	e.type = HOIST_TAR_DIR;
	e.mode = 0755;
	e.mtime = 1;
	put(a, &e, NULL);
	e.name = longname;
	e.type = HOIST_TAR_REG;
	e.size = 3;
	e.xattrs = &x;
	e.nxattrs = 1;
	put(a, &e, "abc");
	assert_int_equal(hoist_tar_writer_finish(a->w, &a->err), 0);
}

static void test_deterministic(void **state)
{
	struct arch a, b;

	(void)state;
	write_sample(&a);
	write_sample(&b);
	assert_int_equal(a.out.len, b.out.len);
	assert_memory_equal(a.out.data, b.out.data, a.out.len);
	assert_int_equal(a.out.len % 512, 0);
	arch_release(&a);
	arch_release(&b);
}

/* --- a real tree --- */

struct parsed {
	char name[512];
	char type;
	uint64_t mtime, size;
	uint32_t mode;
};

/* Walk the archive: entries in order, with PAX path applied. */
static size_t parse(const struct arch *a, struct parsed *out, size_t max)
{
	size_t off = 0, n = 0;
	char pax_path[512] = "";

	while (off + 512 <= a->out.len && n < max) {
		const unsigned char *h = at(a, off);
		uint64_t size;

		if (h[0] == 0)
			break;
		size = octal(h + 124, 11);
		if (h[156] == 'x') {
			const char *p = (const char *)h + 512;
			const char *end = p + size;

			while (p < end) {
				size_t len = (size_t)strtoul(p, NULL, 10);
				const char *kv = memchr(p, ' ', len) + 1;

				if (strncmp(kv, "path=", 5) == 0)
					snprintf(pax_path, sizeof(pax_path),
						 "%.*s",
						 (int)(p + len - kv - 6),
						 kv + 5);
				p += len;
			}
		} else {
			struct parsed *e = &out[n++];

			if (pax_path[0])
				snprintf(e->name, sizeof(e->name), "%s",
					 pax_path);
			else if (h[345])
				snprintf(e->name, sizeof(e->name),
					 "%.155s/%.100s", h + 345, h);
			else
				snprintf(e->name, sizeof(e->name), "%.100s", h);
			pax_path[0] = '\0';
			e->type = (char)h[156];
			e->mtime = octal(h + 136, 11);
			e->size = size;
			e->mode = (uint32_t)octal(h + 100, 7);
		}
		off += 512 + (size + 511) / 512 * 512;
	}
	return n;
}

static char tmpdir[] = "/tmp/hoist-test-tar-XXXXXX";
static int warned_socket;

static void log_cb(enum hoist_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level == HOIST_LOG_WARN && strstr(msg, "socket 'sock'"))
		warned_socket = 1;
}

static void mkfile(const char *rel, const char *data, mode_t mode)
{
	char *p = hoist_xasprintf("%s/%s", tmpdir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static char *tpath(const char *rel)
{
	return hoist_xasprintf("%s/%s", tmpdir, rel);
}

static char long_dir[61], long_file[90];
static int have_dev, have_cap;
static const unsigned char capval[20] = {0x01, 0, 0, 0x02, 0, 0x04};

static int tree_setup(void **state)
{
	struct sockaddr_un sa;
	char *p, *q;
	int s;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	p = tpath("src");
	mkdir(p, 0755);
	free(p);
	mkfile("src/exec", "#!/bin/sh\n", 0751);
	p = tpath("src/bin");
	mkdir(p, 0755);
	free(p);
	mkfile("src/bin/tool", "tool\n", 04755);
	p = tpath("src/link");
	if (symlink("bin/tool", p) < 0)
		return -1;
	free(p);
	mkfile("src/hard1", "same inode\n", 0644);
	p = tpath("src/hard1");
	q = tpath("src/hard2");
	if (link(p, q) < 0)
		return -1;
	free(p);
	free(q);
	p = tpath("src/fifo");
	if (mkfifo(p, 0644) < 0)
		return -1;
	free(p);
	p = tpath("src/empty");
	mkdir(p, 0700);
	free(p);
	/* 60 + '/' + 89 = a 150-byte path */
	memset(long_dir, 'L', 60);
	memset(long_file, 'f', 89);
	p = hoist_xasprintf("%s/src/%s", tmpdir, long_dir);
	mkdir(p, 0755);
	free(p);
	p = hoist_xasprintf("src/%s/%s", long_dir, long_file);
	mkfile(p, "deep\n", 0644);
	free(p);
	if (geteuid() == 0) {
		p = tpath("src/null");
		have_dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0 &&
			   chmod(p, 0666) == 0;
		free(p);
	}
	p = tpath("src/exec");
	have_cap = setxattr(p, "security.capability", capval, sizeof(capval),
			    0) == 0;
	free(p);
	/* a socket is skipped with a warning */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/src/sock", tmpdir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	close(s);
	return 0;
}

static int tree_teardown(void **state)
{
	(void)state;
	hoist_fs_rm_rf(tmpdir, NULL);
	return 0;
}

static void write_tree(struct arch *a, const struct hoist_tar_tree_opts *o)
{
	char *src = tpath("src");

	arch_init(a);
	if (hoist_tar_write_tree(a->w, src, o, &a->err) < 0)
		fail_msg("write tree: %s", a->err.msg);
	assert_int_equal(hoist_tar_writer_finish(a->w, &a->err), 0);
	free(src);
}

static char *run(const char *cmd)
{
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	char line[1024];
	FILE *f = popen(cmd, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		assert_int_equal(hoist_buf_adds(&b, line, NULL), 0);
	assert_int_equal(pclose(f), 0);
	return hoist_buf_detach(&b, NULL);
}

static void assert_line(const char *listing, const char *a, const char *b)
{
	const char *p = listing;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		char *line =
			hoist_xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
		int ok = strstr(line, a) && (!b || strstr(line, b));

		free(line);
		if (ok)
			return;
		p = nl ? nl + 1 : NULL;
	}
	fail_msg("no line with '%s' and '%s' in:\n%s", a, b ? b : "", listing);
}

/*
 * A tree as text: type, mode, size, link target, inode-sharing and
 * content of every entry but sockets (which tar cannot hold).
 */
static char *describe(const char *dir)
{
	char *cmd = hoist_xasprintf(
		"cd '%s' && find . ! -type s ! -name . -printf "
		"'%%p %%y %%m %%s %%n %%l\\n' | LC_ALL=C sort && "
		"find . -type f -exec md5sum {} + | LC_ALL=C sort",
		dir);
	char *out = run(cmd);

	free(cmd);
	return out;
}

static void test_tree_listing(void **state)
{
	struct hoist_tar_tree_opts o = {NULL, -1, 0, 0};
	struct parsed ents[32];
	char *tarfile = tpath("out.tar"), *cmd, *ls, *longpath;
	struct arch a;
	size_t n, i;
	FILE *f;

	(void)state;
	hoist_log_set(log_cb, NULL);
	warned_socket = 0;
	write_tree(&a, &o);
	hoist_log_set(NULL, NULL);
	assert_true(warned_socket);

	/* byte-wise order at every level, no socket, dirs with '/' */
	n = parse(&a, ents, 32);
	longpath = hoist_xasprintf("%s/%s", long_dir, long_file);
	{
		char *dirname = hoist_xasprintf("%s/", long_dir);
		const char *want[] = {
			dirname,  longpath, "bin/", "bin/tool",
			"empty/", "exec",   "fifo", "hard1",
			"hard2",  "link",   "null",
		};
		size_t nwant = HOIST_ARRAY_SIZE(want) - (have_dev ? 0 : 1);

		assert_int_equal(n, nwant);
		for (i = 0; i < n; i++)
			assert_string_equal(ents[i].name, want[i]);
		free(dirname);
	}
	assert_int_equal(ents[3].type, '0');
	assert_int_equal(ents[3].mode, 04755);
	assert_int_equal(ents[5].mode, 0751);
	assert_int_equal(ents[8].type, '1');
	assert_int_equal(ents[8].size, 0);
	if (have_cap)
		assert_non_null(
			memmem(a.out.data, a.out.len,
			       "SCHILY.xattr.security.capability=", 33));

	f = fopen(tarfile, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(a.out.data, 1, a.out.len, f), a.out.len);
	fclose(f);

	cmd = hoist_xasprintf("tar --numeric-owner -tvf '%s'", tarfile);
	ls = run(cmd);
	assert_line(ls, "-rwsr-xr-x", " bin/tool");
	assert_line(ls, "-rwxr-x--x", " exec");
	assert_line(ls, "lrwxrwxrwx", " link -> bin/tool");
	assert_line(ls, "hrw-r--r--", " hard2 link to hard1");
	assert_line(ls, "prw-r--r--", " fifo");
	assert_line(ls, "drwx------", " empty/");
	assert_line(ls, longpath, NULL);
	if (have_dev)
		assert_line(ls, "crw-rw-rw-", "1,3 ");
	assert_null(strstr(ls, "sock"));
	free(ls);
	free(cmd);

	cmd = hoist_xasprintf("bsdtar -tvf '%s'", tarfile);
	ls = run(cmd);
	assert_line(ls, "-rwsr-xr-x", " bin/tool");
	assert_line(ls, "lrwxrwxrwx", " link -> bin/tool");
	assert_line(ls, "hrw-r--r--", " hard2 link to hard1");
	assert_line(ls, "prw-r--r--", " fifo");
	assert_line(ls, longpath, NULL);
	if (have_dev)
		assert_line(ls, "crw-rw-rw-", " null");
	free(ls);
	free(cmd);

	/* both tools extract the same tree we read */
	{
		static const char *const tools[] = {
			"tar --numeric-owner -xpf",
			"bsdtar --numeric-owner -xpf"};
		char *want, *got, *src = tpath("src");
		size_t t;

		want = describe(src);
		for (t = 0; t < HOIST_ARRAY_SIZE(tools); t++) {
			char *x = tpath("extract");

			cmd = hoist_xasprintf("rm -rf '%s' && mkdir '%s' && cd "
					      "'%s' && %s '%s'",
					      x, x, x, tools[t], tarfile);
			assert_int_equal(system(cmd), 0);
			got = describe(x);
			assert_string_equal(got, want);
			free(got);
			free(cmd);
			free(x);
		}
		free(want);
		free(src);
	}

	/* the capability survives extraction by GNU tar */
	if (have_cap) {
		unsigned char got[64];
		char *x = tpath("x");

		cmd = hoist_xasprintf("mkdir '%s' && tar --xattrs "
				      "--xattrs-include='*' -C '%s' -xf '%s' "
				      "exec",
				      x, x, tarfile);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		cmd = hoist_xasprintf("%s/exec", x);
		assert_int_equal(
			getxattr(cmd, "security.capability", got, sizeof(got)),
			20);
		assert_memory_equal(got, capval, 20);
		free(cmd);
		free(x);
	}
	free(longpath);
	free(tarfile);
	arch_release(&a);
}

static void test_tree_epoch_prefix(void **state)
{
	struct hoist_tar_tree_opts o = {"/usr/local/", 1000000, 0, 1};
	struct parsed ents[32];
	struct timespec ts[2];
	struct arch a, b;
	char *p;
	size_t n, i;

	(void)state;
	/* one old file keeps its mtime; the rest are newer than epoch */
	p = tpath("src/hard1");
	ts[0].tv_sec = ts[1].tv_sec = 500;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
	free(p);
	write_tree(&a, &o);
	n = parse(&a, ents, 32);
	assert_true(n > 5);
	assert_string_equal(ents[0].name, "usr/local/");
	assert_int_equal(ents[0].type, '5');
	for (i = 0; i < n; i++) {
		assert_memory_equal(ents[i].name, "usr/local/", 10);
		if (strcmp(ents[i].name, "usr/local/hard1") == 0 ||
		    strcmp(ents[i].name, "usr/local/hard2") == 0)
			assert_int_equal(ents[i].mtime, 500);
		else
			assert_int_equal(ents[i].mtime, 1000000);
	}

	/* touching the tree later changes nothing under the epoch */
	p = tpath("src/exec");
	assert_int_equal(utimensat(AT_FDCWD, p, NULL, 0), 0);
	free(p);
	write_tree(&b, &o);
	assert_int_equal(a.out.len, b.out.len);
	assert_memory_equal(a.out.data, b.out.data, a.out.len);
	arch_release(&b);

	/* force_mtime sets every mtime, older ones too */
	o.force_mtime = 1;
	write_tree(&b, &o);
	n = parse(&b, ents, 32);
	for (i = 0; i < n; i++)
		assert_int_equal(ents[i].mtime, 1000000);
	arch_release(&b);
	arch_release(&a);
}

static void test_tree_missing(void **state)
{
	struct hoist_tar_tree_opts o = {NULL, -1, 0, 0};
	struct arch a;

	(void)state;
	arch_init(&a);
	assert_int_equal(
		hoist_tar_write_tree(a.w, "/nonexistent/hoist", &o, &a.err),
		HOIST_ENOTFOUND);
	assert_non_null(strstr(a.err.msg, "'/nonexistent/hoist'"));
	arch_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_golden),
		cmocka_unit_test(test_exact_block_no_padding),
		cmocka_unit_test(test_split_prefix),
		cmocka_unit_test(test_long_name_pax),
		cmocka_unit_test(test_long_link_and_xattr),
		cmocka_unit_test(test_link_device_big),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_tree_listing),
		cmocka_unit_test(test_tree_epoch_prefix),
		cmocka_unit_test(test_tree_missing),
	};

	return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}
