/*
 * http.h: the HTTP client. The ONLY file that includes curl is http.c.
 *
 * One event loop (a libcurl multi handle) drives every transfer. Requests
 * are submitted with a completion callback; hoist_http_run() runs the loop
 * until nothing is pending. Callbacks may submit new requests and timers,
 * which is how the registry client chains the steps of many blob uploads
 * concurrently in one thread.
 *
 * Transport:
 *  - HTTP/2 over TLS is negotiated with ALPN and multiplexed; plain http
 *    uses HTTP/1.1 (registries do not speak h2c). HOIST_HTTP_V1 forces
 *    HTTP/1.1 everywhere (per request, so big blob bodies can use their
 *    own connections while metadata shares an h2 connection).
 *  - Connections, DNS and TLS sessions are shared and reused.
 *  - At most max_per_host connections per host (CURLMOPT_MAX_HOST_
 *    CONNECTIONS); further requests queue.
 *  - TLS is verified unless the request's tls says insecure. CA file/dir
 *    and client certificate come with the request (per registry).
 *  - The proxy environment variables (http_proxy, https_proxy, no_proxy,
 *    all_proxy) are honoured, as libcurl does by default.
 *  - Redirects are NEVER followed here: the response is handed back and the
 *    caller decides (so credentials never follow a redirect by accident).
 *  - Authorization is just a header the caller adds.
 *
 * Bodies:
 *  - Request bodies come from a buffer or from a byte range of a file
 *    descriptor (pread, so the range can be rewound when libcurl must
 *    resend it), or are streamed from a socket (POST only, chunked), or
 *    come from a file that is still being written (a growing body, PUT or
 *    PATCH, chunked on HTTP/1.1): read as far as its owner says it is
 *    written, paused when it catches up, unpaused by hoist_http_body_more.
 *    Its stall limit (below) leaves out the time it waits for the file.
 *    Content-Length is always sent for PUT/POST/PATCH, also 0.
 *    On HTTP/1.1 libcurl adds "Expect: 100-continue" to PUT/PATCH with a
 *    body and to POST bodies over 1 MiB, so a 401 or 413 can arrive before
 *    the body is sent; a request header "Expect:" (empty) turns it off.
 *    POST gets no Content-Type unless the caller sets one.
 *  - Response bodies are collected into a capped buffer (max_body; larger
 *    bodies fail the request with HOIST_ELIMIT) or streamed to a sink.
 *  - Response headers: each header line is capped at 8 KiB and at most 100
 *    are kept; a larger one fails the request with HOIST_ELIMIT.
 */
#ifndef HOIST_LIB_HTTP_H
#define HOIST_LIB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "lib/sink.h"

enum hoist_http_version {
	HOIST_HTTP_AUTO = 0, /* h2 via ALPN over TLS, HTTP/1.1 otherwise */
	HOIST_HTTP_V1 = 1,   /* HTTP/1.1 only */
	HOIST_HTTP_V2 = 2,   /* h2 over TLS; still HTTP/1.1 for http:// */
};

struct hoist_http_opts {
	int max_per_host;        /* 0: default 4 */
	long connect_timeout_ms; /* 0: default 30 s */
	/*
	 * The stall limit: a transfer moving less than low_speed_bytes a
	 * second for low_speed_s fails with HOIST_ENET ("too slow"), which
	 * the callers' retry policies count as a failed attempt, so a server
	 * that sends headers and then silence, or trickles a byte a second,
	 * cannot hold a request for longer.
	 */
	long low_speed_bytes;   /* 0: default 1024 */
	long low_speed_s;       /* 0: default 60 */
	const char *user_agent; /* NULL: "hoist/VERSION" */
};

struct hoist_http_tls {
	const char *ca_file;   /* PEM bundle, or NULL for the system store */
	const char *ca_dir;    /* directory of CA files, or NULL */
	const char *cert_file; /* client certificate (PEM), or NULL */
	const char *key_file;  /* its key, or NULL */
	int insecure;          /* skip verification (registry.insecure) */
};

struct hoist_http_header {
	char *name;  /* as received */
	char *value; /* trimmed */
};

struct hoist_http_response {
	int status;  /* final status (after 100 Continue) */
	int version; /* 1 for HTTP/1.x, 2 for HTTP/2, 0 if none arrived */
	struct hoist_http_header *headers;
	size_t nheaders;
	struct hoist_buf body; /* collected body (empty when streamed) */
	uint64_t sent;         /* request body bytes sent */
	uint64_t received;     /* response body bytes received */
	char *url;             /* the URL requested */
};

/* First header with this name (case-insensitive), or NULL. */
const char *hoist_http_header_get(const struct hoist_http_response *r,
				  const char *name);
/* All values of a header, joined with ", " (WWW-Authenticate). Caller frees;
 * NULL if absent. */
char *hoist_http_header_join(const struct hoist_http_response *r,
			     const char *name);
void hoist_http_response_release(struct hoist_http_response *r);

enum hoist_http_body_kind {
	HOIST_HTTP_BODY_NONE,
	HOIST_HTTP_BODY_BUF,
	HOIST_HTTP_BODY_FD, /* [fd_offset, fd_offset + length) of fd */
	/* read() from fd until end of file; length unknown, so HTTP/1.1
	 * sends it chunked; cannot be resent (POST only) */
	HOIST_HTTP_BODY_STREAM,
	/*
	 * [fd_offset, growing->end) of fd, where end grows (PUT or PATCH):
	 * a file still being written. Its length is unknown, so HTTP/1.1
	 * sends it chunked (HTTP/2 without a length). When libcurl has sent
	 * every byte up to end, the transfer pauses until the owner calls
	 * hoist_http_body_more; once that says eof and every byte is sent,
	 * the body ends. libcurl may rewind it (a dead reused connection):
	 * its bytes stay in the file.
	 */
	HOIST_HTTP_BODY_GROWING,
};

/*
 * The owner's handle on a growing body (HOIST_HTTP_BODY_GROWING): it must
 * outlive the request. Set end (and eof if the file is already whole)
 * before submitting; later changes go through hoist_http_body_more or
 * hoist_http_body_abort only. x is http.c's (the transfer reading it).
 */
struct hoist_http_growing {
	uint64_t end;         /* bytes of the file that can be read (from 0) */
	int eof;              /* end is the end of the body */
	int aborted;          /* the owner gave up: the request fails */
	struct hoist_err err; /* why, for the completion */
	void *x;
};

/* Default cap for collected response bodies (error and token bodies). */
#define HOIST_HTTP_MAX_BODY (64 * 1024)

struct hoist_http_request {
	const char *method; /* "GET", "HEAD", "POST", "PUT", "PATCH", ... */
	const char *url;
	const char *const *headers; /* "Name: value" lines */
	size_t nheaders;
	enum hoist_http_body_kind body_kind;
	const void *body; /* BUF: borrowed until completion */
	uint64_t body_len;
	int body_fd; /* FD, STREAM, GROWING: borrowed until completion */
	uint64_t body_offset;
	size_t max_body; /* cap for a collected body; 0: HOIST_HTTP_MAX_BODY */
	const struct hoist_sink *sink;    /* if set, stream a 2xx body here */
	const struct hoist_http_tls *tls; /* NULL: verify with system CAs */
	enum hoist_http_version version;
	/* connect to this unix socket instead of the URL's host (Docker
	 * Engine API); NULL: TCP */
	const char *unix_socket;
	/* called with the running byte counts while the body goes out */
	void (*progress)(void *ctx, uint64_t sent, uint64_t received);
	void *progress_ctx;
	struct hoist_http_growing *growing; /* GROWING: its handle */
};

struct hoist_http;

int hoist_http_new(struct hoist_http **out, const struct hoist_http_opts *opts,
		   struct hoist_err *err);
/* Free the client. Pending transfers are aborted without callbacks. */
void hoist_http_free(struct hoist_http *h);

/*
 * Completion: rc is 0 when an HTTP response arrived (any status; resp
 * filled) or a negative code for transport failures (HOIST_ENET with
 * err naming the URL and libcurl's reason: connection refused or reset,
 * timeout; HOIST_ETLS for TLS handshake or certificate failures, which
 * retrying cannot fix; HOIST_ELIMIT for oversized bodies or headers;
 * HOIST_EINTR when cancelled). resp and err are owned by the loop and are
 * valid only during the callback: take what you need (or move resp->body
 * out with hoist_buf_detach).
 */
typedef void (*hoist_http_done_fn)(void *ctx, int rc,
				   struct hoist_http_response *resp,
				   const struct hoist_err *err);

/*
 * Queue a request. The request struct itself is copied (strings and
 * headers too); BUF bodies and FDs are borrowed until completion.
 */
int hoist_http_submit(struct hoist_http *h,
		      const struct hoist_http_request *req,
		      hoist_http_done_fn done, void *ctx,
		      struct hoist_err *err);

/*
 * A growing body has more bytes: the file holds end bytes now (end never
 * goes back), and eof says they are all. A transfer paused for want of
 * bytes goes on. Call from the loop's thread (a completion callback or a
 * timer), like everything here; a body whose request is over is left
 * alone.
 */
void hoist_http_body_more(struct hoist_http *h, struct hoist_http_growing *g,
			  uint64_t end, int eof);
/*
 * Give up on a growing body: its request fails (at once if it is paused,
 * else at libcurl's next read) and its completion gets e's code (it must
 * have one) and message prefixed with the request, as for a failed read.
 */
void hoist_http_body_abort(struct hoist_http *h, struct hoist_http_growing *g,
			   const struct hoist_err *e);

/* Call fn(ctx) from the loop after delay_ms (for backoff). */
int hoist_http_timer(struct hoist_http *h, long delay_ms, void (*fn)(void *ctx),
		     void *ctx, struct hoist_err *err);

/*
 * Run the loop until no transfer and no timer is pending. Returns 0, or
 * HOIST_EINTR if hoist_http_stop() was called.
 */
int hoist_http_run(struct hoist_http *h, struct hoist_err *err);
/* Make hoist_http_run return after the current callbacks (from a callback
 * or a signal handler: async-signal-safe). Transfers stay queued: run again
 * to go on, or free the client to drop them. A stop that arrives while no
 * run is active makes the next run return HOIST_EINTR at once; run is what
 * consumes it. A hoist_http_do() in progress ends with HOIST_EINTR and also
 * leaves the stop for the next run (so a token fetch inside a callback does
 * not swallow it). */
void hoist_http_stop(struct hoist_http *h);

/*
 * 1 when nothing is queued (no transfer, no timer, no stop pending): the
 * client can serve another user, with its idle connections (regconn.c
 * keeps such clients per registry).
 */
int hoist_http_idle(const struct hoist_http *h);

/*
 * Synchronous convenience: perform one request to completion on a private
 * easy handle (no loop needed; used for token fetches and tests).
 * resp is filled by the caller-owned struct (release it), also on failure
 * (status 0 when no response arrived). May be called from a completion
 * callback or a timer, not from a progress callback or a sink. Returns as
 * for a completion callback's rc.
 */
int hoist_http_do(struct hoist_http *h, const struct hoist_http_request *req,
		  struct hoist_http_response *resp, struct hoist_err *err);

/*
 * The overall deadline of the process (--timeout): ms from now, or <= 0
 * for none (the default). Once it passes, hoist_http_run returns
 * HOIST_ETIMEDOUT naming up to three requests in flight (transfers stay
 * queued, as after a stop: free the client to drop them), and
 * hoist_http_do ends its request with HOIST_ETIMEDOUT. Not retried by
 * anyone. Process-wide, like the signal that would stop a command.
 */
void hoist_http_set_deadline(long ms);
/* Milliseconds left before the deadline, 0 once passed, -1 for none. */
long hoist_http_deadline_left(void);
/*
 * Set err to the deadline's error: "overall deadline of 5.0s passed" and
 * " doing" when doing is not NULL ("while waiting to retry GET 'url'").
 * Returns HOIST_ETIMEDOUT.
 */
int hoist_http_deadline_error(struct hoist_err *err, const char *doing);

/*
 * Resolve a Location (absolute, or relative to base) into an absolute URL,
 * keeping its query. Caller frees. HOIST_EINVAL for garbage.
 */
int hoist_http_resolve_url(char **out, const char *base, const char *location,
			   struct hoist_err *err);
/* Percent-encode a query value. Caller frees. */
char *hoist_http_escape(const char *s);

#endif
