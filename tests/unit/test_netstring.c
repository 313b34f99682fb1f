/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_netstring - the socketmap framing (Postfix's netstring.c, and the
 * limits in bounds.h): every must-have row (empty, exact fit, one over,
 * missing ':' or ',', leading zeros, non-digit), byte-by-byte feeding,
 * pipelined frames and the header encoder.
 */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "netstring.h"

static const char *
status_name(enum netstring_status st)
{
	switch (st) {
	case NETSTRING_NEED_MORE:
		return "NEED_MORE";
	case NETSTRING_OK:
		return "OK";
	case NETSTRING_ERR_FORMAT:
		return "ERR_FORMAT";
	case NETSTRING_ERR_SIZE:
		return "ERR_SIZE";
	}
	return "?";
}

/*
 * Decode exactly len bytes from a heap copy of exactly len bytes (cmocka
 * checks the guard bytes around it when it is freed).
 */
static enum netstring_status
decode_exact(const char *in, size_t len, size_t max, const char **payload,
    size_t *plen, size_t *consumed, char **copy)
{
	*copy = test_malloc(len ? len : 1);
	assert_non_null(*copy);
	if (len > 0)
		memcpy(*copy, in, len);
	*payload = NULL;
	*plen = (size_t)-1;
	*consumed = (size_t)-1;
	return netstring_decode(*copy, len, max, payload, plen, consumed);
}

static void
check_decode(const char *label, const char *in, size_t len, size_t max,
    enum netstring_status want, const char *want_payload, size_t want_plen,
    size_t want_consumed)
{
	const char *payload;
	size_t plen, consumed;
	char *copy;
	enum netstring_status st;

	st = decode_exact(in, len, max, &payload, &plen, &consumed, &copy);
	if (st != want)
		fprintf(stderr, "case \"%s\": got %s, want %s\n", label,
		    status_name(st), status_name(want));
	assert_int_equal(st, want);
	if (want == NETSTRING_OK) {
		assert_non_null(payload);
		/* the payload is borrowed from the input */
		assert_true(payload >= copy && payload + plen <= copy + len);
		case_int_equal(label, consumed, want_consumed);
		case_mem_equal(label, payload, plen, want_payload, want_plen);
	}
	test_free(copy);
}

/* --- the table: one frame (or prefix, or garbage) each */

static const struct decode_case {
	const char *label;
	const char *in;
	size_t len;
	enum netstring_status want;
	const char *payload;
	size_t plen;
	size_t consumed;
} decode_cases[] = {
	{"empty input", S(""), NETSTRING_NEED_MORE, NULL, 0, 0},
	{"zero length", S("0:,"), NETSTRING_OK, S(""), 3},
	{"three bytes", S("3:abc,"), NETSTRING_OK, S("abc"), 6},
	{"request as Postfix sends it", S("17:tlspol ok.example,"),
	    NETSTRING_OK, S("tlspol ok.example"), 21},
	{"leading zeros", S("0006:OK may,"), NETSTRING_OK, S("OK may"), 12},
	{"five digits of zeros", S("00000:,"), NETSTRING_OK, S(""), 7},
	{"payload holds ':' and ','", S("5:a,b:c,"), NETSTRING_OK,
	    S("a,b:c"), 8},
	{"payload holds NUL", S("3:a\0b,"), NETSTRING_OK, S("a\0b"), 6},
	{"trailing bytes are not consumed", S("3:abc,XYZ"), NETSTRING_OK,
	    S("abc"), 6},
	{"six digits", S("123456"), NETSTRING_ERR_SIZE, NULL, 0, 0},
	{"six digits with colon", S("100000:"), NETSTRING_ERR_SIZE, NULL, 0,
	    0},
	{"six digits, leading zeros", S("000006:OK may,"),
	    NETSTRING_ERR_SIZE, NULL, 0, 0},
	{"one over the cap, header alone", S("10101:"), NETSTRING_ERR_SIZE,
	    NULL, 0, 0},
	{"largest five digits, header alone", S("99999:"),
	    NETSTRING_ERR_SIZE, NULL, 0, 0},
	{"empty length", S(":abc,"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"colon alone", S(":"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"non-digit in length", S("1a:"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"non-digit, no colon yet", S("1a"), NETSTRING_ERR_FORMAT, NULL, 0,
	    0},
	{"leading space", S(" 3:abc,"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"plus sign", S("+3:abc,"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"minus sign", S("-3:abc,"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"CR LF before the length", S("\r\n3:abc,"), NETSTRING_ERR_FORMAT,
	    NULL, 0, 0},
	{"missing ':', one digit", S("1"), NETSTRING_NEED_MORE, NULL, 0, 0},
	{"missing ':', two digits", S("12"), NETSTRING_NEED_MORE, NULL, 0,
	    0},
	{"missing ':', three digits", S("123"), NETSTRING_NEED_MORE, NULL, 0,
	    0},
	{"missing ':', four digits", S("1234"), NETSTRING_NEED_MORE, NULL, 0,
	    0},
	{"missing ':', five digits at the cap", S("10100"),
	    NETSTRING_NEED_MORE, NULL, 0, 0},
	{"header only", S("3:"), NETSTRING_NEED_MORE, NULL, 0, 0},
	{"partial payload", S("3:ab"), NETSTRING_NEED_MORE, NULL, 0, 0},
	{"payload without ','", S("3:abc"), NETSTRING_NEED_MORE, NULL, 0, 0},
	{"missing ','", S("3:abcX"), NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"newline instead of ','", S("3:abc\n"), NETSTRING_ERR_FORMAT, NULL,
	    0, 0},
	{"payload longer than its length", S("2:abc,"),
	    NETSTRING_ERR_FORMAT, NULL, 0, 0},
	{"zero length without ','", S("0:x"), NETSTRING_ERR_FORMAT, NULL, 0,
	    0},
};

static void
test_netstring_decode_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct decode_case *c = &decode_cases[i];

		check_decode(c->label, c->in, c->len, NETSTRING_MAX_PAYLOAD,
		    c->want, c->payload, c->plen, c->consumed);
	}
}

/* --- the cap: exact fit and one over, with the whole frame present */

/* "<n>:" + n bytes of 'x' + ','; caller frees. */
static char *
make_frame(size_t n, size_t *len)
{
	char hdr[NETSTRING_MAX_HEADER];
	size_t hl = netstring_header(n, hdr);
	char *f = test_malloc(hl + n + 1);

	assert_non_null(f);
	memcpy(f, hdr, hl);
	memset(f + hl, 'x', n);
	f[hl + n] = ',';
	*len = hl + n + 1;
	return f;
}

static void
test_netstring_cap_exact_fit_and_one_over(void **state)
{
	size_t len;
	char *f;
	char *want;

	(void)state;
	want = test_malloc(NETSTRING_MAX_PAYLOAD + 1);
	assert_non_null(want);
	memset(want, 'x', NETSTRING_MAX_PAYLOAD + 1);

	f = make_frame(NETSTRING_MAX_PAYLOAD, &len);
	assert_int_equal(len, NETSTRING_MAX_FRAME);
	check_decode("exact fit", f, len, NETSTRING_MAX_PAYLOAD, NETSTRING_OK,
	    want, NETSTRING_MAX_PAYLOAD, len);
	test_free(f);

	f = make_frame(NETSTRING_MAX_PAYLOAD + 1, &len);
	check_decode("one over, whole frame", f, len, NETSTRING_MAX_PAYLOAD,
	    NETSTRING_ERR_SIZE, NULL, 0, 0);
	/* the header alone proves it: no payload byte is waited for */
	check_decode("one over, header alone", f, 6, NETSTRING_MAX_PAYLOAD,
	    NETSTRING_ERR_SIZE, NULL, 0, 0);
	test_free(f);

	/* the cap is the caller's */
	check_decode("small cap, exact fit", S("3:abc,"), 3, NETSTRING_OK,
	    S("abc"), 6);
	check_decode("small cap, one over", S("4:"), 3, NETSTRING_ERR_SIZE,
	    NULL, 0, 0);
	check_decode("zero cap, empty frame", S("0:,"), 0, NETSTRING_OK, S(""),
	    3);
	test_free(want);
}

/* --- split across reads: feed every frame one byte at a time */

static const struct split_case {
	const char *label;
	const char *in;
	size_t len;
	const char *payload;
	size_t plen;
} split_cases[] = {
	{"zero length", S("0:,"), S("")},
	{"three bytes", S("3:abc,"), S("abc")},
	{"leading zeros", S("0006:OK may,"), S("OK may")},
	{"request", S("27:tlspolicy mx.example.com:25,"),
	    S("tlspolicy mx.example.com:25")},
	{"payload with separators", S("7:1:,2:,3,"), S("1:,2:,3")},
};

static void
feed_bytewise(const char *label, const char *in, size_t len,
    const char *want, size_t wantlen)
{
	char msg[128];
	size_t k;

	for (k = 0; k < len; k++) {
		snprintf(msg, sizeof(msg), "%s, first %zu of %zu bytes", label,
		    k, len);
		check_decode(msg, in, k, NETSTRING_MAX_PAYLOAD,
		    NETSTRING_NEED_MORE, NULL, 0, 0);
	}
	check_decode(label, in, len, NETSTRING_MAX_PAYLOAD, NETSTRING_OK,
	    want, wantlen, len);
}

static void
test_netstring_split_byte_by_byte(void **state)
{
	size_t i, len;
	char *f;
	char *want;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++)
		feed_bytewise(split_cases[i].label, split_cases[i].in,
		    split_cases[i].len, split_cases[i].payload,
		    split_cases[i].plen);

	f = make_frame(NETSTRING_MAX_PAYLOAD, &len);
	want = f + 6;
	feed_bytewise("exact fit", f, len, want, NETSTRING_MAX_PAYLOAD);
	test_free(f);
}

/*
 * An error is reported at the byte that proves it and at every longer
 * prefix; the shorter prefixes are still NEED_MORE.
 */
static const struct error_case {
	const char *label;
	const char *in;
	size_t len;
	size_t proof;		/* bytes that prove the error */
	enum netstring_status want;
} error_cases[] = {
	{"missing ','", S("3:abcX,"), 6, NETSTRING_ERR_FORMAT},
	{"sixth digit", S("000001:"), 6, NETSTRING_ERR_SIZE},
	{"one over", S("10101:xxxx"), 5, NETSTRING_ERR_SIZE},
	{"over the cap by its digits", S("99999"), 5, NETSTRING_ERR_SIZE},
	{"non-digit", S("12a:"), 3, NETSTRING_ERR_FORMAT},
	{"empty length", S(":,"), 1, NETSTRING_ERR_FORMAT},
};

static void
test_netstring_error_at_proving_byte(void **state)
{
	char msg[128];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];

		for (k = 0; k <= c->len; k++) {
			snprintf(msg, sizeof(msg), "%s, first %zu bytes",
			    c->label, k);
			check_decode(msg, c->in, k, NETSTRING_MAX_PAYLOAD,
			    k < c->proof ? NETSTRING_NEED_MORE : c->want, NULL,
			    0, 0);
		}
	}
}

/* --- pipelined frames: decode consumes exactly one */

static void
test_netstring_pipelined_frames(void **state)
{
	static const char two[] = "3:abc,4:defg,0:,";
	const char *payload;
	size_t plen, consumed, off = 0;

	(void)state;
	assert_int_equal(netstring_decode(two, sizeof(two) - 1,
	    NETSTRING_MAX_PAYLOAD, &payload, &plen, &consumed), NETSTRING_OK);
	assert_int_equal(consumed, 6);
	assert_int_equal(plen, 3);
	assert_memory_equal(payload, "abc", 3);
	off += consumed;

	assert_int_equal(netstring_decode(two + off, sizeof(two) - 1 - off,
	    NETSTRING_MAX_PAYLOAD, &payload, &plen, &consumed), NETSTRING_OK);
	assert_int_equal(consumed, 7);
	assert_int_equal(plen, 4);
	assert_memory_equal(payload, "defg", 4);
	off += consumed;

	assert_int_equal(netstring_decode(two + off, sizeof(two) - 1 - off,
	    NETSTRING_MAX_PAYLOAD, &payload, &plen, &consumed), NETSTRING_OK);
	assert_int_equal(consumed, 3);
	assert_int_equal(plen, 0);
	off += consumed;
	assert_int_equal(off, sizeof(two) - 1);

	/* a frame followed by a partial one: the first is still whole */
	assert_int_equal(netstring_decode("3:abc,4:de", 10,
	    NETSTRING_MAX_PAYLOAD, &payload, &plen, &consumed), NETSTRING_OK);
	assert_int_equal(consumed, 6);
}

/* --- the encoder's header, and header + payload + ',' decodes back */

static const struct header_case {
	const char *label;
	size_t len;
	const char *want;
} header_cases[] = {
	{"zero", 0, "0:"},
	{"one digit", 7, "7:"},
	{"two digits", 10, "10:"},
	{"no leading zeros", 100, "100:"},
	{"the cap", NETSTRING_MAX_PAYLOAD, "10100:"},
	{"reply cap", SOCKMAP_MAX_REPLY, "4096:"},
	{"largest five digits", 99999, "99999:"},
};

static void
test_netstring_header_round_trip(void **state)
{
	char hdr[NETSTRING_MAX_HEADER];
	char want[NETSTRING_MAX_HEADER + 8];
	size_t i, hl;

	(void)state;
	for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *c = &header_cases[i];

		hl = netstring_header(c->len, hdr);
		case_mem_equal(c->label, hdr, hl, c->want, strlen(c->want));
	}

	/* the longest header fits the documented room */
	hl = netstring_header((size_t)-1, hdr);
	snprintf(want, sizeof(want), "%zu:", (size_t)-1);
	assert_true(hl < NETSTRING_MAX_HEADER);
	case_mem_equal("SIZE_MAX", hdr, hl, want, strlen(want));

	/* encode then decode gives the payload back, for every length */
	for (i = 0; i <= NETSTRING_MAX_PAYLOAD; i += (i < 200 ? 1 : 97)) {
		char *frame = test_malloc(NETSTRING_MAX_HEADER + i + 1);
		const char *payload;
		size_t plen, consumed, j;
		char msg[64];

		assert_non_null(frame);
		hl = netstring_header(i, frame);
		for (j = 0; j < i; j++)
			frame[hl + j] = (char)(j * 7 + 1);
		frame[hl + i] = ',';
		snprintf(msg, sizeof(msg), "round trip of %zu bytes", i);
		case_int_equal(msg, netstring_decode(frame, hl + i + 1,
		    NETSTRING_MAX_PAYLOAD, &payload, &plen, &consumed),
		    NETSTRING_OK);
		case_int_equal(msg, consumed, hl + i + 1);
		case_int_equal(msg, plen, i);
		assert_true(payload == frame + hl);
		test_free(frame);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netstring_decode_table),
		cmocka_unit_test(test_netstring_cap_exact_fit_and_one_over),
		cmocka_unit_test(test_netstring_split_byte_by_byte),
		cmocka_unit_test(test_netstring_error_at_proving_byte),
		cmocka_unit_test(test_netstring_pipelined_frames),
		cmocka_unit_test(test_netstring_header_round_trip),
	};

	return cmocka_run_group_tests_name("netstring", tests, NULL, NULL);
}
