/*
 * imgwalk.h: reading images back out of the store: the platform manifests
 * under a root descriptor, and every blob an image reaches. Every JSON blob
 * read is digest-verified and size-capped by the store.
 */
#ifndef HOIST_LIB_IMGWALK_H
#define HOIST_LIB_IMGWALK_H

#include <stddef.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/platform.h"
#include "lib/store.h"

struct hoist_img_manifest {
	json_t *desc;     /* its descriptor (reference owned) */
	json_t *manifest; /* parsed manifest (owned) */
	json_t *config;   /* parsed config (owned) */
	struct hoist_platform platform;
};

/*
 * The image manifests under root: the manifest itself, or each manifest
 * of an index (nested indexes are followed; entries whose platform is
 * unknown/unknown, i.e. attestations, are skipped). *out owned by caller.
 */
int hoist_imgwalk_manifests(struct hoist_img_manifest **out, size_t *n,
			    struct hoist_store *s, const json_t *root,
			    struct hoist_err *err);
void hoist_imgwalk_manifests_free(struct hoist_img_manifest *m, size_t n);

/*
 * Every descriptor reachable from root (root included), each digest once,
 * sorted by digest. *out is a new JSON array owned by the caller.
 */
int hoist_imgwalk_blobs(json_t **out, struct hoist_store *s, const json_t *root,
			struct hoist_err *err);

#endif
