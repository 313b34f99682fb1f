/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_snapshot - the in-memory table (docs/architecture.md,
 * decisions 1, 4, 5): rows
 * in, answers out, the parent walk, conflicts, removal and its waste,
 * growth past the size hint.  Allocations go through cmocka, so every
 * test also checks that snapshot_free() releases everything.
 */
#include "test.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "snapshot.h"
#include "target.h"

static const char *
result_name(enum snapshot_result r)
{
	switch (r) {
	case SNAPSHOT_NONE:
		return "NONE";
	case SNAPSHOT_FOUND:
		return "FOUND";
	case SNAPSHOT_INVALID:
		return "INVALID";
	case SNAPSHOT_CONFLICT:
		return "CONFLICT";
	}
	return "?";
}

/*
 * Each test owns its snapshot from start to end: cmocka 1.1 checks for
 * leaks at the end of the test function itself, so rows added by a test
 * must be freed by it, not by a teardown.
 */
struct fixture {
	struct snapshot *s;
	struct policy_opts opts;
	struct policy_result res;
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	policy_opts_init(&f->opts);
	f->s = snapshot_new(16);
	assert_non_null(f->s);
}

static enum snapshot_row
add(struct fixture *f, const char *target, const char *policy, bool active)
{
	return snapshot_add_row(f->s, &f->opts, target, policy, NULL, active,
	    &f->res);
}

/*
 * Look a raw key up as the server does: canonicalise, then walk if the key
 * is walkable and parent_walk is on.  *text is NUL-terminated in buf.
 */
static enum snapshot_result
lookup(const struct snapshot *s, const char *raw, bool parent_walk,
    char *buf, size_t bufsz)
{
	struct target key;
	const char *text = NULL;
	size_t len = (size_t)-1;
	enum snapshot_result r;

	assert_int_equal(target_canon(raw, strlen(raw), &key), TARGET_OK);
	r = snapshot_lookup(s, &key, key.walk && parent_walk, &text, &len);
	assert_non_null(text);
	assert_true(len < bufsz);
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (r == SNAPSHOT_NONE)
		assert_int_equal(len, 0);
	return r;
}

struct lookup_case {
	const char *label;
	const char *key;
	bool parent_walk;
	enum snapshot_result want;
	const char *text;	/* exact, or a prefix for SNAPSHOT_INVALID */
};

static void
check_lookups(const struct snapshot *s, const struct lookup_case *cases,
    size_t n)
{
	char buf[8192];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct lookup_case *c = &cases[i];
		enum snapshot_result r = lookup(s, c->key, c->parent_walk, buf,
		    sizeof(buf));
		bool text_ok = c->want == SNAPSHOT_INVALID ?
		    strncmp(buf, c->text, strlen(c->text)) == 0 :
		    strcmp(buf, c->text) == 0;

		if (r != c->want || !text_ok)
			fprintf(stderr, "case \"%s\": got %s \"%s\", want %s "
			    "\"%s\"\n", c->label, result_name(r), buf,
			    result_name(c->want), c->text);
		assert_int_equal(r, c->want);
		assert_true(text_ok);
	}
}

#define CHECK_LOOKUPS(s, t) check_lookups((s), (t), sizeof(t) / sizeof((t)[0]))

/* --- rows in, answers out */

static const struct lookup_case basic_cases[] = {
	{"found", "example.com", true, SNAPSHOT_FOUND, "may"},
	{"found, other spelling", "EXAMPLE.com.", true, SNAPSHOT_FOUND,
	    "may"},
	{"found, U-label row via A-label key", "xn--bcher-kva.example", true,
	    SNAPSHOT_FOUND, "encrypt"},
	{"found, bare IP row via bracketed key", "[192.0.2.1]", true,
	    SNAPSHOT_FOUND, "secure"},
	{"none", "example.net", true, SNAPSHOT_NONE, ""},
	{"inactive row is absent", "inactive.example", true, SNAPSHOT_NONE,
	    ""},
	{"invalid level", "bad.example", true, SNAPSHOT_INVALID,
	    "invalid policy for bad.example"},
	{"invalid, other spelling of the key", "BAD.Example", true,
	    SNAPSHOT_INVALID, "invalid policy for bad.example"},
	{"an exact row does not answer subdomains", "mx.example.com", true,
	    SNAPSHOT_NONE, ""},
};

static void
test_snapshot_add_and_lookup(void **state)
{
	struct fixture fx, *f = &fx;

	(void)state;
	fixture_init(f);
	assert_int_equal(add(f, "example.com", "may", true),
	    SNAPSHOT_ROW_VALID);
	assert_int_equal(add(f, "B\xc3\xbc" "cher.example", "encrypt", true),
	    SNAPSHOT_ROW_VALID);
	assert_int_equal(add(f, "192.0.2.1", "secure", true),
	    SNAPSHOT_ROW_VALID);
	/* an inactive row is validated, reported, and not stored */
	assert_int_equal(add(f, "inactive.example", "may", false),
	    SNAPSHOT_ROW_VALID);
	assert_int_equal(add(f, "bad.example", "bogus", true),
	    SNAPSHOT_ROW_INVALID);
	assert_true(f->res.problem[0] != '\0');
	assert_int_equal(snapshot_rows(f->s), 4);

	CHECK_LOOKUPS(f->s, basic_cases);
	snapshot_free(f->s);
}

static void
test_snapshot_invalid_row_text_names_target(void **state)
{
	struct fixture fx, *f = &fx;
	char buf[8192];
	char want[512];

	(void)state;
	fixture_init(f);
	assert_int_equal(add(f, "Bad.Example", "bogus", true),
	    SNAPSHOT_ROW_INVALID);
	snprintf(want, sizeof(want), "invalid policy for Bad.Example: %s",
	    f->res.problem);
	assert_int_equal(lookup(f->s, "bad.example", true, buf, sizeof(buf)),
	    SNAPSHOT_INVALID);
	assert_string_equal(buf, want);
	snapshot_free(f->s);
}

static const struct {
	const char *label;
	const char *target;
} bad_targets[] = {
	{"empty", ""},
	{"star inside", "mx.*.example.com"},
	{"wildcard over a non-name", "*.192.0.2.1"},
	{"lone star", "*"},
	{"space", "a b"},
	{"not UTF-8", "b\xfc" "cher.example"},
};

static void
test_snapshot_bad_target_not_stored(void **state)
{
	struct fixture fx, *f = &fx;
	size_t i;

	(void)state;
	fixture_init(f);
	for (i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
		f->res.problem[0] = '\0';
		case_int_equal(bad_targets[i].label, add(f,
		    bad_targets[i].target, "may", true),
		    SNAPSHOT_ROW_BAD_TARGET);
		assert_true(f->res.problem[0] != '\0');
	}
	assert_int_equal(snapshot_rows(f->s), 0);
	snapshot_free(f->s);
}

/* What snapshot_conflicts() reported: how many pairs, and the last one. */
struct pairs {
	int n;
	char key[64];
	char a[64];
	char b[64];
};

static void
on_conflict(void *arg, const char *key, const char *a, const char *b)
{
	struct pairs *p = arg;

	p->n++;
	snprintf(p->key, sizeof(p->key), "%s", key);
	snprintf(p->a, sizeof(p->a), "%s", a);
	snprintf(p->b, sizeof(p->b), "%s", b);
}

/*
 * --- "*.X", the wildcard habit: never a silent NOTFOUND (decision 2).  The
 * row is stored invalid under ".X", so the names it was meant for answer
 * TEMP, and the problem says what to write instead.
 */

static const struct {
	const char *label;
	const char *target;
	const char *policy;
	bool active;
	const char *problem;
} wildcard_rows[] = {
	{"wildcard", "*.example.com", "secure", true,
	    "target \"*.example.com\" is not a Postfix pattern: write "
	    "\".example.com\""},
	{"the target's problem beats the policy's", "*.Sub.Example.NET",
	    "bogus", true, "target \"*.Sub.Example.NET\" is not a Postfix "
	    "pattern: write \".Sub.Example.NET\""},
	{"the correction drops the whitespace", " *.ws.example\t", "may",
	    true, "target \"*.ws.example\" is not a Postfix pattern: write "
	    "\".ws.example\""},
	{"inactive: reported, not stored", "*.inactive.example", "may",
	    false, "write \".inactive.example\""},
};

static const struct lookup_case wildcard_cases[] = {
	{"a child answers INVALID", "host.example.com", true,
	    SNAPSHOT_INVALID, "invalid policy for *.example.com: target "
	    "\"*.example.com\" is not a Postfix pattern: write "
	    "\".example.com\""},
	{"a grandchild answers INVALID", "a.b.example.com", true,
	    SNAPSHOT_INVALID, "invalid policy for *.example.com: "},
	{"Postfix's own parent key answers INVALID", ".example.com", false,
	    SNAPSHOT_INVALID, "invalid policy for *.example.com: "},
	{"the domain itself was never covered", "example.com", true,
	    SNAPSHOT_NONE, ""},
	{"parent_walk = no: the child itself", "host.example.com", false,
	    SNAPSHOT_NONE, ""},
	{"other spelling of the key", "MX.SUB.example.net", true,
	    SNAPSHOT_INVALID, "invalid policy for *.Sub.Example.NET: "},
	{"with whitespace", "mx.ws.example", true, SNAPSHOT_INVALID,
	    "invalid policy for  *.ws.example\t: "},
	{"inactive row is absent", "mx.inactive.example", true,
	    SNAPSHOT_NONE, ""},
};

static void
test_snapshot_wildcard_target_answers_temp(void **state)
{
	struct fixture fx, *f = &fx;
	char buf[8192];
	size_t i;

	(void)state;
	fixture_init(f);
	for (i = 0; i < sizeof(wildcard_rows) / sizeof(wildcard_rows[0]);
	    i++) {
		f->res.problem[0] = '\0';
		case_int_equal(wildcard_rows[i].label, add(f,
		    wildcard_rows[i].target, wildcard_rows[i].policy,
		    wildcard_rows[i].active), SNAPSHOT_ROW_INVALID);
		if (strstr(f->res.problem, wildcard_rows[i].problem) == NULL)
			fprintf(stderr, "case \"%s\": problem \"%s\" lacks "
			    "\"%s\"\n", wildcard_rows[i].label,
			    f->res.problem, wildcard_rows[i].problem);
		assert_non_null(strstr(f->res.problem,
		    wildcard_rows[i].problem));
	}
	assert_int_equal(snapshot_rows(f->s), 3);
	CHECK_LOOKUPS(f->s, wildcard_cases);

	/* removed by its raw target, like any row */
	snapshot_remove_target(f->s, "*.EXAMPLE.com");
	assert_int_equal(snapshot_rows(f->s), 3);
	snapshot_remove_target(f->s, "*.example.com");
	assert_int_equal(snapshot_rows(f->s), 2);
	assert_int_equal(lookup(f->s, "host.example.com", true, buf,
	    sizeof(buf)), SNAPSHOT_NONE);
	snapshot_free(f->s);
}

/* "*.X" next to ".X": two rows for one key, a conflict like any other. */
static void
test_snapshot_wildcard_beside_its_correction_conflicts(void **state)
{
	struct fixture fx, *f = &fx;
	struct pairs p;
	char buf[64];

	(void)state;
	fixture_init(f);
	add(f, ".example.org", "secure", true);
	add(f, "*.example.org", "secure", true);
	assert_int_equal(lookup(f->s, "mx.example.org", true, buf,
	    sizeof(buf)), SNAPSHOT_CONFLICT);
	assert_string_equal(buf, ".example.org");
	memset(&p, 0, sizeof(p));
	snapshot_conflicts(f->s, on_conflict, &p);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.key, ".example.org");
	snapshot_free(f->s);
}

/* --- the parent walk (decision 5) */

static const struct {
	const char *target;
	const char *policy;
} walk_rows[] = {
	{".parent.example", "encrypt"},
	{"exact.parent.example", "may"},
	{".example", "none"},
	{".bad.example", "bogus"},
	{"only.example", "secure"},
	{".Sub.Upper.Example", "dane"},
};

static const struct lookup_case walk_cases[] = {
	{"parent row answers a deeper host", "host.sub.parent.example", true,
	    SNAPSHOT_FOUND, "encrypt"},
	{"parent row answers a child", "host.parent.example", true,
	    SNAPSHOT_FOUND, "encrypt"},
	{"the domain itself skips its own .parent row", "parent.example",
	    true, SNAPSHOT_FOUND, "none"},
	{"exact beats parent", "exact.parent.example", true, SNAPSHOT_FOUND,
	    "may"},
	{"most specific parent wins", "host.other.example", true,
	    SNAPSHOT_FOUND, "none"},
	{"leading-dot key walks too", ".sub.parent.example", true,
	    SNAPSHOT_FOUND, "encrypt"},
	{"leading-dot key matches its own row", ".parent.example", true,
	    SNAPSHOT_FOUND, "encrypt"},
	{"invalid parent met on the way answers INVALID", "host.bad.example",
	    true, SNAPSHOT_INVALID, "invalid policy for .bad.example"},
	{"an exact row does not answer a child", "mx.only.example", true,
	    SNAPSHOT_FOUND, "none"},
	{"row spelled in upper case", "a.sub.upper.example", true,
	    SNAPSHOT_FOUND, "dane"},
	{"parent_walk = no: exact only", "host.sub.parent.example", false,
	    SNAPSHOT_NONE, ""},
	{"parent_walk = no: exact still found", "exact.parent.example", false,
	    SNAPSHOT_FOUND, "may"},
	{"brackets: not walked", "[host.parent.example]", true, SNAPSHOT_NONE,
	    ""},
	{"port: not walked", "host.parent.example:25", true, SNAPSHOT_NONE,
	    ""},
	{"trailing dot: not walked", "host.parent.example.", true,
	    SNAPSHOT_NONE, ""},
	{"not a valid hostname: not walked", "-host.parent.example", true,
	    SNAPSHOT_NONE, ""},
	{"no row anywhere on the way", "host.example.net", true,
	    SNAPSHOT_NONE, ""},
};

static void
test_snapshot_parent_walk(void **state)
{
	struct fixture fx, *f = &fx;
	size_t i;

	(void)state;
	fixture_init(f);
	for (i = 0; i < sizeof(walk_rows) / sizeof(walk_rows[0]); i++)
		add(f, walk_rows[i].target, walk_rows[i].policy, true);
	assert_int_equal(snapshot_rows(f->s),
	    sizeof(walk_rows) / sizeof(walk_rows[0]));
	CHECK_LOOKUPS(f->s, walk_cases);
	snapshot_free(f->s);
}

/* Without the ".example" catch-all: a parent row stops at its level. */
static void
test_snapshot_parent_row_not_for_domain_itself(void **state)
{
	struct fixture fx, *f = &fx;
	char buf[64];

	(void)state;
	fixture_init(f);
	add(f, ".parent.example", "encrypt", true);
	assert_int_equal(lookup(f->s, "host.sub.parent.example", true, buf,
	    sizeof(buf)), SNAPSHOT_FOUND);
	assert_string_equal(buf, "encrypt");
	assert_int_equal(lookup(f->s, "parent.example", true, buf,
	    sizeof(buf)), SNAPSHOT_NONE);
	assert_int_equal(lookup(f->s, "xparent.example", true, buf,
	    sizeof(buf)), SNAPSHOT_NONE);
	snapshot_free(f->s);
}

/* An invalid row nearer than a valid one: the walk stops with INVALID. */
static void
test_snapshot_invalid_stops_walk(void **state)
{
	struct fixture fx, *f = &fx;
	char buf[1024];

	(void)state;
	fixture_init(f);
	add(f, ".example", "may", true);
	add(f, ".bad.example", "bogus", true);
	add(f, "ok.bad.example", "secure", true);
	assert_int_equal(lookup(f->s, "mx.bad.example", true, buf,
	    sizeof(buf)), SNAPSHOT_INVALID);
	assert_int_equal(lookup(f->s, "ok.bad.example", true, buf,
	    sizeof(buf)), SNAPSHOT_FOUND);
	assert_string_equal(buf, "secure");
	assert_int_equal(lookup(f->s, "mx.good.example", true, buf,
	    sizeof(buf)), SNAPSHOT_FOUND);
	assert_string_equal(buf, "may");
	snapshot_free(f->s);
}

/*
 * A host row whose first label is an invisible character (U+00AD SOFT
 * HYPHEN, pasted from a web page) is a row for that one odd name.  It
 * must not become the parent row ".example.com" and answer "none" for
 * every subdomain (a silent downgrade, docs/architecture.md, decision 2).
 */
static void
test_snapshot_invisible_label_is_not_a_parent_row(void **state)
{
	struct fixture fx, *f = &fx;
	char buf[64];
	enum snapshot_result r;

	(void)state;
	fixture_init(f);
	add(f, "\xc2\xad.example.com", "none", true);
	r = lookup(f->s, "mx.example.com", true, buf, sizeof(buf));
	if (r != SNAPSHOT_NONE)
		fprintf(stderr, "case \"soft-hyphen row\": mx.example.com got "
		    "%s \"%s\"\n", result_name(r), buf);
	assert_int_equal(r, SNAPSHOT_NONE);
	snapshot_free(f->s);
}

/* --- conflicts: two rows, one canonical key */

static void
test_snapshot_conflict(void **state)
{
	struct fixture fx, *f = &fx;
	struct pairs p;
	char buf[64];

	(void)state;
	fixture_init(f);
	add(f, "Example.com", "may", true);
	add(f, "other.example", "may", true);
	memset(&p, 0, sizeof(p));
	snapshot_conflicts(f->s, on_conflict, &p);
	assert_int_equal(p.n, 0);

	add(f, "example.com.", "encrypt", true);
	assert_int_equal(snapshot_rows(f->s), 3);
	assert_int_equal(lookup(f->s, "example.com", true, buf, sizeof(buf)),
	    SNAPSHOT_CONFLICT);
	assert_string_equal(buf, "example.com");	/* the shared key */
	/* and during a walk */
	add(f, ".Parent.example", "may", true);
	add(f, ".parent.example", "may", true);
	assert_int_equal(lookup(f->s, "mx.parent.example", true, buf,
	    sizeof(buf)), SNAPSHOT_CONFLICT);
	assert_string_equal(buf, ".parent.example");

	memset(&p, 0, sizeof(p));
	snapshot_conflicts(f->s, on_conflict, &p);
	assert_int_equal(p.n, 2);

	snapshot_remove_target(f->s, ".Parent.example");
	memset(&p, 0, sizeof(p));
	snapshot_conflicts(f->s, on_conflict, &p);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.key, "example.com");
	assert_true((strcmp(p.a, "Example.com") == 0 &&
	    strcmp(p.b, "example.com.") == 0) ||
	    (strcmp(p.a, "example.com.") == 0 &&
	    strcmp(p.b, "Example.com") == 0));
	snapshot_free(f->s);
}

/* --- removal: exactly the raw target */

static void
test_snapshot_remove_target(void **state)
{
	struct fixture fx, *f = &fx;
	char buf[64];

	(void)state;
	fixture_init(f);
	add(f, "Example.com", "may", true);
	add(f, "example.com.", "encrypt", true);
	add(f, "example.org", "secure", true);
	assert_int_equal(snapshot_rows(f->s), 3);

	/* other spellings of the same key remove nothing */
	snapshot_remove_target(f->s, "example.com");
	snapshot_remove_target(f->s, "EXAMPLE.COM");
	snapshot_remove_target(f->s, "Example.com.");
	snapshot_remove_target(f->s, "no-such.example");
	snapshot_remove_target(f->s, "");
	snapshot_remove_target(f->s, "*");
	assert_int_equal(snapshot_rows(f->s), 3);
	assert_int_equal(snapshot_waste(f->s), 0);

	snapshot_remove_target(f->s, "example.com.");
	assert_int_equal(snapshot_rows(f->s), 2);
	assert_int_equal(lookup(f->s, "example.com", true, buf, sizeof(buf)),
	    SNAPSHOT_FOUND);
	assert_string_equal(buf, "may");

	snapshot_remove_target(f->s, "Example.com");
	assert_int_equal(lookup(f->s, "example.com", true, buf, sizeof(buf)),
	    SNAPSHOT_NONE);

	/* a row whose target is already canonical */
	snapshot_remove_target(f->s, "example.org");
	assert_int_equal(lookup(f->s, "example.org", true, buf, sizeof(buf)),
	    SNAPSHOT_NONE);
	assert_int_equal(snapshot_rows(f->s), 0);

	/* removing twice is harmless; adding back works */
	snapshot_remove_target(f->s, "example.org");
	add(f, "example.org", "may", true);
	assert_int_equal(lookup(f->s, "example.org", true, buf, sizeof(buf)),
	    SNAPSHOT_FOUND);
	snapshot_free(f->s);
}

/* --- waste: a removed row's bytes stay counted until the next load */

static const struct {
	const char *label;
	const char *target;
	const char *policy;
} waste_rows[] = {
	{"canonical target", "example.org", "may"},
	{"target spelled differently", "Example.NET.", "encrypt"},
	{"invalid row", "bad.example", "bogus"},
};

static void
test_snapshot_waste_after_remove(void **state)
{
	struct fixture fx, *f = &fx;
	size_t i, before, after, waste = 0;

	(void)state;
	fixture_init(f);
	for (i = 0; i < sizeof(waste_rows) / sizeof(waste_rows[0]); i++) {
		const char *label = waste_rows[i].label;
		size_t rows;

		before = snapshot_bytes(f->s);
		add(f, waste_rows[i].target, waste_rows[i].policy, true);
		after = snapshot_bytes(f->s);
		assert_true(after > before);
		rows = snapshot_rows(f->s);

		snapshot_remove_target(f->s, waste_rows[i].target);
		waste += after - before;
		case_int_equal(label, snapshot_rows(f->s), rows - 1);
		case_int_equal(label, snapshot_waste(f->s), waste);
		/* the arena keeps the bytes: bytes do not go down */
		case_int_equal(label, snapshot_bytes(f->s), after);
	}
	snapshot_free(f->s);
}

/* --- growth far beyond the hint */

#define MANY 10000

static void
test_snapshot_grows_beyond_hint(void **state)
{
	struct snapshot *s = snapshot_new(0);
	struct policy_opts opts;
	struct policy_result res;
	char name[64];
	char buf[64];
	size_t i;

	(void)state;
	policy_opts_init(&opts);
	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "Host%zu.Example", i);
		assert_int_equal(snapshot_add_row(s, &opts, name,
		    i % 2 ? "encrypt" : "may", NULL, true, &res),
		    SNAPSHOT_ROW_VALID);
	}
	assert_int_equal(snapshot_rows(s), MANY);
	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "host%zu.example", i);
		if (lookup(s, name, true, buf, sizeof(buf)) != SNAPSHOT_FOUND)
			fprintf(stderr, "case \"%s\": not found\n", name);
		assert_string_equal(buf, i % 2 ? "encrypt" : "may");
	}
	assert_int_equal(lookup(s, "host10000.example", true, buf,
	    sizeof(buf)), SNAPSHOT_NONE);
	assert_int_equal(snapshot_waste(s), 0);
	snapshot_free(s);
}

static void
test_snapshot_free_null(void **state)
{
	struct snapshot *s = snapshot_new(0);
	char buf[8];

	(void)state;
	snapshot_free(NULL);
	/* an empty snapshot answers NONE and frees cleanly */
	assert_int_equal(snapshot_rows(s), 0);
	assert_int_equal(lookup(s, "example.com", true, buf, sizeof(buf)),
	    SNAPSHOT_NONE);
	snapshot_free(s);
}

/* Reconcile: the keys whose exact answer differs, each named once. */
struct diff_seen {
	char keys[256];
};

static void
diff_note(void *arg, const char *key)
{
	struct diff_seen *d = arg;

	strcat(d->keys, key);
	strcat(d->keys, " ");
}

static void
test_snapshot_diff(void **state)
{
	static const struct {
		const char *label;
		const char *a[4][2];	/* target, policy; NULL ends */
		const char *b[4][2];
		size_t want;
		const char *keys;	/* each differing key, any order */
	} cases[] = {
		{"same rows, other spellings", {{"Example.COM", "may"},
		    {"x.example", "secure"}}, {{"x.example", "SECURE"},
		    {"example.com.", "may"}}, 0, ""},
		{"a changed policy", {{"a.example", "may"}},
		    {{"a.example", "secure"}}, 1, "a.example "},
		{"a row only one side has", {{"a.example", "may"}},
		    {{"a.example", "may"}, {"b.example", "encrypt"}}, 1,
		    "b.example "},
		{"... and the other side", {{"a.example", "may"},
		    {"b.example", "encrypt"}}, {{"a.example", "may"}}, 1,
		    "b.example "},
		{"valid against invalid", {{"a.example", "may"}},
		    {{"a.example", "maybe"}}, 1, "a.example "},
		{"a conflict counted once", {{"a.example", "may"},
		    {"A.example", "may"}}, {{"a.example", "may"}}, 1,
		    "a.example "},
		{"conflicts on both sides are alike", {{"a.example", "may"},
		    {"A.example", "may"}}, {{"a.example", "none"},
		    {"A.EXAMPLE", "may"}}, 0, ""},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fa, fb;
		struct diff_seen seen = {""};
		char *k, *save = NULL, want[256];

		fixture_init(&fa);
		fixture_init(&fb);
		for (j = 0; j < 4 && cases[i].a[j][0] != NULL; j++)
			add(&fa, cases[i].a[j][0], cases[i].a[j][1], true);
		for (j = 0; j < 4 && cases[i].b[j][0] != NULL; j++)
			add(&fb, cases[i].b[j][0], cases[i].b[j][1], true);
		case_int_equal(cases[i].label, snapshot_diff(fa.s, fb.s,
		    diff_note, &seen), cases[i].want);
		/* symmetric, and the callback names exactly those keys */
		case_int_equal(cases[i].label, snapshot_diff(fb.s, fa.s, NULL,
		    NULL), cases[i].want);
		snprintf(want, sizeof(want), "%s", cases[i].keys);
		for (k = strtok_r(want, " ", &save); k != NULL;
		    k = strtok_r(NULL, " ", &save))
			assert_non_null(strstr(seen.keys, k));
		assert_int_equal(strlen(seen.keys), strlen(cases[i].keys));
		snapshot_free(fa.s);
		snapshot_free(fb.s);
	}
}

/* --- expiry (issue 10): gone at its time, as if never added */

struct expired {
	char log[1024];		/* "target(comment)@at " per call */
	size_t n;
	double last;		/* the previous call's expiry */
	bool in_order;
};

static void
expired_note(void *arg, const char *target, const char *comment,
    double expires)
{
	struct expired *e = arg;
	size_t used = strlen(e->log);

	snprintf(e->log + used, sizeof(e->log) - used, "%s(%s)@%.0f ", target,
	    comment != NULL ? comment : "-", expires);
	if (e->n++ > 0 && expires < e->last)
		e->in_order = false;
	e->last = expires;
}

static enum snapshot_row
add_until(struct fixture *f, const char *target, const char *policy,
    bool active, double expires, const char *comment)
{
	return snapshot_add_row_until(f->s, &f->opts, target, policy, NULL,
	    active, expires, comment, &f->res);
}

static void
test_snapshot_expiry(void **state)
{
	static const struct lookup_case before[] = {
		{"expiring exact row", "soon.example", true, SNAPSHOT_FOUND,
		    "may"},
		{"expiring row hides its parent", "mx.walk.example", true,
		    SNAPSHOT_FOUND, "encrypt"},
		{"expiring invalid row answers TEMP", "bad.example", true,
		    SNAPSHOT_INVALID, "invalid policy for bad.example"},
		{"never expiring row", "stay.example", true, SNAPSHOT_FOUND,
		    "secure"},
	};
	static const struct lookup_case after[] = {
		{"expired row is absent", "soon.example", true, SNAPSHOT_NONE,
		    ""},
		{"the walk reaches the parent", "mx.walk.example", true,
		    SNAPSHOT_FOUND, "verify"},
		{"expired invalid row is absent", "bad.example", true,
		    SNAPSHOT_NONE, ""},
		{"never expiring row stays", "stay.example", true,
		    SNAPSHOT_FOUND, "secure"},
	};
	struct expired seen = {"", 0, 0, true};
	struct fixture f;
	size_t waste;

	(void)state;
	fixture_init(&f);
	assert_true(isinf(snapshot_next_expiry(f.s)));
	add_until(&f, "soon.example", "may", true, 100, "ticket 42");
	add_until(&f, "mx.walk.example", "encrypt", true, 200, NULL);
	add(&f, ".walk.example", "verify", true);
	add_until(&f, "bad.example", "bogus", true, 150, "typo");
	add_until(&f, "stay.example", "secure", true, INFINITY, "kept");
	/* inactive (or already expired, which the caller passes as such) */
	add_until(&f, "off.example", "may", false, 50, "off");
	CHECK_LOOKUPS(f.s, before);
	assert_int_equal(snapshot_rows(f.s), 5);
	assert_true(snapshot_next_expiry(f.s) == 100);

	/* nothing is due before its time */
	assert_int_equal(snapshot_expire(f.s, 99.999, expired_note, &seen), 0);
	assert_int_equal(seen.n, 0);
	/* at its time it goes, with its comment, once */
	assert_int_equal(snapshot_expire(f.s, 100, expired_note, &seen), 1);
	assert_string_equal(seen.log, "soon.example(ticket 42)@100 ");
	assert_int_equal(snapshot_expire(f.s, 100, expired_note, &seen), 0);
	assert_true(snapshot_next_expiry(f.s) == 150);
	waste = snapshot_waste(f.s);
	assert_true(waste > 0);
	assert_int_equal(snapshot_expire(f.s, 1000, expired_note, &seen), 2);
	assert_string_equal(seen.log, "soon.example(ticket 42)@100 "
	    "bad.example(typo)@150 mx.walk.example(-)@200 ");
	assert_true(seen.in_order);
	assert_true(isinf(snapshot_next_expiry(f.s)));
	assert_true(snapshot_waste(f.s) > waste);
	assert_int_equal(snapshot_rows(f.s), 2);
	CHECK_LOOKUPS(f.s, after);
	snapshot_free(f.s);
}

/* A row replaced by a refresh leaves its old expiry behind. */
static void
test_snapshot_expiry_after_remove(void **state)
{
	struct expired seen = {"", 0, 0, true};
	struct fixture f;
	char buf[64];

	(void)state;
	fixture_init(&f);
	add_until(&f, "x.example", "may", true, 10, "first");
	snapshot_remove_target(f.s, "x.example");
	assert_true(isinf(snapshot_next_expiry(f.s)));
	/* extended: the refresh adds it again with a later expiry */
	add_until(&f, "x.example", "may", true, 10, "first");
	snapshot_remove_target(f.s, "x.example");
	add_until(&f, "x.example", "encrypt", true, 50, "extended");
	assert_true(snapshot_next_expiry(f.s) == 50);
	assert_int_equal(snapshot_expire(f.s, 20, expired_note, &seen), 0);
	assert_int_equal(lookup(f.s, "x.example", true, buf, sizeof(buf)),
	    SNAPSHOT_FOUND);
	assert_string_equal(buf, "encrypt");
	assert_int_equal(snapshot_expire(f.s, 50, expired_note, &seen), 1);
	assert_string_equal(seen.log, "x.example(extended)@50 ");
	assert_int_equal(lookup(f.s, "x.example", true, buf, sizeof(buf)),
	    SNAPSHOT_NONE);
	/* and removing an expired row's target again changes nothing */
	snapshot_remove_target(f.s, "x.example");
	assert_int_equal(snapshot_rows(f.s), 0);
	snapshot_free(f.s);
}

/* Two rows for one key: when one expires the other answers alone. */
static void
test_snapshot_expiry_ends_conflict(void **state)
{
	struct fixture f;
	char buf[64];

	(void)state;
	fixture_init(&f);
	add_until(&f, "dup.example", "may", true, 10, NULL);
	add(&f, "DUP.example", "secure", true);
	assert_int_equal(lookup(f.s, "dup.example", true, buf, sizeof(buf)),
	    SNAPSHOT_CONFLICT);
	assert_int_equal(snapshot_expire(f.s, 10, NULL, NULL), 1);
	assert_int_equal(lookup(f.s, "dup.example", true, buf, sizeof(buf)),
	    SNAPSHOT_FOUND);
	assert_string_equal(buf, "secure");
	snapshot_free(f.s);
}

/* Many rows, in no order: they go in the order of their expiry. */
static void
test_snapshot_expiry_order(void **state)
{
	struct expired seen = {"", 0, 0, true};
	struct fixture f;
	size_t i, total = 0;
	double t;

	(void)state;
	fixture_init(&f);
	for (i = 0; i < 200; i++) {
		char target[32];

		snprintf(target, sizeof(target), "h%zu.example", i);
		/* 0..199 as (i * 37) mod 200: every value once */
		add_until(&f, target, "may", true, (double)(i * 37 % 200),
		    NULL);
	}
	for (t = 0; t < 200; t += 10) {
		seen.log[0] = '\0';
		total += snapshot_expire(f.s, t + 9.5, expired_note, &seen);
		assert_int_equal(total, (size_t)t + 10);
		if (t + 10 < 200)
			assert_true(snapshot_next_expiry(f.s) == t + 10);
	}
	assert_true(seen.in_order);
	assert_int_equal(snapshot_rows(f.s), 0);
	snapshot_free(f.s);
}

/* The comment kept is bounded; the row is not. */
static void
test_snapshot_expiry_comment_bounded(void **state)
{
	struct expired seen = {"", 0, 0, true};
	struct fixture f;
	char comment[SNAPSHOT_MAX_COMMENT + 50], want[1024];

	(void)state;
	fixture_init(&f);
	memset(comment, 'c', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	add_until(&f, "long.example", "may", true, 5, comment);
	assert_int_equal(snapshot_expire(f.s, 5, expired_note, &seen), 1);
	snprintf(want, sizeof(want), "long.example(%.*s)@5 ",
	    SNAPSHOT_MAX_COMMENT, comment);
	assert_string_equal(seen.log, want);
	snapshot_free(f.s);
}

/* Reconcile: a row that expired in one and was never added to the other. */
static void
test_snapshot_expiry_diff(void **state)
{
	struct fixture fa, fb;

	(void)state;
	fixture_init(&fa);
	fixture_init(&fb);
	add_until(&fa, "gone.example", "may", true, 10, NULL);
	add(&fa, "kept.example", "secure", true);
	add(&fb, "kept.example", "secure", true);
	assert_int_equal(snapshot_diff(fa.s, fb.s, NULL, NULL), 1);
	snapshot_expire(fa.s, 10, NULL, NULL);
	assert_int_equal(snapshot_diff(fa.s, fb.s, NULL, NULL), 0);
	assert_int_equal(snapshot_diff(fb.s, fa.s, NULL, NULL), 0);
	snapshot_free(fa.s);
	snapshot_free(fb.s);
}

/* Adds, removals and expiries keep snapshot_counts() exact (/metrics). */
static void
test_snapshot_counts(void **state)
{
	struct fixture f;
	struct snapshot_counts c;
	double never = INFINITY;

	(void)state;
	fixture_init(&f);
	add(&f, "a.example", "may", true);
	add(&f, "b.example", "encrypt", true);
	add(&f, "c.example", "secure", true);
	add(&f, "d.example", "bogus", true);		/* invalid */
	add(&f, "e.example", "may", false);		/* not stored */
	add(&f, "", "may", true);			/* bad target */
	add(&f, "dup.example", "may", true);
	add(&f, "DUP.example", "dane", true);		/* conflict */
	add(&f, "dup.EXAMPLE", "dane", true);		/* same key: still 1 */
	snapshot_add_row_until(f.s, &f.opts, "x.example", "may", NULL, true,
	    100, "temporary", &f.res);
	snapshot_add_row_until(f.s, &f.opts, "y.example", "none", NULL, true,
	    never, NULL, &f.res);
	snapshot_counts(f.s, &c);
	assert_int_equal(c.rows, 9);
	assert_int_equal(c.invalid, 1);
	assert_int_equal(c.conflicts, 1);
	assert_int_equal(c.valid[POLICY_LEVEL_MAY], 3);
	assert_int_equal(c.lasting[POLICY_LEVEL_MAY], 2);	/* x expires */
	assert_int_equal(c.valid[POLICY_LEVEL_DANE], 2);
	assert_int_equal(c.valid[POLICY_LEVEL_NONE], 1);
	assert_int_equal(c.lasting[POLICY_LEVEL_NONE], 1);
	assert_int_equal(c.valid[POLICY_LEVEL_ENCRYPT], 1);
	assert_int_equal(c.valid[POLICY_LEVEL_SECURE], 1);
	assert_int_equal(c.valid[POLICY_LEVEL_DANE_ONLY], 0);

	/* one of three rows of the key goes: still a conflict */
	snapshot_remove_target(f.s, "DUP.example");
	snapshot_counts(f.s, &c);
	assert_int_equal(c.conflicts, 1);
	assert_int_equal(c.valid[POLICY_LEVEL_DANE], 1);
	snapshot_remove_target(f.s, "dup.EXAMPLE");
	snapshot_remove_target(f.s, "d.example");
	snapshot_counts(f.s, &c);
	assert_int_equal(c.rows, 6);
	assert_int_equal(c.conflicts, 0);
	assert_int_equal(c.invalid, 0);
	assert_int_equal(c.valid[POLICY_LEVEL_DANE], 0);

	/* an expiry takes its row out of every count */
	assert_int_equal(snapshot_expire(f.s, 100, NULL, NULL), 1);
	snapshot_counts(f.s, &c);
	assert_int_equal(c.rows, 5);
	assert_int_equal(c.valid[POLICY_LEVEL_MAY], 2);
	assert_int_equal(c.lasting[POLICY_LEVEL_MAY], 2);
	snapshot_free(f.s);
}

/* --- rows out and back in (the state file) */

static void
copy_row(void *arg, const struct snapshot_stored *r)
{
	assert_true(snapshot_add_stored(arg, r));
}

static void
test_snapshot_each_row_add_stored(void **state)
{
	struct fixture fx, *f = &fx;
	struct snapshot *b;
	char buf[8192];

	(void)state;
	fixture_init(f);
	add(f, "Example.COM", "may", true);
	add(f, "bad.example", "bogus", true);
	add(f, "dup.example", "may", true);
	add(f, "dup.example.", "encrypt", true);
	add(f, ".parent.example", "verify", true);
	snapshot_add_row_until(f->s, &f->opts, "soon.example", "none", NULL,
	    true, 100, "why", &f->res);
	snapshot_add_row_until(f->s, &f->opts, "gone.example", "none", NULL,
	    true, 50, NULL, &f->res);
	snapshot_remove_target(f->s, "gone.example");
	b = snapshot_new(0);
	/* removed rows are not shown; the others once each */
	assert_int_equal(snapshot_each_row(f->s, copy_row, b), 6);
	assert_int_equal(snapshot_rows(b), 6);
	assert_int_equal(snapshot_diff(f->s, b, NULL, NULL), 0);
	assert_int_equal(lookup(b, "mx.parent.example", true, buf,
	    sizeof(buf)), SNAPSHOT_FOUND);
	assert_string_equal(buf, "verify");
	assert_int_equal(lookup(b, "dup.example", true, buf, sizeof(buf)),
	    SNAPSHOT_CONFLICT);
	assert_true(snapshot_next_expiry(b) == 100);
	assert_int_equal(snapshot_expire(b, 100, NULL, NULL), 1);
	assert_int_equal(lookup(b, "soon.example", true, buf, sizeof(buf)),
	    SNAPSHOT_NONE);
	snapshot_free(b);
	snapshot_free(f->s);
}

static void
test_snapshot_add_stored_refuses(void **state)
{
	struct snapshot *s = snapshot_new(0);
	struct snapshot_stored ok = {"a.example", 9, "A.example", 9, "may", 3,
	    false, INFINITY, NULL};
	struct snapshot_stored r;

	(void)state;
	assert_true(snapshot_add_stored(s, &ok));
	r = ok;
	r.key = "A.example";	/* not canonical */
	assert_false(snapshot_add_stored(s, &r));
	r = ok;
	r.keylen = 0;
	assert_false(snapshot_add_stored(s, &r));
	r = ok;
	r.text = "may\x01";	/* a policy is printable ASCII */
	r.textlen = 4;
	assert_false(snapshot_add_stored(s, &r));
	r.invalid = true;	/* a reason may quote any target */
	assert_true(snapshot_add_stored(s, &r));
	r = ok;
	r.text = "m\0y";
	assert_false(snapshot_add_stored(s, &r));
	r = ok;
	r.expires = NAN;
	assert_false(snapshot_add_stored(s, &r));
	r = ok;
	r.comment = "no expiry";
	assert_false(snapshot_add_stored(s, &r));
	r = ok;
	r.targetlen = 0;
	assert_false(snapshot_add_stored(s, &r));
	assert_int_equal(snapshot_rows(s), 2);
	snapshot_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_add_and_lookup),
		cmocka_unit_test(test_snapshot_invalid_row_text_names_target),
		cmocka_unit_test(test_snapshot_bad_target_not_stored),
		cmocka_unit_test(test_snapshot_wildcard_target_answers_temp),
		cmocka_unit_test(
		    test_snapshot_wildcard_beside_its_correction_conflicts),
		cmocka_unit_test(test_snapshot_parent_walk),
		cmocka_unit_test(
		    test_snapshot_parent_row_not_for_domain_itself),
		cmocka_unit_test(test_snapshot_invalid_stops_walk),
		cmocka_unit_test(
		    test_snapshot_invisible_label_is_not_a_parent_row),
		cmocka_unit_test(test_snapshot_conflict),
		cmocka_unit_test(test_snapshot_remove_target),
		cmocka_unit_test(test_snapshot_waste_after_remove),
		cmocka_unit_test(test_snapshot_grows_beyond_hint),
		cmocka_unit_test(test_snapshot_free_null),
		cmocka_unit_test(test_snapshot_diff),
		cmocka_unit_test(test_snapshot_expiry),
		cmocka_unit_test(test_snapshot_expiry_after_remove),
		cmocka_unit_test(test_snapshot_expiry_ends_conflict),
		cmocka_unit_test(test_snapshot_expiry_order),
		cmocka_unit_test(test_snapshot_expiry_comment_bounded),
		cmocka_unit_test(test_snapshot_expiry_diff),
		cmocka_unit_test(test_snapshot_each_row_add_stored),
		cmocka_unit_test(test_snapshot_add_stored_refuses),
		cmocka_unit_test(test_snapshot_counts),
	};

	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
