/*
 * export.c: checking --output specs into export plans, and running the
 * image-store exporters (image, registry, cacheonly). The layout
 * exporters live in export-oci.c, the file-system ones in export-fs.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/export.h"
#include "lib/image.h"
#include "lib/ref.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

static const struct {
	const char *name;
	enum hoist_export_type type;
} export_types[] = {
	{"image", HOIST_EXPORT_IMAGE},
	{"registry", HOIST_EXPORT_IMAGE},
	{"oci", HOIST_EXPORT_OCI},
	{"docker", HOIST_EXPORT_DOCKER},
	{"local", HOIST_EXPORT_LOCAL},
	{"tar", HOIST_EXPORT_TAR},
	{"cacheonly", HOIST_EXPORT_CACHEONLY},
};

/* Options each family knows; anything else is warned about and ignored. */
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
static const char *const layout_keys[] = {"name",
					  "tar",
					  "compression",
					  "compression-level",
					  "force-compression",
					  "oci-mediatypes",
					  "oci-artifact",
					  "rewrite-timestamp",
					  "source-date-epoch",
					  "attestation-inline",
					  "prefer-nondist-layers",
					  "context",
					  "prefer-image-digest",
					  "buildinfo",
					  "buildinfo-attrs",
					  NULL};
static const char *const fs_keys[] = {"platform-split", "mode",
				      "attestation-prefix", "source-date-epoch",
				      NULL};

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

/* dest checks that need no writing: a file dest needs an existing dir. */
static int check_file_dest(const char *dest, struct hoist_err *err)
{
	struct stat st;
	char *dir;
	const char *slash;
	int rc = 0;

	if (strcmp(dest, "-") == 0) {
		if (isatty(STDOUT_FILENO))
			return hoist_err_set(err, HOIST_EINVAL,
					     "refusing to write a tarball to "
					     "the terminal: give dest=FILE or "
					     "redirect standard output");
		return 0;
	}
	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
		return hoist_err_set(err, HOIST_EEXIST,
				     "destination '%s' is a directory", dest);
	slash = strrchr(dest, '/');
	dir = slash ? hoist_xstrndup(dest, (size_t)(slash - dest))
		    : hoist_xstrdup(".");
	if (!*dir) {
		free(dir);
		dir = hoist_xstrdup("/");
	}
	if (stat(dir, &st) < 0)
		rc = hoist_err_sys(err, errno,
				   "destination '%s': directory '%s'", dest,
				   dir);
	else if (!S_ISDIR(st.st_mode))
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "destination '%s': '%s' is not a directory",
				   dest, dir);
	else if (access(dir, W_OK) < 0)
		rc = hoist_err_sys(err, errno,
				   "destination '%s': directory '%s'", dest,
				   dir);
	free(dir);
	return rc;
}

static int check_dir_dest(const char *dest, struct hoist_err *err)
{
	struct stat st;

	if (stat(dest, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return hoist_err_set(err, HOIST_EEXIST,
					     "destination directory '%s' is a "
					     "file",
					     dest);
		if (access(dest, W_OK) < 0)
			return hoist_err_sys(err, errno, "destination '%s'",
					     dest);
		return 0;
	}
	return check_file_dest(dest, err);
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
	if (!oci && p->spec.compression == HOIST_COMP_ZSTD)
		hoist_log(
			HOIST_LOG_WARN,
			"compression=zstd with oci-mediatypes=false gives the "
			"non-standard media type %s that podman rejects",
			HOIST_MT_DOCKER_LAYER_ZSTD);
	/* parse the remaining booleans for their errors */
	static const char *const strict[] = {
		"oci-artifact", "rewrite-timestamp", "attestation-inline",
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
	const char *const *known = NULL;
	const char *v;
	size_t i;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->platform_split = -1;
	p->epoch = epoch;
	p->created = epoch >= 0 ? epoch : (int64_t)time(NULL);
	for (i = 0; i < HOIST_ARRAY_SIZE(export_types); i++)
		if (strcmp(o->type, export_types[i].name) == 0)
			break;
	if (i == HOIST_ARRAY_SIZE(export_types))
		return hoist_err_set(err, HOIST_EINVAL,
				     "unknown output type '%s': want image, "
				     "registry, oci, docker, local, tar or "
				     "cacheonly",
				     o->type);
	p->type = export_types[i].type;
	p->type_name = export_types[i].name;
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

	switch (p->type) {
	case HOIST_EXPORT_CACHEONLY:
		if (o->nattrs || o->dest) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "output type 'cacheonly' takes no "
					   "options");
			goto fail;
		}
		p->spec.compression = HOIST_COMP_GZIP;
		p->spec.level = HOIST_COMP_LEVEL_DEFAULT;
		p->spec.oci = 1;
		return 0;
	case HOIST_EXPORT_IMAGE:
		known = image_keys;
		rc = hoist_output_bool(&p->push, o, "push", 1, 0, err);
		if (rc)
			goto fail;
		if (strcmp(o->type, "registry") == 0)
			p->push = 1;
		rc = hoist_output_bool(&p->push_by_digest, o, "push-by-digest",
				       1, 0, err);
		if (!rc)
			rc = hoist_output_bool(&p->name_canonical, o,
					       "name-canonical", 1, 0, err);
		if (!rc)
			rc = hoist_output_bool(&p->dangling_empty_only, o,
					       "danging-name-empty-only", 1, 0,
					       err);
		if (rc)
			goto fail;
		v = hoist_output_get(o, "dangling-name-prefix");
		if (v && *v) {
			/* checked now so a bad prefix fails before the build */
			char *probe = hoist_xasprintf("%s@sha256:%064d", v, 0);
			struct hoist_ref r;
			rc = hoist_ref_parse(&r, probe, HOIST_REF_NORMALIZE,
					     err);
			free(probe);
			if (rc) {
				hoist_err_prefix(err, "dangling-name-prefix");
				goto fail;
			}
			hoist_ref_release(&r);
			p->dangling_prefix = hoist_xstrdup(v);
		}
		break;
	case HOIST_EXPORT_OCI:
	case HOIST_EXPORT_DOCKER:
		known = layout_keys;
		/* buildx: an invalid or missing tar= means true */
		v = hoist_output_get(o, "tar");
		p->tar = 1;
		if (v && hoist_scan_bool(&p->tar, v, "tar", NULL) != 0)
			p->tar = 1;
		if (!p->dest) {
			if (p->type == HOIST_EXPORT_DOCKER) {
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"output type 'docker' needs dest=FILE: "
					"hoist does not load into a Docker "
					"daemon (use docker load -i FILE)");
				goto fail;
			}
			p->dest = hoist_xstrdup("-");
		}
		if (!p->tar && strcmp(p->dest, "-") == 0) {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "output type '%s' with tar=false "
					   "needs dest=DIRECTORY",
					   p->type_name);
			goto fail;
		}
		rc = p->tar ? check_file_dest(p->dest, err)
			    : check_dir_dest(p->dest, err);
		if (rc)
			goto fail;
		break;
	case HOIST_EXPORT_LOCAL:
	case HOIST_EXPORT_TAR:
		known = fs_keys;
		v = hoist_output_get(o, "platform-split");
		if (v) {
			rc = hoist_output_bool(&p->platform_split, o,
					       "platform-split", 0, 0, err);
			if (rc)
				goto fail;
		}
		v = hoist_output_get(o, "mode");
		if (v) {
			char m[16] = "";
			size_t n = 0;
			while (*v == ' ' || *v == '\t')
				v++;
			for (; *v && n + 1 < sizeof(m); v++)
				m[n++] = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32
								       : *v);
			while (n && (m[n - 1] == ' ' || m[n - 1] == '\t'))
				n--;
			m[n] = '\0';
			if (strcmp(m, "delete") == 0)
				p->mode_delete = 1;
			else if (strcmp(m, "copy") != 0) {
				rc = hoist_err_set(
					err, HOIST_EINVAL,
					"invalid mode '%s' for "
					"output type '%s': want copy "
					"or delete",
					hoist_output_get(o, "mode"),
					p->type_name);
				goto fail;
			}
		}
		if (p->type == HOIST_EXPORT_LOCAL) {
			if (!p->dest || !*p->dest) {
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "dest is required for local "
						   "exporter");
				goto fail;
			}
			if (strcmp(p->dest, "-") == 0) {
				rc = hoist_err_set(err, HOIST_EINVAL,
						   "dest cannot be stdout for "
						   "local exporter");
				goto fail;
			}
			rc = check_dir_dest(p->dest, err);
		} else {
			if (!p->dest || !*p->dest) {
				free(p->dest);
				p->dest = hoist_xstrdup("-");
			}
			rc = check_file_dest(p->dest, err);
		}
		if (rc)
			goto fail;
		/* the internal image of a filesystem export: raw tar layers */
		p->spec.compression = HOIST_COMP_NONE;
		p->spec.level = HOIST_COMP_LEVEL_DEFAULT;
		p->spec.oci = 1;
		break;
	default:
		break;
	}

	for (i = 0; i < o->nattrs; i++)
		if (!key_known(known, o->attrs[i].key))
			hoist_log(HOIST_LOG_WARN,
				  "output type '%s': unknown option '%s' "
				  "ignored",
				  p->type_name, o->attrs[i].key);

	if (p->type == HOIST_EXPORT_LOCAL || p->type == HOIST_EXPORT_TAR)
		return 0;

	rc = plan_image_opts(p, o, err);
	if (rc)
		goto fail;
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
	if (p->type == HOIST_EXPORT_IMAGE) {
		rc = hoist_output_bool(&p->reg.conn.insecure, o,
				       "registry.insecure", 1, 0, err);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	hoist_export_plan_release(p);
	return rc;
}

/* The descriptor an OCI layout's index.json and the metadata file carry. */
json_t *hoist_export_layout_desc(const json_t *root, int64_t created)
{
	json_t *d = json_deep_copy(root), *ann;
	char when[32];

	ann = json_object_get(d, "annotations");
	if (!ann) {
		ann = json_object();
		json_object_set_new(d, "annotations", ann);
	}
	hoist_image_time(created, when);
	hoist_json_set_str(ann, HOIST_ANN_CREATED, when);
	return d;
}

static int export_image(const struct hoist_export_plan *p,
			struct hoist_store *s, const json_t *root,
			struct hoist_err *err)
{
	const char *digest = hoist_json_str(root, "digest");
	int rc = 0;

	for (size_t i = 0; i < p->nnames && !rc; i++) {
		if (p->push_by_digest)
			break; /* bare repositories: pushed, not named */
		rc = hoist_store_tag(s, p->names[i], root, err);
		if (rc)
			return hoist_err_prefix(err, "name '%s'", p->names[i]);
		hoist_log(HOIST_LOG_INFO, "naming to %s", p->names[i]);
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
	for (size_t i = 0; i < p->nnames && !rc && p->push; i++) {
		struct hoist_push_stats st;
		char a[32];
		rc = hoist_push(s, root, p->names[i], p->push_by_digest,
				&p->reg, &st, err);
		if (rc)
			return rc;
		snprintf(a, sizeof(a), "%.1f MiB",
			 (double)st.bytes_sent / (1 << 20));
		hoist_log(HOIST_LOG_INFO,
			  "pushed %s@%s: %llu blobs, %llu already there, "
			  "%llu resumed, %s sent, %llu retries",
			  p->names[i], st.digest, (unsigned long long)st.blobs,
			  (unsigned long long)st.blobs_present,
			  (unsigned long long)st.blobs_resumed, a,
			  (unsigned long long)st.retries);
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
	return rc;
}

int hoist_export_run(const struct hoist_export_plan *p, struct hoist_store *s,
		     struct hoist_build *b, json_t *meta, struct hoist_err *err)
{
	json_t *root = NULL, *desc = NULL;
	struct hoist_digest cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = hoist_build_image(b, &p->spec, &root, &cfg, err);
	if (rc)
		return rc;
	if (p->attest &&
	    (p->type == HOIST_EXPORT_IMAGE || p->type == HOIST_EXPORT_OCI)) {
		/* docker, local and tar ignore attestations, as buildx */
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
		if (prov && !(md && strcmp(md, "disabled") == 0))
			json_object_set(meta, "buildx.build.provenance", prov);
		json_decref(prov);
	}
	switch (p->type) {
	case HOIST_EXPORT_CACHEONLY:
		goto out;
	case HOIST_EXPORT_LOCAL:
	case HOIST_EXPORT_TAR:
		rc = hoist_export_fs(p, s, root, err);
		goto out;
	case HOIST_EXPORT_IMAGE:
		rc = export_image(p, s, root, err);
		desc = json_incref(root);
		break;
	case HOIST_EXPORT_OCI:
	case HOIST_EXPORT_DOCKER:
		rc = hoist_export_layout(p, s, root, err);
		desc = hoist_export_layout_desc(root, p->created);
		break;
	}
	if (rc)
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
	json_decref(desc);
	json_decref(root);
	return rc;
}
