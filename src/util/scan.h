/*
 * scan.h: bounded, strict number parsers for untrusted text. They accept
 * the whole string or fail; no sign, space or trailing garbage slips by.
 * The hoist_scan_u64/i64/bool functions return 0, or HOIST_EINVAL (empty,
 * malformed or out of range; the message names what) with *out untouched.
 * Nothing is allocated.
 */
#ifndef HOIST_UTIL_SCAN_H
#define HOIST_UTIL_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Decimal digits only, value <= max. what names the field for errors. */
int hoist_scan_u64(uint64_t *out, const char *s, uint64_t max, const char *what,
		   struct hoist_err *err);
/* Optional leading '-', then decimal digits, min <= value <= max. */
int hoist_scan_i64(int64_t *out, const char *s, int64_t min, int64_t max,
		   const char *what, struct hoist_err *err);
/*
 * Go strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
 * Anything else is HOIST_EINVAL ("non-bool value specified for <what>").
 */
int hoist_scan_bool(int *out, const char *s, const char *what,
		    struct hoist_err *err);

/* A complete length that was "*". */
#define HOIST_RANGE_UNKNOWN UINT64_MAX

/* A Content-Range value (RFC 9110 section 14.4), in bytes. */
struct hoist_content_range {
	uint64_t first, last; /* inclusive; 0 and 0 when unsatisfied */
	uint64_t complete;    /* the whole length, or HOIST_RANGE_UNKNOWN */
	int unsatisfied;      /* "bytes *" "/N", the answer of a 416 */
};

/*
 * Parse "bytes FIRST-LAST/COMPLETE" (COMPLETE may be a star) or the
 * unsatisfied form, a star, a slash and COMPLETE, strictly: the unit is "bytes"
 * in any case followed by one space, the numbers are decimal digits that fit in
 * 64 bits, no space or sign anywhere, first <= last < complete. Trim the header
 * first (hoist_scan_trim). 0 and *out filled, or HOIST_EINVAL ("invalid
 * Content-Range 'S': why", S quoted) with *out untouched.
 */
int hoist_scan_content_range(struct hoist_content_range *out, const char *s,
			     struct hoist_err *err);

/*
 * Copy s without leading and trailing spaces and tabs into buf (of len
 * bytes, NUL-terminated). -1 if s is NULL, empty after trimming, or does
 * not fit; 0 otherwise. For header values.
 */
int hoist_scan_trim(char *buf, size_t len, const char *s);

/*
 * An RFC 3339 date-time ("2026-11-27T15:00:00Z", fractions and +hh:mm
 * offsets allowed) as Unix seconds; -1 if s is not one.
 */
int64_t hoist_scan_rfc3339(const char *s);

#endif
