/*
 * registry-int.h: one push in progress, shared by registry.c (the push:
 * manifests, the feed of a pipelined push, the thread) and registry-blob.c
 * (the blob uploads on the event loop, their sessions on disk and what
 * each registry taught). Internal to src/lib/registry*.c.
 */
#ifndef HOIST_LIB_REGISTRY_INT_H
#define HOIST_LIB_REGISTRY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/digest.h"
#include "lib/feed.h"
#include "lib/regconn.h"
#include "lib/registry.h"
#include "lib/store.h"
#include "lib/upload.h"
#include "lib/xfer.h"
#include "util/err.h"

struct reg {
	struct hoist_regconn c;
	struct hoist_store *store;
	const struct hoist_registry_opts *opts;
	struct hoist_push_stats *stats;
	struct blob_job **jobs; /* configs and layers to upload */
	size_t njobs;
	struct hoist_xfer x;
	enum hoist_upload_mode mode;
	uint64_t chunk_size;
	json_t *blobsrc;        /* which repositories hold which blobs */
	const char *mount_pick; /* in blobsrc: the repository to mount from */
	/* pipelined: blobs and the root come from opts->feed */
	size_t cap;    /* of jobs */
	size_t seen;   /* blobs of the feed with a job */
	json_t *root;  /* once the feed gave it */
	json_t *blobs; /* its blobs (imgwalk) */
	int have;      /* the registry holds the root already */
	int whole;     /* upload blobs only once they are whole */
};

struct blob_job {
	struct reg *r;
	char key[HOIST_FEED_KEY_MAX];  /* the feed's name for it */
	char digest[HOIST_DIGEST_MAX]; /* empty until known */
	uint64_t size;
	int fd;
	struct hoist_upload *u;
	struct hoist_upload_req req;
	char *url;
	char *hdr_auth;
	char *hdr_range;
	const char *hdrs[4];
	size_t nhdrs;
	int auth_retries;
	int64_t started_ms;
	char *session_key;
	int resumed;
	uint64_t last_logged;
	int fed;                     /* the bytes come from opts->feed */
	int growing;                 /* uploading before its end is known */
	int early;                   /* said its first bytes went early */
	unsigned feed_gen;           /* the version of the feed's file in fd */
	struct hoist_err cancel_err; /* why the session is being cancelled */
	uint64_t avail;              /* bytes of the feed's file written */
	/* a streamed PATCH of the growing blob (stream mode) */
	struct hoist_http_growing grow; /* its body: fd up to what is written */
	int streaming;    /* under way: the feed's bytes go to it */
	int polling;      /* a stream_poll timer is armed */
	int stream_abort; /* ended because the bytes will not come */
	int said_stream;  /* said that it streams while being written */
};

/* How often a step waiting for fed bytes looks again. */
#define FEED_POLL_MS 5

/* The key of digest's upload session in the store: "host/repo@digest".
 * Caller frees. */
char *hoist_registry_session_key(struct reg *r, const char *digest);

/* Save j's upload session (Location and confirmed offset) for a later
 * push to resume, when it has one; errors are ignored. */
void hoist_registry_save_session(struct blob_job *j);

/* r->mode and r->chunk_size: from the options, or (auto) what this
 * registry taught an earlier push. */
void hoist_registry_load_strategy(struct reg *r);

/* The digest of a growing blob is known: the session can be saved. */
void hoist_registry_job_known(struct blob_job *j, const char *digest,
			      uint64_t size);

/*
 * The pool starts job i (hoist_xfer_start_fn; ctx is the struct reg): it
 * runs on the event loop from then on and ends with hoist_xfer_end.
 */
int hoist_registry_job_start(void *ctx, size_t i, struct hoist_err *err);

/* Free a job (NULL is a no-op); after the connection is closed. */
void hoist_registry_job_free(struct blob_job *j);

#endif
