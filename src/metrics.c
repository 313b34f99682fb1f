/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics - /metrics and /health over HTTP, on the daemon's loop.
 *
 * The pure half: metrics_format() writes the Prometheus text exposition
 * format 0.0.4 (HELP and TYPE lines, counters with _total, seconds and
 * fixed histogram buckets, cumulated here from the per-bucket counts of
 * stats.h); metrics_health() decides /health by the same rules as the
 * TEMP replies of answer.c, so a probe and a lookup never disagree;
 * metrics_parse_request() reads a request's head and says what to answer.
 *
 * The shell: one listener on metrics_listen, bound at start (before the
 * privilege drop), and a small HTTP/1.0-style responder on raw events:
 * one request per connection, the reply written whole (HTTP/1.1 status
 * line, Content-Length, Connection: close), then the write side shut and
 * the connection closed when the client closes.  Each scrape reads the
 * daemon's fields and the snapshot's counts, O(1) however big the table;
 * nothing here runs on the lookup path.
 *
 * Why not libevent's evhttp (which issue 9 named): in libevent 2.1
 * (Debian 12 ships 2.1.12) it has no cap on connections
 * (evhttp_set_max_connections() is 2.2), its timeout is an idle timeout
 * that every byte resets, and it accepts inside itself, so no hook can
 * count, cap or put a deadline on a connection before a request arrives.
 * A review's reproduction held 208 connections dripping a byte each 4 s
 * under `ulimit -n 200`: postmap lookups timed out, the database
 * reconnect failed ("could not create socket: Too many open files"), and
 * the listener, which had no error callback, logged "Error from accept()
 * call" 13.6 million times (720 MB in 40 s, a CPU spin).  Here a
 * connection over METRICS_MAX_CONNS is closed at once, each lives at most
 * METRICS_DEADLINE_MS from accept whatever it sends, and an accept error
 * (EMFILE, ENFILE) pauses the listener SERVER_ACCEPT_BACKOFF_MS, as
 * server.c does for the socketmap listeners.  A local user can still keep
 * the 8 slots full and so fail scrapes (which a scraper reports as the
 * target down), but no longer take a descriptor a lookup or the database
 * needs.
 *
 * Invariants: GET and HEAD on /metrics and /health only (any other path
 * 404, any other method 405, what is not HTTP/1.x 400 or 505); a body is
 * never read; no label value comes from outside, so none is escaped; the
 * text is never longer than METRICS_MAX_TEXT; nothing but hc_close()
 * frees a connection, and every connection has its deadline armed.
 * Limits: METRICS_MAX_CONNS, METRICS_DEADLINE_MS, METRICS_MAX_HEADERS,
 * METRICS_DRAIN_MAX, METRICS_BACKLOG, METRICS_MAX_TEXT,
 * SERVER_ACCEPT_BACKOFF_MS.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "bounds.h"
#include "config.h"
#include "inetlisten.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "snapshot.h"
#include "xalloc.h"

enum hc_state {
	HC_READ,		/* reading the request's head */
	HC_WRITE,		/* writing the reply */
	HC_DRAIN,		/* reply out, write side shut: until EOF */
};

/* One HTTP connection. */
struct hconn {
	struct metrics *m;
	struct hconn *prev;
	struct hconn *next;
	evutil_socket_t fd;
	enum hc_state state;
	struct event *rd;	/* readable: HC_READ and HC_DRAIN */
	struct event *wr;	/* writable: HC_WRITE, while the reply waits */
	struct event *deadline;	/* METRICS_DEADLINE_MS after accept */
	char *out;		/* the reply (heap, exact size) */
	size_t outlen;
	size_t outoff;		/* written so far */
	size_t inlen;		/* bytes of in[] read */
	size_t drained;		/* bytes dropped in HC_DRAIN */
	char in[METRICS_MAX_HEADERS];
};

struct metrics {
	struct daemon *d;
	const char *endpoint;
	struct evconnlistener *lev;	/* NULL: metrics_listen is off */
	struct event *resume;		/* re-enables lev after an error */
	struct hconn *conns;		/* open connections */
	size_t nconns;
};

/* --- the pure half */

struct text {
	char *p;
	size_t sz;
	size_t len;
};

static void
put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2,
    3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->len < t->sz ? t->p + t->len : NULL,
	    t->len < t->sz ? t->sz - t->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
}

static void
head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP tlspolicyd_%s %s\n# TYPE tlspolicyd_%s %s\n", name,
	    help, name, type);
}

static void
counter(struct text *t, const char *name, uint64_t v, const char *help)
{
	head(t, name, "counter", help);
	put(t, "tlspolicyd_%s %" PRIu64 "\n", name, v);
}

static void
gauge(struct text *t, const char *name, uint64_t v, const char *help)
{
	head(t, name, "gauge", help);
	put(t, "tlspolicyd_%s %" PRIu64 "\n", name, v);
}

/* A float sample: +Inf, NaN, or milliseconds' precision. */
static void
sample(struct text *t, const char *name, double v)
{
	if (isnan(v))
		put(t, "tlspolicyd_%s NaN\n", name);
	else if (isinf(v))
		put(t, "tlspolicyd_%s %sInf\n", name, v > 0 ? "+" : "-");
	else
		put(t, "tlspolicyd_%s %.3f\n", name, v);
}

static void
seconds(struct text *t, const char *name, double v, const char *help)
{
	head(t, name, "gauge", help);
	sample(t, name, v);
}

/* Nanoseconds as decimal seconds, exact, no trailing zeros: "0.000025". */
static void
ns_seconds(char *out, size_t outsz, uint64_t ns)
{
	char frac[16];
	size_t n;

	snprintf(frac, sizeof(frac), "%09" PRIu64, ns % 1000000000);
	for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	snprintf(out, outsz, "%" PRIu64 "%s%s", ns / 1000000000,
	    n > 0 ? "." : "", frac);
}

static void
histogram(struct text *t, const struct stats *s)
{
	static const char name[] = "lookup_duration_seconds";
	char le[32];
	uint64_t sum = 0;
	unsigned i;

	head(t, name, "histogram", "Time from reading a request to writing "
	    "its reply; requests read together share their batch's time.");
	for (i = 0; i < STATS_LATENCY_BOUNDS; i++) {
		sum += s->latency[i];
		ns_seconds(le, sizeof(le), stats_latency_bound(i));
		put(t, "tlspolicyd_%s_bucket{le=\"%s\"} %" PRIu64 "\n", name,
		    le, sum);
	}
	sum += s->latency[STATS_LATENCY_BOUNDS];
	put(t, "tlspolicyd_%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, sum);
	ns_seconds(le, sizeof(le), s->latency_ns);
	put(t, "tlspolicyd_%s_sum %s\n", name, le);
	put(t, "tlspolicyd_%s_count %" PRIu64 "\n", name, sum);
}

size_t
metrics_format(const struct stats *s, const struct metrics_view *v,
    char *out, size_t outsz)
{
	static const char *const result[STATS_RESULTS] = {"ok", "notfound",
	    "temp", "perm"};
	struct text t = {out, outsz, 0};
	unsigned i;

	if (outsz > 0)
		out[0] = '\0';
	head(&t, "lookups_total", "counter", "Socketmap lookups answered, by "
	    "reply status.");
	for (i = 0; i < STATS_RESULTS; i++)
		put(&t, "tlspolicyd_lookups_total{result=\"%s\"} %" PRIu64
		    "\n", result[i], s->lookups[i]);
	histogram(&t, s);

	gauge(&t, "connections_open", v->conns_open, "Client connections "
	    "open now.");
	counter(&t, "connections_accepted_total", s->conns_accepted,
	    "Client connections accepted.");
	counter(&t, "connections_evicted_total", v->conns_evicted, "Idle "
	    "connections closed at max_connections to make room for new "
	    "ones.");
	counter(&t, "connections_refused_total", v->conns_refused,
	    "Connections closed at once at max_connections, none idle.");
	counter(&t, "http_refused_total", s->http_refused, "metrics_listen "
	    "connections closed at once: the most allowed were open.");
	counter(&t, "http_timeouts_total", s->http_timeouts, "metrics_listen "
	    "connections closed at the deadline before their reply was out.");

	gauge(&t, "snapshot_rows", v->rows, "Rows served from memory, valid "
	    "or invalid.");
	gauge(&t, "snapshot_invalid_rows", v->invalid, "Rows Postfix would "
	    "reject: their keys answer TEMP.");
	gauge(&t, "snapshot_conflicts", v->conflicts, "Keys with more than "
	    "one row: they answer TEMP.");
	head(&t, "snapshot_generation", "gauge", "Change-log generation of "
	    "the data (-1: no change log); absent before the first load.");
	if (s->loads > 0)
		put(&t, "tlspolicyd_snapshot_generation %" PRId64 "\n",
		    s->generation);
	seconds(&t, "data_age_seconds", v->data_age, "Seconds since the data "
	    "was last known to match the database (+Inf: no data).");
	gauge(&t, "overrides_active", v->overrides, "Rows served with a "
	    "policy (valid, active, not expired).");
	gauge(&t, "overrides_weakening_without_expiry", v->weak_lasting,
	    "Served rows weaker than the global level with no expiry.");
	seconds(&t, "next_expiry_seconds", v->next_expiry, "Seconds until "
	    "the next served row expires (+Inf: none).");

	gauge(&t, "database_connected", v->db_connected ? 1 : 0, "1 while a "
	    "database session is up.");
	counter(&t, "database_reconnects_total", s->reconnects, "Connection "
	    "attempts after a failure (each retry of the backoff counts).");
	counter(&t, "loads_total", s->loads, "Full loads of the table "
	    "swapped in.");
	counter(&t, "refreshes_total", s->refreshes, "Incremental refreshes "
	    "from the change log applied.");
	seconds(&t, "load_duration_seconds", s->loads > 0 ? s->load_seconds :
	    NAN, "Wall time of the last full load; NaN before the first.");
	head(&t, "state_file_age_seconds", "gauge", "Seconds since the state "
	    "file was last written; absent if never.");
	if (!isnan(v->state_age))
		sample(&t, "state_file_age_seconds", v->state_age);
	seconds(&t, "start_time_seconds", s->started_at, "Start time of the "
	    "process, seconds since the epoch.");
	return t.len;
}

int
metrics_health(const struct daemon *d, double now, char *out, size_t outsz)
{
	char when[32];

	if (d->snap == NULL) {
		snprintf(out, outsz, "no policy data loaded yet%s%s\n",
		    d->why[0] ? ": " : "", d->why);
		return 503;
	}
	if (d->in_sync) {
		snprintf(out, outsz, "ok\n");
		return 200;
	}
	lifecycle_utc((double)d->current_at, when, sizeof(when));
	if (now - d->current_mono > (double)d->cfg->max_stale / 1000) {
		snprintf(out, outsz, "policy data stale since %s\n", when);
		return 503;
	}
	snprintf(out, outsz, "ok (stale since %s)\n", when);
	return 200;
}

/* RFC 9110 tchar: a method's or a header name's characters. */
static bool
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* "METHOD SP /target SP HTTP/x.y" (n bytes, no line end): a status. */
static int
request_line(const char *p, size_t n, struct metrics_request *r)
{
	const char *end = p + n, *sp, *target, *v;
	size_t mlen, tlen, plen, i;

	if ((sp = memchr(p, ' ', n)) == NULL || sp == p)
		return 400;
	mlen = (size_t)(sp - p);
	for (i = 0; i < mlen; i++)
		if (!tchar((unsigned char)p[i]))
			return 400;
	target = sp + 1;
	if ((sp = memchr(target, ' ', (size_t)(end - target))) == NULL)
		return 400;
	tlen = (size_t)(sp - target);
	if (tlen == 0 || target[0] != '/')
		return 400;
	for (i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 ||
		    (unsigned char)target[i] >= 0x7f)
			return 400;
	v = sp + 1;
	if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
	    v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return 400;
	r->head = mlen == 4 && memcmp(p, "HEAD", 4) == 0;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return 505;
	for (plen = 0; plen < tlen; plen++)
		if (target[plen] == '?' || target[plen] == '#')
			break;
	if (plen == 8 && memcmp(target, "/metrics", 8) == 0)
		r->health = false;
	else if (plen == 7 && memcmp(target, "/health", 7) == 0)
		r->health = true;
	else
		return 404;
	if (!r->head && !(mlen == 3 && memcmp(p, "GET", 3) == 0))
		return 405;
	return 200;
}

/* "name: value" (n bytes, no line end); no obs-fold, no controls. */
static bool
header_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ':')
		return false;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

int
metrics_parse_request(const char *buf, size_t len, struct metrics_request *r)
{
	const char *p = buf, *end, *nl;
	bool first = true;
	size_t n;
	int code = 0;

	memset(r, 0, sizeof(*r));
	if (len > METRICS_MAX_HEADERS)
		len = METRICS_MAX_HEADERS;
	end = buf + len;
	for (;;) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return len < METRICS_MAX_HEADERS ? 0 : 431;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n) != NULL || memchr(p, '\r', n) != NULL)
			return 400;
		if (first) {
			code = request_line(p, n, r);
			if (code != 200 && code != 404 && code != 405)
				return code;
			first = false;
		} else if (n == 0) {
			r->len = (size_t)(nl + 1 - buf);
			return code;
		} else if (!header_line(p, n))
			return 400;
		p = nl + 1;
	}
}

/* --- the shell */

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
gather(const struct daemon *d, double now, struct metrics_view *v)
{
	const struct config *cfg = d->cfg;
	struct snapshot_counts c;
	int g = cfg->global_level[0] != '\0' ?
	    policy_level(cfg->global_level) : -1;
	enum policy_level global = g < 0 ? POLICY_LEVEL_DANE :
	    (enum policy_level)g;
	int l;

	memset(v, 0, sizeof(*v));
	v->conns_open = d->nconns;
	v->conns_evicted = d->conns_evicted;
	v->conns_refused = d->conns_refused;
	v->loaded = d->snap != NULL;
	v->data_age = INFINITY;
	if (v->loaded) {
		snapshot_counts(d->snap, &c);
		v->rows = c.rows;
		v->invalid = c.invalid;
		v->conflicts = c.conflicts;
		/* the rule of --check and --review (lifecycle.h) */
		for (l = 0; l < POLICY_LEVEL_COUNT; l++) {
			v->overrides += c.valid[l];
			if (lifecycle_weakens((enum policy_level)l, global))
				v->weak_lasting += c.lasting[l];
		}
		v->data_age = now - d->current_mono;
		if (v->data_age < 0)
			v->data_age = 0;
	}
	v->db_connected = d->db_connected;
	v->next_expiry = INFINITY;
	if (v->loaded && d->stats.next_expiry_mono > 0)
		v->next_expiry = d->stats.next_expiry_mono > now ?
		    d->stats.next_expiry_mono - now : 0;
	v->state_age = NAN;
	if (d->stats.state_saved_at > 0)
		v->state_age = wall_now() - d->stats.state_saved_at;
}

/* The one way out of a connection. */
static void
hc_close(struct hconn *c)
{
	struct metrics *m = c->m;

	event_free(c->rd);
	event_free(c->wr);
	event_free(c->deadline);
	evutil_closesocket(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nconns--;
	xfree(c->out);
	xfree(c);
}

static const char *
reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

/* The whole reply into c->out: the head, and the body unless HEAD. */
static void
set_reply(struct hconn *c, int code, bool head, const char *type,
    const char *body, size_t len)
{
	char h[512];
	int hl;

	hl = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "%s\r\n", code, reason(code), type, len,
	    code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (hl < 0 || (size_t)hl >= sizeof(h))
		log_panic("metrics: reply head too long");
	c->outlen = (size_t)hl + (head ? 0 : len);
	c->out = xmalloc(c->outlen);
	memcpy(c->out, h, (size_t)hl);
	if (!head)
		memcpy(c->out + hl, body, len);
	c->outoff = 0;
}

static void
respond(struct hconn *c, int code, const struct metrics_request *r)
{
	static const char plain[] = "text/plain; charset=utf-8";
	double now = monotime_sec();
	const char *msg;

	if (code == 200 && !r->health) {
		static char text[METRICS_MAX_TEXT];
		struct metrics_view v;
		size_t n;

		gather(c->m->d, now, &v);
		n = metrics_format(&c->m->d->stats, &v, text, sizeof(text));
		if (n >= sizeof(text))
			log_panic("metrics: the text needs %zu bytes, "
			    "METRICS_MAX_TEXT is %d", n + 1, METRICS_MAX_TEXT);
		set_reply(c, 200, r->head, "text/plain; version=0.0.4; "
		    "charset=utf-8", text, n);
		return;
	}
	if (code == 200) {
		char body[DAEMON_WHY_SIZE + 64];

		code = metrics_health(c->m->d, now, body, sizeof(body));
		set_reply(c, code, r->head, plain, body, strlen(body));
		return;
	}
	switch (code) {
	case 404:
		msg = "not found: try /metrics or /health\n";
		break;
	case 405:
		msg = "method not allowed: GET or HEAD\n";
		break;
	case 431:
		msg = "request head over 8 KiB\n";
		break;
	case 505:
		msg = "HTTP/1.0 or HTTP/1.1 only\n";
		break;
	default:
		msg = "bad request\n";
		break;
	}
	set_reply(c, code, r->head, plain, msg, strlen(msg));
}

/* Write what the socket takes; once all is out, shut the write side. */
static void
hc_write(struct hconn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->wr, NULL);
			return;
		}
		if (n <= 0) {
			hc_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	event_del(c->wr);
	xfree(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = HC_DRAIN;
	event_add(c->rd, NULL);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hc_write(arg);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *c = arg;
	struct metrics_request r;
	char *at;
	ssize_t n;
	int code;

	(void)what;
	if (c->state == HC_DRAIN) {
		/* what follows the request (a body, or nothing): dropped */
		n = recv(fd, c->in, sizeof(c->in), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		if (n <= 0 || (c->drained += (size_t)n) > METRICS_DRAIN_MAX)
			hc_close(c);
		return;
	}
	at = c->in + c->inlen;
	n = recv(fd, at, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		hc_close(c);	/* gone before its request was complete */
		return;
	}
	c->inlen += (size_t)n;
	/* no line ended in these bytes: nothing new to parse */
	if (c->inlen < sizeof(c->in) && memchr(at, '\n', (size_t)n) == NULL)
		return;
	if ((code = metrics_parse_request(c->in, c->inlen, &r)) == 0)
		return;
	event_del(c->rd);
	c->state = HC_WRITE;
	respond(c, code, &r);
	hc_write(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *c = arg;

	(void)fd;
	(void)what;
	if (c->state != HC_DRAIN)
		c->m->d->stats.http_timeouts++;
	hc_close(c);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct metrics *m = arg;
	struct hconn *c;
	struct timeval tv = {METRICS_DEADLINE_MS / 1000,
	    (METRICS_DEADLINE_MS % 1000) * 1000};

	(void)lev;
	(void)sa;
	(void)salen;
	if (m->nconns >= METRICS_MAX_CONNS) {
		if (m->d->stats.http_refused++ % 1000 == 0)
			log_warning("metrics: %s: %d connections open, the "
			    "limit: closing new ones at once (counted in "
			    "tlspolicyd_http_refused_total)", m->endpoint,
			    METRICS_MAX_CONNS);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->m = m;
	c->fd = fd;
	c->state = HC_READ;
	c->rd = event_new(m->d->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->wr = event_new(m->d->base, fd, EV_WRITE | EV_PERSIST, on_write,
	    c);
	c->deadline = evtimer_new(m->d->base, on_deadline, c);
	if (c->rd == NULL || c->wr == NULL || c->deadline == NULL)
		log_panic("metrics: out of memory for events");
	c->next = m->conns;
	if (m->conns != NULL)
		m->conns->prev = c;
	m->conns = c;
	m->nconns++;
	event_add(c->deadline, &tv);
	event_add(c->rd, NULL);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(m->lev);
}

/* EMFILE, ENFILE and the like: pause, as server.c, instead of spinning. */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct metrics *m = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {SERVER_ACCEPT_BACKOFF_MS / 1000,
	    (SERVER_ACCEPT_BACKOFF_MS % 1000) * 1000};

	log_warning("metrics: %s: accept: %s; pausing this listener",
	    m->endpoint, evutil_socket_error_to_string(err));
	evconnlistener_disable(lev);
	event_add(m->resume, &tv);
}

struct metrics *
metrics_open(struct daemon *d, char *err, size_t errsz)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	const char *ep = d->cfg->metrics_listen;

	m->d = d;
	m->endpoint = ep;
	d->stats.started_at = wall_now();
	if (ep[0] == '\0')
		return m;
	if ((m->lev = inetlisten(d->base, ep + 5, on_accept, m,
	    METRICS_BACKLOG, "metrics_listen", err, errsz)) == NULL) {
		xfree(m);
		return NULL;
	}
	if ((m->resume = evtimer_new(d->base, on_resume, m)) == NULL)
		log_panic("metrics: out of memory for an event");
	evconnlistener_set_error_cb(m->lev, on_accept_error);
	log_info("metrics: serving /metrics and /health on %s", ep);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	while (m->conns != NULL)
		hc_close(m->conns);
	if (m->lev != NULL)
		evconnlistener_free(m->lev);
	if (m->resume != NULL)
		event_free(m->resume);
	xfree(m);
}
