/*
 * err.c: filling and prefixing struct hoist_err, and quoting untrusted text
 * for its messages.
 */
#include <errno.h>
#include <stdint.h>
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

__attribute__((format(printf, 2, 0))) static void
err_vformat(struct hoist_err *err, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
}

int hoist_err_setv(struct hoist_err *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	hoist_err_clear(err);
	err->code = code;
	err_vformat(err, fmt, ap);
	return code;
}

int hoist_err_set(struct hoist_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = hoist_err_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int hoist_err_sys(struct hoist_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = hoist_err_sysv(err, errnum, fmt, ap);
	va_end(ap);
	return code;
}

int hoist_err_sysv(struct hoist_err *err, int errnum, const char *fmt,
		   va_list ap)
{
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
	err_vformat(err, fmt, ap);
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

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes, n >= 1,
 * s[0] >= 0x80) that may be shown raw, or 0 when its bytes must be
 * escaped. The ranges are those of RFC 3629 section 4. A NUL is never a
 * continuation byte, so this never reads past the end of the string.
 */
static size_t utf8_shown(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	uint32_t cp;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp <= 0x9f || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return len;
}

char *hoist_err_quote(char *dst, size_t dstlen, const char *s, size_t n,
		      unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t cap, o = 0, mark = 0, i = 0;

	if (dstlen == 0)
		return dst;
	cap = dstlen - 1;
	while (i < n && p[i]) {
		char esc[4];
		const char *unit = esc;
		size_t k = 0, raw = 0;
		unsigned char c = p[i];

		if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
			esc[k++] = '\\';
			esc[k++] = c == '\\'   ? '\\'
				   : c == '\t' ? 't'
				   : c == '\n' ? 'n'
					       : 'r';
		} else if (c >= 0x20 && c < 0x7f) {
			esc[k++] = (char)c;
		} else if (c >= 0x80 && (flags & HOIST_QUOTE_UTF8) &&
			   (raw = utf8_shown(p + i, n - i)) != 0) {
			unit = (const char *)p + i;
			k = raw;
		} else {
			esc[k++] = '\\';
			esc[k++] = 'x';
			esc[k++] = hex[c >> 4];
			esc[k++] = hex[c & 0xf];
		}
		if (k > cap - o) {
			/* Back off to where "..." fits; cap < 3 shows less. */
			o = mark;
			for (int d = 0; d < 3 && o < cap; d++)
				dst[o++] = '.';
			break;
		}
		memcpy(dst + o, unit, k);
		o += k;
		i += raw ? raw : 1;
		if (cap >= 3 && o <= cap - 3)
			mark = o;
	}
	dst[o] = '\0';
	return dst;
}
