/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot - the in-memory table every lookup is answered from
 * (docs/architecture.md, decision 1): canonical key -> canonical policy, or the
 * reason a row is invalid.  Pure: no I/O, no logging.
 *
 * Rows are stored by canonical key; several rows with one canonical key
 * are a conflict, found at lookup time.  Only active rows are stored.  A
 * row may carry an expiry: snapshot_expire() removes it then, so lookups
 * never read a clock.
 * Row memory comes from an arena, so freeing a snapshot of a million rows
 * is a handful of free() calls; removed rows are counted as waste until
 * the next full load replaces the snapshot.
 */
#ifndef TLSPOLICYD_SNAPSHOT_H
#define TLSPOLICYD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "target.h"

struct snapshot;

/* What happened to one table row. */
enum snapshot_row {
	SNAPSHOT_ROW_VALID,	/* stored, serves its policy */
	SNAPSHOT_ROW_WARNED,	/* stored, served in a corrected form */
	SNAPSHOT_ROW_INVALID,	/* stored as invalid: its key answers TEMP */
	SNAPSHOT_ROW_BAD_TARGET,	/* a target no key can ever match */
};

enum snapshot_result {
	SNAPSHOT_NONE,		/* no row: NOTFOUND */
	SNAPSHOT_FOUND,		/* *text is the canonical policy */
	SNAPSHOT_INVALID,	/* *text is why the row is invalid */
	SNAPSHOT_CONFLICT,	/* several rows share the canonical key *text */
};

/* An empty snapshot sized for about hint rows.  Caller frees. */
struct snapshot *snapshot_new(size_t hint);
void snapshot_free(struct snapshot *s);

/* Rows stored (active rows with a usable target). */
size_t snapshot_rows(const struct snapshot *s);

/*
 * What the stored rows are, kept up to date by every change (add, remove,
 * expire), so reading it costs nothing however big the table (/metrics).
 */
struct snapshot_counts {
	size_t rows;		/* snapshot_rows() */
	size_t invalid;		/* rows whose key answers TEMP, reason stored */
	size_t conflicts;	/* keys with more than one row: TEMP */
	size_t valid[POLICY_LEVEL_COUNT];	/* valid rows by level */
	size_t lasting[POLICY_LEVEL_COUNT];	/* ... of them never expiring */
};

void snapshot_counts(const struct snapshot *s, struct snapshot_counts *c);
/*
 * Bytes of memory (rows, buckets, the expiry heap) in all, and held by
 * removed rows.
 */
size_t snapshot_bytes(const struct snapshot *s);
size_t snapshot_waste(const struct snapshot *s);

/*
 * Validate one table row and, if active, store it.  params may be NULL.
 * res receives the validation outcome (for the caller to log); for
 * SNAPSHOT_ROW_BAD_TARGET res->problem says why.  A target with whitespace
 * around it, or written "*.X" (stored under ".X", see target_wildcard()),
 * is SNAPSHOT_ROW_INVALID whatever its policy: res->problem says what to
 * write instead.
 */
enum snapshot_row snapshot_add_row(struct snapshot *s,
    const struct policy_opts *opts, const char *target, const char *policy,
    const char *params, bool active, struct policy_result *res);

/*
 * snapshot_add_row() for a row that stops being served at `expires`
 * (seconds since the epoch on the database's clock; INFINITY: never).
 * The caller decides that the row has not expired yet (pass active false
 * otherwise).  comment (may be NULL; at most SNAPSHOT_MAX_COMMENT bytes
 * kept) is handed back by snapshot_expire().
 */
enum snapshot_row snapshot_add_row_until(struct snapshot *s,
    const struct policy_opts *opts, const char *target, const char *policy,
    const char *params, bool active, double expires, const char *comment,
    struct policy_result *res);

/* Remove every row whose target column is exactly raw_target. */
void snapshot_remove_target(struct snapshot *s, const char *raw_target);

/*
 * The earliest `expires` of a stored row, INFINITY if none.  Not const:
 * entries of rows removed since are dropped on the way.
 */
double snapshot_next_expiry(struct snapshot *s);

/*
 * Remove every stored row whose `expires` is at or before now, as if it
 * had never been added, calling cb (may be NULL) once for each with its
 * target as the table spells it, its comment (NULL if none) and its
 * expiry.  Returns how many were removed.  A removed row costs its memory
 * until the snapshot is freed, like snapshot_remove_target().
 */
size_t snapshot_expire(struct snapshot *s, double now,
    void (*cb)(void *arg, const char *target, const char *comment,
    double expires), void *arg);

/*
 * Answer a canonical key: the key itself and, if walk, its parents in
 * Postfix's order (decision 5).  *text (borrowed, valid until the snapshot
 * is changed or freed) and *len describe the result; for SNAPSHOT_NONE they
 * are empty.
 */
enum snapshot_result snapshot_lookup(const struct snapshot *s,
    const struct target *key, bool walk, const char **text, size_t *len);

/* Call cb for each pair of stored rows that share a canonical key. */
void snapshot_conflicts(const struct snapshot *s,
    void (*cb)(void *arg, const char *key, const char *target_a,
    const char *target_b), void *arg);

/*
 * Compare two snapshots key by key (exact answers, no walk): call cb for
 * each canonical key that answers differently (found text, invalid reason,
 * conflict, absent) and return how many did.  cb may be NULL.
 */
size_t snapshot_diff(const struct snapshot *a, const struct snapshot *b,
    void (*cb)(void *arg, const char *key), void *arg);

/*
 * One stored row as snapshot_each_row() shows it and snapshot_add_stored()
 * takes it (the state file, snapfile.h).  Strings are not NUL-terminated
 * except comment.
 */
struct snapshot_stored {
	const char *key;	/* canonical (target_canon() of itself) */
	size_t keylen;
	const char *target;	/* as the table spells it */
	size_t targetlen;
	const char *text;	/* the policy, or why the row is invalid */
	size_t textlen;
	bool invalid;		/* its key answers TEMP with text */
	double expires;		/* INFINITY: never */
	const char *comment;	/* NULL: none; only with an expiry */
};

/*
 * Call cb for every stored row (conflicting rows each once; removed and
 * expired ones not), in no particular order; the pointers are borrowed
 * for the call.  Returns how many.
 */
size_t snapshot_each_row(const struct snapshot *s,
    void (*cb)(void *arg, const struct snapshot_stored *row), void *arg);

/*
 * Store a row as snapshot_each_row() showed it, without validating the
 * policy again.  false, and nothing stored, when it breaks an invariant of
 * the table: a key that is not canonical, an empty or overlong string, a
 * NUL inside one, a policy that is not printable ASCII, a NaN expiry, a
 * comment without an expiry or longer than SNAPSHOT_MAX_COMMENT.
 */
bool snapshot_add_stored(struct snapshot *s,
    const struct snapshot_stored *row);

#endif
