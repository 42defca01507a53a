/*
 * cmd-inspect.c: `hoist inspect NAME`: an image's descriptor, manifests
 * and configs as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/imgwalk.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/banned.h"

int hoist_cmd_inspect(int argc, char **argv, const struct hoist_global *g)
{
	static const char usage[] = "Usage: hoist inspect NAME\n"
				    "\n"
				    "Print an image's descriptor, manifest(s) "
				    "and config(s) as JSON.\n";
	struct hoist_store *s = NULL;
	struct hoist_img_manifest *ms = NULL;
	struct hoist_err err;
	json_t *desc = NULL, *out = NULL, *images;
	char *name = NULL, *text = NULL;
	size_t n = 0, len;
	int ret = HOIST_EXIT_FAIL;

	if (hoist_cli_wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	if (argc != 2)
		return hoist_msg_usage("inspect", "want exactly one NAME");
	if (hoist_cli_norm_name(&name, argv[1], &err) ||
	    hoist_cli_open_store(&s, g, &err) ||
	    hoist_store_resolve(s, name, &desc, &err) ||
	    hoist_imgwalk_manifests(&ms, &n, s, desc, &err)) {
		ret = hoist_msg_error(&err);
		goto out;
	}
	out = json_object();
	hoist_json_set_str(out, "name", name);
	json_object_set(out, "descriptor", desc);
	images = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *im = json_object();
		char plat[128];
		hoist_platform_format(&ms[i].platform, plat, sizeof(plat));
		hoist_json_set_str(im, "platform", plat);
		json_object_set(im, "manifest", ms[i].manifest);
		json_object_set(im, "config", ms[i].config);
		json_array_append_new(images, im);
	}
	json_object_set_new(out, "images", images);
	if (hoist_json_dump(&text, &len, out, 1, &err)) {
		ret = hoist_msg_error(&err);
		goto out;
	}
	puts(text);
	ret = HOIST_EXIT_OK;
out:
	free(text);
	json_decref(out);
	json_decref(desc);
	hoist_imgwalk_manifests_free(ms, n);
	hoist_store_close(s);
	free(name);
	return ret;
}
