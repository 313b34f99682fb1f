/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syncsql - the text of every statement the database session sends
 * (docs/architecture.md, decision 7).  Pure: built once from the configured
 * names.
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
	/*
	 * Optional columns, NULL or "" for none: setup and every check say
	 * whether the table has them; rows read them only if has_*.
	 */
	const char *expires;
	const char *comment;
	bool has_expires;
	bool has_comment;
};

struct syncsql {
	/*
	 * Session settings, then one row: in recovery; table exists; may
	 * SELECT it; state and log tables exist; may SELECT the state; may
	 * SELECT the log; the table has the expires column; it has the
	 * comment column.
	 */
	char *setup;
	/*
	 * Start a check: BEGIN REPEATABLE READ, lock out TRUNCATE, then one
	 * row (SYNCSQL_COL_*): generation, pruned_to (NULL without the
	 * state), the trigger description (syncplan_triggers_ok()), whether
	 * the state and the log may be read now, the database's clock
	 * (clock_timestamp() in seconds since the epoch), whether the table
	 * has the expires and the comment column, whether a role other than
	 * the owner may write the state or the log.  [1] reads the state,
	 * [0] may not.
	 */
	char *check[2];
	/* The same for a full load, with the row count as a last column. */
	char *load[2];
	/* $1 = applied: the distinct targets logged after it, NULL first. */
	char *changes;
	/* $1 = applied: the rows of those targets (any spelling of them). */
	char *refresh;
	/*
	 * Every row (SYNCSQL_ROW_*): target, policy, parameters, active as
	 * text; the expiry as date_part('epoch', ...) and the comment, NULL
	 * when not read.
	 */
	char *rows;
};

/* The columns of the first row of a check or a load. */
enum {
	SYNCSQL_COL_GENERATION,
	SYNCSQL_COL_PRUNED_TO,
	SYNCSQL_COL_TRIGGERS,
	SYNCSQL_COL_READABLE,
	SYNCSQL_COL_CLOCK,
	SYNCSQL_COL_HAS_EXPIRES,
	SYNCSQL_COL_HAS_COMMENT,
	SYNCSQL_COL_WRITERS,		/* another role may write the log */
	SYNCSQL_COL_COUNT,		/* loads only */
};

/* The columns of rows and refresh. */
enum {
	SYNCSQL_ROW_TARGET,
	SYNCSQL_ROW_POLICY,
	SYNCSQL_ROW_PARAMETERS,
	SYNCSQL_ROW_ACTIVE,
	SYNCSQL_ROW_EXPIRES,
	SYNCSQL_ROW_COMMENT,
};

/* The "schema"."table" text; caller frees. */
char *syncsql_table(const char *table);

void syncsql_build(struct syncsql *q, const struct syncsql_names *n);
void syncsql_free(struct syncsql *q);

#endif
