/*
 * spawn.h: run a child process with input, a capped output and a
 * deadline (credential helpers, and any other short-lived helper).
 */
#ifndef HOIST_UTIL_SPAWN_H
#define HOIST_UTIL_SPAWN_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Run argv[0] (looked up in PATH) with argv (NULL-terminated), write the
 * inlen bytes of input to its stdin and collect its stdout into out, whose
 * cap bounds what is read. stderr goes to /dev/null. stdin is a socket, so
 * a child that exits without reading gives the caller EPIPE, never
 * SIGPIPE. A child still running timeout_ms after the start is killed
 * with SIGKILL and reaped.
 *
 * Returns 0 with *status set to the exit status (or -1 when the child
 * died from a signal), or a negative code: HOIST_ENOTFOUND when argv[0]
 * is not in PATH, HOIST_ELIMIT when it timed out or its output exceeded
 * out's cap, HOIST_EIO (and the like, from errno) for system failures.
 * Messages name argv[0] only, never the input or output.
 */
int hoist_spawn_run(char *const argv[], const char *input, size_t inlen,
		    struct hoist_buf *out, long timeout_ms, int *status,
		    struct hoist_err *err);

/*
 * hoist_spawn_run with options (so NULL: as hoist_spawn_run): env holds
 * "NAME=VALUE" strings (NULL-terminated) set in the child's environment
 * over the parent's; with stderr_out, the child's stderr goes to out
 * with its stdout (so a failing program's message can be shown).
 */
struct hoist_spawn_opts {
	const char *const *env;
	int stderr_out;
};
int hoist_spawn_run_opts(char *const argv[], const struct hoist_spawn_opts *so,
			 const char *input, size_t inlen, struct hoist_buf *out,
			 long timeout_ms, int *status, struct hoist_err *err);

#endif
