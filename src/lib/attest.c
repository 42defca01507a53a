/*
 * attest.c: in-toto statements, the SLSA v0.2 provenance predicate and
 * attestation manifests, laid out as BuildKit does (see attest.h).
 *
 * Objects are built in the Go struct field order of BuildKit's types
 * (in-toto-golang's Statement, slsa02.ProvenancePredicate, image-spec's
 * Manifest and Descriptor), so the same inputs always serialise to the
 * same bytes.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "lib/attest.h"
#include "lib/digest.h"
#include "lib/image.h"
#include "lib/ref.h"
#include "lib/sbom.h"
#include "lib/store.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

int hoist_attest_purl_add(struct hoist_buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == ':' ||
		    (keep_slash && c == '/')) {
			if (hoist_buf_addch(b, (char)c, NULL))
				return -1;
		} else if (hoist_buf_addch(b, '%', NULL) ||
			   hoist_buf_addch(b, hex[c >> 4], NULL) ||
			   hoist_buf_addch(b, hex[c & 15], NULL)) {
			return -1;
		}
	}
	return 0;
}

int hoist_attest_purl(char **out, const char *ref,
		      const struct hoist_platform *p, struct hoist_err *err)
{
	struct hoist_ref r, bare;
	struct hoist_buf b;
	char *fam = NULL, *last;
	char plat[100];
	int ret;

	*out = NULL;
	ret = hoist_ref_parse(&r, ref,
			      HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG, err);
	if (ret)
		return ret;
	bare = r;
	bare.tag = NULL;
	bare.digest = NULL;
	fam = hoist_ref_familiar(&bare);
	hoist_buf_init(&b, HOIST_BUF_UNLIMITED);
	ret = HOIST_ENOMEM;
	last = strrchr(fam, '/');
	if (hoist_buf_adds(&b, "pkg:docker/", err))
		goto out;
	if (last) {
		*last = '\0';
		if (hoist_attest_purl_add(&b, fam, 1) ||
		    hoist_buf_addch(&b, '/', err))
			goto out;
	}
	if (hoist_attest_purl_add(&b, last ? last + 1 : fam, 0) ||
	    hoist_buf_addch(&b, '@', err) ||
	    hoist_attest_purl_add(&b, r.tag ? r.tag : r.digest, 0))
		goto out;
	if (p) {
		hoist_platform_format(p, plat, sizeof(plat));
		if (hoist_buf_adds(&b, "?platform=", err) ||
		    hoist_attest_purl_add(&b, plat, 0))
			goto out;
	}
	*out = hoist_buf_detach(&b, NULL);
	ret = 0;
out:
	hoist_buf_release(&b);
	free(fam);
	hoist_ref_release(&r);
	return ret;
}

/* {"sha256": "<hex>"}, or NULL for a malformed digest */
static json_t *digest_set(const char *digest, struct hoist_err *err)
{
	struct hoist_digest d;
	json_t *o;
	char algo[8];
	size_t n;

	if (hoist_digest_parse(&d, digest, err))
		return NULL;
	n = hoist_digest_algo_len(d.str);
	if (n >= sizeof(algo))
		return NULL;
	memcpy(algo, d.str, n);
	algo[n] = '\0';
	o = json_object();
	hoist_json_set_str(o, algo, hoist_digest_hex(d.str));
	return o;
}

/* invocation parameters: max_only ones with mode=max only (*all: none
 * was left out) */
static json_t *prov_params(const struct hoist_provenance *p, int *all)
{
	json_t *params = json_object();

	*all = 1;
	hoist_json_set_str(params, "frontend", "hoist.build");
	for (size_t i = 0; i < p->nparams; i++) {
		if (p->params[i].max_only && p->mode != HOIST_PROV_MAX) {
			*all = 0;
			continue;
		}
		hoist_json_set_str(params, p->params[i].key,
				   p->params[i].value);
	}
	return params;
}

/* mode=max: the parameters in order, as hoist's build definition */
static json_t *prov_build_config(const struct hoist_provenance *p)
{
	json_t *cfg = json_object(), *steps = json_array(), *o;

	for (size_t i = 0; i < p->nparams; i++) {
		o = json_object();
		hoist_json_set_str(o, "id", p->params[i].key);
		hoist_json_set_str(o, "value", p->params[i].value);
		json_array_append_new(steps, o);
	}
	json_object_set_new(cfg, "definition", steps);
	return cfg;
}

static json_t *prov_materials(const struct hoist_provenance *p)
{
	json_t *mats = json_array(), *o;

	for (size_t i = 0; i < p->nmaterials; i++) {
		json_t *d = digest_set(p->materials[i].digest, NULL);
		if (!d)
			continue; /* callers pass validated digests */
		o = json_object();
		hoist_json_set_str(o, "uri", p->materials[i].uri);
		json_object_set_new(o, "digest", d);
		json_array_append_new(mats, o);
	}
	return mats;
}

/* hoist's own metadata member: its version */
static void prov_hoist_meta(json_t *meta, const struct hoist_provenance *p,
			    const char *key)
{
	json_t *o = json_object();
	hoist_json_set_str(o, "version", p->version ? p->version : "");
	json_object_set_new(meta, key, o);
}

/*
 * SLSA v1 as BuildKit (>= v0.29, version=v1) lays it out: buildDefinition
 * {buildType, externalParameters.request, internalParameters,
 * resolvedDependencies} and runDetails {builder, metadata with the
 * buildkit_* completeness and reproducibility members}.
 */
static json_t *provenance_v1(const struct hoist_provenance *p, json_t *params,
			     int all_params, json_t *mats)
{
	json_t *pred = json_object(), *def = json_object(), *o, *meta, *run;
	char when[32];

	hoist_json_set_str(def, "buildType", HOIST_BUILD_TYPE);
	o = json_object();
	json_object_set_new(o, "request", params);
	json_object_set_new(def, "externalParameters", o);
	o = json_object();
	if (p->mode == HOIST_PROV_MAX)
		json_object_set_new(o, "buildConfig", prov_build_config(p));
	if (p->platform)
		hoist_json_set_str(o, "builderPlatform", p->platform);
	json_object_set_new(def, "internalParameters", o);
	json_object_set_new(def, "resolvedDependencies", mats);
	json_object_set_new(pred, "buildDefinition", def);

	run = json_object();
	o = json_object();
	hoist_json_set_str(o, "id", p->builder_id ? p->builder_id : "");
	json_object_set_new(run, "builder", o);
	meta = json_object();
	hoist_image_time(p->epoch >= 0 ? p->epoch : p->started, when);
	hoist_json_set_str(meta, "startedOn", when);
	hoist_image_time(p->epoch >= 0 ? p->epoch : p->finished, when);
	hoist_json_set_str(meta, "finishedOn", when);
	o = json_object();
	json_object_set_new(o, "request", json_boolean(all_params));
	json_object_set_new(o, "resolvedDependencies", json_true());
	json_object_set_new(meta, "buildkit_completeness", o);
	json_object_set_new(meta, "buildkit_reproducible",
			    json_boolean(p->epoch >= 0));
	/* no RUN: nothing in a hoist build reaches the network */
	json_object_set_new(meta, "buildkit_hermetic", json_true());
	prov_hoist_meta(meta, p, HOIST_BUILD_TYPE "#metadata");
	json_object_set_new(run, "metadata", meta);
	json_object_set_new(pred, "runDetails", run);
	return pred;
}

json_t *hoist_attest_provenance(const struct hoist_provenance *p)
{
	json_t *pred, *o, *inv, *params, *meta, *comp;
	int64_t started = p->epoch >= 0 ? p->epoch : p->started;
	int64_t finished = p->epoch >= 0 ? p->epoch : p->finished;
	int all_params;
	char when[32];

	params = prov_params(p, &all_params);
	if (p->v1)
		return provenance_v1(p, params, all_params, prov_materials(p));
	pred = json_object();
	o = json_object();
	hoist_json_set_str(o, "id", p->builder_id ? p->builder_id : "");
	json_object_set_new(pred, "builder", o);
	hoist_json_set_str(pred, "buildType", HOIST_BUILD_TYPE);

	inv = json_object();
	json_object_set_new(inv, "configSource", json_object());
	json_object_set_new(inv, "parameters", params);
	o = json_object();
	if (p->platform)
		hoist_json_set_str(o, "platform", p->platform);
	json_object_set_new(inv, "environment", o);
	json_object_set_new(pred, "invocation", inv);
	if (p->mode == HOIST_PROV_MAX)
		json_object_set_new(pred, "buildConfig", prov_build_config(p));

	meta = json_object();
	hoist_image_time(started, when);
	hoist_json_set_str(meta, "buildStartedOn", when);
	hoist_image_time(finished, when);
	hoist_json_set_str(meta, "buildFinishedOn", when);
	comp = json_object();
	json_object_set_new(comp, "parameters", json_boolean(all_params));
	json_object_set_new(comp, "environment", json_true());
	/* every input of a hoist build is a tree or a base image */
	json_object_set_new(comp, "materials", json_true());
	json_object_set_new(meta, "completeness", comp);
	json_object_set_new(meta, "reproducible", json_boolean(p->epoch >= 0));
	prov_hoist_meta(meta, p, HOIST_BUILD_TYPE "#metadata");
	json_object_set_new(pred, "metadata", meta);
	json_object_set_new(pred, "materials", prov_materials(p));
	return pred;
}

int hoist_attest_statement(char **out, size_t *len, const char *pred_type,
			   const struct hoist_attest_subject *subjects,
			   size_t nsubjects, const json_t *predicate,
			   struct hoist_err *err)
{
	json_t *st, *subj;
	int ret;

	*out = NULL;
	st = json_object();
	hoist_json_set_str(st, "_type", HOIST_INTOTO_STATEMENT);
	hoist_json_set_str(st, "predicateType", pred_type);
	subj = json_array();
	json_object_set_new(st, "subject", subj);
	for (size_t i = 0; i < nsubjects; i++) {
		json_t *o, *d = digest_set(subjects[i].digest, err);
		if (!d) {
			ret = hoist_err_prefix(err, "subject '%s'",
					       subjects[i].name);
			goto out;
		}
		o = json_object();
		hoist_json_set_str(o, "name", subjects[i].name);
		json_object_set_new(o, "digest", d);
		json_array_append_new(subj, o);
	}
	json_object_set(st, "predicate", (json_t *)predicate);
	ret = hoist_json_dump(out, len, st, 0, err);
	if (!ret && *len > HOIST_ATTEST_MAX) {
		free(*out);
		*out = NULL;
		ret = hoist_err_set(err, HOIST_ELIMIT,
				    "attestation '%s' is larger than %u bytes",
				    pred_type, HOIST_ATTEST_MAX);
	}
out:
	json_decref(st);
	return ret;
}

int hoist_attest_manifest(char **out, size_t *len, char **config,
			  size_t *config_len, const json_t *subject,
			  const struct hoist_attest_layer *layers,
			  size_t nlayers, int artifact, struct hoist_err *err)
{
	json_t *m, *ls, *cdesc, *subj = NULL;
	const char *smt, *sdg;
	uint64_t ssize;
	char *cfg = NULL;
	size_t cfg_len = 0;
	int ret;

	*out = NULL;
	*config = NULL;
	*config_len = 0;
	ret = hoist_image_desc_get(subject, &smt, &sdg, &ssize, err);
	if (ret)
		return hoist_err_prefix(err, "attestation subject");
	ls = json_array();
	for (size_t i = 0; i < nlayers; i++) {
		json_t *d = hoist_image_desc(HOIST_MT_INTOTO, layers[i].digest,
					     layers[i].size);
		json_t *a = json_object();
		hoist_json_set_str(a, HOIST_ANN_PREDICATE_TYPE,
				   layers[i].pred_type);
		json_object_set_new(d, "annotations", a);
		json_array_append_new(ls, d);
	}
	if (artifact) {
		cdesc = hoist_image_desc(HOIST_MT_OCI_EMPTY,
					 HOIST_DIGEST_OCI_EMPTY, 2);
		hoist_json_set_str(cdesc, "data", "e30=");
		subj = hoist_image_desc(smt, sdg, ssize);
	} else {
		/* image-spec's Image for unknown/unknown, as Go marshals it */
		json_t *img = json_object(), *rootfs = json_object();
		json_t *diffs = json_array();
		char hex[HOIST_SHA256_HEXLEN + 1];

		hoist_json_set_str(img, "architecture", "unknown");
		hoist_json_set_str(img, "os", "unknown");
		json_object_set_new(img, "config", json_object());
		hoist_json_set_str(rootfs, "type", "layers");
		for (size_t i = 0; i < nlayers; i++)
			json_array_append_new(diffs,
					      json_string(layers[i].digest));
		json_object_set_new(rootfs, "diff_ids", diffs);
		json_object_set_new(img, "rootfs", rootfs);
		ret = hoist_json_dump(&cfg, &cfg_len, img, 0, err);
		json_decref(img);
		if (ret) {
			json_decref(ls);
			return ret;
		}
		hoist_sha256_hex(cfg, cfg_len, hex);
		char *dg = hoist_xasprintf("sha256:%s", hex);
		cdesc = hoist_image_desc(HOIST_MT_OCI_CONFIG, dg, cfg_len);
		free(dg);
	}
	m = json_object();
	json_object_set_new(m, "schemaVersion", json_integer(2));
	hoist_json_set_str(m, "mediaType", HOIST_MT_OCI_MANIFEST);
	if (artifact)
		hoist_json_set_str(m, "artifactType", HOIST_MT_ATTEST_ARTIFACT);
	json_object_set_new(m, "config", cdesc);
	json_object_set_new(m, "layers", ls);
	if (subj)
		json_object_set_new(m, "subject", subj);
	ret = hoist_json_dump(out, len, m, 1, err);
	json_decref(m);
	if (ret) {
		free(cfg);
		return ret;
	}
	*config = cfg;
	*config_len = cfg_len;
	return 0;
}

json_t *hoist_attest_index_desc(const char *digest, uint64_t size,
				const char *image_digest, int artifact)
{
	struct hoist_platform unknown = {"unknown", "unknown", ""};
	json_t *d = hoist_image_desc(HOIST_MT_OCI_MANIFEST, digest, size);
	json_t *a = json_object();

	/* Go marshals map keys sorted: digest before type */
	hoist_json_set_str(a, HOIST_ANN_REF_DIGEST, image_digest);
	hoist_json_set_str(a, HOIST_ANN_REF_TYPE, HOIST_REF_TYPE_ATTEST);
	json_object_set_new(d, "annotations", a);
	hoist_image_desc_set_platform(d, &unknown);
	if (artifact)
		hoist_json_set_str(d, "artifactType", HOIST_MT_ATTEST_ARTIFACT);
	return d;
}

/* Store data; *desc (may be NULL) gets a new descriptor of media type mt. */
static int put_blob(struct hoist_store *s, const char *data, size_t len,
		    const char *mt, json_t **desc, struct hoist_err *err)
{
	struct hoist_digest d;
	int ret = hoist_store_put(s, data, len, &d, err);

	if (!ret && desc)
		*desc = hoist_image_desc(mt, d.str, len);
	return ret;
}

/* One statement for subjects, stored and listed in layers[*n]. */
static int put_statement(struct hoist_store *s, const char *pred_type,
			 const struct hoist_attest_subject *subj, size_t nsubj,
			 const json_t *pred, struct hoist_attest_layer *l,
			 char *digest_buf, struct hoist_err *err)
{
	struct hoist_digest d;
	char *st;
	size_t len;
	int ret;

	ret = hoist_attest_statement(&st, &len, pred_type, subj, nsubj, pred,
				     err);
	if (ret)
		return ret;
	ret = hoist_store_put(s, st, len, &d, err);
	free(st);
	if (ret)
		return ret;
	memcpy(digest_buf, d.str, sizeof(d.str));
	l->digest = digest_buf;
	l->size = len;
	l->pred_type = pred_type;
	return 0;
}

/* 1 if layer directory i goes into platform p */
static int dir_applies(const struct hoist_attest_opts *o, size_t i,
		       const struct hoist_platform *p)
{
	return !o->dir_platforms || !o->dir_platforms[i] ||
	       hoist_platform_equal(o->dir_platforms[i], p);
}

/*
 * The image's diff_ids (from its config): the last ones are the layer
 * directories of p, in order, so each tree gets its digest. *uris holds
 * "file:DIR" strings the materials borrow (free each and the array).
 */
static size_t tree_materials(struct hoist_store *s, const json_t *mdesc,
			     const struct hoist_attest_opts *o,
			     const struct hoist_platform *p,
			     struct hoist_attest_material *out, char **uris)
{
	json_t *m = NULL, *cfg = NULL;
	const json_t *diffs;
	char *data = NULL;
	size_t len, k = 0, n = 0, nd;

	for (size_t i = 0; i < o->ndirs; i++)
		k += dir_applies(o, i, p);
	if (!k ||
	    hoist_store_get(s, hoist_json_str(mdesc, "digest"),
			    HOIST_MANIFEST_MAX, &data, &len, NULL) ||
	    hoist_json_parse(&m, data, len, "manifest", NULL))
		goto out;
	free(data);
	data = NULL;
	if (hoist_store_get(
		    s, hoist_json_str(json_object_get(m, "config"), "digest"),
		    HOIST_CONFIG_MAX, &data, &len, NULL) ||
	    hoist_json_parse(&cfg, data, len, "config", NULL))
		goto out;
	diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	nd = json_array_size(diffs);
	if (nd < k)
		goto out;
	for (size_t i = 0, j = nd - k; i < o->ndirs; i++) {
		const char *d;
		if (!dir_applies(o, i, p))
			continue;
		d = json_string_value(json_array_get(diffs, j++));
		if (!d || hoist_digest_validate(d, NULL))
			continue;
		uris[n] = hoist_xasprintf("file:%s", o->dirs[i]);
		out[n].uri = uris[n];
		out[n].digest = hoist_xstrdup(d);
		n++;
	}
out:
	json_decref(m);
	json_decref(cfg);
	free(data);
	return n;
}

static json_t *platform_provenance(struct hoist_store *s, const json_t *mdesc,
				   const struct hoist_attest_opts *o,
				   const struct hoist_platform *p)
{
	struct hoist_attest_material *mats;
	struct hoist_provenance prov = o->prov;
	char plat[100], **uris;
	json_t *pred;
	size_t n = 0, nt;

	mats = hoist_xcalloc(o->prov.nmaterials + o->ndirs + 1, sizeof(*mats));
	uris = hoist_xcalloc(o->ndirs + 1, sizeof(*uris));
	for (size_t i = 0; i < o->prov.nmaterials; i++)
		if (!o->prov.materials[i].platform ||
		    hoist_platform_equal(o->prov.materials[i].platform, p))
			mats[n++] = o->prov.materials[i];
	nt = tree_materials(s, mdesc, o, p, mats + n, uris);
	n += nt;
	prov.materials = mats;
	prov.nmaterials = n;
	hoist_platform_format(p, plat, sizeof(plat));
	prov.platform = plat;
	pred = hoist_attest_provenance(&prov);
	for (size_t i = 0; i < nt; i++) {
		free(uris[i]);
		free((char *)mats[n - nt + i].digest);
	}
	free(uris);
	free(mats);
	return pred;
}

/* The SBOM of the image's final rootfs: base, Dockerfile and tree layers */
static json_t *platform_sbom(struct hoist_store *s, const char *mdigest,
			     const struct hoist_attest_opts *o,
			     struct hoist_err *err)
{
	struct hoist_sbom sb;
	json_t *doc = NULL;

	hoist_sbom_init(&sb);
	if (hoist_sbom_scan_image(&sb, s, mdigest, err) == 0)
		doc = hoist_sbom_spdx(&sb, o->nnames ? o->names[0] : "rootfs",
				      o->created, o->prov.version);
	hoist_sbom_release(&sb);
	return doc;
}

/* The attestation manifest of one platform manifest; *adesc is its entry. */
static int attest_one(struct hoist_store *s, const json_t *mdesc,
		      const struct hoist_attest_opts *o, json_t **adesc,
		      json_t **pred_out, struct hoist_err *err)
{
	struct hoist_attest_subject *subj;
	struct hoist_attest_layer layers[2];
	char digests[2][HOIST_DIGEST_MAX];
	struct hoist_platform p;
	const char *mdigest = hoist_json_str(mdesc, "digest");
	char *m = NULL, *cfg = NULL;
	size_t mlen, cfglen, nl = 0;
	json_t *pred = NULL, *doc = NULL, *md = NULL;
	int ret = 0;

	*adesc = NULL;
	hoist_image_platform_from_json(&p, json_object_get(mdesc, "platform"));
	subj = hoist_xcalloc(o->nnames + 1, sizeof(*subj));
	for (size_t i = 0; i < o->nnames && !ret; i++) {
		ret = hoist_attest_purl((char **)&subj[i].name, o->names[i], &p,
					err);
		subj[i].digest = mdigest;
	}
	if (ret)
		goto out;
	if (o->provenance) {
		pred = platform_provenance(s, mdesc, o, &p);
		ret = put_statement(
			s, o->prov.v1 ? HOIST_PRED_SLSA1 : HOIST_PRED_SLSA02,
			subj, o->nnames, pred, &layers[nl], digests[nl], err);
		if (ret)
			goto out;
		nl++;
	}
	if (o->sbom) {
		doc = platform_sbom(s, mdigest, o, err);
		if (!doc) {
			ret = hoist_err_prefix(err, "sbom");
			goto out;
		}
		ret = put_statement(s, HOIST_PRED_SPDX, subj, o->nnames, doc,
				    &layers[nl], digests[nl], err);
		if (ret)
			goto out;
		nl++;
	}
	ret = hoist_attest_manifest(&m, &mlen, &cfg, &cfglen, mdesc, layers, nl,
				    o->artifact, err);
	if (ret)
		goto out;
	ret = cfg ? put_blob(s, cfg, cfglen, NULL, NULL, err)
		  : put_blob(s, "{}", 2, NULL, NULL, err);
	if (!ret)
		ret = put_blob(s, m, mlen, HOIST_MT_OCI_MANIFEST, &md, err);
	if (ret)
		goto out;
	*adesc = hoist_attest_index_desc(hoist_json_str(md, "digest"), mlen,
					 mdigest, o->artifact);
	if (pred_out && pred)
		*pred_out = json_incref(pred);
out:
	for (size_t i = 0; i < o->nnames; i++)
		free((char *)subj[i].name);
	free(subj);
	json_decref(md);
	json_decref(pred);
	json_decref(doc);
	free(m);
	free(cfg);
	return ret;
}

int hoist_attest_attach(struct hoist_store *s, const json_t *root,
			const struct hoist_attest_opts *o, json_t **out,
			json_t **prov_meta, struct hoist_err *err)
{
	const char *mt = hoist_json_str(root, "mediaType");
	json_t *index = NULL, *manifests, *atts, *ann = NULL;
	char *data = NULL, *ix = NULL;
	size_t len, ixlen;
	int ret = 0;

	*out = NULL;
	if (prov_meta)
		*prov_meta = NULL;
	if (!mt || (strcmp(mt, HOIST_MT_OCI_INDEX) != 0 &&
		    strcmp(mt, HOIST_MT_OCI_MANIFEST) != 0))
		return hoist_err_set(err, HOIST_EINVAL,
				     "cannot export attestations with "
				     "\"oci-mediatypes=false\"");
	manifests = json_array();
	atts = json_array();
	if (strcmp(mt, HOIST_MT_OCI_INDEX) == 0) {
		const json_t *e;
		size_t i;

		ret = hoist_store_get(s, hoist_json_str(root, "digest"),
				      HOIST_MANIFEST_MAX, &data, &len, err);
		if (!ret)
			ret = hoist_json_parse(&index, data, len, "index", err);
		if (ret)
			goto out;
		ann = json_object_get(index, "annotations");
		json_array_foreach(json_object_get(index, "manifests"), i, e)
		{
			/* attestations of an earlier attach are replaced */
			if (hoist_json_str(json_object_get(e, "annotations"),
					   HOIST_ANN_REF_TYPE))
				continue;
			json_array_append(manifests, (json_t *)e);
		}
	} else {
		json_array_append(manifests, (json_t *)root);
	}
	if (prov_meta && o->provenance)
		*prov_meta = json_object();
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		json_t *ad = NULL, *pred = NULL,
		       *m = json_array_get(manifests, i);

		ret = attest_one(s, m, o, &ad, prov_meta ? &pred : NULL, err);
		if (ret)
			goto out;
		json_array_append_new(atts, ad);
		if (pred && json_array_size(manifests) == 1) {
			json_object_set_new(*prov_meta, HOIST_META_PROVENANCE,
					    pred);
		} else if (pred) {
			struct hoist_platform p;
			char key[160], plat[100];
			hoist_image_platform_from_json(
				&p, json_object_get(m, "platform"));
			snprintf(key, sizeof(key), "%s/%s",
				 HOIST_META_PROVENANCE,
				 hoist_platform_format(&p, plat, sizeof(plat)));
			json_object_set_new(*prov_meta, key, pred);
		}
	}
	json_array_extend(manifests, atts);
	ret = hoist_image_index(&ix, &ixlen, manifests, ann, 1, err);
	if (!ret)
		ret = put_blob(s, ix, ixlen, HOIST_MT_OCI_INDEX, out, err);
	if (!ret && json_object_get(root, "annotations") &&
	    strcmp(mt, HOIST_MT_OCI_INDEX) == 0)
		json_object_set(*out, "annotations",
				json_object_get(root, "annotations"));
out:
	if (ret && prov_meta) {
		json_decref(*prov_meta);
		*prov_meta = NULL;
	}
	json_decref(index);
	json_decref(manifests);
	json_decref(atts);
	free(data);
	free(ix);
	return ret;
}

void hoist_attest_req_init(struct hoist_attest_req *r)
{
	memset(r, 0, sizeof(*r));
	r->provenance = -1;
	r->sbom = -1;
	r->mode = HOIST_PROV_MIN;
	r->v1 = 1; /* BuildKit's default since v0.29 */
}

void hoist_attest_req_release(struct hoist_attest_req *r)
{
	free(r->builder_id);
	hoist_attest_req_init(r);
}

static int parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") ||
	    !strcmp(v, "TRUE") || !strcmp(v, "True") || !strcmp(v, "T"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f") ||
		 !strcmp(v, "FALSE") || !strcmp(v, "False") || !strcmp(v, "F"))
		*out = 0;
	else
		return -1;
	return 0;
}

int hoist_attest_req_parse(struct hoist_attest_req *r, const char *flag,
			   const char *value, struct hoist_err *err)
{
	char *copy = hoist_xstrdup(value), *save = NULL, *f;
	int is_attest = strcmp(flag, "attest") == 0;
	int type = is_attest ? 0 : (strcmp(flag, "sbom") == 0 ? 2 : 1);
	int on = 1, b, ret = 0, mode = -1, v1 = -1;
	char *builder = NULL;

	if (!is_attest && parse_bool(value, &b) == 0) {
		free(copy);
		if (type == 1) {
			r->provenance = b;
			r->mode = HOIST_PROV_MAX;
		} else {
			r->sbom = b;
		}
		return 0;
	}
	for (f = strtok_r(copy, ",", &save); f;
	     f = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(f, '=');
		const char *v = eq ? eq + 1 : "";

		if (eq)
			*eq = '\0';
		if (!strcmp(f, "type") && is_attest) {
			if (!strcmp(v, "provenance"))
				type = 1;
			else if (!strcmp(v, "sbom"))
				type = 2;
			else {
				ret = hoist_err_set(
					err, HOIST_EINVAL,
					"invalid --%s '%s': unknown "
					"attestation type '%s'",
					flag, value, v);
				goto out;
			}
		} else if (!strcmp(f, "disabled")) {
			if (parse_bool(v, &b)) {
				ret = hoist_err_set(err, HOIST_EINVAL,
						    "invalid --%s '%s': "
						    "disabled wants a boolean",
						    flag, value);
				goto out;
			}
			on = !b;
		} else if (!strcmp(f, "mode")) {
			if (!strcmp(v, "min"))
				mode = HOIST_PROV_MIN;
			else if (!strcmp(v, "max"))
				mode = HOIST_PROV_MAX;
			else {
				ret = hoist_err_set(err, HOIST_EINVAL,
						    "invalid --%s '%s': mode "
						    "must be min or max",
						    flag, value);
				goto out;
			}
		} else if (!strcmp(f, "builder-id")) {
			free(builder);
			builder = hoist_xstrdup(v);
		} else if (!strcmp(f, "version")) {
			if (!strcmp(v, "v1"))
				v1 = 1;
			else if (!strcmp(v, "v0.2"))
				v1 = 0;
			else {
				ret = hoist_err_set(
					err, HOIST_EUNSUPPORTED,
					"--%s '%s': SLSA provenance "
					"versions are v0.2 and v1",
					flag, value);
				goto out;
			}
		}
		/* other attributes (generator=, inline-only=, filename=,
		 * scan-context=) are accepted and have no effect here */
	}
	if (!type) {
		ret = hoist_err_set(err, HOIST_EINVAL,
				    "invalid --attest '%s': type= is required",
				    value);
		goto out;
	}
	if (type == 1) {
		r->provenance = on;
		r->mode =
			mode >= 0 ? (enum hoist_prov_mode)mode : HOIST_PROV_MIN;
		if (v1 >= 0)
			r->v1 = v1;
		if (builder) {
			free(r->builder_id);
			r->builder_id = builder;
			builder = NULL;
		}
	} else {
		r->sbom = on;
	}
out:
	free(builder);
	free(copy);
	return ret;
}
