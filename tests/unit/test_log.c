/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_log - how untrusted strings are shown: log_quote(), what --check
 * prints for a target (UTF-8 kept, the rest escaped, quoted when needed,
 * cut with "..."), and log_printable(), what log lines carry.
 */
#include "test.h"

#include <stdbool.h>
#include <string.h>

#include "log.h"

static const struct {
	const char *label;
	const char *in;
	size_t len;
	const char *want;
} quote_cases[] = {
	{"plain ASCII as it is", S("mx.example.com"), "mx.example.com"},
	{"UTF-8 kept (two-byte)", S("b\xc3\xbc" "cher.example"),
	    "b\xc3\xbc" "cher.example"},
	{"UTF-8 kept (three-byte)", S("\xe4\xbe\x8b.example"),
	    "\xe4\xbe\x8b.example"},
	{"UTF-8 kept (four-byte)", S("\xf0\x9f\x93\xa7.example"),
	    "\xf0\x9f\x93\xa7.example"},
	{"A-label as it is", S("xn--bcher-kva.example"),
	    "xn--bcher-kva.example"},
	{"empty: quoted", S(""), "\"\""},
	{"space: quoted", S("a b.example"), "\"a b.example\""},
	{"trailing space: quoted", S("example.com "), "\"example.com \""},
	{"tab escaped", S("a\tb"), "\"a\\tb\""},
	{"newline escaped", S("a\nb"), "\"a\\nb\""},
	{"carriage return escaped", S("a\rb"), "\"a\\rb\""},
	{"other C0 control as \\xHH", S("a\x01" "b"), "\"a\\x01b\""},
	{"NUL inside as \\x00", S("a\0b"), "\"a\\x00b\""},
	{"DEL as \\x7f", S("a\x7f" "b"), "\"a\\x7fb\""},
	{"quote escaped", S("a\"b"), "\"a\\\"b\""},
	{"backslash escaped", S("a\\b"), "\"a\\\\b\""},
	{"stray continuation byte", S("a\x80" "b"), "\"a\\x80b\""},
	{"Latin-1 byte, not UTF-8", S("b\xfc" "cher"), "\"b\\xfccher\""},
	{"cut-short sequence at the end", S("ab\xc3"), "\"ab\\xc3\""},
	{"cut-short three-byte sequence", S("\xe4\xbe" "x"),
	    "\"\\xe4\\xbex\""},
	{"overlong '/'", S("\xc0\xaf"), "\"\\xc0\\xaf\""},
	{"overlong three-byte", S("\xe0\x80\xaf"), "\"\\xe0\\x80\\xaf\""},
	{"surrogate", S("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\""},
	{"beyond U+10FFFF", S("\xf4\x90\x80\x80"),
	    "\"\\xf4\\x90\\x80\\x80\""},
	{"F5 never starts a sequence", S("\xf5\x80\x80\x80"),
	    "\"\\xf5\\x80\\x80\\x80\""},
	{"C1 control (U+0085)", S("a\xc2\x85" "b"), "\"a\\u0085b\""},
	{"no-break space (U+00A0)", S("a\xc2\xa0" "b"), "\"a\\u00a0b\""},
	{"soft hyphen (U+00AD)", S("a\xc2\xad" "b"), "\"a\\u00adb\""},
	{"zero-width space (U+200B)", S("a\xe2\x80\x8b" "b"),
	    "\"a\\u200bb\""},
	{"right-to-left override (U+202E)", S("a\xe2\x80\xae" "b"),
	    "\"a\\u202eb\""},
	{"ideographic space (U+3000)", S("a\xe3\x80\x80" "b"),
	    "\"a\\u3000b\""},
	{"byte order mark (U+FEFF)", S("\xef\xbb\xbf" "a"), "\"\\ufeffa\""},
	{"tag character (U+E0041)", S("a\xf3\xa0\x81\x81"),
	    "\"a\\U000e0041\""},
	{"last code point kept", S("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf"},
	{"U+00A1 kept", S("\xc2\xa1"), "\xc2\xa1"},
	{"U+2010 hyphen kept", S("a\xe2\x80\x90" "b"), "a\xe2\x80\x90" "b"},
	{"UTF-8 kept inside quotes", S("b\xc3\xbc" "cher example"),
	    "\"b\xc3\xbc" "cher example\""},
};

static void
test_log_quote_cases(void **state)
{
	char buf[LOG_QUOTE_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
		const char *got = log_quote(quote_cases[i].in,
		    quote_cases[i].len, buf);

		assert_true(got == buf);
		case_mem_equal(quote_cases[i].label, got, strlen(got),
		    quote_cases[i].want, strlen(quote_cases[i].want));
	}
}

/* Never "??": the bug log_quote() fixes in --check. */
static void
test_log_quote_never_question_marks(void **state)
{
	char buf[LOG_QUOTE_SIZE];

	(void)state;
	assert_null(strchr(log_quote(S("\xc3\xa9t\xc3\xa9.example"), buf),
	    '?'));
	assert_null(strchr(log_quote(S("\xff\xfe"), buf), '?'));
}

/* A target of TARGET_MAX_LEN bytes fits whole. */
static void
test_log_quote_longest_target_fits(void **state)
{
	char in[TARGET_MAX_LEN], want[TARGET_MAX_LEN + 3];
	char buf[LOG_QUOTE_SIZE];

	(void)state;
	memset(in, 'a', sizeof(in));
	log_quote(in, sizeof(in), buf);
	assert_int_equal(strlen(buf), TARGET_MAX_LEN);
	assert_memory_equal(buf, in, sizeof(in));
	in[10] = ' ';
	log_quote(in, sizeof(in), buf);
	want[0] = '"';
	memcpy(want + 1, in, sizeof(in));
	want[TARGET_MAX_LEN + 1] = '"';
	want[TARGET_MAX_LEN + 2] = '\0';
	assert_string_equal(buf, want);
}

/*
 * Too long to fit: quoted, cut at a whole character (never inside an
 * escape or a UTF-8 sequence), then "...", within the buffer.
 */
static void
test_log_quote_cut(void **state)
{
	char in[2 * LOG_QUOTE_SIZE], buf[LOG_QUOTE_SIZE + 16];
	size_t i, n;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	memset(in, 'a', sizeof(in));
	log_quote(in, sizeof(in), buf);
	n = strlen(buf);
	assert_true(n < LOG_QUOTE_SIZE);
	assert_int_equal(buf[LOG_QUOTE_SIZE], 'Z');
	assert_int_equal(buf[0], '"');
	assert_string_equal(buf + n - 4, "\"...");

	/* two-byte characters: the cut never splits one */
	for (i = 0; i + 1 < sizeof(in); i += 2) {
		in[i] = '\xc3';
		in[i + 1] = '\xbc';
	}
	log_quote(in, sizeof(in), buf);
	n = strlen(buf);
	assert_true(n < LOG_QUOTE_SIZE);
	assert_string_equal(buf + n - 6, "\xc3\xbc\"...");

	/* escapes: the cut never splits "\x01" */
	memset(in, '\x01', sizeof(in));
	log_quote(in, sizeof(in), buf);
	n = strlen(buf);
	assert_true(n < LOG_QUOTE_SIZE);
	assert_int_equal((n - 1 - 4) % 4, 0);
	assert_string_equal(buf + n - 8, "\\x01\"...");

	/* 200 control bytes: 800 bytes of escapes, quoted, not cut */
	memset(in, '\x01', 200);
	log_quote(in, 200, buf);
	assert_int_equal(strlen(buf), 802);
	assert_int_equal(buf[801], '"');
}

/* log_printable() is unchanged: ASCII only, 200 bytes. */
static void
test_log_printable_ascii_only(void **state)
{
	char buf[LOG_PRINTABLE_SIZE];
	char in[300];

	(void)state;
	assert_string_equal(log_printable(S("b\xc3\xbc" "c\n"), buf),
	    "b??c?");
	memset(in, 'x', sizeof(in));
	log_printable(in, sizeof(in), buf);
	assert_int_equal(strlen(buf), 203);
	assert_string_equal(buf + 200, "...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_quote_cases),
		cmocka_unit_test(test_log_quote_never_question_marks),
		cmocka_unit_test(test_log_quote_longest_target_fits),
		cmocka_unit_test(test_log_quote_cut),
		cmocka_unit_test(test_log_printable_ascii_only),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
