/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * answer - the reply to one socketmap request payload, from the daemon's
 * current state: the rules of docs/protocol.md, "Replies".  Pure: no I/O, no
 * libevent, no clock of its own, no logging, no allocation.
 */
#ifndef TLSPOLICYD_ANSWER_H
#define TLSPOLICYD_ANSWER_H

#include <stddef.h>

#include "daemon.h"
#include "sockmap.h"

/*
 * Write the reply frame for one request payload (NETSTRING_MAX_PAYLOAD
 * bytes at most, need not be NUL-terminated) into out, SOCKMAP_MAX_FRAME
 * bytes, and return its length; *status is the reply's status word.
 * Reads d->cfg (maps, parent_walk, max_stale) and the data fields of d;
 * now is CLOCK_MONOTONIC seconds, the clock of d->current_mono.
 *
 *   a map that is not served           PERM unknown map <name>
 *   a key that can never match a row   NOTFOUND (at any time, loaded or not)
 *   no data loaded yet                 TEMP no policy data loaded yet[: why]
 *   out of sync for over max_stale     TEMP policy data stale since <UTC>
 *   an invalid row answers             TEMP <its reason>
 *   two rows for the key               TEMP conflicting rows for <target>
 *   a row answers                      OK <policy>
 *   none does                          NOTFOUND
 */
size_t answer_reply(const struct daemon *d, double now, const char *payload,
    size_t len, char *out, enum sockmap_status *status);

#endif
