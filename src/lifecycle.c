/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lifecycle - the rules of temporary, documented overrides; see
 * include/lifecycle.h, and tests/unit/test_lifecycle.c for the cases.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifecycle.h"

bool
lifecycle_parse_epoch(const char *s, double *t)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || isnan(v) || (errno == ERANGE && !isinf(v)))
		return false;
	*t = v;
	return true;
}

bool
lifecycle_expired(double expires, double now)
{
	return expires <= now;
}

/* The levels that authenticate share a rank. */
int
lifecycle_rank(enum policy_level l)
{
	switch (l) {
	case POLICY_LEVEL_NONE:
		return 0;
	case POLICY_LEVEL_MAY:
		return 1;
	case POLICY_LEVEL_ENCRYPT:
		return 2;
	case POLICY_LEVEL_DANE:
		return 3;
	default:
		return 4;
	}
}

/* What an override is held against: global, but never below dane. */
static enum policy_level
bar(enum policy_level global)
{
	return lifecycle_rank(global) > lifecycle_rank(POLICY_LEVEL_DANE) ?
	    global : POLICY_LEVEL_DANE;
}

bool
lifecycle_weakens(enum policy_level level, enum policy_level global)
{
	return lifecycle_rank(level) < lifecycle_rank(bar(global));
}

/* A comment of nothing but whitespace says nothing. */
static bool
says_something(const char *comment)
{
	if (comment == NULL)
		return false;
	for (; *comment != '\0'; comment++)
		if (!isspace((unsigned char)*comment))
			return true;
	return false;
}

unsigned
lifecycle_findings(const struct lifecycle_opts *o,
    const struct lifecycle_row *r, double now)
{
	unsigned f = 0;
	bool never = isinf(r->expires) && r->expires > 0;

	if (lifecycle_weakens(r->level, o->global)) {
		if (never)
			f |= LIFECYCLE_NO_EXPIRY;
		if (!says_something(r->comment))
			f |= LIFECYCLE_NO_COMMENT;
	}
	if (!never && !lifecycle_expired(r->expires, now) &&
	    r->expires - now <= o->warn_within)
		f |= LIFECYCLE_EXPIRING;
	return f;
}

/* The name of a missing column, or what to set when there is none. */
static const char *
missing(const char *column, const char *key)
{
	return column[0] != '\0' ? column : key;
}

void
lifecycle_describe(const struct lifecycle_opts *o,
    const struct lifecycle_row *r, double now, unsigned which, char *out,
    size_t outsz)
{
	const char *level = policy_level_name(r->level);
	const char *global = policy_level_name(bar(o->global));
	unsigned f = lifecycle_findings(o, r, now) & which;
	char in[32], at[32];

	out[0] = '\0';
	if (f & (LIFECYCLE_NO_EXPIRY | LIFECYCLE_NO_COMMENT)) {
		const char *e = missing(o->expires_column, "column_expires");
		const char *c = missing(o->comment_column, "column_comment");

		if ((f & LIFECYCLE_NO_EXPIRY) && (f & LIFECYCLE_NO_COMMENT))
			snprintf(out, outsz, "weakening override (%s, below "
			    "%s) with no %s and no %s", level, global, e, c);
		else
			snprintf(out, outsz, "weakening override (%s, below "
			    "%s) with no %s", level, global,
			    f & LIFECYCLE_NO_EXPIRY ? e : c);
	} else if (f & LIFECYCLE_EXPIRING) {
		lifecycle_duration(r->expires - now, in, sizeof(in));
		lifecycle_utc(r->expires, at, sizeof(at));
		snprintf(out, outsz, "%s override expires in %s (%s), within "
		    "expiry_warning", level, in, at);
	}
}

void
lifecycle_duration(double seconds, char *out, size_t outsz)
{
	static const struct {
		const char *unit;
		long secs;
	} units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
	long s = seconds < 0 ? 0 : seconds > 1e12 ? 1000000000000L :
	    (long)seconds;
	size_t i;

	for (i = 0; i < 3 && s < units[i].secs; i++)
		;
	if (i == 3 || s % units[i].secs / units[i + 1].secs == 0)
		snprintf(out, outsz, "%ld%s", s / units[i].secs,
		    units[i].unit);
	else
		snprintf(out, outsz, "%ld%s %ld%s", s / units[i].secs,
		    units[i].unit, s % units[i].secs / units[i + 1].secs,
		    units[i + 1].unit);
}

void
lifecycle_utc(double t, char *out, size_t outsz)
{
	time_t tt;
	struct tm tm;

	if (isinf(t) && t > 0) {
		snprintf(out, outsz, "never");
		return;
	}
	tt = t < 0 ? 0 : t > 1e15 ? (time_t)1e15 : (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "%.0f", t);
}
