/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics - /metrics (Prometheus text exposition format 0.0.4) and
 * /health over HTTP on metrics_listen (inet:HOST:PORT; "" = off), served
 * by libevent's evhttp on the daemon's loop.
 *
 * Two parts: metrics_format() and metrics_health() are pure (they read
 * what they are given and write text: unit-tested), the rest is the
 * shell that gathers a struct metrics_view from the daemon at each scrape
 * and answers HTTP.  A scrape costs O(1) in the size of the table: the
 * snapshot keeps its counts up to date (snapshot_counts()).
 */
#ifndef TLSPOLICYD_METRICS_H
#define TLSPOLICYD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "stats.h"

struct metrics;

/* What a scrape reports besides struct stats, read from the daemon. */
struct metrics_view {
	size_t conns_open;
	uint64_t conns_evicted;
	uint64_t conns_refused;
	bool loaded;		/* data is served (loaded or from the file) */
	size_t rows;		/* stored rows */
	size_t invalid;		/* of them, invalid (TEMP) */
	size_t conflicts;	/* keys with several rows (TEMP) */
	size_t overrides;	/* valid rows: served with a policy */
	size_t weak_lasting;	/* weakening and never expiring */
	double data_age;	/* seconds since last current; INFINITY */
	bool db_connected;
	double next_expiry;	/* seconds to the next expiry; INFINITY */
	double state_age;	/* seconds since the state file; NAN */
};

/*
 * The exposition text for s and v into out (outsz bytes, always
 * NUL-terminated when outsz > 0).  Returns the length of the whole text,
 * which did not fit if it is >= outsz (as snprintf).  Every label value
 * is a constant of this file: nothing from outside needs escaping.
 */
size_t metrics_format(const struct stats *s, const struct metrics_view *v,
    char *out, size_t outsz);

/*
 * /health at now (CLOCK_MONOTONIC seconds, the clock of d->current_mono):
 * 200 and "ok", or "ok (stale since <UTC>)" while the database is away
 * within max_stale; 503 and the reason a lookup's TEMP gives otherwise
 * ("no policy data loaded yet: <why>", "policy data stale since <UTC>").
 * body (a line with its newline) goes to out, outsz bytes.  Returns the
 * HTTP status.
 */
int metrics_health(const struct daemon *d, double now, char *out,
    size_t outsz);

/*
 * Bind metrics_listen (at start, before privileges are dropped) and serve
 * on d->base; with metrics_listen empty, nothing is bound.  Sets
 * d->stats.started_at.  NULL on failure, err naming metrics_listen.
 */
struct metrics *metrics_open(struct daemon *d, char *err, size_t errsz);

/* Close the listener and any HTTP connection.  NULL is a no-op. */
void metrics_free(struct metrics *m);

#endif
