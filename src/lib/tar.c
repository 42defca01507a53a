/*
 * tar.c: the deterministic tar writer behind every layer hoist builds.
 *
 * Layer digests are only reproducible if the archive bytes depend on nothing
 * but the tree's content and metadata, so the writer fixes every degree of
 * freedom tar leaves open: ustar headers with zero-padded octal fields and a
 * NUL-terminated "%06o\0 " checksum (as GNU tar and Go's archive/tar write
 * it), no atime/ctime, no user/group names, PAX records in byte-wise key
 * order, PAX headers with a fixed name, mode and mtime, and a directory walk
 * sorted byte-wise at every level (the walk is tar-tree.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/tar.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define BLOCK 512
#define NAME_LEN 100
#define PREFIX_LEN 155
#define OCTAL7_MAX 07777777ULL      /* 8-byte fields: 7 digits + NUL */
#define OCTAL11_MAX 077777777777ULL /* 12-byte fields: 11 digits + NUL */

struct hoist_tar_writer {
	struct hoist_sink sink;
	uint64_t remaining; /* data bytes the current file still needs */
	size_t pad;         /* zero bytes after them */
	int finished;
};

static const char zero_block[BLOCK];

void hoist_tar_writer_new(struct hoist_tar_writer **out,
			  const struct hoist_sink *sink)
{
	struct hoist_tar_writer *w = hoist_xcalloc(1, sizeof(*w));

	w->sink = *sink;
	*out = w;
}

void hoist_tar_writer_free(struct hoist_tar_writer *w)
{
	free(w);
}

/* Zero-padded octal filling all but the last byte, which stays NUL. */
static void put_octal(char *field, size_t size, uint64_t v)
{
	size_t i = size - 1;

	field[i] = '\0';
	while (i > 0) {
		field[--i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

/* Copy up to size bytes; ustar strings need no NUL when they fill it. */
static void put_str(char *field, size_t size, const char *s, size_t len)
{
	memcpy(field, s, len < size ? len : size);
}

static size_t dec_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/*
 * One "LEN key=value\n" record. LEN counts the whole record including its
 * own digits, so adding the digits may add one more digit.
 */
static int pax_add(struct hoist_buf *pax, const char *key, const void *val,
		   size_t vlen, struct hoist_err *err)
{
	size_t base = strlen(key) + vlen + 3; /* ' ', '=', '\n' */
	size_t len = base + dec_len(base);

	if (dec_len(len) != dec_len(base))
		len = base + dec_len(len);
	if (hoist_buf_printf(pax, err, "%zu %s=", len, key) < 0 ||
	    hoist_buf_add(pax, val, vlen, err) < 0 ||
	    hoist_buf_addch(pax, '\n', err) < 0)
		return HOIST_ELIMIT;
	return 0;
}

static int pax_add_u64(struct hoist_buf *pax, const char *key, uint64_t v,
		       struct hoist_err *err)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	return pax_add(pax, key, num, (size_t)n, err);
}

static void header_checksum(char *h)
{
	unsigned sum = 0;
	size_t i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	put_octal(h + 148, 7, sum); /* "%06o\0", then the space stays */
}

/*
 * Fill a ustar header. Fields that do not fit are left for PAX records the
 * caller has already collected.
 */
static void header_fill(char *h, const char *name, size_t name_len,
			const char *prefix, size_t prefix_len, uint32_t mode,
			uint64_t uid, uint64_t gid, uint64_t size,
			uint64_t mtime, char type, const char *linkname,
			size_t link_len)
{
	memset(h, 0, BLOCK);
	put_str(h, NAME_LEN, name, name_len);
	put_octal(h + 100, 8, mode & 07777);
	put_octal(h + 108, 8, uid <= OCTAL7_MAX ? uid : 0);
	put_octal(h + 116, 8, gid <= OCTAL7_MAX ? gid : 0);
	put_octal(h + 124, 12, size <= OCTAL11_MAX ? size : 0);
	put_octal(h + 136, 12, mtime <= OCTAL11_MAX ? mtime : 0);
	h[156] = type;
	if (linkname)
		put_str(h + 157, 100, linkname, link_len);
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	put_octal(h + 329, 8, 0);
	put_octal(h + 337, 8, 0);
	if (prefix)
		put_str(h + 345, PREFIX_LEN, prefix, prefix_len);
}

/*
 * Split a long name at a '/' into prefix (<= 155) and name (<= 100), taking
 * the longest prefix, as Go's archive/tar does. 0 if impossible.
 */
static int split_ustar(const char *name, size_t len, size_t *cut)
{
	size_t n = len, i;

	if (len <= NAME_LEN)
		return 0;
	if (n > PREFIX_LEN + 1)
		n = PREFIX_LEN + 1;
	else if (name[n - 1] == '/')
		n--;
	for (i = n; i > 0; i--)
		if (name[i - 1] == '/')
			break;
	if (i <= 1)
		return 0;
	i--; /* index of the '/' */
	if (len - i - 1 > NAME_LEN || len - i - 1 == 0 || i > PREFIX_LEN)
		return 0;
	*cut = i;
	return 1;
}

static int cmp_xattr(const void *a, const void *b)
{
	const struct hoist_tar_xattr *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int sink_put(struct hoist_tar_writer *w, const void *p, size_t n,
		    struct hoist_err *err)
{
	return hoist_sink_write(&w->sink, p, n, err);
}

/* The PAX header's own name: "PaxHeaders/<basename>", at most 100 bytes. */
static void pax_name(char *out, const char *name, size_t len)
{
	size_t end = len, start;
	int n;

	while (end > 0 && name[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && name[start - 1] != '/')
		start--;
	n = snprintf(out, NAME_LEN + 1, "PaxHeaders/%.*s", (int)(end - start),
		     name + start);
	(void)n;
}

int hoist_tar_write_header(struct hoist_tar_writer *w,
			   const struct hoist_tar_entry *e,
			   struct hoist_err *err)
{
	struct hoist_buf pax =
		HOIST_BUF_INIT(HOIST_BUF_UNLIMITED); /* one entry */
	const struct hoist_tar_xattr **xs = NULL;
	char h[BLOCK];
	char *dirname = NULL;
	const char *name = e->name, *prefix = NULL, *link = e->linkname;
	size_t name_len, prefix_len = 0, link_len = 0, cut, i;
	uint64_t size = e->type == HOIST_TAR_REG ? e->size : 0;
	uint64_t mtime = e->mtime < 0 ? 0 : (uint64_t)e->mtime;
	int rc = HOIST_EINVAL;

	if (w->finished)
		return hoist_err_set(err, HOIST_EINVAL, "tar archive finished");
	if (w->remaining)
		return hoist_err_set(err, HOIST_EINVAL,
				     "tar entry before '%s' is incomplete",
				     e->name);
	if (!name || !*name)
		return hoist_err_set(err, HOIST_EINVAL, "empty tar entry name");
	name_len = strlen(name);
	if (e->type == HOIST_TAR_DIR && name[name_len - 1] != '/') {
		dirname = hoist_xasprintf("%s/", name);
		name = dirname;
		name_len++;
	}
	if ((e->type == HOIST_TAR_SYMLINK || e->type == HOIST_TAR_HARDLINK) &&
	    !link) {
		hoist_err_set(err, HOIST_EINVAL, "link '%s' has no target",
			      name);
		goto out;
	}
	if (e->devmajor > OCTAL7_MAX || e->devminor > OCTAL7_MAX) {
		hoist_err_set(err, HOIST_EINVAL,
			      "device numbers of '%s' are too large", name);
		goto out;
	}

	/* PAX records in byte-wise key order: "SCHILY.*" sorts first. */
	if (e->nxattrs) {
		xs = hoist_xreallocarray(NULL, e->nxattrs, sizeof(*xs));
		for (i = 0; i < e->nxattrs; i++)
			xs[i] = &e->xattrs[i];
		qsort(xs, e->nxattrs, sizeof(*xs), cmp_xattr);
		for (i = 0; i < e->nxattrs; i++) {
			char *key;

			if (strchr(xs[i]->name, '=') || !*xs[i]->name) {
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"xattr name '%s' of '%s' cannot "
					"be stored",
					xs[i]->name, name);
				goto out;
			}
			key = hoist_xasprintf("SCHILY.xattr.%s", xs[i]->name);
			rc = pax_add(&pax, key, xs[i]->value, xs[i]->len, err);
			free(key);
			if (rc < 0)
				goto out;
		}
	}
	if (e->gid > OCTAL7_MAX &&
	    (rc = pax_add_u64(&pax, "gid", e->gid, err)) < 0)
		goto out;
	if (e->gname && strlen(e->gname) > 32 &&
	    (rc = pax_add(&pax, "gname", e->gname, strlen(e->gname), err)) < 0)
		goto out;
	if (link) {
		link_len = strlen(link);
		if (link_len > 100 &&
		    (rc = pax_add(&pax, "linkpath", link, link_len, err)) < 0)
			goto out;
	}
	if (e->mtime < 0 || (uint64_t)e->mtime > OCTAL11_MAX) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%lld", (long long)e->mtime);

		if ((rc = pax_add(&pax, "mtime", num, (size_t)n, err)) < 0)
			goto out;
	}
	if (name_len > NAME_LEN) {
		if (split_ustar(name, name_len, &cut)) {
			prefix = name;
			prefix_len = cut;
			name += cut + 1;
			name_len -= cut + 1;
		} else if ((rc = pax_add(&pax, "path", name, name_len, err)) <
			   0) {
			goto out;
		}
	}
	if (size > OCTAL11_MAX &&
	    (rc = pax_add_u64(&pax, "size", size, err)) < 0)
		goto out;
	if (e->uid > OCTAL7_MAX &&
	    (rc = pax_add_u64(&pax, "uid", e->uid, err)) < 0)
		goto out;
	if (e->uname && strlen(e->uname) > 32 &&
	    (rc = pax_add(&pax, "uname", e->uname, strlen(e->uname), err)) < 0)
		goto out;

	if (pax.len) {
		char pname[NAME_LEN + 1];
		size_t pad = (BLOCK - pax.len % BLOCK) % BLOCK;

		pax_name(pname, prefix ? prefix : name,
			 prefix ? prefix_len + 1 + name_len : name_len);
		header_fill(h, pname, strlen(pname), NULL, 0, 0644, 0, 0,
			    pax.len, 0, 'x', NULL, 0);
		header_checksum(h);
		if ((rc = sink_put(w, h, BLOCK, err)) < 0 ||
		    (rc = sink_put(w, pax.data, pax.len, err)) < 0 ||
		    (pad && (rc = sink_put(w, zero_block, pad, err)) < 0))
			goto out;
	}

	header_fill(h, name, name_len, prefix, prefix_len, e->mode, e->uid,
		    e->gid, size, mtime, (char)e->type, link, link_len);
	if (e->type == HOIST_TAR_CHR || e->type == HOIST_TAR_BLK) {
		put_octal(h + 329, 8, e->devmajor);
		put_octal(h + 337, 8, e->devminor);
	}
	if (e->uname && strlen(e->uname) <= 32)
		put_str(h + 265, 32, e->uname, strlen(e->uname));
	if (e->gname && strlen(e->gname) <= 32)
		put_str(h + 297, 32, e->gname, strlen(e->gname));
	header_checksum(h);
	if ((rc = sink_put(w, h, BLOCK, err)) < 0)
		goto out;
	w->remaining = size;
	w->pad = (size_t)((BLOCK - size % BLOCK) % BLOCK);
	rc = 0;
out:
	free(xs);
	free(dirname);
	hoist_buf_release(&pax);
	return rc;
}

int hoist_tar_write_data(struct hoist_tar_writer *w, const void *data,
			 size_t len, struct hoist_err *err)
{
	int rc;

	if (len > w->remaining)
		return hoist_err_set(err, HOIST_EINVAL,
				     "tar data exceeds the entry size");
	if (len == 0)
		return 0;
	if ((rc = sink_put(w, data, len, err)) < 0)
		return rc;
	w->remaining -= len;
	if (w->remaining == 0 && w->pad) {
		rc = sink_put(w, zero_block, w->pad, err);
		w->pad = 0;
	}
	return rc;
}

int hoist_tar_writer_finish(struct hoist_tar_writer *w, struct hoist_err *err)
{
	int rc;

	if (w->remaining)
		return hoist_err_set(err, HOIST_EINVAL,
				     "last tar entry is incomplete");
	if (w->finished)
		return 0;
	if ((rc = sink_put(w, zero_block, BLOCK, err)) < 0 ||
	    (rc = sink_put(w, zero_block, BLOCK, err)) < 0)
		return rc;
	w->finished = 1;
	return 0;
}
