/* scan.c: strict number and boolean parsers. */
#include <string.h>

#include "util/scan.h"
#include "util/banned.h"

int hoist_scan_u64(uint64_t *out, const char *s, uint64_t max, const char *what,
		   struct hoist_err *err)
{
	uint64_t v = 0;

	if (!s || !*s)
		return hoist_err_set(err, HOIST_EINVAL, "empty value for %s",
				     what);
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid number '%s' for %s", s,
					     what);
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return hoist_err_set(err, HOIST_EINVAL,
					     "number '%s' for %s is too large",
					     s, what);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int hoist_scan_i64(int64_t *out, const char *s, int64_t min, int64_t max,
		   const char *what, struct hoist_err *err)
{
	uint64_t mag;
	int neg = s && s[0] == '-';
	int rc;

	rc = hoist_scan_u64(&mag, neg ? s + 1 : s,
			    neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX,
			    what, err);
	if (rc)
		return rc;
	int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	if (v < min || v > max)
		return hoist_err_set(
			err, HOIST_EINVAL,
			"%s must be between %lld and %lld, not '%s'", what,
			(long long)min, (long long)max, s);
	*out = v;
	return 0;
}

int hoist_scan_bool(int *out, const char *s, const char *what,
		    struct hoist_err *err)
{
	static const char *const yes[] = {"1",    "t",    "T",
					  "TRUE", "true", "True"};
	static const char *const no[] = {"0",     "f",     "F",
					 "FALSE", "false", "False"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return hoist_err_set(err, HOIST_EINVAL,
			     "non-bool value specified for %s: '%s'", what, s);
}

int hoist_scan_trim(char *buf, size_t len, const char *s)
{
	const char *e;
	size_t n;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - s);
	if (n == 0 || n >= len)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}
