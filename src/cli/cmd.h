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
int hoist_cmd_push(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_login(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_logout(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_copy(int argc, char **argv, const struct hoist_global *g);
int hoist_cmd_sync(int argc, char **argv, const struct hoist_global *g);

/* Registry flags shared by build and push (getopt values). */
enum {
	HOIST_OPT_CA_CERT = 1000,
	HOIST_OPT_INSECURE,
	HOIST_OPT_CHUNK_SIZE,
	HOIST_OPT_MAX_CONCURRENT,
	HOIST_OPT_HTTP_VERSION,
	HOIST_OPT_NO_RESUME,
};
#define HOIST_REGISTRY_LONGOPTS                                                \
	{"ca-cert", required_argument, NULL, HOIST_OPT_CA_CERT},               \
		{"insecure", no_argument, NULL, HOIST_OPT_INSECURE},           \
		{"chunk-size", required_argument, NULL, HOIST_OPT_CHUNK_SIZE}, \
		{"max-concurrent", required_argument, NULL,                    \
		 HOIST_OPT_MAX_CONCURRENT},                                    \
		{"http-version", required_argument, NULL,                      \
		 HOIST_OPT_HTTP_VERSION},                                      \
	{                                                                      \
		"no-resume", no_argument, NULL, HOIST_OPT_NO_RESUME            \
	}
#define HOIST_REGISTRY_OPTIONS_HELP                                            \
	"Registry:\n"                                                          \
	"      --ca-cert FILE    trust this CA (also certs.d: ca.crt)\n"       \
	"      --insecure        allow plain http and skip TLS verification\n" \
	"      --chunk-size N    upload in chunks of N bytes (K, M, G)\n"      \
	"      --max-concurrent N  blobs in flight (default 4)\n"              \
	"      --http-version V  1.1, 2 or auto for blob bodies\n"             \
	"      --no-resume       ignore saved upload sessions\n"

struct hoist_registry_opts;
struct hoist_err;
/* Apply one registry flag. */
int hoist_cli_registry_opt(int c, const char *arg,
			   struct hoist_registry_opts *o,
			   struct hoist_err *err);

/* The store root to use: --root, $HOIST_ROOT, or the XDG default. */
char *hoist_cli_root(const struct hoist_global *g);

struct hoist_store;
struct hoist_err;
/* Open the staging area at hoist_cli_root(g). */
int hoist_cli_open_store(struct hoist_store **s, const struct hoist_global *g,
			 struct hoist_err *err);
/* Write buildx-style metadata (indented JSON) atomically to path. */
#include <jansson.h>
int hoist_cli_write_json(const char *path, const json_t *v,
			 struct hoist_err *err);

#endif
