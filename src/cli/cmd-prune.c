/*
 * cmd-prune.c: `hoist prune`: delete the blobs no name reaches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/store.h"
#include "util/banned.h"

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

	if (hoist_cli_wants_help(argc, argv, usage))
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
