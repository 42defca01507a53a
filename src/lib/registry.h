/*
 * registry.h: pushing images from the staging area to a registry.
 *
 * One push: ping /v2/ (learning the auth challenge), upload every blob the
 * image reaches (configs and layers) in parallel on one HTTP event loop,
 * each through its own upload state machine (upload.h), then PUT the
 * manifests children first and the root last to its tag (or by digest).
 *
 * Resumability: after every acknowledged chunk the session (registry,
 * repository, digest, size, newest Location, confirmed offset) is saved in
 * ROOT/uploads/; a push killed and run again continues each interrupted
 * blob from there while the registry still knows the session. What worked
 * for a registry (upload mode, chunk size) is remembered in
 * ROOT/registries/<host>.json, so the next push starts right.
 *
 * TLS: certificates from $HOIST_CERTS_D (a ':'-separated list of
 * directories; default /etc/docker/certs.d:/etc/containers/certs.d), in
 * DIR/HOST[:PORT]/: ca.crt (or any *.crt), client.cert, client.key;
 * opts->conn.ca_file (--ca-cert), when given, replaces the certs.d CA. insecure
 * (registry.insecure) allows plain HTTP and skips verification for this push
 * only: https is tried first, http after a TLS-level failure.
 */
#ifndef HOIST_LIB_REGISTRY_H
#define HOIST_LIB_REGISTRY_H

#include <stdint.h>
#include <jansson.h>

#include "util/err.h"
#include "lib/feed.h"
#include "lib/http.h"
#include "lib/regconn.h"
#include "lib/store.h"
#include "lib/upload.h"

struct hoist_registry_opts {
	struct hoist_regconn_opts conn; /* TLS, insecure, parallelism */
	uint64_t chunk_size; /* > 0: force chunked uploads of this size */
	enum hoist_upload_mode mode; /* AUTO unless forced */
	int no_resume;               /* ignore saved sessions */
	/* a repository of the SAME registry holding the blobs: they are
	 * mounted from it (POST ?mount=&from=) instead of uploaded */
	const char *mount_from;
	/*
	 * Blobs on their way into the store (feed.h), sent as their bytes
	 * arrive; NULL: none. Blobs missing from the store come from here;
	 * with a NULL root, the root and the blobs it needs come from here
	 * too (a pipelined build). A blob the feed reports failed has its
	 * upload session cancelled (DELETE) and fails the push. The closing
	 * PUT, which names the digest, waits until the blob is verified.
	 */
	struct hoist_feed *feed;
	/*
	 * 1: report the push as BuildKit's image exporter does, with the
	 * statuses (util/log.h) "pushing layers" while the blobs go up and
	 * "pushing manifest for REF@DIGEST" while the manifests do, in place
	 * of a log line per manifest and per blob pushed.
	 */
	int statuses;
};

struct hoist_push_stats {
	uint64_t blobs;         /* blobs in the image */
	uint64_t blobs_present; /* skipped: already there or mounted */
	uint64_t blobs_resumed; /* continued from a saved session */
	uint64_t bytes_total;   /* size of the blobs uploaded */
	uint64_t bytes_sent;    /* body bytes handed to the wire */
	uint64_t retries;
	uint64_t waits;   /* requests resent after a 429 (rate limit) */
	int present;      /* the root was there already: one HEAD did it */
	char digest[136]; /* digest of the pushed root */
};

/*
 * Push the image whose root descriptor is root to ref, a full reference
 * ("host/repo:tag", "host/repo@sha256:..." or, with by_digest, "host/repo").
 * The root goes to the tag when there is one, else by digest.
 *
 * 0, or: HOIST_EINVAL (a bad reference or descriptor), HOIST_ENOTFOUND or
 * HOIST_EIO (the image is not whole in the store), HOIST_ENET and
 * HOIST_ETLS (connection and certificate failures), HOIST_EAUTH
 * (credentials missing or refused), HOIST_EHTTP (the registry refused;
 * http_status is set), HOIST_EDIGEST (the registry reported another
 * digest), HOIST_EINTR (interrupted). stats (required) is caller-owned and
 * filled as far as the push got, also on failure; root, ref and opts are
 * only read.
 *
 * Pipelined (root NULL, opts->feed set): every blob the feed announces is
 * uploaded while it is written, in chunks of the bytes already there
 * (hoist_upload_seal gives the end), unless the registry is known to take
 * only whole blobs (the learned or forced mode is monolithic or stream):
 * then each blob goes once it is whole. Blobs the feed announces with a
 * digest at once, and those of the root that no announced blob covers,
 * are pushed as usual; the manifests go when every blob is in. An upload
 * killed after its blob was whole resumes from its saved session.
 */
int hoist_registry_push(struct hoist_store *s, const json_t *root,
			const char *ref, int by_digest,
			const struct hoist_registry_opts *opts,
			struct hoist_push_stats *stats, struct hoist_err *err);

/*
 * The same push on a thread of its own (a pipelined build pushes while it
 * compresses): start it (0, or HOIST_ENOMEM/HOIST_EIO when no thread
 * could start), then wait for its result. Its progress belongs to step
 * (util/log.h: a step number, or a hoist_step_later() placeholder). ref
 * and opts (and the feed) must outlive the wait; the feed's producer must
 * finish (a root, or hoist_feed_finish) or the wait never returns.
 */
struct hoist_registry_bg;
int hoist_registry_push_start(struct hoist_registry_bg **out,
			      struct hoist_store *s, const char *ref,
			      int by_digest,
			      const struct hoist_registry_opts *opts, int step,
			      struct hoist_err *err);
/* The push's result and stats, as hoist_registry_push; frees bg. */
int hoist_registry_push_wait(struct hoist_registry_bg *bg,
			     struct hoist_push_stats *stats,
			     struct hoist_err *err);

#endif
