/*
 * mediatype.h: the image model's vocabulary, with no behaviour behind it:
 * the media types and annotation keys hoist reads and writes, the
 * compression kinds a layer can have, and the size caps on the JSON
 * documents of an image. Engines (compress.c, the store, the transports)
 * include this instead of reaching into each other for the names.
 */
#ifndef HOIST_LIB_MEDIATYPE_H
#define HOIST_LIB_MEDIATYPE_H

/* How a layer is compressed. compress.h turns these into streams. */
enum hoist_compression {
	HOIST_COMP_NONE,
	HOIST_COMP_GZIP,
	HOIST_COMP_ZSTD,
	HOIST_COMP_ESTARGZ, /* gzip laid out as eStargz (estargz.h) */
};

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

/*
 * Predicates on a media type (defined in image.c). NULL is no type: each
 * returns 0 for it.
 */
/* Layer media type for a compression and a media-type family (oci != 0). */
const char *hoist_image_layer_mt(enum hoist_compression c, int oci);
/* 1 for index / manifest-list types, 0 otherwise. */
int hoist_image_mt_is_index(const char *mt);
/* 1 for image manifest types (OCI or Docker v2s2), 0 otherwise. */
int hoist_image_mt_is_manifest(const char *mt);
/* 1 for layer media types (any compression, OCI or Docker). */
int hoist_image_mt_is_layer(const char *mt);

#endif
