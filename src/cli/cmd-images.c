/*
 * cmd-images.c: the staging-area commands: images, inspect, rm, prune.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/msg.h"
#include "lib/image.h"
#include "lib/imgwalk.h"
#include "lib/ref.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

static int wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 1;
		}
	return 0;
}

/* A user's name to the store's key: normalised, ":latest" added. */
static int norm_name(char **out, const char *name, struct hoist_err *err)
{
	struct hoist_ref r;
	int rc = hoist_ref_parse(
		&r, name, HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG, err);
	if (rc)
		return rc;
	*out = hoist_ref_string(&r);
	hoist_ref_release(&r);
	return 0;
}

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
	size_t i;
	int quiet = 0;

	if (wants_help(argc, argv, usage))
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
	if (!quiet)
		printf("%-50s %-20s %s\n", "NAME", "DIGEST", "MEDIA TYPE");
	json_array_foreach(list, i, e)
	{
		const char *name =
			hoist_json_str(json_object_get(e, "annotations"),
				       HOIST_ANN_IMAGE_NAME);
		const char *digest = hoist_json_str(e, "digest");
		if (!name || !digest)
			continue;
		if (quiet)
			printf("%s\n", name);
		else
			printf("%-50s %.19s %s\n", name, digest,
			       hoist_json_str(e, "mediaType"));
	}
	json_decref(list);
	hoist_store_close(s);
	return HOIST_EXIT_OK;
}

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

	if (wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	if (argc != 2)
		return hoist_msg_usage("inspect", "want exactly one NAME");
	if (norm_name(&name, argv[1], &err) ||
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

int hoist_cmd_rm(int argc, char **argv, const struct hoist_global *g)
{
	static const char usage[] =
		"Usage: hoist rm NAME...\n"
		"\n"
		"Remove names from the staging area. Blobs stay until "
		"'hoist prune'.\n";
	struct hoist_store *s = NULL;
	struct hoist_err err;
	int failed = 0;

	if (wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	if (argc < 2)
		return hoist_msg_usage("rm", "want at least one NAME");
	if (hoist_cli_open_store(&s, g, &err))
		return hoist_msg_error(&err);
	for (int i = 1; i < argc; i++) {
		char *name = NULL;
		if (norm_name(&name, argv[i], &err) ||
		    hoist_store_untag(s, name, &err)) {
			hoist_msg_error(&err);
			failed++;
		} else {
			printf("Untagged: %s\n", name);
		}
		free(name);
	}
	hoist_store_close(s);
	if (failed)
		return failed == argc - 1 ? HOIST_EXIT_FAIL
					  : HOIST_EXIT_PARTIAL;
	return HOIST_EXIT_OK;
}

int hoist_cmd_prune(int argc, char **argv, const struct hoist_global *g)
{
	static const char usage[] =
		"Usage: hoist prune\n"
		"\n"
		"Delete every blob that no image name reaches, and stale "
		"ingest files.\n";
	struct hoist_store *s = NULL;
	struct hoist_store_gc_stats st;
	struct hoist_err err;

	if (wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	if (argc != 1)
		return hoist_msg_usage("prune", "unexpected argument '%s'",
				       argv[1]);
	memset(&st, 0, sizeof(st));
	if (hoist_cli_open_store(&s, g, &err) || hoist_store_gc(s, &st, &err)) {
		hoist_store_close(s);
		return hoist_msg_error(&err);
	}
	printf("Deleted %llu blobs, %llu bytes; %llu stale ingest files\n",
	       (unsigned long long)st.blobs_removed,
	       (unsigned long long)st.bytes_removed,
	       (unsigned long long)st.ingest_removed);
	hoist_store_close(s);
	return HOIST_EXIT_OK;
}
