/*
 * imgwalk.c: the manifest-graph walker (see imgwalk.h for its policies)
 * and the two store walks built on it.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/digest.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

struct walker {
	struct hoist_store *s;
	unsigned flags;
	const struct hoist_imgwalk_ops *ops;
	void *ctx;
	json_t *seen; /* digest -> true, with HOIST_IMGWALK_ONCE */
};

static int is_foreign(const char *mt)
{
	return mt && (strstr(mt, "foreign") || strstr(mt, "nondistributable"));
}

static enum hoist_imgwalk_kind kind_of(const char *mt)
{
	if (hoist_image_mt_is_index(mt))
		return HOIST_IMGWALK_INDEX;
	if (hoist_image_mt_is_manifest(mt))
		return HOIST_IMGWALK_MANIFEST;
	return HOIST_IMGWALK_BLOB;
}

static int load_store(struct walker *w, const struct hoist_imgwalk_node *n,
		      json_t **doc, struct hoist_err *err)
{
	char *data = NULL;
	size_t len;
	int rc;

	if (n->size > HOIST_MANIFEST_MAX)
		return hoist_err_set(err, HOIST_ELIMIT,
				     "manifest '%s' is larger than %zu bytes",
				     n->digest, (size_t)HOIST_MANIFEST_MAX);
	rc = hoist_store_get(w->s, n->digest, HOIST_MANIFEST_MAX, &data, &len,
			     err);
	if (!rc)
		rc = hoist_json_parse(doc, data, len, n->digest, err);
	free(data);
	if (!rc && !json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "manifest '%s' is not a JSON object",
				   n->digest);
	}
	return rc;
}

/*
 * TOLERANT: fill n from desc, or return 1 when desc is a leaf nobody
 * needs to see (invalid, not sha256, or absent from the store).
 */
static int tolerant_node(struct walker *w, struct hoist_imgwalk_node *n,
			 const json_t *desc)
{
	n->digest = hoist_json_str(desc, "digest");
	n->mt = hoist_json_str(desc, "mediaType");
	if (!n->digest || hoist_digest_validate(n->digest, NULL) ||
	    !hoist_digest_is_sha256(n->digest))
		return 1;
	n->size = (uint64_t)json_integer_value(json_object_get(desc, "size"));
	n->kind = n->mt ? kind_of(n->mt) : HOIST_IMGWALK_BLOB;
	return 0;
}

/* TOLERANT, no mediaType: the blob's own one, when it is a small JSON
 * object. *doc is the parsed blob when it is one. */
static void tolerant_sniff(struct walker *w, struct hoist_imgwalk_node *n,
			   json_t **doc)
{
	char *data = NULL;
	size_t len;

	if (!hoist_store_has(w->s, n->digest) ||
	    hoist_store_get(w->s, n->digest, HOIST_MANIFEST_MAX, &data, &len,
			    NULL) ||
	    hoist_json_parse(doc, data, len, n->digest, NULL) ||
	    !json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		free(data);
		return;
	}
	free(data);
	n->mt = hoist_json_str(*doc, "mediaType");
	n->kind = n->mt ? kind_of(n->mt) : HOIST_IMGWALK_BLOB;
}

static int walk(struct walker *w, const json_t *desc,
		enum hoist_imgwalk_role role, int depth, struct hoist_err *err);

static int walk_array(struct walker *w, const json_t *doc, const char *key,
		      enum hoist_imgwalk_role role, int depth,
		      struct hoist_err *err)
{
	json_t *arr = json_object_get(doc, key), *v;
	size_t i;
	int rc;

	json_array_foreach(arr, i, v)
	{
		rc = walk(w, v, role, depth, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int walk_children(struct walker *w, const struct hoist_imgwalk_node *n,
			 const json_t *doc, struct hoist_err *err)
{
	int tolerant = w->flags & HOIST_IMGWALK_TOLERANT;
	int rc;

	if (n->kind == HOIST_IMGWALK_INDEX) {
		if (!tolerant &&
		    !json_is_array(json_object_get(doc, "manifests")))
			return hoist_err_set(err, HOIST_EINVAL,
					     "index '%s' has no manifests",
					     n->digest);
		return walk_array(w, doc, "manifests", HOIST_IMGWALK_ENTRY,
				  n->depth + 1, err);
	}
	if (!tolerant && (!json_is_object(json_object_get(doc, "config")) ||
			  !json_is_array(json_object_get(doc, "layers"))))
		return hoist_err_set(err, HOIST_EINVAL,
				     "manifest '%s' has no config or layers",
				     n->digest);
	if (json_object_get(doc, "config")) {
		rc = walk(w, json_object_get(doc, "config"),
			  HOIST_IMGWALK_CONFIG, n->depth + 1, err);
		if (rc)
			return rc;
	}
	rc = walk_array(w, doc, "layers", HOIST_IMGWALK_LAYER, n->depth + 1,
			err);
	if (rc || !(w->flags & HOIST_IMGWALK_SUBJECT) ||
	    !json_object_get(doc, "subject"))
		return rc;
	return walk(w, json_object_get(doc, "subject"),
		    HOIST_IMGWALK_SUBJECT_OF, n->depth + 1, err);
}

static int walk(struct walker *w, const json_t *desc,
		enum hoist_imgwalk_role role, int depth, struct hoist_err *err)
{
	struct hoist_imgwalk_node n;
	json_t *doc = NULL;
	int tolerant = w->flags & HOIST_IMGWALK_TOLERANT;
	int rc;

	memset(&n, 0, sizeof(n));
	n.desc = desc;
	n.role = role;
	n.depth = depth;
	if (tolerant) {
		if (tolerant_node(w, &n, desc))
			return 0;
	} else {
		rc = hoist_image_desc_get(desc, &n.mt, &n.digest, &n.size, err);
		if (rc)
			return rc;
		n.kind = kind_of(n.mt);
	}
	n.foreign = is_foreign(n.mt);
	if (w->flags & HOIST_IMGWALK_ONCE) {
		if (json_object_get(w->seen, n.digest))
			return 0;
		if (json_object_size(w->seen) >= HOIST_IMGWALK_MAX_BLOBS)
			return hoist_err_set(err, HOIST_ELIMIT,
					     "image reaches more than %d blobs",
					     HOIST_IMGWALK_MAX_BLOBS);
		json_object_set_new(w->seen, n.digest, json_true());
	}
	if (tolerant && !n.mt)
		tolerant_sniff(w, &n, &doc);
	if (n.kind != HOIST_IMGWALK_BLOB && depth > HOIST_IMGWALK_MAX_DEPTH) {
		json_decref(doc);
		return hoist_err_set(err, HOIST_ELIMIT,
				     "indexes nested too deeply");
	}
	rc = w->ops && w->ops->pre ? w->ops->pre(w->ctx, &n, err) : 0;
	if (rc || n.kind == HOIST_IMGWALK_BLOB) {
		json_decref(doc);
		return rc < 0 ? rc : 0;
	}
	if (!doc) {
		if (tolerant && !hoist_store_has(w->s, n.digest))
			return 0;
		if (w->ops && w->ops->load)
			rc = w->ops->load(w->ctx, &n, &doc, err);
		else
			rc = load_store(w, &n, &doc, err);
		if (rc)
			return rc;
	}
	rc = walk_children(w, &n, doc, err);
	n.doc = doc;
	if (!rc && w->ops && w->ops->post)
		rc = w->ops->post(w->ctx, &n, err);
	json_decref(doc);
	return rc;
}

int hoist_imgwalk(struct hoist_store *s, const json_t *root, unsigned flags,
		  const struct hoist_imgwalk_ops *ops, void *ctx,
		  struct hoist_err *err)
{
	struct walker w = {s, flags, ops, ctx, NULL};
	int rc;

	if (flags & HOIST_IMGWALK_ONCE)
		w.seen = json_object();
	rc = walk(&w, root, HOIST_IMGWALK_ROOT, 0, err);
	json_decref(w.seen);
	return rc;
}

/* ---- the image manifests under a root ---- */

struct mlist {
	struct hoist_store *s;
	struct hoist_img_manifest *v;
	size_t n, cap;
};

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

static int manifests_pre(void *ctx, const struct hoist_imgwalk_node *n,
			 struct hoist_err *err)
{
	const char *os;

	(void)ctx;
	if (n->role == HOIST_IMGWALK_CONFIG || n->role == HOIST_IMGWALK_LAYER)
		return HOIST_IMGWALK_PRUNE;
	if (n->kind == HOIST_IMGWALK_BLOB)
		return hoist_err_set(err, HOIST_EUNSUPPORTED,
				     "'%s' has unsupported media type '%s'",
				     n->digest, n->mt);
	/* attestation manifests say unknown/unknown */
	os = hoist_json_str(json_object_get(n->desc, "platform"), "os");
	if (n->role == HOIST_IMGWALK_ENTRY && os && strcmp(os, "unknown") == 0)
		return HOIST_IMGWALK_PRUNE;
	return 0;
}

static int manifests_post(void *ctx, const struct hoist_imgwalk_node *n,
			  struct hoist_err *err)
{
	struct mlist *l = ctx;
	struct hoist_img_manifest m;
	const char *cfg;
	const json_t *pl;
	int rc;

	if (n->kind != HOIST_IMGWALK_MANIFEST)
		return 0;
	memset(&m, 0, sizeof(m));
	rc = hoist_image_desc_get(json_object_get(n->doc, "config"), NULL, &cfg,
				  NULL, err);
	if (!rc)
		rc = load_json(&m.config, l->s, cfg, HOIST_CONFIG_MAX, err);
	if (rc)
		return rc;
	pl = json_object_get(n->desc, "platform");
	hoist_image_platform_from_json(&m.platform, pl ? pl : m.config);
	m.desc = json_incref((json_t *)n->desc);
	m.manifest = json_incref((json_t *)n->doc);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = hoist_xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = m;
	return 0;
}

int hoist_imgwalk_manifests(struct hoist_img_manifest **out, size_t *n,
			    struct hoist_store *s, const json_t *root,
			    struct hoist_err *err)
{
	static const struct hoist_imgwalk_ops ops = {manifests_pre, NULL,
						     manifests_post};
	struct mlist l = {s, NULL, 0, 0};
	int rc = hoist_imgwalk(s, root, 0, &ops, &l, err);

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

/* ---- every blob under a root ---- */

struct blist {
	json_t **v;
	size_t n, cap;
};

static int blobs_pre(void *ctx, const struct hoist_imgwalk_node *n,
		     struct hoist_err *err)
{
	struct blist *l = ctx;

	(void)err;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = hoist_xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = hoist_image_desc(n->mt, n->digest, n->size);
	return 0;
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
	static const struct hoist_imgwalk_ops ops = {blobs_pre, NULL, NULL};
	struct blist l = {NULL, 0, 0};
	int rc = hoist_imgwalk(s, root, HOIST_IMGWALK_ONCE, &ops, &l, err);
	size_t i;

	if (!rc) {
		qsort(l.v, l.n, sizeof(*l.v), cmp_digest);
		*out = json_array();
		for (i = 0; i < l.n; i++)
			json_array_append(*out, l.v[i]);
	}
	for (i = 0; i < l.n; i++)
		json_decref(l.v[i]);
	free(l.v);
	return rc;
}
