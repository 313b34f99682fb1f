/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_lifecycle - temporary, documented overrides (issue 10): reading
 * the database's timestamps, what has expired, which levels weaken, and
 * what --check says about expiry and comment.
 */
#include "test.h"

#include <math.h>
#include <stdbool.h>

#include "lifecycle.h"
#include "policy.h"

#define DAY 86400.0
/* 2026-11-29T12:00:00Z */
#define NOW 1795953600.0

static void
test_lifecycle_parse_epoch(void **state)
{
	static const struct {
		const char *label;
		const char *in;
		bool ok;
		double want;
	} cases[] = {
		{"integer", "1795953600", true, 1795953600.0},
		{"microseconds", "1795953600.123456", true, 1795953600.123456},
		{"before 1970", "-86400", true, -86400.0},
		{"exponent", "1.7959536e+09", true, 1795953600.0},
		{"'infinity'", "Infinity", true, INFINITY},
		{"'-infinity'", "-Infinity", true, -INFINITY},
		{"NaN", "NaN", false, 0},
		{"empty", "", false, 0},
		{"text", "tomorrow", false, 0},
		{"trailing garbage", "1795953600x", false, 0},
		{"leading space", " 1795953600", false, 0},
		{"trailing space", "1795953600 ", false, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double t = 42;
		bool ok = lifecycle_parse_epoch(cases[i].in, &t);

		case_int_equal(cases[i].label, ok, cases[i].ok);
		if (!ok) {
			case_int_equal(cases[i].label, t == 42, true);
			continue;
		}
		if (isinf(cases[i].want))
			case_int_equal(cases[i].label, isinf(t) && (t > 0) ==
			    (cases[i].want > 0), true);
		else
			case_int_equal(cases[i].label,
			    fabs(t - cases[i].want) < 1e-6, true);
	}
	assert_false(lifecycle_parse_epoch(NULL, &(double){0}));
}

static void
test_lifecycle_expired(void **state)
{
	(void)state;
	/* at the second itself it is gone: "expires_at has passed" */
	assert_true(lifecycle_expired(NOW, NOW));
	assert_true(lifecycle_expired(NOW - 0.000001, NOW));
	assert_false(lifecycle_expired(NOW + 0.000001, NOW));
	assert_false(lifecycle_expired(INFINITY, NOW));
	assert_true(lifecycle_expired(-INFINITY, NOW));
}

/*
 * Postfix's order, except that the levels that authenticate the server
 * share the top rank: --review's "stricter than the review level" and
 * lifecycle_weakens() both read it.
 */
static void
test_lifecycle_rank(void **state)
{
	static const struct {
		enum policy_level level;
		int want;
	} cases[] = {
		{POLICY_LEVEL_NONE, 0},
		{POLICY_LEVEL_MAY, 1},
		{POLICY_LEVEL_ENCRYPT, 2},
		{POLICY_LEVEL_DANE, 3},
		{POLICY_LEVEL_DANE_ONLY, 4},
		{POLICY_LEVEL_FINGERPRINT, 4},
		{POLICY_LEVEL_VERIFY, 4},
		{POLICY_LEVEL_SECURE, 4},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		case_int_equal(policy_level_name(cases[i].level),
		    lifecycle_rank(cases[i].level), cases[i].want);
}

/*
 * Every level below dane weakens; the others only below a stronger
 * global.  --check and --review share this rule.
 */
static void
test_lifecycle_weakens(void **state)
{
	static const struct {
		enum policy_level level;
		enum policy_level global;
		bool want;
	} cases[] = {
		{POLICY_LEVEL_NONE, POLICY_LEVEL_DANE, true},
		{POLICY_LEVEL_MAY, POLICY_LEVEL_DANE, true},
		{POLICY_LEVEL_ENCRYPT, POLICY_LEVEL_DANE, true},
		{POLICY_LEVEL_DANE, POLICY_LEVEL_DANE, false},
		{POLICY_LEVEL_DANE_ONLY, POLICY_LEVEL_DANE, false},
		{POLICY_LEVEL_FINGERPRINT, POLICY_LEVEL_DANE, false},
		{POLICY_LEVEL_VERIFY, POLICY_LEVEL_DANE, false},
		{POLICY_LEVEL_SECURE, POLICY_LEVEL_DANE, false},
		/* a resolver further down may answer dane, whatever global */
		{POLICY_LEVEL_MAY, POLICY_LEVEL_MAY, true},
		{POLICY_LEVEL_ENCRYPT, POLICY_LEVEL_MAY, true},
		{POLICY_LEVEL_NONE, POLICY_LEVEL_MAY, true},
		{POLICY_LEVEL_MAY, POLICY_LEVEL_NONE, true},
		{POLICY_LEVEL_ENCRYPT, POLICY_LEVEL_NONE, true},
		{POLICY_LEVEL_DANE, POLICY_LEVEL_MAY, false},
		/* a global level that always authenticates */
		{POLICY_LEVEL_DANE, POLICY_LEVEL_SECURE, true},
		{POLICY_LEVEL_DANE, POLICY_LEVEL_DANE_ONLY, true},
		{POLICY_LEVEL_ENCRYPT, POLICY_LEVEL_VERIFY, true},
		/* ... and they do not weaken one another */
		{POLICY_LEVEL_VERIFY, POLICY_LEVEL_SECURE, false},
		{POLICY_LEVEL_FINGERPRINT, POLICY_LEVEL_VERIFY, false},
		{POLICY_LEVEL_SECURE, POLICY_LEVEL_SECURE, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char label[64];

		snprintf(label, sizeof(label), "%s under %s",
		    policy_level_name(cases[i].level),
		    policy_level_name(cases[i].global));
		case_int_equal(label, lifecycle_weakens(cases[i].level,
		    cases[i].global), cases[i].want);
	}
}

static const struct lifecycle_opts opts = {
	POLICY_LEVEL_DANE, 7 * DAY, "expires_at", "comment",
};

static void
test_lifecycle_findings(void **state)
{
	static const struct {
		const char *label;
		struct lifecycle_row row;
		unsigned want;
	} cases[] = {
		{"documented may, a month away",
		    {POLICY_LEVEL_MAY, NOW + 30 * DAY, "ticket 42"}, 0},
		{"may without anything",
		    {POLICY_LEVEL_MAY, INFINITY, NULL},
		    LIFECYCLE_NO_EXPIRY | LIFECYCLE_NO_COMMENT},
		{"may with a comment only",
		    {POLICY_LEVEL_MAY, INFINITY, "broken TLSA"},
		    LIFECYCLE_NO_EXPIRY},
		{"encrypt with an expiry only",
		    {POLICY_LEVEL_ENCRYPT, NOW + 30 * DAY, NULL},
		    LIFECYCLE_NO_COMMENT},
		{"a blank comment says nothing",
		    {POLICY_LEVEL_NONE, NOW + 30 * DAY, " \t\n"},
		    LIFECYCLE_NO_COMMENT},
		{"an empty comment says nothing",
		    {POLICY_LEVEL_NONE, NOW + 30 * DAY, ""},
		    LIFECYCLE_NO_COMMENT},
		{"secure needs neither",
		    {POLICY_LEVEL_SECURE, INFINITY, NULL}, 0},
		{"dane needs neither under dane",
		    {POLICY_LEVEL_DANE, INFINITY, NULL}, 0},
		{"documented may expiring in a day",
		    {POLICY_LEVEL_MAY, NOW + DAY, "ticket 42"},
		    LIFECYCLE_EXPIRING},
		{"secure expiring in a day: the stricter level goes too",
		    {POLICY_LEVEL_SECURE, NOW + DAY, NULL},
		    LIFECYCLE_EXPIRING},
		{"exactly expiry_warning away",
		    {POLICY_LEVEL_SECURE, NOW + 7 * DAY, NULL},
		    LIFECYCLE_EXPIRING},
		{"just past expiry_warning",
		    {POLICY_LEVEL_SECURE, NOW + 7 * DAY + 1, NULL}, 0},
		{"undocumented and expiring",
		    {POLICY_LEVEL_MAY, NOW + 60, NULL},
		    LIFECYCLE_NO_COMMENT | LIFECYCLE_EXPIRING},
		{"already expired: not expiring",
		    {POLICY_LEVEL_SECURE, NOW - 1, NULL}, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		case_int_equal(cases[i].label, lifecycle_findings(&opts,
		    &cases[i].row, NOW), cases[i].want);
}

static void
test_lifecycle_describe(void **state)
{
	static const struct {
		const char *label;
		struct lifecycle_opts o;
		struct lifecycle_row row;
		unsigned which;
		const char *want;
	} cases[] = {
		{"both missing", {POLICY_LEVEL_DANE, 7 * DAY, "expires_at",
		    "comment"}, {POLICY_LEVEL_MAY, INFINITY, NULL},
		    LIFECYCLE_NO_EXPIRY | LIFECYCLE_NO_COMMENT,
		    "weakening override (may, below dane) with no expires_at "
		    "and no comment"},
		{"no comment, other column names", {POLICY_LEVEL_DANE, 7 * DAY,
		    "valid_until", "why"}, {POLICY_LEVEL_ENCRYPT,
		    NOW + 30 * DAY, NULL}, LIFECYCLE_NO_EXPIRY |
		    LIFECYCLE_NO_COMMENT,
		    "weakening override (encrypt, below dane) with no why"},
		{"a table without the columns names the keys",
		    {POLICY_LEVEL_DANE, 7 * DAY, "", ""},
		    {POLICY_LEVEL_NONE, INFINITY, NULL},
		    LIFECYCLE_NO_EXPIRY | LIFECYCLE_NO_COMMENT,
		    "weakening override (none, below dane) with no "
		    "column_expires and no column_comment"},
		{"dane under a secure global", {POLICY_LEVEL_SECURE, 7 * DAY,
		    "expires_at", "comment"}, {POLICY_LEVEL_DANE, INFINITY,
		    "partner asked"}, LIFECYCLE_NO_EXPIRY |
		    LIFECYCLE_NO_COMMENT,
		    "weakening override (dane, below secure) with no "
		    "expires_at"},
		{"expiring", {POLICY_LEVEL_DANE, 7 * DAY, "expires_at",
		    "comment"}, {POLICY_LEVEL_MAY, NOW + 2 * DAY + 3 * 3600,
		    "ticket 42"}, LIFECYCLE_EXPIRING,
		    "may override expires in 2d 3h (2026-12-01T15:00:00Z), "
		    "within expiry_warning"},
		{"not asked for", {POLICY_LEVEL_DANE, 7 * DAY, "expires_at",
		    "comment"}, {POLICY_LEVEL_MAY, INFINITY, NULL},
		    LIFECYCLE_EXPIRING, ""},
		{"nothing to say", {POLICY_LEVEL_DANE, 7 * DAY, "expires_at",
		    "comment"}, {POLICY_LEVEL_SECURE, INFINITY, NULL},
		    LIFECYCLE_NO_EXPIRY | LIFECYCLE_NO_COMMENT |
		    LIFECYCLE_EXPIRING, ""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];

		lifecycle_describe(&cases[i].o, &cases[i].row, NOW,
		    cases[i].which, out, sizeof(out));
		case_mem_equal(cases[i].label, out, strlen(out),
		    cases[i].want, strlen(cases[i].want));
	}
}

static void
test_lifecycle_duration_and_utc(void **state)
{
	static const struct {
		double secs;
		const char *want;
	} cases[] = {
		{0, "0s"}, {-5, "0s"}, {59.9, "59s"}, {60, "1m"},
		{90, "1m 30s"}, {3600, "1h"}, {3600 + 5 * 60, "1h 5m"},
		{7 * DAY, "7d"}, {2 * DAY + 3 * 3600 + 59, "2d 3h"},
		{6 * DAY + 23 * 3600 + 59 * 60, "6d 23h"},
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lifecycle_duration(cases[i].secs, out, sizeof(out));
		case_mem_equal(cases[i].want, out, strlen(out), cases[i].want,
		    strlen(cases[i].want));
	}
	lifecycle_utc(NOW, out, sizeof(out));
	assert_string_equal(out, "2026-11-29T12:00:00Z");
	lifecycle_utc(NOW + 0.999, out, sizeof(out));
	assert_string_equal(out, "2026-11-29T12:00:00Z");
	lifecycle_utc(INFINITY, out, sizeof(out));
	assert_string_equal(out, "never");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle_parse_epoch),
		cmocka_unit_test(test_lifecycle_expired),
		cmocka_unit_test(test_lifecycle_rank),
		cmocka_unit_test(test_lifecycle_weakens),
		cmocka_unit_test(test_lifecycle_findings),
		cmocka_unit_test(test_lifecycle_describe),
		cmocka_unit_test(test_lifecycle_duration_and_utc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
