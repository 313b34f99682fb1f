/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syncsql - statement texts; see include/syncsql.h for the rules they
 * follow, and tests/unit/test_syncsql.c for the checks that they do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "log.h"
#include "syncsql.h"
#include "xalloc.h"

static char *
xasprintf(const char *fmt, ...) LOG_PRINTF(1, 2);

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

char *
syncsql_table(const char *table)
{
	const char *dot = strchr(table, '.');

	if (dot == NULL)
		return xasprintf("\"public\".\"%s\"", table);
	return xasprintf("\"%.*s\".\"%s\"", (int)(dot - table), table,
	    dot + 1);
}

/* t."column"::pg_catalog.text, or NULL for a column the table lacks. */
static char *
column(const char *name)
{
	if (name[0] == '\0')
		return xstrdup("NULL");
	return xasprintf("t.\"%s\"::pg_catalog.text", name);
}

/* Does table tbl ("schema"."name") have column name?  "false" for "". */
static char *
has_column(const char *tbl, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return xstrdup("false");
	return xasprintf("EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
	    "WHERE a.attrelid OPERATOR(pg_catalog.=) "
	    "pg_catalog.to_regclass('%s') "
	    "AND a.attname OPERATOR(pg_catalog.=) '%s' "
	    "AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)",
	    tbl, name);
}

/* May this role read the state and the log (GRANTs made since setup)? */
#define STATE_READABLE \
	"COALESCE(pg_catalog.has_table_privilege(" \
	"pg_catalog.to_regclass('public.tlspolicyd_state'), 'SELECT') AND " \
	"pg_catalog.has_table_privilege(" \
	"pg_catalog.to_regclass('public.tlspolicyd_changes'), 'SELECT'), false)"

/*
 * May a role other than the owner write the state or the log (a GRANT a
 * DBA's habits made)?  Then it could hide a change, and the log is not
 * trusted.
 */
#define FOREIGN_WRITERS \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_class c, " \
	"pg_catalog.aclexplode(c.relacl) a " \
	"WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[" \
	"pg_catalog.to_regclass('public.tlspolicyd_state'), " \
	"pg_catalog.to_regclass('public.tlspolicyd_changes')]" \
	"::pg_catalog.oid[]) " \
	"AND a.grantee OPERATOR(pg_catalog.<>) c.relowner " \
	"AND a.privilege_type OPERATOR(pg_catalog.<>) 'SELECT')"

#define PIN "SET LOCAL search_path = pg_catalog, pg_temp; "
#define BEGIN_RR "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; " PIN

/*
 * LOCK before the first snapshot-taking statement: TRUNCATE is not
 * MVCC-safe, and a transaction that waited for one would otherwise read
 * the new, empty table with the old snapshot and generation.
 */
static char *
begin(const char *tbl, bool state, const char *columns, const char *extra)
{
	return xasprintf(BEGIN_RR
	    "LOCK TABLE %s IN ACCESS SHARE MODE; "
	    "SELECT %s, %s, "
	    "(SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', "
	    /* WHEN (...) or UPDATE OF col: fires on fewer events (0) */
	    "tg.tgname, tg.tgenabled, CASE WHEN tg.tgqual IS NULL AND "
	    "tg.tgattr::pg_catalog.text OPERATOR(pg_catalog.=) '' "
	    "THEN tg.tgtype::pg_catalog.int4 ELSE 0 END, "
	    "pg_catalog.concat(ns.nspname, '.', pr.proname), "
	    "pg_catalog.encode(tg.tgargs, 'hex')), ',' ORDER BY tg.tgname) "
	    "FROM pg_catalog.pg_trigger tg "
	    "JOIN pg_catalog.pg_proc pr ON pr.oid OPERATOR(pg_catalog.=) "
	    "tg.tgfoid "
	    "JOIN pg_catalog.pg_namespace ns ON ns.oid OPERATOR(pg_catalog.=) "
	    "pr.pronamespace "
	    "WHERE tg.tgrelid OPERATOR(pg_catalog.=) "
	    "'%s'::pg_catalog.regclass "
	    "AND tg.tgname OPERATOR(pg_catalog.~~) 'tlspolicyd%%'), "
	    STATE_READABLE ", "
	    "pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()), "
	    "%s, " FOREIGN_WRITERS "%s",
	    tbl,
	    state ? "(SELECT s.generation FROM public.tlspolicyd_state s)" :
	    "NULL::pg_catalog.int8",
	    state ? "(SELECT s.pruned_to FROM public.tlspolicyd_state s)" :
	    "NULL::pg_catalog.int8",
	    tbl, columns, extra);
}

void
syncsql_build(struct syncsql *q, const struct syncsql_names *n)
{
	char *tbl = syncsql_table(n->table);
	char *tgt = column(n->target), *pol = column(n->policy);
	char *par = column(n->parameters), *act = column(n->active);
	char *com = column(n->has_comment && n->comment != NULL ?
	    n->comment : "");
	char *xp = n->has_expires && n->expires != NULL &&
	    n->expires[0] != '\0' ? xasprintf("pg_catalog.date_part('epoch', "
	    "t.\"%s\"::pg_catalog.timestamptz)", n->expires) : xstrdup("NULL");
	char *hx = has_column(tbl, n->expires), *hc = has_column(tbl,
	    n->comment);
	char *columns = xasprintf("%s, %s", hx, hc);
	char *count = xasprintf(", (SELECT pg_catalog.count(*) FROM %s); "
	    /* a big table may take longer; the no-progress watchdog stays */
	    "SET LOCAL statement_timeout = 0", tbl);
	int i;

	q->setup = xasprintf(
	    "SET search_path = pg_catalog, pg_temp; "
	    "SET statement_timeout = %lu; "
	    "SET application_name = 'tlspolicyd'; "
	    "SET client_encoding = 'UTF8'; "
	    "SELECT pg_catalog.pg_is_in_recovery(), "
	    "pg_catalog.to_regclass('%s') IS NOT NULL, "
	    "COALESCE(pg_catalog.has_table_privilege("
	    "pg_catalog.to_regclass('%s'), 'SELECT'), false), "
	    "pg_catalog.to_regclass('public.tlspolicyd_state') IS NOT NULL "
	    "AND pg_catalog.to_regclass('public.tlspolicyd_changes') IS NOT NULL, "
	    "COALESCE(pg_catalog.has_table_privilege("
	    "pg_catalog.to_regclass('public.tlspolicyd_state'), 'SELECT'), "
	    "false), "
	    "COALESCE(pg_catalog.has_table_privilege("
	    "pg_catalog.to_regclass('public.tlspolicyd_changes'), 'SELECT'), "
	    "false), %s",
	    n->statement_timeout, tbl, tbl, columns);
	for (i = 0; i < 2; i++) {
		q->check[i] = begin(tbl, i == 1, columns, "");
		q->load[i] = begin(tbl, i == 1, columns, count);
	}
	q->changes = xasprintf(
	    "SELECT DISTINCT c.target FROM public.tlspolicyd_changes c "
	    "WHERE c.gen OPERATOR(pg_catalog.>) $1::pg_catalog.int8 "
	    "ORDER BY c.target NULLS FIRST LIMIT %d",
	    PGSYNC_MAX_PENDING_TARGETS + 1);
	q->rows = xasprintf("SELECT %s, %s, %s, %s, %s, %s FROM %s t", tgt,
	    pol, par, act, xp, com, tbl);
	/* lower(target) is what the schema's unique index is on */
	q->refresh = xasprintf("%s WHERE pg_catalog.lower(%s) "
	    "OPERATOR(pg_catalog.=) ANY (ARRAY("
	    "SELECT pg_catalog.lower(c.target) "
	    "FROM public.tlspolicyd_changes c "
	    "WHERE c.gen OPERATOR(pg_catalog.>) $1::pg_catalog.int8 "
	    "AND c.target IS NOT NULL))", q->rows, tgt);
	xfree(count);
	xfree(columns);
	xfree(hx);
	xfree(hc);
	xfree(xp);
	xfree(com);
	xfree(tbl);
	xfree(tgt);
	xfree(pol);
	xfree(par);
	xfree(act);
}

void
syncsql_free(struct syncsql *q)
{
	int i;

	xfree(q->setup);
	for (i = 0; i < 2; i++) {
		xfree(q->check[i]);
		xfree(q->load[i]);
	}
	xfree(q->changes);
	xfree(q->refresh);
	xfree(q->rows);
	memset(q, 0, sizeof(*q));
}
