/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * review - tlspolicyd --review: for each active override that weakens the
 * level Postfix would otherwise use, ask Postfix's own posttls-finger(1)
 * whether delivery would now succeed at that level, and say which
 * overrides are no longer needed.  It never changes a row: the DBA decides.
 *
 * Two halves.  The pure half (destinations, the reading of
 * posttls-finger's output and of a DNS MX answer, JSON strings) does no
 * I/O and is unit-tested (tests/unit/test_review.c).  The shell half
 * (review_new ... review_free) asks postconf(1) through postconf_get(),
 * runs posttls-finger(1) as child processes, looks up MX records, and
 * prints; it is only run by main for --review, after the rows were
 * loaded once.
 *
 * Bounds: at most jobs probes at a time, each killed at its deadline, and
 * never two at a time against one MX host.  Overrides are reported in
 * target order once all probes are done.
 */
#ifndef TLSPOLICYD_REVIEW_H
#define TLSPOLICYD_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bounds.h"
#include "policy.h"

/* ------------------------------------------------------------ pure */

/*
 * Levels are policy.h's enum policy_level, named by policy_level() and
 * policy_level_name(); which overrides weaken which level, and which is
 * stricter, is lifecycle.h's rule (lifecycle_weakens, lifecycle_rank),
 * the same as --check's.  Limits are in bounds.h (REVIEW_*).
 */

/* What a canonical target (target_canon) names for posttls-finger. */
enum review_dest {
	REVIEW_DEST_DOMAIN,	/* "example.com", "example.com:587": MX lookup */
	REVIEW_DEST_HOST,	/* "[host]", "[host]:port", "[192.0.2.1]" */
	REVIEW_DEST_PATTERN,	/* ".example.com": no single destination */
	REVIEW_DEST_OTHER,	/* an LMTP socket path, anything else */
};

/*
 * Classify canon and write the name that keys the one-probe-per-host
 * rule to host (the domain to look up MX records for, or the host inside
 * the brackets; lowercase, no port).  host is "" unless DOMAIN or HOST.
 */
enum review_dest review_destination(const char *canon, char *host,
    size_t hostsz);

enum review_verdict {
	REVIEW_REMOVABLE,	/* "override no longer needed" */
	REVIEW_NEEDED,		/* "override still needed" */
	REVIEW_UNCHECKED,	/* "could not check" */
};

/*
 * Judge what posttls-finger printed (len bytes of out, its stdout and
 * stderr, with SMTP chat logging on) when it was run at probe level
 * review_probe_level(level) against the destination of an override at
 * level override, where Postfix would use level without the override.
 *
 * An override stricter than level is still needed, whatever out says.
 * Otherwise Postfix's rules at the review level decide: at dane, verified DANE
 * makes the override removable; a destination without (usable) TLSA
 * records gets may (encrypt) from Postfix, so the override is removable
 * when it is no stricter than that and the probe connected (established
 * TLS); at verify and secure the server must be "Verified"; at encrypt
 * TLS must be established; at may a connection suffices.  A destination
 * the probe never connected to is unchecked.
 *
 * detail (always NUL-terminated, printable ASCII) says why, quoting the
 * deciding line of the output without its "posttls-finger: " prefix.
 */
enum review_verdict review_judge(enum policy_level override,
    enum policy_level level, const char *out, size_t len, char *detail,
    size_t detailsz);

/*
 * The -l level to run posttls-finger at for a review at level: dane-only
 * for dane (it says "no TLSA records found" where dane would not, and
 * otherwise behaves the same); the level itself otherwise.
 */
enum policy_level review_probe_level(enum policy_level level);

enum review_mx {
	REVIEW_MX_OK,		/* *n host names written */
	REVIEW_MX_NONE,		/* no MX records: the name is its own host */
	REVIEW_MX_MALFORMED,	/* not a DNS answer we can read */
};

/*
 * Read the MX host names out of a DNS answer of len bytes (what
 * res_query returns): lowercase, without the trailing dot, at most max of
 * them in answer order; a null MX ("." : RFC 7505) is skipped.
 */
enum review_mx review_mx_parse(const unsigned char *msg, size_t len,
    char (*hosts)[HOSTNAME_MAX_LEN + 1], size_t max, size_t *n);

/*
 * in as the body of a JSON string (without the quotes): '"', '\\' and
 * control bytes escaped, valid UTF-8 kept, invalid bytes as U+FFFD.
 * Writes at most outsz bytes including the NUL; returns the length the
 * whole text needs (like snprintf), so a short buffer is detectable.
 */
size_t review_json_string(char *out, size_t outsz, const char *in);

/* ------------------------------------------------------------ shell */

enum review_format {
	REVIEW_FORMAT_TEXT,
	REVIEW_FORMAT_JSON,
};

struct review_opts {
	/* NULL: smtp_tls_security_level as postconf(1) reports it */
	const char *level;
	enum review_format format;
	unsigned long timeout_ms;	/* per target, all its MX hosts */
	unsigned long jobs;		/* probes at a time */
};

void review_opts_init(struct review_opts *opts);

struct review;

struct review *review_new(void);
void review_free(struct review *r);

/*
 * One active row: its target as stored and its canonical policy text.
 * Rows at levels that weaken nothing (dane-only, fingerprint, verify,
 * secure) are dropped at once; the rest are held against the review level
 * by review_run, once postconf has said what it is.
 */
void review_add(struct review *r, const char *target, const char *policy);

/*
 * Run the review and print the result to out.  Returns the exit status:
 * 0 nothing can be removed, 1 some override can, 2 the review could not
 * run (the reason is printed: a line "review: error: ...", or a JSON
 * object with "error").  Blocks until every probe is done or killed.
 */
int review_run(struct review *r, const struct review_opts *opts, FILE *out);

/* The database could not be read: print why as review_run would; 2. */
int review_failed(const struct review_opts *opts, FILE *out,
    const char *why);

#endif
