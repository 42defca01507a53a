/* scan.c: strict number and boolean parsers. */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/scan.h"
#include "util/banned.h"

int hoist_scan_u64(uint64_t *out, const char *s, uint64_t max, const char *what,
		   struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];
	uint64_t v = 0;

	if (!s || !*s)
		return hoist_err_set(err, HOIST_EINVAL, "empty value for %s",
				     what);
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return hoist_err_set(
				err, HOIST_EINVAL, "invalid number '%s' for %s",
				hoist_err_quote(q, sizeof(q), s,
						HOIST_QUOTE_ALL, 0),
				what);
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return hoist_err_set(err, HOIST_EINVAL,
					     "number '%s' for %s is too large",
					     hoist_err_quote(q, sizeof(q), s,
							     HOIST_QUOTE_ALL,
							     0),
					     what);
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
		return hoist_err_set(err, HOIST_EINVAL,
				     "%s must be between %lld and %lld, not "
				     "%lld",
				     what, (long long)min, (long long)max,
				     (long long)v);
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

/* The number at *p up to the byte stop (NUL never matches), advancing *p. */
static int range_num(uint64_t *out, const char **p, char stop, const char *what,
		     struct hoist_err *err)
{
	char num[21];
	size_t n = 0;

	/* leading zeros are allowed and do not count towards the 20 digits */
	while ((*p)[0] == '0' && (*p)[1] >= '0' && (*p)[1] <= '9')
		(*p)++;
	while ((*p)[n] >= '0' && (*p)[n] <= '9') {
		if (n >= sizeof(num) - 1)
			return hoist_err_set(err, HOIST_EINVAL,
					     "%s is too large", what);
		num[n] = (*p)[n];
		n++;
	}
	num[n] = '\0';
	if (!n || (*p)[n] != stop)
		return hoist_err_set(err, HOIST_EINVAL, "%s is not a number",
				     what);
	*p += n + (stop ? 1 : 0);
	return hoist_scan_u64(out, num, UINT64_MAX, what, err);
}

int hoist_scan_content_range(struct hoist_content_range *out, const char *s,
			     struct hoist_err *err)
{
	struct hoist_content_range r = {0, 0, HOIST_RANGE_UNKNOWN, 0};
	char q[HOIST_QUOTE_BUF];
	const char *p = s;
	int rc = 0;

	if (!s || strncasecmp(s, "bytes ", 6) != 0) {
		rc = hoist_err_set(err, HOIST_EINVAL, "not a byte range");
		goto out;
	}
	p += 6;
	if (*p == '*') {
		r.unsatisfied = 1;
		if (p[1] != '/') {
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "'*' without a length");
			goto out;
		}
		p += 2;
		rc = range_num(&r.complete, &p, '\0', "complete length", err);
		if (!rc && r.complete == HOIST_RANGE_UNKNOWN)
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "complete length is too large");
		goto out;
	}
	if ((rc = range_num(&r.first, &p, '-', "first byte", err)) ||
	    (rc = range_num(&r.last, &p, '/', "last byte", err)))
		goto out;
	if (p[0] == '*' && p[1] == '\0')
		r.complete = HOIST_RANGE_UNKNOWN;
	else if ((rc = range_num(&r.complete, &p, '\0', "complete length",
				 err)))
		goto out;
	else if (r.complete == HOIST_RANGE_UNKNOWN)
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "complete length is too large");
	if (!rc && r.last < r.first)
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "last byte before the first");
	if (!rc && r.complete != HOIST_RANGE_UNKNOWN && r.last >= r.complete)
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "last byte past the complete length");
out:
	if (rc) {
		if (err)
			hoist_err_prefix(err, "invalid Content-Range '%s'",
					 hoist_err_quote(q, sizeof(q), s,
							 HOIST_QUOTE_ALL, 0));
		return rc;
	}
	*out = r;
	return 0;
}

int64_t hoist_scan_rfc3339(const char *s)
{
	struct tm tm;
	const char *p;
	int64_t t;
	int sign, oh, om;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == 'z')
		return p[1] ? -1 : t;
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':' ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
		return -1;
	sign = *p == '-' ? -1 : 1;
	oh = (p[1] - '0') * 10 + p[2] - '0';
	om = (p[4] - '0') * 10 + p[5] - '0';
	return t - sign * (oh * 3600 + om * 60);
}
