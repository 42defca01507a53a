/*
 * cache.h: the build cache, so that an unchanged input tree is never tarred
 * or compressed again, and a base layer recompressed for
 * force-compression is recompressed once.
 *
 * Layers. Like git's index, each input tree has a stat index: for every
 * entry (the top directory included) its path, type, mode, uid/gid, size,
 * mtime and ctime in nanoseconds, inode, device, link count and rdev,
 * gathered with lstat only (directories are read, no file is opened). An
 * xattr set or removed, and a symlink pointed elsewhere (a new inode),
 * change the ctime, so neither needs reading (git's index relies on the
 * same). Because any difference rebuilds the whole layer, the index is
 * kept as the SHA-256 of those records in walk order (the "stat digest")
 * rather than record by record. It maps to the layer's diff_id and to its
 * compressed blobs per (media type, level): digest and size. The index of a
 * tree is ROOT/cache/layer-<key>.json, key = SHA-256 of the tree's real
 * path, the layer's prefix and epoch and hoist's version (a new tar writer
 * must not reuse an old one's layers). eStargz layers have an index of
 * their own (key parts plus "estargz"): their diff_id and TOC digest
 * (kept there too) depend on the level.
 *
 * Racy entries (git's racy-git problem). A file changed within the same
 * timestamp tick as the stat that recorded it keeps its mtime and ctime.
 * Each index therefore records "start", the file system's clock (the
 * ctime of a fresh temporary file in the cache directory) taken before the
 * tree was walked for it, and an index is trusted only if every entry's
 * mtime and ctime are strictly older than its start. A change after the
 * start always moves ctime to start or later, so it is seen; an index with
 * a racy entry is not written at all (the next build writes one). Entries
 * whose times have no nanoseconds (a file system with whole-second stamps)
 * are compared in whole seconds.
 *
 * A cached blob is used only if the store holds it under its digest with
 * the recorded size and its content still hashes to the digest: the record
 * keeps the stamp of the blob file (device, inode, mtime and ctime in ns)
 * the store wrote after checking its content, and a file whose stamp
 * differs is read and hashed again (then restamped when sound). A blob
 * that fails is a miss: the layer is built again, and the store's commit
 * replaces the damaged file with the verified bytes.
 *
 * Concurrency: index files are replaced atomically (temp + fsync +
 * rename), and every read-modify-write holds an exclusive flock on
 * ROOT/cache/lock; readers need no lock. Damaged or foreign index files
 * count as misses. Failing to record a cache entry never fails a build.
 */
#ifndef HOIST_LIB_CACHE_H
#define HOIST_LIB_CACHE_H

#include <stdint.h>
#include <time.h>

#include "util/err.h"
#include "lib/compress.h"
#include "lib/digest.h"
#include "lib/layer.h"
#include "lib/store.h"

struct hoist_cache;

/* Open the cache of store s (its directory is created if needed). */
int hoist_cache_open(struct hoist_cache **out, struct hoist_store *s,
		     struct hoist_err *err);
/*
 * Make c write-only (build --no-cache): every lookup misses and every
 * build records what it made, as docker build --no-cache does, so the
 * next build finds the blobs it wrote with their stamps (no re-hash).
 */
void hoist_cache_write_only(struct hoist_cache *c);
/* NULL is a no-op. */
void hoist_cache_close(struct hoist_cache *c);

/* The result of walking a tree for its stat index. */
struct hoist_cache_scan {
	struct hoist_digest stat; /* SHA-256 over the entries' records */
	uint64_t entries;
	struct timespec newest; /* latest mtime or ctime of any entry */
	int64_t newest_coarse;  /* same in seconds, for whole-second stamps */
};

/*
 * Walk dir (sorted, as the tar writer does) and fill out; dir may also be
 * a single file (one record). Reads no file content. Errors name the path
 * ("stat 'etc/x': ...").
 */
int hoist_cache_scan_tree(struct hoist_cache_scan *out, const char *dir,
			  struct hoist_err *err);

/* 1 if some entry of scan is not strictly older than start (see above). */
int hoist_cache_scan_racy(const struct hoist_cache_scan *scan,
			  const struct timespec *start);

/*
 * hoist_layer_from_dir with the cache in front: the tree is scanned; if
 * its index matches and the store holds the blob for opts' compression and
 * level, *out is that layer and *hit is 1, and nothing else is read.
 * Otherwise the layer is built into s (*hit 0) and recorded. c may be
 * NULL (no cache: always builds); else c must be s's cache. Returns what
 * hoist_layer_from_dir returns; cache trouble is only logged.
 */
int hoist_cache_layer_from_dir(struct hoist_layer *out, int *hit,
			       struct hoist_cache *c, struct hoist_store *s,
			       const char *dir,
			       const struct hoist_layer_opts *opts,
			       struct hoist_err *err);

/*
 * Recompressed base layers: from (the source blob's digest) recompressed
 * to (compression, level) gave digest/size, and for estargz esgz (its
 * TOC digest, diff_id and uncompressed size; NULL or ignored for the
 * other kinds). _get returns 1 and fills digest, size and esgz only if
 * the store holds that blob, sound (see above), else 0. _put records it (0,
 * or an error that callers may ignore).
 */
int hoist_cache_recomp_get(struct hoist_cache *c, const char *from,
			   enum hoist_compression compression, int level,
			   struct hoist_digest *digest, uint64_t *size,
			   struct hoist_estargz_result *esgz);
int hoist_cache_recomp_put(struct hoist_cache *c, const char *from,
			   enum hoist_compression compression, int level,
			   const struct hoist_digest *digest, uint64_t size,
			   const struct hoist_estargz_result *esgz,
			   struct hoist_err *err);

/*
 * Content digests, through the stat index. The content digest of path (a
 * directory tree, or one file) is a SHA-256 over what a layer takes from
 * it, in walk order: each entry's relative path, mode, size, mtime, device
 * numbers, xattrs, link target and, for a regular file, the SHA-256 of its
 * bytes; not its inode, device, link count, ctime or owner, so a copy with
 * the same content and times has the same digest. path is scanned (stat
 * only) and ROOT/cache/content-<key>.json (key: its real path and the
 * filter's id) maps its stat digest to its content digest: when it
 * matches (and is not racy),
 * *out is the recorded digest and no file is opened (*read 0); otherwise
 * every file is read (*read 1) and the new mapping recorded. c NULL:
 * always read, nothing recorded. With a filter, entries it skips (the
 * .dockerignore's) are in neither digest. Errors name the path; cache
 * trouble is only logged.
 */
struct hoist_cache_filter {
	/* 1 to leave out entry rel (relative to path, as "a/b") and, for a
	 * directory (dir 1), everything below it */
	int (*skip)(void *ctx, const char *rel, int dir);
	void *ctx;
	const char *id; /* what the filter does, as part of the record's key */
};
int hoist_cache_content_digest(struct hoist_digest *out, int *read,
			       struct hoist_cache *c, const char *path,
			       const struct hoist_cache_filter *filter,
			       struct hoist_err *err);

/*
 * Build steps (a Dockerfile instruction's result): ROOT/cache/step-<key>
 * .json records, for a step key the caller computed, that the step
 * changed nothing (*empty 1) or made layer l (its diff_id, tar size and
 * the blob for opts' compression and level). _get returns 1 on a hit
 * (for a layer: only if the store holds its blob, sound: see above),
 * else 0; c NULL is a miss. _put records (0, or an error that callers
 * may ignore; c NULL records nothing).
 */
int hoist_cache_step_get(struct hoist_cache *c, const struct hoist_digest *key,
			 const struct hoist_layer_opts *opts, int *empty,
			 struct hoist_layer *out);
int hoist_cache_step_put(struct hoist_cache *c, const struct hoist_digest *key,
			 const struct hoist_layer_opts *opts, int empty,
			 const struct hoist_layer *l, struct hoist_err *err);

struct hoist_cache_prune_stats {
	uint64_t entries_removed; /* index files removed */
	uint64_t blobs_dropped;   /* blob records dropped from kept files */
};
/*
 * Remove cache entries whose blobs are gone from the store (a layer index
 * keeps its other blobs), content digests of trees that are gone, damaged
 * index files and temporaries older than an hour; with all, remove every
 * entry. Holds the cache lock.
 */
int hoist_cache_prune(struct hoist_cache *c, int all,
		      struct hoist_cache_prune_stats *stats,
		      struct hoist_err *err);

#endif
