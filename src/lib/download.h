/*
 * download.h: the blob download engine, a state machine with no I/O of its
 * own, like upload.h: it says which GET to send next and what to do with
 * the bytes held, and is fed the answer. The caller (pull.c) does the
 * HTTP, the auth (a 401 is answered with fresh credentials before the
 * engine sees it), the clock and the storage of bytes; unit tests script
 * registry answers with no network at all.
 *
 * The caller holds the bytes received so far ("held": a store ingest) and,
 * during a ranged attempt, the body of that attempt aside ("pending"),
 * because the body arrives before anyone can read the answer's headers.
 *
 *   state / request     answer                      engine says
 *   ------------------  --------------------------  ---------------------------
 *   GET (no Range)      2xx, all bytes (even if     VERIFY
 *                       the connection then broke)
 *                       2xx short, cut, 5xx, 429    SEND Range from the bytes
 *                                                   held, after a backoff
 *                                                   (retry.h, Retry-After)
 *                       301/302/303/307/308         SEND to Location (<= 5
 *                                                   hops; https -> http is
 *                                                   refused; credentials only
 *                                                   for the registry origin)
 *                       416 with bytes held         DROP, SEND from 0
 *                       other 4xx                   FAILED
 *                       a local error (TLS, cap)    FAILED
 *   GET with Range N-   206, Content-Range N-M/T    APPEND the pending body
 *                       (M < size, T = size or *)
 *                       other 2xx                   REPLACE: the pending body
 *                                                   is the blob from 0
 *                       206 with another range      DROP: start from 0
 *                       (then as above: all bytes -> VERIFY, short -> retry)
 *   VERIFY              digest ok                   DONE
 *                       wrong after a resume        DROP, SEND from 0 (once)
 *                       wrong                       FAILED
 *
 * A retry goes back to the registry URL, not to a storage URL it
 * redirected to (those are signed and expire). An attempt that held more
 * bytes than any before resets the retry budget: a flaky link that keeps
 * making progress still finishes a big blob, while a server that always
 * fails at one point does not keep us forever. Content-Range is parsed
 * with the strict scanners of scan.h.
 */
#ifndef HOIST_LIB_DOWNLOAD_H
#define HOIST_LIB_DOWNLOAD_H

#include <stdint.h>

#include "util/err.h"
#include "lib/retry.h"

/* Redirects followed for one attempt. */
#define HOIST_DOWNLOAD_MAX_REDIRECTS 5

struct hoist_download_params {
	const char *url; /* the registry's absolute URL of the blob */
	uint64_t size;   /* from the descriptor */
	struct hoist_retry_policy retry; /* zeroed: defaults */
	int64_t now_ms;                  /* monotonic clock at the start */
};

enum hoist_download_kind {
	HOIST_DOWNLOAD_SEND,   /* send the GET described */
	HOIST_DOWNLOAD_VERIFY, /* all bytes held: commit them against the
				  digest, then hoist_download_verified() */
	HOIST_DOWNLOAD_DONE,   /* verified */
	HOIST_DOWNLOAD_FAILED, /* give up; err says why */
};

/* What to do with the bytes held before acting on the request. */
enum hoist_download_place {
	HOIST_DOWNLOAD_KEEP,    /* keep them; drop any pending body */
	HOIST_DOWNLOAD_APPEND,  /* the pending body continues them */
	HOIST_DOWNLOAD_REPLACE, /* the pending body replaces them (from 0) */
	HOIST_DOWNLOAD_DROP,    /* drop them and any pending body */
};

struct hoist_download_req {
	enum hoist_download_kind kind;
	enum hoist_download_place place; /* first, whatever the kind */
	const char *url; /* absolute; owned by the engine until next call */
	/* 1: the registry's own origin: send its credentials and use its
	 * TLS settings. 0: another origin (a storage redirect): no
	 * Authorization, no client certificate, no "insecure". */
	int registry_origin;
	/* > 0: send "Range: bytes=N-" and keep the body pending */
	uint64_t range_from;
	long delay_ms; /* wait this long before sending */
	int attempt;   /* > 0 on retries */
	/* why this request is a retry (the last attempt's error); NULL
	 * for ordinary steps. Owned by the engine until the next call. */
	const char *why;
	/* something worth a warning about the place (a registry that
	 * ignored Range or answered another range, a restart after a bad
	 * digest), or NULL; owned like why */
	const char *note;
};

struct hoist_download_resp {
	/* 0: a complete answer. HOIST_ENET: the connection broke (status
	 * and headers are set when they had arrived). Any other code: a
	 * final local error (TLS, a cap, the sink, a disk): FAILED. */
	int transport;
	/* why it failed: the transport error, or for a status >= 400 the
	 * registry's error (regconn's text and code); NULL otherwise */
	const struct hoist_err *error;
	int status; /* 0 when no headers arrived */
	/* Location, resolved against the request URL by the caller */
	const char *location;
	const char *content_range;
	const char *retry_after;
	uint64_t received; /* body bytes of this attempt (2xx only) */
	int64_t now;       /* Unix seconds (Retry-After dates) */
	int64_t now_ms;    /* monotonic milliseconds */
	uint32_t rnd;      /* randomness for jitter */
};

struct hoist_download;

/* A new engine. HOIST_EINVAL when p->url has no http(s) origin. */
int hoist_download_new(struct hoist_download **out,
		       const struct hoist_download_params *p,
		       struct hoist_err *err);
void hoist_download_free(struct hoist_download *d);

/* The next step; call after new() and after every feed()/verified(). */
void hoist_download_next(struct hoist_download *d,
			 struct hoist_download_req *req, struct hoist_err *err);
/* The answer to the GET that next() described. */
void hoist_download_feed(struct hoist_download *d,
			 const struct hoist_download_resp *resp);
/*
 * The outcome of committing the bytes after VERIFY: 0, or the commit's
 * error (HOIST_EDIGEST for a wrong digest; err describes it).
 */
void hoist_download_verified(struct hoist_download *d, int rc,
			     const struct hoist_err *err);

/* Bytes held (after the last place). */
uint64_t hoist_download_held(const struct hoist_download *d);
/* 1 if some held bytes came from a Range request (a resume). */
int hoist_download_resumed(const struct hoist_download *d);

/*
 * Parse a Content-Range value "bytes A-B/T" or "bytes A-B/\*" strictly
 * (scan.h). 1 if it says the range starts at offset and lies inside a
 * blob of size bytes (T, when given, equals size); 0 otherwise.
 */
int hoist_download_range_ok(const char *content_range, uint64_t offset,
			    uint64_t size);

#endif
