/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pgsync - the database side, on the same event loop as the clients.
 *
 * One libpq connection in non-blocking mode; this file is its state
 * machine.  What to do next is decided by syncplan (pure), what to send
 * is written by syncsql (pure).  The session's life:
 *
 *   connect -> SETUP (search_path, statement_timeout; standby? rights?)
 *           -> LISTEN tlspolicyd     (not on a standby; a wake-up only)
 *           -> LOAD: BEGIN REPEATABLE READ; LOCK; generation, triggers,
 *              count -> every row in single-row mode, built into a new
 *              snapshot in slices of PGSYNC_SLICE_USEC per loop turn
 *              -> COMMIT; swap the new snapshot in
 *           -> idle: on a wake-up or every poll_interval, CHECK:
 *              BEGIN REPEATABLE READ; LOCK; generation, pruned_to,
 *              triggers -> if the generation moved, CHANGES (the log's
 *              targets after the applied generation) -> REFRESH (their
 *              rows) -> COMMIT.  Every reconcile_interval, a LOAD that
 *              is compared with the snapshot it replaces.
 *
 * A check reads the generation, the log and the rows in one REPEATABLE
 * READ snapshot, so the snapshot moves from one committed generation to
 * a later one, never to a mix.  Nothing a notification carries is read:
 * any role may send one.
 *
 * Expiry: every check and load also reads the database's clock; its
 * offset from CLOCK_MONOTONIC gives the database's time between them (a
 * step of the local clock changes nothing, and neither does a skew).  A
 * row whose expiry has passed is never added; the rest go into the
 * snapshot with their expiry, and a timer armed for the earliest one
 * removes them when it comes (snapshot_expire()), logging each once.
 *
 * Any error drops the session: the snapshot stays (last known good, served
 * for max_stale), and a full load follows the reconnect, so nothing missed
 * while down can survive it.  Before the first load ever succeeded, a
 * failure serves the state file instead, if it checks out, and so does a
 * database that has not answered STATEFILE_SERVE_GRACE_MS after the
 * session started (a host that drops packets fails only after
 * connect_timeout); each load and refresh tells the state file
 * (statefile.h).  A new session (SIGHUP) arms the expiry timer for the
 * data already served.
 *
 * Invariants: the daemon's snapshot only ever changes to a complete,
 * consistent state within one callback; the DSN is never logged, and
 * libpq's messages go to the log only, never into a reply; lookup keys
 * never reach SQL.
 * Limits: PGSYNC_SLICE_USEC, PGSYNC_MAX_PENDING_TARGETS, statement_timeout,
 * connect_timeout, reconnect_max.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "monotime.h"
#include "pgsync.h"
#include "statefile.h"
#include "syncplan.h"
#include "syncsql.h"
#include "xalloc.h"

#define NOTIFY_CHANNEL "tlspolicyd"
#define BACKOFF_MIN_MS 100
#define LIST_FIRST 10		/* targets named in a summary line */
#define EXPIRY_ARM_MAX 86400	/* seconds: the expiry timer is re-armed */

enum step {
	STEP_NONE,
	STEP_SETUP,
	STEP_LISTEN,
	STEP_CHECK,
	STEP_CHANGES,
	STEP_REFRESH,
	STEP_END,		/* COMMIT of a check */
	STEP_LOAD,
	STEP_ROWS,
	STEP_COMMIT,		/* COMMIT of a load: swap */
};

struct pgsync {
	struct daemon *d;
	const struct config *cfg;
	struct pgsync_hooks hooks;
	struct policy_opts popts;
	struct syncsql sql;
	struct syncsql_names names;	/* what sql was built from */
	struct syncplan plan;
	char *table;		/* "schema"."name", for messages */

	PGconn *pg;
	bool connecting;
	enum step step;
	struct event *ev_io;		/* connect polling, then reads */
	struct event *ev_write;		/* flushing a large query */
	struct event *ev_slice;		/* continue a load next turn */
	struct event *ev_poll;		/* poll_interval tick, watchdog */
	struct event *ev_reconcile;
	struct event *ev_reconnect;
	struct event *ev_expire;	/* the earliest expiry in d->snap */
	struct event *ev_grace;		/* serve the state file, no load yet */
	double clock_offset;	/* database epoch seconds - monotime_sec() */
	unsigned long backoff;
	bool down_logged;
	bool restarting;		/* the next fail() is planned: no warning */
	char last_error[DAEMON_WHY_SIZE + 200];
	double last_progress;

	/* what SETUP found */
	bool standby;
	bool use_state;			/* may read the state and the log */
	char setup_note[200];		/* logged when it changes */
	char columns_note[200];		/* optional columns the table lacks */

	/* the running check or load */
	enum syncplan_verdict verdict;
	char **flight;			/* the log's targets being refreshed */
	size_t nflight;
	size_t flight_cap;
	bool everything;
	int64_t load_gen;
	bool load_trusted;
	uint64_t load_triggers;
	uint64_t last_triggers;		/* what was last reported */
	char triggers_why[200];
	bool writers;			/* another role may write the log */

	struct snapshot *building;
	size_t rows_total, rows_invalid, rows_bad;
	uint64_t invalid_hash;		/* of this load's invalid rows */
	uint64_t invalid_reported;	/* of the last set reported */
	char invalid_first[LIST_FIRST * 64];
	uint64_t conflicts_reported;
	double load_started;
	double longest_turn;		/* CPU seconds, of this load */

	bool stale_logged;
};

static void kick(struct pgsync *ps);
static void on_io(evutil_socket_t fd, short what, void *arg);

static double
cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval
ms_tv(unsigned long ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000};

	return tv;
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

static bool
is_true(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* A non-negative decimal; -1 if NULL or not one. */
static int64_t
get_int(const PGresult *res, int row, int col)
{
	const char *s = PQgetvalue(res, row, col);
	char *end;
	long long v;

	if (PQgetisnull(res, row, col))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	return v;
}

/* One line of a libpq message, printable. */
static void
first_line(const char *msg, char *out, size_t outsz)
{
	size_t n = strcspn(msg, "\n");
	char pb[LOG_PRINTABLE_SIZE];

	snprintf(out, outsz, "%s", log_printable(msg, n, pb));
}

static void
clear_flight(struct pgsync *ps)
{
	while (ps->nflight > 0)
		xfree(ps->flight[--ps->nflight]);
	ps->everything = false;
}

static void watch_stale(struct pgsync *ps);

/* The snapshot matches the database as of now. */
static void
mark_current(struct pgsync *ps)
{
	ps->d->current_at = time(NULL);
	ps->d->current_mono = monotime_sec();
	ps->d->in_sync = true;
	watch_stale(ps);
}

/* The database's clock now, epoch seconds (see the top of this file). */
static double
db_now(const struct pgsync *ps)
{
	return monotime_sec() + ps->clock_offset;
}

/* A row the daemon served stopped at its expiry: said once, here. */
static void
log_expired(void *arg, const char *target, const char *comment,
    double expires)
{
	char pt[LOG_PRINTABLE_SIZE], pc[LOG_PRINTABLE_SIZE];

	(void)arg;
	(void)expires;
	if (comment != NULL && comment[0] != '\0')
		log_info("pgsync: override for %s expired (comment: %s)",
		    log_printable(target, strlen(target), pt),
		    log_printable(comment, strlen(comment), pc));
	else
		log_info("pgsync: override for %s expired (no comment)",
		    log_printable(target, strlen(target), pt));
}

/*
 * Arm the timer for the earliest expiry in the snapshot served.  At most
 * a day ahead: it is armed again then, and after every check, whose
 * clock reading may have moved the offset.
 */
static void
arm_expiry(struct pgsync *ps)
{
	double next, wait;
	struct timeval tv;

	if (ps->d->snap == NULL || ps->hooks.oneshot)
		return;
	next = snapshot_next_expiry(ps->d->snap);
	if (isinf(next)) {
		ps->d->stats.next_expiry_mono = 0;
		event_del(ps->ev_expire);
		return;
	}
	wait = next - db_now(ps);
	/* for /metrics: on the local monotonic clock, like the timer */
	ps->d->stats.next_expiry_mono = monotime_sec() + (wait > 0 ? wait : 0);
	wait = wait < 0 ? 0 : wait > EXPIRY_ARM_MAX ? EXPIRY_ARM_MAX : wait;
	tv = ms_tv((unsigned long)(wait * 1000) + 1);
	event_add(ps->ev_expire, &tv);
}

static void
on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;

	(void)fd;
	(void)what;
	if (ps->d->snap != NULL)
		snapshot_expire(ps->d->snap, db_now(ps), log_expired, ps);
	arm_expiry(ps);
}

/*
 * Drop the session.  `class` is what a TEMP reply may say (no host names,
 * roles or paths); `detail` (libpq's text) goes to the log only.
 */
static void
fail(struct pgsync *ps, const char *class, const char *detail)
{
	struct daemon *d = ps->d;
	char line[200], msg[DAEMON_WHY_SIZE + 200];

	first_line(detail != NULL ? detail : "", line, sizeof(line));
	snprintf(d->why, sizeof(d->why), "%s", class);
	snprintf(msg, sizeof(msg), "%s%s%s", class, line[0] ? ": " : "",
	    line);
	/* log state changes, not every attempt; a planned restart is news */
	if (ps->restarting) {
		ps->restarting = false;
		msg[0] = '\0';
	} else if (!ps->down_logged || strcmp(msg, ps->last_error) != 0)
		log_warning("pgsync: %s", msg);
	else
		log_debug("pgsync: %s", msg);
	ps->down_logged = msg[0] != '\0';
	snprintf(ps->last_error, sizeof(ps->last_error), "%s", msg);

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
	clear_flight(ps);
	syncplan_failed(&ps->plan);
	d->in_sync = false;
	d->db_connected = false;

	if (ps->hooks.oneshot) {
		if (ps->hooks.done != NULL)
			ps->hooks.done(ps->hooks.arg, false, d->why);
		return;
	}
	/* no load ever succeeded: the state file, if it checks out */
	if (d->snap == NULL && statefile_serve(d->state))
		arm_expiry(ps);
	{
		struct timeval tv = ms_tv(ps->backoff);

		event_add(ps->ev_reconnect, &tv);
	}
	ps->backoff *= 2;
	if (ps->backoff > ps->cfg->reconnect_max)
		ps->backoff = ps->cfg->reconnect_max;
}

/* A failed query: its class from the SQLSTATE, its text to the log. */
static void
fail_result(struct pgsync *ps, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *class = syncplan_failure_class(state);

	if (state == NULL && PQstatus(ps->pg) == CONNECTION_OK)
		class = "database query failed";
	fail(ps, class, PQresultErrorMessage(res));
}

static void
flush(struct pgsync *ps)
{
	int rc = PQflush(ps->pg);

	if (rc < 0)
		fail(ps, "database unreachable", PQerrorMessage(ps->pg));
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
sent(struct pgsync *ps, enum step step, int ok)
{
	if (!ok) {
		fail(ps, "database unreachable", PQerrorMessage(ps->pg));
		return false;
	}
	ps->step = step;
	ps->last_progress = monotime_sec();
	flush(ps);
	return ps->pg != NULL;
}

static bool
send_query(struct pgsync *ps, enum step step, const char *sql)
{
	return sent(ps, step, PQsendQuery(ps->pg, sql));
}

/* A statement whose one parameter is the applied generation. */
static bool
send_with_applied(struct pgsync *ps, enum step step, const char *sql)
{
	char gen[24];
	const char *params[1] = {gen};

	snprintf(gen, sizeof(gen), "%" PRId64, ps->plan.applied);
	return sent(ps, step, PQsendQueryParams(ps->pg, sql, 1, NULL, params,
	    NULL, NULL, 0));
}

/* --- rows */

static void
note_invalid(struct pgsync *ps, const char *target, const char *problem)
{
	size_t used = strlen(ps->invalid_first);
	char pb[LOG_PRINTABLE_SIZE];

	ps->invalid_hash = syncplan_hash(ps->invalid_hash, target,
	    strlen(target) + 1);
	ps->invalid_hash = syncplan_hash(ps->invalid_hash, problem,
	    strlen(problem) + 1);
	if (ps->rows_invalid + ps->rows_bad <= LIST_FIRST)
		snprintf(ps->invalid_first + used,
		    sizeof(ps->invalid_first) - used, "%s%.60s",
		    used ? ", " : "", log_printable(target, strlen(target),
		    pb));
}

/* A row's expiry and comment, against the database's clock now. */
static void
read_lifecycle(const struct pgsync *ps, const PGresult *res, int row,
    struct pgsync_row_info *info)
{
	double t;

	info->now = db_now(ps);
	info->expires = INFINITY;
	if (!PQgetisnull(res, row, SYNCSQL_ROW_EXPIRES) &&
	    lifecycle_parse_epoch(PQgetvalue(res, row, SYNCSQL_ROW_EXPIRES),
	    &t))
		info->expires = t;
	info->expired = lifecycle_expired(info->expires, info->now);
	info->comment = PQgetisnull(res, row, SYNCSQL_ROW_COMMENT) ? NULL :
	    PQgetvalue(res, row, SYNCSQL_ROW_COMMENT);
	info->expires_column = ps->names.has_expires ? ps->names.expires : "";
	info->comment_column = ps->names.has_comment ? ps->names.comment : "";
}

/*
 * One row into snapshot s.  A full load reports problems in its summary
 * (log_each false); a refresh is one DBA edit, logged on its own.  A row
 * past its expiry is stored like an inactive one: not at all.
 */
static void
add_row(struct pgsync *ps, struct snapshot *s, const PGresult *res, int row,
    bool log_each)
{
	struct policy_result pr;
	struct pgsync_row_info info;
	const char *target;
	enum snapshot_row outcome;
	bool active = is_active(res, row, SYNCSQL_ROW_ACTIVE), live;
	char pb[LOG_PRINTABLE_SIZE];

	read_lifecycle(ps, res, row, &info);
	live = active && !info.expired;
	/* a NULL target reads as "": reported as unusable like any other */
	target = PQgetvalue(res, row, SYNCSQL_ROW_TARGET);
	info.target_null = PQgetisnull(res, row, SYNCSQL_ROW_TARGET);
	outcome = snapshot_add_row_until(s, &ps->popts, target,
	    PQgetvalue(res, row, SYNCSQL_ROW_POLICY),
	    PQgetisnull(res, row, SYNCSQL_ROW_PARAMETERS) ? NULL :
	    PQgetvalue(res, row, SYNCSQL_ROW_PARAMETERS), live, info.expires,
	    info.comment, &pr);
	if (outcome == SNAPSHOT_ROW_INVALID)
		ps->rows_invalid++;
	else if (outcome == SNAPSHOT_ROW_BAD_TARGET)
		ps->rows_bad++;
	if (ps->hooks.row != NULL || ps->hooks.row_info != NULL) {
		if (ps->hooks.row != NULL)
			ps->hooks.row(ps->hooks.arg, target, live, outcome,
			    &pr);
		if (ps->hooks.row_info != NULL)
			ps->hooks.row_info(ps->hooks.arg, target, active,
			    outcome, &pr, &info);
		return;
	}
	if (log_each && active && info.expired)
		log_debug("pgsync: row %s has expired: not served",
		    log_printable(target, strlen(target), pb));
	if (outcome == SNAPSHOT_ROW_VALID)
		return;
	if (outcome != SNAPSHOT_ROW_WARNED)
		note_invalid(ps, target, pr.problem);
	if (!log_each) {
		log_debug("pgsync: row %s: %s",
		    log_printable(target, strlen(target), pb), pr.problem);
	} else if (outcome == SNAPSHOT_ROW_WARNED) {
		log_info("pgsync: row %s: %s (served as \"%s\")",
		    log_printable(target, strlen(target), pb), pr.problem,
		    pr.text);
	} else {
		log_warning("pgsync: row %s: %s%s",
		    log_printable(target, strlen(target), pb), pr.problem,
		    outcome == SNAPSHOT_ROW_INVALID ?
		    "; its key answers TEMP" : "");
	}
}

/* --- refresh from the change log */

static void
take_target(struct pgsync *ps, const PGresult *res, int row)
{
	if (PQgetisnull(res, row, 0)) {
		ps->everything = true;
		return;
	}
	if (ps->nflight == ps->flight_cap) {
		ps->flight_cap = ps->flight_cap ? 2 * ps->flight_cap : 16;
		ps->flight = xreallocarray(ps->flight, ps->flight_cap,
		    sizeof(*ps->flight));
	}
	ps->flight[ps->nflight++] = xstrdup(PQgetvalue(res, row, 0));
}

/* Drop the logged targets' rows, add what is there now. */
static void
apply_refresh(struct pgsync *ps, const PGresult *res)
{
	struct daemon *d = ps->d;
	int i, n = PQntuples(res);
	size_t k;

	for (k = 0; k < ps->nflight; k++)
		snapshot_remove_target(d->snap, ps->flight[k]);
	/* other spellings of the same target, in tables without the index */
	for (i = 0; i < n; i++)
		snapshot_remove_target(d->snap, PQgetvalue(res, i, 0));
	for (i = 0; i < n; i++)
		add_row(ps, d->snap, res, i, true);
	arm_expiry(ps);
	syncplan_applied(&ps->plan);
	d->stats.refreshes++;
	d->stats.generation = ps->plan.applied;
	log_debug("pgsync: applied generation %" PRId64 ": %zu target(s), "
	    "%d row(s)", ps->plan.applied, ps->nflight, n);
	clear_flight(ps);
	mark_current(ps);
	statefile_changed(d->state, ps->cfg, ps->plan.applied);
	/* removed rows stay in the arena until a full load compacts it */
	if (snapshot_waste(d->snap) > (size_t)1 << 20 &&
	    snapshot_waste(d->snap) > snapshot_bytes(d->snap) / 2) {
		log_info("pgsync: %zu KiB of replaced rows: full reload to "
		    "compact", snapshot_waste(d->snap) / 1024);
		syncplan_reload(&ps->plan, SYNCPLAN_RELOAD_COMPACT);
	}
}

/* --- full loads */

struct diff_list {
	char text[LIST_FIRST * 64];
	size_t n;
};

static void
diff_one(void *arg, const char *key)
{
	struct diff_list *l = arg;
	size_t used = strlen(l->text);
	char pb[LOG_PRINTABLE_SIZE];

	if (l->n++ < LIST_FIRST)
		snprintf(l->text + used, sizeof(l->text) - used, "%s%.60s",
		    used ? ", " : "", log_printable(key, strlen(key), pb));
}

static void
log_conflict(void *arg, const char *key, const char *a, const char *b)
{
	char pa[LOG_PRINTABLE_SIZE], pb[LOG_PRINTABLE_SIZE];

	(void)arg;
	log_warning("pgsync: conflicting rows \"%s\" and \"%s\": key %s "
	    "answers TEMP", log_printable(a, strlen(a), pa),
	    log_printable(b, strlen(b), pb), key);
}

static void
hash_conflict(void *arg, const char *key, const char *a, const char *b)
{
	uint64_t *h = arg;

	*h = syncplan_hash(*h, key, strlen(key) + 1);
	*h = syncplan_hash(*h, a, strlen(a) + 1);
	*h = syncplan_hash(*h, b, strlen(b) + 1);
}

/*
 * Say what a load found, once: invalid rows as a summary when their set
 * changed, each conflicting key when the set of conflicts changed, the
 * triggers when they changed.
 */
static void
report_load(struct pgsync *ps)
{
	struct snapshot *s = ps->d->snap;
	uint64_t h = SYNCPLAN_HASH_INIT;
	size_t bad = ps->rows_invalid + ps->rows_bad;

	if (ps->hooks.row != NULL)
		return;		/* --check prints every row itself */
	if (ps->invalid_hash != ps->invalid_reported) {
		if (bad > 0)
			log_warning("pgsync: %zu row(s) Postfix would reject "
			    "(their keys answer TEMP) or no key can match: "
			    "%s%s; tlspolicyd --check lists them", bad,
			    ps->invalid_first, bad > LIST_FIRST ? ", ..." : "");
		else if (ps->invalid_reported != SYNCPLAN_HASH_INIT &&
		    ps->invalid_reported != 0)
			log_info("pgsync: no invalid rows any more");
		ps->invalid_reported = ps->invalid_hash;
	}
	snapshot_conflicts(s, hash_conflict, &h);
	if (h != ps->conflicts_reported) {
		snapshot_conflicts(s, log_conflict, NULL);
		ps->conflicts_reported = h;
	}
	if (ps->load_triggers != ps->last_triggers) {
		if (ps->use_state && ps->triggers_why[0] != '\0')
			log_warning("pgsync: %s on %s%s", ps->triggers_why,
			    ps->table, ps->load_trusted ? "" : ps->writers ?
			    ": full reload every poll_interval until then" :
			    ": full reload every poll_interval until SELECT "
			    "tlspolicyd.attach(...) is run again");
		else if (ps->use_state && ps->last_triggers != 0)
			log_info("pgsync: triggers on %s are as attached again",
			    ps->table);
		ps->last_triggers = ps->load_triggers;
	}
}

static void
swap_in(struct pgsync *ps)
{
	struct daemon *d = ps->d;
	struct snapshot *old = d->snap;
	enum syncplan_reason why = ps->plan.loading;
	double now = db_now(ps);
	char line[400];

	/*
	 * What expired while the load ran goes from both: the snapshot served
	 * says so (its timer may not have fired yet), the new one was never
	 * served.  Then the two compare equal on it.
	 */
	if (old != NULL)
		snapshot_expire(old, now, log_expired, ps);
	snapshot_expire(ps->building, now, NULL, NULL);
	/*
	 * Only a load of the generation the snapshot already has can tell
	 * what bypassed the triggers; past it, the differences include
	 * changes the log would have brought.
	 */
	if (why == SYNCPLAN_RELOAD_RECONCILE && old != NULL &&
	    ps->load_gen != ps->plan.applied) {
		log_debug("pgsync: reconcile: generation %" PRId64 " moved to %"
		    PRId64 " during the load: not compared", ps->plan.applied,
		    ps->load_gen);
	} else if (why == SYNCPLAN_RELOAD_RECONCILE && old != NULL) {
		struct diff_list l = {"", 0};

		snapshot_diff(old, ps->building, diff_one, &l);
		if (l.n > 0)
			log_warning("pgsync: reconcile: %zu target(s) differed "
			    "from the incremental state (changes that bypassed "
			    "the triggers?): %s%s", l.n, l.text,
			    l.n > LIST_FIRST ? ", ..." : "");
		else
			log_debug("pgsync: reconcile: no difference");
	}
	d->snap = ps->building;
	ps->building = NULL;
	snapshot_free(old);
	arm_expiry(ps);
	syncplan_loaded(&ps->plan, ps->load_gen, ps->load_trusted,
	    ps->load_triggers);
	d->stats.loads++;
	d->stats.load_seconds = monotime_sec() - ps->load_started;
	d->stats.generation = ps->load_gen;
	mark_current(ps);
	statefile_changed(d->state, ps->cfg, ps->load_gen);
	d->why[0] = '\0';
	ps->backoff = BACKOFF_MIN_MS;
	if (ps->down_logged)
		log_info("pgsync: database reachable again");
	ps->down_logged = false;
	ps->last_error[0] = '\0';

	snprintf(line, sizeof(line), "pgsync: %s %zu rows (%zu stored, %zu "
	    "invalid, %zu unusable targets) in %.0f ms (longest loop turn "
	    "%.1f ms CPU), %zu KiB, generation %" PRId64 " (%s)",
	    old == NULL ? "loaded" : "reloaded", ps->rows_total,
	    snapshot_rows(d->snap), ps->rows_invalid, ps->rows_bad,
	    (monotime_sec() - ps->load_started) * 1000, ps->longest_turn * 1000,
	    snapshot_bytes(d->snap) / 1024, ps->load_gen,
	    syncplan_reason_name(why));
	/* without triggers every poll reloads: say so only at debug */
	if (why == SYNCPLAN_RELOAD_UNTRUSTED)
		log_debug("%s", line);
	else
		log_info("%s", line);
	report_load(ps);
	if (ps->hooks.done != NULL)
		ps->hooks.done(ps->hooks.arg, true, NULL);
}

/* The first row of a check or a load: generation, pruned_to, triggers. */
static void
read_state(struct pgsync *ps, const PGresult *res, int64_t *gen,
    int64_t *pruned, bool *trusted, uint64_t *fp)
{
	const char *desc = PQgetisnull(res, 0, SYNCSQL_COL_TRIGGERS) ? "" :
	    PQgetvalue(res, 0, SYNCSQL_COL_TRIGGERS);

	*gen = ps->use_state ? get_int(res, 0, SYNCSQL_COL_GENERATION) : -1;
	*pruned = ps->use_state ? get_int(res, 0, SYNCSQL_COL_PRUNED_TO) : -1;
	*trusted = syncplan_triggers_ok(desc, ps->cfg->column_target,
	    ps->triggers_why, sizeof(ps->triggers_why)) && ps->use_state &&
	    *gen >= 0;
	*fp = syncplan_hash(SYNCPLAN_HASH_INIT, desc, strlen(desc));
	if (!ps->use_state)
		*fp = syncplan_hash(*fp, "-", 1);
	ps->writers = is_true(res, 0, SYNCSQL_COL_WRITERS);
	if (ps->writers) {
		*trusted = false;
		*fp = syncplan_hash(*fp, "w", 1);
		snprintf(ps->triggers_why, sizeof(ps->triggers_why), "a role "
		    "other than the owner may write public.tlspolicyd_state or "
		    "public.tlspolicyd_changes (apply schema.sql again: it "
		    "revokes that)");
	}
}

/*
 * The optional columns (expires, comment): set in the configuration, the
 * table must have them; at their defaults, they are read if it does.
 * Builds the statements again when that changes what they read.  false:
 * the session failed.
 */
static bool
take_columns(struct pgsync *ps, bool has_expires, bool has_comment)
{
	const struct config *c = ps->cfg;
	const char *key = NULL, *col = NULL;
	char note[sizeof(ps->columns_note)];

	if (c->column_expires[0] != '\0' && !has_expires &&
	    !config_is_default(c, "column_expires")) {
		key = "column_expires";
		col = c->column_expires;
	} else if (c->column_comment[0] != '\0' && !has_comment &&
	    !config_is_default(c, "column_comment")) {
		key = "column_comment";
		col = c->column_comment;
	}
	if (key != NULL) {
		char class[DAEMON_WHY_SIZE], detail[100];

		snprintf(class, sizeof(class), "no column %s in %s", col,
		    c->table);
		snprintf(detail, sizeof(detail), "check the %s setting", key);
		fail(ps, class, detail);
		return false;
	}
	has_expires = has_expires && c->column_expires[0] != '\0';
	has_comment = has_comment && c->column_comment[0] != '\0';
	if (has_expires != ps->names.has_expires ||
	    has_comment != ps->names.has_comment) {
		ps->names.has_expires = has_expires;
		ps->names.has_comment = has_comment;
		syncsql_free(&ps->sql);
		syncsql_build(&ps->sql, &ps->names);
	}
	if (!has_expires && c->column_expires[0] != '\0')
		snprintf(note, sizeof(note), "%s has no column %s: its rows "
		    "never expire", ps->table, c->column_expires);
	else
		note[0] = '\0';
	if (strcmp(note, ps->columns_note) != 0 && note[0] != '\0')
		log_info("pgsync: %s", note);
	memcpy(ps->columns_note, note, sizeof(note));
	return true;
}

/*
 * Did the optional columns come or go since setup (the schema upgraded
 * while the daemon runs)?  The setup of a new session takes them.
 */
static bool
columns_changed(const struct pgsync *ps, const PGresult *res)
{
	bool x = is_true(res, 0, SYNCSQL_COL_HAS_EXPIRES) &&
	    ps->cfg->column_expires[0] != '\0';
	bool c = is_true(res, 0, SYNCSQL_COL_HAS_COMMENT) &&
	    ps->cfg->column_comment[0] != '\0';

	return x != ps->names.has_expires || c != ps->names.has_comment;
}

/*
 * The first row of a check or a load: the database's clock (its offset
 * is kept, and the expiry timer re-armed with it), and whether the
 * columns are as at setup.  false: the session restarts.
 */
static bool
first_row(struct pgsync *ps, const PGresult *res)
{
	double clock;

	if (!PQgetisnull(res, 0, SYNCSQL_COL_CLOCK) &&
	    lifecycle_parse_epoch(PQgetvalue(res, 0, SYNCSQL_COL_CLOCK),
	    &clock) && !isinf(clock)) {
		ps->clock_offset = clock - monotime_sec();
		arm_expiry(ps);
	}
	if (columns_changed(ps, res)) {
		log_info("pgsync: the columns of %s changed: starting a new "
		    "session", ps->table);
		ps->restarting = true;
		fail(ps, "reconnecting", NULL);
		return false;
	}
	return true;
}

static void
setup_result(struct pgsync *ps, const PGresult *res)
{
	bool exists = is_true(res, 0, 1), may = is_true(res, 0, 2);
	bool state = is_true(res, 0, 3);
	bool state_ok = is_true(res, 0, 4), log_ok = is_true(res, 0, 5);
	char note[sizeof(ps->setup_note)];

	ps->standby = is_true(res, 0, 0);
	if (!exists || !may) {
		char class[DAEMON_WHY_SIZE];

		snprintf(class, sizeof(class), "%s %s", exists ?
		    "permission denied on" : "no table", ps->cfg->table);
		fail(ps, class, exists ? "no SELECT privilege" :
		    "check the table setting");
		return;
	}
	ps->use_state = state && state_ok && log_ok;
	if (!state)
		snprintf(note, sizeof(note), "no public.tlspolicyd_state or "
		    "public.tlspolicyd_changes: full reload every "
		    "poll_interval (apply contrib/postgresql/schema.sql)");
	else if (!state_ok || !log_ok)
		snprintf(note, sizeof(note), "no SELECT on public.%s: full "
		    "reload every poll_interval (GRANT SELECT ON "
		    "public.tlspolicyd_state, public.tlspolicyd_changes to "
		    "this role)", !state_ok ? "tlspolicyd_state" :
		    "tlspolicyd_changes");
	else
		note[0] = '\0';
	if (strcmp(note, ps->setup_note) != 0 && note[0] != '\0')
		log_warning("pgsync: %s", note);
	memcpy(ps->setup_note, note, sizeof(note));
	take_columns(ps, is_true(res, 0, 6), is_true(res, 0, 7));
}

/* --- results */

/* One result of the running step; false if the session failed. */
static bool
handle_result(struct pgsync *ps, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	int64_t gen, pruned;
	bool trusted;
	uint64_t fp;

	if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
	    st == PGRES_NONFATAL_ERROR) {
		fail_result(ps, res);
		return false;
	}
	if (st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE)
		return true;	/* BEGIN, SET, LOCK, COMMIT, LISTEN */
	switch (ps->step) {
	case STEP_SETUP:
		if (PQntuples(res) == 1)
			setup_result(ps, res);
		return ps->pg != NULL;
	case STEP_CHECK:
		if (PQntuples(res) != 1)
			break;
		read_state(ps, res, &gen, &pruned, &trusted, &fp);
		/* the schema was applied, or SELECT granted, since setup */
		if (!ps->use_state && is_true(res, 0, SYNCSQL_COL_READABLE)) {
			log_info("pgsync: public.tlspolicyd_state and "
			    "tlspolicyd_changes are readable now: starting a "
			    "new session");
			ps->restarting = true;
			fail(ps, "reconnecting", NULL);
			return false;
		}
		if (!first_row(ps, res))
			return false;
		ps->verdict = syncplan_checked(&ps->plan, gen,
		    pruned, trusted, fp);
		if (ps->verdict == SYNCPLAN_CURRENT) {
			mark_current(ps);
			if (ps->plan.by_wake)
				log_debug("pgsync: wake-up: nothing new");
		}
		break;
	case STEP_CHANGES:
		for (int i = 0; i < PQntuples(res); i++)
			take_target(ps, res, i);
		break;
	case STEP_REFRESH:
		apply_refresh(ps, res);
		break;
	case STEP_LOAD:
		if (PQntuples(res) != 1)
			break;
		read_state(ps, res, &ps->load_gen, &pruned,
		    &ps->load_trusted, &ps->load_triggers);
		if (!first_row(ps, res))
			return false;
		gen = get_int(res, 0, SYNCSQL_COL_COUNT);
		snapshot_free(ps->building);
		ps->building = snapshot_new(gen > 0 ? (size_t)gen : 0);
		break;
	case STEP_ROWS:
		if (st == PGRES_SINGLE_TUPLE) {
			ps->rows_total++;
			add_row(ps, ps->building, res, 0, false);
		} else if (PQntuples(res) > 0) {
			/* single-row mode was refused: never swap in a partial load */
			fail(ps, "database query failed", "the full load came "
			    "back in one piece");
			return false;
		}
		break;
	default:
		break;
	}
	return true;
}

static void
start_load(struct pgsync *ps)
{
	ps->load_started = monotime_sec();
	ps->rows_total = ps->rows_invalid = ps->rows_bad = 0;
	ps->invalid_hash = SYNCPLAN_HASH_INIT;
	ps->invalid_first[0] = '\0';
	ps->longest_turn = 0;
	send_query(ps, STEP_LOAD, ps->sql.load[ps->use_state]);
}

/* The running step returned all its results: start what follows. */
static void
step_done(struct pgsync *ps)
{
	enum step done = ps->step;

	ps->step = STEP_NONE;
	switch (done) {
	case STEP_SETUP:
		if (!ps->standby) {
			send_query(ps, STEP_LISTEN, "LISTEN " NOTIFY_CHANNEL);
			return;
		}
		break;
	case STEP_CHECK:
		if (ps->verdict == SYNCPLAN_READ_LOG)
			send_with_applied(ps, STEP_CHANGES, ps->sql.changes);
		else
			send_query(ps, STEP_END, "COMMIT");
		return;
	case STEP_CHANGES:
		ps->verdict = syncplan_log_read(&ps->plan, ps->nflight,
		    ps->everything);
		if (ps->verdict == SYNCPLAN_READ_LOG) {
			send_with_applied(ps, STEP_REFRESH, ps->sql.refresh);
			return;
		}
		clear_flight(ps);
		send_query(ps, STEP_END, "COMMIT");
		return;
	case STEP_REFRESH:
		send_query(ps, STEP_END, "COMMIT");
		return;
	case STEP_LOAD:
		if (send_query(ps, STEP_ROWS, ps->sql.rows) &&
		    !PQsetSingleRowMode(ps->pg))
			log_warning("pgsync: single-row mode refused");
		return;
	case STEP_ROWS:
		send_query(ps, STEP_COMMIT, "COMMIT");
		return;
	case STEP_COMMIT:
		swap_in(ps);
		break;
	case STEP_END:
		syncplan_ended(&ps->plan, monotime_sec());
		break;
	default:
		break;
	}
	kick(ps);
}

/* Notifications are wake-ups: the payload is never read. */
static void
drain_notifies(struct pgsync *ps)
{
	PGnotify *n;

	while ((n = PQnotifies(ps->pg)) != NULL) {
		syncplan_wake(&ps->plan);
		PQfreemem(n);
	}
}

/*
 * Take every complete result libpq holds.  While building a snapshot,
 * yield after PGSYNC_SLICE_USEC so lookups are never held up longer.
 */
static void
process(struct pgsync *ps)
{
	double start = monotime_sec();
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
		    (monotime_sec() - start) * 1e6 > PGSYNC_SLICE_USEC) {
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
	switch (syncplan_next(&ps->plan, monotime_sec())) {
	case SYNCPLAN_LOAD:
		start_load(ps);
		break;
	case SYNCPLAN_CHECK:
		send_query(ps, STEP_CHECK, ps->sql.check[ps->use_state]);
		break;
	case SYNCPLAN_IDLE:
		break;
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
			fail(ps, "database unreachable", "connecting timed out "
			    "(connect_timeout)");
			return;
		}
		st = PQconnectPoll(ps->pg);
		if (st == PGRES_POLLING_FAILED) {
			fail(ps, "database unreachable",
			    PQerrorMessage(ps->pg));
			return;
		}
		if (st == PGRES_POLLING_OK) {
			ps->connecting = false;
			if (PQsetnonblocking(ps->pg, 1) != 0) {
				fail(ps, "database unreachable",
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
			ps->d->db_connected = true;
			syncplan_session(&ps->plan);
			send_query(ps, STEP_SETUP, ps->sql.setup);
			return;
		}
		/* the socket may change between attempts (multi-host) */
		ev = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
		event_del(ps->ev_io);
		event_assign(ps->ev_io, ps->d->base, PQsocket(ps->pg), ev,
		    on_io, ps);
		{
			struct timeval tv = ms_tv(ps->cfg->connect_timeout);

			event_add(ps->ev_io, &tv);
		}
		return;
	}
	if (!PQconsumeInput(ps->pg)) {
		fail(ps, "database unreachable", PQerrorMessage(ps->pg));
		return;
	}
	ps->last_progress = monotime_sec();
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
	struct timeval tv = ms_tv(ps->cfg->connect_timeout);

	ps->pg = PQconnectStart(ps->cfg->database);
	if (ps->pg == NULL) {
		fail(ps, "database unreachable", "out of memory");
		return;
	}
	if (PQstatus(ps->pg) == CONNECTION_BAD) {
		fail(ps, "database unreachable", PQerrorMessage(ps->pg));
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
	((struct pgsync *)arg)->d->stats.reconnects++;
	connect_start(arg);
}

/* max_stale passed without a word from the database, or it came back. */
static void
watch_stale(struct pgsync *ps)
{
	struct daemon *d = ps->d;
	bool stale = d->snap != NULL && !d->in_sync &&
	    monotime_sec() - d->current_mono > (double)ps->cfg->max_stale / 1000;

	if (stale && !ps->stale_logged) {
		char when[32];

		lifecycle_utc((double)d->current_at, when, sizeof(when));
		log_warning("pgsync: max_stale exceeded: answering TEMP for "
		    "every key since %s", when);
	} else if (!stale && ps->stale_logged) {
		/* back in sync, or max_stale raised by SIGHUP meanwhile */
		if (d->in_sync)
			log_warning("pgsync: policy data current again: "
			    "answering from it");
		else
			log_warning("pgsync: policy data no longer past "
			    "max_stale (still not current): answering from it");
	}
	ps->stale_logged = stale;
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;
	double stuck = (double)ps->cfg->statement_timeout / 1000 + 10;

	(void)fd;
	(void)what;
	watch_stale(ps);
	if (ps->pg == NULL || ps->connecting)
		return;
	/* A peer that vanished without a reset never times a query out. */
	if (ps->step != STEP_NONE && monotime_sec() - ps->last_progress > stuck) {
		fail(ps, "database unreachable", "the database stopped "
		    "answering");
		return;
	}
	syncplan_tick(&ps->plan);
	kick(ps);
}

static void
on_reconcile(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;

	(void)fd;
	(void)what;
	/* a session that is not in sync reloads anyway */
	if (ps->d->in_sync && ps->plan.trusted) {
		syncplan_reload(&ps->plan, SYNCPLAN_RELOAD_RECONCILE);
		kick(ps);
	}
}

/* No load yet, STATEFILE_SERVE_GRACE_MS after the start: the file. */
static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct pgsync *ps = arg;

	(void)fd;
	(void)what;
	if (ps->d->snap == NULL && statefile_serve(ps->d->state))
		arm_expiry(ps);
}

struct pgsync *
pgsync_new(struct daemon *d, const struct pgsync_hooks *hooks)
{
	struct pgsync *ps = xcalloc(1, sizeof(*ps));
	const struct config *c = d->cfg;
	struct syncsql_names names = {c->table, c->column_target,
	    c->column_policy, c->column_parameters, c->column_active,
	    c->statement_timeout, c->column_expires, c->column_comment,
	    false, false};
	struct timespec rt;
	struct timeval tv;

	ps->d = d;
	ps->cfg = c;
	if (hooks != NULL)
		ps->hooks = *hooks;
	policy_opts_init(&ps->popts);
	ps->popts.compat = c->postfix_compat;
	ps->popts.fingerprint_len = c->fingerprint_len;
	ps->backoff = BACKOFF_MIN_MS;
	/* the local clock until the first reading of the database's */
	clock_gettime(CLOCK_REALTIME, &rt);
	ps->clock_offset = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 -
	    monotime_sec();
	ps->names = names;
	syncsql_build(&ps->sql, &names);
	syncplan_init(&ps->plan, (double)c->poll_interval / 1000);
	ps->table = syncsql_table(c->table);

	ps->ev_io = event_new(d->base, -1, 0, on_io, ps);
	ps->ev_write = event_new(d->base, -1, 0, on_write, ps);
	ps->ev_slice = evtimer_new(d->base, on_slice, ps);
	ps->ev_reconnect = evtimer_new(d->base, on_reconnect, ps);
	ps->ev_poll = event_new(d->base, -1, EV_PERSIST, on_poll, ps);
	ps->ev_reconcile = event_new(d->base, -1, EV_PERSIST, on_reconcile,
	    ps);
	ps->ev_expire = evtimer_new(d->base, on_expire, ps);
	ps->ev_grace = evtimer_new(d->base, on_grace, ps);
	tv = ms_tv(c->poll_interval);
	event_add(ps->ev_poll, &tv);	/* also the stuck-query watchdog */
	if (c->reconcile_interval > 0 && !ps->hooks.oneshot) {
		tv = ms_tv(c->reconcile_interval);
		event_add(ps->ev_reconcile, &tv);
	}
	if (!ps->hooks.oneshot) {
		/* the data a previous session left (SIGHUP) still expires */
		if (d->snap != NULL)
			arm_expiry(ps);
		else if (d->state != NULL) {
			tv = ms_tv(STATEFILE_SERVE_GRACE_MS);
			event_add(ps->ev_grace, &tv);
		}
	}
	snprintf(d->why, sizeof(d->why), "connecting to the database");
	connect_start(ps);
	return ps;
}

void
pgsync_resync(struct pgsync *ps)
{
	syncplan_reload(&ps->plan, SYNCPLAN_RELOAD_SIGHUP);
	kick(ps);
}

void
pgsync_free(struct pgsync *ps)
{
	if (ps == NULL)
		return;
	/* no session, nothing keeps the data current (SIGHUP starts another) */
	ps->d->db_connected = false;
	ps->d->in_sync = false;
	event_free(ps->ev_io);
	event_free(ps->ev_write);
	event_free(ps->ev_slice);
	event_free(ps->ev_reconnect);
	event_free(ps->ev_poll);
	event_free(ps->ev_reconcile);
	event_free(ps->ev_expire);
	event_free(ps->ev_grace);
	if (ps->pg != NULL)
		PQfinish(ps->pg);
	snapshot_free(ps->building);
	clear_flight(ps);
	xfree(ps->flight);
	syncsql_free(&ps->sql);
	xfree(ps->table);
	xfree(ps);
}
