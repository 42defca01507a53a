/*
 * export-oci.c: the oci exporter: the image as an OCI image layout, in a
 * tarball (dest=FILE, or standard output) or a directory (tar=false).
 */
#include "lib/export-int.h"
#include "util/banned.h"

static int oci_write(const struct hoist_export_plan *p, struct hoist_store *s,
		     const json_t *root, json_t **desc, struct hoist_err *err)
{
	return hoist_export_layout_write(p, s, root, NULL, desc, err);
}

const struct hoist_exporter hoist_exporter_oci = {
	"oci", HOIST_EXPORT_OCI,         hoist_export_layout_keys,
	1,     hoist_export_layout_plan, oci_write,
};
