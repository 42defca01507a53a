/*
 * upload.h: the blob upload engine, a state machine with no I/O of its own
 * (like nghttp2's protocol engine): it says which request to send next and
 * is fed the answer. The registry client does the HTTP, auth and timing;
 * unit tests script registry answers with no network at all.
 *
 * Paths:
 *   HEAD blob                       200 -> done (already there)
 *   POST ?mount=D&from=R            201 -> done; 202 -> use that session;
 *                                   anything else -> plain POST
 *   POST                            202 + Location (+ OCI-Chunk-Min-Length)
 *   monolithic: PUT loc&digest=D with the whole body        201 -> done
 *   stream:     PATCH loc (whole body, no Content-Range), PUT loc&digest=D
 *   chunked:    PATCH loc Content-Range a-b ... ; the last chunk goes in the
 *               closing PUT loc&digest=D with its Content-Range
 *   growing:    (a blob still being written: size and digest unknown)
 *               POST, then chunks as above, each of the full chunk size,
 *               until hoist_upload_seal() gives the end: the rest (or
 *               nothing) goes in the closing PUT loc&digest=D. A lost
 *               session starts a new one (no HEAD: no digest yet).
 *               In STREAM mode: POST, then ONE PATCH loc without
 *               Content-Range whose body is the blob as it is written
 *               (req.growing: the caller sends the bytes as they come and
 *               ends the body once sealed), then after the seal and the
 *               PATCH's answer the closing PUT loc&digest=D.
 *
 * Wire rules: bare "Content-Range: a-b" (inclusive); Content-Length always
 * (the caller sets it from body_len, 0 included); Content-Type
 * application/octet-stream on bodies; always the newest Location
 * (relative or absolute, its query kept, digest appended URL-encoded);
 * 201/202/204 all accepted for a chunk; the returned Range is checked
 * against what was sent ("0-N" or "bytes=0-N"; "0-0" is 0 bytes unless 1
 * byte was confirmed); OCI-Chunk-Min-Length raises the chunk size (capped
 * at 1 GiB).
 *
 * Strategy: AUTO starts monolithic up to chunk_threshold and chunked
 * above. A 413, or a connection broken while a body was going out, switches
 * to chunked mode, halving the chunk (not below min 1 MiB) on each 413.
 * A registry that refuses chunks (416 at the right offset on every chunk
 * size down to the floor, even at offset 1: Google Artifact Registry
 * documents that it takes no chunks) gets a new session in STREAM mode.
 * An upload in STREAM mode (asked, or chunks refused) stays in it: after
 * a cut it goes on at the registry's offset with another streamed PATCH
 * (no Content-Range), never with chunks.
 * learned() reports the mode and chunk that worked so the caller can
 * remember them per registry.
 *
 * Recovery:
 *  - a broken or 5xx/429 request that carried a body: GET loc (status);
 *    204 with Range -> continue at the registry's offset with the new
 *    Location; 404 (BLOB_UPLOAD_INVALID/UNKNOWN, distribution 2.8 cancels a
 *    session after a cut body) or 416 without usable status -> HEAD blob
 *    (200 -> done) else POST a new session and start over;
 *  - 416 on PATCH/PUT -> GET status and resync (ECR and GHCR quirks);
 *  - 429 on any request (rate limited; the request was not processed)
 *    -> the same request again after Retry-After (hoist_retry_wait_ms),
 *    without a status GET that would count against the same limit; waits
 *    are not failures, they have their own bound (32 in a row);
 *  - a broken request without body (HEAD/POST/GET/PUT-without-body) and
 *    transient statuses -> send it again after a backoff (retry.h);
 *  - permanent errors (400 DIGEST_INVALID, 403, 404 NAME_UNKNOWN, ...)
 *    -> FAILED with the registry's code and message.
 *  A blob already known to the registry is never sent again.
 *
 * Resume: with resume_location set, the first request is GET status on
 * it; the saved session continues when the registry still knows it.
 * checkpoint() gives what to persist after each acknowledged chunk.
 *
 * Details of this implementation:
 *  - Locations are passed through as received: a relative one comes back
 *    in req.url unchanged (plus the digest query) and the caller resolves
 *    it against the registry base.
 *  - A 416 whose status GET shows the chunk started at the right offset
 *    means the chunk was too big (GHCR): the chunk is halved as for 413.
 *    When that is impossible and the status said "0-0", the upload goes on
 *    at offset 1 (the registry may hold one byte).
 *  - req.attempt counts failures in a row since new bytes were last
 *    confirmed (0 for ordinary steps); req.why is NULL for ordinary steps.
 *    A step fails when attempt reaches retry.max_attempts, when retry.h
 *    says stop (its time bound counts from the first failure of the row),
 *    or when the failures of the whole upload pass max_retries.
 *  - Failure messages: "HTTP 400 DIGEST_INVALID: provided digest did not
 *    match uploaded content" (code HOIST_EHTTP, HOIST_EAUTH for 401/403,
 *    http_status set), "connection failed: <transport error>" (HOIST_ENET),
 *    prefixed with "gave up after N attempts" when retries ran out; a
 *    Docker-Content-Digest other than the digest is HOIST_EDIGEST.
 */
#ifndef HOIST_LIB_UPLOAD_H
#define HOIST_LIB_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "lib/retry.h"

enum hoist_upload_mode {
	HOIST_UPLOAD_AUTO,
	HOIST_UPLOAD_MONOLITHIC,
	HOIST_UPLOAD_STREAM,
	HOIST_UPLOAD_CHUNKED,
};

struct hoist_upload_params {
	const char *repo;   /* "library/foo" (path only) */
	const char *digest; /* "sha256:..." (validated) */
	uint64_t size;
	enum hoist_upload_mode mode;
	uint64_t chunk_size;         /* 0: default 16 MiB */
	uint64_t chunk_threshold;    /* AUTO: chunked above this; 0: 32 MiB */
	const char *mount_from;      /* repository to mount from, or NULL */
	int skip_head;               /* caller already knows it is absent */
	const char *resume_location; /* saved session, or NULL */
	uint64_t resume_offset;      /* its confirmed offset */
	struct hoist_retry_policy retry; /* zeroed: defaults */
	int max_retries; /* failures in all; 0: 4 * retry.max_attempts */
	/*
	 * The blob is still being written: digest must be NULL, size,
	 * resume_location and mount_from are not used; chunked, or one
	 * streamed PATCH of the growing blob when mode is STREAM.
	 */
	int growing;
};

enum hoist_upload_kind {
	HOIST_UPLOAD_SEND,   /* send the request described */
	HOIST_UPLOAD_DONE,   /* the registry has the blob */
	HOIST_UPLOAD_FAILED, /* give up; err says why */
};

struct hoist_upload_req {
	enum hoist_upload_kind kind;
	const char *method;
	/*
	 * Either a path relative to the registry base ("/v2/<repo>/blobs/
	 * ...") or an absolute URL (from a Location). Owned by the engine,
	 * valid until the next call.
	 */
	const char *url;
	uint64_t body_offset; /* the bytes [body_offset, +body_len) of blob */
	uint64_t body_len;
	int has_body;              /* send body (body_len may still be 0) */
	const char *content_range; /* "a-b" or NULL */
	const char *content_type;  /* "application/octet-stream" or NULL */
	long delay_ms;             /* wait this long before sending */
	int attempt;               /* > 0 on retries (for progress) */
	int wait;                  /* > 0: resent after that many 429s */
	const char *why;           /* why this request ("retry after 503") */
	/*
	 * A growing blob's streamed PATCH: the body is [body_offset, the
	 * blob's end), body_len 0 while the end is unknown; send the bytes as
	 * they are written and end the body once the upload is sealed (seal
	 * sets body_len and clears this for a request not sent yet).
	 */
	int growing;
};

struct hoist_upload_resp {
	int status;       /* HTTP status; 0 = transport failure */
	int body_started; /* transport failure after body bytes went out */
	const char *location;
	const char *range;
	const char *docker_content_digest;
	const char *chunk_min_length; /* OCI-Chunk-Min-Length */
	const char *retry_after;
	const char *error_code;    /* first errors[].code of the body */
	const char *error_message; /* its message, or a transport error */
	int64_t now;               /* Unix seconds (Retry-After dates) */
	uint32_t rnd;              /* randomness for jitter */
	long elapsed_ms;           /* time since the upload started */
};

struct hoist_upload;

int hoist_upload_new(struct hoist_upload **out,
		     const struct hoist_upload_params *p,
		     struct hoist_err *err);
void hoist_upload_free(struct hoist_upload *u);

/* The next step. Call after new() and after every feed(). */
void hoist_upload_next(struct hoist_upload *u, struct hoist_upload_req *req,
		       struct hoist_err *err);
/* The answer to the request next() described. */
void hoist_upload_feed(struct hoist_upload *u,
		       const struct hoist_upload_resp *resp);

/*
 * A growing upload's blob is complete: digest (validated) and size. The
 * step next() describes may change (a chunk becomes the closing PUT). 0,
 * or HOIST_EINVAL when the upload is not growing, the digest is invalid or
 * size is less than the bytes already confirmed.
 */
int hoist_upload_seal(struct hoist_upload *u, const char *digest, uint64_t size,
		      struct hoist_err *err);

/*
 * What to persist for resuming: 1 and the newest Location and confirmed
 * offset while a session is open, 0 when there is nothing to save.
 */
int hoist_upload_checkpoint(const struct hoist_upload *u, const char **location,
			    uint64_t *offset);
/*
 * The mode and chunk size that worked (for the per-registry memory): the
 * mode of the params unless the registry forced a change (413, a cut
 * body, a 416 on a big chunk: then CHUNKED; chunks refused: STREAM), and
 * the chunk size in use
 * (OCI-Chunk-Min-Length and halving included).
 */
void hoist_upload_learned(const struct hoist_upload *u,
			  enum hoist_upload_mode *mode, uint64_t *chunk_size);
/* 429 answers waited out so far. */
uint64_t hoist_upload_waits(const struct hoist_upload *u);
/* Body bytes handed out for sending so far (retries included). */
uint64_t hoist_upload_bytes_sent(const struct hoist_upload *u);
/*
 * 1 if the blob turned out to exist already (HEAD 200 or mount 201, also a
 * HEAD 200 after a lost session when no body bytes had been sent).
 */
int hoist_upload_skipped(const struct hoist_upload *u);
/*
 * 1 if the saved session (resume_location) went on: its status GET
 * confirmed a non-zero offset. A session the registry forgot, or that
 * held nothing, is a new upload.
 */
int hoist_upload_resumed(const struct hoist_upload *u);

#endif
