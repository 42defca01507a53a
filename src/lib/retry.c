/*
 * retry.c: the retry policy of retry.h. Everything here is a pure function
 * of its arguments: the caller supplies the clock and the randomness, so a
 * test can pin every delay, and the upload engine can stay free of I/O.
 *
 * HTTP-dates are turned into Unix seconds by hand (days from the civil
 * date) rather than with timegm(), which is not in POSIX and whose
 * behaviour on out-of-range fields varies between libcs.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "lib/retry.h"
#include "util/scan.h"
#include "util/banned.h"

#define DEF_MAX_ATTEMPTS 8
#define DEF_BASE_MS 500L
#define DEF_MAX_MS 30000L
#define DEF_MAX_AFTER_MS 120000L
#define DEF_MAX_TOTAL_MS 600000L

void hoist_retry_defaults(struct hoist_retry_policy *p)
{
	p->max_attempts = DEF_MAX_ATTEMPTS;
	p->base_ms = DEF_BASE_MS;
	p->max_ms = DEF_MAX_MS;
	p->max_after_ms = DEF_MAX_AFTER_MS;
	p->max_total_ms = DEF_MAX_TOTAL_MS;
}

void hoist_retry_normalize(struct hoist_retry_policy *out,
			   const struct hoist_retry_policy *p)
{
	hoist_retry_defaults(out);
	if (!p)
		return;
	if (p->max_attempts > 0)
		out->max_attempts = p->max_attempts;
	if (p->base_ms > 0)
		out->base_ms = p->base_ms;
	if (p->max_ms > 0)
		out->max_ms = p->max_ms;
	if (p->max_after_ms > 0)
		out->max_after_ms = p->max_after_ms;
	if (p->max_total_ms > 0)
		out->max_total_ms = p->max_total_ms;
}

int hoist_retry_is_transient(int status)
{
	switch (status) {
	case 0:   /* transport failure */
	case 408: /* request timeout */
	case 429: /* too many requests */
	case 499: /* nginx: client closed request */
	case 500:
	case 502:
	case 503:
	case 504:
	case 522: /* cloudflare: connection timed out */
		return 1;
	default:
		return 0;
	}
}

/* --- HTTP-date (RFC 9110 section 5.6.7) --- */

static const char *const wkday_short[] = {"Mon", "Tue", "Wed", "Thu",
					  "Fri", "Sat", "Sun"};
static const char *const wkday_long[] = {"Monday",   "Tuesday", "Wednesday",
					 "Thursday", "Friday",  "Saturday",
					 "Sunday"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec"};

static int eat(const char **s, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*s, lit, n) != 0)
		return -1;
	*s += n;
	return 0;
}

/* Exactly n decimal digits. */
static int digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int one_of(const char **s, const char *const *names, size_t n, int *idx)
{
	for (size_t i = 0; i < n; i++) {
		if (eat(s, names[i]) == 0) {
			*idx = (int)i;
			return 0;
		}
	}
	return -1;
}

static int hms(const char **s, int *h, int *m, int *sec)
{
	if (digits(s, 2, h) || eat(s, ":") || digits(s, 2, m) || eat(s, ":") ||
	    digits(s, 2, sec))
		return -1;
	return *h <= 23 && *m <= 59 && *sec <= 60 ? 0 : -1;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int mon)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return mon == 1 && is_leap(y) ? 29 : d[mon];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (mon 0-11). */
static int64_t days_from_civil(int64_t y, int mon, int mday)
{
	int64_t m = mon + 1;

	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + mday - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The Gregorian year of a Unix time (for RFC 850's two-digit years). */
static int64_t year_of(int64_t t)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	return yoe + era * 400 + (mp >= 10);
}

/* Parse one of the three HTTP-date forms into Unix seconds. */
static int http_date(const char *s, int64_t now, int64_t *out)
{
	int wd, mon, mday, year, h, m, sec;
	int64_t y;

	if (one_of(&s, wkday_long, 7, &wd) == 0) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		if (eat(&s, ", ") || digits(&s, 2, &mday) || eat(&s, "-") ||
		    one_of(&s, month_names, 12, &mon) || eat(&s, "-") ||
		    digits(&s, 2, &year) || eat(&s, " ") ||
		    hms(&s, &h, &m, &sec) || eat(&s, " GMT") || *s)
			return -1;
		/*
		 * RFC 9110: a two-digit year that looks more than 50 years
		 * in the future is the most recent past year ending so.
		 */
		int64_t cur = year_of(now);
		y = cur - cur % 100 + year;
		if (y > cur + 50)
			y -= 100;
	} else if (one_of(&s, wkday_short, 7, &wd) == 0) {
		if (eat(&s, ", ") == 0) {
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			if (digits(&s, 2, &mday) || eat(&s, " ") ||
			    one_of(&s, month_names, 12, &mon) || eat(&s, " ") ||
			    digits(&s, 4, &year) || eat(&s, " ") ||
			    hms(&s, &h, &m, &sec) || eat(&s, " GMT") || *s)
				return -1;
		} else {
			/* asctime: Sun Nov  6 08:49:37 1994 */
			if (eat(&s, " ") || one_of(&s, month_names, 12, &mon) ||
			    eat(&s, " "))
				return -1;
			if (*s == ' ') {
				s++;
				if (digits(&s, 1, &mday))
					return -1;
			} else if (digits(&s, 2, &mday)) {
				return -1;
			}
			if (eat(&s, " ") || hms(&s, &h, &m, &sec) ||
			    eat(&s, " ") || digits(&s, 4, &year) || *s)
				return -1;
		}
		y = year;
	} else {
		return -1;
	}
	(void)wd; /* a wrong weekday is harmless; the date decides */
	if (mday < 1 || mday > month_days(y, mon))
		return -1;
	*out = days_from_civil(y, mon, mday) * 86400 + h * 3600 + m * 60 + sec;
	return 0;
}

int hoist_retry_http_date(const char *value, int64_t now, int64_t *out)
{
	char buf[64];

	if (hoist_scan_trim(buf, sizeof(buf), value))
		return -1;
	return http_date(buf, now, out);
}

long hoist_retry_after_ms(const char *value, int64_t now)
{
	char buf[64];

	if (hoist_scan_trim(buf, sizeof(buf), value))
		return -1;

	if (buf[0] >= '0' && buf[0] <= '9') {
		long sec = 0;

		for (const char *p = buf; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			/* saturate: the caller caps the delay anyway */
			if (sec <= LONG_MAX / 1000 / 10)
				sec = sec * 10 + (*p - '0');
			else
				sec = LONG_MAX / 1000;
		}
		if (sec > LONG_MAX / 1000)
			sec = LONG_MAX / 1000;
		return sec * 1000;
	}

	int64_t t;
	if (http_date(buf, now, &t))
		return -1;
	if (t <= now)
		return 0;
	if (t - now > LONG_MAX / 1000)
		return LONG_MAX / 1000 * 1000;
	return (long)(t - now) * 1000;
}

long hoist_retry_delay(const struct hoist_retry_policy *pol, int attempt,
		       long elapsed_ms, const char *retry_after, int64_t now,
		       uint32_t rnd)
{
	struct hoist_retry_policy p;
	long d, after;

	hoist_retry_normalize(&p, pol);
	if (attempt < 1)
		attempt = 1;
	/* attempt N is the (N+1)th request of the same step */
	if (attempt >= p.max_attempts)
		return -1;
	if (elapsed_ms < 0)
		elapsed_ms = 0;

	d = p.base_ms;
	for (int i = 1; i < attempt && d < p.max_ms; i++)
		d = d > LONG_MAX / 2 ? LONG_MAX : d * 2;
	if (d > p.max_ms)
		d = p.max_ms;
	/* full jitter in [d/2, d] */
	long lo = d / 2;
	d = lo + (long)(rnd % (uint64_t)(d - lo + 1));

	after = hoist_retry_after_ms(retry_after, now);
	if (after >= 0) {
		if (after > p.max_after_ms)
			after = p.max_after_ms;
		if (after > d)
			d = after;
	}
	if (elapsed_ms > p.max_total_ms || d > p.max_total_ms - elapsed_ms)
		return -1;
	return d;
}

long hoist_retry_wait_ms(const struct hoist_retry_policy *pol, int waits,
			 const char *retry_after, int64_t now, uint32_t rnd)
{
	struct hoist_retry_policy p;
	long d, after;

	hoist_retry_normalize(&p, pol);
	if (waits < 1)
		waits = 1;
	if (waits > 4 * p.max_attempts)
		return -1;
	after = hoist_retry_after_ms(retry_after, now);
	if (after < 0) {
		d = p.base_ms;
		for (int i = 1; i < waits && d < p.max_ms; i++)
			d = d > LONG_MAX / 2 ? LONG_MAX : d * 2;
		if (d > p.max_ms)
			d = p.max_ms;
	} else {
		d = after > p.max_after_ms ? p.max_after_ms : after;
	}
	/* jitter: up to a quarter more, at least a little */
	return d + (long)(rnd % (uint64_t)(d / 4 + 100));
}
