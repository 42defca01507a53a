/* main.c: global options and the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/msg.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/banned.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv, const struct hoist_global *g);
	const char *help;
} commands[] = {
	{"build", hoist_cmd_build,
	 "build an image from directories and export it"},
	{"images", hoist_cmd_images,
	 "list the images named in the staging area"},
	{"inspect", hoist_cmd_inspect, "show an image's manifest and config"},
	{"rm", hoist_cmd_rm, "remove image names from the staging area"},
	{"prune", hoist_cmd_prune, "delete blobs that no name reaches"},
	{"fsck", hoist_cmd_fsck, "check the staging area (--repair)"},
	{"push", hoist_cmd_push, "push an image to a registry"},
	{"copy", hoist_cmd_copy,
	 "copy an image between registries, layouts and archives"},
	{"sync", hoist_cmd_sync, "mirror the images listed in a file"},
	{"login", hoist_cmd_login, "store registry credentials"},
	{"logout", hoist_cmd_logout, "remove registry credentials"},
};

static void usage(FILE *f)
{
	fputs("Usage: hoist [--root DIR] COMMAND [OPTIONS]\n"
	      "\n"
	      "A daemonless container-image builder and exporter with "
	      "buildx's\n"
	      "--output syntax.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fputs("\n"
	      "Global options:\n"
	      "  --root DIR   staging area (default: $HOIST_ROOT, else\n"
	      "               ${XDG_DATA_HOME:-$HOME/.local/share}/hoist)\n"
	      "  -h, --help   show this help\n"
	      "  --version    show the version\n"
	      "\n"
	      "Run 'hoist COMMAND --help' for a command's options; see "
	      "hoist(1)\n"
	      "and hoist-output(7).\n",
	      f);
}

char *hoist_cli_root(const struct hoist_global *g)
{
	if (g->root)
		return hoist_xstrdup(g->root);
	return hoist_store_default_root();
}

int hoist_cli_open_store(struct hoist_store **s, const struct hoist_global *g,
			 struct hoist_err *err)
{
	char *root = hoist_cli_root(g);
	int rc = hoist_store_open(s, root, err);
	free(root);
	return rc;
}

int hoist_cli_write_json(const char *path, const json_t *v,
			 struct hoist_err *err)
{
	char *text;
	size_t len;
	int rc = hoist_json_dump(&text, &len, v, 1, err);

	if (rc)
		return rc;
	rc = hoist_fs_write_atomic(path, text, len, 0644, err);
	free(text);
	if (rc)
		hoist_err_prefix(err, "metadata file");
	return rc;
}

int main(int argc, char **argv)
{
	struct hoist_global g = {NULL};
	int i = 1;

	hoist_fs_install_signal_cleanup();
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return HOIST_EXIT_OK;
		}
		if (strcmp(a, "--version") == 0) {
			puts("hoist " PACKAGE_VERSION);
			return HOIST_EXIT_OK;
		}
		if (strcmp(a, "--root") == 0) {
			if (i + 1 >= argc) {
				fputs("hoist: --root needs a directory\n",
				      stderr);
				return HOIST_EXIT_USAGE;
			}
			g.root = argv[i + 1];
			i += 2;
			continue;
		}
		if (strncmp(a, "--root=", 7) == 0) {
			g.root = a + 7;
			i++;
			continue;
		}
		fprintf(stderr, "hoist: unknown option '%s'\n", a);
		usage(stderr);
		return HOIST_EXIT_USAGE;
	}
	if (i >= argc) {
		usage(stderr);
		return HOIST_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		usage(stdout);
		return HOIST_EXIT_OK;
	}
	if (strcmp(argv[i], "version") == 0) {
		puts("hoist " PACKAGE_VERSION);
		return HOIST_EXIT_OK;
	}
	for (size_t c = 0; c < HOIST_ARRAY_SIZE(commands); c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].fn(argc - i, argv + i, &g);
	fprintf(stderr,
		"hoist: '%s' is not a hoist command; see 'hoist --help'\n",
		argv[i]);
	return HOIST_EXIT_USAGE;
}
