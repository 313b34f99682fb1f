/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics - /metrics (Prometheus text exposition format 0.0.4) and
 * /health over HTTP on metrics_listen (inet:HOST:PORT; "" = off), served
 * on the daemon's loop by a small HTTP/1.0-style responder (one request
 * per connection, then close; metrics.c says why not evhttp).
 *
 * Three parts are pure (they read what they are given and write text or
 * a verdict: unit-tested, and the parser fuzzed): metrics_format(),
 * metrics_health() and metrics_parse_request().  The rest is the shell
 * that accepts, reads the request, gathers a struct metrics_view from the
 * daemon and writes the reply.  A scrape costs O(1) in the size of the
 * table: the snapshot keeps its counts up to date (snapshot_counts()).
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

/* What a complete request asks for (metrics_parse_request()). */
struct metrics_request {
	bool head;		/* HEAD: the reply has no body */
	bool health;		/* /health, else /metrics (when 200) */
	size_t len;		/* the head's bytes, its empty line included */
};

/*
 * Parse the head of one HTTP/1.x request (request line, headers, empty
 * line) from the first len bytes a client sent (never read past
 * METRICS_MAX_HEADERS).  Returns 0 while the head is incomplete and may
 * still fit; else the status to answer:
 *   200  GET or HEAD of /metrics or /health (r says which);
 *   400  not "METHOD SP /path SP HTTP/x.y", a malformed header line, a
 *        NUL or bare CR anywhere in the head;
 *   404  another path (the query, if any, is ignored);
 *   405  another method on one of the two paths;
 *   431  no empty line within METRICS_MAX_HEADERS bytes;
 *   505  a version other than HTTP/1.0 or HTTP/1.1.
 * A malformed line is answered as soon as it is complete (404/405 wait
 * for the whole head).  Lines end in CRLF or LF.  Anything after the
 * head (a body) is not looked at.  r->head is set whenever the method is
 * HEAD and the request line is well formed, so no error reply to a HEAD
 * has a body either.
 */
int metrics_parse_request(const char *buf, size_t len,
    struct metrics_request *r);

/*
 * Bind metrics_listen (at start, before privileges are dropped) and serve
 * on d->base; with metrics_listen empty, nothing is bound.  Sets
 * d->stats.started_at.  NULL on failure, err naming metrics_listen.
 */
struct metrics *metrics_open(struct daemon *d, char *err, size_t errsz);

/* Close the listener and every HTTP connection.  NULL is a no-op. */
void metrics_free(struct metrics *m);

#endif
