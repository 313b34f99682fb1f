/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hostname - Postfix's valid_hostname() (util/valid_hostname.c), the one
 * answer to "is this a host name" for target (which keys Postfix walks to
 * their parents) and policy (match=, servername=, ...), so the two cannot
 * disagree.
 *
 * Pure: no I/O, no globals, no logging, no allocation.
 */
#ifndef TLSPOLICYD_HOSTNAME_H
#define TLSPOLICYD_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

/*
 * Whether the len bytes at s (need not be NUL-terminated) are a host name
 * as Postfix's valid_hostname() decides: 1 to HOSTNAME_MAX_LEN bytes of
 * ASCII letters, digits, '_', '-' and '.'; labels of 1 to
 * HOSTNAME_MAX_LABEL bytes, no leading or trailing dot, no empty label, no
 * hyphen at either end of a label; and not numeric, which means: no letter
 * and no '_' anywhere (so "1-2.3" is numeric, like "1.2.3").
 * Case is not changed and does not matter.  Never blocks.
 */
bool hostname_valid(const char *s, size_t len);

#endif
