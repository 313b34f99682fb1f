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

#include "config.h"
#include "daemon.h"

struct statefile;

/*
 * For the daemon d, after its configuration and event base exist: NULL
 * when state_file is empty.  Opens nothing yet; warns (once) when the
 * file's directory does not exist.  Caller frees with statefile_close().
 */
struct statefile *statefile_open(struct daemon *d);

/*
 * statefile_flush(), then free (NULL: a no-op).  Call it once the loop
 * has stopped, before d->snap is freed.
 */
void statefile_close(struct statefile *st);

/*
 * For the way out (SIGTERM, SIGINT): wait for a write under way, at most
 * STATEFILE_STOP_WAIT_MS (then it is killed and counts as not written),
 * and write now, in this process, if the rows changed since the last
 * write started or the file's saved time is a refresh interval older than
 * d->current_at; rows unchanged in a younger file are left as they are.
 * NULL: a no-op.
 */
void statefile_flush(struct statefile *st);

/*
 * pgsync: d->snap changed (a load swapped in, a refresh applied) and is
 * current at the table's generation; cfg is the configuration of the
 * session that made it, whose identity the file is written with.
 * Schedules a coalesced write.
 */
void statefile_changed(struct statefile *st, const struct config *cfg,
    int64_t generation);

/*
 * pgsync: no load ever succeeded, and the database cannot be reached or
 * has not answered for STATEFILE_SERVE_GRACE_MS.  The first call reads
 * the file and, if it is ours (a regular file of the effective uid that
 * no one else may write, see statefile.c), checks out whole and was not
 * saved in the future, sets d->snap and d->current_at / d->current_mono
 * from its saved time (d->in_sync stays false, so max_stale applies); it
 * logs one line either way.  Never blocks on what is at the path.  Later
 * calls do nothing.  true: d->snap was set.
 */
bool statefile_serve(struct statefile *st);

/* The saved time of the last file written or served; 0: none. */
time_t statefile_saved_at(const struct statefile *st);

#endif
