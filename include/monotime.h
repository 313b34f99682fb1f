/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * monotime - the monotonic clock, the one every timeout, idle sweep and
 * max_stale is measured on (an NTP step must not stretch or cut them).
 * Header-only: two lines of arithmetic every module that waits needs.
 */
#ifndef TLSPOLICYD_MONOTIME_H
#define TLSPOLICYD_MONOTIME_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since an arbitrary start. */
static inline uint64_t
monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Seconds since an arbitrary start. */
static inline double
monotime_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
