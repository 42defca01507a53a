/*
 * estargz-int.h: what estargz.c (the tar reader and the gzip member
 * writer) and estargz-toc.c (the TOC's JSON text) share: one parsed tar
 * entry, its chunks, and the TOC under construction.
 */
#ifndef HOIST_LIB_ESTARGZ_INT_H
#define HOIST_LIB_ESTARGZ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/estargz.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/strmap.h"

struct esgz_xattr {
	char *key; /* without "SCHILY.xattr." */
	char *val;
	size_t len;
};

/* One chunk of a regular file: the first one belongs to the reg entry. */
struct esgz_chunk {
	uint64_t offset;       /* of its gzip member in the blob */
	uint64_t chunk_offset; /* in the file */
	uint64_t size;         /* 0 for the last (or only) chunk */
	char digest[HOIST_SHA256_HEXLEN + 1];
};

/* A tar entry as Go's archive/tar reader presents it. */
struct esgz_entry {
	char *name;
	char *link;
	char *uname;
	char *gname;
	const char *type; /* TOC type: "reg", "dir", ... */
	int64_t mode;
	int64_t uid, gid;
	int64_t size; /* reg only */
	int64_t mtime;
	long mtime_nsec;
	int64_t devmajor, devminor;
	struct esgz_xattr *xattrs;
	size_t nxattrs;
	/* reg only: the whole file's digest and its chunks */
	char digest[HOIST_SHA256_HEXLEN + 1];
	struct esgz_chunk *chunks;
	size_t nchunks;
};

struct esgz_toc {
	struct hoist_buf text; /* JSON so far, entries not closed */
	uint64_t entries;
	/* userName/groupName are written only when they change per id */
	struct hoist_strmap unames, gnames;
	char **names;
	size_t nnames;
};

void esgz_entry_release(struct esgz_entry *ent);

void esgz_toc_init(struct esgz_toc *t);
void esgz_toc_release(struct esgz_toc *t);
/* Append ent (and its chunk entries). HOIST_ELIMIT past the TOC cap. */
int esgz_toc_add(struct esgz_toc *t, const struct esgz_entry *ent,
		 struct hoist_err *err);
/* Close the JSON text; t->text is then the TOC. */
int esgz_toc_end(struct esgz_toc *t, struct hoist_err *err);

#endif
