/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * postconf - one parameter of the local Postfix, as postconf(1) prints it
 * (expanded, `postconf -xh NAME`).  Shell: runs a program, for --check
 * and --review (and whatever else wants Postfix's own view); never on the
 * event loop of the daemon.
 */
#ifndef TLSPOLICYD_POSTCONF_H
#define TLSPOLICYD_POSTCONF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The value of parameter name, its first line, whitespace trimmed, in
 * out (at most outsz - 1 bytes of it).  true when postconf ran and exited
 * 0: out is "" for a parameter that is empty (as smtp_tls_security_level
 * is by default) or unknown to this Postfix.  false (out is "") when
 * postconf is not installed, fails (no main.cf) or takes longer than
 * POSTCONF_TIMEOUT_MS; then why, unless NULL, says which, starting with
 * "postconf" (always NUL-terminated, whysz > 0).  What postconf prints on
 * standard error is never shown.
 */
bool postconf_get(const char *name, char *out, size_t outsz, char *why,
    size_t whysz);

#endif
