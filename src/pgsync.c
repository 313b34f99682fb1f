/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pgsync - the database side, on the same event loop as the clients.
 *
 * One libpq connection in non-blocking mode.  Its life:
 *
 *   connect -> SETUP (statement_timeout; standby? triggers present?)
 *           -> LISTEN tlspolicyd           (before the load: nothing slips)
 *           -> BEGIN REPEATABLE READ; generation + row count
 *           -> full SELECT in single-row mode, built into a new snapshot in
 *              slices of PGSYNC_SLICE_USEC per loop turn
 *           -> COMMIT; swap the new snapshot in
 *           -> idle: NOTIFY "<gen> <target>" -> REFRESH those targets;
 *              every poll_interval -> POLL the generation.
 *
 * The load reads the generation and the rows in one REPEATABLE READ
 * transaction, so the snapshot is exactly generation G: a notification
 * with a generation <= G is already in it, any later one is applied after
 * the swap.  The trigger bumps the generation under a row lock, so
 * generations follow commit order.
 *
 * A poll that finds a generation newer than the one applied is not trusted
 * at once: its notification may still be on the wire.  If the same gap is
 * still there at the next poll, notifications were lost (pgbouncer in
 * transaction mode, a standby that cannot LISTEN) and a full resync runs.
 * Without the triggers there is no generation: a full reload runs every
 * poll_interval.
 *
 * Any error drops the session: the snapshot stays (last known good, served
 * for max_stale), pending work is forgotten and a full load follows the
 * reconnect, so nothing missed while down can survive it.
 *
 * Invariants: the daemon's snapshot only ever changes to a complete,
 * consistent state within one callback; the DSN is never logged; lookup
 * keys never reach SQL (only targets named by the database itself, and
 * only as query parameters).
 * Limits: PGSYNC_SLICE_USEC, PGSYNC_MAX_PENDING_TARGETS, statement_timeout,
 * reconnect_max.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "pgsync.h"
#include "xalloc.h"

#define NOTIFY_CHANNEL "tlspolicyd"
#define BACKOFF_MIN_MS 100

enum step {
	STEP_NONE,
	STEP_SETUP,
	STEP_LISTEN,
	STEP_BEGIN,
	STEP_ROWS,
	STEP_COMMIT,
	STEP_REFRESH,
	STEP_POLL,
};

struct pending {
	char *target;
	int64_t gen;
};

struct pgsync {
	struct daemon *d;
	const struct config *cfg;
	struct pgsync_hooks hooks;
	struct policy_opts popts;

	PGconn *pg;
	bool connecting;
	enum step step;
	struct event *ev_io;		/* connect polling, then reads */
	struct event *ev_write;		/* flushing a large query */
	struct event *ev_slice;		/* continue a load next turn */
	struct event *ev_poll;		/* poll_interval tick */
	struct event *ev_reconnect;
	unsigned long backoff;
	bool down_logged;
	char last_error[DAEMON_WHY_SIZE];
	double last_progress;

	bool standby;
	bool has_state;			/* generation table and triggers */
	bool listening;
	int64_t applied_gen;		/* generation the snapshot reflects */
	int64_t load_gen;
	int64_t suspect_gen;		/* gap seen by the last poll, or -1 */
	/*
	 * A full load is due when asked for: start, reconnect, SIGHUP, a
	 * "<gen>" notification newer than the data, a gap in the generations,
	 * too many targets, waste.  A load clears only the requests made
	 * before it started.
	 */
	bool resync_requested;
	bool loading;			/* BEGIN sent, swap not yet done */
	/*
	 * Every committed bump sends at least one notification and committed
	 * generations have no gaps (writers serialise on the row, a rollback
	 * undoes its bump), so notifications must arrive as seen_gen or
	 * seen_gen + 1.  Anything higher means some were lost.
	 */
	int64_t seen_gen;
	bool poll_due;

	struct pending *pend;		/* targets named by notifications */
	size_t npend;
	size_t pend_cap;
	struct pending *flight;		/* the targets being refreshed */
	size_t nflight;

	struct snapshot *building;
	size_t rows_total, rows_invalid, rows_bad;
	double load_started;
	double longest_turn;		/* CPU seconds, of this load */

	char *sql_setup;
	char *sql_begin_state;
	char *sql_begin_nostate;
	char *sql_rows;
	char *sql_refresh;
	char *sql_poll_state;
	char *sql_poll_nostate;
};

static void kick(struct pgsync *ps);
static bool note_gen(struct pgsync *ps, int64_t gen, const char *target);
static void on_io(evutil_socket_t fd, short what, void *arg);

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "name" or "schema"."name"; the config allows only [A-Za-z0-9_$.]. */
static void
quote_ident(char *out, size_t outsz, const char *ident)
{
	const char *dot = strchr(ident, '.');

	if (dot != NULL)
		snprintf(out, outsz, "\"%.*s\".\"%s\"", (int)(dot - ident),
		    ident, dot + 1);
	else
		snprintf(out, outsz, "\"%s\"", ident);
}

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

static void
build_sql(struct pgsync *ps)
{
	const struct config *c = ps->cfg;
	char tbl[160], tgt[80], pol[80], par[80], act[80], state[600];

	quote_ident(tbl, sizeof(tbl), c->table);
	quote_ident(tgt, sizeof(tgt), c->column_target);
	quote_ident(pol, sizeof(pol), c->column_policy);
	if (c->column_parameters[0] != '\0')
		quote_ident(par, sizeof(par), c->column_parameters);
	else
		snprintf(par, sizeof(par), "NULL");
	if (c->column_active[0] != '\0')
		quote_ident(act, sizeof(act), c->column_active);
	else
		snprintf(act, sizeof(act), "NULL");

	/*
	 * Notifications can be trusted only if all five triggers are there
	 * and fire (not disabled, e.g. by pg_restore --disable-triggers or a
	 * replica-mode apply), and the generation is readable.
	 */
	snprintf(state, sizeof(state),
	    "coalesce(has_table_privilege(to_regclass('tlspolicyd_state'), "
	    "'SELECT') AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = "
	    "to_regclass('%s') AND tgenabled IN ('O', 'A') AND tgname IN "
	    "('tlspolicyd_before', 'tlspolicyd_insert', 'tlspolicyd_update', "
	    "'tlspolicyd_delete', 'tlspolicyd_truncate')) = 5, false)", tbl);
	ps->sql_setup = xasprintf(
	    "SET statement_timeout = %lu; "
	    "SET application_name = 'tlspolicyd'; "
	    "SET client_encoding = 'UTF8'; "
	    "SELECT pg_is_in_recovery(), %s, to_regclass('%s') IS NOT NULL",
	    c->statement_timeout, state, tbl);
	/*
	 * LOCK before the first snapshot-taking statement: TRUNCATE is not
	 * MVCC-safe, and a load that waited for one would otherwise read the
	 * new, empty table with the old snapshot and generation.
	 */
	/*
	 * The row SELECT then runs without statement_timeout: a big table on
	 * a busy host may take longer, and the no-progress watchdog covers a
	 * session that really hangs.
	 */
	ps->sql_begin_state = xasprintf(
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
	    "LOCK TABLE %s IN ACCESS SHARE MODE; "
	    "SELECT (SELECT generation FROM tlspolicyd_state), "
	    "(SELECT count(*) FROM %s); "
	    "SET LOCAL statement_timeout = 0", tbl, tbl);
	ps->sql_begin_nostate = xasprintf(
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
	    "LOCK TABLE %s IN ACCESS SHARE MODE; "
	    "SELECT NULL, (SELECT count(*) FROM %s); "
	    "SET LOCAL statement_timeout = 0", tbl, tbl);
	/* the generation, and whether the triggers are (still) there */
	ps->sql_poll_state = xasprintf(
	    "SELECT (SELECT generation FROM tlspolicyd_state), %s", state);
	ps->sql_poll_nostate = xasprintf("SELECT NULL, %s", state);
	ps->sql_rows = xasprintf(
	    "SELECT %s::text, %s::text, %s::text, %s::text FROM %s",
	    tgt, pol, par, act, tbl);
	/* lower(target) is what the schema's unique index is on */
	ps->sql_refresh = xasprintf(
	    "SELECT %s::text, %s::text, %s::text, %s::text FROM %s "
	    "WHERE lower(%s) = ANY (SELECT lower(t) FROM unnest($1::text[]) t)",
	    tgt, pol, par, act, tbl, tgt);
}

/*
 * "f", "false", "0", "no", "off", "n" are false; anything else, NULL
 * included, is true: an override is never dropped silently.
 */
static bool
is_active(const PGresult *res, int row, int col)
{
	static const char *const no[] = {"f", "false", "0", "no", "off", "n"};
	const char *v;
	size_t i;

	if (PQgetisnull(res, row, col))
		return true;
	v = PQgetvalue(res, row, col);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcmp(v, no[i]) == 0)
			return false;
	return true;
}

/* One line of the libpq error, printable. */
static void
first_line(const char *msg, char *out, size_t outsz)
{
	size_t n = strcspn(msg, "\n");
	char pb[LOG_PRINTABLE_SIZE];

	snprintf(out, outsz, "%s", log_printable(msg, n, pb));
}

static void
clear_pending(struct pending **v, size_t *n)
{
	while (*n > 0)
		xfree((*v)[--*n].target);
}


/* The snapshot matches the database as of now. */
static void
mark_current(struct pgsync *ps)
{
	ps->d->current_at = time(NULL);
	ps->d->current_mono = now_sec();
}

static void
fail(struct pgsync *ps, const char *what, const char *pgmsg)
{
	struct daemon *d = ps->d;
	char line[200];

	/* d->why also tells "TEMP no policy data loaded yet" why */
	first_line(pgmsg != NULL ? pgmsg : "", line, sizeof(line));
	snprintf(d->why, sizeof(d->why), "%s%s%s", what, line[0] ? ": " : "",
	    line);
	/* log state changes, not every attempt */
	if (!ps->down_logged || strcmp(d->why, ps->last_error) != 0)
		log_warning("pgsync: %s", d->why);
	else
		log_debug("pgsync: %s", d->why);
	ps->down_logged = true;
	memcpy(ps->last_error, d->why, sizeof(ps->last_error));

	snapshot_free(ps->building);
	ps->building = NULL;
	event_del(ps->ev_io);
	event_del(ps->ev_write);
	event_del(ps->ev_slice);
	if (ps->pg != NULL)
		PQfinish(ps->pg);
	ps->pg = NULL;
	ps->connecting = false;
	ps->step = STEP_NONE;
	ps->listening = false;
	clear_pending(&ps->pend, &ps->npend);
	clear_pending(&ps->flight, &ps->nflight);
	ps->resync_requested = true;
	ps->loading = false;
	d->in_sync = false;

	if (ps->hooks.oneshot) {
		if (ps->hooks.done != NULL)
			ps->hooks.done(ps->hooks.arg, false, d->why);
		return;
	}
	{
		struct timeval tv = {(time_t)(ps->backoff / 1000),
		    (suseconds_t)(ps->backoff % 1000) * 1000};

		event_add(ps->ev_reconnect, &tv);
	}
	ps->backoff *= 2;
	if (ps->backoff > ps->cfg->reconnect_max)
		ps->backoff = ps->cfg->reconnect_max;
}

static void
flush(struct pgsync *ps)
{
	int rc = PQflush(ps->pg);

	if (rc < 0)
		fail(ps, "sending a query failed", PQerrorMessage(ps->pg));
	else if (rc > 0)
		event_add(ps->ev_write, NULL);
}

static void process(struct pgsync *ps);
static void settle(struct pgsync *ps);

/* libpq may read the server's answer while it sends: take it too. */
static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;

	(void)fd;
	(void)what;
	flush(ps);
	if (ps->pg != NULL && PQconsumeInput(ps->pg)) {
		process(ps);
		settle(ps);
	}
}

static bool
send_query(struct pgsync *ps, enum step step, const char *sql)
{
	if (!PQsendQuery(ps->pg, sql)) {
		fail(ps, "sending a query failed", PQerrorMessage(ps->pg));
		return false;
	}
	ps->step = step;
	ps->last_progress = now_sec();
	flush(ps);
	return ps->pg != NULL;
}

/* Take the notified targets not yet applied and ask for their rows. */
static void
start_refresh(struct pgsync *ps)
{
	size_t i, len = 3;
	char *arr, *p;
	const char *params[1];

	xfree(ps->flight);	/* emptied by the last apply_refresh() */
	ps->flight = ps->pend;
	ps->nflight = ps->npend;
	ps->pend = NULL;
	ps->npend = 0;
	ps->pend_cap = 0;
	/* a text[] literal: {"a","b"}, with '"' and '\' escaped */
	for (i = 0; i < ps->nflight; i++)
		len += 2 * strlen(ps->flight[i].target) + 3;
	p = arr = xmalloc(len);
	*p++ = '{';
	for (i = 0; i < ps->nflight; i++) {
		const char *t;

		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (t = ps->flight[i].target; *t != '\0'; t++) {
			if (*t == '"' || *t == '\\')
				*p++ = '\\';
			*p++ = *t;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	params[0] = arr;
	if (!PQsendQueryParams(ps->pg, ps->sql_refresh, 1, NULL, params, NULL,
	    NULL, 0)) {
		xfree(arr);
		fail(ps, "sending the refresh query failed",
		    PQerrorMessage(ps->pg));
		return;
	}
	xfree(arr);
	ps->step = STEP_REFRESH;
	ps->last_progress = now_sec();
	flush(ps);
}

static void
add_row(struct pgsync *ps, struct snapshot *s, const PGresult *res, int row)
{
	struct policy_result pr;
	const char *target;
	enum snapshot_row outcome;
	bool active = is_active(res, row, 3);

	/* a NULL target reads as "": reported as unusable like any other */
	target = PQgetvalue(res, row, 0);
	outcome = snapshot_add_row(s, &ps->popts, target,
	    PQgetvalue(res, row, 1),
	    PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2), active,
	    &pr);
	if (outcome == SNAPSHOT_ROW_INVALID)
		ps->rows_invalid++;
	else if (outcome == SNAPSHOT_ROW_BAD_TARGET)
		ps->rows_bad++;
	if (ps->hooks.row != NULL) {
		ps->hooks.row(ps->hooks.arg, target, active, outcome, &pr);
	} else if (outcome != SNAPSHOT_ROW_VALID) {
		char pb[LOG_PRINTABLE_SIZE];

		if (outcome == SNAPSHOT_ROW_WARNED)
			log_info("pgsync: row %s: %s (served as \"%s\")",
			    log_printable(target, strlen(target), pb),
			    pr.problem, pr.text);
		else
			log_warning("pgsync: row %s: %s%s",
			    log_printable(target, strlen(target), pb),
			    pr.problem, outcome == SNAPSHOT_ROW_INVALID ?
			    "; its key answers TEMP" : "");
	}
}

/* Apply a refresh: drop the notified targets' rows, add what is there now. */
static void
apply_refresh(struct pgsync *ps, const PGresult *res)
{
	struct daemon *d = ps->d;
	int i, n = PQntuples(res);
	size_t k;
	int64_t gen = ps->applied_gen;

	for (k = 0; k < ps->nflight; k++) {
		snapshot_remove_target(d->snap, ps->flight[k].target);
		if (ps->flight[k].gen > gen)
			gen = ps->flight[k].gen;
	}
	/* other spellings of the same target, in tables without the index */
	for (i = 0; i < n; i++)
		snapshot_remove_target(d->snap, PQgetvalue(res, i, 0));
	for (i = 0; i < n; i++)
		add_row(ps, d->snap, res, i);
	log_debug("pgsync: refreshed %zu target(s), %d row(s), generation "
	    "%" PRId64, ps->nflight, n, gen);
	clear_pending(&ps->flight, &ps->nflight);
	ps->applied_gen = gen;
	mark_current(ps);
	/* removed rows stay in the arena until a full load compacts it */
	if (snapshot_waste(d->snap) > (size_t)1 << 20 &&
	    snapshot_waste(d->snap) > snapshot_bytes(d->snap) / 2) {
		log_info("pgsync: %zu KiB of replaced rows: full reload to "
		    "compact", snapshot_waste(d->snap) / 1024);
		ps->resync_requested = true;
	}
}

static void
swap_in(struct pgsync *ps)
{
	struct daemon *d = ps->d;
	struct snapshot *old = d->snap;
	size_t i, keep = 0;
	bool first = old == NULL;

	d->snap = ps->building;
	ps->building = NULL;
	snapshot_free(old);
	ps->applied_gen = ps->load_gen;
	ps->suspect_gen = -1;
	d->in_sync = true;
	mark_current(ps);
	d->why[0] = '\0';
	ps->backoff = BACKOFF_MIN_MS;
	if (ps->down_logged)
		log_info("pgsync: database reachable again");
	ps->down_logged = false;
	ps->last_error[0] = '\0';

	/*
	 * Notifications that arrived during the load, in order: those the
	 * load already holds are dropped, the rest must follow its
	 * generation without a gap.
	 */
	ps->loading = false;
	ps->seen_gen = ps->load_gen;
	for (i = 0; i < ps->npend; i++) {
		struct pending p = ps->pend[i];

		if (p.gen > ps->applied_gen && note_gen(ps, p.gen, p.target))
			ps->pend[keep++] = p;
		else
			xfree(p.target);
	}
	ps->npend = keep;
	if (ps->resync_requested)
		clear_pending(&ps->pend, &ps->npend);

	log_info("pgsync: %s %zu rows (%zu stored, %zu invalid, %zu unusable "
	    "targets) in %.0f ms (longest loop turn %.1f ms CPU), %zu KiB, "
	    "generation %" PRId64, first ? "loaded" : "reloaded",
	    ps->rows_total, snapshot_rows(d->snap), ps->rows_invalid,
	    ps->rows_bad, (now_sec() - ps->load_started) * 1000,
	    ps->longest_turn * 1000, snapshot_bytes(d->snap) / 1024,
	    ps->applied_gen);
	if (ps->hooks.done != NULL)
		ps->hooks.done(ps->hooks.arg, true, NULL);
}

static void
start_load(struct pgsync *ps)
{
	ps->load_started = now_sec();
	ps->rows_total = ps->rows_invalid = ps->rows_bad = 0;
	ps->longest_turn = 0;
	ps->resync_requested = false;
	ps->loading = true;
	send_query(ps, STEP_BEGIN, ps->has_state ? ps->sql_begin_state :
	    ps->sql_begin_nostate);
}

/* A non-negative decimal generation or count; -1 if it is not one. */
static int64_t
parse_gen(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || (*end != '\0' && *end != ' ') || v < 0)
		return -1;
	return v;
}

/*
 * The poll's answer.  A gap is not trusted at once: its notification may
 * still be on the wire.  If it is still there at the next poll, or no
 * notification can ever come (a standby cannot LISTEN), notifications
 * were lost and a full load runs.  Triggers attached or dropped since the
 * connection started switch the mode.
 */
static bool
poll_result(struct pgsync *ps, int64_t g, bool has_state)
{
	if (has_state != ps->has_state) {
		/* start over: LISTEN (or not) and load in the new mode */
		fail(ps, has_state ? "tlspolicyd triggers appeared" :
		    "tlspolicyd triggers disappeared", NULL);
		return false;
	}
	if (!has_state)
		return true;	/* the poll tick reloads the table */
	if (g == ps->applied_gen) {
		ps->suspect_gen = -1;
		mark_current(ps);
	} else if (g < ps->applied_gen || !ps->listening ||
	    (ps->suspect_gen >= 0 && ps->applied_gen < ps->suspect_gen)) {
		log_info("pgsync: generation %" PRId64 " but %" PRId64
		    " applied: notifications lost, full reload", g,
		    ps->applied_gen);
		ps->resync_requested = true;
		ps->suspect_gen = -1;
	} else {
		ps->suspect_gen = g;
	}
	return true;
}

/* One result of the running step; false if the session failed. */
static bool
handle_result(struct pgsync *ps, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
	    st == PGRES_NONFATAL_ERROR) {
		fail(ps, "query failed", PQresultErrorMessage(res));
		return false;
	}
	switch (ps->step) {
	case STEP_SETUP:
		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			ps->standby = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
			ps->has_state = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
			if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
				char msg[200];

				snprintf(msg, sizeof(msg), "table %s does not "
				    "exist", ps->cfg->table);
				fail(ps, "cannot load", msg);
				return false;
			}
		}
		break;
	case STEP_BEGIN:
		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			long long count = parse_gen(PQgetvalue(res, 0, 1));

			ps->load_gen = PQgetisnull(res, 0, 0) ? -1 :
			    parse_gen(PQgetvalue(res, 0, 0));
			snapshot_free(ps->building);
			ps->building = snapshot_new(count > 0 ?
			    (size_t)count : 0);
		}
		break;
	case STEP_ROWS:
		if (st == PGRES_SINGLE_TUPLE) {
			ps->rows_total++;
			add_row(ps, ps->building, res, 0);
		} else if (st == PGRES_TUPLES_OK && PQntuples(res) > 0) {
			/* single-row mode was refused: never swap in a partial load */
			fail(ps, "the full load came back in one piece", NULL);
			return false;
		}
		break;
	case STEP_REFRESH:
		if (st == PGRES_TUPLES_OK)
			apply_refresh(ps, res);
		break;
	case STEP_POLL:
		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1)
			return poll_result(ps, PQgetisnull(res, 0, 0) ? -1 :
			    parse_gen(PQgetvalue(res, 0, 0)),
			    strcmp(PQgetvalue(res, 0, 1), "t") == 0);
		break;
	default:
		break;
	}
	return true;
}

/* The running step returned all its results: start what follows. */
static void
step_done(struct pgsync *ps)
{
	enum step done = ps->step;

	ps->step = STEP_NONE;
	switch (done) {
	case STEP_SETUP:
		if (ps->has_state && !ps->standby) {
			send_query(ps, STEP_LISTEN, "LISTEN " NOTIFY_CHANNEL);
			return;
		}
		if (!ps->has_state)
			log_warning("pgsync: no tlspolicyd triggers on %s: "
			    "full reload every poll_interval (apply "
			    "contrib/postgresql/schema.sql)", ps->cfg->table);
		start_load(ps);
		return;
	case STEP_LISTEN:
		ps->listening = true;
		start_load(ps);
		return;
	case STEP_BEGIN:
		if (send_query(ps, STEP_ROWS, ps->sql_rows) &&
		    !PQsetSingleRowMode(ps->pg))
			log_warning("pgsync: single-row mode refused");
		return;
	case STEP_ROWS:
		send_query(ps, STEP_COMMIT, "COMMIT");
		return;
	case STEP_COMMIT:
		swap_in(ps);
		break;
	default:
		break;
	}
	kick(ps);
}

static void
push_pending(struct pgsync *ps, int64_t gen, const char *target)
{
	if (ps->npend >= PGSYNC_MAX_PENDING_TARGETS) {
		clear_pending(&ps->pend, &ps->npend);
		ps->resync_requested = true;
		return;
	}
	if (ps->npend == ps->pend_cap) {
		ps->pend_cap = ps->pend_cap ? 2 * ps->pend_cap : 8;
		ps->pend = xreallocarray(ps->pend, ps->pend_cap,
		    sizeof(*ps->pend));
	}
	ps->pend[ps->npend].target = target ? xstrdup(target) : NULL;
	ps->pend[ps->npend].gen = gen;
	ps->npend++;
}

/*
 * Account for one notification newer than the data (gen > applied_gen).
 * Returns true if its target is to be refreshed; a "<gen>" notification or
 * a gap in the generations asks for a full load instead.
 */
static bool
note_gen(struct pgsync *ps, int64_t gen, const char *target)
{
	if (ps->resync_requested)
		return false;		/* the coming load covers it */
	if (ps->seen_gen >= 0 && gen > ps->seen_gen + 1) {
		log_info("pgsync: generation %" PRId64 " follows %" PRId64
		    ": notifications lost, full reload", gen, ps->seen_gen);
		ps->resync_requested = true;
		return false;
	}
	if (gen > ps->seen_gen)
		ps->seen_gen = gen;
	if (target == NULL) {
		ps->resync_requested = true;
		return false;
	}
	return true;
}

/*
 * Payload "<gen> <target>": refresh that target; "<gen>": reload it all.
 * During a load every notification is kept in order, because only the
 * load's generation tells which ones it already holds.
 */
static void
drain_notifies(struct pgsync *ps)
{
	PGnotify *n;

	while ((n = PQnotifies(ps->pg)) != NULL) {
		char *sp = strchr(n->extra, ' ');
		const char *target = sp != NULL ? sp + 1 : NULL;
		int64_t gen = parse_gen(n->extra);

		if (gen < 0)
			log_debug("pgsync: ignoring notification \"%.40s\"",
			    n->extra);
		else if (ps->loading)
			push_pending(ps, gen, target);
		else if (gen > ps->applied_gen && note_gen(ps, gen, target))
			push_pending(ps, gen, target);
		PQfreemem(n);
	}
}

/*
 * Take every complete result libpq holds.  While building a snapshot,
 * yield after PGSYNC_SLICE_USEC so lookups are never held up longer.
 */
static double
cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
process(struct pgsync *ps)
{
	double start = now_sec();
	double cpu = cpu_sec();
	unsigned n = 0;

	while (ps->pg != NULL && ps->step != STEP_NONE && !PQisBusy(ps->pg)) {
		PGresult *res = PQgetResult(ps->pg);
		bool ok;

		if (res == NULL) {
			step_done(ps);
			continue;
		}
		ok = handle_result(ps, res);
		PQclear(res);
		if (!ok)
			return;
		if (ps->step == STEP_ROWS && ++n % 256 == 0 &&
		    (now_sec() - start) * 1e6 > PGSYNC_SLICE_USEC) {
			static const struct timeval zero = {0, 0};

			event_add(ps->ev_slice, &zero);
			break;
		}
	}
	/* CPU time: the wall clock would add the scheduler's preemptions */
	if (cpu_sec() - cpu > ps->longest_turn)
		ps->longest_turn = cpu_sec() - cpu;
}

/*
 * After results were taken: notifications that followed them are parsed
 * by libpq inside PQgetResult() and would wait for the next packet.
 */
static void
settle(struct pgsync *ps)
{
	if (ps->pg == NULL)
		return;
	drain_notifies(ps);
	kick(ps);
}

static void
on_slice(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	process(arg);
	settle(arg);
}

static void
kick(struct pgsync *ps)
{
	if (ps->pg == NULL || ps->connecting || ps->step != STEP_NONE)
		return;
	if (ps->resync_requested) {
		clear_pending(&ps->pend, &ps->npend);
		start_load(ps);
	} else if (ps->npend > 0) {
		start_refresh(ps);
	} else if (ps->poll_due) {
		ps->poll_due = false;
		if (!ps->has_state)
			ps->resync_requested = true;	/* no generation to ask */
		send_query(ps, STEP_POLL, ps->has_state ? ps->sql_poll_state :
		    ps->sql_poll_nostate);
	}
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;

	(void)fd;
	if (ps->connecting) {
		PostgresPollingStatusType st;
		short ev;

		if (what & EV_TIMEOUT) {
			fail(ps, "connecting to the database timed out", NULL);
			return;
		}
		st = PQconnectPoll(ps->pg);
		if (st == PGRES_POLLING_FAILED) {
			fail(ps, "cannot connect to the database",
			    PQerrorMessage(ps->pg));
			return;
		}
		if (st == PGRES_POLLING_OK) {
			ps->connecting = false;
			if (PQsetnonblocking(ps->pg, 1) != 0) {
				fail(ps, "cannot make the session non-blocking",
				    PQerrorMessage(ps->pg));
				return;
			}
			event_del(ps->ev_io);
			event_assign(ps->ev_io, ps->d->base, PQsocket(ps->pg),
			    EV_READ | EV_PERSIST, on_io, ps);
			event_add(ps->ev_io, NULL);
			event_assign(ps->ev_write, ps->d->base,
			    PQsocket(ps->pg), EV_WRITE, on_write, ps);
			log_debug("pgsync: connected");
			send_query(ps, STEP_SETUP, ps->sql_setup);
			return;
		}
		/* the socket may change between attempts (multi-host) */
		ev = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
		event_del(ps->ev_io);
		event_assign(ps->ev_io, ps->d->base, PQsocket(ps->pg), ev,
		    on_io, ps);
		{
			struct timeval tv = {10, 0};

			event_add(ps->ev_io, &tv);
		}
		return;
	}
	if (!PQconsumeInput(ps->pg)) {
		fail(ps, "lost the database connection",
		    PQerrorMessage(ps->pg));
		return;
	}
	ps->last_progress = now_sec();
	/*
	 * Notifications that came in with query results sit in libpq's buffer
	 * and would never wake the loop again: drain them every time.
	 */
	drain_notifies(ps);
	process(ps);
	settle(ps);
}

/* Server notices go through our log, never raw to stderr. */
static void
on_notice(void *arg, const char *message)
{
	char line[200];

	(void)arg;
	first_line(message, line, sizeof(line));
	log_info("pgsync: server says: %s", line);
}

static void
connect_start(struct pgsync *ps)
{
	struct timeval tv = {10, 0};

	ps->pg = PQconnectStart(ps->cfg->database);
	if (ps->pg == NULL) {
		fail(ps, "cannot connect to the database", "out of memory");
		return;
	}
	if (PQstatus(ps->pg) == CONNECTION_BAD) {
		fail(ps, "cannot connect to the database",
		    PQerrorMessage(ps->pg));
		return;
	}
	PQsetNoticeProcessor(ps->pg, on_notice, ps);
	ps->connecting = true;
	/* PQconnectStart wants PQconnectPoll called once the socket writes */
	event_assign(ps->ev_io, ps->d->base, PQsocket(ps->pg), EV_WRITE,
	    on_io, ps);
	event_add(ps->ev_io, &tv);
}

static void
on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_start(arg);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;
	double stuck = (double)ps->cfg->statement_timeout / 1000 + 10;

	(void)fd;
	(void)what;
	if (ps->pg == NULL || ps->connecting)
		return;
	/* A peer that vanished without a reset never times a query out. */
	if (ps->step != STEP_NONE && now_sec() - ps->last_progress > stuck) {
		fail(ps, "the database stopped answering", NULL);
		return;
	}
	ps->poll_due = true;
	kick(ps);
}

struct pgsync *
pgsync_new(struct daemon *d, const struct pgsync_hooks *hooks)
{
	struct pgsync *ps = xcalloc(1, sizeof(*ps));
	struct timeval tv;

	ps->d = d;
	ps->cfg = d->cfg;
	if (hooks != NULL)
		ps->hooks = *hooks;
	policy_opts_init(&ps->popts);
	ps->popts.compat = d->cfg->postfix_compat;
	ps->popts.fingerprint_len = d->cfg->fingerprint_len;
	ps->applied_gen = -1;
	ps->suspect_gen = -1;
	ps->seen_gen = -1;
	ps->resync_requested = true;
	ps->backoff = BACKOFF_MIN_MS;
	build_sql(ps);

	ps->ev_io = event_new(d->base, -1, 0, on_io, ps);
	ps->ev_write = event_new(d->base, -1, 0, on_write, ps);
	ps->ev_slice = evtimer_new(d->base, on_slice, ps);
	ps->ev_reconnect = evtimer_new(d->base, on_reconnect, ps);
	ps->ev_poll = event_new(d->base, -1, EV_PERSIST, on_poll, ps);
	tv.tv_sec = (time_t)(d->cfg->poll_interval / 1000);
	tv.tv_usec = (suseconds_t)(d->cfg->poll_interval % 1000) * 1000;
	event_add(ps->ev_poll, &tv);	/* also the stuck-query watchdog */
	snprintf(d->why, sizeof(d->why), "connecting to the database");
	connect_start(ps);
	return ps;
}

void
pgsync_resync(struct pgsync *ps)
{
	ps->resync_requested = true;
	kick(ps);
}

void
pgsync_free(struct pgsync *ps)
{
	if (ps == NULL)
		return;
	event_free(ps->ev_io);
	event_free(ps->ev_write);
	event_free(ps->ev_slice);
	event_free(ps->ev_reconnect);
	event_free(ps->ev_poll);
	if (ps->pg != NULL)
		PQfinish(ps->pg);
	snapshot_free(ps->building);
	clear_pending(&ps->pend, &ps->npend);
	clear_pending(&ps->flight, &ps->nflight);
	xfree(ps->pend);
	xfree(ps->flight);
	xfree(ps->sql_setup);
	xfree(ps->sql_begin_state);
	xfree(ps->sql_begin_nostate);
	xfree(ps->sql_rows);
	xfree(ps->sql_refresh);
	xfree(ps->sql_poll_state);
	xfree(ps->sql_poll_nostate);
	xfree(ps);
}
