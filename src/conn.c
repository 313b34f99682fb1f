/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn - client connections on raw libevent events.
 *
 * Request flow, top to bottom: the socket is readable; conn_read() reads
 * into a stack buffer, answers every complete frame in it (at most
 * CONN_MAX_FRAMES_PER_READ) into a stack batch, and writes the batch with
 * one write().  Postfix sends one request and waits for its reply, so a
 * request costs a read(), a write() and a share of epoll_wait(): no
 * allocation, no timer.  Counting it for /metrics (stats.h) is an
 * increment per frame and two vDSO clock reads per batch of frames.
 *
 * Other clients may pipeline.  A read that leaves whole frames over puts
 * the connection in the slow lane: it is no longer watched for readable,
 * and on_later() answers the lane after the next poll, at most
 * CONN_MAX_FRAMES_PER_TURN frames a turn for all pipelining clients
 * together.  However many pipeline, a turn stays short, and a client that
 * sends one request at a time waits for one turn at most (its first frame
 * is always answered at once).
 *
 * Per connection there is one event and a small struct, plus heap memory
 * only while there is something to keep: a partial frame (in), or replies
 * the peer has not taken yet (out).  The event watches for writable only
 * while out holds bytes, and stops watching for readable while out holds
 * more than CONN_MAX_OUTPUT: a client that does not read its replies is
 * not read either (backpressure), so it costs others nothing.
 *
 * Idle connections: every connection sits on one list in the order it
 * last made progress (bytes read or written), stamped with a coarse clock
 * that a timer refreshes every CONN_TICK_MS.  The same timer closes the
 * connections at the old end past idle_timeout, and at max_connections
 * the server closes the oldest to make room (conn_evict()).  Moving a
 * connection to the new end is two pointer updates, where a timer per
 * connection would be re-armed, with a clock read, on every request.
 *
 * Invariants: a framing error closes the connection at once with no reply
 * (only a broken or hostile client sends one); nothing but conn_close()
 * frees a connection; replies go out in request order; a lookup never
 * leaves the loop turn it started in, so the snapshot cannot change under
 * it; frames left by the caps are answered on later loop turns, after the
 * other sockets were polled.
 * Limits: NETSTRING_MAX_FRAME, CONN_READ_MAX, CONN_BATCH, CONN_MAX_OUTPUT,
 * CONN_MAX_FRAMES_PER_READ, CONN_MAX_FRAMES_PER_TURN, CONN_TICK_MS,
 * CONN_EVICT_IDLE_MS, idle_timeout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "answer.h"
#include "bounds.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "monotime.h"
#include "netstring.h"
#include "xalloc.h"

/* A kept partial frame leaves room to read; a batch takes any reply. */
_Static_assert(CONN_READ_MAX > NETSTRING_MAX_FRAME, "CONN_READ_MAX");
_Static_assert(CONN_BATCH >= SOCKMAP_MAX_FRAME, "CONN_BATCH");

struct conn {
	struct daemon *d;
	struct conn *older;	/* d's list, least recently active first */
	struct conn *newer;
	struct conn *later_prev;	/* d's slow lane, first come first */
	struct conn *later_next;
	char *in;		/* unanswered bytes, or NULL */
	char *out;		/* unsent replies, or NULL */
	size_t inlen;
	size_t outlen;
	size_t outcap;
	uint64_t active;	/* d->conn_now when it last made progress */
	unsigned long id;
	short watch;		/* what the event waits for */
	bool ready;		/* in may hold whole frames: answer, no read */
	bool queued;		/* in the slow lane */
	bool piped;		/* pipelining: read in the slow lane */
	bool blocked;		/* over CONN_MAX_OUTPUT: not read */
	bool draining;		/* peer sent EOF: close when out is sent */
	/* the event follows: event_get_struct_event_size() bytes */
};

static int conn_read(struct conn *c);
static void unqueue(struct conn *c);

/* The batch's frames waited from t0 until now for their replies. */
static void
count_batch(struct daemon *d, const struct timespec *t0, int frames)
{
	struct timespec t1;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000000 +
	    (t1.tv_nsec - t0->tv_nsec);
	stats_lookups_took(&d->stats, ns > 0 ? (uint64_t)ns : 0,
	    (uint64_t)frames);
}

/*
 * The event lives in the same allocation: one malloc per connection, and
 * event_get_struct_event_size() keeps it right for any libevent build.
 */
static struct event *
conn_ev(struct conn *c)
{
	return (struct event *)(void *)(c + 1);
}

static void
unlink_lru(struct conn *c)
{
	struct daemon *d = c->d;

	if (c->older != NULL)
		c->older->newer = c->newer;
	else
		d->conn_oldest = c->newer;
	if (c->newer != NULL)
		c->newer->older = c->older;
	else
		d->conn_newest = c->older;
	c->older = c->newer = NULL;
}

static void
link_newest(struct conn *c)
{
	struct daemon *d = c->d;

	c->older = d->conn_newest;
	c->newer = NULL;
	if (d->conn_newest != NULL)
		d->conn_newest->newer = c;
	else
		d->conn_oldest = c;
	d->conn_newest = c;
}

/* Progress: the connection is not idle; keep the list in stamp order. */
static void
touch(struct conn *c)
{
	c->active = c->d->conn_now;
	if (c->newer != NULL) {
		unlink_lru(c);
		link_newest(c);
	}
}

static void
conn_close(struct conn *c, const char *reason)
{
	struct daemon *d = c->d;

	log_debug("conn: conn=%lu closed: %s", c->id, reason);
	event_del(conn_ev(c));
	evutil_closesocket(event_get_fd(conn_ev(c)));
	unlink_lru(c);
	if (c->queued)
		unqueue(c);
	xfree(c->in);
	xfree(c->out);
	d->nconns--;
	xfree(c);
}

static void conn_io(evutil_socket_t fd, short what, void *arg);

/*
 * Wait for what the state asks: writable while replies wait, readable
 * unless the peer is over its output bound, has shut its side or has
 * frames waiting in the slow lane.  Changes only on the slow path; a
 * Postfix client always waits for readable.
 */
static int
rewatch(struct conn *c)
{
	struct event *ev = conn_ev(c);
	short want = 0;

	if (c->outlen > 0)
		want |= EV_WRITE;
	if (!c->draining && !c->blocked && !c->queued)
		want |= EV_READ;
	if (want == c->watch)
		return 0;
	event_del(ev);
	event_assign(ev, c->d->base, event_get_fd(ev), want | EV_PERSIST,
	    conn_io, c);
	if (want != 0 && event_add(ev, NULL) < 0) {
		conn_close(c, "cannot watch the socket");
		return -1;
	}
	c->watch = want;
	return 0;
}

/*
 * The slow lane: connections with whole frames left over, answered by
 * on_later() after the next poll, CONN_MAX_FRAMES_PER_TURN frames a turn
 * for all of them together, round robin.  While in it a connection is not
 * watched for readable, so however many pipeline, a turn stays short and
 * a client that sends one request at a time waits for one turn at most.
 */
static void
queue_later(struct conn *c)
{
	static const struct timeval now = {0, 0};
	struct daemon *d = c->d;

	if (c->queued)
		return;
	c->queued = true;
	c->later_next = NULL;
	c->later_prev = d->conn_later_last;
	if (d->conn_later_last != NULL)
		d->conn_later_last->later_next = c;
	else
		d->conn_later_first = c;
	d->conn_later_last = c;
	/* a timer, not event_active(): that would run in this same turn */
	if (!evtimer_pending(d->conn_later, NULL))
		evtimer_add(d->conn_later, &now);
}

static void
unqueue(struct conn *c)
{
	struct daemon *d = c->d;

	if (c->later_prev != NULL)
		c->later_prev->later_next = c->later_next;
	else
		d->conn_later_first = c->later_next;
	if (c->later_next != NULL)
		c->later_next->later_prev = c->later_prev;
	else
		d->conn_later_last = c->later_prev;
	c->later_prev = c->later_next = NULL;
	c->queued = false;
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now = {0, 0};
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	/* the turn's budget, for the slow lane and the callbacks until next */
	d->conn_budget = CONN_MAX_FRAMES_PER_TURN;
	while (d->conn_budget > 0 && d->conn_later_first != NULL) {
		struct conn *c = d->conn_later_first;

		/* answers up to the cap, and queues c again if frames are left */
		unqueue(c);
		conn_read(c);
	}
	if (d->conn_later_first != NULL)
		evtimer_add(d->conn_later, &now);
}

/* Keep the unanswered bytes: only a partial frame, or the cap's rest. */
static void
keep(struct conn *c, const char *buf, size_t len)
{
	if (len == 0) {
		xfree(c->in);
		c->in = NULL;
	} else {
		/* copied back onto the stack by the next read: exact size */
		xfree(c->in);
		c->in = xmalloc(len);
		memcpy(c->in, buf, len);
	}
	c->inlen = len;
}

/*
 * Send a batch of replies: straight to the socket when nothing waits
 * before it (the common case, one write()), else after what waits.
 * Returns -1 if c was closed.
 */
static int
send_batch(struct conn *c, const char *buf, size_t len)
{
	if (c->outlen == 0) {
		ssize_t n = write(event_get_fd(conn_ev(c)), buf, len);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				conn_close(c, strerror(errno));
				return -1;
			}
			n = 0;
		}
		if ((size_t)n == len)
			return 0;
		buf += n;
		len -= (size_t)n;
	}
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;

		while (cap < c->outlen + len)
			cap *= 2;
		c->out = xreallocarray(c->out, cap, 1);
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
	return 0;
}

/*
 * Answer the frames in buf[0..have), at most CONN_MAX_FRAMES_PER_READ of
 * them and none once the peer is over its output bound; keep the rest.
 * Returns -1 if c was closed.
 */
static int
answer_frames(struct conn *c, const char *buf, size_t have)
{
	struct daemon *d = c->d;
	double now = (double)d->conn_now / 1000;
	char batch[CONN_BATCH];
	size_t off = 0, blen = 0;
	int frames, cap;
	struct timespec t0 = {0, 0};

	/*
	 * At least one frame: a client that sends one request at a time is
	 * always answered at once; the rest of the cap only while the turn
	 * has budget left.
	 */
	cap = d->conn_budget < CONN_MAX_FRAMES_PER_READ ? d->conn_budget :
	    CONN_MAX_FRAMES_PER_READ;
	if (cap < 1)
		cap = 1;
	for (frames = 0; frames < cap; frames++) {
		enum netstring_status ns;
		enum sockmap_status st;
		const char *payload;
		size_t plen, used, rlen;

		if (c->outlen > CONN_MAX_OUTPUT) {
			/* The peer does not read: stop reading it too. */
			c->blocked = true;
			break;
		}
		ns = netstring_decode(buf + off, have - off,
		    NETSTRING_MAX_PAYLOAD, &payload, &plen, &used);
		if (ns == NETSTRING_NEED_MORE)
			break;
		if (ns == NETSTRING_ERR_FORMAT) {
			conn_close(c, "malformed netstring");
			return -1;
		}
		if (ns == NETSTRING_ERR_SIZE) {
			conn_close(c, "netstring over the size limit");
			return -1;
		}
		/* the batch's time runs from its first whole frame */
		if (frames == 0)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		if (blen + SOCKMAP_MAX_FRAME > sizeof(batch)) {
			if (send_batch(c, batch, blen) < 0) {
				count_batch(d, &t0, frames);
				return -1;
			}
			blen = 0;
		}
		rlen = answer_reply(d, now, payload, plen, batch + blen, &st);
		d->stats.lookups[st]++;
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char pb[LOG_PRINTABLE_SIZE];

			log_debug("conn: conn=%lu request \"%s\" reply %.*s",
			    c->id, log_printable(payload, plen, pb),
			    (int)rlen, batch + blen);
		}
		blen += rlen;
		off += used;
	}
	d->conn_budget -= frames;
	if (frames > 0)
		touch(c);
	/*
	 * Stopped by the cap or the output bound, not by a partial frame:
	 * what is left may hold whole frames, which no new byte will wake.
	 */
	c->ready = (frames == cap || c->blocked) && off < have;
	/*
	 * A pipelining client stays in the slow lane, read there too, until
	 * a read holds whole frames only and fewer than the cap: then it
	 * sends one request at a time again.
	 */
	if (c->ready)
		c->piped = true;
	else if (off == have && frames < cap)
		c->piped = false;
	if (blen > 0) {
		int rc = send_batch(c, batch, blen);

		count_batch(d, &t0, frames);
		if (rc < 0)
			return -1;
	}
	keep(c, buf + off, have - off);
	if (c->outlen > CONN_MAX_OUTPUT)
		c->blocked = true;
	if (c->ready && !c->blocked)
		queue_later(c);
	return rewatch(c);
}

/* The peer shut its side: answer what it asked, then close. */
static int
conn_eof(struct conn *c)
{
	if (c->outlen == 0) {
		conn_close(c, "eof");
		return -1;
	}
	c->draining = true;
	return rewatch(c);
}

/*
 * Read what the socket holds after the bytes kept from last time, and
 * answer it.  Frames left by the cap are answered first, without a read,
 * so what is kept never exceeds one read.  Returns -1 if c was closed.
 */
static int
conn_read(struct conn *c)
{
	char buf[CONN_READ_MAX];
	size_t have = c->inlen;

	if (c->draining || c->blocked)
		return 0;
	if (have > 0)
		memcpy(buf, c->in, have);
	if (!c->ready) {
		ssize_t n;

		/* only a partial frame is kept when we read: there is room */
		if (have >= NETSTRING_MAX_FRAME)
			log_panic("conn: conn=%lu: %zu bytes kept before a "
			    "read", c->id, have);
		n = read(event_get_fd(conn_ev(c)), buf + have,
		    sizeof(buf) - have);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return rewatch(c);
			conn_close(c, strerror(errno));
			return -1;
		}
		if (n == 0)
			return conn_eof(c);
		/*
		 * Bytes alone are no progress: a client trickling a frame that
		 * never ends would otherwise never count as idle and hold its
		 * slot against eviction.  An answered frame or sent output is.
		 */
		have += (size_t)n;
	}
	c->ready = false;
	return answer_frames(c, buf, have);
}

/* Writable: send what waits; below half the bound, read the peer again. */
static int
conn_flush(struct conn *c)
{
	ssize_t n = write(event_get_fd(conn_ev(c)), c->out, c->outlen);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		conn_close(c, strerror(errno));
		return -1;
	}
	if (n > 0)
		touch(c);
	c->outlen -= (size_t)n;
	if (c->outlen > 0) {
		memmove(c->out, c->out + n, c->outlen);
	} else {
		xfree(c->out);
		c->out = NULL;
		c->outcap = 0;
		if (c->draining) {
			conn_close(c, "eof");
			return -1;
		}
	}
	if (c->blocked && c->outlen <= CONN_MAX_OUTPUT / 2) {
		c->blocked = false;
		/* frames already read wait for no new bytes */
		if (c->ready)
			queue_later(c);
	}
	return rewatch(c);
}

static void
conn_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if ((what & EV_WRITE) && c->outlen > 0 && conn_flush(c) < 0)
		return;
	if (!(what & EV_READ) || c->queued)
		return;
	/* a pipelining client is read in the slow lane, within its budget */
	if (c->piped) {
		queue_later(c);
		rewatch(c);
		return;
	}
	conn_read(c);
}

/*
 * Every CONN_TICK_MS: refresh the clock connections are stamped with and
 * close the ones idle past idle_timeout.  A stamp is up to one tick older
 * than the progress it records, hence the tick on top: never early.
 */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t limit = d->cfg->idle_timeout + CONN_TICK_MS;
	struct conn *c;

	(void)fd;
	(void)what;
	d->conn_now = monotime_ms();
	while ((c = d->conn_oldest) != NULL && d->conn_now - c->active >= limit)
		conn_close(c, "idle timeout");
}

int
conn_start(struct daemon *d)
{
	struct timeval tick = {0, CONN_TICK_MS * 1000};

	d->conn_now = monotime_ms();
	d->conn_budget = CONN_MAX_FRAMES_PER_TURN;
	d->conn_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->conn_later = evtimer_new(d->base, on_later, d);
	if (d->conn_tick == NULL || d->conn_later == NULL ||
	    event_add(d->conn_tick, &tick) < 0)
		return -1;
	return 0;
}

void
conn_stop(struct daemon *d)
{
	while (d->conn_oldest != NULL)
		conn_close(d->conn_oldest, "shutting down");
	if (d->conn_tick != NULL)
		event_free(d->conn_tick);
	if (d->conn_later != NULL)
		event_free(d->conn_later);
	d->conn_tick = d->conn_later = NULL;
}

bool
conn_evict(struct daemon *d)
{
	struct conn *c = d->conn_oldest;

	d->conn_now = monotime_ms();
	/* the oldest stamp is the longest idle: if it is too fresh, all are */
	if (c == NULL ||
	    d->conn_now - c->active < CONN_EVICT_IDLE_MS + CONN_TICK_MS)
		return false;
	conn_close(c, "evicted: the longest idle at max_connections");
	return true;
}

void
conn_new(struct daemon *d, evutil_socket_t fd)
{
	static unsigned long next_id;
	struct conn *c;

	/* evconnlistener hands sockets over non-blocking already */
	c = xcalloc(1, sizeof(*c) + event_get_struct_event_size());
	c->d = d;
	c->id = ++next_id;
	event_assign(conn_ev(c), d->base, fd, EV_READ | EV_PERSIST, conn_io, c);
	if (event_add(conn_ev(c), NULL) < 0) {
		log_warning("conn: cannot set up a connection");
		evutil_closesocket(fd);
		xfree(c);
		return;
	}
	c->watch = EV_READ;
	d->conn_now = monotime_ms();
	c->active = d->conn_now;
	link_newest(c);
	d->nconns++;
	d->stats.conns_accepted++;
	log_debug("conn: conn=%lu accepted", c->id);
}

/*
 * One connection at a stop: whatever the peer sent before it is read
 * once more and every whole frame answered, with no cap (nothing else
 * competes for the turn now); then no more reads, and it closes when its
 * replies are out.  A partial frame gets no reply.
 */
static void
shutdown_one(struct conn *c)
{
	c->d->conn_budget = CONN_MAX_FRAMES_PER_TURN;
	if (conn_read(c) < 0)
		return;
	while (c->ready && !c->blocked && !c->draining) {
		c->d->conn_budget = CONN_MAX_FRAMES_PER_TURN;
		if (conn_read(c) < 0)
			return;
	}
	if (c->queued)
		unqueue(c);
	c->draining = true;
	if (c->outlen == 0) {
		conn_close(c, "shutting down");
		return;
	}
	rewatch(c);
}

size_t
conn_shutdown(struct daemon *d)
{
	struct conn **all, *c;
	size_t n = 0, i;

	/* answering moves a connection within the list: take it as it is */
	all = xreallocarray(NULL, d->nconns + 1, sizeof(*all));
	for (c = d->conn_oldest; c != NULL; c = c->newer)
		all[n++] = c;
	/* only shutdown_one(all[i]) can close all[i]; the others stay valid */
	for (i = 0; i < n; i++)
		shutdown_one(all[i]);
	xfree(all);
	return d->nconns;
}
