/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privdrop - run as the configured `user` after the listeners are bound:
 * its supplementary groups, its primary group, its uid, and a check that
 * root cannot be regained.
 */
#ifndef TLSPOLICYD_PRIVDROP_H
#define TLSPOLICYD_PRIVDROP_H

#include <stddef.h>

enum privdrop_status {
	PRIVDROP_OK,		/* dropped, or nothing to do */
	PRIVDROP_CONFIG,	/* user cannot be honoured: exit 2 */
	PRIVDROP_FAILED,	/* a system call failed: exit 1 */
};

/*
 * Become user ("" = stay as started).  Started as root: initgroups(),
 * setgid(), setuid(), then setuid(0) must fail.  Not root: fine only if
 * the process already is user.  On failure err names the key and why.
 * Blocks only on the name service (getpwnam), at startup.
 */
enum privdrop_status privdrop_to(const char *user, char *err, size_t errsz);

#endif
