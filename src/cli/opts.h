/*
 * opts.h: the options several commands share, parsed in one place: the
 * registry flags (build, push, copy, sync), --progress, -q/--quiet and
 * -h/--help, and the getopt tail every command ends its switch with.
 */
#ifndef HOIST_CLI_OPTS_H
#define HOIST_CLI_OPTS_H

#include <getopt.h>

#include "cli/msg.h"
#include "lib/registry.h"
#include "util/err.h"

/* getopt values of the shared long options (above any short option). */
enum {
	HOIST_OPT_CA_CERT = 1000,
	HOIST_OPT_INSECURE,
	HOIST_OPT_CHUNK_SIZE,
	HOIST_OPT_MAX_CONCURRENT,
	HOIST_OPT_HTTP_VERSION,
	HOIST_OPT_NO_RESUME,
	HOIST_OPT_TIMEOUT,
	HOIST_OPT_REGISTRY_LAST = HOIST_OPT_TIMEOUT,
	HOIST_OPT_PROGRESS = 1100,
};

/* The registry flags, for a command's struct option table. */
#define HOIST_REGISTRY_LONGOPTS                                                \
	{"ca-cert", required_argument, NULL, HOIST_OPT_CA_CERT},               \
		{"insecure", no_argument, NULL, HOIST_OPT_INSECURE},           \
		{"chunk-size", required_argument, NULL, HOIST_OPT_CHUNK_SIZE}, \
		{"max-concurrent", required_argument, NULL,                    \
		 HOIST_OPT_MAX_CONCURRENT},                                    \
		{"http-version", required_argument, NULL,                      \
		 HOIST_OPT_HTTP_VERSION},                                      \
		{"no-resume", no_argument, NULL, HOIST_OPT_NO_RESUME},         \
	{                                                                      \
		"timeout", required_argument, NULL, HOIST_OPT_TIMEOUT          \
	}

/* --progress MODE and -h/--help (every command with getopt has both). */
#define HOIST_COMMON_LONGOPTS                                                  \
	{"progress", required_argument, NULL, HOIST_OPT_PROGRESS},             \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

#define HOIST_REGISTRY_OPTIONS_HELP                                            \
	"Registry:\n"                                                          \
	"      --ca-cert FILE    trust this CA (also certs.d: ca.crt)\n"       \
	"      --insecure        allow plain http and skip TLS verification\n" \
	"      --chunk-size N    upload in chunks of N bytes (K, M, G)\n"      \
	"      --max-concurrent N  blobs in flight (default 4)\n"              \
	"      --http-version V  1.1, 2 or auto for blob bodies\n"             \
	"      --no-resume       ignore saved upload sessions\n"               \
	"      --timeout DURATION  give up after DURATION in all (30s, 10m)\n"

/* What the shared options set; the command fills cmd, usage and reg. */
struct hoist_cli_opts {
	const char *cmd;                 /* "build": for usage errors */
	const char *usage;               /* the --help text */
	struct hoist_registry_opts *reg; /* registry flags go here, or NULL */
	enum hoist_progress_mode progress;
	int quiet;  /* -q seen (also sets progress to quiet) */
	int status; /* when hoist_cli_opt returns 1: the exit status */
};

/*
 * The getopt tail: handle option c (with optarg arg) that the command's
 * own switch did not. Returns 0 when it was a shared option and parsing
 * goes on; 1 when the command must return o->status now (help printed,
 * or an error printed: a bad option value, an unknown option).
 */
int hoist_cli_opt(struct hoist_cli_opts *o, int c, const char *arg);

/*
 * 1 when argv (after the command name) holds -h or --help: the usage is
 * then printed on stdout. For commands without getopt.
 */
int hoist_cli_wants_help(int argc, char **argv, const char *usage);

/*
 * A user's image name to the store's key: normalised, ":latest" added.
 * *out is new (caller frees). HOIST_EINVAL for a bad reference.
 */
int hoist_cli_norm_name(char **out, const char *name, struct hoist_err *err);

#endif
