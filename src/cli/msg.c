/* msg.c: error lines, warnings and plain progress output on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/msg.h"
#include "util/log.h"
#include "util/banned.h"

static void log_cb(enum hoist_log_level level, const char *msg, void *ctx)
{
	enum hoist_progress_mode mode = *(enum hoist_progress_mode *)ctx;

	if (level == HOIST_LOG_WARN) {
		fprintf(stderr, "hoist: warning: %s\n", msg);
		return;
	}
	if (level == HOIST_LOG_INFO && mode != HOIST_PROGRESS_QUIET)
		fprintf(stderr, "#1 %s\n", msg);
}

void hoist_msg_init(enum hoist_progress_mode mode)
{
	static enum hoist_progress_mode saved;
	saved = mode;
	hoist_log_set(log_cb, &saved);
}

int hoist_msg_parse_progress(enum hoist_progress_mode *out, const char *s)
{
	if (strcmp(s, "auto") == 0 || strcmp(s, "tty") == 0)
		*out = HOIST_PROGRESS_AUTO;
	else if (strcmp(s, "plain") == 0 || strcmp(s, "rawjson") == 0)
		*out = HOIST_PROGRESS_PLAIN;
	else if (strcmp(s, "quiet") == 0 || strcmp(s, "none") == 0)
		*out = HOIST_PROGRESS_QUIET;
	else
		return -1;
	return 0;
}

int hoist_msg_error(const struct hoist_err *err)
{
	fprintf(stderr, "hoist: error: %s\n", hoist_err_msg(err));
	return HOIST_EXIT_FAIL;
}

int hoist_msg_errorf(const char *fmt, ...)
{
	va_list ap;
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
	fputs("hoist: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
