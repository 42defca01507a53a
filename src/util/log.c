/*
 * log.c: the library's message, progress and step callbacks. Message and
 * progress calls are serialised, so such a callback never runs twice at
 * once (a copy pulls on one thread while it pushes on another). Open
 * steps and statuses are kept per thread (the images of a sync are copied
 * by several threads, each its own step); step numbers are global, and so
 * are the placeholders of steps to come (negative; the callback holds what
 * they report until a step takes them).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void hoist_log_set_progress(hoist_progress_fn fn, void *ctx)
{
	progress_fn = fn;
	progress_ctx = ctx;
}

void hoist_log_progress(const char *id, const char *action,
			unsigned long long cur, unsigned long long total,
			int done)
{
	struct hoist_progress p = {id, action, cur, total, done};

	if (!progress_fn)
		return;
	pthread_mutex_lock(&log_lock);
	progress_fn(&p, progress_ctx);
	pthread_mutex_unlock(&log_lock);
}

#define STEP_DEPTH 8
#define STATUS_DEPTH 8

static hoist_step_fn step_fn;
static void *step_ctx;
static pthread_mutex_t step_lock = PTHREAD_MUTEX_INITIALIZER; /* step_count */
static int step_count;
static int later_count; /* placeholders handed out (hoist_step_later) */
/*
 * Each thread has its own stack of open steps and statuses: the images a
 * sync copies at once are steps of their own threads. A helper thread
 * adopts its starter's step as the bottom of its stack.
 */
static __thread int step_stack[STEP_DEPTH];
static __thread int step_depth;
static __thread int step_adopted;
static __thread struct {
	int step;
	char name[256];
} status_stack[STATUS_DEPTH];
static __thread int status_depth;

void hoist_step_set(hoist_step_fn fn, void *ctx)
{
	step_fn = fn;
	step_ctx = ctx;
}

int hoist_step_current(void)
{
	return step_depth ? step_stack[step_depth - 1] : step_adopted;
}

void hoist_step_adopt(int step)
{
	step_adopted = step;
}

static void emit(enum hoist_step_kind kind, int step, const char *name,
		 int cached, const char *error)
{
	struct hoist_step_event ev = {kind, step, name, cached, error, 0};
	if (step_fn)
		step_fn(&ev, step_ctx);
}

void hoist_step_end(int cached, const char *error)
{
	int n = 0;

	if (step_depth)
		n = step_stack[--step_depth];
	/* statuses left open end with their step */
	while (n && status_depth && status_stack[status_depth - 1].step == n)
		hoist_status_end();
	if (n)
		emit(HOIST_STEP_END, n, "", cached, error);
}

/* Open a step (status 0) or a status of the top step (status 1). */
static void begin(int status, const char *fmt, va_list ap)
{
	char name[256];
	int n;

	vsnprintf(name, sizeof(name), fmt, ap);
	if (status) {
		n = hoist_step_current();
		if (status_depth < STATUS_DEPTH) {
			status_stack[status_depth].step = n;
			memcpy(status_stack[status_depth++].name, name,
			       sizeof(name));
		}
		emit(HOIST_STATUS_BEGIN, n, name, 0, NULL);
		return;
	}
	/* numbered and announced under the lock: they begin in order */
	pthread_mutex_lock(&step_lock);
	n = ++step_count;
	if (step_depth < STEP_DEPTH)
		step_stack[step_depth++] = n;
	emit(HOIST_STEP_BEGIN, n, name, 0, NULL);
	pthread_mutex_unlock(&step_lock);
}

void hoist_step_begin(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	begin(0, fmt, ap);
	va_end(ap);
}

void hoist_status_begin(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	begin(1, fmt, ap);
	va_end(ap);
}

void hoist_status_end(void)
{
	char name[256];
	int n;

	if (!status_depth)
		return;
	status_depth--;
	n = status_stack[status_depth].step;
	memcpy(name, status_stack[status_depth].name, sizeof(name));
	emit(HOIST_STATUS_END, n, name, 0, NULL);
}

int hoist_step_later(void)
{
	int n;

	pthread_mutex_lock(&step_lock);
	n = -++later_count;
	pthread_mutex_unlock(&step_lock);
	return n;
}

void hoist_step_take(int later)
{
	struct hoist_step_event ev = {
		HOIST_STEP_TAKE, hoist_step_current(), "", 0, NULL, later};

	if (step_fn && later < 0)
		step_fn(&ev, step_ctx);
}
