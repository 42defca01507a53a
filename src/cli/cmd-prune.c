/*
 * cmd-prune.c: `hoist prune`: delete the blobs no name reaches and the
 * build cache entries whose blobs are gone (all of them with --all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/cache.h"
#include "lib/store.h"
#include "util/banned.h"

int hoist_cmd_prune(int argc, char **argv, const struct hoist_global *g)
{
	static const char usage[] =
		"Usage: hoist prune [--all]\n"
		"\n"
		"Delete every blob that no image name reaches, what killed "
		"processes left\n"
		"behind (ingest files, temporaries, upload sessions of blobs "
		"that are gone;\n"
		"see STALE FILES in hoist(1)), and build cache entries whose "
		"blobs are gone.\n"
		"Waits for other hoist processes to finish.\n"
		"\n"
		"      --all    also empty the build cache (the next build of "
		"every tree\n"
		"               tars and compresses it again)\n";
	struct hoist_store *s = NULL;
	struct hoist_cache *c = NULL;
	struct hoist_store_gc_stats st;
	struct hoist_cache_prune_stats cst;
	struct hoist_err err;
	int all = 0, ret = HOIST_EXIT_OK;

	if (hoist_cli_wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	if (argc > 1 && strcmp(argv[1], "--all") == 0)
		all = 1;
	if (argc != 1 + all)
		return hoist_msg_usage("prune", "unexpected argument '%s'",
				       argv[1 + all]);
	memset(&st, 0, sizeof(st));
	memset(&cst, 0, sizeof(cst));
	/* gc first: the cache entries of the blobs it removes go too */
	if (hoist_cli_open_store(&s, g, &err) || hoist_store_gc(s, &st, &err) ||
	    hoist_cache_open(&c, s, &err) ||
	    hoist_cache_prune(c, all, &cst, &err)) {
		ret = hoist_msg_error(&err);
		goto out;
	}
	printf("Deleted %llu blobs, %llu bytes; %llu stale ingest files, "
	       "%llu stale upload sessions; %llu build cache entries\n",
	       (unsigned long long)st.blobs_removed,
	       (unsigned long long)st.bytes_removed,
	       (unsigned long long)st.ingest_removed,
	       (unsigned long long)st.sessions_removed,
	       (unsigned long long)cst.entries_removed);
out:
	hoist_cache_close(c);
	hoist_store_close(s);
	return ret;
}
