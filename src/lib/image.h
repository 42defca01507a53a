/*
 * image.h: the image model: media types, descriptors, image configs,
 * manifests and indexes, serialised with stable bytes.
 *
 * Field order follows the image-spec Go structs (what BuildKit emits), so
 * the same input always gives the same digest:
 *   manifest:   schemaVersion, mediaType, config, layers, annotations
 *   descriptor: mediaType, digest, size, annotations, platform
 *   platform:   architecture, os, variant
 * Manifests and indexes are indented with two spaces (Go MarshalIndent);
 * configs are compact with sorted top-level keys (BuildKit re-marshals the
 * config through a map).
 */
#ifndef HOIST_LIB_IMAGE_H
#define HOIST_LIB_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/compress.h"
#include "lib/platform.h"

#define HOIST_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HOIST_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HOIST_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define HOIST_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define HOIST_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define HOIST_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define HOIST_MT_DOCKER_LIST                                                   \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define HOIST_MT_DOCKER_MANIFEST                                               \
	"application/vnd.docker.distribution.manifest.v2+json"
#define HOIST_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define HOIST_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define HOIST_MT_DOCKER_LAYER_GZIP                                             \
	"application/vnd.docker.image.rootfs.diff.tar.gzip"
#define HOIST_MT_DOCKER_LAYER_ZSTD                                             \
	"application/vnd.docker.image.rootfs.diff.tar.zstd"

#define HOIST_ANN_IMAGE_NAME "io.containerd.image.name"
#define HOIST_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define HOIST_ANN_CREATED "org.opencontainers.image.created"

/* Largest manifest or index hoist reads or writes. */
#define HOIST_MANIFEST_MAX (4u << 20)
/* Largest image config hoist reads. */
#define HOIST_CONFIG_MAX (8u << 20)

/* Layer media type for a compression and a media-type family. */
const char *hoist_image_layer_mt(enum hoist_compression c, int oci);
/* 1 for index / manifest-list types, 0 otherwise. */
int hoist_image_mt_is_index(const char *mt);
/* 1 for image manifest types (OCI or Docker v2s2), 0 otherwise. */
int hoist_image_mt_is_manifest(const char *mt);
/* 1 for layer media types (any compression, OCI or Docker). */
int hoist_image_mt_is_layer(const char *mt);

/* A new descriptor {mediaType, digest, size}. */
json_t *hoist_image_desc(const char *mt, const char *digest, uint64_t size);
/* Add a platform object to a descriptor (architecture, os, variant). */
void hoist_image_desc_set_platform(json_t *desc,
				   const struct hoist_platform *p);
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
