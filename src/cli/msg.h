/*
 * msg.h: everything the CLI prints about errors and progress, and the exit
 * statuses (documented in hoist(1)).
 */
#ifndef HOIST_CLI_MSG_H
#define HOIST_CLI_MSG_H

#include "util/err.h"

enum {
	HOIST_EXIT_OK = 0,
	HOIST_EXIT_FAIL = 1,
	HOIST_EXIT_USAGE = 2,
	HOIST_EXIT_PARTIAL = 3,
};

/* --progress: auto, plain, tty, rawjson, quiet (none is quiet) */
enum hoist_progress_mode {
	HOIST_PROGRESS_AUTO,
	HOIST_PROGRESS_PLAIN,
	HOIST_PROGRESS_QUIET,
	HOIST_PROGRESS_TTY,
	HOIST_PROGRESS_RAWJSON,
};

/* The modes, for --help: "auto, plain, tty, rawjson or quiet". */
#define HOIST_PROGRESS_MODES "auto, plain, tty, rawjson or quiet"

/*
 * Install the progress display (progress.h) for this mode. On failure
 * (tty on a non-terminal) prints buildx's error and returns
 * HOIST_EXIT_FAIL; else 0.
 */
int hoist_msg_init(enum hoist_progress_mode mode);
/* A mode name to *out; -1 if unknown. */
int hoist_msg_parse_progress(enum hoist_progress_mode *out, const char *s);
/* "hoist: error: <msg>" on stderr. Returns HOIST_EXIT_FAIL. */
int hoist_msg_error(const struct hoist_err *err);
/* "hoist: error: ..." for CLI-level problems. Returns HOIST_EXIT_FAIL. */
int hoist_msg_errorf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* "hoist: <cmd>: ...\nTry 'hoist <cmd> --help'." Returns HOIST_EXIT_USAGE. */
int hoist_msg_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hoist_msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
