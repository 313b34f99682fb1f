/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn - one client connection: read netstring frames, answer each from
 * the current snapshot, write one netstring reply per request, in order.
 */
#ifndef TLSPOLICYD_CONN_H
#define TLSPOLICYD_CONN_H

#include <event2/util.h>

#include "daemon.h"
#include "sockmap.h"

struct conn;

/* Take over an accepted socket.  Never blocks; closes fd on failure. */
void conn_new(struct daemon *d, evutil_socket_t fd);

/*
 * The reply payload for one request payload, from the daemon's current
 * state.  Writes one whole reply frame into out (SOCKMAP_MAX_FRAME bytes)
 * and returns its length.  Used by connections and by --query.
 */
size_t conn_answer(struct daemon *d, const char *payload, size_t len,
    char *out, enum sockmap_status *status);

#endif
