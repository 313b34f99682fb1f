/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_metrics - the pure half of metrics.c: the exposition text for
 * given counters is exactly the expected Prometheus text 0.0.4 (HELP and
 * TYPE lines, cumulative histogram buckets, +Inf, absent samples), it is
 * cut safely to a short buffer, and /health decides as a lookup's TEMP
 * would, and an HTTP request's head is parsed to the status to answer
 * (complete or not yet, well formed or not, routes, the 8 KiB cap).  No
 * label value comes from outside, so there is no escaping to test: every
 * label is a constant of metrics.c.
 */
#include "test.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "metrics.h"
#include "stats.h"

static void
fill(struct stats *s, struct metrics_view *v)
{
	memset(s, 0, sizeof(*s));
	memset(v, 0, sizeof(*v));
	s->lookups[0] = 4;
	s->lookups[1] = 2;
	s->lookups[2] = 1;
	s->lookups[3] = 1;
	/* on a bound is inside it; 8 frames in 5 batches */
	stats_lookups_took(s, 4000, 1);
	stats_lookups_took(s, 5000, 1);
	stats_lookups_took(s, 5001, 2);
	stats_lookups_took(s, 30000, 3);
	stats_lookups_took(s, 200000000, 1);
	s->conns_accepted = 12;
	s->loads = 2;
	s->refreshes = 5;
	s->reconnects = 1;
	s->load_seconds = 0.25;
	s->generation = 42;
	s->started_at = 1700000000.5;
	s->http_refused = 7;
	s->http_timeouts = 8;
	v->conns_open = 3;
	v->conns_evicted = 4;
	v->conns_refused = 6;
	v->loaded = true;
	v->rows = 10;
	v->invalid = 1;
	v->conflicts = 2;
	v->overrides = 9;
	v->weak_lasting = 3;
	v->data_age = 1.5;
	v->db_connected = true;
	v->next_expiry = INFINITY;
	v->state_age = 12.25;
}

/* The text in two pieces: C99 promises string literals of 4095 bytes. */
static const char want_a[] =
"# HELP tlspolicyd_lookups_total Socketmap lookups answered, by reply status.\n"
"# TYPE tlspolicyd_lookups_total counter\n"
"tlspolicyd_lookups_total{result=\"ok\"} 4\n"
"tlspolicyd_lookups_total{result=\"notfound\"} 2\n"
"tlspolicyd_lookups_total{result=\"temp\"} 1\n"
"tlspolicyd_lookups_total{result=\"perm\"} 1\n"
"# HELP tlspolicyd_lookup_duration_seconds Time from reading a request to "
"writing its reply; requests read together share their batch's time.\n"
"# TYPE tlspolicyd_lookup_duration_seconds histogram\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.000005\"} 2\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.00001\"} 4\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.000025\"} 4\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.00005\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.0001\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.00025\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.0005\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.001\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.0025\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.005\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.01\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"0.1\"} 7\n"
"tlspolicyd_lookup_duration_seconds_bucket{le=\"+Inf\"} 8\n"
"tlspolicyd_lookup_duration_seconds_sum 0.200109002\n"
"tlspolicyd_lookup_duration_seconds_count 8\n"
"# HELP tlspolicyd_connections_open Client connections open now.\n"
"# TYPE tlspolicyd_connections_open gauge\n"
"tlspolicyd_connections_open 3\n"
"# HELP tlspolicyd_connections_accepted_total Client connections accepted.\n"
"# TYPE tlspolicyd_connections_accepted_total counter\n"
"tlspolicyd_connections_accepted_total 12\n"
"# HELP tlspolicyd_connections_evicted_total Idle connections closed at "
"max_connections to make room for new ones.\n"
"# TYPE tlspolicyd_connections_evicted_total counter\n"
"tlspolicyd_connections_evicted_total 4\n"
"# HELP tlspolicyd_connections_refused_total Connections closed at once at "
"max_connections, none idle.\n"
"# TYPE tlspolicyd_connections_refused_total counter\n"
"tlspolicyd_connections_refused_total 6\n"
"# HELP tlspolicyd_http_refused_total metrics_listen connections closed at "
"once: the most allowed were open.\n"
"# TYPE tlspolicyd_http_refused_total counter\n"
"tlspolicyd_http_refused_total 7\n"
"# HELP tlspolicyd_http_timeouts_total metrics_listen connections closed at "
"the deadline before their reply was out.\n"
"# TYPE tlspolicyd_http_timeouts_total counter\n"
"tlspolicyd_http_timeouts_total 8\n";

static const char want_b[] =
"# HELP tlspolicyd_snapshot_rows Rows served from memory, valid or invalid.\n"
"# TYPE tlspolicyd_snapshot_rows gauge\n"
"tlspolicyd_snapshot_rows 10\n"
"# HELP tlspolicyd_snapshot_invalid_rows Rows Postfix would reject: their "
"keys answer TEMP.\n"
"# TYPE tlspolicyd_snapshot_invalid_rows gauge\n"
"tlspolicyd_snapshot_invalid_rows 1\n"
"# HELP tlspolicyd_snapshot_conflicts Keys with more than one row: they "
"answer TEMP.\n"
"# TYPE tlspolicyd_snapshot_conflicts gauge\n"
"tlspolicyd_snapshot_conflicts 2\n"
"# HELP tlspolicyd_snapshot_generation Change-log generation of the data "
"(-1: no change log); absent before the first load.\n"
"# TYPE tlspolicyd_snapshot_generation gauge\n"
"tlspolicyd_snapshot_generation 42\n"
"# HELP tlspolicyd_data_age_seconds Seconds since the data was last known "
"to match the database (+Inf: no data).\n"
"# TYPE tlspolicyd_data_age_seconds gauge\n"
"tlspolicyd_data_age_seconds 1.500\n"
"# HELP tlspolicyd_overrides_active Rows served with a policy (valid, "
"active, not expired).\n"
"# TYPE tlspolicyd_overrides_active gauge\n"
"tlspolicyd_overrides_active 9\n"
"# HELP tlspolicyd_overrides_weakening_without_expiry Served rows weaker "
"than the global level with no expiry.\n"
"# TYPE tlspolicyd_overrides_weakening_without_expiry gauge\n"
"tlspolicyd_overrides_weakening_without_expiry 3\n"
"# HELP tlspolicyd_next_expiry_seconds Seconds until the next served row "
"expires (+Inf: none).\n"
"# TYPE tlspolicyd_next_expiry_seconds gauge\n"
"tlspolicyd_next_expiry_seconds +Inf\n"
"# HELP tlspolicyd_database_connected 1 while a database session is up.\n"
"# TYPE tlspolicyd_database_connected gauge\n"
"tlspolicyd_database_connected 1\n"
"# HELP tlspolicyd_database_reconnects_total Connection attempts after a "
"failure (each retry of the backoff counts).\n"
"# TYPE tlspolicyd_database_reconnects_total counter\n"
"tlspolicyd_database_reconnects_total 1\n"
"# HELP tlspolicyd_loads_total Full loads of the table swapped in.\n"
"# TYPE tlspolicyd_loads_total counter\n"
"tlspolicyd_loads_total 2\n"
"# HELP tlspolicyd_refreshes_total Incremental refreshes from the change "
"log applied.\n"
"# TYPE tlspolicyd_refreshes_total counter\n"
"tlspolicyd_refreshes_total 5\n"
"# HELP tlspolicyd_load_duration_seconds Wall time of the last full load; "
"NaN before the first.\n"
"# TYPE tlspolicyd_load_duration_seconds gauge\n"
"tlspolicyd_load_duration_seconds 0.250\n"
"# HELP tlspolicyd_state_file_age_seconds Seconds since the state file was "
"last written; absent if never.\n"
"# TYPE tlspolicyd_state_file_age_seconds gauge\n"
"tlspolicyd_state_file_age_seconds 12.250\n"
"# HELP tlspolicyd_start_time_seconds Start time of the process, seconds "
"since the epoch.\n"
"# TYPE tlspolicyd_start_time_seconds gauge\n"
"tlspolicyd_start_time_seconds 1700000000.500\n";

static char want_full[sizeof(want_a) + sizeof(want_b)];

static void
test_metrics_format_exact(void **state)
{
	struct stats s;
	struct metrics_view v;
	char out[METRICS_MAX_TEXT];
	size_t n;

	(void)state;
	fill(&s, &v);
	n = metrics_format(&s, &v, out, sizeof(out));
	if (strcmp(out, want_full) != 0)
		fprintf(stderr, "got:\n%s", out);
	assert_string_equal(out, want_full);
	assert_int_equal(n, strlen(want_full));
}

/* Before the first load: no generation; never saved: no file age. */
static void
test_metrics_format_absent_samples(void **state)
{
	struct stats s;
	struct metrics_view v;
	char out[METRICS_MAX_TEXT];

	(void)state;
	fill(&s, &v);
	s.loads = 0;
	v.loaded = false;
	v.data_age = INFINITY;
	v.state_age = NAN;
	v.db_connected = false;
	metrics_format(&s, &v, out, sizeof(out));
	assert_null(strstr(out, "\ntlspolicyd_snapshot_generation "));
	assert_non_null(strstr(out, "# TYPE tlspolicyd_snapshot_generation "
	    "gauge\n# HELP tlspolicyd_data_age_seconds"));
	assert_null(strstr(out, "\ntlspolicyd_state_file_age_seconds "));
	assert_non_null(strstr(out, "\ntlspolicyd_data_age_seconds +Inf\n"));
	assert_non_null(strstr(out, "\ntlspolicyd_database_connected 0\n"));
	assert_non_null(strstr(out, "\ntlspolicyd_load_duration_seconds NaN\n"));
}

/* A short buffer: cut, terminated, and the length needed is returned. */
static void
test_metrics_format_short_buffer(void **state)
{
	struct stats s;
	struct metrics_view v;
	char out[40];
	size_t n;

	(void)state;
	fill(&s, &v);
	n = metrics_format(&s, &v, out, sizeof(out));
	assert_int_equal(n, strlen(want_full));
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_memory_equal(out, want_full, sizeof(out) - 1);
	assert_true(n < METRICS_MAX_TEXT / 2);	/* room to grow */
}

/* Every observation lands in exactly one bucket; bounds are inclusive. */
static void
test_metrics_histogram_buckets(void **state)
{
	struct stats s;
	uint64_t total = 0;
	unsigned i;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < STATS_LATENCY_BOUNDS; i++) {
		stats_lookups_took(&s, stats_latency_bound(i), 1);
		assert_int_equal(s.latency[i], 1);
		stats_lookups_took(&s, stats_latency_bound(i) + 1, 1);
		assert_int_equal(s.latency[i + 1], 1);
		s.latency[i + 1] = 0;
		if (i > 0)
			assert_true(stats_latency_bound(i) >
			    stats_latency_bound(i - 1));
	}
	memset(&s, 0, sizeof(s));
	stats_lookups_took(&s, 0, 32);
	stats_lookups_took(&s, UINT64_C(5000000000), 1);
	for (i = 0; i <= STATS_LATENCY_BOUNDS; i++)
		total += s.latency[i];
	assert_int_equal(total, 33);
	assert_int_equal(s.latency[0], 32);
	assert_int_equal(s.latency[STATS_LATENCY_BOUNDS], 1);
	assert_int_equal(s.latency_ns, UINT64_C(5000000000));
}

static const struct health_case {
	const char *label;
	bool loaded;
	bool in_sync;
	const char *why;
	double now;		/* current_mono is 100, max_stale 2 s */
	int code;
	const char *body;
} health_cases[] = {
	{"before the first load", false, false, "", 100, 503,
	    "no policy data loaded yet\n"},
	{"before the first load, with the reason", false, false,
	    "database unreachable", 100, 503,
	    "no policy data loaded yet: database unreachable\n"},
	{"in sync", true, true, "", 5000, 200, "ok\n"},
	{"database away, within max_stale", true, false, "", 101.5, 200,
	    "ok (stale since 2023-11-14T22:13:20Z)\n"},
	{"database away, at max_stale", true, false, "", 102, 200,
	    "ok (stale since 2023-11-14T22:13:20Z)\n"},
	{"database away, past max_stale", true, false, "", 102.001, 503,
	    "policy data stale since 2023-11-14T22:13:20Z\n"},
};

static void
test_metrics_health(void **state)
{
	static struct config cfg;
	struct daemon d;
	char body[512];
	int dummy;
	size_t i;

	(void)state;
	cfg.max_stale = 2000;
	for (i = 0; i < sizeof(health_cases) / sizeof(health_cases[0]); i++) {
		const struct health_case *c = &health_cases[i];
		int code;

		memset(&d, 0, sizeof(d));
		d.cfg = &cfg;
		/* only whether there is data is read, never the data */
		d.snap = c->loaded ? (struct snapshot *)(void *)&dummy : NULL;
		d.in_sync = c->in_sync;
		d.current_mono = 100;
		d.current_at = 1700000000;
		snprintf(d.why, sizeof(d.why), "%s", c->why);
		code = metrics_health(&d, c->now, body, sizeof(body));
		case_int_equal(c->label, code, c->code);
		case_mem_equal(c->label, body, strlen(body), c->body,
		    strlen(c->body));
	}
}

#define REQ(s) s, sizeof(s) - 1

static const struct parse_case {
	const char *in;
	size_t len;
	int code;
	bool head;
	bool health;
	size_t used;		/* r.len when the head is complete */
} parse_cases[] = {
	{REQ("GET /metrics HTTP/1.0\r\n\r\n"), 200, false, false, 25},
	{REQ("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 200, false,
	    true, 33},
	{REQ("HEAD /metrics HTTP/1.1\n\n"), 200, true, false, 24},
	{REQ("HEAD /health HTTP/1.0\r\nA: 1\nB:\r\n\n"), 200, true, true,
	    33},
	{REQ("GET /metrics?x=1#f HTTP/1.1\r\n\r\n"), 200, false, false, 31},
	{REQ("GET /metrics HTTP/1.0\r\nX: caf\xc3\xa9\tok\r\n\r\n"), 200,
	    false, false, 38},
	/* a body is not looked at: the head ends at the empty line */
	{REQ("GET /metrics HTTP/1.0\r\n\r\n\x00junk"), 200, false, false,
	    25},
	/* not complete yet */
	{REQ(""), 0, false, false, 0},
	{REQ("GET /metr"), 0, false, false, 0},
	{REQ("GET /metrics HTTP/1.1\r\n"), 0, false, false, 0},
	{REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r"), 0, false, false,
	    0},
	{REQ("GET /nope HTTP/1.0\r\n"), 0, false, false, 0},
	/* routes */
	{REQ("GET /nope HTTP/1.0\r\n\r\n"), 404, false, false, 22},
	{REQ("GET /metricsx HTTP/1.0\r\n\r\n"), 404, false, false, 26},
	{REQ("GET / HTTP/1.0\r\n\r\n"), 404, false, false, 18},
	{REQ("HEAD /nope HTTP/1.0\r\n\r\n"), 404, true, false, 23},
	{REQ("POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"),
	    405, false, false, 45},
	{REQ("get /metrics HTTP/1.0\r\n\r\n"), 405, false, false, 25},
	{REQ("DELETE /health HTTP/1.1\r\n\r\n"), 405, false, true, 27},
	{REQ("GET /metrics HTTP/2.0\r\n\r\n"), 505, false, false, 0},
	{REQ("HEAD /metrics HTTP/1.2\r\n"), 505, true, false, 0},
	/* malformed: answered as soon as the line is complete */
	{REQ("FOO\r\n"), 400, false, false, 0},
	{REQ("GET /metrics\r\n\r\n"), 400, false, false, 0},
	{REQ("GET  /metrics HTTP/1.0\r\n\r\n"), 400, false, false, 0},
	{REQ("GET metrics HTTP/1.0\r\n\r\n"), 400, false, false, 0},
	{REQ("GET /metrics HTTP/1.0 \r\n\r\n"), 400, false, false, 0},
	{REQ("GET /metrics HTTP/1.x\r\n\r\n"), 400, false, false, 0},
	{REQ("GET /met\x01rics HTTP/1.0\r\n\r\n"), 400, false, false, 0},
	{REQ("G(T /metrics HTTP/1.0\r\n\r\n"), 400, false, false, 0},
	{REQ("\r\nGET /metrics HTTP/1.0\r\n\r\n"), 400, false, false, 0},
	{REQ("GET /metrics HTTP/1.0\r\nX: a\rb\r\n\r\n"), 400, false,
	    false, 0},
	{REQ("GET /metrics HTTP/1.0\r\nX: a\x00b\r\n\r\n"), 400, false,
	    false, 0},
	{REQ("GET /metrics HTTP/1.0\r\nX: \x01\r\n\r\n"), 400, false,
	    false, 0},
	{REQ("GET /metrics HTTP/1.0\r\nX: \x7f\r\n\r\n"), 400, false,
	    false, 0},
	{REQ("GET /metrics HTTP/1.0\r\n folded\r\n\r\n"), 400, false,
	    false, 0},
	{REQ("GET /metrics HTTP/1.0\r\nNoColon\r\n"), 400, false, false,
	    0},
	{REQ("GET /metrics HTTP/1.0\r\n: no name\r\n"), 400, false, false,
	    0},
	{REQ("GET /metrics HTTP/1.0\r\nX Y: z\r\n"), 400, false, false, 0},
};

static void
test_metrics_parse_request(void **state)
{
	struct metrics_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		int code = metrics_parse_request(c->in, c->len, &r);

		case_int_equal(c->in, code, c->code);
		case_int_equal(c->in, r.head, c->head);
		if (code == 200 || code == 404 || code == 405)
			case_int_equal(c->in, r.health, c->health);
		case_int_equal(c->in, r.len, c->used);
	}
}

/* The head must end within METRICS_MAX_HEADERS bytes, or it is 431. */
static void
test_metrics_parse_request_cap(void **state)
{
	static const char line[] = "GET /metrics HTTP/1.1\r\nX: ";
	char *buf = test_malloc(METRICS_MAX_HEADERS + 100);
	struct metrics_request r;

	(void)state;
	memset(buf, 'a', METRICS_MAX_HEADERS + 100);
	memcpy(buf, line, sizeof(line) - 1);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEADERS - 1,
	    &r), 0);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEADERS, &r),
	    431);
	/* more than the cap is never looked at */
	memcpy(buf + METRICS_MAX_HEADERS, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEADERS + 4,
	    &r), 431);
	/* a head that ends on the last byte of the cap fits */
	memcpy(buf + METRICS_MAX_HEADERS - 4, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEADERS, &r),
	    200);
	assert_int_equal(r.len, METRICS_MAX_HEADERS);
	/* a short line at the cap: LF LF ending on the last byte */
	memcpy(buf + METRICS_MAX_HEADERS - 4, "aa\n\n", 4);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEADERS, &r),
	    200);
	test_free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_format_exact),
		cmocka_unit_test(test_metrics_format_absent_samples),
		cmocka_unit_test(test_metrics_format_short_buffer),
		cmocka_unit_test(test_metrics_histogram_buckets),
		cmocka_unit_test(test_metrics_health),
		cmocka_unit_test(test_metrics_parse_request),
		cmocka_unit_test(test_metrics_parse_request_cap),
	};

	snprintf(want_full, sizeof(want_full), "%s%s", want_a, want_b);
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
