/* cmd.h: the command table's entry points and shared global options. */
#ifndef HOIST_CLI_CMD_H
#define HOIST_CLI_CMD_H

struct hoist_global {
	const char *root; /* --root, or NULL for the default */
};

int hoist_cmd_build(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_images(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_inspect(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_rm(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_prune(int argc, char **argv, const struct hoist_global *g);

/* The store root to use: --root, $HOIST_ROOT, or the XDG default. */
char *hoist_cli_root(const struct hoist_global *g);

#endif
