/*
 * cmd.h: the command table's entry points, the global options, and what
 * several commands share (main.c, cmd-copy.c, cmd-login.c define it).
 */
#ifndef HOIST_CLI_CMD_H
#define HOIST_CLI_CMD_H

#include <jansson.h>

#include "cli/msg.h"
#include "lib/transport.h"

struct hoist_global {
	const char *root; /* --root, or NULL for the default */
};

int hoist_cmd_build(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_images(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_inspect(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_rm(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_prune(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_fsck(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_push(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_login(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_logout(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_copy(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_sync(int argc, char **argv, const struct hoist_global *g);

/* The store root to use: --root, $HOIST_ROOT, or the XDG default. */
char *hoist_cli_root(const struct hoist_global *g);

struct hoist_store;
struct hoist_err;
/* Open the staging area at hoist_cli_root(g). */
int hoist_cli_open_store(struct hoist_store **s, const struct hoist_global *g,
			 struct hoist_err *err);
/* Write buildx-style metadata (indented JSON) atomically to path. */
int hoist_cli_write_json(const char *path, const json_t *v,
			 struct hoist_err *err);

/* copy and sync: their options and one copy (cmd-copy.c). */
#define HOIST_COPY_OPTIONS_HELP                                                \
	"      --all             every platform of an index (the default)\n"   \
	"      --platform P      only the manifest of platform P\n"            \
	"      --digest          push by digest to a docker:// destination\n"  \
	"      --progress MODE   auto, plain, tty, rawjson or quiet\n"

struct hoist_cli_copy {
	struct hoist_copy_opts co;
	struct hoist_platform platform;
	enum hoist_progress_mode progress;
	/* sync only: --shard K/N (n 0: all) and --jobs */
	unsigned shard_k, shard_n;
	unsigned jobs;
};

/*
 * getopt for copy and sync. Returns 1 when the command must return *ret
 * now (help shown, or an error printed), 0 to go on with argv[optind...].
 */
int hoist_cli_copy_args(int argc, char **argv, const char *cmd,
			const char *usage, struct hoist_cli_copy *cc, int *ret);
/* Copy src_s to dst_s (transports) through the staging area. */
int hoist_cli_copy_one(struct hoist_store *s, const char *src_s,
		       const char *dst_s, const struct hoist_copy_opts *co,
		       struct hoist_err *err);

/*
 * The registry part of a reference or URL, "host[:port]", with Docker
 * Hub's aliases folded to docker.io (login and logout). New string.
 */
char *hoist_cli_registry_host(const char *arg);

#endif
