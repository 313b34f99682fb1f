/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sdnotify - tells systemd (Type=notify) what the daemon is doing: READY=1,
 * RELOADING=1, STOPPING=1, a STATUS= line for `systemctl status`, and
 * WATCHDOG=1 pings.  Outside systemd (no NOTIFY_SOCKET) every call is a
 * no-op.
 *
 * Written here rather than linked from libsystemd: the protocol is one
 * datagram of "KEY=VALUE" lines to a unix socket (sd_notify(3)), and a
 * dependency for that would tie the daemon to one init system's library.
 */
#ifndef TLSPOLICYD_SDNOTIFY_H
#define TLSPOLICYD_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

struct sdnotify;

/*
 * Connect to $NOTIFY_SOCKET (a path, or "@name" in the abstract
 * namespace).  Returns NULL when it is unset (not under systemd) or cannot
 * be reached (logged).  Connecting now, while still root, keeps the socket
 * usable after the privilege drop.  Caller frees with sdnotify_free().
 */
struct sdnotify *sdnotify_open(void);
void sdnotify_free(struct sdnotify *sn);

/* Send one message ("READY=1", "STOPPING=1", ...).  sn may be NULL. */
void sdnotify_send(struct sdnotify *sn, const char *msg);

/*
 * Arm the timers on d->base: STATUS= every SDNOTIFY_STATUS_MS when its
 * text changed, and WATCHDOG=1 every half of $WATCHDOG_USEC (when set and
 * $WATCHDOG_PID is unset or this process).  sn may be NULL.  Returns -1 if
 * libevent cannot arm them.
 */
int sdnotify_start(struct sdnotify *sn, struct daemon *d);

/* Send STATUS= now if its text changed (after a state change). */
void sdnotify_update(struct sdnotify *sn);

/*
 * The status line for d at monotonic time now, e.g. "1234 rows, fresh;
 * database connected" or "1234 rows, stale since 2024-05-01T10:00:00Z;
 * database not connected".  Pure.
 */
void sdnotify_status_text(const struct daemon *d, double now, char *out,
    size_t outsz);

/*
 * $WATCHDOG_USEC as a number of microseconds when the watchdog is meant
 * for this process; 0 otherwise (unset, malformed, or another pid).
 */
uint64_t sdnotify_watchdog_usec(const char *usec, const char *pid,
    long mypid);

#endif
