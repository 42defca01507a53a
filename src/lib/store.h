/*
 * store.h: the staging area, a content-addressed store laid out like an OCI
 * image layout:
 *
 *   ROOT/oci-layout              {"imageLayoutVersion":"1.0.0"}
 *   ROOT/index.json              OCI index; one descriptor per image name,
 *                                annotated io.containerd.image.name=<name>
 *   ROOT/blobs/sha256/<hex>      immutable blobs (mode 0444)
 *   ROOT/ingest/                 blobs being written (temp files)
 *   ROOT/uploads/<sha256>.json   upload sessions of interrupted pushes
 *   ROOT/registries/<host>.json  what was learned about each registry
 *   ROOT/cache/                  the build cache (cache.h)
 *   ROOT/index.lock, ROOT/gc.lock  flock(2) lock files
 *
 * Only store*.c know this layout: everything else goes through the
 * functions below.
 *
 * Root: --root DIR, else $HOIST_ROOT, else ${XDG_DATA_HOME:-$HOME/.local/
 * share}/hoist (hoist_store_default_root).
 *
 * Crash safety: a blob is hashed while written to an ingest file, fsynced,
 * verified and renamed into blobs/ (then the directory is fsynced), so a
 * blob file always has the content its name says. index.json is replaced
 * atomically under an exclusive lock on index.lock, so concurrent processes
 * never lose each other's names and a crash never tears it. Writers hold a
 * shared lock on gc.lock for the store's lifetime; hoist_store_gc takes it
 * exclusively, so it never collects blobs that a running build has written
 * but not named yet.
 */
#ifndef HOIST_LIB_STORE_H
#define HOIST_LIB_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/digest.h"

struct hoist_store;

/* The default root as described above. Caller frees. */
char *hoist_store_default_root(void);

/*
 * Open (creating if needed) the store at root and take the shared gc lock.
 * *out owned by the caller (hoist_store_close).
 */
int hoist_store_open(struct hoist_store **out, const char *root,
		     struct hoist_err *err);
void hoist_store_close(struct hoist_store *s);
const char *hoist_store_root(const struct hoist_store *s);
/*
 * ROOT/cache, the build cache's directory (see cache.h), created if
 * missing. gc leaves it alone; hoist_cache_prune keeps it tidy. *out is
 * owned by the caller.
 */
int hoist_store_cache_dir(char **out, const struct hoist_store *s,
			  struct hoist_err *err);

/*
 * Path of a blob file (whether or not it exists). Caller frees. NULL if
 * digest is not a valid sha256 digest (it never becomes a path then).
 */
char *hoist_store_blob_path(const struct hoist_store *s, const char *digest);
/* 1 if the blob is present, 0 if not (or if digest is invalid). */
int hoist_store_has(const struct hoist_store *s, const char *digest);
/*
 * Size of a present blob. HOIST_ENOTFOUND if missing.
 */
int hoist_store_blob_size(const struct hoist_store *s, const char *digest,
			  uint64_t *size, struct hoist_err *err);

struct hoist_ingest;
/* Start writing a new blob. */
int hoist_ingest_open(struct hoist_ingest **out, struct hoist_store *s,
		      struct hoist_err *err);
/* Append bytes (hashed as they go). */
int hoist_ingest_write(struct hoist_ingest *in, const void *data, size_t len,
		       struct hoist_err *err);
/* Bytes written so far. */
uint64_t hoist_ingest_size(const struct hoist_ingest *in);
/* Its file (owned by in): readers may pread the bytes written so far. */
int hoist_ingest_fd(const struct hoist_ingest *in);
/*
 * Finish: fsync, compare with expected (if not NULL; HOIST_EDIGEST on
 * mismatch, and nothing is stored), rename into blobs/ and fsync the
 * directory. If the blob already exists the temp file is just removed.
 * Frees in in every case. out/size may be NULL.
 */
int hoist_ingest_commit(struct hoist_ingest *in, const char *expected,
			struct hoist_digest *out, uint64_t *size,
			struct hoist_err *err);
/* Drop an unfinished blob. Frees in. NULL is a no-op. */
void hoist_ingest_abort(struct hoist_ingest *in);

/*
 * Scratch space on the store's file system, for data that is not a blob
 * (so a rename or a copy stays on one device and gc can find leftovers).
 *
 * hoist_store_tmpfile: an anonymous read-write file (O_TMPFILE, or a file
 * unlinked at once). *fd is the caller's to close; nothing is left behind
 * even when the process is killed.
 * hoist_store_mkdtemp: a fresh private directory. *path is the caller's to
 * free, and the caller removes the directory (hoist_fs_rm_rf); one left by
 * a killed process is removed by the next gc.
 */
int hoist_store_tmpfile(struct hoist_store *s, int *fd, struct hoist_err *err);
int hoist_store_mkdtemp(struct hoist_store *s, char **path,
			struct hoist_err *err);

/*
 * Upload sessions: small JSON records that let an interrupted push resume
 * an upload, keyed by any text (registry.c uses "host/repo@digest"). The
 * record's "digest" member names the blob being uploaded: gc drops a
 * session whose blob is no longer in the store (see hoist_store_gc).
 *
 * load: 0 and *doc (caller owns) when a readable record exists,
 * HOIST_ENOTFOUND otherwise (a corrupt record reads as absent).
 * save: atomic replace; HOIST_EINVAL if doc has no valid "digest", else an
 * I/O error. drop: remove the record; a missing one is not an error.
 */
int hoist_store_session_load(struct hoist_store *s, const char *key,
			     json_t **doc);
int hoist_store_session_save(struct hoist_store *s, const char *key,
			     const json_t *doc, struct hoist_err *err);
void hoist_store_session_drop(struct hoist_store *s, const char *key);

/*
 * Per-registry memory: one small JSON record per registry host (e.g. the
 * upload strategy that worked). load: 0 and *doc (caller owns), or
 * HOIST_ENOTFOUND when there is none or it is unreadable. save: atomic
 * replace, or an I/O error. Never collected by gc.
 */
int hoist_store_registry_load(struct hoist_store *s, const char *host,
			      json_t **doc);
int hoist_store_registry_save(struct hoist_store *s, const char *host,
			      const json_t *doc, struct hoist_err *err);

/* Store a whole buffer as a blob. */
int hoist_store_put(struct hoist_store *s, const void *data, size_t len,
		    struct hoist_digest *out, struct hoist_err *err);
/*
 * Read a whole blob of at most max bytes, verifying its digest
 * (HOIST_EDIGEST on mismatch). *data is NUL-terminated, owned by caller.
 */
int hoist_store_get(struct hoist_store *s, const char *digest, size_t max,
		    char **data, size_t *len, struct hoist_err *err);

/*
 * Names. Each image name (a normalised reference, e.g.
 * "docker.io/library/foo:latest") maps to the descriptor of its root
 * manifest or index. desc is a JSON descriptor object (mediaType, digest,
 * size, optional platform/annotations); the store adds the annotation
 * io.containerd.image.name=<name>. An existing entry with the same name is
 * replaced (in place, so the order of the others is kept). The blob desc
 * names must already be in the store (HOIST_ENOTFOUND if not), so a name
 * never points at nothing; HOIST_EINVAL for an empty name or a descriptor
 * without mediaType, a valid digest and size.
 */
int hoist_store_tag(struct hoist_store *s, const char *name, const json_t *desc,
		    struct hoist_err *err);
/* Look a name up. *desc is a new reference owned by the caller. */
int hoist_store_resolve(struct hoist_store *s, const char *name, json_t **desc,
			struct hoist_err *err);
/* Remove a name. HOIST_ENOTFOUND if absent. */
int hoist_store_untag(struct hoist_store *s, const char *name,
		      struct hoist_err *err);
/* A copy of the index's "manifests" array. Caller owns *list. */
int hoist_store_list(struct hoist_store *s, json_t **list,
		     struct hoist_err *err);

struct hoist_store_gc_stats {
	uint64_t blobs_removed;
	uint64_t bytes_removed;
	uint64_t ingest_removed;   /* stale ingest files and temporaries */
	uint64_t sessions_removed; /* stale upload sessions */
};
/*
 * Remove every blob no name reaches (following index -> manifests ->
 * config and layers), and what killed processes left behind. Waits until
 * no other process has the store open (exclusive gc lock, released again
 * before returning; the caller's own shared lock is dropped meanwhile).
 *
 * Which blobs are followed is decided by the descriptor's mediaType (the
 * blob's own mediaType when the descriptor has none): OCI and Docker
 * indexes/manifest lists by "manifests", OCI and Docker image manifests by
 * "config" and "layers"; "subject" is followed in both. Other blobs are
 * leaves. A reachable manifest that is corrupt or not JSON stops gc before
 * anything is removed (HOIST_EDIGEST / HOIST_EINVAL).
 *
 * Stale, and removed (the rule hoist(1) documents):
 *   - every ingest file and every ".hoist-tmp-*" temporary of the store:
 *     every writer keeps the store open while it writes, so once gc holds
 *     the lock none of them has a live owner (each ingest file is also
 *     flock'ed by its writer, which is how fsck tells without waiting);
 *   - an upload session whose record is unreadable, whose blob is no longer
 *     in the store (after this sweep), or that is older than 7 days.
 * Because flock locks belong to open files, a process must not call this
 * while it has a second hoist_store open on the same root: gc would wait
 * for itself.
 */
int hoist_store_gc(struct hoist_store *s, struct hoist_store_gc_stats *stats,
		   struct hoist_err *err);

/* What fsck found. The first five make the store unsound. */
enum hoist_fsck_kind {
	HOIST_FSCK_CORRUPT,   /* a blob whose content fails its digest */
	HOIST_FSCK_MISSING,   /* a name or manifest refers to an absent blob */
	HOIST_FSCK_BAD_REF,   /* a descriptor with a bad digest or size */
	HOIST_FSCK_BAD_DOC,   /* a reachable manifest or index is not JSON */
	HOIST_FSCK_BAD_INDEX, /* index.json cannot be read */
	HOIST_FSCK_ORPHAN,    /* a blob no name reaches (prune removes it) */
	HOIST_FSCK_STALE,     /* a leftover of a killed process */
};

struct hoist_fsck_finding {
	enum hoist_fsck_kind kind;
	const char *subject; /* a digest, or a path for STALE */
	const char *name;    /* the image name that reaches it, or NULL */
	const char *detail;  /* why, for a problem; else NULL */
	int repaired;        /* --repair removed subject */
};

/* Called for each finding; the pointers are valid during the call only. */
typedef void (*hoist_fsck_report_fn)(void *ctx,
				     const struct hoist_fsck_finding *f);

struct hoist_store_fsck_stats {
	uint64_t blobs;    /* blob files checked */
	uint64_t bytes;    /* bytes hashed */
	uint64_t names;    /* names checked */
	uint64_t problems; /* unsound findings left after any repair */
	uint64_t repaired; /* files removed by repair */
	uint64_t orphans;
	uint64_t stale;
	int partial; /* others had the store open: temporaries not judged */
};

/*
 * Check the store: every blob file against its digest, every name's
 * manifest graph (each reachable blob present with its descriptor's size,
 * each reachable manifest and index readable), and report orphans and
 * stale leftovers (the rule of hoist_store_gc) through report (may be
 * NULL). Without repair it does not wait for other processes: when some
 * have the store open, scratch temporaries are not judged (stats.partial)
 * and orphans may be blobs a running build has not named yet.
 *
 * repair: wait for the store to be free (as gc does), remove every corrupt
 * blob (the names that reach it are reported as MISSING, so a rebuild or a
 * pull can bring it back) and every stale leftover. Orphans stay (prune).
 *
 * Returns 0 when the check ran; the store is sound when stats->problems is
 * 0. HOIST_E* when it could not run (a lock or directory could not be
 * opened).
 */
int hoist_store_fsck(struct hoist_store *s, int repair,
		     hoist_fsck_report_fn report, void *ctx,
		     struct hoist_store_fsck_stats *stats,
		     struct hoist_err *err);

#endif
