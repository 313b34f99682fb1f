/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics - /metrics and /health over HTTP (libevent's evhttp).
 *
 * The pure half: metrics_format() writes the Prometheus text exposition
 * format 0.0.4 (HELP and TYPE lines, counters with _total, seconds and
 * fixed histogram buckets, cumulated here from the per-bucket counts of
 * stats.h); metrics_health() decides /health by the same rules as the
 * TEMP replies of answer.c, so a probe and a lookup never disagree.
 *
 * The shell: one listener on metrics_listen, bound at start (before the
 * privilege drop).  Each scrape reads the daemon's fields and the
 * snapshot's counts, O(1) however big the table; nothing here runs on
 * the lookup path.  The server is bounded (bounds.h): header and body
 * sizes, a read/write timeout and a short listen backlog.  libevent 2.1
 * has no limit on the number of HTTP connections (evhttp 2.2 adds one):
 * the timeout is what frees a slot a client holds, which is why the
 * listener belongs on the loopback (README, tlspolicyd.conf(5)).
 *
 * Invariants: GET and HEAD on /metrics and /health only (any other path
 * 404, any other method 405); no label value comes from outside, so none
 * is escaped; the text is never longer than METRICS_MAX_TEXT.
 * Limits: METRICS_MAX_HEADERS, METRICS_MAX_BODY, METRICS_TIMEOUT_S,
 * METRICS_BACKLOG, METRICS_MAX_TEXT.
 */
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "bounds.h"
#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "snapshot.h"
#include "xalloc.h"

struct metrics {
	struct daemon *d;
	struct evhttp *http;		/* NULL: metrics_listen is off */
	struct evconnlistener *lev;	/* owned by http */
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
	counter(&t, "database_reconnects_total", s->reconnects, "Database "
	    "sessions started again after a failure.");
	counter(&t, "loads_total", s->loads, "Full loads of the table "
	    "swapped in.");
	counter(&t, "refreshes_total", s->refreshes, "Incremental refreshes "
	    "from the change log applied.");
	seconds(&t, "load_duration_seconds", s->load_seconds, "Wall time of "
	    "the last full load.");
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

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	/* libevent 2.1 would send a body after HEAD's headers */
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	evhttp_send_reply(req, code, reason, NULL);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool is_metrics = path != NULL && strcmp(path, "/metrics") == 0;
	double now = monotime_sec();

	if (!is_metrics && (path == NULL || strcmp(path, "/health") != 0)) {
		static const char nf[] = "not found: try /metrics or /health\n";

		reply(req, HTTP_NOTFOUND, "Not Found", "text/plain; "
		    "charset=utf-8", nf, sizeof(nf) - 1);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		static const char na[] = "method not allowed: GET or HEAD\n";

		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply(req, 405, "Method Not Allowed", "text/plain; "
		    "charset=utf-8", na, sizeof(na) - 1);
		return;
	}
	if (is_metrics) {
		static char text[METRICS_MAX_TEXT];
		struct metrics_view v;
		size_t n;

		gather(m->d, now, &v);
		n = metrics_format(&m->d->stats, &v, text, sizeof(text));
		if (n >= sizeof(text))
			log_panic("metrics: the text needs %zu bytes, "
			    "METRICS_MAX_TEXT is %d", n + 1, METRICS_MAX_TEXT);
		reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; "
		    "charset=utf-8", text, n);
	} else {
		char body[DAEMON_WHY_SIZE + 64];
		int code = metrics_health(m->d, now, body, sizeof(body));

		reply(req, code, code == 200 ? "OK" : "Service Unavailable",
		    "text/plain; charset=utf-8", body, strlen(body));
	}
}

/* inet:HOST:PORT, inet:[IPV6]:PORT; the syntax is config.c's. */
static struct evconnlistener *
bind_endpoint(struct daemon *d, const char *ep, char *err, size_t errsz)
{
	const char *spec = ep + 5, *port = strrchr(spec, ':');
	struct addrinfo hints, *res, *ai;
	struct evconnlistener *lev = NULL;
	char host[256];
	size_t hl;
	int rc;

	if (strncmp(ep, "inet:", 5) != 0 || port == NULL || port == spec) {
		snprintf(err, errsz, "metrics_listen: \"%s\" is not "
		    "inet:HOST:PORT", ep);
		return NULL;
	}
	hl = (size_t)(port - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errsz, "metrics_listen: host name too long");
		return NULL;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port + 1, &hints,
	    &res)) != 0) {
		snprintf(err, errsz, "metrics_listen: %s: %s", ep,
		    gai_strerror(rc));
		return NULL;
	}
	/* no callback yet: evhttp_bind_listener() sets its own */
	for (ai = res; ai != NULL && lev == NULL; ai = ai->ai_next)
		lev = evconnlistener_new_bind(d->base, NULL, NULL,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE, METRICS_BACKLOG, ai->ai_addr,
		    (int)ai->ai_addrlen);
	if (lev == NULL)
		snprintf(err, errsz, "metrics_listen: %s: %s", ep,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	freeaddrinfo(res);
	return lev;
}

struct metrics *
metrics_open(struct daemon *d, char *err, size_t errsz)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	const char *ep = d->cfg->metrics_listen;

	m->d = d;
	d->stats.started_at = wall_now();
	if (ep[0] == '\0')
		return m;
	if ((m->lev = bind_endpoint(d, ep, err, errsz)) == NULL) {
		xfree(m);
		return NULL;
	}
	if ((m->http = evhttp_new(d->base)) == NULL ||
	    evhttp_bind_listener(m->http, m->lev) == NULL) {
		snprintf(err, errsz, "metrics_listen: %s: cannot set up the "
		    "HTTP server", ep);
		if (m->http != NULL)
			evhttp_free(m->http);
		evconnlistener_free(m->lev);
		xfree(m);
		return NULL;
	}
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	/* every method reaches on_request, which answers 405 itself */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(m->http, on_request, m);
	log_info("metrics: serving /metrics and /health on %s", ep);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	/* the listener and the connections too */
	if (m->http != NULL)
		evhttp_free(m->http);
	xfree(m);
}
