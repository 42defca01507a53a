/*
 * estargz-toc.c: the eStargz TOC ("stargz.index.json") as text, byte for
 * byte what the reference producer's json.MarshalIndent(toc, "", "\t")
 * writes for the same entries: TOCEntry's fields in its struct order with
 * omitempty (zero values left out), xattrs as a key-sorted object of
 * base64 values, strings escaped as Go escapes them (<, >, & and U+2028/9
 * as \u escapes, invalid UTF-8 as \ufffd), modtime as RFC 3339 in UTC
 * rounded to the second and left out for the epoch, userName/groupName
 * only where they change for an id (the producer's nameIfChanged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/estargz-int.h"
#include "util/base64.h"
#include "util/mem.h"
#include "util/banned.h"

#define TOC_HEAD "{\n\t\"version\": 1,\n\t\"entries\": ["
#define FIELD_INDENT "\t\t\t"

void esgz_entry_release(struct esgz_entry *ent)
{
	free(ent->name);
	free(ent->link);
	free(ent->uname);
	free(ent->gname);
	for (size_t i = 0; i < ent->nxattrs; i++) {
		free(ent->xattrs[i].key);
		free(ent->xattrs[i].val);
	}
	free(ent->xattrs);
	free(ent->chunks);
	memset(ent, 0, sizeof(*ent));
}

void esgz_toc_init(struct esgz_toc *t)
{
	memset(t, 0, sizeof(*t));
	hoist_buf_init(&t->text, HOIST_ESTARGZ_TOC_MAX);
	(void)hoist_buf_adds(&t->text, TOC_HEAD, NULL);
}

void esgz_toc_release(struct esgz_toc *t)
{
	hoist_buf_release(&t->text);
	hoist_strmap_release(&t->unames);
	hoist_strmap_release(&t->gnames);
	for (size_t i = 0; i < t->nnames; i++)
		free(t->names[i]);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string as Go's encoding/json writes it. */
static int put_str(struct hoist_buf *b, const char *s, struct hoist_err *err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int rc = hoist_buf_addch(b, '"', err);

	while (!rc && n > 0) {
		unsigned c = *p;
		size_t l;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' &&
		    c != '<' && c != '>' && c != '&') {
			rc = hoist_buf_addch(b, (char)c, err);
			p++, n--;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '"':
				rc = hoist_buf_adds(b, "\\\"", err);
				break;
			case '\\':
				rc = hoist_buf_adds(b, "\\\\", err);
				break;
			case '\n':
				rc = hoist_buf_adds(b, "\\n", err);
				break;
			case '\r':
				rc = hoist_buf_adds(b, "\\r", err);
				break;
			case '\t':
				rc = hoist_buf_adds(b, "\\t", err);
				break;
			default:
				rc = hoist_buf_printf(b, err, "\\u%04x", c);
			}
			p++, n--;
			continue;
		}
		l = utf8_len(p, n);
		if (l == 0) {
			rc = hoist_buf_adds(b, "\\ufffd", err);
			p++, n--;
			continue;
		}
		if (l == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
		    (p[2] == 0xa8 || p[2] == 0xa9))
			rc = hoist_buf_adds(
				b, p[2] == 0xa8 ? "\\u2028" : "\\u2029", err);
		else
			rc = hoist_buf_add(b, p, l, err);
		p += l, n -= l;
	}
	return rc ? rc : hoist_buf_addch(b, '"', err);
}

/* Fields of one entry object, separated as MarshalIndent separates them. */
struct fields {
	struct hoist_buf *b;
	int n;
	int rc;
	struct hoist_err *err;
};

static void key(struct fields *f, const char *k)
{
	if (f->rc)
		return;
	f->rc = hoist_buf_printf(f->b, f->err, "%s" FIELD_INDENT "\"%s\": ",
				 f->n++ ? ",\n" : "\n", k);
}

static void field_str(struct fields *f, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	key(f, k);
	if (!f->rc)
		f->rc = put_str(f->b, v, f->err);
}

static void field_int(struct fields *f, const char *k, long long v)
{
	if (!v)
		return;
	key(f, k);
	if (!f->rc)
		f->rc = hoist_buf_printf(f->b, f->err, "%lld", v);
}

static void field_u64(struct fields *f, const char *k, uint64_t v)
{
	if (!v)
		return;
	key(f, k);
	if (!f->rc)
		f->rc = hoist_buf_printf(f->b, f->err, "%llu",
					 (unsigned long long)v);
}

static void field_digest(struct fields *f, const char *k, const char *hex)
{
	if (!hex[0])
		return;
	key(f, k);
	if (!f->rc)
		f->rc = hoist_buf_printf(f->b, f->err, "\"sha256:%s\"", hex);
}

/* Go's formatModtime: "" for the zero time and the epoch. */
static void modtime(const struct esgz_entry *e, char *out, size_t n)
{
	int64_t s = e->mtime + (e->mtime_nsec >= 500000000L ? 1 : 0);
	time_t t = (time_t)s;
	struct tm tm;

	out[0] = 0;
	if (e->mtime == 0 || e->mtime == -62135596800LL || !gmtime_r(&t, &tm))
		return;
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct esgz_xattr *)a)->key,
		      ((const struct esgz_xattr *)b)->key);
}

/* nameIfChanged: name, unless it is what id had last time (or empty). */
static const char *name_if_changed(struct esgz_toc *t, struct hoist_strmap *m,
				   int64_t id, const char *name)
{
	char k[24];
	size_t *slot;

	if (!name || !*name)
		return NULL;
	snprintf(k, sizeof(k), "%lld", (long long)id);
	slot = hoist_strmap_get(m, k);
	if (slot && strcmp(t->names[*slot], name) == 0)
		return NULL;
	t->names =
		hoist_xreallocarray(t->names, t->nnames + 1, sizeof(*t->names));
	t->names[t->nnames] = hoist_xstrdup(name);
	if (slot)
		*slot = t->nnames;
	else
		hoist_strmap_put(m, k, t->nnames);
	t->nnames++;
	return name;
}

static int begin_obj(struct esgz_toc *t, struct hoist_err *err)
{
	return hoist_buf_adds(&t->text, t->entries++ ? ",\n\t\t{" : "\n\t\t{",
			      err);
}

static int end_obj(struct fields *f)
{
	if (f->rc)
		return f->rc;
	return hoist_buf_adds(f->b, "\n\t\t}", f->err);
}

static int add_chunk(struct esgz_toc *t, const char *name,
		     const struct esgz_chunk *c, struct hoist_err *err)
{
	struct fields f = {&t->text, 0, 0, err};

	if ((f.rc = begin_obj(t, err)) < 0)
		return f.rc;
	field_str(&f, "name", name);
	field_str(&f, "type", "chunk");
	field_u64(&f, "offset", c->offset);
	field_u64(&f, "chunkOffset", c->chunk_offset);
	field_u64(&f, "chunkSize", c->size);
	field_digest(&f, "chunkDigest", c->digest);
	return end_obj(&f);
}

int esgz_toc_add(struct esgz_toc *t, const struct esgz_entry *e,
		 struct hoist_err *err)
{
	struct fields f = {&t->text, 0, 0, err};
	const struct esgz_chunk *first = e->nchunks ? &e->chunks[0] : NULL;
	int dev = strcmp(e->type, "char") == 0 || strcmp(e->type, "block") == 0;
	char mt[64];

	if ((f.rc = begin_obj(t, err)) < 0)
		return f.rc;
	modtime(e, mt, sizeof(mt));
	field_str(&f, "name", e->name);
	field_str(&f, "type", e->type);
	field_int(&f, "size", e->size);
	field_str(&f, "modtime", mt);
	field_str(&f, "linkName", e->link);
	field_int(&f, "mode", e->mode);
	field_int(&f, "uid", e->uid);
	field_int(&f, "gid", e->gid);
	field_str(&f, "userName",
		  name_if_changed(t, &t->unames, e->uid, e->uname));
	field_str(&f, "groupName",
		  name_if_changed(t, &t->gnames, e->gid, e->gname));
	if (first)
		field_u64(&f, "offset", first->offset);
	if (dev) {
		field_int(&f, "devMajor", e->devmajor);
		field_int(&f, "devMinor", e->devminor);
	}
	if (e->nxattrs) {
		qsort(e->xattrs, e->nxattrs, sizeof(*e->xattrs), cmp_xattr);
		key(&f, "xattrs");
		if (!f.rc)
			f.rc = hoist_buf_adds(f.b, "{", err);
		for (size_t i = 0; i < e->nxattrs && !f.rc; i++) {
			char *v = hoist_base64_encode(e->xattrs[i].val,
						      e->xattrs[i].len);
			f.rc = hoist_buf_adds(
				f.b, i ? ",\n\t\t\t\t" : "\n\t\t\t\t", err);
			if (!f.rc)
				f.rc = put_str(f.b, e->xattrs[i].key, err);
			if (!f.rc)
				f.rc = hoist_buf_adds(f.b, ": ", err);
			if (!f.rc)
				f.rc = put_str(f.b, v, err);
			free(v);
		}
		if (!f.rc)
			f.rc = hoist_buf_adds(f.b, "\n" FIELD_INDENT "}", err);
	}
	field_digest(&f, "digest", e->digest);
	if (first) {
		field_u64(&f, "chunkSize", first->size);
		field_digest(&f, "chunkDigest", first->digest);
	}
	if ((f.rc = end_obj(&f)) < 0)
		return f.rc;
	for (size_t i = 1; i < e->nchunks; i++) {
		int rc = add_chunk(t, e->name, &e->chunks[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

int esgz_toc_end(struct esgz_toc *t, struct hoist_err *err)
{
	return hoist_buf_adds(&t->text, t->entries ? "\n\t]\n}" : "]\n}", err);
}
