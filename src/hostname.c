/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hostname - Postfix's valid_hostname(), without its logging.
 *
 * Whether Postfix walks a key to its parents (smtp_tls_policy.c) and
 * whether it accepts a host name in a policy attribute both come down to
 * util/valid_hostname.c.  Two copies of it here once disagreed about
 * "1-2.3" (Postfix: numeric, because a hyphen is no letter); this is the
 * one copy.  Postfix's SLOPPY_VALID_HOSTNAME build option is not followed:
 * no distribution enables it.
 *
 * Invariants: reads only s[0..len); a NUL byte is an invalid character,
 * never the end of the name.
 * Limits: HOSTNAME_MAX_LEN, HOSTNAME_MAX_LABEL.
 */
#include "hostname.h"

bool
hostname_valid(const char *s, size_t len)
{
	size_t label = 0;	/* bytes of the current label so far */
	bool numeric = true;	/* no letter and no '_' seen yet */
	size_t i;

	if (len == 0 || len > HOSTNAME_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool last = i + 1 == len;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_') {
			numeric = false;
			if (++label > HOSTNAME_MAX_LABEL)
				return false;
		} else if (c >= '0' && c <= '9') {
			if (++label > HOSTNAME_MAX_LABEL)
				return false;
		} else if (c == '.') {
			if (label == 0 || last)
				return false;
			label = 0;
		} else if (c == '-') {
			/* a hyphen counts towards the label, not as a letter */
			if (++label == 1 || last || s[i + 1] == '.')
				return false;
		} else {
			return false;
		}
	}
	return !numeric;
}
