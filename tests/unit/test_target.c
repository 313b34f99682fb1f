/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_target - one canonical form for table targets and lookup keys
 * (docs/architecture.md, decision 4) and the parent walk (decision 5;
 * Postfix's smtp_tls_policy.c).
 */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

#define case_string_equal(label, got, want)                                   \
	do {                                                                  \
		if (strcmp((got), (want)) != 0)                               \
			fprintf(stderr, "case \"%s\": got \"%s\", want "      \
			    "\"%s\"\n", (label), (got), (want));              \
		assert_string_equal((got), (want));                           \
	} while (0)

struct canon_case {
	const char *label;
	const char *in;
	size_t len;
	enum target_status want;
	const char *canon;
	bool walk;
};

static void
check_canon(const struct canon_case *c)
{
	struct target t;

	memset(&t, 0x5a, sizeof(t));
	case_int_equal(c->label, target_canon(c->in, c->len, &t), c->want);
	if (c->want == TARGET_NEVER) {
		/* nothing half-written is left behind */
		case_string_equal(c->label, t.canon, "");
		case_int_equal(c->label, t.len, 0);
		case_int_equal(c->label, t.walk, false);
		return;
	}
	case_string_equal(c->label, t.canon, c->canon);
	case_int_equal(c->label, t.len, strlen(c->canon));
	case_int_equal(c->label, t.walk, c->walk);
}

static void
check_table(const struct canon_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_canon(&cases[i]);
}

#define CHECK_TABLE(t) check_table((t), sizeof(t) / sizeof((t)[0]))

/* --- host names: case, dots, Postfix's valid_hostname() for the walk */

/* 63 letters: Postfix's VALID_LABEL_LEN */
#define LABEL63                                                               \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct canon_case host_cases[] = {
	{"lowercase", S("Example.COM"), TARGET_OK, "example.com", true},
	{"already canonical", S("example.com"), TARGET_OK, "example.com",
	    true},
	{"single label", S("localhost"), TARGET_OK, "localhost", true},
	{"trailing dot stripped, not walked", S("Example.com."), TARGET_OK,
	    "example.com", false},
	{"leading dot walks", S(".Example.COM"), TARGET_OK, ".example.com",
	    true},
	{"leading dot, one label", S(".com"), TARGET_OK, ".com", true},
	{"all numeric: not walked", S("123"), TARGET_OK, "123", false},
	{"all-numeric labels: not walked", S("1.2.3"), TARGET_OK, "1.2.3",
	    false},
	{"one letter makes it a name", S("1.2.3a"), TARGET_OK, "1.2.3a",
	    true},
	/* Postfix: a hyphen is no letter, so "1-2.3" is numeric */
	{"digits and hyphens only: not walked", S("1-2.3"), TARGET_OK,
	    "1-2.3", false},
	{"leading dot, digits and hyphens: not walked", S(".1-2.3"),
	    TARGET_OK, ".1-2.3", false},
	{"a letter after a hyphen: walked", S("1-a.2"), TARGET_OK, "1-a.2",
	    true},
	{"hyphen inside a label", S("mx-1.example"), TARGET_OK,
	    "mx-1.example", true},
	{"hyphen starts a label", S("-mx.example"), TARGET_OK, "-mx.example",
	    false},
	{"hyphen starts an inner label", S("mx.-a.example"), TARGET_OK,
	    "mx.-a.example", false},
	{"hyphen ends a label", S("mx-.example"), TARGET_OK, "mx-.example",
	    false},
	{"hyphen ends the name", S("example.mx-"), TARGET_OK, "example.mx-",
	    false},
	{"underscore allowed", S("_Smtp.Example"), TARGET_OK,
	    "_smtp.example", true},
	{"underscore inside", S("a_b.example"), TARGET_OK, "a_b.example",
	    true},
	{"empty label", S("a..example"), TARGET_OK, "a..example", false},
	{"label of 63", S(LABEL63 ".example"), TARGET_OK, LABEL63 ".example",
	    true},
	{"label of 64", S(LABEL63 "a.example"), TARGET_OK,
	    LABEL63 "a.example", false},
	{"other punctuation kept, not walked", S("a!b.example"), TARGET_OK,
	    "a!b.example", false},
	{"a dot alone", S("."), TARGET_OK, ".", false},
};

static void
test_target_host_names(void **state)
{
	(void)state;
	CHECK_TABLE(host_cases);
}

/* 255 bytes is Postfix's VALID_HOSTNAME_LEN; 256 is not walked. */
static void
test_target_hostname_length_limit(void **state)
{
	static const struct {
		const char *label;
		size_t len;
		bool walk;
	} cases[] = {
		{"255 bytes", 255, true},
		{"256 bytes", 256, false},
	};
	char name[300];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct target t;

		/* labels of 49 letters and a dot */
		for (k = 0; k < cases[i].len; k++)
			name[k] = (k % 50 == 49) ? '.' : 'h';
		if (name[cases[i].len - 1] == '.')
			name[cases[i].len - 1] = 'h';
		case_int_equal(cases[i].label, target_canon(name, cases[i].len,
		    &t), TARGET_OK);
		case_int_equal(cases[i].label, t.len, cases[i].len);
		case_int_equal(cases[i].label, t.walk, cases[i].walk);
	}
}

/* --- IDNA: U-labels to A-labels, both ways of writing one name */

static const struct canon_case idna_cases[] = {
	{"mixed case U-label", S("B\xc3\xbc" "cher.Example"), TARGET_OK,
	    "xn--bcher-kva.example", true},
	{"lowercase U-label", S("b\xc3\xbc" "cher.example"), TARGET_OK,
	    "xn--bcher-kva.example", true},
	{"A-label", S("xn--bcher-kva.example"), TARGET_OK,
	    "xn--bcher-kva.example", true},
	{"A-label upper case", S("XN--BCHER-KVA.EXAMPLE"), TARGET_OK,
	    "xn--bcher-kva.example", true},
	{"non-ASCII upper case", S("B\xc3\x9c" "CHER.EXAMPLE"), TARGET_OK,
	    "xn--bcher-kva.example", true},
	{"decomposed u + diaeresis (NFC)", S("bu\xcc\x88" "cher.example"),
	    TARGET_OK, "xn--bcher-kva.example", true},
	{"U-label with leading dot", S(".b\xc3\xbc" "cher.example"),
	    TARGET_OK, ".xn--bcher-kva.example", true},
	{"U-label with trailing dot", S("b\xc3\xbc" "cher.example."),
	    TARGET_OK, "xn--bcher-kva.example", false},
	{"U-label in brackets", S("[B\xc3\xbc" "cher.example]:25"),
	    TARGET_OK, "[xn--bcher-kva.example]:25", false},
	{"U-label with port", S("b\xc3\xbc" "cher.example:587"), TARGET_OK,
	    "xn--bcher-kva.example:587", false},
};

static void
test_target_idna(void **state)
{
	(void)state;
	CHECK_TABLE(idna_cases);
}

/* --- IP literals: one spelling each; ports and brackets kept */

static const struct canon_case literal_cases[] = {
	{"IPv6 mixed case", S("[IPv6:2001:DB8::1]"), TARGET_OK,
	    "[ipv6:2001:db8::1]", false},
	{"IPv6 uncompressed", S("[ipv6:2001:db8:0:0:0:0:0:1]"), TARGET_OK,
	    "[ipv6:2001:db8::1]", false},
	{"IPv6 without the prefix", S("[2001:db8::1]"), TARGET_OK,
	    "[ipv6:2001:db8::1]", false},
	{"IPv6 partly compressed", S("[IPv6:2001:DB8:0::1]"), TARGET_OK,
	    "[ipv6:2001:db8::1]", false},
	{"bare IPv6", S("2001:db8::1"), TARGET_OK, "[ipv6:2001:db8::1]",
	    false},
	{"IPv6 loopback with port", S("[ipv6:::1]:2525"), TARGET_OK,
	    "[ipv6:::1]:2525", false},
	{"IPv6 with port, other spelling", S("[IPv6:0:0::1]:2525"),
	    TARGET_OK, "[ipv6:::1]:2525", false},
	{"IPv4 in brackets", S("[192.0.2.1]"), TARGET_OK, "[192.0.2.1]",
	    false},
	{"bare IPv4 gets brackets", S("192.0.2.1"), TARGET_OK, "[192.0.2.1]",
	    false},
	{"IPv4 with port", S("[192.0.2.1]:25"), TARGET_OK, "[192.0.2.1]:25",
	    false},
	{"ipv6 prefix on an IPv4 address kept", S("[IPv6:192.0.2.1]"),
	    TARGET_OK, "[ipv6:192.0.2.1]", false},
	{"bracketed host with port", S("[MX.Example.NET]:2525"), TARGET_OK,
	    "[mx.example.net]:2525", false},
	{"bracketed host", S("[mx.example.net]"), TARGET_OK,
	    "[mx.example.net]", false},
	{"host with port: exact only", S("mx.example.com:587"), TARGET_OK,
	    "mx.example.com:587", false},
	{"service name port lowercased", S("MX.Example.com:SMTP"),
	    TARGET_OK, "mx.example.com:smtp", false},
	{"LMTP socket path: exact only", S("private/lmtp"), TARGET_OK,
	    "private/lmtp", false},
	{"unclosed bracket kept", S("[mx.example"), TARGET_OK, "[mx.example",
	    false},
};

static void
test_target_literals_ports_paths(void **state)
{
	(void)state;
	CHECK_TABLE(literal_cases);
}

/* --- keys that can never match */

static const struct canon_case never_cases[] = {
	{"empty", S(""), TARGET_NEVER, NULL, false},
	{"space", S("a b.example"), TARGET_NEVER, NULL, false},
	{"leading space", S(" example.com"), TARGET_NEVER, NULL, false},
	{"tab", S("example.com\t"), TARGET_NEVER, NULL, false},
	{"newline", S("example.com\n"), TARGET_NEVER, NULL, false},
	{"NUL", S("a\0b"), TARGET_NEVER, NULL, false},
	{"DEL", S("a\x7f" "b"), TARGET_NEVER, NULL, false},
	{"escape", S("\x1b[0m"), TARGET_NEVER, NULL, false},
	{"wildcard", S("*.example.com"), TARGET_NEVER, NULL, false},
	{"lone star", S("*"), TARGET_NEVER, NULL, false},
	{"overlong 2-byte '/'", S("a\xc0\xaf" "b"), TARGET_NEVER, NULL,
	    false},
	{"overlong 3-byte '/'", S("a\xe0\x80\xaf" "b"), TARGET_NEVER, NULL,
	    false},
	{"overlong 4-byte", S("\xf0\x8f\xbf\xbf"), TARGET_NEVER, NULL,
	    false},
	{"surrogate U+D800", S("\xed\xa0\x80.example"), TARGET_NEVER, NULL,
	    false},
	{"surrogate U+DFFF", S("\xed\xbf\xbf.example"), TARGET_NEVER, NULL,
	    false},
	{"beyond U+10FFFF", S("\xf4\x90\x80\x80"), TARGET_NEVER, NULL, false},
	{"truncated 2-byte at end", S("b\xc3"), TARGET_NEVER, NULL, false},
	{"truncated 3-byte at end", S("\xe2\x82"), TARGET_NEVER, NULL, false},
	{"truncated sequence mid-string", S("b\xc3" "cher.example"),
	    TARGET_NEVER, NULL, false},
	{"stray continuation byte", S("\x80.example"), TARGET_NEVER, NULL,
	    false},
	{"byte 0xff", S("\xff"), TARGET_NEVER, NULL, false},
	{"Latin-1 u-umlaut", S("b\xfc" "cher.example"), TARGET_NEVER, NULL,
	    false},
};

static void
test_target_never_matches(void **state)
{
	(void)state;
	CHECK_TABLE(never_cases);
}

/*
 * --- "*.X" as a table target: the key ".X" it was meant for, so the row
 * can answer TEMP there (the snapshot stores it invalid).  Anything else
 * is no wildcard, and a key "*.X" stays TARGET_NEVER (never_cases).
 */

static const struct canon_case wildcard_cases[] = {
	{"wildcard", S("*.example.com"), TARGET_OK, ".example.com", true},
	{"upper case", S("*.Example.COM"), TARGET_OK, ".example.com", true},
	{"one label", S("*.com"), TARGET_OK, ".com", true},
	{"U-label", S("*.B\xc3\xbc" "cher.example"), TARGET_OK,
	    ".xn--bcher-kva.example", true},
	{"star alone", S("*"), TARGET_NEVER, NULL, false},
	{"star and dot", S("*."), TARGET_NEVER, NULL, false},
	{"no dot after the star", S("*example.com"), TARGET_NEVER, NULL,
	    false},
	{"star inside", S("mx.*.example.com"), TARGET_NEVER, NULL, false},
	{"two stars", S("*.*.example.com"), TARGET_NEVER, NULL, false},
	{"empty label after the star", S("*..example.com"), TARGET_NEVER,
	    NULL, false},
	{"trailing dot: not a host name", S("*.example.com."), TARGET_NEVER,
	    NULL, false},
	{"numeric: not a host name", S("*.1-2.3"), TARGET_NEVER, NULL, false},
	{"an address", S("*.192.0.2.1"), TARGET_NEVER, NULL, false},
	{"a port", S("*.example.com:25"), TARGET_NEVER, NULL, false},
	{"brackets", S("*.[example.com]"), TARGET_NEVER, NULL, false},
	{"a space", S("*.exa mple.com"), TARGET_NEVER, NULL, false},
	{"no star: a plain name is no wildcard", S("example.com"),
	    TARGET_NEVER, NULL, false},
	{"no star: a leading dot is no wildcard", S(".example.com"),
	    TARGET_NEVER, NULL, false},
};

static void
test_target_wildcard(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(wildcard_cases) / sizeof(wildcard_cases[0]);
	    i++) {
		const struct canon_case *c = &wildcard_cases[i];
		struct target t;
		bool want = c->want == TARGET_OK;

		memset(&t, 0x5a, sizeof(t));
		case_int_equal(c->label, target_wildcard(c->in, c->len, &t),
		    want);
		case_string_equal(c->label, t.canon, want ? c->canon : "");
		case_int_equal(c->label, t.len, want ? strlen(c->canon) : 0);
		case_int_equal(c->label, t.walk, c->walk);
	}
}

/* --- TARGET_MAX_LEN: exact fit and one over */

static void
test_target_length_limit(void **state)
{
	static char in[TARGET_MAX_LEN + 2];
	struct target t;

	(void)state;
	memset(in, 'A', sizeof(in));
	in[0] = 'p';
	in[7] = '/';		/* a long LMTP path: "pAAAAAA/AAA..." */
	assert_int_equal(target_canon(in, TARGET_MAX_LEN, &t), TARGET_OK);
	assert_int_equal(t.len, TARGET_MAX_LEN);
	assert_int_equal(t.canon[0], 'p');
	assert_int_equal(t.canon[TARGET_MAX_LEN - 1], 'a');
	assert_int_equal(t.canon[TARGET_MAX_LEN], '\0');
	assert_false(t.walk);

	assert_int_equal(target_canon(in, TARGET_MAX_LEN + 1, &t),
	    TARGET_NEVER);
	assert_int_equal(t.len, 0);

	/* a long host name of 1000 bytes: canonical, but not walked */
	memset(in, 'h', TARGET_MAX_LEN);
	assert_int_equal(target_canon(in, TARGET_MAX_LEN, &t), TARGET_OK);
	assert_false(t.walk);
}

/* --- the parent walk, in Postfix's order */

static const struct walk_case {
	const char *label;
	const char *in;
	const char *want[5];	/* NULL-terminated */
} walk_cases[] = {
	{"three labels", "a.b.c", {"a.b.c", ".b.c", ".c", NULL}},
	{"leading dot", ".b.c", {".b.c", ".c", NULL}},
	{"one label", "c", {"c", NULL}},
	{"leading dot, one label", ".c", {".c", NULL}},
	{"mixed case input", "Host.Sub.Example",
	    {"host.sub.example", ".sub.example", ".example", NULL}},
	{"U-label", "mx.b\xc3\xbc" "cher.example",
	    {"mx.xn--bcher-kva.example", ".xn--bcher-kva.example",
	    ".example", NULL}},
};

static void
test_target_parent_walk_order(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(walk_cases) / sizeof(walk_cases[0]); i++) {
		const struct walk_case *c = &walk_cases[i];
		struct target t;
		size_t off = 0;

		case_int_equal(c->label, target_canon(c->in, strlen(c->in),
		    &t), TARGET_OK);
		case_int_equal(c->label, t.walk, true);
		k = 0;
		do {
			assert_non_null(c->want[k]);
			case_string_equal(c->label, t.canon + off, c->want[k]);
			k++;
			assert_true(k < 5);
		} while (target_parent(t.canon, t.len, &off));
		if (c->want[k] != NULL)
			fprintf(stderr, "case \"%s\": walk stopped before "
			    "\"%s\"\n", c->label, c->want[k]);
		assert_null(c->want[k]);
		/* once done, it stays done */
		assert_false(target_parent(t.canon, t.len, &off));
	}
}

/*
 * Canonical forms are fixed points: a canonical string is also a spelling
 * of its destination, so canonicalising it again must not change it (a
 * row and a key only meet if they reach the same string).
 */
static const struct idem_case {
	const char *label;
	const char *in;
} idem_cases[] = {
	{"host", "Mail.Example.COM"},
	{"trailing dot", "example.com."},
	{"U-label", "B\xc3\xbc" "cher.Example"},
	{"IPv6", "[IPv6:2001:DB8:0::1]:25"},
	{"bare IPv4", "192.0.2.1"},
	{"bare IPv6", "::1"},
	{"host:port", "mx.example.com.:587"},
	{"path", "private/LMTP"},
	{"two dots", ".."},
	{"IPv4 in brackets with trailing dot", "[192.0.2.1.]"},
};

static bool
idempotent(const char *label, const char *in)
{
	struct target once, twice;

	if (target_canon(in, strlen(in), &once) != TARGET_OK) {
		fprintf(stderr, "case \"%s\": \"%s\" is TARGET_NEVER\n", label,
		    in);
		return false;
	}
	if (target_canon(once.canon, once.len, &twice) != TARGET_OK ||
	    strcmp(once.canon, twice.canon) != 0) {
		fprintf(stderr, "case \"%s\": \"%s\" -> \"%s\" -> \"%s\"\n",
		    label, in, once.canon, twice.canon);
		return false;
	}
	return true;
}

static void
test_target_canon_is_idempotent(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(idem_cases) / sizeof(idem_cases[0]); i++)
		assert_true(idempotent(idem_cases[i].label, idem_cases[i].in));
}

/*
 * Trailing dots are cut before anything else is decided, so what is left is
 * canonical already: a row "192.0.2.1." meets the key "[192.0.2.1]" Postfix
 * sends, as "example.com." meets "example.com", and "[2001:db8::1.]" is
 * the address [ipv6:2001:db8::1], not a host "2001:db8::1".  Every row is
 * checked and reported before the test fails.
 */
static const struct idem_case trailing_dot_cases[] = {
	{"IPv4 with a trailing dot", "192.0.2.1."},
	{"two trailing dots", "example.com.."},
	{"two trailing dots in brackets", "[mx.example.com..]"},
	{"two trailing dots before a port", "mx.example.com..:25"},
	{"three trailing dots", "example.com..."},
	{"bare IPv6 with a trailing dot", "2001:db8::1."},
	{"IPv4 in brackets with a trailing dot", "[192.0.2.1.]"},
	{"IPv6 in brackets with a trailing dot", "[2001:db8::1.]"},
	{"IPv6 any-address in brackets with a trailing dot", "[::.]"},
	{"host with a trailing dot, then \"::\"", "192.::"},
	{"host with a trailing dot, then \"::1\"", "1.::1"},
};

static void
test_target_canon_idempotent_after_trailing_dots(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(trailing_dot_cases) /
	    sizeof(trailing_dot_cases[0]); i++)
		if (!idempotent(trailing_dot_cases[i].label,
		    trailing_dot_cases[i].in))
			bad++;
	assert_int_equal(bad, 0);
}

/*
 * UTS #46 mapping without the STD3 rules turns some non-ASCII characters
 * into ASCII that target_canon() refuses as input: U+00A0 NO-BREAK SPACE
 * becomes ' ', U+FF0A FULLWIDTH ASTERISK becomes '*'.  It also deletes
 * U+00AD SOFT HYPHEN and maps fullwidth and superscript digits, so the
 * result can be an IPv4 address that the bare-address rule would have
 * bracketed.  The canonical form must itself be acceptable and canonical
 * (or the input TARGET_NEVER); otherwise a '*' row the design rejects is
 * stored as "*.example.com", and "\u00AD192.0.2.1" -> "192.0.2.1" ->
 * "[192.0.2.1]".
 */
static const struct idem_case idna_map_cases[] = {
	{"no-break space alone", "\xc2\xa0"},
	{"no-break space inside a name", "x\xc2\xa0y.example"},
	{"fullwidth asterisk", "\xef\xbc\x8a.example.com"},
	{"soft hyphen before an IPv4 address", "\xc2\xad" "192.0.2.1"},
	{"soft hyphen inside an IPv4 address", "192.0\xc2\xad.2.1"},
	{"fullwidth digits of an IPv4 address",
	    "\xef\xbc\x91\xef\xbc\x99\xef\xbc\x92.0.2.1"},
	{"superscript two ending an IPv4 address", "192.0.2.1\xc2\xb2"},
};

static void
test_target_idna_mapping_stays_acceptable(void **state)
{
	size_t i, k, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(idna_map_cases) / sizeof(idna_map_cases[0]);
	    i++) {
		const struct idem_case *c = &idna_map_cases[i];
		struct target t;

		if (target_canon(c->in, strlen(c->in), &t) == TARGET_NEVER)
			continue;
		for (k = 0; k < t.len; k++) {
			unsigned char ch = (unsigned char)t.canon[k];

			if (ch <= 0x20 || ch == 0x7f || ch == '*') {
				fprintf(stderr, "case \"%s\": canonical form "
				    "\"%s\" holds byte 0x%02x\n", c->label,
				    t.canon, ch);
				bad++;
				break;
			}
		}
		if (k == t.len && !idempotent(c->label, c->in))
			bad++;
	}
	assert_int_equal(bad, 0);
}

/*
 * UTS #46 also deletes "ignored" characters (U+00AD SOFT HYPHEN, U+200B
 * ZERO WIDTH SPACE).  A label made only of them must not vanish: the
 * canonical form would be empty (a key that can never match must be
 * TARGET_NEVER), or, worse, a host row "\u00AD.example.com" would become
 * the parent row ".example.com" and answer every subdomain.
 */
static const struct idem_case idna_ignored_cases[] = {
	{"soft hyphen alone", "\xc2\xad"},
	{"zero width space alone", "\xe2\x80\x8b"},
	{"soft-hyphen label before a domain", "\xc2\xad.example.com"},
	{"soft-hyphen label inside a name", "a.\xc2\xad.example"},
};

static void
test_target_idna_never_empties_a_label(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(idna_ignored_cases) /
	    sizeof(idna_ignored_cases[0]); i++) {
		const struct idem_case *c = &idna_ignored_cases[i];
		struct target t;

		if (target_canon(c->in, strlen(c->in), &t) == TARGET_NEVER)
			continue;
		if (t.len == 0 || t.canon[0] == '.' ||
		    strstr(t.canon, "..") != NULL ||
		    t.canon[t.len - 1] == '.') {
			fprintf(stderr, "case \"%s\": canonical form \"%s\" "
			    "has an empty label%s\n", c->label, t.canon,
			    t.canon[0] == '.' ? " (a parent key)" : "");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/*
 * TARGET_MAX_LEN bounds the input; IDNA can make the canonical form
 * longer.  A canonical form is itself input, so it must fit the input
 * bound and be a fixed point -- or the key is TARGET_NEVER.  Input:
 * "bücher.example:" (16 bytes) and a numeric port; the A-label adds 6.
 */
static void
test_target_canon_idempotent_near_length_limit(void **state)
{
	static const struct {
		const char *label;
		size_t len;		/* input bytes */
		bool must_fit;	/* the canonical form fits exactly */
	} cases[] = {
		{"canonical form of exactly TARGET_MAX_LEN", TARGET_MAX_LEN - 6,
		    true},
		{"canonical form one over", TARGET_MAX_LEN - 5, false},
		{"input of exactly TARGET_MAX_LEN", TARGET_MAX_LEN, false},
	};
	static const char host[] = "b\xc3\xbc" "cher.example:";
	static char in[TARGET_MAX_LEN + 1];
	size_t hl = sizeof(host) - 1, i;

	(void)state;
	memcpy(in, host, hl);
	memset(in + hl, '9', TARGET_MAX_LEN - hl);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct target once, twice;
		enum target_status st;

		st = target_canon(in, cases[i].len, &once);
		if (cases[i].must_fit) {
			case_int_equal(cases[i].label, st, TARGET_OK);
			case_int_equal(cases[i].label, once.len,
			    TARGET_MAX_LEN);
		}
		if (st == TARGET_NEVER)
			continue;
		if (once.len > TARGET_MAX_LEN)
			fprintf(stderr, "case \"%s\": the canonical form has "
			    "%zu bytes\n", cases[i].label, once.len);
		assert_true(once.len <= TARGET_MAX_LEN);
		case_int_equal(cases[i].label, target_canon(once.canon,
		    once.len, &twice), TARGET_OK);
		case_string_equal(cases[i].label, twice.canon, once.canon);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_host_names),
		cmocka_unit_test(test_target_hostname_length_limit),
		cmocka_unit_test(test_target_idna),
		cmocka_unit_test(test_target_literals_ports_paths),
		cmocka_unit_test(test_target_never_matches),
		cmocka_unit_test(test_target_wildcard),
		cmocka_unit_test(test_target_length_limit),
		cmocka_unit_test(test_target_parent_walk_order),
		cmocka_unit_test(test_target_canon_is_idempotent),
		cmocka_unit_test(
		    test_target_canon_idempotent_after_trailing_dots),
		cmocka_unit_test(
		    test_target_canon_idempotent_near_length_limit),
		cmocka_unit_test(test_target_idna_mapping_stays_acceptable),
		cmocka_unit_test(test_target_idna_never_empties_a_label),
	};

	return cmocka_run_group_tests_name("target", tests, NULL, NULL);
}
