/*
 * cmd-push.c: `hoist push NAME [TARGET]`: an image of the staging area to
 * a registry.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "cli/progress.h"
#include "lib/ref.h"
#include "lib/registry.h"
#include "lib/store.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

static const char push_usage[] =
	"Usage: hoist push [OPTIONS] NAME [TARGET]\n"
	"\n"
	"Push an image of the staging area to a registry: to NAME itself, or\n"
	"to TARGET (another reference). Blobs the registry has are skipped;\n"
	"an interrupted push continues where it stopped when run again.\n"
	"\n" HOIST_REGISTRY_OPTIONS_HELP
	"      --digest          push by digest only (TARGET without a tag)\n"
	"      --metadata-file F write buildx-style metadata of the push\n"
	"      --progress MODE   auto, plain, tty, rawjson or quiet\n"
	"  -q, --quiet           no progress; print the pushed digest\n";

int hoist_cmd_push(int argc, char **argv, const struct hoist_global *g)
{
	static const struct option opts[] = {
		HOIST_REGISTRY_LONGOPTS,
		{"digest", no_argument, NULL, 'd'},
		{"metadata-file", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		HOIST_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hoist_registry_opts ro;
	struct hoist_push_stats st;
	char waits[48] = "";
	struct hoist_store *s = NULL;
	struct hoist_err err;
	struct hoist_cli_opts cl = {
		"push", push_usage, &ro, HOIST_PROGRESS_AUTO, 0, 0};
	const char *metadata = NULL;
	json_t *desc = NULL, *meta = NULL;
	char *name = NULL, *target = NULL;
	int by_digest = 0, c, rc, ret = HOIST_EXIT_FAIL;

	memset(&ro, 0, sizeof(ro));
	hoist_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			by_digest = 1;
			break;
		case 'm':
			metadata = optarg;
			break;
		default:
			if (hoist_cli_opt(&cl, c, optarg)) {
				ret = cl.status;
				goto out;
			}
		}
	}
	if (optind >= argc || argc - optind > 2) {
		ret = hoist_msg_usage("push", "want NAME [TARGET]");
		goto out;
	}
	if (hoist_msg_init(cl.progress)) {
		ret = HOIST_EXIT_FAIL;
		goto out;
	}
	{
		struct hoist_ref r;
		if (hoist_ref_parse(&r, argv[optind],
				    HOIST_REF_NORMALIZE | HOIST_REF_DEFAULT_TAG,
				    &err))
			goto fail;
		name = hoist_ref_string(&r);
		hoist_ref_release(&r);
		const char *t = argc - optind == 2 ? argv[optind + 1] : NULL;
		if (t) {
			if (hoist_ref_parse(
				    &r, t,
				    HOIST_REF_NORMALIZE |
					    (by_digest ? 0
						       : HOIST_REF_DEFAULT_TAG),
				    &err)) {
				hoist_err_prefix(&err, "target");
				goto fail;
			}
			if (by_digest && r.tag) {
				hoist_err_set(&err, HOIST_EINVAL,
					      "can't push tagged ref %s by "
					      "digest",
					      t);
				hoist_ref_release(&r);
				goto fail;
			}
			target = hoist_ref_string(&r);
			hoist_ref_release(&r);
		} else {
			target = hoist_xstrdup(name);
		}
	}
	if (hoist_cli_open_store(&s, g, &err) ||
	    hoist_store_resolve(s, name, &desc, &err))
		goto fail;
	/* a step as buildx's push: "pushing layers", "pushing manifest
	 * for", DONE, or CACHED when the registry held the image already */
	if (strcmp(name, target) == 0)
		hoist_step_begin("pushing %s", target);
	else
		hoist_step_begin("pushing %s to %s", name, target);
	ro.statuses = 1;
	rc = hoist_registry_push(s, desc, target, by_digest, &ro, &st, &err);
	hoist_step_end(!rc && st.present, rc ? hoist_err_msg(&err) : NULL);
	if (rc)
		goto fail;
	hoist_progress_ui_finish();
	if (st.waits)
		snprintf(waits, sizeof(waits), ", %llu rate-limit waits",
			 (unsigned long long)st.waits);
	if (!cl.quiet)
		fprintf(stderr,
			"pushed %s@%s: %llu blobs, %llu already there, %llu "
			"resumed, %.1f MiB sent, %llu retries%s\n",
			target, st.digest, (unsigned long long)st.blobs,
			(unsigned long long)st.blobs_present,
			(unsigned long long)st.blobs_resumed,
			(double)st.bytes_sent / (1 << 20),
			(unsigned long long)st.retries, waits);
	if (metadata) {
		meta = json_object();
		hoist_json_set_str(meta, "containerimage.digest", st.digest);
		json_object_set(meta, "containerimage.descriptor", desc);
		hoist_json_set_str(meta, "image.name", target);
		if (hoist_cli_write_json(metadata, meta, &err))
			goto fail;
	}
	if (cl.quiet)
		puts(st.digest);
	ret = HOIST_EXIT_OK;
	goto out;
fail:
	ret = hoist_msg_error(&err);
out:
	json_decref(meta);
	json_decref(desc);
	hoist_store_close(s);

	free(name);
	free(target);
	return ret;
}
