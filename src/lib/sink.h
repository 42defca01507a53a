/*
 * sink.h: the one streaming interface the layer pipeline is built from. A
 * producer (tar writer, compressor) pushes bytes into a sink; a sink may be
 * a file, a hash, a compressor, or a store ingest.
 */
#ifndef HOIST_LIB_SINK_H
#define HOIST_LIB_SINK_H

#include <stddef.h>

#include "util/err.h"

/* Consume len bytes. Return 0 or a negative HOIST_E* code (err filled). */
typedef int (*hoist_sink_fn)(void *ctx, const void *data, size_t len,
			     struct hoist_err *err);

struct hoist_sink {
	hoist_sink_fn write;
	void *ctx;
};

static inline int hoist_sink_write(const struct hoist_sink *s, const void *data,
				   size_t len, struct hoist_err *err)
{
	return s->write(s->ctx, data, len, err);
}

#endif
