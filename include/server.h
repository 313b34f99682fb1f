/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server - the listening sockets: inet:HOST:PORT and unix:PATH endpoints
 * (Postfix's own syntax), the connection cap, and accept backoff when the
 * process runs out of descriptors.
 */
#ifndef TLSPOLICYD_SERVER_H
#define TLSPOLICYD_SERVER_H

#include <stddef.h>

#include "daemon.h"

struct server;

/*
 * Bind every configured endpoint; unix sockets get listen_owner,
 * listen_group and listen_mode before they listen.  On failure returns
 * NULL and describes the endpoint (or key) and the error in err.  Startup
 * only, before the privilege drop: may resolve host, user and group names.
 */
struct server *server_open(struct daemon *d, char *err, size_t errsz);

/*
 * Stop accepting (SIGTERM): close every listener and remove the unix
 * sockets it created; the connections stay.  s may be NULL.
 */
void server_stop_accepting(struct server *s);

/* Close the listeners (and remove unix sockets it created). */
void server_free(struct server *s);

#endif
