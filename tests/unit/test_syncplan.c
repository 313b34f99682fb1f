/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_syncplan - the database session's decisions (docs/architecture.md,
 * decision 1): scripts of events against the plan, one table row per step.  The
 * cases the change-log design must get right: forged or repeated
 * wake-ups, a gap in the generations, a pruned log, a change during a
 * load, a standby (no wake-ups at all), triggers that change or vanish.
 */
#include "test.h"

#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "syncplan.h"

enum op {
	END,
	WAKE,		/* a notification */
	TICK,		/* poll_interval passed */
	RELOAD,		/* ask for a full load: a = reason */
	SESSION,	/* a new session */
	FAILED,		/* the session failed */
	NEXT,		/* at t: syncplan_next() must say want */
	CHECKED,	/* gen a, pruned_to b, trusted c, fp d -> want */
	LOG,		/* a targets, everything c -> want */
	APPLIED,	/* the refresh is in */
	ENDED,		/* at t: the check's COMMIT is done */
	LOADED,		/* gen a, trusted c, fp d */
	WANT_APPLIED,	/* plan.applied == a */
	WANT_LOADING,	/* the running load's reason == a */
};

struct step {
	enum op op;
	double t;
	int64_t a, b;
	int c;
	uint64_t d;
	int want;
};

#define F1 11		/* trigger fingerprints */
#define F2 22

static void
run(const char *label, const struct step *s)
{
	struct syncplan p;
	char name[160];
	int i;

	syncplan_init(&p, 1.0);
	for (i = 0; s[i].op != END; i++) {
		snprintf(name, sizeof(name), "%s, step %d", label, i);
		switch (s[i].op) {
		case WAKE:
			syncplan_wake(&p);
			break;
		case TICK:
			syncplan_tick(&p);
			break;
		case RELOAD:
			syncplan_reload(&p, (enum syncplan_reason)s[i].a);
			break;
		case SESSION:
			syncplan_session(&p);
			break;
		case FAILED:
			syncplan_failed(&p);
			break;
		case NEXT:
			case_int_equal(name, syncplan_next(&p, s[i].t),
			    s[i].want);
			break;
		case CHECKED:
			case_int_equal(name, syncplan_checked(&p,
			    s[i].a, s[i].b, s[i].c, s[i].d), s[i].want);
			break;
		case LOG:
			case_int_equal(name, syncplan_log_read(&p,
			    (size_t)s[i].a, s[i].c), s[i].want);
			break;
		case APPLIED:
			syncplan_applied(&p);
			break;
		case ENDED:
			syncplan_ended(&p, s[i].t);
			break;
		case LOADED:
			syncplan_loaded(&p, s[i].a, s[i].c, s[i].d);
			break;
		case WANT_APPLIED:
			case_int_equal(name, p.applied, s[i].a);
			break;
		case WANT_LOADING:
			case_int_equal(name, p.loading, s[i].a);
			break;
		case END:
			break;
		}
	}
}

/* Load at generation 5 with the triggers as attached, then idle. */
#define LOADED5 \
	{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_LOAD}, \
	{WANT_LOADING, 0, SYNCPLAN_RELOAD_CONNECT, 0, 0, 0, 0}, \
	{LOADED, 0, 5, 0, 1, F1, 0}, \
	{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_IDLE}

static const struct {
	const char *label;
	struct step steps[24];
} scripts[] = {
	{"start: one full load, then idle", {
		LOADED5,
		{WANT_APPLIED, 0, 5, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"forged wake-ups: one check, then quiet until the poll", {
		LOADED5,
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 10, 5, 0, 1, F1, SYNCPLAN_CURRENT},
		{ENDED, 10, 0, 0, 0, 0, 0},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10.1, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10.9, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{NEXT, 11.0, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 11, 5, 0, 1, F1, SYNCPLAN_CURRENT},
		{ENDED, 11, 0, 0, 0, 0, 0},
		{WANT_APPLIED, 0, 5, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a poll during the quiet still checks", {
		LOADED5,
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 10, 5, 0, 1, F1, SYNCPLAN_CURRENT},
		{ENDED, 10, 0, 0, 0, 0, 0},
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 10.2, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 10.2, 6, 0, 1, F1, SYNCPLAN_READ_LOG},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"wake-ups during a check: one follow-up, not a loop", {
		LOADED5,
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{CHECKED, 10, 5, 0, 1, F1, SYNCPLAN_CURRENT},
		{ENDED, 10, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{CHECKED, 10, 5, 0, 1, F1, SYNCPLAN_CURRENT},
		{ENDED, 10, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a wake-up during an empty check's COMMIT is not left to the poll", {
		LOADED5,
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 10, 5, 0, 1, F1, SYNCPLAN_CURRENT},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{ENDED, 10, 0, 0, 0, 0, 0},
		{NEXT, 10.001, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 10, 6, 0, 1, F1, SYNCPLAN_READ_LOG},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a real change: refreshed, and the next wake-up is not delayed", {
		LOADED5,
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 10, 6, 0, 1, F1, SYNCPLAN_READ_LOG},
		{LOG, 0, 1, 0, 0, 0, SYNCPLAN_READ_LOG},
		{APPLIED, 0, 0, 0, 0, 0, 0},
		{ENDED, 0, 0, 0, 0, 0, 0},
		{WANT_APPLIED, 0, 6, 0, 0, 0, 0},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 10.01, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a gap in the generations is no reason to reload: the log has them", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 9, 0, 1, F1, SYNCPLAN_READ_LOG},
		{LOG, 0, 4, 0, 0, 0, SYNCPLAN_READ_LOG},
		{APPLIED, 0, 0, 0, 0, 0, 0},
		{ENDED, 0, 0, 0, 0, 0, 0},
		{WANT_APPLIED, 0, 9, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a log pruned past the applied generation: full load", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 20000, 10000, 1, F1, SYNCPLAN_RELOAD},
		{ENDED, 1, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_PRUNED, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"pruned exactly to the applied generation is still complete", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 7, 5, 1, F1, SYNCPLAN_READ_LOG},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a NULL target in the log: full load", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 6, 0, 1, F1, SYNCPLAN_READ_LOG},
		{LOG, 0, 3, 0, 1, 0, SYNCPLAN_RELOAD},
		{ENDED, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_BULK, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"more targets than a refresh takes: full load", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 6, 0, 1, F1, SYNCPLAN_READ_LOG},
		{LOG, 0, PGSYNC_MAX_PENDING_TARGETS, 0, 0, 0, SYNCPLAN_READ_LOG},
		{TICK, 0, 0, 0, 0, 0, 0},
		{LOG, 0, PGSYNC_MAX_PENDING_TARGETS + 1, 0, 0, 0,
		    SYNCPLAN_RELOAD},
		{ENDED, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_MANY, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a change committed during a load: checked right after it", {
		{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{LOADED, 0, 5, 0, 1, F1, 0},
		{NEXT, 0.1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 0.1, 6, 0, 1, F1, SYNCPLAN_READ_LOG},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a standby: no wake-ups, the poll alone follows it incrementally", {
		LOADED5,
		{NEXT, 5, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 5, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 5, 8, 0, 1, F1, SYNCPLAN_READ_LOG},
		{LOG, 0, 2, 0, 0, 0, SYNCPLAN_READ_LOG},
		{APPLIED, 0, 0, 0, 0, 0, 0},
		{ENDED, 0, 0, 0, 0, 0, 0},
		{WANT_APPLIED, 0, 8, 0, 0, 0, 0},
		{NEXT, 5, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"triggers that changed: full load, whatever the generation", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 5, 0, 1, F2, SYNCPLAN_RELOAD},
		{ENDED, 1, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_TRIGGERS, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"no usable triggers: every poll loads, wake-ups are ignored", {
		{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{LOADED, 0, -1, 0, 0, F1, 0},
		{WANT_APPLIED, 0, -1, 0, 0, 0, 0},
		{WAKE, 0, 0, 0, 0, 0, 0},
		{NEXT, 5, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 5, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 5, -1, -1, 0, F1, SYNCPLAN_RELOAD},
		{ENDED, 5, 0, 0, 0, 0, 0},
		{NEXT, 5, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_UNTRUSTED, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"triggers dropped while trusted: a load for the change", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 5, 0, 0, F2, SYNCPLAN_RELOAD},
		{ENDED, 1, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_TRIGGERS, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a generation that went backwards (a restored database)", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{CHECKED, 1, 3, 0, 1, F1, SYNCPLAN_RELOAD},
		{ENDED, 1, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_BACKWARDS, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a reload asked for during a load runs after it", {
		{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{RELOAD, 0, SYNCPLAN_RELOAD_SIGHUP, 0, 0, 0, 0},
		{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_IDLE},
		{LOADED, 0, 5, 0, 1, F1, 0},
		{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_SIGHUP, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"the first reason asked for is the one reported", {
		LOADED5,
		{RELOAD, 0, SYNCPLAN_RELOAD_RECONCILE, 0, 0, 0, 0},
		{RELOAD, 0, SYNCPLAN_RELOAD_SIGHUP, 0, 0, 0, 0},
		{NEXT, 0, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_RECONCILE, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
	{"a failed session loads everything on the next one", {
		LOADED5,
		{TICK, 0, 0, 0, 0, 0, 0},
		{NEXT, 1, 0, 0, 0, 0, SYNCPLAN_CHECK},
		{FAILED, 0, 0, 0, 0, 0, 0},
		{SESSION, 0, 0, 0, 0, 0, 0},
		{NEXT, 2, 0, 0, 0, 0, SYNCPLAN_LOAD},
		{WANT_LOADING, 0, SYNCPLAN_RELOAD_CONNECT, 0, 0, 0, 0},
		{END, 0, 0, 0, 0, 0, 0}}},
};

static void
test_syncplan_scripts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		run(scripts[i].label, scripts[i].steps);
}

/* "name enabled tgtype function args" for the six as attached. */
#define COL "74617267657400"	/* "target\0" in hex */
#define T_BEFORE "tlspolicyd_before A 62 tlspolicyd.before_statement "
#define T_DELETE "tlspolicyd_delete A 8 tlspolicyd.after_statement " COL
#define T_INSERT "tlspolicyd_insert A 4 tlspolicyd.after_statement " COL
#define T_ROW "tlspolicyd_row R 29 tlspolicyd.after_row " COL
#define T_TRUNC "tlspolicyd_truncate A 32 tlspolicyd.after_statement " COL
#define T_UPDATE "tlspolicyd_update A 16 tlspolicyd.after_statement " COL
#define ALL(b, d, i, r, t, u) b "," d "," i "," r "," t "," u
/* The record keepers attach() adds: the change log does not need them. */
#define T_HISTORY "tlspolicyd_history O 29 tlspolicyd.history_row " COL
#define T_HTRUNC "tlspolicyd_history_truncate O 34 " \
	"tlspolicyd.history_truncate " COL
#define T_STAMP "tlspolicyd_stamp O 23 tlspolicyd.stamp "
/* all nine on a column of 63 bytes: the longest description attach() makes */
#define COL63 "6161616161616161616161616161616161616161616161616161616161616161" \
	"6161616161616161616161616161616161616161616161616161616161616100"
#define NINE63 "tlspolicyd_before A 62 tlspolicyd.before_statement ," \
	"tlspolicyd_delete A 8 tlspolicyd.after_statement " COL63 "," \
	"tlspolicyd_history O 29 tlspolicyd.history_row " COL63 "," \
	"tlspolicyd_history_truncate O 34 tlspolicyd.history_truncate " \
	COL63 "," \
	"tlspolicyd_insert A 4 tlspolicyd.after_statement " COL63 "," \
	"tlspolicyd_row R 29 tlspolicyd.after_row " COL63 "," \
	"tlspolicyd_stamp O 23 tlspolicyd.stamp ," \
	"tlspolicyd_truncate A 32 tlspolicyd.after_statement " COL63 "," \
	"tlspolicyd_update A 16 tlspolicyd.after_statement " COL63

static void
test_syncplan_triggers(void **state)
{
	static const struct {
		const char *desc;
		const char *column;
		bool ok;
		const char *why;	/* substring; "" = none at all */
	} cases[] = {
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC, T_UPDATE),
		    "target", true, ""},
		/* the row trigger may also fire always */
		{ALL(T_BEFORE, T_DELETE, T_INSERT,
		    "tlspolicyd_row A 29 tlspolicyd.after_row " COL, T_TRUNC,
		    T_UPDATE), "target", true, ""},
		/* as attach() leaves them: six, and the history and stamps */
		{T_BEFORE "," T_DELETE "," T_HISTORY "," T_HTRUNC "," T_INSERT
		    "," T_ROW "," T_STAMP "," T_TRUNC "," T_UPDATE, "target",
		    true, ""},
		{NINE63, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaa", true, ""},
		/* the history disabled: the change log is still whole */
		{T_BEFORE "," T_DELETE ",tlspolicyd_history D 29 "
		    "tlspolicyd.history_row " COL "," T_INSERT "," T_ROW "," T_TRUNC
		    "," T_UPDATE, "target", true, ""},
		{"", "target", false, "tlspolicyd_before is missing"},
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC, T_INSERT),
		    "target", false, "tlspolicyd_update is missing"},
		/* the wrong column given to tlspolicyd_attach() */
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update A 16 tlspolicyd.after_statement "
		    "706f6c69637900"), "target", false, "not on column"},
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC, T_UPDATE),
		    "domain", false, "not on column \"domain\""},
		/* a trigger of that name calling something else */
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update A 16 evil.tlspolicyd_notify " COL),
		    "target", false, "calls evil.tlspolicyd_notify"},
		/* the old function names, before the schema's own namespace */
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update A 16 public.tlspolicyd_notify " COL),
		    "target", false, "calls public.tlspolicyd_notify"},
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update A 20 tlspolicyd.after_statement " COL),
		    "target", false, "other events"},
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update D 16 tlspolicyd.after_statement " COL),
		    "target", false, "tlspolicyd_update fires never (disabled)"},
		/* ENABLE REPLICA: ordinary writes are not logged at all */
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update R 16 tlspolicyd.after_statement " COL),
		    "target", false, "tlspolicyd_update fires in replica mode"},
		/* the row trigger on origin: used, but an apply worker skips it */
		{ALL(T_BEFORE, T_DELETE, T_INSERT,
		    "tlspolicyd_row O 29 tlspolicyd.after_row " COL, T_TRUNC,
		    T_UPDATE), "target", true, "tlspolicyd_row fires on origin"},
		/* ENABLE TRIGGER ALL: still fires for ordinary writes */
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update O 16 tlspolicyd.after_statement " COL),
		    "target", true, "tlspolicyd_update fires on origin only"},
		{ALL(T_BEFORE, T_DELETE, T_INSERT,
		    "tlspolicyd_row D 29 tlspolicyd.after_row " COL, T_TRUNC,
		    T_UPDATE), "target", false, "tlspolicyd_row fires never (disabled)"},
		/* entries that do not parse are not trusted as anything */
		{ALL(T_BEFORE, T_DELETE, T_INSERT, T_ROW, T_TRUNC,
		    "tlspolicyd_update A16 tlspolicyd.after_statement " COL),
		    "target", false, "tlspolicyd_update is missing"},
		{NULL, "target", false, "missing"},
	};
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = syncplan_triggers_ok(cases[i].desc, cases[i].column,
		    why, sizeof(why));

		if (ok != cases[i].ok || (cases[i].why[0] == '\0' ?
		    why[0] != '\0' : strstr(why, cases[i].why) == NULL))
			fprintf(stderr, "case %zu: ok %d, why \"%s\"\n", i, ok,
			    why);
		assert_int_equal(ok, cases[i].ok);
		if (cases[i].why[0] == '\0')
			assert_string_equal(why, "");
		else
			assert_non_null(strstr(why, cases[i].why));
	}
}

static void
test_syncplan_failure_class(void **state)
{
	static const struct {
		const char *sqlstate;
		const char *class;
	} cases[] = {
		{NULL, "database unreachable"},
		{"08006", "database unreachable"},
		{"57P01", "database unreachable"},
		{"42501", "permission denied"},
		{"42P01", "policy table missing"},
		{"57014", "database query timed out"},
		{"XX000", "database query failed"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(syncplan_failure_class(cases[i].sqlstate),
		    cases[i].class);
}

static void
test_syncplan_reason_names(void **state)
{
	(void)state;
	assert_string_equal(syncplan_reason_name(SYNCPLAN_RELOAD_RECONCILE),
	    "reconcile");
	assert_string_equal(syncplan_reason_name(SYNCPLAN_RELOAD_PRUNED),
	    "change log pruned");
	assert_string_equal(syncplan_reason_name((enum syncplan_reason)99),
	    "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syncplan_scripts),
		cmocka_unit_test(test_syncplan_triggers),
		cmocka_unit_test(test_syncplan_failure_class),
		cmocka_unit_test(test_syncplan_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
