/*
 * image.h: the image model: descriptors, image configs,
 * manifests and indexes, serialised with stable bytes.
 *
 * Field order follows the image-spec Go structs (what BuildKit emits), so
 * the same input always gives the same digest:
 *   manifest:   schemaVersion, mediaType, config, layers, annotations
 *   descriptor: mediaType, digest, size, annotations, platform
 *   platform:   architecture, os, variant
 * Manifests and indexes are indented with two spaces (Go MarshalIndent);
 * configs are compact with sorted top-level keys (BuildKit re-marshals the
 * config through a map). The media types, compression kinds and size caps
 * are in mediatype.h.
 */
#ifndef HOIST_LIB_IMAGE_H
#define HOIST_LIB_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/mediatype.h"
#include "lib/platform.h"

/* A new descriptor {mediaType, digest, size}. */
json_t *hoist_image_desc(const char *mt, const char *digest, uint64_t size);
/* Add a platform object to a descriptor (architecture, os, variant). */
void hoist_image_desc_set_platform(json_t *desc,
				   const struct hoist_platform *p);
/*
 * The os, architecture and variant of o (a descriptor's "platform" or an
 * image config) into p, as written (no normalisation; absent fields are
 * ""). Values too long for p are truncated.
 */
void hoist_image_platform_from_json(struct hoist_platform *p, const json_t *o);
/*
 * Read a descriptor's fields with validation: mediaType string, valid
 * digest, non-negative size. Pointers borrow from desc.
 */
int hoist_image_desc_get(const json_t *desc, const char **mt,
			 const char **digest, uint64_t *size,
			 struct hoist_err *err);

/* "2026-11-27T15:00:00Z" for t (UTC). buf must hold 32 bytes. */
void hoist_image_time(int64_t t, char buf[32]);

/* Runtime configuration of an image (the config's "config" object). */
struct hoist_image_runconfig {
	const char *user;
	const char **exposed; /* "80/tcp" ... */
	size_t nexposed;
	const char **env; /* "K=V" */
	size_t nenv;
	const char **entrypoint; /* NULL: unset */
	size_t nentrypoint;
	int entrypoint_set;
	const char **cmd;
	size_t ncmd;
	int cmd_set;
	const char **volumes;
	size_t nvolumes;
	const char *workdir;
	const char **labels; /* "K=V" */
	size_t nlabels;
	const char *stop_signal;
};

/* A layer as the config and manifest need it. */
struct hoist_image_layer {
	const char *digest;
	const char *diff_id;
	uint64_t size;
	enum hoist_compression compression;
	const char *created_by; /* history text */
	const char *media_type; /* set: used as is (base image layers) */
	/*
	 * The descriptor's annotations (borrowed), or NULL: written in key
	 * order, and only in OCI manifests (BuildKit drops layer
	 * annotations with Docker media types).
	 */
	const json_t *annotations;
};

/*
 * Build an image config. created is the image's creation time (the
 * SOURCE_DATE_EPOCH when set). Env gets Docker's default PATH unless a
 * PATH is given; WorkingDir defaults to "/". *out is a compact JSON text
 * owned by the caller.
 */
int hoist_image_config(char **out, size_t *len,
		       const struct hoist_platform *platform,
		       const struct hoist_image_runconfig *rc,
		       const struct hoist_image_layer *layers, size_t nlayers,
		       int64_t created, struct hoist_err *err);

/*
 * The same on top of a base image's config (may be NULL): its settings
 * are inherited and ours applied over them (ENV replaces a key; LABEL,
 * EXPOSE, VOLUME add; ENTRYPOINT resets an inherited Cmd), its history
 * and rootfs.diff_ids come first, then our layers'.
 */
int hoist_image_config_from(char **out, size_t *len, const json_t *base,
			    const struct hoist_platform *platform,
			    const struct hoist_image_runconfig *rc,
			    const struct hoist_image_layer *layers,
			    size_t nlayers, int64_t created,
			    struct hoist_err *err);

/*
 * Build a manifest (indented JSON). annotations may be NULL (borrowed).
 * oci selects OCI or Docker v2s2 media types; Docker manifests carry no
 * annotations (HOIST_EINVAL if given).
 */
int hoist_image_manifest(char **out, size_t *len, const json_t *config_desc,
			 const struct hoist_image_layer *layers, size_t nlayers,
			 const json_t *annotations, int oci,
			 struct hoist_err *err);

/* Build an index / manifest list over descs (borrowed). */
int hoist_image_index(char **out, size_t *len, const json_t *descs,
		      const json_t *annotations, int oci,
		      struct hoist_err *err);

#endif
