/*
 * copy.h: registry -> registry copies that stream. The manifests and
 * configs of the source come into the store first (they are small and say
 * what else is needed); then the push starts at once, and every layer the
 * store lacks is downloaded on a second thread into a store ingest while
 * the upload sends its chunks from that same growing file. The closing
 * PUT, which names the digest, goes only after the download verified it;
 * a layer whose bytes do not match gets its upload session cancelled
 * (DELETE) and the copy fails, leaving nothing at the destination.
 *
 * Nothing is downloaded before an upload asks for it: a blob the
 * destination has (HEAD) or can mount (within one registry) is never
 * fetched. The layers end up verified in the store as with a pull.
 */
#ifndef HOIST_LIB_COPY_H
#define HOIST_LIB_COPY_H

#include <jansson.h>

#include "util/err.h"
#include "lib/pull.h"
#include "lib/registry.h"
#include "lib/store.h"

/*
 * Copy src_ref to dst_ref (full references; dst_ref without a tag with
 * by_digest). po: the pull options for the source (platform filter,
 * connection settings); ro: the push options for the destination
 * (mount_from set for a copy within one registry). *root is a new
 * descriptor of what was copied. stats (required) is filled as for
 * hoist_registry_push. 0, or the codes of hoist_pull_image and
 * hoist_registry_push.
 */
int hoist_copy_registry(json_t **root, struct hoist_store *s,
			const char *src_ref, const char *dst_ref, int by_digest,
			const struct hoist_pull_opts *po,
			const struct hoist_registry_opts *ro,
			struct hoist_push_stats *stats, struct hoist_err *err);

#endif
