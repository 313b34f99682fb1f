/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syncplan - what the database session does next, decided from what it has read
 * (docs/architecture.md, decision 1).  Pure: no libpq, no clock of its own
 * (`now` is a parameter, monotonic seconds), no logging.
 *
 * The snapshot is exactly generation `applied` of the change log.  A
 * check reads the generation (and how far back the log reaches) in one
 * REPEATABLE READ transaction; if it moved, the log's targets after
 * `applied` are refreshed in that same transaction.  Anything the log
 * cannot vouch for (it was pruned past `applied`, a NULL target, more
 * targets than a refresh is worth, the triggers changed or are missing, a
 * generation that went backwards) asks for a full load instead.
 *
 * Notifications are wake-ups: they never carry data, so a forged one can
 * cost a check, never a wrong answer.  A check started by a wake-up that
 * found nothing new makes later wake-ups wait for the next poll
 * (`quiet`), so a notification storm costs a bounded number of cheap
 * checks per poll interval and never a change-log query.  One check
 * follows at once a wake-up that arrived while a check was running (its
 * commit may postdate that check's snapshot).
 */
#ifndef TLSPOLICYD_SYNCPLAN_H
#define TLSPOLICYD_SYNCPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a full load runs; syncplan_reason_name() says it in words. */
enum syncplan_reason {
	SYNCPLAN_RELOAD_NONE,
	SYNCPLAN_RELOAD_CONNECT,	/* a new session (first or reconnect) */
	SYNCPLAN_RELOAD_SIGHUP,
	SYNCPLAN_RELOAD_RECONCILE,	/* reconcile_interval */
	SYNCPLAN_RELOAD_UNTRUSTED,	/* no usable triggers: every poll */
	SYNCPLAN_RELOAD_TRIGGERS,	/* the triggers changed */
	SYNCPLAN_RELOAD_PRUNED,		/* the log no longer reaches back */
	SYNCPLAN_RELOAD_BULK,		/* a NULL target: TRUNCATE, bulk */
	SYNCPLAN_RELOAD_MANY,		/* more targets than a refresh takes */
	SYNCPLAN_RELOAD_BACKWARDS,	/* a restored or older database */
	SYNCPLAN_RELOAD_COMPACT,	/* replaced rows waste memory */
};

/* What to do now that the session is idle. */
enum syncplan_next {
	SYNCPLAN_IDLE,
	SYNCPLAN_LOAD,		/* a full load, for plan->reload */
	SYNCPLAN_CHECK,		/* read the generation */
};

/* What a check found. */
enum syncplan_verdict {
	SYNCPLAN_CURRENT,	/* nothing new: the snapshot is current */
	SYNCPLAN_READ_LOG,	/* read the log's targets after applied */
	SYNCPLAN_RELOAD,	/* end the check, then a full load */
};

struct syncplan {
	int64_t applied;	/* generation of the snapshot, -1 if none */
	bool trusted;		/* the change log can be relied on */
	uint64_t triggers;	/* fingerprint of the trigger set last seen */
	enum syncplan_reason reload;	/* a full load is due, and why */
	bool poll_due;		/* poll_interval passed */
	bool wake;		/* a wake-up not yet looked at */
	bool wake_during;	/* one arrived while a check or load ran */
	bool busy;		/* a check or load is running */
	bool by_wake;		/* the running check was started by a wake-up */
	bool followup;		/* ... and was itself the one follow-up */
	bool followup_due;	/* one check at once, whatever the quiet */
	bool found_nothing;	/* the running check found nothing new */
	double quiet_until;	/* wake-ups wait for the poll until then */
	double quiet_len;	/* poll_interval, seconds */
	enum syncplan_reason loading;	/* why the running load runs */
	int64_t reading;	/* generation the running check will apply */
};

/* A plan with nothing applied and a load due. */
void syncplan_init(struct syncplan *p, double poll_interval_sec);

/* A new session: everything is reloaded (nothing it missed can survive). */
void syncplan_session(struct syncplan *p);

/* Ask for a full load; the first reason asked for is kept. */
void syncplan_reload(struct syncplan *p, enum syncplan_reason why);

/* A notification on the channel: payload ignored. */
void syncplan_wake(struct syncplan *p);

/* poll_interval passed. */
void syncplan_tick(struct syncplan *p);

/* The session is idle: what next?  Marks the plan busy unless IDLE. */
enum syncplan_next syncplan_next(struct syncplan *p, double now);

/*
 * A check's reading: the generation and pruned_to (both -1 when the
 * state cannot be read) and whether the triggers are usable, with a
 * fingerprint of what they are.
 */
enum syncplan_verdict syncplan_checked(struct syncplan *p, int64_t gen,
    int64_t pruned_to, bool trusted, uint64_t triggers);

/*
 * The log's distinct targets after applied were read: n of them, one of
 * them NULL if everything.  READ_LOG to refresh them, RELOAD otherwise.
 */
enum syncplan_verdict syncplan_log_read(struct syncplan *p, size_t n,
    bool everything);

/*
 * The log's targets after applied were refreshed: the snapshot is now the
 * generation the check read.  More than PGSYNC_MAX_PENDING_TARGETS
 * (bounds.h) and syncplan_log_read() asked for a full load instead.
 */
void syncplan_applied(struct syncplan *p);

/*
 * The check's transaction ended (COMMIT done), whatever it found: the
 * session is idle again.  Decides the follow-up or the quiet.
 */
void syncplan_ended(struct syncplan *p, double now);

/* A full load at gen (-1: untrusted) was swapped in. */
void syncplan_loaded(struct syncplan *p, int64_t gen, bool trusted,
    uint64_t triggers);

/* The session failed: nothing runs until syncplan_session(). */
void syncplan_failed(struct syncplan *p);

const char *syncplan_reason_name(enum syncplan_reason why);

/*
 * Triggers: the description the check query builds, one entry per
 * trigger named tlspolicyd_* on the policy table, separated by ',':
 *   name enabled tgtype schema.function hexargs
 * e.g. "tlspolicyd_insert A 4 tlspolicyd.after_statement 74617267657400".
 * Returns true if the change log can be trusted (all six there, enabled,
 * right function, right column, right events); why gets the first
 * problem found, or a warning for a usable but odd set (a statement
 * trigger enabled ORIGIN, not ALWAYS, misses changes made in replica
 * mode), or "" when all is as attached.
 */
bool syncplan_triggers_ok(const char *desc, const char *column, char *why,
    size_t whysz);

/* FNV-1a of a string, for trigger fingerprints and row-set changes. */
uint64_t syncplan_hash(uint64_t h, const char *s, size_t len);
#define SYNCPLAN_HASH_INIT UINT64_C(0xcbf29ce484222325)

/*
 * The class of a failed query, for TEMP replies (never libpq's text:
 * host names, roles, paths): from the SQLSTATE, NULL for a lost session.
 */
const char *syncplan_failure_class(const char *sqlstate);

#endif
