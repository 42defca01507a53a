/*
 * build.c: from layer directories and a run configuration to manifests in
 * the store. Layers are cached per (directory, compression, level), so
 * several outputs of one build never tar a tree twice for the same
 * compression.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/build.h"
#include "lib/layer.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

struct built_layer {
	size_t dir;
	enum hoist_compression compression;
	int level;
	struct hoist_layer layer;
};

struct hoist_build {
	struct hoist_store *store;
	struct hoist_build_opts opts;
	int64_t created;
	struct built_layer **layers; /* pointers stay valid as it grows */
	size_t nlayers;
};

int hoist_build_new(struct hoist_build **out, struct hoist_store *s,
		    const struct hoist_build_opts *opts, struct hoist_err *err)
{
	struct hoist_build *b;

	if (!opts->nplatforms)
		return hoist_err_set(err, HOIST_EINVAL, "no platform given");
	b = hoist_xcalloc(1, sizeof(*b));
	b->store = s;
	b->opts = *opts;
	b->created = opts->epoch >= 0 ? opts->epoch : (int64_t)time(NULL);
	*out = b;
	return 0;
}

void hoist_build_free(struct hoist_build *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nlayers; i++)
		free(b->layers[i]);
	free(b->layers);
	free(b);
}

static int get_layer(struct hoist_build *b, size_t dir,
		     const struct hoist_image_spec *spec,
		     const struct hoist_layer **out, struct hoist_err *err)
{
	struct hoist_layer_opts lo;
	struct built_layer *bl;
	int rc;

	for (size_t i = 0; i < b->nlayers; i++) {
		bl = b->layers[i];
		if (bl->dir == dir && bl->compression == spec->compression &&
		    bl->level == spec->level) {
			*out = &bl->layer;
			return 0;
		}
	}
	memset(&lo, 0, sizeof(lo));
	lo.compression = spec->compression;
	lo.level = spec->level;
	lo.epoch = b->opts.epoch;
	hoist_log(HOIST_LOG_INFO, "building layer %zu from '%s' (%s)", dir + 1,
		  b->opts.layer_dirs[dir],
		  hoist_compression_name(spec->compression));
	bl = hoist_xcalloc(1, sizeof(*bl));
	rc = hoist_layer_from_dir(&bl->layer, b->store, b->opts.layer_dirs[dir],
				  &lo, err);
	if (rc) {
		free(bl);
		return rc; /* the layer engine names the directory */
	}
	bl->dir = dir;
	bl->compression = spec->compression;
	bl->level = spec->level;
	b->layers = hoist_xreallocarray(b->layers, b->nlayers + 1,
					sizeof(*b->layers));
	b->layers[b->nlayers++] = bl;
	*out = &bl->layer;
	return 0;
}

static json_t *merge_ann(const json_t *base, const json_t *extra)
{
	json_t *o = json_object();
	if (base)
		json_object_update(o, (json_t *)base);
	if (extra)
		json_object_update(o, (json_t *)extra);
	return o;
}

/* The annotations for one platform: the general ones, then its own. */
static json_t *plat_ann(const json_t *all, const json_t *by_plat,
			const struct hoist_platform *p)
{
	char name[128];
	json_t *o = merge_ann(all, NULL);
	const char *k;
	json_t *v;
	struct hoist_platform q;

	hoist_platform_format(p, name, sizeof(name));
	json_object_foreach((json_t *)by_plat, k, v)
	{
		if (hoist_platform_parse(&q, k, NULL) == 0 &&
		    hoist_platform_equal(&q, p))
			json_object_update(o, v);
	}
	return o;
}

/* Every platform named in a platform-qualified annotation must exist. */
static int check_plat_ann(const struct hoist_build *b, const json_t *by_plat,
			  struct hoist_err *err)
{
	const char *k;
	json_t *v;
	struct hoist_platform q;

	json_object_foreach((json_t *)by_plat, k, v)
	{
		size_t i;
		int rc = hoist_platform_parse(&q, k, err);
		if (rc)
			return hoist_err_prefix(err, "invalid annotation");
		for (i = 0; i < b->opts.nplatforms; i++)
			if (hoist_platform_equal(&q, &b->opts.platforms[i]))
				break;
		if (i == b->opts.nplatforms)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid annotation: no platform "
					     "%s found in source",
					     k);
	}
	return 0;
}

/* Store text as a blob and return its descriptor. */
static int put_json(struct hoist_build *b, const char *mt, char *text,
		    size_t len, json_t **desc, struct hoist_digest *dg,
		    struct hoist_err *err)
{
	struct hoist_digest d;
	int rc = hoist_store_put(b->store, text, len, &d, err);
	free(text);
	if (rc)
		return rc;
	*desc = hoist_image_desc(mt, d.str, len);
	if (dg)
		*dg = d;
	return 0;
}

static int build_manifest(struct hoist_build *b,
			  const struct hoist_image_spec *spec,
			  const struct hoist_platform *plat, json_t **desc,
			  struct hoist_digest *config_digest,
			  struct hoist_err *err)
{
	size_t n = b->opts.nlayers;
	struct hoist_image_layer *il = hoist_xcalloc(n ? n : 1, sizeof(*il));
	char **created_by = hoist_xcalloc(n ? n : 1, sizeof(char *));
	json_t *cfg_desc = NULL, *ann = NULL;
	char *text = NULL;
	size_t len;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct hoist_layer *l = NULL;
		rc = get_layer(b, i, spec, &l, err);
		if (rc)
			goto out;
		created_by[i] =
			hoist_xasprintf("hoist build (layer %zu)", i + 1);
		il[i].digest = l->digest.str;
		il[i].diff_id = l->diff_id.str;
		il[i].size = l->size;
		il[i].compression = l->compression;
		il[i].created_by = created_by[i];
	}
	rc = hoist_image_config(&text, &len, plat, &b->opts.rc, il, n,
				b->created, err);
	if (rc)
		goto out;
	rc = put_json(b,
		      spec->oci ? HOIST_MT_OCI_CONFIG : HOIST_MT_DOCKER_CONFIG,
		      text, len, &cfg_desc, config_digest, err);
	if (rc)
		goto out;
	ann = plat_ann(spec->ann_manifest, spec->ann_manifest_plat, plat);
	rc = hoist_image_manifest(&text, &len, cfg_desc, il, n, ann, spec->oci,
				  err);
	json_decref(ann);
	ann = NULL;
	if (rc)
		goto out;
	rc = put_json(
		b, spec->oci ? HOIST_MT_OCI_MANIFEST : HOIST_MT_DOCKER_MANIFEST,
		text, len, desc, NULL, err);
	if (rc)
		goto out;
	ann = plat_ann(spec->ann_manifest_desc, spec->ann_manifest_desc_plat,
		       plat);
	if (json_object_size(ann))
		json_object_set(*desc, "annotations", ann);
	hoist_image_desc_set_platform(*desc, plat);
out:
	for (size_t i = 0; i < n; i++)
		free(created_by[i]);
	free(created_by);
	free(il);
	json_decref(cfg_desc);
	json_decref(ann);
	return rc;
}

int hoist_build_image(struct hoist_build *b,
		      const struct hoist_image_spec *spec, json_t **root,
		      struct hoist_digest *config, struct hoist_err *err)
{
	json_t *descs = NULL, *d = NULL;
	char *text = NULL;
	size_t len;
	int rc = 0;

	*root = NULL;
	rc = check_plat_ann(b, spec->ann_manifest_plat, err);
	if (!rc)
		rc = check_plat_ann(b, spec->ann_manifest_desc_plat, err);
	if (rc)
		return rc;
	if (!spec->oci &&
	    ((spec->ann_manifest && json_object_size(spec->ann_manifest)) ||
	     (spec->ann_manifest_desc &&
	      json_object_size(spec->ann_manifest_desc)) ||
	     (spec->ann_index && json_object_size(spec->ann_index)) ||
	     (spec->ann_index_desc && json_object_size(spec->ann_index_desc))))
		return hoist_err_set(err, HOIST_EINVAL,
				     "cannot export annotations with "
				     "\"oci-mediatypes=false\"");
	if (b->opts.nplatforms == 1) {
		if ((spec->ann_index && json_object_size(spec->ann_index)) ||
		    (spec->ann_index_desc &&
		     json_object_size(spec->ann_index_desc)))
			return hoist_err_set(err, HOIST_EINVAL,
					     "index annotations not supported "
					     "for single platform export");
		return build_manifest(b, spec, &b->opts.platforms[0], root,
				      config, err);
	}
	if (config)
		memset(config, 0, sizeof(*config));
	descs = json_array();
	for (size_t i = 0; i < b->opts.nplatforms; i++) {
		rc = build_manifest(b, spec, &b->opts.platforms[i], &d, NULL,
				    err);
		if (rc)
			goto out;
		json_array_append_new(descs, d);
	}
	rc = hoist_image_index(&text, &len, descs, spec->ann_index, spec->oci,
			       err);
	if (rc)
		goto out;
	rc = put_json(b, spec->oci ? HOIST_MT_OCI_INDEX : HOIST_MT_DOCKER_LIST,
		      text, len, root, NULL, err);
	if (rc)
		goto out;
	if (spec->ann_index_desc && json_object_size(spec->ann_index_desc))
		json_object_set_new(*root, "annotations",
				    merge_ann(spec->ann_index_desc, NULL));
out:
	json_decref(descs);
	return rc;
}
