/*
 * export.c: the export plan and the dispatch. An --output spec is checked
 * into a plan (the options every image output shares are parsed here; the
 * exporter parses its own), and a plan is run through its exporter. The
 * exporters live in export-<type>.c, behind export-int.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/export-int.h"
#include "lib/image.h"
#include "lib/ref.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

static const struct hoist_exporter *const exporters[] = {
	&hoist_exporter_image,     &hoist_exporter_registry,
	&hoist_exporter_oci,       &hoist_exporter_docker,
	&hoist_exporter_local,     &hoist_exporter_tar,
	&hoist_exporter_cacheonly,
};

static int key_known(const char *const *keys, const char *k)
{
	if (strncmp(k, "annotation", 10) == 0)
		return 1; /* local and tar ignore them, as BuildKit does */
	for (; *keys; keys++)
		if (strcmp(*keys, k) == 0)
			return 1;
	return 0;
}

void hoist_export_plan_release(struct hoist_export_plan *p)
{
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	free(p->raw_names);
	free(p->dest);
	free(p->context);
	free(p->dangling_prefix);
	free(p->layout_ref);
	json_decref(p->spec.ann_manifest);
	json_decref(p->spec.ann_manifest_desc);
	json_decref(p->spec.ann_index);
	json_decref(p->spec.ann_index_desc);
	json_decref(p->spec.ann_manifest_plat);
	json_decref(p->spec.ann_manifest_desc_plat);
	memset(p, 0, sizeof(*p));
}

int hoist_export_uses_stdout(const struct hoist_export_plan *p)
{
	return p->dest && strcmp(p->dest, "-") == 0;
}

/*
 * annotation[-TYPE][[PLATFORM]].KEY, as BuildKit's
 * ^annotation(?:-([a-z-]+))?(?:\[([A-Za-z0-9_/-]+)\])?\.(\S+)$
 */
static int parse_annotation(struct hoist_image_spec *spec, const char *k,
			    const char *v, struct hoist_err *err)
{
	const char *p = k + 10, *type = "manifest", *key;
	size_t tlen = 8;
	char plat[128] = "";
	json_t **dst, **dst_plat = NULL;

	if (*p == '-') {
		type = ++p;
		while ((*p >= 'a' && *p <= 'z') || *p == '-')
			p++;
		tlen = (size_t)(p - type);
	}
	if (*p == '[') {
		const char *s = ++p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		       (*p >= '0' && *p <= '9') || *p == '_' || *p == '/' ||
		       *p == '-')
			p++;
		if (*p != ']' || p == s || (size_t)(p - s) >= sizeof(plat))
			goto bad;
		memcpy(plat, s, (size_t)(p - s));
		plat[p - s] = '\0';
		p++;
	}
	if (*p != '.' || !p[1])
		goto bad;
	key = p + 1;
	for (const char *c = key; *c; c++)
		if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
			goto bad;
	if (tlen == 8 && strncmp(type, "manifest", 8) == 0) {
		dst = &spec->ann_manifest;
		dst_plat = &spec->ann_manifest_plat;
	} else if (tlen == 19 &&
		   strncmp(type, "manifest-descriptor", 19) == 0) {
		dst = &spec->ann_manifest_desc;
		dst_plat = &spec->ann_manifest_desc_plat;
	} else if (tlen == 5 && strncmp(type, "index", 5) == 0) {
		dst = &spec->ann_index;
	} else if (tlen == 16 && strncmp(type, "index-descriptor", 16) == 0) {
		dst = &spec->ann_index_desc;
	} else {
		return hoist_err_set(err, HOIST_EINVAL,
				     "unrecognized annotation type '%.*s' in "
				     "'%s'",
				     (int)tlen, type, k);
	}
	if (plat[0] && dst_plat) {
		json_t *o;
		if (!*dst_plat)
			*dst_plat = json_object();
		o = json_object_get(*dst_plat, plat);
		if (!o) {
			o = json_object();
			json_object_set_new(*dst_plat, plat, o);
		}
		hoist_json_set_str(o, key, v);
		return 0;
	}
	/* a platform on index annotations is ignored, as BuildKit does */
	if (!*dst)
		*dst = json_object();
	hoist_json_set_str(*dst, key, v);
	return 0;
bad:
	return hoist_err_set(err, HOIST_EINVAL, "invalid annotation key '%s'",
			     k);
}

static int add_name(struct hoist_export_plan *p, const char *raw,
		    struct hoist_err *err)
{
	struct hoist_ref ref;
	int rc;

	/* push-by-digest names are bare repositories: no ":latest" */
	rc = hoist_ref_parse(
		&ref, raw,
		HOIST_REF_NORMALIZE |
			(p->push_by_digest ? 0 : HOIST_REF_DEFAULT_TAG),
		err);
	if (rc)
		return rc;
	if (p->push_by_digest && ref.tag) {
		char *s = hoist_ref_string(&ref);
		hoist_ref_release(&ref);
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "can't push tagged ref %s by digest", s);
		free(s);
		return rc;
	}
	p->names =
		hoist_xreallocarray(p->names, p->nnames + 1, sizeof(*p->names));
	p->names[p->nnames++] = hoist_ref_string(&ref);
	hoist_ref_release(&ref);
	return 0;
}

static int parse_names(struct hoist_export_plan *p, const char *list,
		       struct hoist_err *err)
{
	char *copy = hoist_xstrdup(list), *s = copy, *comma;
	int rc = 0;

	p->raw_names = hoist_xstrdup(list);
	for (;;) {
		comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		if (*s && strcmp(s, "*") != 0) {
			rc = add_name(p, s, err);
			if (rc)
				break;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	free(copy);
	return rc;
}

static int plan_image_opts(struct hoist_export_plan *p,
			   const struct hoist_output *o, struct hoist_err *err)
{
	const char *v;
	int rc, oci;

	p->spec.compression = HOIST_COMP_GZIP;
	p->spec.level = HOIST_COMP_LEVEL_DEFAULT;
	v = hoist_output_get(o, "compression");
	if (v) {
		rc = hoist_compression_parse(&p->spec.compression, v, err);
		if (rc)
			return rc;
	}
	v = hoist_output_get(o, "compression-level");
	if (v) {
		int64_t lvl;
		rc = hoist_scan_i64(&lvl, v, -1, 22, "compression-level", err);
		if (rc)
			return rc;
		rc = hoist_compression_check_level(p->spec.compression,
						   (int)lvl, err);
		if (rc)
			return hoist_err_prefix(err, "compression-level");
		p->spec.level = (int)lvl;
	}
	/* BuildKit >= v0.31: OCI media types unless oci-mediatypes=false */
	rc = hoist_output_bool(&oci, o, "oci-mediatypes", 0, 1, err);
	if (rc)
		return rc;
	p->spec.oci = oci;
	rc = hoist_output_bool(&p->spec.force_compression, o,
			       "force-compression", 1, 0, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < o->nattrs; i++) {
		if (strncmp(o->attrs[i].key, "annotation", 10) != 0)
			continue;
		rc = parse_annotation(&p->spec, o->attrs[i].key,
				      o->attrs[i].value, err);
		if (rc)
			return rc;
	}
	if (!oci && p->spec.compression == HOIST_COMP_ESTARGZ)
		return hoist_err_set(err, HOIST_EINVAL,
				     "exporter option \"compression=estargz\" "
				     "conflicts with \"oci-mediatypes=false\"");
	if (!oci && p->spec.compression == HOIST_COMP_ZSTD)
		hoist_log(
			HOIST_LOG_WARN,
			"compression=zstd with oci-mediatypes=false gives the "
			"non-standard media type %s that podman rejects",
			HOIST_MT_DOCKER_LAYER_ZSTD);
	/* timestamps as BuildKit: the epoch sets the config's times; layer
	 * file times only with rewrite-timestamp */
	rc = hoist_output_bool(&p->spec.rewrite_timestamp, o,
			       "rewrite-timestamp", 0, 0, err);
	if (rc)
		return rc;
	p->spec.has_epoch = 1;
	p->spec.epoch = p->epoch;
	if (p->spec.rewrite_timestamp && p->epoch < 0)
		hoist_log(HOIST_LOG_WARN, "rewrite-timestamp is specified, but "
					  "no source-date-epoch was found");
	/* the conflicts BuildKit >= v0.31 rejects */
	{
		int artifact = 0, unpack = 0;
		rc = hoist_output_bool(&artifact, o, "oci-artifact", 0, 0, err);
		if (!rc)
			rc = hoist_output_bool(&unpack, o, "unpack", 1, 0, err);
		if (rc)
			return rc;
		if (artifact && !oci)
			return hoist_err_set(err, HOIST_EINVAL,
					     "exporter option \"oci-artifact\" "
					     "conflicts with "
					     "\"oci-mediatypes=false\"");
		if (unpack && p->spec.rewrite_timestamp)
			return hoist_err_set(err, HOIST_EINVAL,
					     "exporter option "
					     "\"rewrite-timestamp\" conflicts "
					     "with \"unpack\"");
	}
	/* parse the remaining booleans for their errors */
	static const char *const strict[] = {"attestation-inline",
					     "prefer-nondist-layers", NULL};
	static const char *const loose[] = {"force-compression",
					    "unpack",
					    "store",
					    "name-canonical",
					    "danging-name-empty-only",
					    "registry.insecure",
					    NULL};
	int dummy;
	for (int i = 0; strict[i]; i++) {
		rc = hoist_output_bool(&dummy, o, strict[i], 0, 0, err);
		if (rc)
			return rc;
	}
	for (int i = 0; loose[i]; i++) {
		rc = hoist_output_bool(&dummy, o, loose[i], 1, 0, err);
		if (rc)
			return rc;
	}
	return 0;
}

int hoist_export_plan(struct hoist_export_plan *p, const struct hoist_output *o,
		      const char *const *tags, size_t ntags, int64_t epoch,
		      struct hoist_err *err)
{
	const struct hoist_exporter *x = NULL;
	const char *v;
	size_t i;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->platform_split = -1;
	p->epoch = epoch;
	p->created = epoch >= 0 ? epoch : (int64_t)time(NULL);
	for (i = 0; i < HOIST_ARRAY_SIZE(exporters); i++)
		if (strcmp(o->type, exporters[i]->name) == 0)
			x = exporters[i];
	if (!x)
		return hoist_err_set(err, HOIST_EINVAL,
				     "unknown output type '%s': want image, "
				     "registry, oci, docker, local, tar or "
				     "cacheonly",
				     o->type);
	p->type = x->type;
	p->type_name = x->name;
	if (o->dest)
		p->dest = hoist_xstrdup(o->dest);

	v = hoist_output_get(o, "source-date-epoch");
	if (v && *v) {
		rc = hoist_scan_i64(&p->epoch, v, 0, INT64_MAX,
				    "source-date-epoch", err);
		if (rc)
			goto fail;
		p->created = p->epoch;
	}
	rc = x->plan(p, o, err);
	if (rc)
		goto fail;
	/* local and tar ignore annotations, as BuildKit does, but say so */
	for (i = 0; !x->image && x->keys && i < o->nattrs; i++)
		if (strncmp(o->attrs[i].key, "annotation", 10) == 0) {
			hoist_log(HOIST_LOG_WARN,
				  "output type '%s': annotations are ignored "
				  "(it writes no image)",
				  p->type_name);
			break;
		}
	for (i = 0; x->keys && i < o->nattrs; i++)
		if (!key_known(x->keys, o->attrs[i].key))
			hoist_log(HOIST_LOG_WARN,
				  "output type '%s': unknown option '%s' "
				  "ignored",
				  p->type_name, o->attrs[i].key);
	if (!x->image)
		return 0;

	rc = plan_image_opts(p, o, err);
	if (rc)
		goto fail;
	for (i = 0; i < ntags; i++)
		if (!*tags[i]) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "invalid tag '': an image name is "
					   "needed");
			goto fail;
		}
	if (ntags) {
		struct hoist_buf all = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		for (i = 0; i < ntags; i++) {
			if (i)
				hoist_buf_addch(&all, ',', NULL);
			hoist_buf_adds(&all, tags[i], NULL);
		}
		rc = parse_names(p, all.data, err);
		hoist_buf_release(&all);
	} else if ((v = hoist_output_get(o, "name"))) {
		rc = parse_names(p, v, err);
	}
	if (rc)
		goto fail;
	if (p->push && !p->nnames) {
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "tag is needed when pushing to registry");
		goto fail;
	}
	return 0;
fail:
	hoist_export_plan_release(p);
	return rc;
}

static const struct hoist_exporter *exporter_of(enum hoist_export_type t)
{
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(exporters); i++)
		if (exporters[i]->type == t)
			return exporters[i];
	return &hoist_exporter_cacheonly;
}

/* A name NAME@DIGEST must carry the image's own digest. */
static int check_digests(const struct hoist_export_plan *p, const char *digest,
			 struct hoist_err *err)
{
	for (size_t i = 0; i < p->nnames; i++) {
		const char *at = strchr(p->names[i], '@');
		if (at && digest && strcmp(at + 1, digest) != 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "name '%s': the digest is not the "
					     "image's (%s)",
					     p->names[i], digest);
	}
	return 0;
}

int hoist_export_write(const struct hoist_export_plan *p, struct hoist_store *s,
		       const json_t *root, struct hoist_err *err)
{
	json_t *desc = NULL;
	int rc = hoist_export_guard(p, hoist_store_root(s), NULL, 0, err);

	if (!rc)
		rc = exporter_of(p->type)->write(p, s, root, &desc, err);
	json_decref(desc);
	return rc;
}

/*
 * Open the export's progress step, named as BuildKit names it, with the
 * statuses of what hoist_build_image made. 1 if a step was opened.
 */
/* One finished status line. */
static void status_done(const char *what, const char *digest)
{
	hoist_status_begin("%s%s%s", what, digest ? " " : "",
			   digest ? digest : "");
	hoist_status_end();
}

/* The JSON blob digest of the store, or NULL. */
static json_t *stored_json(struct hoist_store *s, const char *digest)
{
	json_t *j = NULL;
	char *data = NULL;
	size_t len;

	if (digest &&
	    !hoist_store_get(s, digest, HOIST_MANIFEST_MAX, &data, &len, NULL))
		hoist_json_parse(&j, data, len, "manifest", NULL);
	free(data);
	return j;
}

/*
 * BuildKit's statuses for an index: each platform's manifest and config,
 * then each attestation manifest, then the list.
 */
static void index_statuses(struct hoist_store *s, const json_t *root)
{
	const char *d = hoist_json_str(root, "digest");
	json_t *ix = stored_json(s, d), *m;
	size_t i;

	json_array_foreach(json_object_get(ix, "manifests"), i, m)
	{
		const char *md = hoist_json_str(m, "digest");
		json_t *mf;
		if (hoist_json_str(json_object_get(m, "annotations"),
				   HOIST_ANN_REF_TYPE)) {
			status_done("exporting attestation manifest", md);
			continue;
		}
		status_done("exporting manifest", md);
		mf = stored_json(s, md);
		if (hoist_json_str(json_object_get(mf, "config"), "digest"))
			status_done(
				"exporting config",
				hoist_json_str(json_object_get(mf, "config"),
					       "digest"));
		json_decref(mf);
	}
	json_decref(ix);
	status_done("exporting manifest list", d);
}

static int export_step(const struct hoist_export_plan *p, struct hoist_store *s,
		       const json_t *root, const struct hoist_digest *cfg)
{
	static const char *const names[] = {
		[HOIST_EXPORT_IMAGE] = "exporting to image",
		[HOIST_EXPORT_OCI] = "exporting to oci image format",
		[HOIST_EXPORT_DOCKER] = "exporting to docker image format",
		[HOIST_EXPORT_LOCAL] = "exporting to client directory",
		[HOIST_EXPORT_TAR] = "exporting to client tarball",
	};
	const char *mt = hoist_json_str(root, "mediaType");

	if (p->type == HOIST_EXPORT_CACHEONLY)
		return 0;
	hoist_step_begin("%s", names[p->type]);
	status_done("exporting layers", NULL);
	if (!root) {
		/* attestations to come: index_statuses then */
	} else if (mt && hoist_image_mt_is_index(mt)) {
		index_statuses(s, root);
	} else {
		status_done("exporting manifest",
			    hoist_json_str(root, "digest"));
		if (cfg->str[0])
			status_done("exporting config", cfg->str);
	}
	return 1;
}

int hoist_export_run(const struct hoist_export_plan *p, struct hoist_store *s,
		     struct hoist_build *b, json_t *meta, struct hoist_err *err)
{
	json_t *root = NULL, *desc = NULL;
	struct hoist_export_plan q = *p;
	struct hoist_digest cfg;
	int rc, step = 0, attach;

	memset(&cfg, 0, sizeof(cfg));
	if (p->attest &&
	    (p->type == HOIST_EXPORT_DOCKER || p->type == HOIST_EXPORT_LOCAL ||
	     p->type == HOIST_EXPORT_TAR))
		hoist_log(HOIST_LOG_WARN,
			  "output type '%s': attestations are ignored (%s)",
			  p->type_name,
			  p->type == HOIST_EXPORT_DOCKER
				  ? "the Docker image store drops them; use "
				    "type=oci or type=image to keep them"
				  : "it writes no image");
	rc = hoist_export_guard(p, hoist_store_root(s), NULL, 0, err);
	if (!rc)
		rc = hoist_export_pipe_start(&q, s, err);
	if (!rc)
		rc = hoist_build_image(b, &q.spec, &root, &cfg, err);
	if (rc)
		goto out;
	/* docker, local and tar ignore attestations, as buildx */
	attach = p->attest &&
		 (p->type == HOIST_EXPORT_IMAGE || p->type == HOIST_EXPORT_OCI);
	step = export_step(p, s, attach ? NULL : root, &cfg);
	if (attach) {
		struct hoist_attest_opts ao = *p->attest;
		const char *md = getenv("BUILDX_METADATA_PROVENANCE");
		json_t *att = NULL, *prov = NULL;

		ao.names = (const char *const *)p->names;
		ao.nnames = p->nnames;
		rc = hoist_attest_attach(s, root, &ao, &att, &prov, err);
		if (rc)
			goto out;
		json_decref(root);
		root = att;
		/* BuildKit: an index has no containerimage.config.digest,
		 * so --iidfile and -q give the index's digest */
		memset(&cfg, 0, sizeof(cfg));
		index_statuses(s, root);
		if (prov && !(md && strcmp(md, "disabled") == 0))
			json_object_update(meta, prov);
		json_decref(prov);
	}
	rc = check_digests(p, hoist_json_str(root, "digest"), err);
	if (!rc) {
		const char *st =
			p->type == HOIST_EXPORT_LOCAL ? "copying files"
			: p->type == HOIST_EXPORT_IMAGE ||
					p->type == HOIST_EXPORT_CACHEONLY
				? NULL
				: "sending tarball";
		hoist_export_pipe_root(&q, root);
		if (st)
			hoist_status_begin("%s", st);
		rc = exporter_of(p->type)->write(&q, s, root, &desc, err);
		if (st)
			hoist_status_end();
	}
	if (rc || !desc)
		goto out;
	hoist_json_set_str(meta, "containerimage.digest",
			   hoist_json_str(root, "digest"));
	if (cfg.str[0])
		hoist_json_set_str(meta, "containerimage.config.digest",
				   cfg.str);
	else
		json_object_del(meta, "containerimage.config.digest");
	json_object_set(meta, "containerimage.descriptor", desc);
	if (p->type == HOIST_EXPORT_IMAGE) {
		if (p->raw_names)
			hoist_json_set_str(meta, "image.name", p->raw_names);
	} else if (p->nnames) {
		struct hoist_buf all = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
		for (size_t i = 0; i < p->nnames; i++) {
			if (i)
				hoist_buf_addch(&all, ',', NULL);
			hoist_buf_adds(&all, p->names[i], NULL);
		}
		hoist_json_set_str(meta, "image.name", all.data);
		hoist_buf_release(&all);
	}
out:
	rc = hoist_export_pipe_end(&q, rc, err);
	if (q.reg.feed != p->reg.feed)
		hoist_feed_free(q.reg.feed);
	if (step)
		hoist_step_end(0, rc ? hoist_err_msg(err) : NULL);
	json_decref(desc);
	json_decref(root);
	return rc;
}
