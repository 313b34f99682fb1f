/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_config - the configuration table (tlspolicyd.conf(5) and
 * tlspolicyd(8)): defaults, value syntax and bounds, sources and lists,
 * and the file reader.  Every test frees its config: cmocka reports leaks.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* err must mention what */
#define case_err_names(label, err, what)                                      \
	do {                                                                  \
		if (strstr((err), (what)) == NULL)                            \
			fprintf(stderr, "case \"%s\": error \"%s\" does not " \
			    "name \"%s\"\n", (label), (err), (what));         \
		assert_non_null(strstr((err), (what)));                       \
	} while (0)

#define SEC 1000UL
#define DAY (86400UL * SEC)

/* --- defaults */

static void
test_config_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	assert_true(cfg.parent_walk);
	assert_int_equal(cfg.poll_interval, 1000);
	assert_int_equal(cfg.max_stale, 3600000);
	assert_int_equal(cfg.reconnect_max, 5000);
	assert_int_equal(cfg.connect_timeout, 10000);
	assert_int_equal(cfg.statement_timeout, 10000);
	assert_int_equal(cfg.reconcile_interval, 3600000);
	assert_int_equal(cfg.idle_timeout, 300000);
	assert_int_equal(cfg.max_connections, 16384);
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0], CONFIG_DEFAULT_LISTEN);
	assert_string_equal(cfg.listen[0], "inet:127.0.0.1:8463");
	assert_int_equal(cfg.nmap, 1);
	assert_string_equal(cfg.map[0], CONFIG_DEFAULT_MAP);
	assert_string_equal(cfg.map[0], "tlspolicy");
	assert_string_equal(cfg.database, "");
	/* schema-qualified: a "tls_policy" elsewhere on the path is no match */
	assert_string_equal(cfg.table, "public.tls_policy");
	assert_string_equal(cfg.column_target, "target");
	assert_string_equal(cfg.column_policy, "policy");
	assert_string_equal(cfg.column_parameters, "parameters");
	assert_string_equal(cfg.column_active, "active");
	assert_string_equal(cfg.column_expires, "expires_at");
	assert_string_equal(cfg.column_comment, "comment");
	assert_int_equal(cfg.expiry_warning, 7 * DAY);
	assert_string_equal(cfg.global_level, "");
	assert_int_equal(cfg.postfix_compat, 307);
	assert_string_equal(cfg.fingerprint_digest, "sha256");
	assert_int_equal(cfg.fingerprint_len, 32);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	config_free(&cfg);
}

/* --- durations */

static const struct duration_case {
	const char *label;
	const char *in;
	int want_rc;
	unsigned long want_ms;
} duration_cases[] = {
	{"bare number is seconds", "10", 0, 10 * SEC},
	{"seconds", "10s", 0, 10 * SEC},
	{"milliseconds", "500ms", 0, 500},
	{"minutes", "5m", 0, 5 * 60 * SEC},
	{"hours", "1h", 0, 3600 * SEC},
	{"days", "7d", 0, 7 * DAY},
	{"zero", "0", 0, 0},
	{"zero ms", "0ms", 0, 0},
	{"leading zeros", "010s", 0, 10 * SEC},
	{"empty", "", -1, 0},
	{"negative", "-1", -1, 0},
	{"plus sign", "+1", -1, 0},
	{"unknown unit", "10x", -1, 0},
	{"unit without number", "s", -1, 0},
	{"ms without number", "ms", -1, 0},
	{"leading space", " 10", -1, 0},
	{"space before unit", "10 s", -1, 0},
	{"trailing space", "10s ", -1, 0},
	{"fraction", "1.5s", -1, 0},
	{"two units", "1h30m", -1, 0},
	{"overflow in the multiply", "18446744073709551615d", -1, 0},
	{"overflow in the number", "99999999999999999999999", -1, 0},
};

static void
test_config_parse_duration(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]);
	    i++) {
		const struct duration_case *c = &duration_cases[i];
		unsigned long ms = 12345;

		case_int_equal(c->label, config_parse_duration(c->in, &ms),
		    c->want_rc);
		if (c->want_rc == 0)
			case_int_equal(c->label, ms, c->want_ms);
	}
}

/* --- one value per key: syntax, bounds, and the error names the key */

static const struct set_case {
	const char *label;
	const char *key;
	const char *value;
	int want_rc;
} set_cases[] = {
	{"poll_interval at its minimum", "poll_interval", "100ms", 0},
	{"poll_interval below 100ms", "poll_interval", "99ms", -1},
	{"poll_interval zero", "poll_interval", "0", -1},
	{"poll_interval one day", "poll_interval", "1d", 0},
	{"poll_interval over one day", "poll_interval", "86401s", -1},
	{"poll_interval not a duration", "poll_interval", "fast", -1},
	{"max_stale zero", "max_stale", "0", 0},
	{"max_stale a year", "max_stale", "365d", 0},
	{"max_stale over a year", "max_stale", "366d", -1},
	{"reconnect_max below 100ms", "reconnect_max", "50ms", -1},
	{"idle_timeout below 1s", "idle_timeout", "999ms", -1},
	{"idle_timeout 1s", "idle_timeout", "1s", 0},
	{"statement_timeout zero", "statement_timeout", "0", 0},
	{"connect_timeout 1s", "connect_timeout", "1s", 0},
	{"connect_timeout below 1s", "connect_timeout", "999ms", -1},
	{"connect_timeout zero", "connect_timeout", "0", -1},
	{"connect_timeout 5m", "connect_timeout", "5m", 0},
	{"connect_timeout over 5m", "connect_timeout", "301s", -1},
	{"connect_timeout not a duration", "connect_timeout", "soon", -1},
	{"reconcile_interval zero: off", "reconcile_interval", "0", 0},
	{"reconcile_interval 0s: off", "reconcile_interval", "0s", 0},
	{"reconcile_interval 1s", "reconcile_interval", "1s", 0},
	{"reconcile_interval below 1s", "reconcile_interval", "999ms", -1},
	{"reconcile_interval 1ms", "reconcile_interval", "1ms", -1},
	{"reconcile_interval 30d", "reconcile_interval", "30d", 0},
	{"reconcile_interval over 30d", "reconcile_interval", "31d", -1},
	{"reconcile_interval negative", "reconcile_interval", "-1", -1},
	{"reconcile_interval off is 0", "reconcile_interval", "off", -1},
	{"max_connections one", "max_connections", "1", 0},
	{"max_connections zero", "max_connections", "0", -1},
	{"max_connections a million", "max_connections", "1000000", 0},
	{"max_connections over a million", "max_connections", "1000001", -1},
	{"max_connections negative", "max_connections", "-1", -1},
	{"max_connections with unit", "max_connections", "10k", -1},
	{"max_connections empty", "max_connections", "", -1},
	{"parent_walk yes", "parent_walk", "yes", 0},
	{"parent_walk NO", "parent_walk", "NO", 0},
	{"parent_walk true", "parent_walk", "true", 0},
	{"parent_walk off", "parent_walk", "off", 0},
	{"parent_walk 1", "parent_walk", "1", 0},
	{"parent_walk maybe", "parent_walk", "maybe", -1},
	{"parent_walk empty", "parent_walk", "", -1},
	{"parent_walk y", "parent_walk", "y", -1},
	{"log_level debug", "log_level", "debug", 0},
	{"log_level WARNING", "log_level", "WARNING", 0},
	{"log_level verbose", "log_level", "verbose", -1},
	{"log_level empty", "log_level", "", -1},
	{"postfix_compat 3.10", "postfix_compat", "3.10", 0},
	{"postfix_compat 3.7.11", "postfix_compat", "3.7.11", 0},
	{"postfix_compat 3.6", "postfix_compat", "3.6", -1},
	{"postfix_compat 3", "postfix_compat", "3", -1},
	{"postfix_compat 3.x", "postfix_compat", "3.x", -1},
	{"postfix_compat empty", "postfix_compat", "", -1},
	{"fingerprint_digest sha1", "fingerprint_digest", "sha1", 0},
	{"fingerprint_digest SHA512", "fingerprint_digest", "SHA512", 0},
	{"fingerprint_digest sha3", "fingerprint_digest", "sha3", -1},
	{"fingerprint_digest empty", "fingerprint_digest", "", -1},
	{"table schema-qualified", "table", "public.tls_policy", 0},
	{"table unqualified", "table", "tlspolicies", 0},
	{"table with '$' and '_'", "table", "_mail.tls$policy", 0},
	{"table starting with a digit", "table", "1policy", -1},
	{"table with a quote", "table", "tls\"policy", -1},
	{"table with a space", "table", "tls policy", -1},
	{"table empty", "table", "", -1},
	{"table with two dots", "table", "db.public.tls_policy", -1},
	{"table with an empty schema", "table", ".tls_policy", -1},
	{"table with an empty name", "table", "public.", -1},
	{"table name starting with a digit", "table", "public.1x", -1},
	{"table name of 63 bytes", "table", "public."
	    "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt",
	    0},
	{"table name of 64 bytes", "table", "public."
	    "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt",
	    -1},
	{"column_active empty: no column", "column_active", "", 0},
	{"column_expires empty: no column", "column_expires", "", 0},
	{"column_expires other", "column_expires", "valid_until", 0},
	{"column_expires quoted", "column_expires", "\"x\"", -1},
	{"column_comment empty: no column", "column_comment", "", 0},
	{"column_comment with a space", "column_comment", "why not", -1},
	{"expiry_warning 0: off", "expiry_warning", "0", 0},
	{"expiry_warning 12h", "expiry_warning", "12h", 0},
	{"expiry_warning a year", "expiry_warning", "365d", 0},
	{"expiry_warning over a year", "expiry_warning", "366d", -1},
	{"expiry_warning banana", "expiry_warning", "banana", -1},
	{"global_level empty: ask postconf", "global_level", "", 0},
	{"global_level dane", "global_level", "dane", 0},
	{"global_level Secure", "global_level", "Secure", 0},
	{"global_level dane-only", "global_level", "dane-only", 0},
	{"global_level halfdane", "global_level", "halfdane", -1},
	{"global_level with a space", "global_level", " dane", -1},
	{"column_target plain", "column_target", "domain", 0},
	{"column_target qualified", "column_target", "t.domain", -1},
	{"column_policy starting with a digit", "column_policy", "1p", -1},
	{"database anything", "database", "host=/run/pg dbname=mail", 0},
	{"listen unix", "listen", "unix:/run/tlspolicyd.sock", 0},
	{"listen without a type", "listen", "127.0.0.1:8463", -1},
	{"map empty", "map", "", -1},
	{"map with ':'", "map", "tls:policy", -1},
	{"map with a space", "map", "tls policy", -1},
	{"map of 64 bytes", "map",
	    "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
	    0},
	{"map of 65 bytes", "map",
	    "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
	    -1},
	{"unknown key", "no_such_key", "1", -1},
	{"option spelling is not a key", "max-stale", "1s", -1},
	{"empty key", "", "1", -1},
};

static void
test_config_set_values(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		const struct set_case *c = &set_cases[i];
		struct config cfg;
		char err[512] = "";

		config_init(&cfg);
		case_int_equal(c->label, config_set(&cfg, c->key, c->value,
		    CONFIG_FILE, err, sizeof(err)), c->want_rc);
		if (c->want_rc < 0) {
			assert_true(err[0] != '\0');
			case_err_names(c->label, err, c->key);
		}
		config_free(&cfg);
	}
}

/* The stored value of the keys with a derived or typed field. */
static void
test_config_set_stores_value(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "poll_interval", "250ms",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg.poll_interval, 250);
	assert_int_equal(config_set(&cfg, "max_stale", "2h", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.max_stale, 2 * 3600 * SEC);
	assert_int_equal(config_set(&cfg, "parent_walk", "no", CONFIG_FILE,
	    err, sizeof(err)), 0);
	assert_false(cfg.parent_walk);
	assert_int_equal(config_set(&cfg, "log_level", "Debug", CONFIG_FILE,
	    err, sizeof(err)), 0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(config_set(&cfg, "postfix_compat", "3.10",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg.postfix_compat, 310);
	assert_int_equal(config_set(&cfg, "fingerprint_digest", "sha1",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_string_equal(cfg.fingerprint_digest, "sha1");
	assert_int_equal(cfg.fingerprint_len, 20);
	assert_int_equal(config_set(&cfg, "connect_timeout", "2500ms",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg.connect_timeout, 2500);
	assert_int_equal(config_set(&cfg, "reconcile_interval", "0",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg.reconcile_interval, 0);
	assert_int_equal(config_set(&cfg, "reconcile_interval", "90s",
	    CONFIG_ARGV, err, sizeof(err)), 0);
	assert_int_equal(cfg.reconcile_interval, 90 * SEC);
	assert_int_equal(config_set(&cfg, "table", "mail.tlspolicies",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_string_equal(cfg.table, "mail.tlspolicies");
	assert_int_equal(config_set(&cfg, "max_connections", "42",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_connections, 42);
	assert_int_equal(config_set(&cfg, "column_active", "", CONFIG_FILE,
	    err, sizeof(err)), 0);
	assert_string_equal(cfg.column_active, "");
	assert_int_equal(config_set(&cfg, "database", "dbname=mail",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_string_equal(cfg.database, "dbname=mail");
	config_free(&cfg);
}

/*
 * --- postfix_compat and fingerprint_digest: parsed here into what the
 * policy module takes (a version number, a digest length)
 */

static const struct compat_case {
	const char *label;
	const char *in;
	int want;		/* -1: refused */
} compat_cases[] = {
	{"3.7", "3.7", 307},
	{"3.8", "3.8", 308},
	{"3.10", "3.10", 310},
	{"3.12", "3.12", 312},
	{"mail_version spelling", "3.7.11", 307},
	{"4.0", "4.0", 400},
	{"3.99", "3.99", 399},
	{"older than 3.7", "3.6", -1},
	{"2.11", "2.11", -1},
	{"no minor", "3", -1},
	{"empty minor", "3.", -1},
	{"no major", ".7", -1},
	{"leading zero", "3.07", -1},
	{"minor over 99", "3.100", -1},
	{"patch not a number", "3.7.x", -1},
	{"empty patch", "3.7.", -1},
	{"patch of four digits", "3.7.1000", -1},
	{"two patches", "3.7.1.1", -1},
	{"leading space", " 3.7", -1},
	{"trailing space", "3.7 ", -1},
	{"plus sign", "+3.7", -1},
	{"negative minor", "3.-7", -1},
	{"major of five digits", "99999.1", -1},
	{"empty", "", -1},
};

static void
test_config_postfix_compat(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(compat_cases) / sizeof(compat_cases[0]); i++) {
		const struct compat_case *c = &compat_cases[i];
		struct config cfg;
		char err[512] = "";

		config_init(&cfg);
		case_int_equal(c->label, config_set(&cfg, "postfix_compat",
		    c->in, CONFIG_FILE, err, sizeof(err)),
		    c->want < 0 ? -1 : 0);
		if (c->want < 0) {
			case_err_names(c->label, err, "postfix_compat: \"");
			case_err_names(c->label, err, "is not a Postfix "
			    "version 3.7 or later (e.g. 3.7, 3.10)");
			case_int_equal(c->label, cfg.postfix_compat, 307);
		} else {
			case_int_equal(c->label, cfg.postfix_compat, c->want);
		}
		config_free(&cfg);
	}
}

static const struct digest_case {
	const char *label;
	const char *in;
	size_t want;		/* 0: refused */
} digest_cases[] = {
	{"md5", "md5", 16},
	{"sha1", "sha1", 20},
	{"sha224", "sha224", 28},
	{"sha256", "sha256", 32},
	{"upper case", "SHA256", 32},
	{"mixed case", "Sha384", 48},
	{"sha512", "sha512", 64},
	{"sha3-256", "sha3-256", 0},
	{"sha", "sha", 0},
	{"prefix of a name", "sha25", 0},
	{"name and more", "sha2566", 0},
	{"trailing space", "sha256 ", 0},
	{"empty", "", 0},
};

static void
test_config_fingerprint_digest(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(digest_cases) / sizeof(digest_cases[0]); i++) {
		const struct digest_case *c = &digest_cases[i];
		struct config cfg;
		char err[512] = "";

		config_init(&cfg);
		case_int_equal(c->label, config_set(&cfg, "fingerprint_digest",
		    c->in, CONFIG_FILE, err, sizeof(err)),
		    c->want == 0 ? -1 : 0);
		if (c->want == 0) {
			case_err_names(c->label, err, "is not a digest (md5, "
			    "sha1, sha224, sha256, sha384, sha512)");
			case_int_equal(c->label, cfg.fingerprint_len, 32);
			assert_string_equal(cfg.fingerprint_digest, "sha256");
		} else {
			case_int_equal(c->label, cfg.fingerprint_len, c->want);
			assert_string_equal(cfg.fingerprint_digest, c->in);
		}
		config_free(&cfg);
	}
}

/* --- sources: a key once per source; lists repeat and replace */

static void
test_config_set_twice_in_one_source(void **state)
{
	struct config cfg;
	char err[512] = "";

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "parent_walk", "no", CONFIG_FILE,
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "parent_walk", "yes", CONFIG_FILE,
	    err, sizeof(err)), -1);
	case_err_names("set twice", err, "parent_walk");
	assert_false(cfg.parent_walk);
	/* a later source overrides, once */
	assert_int_equal(config_set(&cfg, "parent_walk", "yes", CONFIG_ARGV,
	    err, sizeof(err)), 0);
	assert_true(cfg.parent_walk);
	err[0] = '\0';
	assert_int_equal(config_set(&cfg, "parent_walk", "no", CONFIG_ARGV,
	    err, sizeof(err)), -1);
	case_err_names("set twice on the command line", err, "parent_walk");
	/* the same value twice is still twice */
	assert_int_equal(config_set(&cfg, "database", "a", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "database", "a", CONFIG_FILE, err,
	    sizeof(err)), -1);
	config_free(&cfg);
}

static void
test_config_lists_repeat_and_replace(void **state)
{
	struct config cfg;
	char err[512];
	char name[32];
	size_t i;

	(void)state;
	config_init(&cfg);
	/* the file's first map replaces the default, later ones append */
	assert_int_equal(config_set(&cfg, "map", "a", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.nmap, 1);
	assert_string_equal(cfg.map[0], "a");
	assert_int_equal(config_set(&cfg, "map", "b", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.nmap, 2);
	assert_string_equal(cfg.map[1], "b");
	/* the command line's first map replaces the file's list */
	assert_int_equal(config_set(&cfg, "map", "c", CONFIG_ARGV, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.nmap, 1);
	assert_string_equal(cfg.map[0], "c");
	assert_int_equal(config_set(&cfg, "map", "d", CONFIG_ARGV, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.nmap, 2);
	assert_string_equal(cfg.map[1], "d");

	/* listen: the same, and independent of map */
	assert_int_equal(config_set(&cfg, "listen", "unix:/run/a",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "listen", "inet:[::1]:8463",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg.nlisten, 2);
	assert_string_equal(cfg.listen[0], "unix:/run/a");
	assert_string_equal(cfg.listen[1], "inet:[::1]:8463");
	assert_int_equal(cfg.nmap, 2);
	config_free(&cfg);

	/* at most CONFIG_MAX_MAPS values: exact fit and one over */
	config_init(&cfg);
	for (i = 0; i < CONFIG_MAX_MAPS; i++) {
		snprintf(name, sizeof(name), "map%zu", i);
		assert_int_equal(config_set(&cfg, "map", name, CONFIG_FILE,
		    err, sizeof(err)), 0);
	}
	assert_int_equal(cfg.nmap, CONFIG_MAX_MAPS);
	err[0] = '\0';
	assert_int_equal(config_set(&cfg, "map", "onemore", CONFIG_FILE, err,
	    sizeof(err)), -1);
	case_err_names("one map over", err, "map");
	assert_int_equal(cfg.nmap, CONFIG_MAX_MAPS);
	config_free(&cfg);
}

/*
 * "A value is checked completely before it is stored" (config.c): a
 * rejected value leaves the configuration as it was.  Each row is checked
 * and reported before the test fails.
 */
static const struct keep_case {
	const char *label;
	const char *key;
	const char *value;
} keep_cases[] = {
	{"bad poll_interval", "poll_interval", "1ms"},
	{"bad digest", "fingerprint_digest", "sha3"},
	{"bad table", "table", "1x"},
	{"table with two dots", "table", "a.b.c"},
	{"bad postfix_compat", "postfix_compat", "3.6"},
	{"bad reconcile_interval", "reconcile_interval", "5ms"},
	{"bad connect_timeout", "connect_timeout", "10m"},
	{"bad map name", "map", "bad:name"},
	{"empty map name", "map", ""},
	{"bad listen", "listen", "127.0.0.1:8463"},
};

static bool
same_config(const char *label, const struct config *a,
    const struct config *b)
{
	size_t i;
	bool same = a->nlisten == b->nlisten && a->nmap == b->nmap &&
	    a->poll_interval == b->poll_interval &&
	    a->postfix_compat == b->postfix_compat &&
	    a->connect_timeout == b->connect_timeout &&
	    a->reconcile_interval == b->reconcile_interval &&
	    a->fingerprint_len == b->fingerprint_len &&
	    strcmp(a->fingerprint_digest, b->fingerprint_digest) == 0 &&
	    strcmp(a->table, b->table) == 0;

	for (i = 0; same && i < a->nlisten; i++)
		same = strcmp(a->listen[i], b->listen[i]) == 0;
	for (i = 0; same && i < a->nmap; i++)
		same = strcmp(a->map[i], b->map[i]) == 0;
	if (!same)
		fprintf(stderr, "case \"%s\": the rejected value changed the "
		    "config (maps %zu, listens %zu; want %zu, %zu)\n", label,
		    a->nmap, a->nlisten, b->nmap, b->nlisten);
	return same;
}

static void
test_config_rejected_value_changes_nothing(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(keep_cases) / sizeof(keep_cases[0]); i++) {
		const struct keep_case *c = &keep_cases[i];
		struct config cfg, ref;
		char err[512];

		config_init(&cfg);
		config_init(&ref);
		case_int_equal(c->label, config_set(&cfg, c->key, c->value,
		    CONFIG_FILE, err, sizeof(err)), -1);
		if (!same_config(c->label, &cfg, &ref))
			bad++;
		config_free(&cfg);
		config_free(&ref);
	}
	assert_int_equal(bad, 0);
}

/* A level is stored as Postfix spells it; which keys were set is known. */
static void
test_config_global_level_and_defaults(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	config_init(&cfg);
	assert_true(config_is_default(&cfg, "column_expires"));
	assert_true(config_is_default(&cfg, "global_level"));
	assert_int_equal(config_set(&cfg, "global_level", "SECURE",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_string_equal(cfg.global_level, "secure");
	assert_false(config_is_default(&cfg, "global_level"));
	/* set to the default value: still set (a column must then exist) */
	assert_int_equal(config_set(&cfg, "column_expires", "expires_at",
	    CONFIG_ARGV, err, sizeof(err)), 0);
	assert_false(config_is_default(&cfg, "column_expires"));
	assert_true(config_is_default(&cfg, "column_comment"));
	assert_int_equal(config_set(&cfg, "global_level", "", CONFIG_ARGV,
	    err, sizeof(err)), 0);
	assert_string_equal(cfg.global_level, "");
	config_free(&cfg);
}

/* --- key names */


/* name is one of the keys config_key_name() lists */
static bool
is_key(const char *name)
{
	size_t i;

	for (i = 0; config_key_name(i) != NULL; i++)
		if (strcmp(config_key_name(i), name) == 0)
			return true;
	return false;
}

static void
test_config_key_names(void **state)
{
	static const char *const documented[] = {"listen", "database", "map",
	    "parent_walk", "poll_interval", "max_stale", "reconnect_max",
	    "connect_timeout", "statement_timeout", "reconcile_interval",
	    "idle_timeout", "max_connections", "table",
	    "column_target", "column_policy", "column_parameters",
	    "column_active", "postfix_compat", "fingerprint_digest",
	    "log_level", "column_expires", "column_comment", "expiry_warning",
	    "global_level"};
	size_t i, n = 0;

	(void)state;
	while (config_key_name(n) != NULL) {
		assert_true(is_key(config_key_name(n)));
		n++;
	}
	assert_true(n > 0);
	for (i = 0; i < sizeof(documented) / sizeof(documented[0]); i++) {
		if (!is_key(documented[i]))
			fprintf(stderr, "case \"%s\": not a key\n",
			    documented[i]);
		assert_true(is_key(documented[i]));
	}
	assert_false(is_key("max-stale"));
	assert_false(is_key(""));
	assert_false(is_key("LISTEN"));
}

/* --- the file reader */

/* Write a temp file; path receives its name.  Caller unlinks. */
static void
write_temp(const char *content, size_t len, char *path, size_t pathsz)
{
	static unsigned serial;
	int fd;

	snprintf(path, pathsz, "%s/test_config.%ld.%u.conf", P_tmpdir,
	    (long)getpid(), serial++);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static int
load_string(struct config *cfg, const char *content, char *path,
    size_t pathsz, char *err, size_t errsz)
{
	int rc;

	write_temp(content, strlen(content), path, pathsz);
	err[0] = '\0';
	rc = config_load_file(cfg, path, true, err, errsz);
	unlink(path);
	return rc;
}

static void
test_config_load_file(void **state)
{
	static const char content[] =
	    "# tlspolicyd.conf\n"
	    "\n"
	    "   \n"
	    "  # an indented comment\n"
	    "map = a  \n"
	    "map=b\n"
	    "\tpoll_interval\t=\t500ms\n"
	    "database = host=/run/postgresql dbname=mail\n"
	    "listen = unix:/run/tlspolicyd/socket\r\n"
	    "parent_walk = no\n"
	    "column_active =\n"
	    "log_level = debug";	/* no newline at the end */
	struct config cfg;
	char path[256], err[512];

	(void)state;
	config_init(&cfg);
	assert_int_equal(load_string(&cfg, content, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.nmap, 2);
	assert_string_equal(cfg.map[0], "a");
	assert_string_equal(cfg.map[1], "b");
	assert_int_equal(cfg.poll_interval, 500);
	assert_string_equal(cfg.database,
	    "host=/run/postgresql dbname=mail");
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0], "unix:/run/tlspolicyd/socket");
	assert_false(cfg.parent_walk);
	assert_string_equal(cfg.column_active, "");
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	/* untouched keys keep their defaults */
	assert_int_equal(cfg.max_stale, 3600000);
	config_free(&cfg);
}

static const struct file_error_case {
	const char *label;
	const char *content;
	int line;
	const char *names;	/* the error also names this, or NULL */
} file_error_cases[] = {
	{"missing '='", "map = a\n# fine\nthis line has no equals\n", 3,
	    NULL},
	{"unknown key", "\n\nno_such_key = 1\n", 3, "no_such_key"},
	{"bad value", "poll_interval = 10ms\n", 1, "poll_interval"},
	{"key set twice", "max_stale = 1h\nmax_stale = 2h\n", 2,
	    "max_stale"},
	{"bad bool", "parent_walk = maybe\n", 1, "parent_walk"},
	{"bad log level", "log_level = loud\n", 1, "log_level"},
	{"bad digest", "fingerprint_digest = crc32\n", 1,
	    "fingerprint_digest"},
	{"empty key", " = value\n", 1, NULL},
	{"option spelling", "max-stale = 1h\n", 1, "max-stale"},
};

static void
test_config_load_file_errors(void **state)
{
	char path[256], err[512], where[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(file_error_cases) /
	    sizeof(file_error_cases[0]); i++) {
		const struct file_error_case *c = &file_error_cases[i];
		struct config cfg;

		config_init(&cfg);
		case_int_equal(c->label, load_string(&cfg, c->content, path,
		    sizeof(path), err, sizeof(err)), -1);
		snprintf(where, sizeof(where), "%s:%d:", path, c->line);
		case_err_names(c->label, err, where);
		if (c->names != NULL)
			case_err_names(c->label, err, c->names);
		config_free(&cfg);
	}
}

static void
test_config_load_file_missing(void **state)
{
	struct config cfg;
	char path[256], err[512] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/test_config.%ld.missing.conf",
	    P_tmpdir, (long)getpid());
	unlink(path);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, false, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.nmap, 1);
	assert_string_equal(cfg.map[0], "tlspolicy");
	assert_int_equal(config_load_file(&cfg, path, true, err, sizeof(err)),
	    -1);
	case_err_names("missing file, must exist", err, path);
	config_free(&cfg);
}

/*
 * CONFIG_MAX_LINE: a line of exactly that many bytes (plus its newline) is
 * read; one byte more is an error naming file:line.
 */
static void
test_config_load_file_line_length(void **state)
{
	static const struct {
		const char *label;
		size_t len;	/* bytes before the newline */
		bool newline;
		int want;
	} cases[] = {
		{"exact fit, last line", CONFIG_MAX_LINE, false, 0},
		{"exact fit with newline", CONFIG_MAX_LINE, true, 0},
		{"one over with newline", CONFIG_MAX_LINE + 1, true, -1},
		{"one over, last line", CONFIG_MAX_LINE + 1, false, -1},
		{"far over", 3 * CONFIG_MAX_LINE, true, -1},
	};
	static char content[3 * CONFIG_MAX_LINE + 2];
	char path[256], err[512], where[300];
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		size_t n = cases[i].len;
		int rc;

		/* "database = xxx...": a value any length may have */
		memset(content, 'x', n);
		memcpy(content, "database = ", 11);
		if (cases[i].newline)
			content[n++] = '\n';
		content[n] = '\0';
		config_init(&cfg);
		rc = load_string(&cfg, content, path, sizeof(path), err,
		    sizeof(err));
		if (rc != cases[i].want) {
			fprintf(stderr, "case \"%s\": rc %d, want %d (%s)\n",
			    cases[i].label, rc, cases[i].want, err);
			bad++;
		} else if (rc == 0) {
			assert_int_equal(strlen(cfg.database),
			    cases[i].len - 11);
		} else {
			snprintf(where, sizeof(where), "%s:1:", path);
			case_err_names(cases[i].label, err, where);
		}
		config_free(&cfg);
	}
	assert_int_equal(bad, 0);
}

/* --- SIGHUP: what changed, and how it is applied */

static size_t
key_index(const char *name)
{
	size_t i;

	for (i = 0; config_key_name(i) != NULL; i++)
		if (strcmp(config_key_name(i), name) == 0)
			return i;
	fprintf(stderr, "no key %s\n", name);
	assert_true(false);
	return 0;
}

static void
test_config_compare_same(void **state)
{
	struct config a, b;
	bool changed[sizeof(a.source)];
	char err[256];
	size_t i;

	(void)state;
	assert_true(config_key_count() <= sizeof(a.source));
	assert_null(config_key_name(config_key_count()));
	config_init(&a);
	config_init(&b);
	memset(changed, 1, sizeof(changed));
	assert_int_equal(config_compare(&a, &b, changed), 0);
	for (i = 0; i < config_key_count(); i++)
		assert_false(changed[i]);
	/* the default again, from the file; a digest in capitals: no change */
	assert_int_equal(config_set(&b, "max_stale", "1h", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&b, "fingerprint_digest", "SHA256",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "listen", CONFIG_DEFAULT_LISTEN,
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_compare(&a, &b, changed), 0);
	config_free(&a);
	config_free(&b);
}

static const struct reload_case {
	const char *key;
	const char *value;
	enum config_reload want;
	bool revalidates;
} reload_cases[] = {
	{"listen", "unix:/run/tlspolicyd/socket", RELOAD_RESTART, false},
	{"map", "other", RELOAD_RESTART, false},
	{"user", "tlspolicyd", RELOAD_RESTART, false},
	{"listen_owner", "postfix", RELOAD_RESTART, false},
	{"listen_group", "postfix", RELOAD_RESTART, false},
	{"listen_mode", "0600", RELOAD_RESTART, false},
	{"state_file", "", RELOAD_RESTART, false},
	{"metrics_listen", "inet:127.0.0.1:9100", RELOAD_RESTART, false},
	{"database", "dbname=x", RELOAD_SESSION, false},
	{"table", "other.t", RELOAD_SESSION, false},
	{"column_target", "dest", RELOAD_SESSION, false},
	{"column_policy", "p", RELOAD_SESSION, false},
	{"column_parameters", "", RELOAD_SESSION, false},
	{"column_active", "", RELOAD_SESSION, false},
	{"column_expires", "", RELOAD_SESSION, false},
	{"column_comment", "", RELOAD_SESSION, false},
	{"poll_interval", "5s", RELOAD_SESSION, false},
	{"reconcile_interval", "0", RELOAD_SESSION, false},
	{"reconnect_max", "1s", RELOAD_SESSION, false},
	{"connect_timeout", "3s", RELOAD_SESSION, false},
	{"statement_timeout", "3s", RELOAD_SESSION, false},
	{"log_level", "debug", RELOAD_LIVE, false},
	{"max_stale", "1s", RELOAD_LIVE, false},
	{"idle_timeout", "10s", RELOAD_LIVE, false},
	{"max_connections", "10", RELOAD_LIVE, false},
	{"parent_walk", "no", RELOAD_LIVE, false},
	{"postfix_compat", "3.10", RELOAD_LIVE, true},
	{"fingerprint_digest", "sha1", RELOAD_LIVE, true},
	{"expiry_warning", "1d", RELOAD_LIVE, false},
	{"global_level", "dane", RELOAD_LIVE, false},
};

/* Each key changed alone: only it differs, with its reload class. */
static void
test_config_compare_each_key(void **state)
{
	size_t c, i, covered = 0;

	(void)state;
	for (c = 0; c < sizeof(reload_cases) / sizeof(reload_cases[0]); c++) {
		const struct reload_case *rc = &reload_cases[c];
		struct config a, b;
		bool changed[sizeof(a.source)];
		char err[256];
		size_t k = key_index(rc->key), n;

		config_init(&a);
		config_init(&b);
		assert_int_equal(config_set(&b, rc->key, rc->value, CONFIG_FILE,
		    err, sizeof(err)), 0);
		n = config_compare(&a, &b, changed);
		if (n != 1 || !changed[k] || config_key_reload(k) != rc->want ||
		    config_key_revalidates(k) != rc->revalidates)
			fprintf(stderr, "case %s = \"%s\": %zu changed, reload "
			    "class %d (want %d)\n", rc->key, rc->value, n,
			    (int)config_key_reload(k), (int)rc->want);
		assert_int_equal(n, 1);
		for (i = 0; i < config_key_count(); i++)
			assert_int_equal(changed[i], i == k);
		assert_int_equal(config_key_reload(k), rc->want);
		assert_int_equal(config_key_revalidates(k), rc->revalidates);
		config_free(&a);
		config_free(&b);
		covered++;
	}
	/* every key has a case, so a new key needs its reload class decided */
	assert_int_equal(covered, config_key_count());
}

static void
test_config_compare_lists(void **state)
{
	struct config a, b;
	bool changed[sizeof(a.source)];
	char err[256];

	(void)state;
	config_init(&a);
	config_init(&b);
	assert_int_equal(config_set(&a, "map", "one", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&a, "map", "two", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&b, "map", "one", CONFIG_FILE, err,
	    sizeof(err)), 0);
	/* a prefix of the list is a change */
	assert_int_equal(config_compare(&a, &b, changed), 1);
	assert_true(changed[key_index("map")]);
	assert_int_equal(config_set(&b, "map", "two", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(config_compare(&a, &b, changed), 0);
	config_free(&a);
	config_free(&b);
}

/*
 * config_swap_key moves a value with what derives from it and its source;
 * both configs stay whole (cmocka reports a leak or a double free).
 */
static void
test_config_swap_key(void **state)
{
	struct config run, next;
	bool changed[sizeof(run.source)];
	char err[256];
	char *table;

	(void)state;
	config_init(&run);
	config_init(&next);
	table = run.table;
	assert_int_equal(config_set(&next, "max_stale", "5s", CONFIG_FILE, err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&next, "fingerprint_digest", "sha1",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(&next, "database", "dbname=x",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(&next, "listen", "inet:127.0.0.1:1",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(&next, "listen", "inet:127.0.0.1:2",
	    CONFIG_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(&next, "log_level", "debug", CONFIG_FILE,
	    err, sizeof(err)), 0);
	assert_int_equal(config_compare(&run, &next, changed), 5);

	config_swap_key(&run, &next, key_index("max_stale"));
	config_swap_key(&run, &next, key_index("fingerprint_digest"));
	config_swap_key(&run, &next, key_index("database"));
	config_swap_key(&run, &next, key_index("log_level"));
	assert_int_equal(run.max_stale, 5 * SEC);
	assert_string_equal(run.fingerprint_digest, "sha1");
	assert_int_equal(run.fingerprint_len, 20);
	assert_string_equal(run.database, "dbname=x");
	assert_int_equal(run.log_level, LOG_LEVEL_DEBUG);
	assert_false(config_is_default(&run, "max_stale"));
	/* the old values went the other way, for config_free */
	assert_int_equal(next.max_stale, 3600 * SEC);
	assert_string_equal(next.fingerprint_digest, "sha256");
	assert_int_equal(next.fingerprint_len, 32);
	assert_true(config_is_default(&next, "max_stale"));
	/* what was not swapped is untouched, and pointers into it hold */
	assert_true(run.table == table);
	assert_int_equal(run.nlisten, 1);
	assert_int_equal(config_compare(&run, &next, changed), 5);
	assert_true(changed[key_index("listen")]);

	config_swap_key(&run, &next, key_index("listen"));
	assert_int_equal(run.nlisten, 2);
	assert_string_equal(run.listen[1], "inet:127.0.0.1:2");
	assert_int_equal(next.nlisten, 1);
	assert_string_equal(next.listen[0], CONFIG_DEFAULT_LISTEN);
	config_free(&run);
	config_free(&next);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_parse_duration),
		cmocka_unit_test(test_config_set_values),
		cmocka_unit_test(test_config_set_stores_value),
		cmocka_unit_test(test_config_postfix_compat),
		cmocka_unit_test(test_config_fingerprint_digest),
		cmocka_unit_test(test_config_set_twice_in_one_source),
		cmocka_unit_test(test_config_lists_repeat_and_replace),
		cmocka_unit_test(test_config_rejected_value_changes_nothing),
		cmocka_unit_test(test_config_key_names),
		cmocka_unit_test(test_config_global_level_and_defaults),
		cmocka_unit_test(test_config_load_file),
		cmocka_unit_test(test_config_load_file_errors),
		cmocka_unit_test(test_config_load_file_missing),
		cmocka_unit_test(test_config_load_file_line_length),
		cmocka_unit_test(test_config_compare_same),
		cmocka_unit_test(test_config_compare_each_key),
		cmocka_unit_test(test_config_compare_lists),
		cmocka_unit_test(test_config_swap_key),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
