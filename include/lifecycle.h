/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lifecycle - overrides are temporary and documented (issue 10): when a
 * row has expired, which rows weaken the level Postfix would otherwise
 * use, and what tlspolicyd --check says about a row's expiry and comment.
 * Pure: no I/O, no logging, no clock of its own; `now` is the database's
 * clock in seconds since the epoch (pgsync keeps its offset from the
 * local monotonic clock).
 */
#ifndef TLSPOLICYD_LIFECYCLE_H
#define TLSPOLICYD_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/*
 * A timestamp column as the daemon reads it, date_part('epoch', ...):
 * seconds since the epoch, "Infinity" (never expires) or "-Infinity"
 * (expired since ever).  false if it is not a number.
 */
bool lifecycle_parse_epoch(const char *s, double *t);

/* A row stops being served at its expiry: at or after it, it is absent. */
bool lifecycle_expired(double expires, double now);

/*
 * How much a level protects, the one ordering of levels that --check and
 * --review use: none 0, may 1, encrypt 2, dane 3; dane-only, fingerprint,
 * verify and secure 4 (they authenticate the server and never fall back,
 * so none of them weakens another).
 */
int lifecycle_rank(enum policy_level level);

/*
 * Does an override at `level` weaken a destination that would otherwise get
 * `global`?  Every level below dane does: it does not authenticate the server,
 * and an override wins over a resolver further down smtp_tls_policy_maps
 * (docs/architecture.md, decision 5), so it can bypass DANE or MTA-STS whatever
 * the global level.  So does dane below a global level that always
 * authenticates (dane-only, fingerprint, verify, secure).  This is the rule of
 * both --check's hygiene warnings and --review.
 */
bool lifecycle_weakens(enum policy_level level, enum policy_level global);

/* What --check is told about the table and its settings. */
struct lifecycle_opts {
	enum policy_level global;	/* global_level, resolved */
	double warn_within;		/* expiry_warning, seconds */
	const char *expires_column;	/* "" when the table has none */
	const char *comment_column;	/* "" when the table has none */
};

/* One row that is served: active, valid, not expired. */
struct lifecycle_row {
	enum policy_level level;
	double expires;			/* INFINITY: never */
	const char *comment;		/* NULL: none */
};

/* What --check warns about; a row may have several. */
enum lifecycle_finding {
	LIFECYCLE_NO_EXPIRY = 1,	/* weakening, and never expires */
	LIFECYCLE_NO_COMMENT = 2,	/* weakening, and says not why */
	LIFECYCLE_EXPIRING = 4,		/* expires within warn_within */
};

/* The findings for row r at now: a mask of enum lifecycle_finding. */
unsigned lifecycle_findings(const struct lifecycle_opts *o,
    const struct lifecycle_row *r, double now);

/*
 * One line of --check's text for the findings (without the target and
 * "warning: "): at most one for the weakening findings, one for
 * LIFECYCLE_EXPIRING; which selects them.  Always NUL-terminated.
 */
void lifecycle_describe(const struct lifecycle_opts *o,
    const struct lifecycle_row *r, double now, unsigned which, char *out,
    size_t outsz);

/* "3d 4h", "2h 5m", "4m 10s", "12s": a coarse duration, two units. */
void lifecycle_duration(double seconds, char *out, size_t outsz);

/* "2026-12-01T10:00:00Z"; "never" for INFINITY. */
void lifecycle_utc(double t, char *out, size_t outsz);

#endif
