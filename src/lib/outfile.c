/*
 * outfile.c: the buffered atomic-file sink every tarball exporter writes
 * through (see outfile.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/outfile.h"
#include "util/mem.h"
#include "util/banned.h"

#define OUT_BUF (256 * 1024)

int hoist_outfile_open(struct hoist_outfile *o, const char *dest, mode_t mode,
		       struct hoist_err *err)
{
	int rc;

	memset(o, 0, sizeof(*o));
	rc = hoist_fs_atomic_open(&o->f, dest, mode, err);
	if (!rc)
		o->buf = hoist_xmalloc(OUT_BUF);
	return rc;
}

static int flush(struct hoist_outfile *o, struct hoist_err *err)
{
	int rc = 0;
	if (o->len)
		rc = hoist_fs_write_all(o->f.fd, o->buf, o->len, o->f.dest,
					err);
	o->len = 0;
	return rc;
}

int hoist_outfile_write(void *ctx, const void *data, size_t len,
			struct hoist_err *err)
{
	struct hoist_outfile *o = ctx;

	if (o->len + len > OUT_BUF) {
		int rc = flush(o, err);
		if (rc)
			return rc;
		if (len >= OUT_BUF)
			return hoist_fs_write_all(o->f.fd, data, len, o->f.dest,
						  err);
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

struct hoist_sink hoist_outfile_sink(struct hoist_outfile *o)
{
	struct hoist_sink s = {hoist_outfile_write, o};
	return s;
}

int hoist_outfile_commit(struct hoist_outfile *o, struct hoist_err *err)
{
	int rc = flush(o, err);

	if (!rc)
		rc = hoist_fs_atomic_commit(&o->f, err);
	else
		hoist_fs_atomic_abort(&o->f);
	free(o->buf);
	o->buf = NULL;
	return rc;
}

void hoist_outfile_abort(struct hoist_outfile *o)
{
	hoist_fs_atomic_abort(&o->f);
	free(o->buf);
	o->buf = NULL;
}
