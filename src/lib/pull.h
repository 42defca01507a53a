/*
 * pull.h: the read side of the registry client: fetching an image (a
 * manifest or a whole index with its platform manifests, configs and
 * layers) into the staging area.
 *
 *  - Manifests: GET with the full Accept list (OCI and Docker index and
 *    manifest types; distribution 2.8 answers 404 to an OCI manifest
 *    requested without it), capped at 4 MiB, stored as their exact bytes.
 *    A manifest fetched by digest is verified against it; by tag, its
 *    digest is computed (Docker-Content-Digest, when sent, must agree).
 *    schema1 (application/vnd.docker.distribution.manifest.v1+*) is
 *    refused with a clear error.
 *  - Blobs: GET streamed into a store ingest, digest and size verified,
 *    so nothing unverified is ever named. Blobs already in the store are
 *    not fetched. A broken download resumes with Range from the bytes
 *    already received (up to the retry policy). Downloads run in
 *    parallel on one event loop (max_concurrent) through the transfer
 *    pool (xfer.h): the first blob that fails stops the others. Each
 *    download is a download engine (download.h) with no I/O.
 *  - Redirects (blob GETs to storage hosts): followed by hand, up to 5,
 *    and the Authorization header is sent only to the registry's own
 *    origin; https -> http downgrades are refused. Another origin gets
 *    the registry's CA file but neither its client certificate nor its
 *    "insecure" setting.
 *  - Platforms: with an index, every platform (all) or only the ones that
 *    match the filter; with a filter that matches one manifest, that
 *    manifest becomes the root. An index entry matches when its platform
 *    (os/architecture/variant, normalised) equals one of the filter's; an
 *    entry without a platform never does. When some but not all entries
 *    match, the root is a new index (same media type and annotations)
 *    holding just those entries, so it has another digest than the
 *    registry's; the store never holds a root whose children are
 *    missing. No match is HOIST_ENOTFOUND. A single image (no index)
 *    that does not match is kept, with a warning. The fetched index is
 *    stored either way (unnamed).
 *  - Progress: hoist_log_progress() with the short digest as id, action
 *    "pulling" (and "retrying" before a retry), "pulled" when done.
 * Credentials, certificates and insecure work as for push (registry.h).
 */
#ifndef HOIST_LIB_PULL_H
#define HOIST_LIB_PULL_H

#include <jansson.h>

#include "util/err.h"
#include "lib/platform.h"
#include "lib/registry.h"
#include "lib/retry.h"
#include "lib/store.h"

/*
 * Watching blob downloads as they happen (a copy streams them onward).
 * Called on the pulling thread. ingest(): a new ingest file for digest
 * (fd is the pull's: dup it to keep it; a download that has to start
 * again opens another); progress(): its first have bytes are written;
 * done(): the download ended, rc 0 when the blob is verified in the
 * store, else the failure (err). A blob already in the store gets none.
 */
struct hoist_pull_hooks {
	void *ctx;
	void (*ingest)(void *ctx, const char *digest, int fd);
	void (*progress)(void *ctx, const char *digest, uint64_t have);
	void (*done)(void *ctx, const char *digest, int rc,
		     const struct hoist_err *err);
};

struct hoist_pull_opts {
	struct hoist_registry_opts reg; /* ca_file, insecure, max_concurrent */
	/* NULL/0: all platforms. Otherwise only these (an index keeps the
	 * matching entries; one match makes that manifest the root). */
	const struct hoist_platform *platforms;
	size_t nplatforms;
	int manifests_only; /* fetch manifests and configs, not layers */
	/* retries of blob downloads; NULL: retry.h defaults. An attempt
	 * that brought bytes starts the attempt and time budget afresh. */
	const struct hoist_retry_policy *retry;
	const struct hoist_pull_hooks *hooks; /* NULL: none */
};

struct hoist_pull_stats {
	uint64_t blobs;         /* configs and layers the image needs */
	uint64_t blobs_present; /* already in the store */
	uint64_t bytes;         /* blob bytes downloaded (also bytes dropped
				   when a download had to start again) */
	uint64_t resumed;       /* downloads continued with Range */
	uint64_t retries;
};

/*
 * Fetch ref ("host/repo:tag" or "host/repo@sha256:...") into s. *root is a
 * new descriptor (mediaType, digest, size; platform when a single manifest
 * was selected from an index) owned by the caller. The store is not tagged.
 */
int hoist_pull_image(json_t **root, struct hoist_store *s, const char *ref,
		     const struct hoist_pull_opts *opts,
		     struct hoist_pull_stats *stats, struct hoist_err *err);

/*
 * Fetch the blobs of blobs (a JSON object: digest -> size) from the
 * repository of ref into s, as hoist_pull_image does for an image's configs and
 * layers (opts->platforms and manifests_only are not used). 0, or the
 * codes of hoist_pull_image.
 */
int hoist_pull_blobs(struct hoist_store *s, const char *ref,
		     const json_t *blobs, const struct hoist_pull_opts *opts,
		     struct hoist_pull_stats *stats, struct hoist_err *err);

#endif
