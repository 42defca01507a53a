/*
 * export-docker.c: the docker exporter: an OCI layout tarball plus the
 * manifest.json that `docker load` and `podman load` read. One image only
 * (no manifest lists), and always to a file: hoist talks to no daemon.
 */
#include <stdio.h>
#include <string.h>

#include "lib/export-int.h"
#include "lib/ref.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

static int docker_plan(struct hoist_export_plan *p,
		       const struct hoist_output *o, struct hoist_err *err)
{
	if (!p->dest)
		return hoist_err_set(err, HOIST_EINVAL,
				     "output type 'docker' needs dest=FILE: "
				     "hoist does not load into a Docker "
				     "daemon (use docker load -i FILE)");
	return hoist_export_layout_plan(p, o, err);
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

static int docker_write(const struct hoist_export_plan *p,
			struct hoist_store *s, const json_t *root,
			json_t **desc, struct hoist_err *err)
{
	return hoist_export_layout_write(p, s, root, docker_manifest, desc,
					 err);
}

const struct hoist_exporter hoist_exporter_docker = {
	"docker", HOIST_EXPORT_DOCKER, hoist_export_layout_keys,
	1,        docker_plan,         docker_write,
};
