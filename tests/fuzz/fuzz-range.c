/*
 * fuzz-range.c: the Content-Range parser (hoist_scan_content_range), which
 * reads a header of every resumed pull, against a second, independent
 * reading of RFC 9110's grammar written here, digit by digit.
 *
 * Invariants: both readings accept exactly the same strings and find the
 * same numbers; an accepted range has first <= last < complete (when the
 * length is known) and prints back to a string that parses to the same
 * range; a refusal is HOIST_EINVAL with a one-line message and leaves the
 * output untouched.
 */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "util/mem.h"
#include "util/scan.h"
#include "util/banned.h"

/* Digits at *p into *v; 0 if there are none or they overflow 64 bits. */
static int ref_num(const char **p, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(*s - '0'), v))
			return 0;
	*p = s;
	return 1;
}

static int ref_parse(const char *s, struct hoist_content_range *r)
{
	memset(r, 0, sizeof(*r));
	r->complete = HOIST_RANGE_UNKNOWN;
	if (strncasecmp(s, "bytes ", 6))
		return 0;
	s += 6;
	if (s[0] == '*' && s[1] == '/') {
		s += 2;
		r->unsatisfied = 1;
		return ref_num(&s, &r->complete) && !*s &&
		       r->complete != HOIST_RANGE_UNKNOWN;
	}
	if (!ref_num(&s, &r->first) || *s++ != '-' || !ref_num(&s, &r->last) ||
	    *s++ != '/')
		return 0;
	if (s[0] == '*' && !s[1])
		r->complete = HOIST_RANGE_UNKNOWN;
	else if (!ref_num(&s, &r->complete) || *s ||
		 r->complete == HOIST_RANGE_UNKNOWN)
		return 0;
	return r->first <= r->last &&
	       (r->complete == HOIST_RANGE_UNKNOWN || r->last < r->complete);
}

static int same(const struct hoist_content_range *a,
		const struct hoist_content_range *b)
{
	return a->first == b->first && a->last == b->last &&
	       a->complete == b->complete && a->unsatisfied == b->unsatisfied;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = hoist_xstrndup((const char *)data, size);
	struct hoist_content_range r, want, again;
	struct hoist_err err;
	char back[96];
	int rc;

	memset(&r, 0x5a, sizeof(r));
	rc = hoist_scan_content_range(&r, s, &err);
	FUZZ_CHECK(ref_parse(s, &want) == (rc == 0));
	if (rc) {
		struct hoist_content_range untouched;

		memset(&untouched, 0x5a, sizeof(untouched));
		FUZZ_CHECK(rc == HOIST_EINVAL && err.code == rc);
		FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
		FUZZ_CHECK(memcmp(&r, &untouched, sizeof(r)) == 0);
		free(s);
		return 0;
	}
	FUZZ_CHECK(same(&r, &want));
	if (r.unsatisfied) {
		FUZZ_CHECK(r.first == 0 && r.last == 0);
		snprintf(back, sizeof(back), "bytes */%llu",
			 (unsigned long long)r.complete);
	} else if (r.complete == HOIST_RANGE_UNKNOWN) {
		snprintf(back, sizeof(back), "bytes %llu-%llu/*",
			 (unsigned long long)r.first,
			 (unsigned long long)r.last);
	} else {
		FUZZ_CHECK(r.first <= r.last && r.last < r.complete);
		snprintf(back, sizeof(back), "bytes %llu-%llu/%llu",
			 (unsigned long long)r.first,
			 (unsigned long long)r.last,
			 (unsigned long long)r.complete);
	}
	FUZZ_CHECK(hoist_scan_content_range(&again, back, NULL) == 0);
	FUZZ_CHECK(same(&r, &again));
	free(s);
	return 0;
}
