/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sockmap - request payloads in, reply frames out (Postfix's
 * dict_sockmap.c): the split at the first space, the map allowlist, the exact
 * reply bytes per status, printable data, the size cap, and that every reply
 * decodes back as one netstring.
 */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "netstring.h"
#include "sockmap.h"

/* --- requests */

static const struct parse_case {
	const char *label;
	const char *in;
	size_t len;
	const char *name;
	size_t namelen;
	const char *key;
	size_t keylen;
} parse_cases[] = {
	{"map and key", S("tlspolicy example.com"), S("tlspolicy"),
	    S("example.com")},
	{"key with spaces", S("m a b  c"), S("m"), S("a b  c")},
	{"no space: empty key", S("tlspolicy"), S("tlspolicy"), S("")},
	{"trailing space: empty key", S("tlspolicy "), S("tlspolicy"), S("")},
	{"empty name", S(" key"), S(""), S("key")},
	{"empty payload", S(""), S(""), S("")},
	{"two spaces", S("  "), S(""), S(" ")},
	{"key with leading space", S("m  k"), S("m"), S(" k")},
	{"UTF-8 key verbatim", S("tlspol b\xc3\xbc" "cher.example"),
	    S("tlspol"), S("b\xc3\xbc" "cher.example")},
	{"bracketed key with port", S("tlspolicy [ipv6:::1]:2525"),
	    S("tlspolicy"), S("[ipv6:::1]:2525")},
	{"NUL in key", S("m a\0b"), S("m"), S("a\0b")},
};

static void
test_sockmap_parse_request(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct sockmap_request req;

		memset(&req, 0xa5, sizeof(req));
		sockmap_parse_request(c->in, c->len, &req);
		/* both parts are borrowed from the payload */
		assert_true(req.name == c->in);
		assert_true(req.key >= c->in && req.key + req.keylen <=
		    c->in + c->len);
		case_mem_equal(c->label, req.name, req.namelen, c->name,
		    c->namelen);
		case_mem_equal(c->label, req.key, req.keylen, c->key,
		    c->keylen);
	}
}

static const struct find_case {
	const char *label;
	const char *name;
	size_t len;
	int want;
} find_cases[] = {
	{"first map", S("tlspolicy"), 0},
	{"second map", S("lmtp_tls"), 1},
	{"case-sensitive", S("TLSPOLICY"), -1},
	{"prefix of a map", S("tlspol"), -1},
	{"map is a prefix", S("tlspolicyx"), -1},
	{"empty name", S(""), -1},
	{"name not NUL-terminated", "tlspolicy example.com", 9, 0},
	{"NUL inside name", S("tlspolicy\0"), -1},
};

static void
test_sockmap_find_map(void **state)
{
	char tlspolicy[] = "tlspolicy";
	char lmtp[] = "lmtp_tls";
	char *const names[] = {tlspolicy, lmtp};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
		const struct find_case *c = &find_cases[i];

		case_int_equal(c->label, sockmap_find_map(names, 2, c->name,
		    c->len), c->want);
	}
	assert_int_equal(sockmap_find_map(names, 0, "tlspolicy", 9), -1);
}

/* --- replies */

static const struct format_case {
	const char *label;
	enum sockmap_status status;
	const char *data;
	size_t len;
	const char *want;
	size_t wantlen;
} format_cases[] = {
	{"OK", SOCKMAP_OK, S("may"), S("6:OK may,")},
	{"OK with attributes", SOCKMAP_OK, S("secure match=nexthop"),
	    S("23:OK secure match=nexthop,")},
	{"OK keeps a leading space", SOCKMAP_OK, S(" x"), S("5:OK  x,")},
	{"NOTFOUND", SOCKMAP_NOTFOUND, S(""), S("9:NOTFOUND ,")},
	{"NOTFOUND drops its data", SOCKMAP_NOTFOUND, S("ignored"),
	    S("9:NOTFOUND ,")},
	{"TEMP", SOCKMAP_TEMP, S("no policy data loaded yet"),
	    S("30:TEMP no policy data loaded yet,")},
	{"TEMP without reason", SOCKMAP_TEMP, S(""), S("5:TEMP ,")},
	{"PERM", SOCKMAP_PERM, S("unknown map x"),
	    S("18:PERM unknown map x,")},
	{"OK with empty data becomes TEMP", SOCKMAP_OK, S(""),
	    S("17:TEMP empty policy,")},
	{"control bytes and UTF-8 become '?'", SOCKMAP_OK,
	    S("a\x01" "b\x7f\xc3\xbc\n"), S("10:OK a?b????,")},
	{"NUL becomes '?'", SOCKMAP_TEMP, S("x\0y"), S("8:TEMP x?y,")},
	{"tab becomes '?'", SOCKMAP_PERM, S("a\tb"), S("8:PERM a?b,")},
	{"all printable ASCII kept", SOCKMAP_OK,
	    S("~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"),
	    S("35:OK ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|},")},
};

static const char *const words[] = {
	[SOCKMAP_OK] = "OK",
	[SOCKMAP_NOTFOUND] = "NOTFOUND",
	[SOCKMAP_TEMP] = "TEMP",
	[SOCKMAP_PERM] = "PERM",
};

/* Format into a cmocka allocation of exactly SOCKMAP_MAX_FRAME bytes. */
static size_t
format(enum sockmap_status st, const char *data, size_t len, char **out)
{
	size_t n;

	*out = test_malloc(SOCKMAP_MAX_FRAME);
	memset(*out, 0, SOCKMAP_MAX_FRAME);
	n = sockmap_format_reply(st, data, len, *out);
	assert_true(n <= SOCKMAP_MAX_FRAME);
	return n;
}

static void
test_sockmap_format_reply_bytes(void **state)
{
	size_t i, n;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		const struct format_case *c = &format_cases[i];

		n = format(c->status, c->data, c->len, &out);
		case_mem_equal(c->label, out, n, c->want, c->wantlen);
		test_free(out);	/* cmocka checks the guard bytes */
	}
}

/*
 * Decode one formatted reply: exactly one netstring, a status word from
 * the four, one space, printable ASCII only.  Returns the data part.
 */
static void
decode_reply(const char *label, const char *frame, size_t n,
    const char **word, size_t *wordlen, const char **data, size_t *datalen)
{
	const char *payload, *sp;
	size_t plen, consumed, i;
	bool known = false;

	case_int_equal(label, netstring_decode(frame, n, SOCKMAP_MAX_REPLY,
	    &payload, &plen, &consumed), NETSTRING_OK);
	case_int_equal(label, consumed, n);
	for (i = 0; i < plen; i++)
		assert_true(payload[i] >= 0x20 && payload[i] < 0x7f);
	sp = memchr(payload, ' ', plen);
	assert_non_null(sp);
	*word = payload;
	*wordlen = (size_t)(sp - payload);
	*data = sp + 1;
	*datalen = plen - *wordlen - 1;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == *wordlen &&
		    memcmp(words[i], *word, *wordlen) == 0)
			known = true;
	if (!known)
		fprintf(stderr, "case \"%s\": status word \"%.*s\"\n", label,
		    (int)*wordlen, *word);
	assert_true(known);
}

static void
test_sockmap_format_reply_truncates(void **state)
{
	static char big[SOCKMAP_MAX_REPLY + 100];
	char label[64];
	size_t s, n, extra;

	(void)state;
	memset(big, 'p', sizeof(big));
	for (s = SOCKMAP_OK; s <= SOCKMAP_PERM; s++) {
		size_t wl = strlen(words[s]) + 1;

		if (s == SOCKMAP_NOTFOUND)
			continue;	/* no data at all */
		/* exact fit, one over, far over */
		for (extra = 0; extra < 3; extra++) {
			size_t len = SOCKMAP_MAX_REPLY - wl +
			    (extra == 2 ? 90 : extra);
			const char *word, *data;
			size_t wordlen, datalen;
			char *out;

			snprintf(label, sizeof(label), "%s with %zu bytes",
			    words[s], len);
			n = format((enum sockmap_status)s, big, len, &out);
			case_int_equal(label, n, 5 + SOCKMAP_MAX_REPLY + 1);
			case_mem_equal(label, out, 5, "4096:", 5);
			decode_reply(label, out, n, &word, &wordlen, &data,
			    &datalen);
			case_mem_equal(label, word, wordlen, words[s],
			    strlen(words[s]));
			case_int_equal(label, datalen, SOCKMAP_MAX_REPLY - wl);
			test_free(out);
		}
	}
}

/* decode(format(x)): the status word and the printable, capped data */
static const struct trip_case {
	const char *label;
	const char *data;
	size_t len;
} trip_cases[] = {
	{"empty", S("")},
	{"policy", S("dane-only")},
	{"reason with spaces", S("invalid policy for x: bad level")},
	{"binary", S("\0\x01\xff\x80 ,:")},
	{"only spaces", S("   ")},
	{"frame-like data", S("3:abc,")},
};

static void
test_sockmap_format_reply_round_trip(void **state)
{
	char label[96];
	size_t i, s, n, k;

	(void)state;
	for (i = 0; i < sizeof(trip_cases) / sizeof(trip_cases[0]); i++) {
		for (s = SOCKMAP_OK; s <= SOCKMAP_PERM; s++) {
			const struct trip_case *c = &trip_cases[i];
			const char *word, *data, *want_word = words[s];
			size_t wordlen, datalen, want_len = c->len;
			char *out;

			snprintf(label, sizeof(label), "%s, %s", c->label,
			    words[s]);
			n = format((enum sockmap_status)s, c->data, c->len,
			    &out);
			decode_reply(label, out, n, &word, &wordlen, &data,
			    &datalen);
			if (s == SOCKMAP_NOTFOUND)
				want_len = 0;
			if (s == SOCKMAP_OK && c->len == 0) {
				want_word = "TEMP";	/* never "OK " */
				want_len = datalen;
				assert_true(datalen > 0);
			}
			case_mem_equal(label, word, wordlen, want_word,
			    strlen(want_word));
			case_int_equal(label, datalen, want_len);
			if (want_word == words[s]) {
				for (k = 0; k < datalen; k++) {
					unsigned char c0 =
					    (unsigned char)c->data[k];
					char w = (c0 >= 0x20 && c0 < 0x7f) ?
					    (char)c0 : '?';

					case_int_equal(label, data[k], w);
				}
			}
			test_free(out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockmap_parse_request),
		cmocka_unit_test(test_sockmap_find_map),
		cmocka_unit_test(test_sockmap_format_reply_bytes),
		cmocka_unit_test(test_sockmap_format_reply_truncates),
		cmocka_unit_test(test_sockmap_format_reply_round_trip),
	};

	return cmocka_run_group_tests_name("sockmap", tests, NULL, NULL);
}
