/* imgwalk.c: walking manifests and indexes stored in the staging area. */
#include <stdlib.h>
#include <string.h>

#include "lib/imgwalk.h"
#include "lib/image.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

/* Nesting deeper than this is refused: no real image needs it. */
#define WALK_MAX_DEPTH 8

static int load_json(json_t **out, struct hoist_store *s, const char *digest,
		     size_t max, struct hoist_err *err)
{
	char *data;
	size_t len;
	int rc = hoist_store_get(s, digest, max, &data, &len, err);
	if (rc)
		return rc;
	rc = hoist_json_parse(out, data, len, digest, err);
	free(data);
	return rc;
}

static void platform_from(struct hoist_platform *p, const json_t *o)
{
	const char *os = hoist_json_str(o, "os");
	const char *arch = hoist_json_str(o, "architecture");
	const char *var = hoist_json_str(o, "variant");

	memset(p, 0, sizeof(*p));
	snprintf(p->os, sizeof(p->os), "%s", os ? os : "");
	snprintf(p->arch, sizeof(p->arch), "%s", arch ? arch : "");
	snprintf(p->variant, sizeof(p->variant), "%s", var ? var : "");
}

struct mlist {
	struct hoist_img_manifest *v;
	size_t n;
};

static int walk_manifests(struct mlist *l, struct hoist_store *s,
			  const json_t *desc, int depth, struct hoist_err *err)
{
	const char *mt, *digest;
	json_t *doc = NULL;
	int rc;

	if (depth > WALK_MAX_DEPTH)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "indexes nested too deeply");
	rc = hoist_image_desc_get(desc, &mt, &digest, NULL, err);
	if (rc)
		return rc;
	if (hoist_image_mt_is_index(mt)) {
		json_t *ms, *d;
		size_t i;
		rc = load_json(&doc, s, digest, HOIST_MANIFEST_MAX, err);
		if (rc)
			return rc;
		ms = json_object_get(doc, "manifests");
		if (!json_is_array(ms)) {
			json_decref(doc);
			return hoist_err_set(err, HOIST_EINVAL,
					     "index '%s' has no manifests",
					     digest);
		}
		json_array_foreach(ms, i, d)
		{
			json_t *p = json_object_get(d, "platform");
			const char *os = hoist_json_str(p, "os");
			if (os && strcmp(os, "unknown") == 0)
				continue;
			rc = walk_manifests(l, s, d, depth + 1, err);
			if (rc)
				break;
		}
		json_decref(doc);
		return rc;
	}
	if (!hoist_image_mt_is_manifest(mt))
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "'%s' has unsupported media type '%s'",
				     digest, mt);
	struct hoist_img_manifest m;
	const char *cfg_digest;
	memset(&m, 0, sizeof(m));
	rc = load_json(&m.manifest, s, digest, HOIST_MANIFEST_MAX, err);
	if (rc)
		return rc;
	rc = hoist_image_desc_get(json_object_get(m.manifest, "config"), NULL,
				  &cfg_digest, NULL, err);
	if (rc)
		goto fail;
	rc = load_json(&m.config, s, cfg_digest, HOIST_CONFIG_MAX, err);
	if (rc)
		goto fail;
	if (json_object_get(desc, "platform"))
		platform_from(&m.platform, json_object_get(desc, "platform"));
	else
		platform_from(&m.platform, m.config);
	m.desc = json_incref((json_t *)desc);
	l->v = hoist_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = m;
	return 0;
fail:
	json_decref(m.manifest);
	json_decref(m.config);
	return rc;
}

int hoist_imgwalk_manifests(struct hoist_img_manifest **out, size_t *n,
			    struct hoist_store *s, const json_t *root,
			    struct hoist_err *err)
{
	struct mlist l = {NULL, 0};
	int rc = walk_manifests(&l, s, root, 0, err);
	if (rc) {
		hoist_imgwalk_manifests_free(l.v, l.n);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

void hoist_imgwalk_manifests_free(struct hoist_img_manifest *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(m[i].desc);
		json_decref(m[i].manifest);
		json_decref(m[i].config);
	}
	free(m);
}

static int add_blob(json_t *seen, const json_t *desc, struct hoist_err *err)
{
	const char *digest;
	int rc = hoist_image_desc_get(desc, NULL, &digest, NULL, err);
	if (rc)
		return rc;
	if (json_object_get(seen, digest))
		return 1;
	json_object_set_new(
		seen, digest,
		hoist_image_desc(hoist_json_str(desc, "mediaType"), digest,
				 (uint64_t)json_integer_value(
					 json_object_get(desc, "size"))));
	return 0;
}

static int walk_blobs(json_t *seen, struct hoist_store *s, const json_t *desc,
		      int depth, struct hoist_err *err)
{
	const char *mt, *digest;
	json_t *doc = NULL, *v;
	size_t i;
	int rc;

	if (depth > WALK_MAX_DEPTH)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "indexes nested too deeply");
	rc = add_blob(seen, desc, err);
	if (rc)
		return rc < 0 ? rc : 0;
	mt = hoist_json_str(desc, "mediaType");
	digest = hoist_json_str(desc, "digest");
	if (!hoist_image_mt_is_index(mt) && !hoist_image_mt_is_manifest(mt))
		return 0;
	rc = load_json(&doc, s, digest, HOIST_MANIFEST_MAX, err);
	if (rc)
		return rc;
	if (hoist_image_mt_is_index(mt)) {
		json_array_foreach(json_object_get(doc, "manifests"), i, v)
		{
			rc = walk_blobs(seen, s, v, depth + 1, err);
			if (rc)
				goto out;
		}
	} else {
		rc = add_blob(seen, json_object_get(doc, "config"), err);
		if (rc < 0)
			goto out;
		rc = 0;
		json_array_foreach(json_object_get(doc, "layers"), i, v)
		{
			rc = add_blob(seen, v, err);
			if (rc < 0)
				goto out;
			rc = 0;
		}
	}
out:
	json_decref(doc);
	return rc;
}

static int cmp_digest(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a;
	const json_t *y = *(const json_t *const *)b;
	return strcmp(hoist_json_str(x, "digest"), hoist_json_str(y, "digest"));
}

int hoist_imgwalk_blobs(json_t **out, struct hoist_store *s, const json_t *root,
			struct hoist_err *err)
{
	json_t *seen = json_object(), *v, **vec;
	const char *k;
	size_t n, i = 0;
	int rc = walk_blobs(seen, s, root, 0, err);

	if (rc) {
		json_decref(seen);
		return rc;
	}
	n = json_object_size(seen);
	vec = hoist_xcalloc(n ? n : 1, sizeof(*vec));
	json_object_foreach(seen, k, v) vec[i++] = v;
	qsort(vec, n, sizeof(*vec), cmp_digest);
	*out = json_array();
	for (i = 0; i < n; i++)
		json_array_append(*out, vec[i]);
	free(vec);
	json_decref(seen);
	return 0;
}
