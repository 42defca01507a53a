/*
 * log.h: the library never prints. It reports progress and warnings through
 * a callback the CLI installs; with none installed, messages are dropped.
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

#endif
