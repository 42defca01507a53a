/*
 * msg.c: error lines, warnings and usage messages on stderr; the progress
 * display itself is progress.c, which these lines make room in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/msg.h"
#include "cli/progress.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

int hoist_msg_init(enum hoist_progress_mode mode)
{
	if (hoist_progress_ui_init(mode) == 0)
		return 0;
	/* buildx (console.ConsoleFromFile) */
	return hoist_msg_errorf("progress mode 'tty': provided file is not a "
				"console");
}

static void print_line(const char *prefix, const char *msg)
{
	hoist_progress_ui_pause();
	fprintf(stderr, "%s%s\n", prefix, msg);
	hoist_progress_ui_resume();
}

int hoist_msg_parse_progress(enum hoist_progress_mode *out, const char *s)
{
	if (strcmp(s, "auto") == 0)
		*out = HOIST_PROGRESS_AUTO;
	else if (strcmp(s, "tty") == 0)
		*out = HOIST_PROGRESS_TTY;
	else if (strcmp(s, "rawjson") == 0)
		*out = HOIST_PROGRESS_RAWJSON;
	else if (strcmp(s, "plain") == 0)
		*out = HOIST_PROGRESS_PLAIN;
	else if (strcmp(s, "quiet") == 0 || strcmp(s, "none") == 0)
		*out = HOIST_PROGRESS_QUIET;
	else
		return -1;
	return 0;
}

int hoist_msg_error(const struct hoist_err *err)
{
	hoist_progress_ui_finish();
	fprintf(stderr, "hoist: error: %s\n", hoist_err_msg(err));
	return HOIST_EXIT_FAIL;
}

int hoist_msg_errorf(const char *fmt, ...)
{
	va_list ap;
	hoist_progress_ui_finish();
	fputs("hoist: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return HOIST_EXIT_FAIL;
}

int hoist_msg_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "hoist: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'hoist %s --help'.\n", cmd);
	return HOIST_EXIT_USAGE;
}

void hoist_msg_warn(const char *fmt, ...)
{
	va_list ap;
	char msg[2048];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_line("hoist: warning: ", msg);
}
