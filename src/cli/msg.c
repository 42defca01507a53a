/*
 * msg.c: everything printed on stderr: error lines, warnings, and
 * progress, either as plain lines (CI logs: buildx's "#1 ..." style, at
 * most one line per transfer per second) or, on a terminal, as live bars
 * redrawn in place below the log lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/msg.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

#define ROWS 16

struct row {
	char id[96];
	char action[24];
	unsigned long long cur, total;
	double last;
};

static struct {
	enum hoist_progress_mode mode;
	int tty;
	struct row rows[ROWS];
	int nrows;
	int drawn; /* bar lines currently on screen */
	double last_draw;
} ui;

static double now_s(void)
{
	return (double)hoist_clock_ms() / 1000.0;
}

static void human(char *buf, size_t len, unsigned long long n)
{
	if (n >= (1ull << 30))
		snprintf(buf, len, "%.2fGiB", (double)n / (1ull << 30));
	else if (n >= (1ull << 20))
		snprintf(buf, len, "%.1fMiB", (double)n / (1ull << 20));
	else if (n >= 1024)
		snprintf(buf, len, "%.1fKiB", (double)n / 1024);
	else
		snprintf(buf, len, "%lluB", n);
}

static void clear_bars(void)
{
	if (!ui.drawn)
		return;
	fprintf(stderr, "\033[%dA", ui.drawn);
	for (int i = 0; i < ui.drawn; i++)
		fputs("\033[K\n", stderr);
	fprintf(stderr, "\033[%dA", ui.drawn);
	ui.drawn = 0;
}

static void draw_bars(void)
{
	for (int i = 0; i < ui.nrows; i++) {
		struct row *r = &ui.rows[i];
		char a[32], b[32], bar[31];
		int fill = r->total ? (int)(30.0 * (double)r->cur /
					    (double)r->total)
				    : 0;
		if (fill > 30)
			fill = 30;
		memset(bar, '=', (size_t)fill);
		memset(bar + fill, ' ', (size_t)(30 - fill));
		bar[30] = '\0';
		human(a, sizeof(a), r->cur);
		human(b, sizeof(b), r->total);
		fprintf(stderr, "\033[K => %-9s %-24.24s [%s] %s/%s\n",
			r->action, r->id, bar, a, b);
	}
	ui.drawn = ui.nrows;
	ui.last_draw = now_s();
	fflush(stderr);
}

static void print_line(const char *prefix, const char *msg)
{
	if (ui.tty)
		clear_bars();
	fprintf(stderr, "%s%s\n", prefix, msg);
	if (ui.tty)
		draw_bars();
}

static void log_cb(enum hoist_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level == HOIST_LOG_WARN) {
		print_line("hoist: warning: ", msg);
		return;
	}
	if (level == HOIST_LOG_INFO && ui.mode != HOIST_PROGRESS_QUIET)
		print_line("#1 ", msg);
}

static struct row *find_row(const char *id, int create)
{
	for (int i = 0; i < ui.nrows; i++)
		if (strcmp(ui.rows[i].id, id) == 0)
			return &ui.rows[i];
	if (!create || ui.nrows == ROWS)
		return NULL;
	struct row *r = &ui.rows[ui.nrows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	return r;
}

static void progress_cb(const struct hoist_progress *p, void *ctx)
{
	struct row *r;
	char a[32], b[32];
	double t = now_s();
	(void)ctx;

	if (ui.mode == HOIST_PROGRESS_QUIET)
		return;
	r = find_row(p->id, !p->done);
	if (p->done) {
		if (r) {
			if (ui.tty)
				clear_bars();
			*r = ui.rows[--ui.nrows];
			if (ui.tty)
				draw_bars();
		}
		return;
	}
	if (!r)
		return;
	snprintf(r->action, sizeof(r->action), "%s", p->action);
	r->cur = p->cur;
	r->total = p->total;
	if (ui.tty) {
		if (t - ui.last_draw >= 0.1) {
			clear_bars();
			draw_bars();
		}
		return;
	}
	if (t - r->last < 1.0 && p->cur < p->total)
		return;
	r->last = t;
	human(a, sizeof(a), p->cur);
	human(b, sizeof(b), p->total);
	fprintf(stderr, "#1 %s %s %s / %s\n", p->action, p->id, a, b);
}

void hoist_msg_init(enum hoist_progress_mode mode)
{
	ui.mode = mode;
	ui.tty = mode == HOIST_PROGRESS_AUTO && isatty(STDERR_FILENO) &&
		 getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0;
	hoist_log_set(log_cb, NULL);
	hoist_progress_set(progress_cb, NULL);
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
	if (ui.tty)
		clear_bars();
	fprintf(stderr, "hoist: error: %s\n", hoist_err_msg(err));
	return HOIST_EXIT_FAIL;
}

int hoist_msg_errorf(const char *fmt, ...)
{
	va_list ap;
	if (ui.tty)
		clear_bars();
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
