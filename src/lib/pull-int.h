/*
 * pull-int.h: one pull in progress, shared by pull.c (manifests, the walk,
 * platform selection) and pull-blob.c (the blob downloads on the event
 * loop). Internal to src/lib/pull*.c.
 */
#ifndef HOIST_LIB_PULL_INT_H
#define HOIST_LIB_PULL_INT_H

#include <jansson.h>

#include "lib/http.h"
#include "lib/pull.h"
#include "lib/regconn.h"
#include "lib/retry.h"
#include "lib/store.h"
#include "lib/xfer.h"
#include "util/err.h"

struct job; /* one blob download (pull-blob.c) */

struct pull {
	struct hoist_regconn c;
	struct hoist_store *s;
	const struct hoist_pull_opts *opts;
	struct hoist_pull_stats *stats;
	struct hoist_retry_policy pol;
	const char *ref;
	json_t *blobs;     /* digest -> size: configs and layers needed */
	struct job **jobs; /* the blobs to download */
	size_t njobs;
	struct hoist_xfer x;
	const json_t *walk_root; /* walk(): the root whose doc is known */
	json_t *walk_doc;
	/* for other origins (storage redirects): the registry's CA, but
	 * neither its client certificate nor its "insecure" setting */
	struct hoist_http_tls foreign_tls;
};

/*
 * Download every blob of p->blobs the store does not hold yet, in
 * parallel on p->c's event loop, each verified into the store. A blob
 * already held must have the size the manifest says (HOIST_EINVAL if
 * not). 0 or the first job's negative HOIST_E* (the others are stopped).
 * The jobs stay in p->jobs for hoist_pull_jobs_free.
 */
int hoist_pull_fetch_blobs(struct pull *p, struct hoist_err *err);

/* Free p's jobs; call after the connection is closed (its dropped
 * transfers still point at them). */
void hoist_pull_jobs_free(struct pull *p);

#endif
