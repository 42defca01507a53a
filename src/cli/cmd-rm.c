/*
 * cmd-rm.c: `hoist rm NAME...`: remove names from the staging area.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/store.h"
#include "util/banned.h"

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

	if (hoist_cli_wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	if (argc < 2)
		return hoist_msg_usage("rm", "want at least one NAME");
	if (hoist_cli_open_store(&s, g, &err))
		return hoist_msg_error(&err);
	for (int i = 1; i < argc; i++) {
		char *name = NULL;
		if (hoist_cli_norm_name(&name, argv[i], &err) ||
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
