/*
 * export-image.c: the image exporter (type=image) and its push form
 * (type=registry, or push=true): name the image in the store, optionally
 * under NAME@DIGEST and a dangling-name prefix, and push it: the first
 * name while the image is built (the pipelined push, export-int.h), the
 * others after it is named, as BuildKit reports a push ("naming to",
 * "pushing layers", "pushing manifest for").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/export-int.h"
#include "lib/ref.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

static const char *const image_keys[] = {"name",
					 "push",
					 "push-by-digest",
					 "registry.insecure",
					 "dangling-name-prefix",
					 "danging-name-empty-only",
					 "name-canonical",
					 "compression",
					 "compression-level",
					 "force-compression",
					 "oci-mediatypes",
					 "oci-artifact",
					 "unpack",
					 "store",
					 "rewrite-timestamp",
					 "source-date-epoch",
					 "attestation-inline",
					 "prefer-nondist-layers",
					 "buildinfo",
					 "buildinfo-attrs",
					 NULL};
static int image_plan(struct hoist_export_plan *p, const struct hoist_output *o,
		      struct hoist_err *err)
{
	const char *v;
	int rc;

	rc = hoist_output_bool(&p->push, o, "push", 1, 0, err);
	if (rc)
		return rc;
	if (strcmp(o->type, "registry") == 0)
		p->push = 1;
	rc = hoist_output_bool(&p->push_by_digest, o, "push-by-digest", 1, 0,
			       err);
	if (!rc)
		rc = hoist_output_bool(&p->name_canonical, o, "name-canonical",
				       1, 0, err);
	if (!rc)
		rc = hoist_output_bool(&p->dangling_empty_only, o,
				       "danging-name-empty-only", 1, 0, err);
	if (!rc)
		rc = hoist_output_bool(&p->reg.conn.insecure, o,
				       "registry.insecure", 1, 0, err);
	if (rc)
		return rc;
	v = hoist_output_get(o, "dangling-name-prefix");
	if (v && *v) {
		/* checked now so a bad prefix fails before the build */
		char *probe = hoist_xasprintf("%s@sha256:%064d", v, 0);
		struct hoist_ref r;
		rc = hoist_ref_parse(&r, probe, HOIST_REF_NORMALIZE, err);
		free(probe);
		if (rc)
			return hoist_err_prefix(err, "dangling-name-prefix");
		hoist_ref_release(&r);
		p->dangling_prefix = hoist_xstrdup(v);
	}
	return 0;
}

/* Log a finished push of name: "pushed NAME@DIGEST: N blobs, ...". */
static void log_push(const char *name, const struct hoist_push_stats *st)
{
	char a[32];

	snprintf(a, sizeof(a), "%.1f MiB", (double)st->bytes_sent / (1 << 20));
	hoist_log(HOIST_LOG_INFO,
		  "pushed %s@%s: %llu blobs, %llu already there, "
		  "%llu resumed, %s sent, %llu retries",
		  name, st->digest, (unsigned long long)st->blobs,
		  (unsigned long long)st->blobs_present,
		  (unsigned long long)st->blobs_resumed, a,
		  (unsigned long long)st->retries);
}

struct hoist_export_pipe {
	struct hoist_registry_bg *bg; /* NULL once waited for */
	int later;                    /* its progress, held for the step */
};

int hoist_export_pipe_start(struct hoist_export_plan *q, struct hoist_store *s,
			    struct hoist_err *err)
{
	struct hoist_export_pipe *pp;
	int rc;

	if (q->type != HOIST_EXPORT_IMAGE || !q->push || !q->nnames)
		return 0;
	q->reg.feed = hoist_feed_new(s, NULL, NULL);
	q->spec.feed = q->reg.feed;
	q->reg.statuses = 1;
	pp = hoist_xcalloc(1, sizeof(*pp));
	pp->later = hoist_step_later();
	rc = hoist_registry_push_start(&pp->bg, s, q->names[0],
				       q->push_by_digest, &q->reg, pp->later,
				       err);
	if (rc) {
		free(pp);
		return rc;
	}
	q->pipe = pp;
	return 0;
}

void hoist_export_pipe_root(struct hoist_export_plan *q, const json_t *root)
{
	if (!q->pipe)
		return;
	hoist_feed_set_root(q->reg.feed, root);
	hoist_feed_finish(q->reg.feed, 0, NULL);
}

/* The export step takes the pipelined push's progress and waits for it. */
static int pipe_wait(struct hoist_export_pipe *pp, const char *name,
		     struct hoist_err *err)
{
	struct hoist_push_stats st;
	int rc;

	hoist_step_take(pp->later);
	rc = hoist_registry_push_wait(pp->bg, &st, err);
	pp->bg = NULL;
	if (!rc)
		log_push(name, &st);
	return rc;
}

int hoist_export_pipe_end(struct hoist_export_plan *q, int rc,
			  struct hoist_err *err)
{
	struct hoist_export_pipe *pp = q->pipe;
	struct hoist_push_stats st;
	struct hoist_err perr;
	int prc;

	if (!pp)
		return rc;
	if (pp->bg) {
		/* the build or the export failed: the push learns it */
		hoist_feed_finish(q->reg.feed, rc, err);
		prc = hoist_registry_push_wait(pp->bg, &st, &perr);
		if (!rc && prc) {
			*err = perr;
			rc = prc;
		}
	}
	free(pp);
	q->pipe = NULL;
	return rc;
}

static int image_write(const struct hoist_export_plan *p, struct hoist_store *s,
		       const json_t *root, json_t **desc, struct hoist_err *err)
{
	const char *digest = hoist_json_str(root, "digest");
	struct hoist_registry_opts ro = p->reg;
	size_t first = 0;
	int rc = 0;

	for (size_t i = 0; i < p->nnames && !rc; i++) {
		if (p->push_by_digest)
			break; /* bare repositories: pushed, not named */
		rc = hoist_store_tag(s, p->names[i], root, err);
		if (rc)
			return hoist_err_prefix(err, "name '%s'", p->names[i]);
		hoist_status_begin("naming to %s", p->names[i]);
		hoist_status_end();
		if (p->name_canonical && !strchr(p->names[i], '@')) {
			struct hoist_ref r;
			char *c;
			rc = hoist_ref_parse(&r, p->names[i], 0, err);
			if (rc)
				return rc;
			free(r.tag);
			r.tag = NULL;
			free(r.digest);
			r.digest = hoist_xstrdup(digest);
			c = hoist_ref_string(&r);
			hoist_ref_release(&r);
			rc = hoist_store_tag(s, c, root, err);
			free(c);
		}
	}
	/* named first, then pushed, as BuildKit */
	if (!rc && p->pipe) {
		rc = pipe_wait(p->pipe, p->names[0], err);
		first = 1;
	}
	ro.statuses = 1;
	for (size_t i = first; i < p->nnames && !rc && p->push; i++) {
		struct hoist_push_stats st;
		rc = hoist_registry_push(s, root, p->names[i],
					 p->push_by_digest, &ro, &st, err);
		if (rc)
			return rc;
		log_push(p->names[i], &st);
	}
	if (!rc && p->dangling_prefix &&
	    (!p->dangling_empty_only || !p->nnames)) {
		struct hoist_ref r;
		char *raw =
			hoist_xasprintf("%s@%s", p->dangling_prefix, digest);
		rc = hoist_ref_parse(&r, raw, HOIST_REF_NORMALIZE, err);
		free(raw);
		if (rc)
			return rc;
		raw = hoist_ref_string(&r);
		hoist_ref_release(&r);
		rc = hoist_store_tag(s, raw, root, err);
		free(raw);
	}
	if (!rc)
		*desc = json_incref((json_t *)root);
	return rc;
}

const struct hoist_exporter hoist_exporter_image = {
	"image", HOIST_EXPORT_IMAGE, image_keys, 1, image_plan, image_write,
};

const struct hoist_exporter hoist_exporter_registry = {
	"registry", HOIST_EXPORT_IMAGE, image_keys, 1, image_plan, image_write,
};
