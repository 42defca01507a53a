/*
 * export-fs.c: what the local and tar exporters share: their options, and
 * applying an image's layers (whiteouts included, hostile entries
 * refused, see unpack.h) into a private temporary directory first, so
 * that only a complete tree is ever published.
 *
 * Multi-platform images get one <os>_<arch>[_<variant>] directory per
 * platform. local honours platform-split; tar, like BuildKit, always
 * splits a multi-platform result.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/export-int.h"
#include "lib/unpack.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

const char *const hoist_export_fs_keys[] = {"platform-split", "mode",
					    "attestation-prefix",
					    "source-date-epoch", NULL};

int hoist_export_fs_plan(struct hoist_export_plan *p,
			 const struct hoist_output *o, struct hoist_err *err)
{
	const char *v = hoist_output_get(o, "platform-split");
	int rc;

	if (v) {
		rc = hoist_output_bool(&p->platform_split, o, "platform-split",
				       0, 0, err);
		if (rc)
			return rc;
	}
	v = hoist_output_get(o, "mode");
	if (v) {
		char m[16] = "";
		size_t n = 0;
		while (*v == ' ' || *v == '\t')
			v++;
		for (; *v && n + 1 < sizeof(m); v++)
			m[n++] = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v);
		while (n && (m[n - 1] == ' ' || m[n - 1] == '\t'))
			n--;
		m[n] = '\0';
		if (strcmp(m, "delete") == 0)
			p->mode_delete = 1;
		else if (strcmp(m, "copy") != 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid mode '%s' for output "
					     "type '%s': want copy or delete",
					     hoist_output_get(o, "mode"),
					     p->type_name);
	}
	/* the internal image of a filesystem export: raw tar layers */
	p->spec.compression = HOIST_COMP_NONE;
	p->spec.level = HOIST_COMP_LEVEL_DEFAULT;
	p->spec.oci = 1;
	return 0;
}

static int unpack_image(const struct hoist_img_manifest *m,
			struct hoist_store *s, const char *dir,
			const struct hoist_unpack_opts *uo,
			struct hoist_err *err)
{
	json_t *l;
	size_t i;

	json_array_foreach(json_object_get(m->manifest, "layers"), i, l)
	{
		const char *digest = hoist_json_str(l, "digest");
		int rc;
		if (!digest)
			return hoist_err_set(err, HOIST_EINVAL,
					     "layer %zu has no digest", i);
		rc = hoist_unpack_layer(s, digest, dir, uo, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Unpack every manifest under root, each in its platform directory. */
static int unpack_all(const struct hoist_img_manifest *ms, size_t n, int split,
		      struct hoist_store *s, const char *top,
		      const struct hoist_unpack_opts *uo, struct hoist_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char id[128];
		char *dir;
		int rc;

		hoist_platform_id(&ms[i].platform, id, sizeof(id));
		dir = split ? hoist_xasprintf("%s/%s", top, id)
			    : hoist_xstrdup(top);
		rc = hoist_fs_mkdirs(dir, 0755, err);
		if (!rc)
			rc = unpack_image(&ms[i], s, dir, uo, err);
		free(dir);
		if (rc)
			return rc;
	}
	return 0;
}

int hoist_export_fs_write(const struct hoist_export_plan *p,
			  struct hoist_store *s, const json_t *root,
			  const char *near, hoist_export_fs_publish_fn publish,
			  struct hoist_err *err)
{
	struct hoist_img_manifest *ms = NULL;
	struct hoist_unpack_opts uo;
	size_t n = 0;
	char *tmp = NULL;
	int split, rc;

	rc = hoist_imgwalk_manifests(&ms, &n, s, root, err);
	if (rc)
		goto out;
	split = n > 1;
	if (p->type == HOIST_EXPORT_LOCAL && p->platform_split >= 0)
		split = p->platform_split;
	memset(&uo, 0, sizeof(uo));
	uo.epoch = p->type == HOIST_EXPORT_LOCAL ? p->epoch : -1;
	/* local: files belong to the caller (BuildKit chowns to the client) */
	uo.keep_owner = p->type == HOIST_EXPORT_TAR;
	/* near NULL: a scratch directory of the staging area */
	rc = near ? hoist_fs_mkdtemp_near(&tmp, near, err)
		  : hoist_store_mkdtemp(s, &tmp, err);
	if (!rc)
		rc = unpack_all(ms, n, split, s, tmp, &uo, err);
	if (!rc)
		rc = publish(p, tmp, ms, n, split, err);
out:
	if (tmp)
		hoist_fs_rm_rf(tmp, NULL);
	free(tmp);
	hoist_imgwalk_manifests_free(ms, n);
	if (rc)
		return hoist_err_prefix(err, "export %s to '%s'", p->type_name,
					p->dest);
	return 0;
}
