/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target - one canonical form for table targets and lookup keys
 * (docs/architecture.md, decision 4), and the parent walk of decision 5.
 *
 * Pure: no I/O, no globals, no logging.
 */
#ifndef TLSPOLICYD_TARGET_H
#define TLSPOLICYD_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

enum target_status {
	TARGET_OK,		/* canonical form written */
	TARGET_NEVER,		/* can never match: empty, too long, bad bytes */
};

struct target {
	char canon[TARGET_MAX_LEN + 1];	/* NUL-terminated */
	size_t len;
	/*
	 * Postfix itself would walk this key to its parents (a valid
	 * hostname, with or without a leading dot: smtp_tls_policy.c).
	 */
	bool walk;
};

/*
 * Canonicalise a key or a target of len bytes (need not be NUL-terminated).
 * ASCII lowercase, trailing dot stripped, U-labels to A-labels, IP literals
 * spelled one way, a bare IP address bracketed; ports kept.
 */
enum target_status target_canon(const char *in, size_t len, struct target *out);

/*
 * A table target written "*.X", the wildcard habit of other MTAs' tables:
 * Postfix has no such pattern, and the row was meant for ".X".  When in is
 * "*." followed by a name target_canon() would walk (a valid host name, see
 * hostname.h), writes the canonical form of ".X" to out and returns true,
 * so the row can be stored where its keys will meet it.  Anything else:
 * false, out empty.  For table targets only: a lookup key "*.X" stays
 * TARGET_NEVER (Postfix never sends one).
 */
bool target_wildcard(const char *in, size_t len, struct target *out);

/*
 * The next key of the parent walk after the suffix at offset off of canon
 * (start with off = 0 for the key itself): Postfix's strchr(name + 1, '.').
 * Returns false when there is no parent left.
 */
bool target_parent(const char *canon, size_t len, size_t *off);

#endif
