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
#include <stddef.h>

enum hoist_errcode {
	HOIST_OK = 0,
	HOIST_EINVAL = -1,    /* bad input: a malformed reference, spec, file */
	HOIST_ENOMEM = -2,    /* out of memory (most allocations abort) */
	HOIST_EIO = -3,       /* a system call failed; sys_errno says why */
	HOIST_ENOTFOUND = -4, /* a name, blob or file does not exist */
	HOIST_EEXIST = -5,    /* something is in the way */
	HOIST_EDIGEST = -6,   /* content does not match its digest */
	HOIST_EUNSUPPORTED = -7, /* valid but not implemented or refused */
	HOIST_EHTTP = -8,        /* the remote side answered with an error */
	HOIST_ENET = -9,         /* connection-level failure */
	HOIST_EAUTH = -10,       /* credentials missing or refused */
	HOIST_ELIMIT = -11,      /* a size or count limit was exceeded */
	HOIST_EINTR = -12,       /* interrupted by a signal */
	HOIST_ETLS = -13,        /* TLS handshake or certificate failure */
	HOIST_ETIMEDOUT = -14,   /* the overall deadline (--timeout) passed */
};

#define HOIST_ERR_MSG_MAX 1024

struct hoist_err {
	int code;        /* one of enum hoist_errcode */
	int sys_errno;   /* errno at the failure, or 0 */
	int http_status; /* HTTP status, or 0 */
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

/* hoist_err_set() for a va_list, to build helpers that add context. */
int hoist_err_setv(struct hoist_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Record a failed system call: the message gets ": strerror(errnum)"
 * appended, sys_errno is set and the code is HOIST_ENOTFOUND for ENOENT,
 * HOIST_EEXIST for EEXIST, HOIST_ENOMEM for ENOMEM, HOIST_EINTR for EINTR
 * and HOIST_EIO otherwise. Returns the code.
 */
int hoist_err_sys(struct hoist_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* hoist_err_sys() for a va_list. */
int hoist_err_sysv(struct hoist_err *err, int errnum, const char *fmt,
		   va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * Prepend "context: " to the message of an error already set. Returns the
 * error's code (HOIST_EIO if err is NULL, so callers can return it).
 */
int hoist_err_prefix(struct hoist_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message of err, or a generic text for its code if it has none. */
const char *hoist_err_msg(const struct hoist_err *err);

/* hoist_err_quote() flag: keep well-formed UTF-8 readable (see below). */
#define HOIST_QUOTE_UTF8 0x1u
/* hoist_err_quote() length meaning "up to the terminating NUL". */
#define HOIST_QUOTE_ALL ((size_t)-1)
/* A hoist_err_quote() buffer size for most echoes: 160 bytes, "...", NUL. */
#define HOIST_QUOTE_BUF (160 + 4)

/*
 * Render untrusted text for an error message, so that a hostile string can
 * neither reach a terminal as control sequences nor break the message over
 * several lines, and the reader can still tell every byte apart.
 *
 * Reads at most n bytes of s, stopping early at a NUL (n may be
 * HOIST_QUOTE_ALL; s may be NULL, read as ""). Printable ASCII, the single
 * quote included, is copied as is. A backslash becomes "\\", tab, newline
 * and carriage return become "\t", "\n" and "\r", and every other byte
 * below 0x20 and 0x7f becomes "\xNN" (two lower-case hex digits), so a
 * backslash in the output always starts an escape.
 *
 * Bytes from 0x80 up become "\xNN" too, unless flags has HOIST_QUOTE_UTF8:
 * then a well-formed UTF-8 sequence (shortest form, no surrogates, at most
 * U+10FFFF, all of it within the n bytes) is copied unchanged, so file
 * names in any script stay readable. Even then the bytes are
 * escaped one by one for a malformed sequence, a C1 control (U+0080 to
 * U+009F), a line or paragraph separator (U+2028, U+2029) and a
 * bidirectional control (U+200E, U+200F, U+202A to U+202E, U+2066 to
 * U+2069), which could reorder or hide the text around it. Leave the flag
 * out for text whose grammar is ASCII (digests, references, platforms):
 * there the offending byte is the news, and a raw no-break space would
 * look like a plain one.
 *
 * The result always fits in dstlen bytes and is NUL-terminated (nothing is
 * written when dstlen is 0). When the whole rendering does not fit, it is
 * cut after the last escape or character for which "..." still fits, and
 * "..." is appended; an escape or a UTF-8 sequence is never split. Size dst
 * as the longest echo wanted plus 4 (for "..." and the NUL); dstlen should
 * be at least 4 for the "..." to be visible. Returns dst.
 */
char *hoist_err_quote(char *dst, size_t dstlen, const char *s, size_t n,
		      unsigned flags);

#endif
