/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pgsync - keeps the daemon's snapshot equal to the policy table: one
 * non-blocking libpq session on the event loop; LISTEN before the full load;
 * targets named by NOTIFY refreshed in one query; a generation poll as the
 * backstop; reconnect with capped backoff.  Lookups never wait on it
 * (docs/architecture.md, decision 1).  Rows with an expiry are dropped by a
 * timer at that time on the database's clock, with no query.
 */
#ifndef TLSPOLICYD_PGSYNC_H
#define TLSPOLICYD_PGSYNC_H

#include <stdbool.h>

#include "daemon.h"
#include "snapshot.h"

struct pgsync;

/*
 * Called for every row of a full load (for --query and --check; NULL, and
 * no row_info: log problems).  active: the row is served if valid (its
 * active column is true and it has not expired).
 */
typedef void pgsync_row_fn(void *arg, const char *target, bool active,
    enum snapshot_row outcome, const struct policy_result *res);

/* A row's lifecycle, for --check (lifecycle.h). */
struct pgsync_row_info {
	double now;		/* the database's clock, epoch seconds */
	double expires;		/* INFINITY: never, or no such column */
	const char *comment;	/* NULL: none, or no such column */
	bool expired;		/* at or past expires: not served */
	const char *expires_column;	/* "" when the table has none */
	const char *comment_column;	/* "" when the table has none */
	bool target_null;	/* the target is NULL (target reads "") */
};

/* The same with the lifecycle; active is the active column as read. */
typedef void pgsync_row_info_fn(void *arg, const char *target, bool active,
    enum snapshot_row outcome, const struct policy_result *res,
    const struct pgsync_row_info *info);

/*
 * Called after each full load is swapped in (ok) or when a oneshot session
 * fails (!ok, why says what failed).
 */
typedef void pgsync_done_fn(void *arg, bool ok, const char *why);

struct pgsync_hooks {
	pgsync_row_fn *row;
	pgsync_done_fn *done;
	void *arg;
	bool oneshot;		/* no reconnect: report failure via done */
	pgsync_row_info_fn *row_info;	/* after row, if set */
};

/* Start syncing: connects at once.  hooks may be NULL. */
struct pgsync *pgsync_new(struct daemon *d, const struct pgsync_hooks *hooks);
void pgsync_free(struct pgsync *ps);

/* Reload the whole table as soon as the session is idle (SIGHUP). */
void pgsync_resync(struct pgsync *ps);

#endif
