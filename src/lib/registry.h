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
#include "lib/http.h"
#include "lib/regconn.h"
#include "lib/store.h"
#include "lib/upload.h"

/*
 * Blobs on their way into the store (a copy downloading them) that a push
 * sends as their bytes arrive. state() is asked when an upload first
 * needs bytes of digest (a feed may start fetching then) and again until
 * they are there. *gen is the version of the file the caller holds (0 at
 * first). Returns 1 when the blob is whole and verified in the store; 0
 * while it is coming: *avail bytes can be read from the file, and when
 * the file changed (a download that started again) *gen is updated and
 * *fd is a new descriptor the caller owns, else *fd is -1; a negative
 * HOIST_E* with err when it will not come (its digest did not match, the
 * download failed). The push then cancels the upload session (DELETE)
 * and fails. The closing PUT, which names the digest, waits for 1.
 */
struct hoist_push_feed {
	void *ctx;
	int (*state)(void *ctx, const char *digest, unsigned *gen, int *fd,
		     uint64_t *avail, struct hoist_err *err);
};

struct hoist_registry_opts {
	struct hoist_regconn_opts conn; /* TLS, insecure, parallelism */
	uint64_t chunk_size; /* > 0: force chunked uploads of this size */
	enum hoist_upload_mode mode; /* AUTO unless forced */
	int no_resume;               /* ignore saved sessions */
	/* a repository of the SAME registry holding the blobs: they are
	 * mounted from it (POST ?mount=&from=) instead of uploaded */
	const char *mount_from;
	/* blobs missing from the store come from here; NULL: none */
	const struct hoist_push_feed *feed;
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
 */
int hoist_registry_push(struct hoist_store *s, const json_t *root,
			const char *ref, int by_digest,
			const struct hoist_registry_opts *opts,
			struct hoist_push_stats *stats, struct hoist_err *err);

#endif
