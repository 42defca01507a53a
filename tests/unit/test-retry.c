/*
 * test-retry.c: the retry policy: which failures are transient, Retry-After
 * in all its forms, the backoff with its jitter bounds and caps, and when
 * the policy says stop.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/retry.h"
#include "util/mem.h"
#include "util/banned.h"

#define T1994 INT64_C(784111777)  /* Sun, 06 Nov 1994 08:49:37 GMT */
#define T2026 INT64_C(1767225600) /* Thu, 01 Jan 2026 00:00:00 GMT */

static void same_policy(const struct hoist_retry_policy *a,
			const struct hoist_retry_policy *b)
{
	assert_int_equal(a->max_attempts, b->max_attempts);
	assert_int_equal(a->base_ms, b->base_ms);
	assert_int_equal(a->max_ms, b->max_ms);
	assert_int_equal(a->max_after_ms, b->max_after_ms);
	assert_int_equal(a->max_total_ms, b->max_total_ms);
}

static void test_defaults(void **state)
{
	struct hoist_retry_policy p, n, zero;

	(void)state;
	hoist_retry_defaults(&p);
	assert_int_equal(p.max_attempts, 8);
	assert_int_equal(p.base_ms, 500);
	assert_int_equal(p.max_ms, 30000);
	assert_int_equal(p.max_after_ms, 120000);
	assert_int_equal(p.max_total_ms, 600000);

	memset(&zero, 0, sizeof(zero));
	hoist_retry_normalize(&n, &zero);
	same_policy(&n, &p);
	hoist_retry_normalize(&n, NULL);
	same_policy(&n, &p);
	zero.base_ms = 7;
	zero.max_attempts = -3;
	hoist_retry_normalize(&n, &zero);
	assert_int_equal(n.base_ms, 7);
	assert_int_equal(n.max_attempts, 8);
}

static void test_transient(void **state)
{
	static const int yes[] = {0, 408, 429, 499, 500, 502, 503, 504, 522};
	static const int no[] = {200, 201, 202, 204, 301, 400, 401, 403,
				 404, 405, 409, 411, 413, 416, 501, 505};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(yes); i++)
		if (!hoist_retry_is_transient(yes[i]))
			fail_msg("%d should be transient", yes[i]);
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(no); i++)
		if (hoist_retry_is_transient(no[i]))
			fail_msg("%d should be permanent", no[i]);
}

struct after {
	const char *v;
	int64_t now;
	long ms;
};

static void test_retry_after(void **state)
{
	static const struct after cases[] = {
		/* delta seconds */
		{"0", 0, 0},
		{"1", 0, 1000},
		{"120", T1994, 120000},
		{" 7\t", 0, 7000},
		{"0003", 0, 3000},
		/* saturates instead of overflowing */
		{"99999999999999999999999", 0, LONG_MAX / 1000 * 1000},
		/* the three HTTP-date forms, 10 s ahead */
		{"Sun, 06 Nov 1994 08:49:37 GMT", T1994 - 10, 10000},
		{"Sunday, 06-Nov-94 08:49:37 GMT", T1994 - 10, 10000},
		{"Sun Nov  6 08:49:37 1994", T1994 - 10, 10000},
		{"Sun Nov 06 08:49:37 1994", T1994 - 10, 10000},
		/* in the past or now: no wait */
		{"Sun, 06 Nov 1994 08:49:37 GMT", T1994, 0},
		{"Sun, 06 Nov 1994 08:49:37 GMT", T1994 + 3600, 0},
		/* leap day, and the weekday is not cross-checked */
		{"Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 - 2, 2000},
		{"Mon, 29 Feb 2024 00:00:00 GMT", 1709164800 - 2, 2000},
		{"Thu, 01 Jan 2026 00:01:00 GMT", T2026, 60000},
		{"Thu, 31 Dec 2026 23:59:60 GMT", T2026, (365L * 86400) * 1000},
		/* RFC 850 years: 30 is 2030, 77 is 1977 (more than 50 years
		   ahead of 2026 would be 2077) */
		{"Tuesday, 01-Jan-30 00:00:00 GMT", T2026,
		 (4L * 365 + 1) * 86400 * 1000},
		{"Saturday, 01-Jan-77 00:00:00 GMT", T2026, 0},
		/* garbage */
		{NULL, 0, -1},
		{"", 0, -1},
		{"   ", 0, -1},
		{"soon", 0, -1},
		{"-5", 0, -1},
		{"+5", 0, -1},
		{"1.5", 0, -1},
		{"12a", 0, -1},
		{"5 5", 0, -1},
		{"Sun, 32 Nov 1994 08:49:37 GMT", 0, -1},
		{"Sun, 29 Feb 1995 08:49:37 GMT", 0, -1},
		{"Sun, 00 Nov 1994 08:49:37 GMT", 0, -1},
		{"Sun, 06 Nov 1994 24:00:00 GMT", 0, -1},
		{"Sun, 06 Nov 1994 08:60:00 GMT", 0, -1},
		{"Sun, 06 Nov 1994 08:49:37 UTC", 0, -1},
		{"Sun, 06 Nov 1994 08:49:37 GMT x", 0, -1},
		{"Sun, 06 Nov 94 08:49:37 GMT", 0, -1},
		{"Sun, 6 Nov 1994 08:49:37 GMT", 0, -1},
		{"Sun, 06 November 1994 08:49:37 GMT", 0, -1},
		{"sun, 06 nov 1994 08:49:37 gmt", 0, -1},
		{"Sunday, 06-Nov-1994 08:49:37 GMT", 0, -1},
		{"Sun Nov 6 08:49:37 1994", 0, -1},
		{"Sun Nov  6 08:49:37 94", 0, -1},
		{"Fun, 06 Nov 1994 08:49:37 GMT", 0, -1},
	};

	(void)state;
	for (size_t i = 0; i < HOIST_ARRAY_SIZE(cases); i++) {
		long got = hoist_retry_after_ms(cases[i].v, cases[i].now);
		if (got != cases[i].ms)
			fail_msg("'%s': %ld, expected %ld",
				 cases[i].v ? cases[i].v : "(null)", got,
				 cases[i].ms);
	}
}

static void test_backoff(void **state)
{
	struct hoist_retry_policy p;
	static const uint32_t rnds[] = {
		0,     1,          2,          249,        250,       251,
		12345, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};

	(void)state;
	hoist_retry_defaults(&p);
	/* rnd 0 is the low end of [d/2, d] */
	assert_int_equal(hoist_retry_delay(&p, 1, 0, NULL, 0, 0), 250);
	assert_int_equal(hoist_retry_delay(&p, 2, 0, NULL, 0, 0), 500);
	assert_int_equal(hoist_retry_delay(&p, 3, 0, NULL, 0, 0), 1000);
	/* d - d/2 + 1 values: rnd 250 wraps to the low end again */
	assert_int_equal(hoist_retry_delay(&p, 1, 0, NULL, 0, 250), 500);
	assert_int_equal(hoist_retry_delay(&p, 1, 0, NULL, 0, 251), 250);
	/* attempt 0 counts as the first retry */
	assert_int_equal(hoist_retry_delay(&p, 0, 0, NULL, 0, 0), 250);

	for (int a = 1; a < 8; a++) {
		long d = 500L << (a - 1);
		if (d > 30000)
			d = 30000;
		long lo = 1000000, hi = -1;
		for (size_t i = 0; i < HOIST_ARRAY_SIZE(rnds); i++) {
			long got =
				hoist_retry_delay(&p, a, 0, NULL, 0, rnds[i]);
			assert_in_range(got, d / 2, d);
			lo = got < lo ? got : lo;
			hi = got > hi ? got : hi;
		}
		for (uint32_t r = 0; r < 5000; r += 7) {
			long got = hoist_retry_delay(&p, a, 0, NULL, 0, r);
			assert_in_range(got, d / 2, d);
		}
		assert_int_equal(lo, d / 2);
		(void)hi;
		/* the top is reachable */
		assert_int_equal(hoist_retry_delay(&p, a, 0, NULL, 0,
						   (uint32_t)(d - d / 2)),
				 d);
	}

	/* the cap: a huge max_attempts does not overflow the doubling */
	p.max_attempts = 1000;
	for (int a = 7; a < 1000; a += 97) {
		long got = hoist_retry_delay(&p, a, 0, NULL, 0, 0xffffffffu);
		assert_in_range(got, 15000, 30000);
	}
	p.max_ms = 800;
	assert_int_equal(hoist_retry_delay(&p, 5, 0, NULL, 0, 0), 400);
}

static void test_retry_after_override(void **state)
{
	struct hoist_retry_policy p;

	(void)state;
	hoist_retry_defaults(&p);
	/* larger Retry-After wins */
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "10", 0, 0), 10000);
	assert_int_equal(hoist_retry_delay(&p, 1, 0,
					   "Sun, 06 Nov 1994 08:50:37 GMT",
					   T1994, 0),
			 60000);
	/* smaller one does not shorten the backoff */
	assert_int_equal(hoist_retry_delay(&p, 4, 0, "1", 0, 0), 2000);
	assert_int_equal(hoist_retry_delay(&p, 4, 0, "0", 0, 0), 2000);
	/* garbage is ignored */
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "later", 0, 0), 250);
	/* capped at max_after_ms, not at max_ms */
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "3600", 0, 0), 120000);
	p.max_after_ms = 45000;
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "3600", 0, 0), 45000);
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "40", 0, 0), 40000);
}

static void test_stop(void **state)
{
	struct hoist_retry_policy p;

	(void)state;
	hoist_retry_defaults(&p);
	/* 8 attempts: the first request and 7 retries */
	assert_true(hoist_retry_delay(&p, 7, 0, NULL, 0, 0) > 0);
	assert_int_equal(hoist_retry_delay(&p, 8, 0, NULL, 0, 0), -1);
	assert_int_equal(hoist_retry_delay(&p, 100, 0, NULL, 0, 0), -1);
	p.max_attempts = 1;
	assert_int_equal(hoist_retry_delay(&p, 1, 0, NULL, 0, 0), -1);

	/* total time: elapsed plus the delay must stay within the bound */
	hoist_retry_defaults(&p);
	assert_int_equal(hoist_retry_delay(&p, 1, 599750, NULL, 0, 0), 250);
	assert_int_equal(hoist_retry_delay(&p, 1, 599751, NULL, 0, 0), -1);
	assert_int_equal(hoist_retry_delay(&p, 1, 600001, NULL, 0, 0), -1);
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "600", 0, 0), 120000);
	assert_int_equal(hoist_retry_delay(&p, 1, 500000, "120", 0, 0), -1);
	p.max_total_ms = 5000;
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "5", 0, 0), 5000);
	assert_int_equal(hoist_retry_delay(&p, 1, 0, "6", 0, 0), -1);
	/* negative elapsed (clock steps) counts as 0 */
	assert_int_equal(hoist_retry_delay(&p, 1, -100, NULL, 0, 0), 250);
	/* a NULL or zeroed policy means the defaults */
	assert_int_equal(hoist_retry_delay(NULL, 1, 0, NULL, 0, 0), 250);
	assert_int_equal(hoist_retry_delay(NULL, 8, 0, NULL, 0, 0), -1);
}

/* 429 waits: Retry-After (capped) plus jitter, their own bound */
static void test_wait(void **state)
{
	struct hoist_retry_policy p;

	(void)state;
	hoist_retry_defaults(&p);
	/* Retry-After 2 s: 2000 plus up to 2000/4+100 of jitter */
	assert_int_equal(hoist_retry_wait_ms(&p, 1, "2", 0, 0), 2000);
	assert_int_equal(hoist_retry_wait_ms(&p, 1, "2", 0, 599), 2599);
	assert_int_equal(hoist_retry_wait_ms(&p, 1, "2", 0, 600), 2000);
	/* capped at max_after_ms, whatever the server asks */
	assert_int_equal(hoist_retry_wait_ms(&p, 1, "86400", 0, 0), 120000);
	/* an HTTP-date */
	assert_int_equal(hoist_retry_wait_ms(&p, 1,
					     "Sun, 06 Nov 1994 08:49:37 GMT",
					     INT64_C(784111777) - 3, 0),
			 3000);
	/* none or garbage: the backoff, doubling, capped at max_ms */
	assert_int_equal(hoist_retry_wait_ms(&p, 1, NULL, 0, 0), 500);
	assert_int_equal(hoist_retry_wait_ms(&p, 3, "soon", 0, 0), 2000);
	assert_int_equal(hoist_retry_wait_ms(&p, 30, NULL, 0, 0), 30000);
	/* not bounded by max_attempts or max_total_ms, by 4 x attempts */
	assert_true(hoist_retry_wait_ms(&p, 32, "1", 0, 0) >= 1000);
	assert_int_equal(hoist_retry_wait_ms(&p, 33, "1", 0, 0), -1);
	p.max_attempts = 2;
	assert_true(hoist_retry_wait_ms(&p, 8, "1", 0, 0) >= 1000);
	assert_int_equal(hoist_retry_wait_ms(&p, 9, "1", 0, 0), -1);
	assert_int_equal(hoist_retry_wait_ms(NULL, 1, "1", 0, 0), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry_after_override),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
