/*
 * export-tar.c: the tar exporter: the image's root file system as a tar
 * stream (dest=FILE or standard output). The tree is unpacked into the
 * staging area's scratch space first, then streamed into a file renamed
 * onto dest only when complete.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/export-int.h"
#include "lib/outfile.h"
#include "lib/tar.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

static int tar_plan(struct hoist_export_plan *p, const struct hoist_output *o,
		    struct hoist_err *err)
{
	int rc = hoist_export_fs_plan(p, o, err);

	if (rc)
		return rc;
	if (!p->dest || !*p->dest) {
		free(p->dest);
		p->dest = hoist_xstrdup("-");
	}
	return hoist_export_check_file_dest(p->dest, err);
}

static int write_tarball(const struct hoist_export_plan *p, const char *tmp,
			 const struct hoist_img_manifest *ms, size_t n,
			 int split, struct hoist_err *err)
{
	struct hoist_outfile of;
	struct hoist_sink sink;
	struct hoist_tar_writer *tw = NULL;
	int rc;

	rc = hoist_outfile_open(&of, p->dest, 0644, err);
	if (rc)
		return rc;
	sink = hoist_outfile_sink(&of);
	hoist_tar_writer_new(&tw, &sink);
	for (size_t i = 0; i < n && !rc; i++) {
		struct hoist_tar_tree_opts to;
		char id[128];
		char *dir;

		memset(&to, 0, sizeof(to));
		to.epoch = p->epoch;
		to.force_mtime = p->epoch >= 0;
		hoist_platform_id(&ms[i].platform, id, sizeof(id));
		if (split) {
			to.prefix = id;
			to.root_entry = 1;
			dir = hoist_xasprintf("%s/%s", tmp, id);
		} else {
			to.prefix = "";
			dir = hoist_xstrdup(tmp);
		}
		rc = hoist_tar_write_tree(tw, dir, &to, err);
		free(dir);
	}
	if (!rc)
		rc = hoist_tar_writer_finish(tw, err);
	if (!rc)
		rc = hoist_outfile_commit(&of, err);
	else
		hoist_outfile_abort(&of);
	hoist_tar_writer_free(tw);
	return rc;
}

static int tar_write(const struct hoist_export_plan *p, struct hoist_store *s,
		     const json_t *root, json_t **desc, struct hoist_err *err)
{
	(void)desc;
	return hoist_export_fs_write(p, s, root, NULL, write_tarball, err);
}

const struct hoist_exporter hoist_exporter_tar = {
	"tar", HOIST_EXPORT_TAR, hoist_export_fs_keys, 0, tar_plan, tar_write,
};
