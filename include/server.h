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
 * Bind every configured endpoint.  On failure returns NULL and describes
 * the endpoint and the error in err.  Startup only: may resolve host names.
 */
struct server *server_open(struct daemon *d, char *err, size_t errsz);

/* Close the listeners (and remove unix sockets it created). */
void server_free(struct server *s);

#endif
