/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syncsql - the text of every statement the database session sends
 * (DESIGN.md, decision 7).  Pure: built once from the configured names.
 *
 * The database is hostile ground: any role may create functions and
 * operators wherever it has CREATE, and a more specific signature wins
 * over pg_catalog's.  So every statement names every table and function
 * with its schema and every operator as OPERATOR(pg_catalog.x), and each
 * transaction also pins SET LOCAL search_path = pg_catalog, pg_temp (the
 * session's SET is lost behind a pooler in transaction mode).  A table
 * named without a schema is in public, never found by search_path.
 * Nothing a client or a notification sends is ever part of a statement:
 * the only parameter, $1, is the daemon's own applied generation.
 *
 * Identifiers come from the configuration, which allows only
 * [A-Za-z0-9_$] (config.c); they are double-quoted here.
 */
#ifndef TLSPOLICYD_SYNCSQL_H
#define TLSPOLICYD_SYNCSQL_H

#include <stdbool.h>

struct syncsql_names {
	const char *table;	/* "name" (in public) or "schema.name" */
	const char *target;	/* columns; "" for parameters and active: */
	const char *policy;	/* no such column (read as NULL) */
	const char *parameters;
	const char *active;
	unsigned long statement_timeout;	/* milliseconds */
};

struct syncsql {
	/*
	 * Session settings, then one row: in recovery; table exists; may
	 * SELECT it; state and log tables exist; may SELECT the state; may
	 * SELECT the log.
	 */
	char *setup;
	/*
	 * Start a check: BEGIN REPEATABLE READ, lock out TRUNCATE, then one
	 * row: generation, pruned_to (NULL without the state), the trigger
	 * description (syncplan_triggers_ok()), whether the state and the
	 * log may be read now.  [1] reads the state, [0] may not.
	 */
	char *check[2];
	/* The same for a full load, with the row count as a fifth column. */
	char *load[2];
	/* $1 = applied: the distinct targets logged after it, NULL first. */
	char *changes;
	/* $1 = applied: the rows of those targets (any spelling of them). */
	char *refresh;
	/* Every row: target, policy, parameters, active, all as text. */
	char *rows;
};

/* The "schema"."table" text; caller frees. */
char *syncsql_table(const char *table);

void syncsql_build(struct syncsql *q, const struct syncsql_names *n);
void syncsql_free(struct syncsql *q);

#endif
