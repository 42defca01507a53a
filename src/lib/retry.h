/*
 * retry.h: the retry policy, pure functions with no I/O or clock of their
 * own (the caller passes the time and the randomness), so tests can pin
 * every decision.
 *
 *  - Transient: transport failures (connection refused/reset, timeouts),
 *    408, 429, 500, 502, 503, 504 (also 499 and 522 seen behind proxies).
 *  - Permanent: everything else 4xx/5xx; 401 is handled by auth first.
 *  - Backoff: exponential from base_ms doubling per attempt, capped at
 *    max_ms, with full jitter in [delay/2, delay]; Retry-After (seconds or
 *    an HTTP-date) overrides it when larger, capped at max_after_ms.
 *  - Bounds: at most max_attempts attempts and max_total_ms in total.
 *  - Rate limits: a 429 means the request was not processed. It is a wait,
 *    not a failure: the same request goes again after Retry-After (capped
 *    at max_after_ms) plus up to a quarter more of jitter, so clients
 *    woken together do not collide again; without Retry-After after the
 *    backoff above. Waits have their own bound (hoist_retry_wait_ms).
 */
#ifndef HOIST_LIB_RETRY_H
#define HOIST_LIB_RETRY_H

#include <stdint.h>

struct hoist_retry_policy {
	int max_attempts;  /* default 8 */
	long base_ms;      /* default 500 */
	long max_ms;       /* default 30000 */
	long max_after_ms; /* default 120000 (Retry-After cap) */
	long max_total_ms; /* default 600000 */
};

/* Fill the defaults above. */
void hoist_retry_defaults(struct hoist_retry_policy *p);

/*
 * Copy p into out with every field <= 0 replaced by its default, so a
 * zeroed (or partly filled) policy means "defaults". p may be NULL.
 * hoist_retry_delay() applies this to the policy it is given.
 */
void hoist_retry_normalize(struct hoist_retry_policy *out,
			   const struct hoist_retry_policy *p);

/* 1 if an HTTP status (or 0 = transport failure) is worth retrying. */
int hoist_retry_is_transient(int status);

/*
 * Parse a Retry-After value (delta seconds or IMF-fixdate/RFC 850/asctime
 * HTTP-date) relative to now (Unix seconds). Returns milliseconds >= 0,
 * or -1 if absent or unparsable.
 */
long hoist_retry_after_ms(const char *value, int64_t now);

/*
 * Parse an HTTP-date (IMF-fixdate, RFC 850 or asctime; white space
 * around it ignored) into Unix seconds; now places RFC 850's two-digit
 * years. 0, or -1 for anything else (Last-Modified of ADD URL).
 */
int hoist_retry_http_date(const char *value, int64_t now, int64_t *out);

/*
 * The delay before attempt number `attempt` (1 = the first retry), given
 * the time already spent (elapsed_ms), an optional Retry-After value and a
 * random 32-bit number. Returns -1 when the policy says stop: attempt >=
 * max_attempts (the first request plus max_attempts - 1 retries), or
 * elapsed_ms plus the delay would pass max_total_ms. A Retry-After in the
 * past counts as 0; an unparsable one is ignored.
 */
long hoist_retry_delay(const struct hoist_retry_policy *p, int attempt,
		       long elapsed_ms, const char *retry_after, int64_t now,
		       uint32_t rnd);

/*
 * The wait before sending a request again after its waits-th 429 in a row
 * (1 = the first), given its Retry-After value (may be NULL), the time and
 * a random number. Returns -1 when waits > 4 * max_attempts (32 by
 * default): a limiter that refuses every request forever ends the step.
 * Never longer than max_after_ms plus its jitter.
 */
long hoist_retry_wait_ms(const struct hoist_retry_policy *p, int waits,
			 const char *retry_after, int64_t now, uint32_t rnd);

#endif
