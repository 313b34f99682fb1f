/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hostname - Postfix's valid_hostname() (util/valid_hostname.c), the
 * one test of "is this a host name" that target (the parent walk) and
 * policy (match=, servername=) share.  Every row is what Postfix's own
 * function answers for the same bytes.
 */
#include "test.h"

#include <stdbool.h>
#include <string.h>

#include "hostname.h"

/* 63 letters: Postfix's VALID_LABEL_LEN */
#define LABEL63                                                               \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
	const char *label;
	const char *in;
	size_t len;
	bool want;
} valid_cases[] = {
	{"a name", S("mx.example.com"), true},
	{"one label", S("localhost"), true},
	{"upper case", S("MX.Example.COM"), true},
	{"digits and letters", S("mx1.example"), true},
	{"one letter makes it a name", S("1.2.3a"), true},
	{"a letter after a hyphen", S("1-a.2"), true},
	{"hyphen inside a label", S("mx-1.example"), true},
	{"two hyphens inside a label", S("xn--bcher-kva.example"), true},
	{"underscore allowed", S("_smtp._tcp.example"), true},
	{"underscore counts as a letter", S("1_2.3"), true},
	{"underscore alone", S("_"), true},
	{"label of 63", S(LABEL63 ".example"), true},
	{"label of 63 with a hyphen", S("a-" LABEL63), false},
	{"label of 64", S(LABEL63 "a.example"), false},
	{"all numeric", S("123"), false},
	{"all-numeric labels", S("1.2.3"), false},
	{"digits and hyphens only (1-2.3)", S("1-2.3"), false},
	{"an IPv4 address", S("192.0.2.1"), false},
	{"empty", S(""), false},
	{"leading dot", S(".example.com"), false},
	{"trailing dot", S("example.com."), false},
	{"a dot alone", S("."), false},
	{"empty label", S("a..example"), false},
	{"hyphen starts the name", S("-mx.example"), false},
	{"hyphen starts a label", S("mx.-a.example"), false},
	{"hyphen ends a label", S("mx-.example"), false},
	{"hyphen ends the name", S("example.mx-"), false},
	{"a hyphen alone", S("-"), false},
	{"space", S("a b.example"), false},
	{"wildcard", S("*.example.com"), false},
	{"colon", S("mx.example:25"), false},
	{"brackets", S("[mx.example]"), false},
	{"NUL inside", S("a\0b.example"), false},
	{"non-ASCII", S("b\xc3\xbc" "cher.example"), false},
	{"DEL", S("a\x7f" "b"), false},
};

static void
test_hostname_valid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++)
		case_int_equal(valid_cases[i].label,
		    hostname_valid(valid_cases[i].in, valid_cases[i].len),
		    valid_cases[i].want);
}

/* 255 bytes is Postfix's VALID_HOSTNAME_LEN. */
static void
test_hostname_length_limit(void **state)
{
	static const struct {
		const char *label;
		size_t len;
		bool want;
	} cases[] = {
		{"254 bytes", 254, true},
		{"255 bytes", HOSTNAME_MAX_LEN, true},
		{"256 bytes", HOSTNAME_MAX_LEN + 1, false},
		{"1000 bytes", 1000, false},
	};
	char name[1001];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* labels of 49 letters and a dot, never a dot at the end */
		for (k = 0; k < cases[i].len; k++)
			name[k] = (k % 50 == 49) ? '.' : 'h';
		if (name[cases[i].len - 1] == '.')
			name[cases[i].len - 1] = 'h';
		case_int_equal(cases[i].label, hostname_valid(name,
		    cases[i].len), cases[i].want);
	}
}

/* Only len bytes are read: what follows does not matter. */
static void
test_hostname_reads_only_len_bytes(void **state)
{
	static const char buf[] = "mx.example.-";

	(void)state;
	assert_true(hostname_valid(buf, strlen("mx.example")));
	assert_false(hostname_valid(buf, strlen("mx.example.")));
	/* the letter after the first five bytes is not seen */
	assert_false(hostname_valid("1-2.3a", 5));
	assert_true(hostname_valid("1-2.3a", 6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostname_valid),
		cmocka_unit_test(test_hostname_length_limit),
		cmocka_unit_test(test_hostname_reads_only_len_bytes),
	};

	return cmocka_run_group_tests_name("hostname", tests, NULL, NULL);
}
