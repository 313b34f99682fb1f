/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.h - the one context main creates and passes down (no globals).
 *
 * pgsync writes the data fields; answer reads them, for conn and --query;
 * conn keeps its connections here.  Everything runs on one event loop, so
 * a lookup sees one consistent state within the loop turn it runs in.
 */
#ifndef TLSPOLICYD_DAEMON_H
#define TLSPOLICYD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "stats.h"

struct event_base;
struct event;
struct conn;
struct config;
struct snapshot;
struct statefile;

#define DAEMON_WHY_SIZE 256

struct daemon {
	const struct config *cfg;
	struct event_base *base;

	/* current data: NULL until the first successful load */
	struct snapshot *snap;
	/*
	 * When snap was last known to match the database: monotonic seconds
	 * for max_stale (an NTP step must not stretch it), wall clock for the
	 * message.
	 */
	double current_mono;
	time_t current_at;
	/* in sync with the database right now (connected, no resync due) */
	bool in_sync;
	/* why there is no data yet, for "TEMP no policy data loaded yet" */
	char why[DAEMON_WHY_SIZE];
	/* a database session is up (pgsync), for STATUS= and /metrics */
	bool db_connected;

	/* the state file (statefile.h); NULL when state_file is empty */
	struct statefile *state;
	/* counters for /metrics (stats.h): plain fields, written on the loop */
	struct stats stats;

	/* the connections (conn.c), least recently active first */
	struct conn *conn_oldest;
	struct conn *conn_newest;
	struct conn *conn_later_first;	/* the slow lane: frames left over */
	struct conn *conn_later_last;
	int conn_budget;		/* frames still to answer this turn */
	struct event *conn_tick;	/* idle sweep; refreshes conn_now */
	struct event *conn_later;	/* serves the slow lane next turn */
	uint64_t conn_now;		/* coarse CLOCK_MONOTONIC, ms */
	size_t nconns;
	size_t max_conns;	/* max_connections, within RLIMIT_NOFILE */
	uint64_t conns_refused;	/* over max_conns, to rate-limit the warning */
	/* idle ones closed for new ones; the count and time last logged */
	uint64_t conns_evicted;
	uint64_t conns_evicted_logged;
	uint64_t conns_evicted_at;	/* conn_now */
};

#endif
