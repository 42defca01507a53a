/* err.c: filling and prefixing struct hoist_err. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/banned.h"

void hoist_err_clear(struct hoist_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->sys_errno = 0;
	err->http_status = 0;
	err->msg[0] = '\0';
}

static void err_vformat(struct hoist_err *err, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
}

int hoist_err_set(struct hoist_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	hoist_err_clear(err);
	err->code = code;
	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	return code;
}

int hoist_err_sys(struct hoist_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int code;
	size_t len;

	switch (errnum) {
	case ENOENT:
		code = HOIST_ENOTFOUND;
		break;
	case EEXIST:
		code = HOIST_EEXIST;
		break;
	case ENOMEM:
		code = HOIST_ENOMEM;
		break;
	case EINTR:
		code = HOIST_EINTR;
		break;
	default:
		code = HOIST_EIO;
	}
	if (!err)
		return code;
	hoist_err_clear(err);
	err->code = code;
	err->sys_errno = errnum;
	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		 strerror(errnum));
	return code;
}

int hoist_err_prefix(struct hoist_err *err, const char *fmt, ...)
{
	char prefix[HOIST_ERR_MSG_MAX];
	char old[HOIST_ERR_MSG_MAX];
	va_list ap;
	int n;

	if (!err)
		return HOIST_EIO;
	if (!err->code)
		err->code = HOIST_EIO;
	va_start(ap, fmt);
	n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		return err->code;
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

const char *hoist_err_msg(const struct hoist_err *err)
{
	if (!err)
		return "unknown error";
	if (err->msg[0])
		return err->msg;
	switch (err->code) {
	case HOIST_OK:
		return "success";
	case HOIST_EINVAL:
		return "invalid argument";
	case HOIST_ENOMEM:
		return "out of memory";
	case HOIST_ENOTFOUND:
		return "not found";
	case HOIST_EDIGEST:
		return "digest mismatch";
	default:
		return "unknown error";
	}
}
