/* buf.c: growable capped buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

char hoist_buf_empty[1];

void hoist_buf_init(struct hoist_buf *b, size_t max)
{
	b->data = hoist_buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void hoist_buf_release(struct hoist_buf *b)
{
	if (b->cap)
		free(b->data);
	b->data = hoist_buf_empty;
	b->len = 0;
	b->cap = 0;
}

void hoist_buf_reset(struct hoist_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
	else
		b->data = hoist_buf_empty;
}

static int buf_grow(struct hoist_buf *b, size_t extra, struct hoist_err *err)
{
	size_t need;

	if (!b->data) /* zero-filled: a cap of 0 unless max was set */
		hoist_buf_init(b, b->max);
	if (extra > b->max || b->len > b->max - extra)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "data exceeds the limit of %zu bytes",
				     b->max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
	if (b->cap) {
		b->data = hoist_xrealloc(b->data, ncap);
	} else {
		b->data = hoist_xmalloc(ncap);
		b->data[0] = '\0';
	}
	b->cap = ncap;
	return 0;
}

int hoist_buf_add(struct hoist_buf *b, const void *data, size_t len,
		  struct hoist_err *err)
{
	int rc = buf_grow(b, len, err);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int hoist_buf_adds(struct hoist_buf *b, const char *s, struct hoist_err *err)
{
	return hoist_buf_add(b, s, strlen(s), err);
}

int hoist_buf_addch(struct hoist_buf *b, char c, struct hoist_err *err)
{
	return hoist_buf_add(b, &c, 1, err);
}

int hoist_buf_printf(struct hoist_buf *b, struct hoist_err *err,
		     const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return hoist_err_set(err, HOIST_EINVAL, "bad format string");
	rc = buf_grow(b, (size_t)n, err);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *hoist_buf_detach(struct hoist_buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	if (b->cap)
		p = b->data;
	else
		p = hoist_xstrdup("");
	b->data = hoist_buf_empty;
	b->len = 0;
	b->cap = 0;
	return p;
}
