/*
 * cmd-logout.c: `hoist logout REGISTRY`: remove stored credentials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/msg.h"
#include "lib/auth.h"
#include "util/banned.h"

int hoist_cmd_logout(int argc, char **argv, const struct hoist_global *g)
{
	struct hoist_err err;
	char *host;
	int rc;
	(void)g;

	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts("Usage: hoist logout REGISTRY\n\nRemove the stored "
		     "credentials of REGISTRY.");
		return HOIST_EXIT_OK;
	}
	if (argc != 2)
		return hoist_msg_usage("logout", "want one REGISTRY");
	host = hoist_cli_registry_host(argv[1]);
	rc = hoist_creds_erase(host, &err);
	if (rc) {
		free(host);
		return hoist_msg_error(&err);
	}
	printf("Removing login credentials for %s\n", host);
	free(host);
	return HOIST_EXIT_OK;
}
