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

void hoist_progress_set(hoist_progress_fn fn, void *ctx);
void hoist_progress(const char *id, const char *action, unsigned long long cur,
		    unsigned long long total, int done);

#endif
