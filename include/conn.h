/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn - client connections: read netstring frames, answer each from the
 * current snapshot (answer.h), write the replies in request order; close
 * connections idle past idle_timeout, and the longest-idle one to make
 * room at max_connections.  Nothing here blocks.
 */
#ifndef TLSPOLICYD_CONN_H
#define TLSPOLICYD_CONN_H

#include <stdbool.h>

#include <event2/util.h>

#include "daemon.h"

/*
 * Start the idle sweep on d->base; before the first conn_new().  Returns
 * -1 if libevent cannot arm it.
 */
int conn_start(struct daemon *d);

/*
 * SIGTERM: answer every whole request the connections have sent, stop
 * reading them, and close each as soon as its replies are written (the
 * loop does that).  Returns how many are still open; conn_stop() closes
 * what is left.
 */
size_t conn_shutdown(struct daemon *d);

/* Close every connection and stop the sweep (at exit). */
void conn_stop(struct daemon *d);

/* Take over an accepted, non-blocking socket; closes fd on failure. */
void conn_new(struct daemon *d, evutil_socket_t fd);

/*
 * Close the longest-idle connection if it has been idle for at least
 * CONN_EVICT_IDLE_MS, and say whether one was closed.  Logs nothing: the
 * caller decides what an eviction is worth saying.
 */
bool conn_evict(struct daemon *d);

#endif
