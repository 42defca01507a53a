/*
 * buf.h: a growable byte buffer, always NUL-terminated, with an optional
 * cap. Appending past the cap fails with HOIST_ELIMIT and leaves the buffer
 * as it was, so buffers that collect remote or file input stay bounded.
 */
#ifndef HOIST_UTIL_BUF_H
#define HOIST_UTIL_BUF_H

#include <stddef.h>

#include "util/err.h"

struct hoist_buf {
	char *data; /* NUL-terminated; "" (static) while empty */
	size_t len;
	size_t cap;
	size_t max; /* largest len allowed */
};

#define HOIST_BUF_UNLIMITED ((size_t)-1)
#define HOIST_BUF_INIT                                                         \
	{                                                                      \
		NULL, 0, 0, HOIST_BUF_UNLIMITED                                \
	}

/* Start an empty buffer holding at most max bytes. */
void hoist_buf_init(struct hoist_buf *b, size_t max);
/* Free the storage; the buffer is empty and reusable afterwards. */
void hoist_buf_release(struct hoist_buf *b);
/* Drop the contents, keep the storage. */
void hoist_buf_reset(struct hoist_buf *b);
/* Append bytes. HOIST_ELIMIT if the cap would be passed. */
int hoist_buf_add(struct hoist_buf *b, const void *data, size_t len,
		  struct hoist_err *err);
int hoist_buf_adds(struct hoist_buf *b, const char *s, struct hoist_err *err);
int hoist_buf_addch(struct hoist_buf *b, char c, struct hoist_err *err);
int hoist_buf_printf(struct hoist_buf *b, struct hoist_err *err,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Hand the storage to the caller (who frees it) and leave b empty.
 * Always returns a NUL-terminated heap string, even for an empty buffer.
 */
char *hoist_buf_detach(struct hoist_buf *b, size_t *len);

#endif
