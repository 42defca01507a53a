/*
 * dfbuild.h: building a Dockerfile without a container runtime.
 *
 * For each platform, the Dockerfile is planned (dfplan.h) and each stage
 * the target needs is built in plan order into an image in the store:
 *  - its base: scratch, an earlier stage's result, or an image by
 *    reference (the staging area's, else pulled: what `--from` reads,
 *    base.h), whose config seeds the stage's;
 *  - one layer per COPY/ADD (and per WORKDIR that creates a directory),
 *    written with deterministic tar headers in the options' compression
 *    (eStargz layers with their TOC annotations); a step that changes
 *    nothing makes no layer and its history entry is marked empty_layer;
 *  - a config with the plan's settings and history entries as BuildKit
 *    writes them ("comment": "buildkit.dockerfile.v0").
 * The target stage's manifests are returned as the base of a
 * hoist_build (build.h), so every exporter applies unchanged.
 *
 * With a cache, each COPY/ADD/WORKDIR step is keyed by where its stage's
 * filesystem comes from, the instruction and its sources' content
 * (dfbuild-cache.c), and a recorded result is reused without reading a
 * source or unpacking a stage: the step reports CACHED. A reused layer is
 * the one a cold build writes, so the digests do not depend on the cache.
 *
 * Progress: a step per FROM image and per filesystem instruction, named
 * as buildx names them ("[2/4] COPY app /app", "[build 1/3] FROM x").
 *
 * A stage's filesystem is unpacked into a scratch directory of the store
 * (with the hostile-tar-safe unpacker) when a step needs it: to know
 * whether a destination is a directory, to read /etc/passwd and
 * /etc/group for --chown names, and as the source of COPY --from.
 */
#ifndef HOIST_LIB_DFBUILD_H
#define HOIST_LIB_DFBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/cache.h"
#include "lib/compress.h"
#include "lib/platform.h"
#include "lib/registry.h"
#include "lib/store.h"
#include "util/err.h"

struct hoist_dfbuild_opts {
	const char *context;    /* the build context directory */
	const char *dockerfile; /* NULL: CONTEXT/Dockerfile; "-": stdin */
	const char *target;     /* NULL: the last stage */
	/* the Dockerfile's name in messages, NULL: dockerfile's path (a
	 * remote context's is in a scratch directory, dfcontext.h) */
	const char *dockerfile_name;
	/* "K=V", or "K" for the value of K in the environment (skipped
	 * when K is not set there), as buildx --build-arg */
	const char *const *build_args;
	size_t nbuild_args;
	/* --build-context NAME=VALUE, as buildx: VALUE a directory,
	 * docker-image://REF (any name hoist reads, see
	 * hoist-transports(7)) or oci-layout://DIR[:TAG|@DIGEST]; FROM NAME
	 * and COPY --from=NAME use it instead of an image of that name,
	 * and a stage called NAME is that context (not built) */
	const char *const *contexts;
	size_t ncontexts;
	int64_t epoch; /* SOURCE_DATE_EPOCH, or -1: config and history
			* times, and the time of entries a step makes
			* (parent directories, heredoc files) */
	/* clamp the times of files copied into layers to this, as
	 * BuildKit's rewrite-timestamp=true does; -1: keep them */
	int64_t file_epoch;
	/* the compression and level of the layers the steps make (BuildKit
	 * compresses them as the output asks; hoist: the first image
	 * output's): HOIST_COMP_GZIP, HOIST_COMP_LEVEL_DEFAULT without one */
	enum hoist_compression compression;
	int level;
	const struct hoist_registry_opts *ro;
	/* the build cache (cache.h), or NULL (--no-cache): a step whose
	 * key has a record is not run again */
	struct hoist_cache *cache;
	/* NULL, or an array each image the build reads (FROM, COPY --from,
	 * a docker-image:// build context) is appended to, once per
	 * platform, as {"ref", "platform": "os/arch[/variant]", "digest":
	 * its manifest's}: the provenance's materials */
	json_t *images;
};

/*
 * Build o's Dockerfile for each of the nplats platforms. *bases is a new
 * array of nplats manifest descriptors (with platform) in the store, one
 * per platform, in order: the caller json_decref()s each and free()s the
 * array. *inherited (new, the caller free()s it) holds, per platform, how
 * many leading layers of that image the build did not make: those of the
 * image or directory --build-context the target's first stage is on
 * (hoist_build_opts.base_inherited). Nothing outside the store is
 * written. Errors: HOIST_EINVAL for
 * the Dockerfile and its sources ("Dockerfile:LINE: message (in
 * 'INSTRUCTION')"), HOIST_EUNSUPPORTED for RUN and what hoist cannot do
 * (checked before any stage is built), HOIST_ENOTFOUND for a missing
 * Dockerfile, context file or base image, and the store's, unpacker's and
 * registry's codes.
 */
int hoist_dfbuild_run(json_t ***bases, size_t **inherited,
		      const struct hoist_platform *plats, size_t nplats,
		      struct hoist_store *s, const struct hoist_dfbuild_opts *o,
		      struct hoist_err *err);

#endif
