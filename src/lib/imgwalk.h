/*
 * imgwalk.h: the one walker of the manifest graph (indexes, manifests,
 * configs, layers, and optionally subjects), used by pull, push, import,
 * export and gc; plus two walks built on it that read images back out of
 * the store (the platform manifests under a root; every blob it reaches).
 *
 * The walk is depth-first, in document order. For each descriptor it
 * calls the visitor's pre() before loading anything; for an index or an
 * image manifest it then loads the document (ops->load, or the store),
 * checks its shape and walks the children, then calls post() with the
 * document. Children of an index are its "manifests"; of a manifest its
 * "config", then its "layers", then (with HOIST_IMGWALK_SUBJECT) its
 * "subject".
 *
 * Policies, one for every user:
 *  - Depth: a document (index or manifest) more than HOIST_IMGWALK_MAX_DEPTH
 *    levels below the root is refused (HOIST_ELIMIT). Configs and layers
 *    do not count: the limit is on nesting of indexes.
 *  - Media types: index = OCI index or Docker manifest list, manifest = OCI
 *    or Docker v2s2 image manifest (hoist_image_mt_is_index/_manifest in
 *    image.h). Every other type is a leaf and is never loaded.
 *  - subject (OCI 1.1 referrers): followed only with HOIST_IMGWALK_SUBJECT,
 *    which gc needs (a referrer keeps its subject alive). Pull, push,
 *    import and export copy what the root reaches downwards only.
 *  - Foreign / non-distributable layers (media types containing
 *    "foreign" or "nondistributable"): ordinary blobs, as image-spec 1.1
 *    asks (it deprecated the types); node->foreign tells them apart.
 *    Their "urls" are never followed.
 *  - Each digest is visited once with HOIST_IMGWALK_ONCE (pre/post for
 *    the first descriptor naming it); a walk with it refuses to reach more
 *    than HOIST_IMGWALK_MAX_BLOBS distinct digests (HOIST_ELIMIT).
 *  - Strict (default): every descriptor must be valid (mediaType, digest,
 *    size: hoist_image_desc_get), an index needs a "manifests" array, a
 *    manifest a "config" object and a "layers" array (HOIST_EINVAL).
 *    HOIST_IMGWALK_TOLERANT (for gc, which must not fail on junk it did
 *    not write): invalid descriptors and blobs missing from the store are
 *    leaves (pre() still sees valid ones); a descriptor without mediaType
 *    is classified by its blob's own "mediaType" when the blob is a JSON
 *    object within HOIST_MANIFEST_MAX, else it is a leaf; missing arrays
 *    are empty. A present index or manifest that cannot be parsed is still
 *    an error (guessing would lose what it references).
 */
#ifndef HOIST_LIB_IMGWALK_H
#define HOIST_LIB_IMGWALK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/platform.h"
#include "lib/store.h"

/* Documents nested deeper than this below the root are refused. */
#define HOIST_IMGWALK_MAX_DEPTH 8
/* Distinct digests one walk with HOIST_IMGWALK_ONCE may reach. */
#define HOIST_IMGWALK_MAX_BLOBS 100000

enum hoist_imgwalk_flags {
	HOIST_IMGWALK_ONCE = 1 << 0,     /* each digest once */
	HOIST_IMGWALK_SUBJECT = 1 << 1,  /* follow manifests' "subject" */
	HOIST_IMGWALK_TOLERANT = 1 << 2, /* gc: junk and absence are leaves */
};

enum hoist_imgwalk_kind {
	HOIST_IMGWALK_INDEX,    /* index or manifest list: has children */
	HOIST_IMGWALK_MANIFEST, /* image manifest: has children */
	HOIST_IMGWALK_BLOB,     /* anything else (config, layer, ...) */
};

/* Where a descriptor was found. */
enum hoist_imgwalk_role {
	HOIST_IMGWALK_ROOT,
	HOIST_IMGWALK_ENTRY,      /* an index's "manifests" entry */
	HOIST_IMGWALK_CONFIG,     /* a manifest's "config" */
	HOIST_IMGWALK_LAYER,      /* a manifest's "layers" entry */
	HOIST_IMGWALK_SUBJECT_OF, /* a manifest's "subject" */
};

struct hoist_imgwalk_node {
	const json_t *desc; /* the descriptor (borrowed from its parent) */
	const char *mt;     /* its mediaType (NULL only when TOLERANT) */
	const char *digest;
	uint64_t size;
	enum hoist_imgwalk_kind kind;
	enum hoist_imgwalk_role role;
	int foreign;       /* a foreign / non-distributable layer type */
	int depth;         /* 0 for the root */
	const json_t *doc; /* post() only: the loaded document (borrowed) */
};

/* pre() returns this to walk on without loading or entering the node. */
#define HOIST_IMGWALK_PRUNE 1

struct hoist_imgwalk_ops {
	/*
	 * Called for each descriptor before anything is loaded: 0 to go on
	 * (load and walk the children of an index or manifest),
	 * HOIST_IMGWALK_PRUNE to skip the node's children and post(), or a
	 * negative HOIST_E* to stop the walk with it. NULL: always 0.
	 */
	int (*pre)(void *ctx, const struct hoist_imgwalk_node *n,
		   struct hoist_err *err);
	/*
	 * Load an index or manifest: *doc a new reference owned by the
	 * walker. NULL: read from the store (digest-verified, capped at
	 * HOIST_MANIFEST_MAX; in TOLERANT mode a missing blob is a leaf).
	 */
	int (*load)(void *ctx, const struct hoist_imgwalk_node *n, json_t **doc,
		    struct hoist_err *err);
	/*
	 * After the children of an index or manifest (n->doc set): children
	 * come first, so push can PUT them before their parent. 0 or a
	 * negative HOIST_E* that stops the walk. NULL: nothing.
	 */
	int (*post)(void *ctx, const struct hoist_imgwalk_node *n,
		    struct hoist_err *err);
};

/*
 * Walk the graph under root (a descriptor). s is read by the default
 * loader (may be NULL when ops->load is set). flags: enum
 * hoist_imgwalk_flags. Returns 0, the first negative code a callback
 * returned, HOIST_ELIMIT (depth, blob count, size cap), HOIST_EINVAL
 * (malformed descriptor or document), or a store error; err says why.
 */
int hoist_imgwalk(struct hoist_store *s, const json_t *root, unsigned flags,
		  const struct hoist_imgwalk_ops *ops, void *ctx,
		  struct hoist_err *err);

/* One image manifest with its config, from hoist_imgwalk_manifests. */
struct hoist_img_manifest {
	json_t *desc;     /* its descriptor (reference owned) */
	json_t *manifest; /* parsed manifest (owned) */
	json_t *config;   /* parsed config (owned) */
	struct hoist_platform platform;
};

/*
 * The image manifests under root: the manifest itself, or each manifest
 * of an index (nested indexes are followed; entries whose platform is
 * unknown/unknown, i.e. attestations, are skipped). Each platform is the
 * index entry's, else the config's. *out (array of *n) owned by the
 * caller: free with hoist_imgwalk_manifests_free. HOIST_EUNSUPPORTED for
 * a descriptor that is neither, plus hoist_imgwalk's codes.
 */
int hoist_imgwalk_manifests(struct hoist_img_manifest **out, size_t *n,
			    struct hoist_store *s, const json_t *root,
			    struct hoist_err *err);
void hoist_imgwalk_manifests_free(struct hoist_img_manifest *m, size_t n);

/*
 * Every descriptor reachable from root (root included), each digest once,
 * sorted by digest, as new {mediaType, digest, size} objects. *out is a new
 * JSON array owned by the caller. hoist_imgwalk's codes.
 */
int hoist_imgwalk_blobs(json_t **out, struct hoist_store *s, const json_t *root,
			struct hoist_err *err);

#endif
