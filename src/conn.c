/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn - a client connection, and the answer to one request.
 *
 * Request flow, top to bottom: the read callback decodes at most
 * CONN_MAX_FRAMES_PER_READ frames; each is split into map and key, the key
 * canonicalised, looked up in the current snapshot, and the reply frame is
 * appended to the output buffer in request order.  Postfix never pipelines
 * (spec section 1.2) but other clients may, and it costs nothing.
 *
 * Invariants: a framing error closes the connection at once with no reply
 * (only a broken or hostile client sends one); nothing but conn_close()
 * frees a connection; a lookup never leaves the loop turn it started in,
 * so the connection is never closed between a request and its reply.
 * Limits: NETSTRING_MAX_FRAME (read high-watermark), CONN_MAX_OUTPUT,
 * CONN_MAX_FRAMES_PER_READ, idle_timeout.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "netstring.h"
#include "snapshot.h"
#include "target.h"
#include "xalloc.h"

struct conn {
	struct daemon *d;
	struct bufferevent *bev;
	unsigned long id;
	bool draining;		/* peer sent EOF: close once output is out */
};

static void conn_read(struct bufferevent *bev, void *arg);

static void
conn_close(struct conn *c, const char *reason)
{
	log_debug("conn: conn=%lu closed: %s", c->id, reason);
	bufferevent_free(c->bev);
	c->d->nconns--;
	xfree(c);
}

/* Format a reply frame from printf-style data. */
static size_t
reply(char *out, enum sockmap_status *status, enum sockmap_status st,
    const char *fmt, ...) LOG_PRINTF(4, 5);

static size_t
reply(char *out, enum sockmap_status *status, enum sockmap_status st,
    const char *fmt, ...)
{
	char msg[SOCKMAP_MAX_REPLY];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	*status = st;
	return sockmap_format_reply(st, msg,
	    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, out);
}

size_t
conn_answer(struct daemon *d, const char *payload, size_t len, char *out,
    enum sockmap_status *status)
{
	const struct config *cfg = d->cfg;
	struct sockmap_request req;
	struct target key;
	const char *text;
	size_t tlen;
	struct timespec now;

	sockmap_parse_request(payload, len, &req);
	if (sockmap_find_map(cfg->map, cfg->nmap, req.name, req.namelen) < 0)
		return reply(out, status, SOCKMAP_PERM, "unknown map %.*s",
		    (int)(req.namelen > SOCKMAP_MAX_NAME ? SOCKMAP_MAX_NAME :
		    req.namelen), req.name);

	/* Empty, overlong, non-UTF-8: no row can match, at any time. */
	if (target_canon(req.key, req.keylen, &key) != TARGET_OK) {
		*status = SOCKMAP_NOTFOUND;
		return sockmap_format_reply(SOCKMAP_NOTFOUND, "", 0, out);
	}

	if (d->snap == NULL)
		return reply(out, status, SOCKMAP_TEMP,
		    "no policy data loaded yet%s%s", d->why[0] ? ": " : "",
		    d->why);
	if (!d->in_sync && clock_gettime(CLOCK_MONOTONIC, &now) == 0 &&
	    (double)now.tv_sec + (double)now.tv_nsec / 1e9 - d->current_mono >
	    (double)cfg->max_stale / 1000) {
		struct tm tm;
		char when[32];

		gmtime_r(&d->current_at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		return reply(out, status, SOCKMAP_TEMP,
		    "policy data stale since %s", when);
	}

	switch (snapshot_lookup(d->snap, &key, key.walk && cfg->parent_walk,
	    &text, &tlen)) {
	case SNAPSHOT_FOUND:
		*status = SOCKMAP_OK;
		return sockmap_format_reply(SOCKMAP_OK, text, tlen, out);
	case SNAPSHOT_INVALID:
		*status = SOCKMAP_TEMP;
		return sockmap_format_reply(SOCKMAP_TEMP, text, tlen, out);
	case SNAPSHOT_CONFLICT:
		return reply(out, status, SOCKMAP_TEMP,
		    "conflicting rows for %.*s", (int)tlen, text);
	case SNAPSHOT_NONE:
		break;
	}
	*status = SOCKMAP_NOTFOUND;
	return sockmap_format_reply(SOCKMAP_NOTFOUND, "", 0, out);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		conn_close(c, "idle timeout");
	} else if (what & BEV_EVENT_ERROR) {
		conn_close(c, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	} else if (what & BEV_EVENT_EOF) {
		/* Answer what was asked before the peer shut its side. */
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
			conn_close(c, "eof");
			return;
		}
		c->draining = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->draining) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_close(c, "eof");
		return;
	}
	/* Below the low watermark again: resume, and answer what waits. */
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(bev, EV_READ);
		conn_read(bev, c);
	}
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	char frame[SOCKMAP_MAX_FRAME];
	int frames;

	for (frames = 0; frames < CONN_MAX_FRAMES_PER_READ; frames++) {
		size_t avail = evbuffer_get_length(in);
		size_t n = avail < NETSTRING_MAX_FRAME ? avail :
		    NETSTRING_MAX_FRAME;
		const char *payload;
		size_t plen, used, rlen;
		enum sockmap_status st;
		const char *buf;

		if (n == 0)
			return;
		buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		switch (netstring_decode(buf, n, NETSTRING_MAX_PAYLOAD,
		    &payload, &plen, &used)) {
		case NETSTRING_NEED_MORE:
			return;
		case NETSTRING_ERR_FORMAT:
			conn_close(c, "malformed netstring");
			return;
		case NETSTRING_ERR_SIZE:
			conn_close(c, "netstring over the size limit");
			return;
		case NETSTRING_OK:
			break;
		}
		rlen = conn_answer(d, payload, plen, frame, &st);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char pb[LOG_PRINTABLE_SIZE];

			log_debug("conn: conn=%lu request \"%s\" reply %.*s",
			    c->id, log_printable(payload, plen, pb),
			    (int)rlen, frame);
		}
		evbuffer_add(out, frame, rlen);
		evbuffer_drain(in, used);

		if (evbuffer_get_length(out) > CONN_MAX_OUTPUT) {
			/* The peer does not read: stop reading it too. */
			bufferevent_disable(bev, EV_READ);
			bufferevent_setwatermark(bev, EV_WRITE,
			    CONN_MAX_OUTPUT / 2, 0);
			return;
		}
	}
	/* Fairness cap reached with bytes left: come back next turn. */
	if (evbuffer_get_length(in) > 0)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

void
conn_new(struct daemon *d, evutil_socket_t fd)
{
	static unsigned long next_id;
	struct timeval idle;
	struct conn *c;

	evutil_make_socket_nonblocking(fd);
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->id = ++next_id;
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warning("conn: cannot set up a connection");
		evutil_closesocket(fd);
		xfree(c);
		return;
	}
	d->nconns++;
	idle.tv_sec = (time_t)(d->cfg->idle_timeout / 1000);
	idle.tv_usec = (suseconds_t)(d->cfg->idle_timeout % 1000) * 1000;
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, NETSTRING_MAX_FRAME);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("conn: conn=%lu accepted", c->id);
}
