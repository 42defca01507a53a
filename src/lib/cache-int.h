/*
 * cache-int.h: what cache.c (the index files that map scans to layers,
 * content digests, build steps, recompression records, pruning) and
 * cache-scan.c (the stat and content walks of input trees) share.
 * Internal to src/lib/cache*.c.
 */
#ifndef HOIST_LIB_CACHE_INT_H
#define HOIST_LIB_CACHE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cache.h"
#include "util/err.h"
#include "util/hash.h"

/* Hash n, then the n bytes at p, into h: fields so hashed one after
 * another cannot run into each other. */
void hoist_cache_put_bytes(struct hoist_sha256 *h, const void *p, size_t n);

/*
 * The SHA-256 (hex) of the next size bytes of fd; what names it in errors
 * (a read error, or fewer bytes than size). 0 or a negative HOIST_E*.
 */
int hoist_cache_hash_fd(int fd, uint64_t size,
			char hex[HOIST_SHA256_HEXLEN + 1], const char *what,
			struct hoist_err *err);

/*
 * Walk path (a directory, or any other file: one record) into out; with
 * content, the content digest instead of the stat digest. filter: the
 * entries to leave out, or NULL for none. 0 or a negative HOIST_E* (out
 * zeroed).
 */
int hoist_cache_scan_path(struct hoist_cache_scan *out, const char *path,
			  int content, const struct hoist_cache_filter *filter,
			  struct hoist_err *err);

#endif
