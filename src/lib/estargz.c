/*
 * estargz.c: the eStargz writer (see estargz.h for the layout): a tar
 * reader that accepts what Go's archive/tar accepts (ustar, PAX, GNU long
 * names, base-256 numbers) and a gzip member writer on zlib's raw deflate.
 *
 * The tar reader is a state machine fed in arbitrary pieces, since the
 * input is either hoist's own tar writer or a base layer being
 * recompressed (untrusted). Every header block is checksummed, extended
 * headers are capped at 1 MiB, and nothing is buffered but one header
 * block, the current extended headers and the TOC text. Raw header bytes
 * (extended headers included) are held until the entry is known, so an
 * input landmark can be left out whole.
 *
 * Members: each starts with Go's gzip header (no name, mtime 0, OS 255,
 * XFL 2 at level 9 and 4 at level 1) and ends with CRC-32 and ISIZE. A
 * member is opened on demand when bytes arrive; a regular file's first
 * chunk closes the open one, so its offset is where its own member starts.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/estargz-int.h"
#include "lib/tar.h"
#include "util/mem.h"
#include "util/banned.h"

#define BLOCK 512
#define EXT_MAX (1u << 20)
#define ZOUT (64 * 1024)
#define PAX_XATTR "SCHILY.xattr."

enum state {
	ST_HDR,  /* collecting a header block */
	ST_EXT,  /* collecting an extended header's data (and its padding) */
	ST_DATA, /* a regular file's content */
	ST_PAD,  /* padding after it */
	ST_END,  /* after the end-of-archive block: the rest is ignored */
};

struct hoist_estargz {
	struct hoist_sink sink;
	int level;
	unsigned char xfl;
	uint64_t chunk_size;
	int failed;
	struct hoist_err fail_err;
	int started; /* the landmark is written */
	int internal;

	/* gzip members */
	z_stream z;
	int z_live;
	int member_open;
	uint32_t crc, isize;
	uint64_t coff; /* compressed bytes written */
	unsigned char *zout;
	struct hoist_sha256 diff; /* uncompressed bytes */
	int diff_live;
	uint64_t usize;

	/* tar reader */
	enum state st;
	unsigned char hdr[BLOCK];
	size_t hlen;
	char ext_kind; /* 'x', 'L' or 'K' while in ST_EXT */
	uint64_t ext_size, ext_need;
	struct hoist_buf ext;  /* the extended header's data */
	struct hoist_buf raw;  /* raw bytes of pending extended headers */
	struct esgz_entry pax; /* overrides collected from them */
	int pax_size, pax_uid, pax_gid, pax_mtime;
	uint64_t remain, pad;
	int skip; /* the current entry is dropped (an input landmark) */

	/* the current regular file */
	struct esgz_entry cur;
	struct hoist_sha256 file_sha, chunk_sha;
	int file_live, chunk_live;
	uint64_t chunk_left, written;

	struct esgz_toc toc;
};

/* --- gzip members --- */

static int zflush(struct hoist_estargz *e, int flush, struct hoist_err *err)
{
	int zr, rc;

	do {
		e->z.next_out = e->zout;
		e->z.avail_out = ZOUT;
		zr = deflate(&e->z, flush);
		if (zr == Z_STREAM_ERROR)
			return hoist_err_set(err, HOIST_EIO,
					     "estargz: deflate failed");
		if (ZOUT - e->z.avail_out > 0) {
			rc = hoist_sink_write(&e->sink, e->zout,
					      ZOUT - e->z.avail_out, err);
			if (rc < 0)
				return rc;
			e->coff += ZOUT - e->z.avail_out;
		}
	} while (e->z.avail_out == 0 || e->z.avail_in > 0 ||
		 (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static int member_open(struct hoist_estargz *e, struct hoist_err *err)
{
	unsigned char h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
	int rc;

	h[8] = e->xfl;
	if (deflateReset(&e->z) != Z_OK)
		return hoist_err_set(err, HOIST_EIO, "estargz: deflate reset");
	if ((rc = hoist_sink_write(&e->sink, h, sizeof(h), err)) < 0)
		return rc;
	e->coff += sizeof(h);
	e->crc = (uint32_t)crc32(0, NULL, 0);
	e->isize = 0;
	e->member_open = 1;
	return 0;
}

static void le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int member_close(struct hoist_estargz *e, struct hoist_err *err)
{
	unsigned char t[8];
	int rc;

	if (!e->member_open)
		return 0;
	e->z.next_in = NULL;
	e->z.avail_in = 0;
	if ((rc = zflush(e, Z_FINISH, err)) < 0)
		return rc;
	le32(t, e->crc);
	le32(t + 4, e->isize);
	if ((rc = hoist_sink_write(&e->sink, t, sizeof(t), err)) < 0)
		return rc;
	e->coff += sizeof(t);
	e->member_open = 0;
	return 0;
}

/* Uncompressed bytes into the open member (one is opened if needed). */
static int emit(struct hoist_estargz *e, const void *data, size_t len,
		struct hoist_err *err)
{
	const unsigned char *p = data;
	int rc;

	if (!e->member_open && (rc = member_open(e, err)) < 0)
		return rc;
	hoist_sha256_update(&e->diff, data, len);
	e->usize += len;
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		e->crc = (uint32_t)crc32(e->crc, p, n);
		e->isize += (uint32_t)n;
		e->z.next_in = (Bytef *)(uintptr_t)p;
		e->z.avail_in = n;
		if ((rc = zflush(e, Z_NO_FLUSH, err)) < 0)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

void hoist_estargz_footer(unsigned char *out, uint64_t toc_off)
{
	static const unsigned char tail[13] = {1, 0, 0, 0xff, 0xff};
	char sub[24];
	int i;

	/* gzip header with FEXTRA, mtime 0, XFL 0, OS 255 */
	memcpy(out, "\x1f\x8b\x08\x04\0\0\0\0\0\xff", 10);
	out[10] = 26; /* XLEN */
	out[11] = 0;
	out[12] = 'S';
	out[13] = 'G';
	out[14] = 22; /* LEN */
	out[15] = 0;
	for (i = 15; i >= 0; i--) {
		sub[i] = "0123456789abcdef"[toc_off & 0xf];
		toc_off >>= 4;
	}
	memcpy(sub + 16, "STARGZ", 6);
	memcpy(out + 16, sub, 22);
	/* a final stored block of length 0, CRC-32 0, ISIZE 0 */
	memcpy(out + 38, tail, sizeof(tail));
}

/* --- tar numbers and strings, as Go's archive/tar reads them --- */

static int parse_num(int64_t *out, const unsigned char *f, size_t n)
{
	uint64_t v = 0;
	size_t i = 0, end = n;

	if (n > 0 && (f[0] & 0x80)) {
		/* base-256, two's complement; only non-negative is needed */
		if (f[0] & 0x40)
			return -1;
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = (int64_t)v;
		return 0;
	}
	while (i < end && (f[i] == ' ' || f[i] == 0))
		i++;
	while (end > i && (f[end - 1] == ' ' || f[end - 1] == 0))
		end--;
	for (; i < end; i++) {
		if (f[i] < '0' || f[i] > '7' || (v >> 60))
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	*out = (int64_t)v;
	return 0;
}

static char *field_str(const unsigned char *f, size_t n)
{
	size_t l = 0;

	while (l < n && f[l])
		l++;
	return hoist_xstrndup((const char *)f, l);
}

static int checksum_ok(const unsigned char *h)
{
	int64_t want;
	uint64_t u = 0;
	int64_t s = 0;

	if (parse_num(&want, h + 148, 8) < 0)
		return 0;
	for (size_t i = 0; i < BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
		u += c;
		s += (signed char)c;
	}
	return want == (int64_t)u || want == s;
}

/* path.Clean("/" + name) without the leading slash, compared to want. */
static int clean_is(const char *name, const char *want)
{
	while (*name == '/' || (name[0] == '.' && name[1] == '/'))
		name += name[0] == '.' ? 2 : 1;
	size_t n = strlen(want);
	if (strncmp(name, want, n) != 0)
		return 0;
	for (name += n; *name == '/'; name++)
		;
	return *name == 0;
}

/* Untrusted text (a name, a key) rendered for an error message into q. */
static const char *quote(char q[HOIST_QUOTE_BUF], const char *s, size_t n)
{
	return hoist_err_quote(q, HOIST_QUOTE_BUF, s, n, HOIST_QUOTE_UTF8);
}

/* --- PAX records --- */

static void set_str(char **dst, const char *v, size_t n)
{
	free(*dst);
	*dst = hoist_xstrndup(v, n);
}

static int pax_int(int64_t *out, const char *v, size_t n, long *nsec)
{
	int64_t x = 0;
	size_t i = 0;
	int neg = 0;

	if (n > 0 && v[0] == '-')
		neg = 1, i = 1;
	if (i == n)
		return -1;
	for (; i < n && v[i] != '.'; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	if (i < n) {
		long frac = 0, scale = 100000000L;
		if (!nsec)
			return -1;
		for (i++; i < n; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			frac += (v[i] - '0') * scale;
			scale /= 10;
		}
		*nsec = neg ? -frac : frac;
	}
	*out = neg ? -x : x;
	return 0;
}

static int pax_record(struct hoist_estargz *e, const char *k, size_t klen,
		      const char *v, size_t vlen, struct hoist_err *err)
{
	struct esgz_entry *p = &e->pax;
	char q[HOIST_QUOTE_BUF];

#define KEY(s) (klen == sizeof(s) - 1 && memcmp(k, s, klen) == 0)
	if (KEY("path"))
		set_str(&p->name, v, vlen);
	else if (KEY("linkpath"))
		set_str(&p->link, v, vlen);
	else if (KEY("uname"))
		set_str(&p->uname, v, vlen);
	else if (KEY("gname"))
		set_str(&p->gname, v, vlen);
	else if (KEY("uid") || KEY("gid") || KEY("size")) {
		int64_t x;
		if (pax_int(&x, v, vlen, NULL) < 0 || x < 0)
			goto bad;
		if (KEY("uid"))
			p->uid = x, e->pax_uid = 1;
		else if (KEY("gid"))
			p->gid = x, e->pax_gid = 1;
		else
			p->size = x, e->pax_size = 1;
	} else if (KEY("mtime")) {
		p->mtime_nsec = 0;
		if (pax_int(&p->mtime, v, vlen, &p->mtime_nsec) < 0)
			goto bad;
		e->pax_mtime = 1;
	} else if (klen > sizeof(PAX_XATTR) - 1 &&
		   memcmp(k, PAX_XATTR, sizeof(PAX_XATTR) - 1) == 0) {
		struct esgz_xattr *x = NULL;
		char *name = hoist_xstrndup(k + sizeof(PAX_XATTR) - 1,
					    klen - (sizeof(PAX_XATTR) - 1));
		for (size_t i = 0; i < p->nxattrs; i++)
			if (strcmp(p->xattrs[i].key, name) == 0)
				x = &p->xattrs[i];
		if (!x) {
			p->xattrs = hoist_xreallocarray(
				p->xattrs, p->nxattrs + 1, sizeof(*p->xattrs));
			x = &p->xattrs[p->nxattrs++];
			x->key = name;
		} else {
			free(name);
			free(x->val);
		}
		x->val = hoist_xmalloc(vlen + 1);
		memcpy(x->val, v, vlen);
		x->len = vlen;
	} else if (klen > 11 && memcmp(k, "GNU.sparse.", 11) == 0)
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "estargz: sparse tar entries are not "
				     "supported");
#undef KEY
	return 0;
bad:
	return hoist_err_set(err, HOIST_EINVAL, "estargz: bad PAX record '%s'",
			     quote(q, k, klen));
}

static int parse_pax(struct hoist_estargz *e, struct hoist_err *err)
{
	const char *s = e->ext.data, *end = s + e->ext_size;

	while (s < end) {
		size_t len = 0;
		const char *p = s, *eq, *rec_end;
		int rc;

		while (p < end && *p >= '0' && *p <= '9' && len < EXT_MAX)
			len = len * 10 + (size_t)(*p++ - '0');
		if (p == s || p >= end || *p != ' ' ||
		    len > (size_t)(end - s) || len < (size_t)(p - s) + 3 ||
		    s[len - 1] != '\n')
			return hoist_err_set(err, HOIST_EINVAL,
					     "estargz: malformed PAX header");
		p++;
		rec_end = s + len - 1;
		eq = memchr(p, '=', (size_t)(rec_end - p));
		if (!eq || eq == p)
			return hoist_err_set(err, HOIST_EINVAL,
					     "estargz: malformed PAX record");
		rc = pax_record(e, p, (size_t)(eq - p), eq + 1,
				(size_t)(rec_end - eq - 1), err);
		if (rc)
			return rc;
		s += len;
	}
	return 0;
}

/* --- entries --- */

static void reset_pending(struct hoist_estargz *e)
{
	esgz_entry_release(&e->pax);
	e->pax_size = e->pax_uid = e->pax_gid = e->pax_mtime = 0;
	hoist_buf_reset(&e->raw);
}

static const char *toc_type(char flag, const char *name)
{
	switch (flag) {
	case 0:
		return name[0] && name[strlen(name) - 1] == '/' ? "dir" : "reg";
	case '0':
		return "reg";
	case '1':
		return "hardlink";
	case '2':
		return "symlink";
	case '3':
		return "char";
	case '4':
		return "block";
	case '5':
		return "dir";
	case '6':
		return "fifo";
	}
	return NULL;
}

/* The entry the header block describes, with the pending overrides. */
static int read_entry(struct hoist_estargz *e, struct esgz_entry *ent,
		      struct hoist_err *err)
{
	const unsigned char *h = e->hdr;
	char q[HOIST_QUOTE_BUF];
	int ustar = memcmp(h + 257,
			   "ustar\0"
			   "00",
			   8) == 0;
	int gnu = memcmp(h + 257, "ustar  \0", 8) == 0;
	int64_t size;

	memset(ent, 0, sizeof(*ent));
	if (e->pax.name)
		ent->name = hoist_xstrdup(e->pax.name);
	else if (ustar && h[345]) {
		size_t plen = memcmp(h + 508, "tar\0", 4) == 0 ? 131 : 155;
		char *pre = field_str(h + 345, plen), *nm = field_str(h, 100);
		ent->name = hoist_xasprintf("%s/%s", pre, nm);
		free(pre);
		free(nm);
	} else
		ent->name = field_str(h, 100);
	ent->link = e->pax.link ? hoist_xstrdup(e->pax.link)
				: field_str(h + 157, 100);
	if (ustar || gnu) {
		ent->uname = e->pax.uname ? hoist_xstrdup(e->pax.uname)
					  : field_str(h + 265, 32);
		ent->gname = e->pax.gname ? hoist_xstrdup(e->pax.gname)
					  : field_str(h + 297, 32);
		if (parse_num(&ent->devmajor, h + 329, 8) < 0 ||
		    parse_num(&ent->devminor, h + 337, 8) < 0)
			goto bad;
	}
	if (parse_num(&ent->mode, h + 100, 8) < 0 ||
	    parse_num(&ent->uid, h + 108, 8) < 0 ||
	    parse_num(&ent->gid, h + 116, 8) < 0 ||
	    parse_num(&size, h + 124, 12) < 0 ||
	    parse_num(&ent->mtime, h + 136, 12) < 0)
		goto bad;
	if (e->pax_uid)
		ent->uid = e->pax.uid;
	if (e->pax_gid)
		ent->gid = e->pax.gid;
	if (e->pax_size)
		size = e->pax.size;
	if (e->pax_mtime) {
		ent->mtime = e->pax.mtime;
		ent->mtime_nsec = e->pax.mtime_nsec;
	}
	ent->xattrs = e->pax.xattrs;
	ent->nxattrs = e->pax.nxattrs;
	e->pax.xattrs = NULL;
	e->pax.nxattrs = 0;
	ent->type = toc_type((char)h[156], ent->name);
	if (!ent->type)
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "estargz: entry '%s' has the tar type "
				     "0x%02x, which eStargz cannot hold",
				     quote(q, ent->name, HOIST_QUOTE_ALL),
				     h[156]);
	if (strcmp(ent->type, "reg") == 0)
		ent->size = size;
	return 0;
bad:
	return hoist_err_set(err, HOIST_EINVAL,
			     "estargz: bad number in the tar header of '%s'",
			     quote(q, ent->name, HOIST_QUOTE_ALL));
}

static int start_chunk(struct hoist_estargz *e, struct hoist_err *err)
{
	struct esgz_chunk *c;
	uint64_t left = (uint64_t)e->cur.size - e->written;
	int rc;

	if ((rc = member_close(e, err)) < 0)
		return rc;
	e->cur.chunks = hoist_xreallocarray(e->cur.chunks, e->cur.nchunks + 1,
					    sizeof(*e->cur.chunks));
	c = &e->cur.chunks[e->cur.nchunks++];
	memset(c, 0, sizeof(*c));
	c->offset = e->coff;
	c->chunk_offset = e->written;
	e->chunk_left = left > e->chunk_size ? e->chunk_size : left;
	/* the last chunk's size is 0, as the specification says */
	c->size = left > e->chunk_size ? e->chunk_size : 0;
	hoist_sha256_init(&e->chunk_sha);
	e->chunk_live = 1;
	return member_open(e, err);
}

static int end_file(struct hoist_estargz *e, struct hoist_err *err)
{
	int rc;

	hoist_sha256_final_hex(&e->file_sha, e->cur.digest);
	e->file_live = 0;
	rc = esgz_toc_add(&e->toc, &e->cur, err);
	esgz_entry_release(&e->cur);
	return rc;
}

/* A complete header block of a real entry. */
static int on_entry(struct hoist_estargz *e, struct hoist_err *err)
{
	struct esgz_entry ent;
	uint64_t size;
	int rc;

	rc = read_entry(e, &ent, err);
	if (rc)
		goto out;
	if (clean_is(ent.name, HOIST_ESTARGZ_TOC_NAME)) {
		rc = hoist_err_set(err, HOIST_EUNSUPPORTED,
				   "estargz: the tar already holds '%s'",
				   HOIST_ESTARGZ_TOC_NAME);
		goto out;
	}
	e->skip = !e->internal &&
		  (clean_is(ent.name, HOIST_ESTARGZ_NO_PREFETCH) ||
		   clean_is(ent.name, HOIST_ESTARGZ_PREFETCH));
	size = strcmp(ent.type, "reg") == 0 ? (uint64_t)ent.size : 0;
	if (!e->skip) {
		if ((rc = emit(e, e->raw.data, e->raw.len, err)) < 0 ||
		    (rc = emit(e, e->hdr, BLOCK, err)) < 0)
			goto out;
	}
	reset_pending(e);
	e->remain = size;
	e->pad = (BLOCK - size % BLOCK) % BLOCK;
	e->st = size ? ST_DATA : ST_HDR;
	if (e->skip)
		goto out;
	if (strcmp(ent.type, "reg") == 0) {
		e->cur = ent;
		memset(&ent, 0, sizeof(ent));
		hoist_sha256_init(&e->file_sha);
		e->file_live = 1;
		e->written = 0;
		if (size == 0)
			return end_file(e, err);
		return start_chunk(e, err);
	}
	rc = esgz_toc_add(&e->toc, &ent, err);
out:
	esgz_entry_release(&ent);
	return rc;
}

static int on_header(struct hoist_estargz *e, struct hoist_err *err)
{
	static const unsigned char zero[BLOCK];
	int64_t size;
	char flag = (char)e->hdr[156];

	if (memcmp(e->hdr, zero, BLOCK) == 0) {
		if (e->raw.len)
			return hoist_err_set(err, HOIST_EINVAL,
					     "estargz: extended tar header "
					     "without an entry");
		e->st = ST_END;
		return 0;
	}
	if (!checksum_ok(e->hdr))
		return hoist_err_set(err, HOIST_EINVAL,
				     "estargz: bad tar header checksum at "
				     "uncompressed offset %llu",
				     (unsigned long long)e->usize);
	if (flag == 'g')
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "estargz: global PAX headers are not "
				     "supported");
	if (flag != 'x' && flag != 'L' && flag != 'K')
		return on_entry(e, err);
	if (parse_num(&size, e->hdr + 124, 12) < 0 || size < 0 ||
	    (uint64_t)size > EXT_MAX)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "estargz: extended tar header over %u "
				     "bytes",
				     EXT_MAX);
	if (hoist_buf_add(&e->raw, e->hdr, BLOCK, err) < 0)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "estargz: too many extended tar headers");
	e->ext_kind = flag;
	e->ext_size = (uint64_t)size;
	e->ext_need = ((uint64_t)size + BLOCK - 1) / BLOCK * BLOCK;
	hoist_buf_reset(&e->ext);
	e->st = ST_EXT;
	return 0;
}

static int on_ext_done(struct hoist_estargz *e, struct hoist_err *err)
{
	const char *d = e->ext.data;
	size_t n = (size_t)e->ext_size, l = 0;

	e->st = ST_HDR;
	if (e->ext_kind == 'x')
		return parse_pax(e, err);
	while (l < n && d[l])
		l++;
	set_str(e->ext_kind == 'L' ? &e->pax.name : &e->pax.link, d, l);
	return 0;
}

static int on_data(struct hoist_estargz *e, const unsigned char *p, size_t n,
		   struct hoist_err *err)
{
	int rc;

	e->remain -= n;
	if (e->skip)
		goto done;
	while (n > 0) {
		size_t k = n < e->chunk_left ? n : (size_t)e->chunk_left;
		if (k == 0) {
			if ((rc = start_chunk(e, err)) < 0)
				return rc;
			continue;
		}
		hoist_sha256_update(&e->file_sha, p, k);
		hoist_sha256_update(&e->chunk_sha, p, k);
		if ((rc = emit(e, p, k, err)) < 0)
			return rc;
		e->chunk_left -= k;
		e->written += k;
		p += k;
		n -= k;
		if (e->chunk_left == 0) {
			struct esgz_chunk *c =
				&e->cur.chunks[e->cur.nchunks - 1];
			hoist_sha256_final_hex(&e->chunk_sha, c->digest);
			e->chunk_live = 0;
		}
	}
	if (e->remain == 0 && (rc = end_file(e, err)) < 0)
		return rc;
done:
	if (e->remain == 0)
		e->st = e->pad ? ST_PAD : ST_HDR;
	return 0;
}

static int feed(struct hoist_estargz *e, const unsigned char *p, size_t len,
		struct hoist_err *err)
{
	int rc = 0;

	while (len > 0 && !rc) {
		size_t n;

		switch (e->st) {
		case ST_HDR:
			n = BLOCK - e->hlen < len ? BLOCK - e->hlen : len;
			memcpy(e->hdr + e->hlen, p, n);
			e->hlen += n;
			if (e->hlen == BLOCK) {
				e->hlen = 0;
				rc = on_header(e, err);
			}
			break;
		case ST_EXT:
			n = e->ext_need < len ? (size_t)e->ext_need : len;
			if (hoist_buf_add(&e->raw, p, n, err) < 0 ||
			    hoist_buf_add(&e->ext, p, n, err) < 0)
				return hoist_err_set(err, HOIST_ELIMIT,
						     "estargz: extended tar "
						     "headers too large");
			e->ext_need -= n;
			if (e->ext_need == 0)
				rc = on_ext_done(e, err);
			break;
		case ST_DATA:
			n = e->remain < len ? (size_t)e->remain : len;
			rc = on_data(e, p, n, err);
			break;
		case ST_PAD:
			n = e->pad < len ? (size_t)e->pad : len;
			if (!e->skip)
				rc = emit(e, p, n, err);
			e->pad -= n;
			if (e->pad == 0)
				e->st = ST_HDR;
			break;
		case ST_END:
		default:
			return 0;
		}
		p += n;
		len -= n;
	}
	return rc;
}

/* --- the writer --- */

static int fail(struct hoist_estargz *e, int rc, struct hoist_err *err)
{
	if (!e->failed) {
		e->failed = rc;
		if (err)
			e->fail_err = *err;
	}
	return rc;
}

static int tar_to_self(void *ctx, const void *data, size_t len,
		       struct hoist_err *err)
{
	return feed(ctx, data, len, err);
}

/* A one-entry tar through sink: header, content, padding. */
static int put_file(const struct hoist_sink *sink, const char *name,
		    const void *data, size_t len, int end,
		    struct hoist_err *err)
{
	struct hoist_tar_writer *w = NULL;
	struct hoist_tar_entry te;
	int rc;

	memset(&te, 0, sizeof(te));
	te.name = name;
	te.type = HOIST_TAR_REG;
	te.size = len;
	hoist_tar_writer_new(&w, sink);
	rc = hoist_tar_write_header(w, &te, err);
	if (!rc)
		rc = hoist_tar_write_data(w, data, len, err);
	if (!rc && end)
		rc = hoist_tar_writer_finish(w, err);
	hoist_tar_writer_free(w);
	return rc;
}

/* The no-prefetch landmark, through the reader like any entry. */
static int start(struct hoist_estargz *e, struct hoist_err *err)
{
	static const unsigned char landmark = 0x0f;
	struct hoist_sink self = {tar_to_self, e};
	int rc;

	e->started = 1;
	e->internal = 1;
	rc = put_file(&self, HOIST_ESTARGZ_NO_PREFETCH, &landmark, 1, 0, err);
	e->internal = 0;
	return rc;
}

int hoist_estargz_new(struct hoist_estargz **out, int level, size_t chunk_size,
		      const struct hoist_sink *sink, struct hoist_err *err)
{
	struct hoist_estargz *e;

	*out = NULL;
	if (level < -1 || level > 9)
		return hoist_err_set(err, HOIST_EINVAL,
				     "compression level %d is out of range "
				     "for estargz (0-9)",
				     level);
	if (chunk_size && chunk_size < BLOCK)
		return hoist_err_set(err, HOIST_EINVAL,
				     "estargz: chunk size %zu is below %d",
				     chunk_size, BLOCK);
	e = hoist_xcalloc(1, sizeof(*e));
	e->sink = *sink;
	e->level = level < 0 ? Z_DEFAULT_COMPRESSION : level;
	e->xfl = level == 9 ? 2 : level == 1 ? 4 : 0;
	e->chunk_size = chunk_size ? chunk_size : HOIST_ESTARGZ_CHUNK;
	if (deflateInit2(&e->z, e->level, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(e);
		return hoist_err_set(err, HOIST_ENOMEM,
				     "estargz: cannot start a deflate stream");
	}
	e->z_live = 1;
	e->zout = hoist_xmalloc(ZOUT);
	hoist_sha256_init(&e->diff);
	e->diff_live = 1;
	hoist_buf_init(&e->ext, EXT_MAX);
	hoist_buf_init(&e->raw, 4 * EXT_MAX);
	esgz_toc_init(&e->toc);
	*out = e;
	return 0;
}

int hoist_estargz_write(struct hoist_estargz *e, const void *data, size_t len,
			struct hoist_err *err)
{
	int rc;

	if (e->failed) {
		if (err)
			*err = e->fail_err;
		return e->failed;
	}
	if (!e->started && (rc = start(e, err)) < 0)
		return fail(e, rc, err);
	if ((rc = feed(e, data, len, err)) < 0)
		return fail(e, rc, err);
	return 0;
}

static int toc_sink(void *ctx, const void *data, size_t len,
		    struct hoist_err *err)
{
	return emit(ctx, data, len, err);
}

int hoist_estargz_finish(struct hoist_estargz *e,
			 struct hoist_estargz_result *res,
			 struct hoist_err *err)
{
	struct hoist_sink to_member = {toc_sink, e};
	unsigned char footer[HOIST_ESTARGZ_FOOTER_SIZE];
	char hex[HOIST_SHA256_HEXLEN + 1];
	int rc;

	memset(res, 0, sizeof(*res));
	if (e->failed)
		return hoist_estargz_write(e, NULL, 0, err);
	if (!e->started && (rc = start(e, err)) < 0)
		return fail(e, rc, err);
	if ((e->st != ST_HDR && e->st != ST_END) || e->hlen || e->raw.len)
		return fail(e,
			    hoist_err_set(err, HOIST_EINVAL,
					  "estargz: the tar stream is "
					  "truncated"),
			    err);
	if ((rc = member_close(e, err)) < 0 ||
	    (rc = esgz_toc_end(&e->toc, err)) < 0)
		return fail(e, rc, err);
	res->toc_offset = e->coff;
	res->entries = e->toc.entries;
	if ((rc = put_file(&to_member, HOIST_ESTARGZ_TOC_NAME, e->toc.text.data,
			   e->toc.text.len, 1, err)) < 0 ||
	    (rc = member_close(e, err)) < 0)
		return fail(e, rc, err);
	hoist_estargz_footer(footer, res->toc_offset);
	if ((rc = hoist_sink_write(&e->sink, footer, sizeof(footer), err)) < 0)
		return fail(e, rc, err);
	e->coff += sizeof(footer);
	hoist_sha256_hex(e->toc.text.data, e->toc.text.len, hex);
	hoist_digest_from_sha256_hex(&res->toc_digest, hex);
	hoist_sha256_final_hex(&e->diff, hex);
	e->diff_live = 0;
	hoist_digest_from_sha256_hex(&res->diff_id, hex);
	res->uncompressed_size = e->usize;
	e->st = ST_END;
	e->failed = HOIST_EINVAL;
	hoist_err_set(&e->fail_err, HOIST_EINVAL, "estargz: already finished");
	return 0;
}

void hoist_estargz_free(struct hoist_estargz *e)
{
	if (!e)
		return;
	if (e->z_live)
		deflateEnd(&e->z);
	if (e->diff_live)
		hoist_sha256_release(&e->diff);
	if (e->file_live)
		hoist_sha256_release(&e->file_sha);
	if (e->chunk_live)
		hoist_sha256_release(&e->chunk_sha);
	free(e->zout);
	hoist_buf_release(&e->ext);
	hoist_buf_release(&e->raw);
	esgz_entry_release(&e->pax);
	esgz_entry_release(&e->cur);
	esgz_toc_release(&e->toc);
	free(e);
}
