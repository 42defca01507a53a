/*
 * err.h: error values and the caller-owned error record.
 *
 * A function that can fail returns 0 or a negative HOIST_E* code and fills a
 * struct hoist_err supplied by its caller (which may be NULL when the caller
 * does not care about the text). Errors are set where they happen; callers
 * add context with hoist_err_prefix(), so a final message reads
 * "build: layer 'rootfs': read 'etc/shadow': Permission denied".
 * Messages are lower case, without a final period, subjects in quotes.
 */
#ifndef HOIST_UTIL_ERR_H
#define HOIST_UTIL_ERR_H

#include <stdarg.h>

enum hoist_errcode {
	HOIST_OK = 0,
	HOIST_EINVAL = -1,	/* bad input: a malformed reference, spec, file */
	HOIST_ENOMEM = -2,	/* out of memory (most allocations abort) */
	HOIST_EIO = -3,		/* a system call failed; sys_errno says why */
	HOIST_ENOTFOUND = -4,	/* a name, blob or file does not exist */
	HOIST_EEXIST = -5,	/* something is in the way */
	HOIST_EDIGEST = -6,	/* content does not match its digest */
	HOIST_EUNSUPPORTED = -7, /* valid but not implemented or refused */
	HOIST_EHTTP = -8,	/* the remote side answered with an error */
	HOIST_ENET = -9,	/* connection-level failure */
	HOIST_EAUTH = -10,	/* credentials missing or refused */
	HOIST_ELIMIT = -11,	/* a size or count limit was exceeded */
	HOIST_EINTR = -12,	/* interrupted by a signal */
};

#define HOIST_ERR_MSG_MAX 1024

struct hoist_err {
	int code;	   /* one of enum hoist_errcode */
	int sys_errno;	   /* errno at the failure, or 0 */
	int http_status;   /* HTTP status, or 0 */
	char msg[HOIST_ERR_MSG_MAX];
};

/* Reset an error record to "no error". err may be NULL. */
void hoist_err_clear(struct hoist_err *err);

/*
 * Record an error. Returns code, so `return hoist_err_set(err, ...)` works.
 * err may be NULL, in which case only the code is returned.
 */
int hoist_err_set(struct hoist_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Record a failed system call: the message gets ": strerror(errnum)"
 * appended, sys_errno is set and the code is HOIST_ENOTFOUND for ENOENT,
 * HOIST_EEXIST for EEXIST, HOIST_ENOMEM for ENOMEM, HOIST_EINTR for EINTR
 * and HOIST_EIO otherwise. Returns the code.
 */
int hoist_err_sys(struct hoist_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prepend "context: " to the message of an error already set. Returns the
 * error's code (HOIST_EIO if err is NULL, so callers can return it).
 */
int hoist_err_prefix(struct hoist_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message of err, or a generic text for its code if it has none. */
const char *hoist_err_msg(const struct hoist_err *err);

#endif
