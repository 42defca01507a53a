/*
 * buf.h: a growable byte buffer, always NUL-terminated, with a cap.
 * Appending past the cap fails with HOIST_ELIMIT and leaves the buffer as
 * it was, so buffers that collect remote or file input stay bounded.
 *
 * Every buffer states its cap when it starts: HOIST_BUF_INIT(max) or
 * hoist_buf_init(b, max). A buffer whose size only the program controls
 * says so with HOIST_BUF_UNLIMITED. data is never NULL once initialised:
 * it is "" (static, not to be freed) while nothing is allocated, so an
 * empty buffer prints as an empty string. A zero-filled struct is an
 * uninitialised buffer with a cap of 0: nothing can be added to it.
 *
 * Errors: only HOIST_ELIMIT (cap passed) and HOIST_EINVAL (bad printf
 * format). Allocation failure aborts (see mem.h). The buffer owns data
 * until hoist_buf_detach() hands it to the caller.
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

/* The shared "" that empty buffers point at; never written to. */
extern char hoist_buf_empty[1];

/* Caps in bytes: HOIST_KiB(64), HOIST_MiB(4). */
#define HOIST_KiB(n) ((size_t)(n) << 10)
#define HOIST_MiB(n) ((size_t)(n) << 20)
/* The cap of a buffer whose size only the program controls. */
#define HOIST_BUF_UNLIMITED ((size_t)-1)
/* An empty buffer holding at most max bytes, for initialisers. */
#define HOIST_BUF_INIT(max)                                                    \
	{                                                                      \
		hoist_buf_empty, 0, 0, (max)                                   \
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
