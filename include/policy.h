/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy - validate and canonicalise one Postfix TLS policy, as
 * smtp_tls_policy.c (tls_policy_lookup_one) parses it.
 *
 * Pure: no I/O, no globals, no logging.
 */
#ifndef TLSPOLICYD_POLICY_H
#define TLSPOLICYD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

/* Postfix version the answers must be accepted by: major * 100 + minor. */
#define POLICY_COMPAT_DEFAULT 307

/* Postfix's security levels, in its own order (tls/tls_level.c). */
enum policy_level {
	POLICY_LEVEL_NONE,
	POLICY_LEVEL_MAY,
	POLICY_LEVEL_ENCRYPT,
	POLICY_LEVEL_DANE,
	POLICY_LEVEL_DANE_ONLY,
	POLICY_LEVEL_FINGERPRINT,
	POLICY_LEVEL_VERIFY,
	POLICY_LEVEL_SECURE,
	POLICY_LEVEL_COUNT
};

struct policy_opts {
	int compat;		/* e.g. 307 for Postfix 3.7 */
	size_t fingerprint_len;	/* digest length in bytes: 32 for sha256 */
};

enum policy_status {
	POLICY_OK,		/* text holds the canonical policy */
	POLICY_INVALID,		/* problem says why; Postfix would defer */
};

struct policy_result {
	/* canonical "<level>[ <name>=<value>]...", NUL-terminated */
	char text[POLICY_MAX_TEXT];
	/* why it is invalid, or the first warning when valid */
	char problem[POLICY_MAX_PROBLEM];
	/* valid, but something was corrected or dropped worth telling */
	bool warned;
};

/* The level a word names (any case, nothing around it), or -1. */
int policy_level(const char *word);
/* Its name, as a canonical policy text starts with it. */
const char *policy_level_name(enum policy_level level);

/* Fill opts with the defaults (Postfix 3.7, sha256). */
void policy_opts_init(struct policy_opts *opts);

/*
 * Parse the level (the policy column) and the attributes (the parameters
 * column; NULL is the same as empty) of one row.  Never blocks.
 *
 * POLICY_OK: res->text is the canonical policy: lowercase level and names,
 * single spaces, attributes in input order, printable ASCII without commas;
 * fingerprints as uppercase "AB:CD:..." joined by '|'.  Parsing it again
 * gives the same text with no warning.  res->warned tells that something
 * was corrected or dropped (a comma inside a list, attributes at "none",
 * ...); res->problem then describes the first such correction.
 * POLICY_INVALID: res->problem says why (printable ASCII); res->text is "".
 * All output lives in *res, owned by the caller.
 */
enum policy_status policy_parse(const struct policy_opts *opts,
    const char *level, const char *params, struct policy_result *res);

#endif
