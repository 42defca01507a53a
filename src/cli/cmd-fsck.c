/*
 * cmd-fsck.c: `hoist fsck [--repair]`: check the staging area (every blob
 * against its digest, every name's manifest graph), report orphans and
 * leftovers of killed processes, and with --repair remove what is corrupt
 * or stale. Exit 0 only when the store is sound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "lib/store.h"
#include "util/banned.h"

static const char *const kind_names[] = {
	"corrupt",   "missing", "bad-reference", "bad-document",
	"bad-index", "orphan",  "stale",
};

static void print_finding(void *ctx, const struct hoist_fsck_finding *f)
{
	(void)ctx;
	printf("%s %s", kind_names[f->kind], f->subject);
	if (f->name)
		printf(" (image '%s')", f->name);
	if (f->detail)
		printf(": %s", f->detail);
	if (f->repaired)
		printf(": removed");
	putchar('\n');
}

int hoist_cmd_fsck(int argc, char **argv, const struct hoist_global *g)
{
	static const char usage[] =
		"Usage: hoist fsck [--repair]\n"
		"\n"
		"Check every blob against its digest and every name's "
		"manifests, configs and\n"
		"layers; report orphans and leftovers of killed processes. "
		"Exit 0 only when\n"
		"the staging area is sound.\n"
		"      --repair  remove corrupt blobs (names that reach them "
		"are reported)\n"
		"                and stale leftovers; waits for other hoist "
		"processes\n";
	struct hoist_store *s = NULL;
	struct hoist_store_fsck_stats st;
	struct hoist_err err;
	int repair = 0;

	if (hoist_cli_wants_help(argc, argv, usage))
		return HOIST_EXIT_OK;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--repair") == 0)
			repair = 1;
		else
			return hoist_msg_usage(
				"fsck", "unexpected argument '%s'", argv[a]);
	}
	if (hoist_cli_open_store(&s, g, &err) ||
	    hoist_store_fsck(s, repair, print_finding, NULL, &st, &err)) {
		hoist_store_close(s);
		return hoist_msg_error(&err);
	}
	printf("Checked %llu blobs (%llu bytes) and %llu names: %llu "
	       "problems, %llu orphans, %llu stale",
	       (unsigned long long)st.blobs, (unsigned long long)st.bytes,
	       (unsigned long long)st.names, (unsigned long long)st.problems,
	       (unsigned long long)st.orphans, (unsigned long long)st.stale);
	if (repair)
		printf("; removed %llu", (unsigned long long)st.repaired);
	putchar('\n');
	if (st.partial)
		hoist_msg_warn("other hoist processes have the staging area "
			       "open: their temporaries were not judged");
	if (st.problems)
		hoist_msg_errorf("the staging area '%s' is not sound",
				 hoist_store_root(s));
	hoist_store_close(s);
	return st.problems ? HOIST_EXIT_FAIL : HOIST_EXIT_OK;
}
