/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * inetlisten - one TCP listener from Postfix's inet:HOST:PORT syntax, for
 * the socketmap listeners (server.c) and metrics_listen (metrics.c).
 * Startup only: it may resolve host names.
 */
#ifndef TLSPOLICYD_INETLISTEN_H
#define TLSPOLICYD_INETLISTEN_H

#include <stddef.h>

#include <event2/listener.h>

/*
 * Listen on spec, the text after "inet:" (HOST:PORT, [HOST]:PORT or
 * [IPV6]:PORT; an empty HOST is every address; PORT numeric), on the
 * first address it resolves to that binds, calling cb with arg for each
 * connection.  On failure returns NULL with err naming key and the
 * endpoint.
 */
struct evconnlistener *inetlisten(struct event_base *base, const char *spec,
    evconnlistener_cb cb, void *arg, int backlog, const char *key,
    char *err, size_t errsz);

#endif
