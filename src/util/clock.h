/*
 * clock.h: the one monotonic clock, for timeouts, retry deadlines,
 * elapsed-time reports and progress redraw pacing. It never goes back and
 * does not follow changes of the wall clock. Cannot fail.
 */
#ifndef HOIST_UTIL_CLOCK_H
#define HOIST_UTIL_CLOCK_H

#include <stdint.h>

/* Milliseconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
int64_t hoist_clock_ms(void);

#endif
