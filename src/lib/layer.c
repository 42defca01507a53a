/*
 * layer.c: a directory tree to a stored layer blob in one pass.
 *
 * The tar writer pushes into a tee that hashes the uncompressed bytes (the
 * diff_id) and hands them to the compressor, whose output goes straight
 * into a store ingest that hashes it again (the digest). No byte of the
 * tree is read twice and nothing uncompressed touches the disk. Any error
 * aborts the ingest, so a failed build leaves no partial blob behind.
 */
#include <string.h>

#include "lib/layer.h"
#include "lib/tar.h"
#include "util/hash.h"
#include "util/banned.h"

struct tee {
	struct hoist_sha256 sha;
	struct hoist_compressor *comp;
	uint64_t size;
};

static int tee_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	struct tee *t = ctx;

	hoist_sha256_update(&t->sha, data, len);
	t->size += len;
	return hoist_compressor_write(t->comp, data, len, err);
}

struct out {
	struct hoist_ingest *in;
	const struct hoist_layer_hooks *hooks;
};

static int ingest_sink_write(void *ctx, const void *data, size_t len,
			     struct hoist_err *err)
{
	struct out *o = ctx;
	int rc = hoist_ingest_write(o->in, data, len, err);

	if (!rc && o->hooks && o->hooks->progress)
		rc = o->hooks->progress(o->hooks->ctx, hoist_ingest_size(o->in),
					err);
	return rc;
}

struct tree_fill {
	const char *dir;
	const struct hoist_layer_opts *opts;
};

static int fill_tree(void *ctx, struct hoist_tar_writer *w,
		     struct hoist_err *err)
{
	const struct tree_fill *t = ctx;
	struct hoist_tar_tree_opts topts;

	memset(&topts, 0, sizeof(topts));
	topts.prefix = t->opts->prefix;
	topts.epoch = t->opts->epoch;
	return hoist_tar_write_tree(w, t->dir, &topts, err);
}

int hoist_layer_from_dir(struct hoist_layer *out, struct hoist_store *s,
			 const char *dir, const struct hoist_layer_opts *opts,
			 struct hoist_err *err)
{
	struct tree_fill t = {dir, opts};

	return hoist_layer_from_fn(out, s, fill_tree, &t, dir, opts, err);
}

int hoist_layer_from_fn(struct hoist_layer *out, struct hoist_store *s,
			int (*fill)(void *ctx, struct hoist_tar_writer *w,
				    struct hoist_err *err),
			void *ctx, const char *what,
			const struct hoist_layer_opts *opts,
			struct hoist_err *err)
{
	struct hoist_ingest *in = NULL;
	struct hoist_compressor *comp = NULL;
	struct hoist_tar_writer *w = NULL;
	struct hoist_sink isink, tsink;
	struct tee tee;
	struct out o;
	char hex[HOIST_SHA256_HEXLEN + 1];
	int hashing = 0, rc;

	memset(out, 0, sizeof(*out));
	memset(&tee, 0, sizeof(tee));
	if ((rc = hoist_ingest_open(&in, s, err)) < 0)
		goto out;
	o.in = in;
	o.hooks = opts->hooks;
	if (o.hooks && o.hooks->ingest)
		o.hooks->ingest(o.hooks->ctx, hoist_ingest_fd(in));
	isink.write = ingest_sink_write;
	isink.ctx = &o;
	if ((rc = hoist_compressor_new(&comp, opts->compression, opts->level,
				       &isink, err)) < 0 ||
	    (opts->threads > 0 &&
	     (rc = hoist_compressor_set_threads(comp, opts->threads, err)) < 0))
		goto out;
	hoist_sha256_init(&tee.sha);
	hashing = 1;
	tee.comp = comp;
	tsink.write = tee_write;
	tsink.ctx = &tee;
	hoist_tar_writer_new(&w, &tsink);

	if ((rc = fill(ctx, w, err)) < 0 ||
	    (rc = hoist_tar_writer_finish(w, err)) < 0 ||
	    (rc = hoist_compressor_finish(comp, err)) < 0)
		goto out;

	hoist_sha256_final_hex(&tee.sha, hex);
	hashing = 0;
	hoist_digest_from_sha256_hex(&out->diff_id, hex);
	out->tar_size = tee.size;
	out->compression = opts->compression;
	if (opts->compression == HOIST_COMP_ESTARGZ) {
		struct hoist_estargz_result r;
		(void)hoist_compressor_estargz(comp, &r);
		out->diff_id = r.diff_id;
		out->tar_size = r.uncompressed_size;
		out->toc_digest = r.toc_digest;
	}
	/* Uncompressed, the blob is the tar: let the store verify that. */
	rc = hoist_ingest_commit(
		in,
		opts->compression == HOIST_COMP_NONE ? out->diff_id.str : NULL,
		&out->digest, &out->size, err);
	in = NULL; /* commit frees it in every case */
out:
	if (hashing)
		hoist_sha256_release(&tee.sha);
	hoist_ingest_abort(in);
	hoist_tar_writer_free(w);
	hoist_compressor_free(comp);
	if (rc < 0) {
		hoist_err_prefix(err, "layer '%s'", what);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
