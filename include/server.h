/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server - the listening sockets: inet:HOST:PORT and unix:PATH endpoints
 * (Postfix's own syntax), the connection cap, and accept backoff when the
 * process runs out of descriptors.
 */
#ifndef TLSPOLICYD_SERVER_H
#define TLSPOLICYD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"

struct server;

/*
 * Bind every configured endpoint; unix sockets get listen_owner,
 * listen_group and listen_mode before they listen, without following a
 * link, in a directory only root and the effective uid may change (or a
 * sticky one).  On failure returns NULL and describes the endpoint (or
 * key) and the error in err; *cfgerr is true when the configuration is
 * at fault (an unknown listen_owner or listen_group, an unsafe socket
 * directory: exit 2).  Startup only, before the privilege drop: may
 * resolve host, user and group names, and changes the working directory
 * for a moment (restored).
 */
struct server *server_open(struct daemon *d, bool *cfgerr, char *err,
    size_t errsz);

/*
 * Stop accepting (SIGTERM): close every listener and remove the unix
 * sockets it created; the connections stay.  s may be NULL.
 */
void server_stop_accepting(struct server *s);

/* Close the listeners (and remove unix sockets it created). */
void server_free(struct server *s);

#endif
