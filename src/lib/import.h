/*
 * import.h: reading images from OCI layouts and archives into the staging
 * area, verifying every blob's digest on the way in.
 *
 *  - oci:DIR[:REF]          an OCI image layout directory. REF selects an
 *                           index.json entry by org.opencontainers.image.
 *                           ref.name, or by io.containerd.image.name; with
 *                           no REF there must be exactly one entry.
 *  - oci-archive:FILE[:REF] the same inside a tar (read as a stream when
 *                           possible; blobs are ingested as they pass).
 *  - docker-archive:FILE[:REF]  `docker save` / skopeo / hoist output:
 *                           manifest.json (RepoTags select REF), the
 *                           config, and layer tars (plain or compressed).
 *                           A Docker v2s2 manifest is made for it (layers
 *                           keep their bytes; uncompressed layers get the
 *                           uncompressed media type), and the config's
 *                           rootfs.diff_ids must match the layers.
 * Archives are untrusted input: member names are checked, sizes capped
 * (manifests, configs, index.json 4 MiB), every digest verified; a bad
 * archive fails with one clear error and leaves no name in the store.
 */
#ifndef HOIST_LIB_IMPORT_H
#define HOIST_LIB_IMPORT_H

#include <jansson.h>

#include "util/err.h"
#include "lib/store.h"

/*
 * *root: new descriptor of the imported root, owned by the caller
 * (json_decref), NULL on failure. 0, or: HOIST_ENOTFOUND (no such file,
 * or no entry matches REF), HOIST_EINVAL (a malformed layout or archive,
 * an ambiguous REF), HOIST_EDIGEST (a blob does not match its digest),
 * HOIST_ELIMIT (a document over its cap), HOIST_EUNSUPPORTED (a media
 * type or layout version hoist does not read), HOIST_EIO (reading or
 * writing the store).
 */
int hoist_import_oci_dir(json_t **root, struct hoist_store *s, const char *dir,
			 const char *ref, struct hoist_err *err);
int hoist_import_oci_archive(json_t **root, struct hoist_store *s,
			     const char *file, const char *ref,
			     struct hoist_err *err);
int hoist_import_docker_archive(json_t **root, struct hoist_store *s,
				const char *file, const char *ref,
				struct hoist_err *err);

#endif
