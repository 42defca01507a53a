/*
 * cmd-login.c: `hoist login REGISTRY`: store registry credentials, as
 * docker login does.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/msg.h"
#include "lib/auth.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/banned.h"

/* The registry part of a reference or URL: "host[:port]". */
char *hoist_cli_registry_host(const char *arg)
{
	const char *p = arg;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	size_t n = strcspn(p, "/");
	char *h = hoist_xstrndup(p, n);
	if (strcmp(h, "index.docker.io") == 0 ||
	    strcmp(h, "registry-1.docker.io") == 0) {
		free(h);
		h = hoist_xstrdup("docker.io");
	}
	return h;
}

static const char login_usage[] =
	"Usage: hoist login [-u USER] [-p PASSWORD | --password-stdin] "
	"REGISTRY\n"
	"\n"
	"Store credentials for REGISTRY in $DOCKER_CONFIG/config.json\n"
	"(default ~/.docker/config.json), as docker login does. The\n"
	"credentials are not checked against the registry.\n";

int hoist_cmd_login(int argc, char **argv, const struct hoist_global *g)
{
	static const struct option opts[] = {
		{"username", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"password-stdin", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *user = NULL, *pass = NULL;
	struct hoist_buf in = HOIST_BUF_INIT(HOIST_KiB(64));
	struct hoist_err err;
	char *host = NULL;
	int from_stdin = 0, c, ret = HOIST_EXIT_FAIL;
	(void)g;

	optind = 1;
	while ((c = getopt_long(argc, argv, "u:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'p':
			pass = optarg;
			break;
		case 's':
			from_stdin = 1;
			break;
		case 'h':
			fputs(login_usage, stdout);
			return HOIST_EXIT_OK;
		default:
			return hoist_msg_usage("login", "invalid option");
		}
	}
	if (optind + 1 != argc)
		return hoist_msg_usage("login", "want one REGISTRY");
	if (!user)
		return hoist_msg_usage("login", "-u USER is required");
	if (from_stdin) {
		char buf[4096];
		size_t n;
		hoist_buf_init(&in, 64 * 1024);
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			if (hoist_buf_add(&in, buf, n, &err))
				goto fail;
		while (in.len && (in.data[in.len - 1] == '\n' ||
				  in.data[in.len - 1] == '\r'))
			in.data[--in.len] = '\0';
		pass = in.data;
	}
	if (!pass)
		return hoist_msg_usage("login",
				       "give -p PASSWORD or --password-stdin");
	if (!from_stdin)
		hoist_msg_warn("using --password on the command line is "
			       "insecure; prefer --password-stdin");
	host = hoist_cli_registry_host(argv[optind]);
	if (hoist_creds_store(host, user, pass, &err))
		goto fail;
	printf("Login Succeeded\n");
	ret = HOIST_EXIT_OK;
	goto out;
fail:
	ret = hoist_msg_error(&err);
out:
	hoist_buf_release(&in);
	free(host);
	return ret;
}
