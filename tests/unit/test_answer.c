/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_answer - the reply rules (docs/protocol.md, "Replies"), one table: which
 * request, in which state of the data, gets which reply frame.  The clock
 * is a parameter, so "stale" is a row like any other.
 */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "config.h"
#include "netstring.h"
#include "policy.h"
#include "snapshot.h"

/* The states of the data a reply depends on. */
enum state {
	NOT_LOADED,		/* before the first load, no reason known */
	NOT_LOADED_WHY,		/* ... with a reason */
	IN_SYNC,		/* loaded, connected: never stale */
	OUT_AT_BOUND,		/* out of sync just max_stale: still served */
	OUT_PAST_BOUND,		/* out of sync 1 ms past max_stale */
	NO_WALK,		/* IN_SYNC with parent_walk = no */
};

#define MAX_STALE_MS 3600000UL
#define LOADED_AT 1000.0	/* monotonic seconds of the last sync */

static const struct case_ {
	const char *label;
	enum state state;
	const char *payload;
	enum sockmap_status want;
	const char *reply;	/* the whole reply payload */
} cases[] = {
	/* the map name decides first, in every state */
	{"unknown map", IN_SYNC, "other example.com", SOCKMAP_PERM,
	    "PERM unknown map other"},
	{"unknown map before the load", NOT_LOADED, "other example.com",
	    SOCKMAP_PERM, "PERM unknown map other"},
	{"unknown map when stale", OUT_PAST_BOUND, "other x", SOCKMAP_PERM,
	    "PERM unknown map other"},
	{"map names are case-sensitive", IN_SYNC, "TLSPOLICY example.com",
	    SOCKMAP_PERM, "PERM unknown map TLSPOLICY"},
	{"no space: a map name alone", IN_SYNC, "bogus", SOCKMAP_PERM,
	    "PERM unknown map bogus"},
	{"overlong map name is cut", IN_SYNC,
	    "m123456789012345678901234567890123456789012345678901234567890"
	    "1234567890 x", SOCKMAP_PERM,
	    "PERM unknown map m12345678901234567890123456789012345678901234"
	    "5678901234567890123"},
	{"second configured map", IN_SYNC, "lmtp example.com", SOCKMAP_OK,
	    "OK may"},

	/* keys that can never match: NOTFOUND whatever the data */
	{"empty key", IN_SYNC, "tlspolicy ", SOCKMAP_NOTFOUND, "NOTFOUND "},
	{"no key at all", IN_SYNC, "tlspolicy", SOCKMAP_NOTFOUND,
	    "NOTFOUND "},
	{"empty key before the load", NOT_LOADED, "tlspolicy ",
	    SOCKMAP_NOTFOUND, "NOTFOUND "},
	{"empty key when stale", OUT_PAST_BOUND, "tlspolicy ",
	    SOCKMAP_NOTFOUND, "NOTFOUND "},
	{"not UTF-8 before the load", NOT_LOADED, "tlspolicy \xff.example",
	    SOCKMAP_NOTFOUND, "NOTFOUND "},

	/* no authoritative data: TEMP, so Postfix defers */
	{"before the first load", NOT_LOADED, "tlspolicy example.com",
	    SOCKMAP_TEMP, "TEMP no policy data loaded yet"},
	{"before the first load, with the reason", NOT_LOADED_WHY,
	    "tlspolicy example.com", SOCKMAP_TEMP,
	    "TEMP no policy data loaded yet: connecting to the database"},
	{"out of sync exactly max_stale: served", OUT_AT_BOUND,
	    "tlspolicy example.com", SOCKMAP_OK, "OK may"},
	{"past max_stale: TEMP with the time", OUT_PAST_BOUND,
	    "tlspolicy example.com", SOCKMAP_TEMP,
	    "TEMP policy data stale since 1970-01-01T00:16:40Z"},
	{"past max_stale, absent key: TEMP too", OUT_PAST_BOUND,
	    "tlspolicy absent.example", SOCKMAP_TEMP,
	    "TEMP policy data stale since 1970-01-01T00:16:40Z"},

	/* rows that are there but unusable: TEMP with the reason */
	{"invalid row", IN_SYNC, "tlspolicy broken.example", SOCKMAP_TEMP,
	    NULL},
	{"conflicting rows", IN_SYNC, "tlspolicy dup.example", SOCKMAP_TEMP,
	    "TEMP conflicting rows for dup.example"},

	/* found, and not found */
	{"exact row", IN_SYNC, "tlspolicy example.com", SOCKMAP_OK,
	    "OK may"},
	{"key spelled differently", IN_SYNC, "tlspolicy EXAMPLE.com.",
	    SOCKMAP_OK, "OK may"},
	{"parent row", IN_SYNC, "tlspolicy mx.sub.example.net", SOCKMAP_OK,
	    "OK secure match=nexthop:dot-nexthop"},
	{"parent row without parent_walk", NO_WALK,
	    "tlspolicy mx.sub.example.net", SOCKMAP_NOTFOUND, "NOTFOUND "},
	{"dot key still matches without parent_walk", NO_WALK,
	    "tlspolicy .example.net", SOCKMAP_OK,
	    "OK secure match=nexthop:dot-nexthop"},
	{"absent key", IN_SYNC, "tlspolicy absent.example",
	    SOCKMAP_NOTFOUND, "NOTFOUND "},
	{"inactive row", IN_SYNC, "tlspolicy off.example", SOCKMAP_NOTFOUND,
	    "NOTFOUND "},
};

static struct snapshot *
fill(void)
{
	struct snapshot *s = snapshot_new(8);
	struct policy_opts opts;
	struct policy_result res;

	policy_opts_init(&opts);
	snapshot_add_row(s, &opts, "example.com", "may", NULL, true, &res);
	snapshot_add_row(s, &opts, ".example.net", "secure",
	    "match=nexthop:dot-nexthop", true, &res);
	snapshot_add_row(s, &opts, "broken.example", "bogus", NULL, true,
	    &res);
	snapshot_add_row(s, &opts, "dup.example", "may", NULL, true, &res);
	snapshot_add_row(s, &opts, "DUP.example.", "encrypt", NULL, true,
	    &res);
	snapshot_add_row(s, &opts, "off.example", "encrypt", NULL, false,
	    &res);
	return s;
}

/* The daemon in the given state; returns the clock to answer at. */
static double
setup(struct daemon *d, struct config *cfg, struct snapshot *s,
    enum state st)
{
	static char *maps[] = {"tlspolicy", "lmtp"};

	memset(cfg, 0, sizeof(*cfg));
	memset(d, 0, sizeof(*d));
	cfg->map[0] = maps[0];
	cfg->map[1] = maps[1];
	cfg->nmap = 2;
	cfg->parent_walk = st != NO_WALK;
	cfg->max_stale = MAX_STALE_MS;
	d->cfg = cfg;
	d->current_mono = LOADED_AT;
	d->current_at = (time_t)LOADED_AT;	/* 00:16:40 UTC, 1 Jan 1970 */
	switch (st) {
	case NOT_LOADED:
		return LOADED_AT;
	case NOT_LOADED_WHY:
		snprintf(d->why, sizeof(d->why), "connecting to the database");
		return LOADED_AT;
	case IN_SYNC:
	case NO_WALK:
		d->snap = s;
		d->in_sync = true;
		/* in sync: however long ago the last change, never stale */
		return LOADED_AT + 100.0 * MAX_STALE_MS / 1000;
	case OUT_AT_BOUND:
		d->snap = s;
		return LOADED_AT + MAX_STALE_MS / 1000;
	case OUT_PAST_BOUND:
		d->snap = s;
		return LOADED_AT + MAX_STALE_MS / 1000 + 0.001;
	}
	return 0;
}

static void
test_answer_rules(void **state)
{
	struct snapshot *s = fill();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		char out[SOCKMAP_MAX_FRAME];
		enum sockmap_status st = (enum sockmap_status)-1;
		const char *payload;
		size_t len, plen, used;
		struct config cfg;
		struct daemon d;
		double now = setup(&d, &cfg, s, c->state);

		len = answer_reply(&d, now, c->payload, strlen(c->payload), out,
		    &st);
		case_int_equal(c->label, st, c->want);
		/* exactly one frame, and nothing after it */
		case_int_equal(c->label, netstring_decode(out, len,
		    SOCKMAP_MAX_REPLY, &payload, &plen, &used), NETSTRING_OK);
		case_int_equal(c->label, used, len);
		if (c->reply != NULL)
			case_mem_equal(c->label, payload, plen, c->reply,
			    strlen(c->reply));
	}
	snapshot_free(s);
}

/* An invalid row answers with its own reason, never a weaker level. */
static void
test_answer_invalid_row_reason(void **state)
{
	static const char want[] = "TEMP invalid policy for broken.example: ";
	struct snapshot *s = fill();
	char out[SOCKMAP_MAX_FRAME];
	enum sockmap_status st;
	const char *payload;
	size_t len, plen, used;
	struct config cfg;
	struct daemon d;
	double now = setup(&d, &cfg, s, IN_SYNC);

	(void)state;
	len = answer_reply(&d, now, S("tlspolicy broken.example"), out, &st);
	assert_int_equal(st, SOCKMAP_TEMP);
	assert_int_equal(netstring_decode(out, len, SOCKMAP_MAX_REPLY,
	    &payload, &plen, &used), NETSTRING_OK);
	assert_true(plen > sizeof(want) - 1);
	assert_memory_equal(payload, want, sizeof(want) - 1);
	snapshot_free(s);
}

/* The payload is a span: the bytes after it are not part of the key. */
static void
test_answer_payload_not_nul_terminated(void **state)
{
	static const char buf[] = "tlspolicy example.comXXXX";
	struct snapshot *s = fill();
	char out[SOCKMAP_MAX_FRAME];
	enum sockmap_status st;
	struct config cfg;
	struct daemon d;
	double now = setup(&d, &cfg, s, IN_SYNC);
	size_t len;

	(void)state;
	/* only the first 21 bytes are the request */
	len = answer_reply(&d, now, buf, 21, out, &st);
	assert_int_equal(st, SOCKMAP_OK);
	assert_int_equal(len, sizeof("6:OK may,") - 1);
	assert_memory_equal(out, "6:OK may,", len);
	snapshot_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_rules),
		cmocka_unit_test(test_answer_invalid_row_reason),
		cmocka_unit_test(test_answer_payload_not_nul_terminated),
	};

	return cmocka_run_group_tests_name("answer", tests, NULL, NULL);
}
