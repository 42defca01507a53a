/*
 * log.c: the library's message callback. Calls are serialised, so a
 * callback never runs twice at once (a copy pulls on one thread while it
 * pushes on another).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/log.h"
#include "util/banned.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static hoist_log_fn log_fn;
static void *log_ctx;

void hoist_log_set(hoist_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void hoist_log(enum hoist_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	log_fn(level, msg, log_ctx);
	pthread_mutex_unlock(&log_lock);
}

static hoist_progress_fn progress_fn;
static void *progress_ctx;

void hoist_progress_set(hoist_progress_fn fn, void *ctx)
{
	progress_fn = fn;
	progress_ctx = ctx;
}

void hoist_progress(const char *id, const char *action, unsigned long long cur,
		    unsigned long long total, int done)
{
	struct hoist_progress p = {id, action, cur, total, done};

	if (!progress_fn)
		return;
	pthread_mutex_lock(&log_lock);
	progress_fn(&p, progress_ctx);
	pthread_mutex_unlock(&log_lock);
}
