/*
 * log.h: the library never prints. It reports progress and warnings through
 * a callback the CLI installs; with none installed, messages are dropped.
 * Nothing here fails. The strings a callback receives (msg, and the
 * members of struct hoist_progress) are valid only during the call.
 */
#ifndef HOIST_UTIL_LOG_H
#define HOIST_UTIL_LOG_H

enum hoist_log_level {
	HOIST_LOG_DEBUG,
	HOIST_LOG_INFO,
	HOIST_LOG_WARN,
};

typedef void (*hoist_log_fn)(enum hoist_log_level level, const char *msg,
			     void *ctx);

void hoist_log_set(hoist_log_fn fn, void *ctx);
void hoist_log(enum hoist_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Progress of one transfer or step, identified by id (a digest, say):
 * cur of total bytes (total 0 when unknown), and done when finished.
 * The CLI renders it as plain lines or as live bars on a terminal.
 */
struct hoist_progress {
	const char *id;
	const char *action; /* "pushing", "retrying", ... */
	unsigned long long cur, total;
	int done;
};

typedef void (*hoist_progress_fn)(const struct hoist_progress *p, void *ctx);

void hoist_log_set_progress(hoist_progress_fn fn, void *ctx);
void hoist_log_progress(const char *id, const char *action,
			unsigned long long cur, unsigned long long total,
			int done);

/*
 * Steps: BuildKit's vertexes ("exporting to image"), numbered from 1 in
 * the order they begin. Steps nest: hoist_step_begin opens a step on top
 * of the open ones and hoist_step_end closes the top one (cached: its
 * result was reused; error: why it failed, or NULL). A status
 * ("exporting layers", "naming to NAME") belongs to the top step:
 * hoist_status_begin opens it, hoist_status_end closes the latest open
 * one. INFO messages and hoist_log_progress() transfers belong to the top step
 * too (step 0 when none is open). Ending with nothing open does nothing.
 */
enum hoist_step_kind {
	HOIST_STEP_BEGIN,
	HOIST_STEP_END,
	HOIST_STATUS_BEGIN,
	HOIST_STATUS_END,
	HOIST_STEP_TAKE,
};

struct hoist_step_event {
	enum hoist_step_kind kind;
	int step;          /* the step number */
	const char *name;  /* step name, or status id */
	int cached;        /* HOIST_STEP_END */
	const char *error; /* HOIST_STEP_END: NULL on success */
	int later;         /* HOIST_STEP_TAKE: the placeholder step taken */
};

typedef void (*hoist_step_fn)(const struct hoist_step_event *ev, void *ctx);

void hoist_step_set(hoist_step_fn fn, void *ctx);
void hoist_step_begin(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void hoist_step_end(int cached, const char *error);
void hoist_status_begin(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void hoist_status_end(void);
/*
 * Open steps and statuses belong to the calling thread: steps begun on
 * several threads at once (a sync's images) each get their own number and
 * nest only within their thread. hoist_step_current() is the calling
 * thread's top open step, else the step it adopted, else 0.
 * hoist_step_adopt(n) makes a helper thread's messages, transfers and
 * statuses belong to step n (its starter's hoist_step_current()) while it
 * has no step of its own open.
 */
int hoist_step_current(void);
void hoist_step_adopt(int step);
/*
 * Work that starts before the step it belongs to (a push that uploads
 * layers while the build's steps run belongs to "exporting to image"):
 * hoist_step_later() returns a placeholder, a negative step number, for a
 * helper thread to hoist_step_adopt(). What that thread reports meanwhile
 * (messages, transfers, statuses) is held, not shown. hoist_step_take()
 * hands what was held, in the order it came, to the calling thread's
 * current step (HOIST_STEP_TAKE), which gets all the helper reports from
 * then on. What a placeholder never taken held is never shown.
 */
int hoist_step_later(void);
void hoist_step_take(int later);

#endif
