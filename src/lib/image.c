/*
 * image.c: building configs, manifests and indexes with stable bytes, and
 * reading descriptors back with validation.
 */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/image.h"
#include "lib/digest.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

#define DEFAULT_PATH                                                           \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *hoist_image_layer_mt(enum hoist_compression c, int oci)
{
	switch (c) {
	case HOIST_COMP_GZIP:
	case HOIST_COMP_ESTARGZ:
		return oci ? HOIST_MT_OCI_LAYER_GZIP
			   : HOIST_MT_DOCKER_LAYER_GZIP;
	case HOIST_COMP_ZSTD:
		return oci ? HOIST_MT_OCI_LAYER_ZSTD
			   : HOIST_MT_DOCKER_LAYER_ZSTD;
	case HOIST_COMP_NONE:
	default:
		return oci ? HOIST_MT_OCI_LAYER : HOIST_MT_DOCKER_LAYER;
	}
}

int hoist_image_mt_is_index(const char *mt)
{
	return mt && (strcmp(mt, HOIST_MT_OCI_INDEX) == 0 ||
		      strcmp(mt, HOIST_MT_DOCKER_LIST) == 0);
}

int hoist_image_mt_is_manifest(const char *mt)
{
	return mt && (strcmp(mt, HOIST_MT_OCI_MANIFEST) == 0 ||
		      strcmp(mt, HOIST_MT_DOCKER_MANIFEST) == 0);
}

int hoist_image_mt_is_layer(const char *mt)
{
	return mt &&
	       (strncmp(mt, "application/vnd.oci.image.layer.", 32) == 0 ||
		strncmp(mt, "application/vnd.docker.image.rootfs.", 36) == 0);
}

json_t *hoist_image_desc(const char *mt, const char *digest, uint64_t size)
{
	json_t *d = json_object();
	hoist_json_set_str(d, "mediaType", mt);
	hoist_json_set_str(d, "digest", digest);
	json_object_set_new(d, "size", json_integer((json_int_t)size));
	return d;
}

static json_t *platform_json(const struct hoist_platform *p)
{
	json_t *o = json_object();
	hoist_json_set_str(o, "architecture", p->arch);
	hoist_json_set_str(o, "os", p->os);
	if (p->variant[0])
		hoist_json_set_str(o, "variant", p->variant);
	return o;
}

void hoist_image_desc_set_platform(json_t *desc, const struct hoist_platform *p)
{
	json_object_set_new(desc, "platform", platform_json(p));
}

void hoist_image_platform_from_json(struct hoist_platform *p, const json_t *o)
{
	const char *os = hoist_json_str(o, "os");
	const char *arch = hoist_json_str(o, "architecture");
	const char *var = hoist_json_str(o, "variant");

	memset(p, 0, sizeof(*p));
	snprintf(p->os, sizeof(p->os), "%s", os ? os : "");
	snprintf(p->arch, sizeof(p->arch), "%s", arch ? arch : "");
	snprintf(p->variant, sizeof(p->variant), "%s", var ? var : "");
}

int hoist_image_desc_get(const json_t *desc, const char **mt,
			 const char **digest, uint64_t *size,
			 struct hoist_err *err)
{
	const char *m, *d;
	json_t *sz;
	int rc;

	if (!json_is_object(desc))
		return hoist_err_set(err, HOIST_EINVAL,
				     "descriptor is not an object");
	m = hoist_json_str(desc, "mediaType");
	d = hoist_json_str(desc, "digest");
	sz = json_object_get(desc, "size");
	if (!m)
		return hoist_err_set(err, HOIST_EINVAL,
				     "descriptor has no mediaType");
	if (!d)
		return hoist_err_set(err, HOIST_EINVAL,
				     "descriptor has no digest");
	rc = hoist_digest_validate(d, err);
	if (rc)
		return rc;
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return hoist_err_set(err, HOIST_EINVAL,
				     "descriptor '%s' has no valid size", d);
	if (mt)
		*mt = m;
	if (digest)
		*digest = d;
	if (size)
		*size = (uint64_t)json_integer_value(sz);
	return 0;
}

void hoist_image_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *str_array(const char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int env_has_path(const struct hoist_image_runconfig *rc)
{
	for (size_t i = 0; i < rc->nenv; i++)
		if (strncmp(rc->env[i], "PATH=", 5) == 0)
			return 1;
	return 0;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int sort_keys_json(json_t *o, json_t **sorted)
{
	const char **keys;
	size_t n = json_object_size(o), i = 0;
	const char *k;
	json_t *v;

	keys = hoist_xcalloc(n ? n : 1, sizeof(*keys));
	json_object_foreach(o, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_strp);
	*sorted = json_object();
	for (i = 0; i < n; i++)
		json_object_set(*sorted, keys[i], json_object_get(o, keys[i]));
	free(keys);
	return 0;
}

/* Merge a {"k": {}} set: base entries, then ours. */
static json_t *merge_set(const json_t *base, const char **v, size_t n)
{
	json_t *o = json_is_object(base) ? json_deep_copy(base) : json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, v[i], json_object());
	return o;
}

static int env_list_has_path(const json_t *env)
{
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e) if (json_is_string(e) &&
					  strncmp(json_string_value(e),
						  "PATH=", 5) == 0) return 1;
	return 0;
}

/*
 * The config's "config" object: the base image's (or nothing), with our
 * settings applied as Dockerfile instructions would: ENV replaces a key,
 * LABEL and EXPOSE and VOLUME add, ENTRYPOINT resets an inherited CMD.
 * Keys keep the image-spec struct order; unknown base keys follow.
 */
static json_t *runconfig_json(const struct hoist_image_runconfig *rc,
			      const json_t *base, struct hoist_err *err)
{
	static const char *const order[] = {
		"User",    "ExposedPorts", "Env",    "Entrypoint", "Cmd",
		"Volumes", "WorkingDir",   "Labels", "StopSignal", NULL};
	json_t *c = json_object(), *env, *v;
	const char *k;

	if (!json_is_object(base))
		base = NULL;
	if (rc->user && *rc->user)
		hoist_json_set_str(c, "User", rc->user);
	else if ((v = json_object_get(base, "User")))
		json_object_set(c, "User", v);
	if (rc->nexposed || json_object_get(base, "ExposedPorts"))
		json_object_set_new(
			c, "ExposedPorts",
			merge_set(json_object_get(base, "ExposedPorts"),
				  rc->exposed, rc->nexposed));
	env = json_array();
	if (json_is_array(json_object_get(base, "Env")))
		json_array_extend(env, json_object_get(base, "Env"));
	if (!env_has_path(rc) && !env_list_has_path(env))
		json_array_insert_new(env, 0, json_string(DEFAULT_PATH));
	for (size_t i = 0; i < rc->nenv; i++) {
		/* a later K=V replaces an earlier one, as ENV does */
		size_t klen = strcspn(rc->env[i], "=");
		size_t j;
		for (j = 0; j < json_array_size(env); j++) {
			const char *e =
				json_string_value(json_array_get(env, j));
			if (e && strncmp(e, rc->env[i], klen) == 0 &&
			    (e[klen] == '=' || e[klen] == '\0'))
				break;
		}
		if (j < json_array_size(env))
			json_array_set_new(env, j, json_string(rc->env[i]));
		else
			json_array_append_new(env, json_string(rc->env[i]));
	}
	json_object_set_new(c, "Env", env);
	if (rc->entrypoint_set)
		json_object_set_new(c, "Entrypoint",
				    str_array(rc->entrypoint, rc->nentrypoint));
	else if ((v = json_object_get(base, "Entrypoint")))
		json_object_set(c, "Entrypoint", v);
	if (rc->cmd_set)
		json_object_set_new(c, "Cmd", str_array(rc->cmd, rc->ncmd));
	else if (!rc->entrypoint_set && (v = json_object_get(base, "Cmd")))
		json_object_set(c, "Cmd", v);
	if (rc->nvolumes || json_object_get(base, "Volumes"))
		json_object_set_new(c, "Volumes",
				    merge_set(json_object_get(base, "Volumes"),
					      rc->volumes, rc->nvolumes));
	if (rc->workdir && *rc->workdir)
		hoist_json_set_str(c, "WorkingDir", rc->workdir);
	else if (json_is_string(json_object_get(base, "WorkingDir")) &&
		 *json_string_value(json_object_get(base, "WorkingDir")))
		json_object_set(c, "WorkingDir",
				json_object_get(base, "WorkingDir"));
	else
		hoist_json_set_str(c, "WorkingDir", "/");
	if (rc->nlabels || json_is_object(json_object_get(base, "Labels"))) {
		json_t *all = json_object(), *l = json_object();
		const char **keys;
		size_t n = 0;
		if (json_is_object(json_object_get(base, "Labels")))
			json_object_update(all,
					   json_object_get(base, "Labels"));
		for (size_t i = 0; i < rc->nlabels; i++) {
			const char *eq = strchr(rc->labels[i], '=');
			char *key;
			if (!eq || eq == rc->labels[i]) {
				hoist_err_set(err, HOIST_EINVAL,
					      "invalid label '%s': want "
					      "KEY=VALUE",
					      rc->labels[i]);
				json_decref(all);
				json_decref(l);
				json_decref(c);
				return NULL;
			}
			key = hoist_xstrndup(rc->labels[i],
					     (size_t)(eq - rc->labels[i]));
			json_object_set_new(all, key, json_string(eq + 1));
			free(key);
		}
		/* Go marshals maps with sorted keys */
		keys = hoist_xcalloc(json_object_size(all) + 1, sizeof(*keys));
		json_object_foreach(all, k, v) keys[n++] = k;
		qsort(keys, n, sizeof(*keys), cmp_strp);
		for (size_t i = 0; i < n; i++)
			json_object_set(l, keys[i],
					json_object_get(all, keys[i]));
		free(keys);
		json_decref(all);
		json_object_set_new(c, "Labels", l);
	}
	if (rc->stop_signal && *rc->stop_signal)
		hoist_json_set_str(c, "StopSignal", rc->stop_signal);
	else if ((v = json_object_get(base, "StopSignal")))
		json_object_set(c, "StopSignal", v);
	json_object_foreach((json_t *)base, k, v)
	{
		int known = 0;
		for (int i = 0; order[i]; i++)
			known |= strcmp(k, order[i]) == 0;
		if (!known)
			json_object_set(c, k, v);
	}
	return c;
}

int hoist_image_config(char **out, size_t *len,
		       const struct hoist_platform *platform,
		       const struct hoist_image_runconfig *rc,
		       const struct hoist_image_layer *layers, size_t nlayers,
		       int64_t created, struct hoist_err *err)
{
	return hoist_image_config_from(out, len, NULL, platform, rc, layers,
				       nlayers, created, err);
}

int hoist_image_config_from(char **out, size_t *len, const json_t *base,
			    const struct hoist_platform *platform,
			    const struct hoist_image_runconfig *rc,
			    const struct hoist_image_layer *layers,
			    size_t nlayers, int64_t created,
			    struct hoist_err *err)
{
	json_t *cfg = NULL, *sorted = NULL, *rootfs, *diffs, *hist, *runc;
	char when[32];
	int ret;

	if (!json_is_object(base))
		base = NULL;
	for (size_t i = 0; i < rc->nenv; i++)
		if (!strchr(rc->env[i], '=') || rc->env[i][0] == '=')
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid env '%s': want KEY=VALUE",
					     rc->env[i]);
	runc = runconfig_json(rc, json_object_get(base, "config"), err);
	if (!runc)
		return err ? err->code : HOIST_EINVAL;
	hoist_image_time(created, when);
	cfg = base ? json_deep_copy(base) : json_object();
	/* fields that describe the old image, not this one */
	json_object_del(cfg, "container_config");
	json_object_del(cfg, "container");
	json_object_del(cfg, "variant");
	hoist_json_set_str(cfg, "architecture", platform->arch);
	json_object_set_new(cfg, "config", runc);
	hoist_json_set_str(cfg, "created", when);
	hist = json_array();
	if (base && json_is_array(json_object_get(base, "history")))
		json_array_extend(hist, json_object_get(base, "history"));
	diffs = json_array();
	if (base && json_is_array(json_object_get(
			    json_object_get(base, "rootfs"), "diff_ids")))
		json_array_extend(
			diffs, json_object_get(json_object_get(base, "rootfs"),
					       "diff_ids"));
	for (size_t i = 0; i < nlayers; i++) {
		json_t *h = json_object();
		hoist_json_set_str(h, "created", when);
		hoist_json_set_str(h, "created_by",
				   layers[i].created_by ? layers[i].created_by
							: "hoist build");
		hoist_json_set_str(h, "comment", "hoist.build.v0");
		json_array_append_new(hist, h);
		json_array_append_new(diffs, json_string(layers[i].diff_id));
	}
	json_object_set_new(cfg, "history", hist);
	hoist_json_set_str(cfg, "os", platform->os);
	rootfs = json_object();
	hoist_json_set_str(rootfs, "type", "layers");
	json_object_set_new(rootfs, "diff_ids", diffs);
	json_object_set_new(cfg, "rootfs", rootfs);
	if (platform->variant[0])
		hoist_json_set_str(cfg, "variant", platform->variant);
	sort_keys_json(cfg, &sorted);
	ret = hoist_json_dump(out, len, sorted, 0, err);
	json_decref(sorted);
	json_decref(cfg);
	return ret;
}

int hoist_image_manifest(char **out, size_t *len, const json_t *config_desc,
			 const struct hoist_image_layer *layers, size_t nlayers,
			 const json_t *annotations, int oci,
			 struct hoist_err *err)
{
	json_t *m, *ls;
	int ret;

	if (!oci && annotations && json_object_size(annotations))
		return hoist_err_set(err, HOIST_EINVAL,
				     "cannot export annotations with "
				     "\"oci-mediatypes=false\"");
	m = json_object();
	json_object_set_new(m, "schemaVersion", json_integer(2));
	hoist_json_set_str(m, "mediaType",
			   oci ? HOIST_MT_OCI_MANIFEST
			       : HOIST_MT_DOCKER_MANIFEST);
	json_object_set(m, "config", (json_t *)config_desc);
	ls = json_array();
	for (size_t i = 0; i < nlayers; i++) {
		json_t *d = hoist_image_desc(
			layers[i].media_type
				? layers[i].media_type
				: hoist_image_layer_mt(layers[i].compression,
						       oci),
			layers[i].digest, layers[i].size);
		if (oci && layers[i].annotations &&
		    json_object_size(layers[i].annotations))
			json_object_set_new(
				d, "annotations",
				hoist_json_sorted(layers[i].annotations));
		json_array_append_new(ls, d);
	}
	json_object_set_new(m, "layers", ls);
	if (annotations && json_object_size(annotations))
		json_object_set_new(m, "annotations",
				    hoist_json_sorted(annotations));
	ret = hoist_json_dump(out, len, m, 1, err);
	json_decref(m);
	return ret;
}

int hoist_image_index(char **out, size_t *len, const json_t *descs,
		      const json_t *annotations, int oci, struct hoist_err *err)
{
	json_t *ix;
	int ret;

	if (!oci && annotations && json_object_size(annotations))
		return hoist_err_set(err, HOIST_EINVAL,
				     "cannot export annotations with "
				     "\"oci-mediatypes=false\"");
	ix = json_object();
	json_object_set_new(ix, "schemaVersion", json_integer(2));
	hoist_json_set_str(ix, "mediaType",
			   oci ? HOIST_MT_OCI_INDEX : HOIST_MT_DOCKER_LIST);
	json_object_set(ix, "manifests", (json_t *)descs);
	if (annotations && json_object_size(annotations))
		json_object_set_new(ix, "annotations",
				    hoist_json_sorted(annotations));
	ret = hoist_json_dump(out, len, ix, 1, err);
	json_decref(ix);
	return ret;
}
