/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * statefile - the persisted snapshot (state_file): written after the data
 * changed or was confirmed current, served at start while the database
 * cannot be reached.  The format is snapfile.h's; this module does the
 * files, the timing, the writer process and the log.
 */
#ifndef TLSPOLICYD_STATEFILE_H
#define TLSPOLICYD_STATEFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"

struct statefile;

/*
 * For the daemon d, after its configuration and event base exist: NULL
 * when state_file is empty.  Opens nothing yet; warns (once) when the
 * file's directory does not exist.  Caller frees with statefile_close().
 */
struct statefile *statefile_open(struct daemon *d);

/*
 * Write what is new, waiting for a write under way, then free (NULL: a
 * no-op).  Call it once the loop has stopped, before d->snap is freed.
 */
void statefile_close(struct statefile *st);

/*
 * Write now, in this process, if d->snap holds anything not yet in the
 * file (a write under way is waited for first).  For the way out: SIGTERM
 * and SIGINT.  NULL: a no-op.
 */
void statefile_flush(struct statefile *st);

/*
 * pgsync: d->snap changed (a load swapped in, a refresh applied) and is
 * current at the table's generation.  Schedules a coalesced write.
 */
void statefile_changed(struct statefile *st, int64_t generation);

/*
 * pgsync: the database cannot be reached and no load ever succeeded.  The
 * first call reads the file and, if it checks out whole, sets d->snap
 * and d->current_at / d->current_mono from its saved time (d->in_sync
 * stays false, so max_stale applies); it logs one line either way.  Later
 * calls do nothing.  true: d->snap was set.
 */
bool statefile_serve(struct statefile *st);

/* The saved time of the last file written or served; 0: none. */
time_t statefile_saved_at(const struct statefile *st);

#endif
