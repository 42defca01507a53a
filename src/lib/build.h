/*
 * build.h: turning a build plan (layer directories, a run configuration,
 * platforms) into images in the store.
 *
 * Layers are built once per compression and level an output asks for and
 * then shared by every output that wants the same; manifests are made per
 * output, since media types and annotations differ between outputs.
 */
#ifndef HOIST_LIB_BUILD_H
#define HOIST_LIB_BUILD_H

#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/cache.h"
#include "lib/compress.h"
#include "lib/digest.h"
#include "lib/feed.h"
#include "lib/image.h"
#include "lib/platform.h"
#include "lib/store.h"

/* A layer directory, for every platform or for one. */
struct hoist_build_layer {
	const char *dir;
	const struct hoist_platform *platform; /* NULL: every platform */
};

struct hoist_build_opts {
	const struct hoist_platform *platforms; /* at least one */
	size_t nplatforms;
	const struct hoist_build_layer *layers; /* in order, bottom first */
	size_t nlayers;
	struct hoist_image_runconfig rc;
	int64_t epoch; /* SOURCE_DATE_EPOCH, or -1 (see the spec's epoch) */
	/*
	 * The base image, or NULL: for each platform (same order) a
	 * descriptor in the store of its manifest, or of an index holding
	 * it. Each platform builds on the base manifest of the same
	 * platform: its layers come first (kept as they are unless
	 * force_compression or base_inherited), its config is inherited,
	 * its history goes on.
	 */
	const json_t *const *bases;
	/*
	 * With bases, or NULL: per platform (same order), how many leading
	 * layers of the base are inherited (from the image it was built
	 * on). The layers after them were made by the build that made the
	 * base (a Dockerfile's COPY/ADD), so, as BuildKit compresses the
	 * layers a build creates, an output asking another compression
	 * gets them compressed again, as force_compression does (unless
	 * it only unpacks the image: unpack_only). NULL: every base layer
	 * is inherited.
	 */
	const size_t *base_inherited;
	/*
	 * The build cache (cache.h), or NULL: a layer tree whose stat index
	 * is unchanged, and a base layer already recompressed, are reused.
	 */
	struct hoist_cache *cache;
};

/* How one output wants its image. */
struct hoist_image_spec {
	enum hoist_compression compression;
	int level;
	int oci;               /* OCI media types (else Docker) */
	int force_compression; /* recompress base layers too */
	/* the image is only unpacked (local, tar) or not written
	 * (cacheonly): base layers keep their compression (see
	 * base_inherited) */
	int unpack_only;
	json_t *ann_manifest;      /* annotations of every manifest */
	json_t *ann_manifest_desc; /* on manifest descriptors */
	json_t *ann_index;         /* on the index (multi-platform only) */
	json_t *ann_index_desc;    /* on the index descriptor */
	/* "os/arch[/variant]" -> object: annotation[PLATFORM].KEY forms */
	json_t *ann_manifest_plat;
	json_t *ann_manifest_desc_plat;
	/*
	 * The output's epoch (its source-date-epoch=, else
	 * SOURCE_DATE_EPOCH) when has_epoch; else the build's opts.epoch.
	 * As BuildKit, it sets the config's created and our history
	 * entries; layer file times later than it are clamped only with
	 * rewrite_timestamp.
	 */
	int has_epoch;
	int64_t epoch;
	int rewrite_timestamp;
	/*
	 * A pipelined push (feed.h), or NULL: each layer this image builds
	 * (not one the build cache or an earlier output supplies) is
	 * announced as "layer N" when its compressed blob starts, its bytes
	 * reported as they are written, and its end with its digest.
	 */
	struct hoist_feed *feed;
};

/*
 * The layer descriptor annotations of an eStargz blob with this TOC
 * digest and uncompressed size, as BuildKit's estargz compressor sets
 * them: a new object, the caller's.
 */
json_t *hoist_build_estargz_ann(const struct hoist_digest *toc, uint64_t usize);

/*
 * A build: created from opts, then asked for an image per output. The
 * struct is copied but not what it points to: the platforms, layers,
 * strings and bases must outlive the build. hoist_build_new returns 0, or
 * HOIST_EINVAL (no platform) or the code of reading a base image from the
 * store (HOIST_ENOTFOUND, HOIST_EIO, HOIST_EINVAL, prefixed "base
 * image"); *out is the caller's (hoist_build_free).
 * hoist_build_image returns 0 or what building a layer returns (see
 * layer.h) and the store's codes for writing manifests.
 */
struct hoist_build;

int hoist_build_new(struct hoist_build **out, struct hoist_store *s,
		    const struct hoist_build_opts *opts, struct hoist_err *err);
void hoist_build_free(struct hoist_build *b);

/*
 * Make (or reuse) the image for spec in the store. *root is a new
 * descriptor of the root manifest (with platform) or index, owned by the
 * caller. config (may be NULL) receives the config digest for a single
 * manifest and is emptied for an index.
 */
int hoist_build_image(struct hoist_build *b,
		      const struct hoist_image_spec *spec, json_t **root,
		      struct hoist_digest *config, struct hoist_err *err);

#endif
