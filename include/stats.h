/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.h - the counters /metrics reports (metrics.c).  Plain integers in
 * struct daemon, bumped on the event loop by whoever sees the event: no
 * locks (one thread), no allocation, nothing on the lookup path but
 * increments.  Header-only: there is nothing to do but add.
 *
 * Lookup latency: conn.c reads CLOCK_MONOTONIC twice per read callback,
 * not per frame: once when it starts answering what one read() brought,
 * once after the replies went out in one write().  Every frame of that
 * batch is observed with the batch's elapsed time, which is what each of
 * them waited for its reply: the replies leave together.  On Linux the
 * clock is read through the vDSO (no system call); one batch is one
 * Postfix request in the common case, so the figure is the daemon's own
 * time from the request's bytes to the reply's, not the time the bytes
 * waited in the socket before the loop came to them (only the kernel
 * knows that, at the price of a timestamp per packet).
 *
 * Buckets are fixed (STATS_LATENCY_BOUNDS upper bounds, in ns, plus
 * +Inf): a lookup answers in microseconds, a batch of 32 in tens of them,
 * a turn that waited for a slice of a big load up to PGSYNC_SLICE_USEC.
 * Counts are kept per bucket, not cumulative: the observation is one
 * increment; metrics_format() adds them up for the exposition.
 *
 * Invariants: every counter only grows (process lifetime); lookups[] and
 * the histogram count the same frames, so the sum of latency[] equals the
 * sum of lookups[]; the --query path counts nothing.
 */
#ifndef TLSPOLICYD_STATS_H
#define TLSPOLICYD_STATS_H

#include <stdint.h>

/* Reply statuses, in enum sockmap_status order: ok, notfound, temp, perm. */
#define STATS_RESULTS 4

/* Finite bucket bounds; latency[STATS_LATENCY_BOUNDS] is +Inf. */
#define STATS_LATENCY_BOUNDS 12

struct stats {
	/* conn.c: replies sent, by status (enum sockmap_status) */
	uint64_t lookups[STATS_RESULTS];
	/* conn.c: lookups by batch time, per bucket (not cumulative) */
	uint64_t latency[STATS_LATENCY_BOUNDS + 1];
	uint64_t latency_ns;		/* sum of the observations */
	/* conn.c: connections accepted (refused ones are not) */
	uint64_t conns_accepted;

	/* pgsync.c */
	uint64_t loads;			/* full loads swapped in */
	uint64_t refreshes;		/* change-log refreshes applied */
	uint64_t reconnects;		/* sessions started after a failure */
	double load_seconds;		/* the last full load, wall time */
	int64_t generation;		/* applied; -1: no change log */
	/* CLOCK_MONOTONIC seconds of the earliest expiry; 0: none */
	double next_expiry_mono;

	/*
	 * statefile.c: when the state file was last written, wall clock
	 * (time(NULL) or finer); 0: never (the sample is then left out).
	 */
	double state_saved_at;

	/* metrics.c: process start, wall clock */
	double started_at;
	/*
	 * metrics.c: metrics_listen connections closed at once because
	 * METRICS_MAX_CONNS were open, and closed at METRICS_DEADLINE_MS
	 * before their reply was out.
	 */
	uint64_t http_refused;
	uint64_t http_timeouts;
};

/* Upper bound of latency bucket i < STATS_LATENCY_BOUNDS, nanoseconds. */
static inline uint64_t
stats_latency_bound(unsigned i)
{
	static const uint64_t ns[STATS_LATENCY_BOUNDS] = {
		5000, 10000, 25000, 50000, 100000, 250000, 500000,
		1000000, 2500000, 5000000, 10000000, 100000000,
	};

	return ns[i];
}

/* frames lookups answered together, ns from their read to their write. */
static inline void
stats_lookups_took(struct stats *s, uint64_t ns, uint64_t frames)
{
	unsigned i = 0;

	while (i < STATS_LATENCY_BOUNDS && ns > stats_latency_bound(i))
		i++;
	s->latency[i] += frames;
	s->latency_ns += ns * frames;
}

#endif
