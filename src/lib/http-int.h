/*
 * http-int.h: what http.c (the libcurl driver) takes from http-message.c
 * (the messages and the deadline, without curl). Internal to src/lib/http*.c.
 */
#ifndef HOIST_LIB_HTTP_INT_H
#define HOIST_LIB_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/http.h"
#include "util/err.h"

/*
 * 0 if req can be sent: a method and a URL, a body that matches its kind
 * (a buffer, a descriptor range that fits in off_t, a stream only for
 * POST, a growing file only for PUT and PATCH, with its handle and its
 * end not before its offset), header lines without CR or LF. HOIST_EINVAL
 * naming the request otherwise.
 */
int hoist_http_request_check(const struct hoist_http_request *req,
			     struct hoist_err *err);

/*
 * Add one raw response header line (p, len bytes, CRLF included or not)
 * to r. A status line drops the headers held (those of a 1xx); a folded
 * line continues the last value; a line without a name is ignored.
 * *alloc is the capacity of r->headers (0 at first). HOIST_ELIMIT with
 * err set when a line or value is over 8 KiB or there are more than 100
 * headers; r stays valid either way.
 */
int hoist_http_response_add_line(struct hoist_http_response *r, size_t *alloc,
				 const char *p, size_t len,
				 struct hoist_err *err);

/* 1 if req has a header line "name: ..." (name case-insensitive). */
int hoist_http_request_has_header(const struct hoist_http_request *req,
				  const char *name);

/* A poll wait of timeout ms shortened so that the deadline is noticed. */
int hoist_http_poll_wait(int timeout);

/*
 * The deadline passed with n requests in flight, named by names ("PATCH
 * 'url'"; the first three are used): err says so. HOIST_ETIMEDOUT.
 */
int hoist_http_deadline_in_flight(struct hoist_err *err,
				  const char *const *names, size_t n);

/*
 * The stall limit of a transfer whose body pauses (a growing file):
 * libcurl 7.88 counts paused time against CURLOPT_LOW_SPEED_*, so such a
 * transfer keeps its own, fed from the progress callback with the bytes
 * moved both ways. Time while the body waits for its file does not count.
 */
struct hoist_http_stall {
	uint64_t since_ms; /* start of the window, 0 before the first call */
	uint64_t moved;    /* bytes moved at its start */
};

/* 1 when, outside pauses, less than low_bytes a second moved over the
 * last low_s seconds. */
int hoist_http_stalled(struct hoist_http_stall *s, uint64_t now_ms,
		       uint64_t moved, int paused, long low_bytes, long low_s);

/* A timer of the loop: fn(ctx) once the monotonic clock says due_ms. */
struct hoist_http_timer {
	uint64_t due_ms;
	void (*fn)(void *ctx);
	void *ctx;
	struct hoist_http_timer *next;
};

/* A new timer in list (sorted by due time; ties fire in order). */
void hoist_http_timer_add(struct hoist_http_timer **list, long delay_ms,
			  void (*fn)(void *ctx), void *ctx);

/* Free r's headers and set their count to 0 (the array is kept). */
void hoist_http_response_clear_headers(struct hoist_http_response *r);

/* url quoted for a message, without its query or fragment. */
void hoist_http_url_for_msg(char *dst, size_t n, const char *url);

/*
 * src (a libcurl message) into dst (n bytes) in hoist's style: words
 * lower-cased unless they are names or acronyms, no final period.
 */
void hoist_http_tidy_msg(char *dst, size_t n, const char *src);

#endif
