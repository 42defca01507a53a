/*
 * cmd-images.c: `hoist images`: list the named images of the staging area.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/image.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/banned.h"

int hoist_cmd_images(int argc, char **argv, const struct hoist_global *g)
{
	static const char usage[] =
		"Usage: hoist images [--quiet]\n"
		"\n"
		"List the named images in the staging area: NAME, DIGEST, "
		"MEDIA TYPE.\n"
		"  -q, --quiet  print names only\n";
	struct hoist_store *s = NULL;
	struct hoist_err err;
	json_t *list = NULL, *e;
	size_t i, width = 4;
	int quiet = 0;

	if (hoist_cli_wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-q") == 0 ||
		    strcmp(argv[a], "--quiet") == 0)
			quiet = 1;
		else
			return hoist_msg_usage(
				"images", "unexpected argument '%s'", argv[a]);
	}
	if (hoist_cli_open_store(&s, g, &err) ||
	    hoist_store_list(s, &list, &err)) {
		hoist_store_close(s);
		return hoist_msg_error(&err);
	}
	/* columns as wide as the longest name, as docker images does */
	json_array_foreach(list, i, e)
	{
		const char *name =
			hoist_json_str(json_object_get(e, "annotations"),
				       HOIST_ANN_IMAGE_NAME);
		if (name && strlen(name) > width)
			width = strlen(name);
	}
	if (!quiet)
		printf("%-*s  %-19s  %s\n", (int)width, "NAME", "DIGEST",
		       "MEDIA TYPE");
	json_array_foreach(list, i, e)
	{
		const char *name =
			hoist_json_str(json_object_get(e, "annotations"),
				       HOIST_ANN_IMAGE_NAME);
		const char *digest = hoist_json_str(e, "digest");
		const char *mt = hoist_json_str(e, "mediaType");
		if (!name || !digest)
			continue;
		if (quiet)
			printf("%s\n", name);
		else
			printf("%-*s  %-19.19s  %s\n", (int)width, name, digest,
			       mt ? mt : "");
	}
	json_decref(list);
	hoist_store_close(s);
	return HOIST_EXIT_OK;
}
