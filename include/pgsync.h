/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pgsync - keeps the daemon's snapshot equal to the policy table: one
 * non-blocking libpq session on the event loop; LISTEN before the full
 * load; targets named by NOTIFY refreshed in one query; a generation poll
 * as the backstop; reconnect with capped backoff.  Lookups never wait on
 * it (DESIGN.md, decision 1).
 */
#ifndef TLSPOLICYD_PGSYNC_H
#define TLSPOLICYD_PGSYNC_H

#include <stdbool.h>

#include "daemon.h"
#include "snapshot.h"

struct pgsync;

/* Called for every row of a full load (for --check; NULL: log problems). */
typedef void pgsync_row_fn(void *arg, const char *target, bool active,
    enum snapshot_row outcome, const struct policy_result *res);

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
};

/* Start syncing: connects at once.  hooks may be NULL. */
struct pgsync *pgsync_new(struct daemon *d, const struct pgsync_hooks *hooks);
void pgsync_free(struct pgsync *ps);

/* Reload the whole table as soon as the session is idle (SIGHUP). */
void pgsync_resync(struct pgsync *ps);

#endif
