/*
 * http-int.h: what http.c (the libcurl driver) takes from http-message.c
 * (the messages, without curl). Internal to src/lib/http*.c.
 */
#ifndef HOIST_LIB_HTTP_INT_H
#define HOIST_LIB_HTTP_INT_H

#include <stddef.h>

#include "lib/http.h"
#include "util/err.h"

/*
 * 0 if req can be sent: a method and a URL, a body that matches its kind
 * (a buffer, a descriptor range that fits in off_t, a stream only for
 * POST), header lines without CR or LF. HOIST_EINVAL naming the request
 * otherwise.
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
