/*
 * export-cacheonly.c: type=cacheonly: the image is built into the store
 * and nothing is exported (also what a build without -o does).
 */
#include "lib/export-int.h"
#include "util/banned.h"

static int cacheonly_plan(struct hoist_export_plan *p,
			  const struct hoist_output *o, struct hoist_err *err)
{
	if (o->nattrs || o->dest)
		return hoist_err_set(err, HOIST_EINVAL,
				     "output type 'cacheonly' takes no "
				     "options");
	p->spec.compression = HOIST_COMP_GZIP;
	p->spec.level = HOIST_COMP_LEVEL_DEFAULT;
	p->spec.oci = 1;
	return 0;
}

static int cacheonly_write(const struct hoist_export_plan *p,
			   struct hoist_store *s, const json_t *root,
			   json_t **desc, struct hoist_err *err)
{
	(void)p;
	(void)s;
	(void)root;
	(void)desc;
	(void)err;
	return 0;
}

const struct hoist_exporter hoist_exporter_cacheonly = {
	"cacheonly", HOIST_EXPORT_CACHEONLY, NULL,
	0,           cacheonly_plan,         cacheonly_write,
};
