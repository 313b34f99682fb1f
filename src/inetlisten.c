/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * inetlisten - see inetlisten.h.  The syntax is checked again here (the
 * config module checked it once) so that a caller cannot reach
 * getaddrinfo() with a host longer than the buffer.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "inetlisten.h"

struct evconnlistener *
inetlisten(struct event_base *base, const char *spec, evconnlistener_cb cb,
    void *arg, int backlog, const char *key, char *err, size_t errsz)
{
	const char *host = spec, *port = strrchr(spec, ':');
	char name[256];
	struct addrinfo hints, *res, *ai;
	struct evconnlistener *lev = NULL;
	size_t hl;
	int rc;

	/* the port is after the last ':', so [IPV6]:PORT works */
	if (port == NULL) {
		snprintf(err, errsz, "%s: \"inet:%s\" is not inet:HOST:PORT",
		    key, spec);
		return NULL;
	}
	hl = (size_t)(port - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl >= sizeof(name)) {
		snprintf(err, errsz, "%s: inet:%s: host name too long", key,
		    spec);
		return NULL;
	}
	memcpy(name, host, hl);
	name[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(name[0] != '\0' ? name : NULL, port + 1, &hints,
	    &res)) != 0) {
		snprintf(err, errsz, "%s: inet:%s: %s", key, spec,
		    gai_strerror(rc));
		return NULL;
	}
	for (ai = res; ai != NULL && lev == NULL; ai = ai->ai_next)
		lev = evconnlistener_new_bind(base, cb, arg,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE, backlog, ai->ai_addr,
		    (int)ai->ai_addrlen);
	if (lev == NULL)
		snprintf(err, errsz, "%s: inet:%s: %s", key, spec,
		    strerror(errno));
	freeaddrinfo(res);
	return lev;
}
