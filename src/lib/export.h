/*
 * export.h: the exporters behind buildx's --output types.
 *
 *   image      names the image in the store (push=true: registry push,
 *              not available yet)
 *   registry   image with push=true
 *   oci        OCI layout, as a tar (dest file or "-") or a directory
 *   docker     OCI layout tar plus manifest.json, for docker/podman load;
 *              without dest, streamed into a Docker Engine (engine.h)
 *   local      the root filesystem into a directory
 *   tar        the root filesystem as a tar stream
 *   cacheonly  build into the store, export nothing
 *
 * hoist_export_plan() checks an --output spec completely (types, options,
 * names, destinations) without touching anything, so a bad spec fails
 * before any work is done. hoist_export_run() then writes the output
 * atomically: a failure leaves nothing at dest.
 *
 * export.c holds the plan and the dispatch; each exporter lives in its own
 * export-<type>.c behind the interface of export-int.h.
 */
#ifndef HOIST_LIB_EXPORT_H
#define HOIST_LIB_EXPORT_H

#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/attest.h"
#include "lib/build.h"
#include "lib/output.h"
#include "lib/registry.h"
#include "lib/store.h"

enum hoist_export_type {
	HOIST_EXPORT_IMAGE,
	HOIST_EXPORT_OCI,
	HOIST_EXPORT_DOCKER,
	HOIST_EXPORT_LOCAL,
	HOIST_EXPORT_TAR,
	HOIST_EXPORT_CACHEONLY,
};

struct hoist_export_plan {
	enum hoist_export_type type;
	const char *type_name; /* as given ("registry" stays "registry") */
	char *dest;            /* NULL when none */
	int load;              /* docker without dest: into an engine */
	char *context;         /* docker context= (the engine), or NULL */
	int tar;               /* oci/docker: tarball (1) or directory (0) */
	int push;
	int push_by_digest;
	char **names; /* normalised, e.g. docker.io/library/foo:latest */
	size_t nnames;
	char *raw_names; /* the name attr as given, for image.name */
	struct hoist_image_spec spec;
	int platform_split;    /* -1 unset */
	int mode_delete;       /* local mode=delete */
	int64_t epoch;         /* -1 none */
	int64_t created;       /* the epoch, or the time the plan was made */
	int name_canonical;    /* image: also name NAME@DIGEST */
	char *dangling_prefix; /* image: name PREFIX@DIGEST */
	int dangling_empty_only;
	/* image with push: how to reach the registry. insecure comes from
	 * registry.insecure; the CLI fills the rest (--ca-cert, ...). */
	struct hoist_registry_opts reg;
	/* image with push: the push of the first name that runs while the
	 * image is built (hoist_export_run), or NULL */
	struct hoist_export_pipe *pipe;
	/* oci/docker layouts written by copy: the index entry gets only
	 * org.opencontainers.image.ref.name=layout_ref (skopeo's oci:DIR:REF)
	 */
	char *layout_ref;
	/* image and oci outputs: attestations to attach (set by the CLI
	 * from --provenance/--sbom/--attest; names come from the plan) */
	const struct hoist_attest_opts *attest;
};

/*
 * Check o and fill plan. tags (from -t) override name= on image, oci and
 * docker outputs. epoch is SOURCE_DATE_EPOCH (-1 if unset); the output's
 * own source-date-epoch overrides it. plan owns its memory
 * (hoist_export_plan_release).
 */
int hoist_export_plan(struct hoist_export_plan *plan,
		      const struct hoist_output *o, const char *const *tags,
		      size_t ntags, int64_t epoch, struct hoist_err *err);
void hoist_export_plan_release(struct hoist_export_plan *plan);

/*
 * Refuse a destination that would overwrite or write into what must
 * survive: one that is, contains or lies inside the staging area
 * (store_root, may be NULL) or an input tree (inputs: --rootfs and
 * --layer directories, a build context), or that is or contains "/" or
 * $HOME. 0, or HOIST_EINVAL with one line naming both paths. Standard
 * output passes. hoist_export_run and hoist_export_write check the
 * staging area themselves; a build calls this first with its inputs.
 */
int hoist_export_guard(const struct hoist_export_plan *plan,
		       const char *store_root, const char *const *inputs,
		       size_t ninputs, struct hoist_err *err);

/* 1 if the output writes to standard output. */
int hoist_export_uses_stdout(const struct hoist_export_plan *plan);

/*
 * Run one export: build the image the plan wants (hoist_build_image) and
 * write it. Metadata keys (containerimage.digest, ...) are added to
 * meta, buildx's --metadata-file map.
 */
int hoist_export_run(const struct hoist_export_plan *plan,
		     struct hoist_store *s, struct hoist_build *b, json_t *meta,
		     struct hoist_err *err);

/*
 * Write the stored image root through plan's exporter, without building:
 * `hoist copy` to oci:, oci-archive: and docker-archive: uses this with a
 * plan it fills itself (type, type_name, tar, dest, created, names or
 * layout_ref). Returns 0, or a negative HOIST_E* code with err naming the
 * export and its destination; nothing is left half-written at dest.
 */
int hoist_export_write(const struct hoist_export_plan *plan,
		       struct hoist_store *s, const json_t *root,
		       struct hoist_err *err);

#endif
