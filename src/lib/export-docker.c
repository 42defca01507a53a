/*
 * export-docker.c: the docker exporter: an OCI layout tarball plus the
 * manifest.json that `docker load` and `podman load` read. One image only
 * (no manifest lists). With dest it is a file (or standard output); without
 * dest, as buildx does, the tarball is streamed into a Docker Engine's
 * POST /images/load (engine.h: dockerd or podman's service), found from
 * context=, DOCKER_HOST, the current docker context or the default socket.
 */
#include <stdio.h>
#include <string.h>

#include "lib/engine.h"
#include "lib/export-int.h"
#include "lib/ref.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

static int docker_plan(struct hoist_export_plan *p,
		       const struct hoist_output *o, struct hoist_err *err)
{
	const char *ctx = hoist_output_get(o, "context");
	struct hoist_engine e;
	int rc;

	if (p->dest)
		return hoist_export_layout_plan(p, o, err);
	/* buildx: no dest means load into the engine; find it (and reach
	 * a socket) now, so a bad context or a missing engine fails before
	 * anything is built */
	p->load = 1;
	p->tar = 1;
	if (ctx && *ctx)
		p->context = hoist_xstrdup(ctx);
	rc = hoist_engine_resolve(&e, p->context, err);
	if (!rc)
		rc = hoist_engine_probe(&e, err);
	hoist_engine_release(&e);
	return rc;
}

/* docker load's manifest.json (single image only). */
static int docker_manifest(char **out, size_t *len,
			   const struct hoist_export_plan *p,
			   const struct hoist_img_manifest *m,
			   struct hoist_err *err)
{
	json_t *arr = json_array(), *e = json_object(), *tags, *layers, *l;
	const char *cfg = hoist_json_str(json_object_get(m->manifest, "config"),
					 "digest");
	size_t i;
	int rc;

	char path[160];

	snprintf(path, sizeof(path), "blobs/sha256/%s", hoist_digest_hex(cfg));
	hoist_json_set_str(e, "Config", path);
	tags = json_array();
	for (i = 0; i < p->nnames; i++) {
		struct hoist_ref r;
		if (hoist_ref_parse(&r, p->names[i], 0, NULL) != 0)
			continue;
		if (r.tag) {
			free(r.digest);
			r.digest = NULL;
			char *f = hoist_ref_familiar(&r);
			json_array_append_new(tags, json_string(f));
			free(f);
		}
		hoist_ref_release(&r);
	}
	json_object_set_new(e, "RepoTags", tags);
	layers = json_array();
	json_array_foreach(json_object_get(m->manifest, "layers"), i, l)
	{
		const char *dg = hoist_json_str(l, "digest");
		snprintf(path, sizeof(path), "blobs/sha256/%s",
			 hoist_digest_hex(dg));
		json_array_append_new(layers, json_string(path));
	}
	json_object_set_new(e, "Layers", layers);
	json_array_append_new(arr, e);
	rc = hoist_json_dump(out, len, arr, 0, err);
	json_decref(arr);
	return rc;
}

struct load_job {
	const struct hoist_export_plan *p;
	struct hoist_store *s;
	const json_t *root;
};

/* Runs on the engine client's producer thread: only reads the store. */
static int load_produce(void *ctx, const struct hoist_sink *sink,
			struct hoist_err *err)
{
	struct load_job *j = ctx;
	return hoist_export_layout_stream(j->p, j->s, j->root, docker_manifest,
					  sink, err);
}

/* The engine's answer ("Loaded image: NAME") goes to the progress. */
static void load_msg(void *ctx, const char *msg)
{
	(void)ctx;
	hoist_log(HOIST_LOG_INFO, "%s", msg);
}

static int docker_load(const struct hoist_export_plan *p, struct hoist_store *s,
		       const json_t *root, struct hoist_err *err)
{
	struct load_job j = {p, s, root};
	struct hoist_engine e;
	int rc = hoist_engine_resolve(&e, p->context, err);

	if (!rc) {
		hoist_step_begin("importing to docker");
		rc = hoist_engine_load(&e, load_produce, &j, load_msg, NULL,
				       err);
		hoist_step_end(0, rc ? hoist_err_msg(err) : NULL);
	}
	hoist_engine_release(&e);
	return rc;
}

static int docker_write(const struct hoist_export_plan *p,
			struct hoist_store *s, const json_t *root,
			json_t **desc, struct hoist_err *err)
{
	int rc;

	if (!p->load)
		return hoist_export_layout_write(p, s, root, docker_manifest,
						 desc, err);
	rc = docker_load(p, s, root, err);
	if (!rc)
		*desc = json_deep_copy(root);
	return rc;
}

const struct hoist_exporter hoist_exporter_docker = {
	"docker", HOIST_EXPORT_DOCKER, hoist_export_layout_keys,
	1,        docker_plan,         docker_write,
};
