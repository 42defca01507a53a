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

/*
 * Copy s without leading and trailing spaces and tabs into buf (of len
 * bytes, NUL-terminated). -1 if s is NULL, empty after trimming, or does
 * not fit; 0 otherwise. For header values.
 */
int hoist_scan_trim(char *buf, size_t len, const char *s);

#endif
