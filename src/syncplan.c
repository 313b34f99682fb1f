/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syncplan - the database session's decisions, without the session.
 *
 * pgsync feeds it what it read and does what it says; every rule about
 * when to trust the change log and when to reload lives here, where a
 * table-driven test can reach it (tests/unit/test_syncplan.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "syncplan.h"

void
syncplan_init(struct syncplan *p, double poll_interval_sec)
{
	memset(p, 0, sizeof(*p));
	p->applied = -1;
	p->quiet_len = poll_interval_sec;
	p->reload = SYNCPLAN_RELOAD_CONNECT;
}

void
syncplan_session(struct syncplan *p)
{
	p->reload = SYNCPLAN_RELOAD_CONNECT;
	p->busy = p->wake = p->wake_during = p->poll_due = false;
	p->followup_due = false;
}

void
syncplan_reload(struct syncplan *p, enum syncplan_reason why)
{
	if (p->reload == SYNCPLAN_RELOAD_NONE)
		p->reload = why;
}

void
syncplan_wake(struct syncplan *p)
{
	p->wake = true;
	if (p->busy)
		p->wake_during = true;
}

void
syncplan_tick(struct syncplan *p)
{
	p->poll_due = true;
}

static enum syncplan_next
start(struct syncplan *p, enum syncplan_next what, bool by_wake)
{
	p->busy = true;
	p->by_wake = by_wake;
	p->followup = by_wake && p->followup_due;
	p->followup_due = false;
	p->wake = p->wake_during = false;
	if (what == SYNCPLAN_LOAD) {
		p->loading = p->reload;
		p->reload = SYNCPLAN_RELOAD_NONE;
		p->poll_due = false;
	}
	return what;
}

enum syncplan_next
syncplan_next(struct syncplan *p, double now)
{
	if (p->busy)
		return SYNCPLAN_IDLE;
	if (p->reload != SYNCPLAN_RELOAD_NONE)
		return start(p, SYNCPLAN_LOAD, false);
	if (p->poll_due) {
		p->poll_due = false;
		return start(p, SYNCPLAN_CHECK, false);
	}
	/*
	 * Without triggers nothing legitimate notifies: a wake-up can only
	 * be foreign, and checking would mean a full load.
	 */
	if (p->wake && p->trusted && (p->followup_due ||
	    now >= p->quiet_until))
		return start(p, SYNCPLAN_CHECK, true);
	return SYNCPLAN_IDLE;
}

static enum syncplan_verdict
reload(struct syncplan *p, enum syncplan_reason why)
{
	syncplan_reload(p, why);
	return SYNCPLAN_RELOAD;
}

enum syncplan_verdict
syncplan_checked(struct syncplan *p, int64_t gen,
    int64_t pruned_to, bool trusted, uint64_t triggers)
{
	if (!trusted || gen < 0)
		return reload(p, p->trusted || triggers != p->triggers ?
		    SYNCPLAN_RELOAD_TRIGGERS : SYNCPLAN_RELOAD_UNTRUSTED);
	if (!p->trusted || triggers != p->triggers)
		return reload(p, SYNCPLAN_RELOAD_TRIGGERS);
	if (gen < p->applied)
		return reload(p, SYNCPLAN_RELOAD_BACKWARDS);
	if (gen == p->applied) {
		p->found_nothing = true;
		return SYNCPLAN_CURRENT;
	}
	if (pruned_to > p->applied)
		return reload(p, SYNCPLAN_RELOAD_PRUNED);
	p->reading = gen;
	return SYNCPLAN_READ_LOG;
}

enum syncplan_verdict
syncplan_log_read(struct syncplan *p, size_t n, bool everything)
{
	if (everything)
		return reload(p, SYNCPLAN_RELOAD_BULK);
	if (n > PGSYNC_MAX_PENDING_TARGETS)
		return reload(p, SYNCPLAN_RELOAD_MANY);
	return SYNCPLAN_READ_LOG;
}

void
syncplan_applied(struct syncplan *p)
{
	p->applied = p->reading;
}

void
syncplan_ended(struct syncplan *p, double now)
{
	/*
	 * A wake-up that came while the check ran (its COMMIT included) may
	 * be for a commit after its snapshot: one more check, at once.
	 * Otherwise a wake-up that found nothing is not worth another
	 * before the next poll.
	 */
	if (p->found_nothing) {
		if (p->wake_during && !p->followup)
			p->followup_due = true;
		else if (p->by_wake)
			p->quiet_until = now + p->quiet_len;
	}
	p->found_nothing = false;
	p->busy = false;
}

void
syncplan_loaded(struct syncplan *p, int64_t gen, bool trusted,
    uint64_t triggers)
{
	p->applied = trusted ? gen : -1;
	p->trusted = trusted;
	p->triggers = triggers;
	p->busy = false;
	p->loading = SYNCPLAN_RELOAD_NONE;
}

void
syncplan_failed(struct syncplan *p)
{
	p->busy = p->wake = p->wake_during = p->followup_due = false;
	p->found_nothing = false;
	p->loading = SYNCPLAN_RELOAD_NONE;
}

const char *
syncplan_reason_name(enum syncplan_reason why)
{
	static const char *const names[] = {
		[SYNCPLAN_RELOAD_NONE] = "none",
		[SYNCPLAN_RELOAD_CONNECT] = "new session",
		[SYNCPLAN_RELOAD_SIGHUP] = "SIGHUP",
		[SYNCPLAN_RELOAD_RECONCILE] = "reconcile",
		[SYNCPLAN_RELOAD_UNTRUSTED] = "no usable triggers",
		[SYNCPLAN_RELOAD_TRIGGERS] = "triggers changed",
		[SYNCPLAN_RELOAD_PRUNED] = "change log pruned",
		[SYNCPLAN_RELOAD_BULK] = "bulk change",
		[SYNCPLAN_RELOAD_MANY] = "too many targets changed",
		[SYNCPLAN_RELOAD_BACKWARDS] = "generation went backwards",
		[SYNCPLAN_RELOAD_COMPACT] = "compact",
	};

	if ((size_t)why >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[why];
}

uint64_t
syncplan_hash(uint64_t h, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* --- triggers */

/* pg_trigger.tgtype bits (PostgreSQL's catalog/pg_trigger.h). */
#define TG_ROW		1
#define TG_BEFORE	2
#define TG_INSERT	4
#define TG_DELETE	8
#define TG_UPDATE	16
#define TG_TRUNCATE	32

static const struct want {
	const char *name;
	int type;
	const char *func;
	bool column;		/* takes the target column as its argument */
	const char *usable;	/* tgenabled values that log ordinary writes */
	const char *ideal;	/* ... as tlspolicyd.attach() leaves them */
} wants[] = {
	{"tlspolicyd_before", TG_BEFORE | TG_INSERT | TG_DELETE | TG_UPDATE |
	    TG_TRUNCATE, "tlspolicyd.before_statement", false, "AO", "A"},
	{"tlspolicyd_insert", TG_INSERT, "tlspolicyd.after_statement", true,
	    "AO", "A"},
	{"tlspolicyd_update", TG_UPDATE, "tlspolicyd.after_statement", true,
	    "AO", "A"},
	{"tlspolicyd_delete", TG_DELETE, "tlspolicyd.after_statement", true,
	    "AO", "A"},
	{"tlspolicyd_truncate", TG_TRUNCATE, "tlspolicyd.after_statement",
	    true, "AO", "A"},
	/* only an apply worker needs it: any mode but disabled logs */
	{"tlspolicyd_row", TG_ROW | TG_INSERT | TG_DELETE | TG_UPDATE,
	    "tlspolicyd.after_row", true, "RAO", "RA"},
};
#define NWANTS (sizeof(wants) / sizeof(wants[0]))

/* One entry of the description, split in place into its five fields. */
struct trig {
	char *name, *enabled, *type, *func, *args;
};

static bool
split_entry(char *s, struct trig *t)
{
	char **f[] = {&t->name, &t->enabled, &t->type, &t->func, &t->args};
	size_t i;

	for (i = 0; i < 5; i++) {
		*f[i] = s;
		s += strcspn(s, " ");
		if (i < 4) {
			if (*s != ' ')
				return false;
			*s++ = '\0';
		}
	}
	return *s == '\0';
}

/* The hex of column + NUL, as encode(tgargs, 'hex') prints it. */
static void
args_hex(const char *column, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; column[i] != '\0' && n + 5 < outsz; i++) {
		out[n++] = hex[(unsigned char)column[i] >> 4];
		out[n++] = hex[(unsigned char)column[i] & 15];
	}
	out[n++] = '0';
	out[n++] = '0';
	out[n] = '\0';
}

static const char *
enabled_words(char c)
{
	switch (c) {
	case 'O':
		return "on origin only (a plain ENABLE TRIGGER reset it)";
	case 'R':
		return "in replica mode only (ordinary writes are not "
		    "logged)";
	case 'D':
		return "never (disabled)";
	default:
		return "always";
	}
}

bool
syncplan_triggers_ok(const char *desc, const char *column, char *why,
    size_t whysz)
{
	char buf[2048], hex[2 * 64 + 3];
	struct trig found[NWANTS];
	bool seen[NWANTS] = {false};
	char *save = NULL, *e;
	size_t i;
	bool ok = true;

	why[0] = '\0';
	if (desc == NULL)
		desc = "";
	if (strlen(desc) >= sizeof(buf)) {
		snprintf(why, whysz, "too many tlspolicyd triggers");
		return false;
	}
	strcpy(buf, desc);
	args_hex(column, hex, sizeof(hex));
	for (e = strtok_r(buf, ",", &save); e != NULL;
	    e = strtok_r(NULL, ",", &save)) {
		struct trig t;

		if (!split_entry(e, &t))
			continue;
		for (i = 0; i < NWANTS; i++)
			if (strcmp(t.name, wants[i].name) == 0) {
				found[i] = t;
				seen[i] = true;
			}
	}
	/* the first problem that makes the log untrustworthy, else a warning */
	for (i = 0; i < NWANTS && ok; i++) {
		const struct want *w = &wants[i];
		const struct trig *t = &found[i];

		if (!seen[i]) {
			snprintf(why, whysz, "trigger %s is missing", w->name);
			ok = false;
		} else if (strcmp(t->func, w->func) != 0) {
			snprintf(why, whysz, "trigger %s calls %.80s, not %s",
			    w->name, t->func, w->func);
			ok = false;
		} else if (strtol(t->type, NULL, 10) != w->type) {
			snprintf(why, whysz, "trigger %s fires on other events "
			    "(tgtype %.10s, not %d)", w->name, t->type,
			    w->type);
			ok = false;
		} else if (strcmp(t->args, w->column ? hex : "") != 0) {
			snprintf(why, whysz, "trigger %s is not on column "
			    "\"%s\" (tlspolicyd.attach() was given another)",
			    w->name, column);
			ok = false;
		} else if (t->enabled[1] != '\0' ||
		    strchr(w->usable, t->enabled[0]) == NULL) {
			snprintf(why, whysz, "trigger %s fires %s", w->name,
			    enabled_words(t->enabled[0]));
			ok = false;
		} else if (why[0] == '\0' &&
		    strchr(w->ideal, t->enabled[0]) == NULL) {
			snprintf(why, whysz, "trigger %s fires %s, not as "
			    "tlspolicyd.attach() left it (%s)", w->name,
			    enabled_words(t->enabled[0]), w->column && w->type &
			    TG_ROW ? "a logical-replication apply worker skips "
			    "it" : "changes made in replica mode are missed");
		}
	}
	return ok;
}

const char *
syncplan_failure_class(const char *sqlstate)
{
	if (sqlstate == NULL || strncmp(sqlstate, "08", 2) == 0 ||
	    strncmp(sqlstate, "57P", 3) == 0)
		return "database unreachable";
	if (strcmp(sqlstate, "42501") == 0)
		return "permission denied";
	if (strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "3F000") == 0)
		return "policy table missing";
	if (strcmp(sqlstate, "57014") == 0)
		return "database query timed out";
	return "database query failed";
}
